//! Samples cut from volumes (NIfTI-1/2, NRRD, DICOM): which slice, through which window,
//! and reading the image and label volumes they come from.
//!
//! A volume sample names its scan file, an [`Axis`], a slice index along it and a
//! [`Window`]; its ground truth is the same slice of a label volume on the same voxel
//! grid. The embedding cache key of a slice is the sha256 of the volume file followed by
//! the axis, the index and the window, so each changes the key.
//!
//! [`Window::MinMax`] means the exact minimum and maximum over every voxel of the volume
//! here (imaging estimates them from a strided sample).

use std::fmt;
use std::path::Path;

use imaging::{Axis, DecodedImage, Limits, Scan, SourceFormat, Volume, Window, WindowLevel};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::EvalError;
use crate::ground_truth::LabelMap;

/// Decoding bounds for evaluation volumes: files up to 2 GiB, decoded voxels up to 4 GiB
/// (a 512×512×1000 CT as f32 fits), slices up to 10⁸ pixels.
pub const VOLUME_LIMITS: Limits = Limits {
    max_bytes: 2 << 30,
    max_pixels: 100_000_000,
    max_alloc: 4 << 30,
};

/// One slice of a volume, windowed to 8 bits for the encoder.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "SliceText", try_from = "SliceText")]
pub struct VolumeSlice {
    /// The slicing direction.
    pub axis: Axis,
    /// The slice index along `axis` (the voxel index along the fixed voxel axis).
    pub index: usize,
    /// The window mapping physical values to 8 bits.
    pub window: Window,
}

/// [`VolumeSlice`] as stored in records: axis and window by their names.
#[derive(Serialize, Deserialize)]
struct SliceText {
    axis: String,
    index: usize,
    window: String,
}

impl From<VolumeSlice> for SliceText {
    fn from(s: VolumeSlice) -> Self {
        SliceText {
            axis: s.axis.to_string(),
            index: s.index,
            window: s.window.to_string(),
        }
    }
}

impl TryFrom<SliceText> for VolumeSlice {
    type Error = String;

    fn try_from(t: SliceText) -> Result<Self, Self::Error> {
        Ok(VolumeSlice {
            axis: t
                .axis
                .parse()
                .map_err(|e| format!("axis `{}`: {e}", t.axis))?,
            index: t.index,
            window: t
                .window
                .parse()
                .map_err(|e| format!("window `{}`: {e}", t.window))?,
        })
    }
}

impl fmt::Display for VolumeSlice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} slice {}, window {}",
            self.axis, self.index, self.window
        )
    }
}

impl VolumeSlice {
    /// What this slice adds to the volume file's sha256 in the embedding cache key, e.g.
    /// `axial42-ct_abdomen` (file-name safe).
    pub fn key_suffix(&self) -> String {
        let window: String = self
            .window
            .to_string()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "-._".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        format!("{}{}-{window}", self.axis, self.index)
    }
}

/// An image volume in memory, with what identifies it.
#[derive(Debug)]
pub struct ImageVolume {
    /// The voxels and geometry.
    pub volume: Volume,
    /// Its container format.
    pub format: SourceFormat,
    /// sha256 of the file bytes, hex.
    pub sha256: String,
    /// Exact min–max window, computed on first use.
    minmax: Option<Option<WindowLevel>>,
}

impl ImageVolume {
    /// Reads and decodes the image volume at `path`.
    pub fn read(path: &Path) -> Result<Self, EvalError> {
        let bytes = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
        let image_error = |source| EvalError::Image {
            path: path.to_path_buf(),
            source,
        };
        let format = imaging::detect(&bytes).map_err(image_error)?;
        let volume = match imaging::decode_scan(&bytes, &VOLUME_LIMITS).map_err(image_error)? {
            Scan::Volume(v) => v,
            Scan::Image(_) => {
                return Err(EvalError::layout(
                    path,
                    format!(
                        "a 2-D {} image, not a volume (NIfTI, NRRD or DICOM)",
                        format.name()
                    ),
                ));
            }
        };
        Ok(Self {
            volume,
            format,
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            minmax: None,
        })
    }

    /// `window` as rendered: [`Window::MinMax`] becomes the exact bounds of the volume.
    fn effective(&mut self, window: Window) -> Window {
        if window != Window::MinMax {
            return window;
        }
        let volume = &self.volume;
        let bounds = *self.minmax.get_or_insert_with(|| exact_bounds(volume));
        bounds.map_or(Window::MinMax, Window::Manual)
    }

