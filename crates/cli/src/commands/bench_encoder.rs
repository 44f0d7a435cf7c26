//! `samscope bench-encoder`: time the image encoder per image on a device and precision.
//!
//! Timings do not depend on weight values, so `--random-weights` lets ViT-B/H be timed
//! where no official checkpoint is at hand; the JSON says which weights were used.

use std::time::Instant;

use burn::prelude::*;
use sam::SamPredictor;
use serde::Serialize;

use crate::error::CliError;
use crate::model::ModelArgs;

/// Arguments of `samscope bench-encoder`.
#[derive(Debug, clap::Args)]
pub struct BenchEncoderArgs {
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Untimed runs first (kernel compilation, autotuning, caches).
    #[arg(long, default_value_t = 3)]
    pub warmup: usize,
    /// Use freshly initialised weights instead of a checkpoint (timing only).
    #[arg(long)]
    pub random_weights: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

#[derive(Debug, Serialize)]
struct Report {
    model: String,
    device: String,
    precision: String,
    weights: &'static str,
    input: [usize; 4],
    runs: usize,
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
}

/// Runs the command.
pub fn run(args: &BenchEncoderArgs) -> Result<(), CliError> {
    if args.runs == 0 {
        return Err(CliError::arg("--runs", "must be at least 1"));
    }
    let predictor = if args.random_weights {
        let config = args.model.config()?;
        let device = args.model.device.device()?;
        let (encoder, decoder) = config.init(&device).split();
        SamPredictor::new(config, encoder, decoder, device).with_precision(args.model.precision)
    } else {
        args.model.load()?
    };
    let size = predictor.config().img_size;
    let device = predictor.device().clone();
    let input = Tensor::<4>::random(
        [1, 3, size, size],
        burn::tensor::Distribution::Default,
        &device,
    );
    let once = || -> Result<f64, CliError> {
        let start = Instant::now();
        let embedding = predictor
            .embed_preprocessed(input.clone())
            .map_err(|e| CliError::model("encoder", e))?;
        // Wait for the device: reading back the 1×256×64×64 result ends the timed region.
        let _ = embedding
            .try_into_vec_as::<f32>()
            .map_err(|e| CliError::arg("--device", format!("reading the embedding: {e:?}")))?;
        Ok(start.elapsed().as_secs_f64() * 1e3)
    };
    for _ in 0..args.warmup {
        once()?;
    }
    let mut times = (0..args.runs)
        .map(|_| once())
        .collect::<Result<Vec<_>, _>>()?;
    times.sort_by(f64::total_cmp);
    let report = Report {
        model: predictor.config().id.to_string(),
        device: format!("{:?}", args.model.device).to_lowercase(),
        precision: args.model.precision.to_string(),
        weights: if args.random_weights {
            "random"
        } else {
            "checkpoint"
        },
        input: [1, 3, size, size],
        runs: args.runs,
        median_ms: times[times.len() / 2],
        min_ms: times[0],
        max_ms: times[times.len() - 1],
    };
    println!(
        "{}",
        serde_json::to_string(&report).expect("report serialises")
    );
    Ok(())
}
