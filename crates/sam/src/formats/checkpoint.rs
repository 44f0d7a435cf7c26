//! Strict loading of official PyTorch checkpoints (`.pth`) through burn-store.
//!
//! The official parameter names are kept as module paths, except for `nn.Sequential`
//! children whose numeric indices skip the parameter-free layers; those are renamed to
//! named fields here, explicitly, instead of burn-store's automatic renumbering.
//! Every tensor the model expects must be present with the right shape, and every tensor
//! in the file must be used — except BatchNorm's `num_batches_tracked` counters, which
//! inference never reads.

use std::path::{Path, PathBuf};

use burn::prelude::*;
use burn::store::{ApplyError, KeyRemapper, ModuleSnapshot, PytorchStore};

use burn::module::Module;

use crate::build_sam::{ModelConfig, ModelId};
use crate::error::SamError;
use crate::sam::{ImageEncoder, Sam};

/// File name of the default model (LiteMedSAM) inside [`data_dir`].
pub const DEFAULT_CHECKPOINT: &str = "lite_medsam.pth";

/// Where samscope keeps its data: `$SAMSCOPE_HOME`, else `~/.cache/samscope`.
pub fn data_dir() -> PathBuf {
    std::env::var_os("SAMSCOPE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            home.join(".cache/samscope")
        })
}

/// Where `scripts/fetch-model.sh` stores the default model.
pub fn default_checkpoint_path() -> PathBuf {
    data_dir().join(DEFAULT_CHECKPOINT)
}

/// Official parameter-name prefixes (left) and the module paths they load into (right):
/// `nn.Sequential` children whose indices skip parameter-free layers get named fields.
pub const RENAMED_PREFIXES: &[(&str, &str)] = &[
    (
        "image_encoder.patch_embed.seq.0.",
        "image_encoder.patch_embed.conv1.",
    ),
    (
        "image_encoder.patch_embed.seq.2.",
        "image_encoder.patch_embed.conv2.",
    ),
    ("image_encoder.neck.0.", "image_encoder.neck.conv1."),
    ("image_encoder.neck.1.", "image_encoder.neck.norm1."),
    ("image_encoder.neck.2.", "image_encoder.neck.conv2."),
    ("image_encoder.neck.3.", "image_encoder.neck.norm2."),
    (
        "prompt_encoder.mask_downscaling.0.",
        "prompt_encoder.mask_downscaling.conv1.",
    ),
    (
        "prompt_encoder.mask_downscaling.1.",
        "prompt_encoder.mask_downscaling.norm1.",
    ),
    (
        "prompt_encoder.mask_downscaling.3.",
        "prompt_encoder.mask_downscaling.conv2.",
    ),
    (
        "prompt_encoder.mask_downscaling.4.",
        "prompt_encoder.mask_downscaling.norm2.",
    ),
    (
        "prompt_encoder.mask_downscaling.6.",
        "prompt_encoder.mask_downscaling.conv3.",
    ),
    (
        "mask_decoder.output_upscaling.0.",
        "mask_decoder.output_upscaling.conv_t1.",
    ),
    (
        "mask_decoder.output_upscaling.1.",
        "mask_decoder.output_upscaling.norm.",
    ),
    (
        "mask_decoder.output_upscaling.3.",
        "mask_decoder.output_upscaling.conv_t2.",
    ),
];

/// The official checkpoint name of a module path of this crate (inverse of the renames).
pub fn official_name(path: &str) -> String {
    RENAMED_PREFIXES
        .iter()
        .find_map(|(official, ours)| {
            path.strip_prefix(ours)
                .map(|rest| format!("{official}{rest}"))
        })
        .unwrap_or_else(|| path.to_string())
}

/// Keys present in official checkpoints that inference does not use.
fn is_ignorable(key: &str) -> bool {
    key.ends_with(".num_batches_tracked")
}

