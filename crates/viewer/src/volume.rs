//! Volumes in the viewer, without browser APIs (tested natively; `state::Browse` holds
//! them in the page's state):
//!
//! - [`VolumeInfo`] and [`SliceInfo`]: what the server says about an uploaded volume and
//!   about one rendered slice (`docs/api.md`);
//! - [`SliceView`]: `{volume id, axis, index, window}`, the name of one rendered slice.
//!   The server turns it into an image id deterministically, so share links, session
//!   records (and later teaching decks) reference a slice by its view;
//! - [`VolumeState`]: browsing a volume — the slice wanted, the slice being fetched, the
//!   slice shown, and what each slice remembers (its prompts and ground truth) while the
//!   person moves between slices;
//! - window helpers: the choices offered ([`window_choices`]), the Ctrl+drag gesture
//!   ([`dragged_window`]) and the instant client-side preview of a window change
//!   ([`preview_lut`]);
//! - label volumes as ground truth: checked against the scan's grid
//!   ([`check_label_grid`]) and cut into the same slices ([`label_slice_png`]).

use std::collections::HashMap;

use image::codecs::png::PngEncoder;
pub use imaging::{Axis, Window, WindowLevel};
use serde::{Deserialize, Serialize};

use api::is_id;

pub use api::{CenterWidth, SliceInfo, SliceWindow, VolumeInfo};

/// [`SliceWindow`] in the viewer's terms.
pub trait SliceWindowLevel {
    /// The bounds as center and width, when the slice was windowed.
    fn level(&self) -> Option<WindowLevel>;
}

impl SliceWindowLevel for SliceWindow {
    fn level(&self) -> Option<WindowLevel> {
        let (lower, upper) = (self.lower?, self.upper?);
        (upper > lower).then(|| WindowLevel::from_bounds(lower, upper))
    }
}

/// One slice of one volume: the axis and the index along it (the window aside).
pub type SliceKey = (Axis, usize);

/// One rendered slice: volume, axis, index and window. The server renders the same view
/// to the same image id every time, so a view names a slice and its embedding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ViewText", into = "ViewText")]
pub struct SliceView {
    /// Volume id (64 lower-case hex).
    pub volume: String,
    /// Slicing direction.
    pub axis: Axis,
    /// Index along `axis` (0-based voxel index, as the API counts).
    pub index: usize,
    /// Window (a preset, `C,W`, `pLOW-HIGH`, `minmax` or `default`).
    pub window: Window,
}

/// [`SliceView`] as text fields (links, records, JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ViewText {
    volume: String,
    axis: String,
    index: usize,
    window: String,
}

impl From<SliceView> for ViewText {
    fn from(v: SliceView) -> Self {
        Self {
            volume: v.volume,
            axis: v.axis.as_str().to_string(),
            index: v.index,
            window: v.window.to_string(),
        }
    }
}

impl TryFrom<ViewText> for SliceView {
    type Error = String;

    fn try_from(t: ViewText) -> Result<Self, String> {
        SliceView::parse(&t.volume, &t.axis, t.index, &t.window)
    }
}

impl SliceView {
    /// Checks and builds a view from its text fields.
    pub fn parse(volume: &str, axis: &str, index: usize, window: &str) -> Result<Self, String> {
        if !is_id(volume) {
            return Err("the volume id must be 64 lower-case hex characters".into());
        }
        let axis = axis
            .parse()
            .map_err(|_| "the axis must be axial, coronal, sagittal or native".to_string())?;
        let window = window
            .parse()
            .map_err(|e: imaging::ImagingError| format!("window `{window}`: {e}"))?;
        Ok(Self {
            volume: volume.to_string(),
            axis,
            index,
            window,
        })
    }

    /// The slice, window aside.
    pub fn key(&self) -> SliceKey {
        (self.axis, self.index)
    }

    /// The body of `POST /api/v1/volumes/{id}/slices`.
    pub fn request_body(&self) -> String {
        let request = api::SliceRequest {
            axis: self.axis.as_str().to_string(),
            index: self.index,
            window: Some(api::WindowSpec::Text(self.window.to_string())),
        };
        serde_json::to_string(&request).expect("a slice request serialises")
    }
}

