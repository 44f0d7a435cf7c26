//! Interactive sessions: an ordered list of actions (clicks and boxes), decoded one after
//! another as a person makes them. Each decode sees every click so far and the latest
//! box, and is fed the low-res logits of the candidate chosen at the previous step as
//! `mask_input` — the official notebook's way of refining a mask with more clicks.
//!
//! The outcome is a pure function of the action list, so the browser (which decodes as
//! the clicks come), `samscope segment --replay` and a share link all get the same mask.
//! The action list itself ([`Action`], [`Step`]) is contract data and lives in `api`.

use burn::prelude::*;

use crate::error::SamError;
use crate::predictor::{Embedding, Prediction, PromptInput, SamPredictor};
use crate::prompt_encoder::{LABEL_NEGATIVE, LABEL_POSITIVE};

pub use api::{Action, Step};

/// `step.chosen_in(&prediction)`: the candidate a [`Step`] kept, read from a [`Prediction`].
pub trait ChosenIn {
    /// The candidate kept after this step in `prediction` ([`Step::chosen_among`] its
    /// predicted IoUs).
    fn chosen_in(&self, prediction: &Prediction) -> usize;
}

impl ChosenIn for Step {
    fn chosen_in(&self, prediction: &Prediction) -> usize {
        self.chosen_among(&prediction.iou_predictions)
    }
}

/// The prompt of the decode after `steps` (all clicks, the latest box, multimask on),
/// without `mask_input`.
pub fn prompt_after(steps: &[Step]) -> PromptInput {
    let mut prompt = PromptInput {
        multimask: true,
        ..PromptInput::default()
    };
    for step in steps {
        match step.action {
            Action::Point { x, y, positive } => {
                prompt.points.push([x, y]);
                prompt.labels.push(if positive {
                    LABEL_POSITIVE
                } else {
                    LABEL_NEGATIVE
                });
            }
            Action::Box { x0, y0, x1, y1 } => prompt.bbox = Some([x0, y0, x1, y1]),
        }
    }
    prompt
}

/// The `mask_input` the next step gets from this step's outcome: the chosen candidate's
/// low-res logits, `1×1×256×256`.
pub fn chained_mask(prediction: &Prediction, chosen: usize) -> Tensor<4> {
    let [_, c, h, w] = prediction.low_res_logits.dims();
    let i = chosen.min(c.saturating_sub(1));
    prediction
        .low_res_logits
        .clone()
        .slice([0..1, i..i + 1, 0..h, 0..w])
}

/// The prompt for step `k` (0-based) of `steps`, chained to the previous outcome.
pub fn step_prompt(steps: &[Step], k: usize, previous: Option<Tensor<4>>) -> PromptInput {
    PromptInput {
        mask_input: previous,
        ..prompt_after(&steps[..=k])
    }
}

/// Decodes every step in order (synchronous reads: CPU backends, native GPU) and returns
/// each step's prediction; the last one is what the person saw.
pub fn replay(
    predictor: &SamPredictor,
    embedding: &Embedding,
    steps: &[Step],
) -> Result<Vec<Prediction>, SamError> {
    let prepared = predictor.prepare(embedding)?;
    let mut outcomes: Vec<Prediction> = Vec::with_capacity(steps.len());
    for k in 0..steps.len() {
        let previous = outcomes
            .last()
            .map(|p| chained_mask(p, steps[k - 1].chosen_in(p)));
        outcomes.push(predictor.predict_prepared(&prepared, &step_prompt(steps, k, previous))?);
    }
    Ok(outcomes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(x: f64, y: f64, positive: bool) -> Step {
        Step {
            action: Action::Point { x, y, positive },
            chosen: None,
        }
    }

    #[test]
    fn the_prompt_has_every_click_in_order_and_only_the_latest_box() {
        let boxed = |x0, x1| Step {
            action: Action::Box {
                x0,
                y0: 1.0,
                x1,
                y1: 9.0,
            },
            chosen: Some(2),
        };
        let steps = [
            boxed(0.0, 5.0),
            point(3.0, 4.0, true),
            boxed(1.0, 8.0),
            point(6.0, 2.0, false),
        ];
        let prompt = prompt_after(&steps);
        assert_eq!(prompt.points, vec![[3.0, 4.0], [6.0, 2.0]]);
        assert_eq!(prompt.labels, vec![LABEL_POSITIVE, LABEL_NEGATIVE]);
        assert_eq!(prompt.bbox, Some([1.0, 1.0, 8.0, 9.0]));
        assert!(prompt.multimask && prompt.mask_input.is_none());
        let first = prompt_after(&steps[..1]);
        assert!(first.points.is_empty());
        assert_eq!(first.bbox, Some([0.0, 1.0, 5.0, 9.0]));
    }
}
