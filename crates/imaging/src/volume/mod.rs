//! Volumes: typed voxels, a rescale to physical values (HU for CT), and geometry. Nothing
//! else of the source file is kept: no patient, study or institution attribute can reach
//! a [`Volume`], so nothing built from one can leak them.

mod codec;
mod geometry;
mod slice;
mod windowing;

use std::fmt;
use std::sync::OnceLock;

pub use codec::VOLUME_MAGIC;
pub use geometry::Geometry;
pub use slice::{Axis, LabelSlice, Slice};
pub use windowing::apply_window;

pub(crate) use geometry::{cross, unit, usable_spacing};

use crate::ImagingError;
use crate::window::WindowLevel;

/// Voxel samples as stored (before the rescale), channel fastest, then `i`, `j`, `k`.
#[derive(Debug, Clone, PartialEq)]
pub enum Voxels {
    /// Unsigned 8-bit.
    U8(Vec<u8>),
    /// Signed 8-bit.
    I8(Vec<i8>),
    /// Unsigned 16-bit.
    U16(Vec<u16>),
    /// Signed 16-bit (most CT).
    I16(Vec<i16>),
    /// Signed 32-bit.
    I32(Vec<i32>),
    /// 32-bit float (also wider types, converted).
    F32(Vec<f32>),
}

/// Runs `$body` with `$v` bound to the typed sample vector of `$voxels`.
macro_rules! with_samples {
    ($voxels:expr, $v:ident => $body:expr) => {
        match $voxels {
            Voxels::U8($v) => $body,
            Voxels::I8($v) => $body,
            Voxels::U16($v) => $body,
            Voxels::I16($v) => $body,
            Voxels::I32($v) => $body,
            Voxels::F32($v) => $body,
        }
    };
}
pub(crate) use with_samples;

/// A sample that converts to `f64`.
pub(crate) trait Sample: Copy + Send + Sync + 'static {
    /// The value as `f64`.
    fn to_f64(self) -> f64;
}

macro_rules! sample {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            fn to_f64(self) -> f64 {
                f64::from(self)
            }
        }
    )*};
}
sample!(u8, i8, u16, i16, i32, f32);

impl Voxels {
    /// Number of samples.
    pub fn len(&self) -> usize {
        with_samples!(self, v => v.len())
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes per sample.
    pub fn sample_bytes(&self) -> usize {
        match self {
            Voxels::U8(_) | Voxels::I8(_) => 1,
            Voxels::U16(_) | Voxels::I16(_) => 2,
            Voxels::I32(_) | Voxels::F32(_) => 4,
        }
    }

    /// Short name of the sample type (`u8`, `i16`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            Voxels::U8(_) => "u8",
            Voxels::I8(_) => "i8",
            Voxels::U16(_) => "u16",
            Voxels::I16(_) => "i16",
            Voxels::I32(_) => "i32",
            Voxels::F32(_) => "f32",
        }
    }
}

/// `value = stored × slope + intercept` (DICOM Rescale Slope/Intercept, NIfTI
/// `scl_slope`/`scl_inter`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rescale {
    /// Multiplier.
    pub slope: f64,
    /// Offset.
    pub intercept: f64,
}

impl Rescale {
    /// The identity.
    pub const IDENTITY: Rescale = Rescale {
        slope: 1.0,
        intercept: 0.0,
    };

    /// `slope`, `intercept` when usable (finite, slope ≠ 0), else the identity.
    pub fn new(slope: f64, intercept: f64) -> Self {
        if slope.is_finite() && slope != 0.0 && intercept.is_finite() {
            Rescale { slope, intercept }
        } else {
            Rescale::IDENTITY
        }
    }

    /// Applies the rescale.
    pub fn apply(&self, stored: f64) -> f64 {
        stored * self.slope + self.intercept
    }
}

/// A decoded scan volume: `dims[0] × dims[1] × dims[2]` voxels (`i` fastest; for DICOM,
/// `i` = column, `j` = row, `k` = frame) of `channels` samples each.
pub struct Volume {
    dims: [usize; 3],
    channels: usize,
    voxels: Voxels,
    rescale: Rescale,
    geometry: Geometry,
    invert: bool,
    default_window: Option<WindowLevel>,
    /// A sorted, evenly strided sample of the finite values, for percentile windows.
    sorted_sample: OnceLock<Vec<f32>>,
}

impl fmt::Debug for Volume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Volume")
            .field("dims", &self.dims)
            .field("channels", &self.channels)
            .field("type", &self.voxels.type_name())
            .field("rescale", &self.rescale)
            .field("geometry", &self.geometry)
            .field("invert", &self.invert)
            .field("default_window", &self.default_window)
            .finish()
    }
}

impl Clone for Volume {
    fn clone(&self) -> Self {
        Self {
            dims: self.dims,
            channels: self.channels,
            voxels: self.voxels.clone(),
            rescale: self.rescale,
            geometry: self.geometry,
            invert: self.invert,
            default_window: self.default_window,
            sorted_sample: OnceLock::new(),
        }
    }
}

impl PartialEq for Volume {
    fn eq(&self, other: &Self) -> bool {
        self.dims == other.dims
            && self.channels == other.channels
            && self.voxels == other.voxels
            && self.rescale == other.rescale
            && self.geometry == other.geometry
            && self.invert == other.invert
            && self.default_window == other.default_window
    }
}

/// Most samples used to estimate percentiles (evenly strided, so deterministic).
const PERCENTILE_SAMPLES: usize = 1 << 20;

