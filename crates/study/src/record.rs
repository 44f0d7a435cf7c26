//! Per-image results as stored in `OUT/records/<id>.json`: the source of truth every table
//! and report is rebuilt from (so `--resume` and `eval-merge` only move records around).

use std::path::{Path, PathBuf};

use sam::BinaryMask;
use serde::{Deserialize, Serialize};

use crate::error::StudyError;
use eval::metrics::Spacing;
use eval::volume_slice::VolumeSlice;

/// A binary mask as run lengths over the row-major pixels, starting with background.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Rle(pub Vec<u32>);

impl Rle {
    /// Encodes a mask.
    pub fn encode(mask: &BinaryMask) -> Rle {
        let mut runs = Vec::new();
        let (mut current, mut length) = (false, 0u32);
        for &v in &mask.data {
            if (v != 0) != current {
                runs.push(length);
                current = !current;
                length = 0;
            }
            length += 1;
        }
        runs.push(length);
        Rle(runs)
    }

    /// Decodes to a `width × height` mask; `None` when the runs do not add up to its size.
    pub fn decode(&self, width: usize, height: usize) -> Option<BinaryMask> {
        let mut data = Vec::with_capacity(width * height);
        for (i, &run) in self.0.iter().enumerate() {
            data.extend(std::iter::repeat_n((i % 2) as u8, run as usize));
        }
        (data.len() == width * height).then_some(BinaryMask {
            width,
            height,
            data,
        })
    }
}

/// The prompt that was given, in original pixels.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptRecord {
    /// Clicks `(x, y)`.
    pub points: Vec<[f64; 2]>,
    /// 1 positive, 0 negative.
    pub labels: Vec<i32>,
    /// Box `(x0, y0, x1, y1)`.
    pub bbox: Option<[f64; 4]>,
    /// Text form for the CSV.
    pub text: String,
}

/// One instance scored under one protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceResult {
    /// Protocol name.
    pub protocol: String,
    /// Class name.
    pub class: String,
    /// Label value.
    pub value: u16,
    /// Component number (0 in class mode).
    pub component: u32,
    /// `value` or `value.component`.
    pub instance: String,
    /// Ground-truth pixels.
    pub area: usize,
    /// The (last) prompt.
    pub prompt: PromptRecord,
    /// Index of the scored candidate among the decoder's outputs.
    pub chosen: usize,
    /// The decoder's predicted IoU of the scored mask.
    pub predicted_iou: f64,
    /// Dice.
    pub dice: f64,
    /// IoU.
    pub iou: f64,
    /// HD95 in mm, absent for an empty prediction.
    pub hd95: Option<f64>,
    /// Surface Dice at the run's tolerance.
    pub nsd: f64,
    /// Flags (`centroid_outside`, `empty_prediction`, …).
    pub flags: Vec<String>,
    /// `iterative`: IoU after click 1, 2, …, N.
    pub clicks: Vec<f64>,
    /// Decoder calls made.
    pub decodes: usize,
    /// Seconds spent in them.
    pub decode_seconds: f64,
    /// The ground-truth instance.
    pub truth: Rle,
    /// The scored mask.
    pub prediction: Rle,
}

/// A declared class absent from an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmptyRecord {
    /// Class name.
    pub class: String,
    /// Label value.
    pub value: u16,
}

/// Everything measured on one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageRecord {
    /// Sample id.
    pub id: String,
    /// The scan, as found when evaluated.
    pub image: PathBuf,
    /// The scan relative to the data folder (to find it again after moving the data).
    pub image_relative: PathBuf,
    /// Evaluated width.
    pub width: usize,
    /// Evaluated height.
    pub height: usize,
    /// Only the left half of the scan was evaluated.
    pub left_half: bool,
    /// For a volume: the slice evaluated (`image` is the volume file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slice: Option<VolumeSlice>,
    /// Pixel spacing used for HD95 and NSD.
    pub spacing: Spacing,
    /// Whether the dataset gave the spacing (else 1 px = 1 mm).
    pub spacing_known: bool,
    /// Whether the embedding came from the cache.
    pub embedding_cached: bool,
    /// Seconds spent in the encoder (0 when cached).
    pub encoder_seconds: f64,
    /// Declared classes without pixels: skipped, counted.
    pub empty: Vec<EmptyRecord>,
    /// One entry per instance and protocol.
    pub results: Vec<InstanceResult>,
}

/// The record file of sample `id` under `records`: the id made filesystem-safe, plus a hash
/// so distinct ids never share a file.
pub fn record_path(records: &Path, id: &str) -> PathBuf {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    records.join(format!("{safe}-{:08x}.json", hash as u32))
}

/// Reads a record; `Ok(None)` when there is none.
pub fn read_record(path: &Path) -> Result<Option<ImageRecord>, StudyError> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            StudyError::output(
                path,
                format!("unreadable record ({e}); delete it to evaluate that image again"),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StudyError::io(path, e)),
    }
}

/// Writes `bytes` to `path` through a synced temporary file ([`runfolder::write_atomic`]),
/// so a crash never leaves half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StudyError> {
    runfolder::write_atomic(path, bytes).map_err(|e| StudyError::io(path, e))
}

/// Writes a record atomically.
pub fn write_record(path: &Path, record: &ImageRecord) -> Result<(), StudyError> {
    let bytes = serde_json::to_vec(record).expect("records serialise");
    write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_round_trips_and_starts_with_background() {
        let mask = BinaryMask {
            width: 3,
            height: 2,
            data: vec![1, 1, 0, 0, 0, 1],
        };
        let rle = Rle::encode(&mask);
        assert_eq!(rle.0, [0, 2, 3, 1]);
        assert_eq!(rle.decode(3, 2).unwrap(), mask);
        assert_eq!(rle.decode(2, 2), None);
        let empty = BinaryMask {
            width: 2,
            height: 1,
            data: vec![0, 0],
        };
        assert_eq!(Rle::encode(&empty).0, [2]);
    }

    #[test]
    fn record_paths_are_safe_and_distinct() {
        let dir = Path::new("/r");
        let a = record_path(dir, "training/21");
        let b = record_path(dir, "training_21");
        assert_ne!(a, b);
        assert!(
            a.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("training_21-")
        );
        assert_eq!(a.parent(), Some(dir));
    }
}
