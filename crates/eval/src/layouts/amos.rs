//! `amos`: AMOS 2022 abdominal CT and MR volumes with 15 organ labels.
//!
//! ```text
//! DIR/imagesTr/amos_<NNNN>.nii.gz + DIR/labelsTr/amos_<NNNN>.nii.gz
//! DIR/imagesVa/amos_<NNNN>.nii.gz + DIR/labelsVa/amos_<NNNN>.nii.gz   (either split may be absent)
//! ```
//!
//! Every axial slice whose label slice has a non-zero voxel is one sample, id
//! `amos_<NNNN>/z<index>` (`imagesTs`, without labels, is not read). Cases 0001–0500 are
//! CT, windowed to [−991, 362] HU as in the paper; cases above 500 are MR, windowed to the
//! volume's exact min–max. Labels follow AMOS22's `dataset.json`: 1 spleen, 2 right kidney,
//! 3 left kidney, 4 gallbladder, 5 esophagus, 6 liver, 7 stomach, 8 aorta, 9 postcava,
//! 10 pancreas, 11 right adrenal gland, 12 left adrenal gland, 13 duodenum, 14 bladder,
//! 15 prostate/uterus. Pixel spacing comes from the volume header, so HD95 and NSD are
//! in mm.

use std::path::{Path, PathBuf};

use imaging::{Axis, Preset, Window};

use super::survey::survey_all;
use super::{Sample, files_in, require_annotation, require_dirs};
use crate::error::EvalError;
use crate::ground_truth::Classes;

/// The 15 AMOS organ classes, by label value.
pub const CLASSES: [(u16, &str); 15] = [
    (1, "spleen"),
    (2, "right kidney"),
    (3, "left kidney"),
    (4, "gallbladder"),
    (5, "esophagus"),
    (6, "liver"),
    (7, "stomach"),
    (8, "aorta"),
    (9, "postcava"),
    (10, "pancreas"),
    (11, "right adrenal gland"),
    (12, "left adrenal gland"),
    (13, "duodenum"),
    (14, "bladder"),
    (15, "prostate/uterus"),
];

/// The largest AMOS case number that is CT; larger ones are MR.
pub const LAST_CT_CASE: u32 = 500;

const SPLITS: [(&str, &str); 2] = [("imagesTr", "labelsTr"), ("imagesVa", "labelsVa")];

const STRUCTURE: &str = "DIR/imagesTr/amos_<NNNN>.nii.gz with DIR/labelsTr/amos_<NNNN>.nii.gz (and/or imagesVa + labelsVa)";

/// The window of case `number`: the paper's CT abdomen window, or min–max for MR.
pub fn window(number: u32) -> Window {
    if number <= LAST_CT_CASE {
        Window::Preset(Preset::CtAbdomen)
    } else {
        Window::MinMax
    }
}

/// The case name and number of an image file `amos_<NNNN>.nii[.gz]`.
fn case_of(image: &Path) -> Result<(String, u32), EvalError> {
    let name = image
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let case = name
        .strip_suffix(".nii.gz")
        .or_else(|| name.strip_suffix(".nii"))
        .unwrap_or(&name);
    match case.strip_prefix("amos_").map(str::parse::<u32>) {
        Some(Ok(number)) => Ok((case.to_string(), number)),
        _ => Err(EvalError::layout(
            image,
            "not an AMOS case name; expected amos_<NNNN>.nii.gz",
        )),
    }
}

