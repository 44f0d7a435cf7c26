//! Cutting 2-D slices out of a volume along the patient's axes, with spacing and
//! position kept. Slices are permutations and flips of the voxel grid (no resampling),
//! chosen from the geometry the way viewers display them:
//!
//! | axis | fixed voxel axis | image columns go to | image rows go to |
//! |---|---|---|---|
//! | `axial` | the one closest to superior (z) | patient left (x) | posterior (y) |
//! | `coronal` | closest to posterior (y) | patient left (x) | inferior (−z) |
//! | `sagittal` | closest to left (x) | posterior (y) | inferior (−z) |
//! | `native` | `k` (the file's slice/frame axis) | `i` as stored | `j` as stored |
//!
//! The slice index is the voxel index along the fixed axis, so a label volume on the
//! same grid gives the matching label slice for the same `(axis, index)`.

use std::fmt;
use std::str::FromStr;

use super::{Sample, Volume, Voxels, with_samples};
use crate::ImagingError;
use crate::window::WindowLevel;

/// A slicing direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Axis {
    /// Perpendicular to superior–inferior.
    Axial,
    /// Perpendicular to anterior–posterior.
    Coronal,
    /// Perpendicular to left–right.
    Sagittal,
    /// The file's own slices (frames) as stored, no reorientation.
    Native,
}

impl Axis {
    /// Every axis, in the order the API lists them.
    pub const ALL: [Axis; 4] = [Axis::Axial, Axis::Coronal, Axis::Sagittal, Axis::Native];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Axis::Axial => "axial",
            Axis::Coronal => "coronal",
            Axis::Sagittal => "sagittal",
            Axis::Native => "native",
        }
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Axis {
    type Err = ImagingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "axial" | "ax" | "transverse" => Ok(Axis::Axial),
            "coronal" | "cor" => Ok(Axis::Coronal),
            "sagittal" | "sag" => Ok(Axis::Sagittal),
            "native" | "frame" | "frames" => Ok(Axis::Native),
            _ => Err(ImagingError::BadRequest(
                "axis must be axial, coronal, sagittal or native".into(),
            )),
        }
    }
}

/// How one axis's slices map to the voxel grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    fixed: usize,
    col_axis: usize,
    col_flip: bool,
    row_axis: usize,
    row_flip: bool,
}

/// One slice: physical values (rescale applied), row-major, channel fastest.
#[derive(Debug, Clone, PartialEq)]
pub struct Slice {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Samples per pixel (1 or 3).
    pub channels: usize,
    /// `height × width × channels` physical values (HU for CT).
    pub values: Vec<f32>,
    /// Distance between neighbouring columns and between neighbouring rows, mm.
    pub pixel_spacing: [f64; 2],
    /// LPS position of the top-left pixel's centre, mm.
    pub origin: [f64; 3],
    /// LPS unit vector along a row (increasing column).
    pub column_direction: [f64; 3],
    /// LPS unit vector down a column (increasing row).
    pub row_direction: [f64; 3],
    /// Low values display bright (MONOCHROME1).
    pub invert: bool,
    /// The window the file suggests.
    pub default_window: Option<WindowLevel>,
}

/// One slice of a label volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSlice {
    /// Columns.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `height × width` labels, row-major.
    pub labels: Vec<u32>,
}

impl Volume {
    fn plan(&self, axis: Axis) -> Plan {
        let g = self.geometry();
        let of_world = g.voxel_axis_of_world();
        let dir = |voxel: usize, world: usize| g.directions[voxel][world];
        match axis {
            Axis::Native => Plan {
                fixed: 2,
                col_axis: 0,
                col_flip: false,
                row_axis: 1,
                row_flip: false,
            },
            Axis::Axial => Plan {
                fixed: of_world[2],
                col_axis: of_world[0],
                col_flip: dir(of_world[0], 0) < 0.0,
                row_axis: of_world[1],
                row_flip: dir(of_world[1], 1) < 0.0,
            },
            Axis::Coronal => Plan {
                fixed: of_world[1],
                col_axis: of_world[0],
                col_flip: dir(of_world[0], 0) < 0.0,
                row_axis: of_world[2],
                row_flip: dir(of_world[2], 2) > 0.0,
            },
            Axis::Sagittal => Plan {
                fixed: of_world[0],
                col_axis: of_world[1],
                col_flip: dir(of_world[1], 1) < 0.0,
                row_axis: of_world[2],
                row_flip: dir(of_world[2], 2) > 0.0,
            },
        }
    }

