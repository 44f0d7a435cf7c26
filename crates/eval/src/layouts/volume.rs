//! `volume`: one image volume and its label volume on the same voxel grid.
//!
//! ```text
//! DIR/image.<nii|nii.gz|nrrd>   the scan (recognised by content)
//! DIR/label.<nii|nii.gz|nrrd>   labels, whole numbers ≥ 0, 0 = background
//! DIR/classes.json              optional, as for `generic`: {"1": "grey matter", "*": "other"}
//! DIR/volume.json               optional: {"axis": "axial", "window": "p0.5-99.5"}
//! ```
//!
//! Every slice along the axis (`axial` by default; `coronal`, `sagittal` or `native`)
//! whose label slice has a non-zero voxel is one sample, id `z<index>` (`y` coronal, `x`
//! sagittal, `k` native). The window is anything `--window` takes (a preset such as
//! `ct_abdomen`, `CENTER,WIDTH`, `pLOW-HIGH`, `minmax` = the exact range of the volume);
//! by default the 0.5–99.5th percentiles of the whole volume. Pixel spacing comes from
//! the volume header.

use std::path::{Path, PathBuf};

use imaging::{Axis, Window};
use serde_json::Value;

use super::Sample;
use super::generic::{read_classes, read_json};
use super::survey::survey;
use crate::error::EvalError;

/// File endings of the volumes this layout reads.
const ENDINGS: [&str; 3] = ["nii.gz", "nii", "nrrd"];

const STRUCTURE: &str = "DIR/image.<nii|nii.gz|nrrd> with DIR/label.<nii|nii.gz|nrrd>";

/// The one file `DIR/<stem>.<ending>`, if any; several are refused.
fn find(root: &Path, stem: &str) -> Result<Option<PathBuf>, EvalError> {
    let found: Vec<PathBuf> = ENDINGS
        .iter()
        .map(|e| root.join(format!("{stem}.{e}")))
        .filter(|p| p.is_file())
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        [first, second, ..] => Err(EvalError::layout(
            second,
            format!("{} is there too; keep one {stem} volume", first.display()),
        )),
    }
}

/// `volume.json`: the axis and the window, with their defaults.
fn read_settings(path: &Path) -> Result<(Axis, Window), EvalError> {
    let mut axis = Axis::Axial;
    let mut window = Window::MR_PERCENTILES;
    let Some(map) = read_json(path)? else {
        return Ok((axis, window));
    };
    for (key, value) in map {
        let Value::String(text) = value else {
            return Err(EvalError::layout(path, format!("`{key}` must be a string")));
        };
        let bad = |e: imaging::ImagingError| EvalError::layout(path, format!("`{key}`: {e}"));
        match key.as_str() {
            "axis" => axis = text.parse().map_err(bad)?,
            "window" => window = text.parse().map_err(bad)?,
            _ => {
                return Err(EvalError::layout(
                    path,
                    format!("unknown key `{key}`; use \"axis\" and \"window\""),
                ));
            }
        }
    }
    Ok((axis, window))
}