pub(super) fn discover(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let splits: Vec<_> = SPLITS
        .iter()
        .filter(|(images, _)| root.join(images).is_dir())
        .collect();
    if splits.is_empty() {
        return Err(EvalError::layout(
            root.join("imagesTr"),
            format!("missing folder; expected {STRUCTURE}"),
        ));
    }
    // (case, number, image, label) of every case.
    let mut cases: Vec<(String, u32, PathBuf, PathBuf)> = Vec::new();
    for (images, labels) in splits {
        let (images, labels) = (root.join(images), root.join(labels));
        require_dirs(&[&labels], STRUCTURE)?;
        for image in files_in(&images)? {
            let name = image.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') || !(name.ends_with(".nii.gz") || name.ends_with(".nii")) {
                continue;
            }
            let (case, number) = case_of(&image)?;
            let label = labels.join(name.as_ref());
            require_annotation(&label, &image)?;
            cases.push((case, number, image, label));
        }
    }
    let jobs: Vec<(PathBuf, Axis)> = cases
        .iter()
        .map(|(_, _, _, label)| (label.clone(), Axis::Axial))
        .collect();
    let surveys = survey_all(&jobs)?;
    let classes = Classes::from_pairs(&CLASSES);
    let mut samples = Vec::new();
    for ((case, number, image, label), survey) in cases.into_iter().zip(surveys) {
        let prefix = format!("{case}/");
        samples.extend(survey.samples(
            &prefix,
            &image,
            &label,
            &classes,
            Axis::Axial,
            window(number),
        ));
    }
    Ok(samples)
}

#[cfg(test)]
mod tests {
    use super::super::test_volumes::{Sform, diagonal, nifti};
    use super::super::{Layout, test_tree};
    use super::*;
    use crate::metrics::Spacing;
    use crate::sample::Loader;

    /// A CT-like volume of 6 × 5 × 4 voxels (HU −1000 … ) and its labels: liver (6) in
    /// slice 1, spleen (1) and liver in slice 3, nothing in slices 0 and 2.
    fn case(root: &Path, split: (&str, &str), name: &str, sform: Sform) {
        let dims = [6, 5, 4];
        let image: Vec<i16> = (0..120).map(|v| -1000 + 20 * v as i16).collect();
        let mut labels = vec![0u8; 120];
        let at = |i: usize, j: usize, k: usize| (k * 5 + j) * 6 + i;
        labels[at(2, 2, 1)] = 6;
        labels[at(3, 2, 1)] = 6;
        labels[at(0, 0, 3)] = 1;
        labels[at(5, 4, 3)] = 6;
        nifti(&root.join(split.0).join(name), dims, sform, &image);
        nifti(&root.join(split.1).join(name), dims, sform, &labels);
    }

