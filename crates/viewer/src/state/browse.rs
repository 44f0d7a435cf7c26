//! Browsing a volume: [`VolumeState`] (the slice wanted, fetched and shown), what each
//! visited slice keeps (prompts, ground truth, object, chart), a label volume as the
//! ground truth of every slice, and the client-side preview of a window change.

use serde_json::{Value, json};

use crate::ground_truth::GroundTruth;
use crate::history::History;
use crate::volume::{
    SliceView, VolumeInfo, VolumeState, WindowLevel, known_level, position_label, preview_lut,
};
use crate::volume::{SliceWindowLevel, VolumeSlicing};

/// How long a slice must stay on screen before its embedding is asked for, ms.
pub const SETTLE_MS: i32 = 250;

/// What a slice keeps while another one is shown.
#[derive(Debug, Clone, Default)]
pub struct SliceMemory {
    /// Its prompts, with undo/redo.
    pub history: History,
    /// Its ground truth (id, labels).
    pub gt: Option<(String, GroundTruth)>,
    /// The object its metrics use.
    pub label: Option<u16>,
    /// Its IoU-per-click chart.
    pub chart: Vec<Option<f64>>,
}

/// The volume being browsed.
pub struct Browse {
    /// Slice wanted, fetched, shown; per-slice memories.
    pub volume: VolumeState<SliceMemory>,
    /// A label volume on the scan's grid, the ground truth of every slice.
    pub label_volume: Option<imaging::Volume>,
    /// The window a client-side preview shows instead of the slice (a window change the
    /// server has not rendered yet).
    pub preview_level: Option<WindowLevel>,
}

impl Browse {
    /// Browsing `volume`, nothing shown yet.
    pub fn new(volume: VolumeState<SliceMemory>) -> Self {
        Self {
            volume,
            label_volume: None,
            preview_level: None,
        }
    }

    /// The window a Ctrl+drag starts from: the one previewed, else the slice's.
    pub fn drag_start(&self) -> Option<WindowLevel> {
        self.preview_level
            .or_else(|| self.volume.shown()?.1.window.level())
    }

    /// The window the target asks for, when only the window differs from the slice shown
    /// and its numbers are known here (then it can be previewed at once).
    pub fn window_to_preview(&self) -> Option<WindowLevel> {
        let target = self.volume.target();
        let (shown, _) = self.volume.shown()?;
        (shown.key() == target.key() && shown.window != target.window)
            .then(|| known_level(&self.volume.info, &target.window))
            .flatten()
    }

    /// The colour map that turns the slice on screen into `wanted`'s rendering, and marks
    /// `wanted` previewed; `None` when the slice's own window is unknown.
    pub fn preview(&mut self, wanted: WindowLevel) -> Option<[u8; 256]> {
        let (_, slice) = self.volume.shown()?;
        let shown_level = slice.window.level()?;
        let lut = preview_lut(shown_level, wanted, slice.window.inverted);
        self.preview_level = Some(wanted);
        Some(lut)
    }

    /// The colour map of the preview on screen, if any.
    pub fn preview_lut(&self) -> Option<[u8; 256]> {
        let wanted = self.preview_level?;
        let (_, slice) = self.volume.shown()?;
        Some(preview_lut(
            slice.window.level()?,
            wanted,
            slice.window.inverted,
        ))
    }

    /// The view on screen.
    pub fn shown_view(&self) -> Option<SliceView> {
        self.volume.shown_view().cloned()
    }

    /// The volume part of `window.samscopeState()`.
    pub fn state_json(&self) -> Value {
        let v = &self.volume;
        let target = v.target();
        let shown = v.shown().map(|(view, slice)| {
            json!({
                "axis": view.axis.as_str(), "index": view.index, "window": view.window.to_string(),
                "image": slice.id, "lower": slice.window.lower, "upper": slice.window.upper,
                "position": position_label(view.axis, slice.origin_lps, v.info.oriented),
            })
        });
        json!({
            "id": v.info.id,
            "axis": target.axis.as_str(),
            "index": target.index,
            "window": target.window.to_string(),
            "slices": v.info.slice_count(target.axis),
            "shown": shown,
            "settled": v.settled(),
            "label_volume": self.label_volume.is_some(),
            "preview": self.preview_level.map(|w| [w.lower(), w.upper()]),
        })
    }

    /// The info of the volume.
    pub fn info(&self) -> &VolumeInfo {
        &self.volume.info
    }
}