    /// Number of slices along `axis`.
    pub fn slice_count(&self, axis: Axis) -> usize {
        self.dims()[self.plan(axis).fixed]
    }

    /// `(width, height)` of the slices along `axis`.
    pub fn slice_size(&self, axis: Axis) -> (usize, usize) {
        let plan = self.plan(axis);
        (self.dims()[plan.col_axis], self.dims()[plan.row_axis])
    }

    fn check_index(&self, axis: Axis, index: usize) -> Result<Plan, ImagingError> {
        let plan = self.plan(axis);
        let count = self.dims()[plan.fixed];
        if index >= count {
            return Err(ImagingError::BadRequest(format!(
                "slice index {index} is outside 0..={} for the {axis} axis",
                count - 1
            )));
        }
        Ok(plan)
    }

    /// Sample offsets (of channel 0) of the slice's pixels, row-major.
    fn offsets(&self, plan: Plan, index: usize) -> impl Iterator<Item = usize> + '_ {
        let dims = self.dims();
        let strides = [
            self.channels(),
            self.channels() * dims[0],
            self.channels() * dims[0] * dims[1],
        ];
        let (width, height) = (dims[plan.col_axis], dims[plan.row_axis]);
        let base = index * strides[plan.fixed];
        (0..height).flat_map(move |y| {
            let row = if plan.row_flip { height - 1 - y } else { y };
            let row_offset = base + row * strides[plan.row_axis];
            (0..width).map(move |x| {
                let col = if plan.col_flip { width - 1 - x } else { x };
                row_offset + col * strides[plan.col_axis]
            })
        })
    }

    /// Slice `index` along `axis`: physical values with spacing and position.
    pub fn slice(&self, axis: Axis, index: usize) -> Result<Slice, ImagingError> {
        let plan = self.check_index(axis, index)?;
        let dims = self.dims();
        let (width, height) = (dims[plan.col_axis], dims[plan.row_axis]);
        let channels = self.channels();
        let rescale = self.rescale();
        let mut values = Vec::with_capacity(width * height * channels);
        fn push<T: Sample>(
            out: &mut Vec<f32>,
            samples: &[T],
            offsets: impl Iterator<Item = usize>,
            channels: usize,
            rescale: super::Rescale,
        ) {
            for offset in offsets {
                for c in 0..channels {
                    out.push(rescale.apply(samples[offset + c].to_f64()) as f32);
                }
            }
        }
        let offsets = self.offsets(plan, index);
        with_samples!(self.voxels(), v => push(&mut values, v, offsets, channels, rescale));

        let g = self.geometry();
        let sign = |flip: bool| if flip { -1.0 } else { 1.0 };
        let column_direction = g.directions[plan.col_axis].map(|c| c * sign(plan.col_flip));
        let row_direction = g.directions[plan.row_axis].map(|c| c * sign(plan.row_flip));
        let mut corner = [0.0; 3];
        corner[plan.fixed] = index as f64;
        if plan.col_flip {
            corner[plan.col_axis] = (width - 1) as f64;
        }
        if plan.row_flip {
            corner[plan.row_axis] = (height - 1) as f64;
        }
        Ok(Slice {
            width,
            height,
            channels,
            values,
            pixel_spacing: [g.spacing[plan.col_axis], g.spacing[plan.row_axis]],
            origin: g.position(corner),
            column_direction,
            row_direction,
            invert: self.invert(),
            default_window: self.default_window(),
        })
    }

    /// Slice `index` along `axis` of a label volume: one non-negative integer per pixel.
    /// Refused for colour volumes and for values that are not whole numbers in `0..2³²`.
    pub fn label_slice(&self, axis: Axis, index: usize) -> Result<LabelSlice, ImagingError> {
        if self.channels() != 1 {
            return Err(ImagingError::Unsupported(
                "label volume",
                "colour voxels; a label volume has one value per voxel".into(),
            ));
        }
        let plan = self.check_index(axis, index)?;
        let dims = self.dims();
        let (width, height) = (dims[plan.col_axis], dims[plan.row_axis]);
        let rescale = self.rescale();
        let mut labels = Vec::with_capacity(width * height);
        for offset in self.offsets(plan, index) {
            let value = rescale.apply(with_samples!(self.voxels(), v => v[offset].to_f64()));
            if !(value >= 0.0 && value <= f64::from(u32::MAX) && value.fract() == 0.0) {
                return Err(ImagingError::BadRequest(format!(
                    "value {value} is not a label (labels are whole numbers ≥ 0)"
                )));
            }
            labels.push(value as u32);
        }
        Ok(LabelSlice {
            width,
            height,
            labels,
        })
    }
}

