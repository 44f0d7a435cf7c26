//! Chest X-ray lung datasets.
//!
//! ```text
//! montgomery: DIR/CXR_png/MCUCXR_NNNN_D.png
//!               + DIR/ManualMask/leftMask/<same name> + DIR/ManualMask/rightMask/<same name>
//!             classes `left lung` and `right lung` (the patient's sides), spacing 0.0875 mm
//! shenzhen:   DIR/CXR_png/CHNCXR_NNNN_D.png + DIR/mask/CHNCXR_NNNN_D_mask.png (or masks/)
//!             class `lungs` (both in one mask; `--instances component` splits them);
//!             images without a mask are skipped (566 of the 662 have one)
//! ```

use std::path::Path;

use super::{Sample, files_in, has_extension, require_annotation, require_dirs, stem};
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};
use crate::metrics::Spacing;

/// Montgomery County's detector pitch, as its README states.
const MONTGOMERY_SPACING: Spacing = Spacing {
    row_mm: 0.0875,
    col_mm: 0.0875,
};

pub(super) fn montgomery(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let images = root.join("CXR_png");
    let left = root.join("ManualMask/leftMask");
    let right = root.join("ManualMask/rightMask");
    let expected = "DIR/CXR_png/<name>.png with DIR/ManualMask/{leftMask,rightMask}/<name>.png";
    require_dirs(&[&images, &left, &right], expected)?;
    let mut samples = Vec::new();
    for image in files_in(&images)? {
        if !has_extension(&image, &["png"]) {
            continue;
        }
        let name = image.file_name().unwrap_or_default();
        let (l, r) = (left.join(name), right.join(name));
        require_annotation(&l, &image)?;
        require_annotation(&r, &image)?;
        let mut sample = Sample::new(
            stem(&image),
            image,
            vec![
                LayerSource::new(l, Decode::Binary, Classes::single(1, "left lung")),
                LayerSource::new(r, Decode::Binary, Classes::single(1, "right lung")),
            ],
        );
        sample.spacing = Some(MONTGOMERY_SPACING);
        samples.push(sample);
    }
    Ok(samples)
}

pub(super) fn shenzhen(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let images = root.join("CXR_png");
    require_dirs(
        &[&images],
        "DIR/CXR_png/<name>.png with DIR/mask/<name>_mask.png",
    )?;
    let masks = ["mask", "masks"]
        .iter()
        .map(|d| root.join(d))
        .find(|d| d.is_dir())
        .ok_or_else(|| {
            EvalError::layout(
                root.join("mask"),
                "missing folder; expected DIR/mask/<name>_mask.png (or DIR/masks/)",
            )
        })?;
    let mut samples = Vec::new();
    for image in files_in(&images)? {
        if !has_extension(&image, &["png"]) {
            continue;
        }
        let id = stem(&image);
        let mask = masks.join(format!("{id}_mask.png"));
        if mask.is_file() {
            samples.push(Sample::new(
                id,
                image,
                vec![LayerSource::new(
                    mask,
                    Decode::Binary,
                    Classes::single(1, "lungs"),
                )],
            ));
        }
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, test_tree};

    #[test]
    fn montgomery_has_two_lungs_and_a_spacing() {
        let root = test_tree::root("montgomery");
        test_tree::image(&root.join("CXR_png/MCUCXR_0001_0.png"));
        test_tree::mask(&root.join("ManualMask/leftMask/MCUCXR_0001_0.png"), 255);
        test_tree::mask(&root.join("ManualMask/rightMask/MCUCXR_0001_0.png"), 255);
        let samples = Layout::Montgomery.discover(&root).unwrap();
        assert_eq!(samples[0].layers.len(), 2);
        assert_eq!(samples[0].layers[1].classes.name(1), "right lung");
        assert_eq!(samples[0].spacing.unwrap().row_mm, 0.0875);
        std::fs::remove_file(root.join("ManualMask/rightMask/MCUCXR_0001_0.png")).unwrap();
        let err = Layout::Montgomery.discover(&root).unwrap_err().to_string();
        assert!(err.contains("rightMask/MCUCXR_0001_0.png"), "{err}");
    }

    #[test]
    fn shenzhen_skips_images_without_masks() {
        let root = test_tree::root("shenzhen");
        test_tree::image(&root.join("CXR_png/CHNCXR_0001_0.png"));
        test_tree::image(&root.join("CXR_png/CHNCXR_0002_1.png"));
        test_tree::mask(&root.join("mask/CHNCXR_0001_0_mask.png"), 255);
        let samples = Layout::Shenzhen.discover(&root).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].id, "CHNCXR_0001_0");
        assert!(samples[0].spacing.is_none());
        std::fs::remove_dir_all(root.join("mask")).unwrap();
        let err = Layout::Shenzhen.discover(&root).unwrap_err().to_string();
        assert!(err.contains("mask"), "{err}");
    }
}
