//! Volumes in the viewer, without browser APIs (tested natively; `ui::slices` wires them
//! to the page):
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

use crate::link::is_id;

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
mod tests {
    use super::*;
    use crate::ground_truth::GroundTruth;

    fn info() -> VolumeInfo {
        serde_json::from_value(serde_json::json!({
            "id": "5b".repeat(32), "dims": [4, 3, 5], "channels": 1, "sample_type": "i16",
            "spacing_mm": [1.0, 1.0, 2.0],
            "affine_lps": [[1.0, 0, 0, -10.0], [0, 1.0, 0, -20.0], [0, 0, 2.0, -30.0], [0, 0, 0, 1.0]],
            "oriented": true, "inverted": false,
            "slices": { "axial": 5, "coronal": 3, "sagittal": 4, "native": 5 },
            "slice_size": { "axial": [4, 3], "coronal": [4, 5], "sagittal": [3, 5], "native": [4, 3] },
            "value_range": [-1024.0, 3071.0],
            "default_window": { "center": 40.0, "width": 400.0 },
            "presets": { "bone": { "center": 400.0, "width": 1800.0 },
                         "ct_abdomen": { "center": -314.5, "width": 1353.0 },
                         "lung": { "center": -600.0, "width": 1500.0 } }
        }))
        .unwrap()
    }

    fn slice(view: &SliceView, id: char) -> SliceInfo {
        serde_json::from_value(serde_json::json!({
            "id": id.to_string().repeat(64), "width": 4, "height": 3,
            "volume_id": view.volume, "axis": view.axis.as_str(), "index": view.index,
            "window": { "requested": view.window.to_string(), "lower": -160.0, "upper": 240.0,
                        "inverted": false },
            "pixel_spacing_mm": [1.0, 1.0], "origin_lps": [-10.0, -20.0, -26.0],
            "column_direction": [1, 0, 0], "row_direction": [0, 1, 0]
        }))
        .unwrap()
    }

    #[test]
    fn the_server_description_reads_and_the_first_view_is_the_middle_axial_slice() {
        let info = info();
        assert_eq!(info.slice_count(Axis::Coronal), 3);
        assert!(!info.is_single_slice());
        assert_eq!(
            info.axes(),
            vec![Axis::Axial, Axis::Coronal, Axis::Sagittal]
        );
        let view = info.initial_view();
        assert_eq!(
            (view.axis, view.index, view.window),
            (Axis::Axial, 2, Window::Default)
        );
        assert_eq!(
            view.request_body(),
            r#"{"axis":"axial","index":2,"window":"default"}"#
        );
        let mut single = info.clone();
        single.slices.insert("native".into(), 1);
        assert_eq!(single.initial_view().axis, Axis::Native);
    }