/// How the viewer browses a [`VolumeInfo`]: axes, slice counts, the first view.
pub trait VolumeSlicing {
    /// Slices along `axis` (0 when the server did not list it).
    fn slice_count(&self, axis: Axis) -> usize;
    /// A scan of one slice (a single-frame DICOM, a 2-D NIfTI/NRRD): shown as stored.
    fn is_single_slice(&self) -> bool;
    /// The axes a person can pick: the file's own frames for a single slice, else the
    /// three anatomical planes.
    fn axes(&self) -> Vec<Axis>;
    /// The first view: the middle axial slice (the only one of a single-slice scan)
    /// through the default window.
    fn initial_view(&self) -> SliceView;
    /// Whether `view` is a slice of this volume.
    fn check(&self, view: &SliceView) -> Result<(), String>;
    /// `max − min` of the values (at least a tiny positive number).
    fn value_span(&self) -> f64;
}

impl VolumeSlicing for VolumeInfo {
    fn slice_count(&self, axis: Axis) -> usize {
        self.slices.get(axis.as_str()).copied().unwrap_or(0)
    }

    fn is_single_slice(&self) -> bool {
        self.slice_count(Axis::Native) <= 1
    }

    fn axes(&self) -> Vec<Axis> {
        if self.is_single_slice() {
            vec![Axis::Native]
        } else {
            vec![Axis::Axial, Axis::Coronal, Axis::Sagittal]
        }
    }

    fn initial_view(&self) -> SliceView {
        let axis = self.axes()[0];
        SliceView {
            volume: self.id.clone(),
            axis,
            index: self.slice_count(axis) / 2,
            window: Window::Default,
        }
    }

    fn check(&self, view: &SliceView) -> Result<(), String> {
        let count = self.slice_count(view.axis);
        if view.volume != self.id {
            return Err("the view names another volume".into());
        }
        if view.index >= count {
            return Err(format!(
                "{} slice {} is outside the volume ({count} slices)",
                view.axis,
                view.index + 1
            ));
        }
        Ok(())
    }

    fn value_span(&self) -> f64 {
        let span = self.value_range[1] - self.value_range[0];
        if span.is_finite() && span > 0.0 {
            span
        } else {
            1.0
        }
    }
}

/// "slice k / n", 1-based.
pub fn slice_label(index: usize, count: usize) -> String {
    format!("slice {} / {count}", index + 1)
}

/// The slice plane's position along its axis, from the top-left pixel's LPS position
/// (`z` for axial, `y` for coronal, `x` for sagittal, with the side it lies on); `None`
/// for the file's own frames or a file without orientation.
pub fn position_label(axis: Axis, origin_lps: [f64; 3], oriented: bool) -> Option<String> {
    if !oriented {
        return None;
    }
    let (name, value, plus, minus) = match axis {
        Axis::Axial => ("z", origin_lps[2], 'S', 'I'),
        Axis::Coronal => ("y", origin_lps[1], 'P', 'A'),
        Axis::Sagittal => ("x", origin_lps[0], 'L', 'R'),
        Axis::Native => return None,
    };
    if !value.is_finite() {
        return None;
    }
    let side = if value >= 0.0 { plus } else { minus };
    Some(format!("{name} = {value:.1} mm ({side})"))
}

/// A number as short text: integers without a fraction, else up to 3 decimals.
pub fn short_number(v: f64) -> String {
    let text = format!("{v:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.into()
    }
}

/// Human name of a preset (`ct_abdomen` → `CT abdomen`).
fn preset_name(key: &str) -> String {
    match key {
        "ct_abdomen" => "CT abdomen".into(),
        other => other.replace('_', " "),
    }
}

/// The order presets are offered in: the paper's abdomen window first.
const PRESET_ORDER: [&str; 5] = ["ct_abdomen", "lung", "bone", "brain", "soft_tissue"];

