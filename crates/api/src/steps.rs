//! Interactive segmentation as data: an ordered list of actions (clicks and boxes) in
//! original image pixels, each with the candidate the person kept after it. The
//! browser, `samscope segment --replay`, share links and teaching decks all carry this
//! list; `sam::session` decodes it.

use serde::{Deserialize, Serialize};

use crate::mask::best_index;

/// One thing a person did, in original image pixels (x = column, y = row).
///
/// JSON: `{"kind": "point", "x": 10.0, "y": 20.0, "positive": true}` or
/// `{"kind": "box", "x0": 1.0, "y0": 2.0, "x1": 30.0, "y1": 40.0}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Action {
    /// A click: foreground (`positive`) or background.
    Point {
        /// Column.
        x: f64,
        /// Row.
        y: f64,
        /// Foreground (true) or background (false).
        positive: bool,
    },
    /// A box; a later box replaces an earlier one (SAM takes one box).
    Box {
        /// Left.
        x0: f64,
        /// Top.
        y0: f64,
        /// Right.
        x1: f64,
        /// Bottom.
        y1: f64,
    },
}

/// An action and the candidate the person kept after it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// What was done.
    pub action: Action,
    /// The candidate kept (index into the 3 masks); `None` = the highest predicted IoU.
    #[serde(default)]
    pub chosen: Option<usize>,
}

impl Step {
    /// The candidate kept after this step among candidates with these predicted IoUs:
    /// [`Step::chosen`] when it names one of them, else the highest ([`best_index`]).
    pub fn chosen_among(&self, iou_predictions: &[f32]) -> usize {
        match self.chosen {
            Some(i) if i < iou_predictions.len() => i,
            _ => best_index(iou_predictions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chosen_candidate_out_of_range_falls_back_to_the_best() {
        let step = |chosen| Step {
            action: Action::Point {
                x: 1.0,
                y: 2.0,
                positive: true,
            },
            chosen,
        };
        let ious = [0.1, 0.8, 0.3];
        assert_eq!(step(None).chosen_among(&ious), 1);
        assert_eq!(step(Some(2)).chosen_among(&ious), 2);
        assert_eq!(step(Some(3)).chosen_among(&ious), 1);
    }

    #[test]
    fn steps_read_their_json_shape() {
        let steps: Vec<Step> = serde_json::from_str(
            r#"[{"action": {"kind": "point", "x": 3, "y": 4.5, "positive": false}},
                {"action": {"kind": "box", "x0": 1, "y0": 2, "x1": 30, "y1": 40}, "chosen": 2}]"#,
        )
        .unwrap();
        assert_eq!(
            steps,
            [
                Step {
                    action: Action::Point {
                        x: 3.0,
                        y: 4.5,
                        positive: false
                    },
                    chosen: None
                },
                Step {
                    action: Action::Box {
                        x0: 1.0,
                        y0: 2.0,
                        x1: 30.0,
                        y1: 40.0
                    },
                    chosen: Some(2)
                }
            ]
        );
        let back = serde_json::to_value(steps[1]).unwrap();
        assert_eq!(back["action"]["kind"], "box");
        assert_eq!(back["chosen"], 2);
    }
}