impl Volume {
    /// A volume of `dims` voxels with `channels` (1 or 3) samples each; `voxels` must hold
    /// exactly `dims[0]·dims[1]·dims[2]·channels` samples and no dimension may be 0.
    pub fn new(
        dims: [usize; 3],
        channels: usize,
        voxels: Voxels,
        geometry: Geometry,
    ) -> Result<Self, ImagingError> {
        if channels != 1 && channels != 3 {
            return Err(ImagingError::Unsupported(
                "channel count",
                format!("{channels} samples per voxel (1 or 3 are read)"),
            ));
        }
        if dims.contains(&0) {
            return Err(ImagingError::NoPixels);
        }
        let expected = dims
            .iter()
            .try_fold(channels, |acc, &d| acc.checked_mul(d))
            .ok_or_else(|| ImagingError::TooLarge(format!("{dims:?} voxels overflow")))?;
        if voxels.len() != expected {
            return Err(ImagingError::Corrupt(
                "volume",
                format!(
                    "{} samples for {}×{}×{} voxels of {channels} channel(s)",
                    voxels.len(),
                    dims[0],
                    dims[1],
                    dims[2]
                ),
            ));
        }
        Ok(Self {
            dims,
            channels,
            voxels,
            rescale: Rescale::IDENTITY,
            geometry,
            invert: false,
            default_window: None,
            sorted_sample: OnceLock::new(),
        })
    }

    /// With a rescale to physical values.
    pub fn with_rescale(mut self, rescale: Rescale) -> Self {
        self.rescale = rescale;
        self.sorted_sample = OnceLock::new();
        self
    }

    /// Marked as displayed inverted (DICOM MONOCHROME1: the lowest value is white).
    pub fn with_invert(mut self, invert: bool) -> Self {
        self.invert = invert;
        self
    }

    /// With the window the file suggests (DICOM Window Center/Width).
    pub fn with_default_window(mut self, window: Option<WindowLevel>) -> Self {
        self.default_window = window.filter(|w| w.is_usable());
        self
    }

    /// Voxel counts along `i`, `j`, `k`.
    pub fn dims(&self) -> [usize; 3] {
        self.dims
    }

    /// Samples per voxel: 1 (grey) or 3 (RGB).
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// The stored samples.
    pub fn voxels(&self) -> &Voxels {
        &self.voxels
    }

    /// The rescale from stored samples to physical values.
    pub fn rescale(&self) -> Rescale {
        self.rescale
    }

    /// Where the voxels are.
    pub fn geometry(&self) -> &Geometry {
        &self.geometry
    }

    /// Whether low values are displayed bright (DICOM MONOCHROME1).
    pub fn invert(&self) -> bool {
        self.invert
    }

    /// The window the file suggests, if any.
    pub fn default_window(&self) -> Option<WindowLevel> {
        self.default_window
    }

    /// Bytes held by the samples.
    pub fn byte_len(&self) -> usize {
        self.voxels.len() * self.voxels.sample_bytes()
    }

    /// The physical value of sample `n` (rescale applied).
    pub fn value(&self, n: usize) -> f64 {
        let stored = with_samples!(&self.voxels, v => v[n].to_f64());
        self.rescale.apply(stored)
    }

    /// The physical value at voxel `(i, j, k)`, channel `c`, or `None` outside the grid.
    pub fn value_at(&self, i: usize, j: usize, k: usize, c: usize) -> Option<f64> {
        let [di, dj, dk] = self.dims;
        if i >= di || j >= dj || k >= dk || c >= self.channels {
            return None;
        }
        Some(self.value(((k * dj + j) * di + i) * self.channels + c))
    }

    /// A sorted, evenly strided sample (at most 2²⁰ values) of the finite physical values.
    pub(crate) fn sorted_sample(&self) -> &[f32] {
        self.sorted_sample.get_or_init(|| {
            let n = self.voxels.len();
            let stride = n.div_ceil(PERCENTILE_SAMPLES).max(1);
            let rescale = self.rescale;
            let mut sample: Vec<f32> = with_samples!(&self.voxels, v => v
                .iter()
                .step_by(stride)
                .map(|s| rescale.apply(s.to_f64()) as f32)
                .filter(|x| x.is_finite())
                .collect());
            sample.sort_unstable_by(f32::total_cmp);
            sample
        })
    }

    /// The `p`-th percentile (0–100) of the finite physical values, interpolated linearly
    /// between the two nearest ranks (NumPy's default) over [`Volume::sorted_sample`].
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let s = self.sorted_sample();
        if s.is_empty() || !p.is_finite() {
            return None;
        }
        let rank = p.clamp(0.0, 100.0) / 100.0 * (s.len() - 1) as f64;
        let lo = rank.floor() as usize;
        let hi = rank.ceil() as usize;
        let frac = rank - lo as f64;
        Some(f64::from(s[lo]) + (f64::from(s[hi]) - f64::from(s[lo])) * frac)
    }

    /// Whether `other` has the same voxel grid (dimensions, and geometry within 10⁻³ mm
    /// and 10⁻⁴ in direction cosines, as files store it in float32), so its slices line up
    /// with this volume's (a label volume for an image volume).
    pub fn same_grid(&self, other: &Volume) -> bool {
        let (a, b) = (&self.geometry, &other.geometry);
        let close =
            |x: &[f64], y: &[f64], tol: f64| x.iter().zip(y).all(|(p, q)| (p - q).abs() <= tol);
        self.dims == other.dims
            && a.oriented == b.oriented
            && close(&a.spacing, &b.spacing, 1e-3)
            && close(&a.origin, &b.origin, 1e-3)
            && close(
                a.directions.as_flattened(),
                b.directions.as_flattened(),
                1e-4,
            )
    }
}
