//! Strict loading of official PyTorch checkpoints (`.pth`) through burn-store.
//!
//! The official parameter names are kept as module paths, except for `nn.Sequential`
//! children whose numeric indices skip the parameter-free layers; those are renamed to
//! named fields here, explicitly, instead of burn-store's automatic renumbering.
//! Every tensor the model expects must be present with the right shape, and every tensor
//! in the file must be used — except BatchNorm's `num_batches_tracked` counters, which
//! inference never reads.

use std::path::Path;

use burn::prelude::*;
use burn::store::{KeyRemapper, ModuleSnapshot, PytorchStore};

use crate::build_sam::ModelConfig;
use crate::error::SamError;
use crate::sam::Sam;

/// `(pattern, replacement)` pairs mapping official keys onto this crate's module paths.
pub const KEY_REMAPS: &[(&str, &str)] = &[
    // Checkpoints saved as {"model": state_dict} or {"state_dict": …}.
    (r"^(?:model|state_dict)\.(image_encoder|prompt_encoder|mask_decoder)\.", "$1."),
    (r"^image_encoder\.patch_embed\.seq\.0\.", "image_encoder.patch_embed.conv1."),
    (r"^image_encoder\.patch_embed\.seq\.2\.", "image_encoder.patch_embed.conv2."),
    (r"^image_encoder\.neck\.0\.", "image_encoder.neck.conv1."),
    (r"^image_encoder\.neck\.1\.", "image_encoder.neck.norm1."),
    (r"^image_encoder\.neck\.2\.", "image_encoder.neck.conv2."),
    (r"^image_encoder\.neck\.3\.", "image_encoder.neck.norm2."),
    (r"^prompt_encoder\.mask_downscaling\.0\.", "prompt_encoder.mask_downscaling.conv1."),
    (r"^prompt_encoder\.mask_downscaling\.1\.", "prompt_encoder.mask_downscaling.norm1."),
    (r"^prompt_encoder\.mask_downscaling\.3\.", "prompt_encoder.mask_downscaling.conv2."),
    (r"^prompt_encoder\.mask_downscaling\.4\.", "prompt_encoder.mask_downscaling.norm2."),
    (r"^prompt_encoder\.mask_downscaling\.6\.", "prompt_encoder.mask_downscaling.conv3."),
    (r"^mask_decoder\.output_upscaling\.0\.", "mask_decoder.output_upscaling.conv_t1."),
    (r"^mask_decoder\.output_upscaling\.1\.", "mask_decoder.output_upscaling.norm."),
    (r"^mask_decoder\.output_upscaling\.3\.", "mask_decoder.output_upscaling.conv_t2."),
];

/// Keys present in official checkpoints that inference does not use.
fn is_ignorable(key: &str) -> bool {
    key.ends_with(".num_batches_tracked")
}

fn remapper() -> KeyRemapper {
    KEY_REMAPS
        .iter()
        .fold(KeyRemapper::new(), |remapper, (from, to)| {
            remapper
                .add_pattern(*from, *to)
                .expect("the remap patterns are valid regular expressions")
        })
}

/// Builds the model of `config` and fills it from the `.pth` at `path`, strictly.
pub fn load_pth(config: &ModelConfig, path: &Path, device: &Device) -> Result<Sam, SamError> {
    if !path.is_file() {
        return Err(SamError::CheckpointUnreadable(format!(
            "{} does not exist or is not a file",
            path.display()
        )));
    }
    let mut sam = config.init(device);
    let mut store = PytorchStore::from_file(path)
        .remap(remapper())
        .map_indices_contiguous(false)
        .allow_partial(true)
        .validate(false);
    let result = sam
        .load_from(&mut store)
        .map_err(|e| SamError::CheckpointUnreadable(format!("{}: {e}", path.display())))?;

    let unexpected: Vec<String> = result
        .unused
        .iter()
        .filter(|k| !is_ignorable(k))
        .cloned()
        .collect();
    let missing: Vec<String> = result.missing.iter().map(|(p, _)| p.clone()).collect();
    let misshaped: Vec<String> = result.errors.iter().map(|e| format!("{e:?}")).collect();
    let mut detail = String::new();
    list_section(&mut detail, "unexpected tensor", &unexpected);
    list_section(&mut detail, "mis-shaped tensor", &misshaped);
    list_section(&mut detail, "missing tensor", &missing);
    if result.applied.is_empty() && detail.is_empty() {
        detail.push_str("  the file holds no tensors\n");
    }
    if !detail.is_empty() {
        return Err(SamError::CheckpointMismatch {
            model: config.id,
            detail: detail.trim_end().to_string(),
        });
    }
    Ok(sam)
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
