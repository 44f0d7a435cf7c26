//! Training and validation data: a dataset folder in one of the evaluator's layouts →
//! items with their target mask (every labelled class, or one), one encoder pass per scan
//! (embeddings cached on disk, shared with `samscope eval --cache`), and the target
//! resized to the low-resolution logit frame.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use burn::prelude::*;
use eval::Layout;
use eval::ground_truth::{Classes, GroundTruth, LabelMap, Layer};
use eval::layouts::Sample;
use sam::{BinaryMask, Embedding, ModelConfig, SamPredictor, npy};
use study::cache::EmbeddingCache;
use study::progress::Progress;

use crate::error::FinetuneError;

/// A dataset folder and its layout, written `[LAYOUT=]DIR` on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSpec {
    /// Its layout.
    pub layout: Layout,
    /// The folder.
    pub root: PathBuf,
}

impl DataSpec {
    /// Parses `[LAYOUT=]DIR`; without a layout, `default` applies.
    pub fn parse(text: &str, default: Layout) -> Result<Self, FinetuneError> {
        match text.split_once('=') {
            Some((layout, dir)) if layout.parse::<Layout>().is_ok() => Ok(Self {
                layout: layout.parse()?,
                root: PathBuf::from(dir),
            }),
            _ => Ok(Self {
                layout: default,
                root: PathBuf::from(text),
            }),
        }
    }
}

impl fmt::Display for DataSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.layout, self.root.display())
    }
}

/// Which labelled pixels the decoder learns to segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every labelled pixel of every layer (the one class of vessel datasets).
    AllClasses,
    /// The pixels of one class (by name).
    Class(String),
}

impl Target {
    /// `"all"` or the class name.
    pub fn as_str(&self) -> &str {
        match self {
            Target::AllClasses => "all",
            Target::Class(name) => name,
        }
    }

    /// The target of `gt` as a full-size mask.
    pub fn mask(&self, gt: &GroundTruth) -> BinaryMask {
        let mut data = vec![0u8; gt.width * gt.height];
        for layer in &gt.layers {
            for (dst, &v) in data.iter_mut().zip(&layer.map.data) {
                let hit = match self {
                    Target::AllClasses => v != 0,
                    Target::Class(name) => v != 0 && layer.classes.name(v) == *name,
                };
                if hit {
                    *dst = 1;
                }
            }
        }
        BinaryMask {
            width: gt.width,
            height: gt.height,
            data,
        }
    }
}

impl FromStr for Target {
    type Err = FinetuneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "" => Err(FinetuneError::option(
                "--class",
                "give a class name or `all`",
            )),
            "all" => Ok(Target::AllClasses),
            name => Ok(Target::Class(name.to_string())),
        }
    }
}

/// One scan ready for training or validation.
#[derive(Debug, Clone)]
pub struct Item {
    /// Sample id from the layout (e.g. `training/21`).
    pub id: String,
    /// The scan file.
    pub image: PathBuf,
    /// Key of its embedding in the cache.
    pub key: String,
    /// Original `(height, width)`.
    pub original_size: (usize, usize),
    /// Resized `(height, width)` inside the padded model input.
    pub input_size: (usize, usize),
    /// The target at the original size.
    pub truth: BinaryMask,
    /// Its foreground pixels (`row * width + col`), ascending.
    pub pixels: Vec<u32>,
    /// The target in the low-res logit frame (`S×S`, area-resized, zero padding).
    pub low_res: Vec<f32>,
}

impl Item {
    /// The target as a one-layer ground truth (class `name`, value 1), for the evaluator.
    pub fn ground_truth(&self, name: &str) -> GroundTruth {
        GroundTruth {
            width: self.truth.width,
            height: self.truth.height,
            layers: vec![Layer {
                map: LabelMap {
                    width: self.truth.width,
                    height: self.truth.height,
                    data: self.truth.data.iter().map(|&v| u16::from(v)).collect(),
                },
                classes: Classes::single(1, name),
            }],
        }
    }
}

/// A dataset ready for training or validation.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Name in tables and logs (e.g. `drive/test`).
    pub name: String,
    /// Where it comes from.
    pub spec: DataSpec,
    /// Its scans, sorted by id.
    pub items: Vec<Item>,
}

