//! `isic2018`: ISIC 2018 task 1, skin lesion boundaries (class `lesion`).
//!
//! ```text
//! DIR/ISIC2018_Task1-2_<Split>_Input/ISIC_<NNNNNNN>.jpg
//! DIR/ISIC2018_Task1_<Split>_GroundTruth/ISIC_<NNNNNNN>_segmentation.png
//! ```
//!
//! `<Split>` is `Training`, `Validation` or `Test`; every split with both folders is used.

use std::path::Path;

use super::{Sample, files_in, has_extension, require_annotation, stem};
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};

pub(super) fn discover(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let mut samples = Vec::new();
    let mut splits = 0;
    for split in ["Training", "Validation", "Test"] {
        let input = root.join(format!("ISIC2018_Task1-2_{split}_Input"));
        let truth = root.join(format!("ISIC2018_Task1_{split}_GroundTruth"));
        if !(input.is_dir() && truth.is_dir()) {
            continue;
        }
        splits += 1;
        for image in files_in(&input)? {
            if !has_extension(&image, &["jpg", "jpeg", "png"]) {
                continue;
            }
            let id = stem(&image);
            let gt = truth.join(format!("{id}_segmentation.png"));
            require_annotation(&gt, &image)?;
            samples.push(Sample::new(
                format!("{split}/{id}"),
                image,
                vec![LayerSource::new(
                    gt,
                    Decode::Binary,
                    Classes::single(1, "lesion"),
                )],
            ));
        }
    }
    if splits == 0 {
        return Err(EvalError::layout(
            root,
            "expected ISIC2018_Task1-2_<Split>_Input with ISIC2018_Task1_<Split>_GroundTruth \
             (Split = Training, Validation or Test)",
        ));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, test_tree};

    #[test]
    fn pairs_inputs_with_segmentations_per_split() {
        let root = test_tree::root("isic");
        let input = root.join("ISIC2018_Task1-2_Training_Input");
        let truth = root.join("ISIC2018_Task1_Training_GroundTruth");
        test_tree::image(&input.join("ISIC_0000000.jpg"));
        std::fs::write(input.join("LICENSE.txt"), "licence").unwrap();
        test_tree::mask(&truth.join("ISIC_0000000_segmentation.png"), 255);
        // A split without ground truth is not evaluated.
        test_tree::image(&root.join("ISIC2018_Task1-2_Test_Input/ISIC_0000001.jpg"));
        let samples = Layout::Isic2018.discover(&root).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].id, "Training/ISIC_0000000");
        assert_eq!(samples[0].layers[0].classes.name(1), "lesion");

        test_tree::image(&input.join("ISIC_0000002.jpg"));
        let err = Layout::Isic2018.discover(&root).unwrap_err().to_string();
        assert!(err.contains("ISIC_0000002_segmentation.png"), "{err}");
        let err = Layout::Isic2018
            .discover(&test_tree::root("isic-empty"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("ISIC2018_Task1-2_<Split>_Input"), "{err}");
    }
}
