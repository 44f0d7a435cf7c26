//! The JSON a person downloads next to the mask: enough to reproduce it with
//! `samscope segment --replay` (which reads `model`, `wire` and `steps`) and to cite it.
//! For a volume slice, `view` names it (`{volume, axis, index, window}`): `samscope
//! segment --image SCAN --slice AXIS:INDEX --window WINDOW --replay …` cuts the same slice.

use api::Step;
use serde::{Deserialize, Serialize};

use crate::ground_truth::Overlap;
use crate::protocol::Wire;
use crate::volume::SliceView;

/// Format tag of [`SessionRecord`].
pub const RECORD_FORMAT: &str = "samscope-session/v1";

/// One downloaded session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionRecord {
    /// [`RECORD_FORMAT`].
    pub format: String,
    /// Model id.
    pub model: String,
    /// Image id (content hash).
    pub image: String,
    /// Image width, pixels.
    pub width: usize,
    /// Image height, pixels.
    pub height: usize,
    /// Ground-truth mask id, if any.
    pub gt: Option<String>,
    /// Ground-truth label the metrics use.
    pub label: Option<u16>,
    /// Precision of embedding and decoder weights.
    pub wire: Wire,
    /// Backend that decoded (`webgpu`, `cpu-wasm`).
    pub backend: String,
    /// Clicks and boxes in order.
    pub steps: Vec<Step>,
    /// The candidate shown.
    pub chosen: usize,
    /// Predicted IoU of each candidate.
    pub iou_predictions: Vec<f32>,
    /// Foreground pixels of the shown mask.
    pub area: usize,
    /// Dice and IoU against the ground truth.
    pub metrics: Option<Overlap>,
    /// The share link's fragment.
    pub link: String,
    /// The volume slice the image is, if it is one (absent in records of 2-D images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub view: Option<SliceView>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use api::Action;

    #[test]
    fn the_record_has_what_segment_replay_reads() {
        let record = SessionRecord {
            format: RECORD_FORMAT.into(),
            model: "lite_medsam".into(),
            image: "a".repeat(64),
            width: 4,
            height: 3,
            gt: None,
            label: None,
            wire: Wire::F16,
            backend: "cpu-wasm".into(),
            steps: vec![Step {
                action: Action::Box {
                    x0: 0.0,
                    y0: 0.0,
                    x1: 2.0,
                    y1: 2.0,
                },
                chosen: None,
            }],
            chosen: 1,
            iou_predictions: vec![0.5, 0.9, 0.1],
            area: 4,
            metrics: Some(Overlap {
                dice: 0.5,
                iou: 1.0 / 3.0,
            }),
            link: String::new(),
            view: None,
        };
        let value: serde_json::Value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["wire"], "f16");
        assert_eq!(value["model"], "lite_medsam");
        assert_eq!(value["steps"][0]["action"]["kind"], "box");
        assert!(value["steps"][0]["chosen"].is_null());
        assert!(value.get("view").is_none(), "2-D records look as before");
        let back: SessionRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back, record);

        let slice = SessionRecord {
            view: Some(SliceView::parse(&"5b".repeat(32), "axial", 40, "ct_abdomen").unwrap()),
            ..record
        };
        let value = serde_json::to_value(&slice).unwrap();
        assert_eq!(
            value["view"],
            serde_json::json!({ "volume": "5b".repeat(32), "axis": "axial", "index": 40,
                                "window": "ct_abdomen" })
        );
        assert_eq!(
            serde_json::from_value::<SessionRecord>(value).unwrap(),
            slice
        );
    }
}