/// The samples of `spec`, sorted by id.
pub fn discover(spec: &DataSpec) -> Result<Vec<Sample>, FinetuneError> {
    Ok(spec.layout.discover(&spec.root)?)
}

/// Splits DRIVE-style samples into (`training/…`, `test/…`) when both splits exist; `None`
/// when the ids carry no such split.
pub fn split_training_test(samples: &[Sample]) -> Option<(Vec<Sample>, Vec<Sample>)> {
    let (train, test): (Vec<Sample>, Vec<Sample>) = samples
        .iter()
        .filter(|s| s.id.starts_with("training/") || s.id.starts_with("test/"))
        .cloned()
        .partition(|s| s.id.starts_with("training/"));
    (!train.is_empty() && !test.is_empty()).then_some((train, test))
}

/// Area weights of one axis: output pixel `o` of `dst` covers `[o, o+1)` of a frame in
/// which the `src` input pixels span `[0, extent)`; returns `(input index, weight)` pairs
/// whose weights sum to the covered fraction of the output pixel.
fn axis_weights(src: usize, extent: f64, dst: usize) -> Vec<Vec<(usize, f64)>> {
    let scale = src as f64 / extent;
    (0..dst)
        .map(|o| {
            let (a, b) = (o as f64 * scale, ((o + 1) as f64).min(extent) * scale);
            if b <= a {
                return Vec::new();
            }
            let first = a.floor() as usize;
            let last = (b.ceil() as usize).min(src);
            (first..last)
                .filter_map(|k| {
                    let overlap = (b.min(k as f64 + 1.0) - a.max(k as f64)).max(0.0);
                    (overlap > 0.0).then_some((k, overlap / scale))
                })
                .collect()
        })
        .collect()
}

/// The mask in the `size×size` low-res frame of a model whose padded input side is
/// `img_size` and in which the image is resized to `input_size`: the fraction of each
/// low-res pixel the mask covers (0 in the padding).
pub fn resize_to_low_res(
    mask: &BinaryMask,
    input_size: (usize, usize),
    img_size: usize,
    size: usize,
) -> Vec<f32> {
    let ratio = size as f64 / img_size as f64;
    let rows = axis_weights(mask.height, input_size.0 as f64 * ratio, size);
    let cols = axis_weights(mask.width, input_size.1 as f64 * ratio, size);
    // Rows first: size × width, then columns.
    let mut by_rows = vec![0f64; size * mask.width];
    for (o, weights) in rows.iter().enumerate() {
        for &(k, w) in weights {
            let src = &mask.data[k * mask.width..(k + 1) * mask.width];
            let dst = &mut by_rows[o * mask.width..(o + 1) * mask.width];
            for (d, &s) in dst.iter_mut().zip(src) {
                *d += w * f64::from(s);
            }
        }
    }
    let mut out = vec![0f32; size * size];
    for y in 0..size {
        let row = &by_rows[y * mask.width..(y + 1) * mask.width];
        for (x, weights) in cols.iter().enumerate() {
            let v: f64 = weights.iter().map(|&(k, w)| w * row[k]).sum();
            out[y * size + x] = v.clamp(0.0, 1.0) as f32;
        }
    }
    out
}

/// Reads the scans of `samples`, runs the encoder on those not in `cache`, and builds the
/// items (progress on stderr when `progress`).
pub fn prepare(
    samples: &[Sample],
    predictor: &SamPredictor,
    cache: &EmbeddingCache,
    target: &Target,
    progress: bool,
) -> Result<Vec<Item>, FinetuneError> {
    let config = predictor.config();
    let mut bar = Progress::new(samples.len(), 0, progress);
    let mut items = Vec::with_capacity(samples.len());
    for s in samples {
        let loaded = eval::sample::load(s)?;
        let (embedding, _) = cache.embed(
            predictor,
            &loaded.image_key,
            &loaded.image,
            &s.image.display().to_string(),
        )?;
        let truth = target.mask(&loaded.truth);
        let pixels = truth
            .data
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0)
            .map(|(i, _)| i as u32)
            .collect();
        let low_res = resize_to_low_res(
            &truth,
            embedding.input_size,
            config.img_size,
            config.low_res_size(),
        );
        items.push(Item {
            id: s.id.clone(),
            image: s.image.clone(),
            key: loaded.image_key,
            original_size: embedding.original_size,
            input_size: embedding.input_size,
            truth,
            pixels,
            low_res,
        });
        bar.image_done(0, 0.0);
    }
    bar.finish();
    Ok(items)
}