impl Voxels {
    /// Whether every sample is a whole number (always true for integer types).
    pub fn is_integral(&self) -> bool {
        match self {
            Voxels::F32(v) => v.iter().all(|x| x.is_finite() && x.fract() == 0.0),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::volume::Geometry;

    /// 2 × 3 × 4 voxels whose value encodes its index: 100·k + 10·j + i.
    fn coded(geometry: Geometry) -> Volume {
        let mut v = Vec::new();
        for k in 0..4 {
            for j in 0..3 {
                for i in 0..2 {
                    v.push((100 * k + 10 * j + i) as i16);
                }
            }
        }
        Volume::new([2, 3, 4], 1, Voxels::I16(v), geometry).unwrap()
    }

    fn values(s: &Slice) -> Vec<i32> {
        s.values.iter().map(|&v| v as i32).collect()
    }

    #[test]
    fn identity_geometry_slices_like_numpy() {
        let vol = coded(Geometry::default());
        assert_eq!(vol.slice_count(Axis::Axial), 4);
        assert_eq!(vol.slice_count(Axis::Coronal), 3);
        assert_eq!(vol.slice_count(Axis::Sagittal), 2);
        let axial = vol.slice(Axis::Axial, 1).unwrap();
        assert_eq!((axial.width, axial.height), (2, 3));
        assert_eq!(values(&axial), vec![100, 101, 110, 111, 120, 121]);
        assert_eq!(axial, vol.slice(Axis::Native, 1).unwrap());
        // Coronal: columns i, rows from superior (k = 3) down.
        let coronal = vol.slice(Axis::Coronal, 2).unwrap();
        assert_eq!(values(&coronal), vec![320, 321, 220, 221, 120, 121, 20, 21]);
        assert_eq!(coronal.origin, [0.0, 2.0, 3.0]);
        assert_eq!(coronal.row_direction, [0.0, 0.0, -1.0]);
        // Sagittal: columns j, rows from superior down.
        let sagittal = vol.slice(Axis::Sagittal, 1).unwrap();
        assert_eq!((sagittal.width, sagittal.height), (3, 4));
        assert_eq!(&values(&sagittal)[..3], &[301, 311, 321]);
        assert!(matches!(
            vol.slice(Axis::Axial, 4),
            Err(ImagingError::BadRequest(_))
        ));
    }

    #[test]
    fn ras_volume_is_flipped_to_radiological_display() {
        // NIfTI-like: i → right (−x in LPS), j → anterior (−y), k → superior.
        let g = Geometry::from_lps_affine(
            [[-2.0, 0.0, 0.0], [0.0, -3.0, 0.0], [0.0, 0.0, 4.0]],
            [10.0, 20.0, 30.0],
        );
        let vol = coded(g);
        let axial = vol.slice(Axis::Axial, 0).unwrap();
        // Columns go to the patient's left: from i = 1 to i = 0; rows to posterior: j = 2 → 0.
        assert_eq!(values(&axial), vec![21, 20, 11, 10, 1, 0]);
        assert_eq!(axial.pixel_spacing, [2.0, 3.0]);
        assert_eq!(axial.column_direction, [1.0, 0.0, 0.0]);
        assert_eq!(axial.origin, g.position([1.0, 2.0, 0.0]));
        let labels = vol.label_slice(Axis::Axial, 0).unwrap();
        assert_eq!(labels.labels, vec![21, 20, 11, 10, 1, 0]);
    }

    #[test]
    fn labels_must_be_whole_and_non_negative() {
        let vol = Volume::new(
            [2, 1, 1],
            1,
            Voxels::F32(vec![1.0, 2.5]),
            Geometry::default(),
        )
        .unwrap();
        assert!(vol.label_slice(Axis::Axial, 0).is_err());
        let vol = Volume::new([2, 1, 1], 1, Voxels::I16(vec![1, -1]), Geometry::default()).unwrap();
        assert!(vol.label_slice(Axis::Axial, 0).is_err());
    }
}