/// The windows offered for `info`, as (value of `Window::to_string`, label): the file's
/// window, the server's CT presets with their bounds, percentile windows for MR, min–max.
pub fn window_choices(info: &VolumeInfo) -> Vec<(String, String)> {
    let mut out = vec![(
        Window::Default.to_string(),
        match info.default_window {
            Some(w) => format!(
                "file window (C {} W {})",
                short_number(w.center),
                short_number(w.width)
            ),
            None => "auto (file, else p0.5–99.5)".to_string(),
        },
    )];
    let mut keys: Vec<&String> = info.presets.keys().collect();
    keys.sort_by_key(|k| {
        PRESET_ORDER
            .iter()
            .position(|p| p == k)
            .unwrap_or(PRESET_ORDER.len())
    });
    for key in keys {
        let w = info.presets[key];
        if let Ok(window) = key.parse::<Window>() {
            let (lower, upper) = (w.center - w.width / 2.0, w.center + w.width / 2.0);
            out.push((
                window.to_string(),
                format!(
                    "{} [{}, {}]",
                    preset_name(key),
                    short_number(lower),
                    short_number(upper)
                ),
            ));
        }
    }
    for (window, label) in [
        (Window::MR_PERCENTILES, "MR percentiles 0.5–99.5"),
        (
            Window::Percentiles {
                low: 1.0,
                high: 99.0,
            },
            "percentiles 1–99",
        ),
        (Window::MinMax, "min–max"),
    ] {
        out.push((window.to_string(), label.to_string()));
    }
    out
}

/// The bounds a window will have when the client can tell without the server (presets
/// and manual windows); `None` for windows the server computes (file, percentiles).
pub fn known_level(info: &VolumeInfo, window: &Window) -> Option<WindowLevel> {
    match window {
        Window::Manual(w) => Some(*w),
        Window::Preset(p) => Some(
            info.presets
                .get(p.as_str())
                .map(|cw| WindowLevel {
                    center: cw.center,
                    width: cw.width,
                })
                .unwrap_or_else(|| p.window()),
        ),
        Window::Default => info.default_window.map(|cw| WindowLevel {
            center: cw.center,
            width: cw.width,
        }),
        Window::MinMax => Some(WindowLevel::from_bounds(
            info.value_range[0],
            info.value_range[0] + info.value_span(),
        )),
        Window::Percentiles { .. } => None,
    }
}

/// Screen pixels of drag that move the window by the whole value range.
pub const DRAG_PIXELS_PER_RANGE: f64 = 500.0;

/// Rounds `v` to a step suited to a value range of `span` (1 HU for CT, finer for
/// normalised data), so windows from the drag gesture stay short in links.
pub fn round_for_span(v: f64, span: f64) -> f64 {
    let decimals = (-(span / 2000.0).log10().floor()).clamp(0.0, 6.0);
    let factor = 10f64.powf(decimals);
    let rounded = (v * factor).round() / factor;
    if rounded.is_finite() {
        rounded + 0.0
    } else {
        v
    }
}

/// The window after dragging `(dx, dy)` screen pixels from `start`: right widens, left
/// narrows (never below one step); down raises the level (the image darkens), up lowers
/// it. One value range per [`DRAG_PIXELS_PER_RANGE`] pixels.
pub fn dragged_window(start: WindowLevel, dx: f64, dy: f64, value_range: [f64; 2]) -> WindowLevel {
    let span = {
        let s = value_range[1] - value_range[0];
        if s.is_finite() && s > 0.0 { s } else { 1.0 }
    };
    let per_px = span / DRAG_PIXELS_PER_RANGE;
    let min_width = round_for_span(span / 2000.0, span).max(f64::MIN_POSITIVE);
    let width = round_for_span((start.width + dx * per_px).max(min_width), span).max(min_width);
    let center = round_for_span(start.center + dy * per_px, span);
    WindowLevel { center, width }
}

