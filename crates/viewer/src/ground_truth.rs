//! The ground truth a person uploads: a binary mask or a label map. The object the
//! metrics use is one label value (the evaluator's `class` instances); Dice, IoU and the
//! paper's centroid prompt come from `crates/eval`, so the viewer reports exactly the
//! evaluator's numbers.

use api::BinaryMask;
use api::{Action, Step};
use eval::ground_truth::{Decode, LabelMap, decode_mask};
use eval::metrics::{dice, iou};
use eval::protocols::{OutsidePolicy, Protocol, ProtocolOptions, first_prompt};

/// An uploaded ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundTruth {
    labels: LabelMap,
}

/// Dice and IoU of a mask against the chosen object.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Overlap {
    /// 2|A∩B| / (|A|+|B|).
    pub dice: f64,
    /// |A∩B| / |A∪B|.
    pub iou: f64,
}

/// Per-pixel agreement for the FP/FN overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// Neither.
    TrueNegative,
    /// Both.
    TruePositive,
    /// Predicted, not in the ground truth.
    FalsePositive,
    /// In the ground truth, missed.
    FalseNegative,
}

impl GroundTruth {
    /// Decodes an uploaded mask (PNG/TIFF…, 8- or 16-bit grey, or R = G = B) and checks it
    /// matches the image size.
    pub fn decode(bytes: &[u8], width: usize, height: usize) -> Result<Self, String> {
        let labels = decode_mask(bytes, "the ground-truth mask", &Decode::Labels)
            .map_err(|e| e.to_string())?;
        if (labels.width, labels.height) != (width, height) {
            return Err(format!(
                "the ground-truth mask is {}×{} but the image is {width}×{height}",
                labels.width, labels.height
            ));
        }
        if labels.data.iter().all(|&v| v == 0) {
            return Err("the ground-truth mask is empty (every pixel is 0)".into());
        }
        Ok(Self { labels })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.labels.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.labels.height
    }

    /// The non-zero label values and their pixel counts, ascending by value.
    pub fn labels(&self) -> Vec<(u16, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for &v in self.labels.data.iter().filter(|&&v| v != 0) {
            *counts.entry(v).or_insert(0usize) += 1;
        }
        counts.into_iter().collect()
    }

    /// The label under `(x, y)` (nearest pixel), if it is an object.
    pub fn label_at(&self, x: f64, y: f64) -> Option<u16> {
        let (col, row) = ((x + 0.5).floor(), (y + 0.5).floor());
        if col < 0.0 || row < 0.0 || col >= self.width() as f64 || row >= self.height() as f64 {
            return None;
        }
        let v = self.labels.data[row as usize * self.width() + col as usize];
        (v != 0).then_some(v)
    }

    /// The label a session's first step lands on: the click, or the box centre.
    pub fn label_for(&self, steps: &[Step]) -> Option<u16> {
        match steps.first()?.action {
            Action::Point { x, y, .. } => self.label_at(x, y),
            Action::Box { x0, y0, x1, y1 } => self.label_at((x0 + x1) / 2.0, (y0 + y1) / 2.0),
        }
    }

    /// The object with label `label` as a mask.
    pub fn object(&self, label: u16) -> BinaryMask {
        BinaryMask {
            width: self.width(),
            height: self.height(),
            data: self
                .labels
                .data
                .iter()
                .map(|&v| u8::from(v == label))
                .collect(),
        }
    }

    /// Dice and IoU of `mask` against object `label`; `None` when both are empty or the
    /// sizes differ.
    pub fn overlap(&self, label: u16, mask: &BinaryMask) -> Option<Overlap> {
        if (mask.width, mask.height) != (self.width(), self.height()) {
            return None;
        }
        let object = self.object(label);
        Some(Overlap {
            dice: dice(&object, mask)?,
            iou: iou(&object, mask)?,
        })
    }

    /// The paper's prompt for object `label`: one positive click at its centroid (kept
    /// where it falls, as the evaluator's default `centroid` protocol does), three
    /// candidates, the highest-scored kept.
    pub fn paper_protocol(&self, label: u16) -> Option<Step> {
        let pixels: Vec<u32> = self
            .labels
            .data
            .iter()
            .enumerate()
            .filter(|&(_, &v)| v == label)
            .map(|(i, _)| i as u32)
            .collect();
        if pixels.is_empty() {
            return None;
        }
        let options = ProtocolOptions {
            outside: OutsidePolicy::Keep,
            ..ProtocolOptions::default()
        };
        let (prompt, _flags) = first_prompt(
            Protocol::Centroid,
            &pixels,
            self.width(),
            self.height(),
            &options,
            &[],
        );
        let [x, y] = *prompt.points.first()?;
        Some(Step {
            action: Action::Point {
                x,
                y,
                positive: true,
            },
            chosen: None,
        })
    }

    /// Agreement of `mask` with object `label` at pixel `i`.
    pub fn agreement(&self, label: u16, mask: &BinaryMask, i: usize) -> Agreement {
        match (self.labels.data[i] == label, mask.data[i] != 0) {
            (true, true) => Agreement::TruePositive,
            (false, true) => Agreement::FalsePositive,
            (true, false) => Agreement::FalseNegative,
            (false, false) => Agreement::TrueNegative,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32, values: Vec<u8>) -> Vec<u8> {
        let img = image::GrayImage::from_raw(width, height, values).unwrap();
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn labels_clicks_and_metrics_follow_the_label_map() {
        // 4×3 map: label 2 on the left column pair, label 7 at one pixel.
        let values = vec![2, 2, 0, 0, 2, 2, 0, 7, 0, 0, 0, 0];
        let gt = GroundTruth::decode(&png(4, 3, values), 4, 3).unwrap();
        assert_eq!(gt.labels(), vec![(2, 4), (7, 1)]);
        assert_eq!(gt.label_at(0.4, 1.2), Some(2));
        assert_eq!(gt.label_at(3.0, 1.0), Some(7));
        assert_eq!(gt.label_at(2.0, 2.0), None);
        assert_eq!(gt.label_at(-3.0, 0.0), None);
        let mask = BinaryMask {
            width: 4,
            height: 3,
            data: vec![1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0],
        };
        let o = gt.overlap(2, &mask).unwrap();
        assert!((o.dice - 6.0 / 8.0).abs() < 1e-12 && (o.iou - 3.0 / 5.0).abs() < 1e-12);
        assert_eq!(gt.agreement(2, &mask, 1), Agreement::FalseNegative);
        assert_eq!(gt.agreement(2, &mask, 6), Agreement::FalsePositive);
        let step = gt.paper_protocol(2).unwrap();
        assert_eq!(
            step.action,
            Action::Point {
                x: 0.5,
                y: 0.5,
                positive: true
            }
        );
        assert!(gt.paper_protocol(9).is_none());
    }

    #[test]
    fn wrong_sizes_empty_masks_and_garbage_are_refused_with_a_reason() {
        let err = GroundTruth::decode(&png(4, 3, vec![1; 12]), 5, 3).unwrap_err();
        assert!(err.contains("4×3") && err.contains("5×3"), "{err}");
        let err = GroundTruth::decode(&png(2, 2, vec![0; 4]), 2, 2).unwrap_err();
        assert!(err.contains("empty"), "{err}");
        let err = GroundTruth::decode(b"not an image", 2, 2).unwrap_err();
        assert!(err.contains("ground-truth mask"), "{err}");
    }
}
