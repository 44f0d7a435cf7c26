//! Per-epoch checkpoints, so that `--resume` continues where a run stopped:
//!
//! ```text
//! OUT/checkpoints/epoch-NNN/decoder.safetensors  the decoder after epoch NNN (f32, sam::export)
//! OUT/checkpoints/epoch-NNN/optimizer.bpk        AdamW moments (burnpack, keyed by parameter path)
//! OUT/checkpoints/epoch-NNN/state.json           epochs done, steps, seconds, history
//! ```
//!
//! A checkpoint is written to `epoch-NNN.partial` and renamed when complete; the previous
//! one is then removed (one checkpoint is kept: the decoder alone is 16 MB, its optimizer
//! state twice that).

use std::path::{Path, PathBuf};

use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use sam::export::{ExportDtype, export_decoder, load_decoder};
use sam::{ModelConfig, SamDecoder};
use serde::{Deserialize, Serialize};

use crate::error::FinetuneError;
use crate::validate::EpochRecord;

const DECODER: &str = "decoder.safetensors";
const OPTIMIZER: &str = "optimizer.bpk";
const STATE: &str = "state.json";

/// What a run has done so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Epochs finished.
    pub epochs_done: usize,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Seconds spent, all sessions.
    pub seconds: f64,
    /// Epoch 0 (zero-shot) and every finished epoch.
    pub history: Vec<EpochRecord>,
}

/// A checkpoint read back.
#[derive(Debug)]
pub struct Loaded {
    /// The decoder, on the plain (non-autodiff) device.
    pub decoder: SamDecoder,
    /// The optimizer state file.
    pub optimizer: PathBuf,
    /// The run's state.
    pub state: TrainState,
}

fn checkpoints(out: &Path) -> PathBuf {
    out.join("checkpoints")
}

/// The newest complete checkpoint folder in `out`, if any.
pub fn latest(out: &Path) -> Result<Option<PathBuf>, FinetuneError> {
    let dir = checkpoints(out);
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut best: Option<(usize, PathBuf)> = None;
    for entry in std::fs::read_dir(&dir).map_err(|e| FinetuneError::io(&dir, e))? {
        let path = entry.map_err(|e| FinetuneError::io(&dir, e))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some(epoch) = name
            .strip_prefix("epoch-")
            .and_then(|n| n.parse::<usize>().ok())
        else {
            continue;
        };
        if path.join(STATE).is_file() && best.as_ref().is_none_or(|(e, _)| epoch > *e) {
            best = Some((epoch, path));
        }
    }
    Ok(best.map(|(_, p)| p))
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), FinetuneError> {
    runfolder::write_atomic(path, bytes).map_err(|e| FinetuneError::io(path, e))
}

/// Writes the checkpoint of `state.epochs_done` and removes older ones.
pub fn save(
    out: &Path,
    config: &ModelConfig,
    decoder: &SamDecoder,
    optimizer: &ModuleOptimizer,
    state: &TrainState,
) -> Result<PathBuf, FinetuneError> {
    let root = checkpoints(out);
    let name = format!("epoch-{:03}", state.epochs_done);
    let partial = root.join(format!("{name}.partial"));
    let done = root.join(&name);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(|e| FinetuneError::io(&partial, e))?;
    }
    std::fs::create_dir_all(&partial).map_err(|e| FinetuneError::io(&partial, e))?;
    let bytes = export_decoder(config, &decoder.valid(), ExportDtype::F32)
        .map_err(|e| FinetuneError::model("saving the checkpoint's decoder", e))?;
    write(&partial.join(DECODER), &bytes)?;
    let optimizer_path = partial.join(OPTIMIZER);
    optimizer.save(&optimizer_path).map_err(|e| {
        FinetuneError::output(
            &optimizer_path,
            format!("saving the optimizer state: {e:?}"),
        )
    })?;
    // Burn's recorder does not sync: the checkpoint is complete on disk before it is renamed.
    runfolder::sync_file(&optimizer_path).map_err(|e| FinetuneError::io(&optimizer_path, e))?;
    let text = serde_json::to_string_pretty(state).expect("state serialises");
    write(&partial.join(STATE), text.as_bytes())?;
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(|e| FinetuneError::io(&done, e))?;
    }
    std::fs::rename(&partial, &done).map_err(|e| FinetuneError::io(&done, e))?;
    runfolder::sync_folder(&root);
    for entry in std::fs::read_dir(&root).map_err(|e| FinetuneError::io(&root, e))? {
        let path = entry.map_err(|e| FinetuneError::io(&root, e))?.path();
        if path != done && path.is_dir() {
            std::fs::remove_dir_all(&path).map_err(|e| FinetuneError::io(&path, e))?;
        }
    }
    Ok(done)
}

/// Reads the checkpoint in `dir` (from [`latest`]) for a model of `config` on `device`.
pub fn load(dir: &Path, config: &ModelConfig, device: &Device) -> Result<Loaded, FinetuneError> {
    let state_path = dir.join(STATE);
    let text = std::fs::read(&state_path).map_err(|e| FinetuneError::io(&state_path, e))?;
    let state: TrainState = serde_json::from_slice(&text)
        .map_err(|e| FinetuneError::output(&state_path, format!("not a checkpoint state: {e}")))?;
    let decoder_path = dir.join(DECODER);
    let bytes = std::fs::read(&decoder_path).map_err(|e| FinetuneError::io(&decoder_path, e))?;
    let decoder = load_decoder(config, bytes, device)
        .map_err(|e| FinetuneError::model(decoder_path.display().to_string(), e))?;
    Ok(Loaded {
        decoder,
        optimizer: dir.join(OPTIMIZER),
        state,
    })
}
