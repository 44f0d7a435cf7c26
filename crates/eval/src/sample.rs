//! Reading one sample: the scan through `imaging` (as every samscope path does) and its
//! ground truth, checked to be the same size. The scan stays an [`imaging::DecodedImage`]:
//! the model's input type is made from it where the model runs (`study`).
//!
//! A [`Loader`] keeps the last volume it decoded (and its label volumes), so the slices
//! of one volume, evaluated in order, decode it once; at most one volume is held at a
//! time.

use std::path::{Path, PathBuf};

use imaging::{DecodedImage, Limits, Volume};
use sha2::{Digest, Sha256};

use crate::error::EvalError;
use crate::ground_truth::{Decode, GroundTruth, LabelMap, Layer, LayerSource, load_layer};
use crate::layouts::Sample;
use crate::volume_slice::{ImageVolume, VolumeSlice, check_grid, label_map, read_label_volume};

/// A sample in memory.
#[derive(Debug, Clone)]
pub struct LoadedSample {
    /// The scan as the encoder sees it (left half only for stereo pairs).
    pub image: DecodedImage,
    /// Identifies the encoder input: sha256 of the file bytes (+ `-left` for a left half,
    /// + `-<axis><index>-<window>` for a volume slice).
    pub image_key: String,
    /// Ground truth at the image size.
    pub truth: GroundTruth,
}

/// A decoded scan.
#[derive(Debug, Clone)]
pub struct Scan {
    /// 8-bit RGB, cropped to the left half when the sample asks.
    pub image: DecodedImage,
    /// sha256 of the file bytes (+ `-left` for a left half, + the slice for a volume).
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
    if decoded.rgb.len() != w * h * 3 {
        return Err(EvalError::layout(
            path,
            "decoded pixels do not match the size",
        ));
    }
    let mut key = format!("{:x}", Sha256::digest(&bytes));
    let image = if left_half {
        if w < 2 {
            return Err(EvalError::layout(path, "too narrow to be a stereo pair"));
        }
        key.push_str("-left");
        let half = w / 2;
        let rgb = decoded
            .rgb
            .chunks(w * 3)
            .flat_map(|row| row[..half * 3].iter().copied())
            .collect();
        DecodedImage {
            width: half as u32,
            rgb,
            ..decoded
        }
    } else {
        decoded
    };
    Ok(Scan {
        image,
        key,
        full_width: w,
    })
}

/// Reads the scan and the ground truth of `sample` (decoding a volume afresh; evaluate
/// many slices through one [`Loader`]).
pub fn load(sample: &Sample) -> Result<LoadedSample, EvalError> {
    Loader::default().load(sample)
}

/// Reads samples, keeping the last decoded volume and its label volumes.
#[derive(Debug, Default)]
pub struct Loader {
    /// The image volume last read, and its file.
    image: Option<(PathBuf, ImageVolume)>,
    /// Label volumes of that image, by file.
    labels: Vec<(PathBuf, Volume)>,
}

impl Loader {
    /// The image volume at `path`, decoded unless it is the one held (which it replaces,
    /// with its labels).
    fn volume(&mut self, path: &Path) -> Result<&mut ImageVolume, EvalError> {
        if self.image.as_ref().is_none_or(|(p, _)| p != path) {
            self.image = None;
            self.labels.clear();
            self.image = Some((path.to_path_buf(), ImageVolume::read(path)?));
        }
        Ok(&mut self.image.as_mut().expect("just read").1)
    }

    /// The scan at `path`: a 2-D image (its left half when asked) or, with `slice`, one
    /// slice of a volume.
    pub fn scan(
        &mut self,
        path: &Path,
        slice: Option<&VolumeSlice>,
        left_half: bool,
    ) -> Result<Scan, EvalError> {
        let Some(slice) = slice else {
            return decode_scan(path, left_half);
        };
        let volume = self.volume(path)?;
        let image = volume.render(slice, path)?;
        Ok(Scan {
            key: format!("{}-{}", volume.sha256, slice.key_suffix()),
            full_width: image.width as usize,
            image,
        })
    }

    /// Reads the scan and the ground truth of `sample`.
    pub fn load(&mut self, sample: &Sample) -> Result<LoadedSample, EvalError> {
        let Scan {
            image,
            key: image_key,
            full_width,
        } = self.scan(&sample.image, sample.slice.as_ref(), sample.left_half)?;
        let (width, height) = (image.width as usize, image.height as usize);
        let layers = match &sample.slice {
            None => sample
                .layers
                .iter()
                .map(|l| load_layer(l, width, height, full_width))
                .collect::<Result<Vec<_>, _>>()?,
            Some(slice) => sample
                .layers
                .iter()
                .map(|l| self.volume_layer(l, &sample.image, slice))
                .collect::<Result<Vec<_>, _>>()?,
        };
        Ok(LoadedSample {
            truth: GroundTruth {
                width,
                height,
                layers,
            },
            image,
            image_key,
        })
    }

    /// One layer of a volume sample: the same slice of each of its label volumes, painted
    /// in order. Classes absent from the slice are dropped from the declared ones: a slice
    /// is not expected to show every structure of its volume.
    fn volume_layer(
        &mut self,
        source: &LayerSource,
        image_path: &Path,
        slice: &VolumeSlice,
    ) -> Result<Layer, EvalError> {
        let mut map: Option<LabelMap> = None;
        for file in &source.files {
            if source.decode != Decode::Labels {
                return Err(EvalError::mask(
                    file,
                    "label volumes are read as label values only",
                ));
            }
            let labels = self.label_volume(file, image_path)?;
            let next = label_map(labels, slice, file)?;
            match &mut map {
                None => map = Some(next),
                Some(m) => {
                    for (dst, &v) in m.data.iter_mut().zip(&next.data) {
                        if v != 0 {
                            *dst = v;
                        }
                    }
                }
            }
        }
        let map = map.ok_or_else(|| EvalError::mask(image_path, "a layer without label files"))?;
        let mut present = vec![false; usize::from(u16::MAX) + 1];
        for &v in &map.data {
            present[usize::from(v)] = true;
        }
        let mut classes = source.classes.clone();
        classes.names.retain(|&v, _| present[usize::from(v)]);
        Ok(Layer { map, classes })
    }

    /// The label volume at `path`, decoded unless held, checked to lie on the grid of the
    /// image volume held (read from `image_path`).
    fn label_volume(&mut self, path: &Path, image_path: &Path) -> Result<&Volume, EvalError> {
        let index = match self.labels.iter().position(|(p, _)| p == path) {
            Some(i) => i,
            None => {
                let labels = read_label_volume(path)?;
                let (_, image) = self.image.as_ref().expect("the image volume is read first");
                check_grid(&image.volume, image_path, &labels, path)?;
                self.labels.push((path.to_path_buf(), labels));
                self.labels.len() - 1
            }
        };
        Ok(&self.labels[index].1)
    }
}
