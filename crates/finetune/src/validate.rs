//! Validation: a decoder's Dice and IoU on a dataset, scored by the evaluator (the same
//! protocols and metrics as `samscope eval`), from the cached embeddings.

use burn::prelude::*;
use eval::metrics::Spacing;
use eval::{InstanceMode, ProtocolOptions};
use sam::{ModelConfig, SamDecoder, SamPredictor};
use serde::{Deserialize, Serialize};
use study::EvalOptions;
use study::cache::EmbeddingCache;
use study::evaluate::evaluate_image;

use crate::data::{Dataset, embedding};
use crate::error::FinetuneError;
use crate::prompts::Mode;

/// Mean scores of one decoder on one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetScores {
    /// Dataset name.
    pub name: String,
    /// Images scored.
    pub images: usize,
    /// Mean Dice.
    pub dice: f64,
    /// Mean IoU.
    pub iou: f64,
}

/// Scores `decoder` (any device; it is used without autodiff) on every image of `set`,
/// prompted as `mode` validates.
pub fn score(
    decoder: &SamDecoder,
    config: &ModelConfig,
    device: &Device,
    cache: &EmbeddingCache,
    set: &Dataset,
    mode: Mode,
    class: &str,
) -> Result<SetScores, FinetuneError> {
    let predictor = SamPredictor::decoder_only(config.clone(), decoder.valid(), device.clone());
    let options = EvalOptions {
        protocols: vec![mode.protocol()],
        instances: InstanceMode::Class,
        prompt: ProtocolOptions::default(),
        nsd_tolerance_mm: 2.0,
    };
    let (mut dice, mut iou, mut n) = (0.0, 0.0, 0usize);
    for item in &set.items {
        if item.pixels.is_empty() && mode != Mode::Promptless {
            // Nothing to prompt with; the evaluator skips such images too.
            continue;
        }
        let embedding = embedding(cache, config, item, device)?;
        let truth = item.ground_truth(class);
        let scores = evaluate_image(
            &predictor,
            &embedding,
            &item.id,
            &truth,
            Spacing::UNKNOWN,
            &options,
        )?;
        for r in &scores.results {
            dice += r.dice;
            iou += r.iou;
            n += 1;
        }
    }
    let mean = |v: f64| if n == 0 { 0.0 } else { v / n as f64 };
    Ok(SetScores {
        name: set.name.clone(),
        images: n,
        dice: mean(dice),
        iou: mean(iou),
    })
}

/// Loss and validation scores of one epoch (epoch 0: the zero-shot decoder, no loss).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0 for zero-shot, then 1, 2, …
    pub epoch: usize,
    /// Mean training loss over the epoch's steps.
    pub train_loss: Option<f64>,
    /// Scores on every validation set.
    pub val: Vec<SetScores>,
    /// Seconds the epoch took (training and validation).
    pub seconds: f64,
}
