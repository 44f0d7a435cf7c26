//! Reading one sample: the scan through `imaging` (as every samscope path does) and its
//! ground truth, checked to be the same size.

use std::path::Path;

use imaging::Limits;
use sam::RgbImage;
use sha2::{Digest, Sha256};

use crate::error::EvalError;
use crate::ground_truth::{GroundTruth, load_layer};
use crate::layouts::Sample;

/// A sample in memory.
#[derive(Debug, Clone)]
pub struct LoadedSample {
    /// The scan as the encoder sees it (left half only for stereo pairs).
    pub image: RgbImage,
    /// Identifies the encoder input: sha256 of the file bytes (+ `-left` for a left half).
    pub image_key: String,
    /// Ground truth at the image size.
    pub truth: GroundTruth,
}

/// A decoded scan.
#[derive(Debug, Clone)]
pub struct Scan {
    /// 8-bit RGB, cropped to the left half when the sample asks.
    pub image: RgbImage,
    /// sha256 of the file bytes (+ `-left` for a left half).
    pub key: String,
    /// Width of the file's image before any crop.
    pub full_width: usize,
}

/// Reads the scan at `path` as 8-bit RGB, keeping only its left half when asked.
pub fn decode_scan(path: &Path, left_half: bool) -> Result<Scan, EvalError> {
    let bytes = std::fs::read(path).map_err(|e| EvalError::io(path, e))?;
    let decoded =
        imaging::decode_image(&bytes, &Limits::default()).map_err(|source| EvalError::Image {
            path: path.to_path_buf(),
            source,
        })?;
    let (w, h) = (decoded.width as usize, decoded.height as usize);
    let mut key = format!("{:x}", Sha256::digest(&bytes));
    let image = if left_half {
        if w < 2 {
            return Err(EvalError::layout(path, "too narrow to be a stereo pair"));
        }
        key.push_str("-left");
        let half = w / 2;
        let pixels = decoded
            .rgb
            .chunks(w * 3)
            .flat_map(|row| row[..half * 3].iter().copied())
            .collect();
        RgbImage::new(half, h, pixels)
    } else {
        RgbImage::new(w, h, decoded.rgb)
    };
    let image =
        image.ok_or_else(|| EvalError::layout(path, "decoded pixels do not match the size"))?;
    Ok(Scan {
        image,
        key,
        full_width: w,
    })
}

/// Reads the scan and the ground truth of `sample`.
pub fn load(sample: &Sample) -> Result<LoadedSample, EvalError> {
    let Scan {
        image,
        key: image_key,
        full_width,
    } = decode_scan(&sample.image, sample.left_half)?;
    let layers = sample
        .layers
        .iter()
        .map(|l| load_layer(l, image.width, image.height, full_width))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(LoadedSample {
        truth: GroundTruth {
            width: image.width,
            height: image.height,
            layers,
        },
        image,
        image_key,
    })
}