    /// Slice `slice` of the volume as the encoder's 8-bit RGB.
    pub fn render(&mut self, slice: &VolumeSlice, path: &Path) -> Result<DecodedImage, EvalError> {
        let window = self.effective(slice.window);
        let rendered = self
            .volume
            .render(slice.axis, slice.index, &window, self.format)
            .map_err(|source| EvalError::Image {
                path: path.to_path_buf(),
                source,
            })?;
        let image = rendered.image;
        if image.rgb.len() != image.width as usize * image.height as usize * 3 {
            return Err(EvalError::layout(
                path,
                "rendered pixels do not match the size",
            ));
        }
        Ok(image)
    }
}

/// The smallest and largest finite value of `volume` as a window (width ≥ 1 when flat).
fn exact_bounds(volume: &Volume) -> Option<WindowLevel> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for n in 0..volume.voxels().len() {
        let v = volume.value(n);
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return None;
    }
    Some(WindowLevel::from_bounds(
        lo,
        if hi > lo { hi } else { lo + 1.0 },
    ))
}

/// Reads and decodes the label volume at `path` (whole numbers ≥ 0, one per voxel).
pub fn read_label_volume(path: &Path) -> Result<Volume, EvalError> {
    let bytes = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
    imaging::decode_labels(&bytes, &VOLUME_LIMITS)
        .map_err(|e| EvalError::mask(path, format!("not a readable label volume: {e}")))
}

/// Fails unless `labels` (from `label_path`) lies on the voxel grid of `image` (from
/// `image_path`), so that their slices line up.
pub fn check_grid(
    image: &Volume,
    image_path: &Path,
    labels: &Volume,
    label_path: &Path,
) -> Result<(), EvalError> {
    if image.same_grid(labels) {
        return Ok(());
    }
    let dims = |v: &Volume| {
        let [x, y, z] = v.dims();
        format!("{x}×{y}×{z}")
    };
    let message = if image.dims() != labels.dims() {
        format!(
            "the label volume is {} voxels but its image {} is {}",
            dims(labels),
            image_path.display(),
            dims(image)
        )
    } else {
        format!(
            "the label volume has the size of its image {} ({}) but another voxel grid \
             (spacing, origin or orientation differ); resample it onto the image's grid",
            image_path.display(),
            dims(image)
        )
    };
    Err(EvalError::mask(label_path, message))
}

/// Slice `slice` of the label volume `labels` (from `path`) as a label map.
pub fn label_map(labels: &Volume, slice: &VolumeSlice, path: &Path) -> Result<LabelMap, EvalError> {
    let s = labels
        .label_slice(slice.axis, slice.index)
        .map_err(|e| EvalError::mask(path, e.to_string()))?;
    let data = s
        .labels
        .iter()
        .map(|&v| u16::try_from(v))
        .collect::<Result<Vec<u16>, _>>()
        .map_err(|_| EvalError::mask(path, "a label above 65535; labels must fit 16 bits"))?;
    Ok(LabelMap {
        width: s.width,
        height: s.height,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use imaging::Preset;

    #[test]
    fn slices_round_trip_through_records_and_key_every_part() {
        let s = VolumeSlice {
            axis: Axis::Axial,
            index: 42,
            window: Window::Preset(Preset::CtAbdomen),
        };
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"axis":"axial","index":42,"window":"ct_abdomen"}"#);
        assert_eq!(serde_json::from_str::<VolumeSlice>(&json).unwrap(), s);
        assert_eq!(s.key_suffix(), "axial42-ct_abdomen");
        let manual = VolumeSlice {
            window: Window::Manual(WindowLevel {
                center: -314.5,
                width: 1353.0,
            }),
            ..s
        };
        assert_eq!(manual.key_suffix(), "axial42--314.5_1353");
        let back: VolumeSlice =
            serde_json::from_str(&serde_json::to_string(&manual).unwrap()).unwrap();
        assert_eq!(back, manual);
        let other = [
            VolumeSlice { index: 43, ..s },
            VolumeSlice {
                axis: Axis::Coronal,
                ..s
            },
            VolumeSlice {
                window: Window::MinMax,
                ..s
            },
        ];
        for o in other {
            assert_ne!(o.key_suffix(), s.key_suffix());
        }
        let bad = r#"{"axis":"oblique","index":1,"window":"minmax"}"#;
        assert!(serde_json::from_str::<VolumeSlice>(bad).is_err());
    }
}