    #[test]
    fn one_sample_per_labelled_axial_slice_with_classes_spacing_and_window() {
        let root = test_tree::root("amos");
        let sform = diagonal([-0.8, -0.7, 5.0]);
        case(&root, SPLITS[0], "amos_0001.nii.gz", sform);
        case(&root, SPLITS[1], "amos_0540.nii.gz", sform);
        std::fs::write(root.join("imagesTr/._amos_0001.nii.gz"), b"resource fork").unwrap();
        std::fs::write(root.join("imagesTr/dataset.json"), b"{}").unwrap();
        let samples = Layout::Amos.discover(&root).unwrap();
        let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "amos_0001/z001",
                "amos_0001/z003",
                "amos_0540/z001",
                "amos_0540/z003"
            ]
        );
        let s = &samples[1];
        assert_eq!(s.image, root.join("imagesTr/amos_0001.nii.gz"));
        assert_eq!(s.layers[0].files, [root.join("labelsTr/amos_0001.nii.gz")]);
        assert_eq!(s.layers[0].classes.name(9), "postcava");
        assert_eq!(s.layers[0].classes.names.len(), 15);
        assert_eq!(
            s.spacing,
            Some(Spacing {
                row_mm: 0.7_f32 as f64,
                col_mm: 0.8_f32 as f64
            })
        );
        let slice = s.slice.unwrap();
        assert_eq!((slice.axis, slice.index), (Axis::Axial, 3));
        assert_eq!(slice.window, Window::Preset(Preset::CtAbdomen));
        assert_eq!(samples[2].slice.unwrap().window, Window::MinMax);

        // Loading: the slice and its labels, only the organs present declared.
        let mut loader = Loader::default();
        let loaded = loader.load(s).unwrap();
        assert_eq!((loaded.image.width, loaded.image.height), (6, 5));
        let layer = &loaded.truth.layers[0];
        let mut values = layer.map.data.clone();
        values.sort();
        values.dedup();
        assert_eq!(values, [0, 1, 6]);
        let names: Vec<_> = layer.classes.names.values().map(String::as_str).collect();
        assert_eq!(names, ["spleen", "liver"]);
        assert!(
            loaded.image_key.ends_with("-axial3-ct_abdomen"),
            "{}",
            loaded.image_key
        );
        let other = loader.load(&samples[0]).unwrap();
        assert_ne!(other.image_key, loaded.image_key);
        assert_eq!(
            other.image_key.split('-').next(),
            loaded.image_key.split('-').next(),
            "one volume file, one sha256"
        );
        // Voxel (0, 0, 1) holds −400 HU: 255·591/1353 through [−991, 362] for CT; for MR
        // 255·600/2380 through the exact range [−1000, 1380] of the volume.
        assert_eq!(other.image.rgb[0], 111);
        let mr = loader.load(&samples[2]).unwrap();
        assert_eq!(mr.image.rgb[0], 64);
        assert!(mr.image_key.ends_with("-axial1-minmax"), "{}", mr.image_key);

        // The slices of a volume decode it once; one volume is held at a time.
        let mut loader = Loader::default();
        loader.load(&samples[0]).unwrap();
        std::fs::remove_file(root.join("imagesTr/amos_0001.nii.gz")).unwrap();
        std::fs::remove_file(root.join("labelsTr/amos_0001.nii.gz")).unwrap();
        loader.load(&samples[1]).unwrap();
        loader.load(&samples[2]).unwrap();
        let err = loader.load(&samples[1]).unwrap_err().to_string();
        assert!(err.contains("imagesTr/amos_0001.nii.gz"), "{err}");
    }

    #[test]
    fn explains_missing_folders_labels_names_and_mismatched_volumes() {
        let root = test_tree::root("amos-bad");
        let err = Layout::Amos.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("imagesTr") && err.contains("missing folder"),
            "{err}"
        );
        case(&root, SPLITS[0], "amos_0002.nii.gz", diagonal([1.0; 3]));
        std::fs::remove_file(root.join("labelsTr/amos_0002.nii.gz")).unwrap();
        let err = Layout::Amos.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("labelsTr/amos_0002.nii.gz") && err.contains("missing annotation"),
            "{err}"
        );
        std::fs::remove_dir_all(root.join("labelsTr")).unwrap();
        let err = Layout::Amos.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("labelsTr") && err.contains("missing folder"),
            "{err}"
        );

        let root = test_tree::root("amos-bad-name");
        case(&root, SPLITS[0], "case7.nii.gz", diagonal([1.0; 3]));
        let err = Layout::Amos.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("case7.nii.gz") && err.contains("amos_<NNNN>"),
            "{err}"
        );

        // A label volume of another size: named when the slice is loaded.
        let root = test_tree::root("amos-bad-size");
        case(&root, SPLITS[0], "amos_0003.nii.gz", diagonal([1.0; 3]));
        nifti(
            &root.join("imagesTr/amos_0003.nii.gz"),
            [6, 5, 5],
            diagonal([1.0; 3]),
            &[0i16; 150],
        );
        let samples = Layout::Amos.discover(&root).unwrap();
        let err = crate::sample::load(&samples[0]).unwrap_err().to_string();
        assert!(
            err.contains("labelsTr/amos_0003.nii.gz")
                && err.contains("6×5×4")
                && err.contains("imagesTr/amos_0003.nii.gz")
                && err.contains("6×5×5"),
            "{err}"
        );
        // Same size, another grid.
        nifti(
            &root.join("imagesTr/amos_0003.nii.gz"),
            [6, 5, 4],
            diagonal([2.0, 1.0, 1.0]),
            &[0i16; 120],
        );
        let err = crate::sample::load(&samples[0]).unwrap_err().to_string();
        assert!(err.contains("another voxel grid"), "{err}");
        // A label volume that is no volume.
        std::fs::write(root.join("labelsTr/amos_0003.nii.gz"), b"not a volume").unwrap();
        let err = Layout::Amos.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("labelsTr/amos_0003.nii.gz") && err.contains("label volume"),
            "{err}"
        );
    }
}
