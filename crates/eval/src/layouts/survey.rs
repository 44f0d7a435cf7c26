//! Surveying label volumes for the volume layouts: which slices along an axis hold any
//! label, and the pixel spacing of those slices. Each label volume is decoded once here
//! (the image volumes are not read until evaluation); several are surveyed in parallel.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use imaging::volume::Voxels;
use imaging::{Axis, Volume, Window};

use super::Sample;
use crate::error::EvalError;
use crate::ground_truth::{Classes, Decode, LayerSource};
use crate::metrics::Spacing;
use crate::volume_slice::{VolumeSlice, read_label_volume};

/// What a label volume holds along one axis.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Survey {
    /// Number of slices along the axis.
    pub count: usize,
    /// Indices of the slices with at least one non-zero label, ascending.
    pub labelled: Vec<usize>,
    /// Pixel spacing of the slices.
    pub spacing: Spacing,
}

impl Survey {
    /// One sample per labelled slice: id `prefix` + the slice id, the slice of `image`
    /// along `axis` shown through `window`, scored against the same slice of `label`
    /// (label values named by `classes`), with the survey's pixel spacing.
    pub fn samples(
        &self,
        prefix: &str,
        image: &Path,
        label: &Path,
        classes: &Classes,
        axis: Axis,
        window: Window,
    ) -> impl Iterator<Item = Sample> + '_ {
        let (image, label, classes, prefix) = (
            image.to_path_buf(),
            label.to_path_buf(),
            classes.clone(),
            prefix.to_string(),
        );
        self.labelled.iter().map(move |&index| {
            let mut sample = Sample::new(
                format!("{prefix}{}", slice_id(axis, index, self.count)),
                image.clone(),
                vec![LayerSource::new(
                    label.clone(),
                    Decode::Labels,
                    classes.clone(),
                )],
            );
            sample.spacing = Some(self.spacing);
            sample.slice = Some(VolumeSlice {
                axis,
                index,
                window,
            });
            sample
        })
    }
}

/// Most label volumes decoded at once.
const MAX_WORKERS: usize = 4;

