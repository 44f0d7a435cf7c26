//! `aroi`: AROI retinal OCT B-scans (Melinščak et al., 2021), layers and fluids.
//!
//! ```text
//! DIR/**/patient<N>/raw/labeled/patient<N>_raw<NNNN>.png
//! DIR/**/patient<N>/mask/number/patient<N>_raw<NNNN>.png     label map 0–7
//! ```
//!
//! Label values as published: 0 above ILM, 1 ILM–IPL/INL, 2 IPL/INL–RPE, 3 RPE–BM,
//! 4 under BM, 5 PED, 6 SRF, 7 IRF. Values 0 and 4 (the vitreous above the retina and the
//! tissue below Bruch's membrane) are background; the other six are classes, and fluids
//! missing from a B-scan are counted as empty ground truth. The colour masks in
//! `mask/png` are not read.

use std::path::Path;

use super::{Sample, has_extension, parent_name, relative_id, walk};
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};

pub(super) fn aroi(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let classes = Classes::from_pairs(&[
        (1, "ILM-IPL/INL"),
        (2, "IPL/INL-RPE"),
        (3, "RPE-BM"),
        (5, "PED"),
        (6, "SRF"),
        (7, "IRF"),
    ]);
    let decode = Decode::Values(classes.names.keys().map(|&v| (v, v)).collect());
    let mut samples = Vec::new();
    for mask in walk(root)? {
        let in_number = parent_name(&mask) == "number"
            && mask.parent().map(parent_name).as_deref() == Some("mask");
        if !in_number || !has_extension(&mask, &["png"]) {
            continue;
        }
        let patient = mask
            .parent()
            .and_then(Path::parent)
            .and_then(Path::parent)
            .unwrap_or(root);
        let image = patient
            .join("raw/labeled")
            .join(mask.file_name().unwrap_or_default());
        if !image.is_file() {
            return Err(EvalError::layout(
                &image,
                format!("missing B-scan for the label map {}", mask.display()),
            ));
        }
        samples.push(Sample::new(
            relative_id(root, patient) + "/" + &super::stem(&mask),
            image,
            vec![LayerSource::new(mask, decode.clone(), classes.clone())],
        ));
    }
    if samples.is_empty() {
        return Err(EvalError::layout(
            root,
            "no patient<N>/mask/number/*.png label maps (AROI)",
        ));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::super::{Layout, test_tree};
    use crate::ground_truth::load_layer;

    #[test]
    fn reads_number_masks_and_drops_background_bands() {
        let root = test_tree::root("aroi");
        let patient = root.join("24 patient/patient1");
        test_tree::image(&patient.join("raw/labeled/patient1_raw0050.png"));
        test_tree::values(
            &patient.join("mask/number/patient1_raw0050.png"),
            4,
            &[0, 1, 4, 7],
        );
        test_tree::values(
            &patient.join("mask/png/patient1_raw0050.png"),
            4,
            &[9, 9, 9, 9],
        );
        let samples = Layout::Aroi.discover(&root).unwrap();
        assert_eq!(samples.len(), 1);
        assert_eq!(samples[0].id, "24 patient/patient1/patient1_raw0050");
        let layer = load_layer(&samples[0].layers[0], 4, 1, 4).unwrap();
        assert_eq!(layer.map.data, [0, 1, 0, 7]);
        assert_eq!(layer.classes.name(7), "IRF");

        std::fs::remove_file(patient.join("raw/labeled/patient1_raw0050.png")).unwrap();
        let err = Layout::Aroi.discover(&root).unwrap_err().to_string();
        assert!(err.contains("raw/labeled/patient1_raw0050.png"), "{err}");
    }
}
