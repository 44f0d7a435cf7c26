//! A fine-tuned model folder (`samscope finetune --out MODEL_DIR`) and how other commands
//! open it (`samscope eval --finetuned`, `samscope serve --finetuned`):
//!
//! ```text
//! MODEL_DIR/manifest.json       this module's ModelManifest
//! MODEL_DIR/decoder.safetensors prompt encoder + mask decoder, f32, sam::export format
//! MODEL_DIR/table.md, table.json before/after table (the paper's Table 10)
//! MODEL_DIR/run.json            training settings (checked by --resume)
//! MODEL_DIR/checkpoints/        the last epoch's weights, optimizer state and history
//! MODEL_DIR/cache/              encoder embeddings (unless --cache)
//! ```

use std::path::{Path, PathBuf};

use burn::prelude::Device;
use sam::export::load_decoder;
use sam::{ModelConfig, ModelId, SamDecoder};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::FinetuneError;
use crate::table::TableRow;
use crate::validate::EpochRecord;

/// `format` of the manifest.
pub const MANIFEST_FORMAT: &str = "samscope-finetuned-v1";
/// File name of the manifest in a model folder.
pub const MANIFEST_FILE: &str = "manifest.json";
/// File name of the decoder weights in a model folder.
pub const DECODER_FILE: &str = "decoder.safetensors";

/// How the decoder was trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingRecord {
    /// `promptless`, `box` or `point`.
    pub mode: String,
    /// Target class (`all` for every labelled pixel).
    pub target: String,
    /// Epochs.
    pub epochs: usize,
    /// Optimizer steps.
    pub steps: usize,
    /// Learning rate (peak).
    pub lr: f64,
    /// Learning-rate schedule (`constant` or `cosine`).
    pub schedule: String,
    /// Images per step.
    pub batch: usize,
    /// `adamw`.
    pub optimizer: String,
    /// AdamW β₁, β₂.
    pub betas: [f64; 2],
    /// AdamW ε.
    pub eps: f64,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Seed of the image order and the prompts.
    pub seed: u64,
    /// Box jitter, pixels (`box` mode).
    pub jitter_px: u32,
    /// The loss.
    pub loss: String,
    /// What learned.
    pub trainable: Vec<String>,
    /// Number of trained parameters.
    pub trainable_parameters: usize,
    /// Seconds of training (encoder pass and validation included), all sessions.
    pub seconds: f64,
    /// Where it ran (`cpu (2 threads)`).
    pub device: String,
}

/// One dataset used for training or validation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DataRecord {
    /// Name in tables.
    pub name: String,
    /// Layout.
    pub layout: String,
    /// Folder (absolute).
    pub dir: PathBuf,
    /// Images used.
    pub images: usize,
}

/// `MODEL_DIR/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: String,
    /// The model's id where models are listed (e.g. `lite_medsam+vessels`).
    pub name: String,
    /// The base model whose encoder makes the embeddings.
    pub base_model: String,
    /// sha256 of the base checkpoint (the encoder weights the decoder was trained on).
    pub base_weights_sha256: String,
    /// The decoder file, relative to the folder.
    pub decoder: String,
    /// Its sha256.
    pub decoder_sha256: String,
    /// Its format (`sam::export::FORMAT_VERSION`).
    pub decoder_format: String,
    /// samscope version that wrote it.
    pub samscope: String,
    /// Training settings.
    pub training: TrainingRecord,
    /// Training data.
    pub train_data: DataRecord,
    /// Validation data.
    pub val_data: Vec<DataRecord>,
    /// Before/after scores per validation set.
    pub metrics: Vec<TableRow>,
    /// Per-epoch loss and validation scores (epoch 0 = zero-shot).
    pub history: Vec<EpochRecord>,
}

/// Checks a model name: 1–64 of `a–z 0–9 _ . + -` (safe in URLs and share links), and not a
/// base model's id.
pub fn check_name(name: &str) -> Result<(), FinetuneError> {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.+-".contains(&b));
    if name.is_empty() || name.len() > 64 || !ok_chars {
        return Err(FinetuneError::option(
            "--name",
            format!("`{name}`; use 1–64 lower-case letters, digits, `_`, `.`, `+` or `-`"),
        ));
    }
    if name.parse::<ModelId>().is_ok() {
        return Err(FinetuneError::option(
            "--name",
            format!("`{name}` is a base model's id; pick another (e.g. `{name}+vessels`)"),
        ));
    }
    Ok(())
}

