//! The click session on the image shown: its prompts with undo/redo, the decode shown and
//! the hover preview, the ground truth and the object its metrics use, the IoU per click.

use ::api::BinaryMask;
use ::api::Step;
use ::api::best_index;

use crate::ground_truth::{GroundTruth, Overlap};
use crate::history::History;

/// The decode shown.
#[derive(Debug, Clone, PartialEq)]
pub struct Shown {
    /// The steps it answers.
    pub steps: Vec<Step>,
    /// The candidates.
    pub masks: Vec<BinaryMask>,
    /// Their predicted IoUs.
    pub ious: Vec<f32>,
}

impl Shown {
    /// The candidate shown: the last step's choice, else the highest predicted IoU.
    pub fn chosen(&self) -> usize {
        let best = best_index(&self.ious);
        match self.steps.last().and_then(|s| s.chosen) {
            Some(i) if i < self.masks.len() => i,
            _ => best,
        }
    }

    /// The chosen candidate's mask.
    pub fn mask(&self) -> &BinaryMask {
        &self.masks[self.chosen()]
    }
}

/// Splits a worker's `count × height × width` bytes into masks.
pub fn split_masks(width: usize, height: usize, bytes: &[u8]) -> Vec<BinaryMask> {
    bytes
        .chunks((width * height).max(1))
        .map(|data| BinaryMask {
            width,
            height,
            data: data.to_vec(),
        })
        .collect()
}

/// The prompts and results on the image shown.
#[derive(Debug, Clone, Default)]
pub struct ClickSession {
    /// Steps with undo/redo.
    pub history: History,
    /// The decode shown.
    pub shown: Option<Shown>,
    /// Counts the decodes put on screen (the overlay is redrawn for a new one).
    pub shown_count: u64,
    /// The hover preview's mask (its best candidate).
    pub preview: Option<BinaryMask>,
    /// Counts the hover previews (the preview overlay is redrawn for a new one).
    pub preview_count: u64,
    /// IoU after each step.
    pub chart: Vec<Option<f64>>,
    /// Ground truth: its id and labels.
    pub gt: Option<(String, GroundTruth)>,
    /// The object the metrics use.
    pub label: Option<u16>,
    /// The paper protocol ran; its numbers are shown when its decode arrives.
    pub paper_pending: bool,
}

impl ClickSession {
    /// Dice/IoU of the shown mask, if there is a ground truth and an object.
    pub fn overlap(&self) -> Option<Overlap> {
        let shown = self.shown.as_ref()?;
        let (_, gt) = self.gt.as_ref()?;
        gt.overlap(self.label?, shown.mask())
    }

    /// The decode shown answers the steps on screen.
    pub fn answered(&self) -> bool {
        self.shown
            .as_ref()
            .is_some_and(|s| s.steps.as_slice() == self.history.steps())
    }

    /// A decode of steps on screen is still to come.
    pub fn waiting(&self) -> bool {
        !self.answered() && !self.history.steps().is_empty()
    }

    /// The ground truth and object the FP/FN overlay colours by, when it is on.
    pub fn errors(&self, show_errors: bool) -> Option<(&GroundTruth, u16)> {
        match (&self.gt, self.label, show_errors) {
            (Some((_, gt)), Some(label), true) => Some((gt, label)),
            _ => None,
        }
    }

    /// Puts a decode on screen (its steps: the current ones); picks the object from the
    /// ground truth if none is chosen.
    pub fn show(&mut self, masks: Vec<BinaryMask>, ious: Vec<f32>) {
        let shown = Shown {
            steps: self.history.steps().to_vec(),
            masks,
            ious,
        };
        if self.label.is_none()
            && let Some((_, gt)) = &self.gt
        {
            self.label = gt.label_for(&shown.steps);
        }
        self.shown = Some(shown);
        self.shown_count += 1;
        self.preview = None;
    }

    /// Shows a hover preview (the best candidate), or drops it.
    pub fn set_preview(&mut self, mask: Option<BinaryMask>) {
        self.preview = mask;
        self.preview_count += 1;
    }

    /// No decode and no preview (a new image, or no steps).
    pub fn clear_results(&mut self) {
        self.shown = None;
        self.preview = None;
    }

    /// Brings the chart up to the steps on screen and records the IoU of the last one;
    /// returns the metrics.
    pub fn chart_step(&mut self) -> Option<Overlap> {
        let metrics = self.overlap();
        let n = self.history.steps().len();
        self.chart.resize(n, None);
        if let (Some(m), true) = (metrics, n > 0) {
            self.chart[n - 1] = Some(m.iou);
        }
        metrics
    }

    /// The result line of the paper protocol, once its decode is on screen (then it is no
    /// longer pending).
    pub fn paper_result(&mut self, metrics: Option<Overlap>) -> Option<String> {
        if !(self.paper_pending && self.answered()) {
            return None;
        }
        self.paper_pending = false;
        Some(match metrics {
            Some(m) => format!(
                "Paper protocol (centroid click, best of 3): Dice {:.4}, IoU {:.4}",
                m.dice, m.iou
            ),
            None => "Paper protocol: no overlap could be computed".to_string(),
        })
    }
}