/// The cached embedding of `item` as a `1×256×E×E` tensor on `device`.
pub fn embedding_tensor(
    cache: &EmbeddingCache,
    config: &ModelConfig,
    item: &Item,
    device: &Device,
) -> Result<Tensor<4>, FinetuneError> {
    let path = cache_file(cache, &item.key);
    let bytes = std::fs::read(&path).map_err(|e| FinetuneError::io(&path, e))?;
    let array =
        npy::decode::<f32>(&bytes).map_err(|e| FinetuneError::output(&path, format!("{e}")))?;
    let e = config.embedding_size();
    if array.shape != [1, 256, e, e] {
        return Err(FinetuneError::output(
            &path,
            format!(
                "embedding of shape {:?}; expected [1, 256, {e}, {e}]",
                array.shape
            ),
        ));
    }
    Ok(Tensor::from_data(
        TensorData::new(array.data, [1, 256, e, e]),
        device,
    ))
}

/// The cached embedding of `item` with its geometry, for a predictor of `config`.
pub fn embedding(
    cache: &EmbeddingCache,
    config: &ModelConfig,
    item: &Item,
    device: &Device,
) -> Result<Embedding, FinetuneError> {
    Ok(Embedding {
        model: config.id,
        tensor: embedding_tensor(cache, config, item, device)?,
        original_size: item.original_size,
        input_size: item.input_size,
    })
}

/// Where the cache keeps the embedding `key` (`<cache dir>/<key>.npy`).
fn cache_file(cache: &EmbeddingCache, key: &str) -> PathBuf {
    cache.dir().join(format!("{key}.npy"))
}

/// A short name for a dataset: `<layout>` plus the split when it is one (`drive/test`).
pub fn dataset_name(spec: &DataSpec, split: Option<&str>) -> String {
    match split {
        Some(split) => format!("{}/{split}", spec.layout),
        None => {
            let folder = spec
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if folder.is_empty() {
                spec.layout.to_string()
            } else {
                format!("{}:{folder}", spec.layout)
            }
        }
    }
}

/// `path` made absolute when possible (manifests record where data came from).
pub fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn low_res_target_is_area_coverage_with_zero_padding() {
        // A 4×2 image (w × h) resized into a frame twice as big on the long side, padded.
        let mask = BinaryMask {
            width: 4,
            height: 2,
            data: vec![1, 1, 0, 0, 1, 0, 0, 1],
        };
        // Model input 8×8, image resized to 2×4 (h, w) → low-res 4×4 with the image in 1×2.
        let out = resize_to_low_res(&mask, (2, 4), 8, 4);
        assert_eq!(out.len(), 16);
        // Low-res pixel (0, 0) averages the 2×2 block at the top left: 3 of 4 set.
        assert!((out[0] - 0.75).abs() < 1e-6, "{out:?}");
        assert!((out[1] - 0.25).abs() < 1e-6, "{out:?}");
        assert!(out[2..].iter().all(|&v| v == 0.0), "{out:?}");
        // Identity when the frames agree.
        let same = resize_to_low_res(&mask, (2, 4), 4, 4);
        assert_eq!(&same[..4], &[1.0, 1.0, 0.0, 0.0]);
        assert_eq!(&same[4..8], &[1.0, 0.0, 0.0, 1.0]);
    }

    #[test]
    fn specs_and_targets_parse() {
        let spec = DataSpec::parse("chase=/data/CHASE", Layout::Drive).unwrap();
        assert_eq!(spec.layout, Layout::Chase);
        assert_eq!(spec.root, PathBuf::from("/data/CHASE"));
        let spec = DataSpec::parse("/data/a=b", Layout::Drive).unwrap();
        assert_eq!(spec.layout, Layout::Drive);
        assert_eq!(spec.root, PathBuf::from("/data/a=b"));
        assert_eq!("all".parse::<Target>().unwrap(), Target::AllClasses);
        assert_eq!(
            "vessel".parse::<Target>().unwrap(),
            Target::Class("vessel".into())
        );
    }
}