    #[test]
    fn a_view_round_trips_as_json_and_refuses_bad_fields() {
        let view = SliceView {
            volume: "ab".repeat(32),
            axis: Axis::Coronal,
            index: 7,
            window: Window::Manual(WindowLevel {
                center: -314.5,
                width: 1353.0,
            }),
        };
        let text = serde_json::to_string(&view).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"volume":"{}","axis":"coronal","index":7,"window":"-314.5,1353"}}"#,
                "ab".repeat(32)
            )
        );
        assert_eq!(serde_json::from_str::<SliceView>(&text).unwrap(), view);
        for window in ["ct_abdomen", "p0.5-99.5", "minmax", "default", "40,400"] {
            let v = SliceView::parse(&view.volume, "axial", 0, window).unwrap();
            assert_eq!(v.window.to_string(), window);
        }
        assert!(SliceView::parse("xyz", "axial", 0, "default").is_err());
        assert!(SliceView::parse(&view.volume, "oblique", 0, "default").is_err());
        assert!(SliceView::parse(&view.volume, "axial", 0, "40,-1").is_err());
        assert!(SliceView::parse(&view.volume, "axial", 0, "nonsense").is_err());
    }

    #[test]
    fn moving_through_the_volume_clamps_and_remembers_the_index_per_axis() {
        let info = info();
        let mut state = VolumeState::<()>::new(info.clone(), info.initial_view()).unwrap();
        assert!(state.step(1));
        assert_eq!(state.target().index, 3);
        assert!(state.step(10));
        assert_eq!(state.target().index, 4, "clamped to the last slice");
        assert!(!state.step(1), "already at the end");
        assert!(state.step(-100));
        assert_eq!(state.target().index, 0);
        assert!(state.set_axis(Axis::Sagittal));
        assert_eq!(state.target().index, 2, "middle of 4 sagittal slices");
        assert!(state.set_index(3));
        assert!(state.set_axis(Axis::Axial));
        assert_eq!(state.target().index, 0, "back where axial was");
        assert!(state.set_axis(Axis::Sagittal));
        assert_eq!(state.target().index, 3);
        let g = state.generation();
        assert!(state.set_window(Window::Preset(imaging::Preset::Lung)));
        assert_eq!(state.generation(), g + 1);
        assert!(!state.set_window(Window::Manual(WindowLevel {
            center: 0.0,
            width: 0.0
        })));
    }

    #[test]
    fn fetches_follow_the_latest_target_and_slices_keep_their_own_memory() {
        let info = info();
        let mut state = VolumeState::<Vec<&str>>::new(info.clone(), info.initial_view()).unwrap();
        let first = state.next_fetch().unwrap();
        assert!(state.next_fetch().is_none(), "one fetch at a time");
        state.step(1);
        assert!(!state.settled());
        assert_eq!(
            state.arrived(first.clone(), slice(&first, 'a')),
            Arrival::NewSlice { previous: None }
        );
        assert!(!state.settled(), "the target moved on meanwhile");
        let second = state.next_fetch().unwrap();
        assert_eq!(second.index, 3);
        assert_eq!(
            state.arrived(second.clone(), slice(&second, 'b')),
            Arrival::NewSlice {
                previous: Some((Axis::Axial, 2))
            }
        );
        assert!(state.settled());
        assert!(state.next_fetch().is_none());
        // Prompts of slice 2 are kept while slice 3 is shown.
        state.remember((Axis::Axial, 2), vec!["box on slice 2"]);
        // A window change is the same slice.
        state.set_window(Window::Preset(imaging::Preset::Bone));
        let third = state.next_fetch().unwrap();
        assert_eq!(
            state.arrived(third.clone(), slice(&third, 'c')),
            Arrival::SameSlice
        );
        assert_eq!(state.recall((Axis::Axial, 2)), Some(vec!["box on slice 2"]));
        assert_eq!(state.recall((Axis::Axial, 2)), None);
        // A failed fetch puts the controls back on the slice shown.
        state.step(-1);
        state.next_fetch().unwrap();
        state.fetch_failed();
        assert_eq!(state.target(), &third);
        assert!(state.settled());
        // Views of another volume or outside it are refused.
        let mut outside = third.clone();
        outside.index = 99;
        assert!(VolumeState::<()>::new(info.clone(), outside).is_err());
    }

    #[test]
    fn positions_and_labels_read_like_a_viewer() {
        assert_eq!(slice_label(0, 120), "slice 1 / 120");
        assert_eq!(
            position_label(Axis::Axial, [-10.0, -20.0, -26.0], true).as_deref(),
            Some("z = -26.0 mm (I)")
        );
        assert_eq!(
            position_label(Axis::Coronal, [0.0, 12.25, 0.0], true).as_deref(),
            Some("y = 12.2 mm (P)")
        );
        assert_eq!(
            position_label(Axis::Sagittal, [3.0, 0.0, 0.0], true).as_deref(),
            Some("x = 3.0 mm (L)")
        );
        assert_eq!(position_label(Axis::Axial, [0.0; 3], false), None);
        assert_eq!(position_label(Axis::Native, [0.0; 3], true), None);
        assert_eq!(short_number(-991.0), "-991");
        assert_eq!(short_number(0.25), "0.25");
        assert_eq!(short_number(-0.0001), "0");
    }

    #[test]
    fn window_choices_list_the_papers_abdomen_window_first_then_mr_percentiles() {
        let choices = window_choices(&info());
        let values: Vec<&str> = choices.iter().map(|(v, _)| v.as_str()).collect();
        assert_eq!(
            values,
            [
                "default",
                "ct_abdomen",
                "lung",
                "bone",
                "p0.5-99.5",
                "p1-99",
                "minmax"
            ]
        );
        assert_eq!(choices[1].1, "CT abdomen [-991, 362]");
        assert_eq!(choices[0].1, "file window (C 40 W 400)");
        for (value, _) in &choices {
            assert!(value.parse::<Window>().is_ok(), "{value}");
        }
        let info = info();
        assert_eq!(
            known_level(&info, &Window::Preset(imaging::Preset::CtAbdomen))
                .map(|w| (w.lower(), w.upper())),
            Some((-991.0, 362.0))
        );
        assert_eq!(known_level(&info, &Window::MR_PERCENTILES), None);
    }

    #[test]
    fn the_drag_gesture_changes_width_horizontally_and_level_vertically() {
        let start = WindowLevel {
            center: 40.0,
            width: 400.0,
        };
        let range = [-1024.0, 3071.0];
        let w = dragged_window(start, 100.0, 0.0, range);
        assert_eq!(w.center, 40.0);
        assert_eq!(w.width, 400.0 + 819.0, "4095 per 500 px, rounded to 1 HU");
        let w = dragged_window(start, 0.0, -50.0, range);
        assert_eq!((w.center, w.width), (40.0 - 410.0, 400.0));
        let w = dragged_window(start, -10_000.0, 0.0, range);
        assert!(w.width > 0.0 && w.width <= 2.0, "{w:?}");
        // Normalised data keeps fine steps.
        let w = dragged_window(
            WindowLevel {
                center: 0.5,
                width: 1.0,
            },
            1.0,
            0.0,
            [0.0, 1.0],
        );
        assert_eq!(w.width, 1.002);
        assert_eq!(round_for_span(12.345_678, 1.0), 12.3457);
    }

    #[test]
    fn the_preview_lut_is_exact_inside_the_shown_window() {
        let shown = WindowLevel::from_bounds(0.0, 255.0);
        let same = preview_lut(shown, shown, false);
        assert!(same.iter().enumerate().all(|(i, &v)| v as usize == i));
        // Narrowing to [100, 150]: 100 → 0, 125 → 128 (half up), 150 → 255, beyond clipped.
        let narrow = preview_lut(shown, WindowLevel::from_bounds(100.0, 150.0), false);
        assert_eq!(
            (
                narrow[99],
                narrow[100],
                narrow[125],
                narrow[150],
                narrow[200]
            ),
            (0, 0, 128, 255, 255)
        );
        // Inverted (MONOCHROME1) stays inverted.
        let inv = preview_lut(shown, WindowLevel::from_bounds(100.0, 150.0), true);
        assert_eq!((inv[255 - 100], inv[255 - 150]), (255, 0));
    }

    fn nrrd(sizes: [usize; 3], data: &[u8]) -> Vec<u8> {
        let mut bytes = format!(
            "NRRD0004\ntype: uint8\ndimension: 3\nspace: left-posterior-superior\nsizes: {} {} {}\n\
             space directions: (1,0,0) (0,1,0) (0,0,2)\nkinds: domain domain domain\n\
             endian: little\nencoding: raw\nspace origin: (-10,-20,-30)\n\n",
            sizes[0], sizes[1], sizes[2]
        )
        .into_bytes();
        bytes.extend_from_slice(data);
        bytes
    }

    #[test]
    fn a_label_volume_on_the_scans_grid_slices_into_ground_truth_masks() {
        let info = info();
        let mut data = vec![0u8; 4 * 3 * 5];
        // Voxel (i=1, j=2, k=3) is label 7.
        data[3 * 12 + 2 * 4 + 1] = 7;
        let labels =
            imaging::decode_labels(&nrrd([4, 3, 5], &data), &imaging::Limits::default()).unwrap();
        check_label_grid(&info, &labels).unwrap();
        for axis in [Axis::Axial, Axis::Coronal, Axis::Sagittal] {
            let [w, h] = info.slice_size[axis.as_str()];
            let pngs: Vec<Option<Vec<u8>>> = (0..info.slice_count(axis))
                .map(|i| label_slice_png(&labels, axis, i).unwrap())
                .collect();
            assert_eq!(
                pngs.iter().filter(|p| p.is_some()).count(),
                1,
                "{axis}: one slice holds the voxel"
            );
            let png = pngs.into_iter().flatten().next().unwrap();
            let gt = GroundTruth::decode(&png, w, h).unwrap();
            assert_eq!(gt.labels(), vec![(7, 1)], "{axis}");
        }
        assert!(label_slice_png(&labels, Axis::Axial, 9).is_err());

        let other =
            imaging::decode_labels(&nrrd([4, 3, 4], &data[..48]), &imaging::Limits::default())
                .unwrap();
        assert!(
            check_label_grid(&info, &other)
                .unwrap_err()
                .contains("4×3×4")
        );
    }
}