/// A lookup table for the instant preview of a window change: pixel values of a slice
/// rendered through `shown` (its lower/upper bounds, `inverted` for MONOCHROME1) mapped to
/// what `wanted` would render. Exact inside the shown window; values the shown window
/// clipped stay clipped, so the server's rendering replaces the preview moments later.
pub fn preview_lut(shown: WindowLevel, wanted: WindowLevel, inverted: bool) -> [u8; 256] {
    let mut lut = [0u8; 256];
    let (l0, u0) = (shown.lower(), shown.upper());
    let (l1, u1) = (wanted.lower(), wanted.upper());
    for (p, out) in lut.iter_mut().enumerate() {
        let q = if inverted { 255 - p } else { p } as f64;
        let v = l0 + q / 255.0 * (u0 - l0);
        let t = if u1 > l1 {
            ((v - l1) / (u1 - l1)).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let byte = (t * 255.0).round() as u8;
        *out = if inverted { 255 - byte } else { byte };
    }
    lut
}

/// What happened when a fetched slice arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// Same axis and index as before (only the window changed): prompts and ground truth
    /// stay.
    SameSlice,
    /// Another slice: the UI stores what `previous` had and restores what this one had.
    NewSlice {
        /// The slice shown before, if any.
        previous: Option<SliceKey>,
    },
}

/// Browsing one volume: the view wanted (the controls), the one being fetched, the one
/// shown, and `M` (prompts, ground truth…) per slice visited.
#[derive(Debug, Clone)]
pub struct VolumeState<M> {
    /// The volume.
    pub info: VolumeInfo,
    target: SliceView,
    fetching: Option<SliceView>,
    shown: Option<(SliceView, SliceInfo)>,
    memory: HashMap<SliceKey, M>,
    last_index: HashMap<Axis, usize>,
    generation: u64,
}

impl<M> VolumeState<M> {
    /// Starts at `view` (checked against `info`), nothing shown yet.
    pub fn new(info: VolumeInfo, view: SliceView) -> Result<Self, String> {
        info.check(&view)?;
        Ok(Self {
            info,
            target: view,
            fetching: None,
            shown: None,
            memory: HashMap::new(),
            last_index: HashMap::new(),
            generation: 0,
        })
    }

    /// The view the controls ask for.
    pub fn target(&self) -> &SliceView {
        &self.target
    }

    /// The view on screen and the server's answer for it.
    pub fn shown(&self) -> Option<&(SliceView, SliceInfo)> {
        self.shown.as_ref()
    }

    /// The view on screen.
    pub fn shown_view(&self) -> Option<&SliceView> {
        self.shown.as_ref().map(|(v, _)| v)
    }

    /// Counts every change of the target (for debouncing).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Nothing to fetch: the slice shown is the one asked for.
    pub fn settled(&self) -> bool {
        self.fetching.is_none() && self.shown_view() == Some(&self.target)
    }

    /// A fetch is running.
    pub fn fetching(&self) -> bool {
        self.fetching.is_some()
    }

    fn retarget(&mut self, view: SliceView) -> bool {
        if view == self.target || self.info.check(&view).is_err() {
            return false;
        }
        self.last_index.insert(self.target.axis, self.target.index);
        self.target = view;
        self.generation += 1;
        true
    }

    /// Goes to slice `index` of the current axis (clamped); whether the target changed.
    pub fn set_index(&mut self, index: usize) -> bool {
        let last = self.info.slice_count(self.target.axis).saturating_sub(1);
        let view = SliceView {
            index: index.min(last),
            ..self.target.clone()
        };
        self.retarget(view)
    }

    /// Moves `delta` slices (clamped to the volume).
    pub fn step(&mut self, delta: i64) -> bool {
        let index = (self.target.index as i64 + delta).max(0) as usize;
        self.set_index(index)
    }

    /// Switches to `axis`, at the slice last shown on it (else its middle slice).
    pub fn set_axis(&mut self, axis: Axis) -> bool {
        if axis == self.target.axis {
            return false;
        }
        let count = self.info.slice_count(axis);
        if count == 0 {
            return false;
        }
        let index = self
            .last_index
            .get(&axis)
            .copied()
            .unwrap_or(count / 2)
            .min(count - 1);
        let view = SliceView {
            axis,
            index,
            ..self.target.clone()
        };
        self.retarget(view)
    }

    /// Changes the window, keeping the slice.
    pub fn set_window(&mut self, window: Window) -> bool {
        if window.validate().is_err() {
            return false;
        }
        let view = SliceView {
            window,
            ..self.target.clone()
        };
        self.retarget(view)
    }

    /// The next view to fetch (and marks it fetching): the target, when it is neither
    /// shown nor already being fetched.
    pub fn next_fetch(&mut self) -> Option<SliceView> {
        if self.fetching.is_some() || self.shown_view() == Some(&self.target) {
            return None;
        }
        self.fetching = Some(self.target.clone());
        self.fetching.clone()
    }