/// A fine-tuned model folder, opened and checked.
#[derive(Debug, Clone)]
pub struct FinetunedModel {
    /// The folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: ModelManifest,
    /// The base model.
    pub base: ModelId,
    /// The decoder file's bytes (sha256 checked).
    pub decoder_bytes: Vec<u8>,
}

impl FinetunedModel {
    /// Opens `path`: a model folder or its `manifest.json`.
    pub fn open(path: &Path) -> Result<Self, FinetuneError> {
        let dir = if path.is_file() {
            path.parent().unwrap_or(Path::new(".")).to_path_buf()
        } else {
            path.to_path_buf()
        };
        let manifest_path = dir.join(MANIFEST_FILE);
        let bytes = std::fs::read(&manifest_path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                FinetuneError::output(
                    &manifest_path,
                    "missing: not a finished `samscope finetune` model folder (training not done? run it again with --resume)",
                )
            } else {
                FinetuneError::io(&manifest_path, e)
            }
        })?;
        let manifest: ModelManifest = serde_json::from_slice(&bytes).map_err(|e| {
            FinetuneError::output(
                &manifest_path,
                format!("not a samscope model manifest: {e}"),
            )
        })?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(FinetuneError::output(
                &manifest_path,
                format!(
                    "format `{}`; this samscope reads `{MANIFEST_FORMAT}`",
                    manifest.format
                ),
            ));
        }
        check_name(&manifest.name)
            .map_err(|e| FinetuneError::output(&manifest_path, e.to_string()))?;
        let base: ModelId = manifest.base_model.parse().map_err(|_| {
            FinetuneError::output(
                &manifest_path,
                format!("unknown base model `{}`", manifest.base_model),
            )
        })?;
        let decoder_path = dir.join(&manifest.decoder);
        let decoder_bytes =
            std::fs::read(&decoder_path).map_err(|e| FinetuneError::io(&decoder_path, e))?;
        let digest = format!("{:x}", Sha256::digest(&decoder_bytes));
        if digest != manifest.decoder_sha256 {
            return Err(FinetuneError::output(
                &decoder_path,
                format!(
                    "sha256 {digest} does not match the manifest's {} (damaged or replaced file)",
                    manifest.decoder_sha256
                ),
            ));
        }
        Ok(Self {
            dir,
            manifest,
            base,
            decoder_bytes,
        })
    }

    /// The model's name (e.g. `lite_medsam+vessels`).
    pub fn name(&self) -> &str {
        &self.manifest.name
    }

    /// The decoder for `config` (the base model's) on `device`.
    pub fn decoder(
        &self,
        config: &ModelConfig,
        device: &Device,
    ) -> Result<SamDecoder, FinetuneError> {
        if config.id != self.base {
            return Err(FinetuneError::output(
                &self.dir,
                format!(
                    "`{}` was fine-tuned from `{}`, not `{}`; run it with --model {}",
                    self.name(),
                    self.base,
                    config.id,
                    self.base
                ),
            ));
        }
        load_decoder(config, self.decoder_bytes.clone(), device).map_err(|e| {
            FinetuneError::model(
                self.dir.join(&self.manifest.decoder).display().to_string(),
                e,
            )
        })
    }

    /// Fails unless the base checkpoint has the sha256 the decoder was trained on.
    pub fn check_base_weights(&self, sha256: &str) -> Result<(), FinetuneError> {
        if sha256 == self.manifest.base_weights_sha256 {
            Ok(())
        } else {
            Err(FinetuneError::output(
                &self.dir,
                format!(
                    "`{}` was trained on embeddings of the checkpoint with sha256 {}, but the loaded checkpoint is {sha256}; pass that checkpoint with --checkpoint",
                    self.name(),
                    self.manifest.base_weights_sha256
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("lite_medsam+vessels").is_ok());
        assert!(check_name("lite_medsam").is_err());
        assert!(check_name("a/b").is_err());
        assert!(check_name("Lite+x").is_err());
        assert!(check_name("").is_err());
    }
}
