//! The embedding cache: one encoder pass per scan, shared by every protocol, every resumed
//! or sharded run and every later run that points `--cache` at the same folder.
//!
//! `<cache>/<model>-<first 12 hex of the checkpoint sha256>/<scan key>.npy`, where the scan
//! key is the sha256 of the scan file (see [`eval::sample::Scan::key`]); the file is the
//! `1×256×64×64` f32 embedding as `samscope embed` writes it. The geometry (original and
//! resized size) is recomputed from the scan, so nothing else needs storing.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::prelude::*;
use imaging::DecodedImage;
use sam::transforms::preprocess_shape;
use sam::{Embedding, ModelId, SamError, SamPredictor, npy};

use crate::error::StudyError;
use crate::model::encoder_image;
use crate::record::write_atomic;

/// Embeddings of one model and checkpoint.
#[derive(Debug, Clone)]
pub struct EmbeddingCache {
    dir: PathBuf,
}

/// Where an embedding came from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncoderUse {
    /// Read from the cache.
    pub cached: bool,
    /// Seconds in the encoder (0 when cached).
    pub seconds: f64,
}

impl EmbeddingCache {
    /// The cache for `model` with the checkpoint whose sha256 is `checkpoint_sha256`, under
    /// `root`.
    pub fn new(root: &Path, model: ModelId, checkpoint_sha256: &str) -> Self {
        let tag: String = checkpoint_sha256.chars().take(12).collect();
        Self {
            dir: root.join(format!("{model}-{tag}")),
        }
    }

    /// The folder holding this model's embeddings.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.npy"))
    }

    /// The cached embedding of the scan `key` of size `image`, if present and well-formed.
    fn load(&self, predictor: &SamPredictor, key: &str, image: &DecodedImage) -> Option<Embedding> {
        let bytes = std::fs::read(self.path(key)).ok()?;
        let array = npy::decode::<f32>(&bytes).ok()?;
        let config = predictor.config();
        let e = config.embedding_size();
        if array.shape != [1, 256, e, e] {
            return None;
        }
        Some(Embedding {
            model: config.id,
            tensor: Tensor::from_data(
                TensorData::new(array.data, [1, 256, e, e]),
                predictor.device(),
            ),
            original_size: (image.height as usize, image.width as usize),
            input_size: preprocess_shape(
                image.height as usize,
                image.width as usize,
                config.img_size,
            ),
        })
    }

    fn store(&self, key: &str, embedding: &Embedding) -> Result<(), StudyError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| StudyError::io(&self.dir, e))?;
        let shape = embedding.tensor.dims();
        let values = embedding
            .tensor
            .clone()
            .try_into_vec_as::<f32>()
            .map_err(|e| {
                StudyError::output(self.path(key), format!("reading the embedding: {e:?}"))
            })?;
        write_atomic(&self.path(key), &npy::encode(&shape, &values))
    }

    /// The embedding of `image` (a scan read by `eval::sample`, key `key`): from the cache,
    /// or from one encoder pass that is then cached. A damaged cache file is replaced.
    pub fn embed(
        &self,
        predictor: &SamPredictor,
        key: &str,
        image: &DecodedImage,
        context: &str,
    ) -> Result<(Embedding, EncoderUse), StudyError> {
        if let Some(embedding) = self.load(predictor, key, image) {
            return Ok((
                embedding,
                EncoderUse {
                    cached: true,
                    seconds: 0.0,
                },
            ));
        }
        let model_error = |source| StudyError::Model {
            context: context.to_string(),
            source,
        };
        let start = Instant::now();
        let image = encoder_image(image).ok_or_else(|| {
            model_error(SamError::InvalidImage(
                "pixel buffer does not match width × height × 3".into(),
            ))
        })?;
        let embedding = predictor.embed(&image).map_err(model_error)?;
        // Storing reads the tensor back, so the time includes any deferred computation.
        self.store(key, &embedding)?;
        let seconds = start.elapsed().as_secs_f64();
        Ok((
            embedding,
            EncoderUse {
                cached: false,
                seconds,
            },
        ))
    }
}