    /// A fetch failed: the controls go back to the slice shown (if any).
    pub fn fetch_failed(&mut self) {
        self.fetching = None;
        if let Some((view, _)) = &self.shown
            && *view != self.target
        {
            self.target = view.clone();
            self.generation += 1;
        }
    }

    /// The slice `view` arrived as `slice` and is now shown.
    pub fn arrived(&mut self, view: SliceView, slice: SliceInfo) -> Arrival {
        self.fetching = None;
        let previous = self.shown_view().map(SliceView::key);
        let arrival = if previous == Some(view.key()) {
            Arrival::SameSlice
        } else {
            Arrival::NewSlice { previous }
        };
        self.shown = Some((view, slice));
        arrival
    }

    /// Keeps `memory` for slice `key`.
    pub fn remember(&mut self, key: SliceKey, memory: M) {
        self.memory.insert(key, memory);
    }

    /// What slice `key` remembered (removed from the store).
    pub fn recall(&mut self, key: SliceKey) -> Option<M> {
        self.memory.remove(&key)
    }

    /// What slice `key` remembers, without taking it.
    pub fn peek(&self, key: SliceKey) -> Option<&M> {
        self.memory.get(&key)
    }

    /// What every slice not on screen remembers.
    pub fn memories_mut(&mut self) -> impl Iterator<Item = &mut M> {
        self.memory.values_mut()
    }
}

/// Checks that a label volume lies on the scan's voxel grid (same dimensions and the same
/// voxel-to-patient mapping), so its slices match the scan's slice for slice.
pub fn check_label_grid(info: &VolumeInfo, labels: &imaging::Volume) -> Result<(), String> {
    let dims = labels.dims();
    if dims != info.dims {
        return Err(format!(
            "the label volume is {}×{}×{} voxels but the scan is {}×{}×{}",
            dims[0], dims[1], dims[2], info.dims[0], info.dims[1], info.dims[2]
        ));
    }
    let affine = labels.geometry().affine();
    let scale = info
        .affine_lps
        .iter()
        .flatten()
        .fold(1.0f64, |m, v| m.max(v.abs()));
    let worst = affine
        .iter()
        .flatten()
        .zip(info.affine_lps.iter().flatten())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f64, f64::max);
    if worst.is_nan() || worst > 1e-4 * scale || labels.geometry().oriented != info.oriented {
        return Err(
            "the label volume's geometry (spacing, orientation or origin) differs from the scan's"
                .into(),
        );
    }
    Ok(())
}

/// Slice `axis`/`index` of a label volume as a grey PNG (8-bit when every label is below
/// 256, else 16-bit), `None` when the slice has no labelled pixel.
pub fn label_slice_png(
    labels: &imaging::Volume,
    axis: Axis,
    index: usize,
) -> Result<Option<Vec<u8>>, String> {
    let slice = labels
        .label_slice(axis, index)
        .map_err(|e| format!("the label volume: {e}"))?;
    let max = slice.labels.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return Ok(None);
    }
    if max > u32::from(u16::MAX) {
        return Err(format!(
            "the label volume holds label {max}; the viewer reads labels up to 65535"
        ));
    }
    let (w, h) = (slice.width as u32, slice.height as u32);
    // The PNG encoder itself, not `write_to`: its format dispatch would link every encoder
    // the `image` features enable into the page.
    let mut out = Vec::new();
    let written = if max < 256 {
        let data = slice.labels.iter().map(|&v| v as u8).collect();
        image::GrayImage::from_raw(w, h, data)
            .map(|img| img.write_with_encoder(PngEncoder::new(&mut out)))
    } else {
        let data = slice.labels.iter().map(|&v| v as u16).collect();
        image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_raw(w, h, data)
            .map(|img| img.write_with_encoder(PngEncoder::new(&mut out)))
    };
    match written {
        Some(Ok(())) => Ok(Some(out)),
        Some(Err(e)) => Err(format!("encoding a label slice: {e}")),
        None => Err("a label slice does not match its size".into()),
    }
}

#[cfg(test)]
pub(crate) mod tests;