/// Surveys every `(label volume, axis)` of `jobs`, in parallel, in order; the first
/// failure (in `jobs` order) is returned.
pub(super) fn survey_all(jobs: &[(PathBuf, Axis)]) -> Result<Vec<Survey>, EvalError> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_WORKERS)
        .min(jobs.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Result<Survey, EvalError>>>> =
        Mutex::new((0..jobs.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some((path, axis)) = jobs.get(i) else {
                        break;
                    };
                    let result = survey(path, *axis);
                    let failed = result.is_err();
                    results.lock().expect("no worker panics holding it")[i] = Some(result);
                    if failed {
                        // Later jobs are not needed; earlier ones still finish.
                        next.fetch_max(jobs.len(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let results = results.into_inner().expect("no worker panicked");
    let mut out = Vec::with_capacity(jobs.len());
    for r in results {
        match r {
            Some(r) => out.push(r?),
            None => unreachable!("jobs after a failure are skipped only after it is stored"),
        }
    }
    Ok(out)
}

/// Surveys the label volume at `path` along `axis`.
pub(super) fn survey(path: &Path, axis: Axis) -> Result<Survey, EvalError> {
    let labels = read_label_volume(path)?;
    let sliced = |e: imaging::ImagingError| EvalError::mask(path, e.to_string());
    let count = labels.slice_count(axis);
    let first = labels.slice(axis, 0).map_err(sliced)?;
    let labelled = labelled_slices(&labels, axis);
    Ok(Survey {
        count,
        labelled,
        spacing: Spacing {
            row_mm: first.pixel_spacing[1],
            col_mm: first.pixel_spacing[0],
        },
    })
}

/// The voxel axis whose index is the slice index along `axis` (the fixed axis of the
/// slicing table in `imaging::volume::slice`: the voxel axis closest to the world axis the
/// slices are perpendicular to; `k` for `native`).
fn fixed_voxel_axis(volume: &Volume, axis: Axis) -> usize {
    let of_world = volume.geometry().voxel_axis_of_world();
    match axis {
        Axis::Axial => of_world[2],
        Axis::Coronal => of_world[1],
        Axis::Sagittal => of_world[0],
        Axis::Native => 2,
    }
}

/// Indices along `axis` of the slices with a non-zero label (one pass over the voxels).
fn labelled_slices(labels: &Volume, axis: Axis) -> Vec<usize> {
    let fixed = fixed_voxel_axis(labels, axis);
    let dims = labels.dims();
    let rescale = labels.rescale();
    let mut hit = vec![false; dims[fixed]];
    fn scan<T: Copy + Into<f64>>(
        v: &[T],
        dims: [usize; 3],
        fixed: usize,
        nonzero: impl Fn(f64) -> bool,
        hit: &mut [bool],
    ) {
        let mut n = 0;
        for k in 0..dims[2] {
            for j in 0..dims[1] {
                for i in 0..dims[0] {
                    let index = [i, j, k][fixed];
                    if !hit[index] && nonzero(v[n].into()) {
                        hit[index] = true;
                    }
                    n += 1;
                }
            }
        }
    }
    let nonzero = |x: f64| rescale.apply(x) != 0.0;
    match labels.voxels() {
        Voxels::U8(v) => scan(v, dims, fixed, nonzero, &mut hit),
        Voxels::I8(v) => scan(v, dims, fixed, nonzero, &mut hit),
        Voxels::U16(v) => scan(v, dims, fixed, nonzero, &mut hit),
        Voxels::I16(v) => scan(v, dims, fixed, nonzero, &mut hit),
        Voxels::I32(v) => scan(v, dims, fixed, nonzero, &mut hit),
        Voxels::F32(v) => scan(v, dims, fixed, nonzero, &mut hit),
    }
    hit.iter()
        .enumerate()
        .filter(|(_, h)| **h)
        .map(|(i, _)| i)
        .collect()
}

/// The id part of slice `index` of `count` along `axis`: a letter for the world axis the
/// slices are perpendicular to (`z` axial, `y` coronal, `x` sagittal, `k` native) and the
/// index, zero-padded to at least 3 digits so that ids sort by index.
pub(super) fn slice_id(axis: Axis, index: usize, count: usize) -> String {
    let letter = match axis {
        Axis::Axial => 'z',
        Axis::Coronal => 'y',
        Axis::Sagittal => 'x',
        Axis::Native => 'k',
    };
    let width = count.saturating_sub(1).to_string().len().max(3);
    format!("{letter}{index:0width$}")
}

#[cfg(test)]
mod tests {
    use super::super::test_volumes::{Sform, nifti};
    use super::*;
    use crate::layouts::test_tree;

    #[test]
    fn finds_labelled_slices_along_every_axis_as_imaging_slices_them() {
        let root = test_tree::root("survey");
        // 5 × 4 × 6 voxels, labels at a few places; a flipped, permuted orientation
        // (i → anterior, j → right, k → superior), 0.5 × 0.75 × 2 mm.
        let dims = [5, 4, 6];
        let mut labels = vec![0u8; 5 * 4 * 6];
        let at = |i: usize, j: usize, k: usize| (k * 4 + j) * 5 + i;
        labels[at(1, 2, 3)] = 2;
        labels[at(4, 0, 5)] = 7;
        let sform: Sform = [
            [0.0, -0.75, 0.0, 0.0],
            [0.5, 0.0, 0.0, 0.0],
            [0.0, 0.0, 2.0, 0.0],
        ];
        let path = root.join("labels.nii.gz");
        nifti(&path, dims, sform, &labels);
        for axis in [Axis::Axial, Axis::Coronal, Axis::Sagittal, Axis::Native] {
            let s = survey(&path, axis).unwrap();
            let volume = read_label_volume(&path).unwrap();
            let expected: Vec<usize> = (0..volume.slice_count(axis))
                .filter(|&i| {
                    volume
                        .label_slice(axis, i)
                        .unwrap()
                        .labels
                        .iter()
                        .any(|&v| v != 0)
                })
                .collect();
            assert_eq!(s.labelled, expected, "{axis}");
            assert_eq!(s.count, volume.slice_count(axis));
            assert_eq!(s.labelled.len(), 2, "{axis}");
        }
        let axial = survey(&path, Axis::Axial).unwrap();
        assert_eq!(axial.labelled, [3, 5]);
        // Axial columns run along j (left–right, 0.75 mm), rows along i (0.5 mm).
        assert_eq!(
            axial.spacing,
            Spacing {
                row_mm: 0.5,
                col_mm: 0.75
            }
        );
        let jobs = vec![(path.clone(), Axis::Axial), (path.clone(), Axis::Coronal)];
        let all = survey_all(&jobs).unwrap();
        assert_eq!(all[0], axial);
        let missing = vec![(path, Axis::Axial), (root.join("none.nii"), Axis::Axial)];
        let err = survey_all(&missing).unwrap_err().to_string();
        assert!(err.contains("none.nii"), "{err}");
    }

    #[test]
    fn slice_ids_sort_by_index() {
        assert_eq!(slice_id(Axis::Axial, 42, 100), "z042");
        assert_eq!(slice_id(Axis::Coronal, 7, 1200), "y0007");
        assert_eq!(slice_id(Axis::Sagittal, 0, 1), "x000");
        assert_eq!(slice_id(Axis::Native, 3, 10), "k003");
    }
}
