//! `samscope finetune` (mask-decoder fine-tuning with a frozen encoder, the paper's vessel
//! experiment) and `samscope synth-vessels` (a synthetic DRIVE-layout dataset).

use std::path::{Path, PathBuf};

use eval::Layout;
use finetune::synth::SynthConfig;
use finetune::synth_dataset::{SynthDataset, write_drive_layout};
use finetune::{DataSpec, FinetuneConfig, FinetunedModel, Mode, Schedule, Target};
use sam::SamPredictor;

use crate::error::CliError;
use crate::model::{ModelArgs, Resolved};

/// Arguments of `samscope finetune`.
#[derive(Debug, clap::Args)]
pub struct FinetuneArgs {
    /// The training dataset folder. A DRIVE-style folder trains on `training/` and validates
    /// on `test/`.
    #[arg(long)]
    pub data: PathBuf,
    /// Its layout (as for `samscope eval`: drive, stare, chase, hrf, generic, …).
    #[arg(long)]
    pub layout: String,
    /// A validation dataset, `[LAYOUT=]DIR` (layout defaults to --layout); repeat for several
    /// (e.g. `--val chase=/data/CHASE_DB1 --val hrf=/data/HRF`).
    #[arg(long = "val", value_name = "[LAYOUT=]DIR")]
    pub val: Vec<String>,
    /// Learn one class (by name) instead of every labelled pixel (`all`).
    #[arg(long, default_value = "all")]
    pub class: String,
    /// Prompts while training: promptless (the paper's), box or point.
    #[arg(long, default_value = "promptless")]
    pub mode: String,
    /// Passes over the training images.
    #[arg(long, default_value_t = 20)]
    pub epochs: usize,
    /// Learning rate (the peak of --schedule).
    #[arg(long, default_value_t = 1e-4)]
    pub lr: f64,
    /// Learning-rate schedule: constant (the paper's) or cosine (down to 0 at the end).
    #[arg(long, default_value = "constant")]
    pub schedule: String,
    /// Images per optimizer step.
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
    /// Optimizer (adamw).
    #[arg(long, default_value = "adamw")]
    pub optimizer: String,
    /// AdamW's decoupled weight decay (PyTorch's default 0.01).
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Seed of the image order and of the training prompts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Largest outward move of a training box side, pixels (box mode).
    #[arg(long, default_value_t = 5)]
    pub jitter: u32,
    /// Train on the first N training images only.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Validate on the first N images of each validation set only.
    #[arg(long, value_name = "N")]
    pub val_limit: Option<usize>,
    /// The fine-tuned model's name (default `<model>+vessels` for vessel layouts).
    #[arg(long)]
    pub name: Option<String>,
    /// Output model folder (decoder, manifest, table, checkpoints).
    #[arg(long)]
    pub out: PathBuf,
    /// Embedding cache folder, shareable with `samscope eval --cache` (default: OUT/cache).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint (--epochs may grow).
    #[arg(long)]
    pub resume: bool,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Arguments of `samscope synth-vessels`.
#[derive(Debug, clap::Args)]
pub struct SynthVesselsArgs {
    /// Output folder (new or empty), written in the DRIVE layout.
    #[arg(long)]
    pub out: PathBuf,
    /// Images in `training/`.
    #[arg(long, default_value_t = 20)]
    pub count: usize,
    /// Images in `test/` (default: as many as --count).
    #[arg(long, value_name = "N")]
    pub test_count: Option<usize>,
    /// Seed; the same seed writes the same files.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Image size WIDTHxHEIGHT (DRIVE's is 565x584).
    #[arg(long, default_value = "565x584")]
    pub size: String,
}

fn parse_size(text: &str) -> Result<SynthConfig, CliError> {
    let bad = || {
        CliError::arg(
            "--size",
            format!("`{text}`; use WIDTHxHEIGHT, e.g. 565x584"),
        )
    };
    let (w, h) = text.split_once(['x', 'X']).ok_or_else(bad)?;
    let (width, height) = (
        w.trim().parse::<usize>().map_err(|_| bad())?,
        h.trim().parse::<usize>().map_err(|_| bad())?,
    );
    if !(16..=8192).contains(&width) || !(16..=8192).contains(&height) {
        return Err(CliError::arg("--size", "each side must be 16–8192 pixels"));
    }
    Ok(SynthConfig { width, height })
}

/// Runs `samscope synth-vessels`.
pub fn run_synth(args: &SynthVesselsArgs) -> Result<(), CliError> {
    let spec = SynthDataset {
        size: parse_size(&args.size)?,
        training: args.count,
        test: args.test_count.unwrap_or(args.count),
        seed: args.seed,
    };
    let files = write_drive_layout(&args.out, &spec)?;
    println!(
        "wrote {} images ({} training, {} test, {}x{}, seed {}) to {} (layout drive)",
        files.len(),
        spec.training,
        spec.test,
        spec.size.width,
        spec.size.height,
        spec.seed,
        args.out.display()
    );
    Ok(())
}

/// A predictor running the base model of `resolved` with `model`'s fine-tuned decoder.
pub fn finetuned_predictor(
    args: &ModelArgs,
    resolved: Resolved,
    model: &FinetunedModel,
) -> Result<SamPredictor, CliError> {
    let device = args.device.device()?;
    let sam = sam::checkpoint::load_pth(&resolved.config, &resolved.path, &device)
        .map_err(|e| CliError::model(resolved.path.display().to_string(), e))?;
    let (encoder, _) = sam.split();
    let decoder = model.decoder(&resolved.config, &device)?;
    Ok(SamPredictor::new(resolved.config, encoder, decoder, device).with_precision(args.precision))
}

/// Opens `--finetuned DIR` and checks it against the base model being loaded.
pub fn open_finetuned(dir: &Path, resolved: &Resolved) -> Result<FinetunedModel, CliError> {
    let model = FinetunedModel::open(dir)?;
    if model.base != resolved.config.id {
        return Err(CliError::arg(
            "--finetuned",
            format!(
                "{}: `{}` was fine-tuned from `{}`; add --model {} (and its --checkpoint)",
                dir.display(),
                model.name(),
                model.base,
                model.base
            ),
        ));
    }
    model.check_base_weights(&resolved.sha256)?;
    Ok(model)
}

fn device_label(args: &ModelArgs) -> String {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let device = format!("{:?}", args.device).to_lowercase();
    format!("{device} ({threads} threads)")
}

/// Runs `samscope finetune`.
pub fn run(args: &FinetuneArgs) -> Result<(), CliError> {
    let layout: Layout = args.layout.parse()?;
    let mut config = FinetuneConfig {
        train: DataSpec {
            layout,
            root: args.data.clone(),
        },
        val: args
            .val
            .iter()
            .map(|v| DataSpec::parse(v, layout))
            .collect::<Result<_, _>>()?,
        target: args.class.parse::<Target>()?,
        mode: args.mode.parse::<Mode>()?,
        epochs: args.epochs,
        lr: args.lr,
        schedule: args.schedule.parse::<Schedule>()?,
        batch: args.batch,
        optimizer: args.optimizer.clone(),
        weight_decay: args.weight_decay,
        seed: args.seed,
        jitter_px: args.jitter,
        limit: args.limit,
        val_limit: args.val_limit,
        name: args.name.clone(),
        out: args.out.clone(),
        cache: args.cache.clone(),
        resume: args.resume,
        progress: !args.quiet,
        base_weights_sha256: String::new(),
        device_label: device_label(&args.model),
    };
    // Everything that can fail without the model fails first.
    let resolved = args.model.resolve()?;
    config.base_weights_sha256 = resolved.sha256.clone();
    let plan = finetune::plan(&config, resolved.config.id)?;
    let predictor = args.model.load_resolved(resolved)?;
    let outcome = finetune::execute(&plan, &predictor)?;
    let m = &outcome.manifest;
    println!(
        "{}: {} epochs ({} now), {} steps, {:.0} s",
        m.name, m.training.epochs, outcome.epochs_trained, m.training.steps, m.training.seconds
    );
    for row in &m.metrics {
        println!(
            "{}: Dice {:.4} → {:.4}, IoU {:.4} → {:.4} ({} images)",
            row.dataset, row.dice_before, row.dice_after, row.iou_before, row.iou_after, row.images
        );
    }
    for file in &outcome.files {
        println!("wrote {}", file.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(
            parse_size("565x584").unwrap(),
            SynthConfig {
                width: 565,
                height: 584
            }
        );
        assert!(parse_size("565").is_err());
        assert!(parse_size("8x8").is_err());
    }
}