fn remapper() -> KeyRemapper {
    // Checkpoints saved as {"model": state_dict} or {"state_dict": …} are unwrapped first.
    let unwrap = KeyRemapper::new()
        .add_pattern(
            r"^(?:model|state_dict)\.(image_encoder|prompt_encoder|mask_decoder)\.",
            "$1.",
        )
        .expect("valid pattern");
    RENAMED_PREFIXES
        .iter()
        .fold(unwrap, |remapper, (official, ours)| {
            remapper
                .add_pattern(format!("^{}", regex_escape(official)), *ours)
                .expect("the renamed prefixes are valid patterns")
        })
}

fn regex_escape(text: &str) -> String {
    text.replace('.', "\\.")
}

/// Builds the model of `config` and fills it from the `.pth` at `path`, strictly.
pub fn load_pth(config: &ModelConfig, path: &Path, device: &Device) -> Result<Sam, SamError> {
    let mut sam = config.init(device);
    load_strict(&mut sam, config.id, path)?;
    Ok(sam)
}

/// Only the image encoder, from a checkpoint holding only `image_encoder.*` tensors.
#[derive(Module, Debug)]
struct EncoderOnly {
    image_encoder: ImageEncoder,
}

/// Builds the image encoder of `config` and fills it, strictly, from a `.pth` that holds
/// exactly the `image_encoder.*` tensors (e.g. an encoder saved on its own).
pub fn load_encoder_pth(
    config: &ModelConfig,
    path: &Path,
    device: &Device,
) -> Result<ImageEncoder, SamError> {
    let mut module = EncoderOnly {
        image_encoder: config.encoder.init(device),
    };
    load_strict(&mut module, config.id, path)?;
    Ok(module.image_encoder)
}

fn load_strict<M: ModuleSnapshot>(
    module: &mut M,
    model: ModelId,
    path: &Path,
) -> Result<(), SamError> {
    if !path.is_file() {
        return Err(SamError::CheckpointUnreadable(format!(
            "{} does not exist or is not a file",
            path.display()
        )));
    }
    let mut store = PytorchStore::from_file(path)
        .remap(remapper())
        .map_indices_contiguous(false)
        .allow_partial(true)
        .validate(false);
    let result = module
        .load_from(&mut store)
        .map_err(|e| SamError::CheckpointUnreadable(format!("{}: {e}", path.display())))?;
    let unexpected: Vec<String> = result
        .unused
        .iter()
        .filter(|k| !is_ignorable(k))
        .map(|k| official_name(k))
        .collect();
    let missing: Vec<String> = result
        .missing
        .iter()
        .map(|(p, _)| official_name(p))
        .collect();
    let misshaped: Vec<String> = result.errors.iter().map(describe).collect();
    let mut detail = String::new();
    list_section(&mut detail, "unexpected tensor", &unexpected);
    list_section(&mut detail, "mis-shaped tensor", &misshaped);
    list_section(&mut detail, "missing tensor", &missing);
    if result.applied.is_empty() && detail.is_empty() {
        detail.push_str("  the file holds no tensors\n");
    }
    if detail.is_empty() {
        Ok(())
    } else {
        Err(SamError::CheckpointMismatch {
            model,
            detail: detail.trim_end().to_string(),
        })
    }
}

/// One load error, with the official tensor name.
fn describe(error: &ApplyError) -> String {
    match error {
        ApplyError::ShapeMismatch {
            path,
            expected,
            found,
        } => format!(
            "{}: the model expects shape {:?}, the file has {:?}",
            official_name(path),
            expected.as_slice(),
            found.as_slice()
        ),
        ApplyError::DTypeMismatch {
            path,
            expected,
            found,
        } => format!(
            "{}: the model expects {expected:?}, the file has {found:?}",
            official_name(path)
        ),
        ApplyError::AdapterError { path, message } | ApplyError::LoadError { path, message } => {
            format!("{}: {message}", official_name(path))
        }
    }
}

/// Appends up to ten `  {what}: {item}` lines, then a count of the rest.
fn list_section(out: &mut String, what: &str, items: &[String]) {
    const SHOWN: usize = 10;
    for item in items.iter().take(SHOWN) {
        out.push_str(&format!("  {what}: {item}\n"));
    }
    if items.len() > SHOWN {
        out.push_str(&format!("  … and {} more {what}s\n", items.len() - SHOWN));
    }
}