pub(super) fn discover(root: &Path) -> Result<Vec<Sample>, EvalError> {
    let image = find(root, "image")?.ok_or_else(|| {
        EvalError::layout(
            root.join("image.nii.gz"),
            format!("missing image volume; expected {STRUCTURE}"),
        )
    })?;
    let label = find(root, "label")?.ok_or_else(|| {
        EvalError::layout(
            root.join("label.nii.gz"),
            format!(
                "missing annotation for {}; expected {STRUCTURE}",
                image.display()
            ),
        )
    })?;
    let classes = read_classes(&root.join("classes.json"))?;
    let (axis, window) = read_settings(&root.join("volume.json"))?;
    let survey = survey(&label, axis)?;
    Ok(survey
        .samples("", &image, &label, &classes, axis, window)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::test_volumes::{diagonal, nifti, nrrd};
    use super::super::{Layout, test_tree};
    use super::*;
    use crate::metrics::Spacing;
    use crate::sample::Loader;
    use crate::volume_slice::VolumeSlice;

    /// 4 × 3 × 5 voxels; labels 1 in k = 0 and 2 in k = 4 (i = 3, j = 1), 7 at (0, 2, 2).
    fn labels() -> Vec<u8> {
        let mut l = vec![0u8; 60];
        l[0] = 1;
        l[(4 * 3 + 1) * 4 + 3] = 2;
        l[(2 * 3 + 2) * 4] = 7;
        l
    }

    #[test]
    fn nifti_pair_with_classes_spacing_and_default_window() {
        let root = test_tree::root("volume");
        let image: Vec<u8> = (0..60).collect();
        nifti(
            &root.join("image.nii.gz"),
            [4, 3, 5],
            diagonal([0.5, 0.25, 3.0]),
            &image,
        );
        nifti(
            &root.join("label.nii"),
            [4, 3, 5],
            diagonal([0.5, 0.25, 3.0]),
            &labels(),
        );
        std::fs::write(
            root.join("classes.json"),
            r#"{"1": "grey matter", "2": "white matter"}"#,
        )
        .unwrap();
        let samples = Layout::Volume.discover(&root).unwrap();
        let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["z000", "z002", "z004"]);
        let s = &samples[2];
        assert_eq!(s.image, root.join("image.nii.gz"));
        assert_eq!(s.layers[0].files, [root.join("label.nii")]);
        assert_eq!(s.layers[0].classes.name(2), "white matter");
        assert_eq!(s.layers[0].classes.name(7), "7");
        assert_eq!(
            s.spacing,
            Some(Spacing {
                row_mm: 0.25,
                col_mm: 0.5
            })
        );
        assert_eq!(
            s.slice,
            Some(VolumeSlice {
                axis: Axis::Axial,
                index: 4,
                window: Window::MR_PERCENTILES
            })
        );
        let mut loader = Loader::default();
        let loaded = loader.load(s).unwrap();
        assert_eq!((loaded.truth.width, loaded.truth.height), (4, 3));
        assert_eq!(
            loaded.truth.layers[0]
                .map
                .data
                .iter()
                .filter(|&&v| v == 2)
                .count(),
            1
        );
        let names: Vec<_> = loaded.truth.layers[0].classes.names.values().collect();
        assert_eq!(names, ["white matter"]);
        assert!(
            loaded.image_key.ends_with("-axial4-p0.5-99.5"),
            "{}",
            loaded.image_key
        );
    }

    #[test]
    fn nrrd_pair_along_another_axis_and_window() {
        let root = test_tree::root("volume-nrrd");
        let image: Vec<i16> = (0..60).map(|v| v * 10).collect();
        nrrd(
            &root.join("image.nrrd"),
            [4, 3, 5],
            [0.5, 0.25, 3.0],
            &image,
        );
        nrrd(
            &root.join("label.nrrd"),
            [4, 3, 5],
            [0.5, 0.25, 3.0],
            &labels(),
        );
        std::fs::write(
            root.join("volume.json"),
            r#"{"axis": "coronal", "window": "ct_abdomen"}"#,
        )
        .unwrap();
        let samples = Layout::Volume.discover(&root).unwrap();
        let ids: Vec<_> = samples.iter().map(|s| s.id.as_str()).collect();
        // Coronal slices are the j planes (LPS, j → posterior): j = 0, 1, 2 all labelled.
        assert_eq!(ids, ["y000", "y001", "y002"]);
        // Columns along i (0.5 mm), rows along k (3 mm).
        assert_eq!(
            samples[0].spacing,
            Some(Spacing {
                row_mm: 3.0,
                col_mm: 0.5
            })
        );
        let loaded = Loader::default().load(&samples[1]).unwrap();
        assert_eq!((loaded.image.width, loaded.image.height), (4, 5));
        assert!(
            loaded.image_key.ends_with("-coronal1-ct_abdomen"),
            "{}",
            loaded.image_key
        );
    }

    #[test]
    fn explains_missing_and_duplicate_volumes_and_bad_settings() {
        let root = test_tree::root("volume-bad");
        let err = Layout::Volume.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("image.nii.gz") && err.contains("missing image"),
            "{err}"
        );
        let image: Vec<u8> = (0..60).collect();
        nifti(
            &root.join("image.nii"),
            [4, 3, 5],
            diagonal([1.0; 3]),
            &image,
        );
        let err = Layout::Volume.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("label.nii.gz")
                && err.contains("missing annotation for")
                && err.contains("image.nii"),
            "{err}"
        );
        nifti(
            &root.join("label.nii.gz"),
            [4, 3, 4],
            diagonal([1.0; 3]),
            &[1u8; 48],
        );
        std::fs::write(root.join("volume.json"), r#"{"axis": "oblique"}"#).unwrap();
        let err = Layout::Volume.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("volume.json") && err.contains("`axis`"),
            "{err}"
        );
        std::fs::write(root.join("volume.json"), r#"{"window": "p90-10"}"#).unwrap();
        let err = Layout::Volume.discover(&root).unwrap_err().to_string();
        assert!(
            err.contains("volume.json") && err.contains("`window`"),
            "{err}"
        );
        std::fs::write(root.join("volume.json"), r#"{"slices": "all"}"#).unwrap();
        let err = Layout::Volume.discover(&root).unwrap_err().to_string();
        assert!(err.contains("unknown key `slices`"), "{err}");
        std::fs::remove_file(root.join("volume.json")).unwrap();

        // Mismatched dimensions: named when the first slice is loaded.
        let samples = Layout::Volume.discover(&root).unwrap();
        assert_eq!(samples.len(), 4);
        let err = crate::sample::load(&samples[0]).unwrap_err().to_string();
        assert!(
            err.contains("label.nii.gz") && err.contains("4×3×4") && err.contains("4×3×5"),
            "{err}"
        );

        nifti(
            &root.join("label.nii"),
            [4, 3, 5],
            diagonal([1.0; 3]),
            &labels(),
        );
        let err = Layout::Volume.discover(&root).unwrap_err().to_string();
        assert!(err.contains("keep one label volume"), "{err}");
    }
}
