//! A whole fine-tuning run: check the options and the data ([`plan`]), then ([`execute`])
//! one encoder pass per scan, the zero-shot validation, and per epoch a seeded pass over the
//! training images (AdamW on BCE + Dice), validation and a checkpoint; finally the decoder,
//! its manifest and the before/after table.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use eval::layouts::Sample;
use eval::rng::SplitMix64;
use eval::{Layout, Protocol};
use runfolder::RunFolder;
use sam::export::{ExportDtype, FORMAT_VERSION, export_decoder};
use sam::transforms::model_prompts;
use sam::{ModelConfig, ModelId, SamDecoder, SamPredictor};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use study::cache::EmbeddingCache;

use crate::checkpoint::{self, TrainState};
use crate::data::{self, DataSpec, Dataset, Item, Target};
use crate::error::FinetuneError;
use crate::manifest::{
    DECODER_FILE, DataRecord, MANIFEST_FILE, MANIFEST_FORMAT, ModelManifest, TrainingRecord,
    check_name,
};
use crate::model::{self, Batch};
use crate::progress::TrainProgress;
use crate::prompts::Mode;
use crate::table;
pub use crate::validate::EpochRecord;
use crate::validate::{self, SetScores};

/// AdamW's β₁, β₂ and ε (PyTorch's defaults).
const BETAS: [f64; 2] = [0.9, 0.999];
const EPSILON: f64 = 1e-8;
/// Version of `run.json`.
const RUN_FORMAT: u32 = 1;

/// Everything `samscope finetune` asks for.
#[derive(Debug, Clone)]
pub struct FinetuneConfig {
    /// Training data.
    pub train: DataSpec,
    /// Extra validation sets (a DRIVE-style `test/` split of the training folder is always
    /// one).
    pub val: Vec<DataSpec>,
    /// What the decoder learns to segment.
    pub target: Target,
    /// Prompt mode.
    pub mode: Mode,
    /// Epochs (a resumed run may ask for more than it first did).
    pub epochs: usize,
    /// Learning rate (the peak of the schedule).
    pub lr: f64,
    /// How the learning rate changes over the run.
    pub schedule: Schedule,
    /// Images per optimizer step.
    pub batch: usize,
    /// `adamw` (the only one).
    pub optimizer: String,
    /// Decoupled weight decay.
    pub weight_decay: f64,
    /// Seed of the image order and the prompts.
    pub seed: u64,
    /// Largest outward move of a training box side, pixels (`box` mode).
    pub jitter_px: u32,
    /// Train on the first N training images only.
    pub limit: Option<usize>,
    /// Validate on the first N images of each validation set only.
    pub val_limit: Option<usize>,
    /// The model's name (default `<base>+vessels` for vessel layouts, else `<base>+<layout>`).
    pub name: Option<String>,
    /// Output folder.
    pub out: PathBuf,
    /// Embedding cache folder (default `OUT/cache`).
    pub cache: Option<PathBuf>,
    /// Continue the run in `out`.
    pub resume: bool,
    /// Draw progress on stderr.
    pub progress: bool,
    /// sha256 of the base checkpoint.
    pub base_weights_sha256: String,
    /// Where it runs, for the manifest (e.g. `cpu (2 threads)`).
    pub device_label: String,
}

/// `OUT/run.json`: the settings a resumed run must share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// [`RUN_FORMAT`].
    pub format: u32,
    /// Model name.
    pub name: String,
    /// Base model id.
    pub base_model: String,
    /// sha256 of its checkpoint.
    pub base_weights_sha256: String,
    /// Prompt mode.
    pub mode: String,
    /// Target class.
    pub target: String,
    /// Learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: String,
    /// Images per step.
    pub batch: usize,
    /// Optimizer.
    pub optimizer: String,
    /// Weight decay.
    pub weight_decay: f64,
    /// Seed.
    pub seed: u64,
    /// Box jitter.
    pub jitter_px: u32,
    /// Training set.
    pub train: DataRecord,
    /// Ids of the training images.
    pub train_images: Vec<String>,
    /// Validation sets.
    pub val: Vec<DataRecord>,
}

/// A checked run, before any model is loaded.
#[derive(Debug, Clone)]
pub struct Plan {
    config: FinetuneConfig,
    name: String,
    train: (String, Vec<Sample>),
    val: Vec<(String, DataSpec, Vec<Sample>)>,
    settings: RunSettings,
}

impl Plan {
    /// The model's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The manifest written to `OUT/manifest.json`.
    pub manifest: ModelManifest,
    /// Epochs trained in this process.
    pub epochs_trained: usize,
    /// Files written.
    pub files: Vec<PathBuf>,
}

fn is_vessel_layout(layout: Layout) -> bool {
    matches!(
        layout,
        Layout::Drive | Layout::Stare | Layout::Chase | Layout::Hrf
    )
}

fn default_name(base: ModelId, config: &FinetuneConfig) -> String {
    let tag = match &config.target {
        Target::Class(class) => class.clone(),
        Target::AllClasses if is_vessel_layout(config.train.layout) => "vessels".into(),
        Target::AllClasses => config.train.layout.to_string(),
    };
    let tag: String = tag
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{base}+{tag}")
}

fn check_options(config: &FinetuneConfig) -> Result<(), FinetuneError> {
    if config.epochs == 0 {
        return Err(FinetuneError::option("--epochs", "must be at least 1"));
    }
    if !(config.lr.is_finite() && config.lr > 0.0) {
        return Err(FinetuneError::option("--lr", "must be a positive number"));
    }
    if config.batch == 0 {
        return Err(FinetuneError::option("--batch", "must be at least 1"));
    }
    if !(config.weight_decay.is_finite() && config.weight_decay >= 0.0) {
        return Err(FinetuneError::option(
            "--weight-decay",
            "must be a non-negative number",
        ));
    }
    if config.optimizer != "adamw" {
        return Err(FinetuneError::option(
            "--optimizer",
            format!("`{}`; samscope trains with adamw", config.optimizer),
        ));
    }
    if config.limit == Some(0) || config.val_limit == Some(0) {
        return Err(FinetuneError::option(
            "--limit",
            "must be at least 1 (or left out)",
        ));
    }
    Ok(())
}

fn record(name: &str, spec: &DataSpec, images: usize) -> DataRecord {
    DataRecord {
        name: name.to_string(),
        layout: spec.layout.to_string(),
        dir: data::absolute(&spec.root),
        images,
    }
}

/// Checks the options, finds the images and checks `OUT`, without loading the model
/// (`base` is the model it will be) or writing anything.
pub fn plan(config: &FinetuneConfig, base: ModelId) -> Result<Plan, FinetuneError> {
    check_options(config)?;
    let name = config
        .name
        .clone()
        .unwrap_or_else(|| default_name(base, config));
    check_name(&name)?;
    let take = |v: Vec<Sample>, limit: Option<usize>| -> Vec<Sample> {
        v.into_iter().take(limit.unwrap_or(usize::MAX)).collect()
    };
    let all = data::discover(&config.train)?;
    let mut val = Vec::new();
    let (train_name, train) = match data::split_training_test(&all) {
        Some((train, test)) => {
            let test_name = data::dataset_name(&config.train, Some("test"));
            val.push((
                test_name,
                config.train.clone(),
                take(test, config.val_limit),
            ));
            (data::dataset_name(&config.train, Some("training")), train)
        }
        None => (data::dataset_name(&config.train, None), all),
    };
    let train = take(train, config.limit);
    for spec in &config.val {
        let samples = take(data::discover(spec)?, config.val_limit);
        let mut name = data::dataset_name(spec, None);
        if val.iter().any(|(n, _, _)| *n == name) {
            name = format!("{name}#{}", val.len() + 1);
        }
        val.push((name, spec.clone(), samples));
    }
    if val.is_empty() {
        return Err(FinetuneError::option(
            "--val",
            "give a validation set ([LAYOUT=]DIR); only DRIVE-style folders bring their own test/ split",
        ));
    }
    let settings = RunSettings {
        format: RUN_FORMAT,
        name: name.clone(),
        base_model: base.to_string(),
        base_weights_sha256: config.base_weights_sha256.clone(),
        mode: config.mode.to_string(),
        target: config.target.as_str().to_string(),
        lr: config.lr,
        schedule: config.schedule.to_string(),
        batch: config.batch,
        optimizer: config.optimizer.clone(),
        weight_decay: config.weight_decay,
        seed: config.seed,
        jitter_px: config.jitter_px,
        train: record(&train_name, &config.train, train.len()),
        train_images: train.iter().map(|s| s.id.clone()).collect(),
        val: val
            .iter()
            .map(|(n, spec, s)| record(n, spec, s.len()))
            .collect(),
    };
    check_out(&config.out, &settings, config.resume)?;
    Ok(Plan {
        config: config.clone(),
        name,
        train: (train_name, train),
        val,
        settings,
    })
}

fn run_json(out: &Path) -> PathBuf {
    out.join("run.json")
}

/// Checks that `out` can take the run: new or empty, or the same run when resuming.
fn check_out(out: &Path, settings: &RunSettings, resume: bool) -> Result<(), FinetuneError> {
    let folder = RunFolder {
        dir: out,
        run: "a fine-tuning run",
        kind: "a fine-tuning folder",
        may_change: " (only --epochs may grow)",
    };
    folder.check(folder.read()?, resume, |bytes| {
        let old: RunSettings = serde_json::from_slice(&bytes).map_err(|e| {
            FinetuneError::output(
                run_json(out),
                format!("not a samscope finetune run.json: {e}"),
            )
        })?;
        let differ: Vec<String> = runfolder::differences(settings, &old, &[])
            .into_iter()
            .map(|d| d.field)
            .collect();
        Ok((!differ.is_empty()).then(|| differ.join(", ")))
    })
}

/// How the learning rate changes over the run (`--schedule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schedule {
    /// The same rate at every step (the paper's).
    Constant,
    /// Half a cosine from the rate down to 0 over all the run's steps.
    Cosine,
}

impl Schedule {
    /// The rate of step `step` (0-based) of `total`, for peak rate `lr`.
    pub fn rate(self, lr: f64, step: usize, total: usize) -> f64 {
        match self {
            Schedule::Constant => lr,
            Schedule::Cosine => {
                let t = step as f64 / total.max(1) as f64;
                lr * 0.5 * (1.0 + (std::f64::consts::PI * t.min(1.0)).cos())
            }
        }
    }
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Schedule::Constant => "constant",
            Schedule::Cosine => "cosine",
        })
    }
}

impl std::str::FromStr for Schedule {
    type Err = FinetuneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "constant" => Ok(Schedule::Constant),
            "cosine" => Ok(Schedule::Cosine),
            other => Err(FinetuneError::option(
                "--schedule",
                format!("`{other}`; use constant or cosine"),
            )),
        }
    }
}

/// A random permutation of `0..n` for `epoch` (Fisher–Yates on the keyed stream).
fn order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut rng = SplitMix64::keyed(seed, &["finetune-order", &epoch.to_string()]);
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v
}

/// The training batch of `items` in `epoch`, on `device`.
fn batch(
    plan: &Plan,
    decoder: &SamDecoder,
    config: &ModelConfig,
    cache: &EmbeddingCache,
    items: &[&Item],
    epoch: usize,
    device: &Device,
) -> Result<Batch, FinetuneError> {
    let c = &plan.config;
    let s = config.low_res_size();
    let mut embeddings = Vec::with_capacity(items.len());
    let mut sparse = Vec::with_capacity(items.len());
    let mut truth = Vec::with_capacity(items.len());
    for item in items {
        embeddings.push(data::embedding_tensor(cache, config, item, device)?);
        truth.push(Tensor::<4>::from_data(
            TensorData::new(item.low_res.clone(), [1, 1, s, s]),
            device,
        ));
        let prompt = c.mode.training_prompt(
            &item.pixels,
            item.original_size,
            c.seed,
            c.jitter_px,
            epoch,
            &item.id,
        );
        if let Some(prompt) = prompt {
            let prompts = model_prompts(
                &prompt.points,
                &prompt.labels,
                prompt.bbox,
                item.original_size,
                item.input_size,
            );
            sparse.push(decoder.prompt_encoder.embed_sparse(&prompts, device));
        }
    }
    let b = items.len();
    let sparse = if sparse.is_empty() {
        Tensor::zeros([b, 0, 256], device)
    } else {
        Tensor::cat(sparse, 0)
    };
    Ok(Batch {
        embeddings: Tensor::cat(embeddings, 0),
        sparse,
        truth: Tensor::cat(truth, 0),
    })
}

/// One line per epoch: loss and validation Dice.
fn epoch_line(record: &EpochRecord, epochs: usize) -> String {
    let scores: Vec<String> = record
        .val
        .iter()
        .map(|s| format!("{} Dice {:.4} IoU {:.4}", s.name, s.dice, s.iou))
        .collect();
    match record.train_loss {
        None => format!("zero-shot: {}", scores.join(" · ")),
        Some(loss) => format!(
            "epoch {}/{epochs}: loss {loss:.4} · {} · {}",
            record.epoch,
            scores.join(" · "),
            runfolder::clock(record.seconds)
        ),
    }
}

/// Validation scores of `decoder` on every set.
fn validate_all(
    plan: &Plan,
    decoder: &SamDecoder,
    config: &ModelConfig,
    device: &Device,
    cache: &EmbeddingCache,
    sets: &[Dataset],
) -> Result<Vec<SetScores>, FinetuneError> {
    sets.iter()
        .map(|set| {
            validate::score(
                decoder,
                config,
                device,
                cache,
                set,
                plan.config.mode,
                plan.config.target.as_str(),
            )
        })
        .collect()
}

/// Runs the plan with `predictor` (the base model: its encoder makes the embeddings, its
/// decoder is the starting point).
pub fn execute(plan: &Plan, predictor: &SamPredictor) -> Result<Outcome, FinetuneError> {
    let started = Instant::now();
    let c = &plan.config;
    let config = predictor.config().clone();
    if config.id.to_string() != plan.settings.base_model {
        return Err(FinetuneError::option(
            "--model",
            format!(
                "the plan is for `{}` but the predictor runs `{}`",
                plan.settings.base_model, config.id
            ),
        ));
    }
    check_out(&c.out, &plan.settings, c.resume)?;
    std::fs::create_dir_all(&c.out).map_err(|e| FinetuneError::io(&c.out, e))?;
    let settings_text = serde_json::to_string_pretty(&plan.settings).expect("settings serialise");
    write_file(&run_json(&c.out), (settings_text + "\n").as_bytes())?;
    let device = predictor.device().clone();
    let cache = EmbeddingCache::new(
        c.cache.as_deref().unwrap_or(&c.out.join("cache")),
        config.id,
        &c.base_weights_sha256,
    );

    // One encoder pass per scan (cached), then the targets.
    let train_items = data::prepare(&plan.train.1, predictor, &cache, &c.target, c.progress)?;
    let train_items: Vec<Item> = train_items
        .into_iter()
        .filter(|i| c.mode == Mode::Promptless || !i.pixels.is_empty())
        .collect();
    if train_items.is_empty() {
        return Err(FinetuneError::option(
            "--data",
            "no training image has target pixels to prompt with",
        ));
    }
    let mut val_sets = Vec::new();
    for (name, spec, samples) in &plan.val {
        val_sets.push(Dataset {
            name: name.clone(),
            spec: spec.clone(),
            items: data::prepare(samples, predictor, &cache, &c.target, c.progress)?,
        });
    }

    let resumed = match checkpoint::latest(&c.out)? {
        Some(dir) if c.resume => Some(checkpoint::load(&dir, &config, &device)?),
        _ => None,
    };
    let (start_decoder, mut state, optimizer_file) = match resumed {
        Some(l) => (l.decoder, l.state, Some(l.optimizer)),
        None => (predictor.decoder().clone(), TrainState::default(), None),
    };
    let steps_per_epoch = train_items.len().div_ceil(c.batch);
    let mut progress = TrainProgress::new(c.epochs, state.epochs_done, steps_per_epoch, c.progress);
    if state.history.is_empty() {
        let t = Instant::now();
        let val = validate_all(plan, &start_decoder, &config, &device, &cache, &val_sets)?;
        let record = EpochRecord {
            epoch: 0,
            train_loss: None,
            val,
            seconds: t.elapsed().as_secs_f64(),
        };
        progress.epoch(&epoch_line(&record, c.epochs));
        state.history.push(record);
    }

    let train_device = device.clone().autodiff();
    let mut decoder = model::trainable(start_decoder);
    let mut optim: ModuleOptimizer = AdamWConfig::new()
        .with_beta_1(BETAS[0] as f32)
        .with_beta_2(BETAS[1] as f32)
        .with_epsilon(EPSILON as f32)
        .with_weight_decay(c.weight_decay as f32)
        .init();
    if let Some(file) = optimizer_file {
        optim = optim.load(&file).map_err(|e| {
            FinetuneError::output(&file, format!("reading the optimizer state: {e:?}"))
        })?;
    }
    let image_pe = decoder.prompt_encoder.dense_pe(&train_device);
    let trained_before = state.epochs_done;
    let total_steps = c.epochs * steps_per_epoch;
    let mut session_seconds = 0.0;
    for epoch in state.epochs_done + 1..=c.epochs {
        let t = Instant::now();
        let (mut loss_sum, mut steps) = (0.0, 0usize);
        let order = order(train_items.len(), c.seed, epoch);
        for chunk in order.chunks(c.batch) {
            let items: Vec<&Item> = chunk.iter().map(|&i| &train_items[i]).collect();
            let b = batch(
                plan,
                &decoder,
                &config,
                &cache,
                &items,
                epoch,
                &train_device,
            )?;
            let logits = model::forward(&decoder, image_pe.clone(), &b);
            let loss = crate::loss::bce_dice(logits, b.truth.clone());
            let value = f64::from(loss.clone().into_scalar::<f32>());
            let grads = GradientsParams::from_grads(loss.backward(), &decoder);
            let lr = c.schedule.rate(c.lr, state.steps + steps, total_steps);
            decoder = optim.step(lr, decoder, grads);
            loss_sum += value;
            steps += 1;
            progress.step(epoch, steps, loss_sum / steps as f64);
        }
        let val = validate_all(plan, &decoder, &config, &device, &cache, &val_sets)?;
        let record = EpochRecord {
            epoch,
            train_loss: Some(loss_sum / steps.max(1) as f64),
            val,
            seconds: t.elapsed().as_secs_f64(),
        };
        progress.epoch(&epoch_line(&record, c.epochs));
        state.history.push(record);
        state.epochs_done = epoch;
        state.steps += steps;
        let now = started.elapsed().as_secs_f64();
        state.seconds += now - session_seconds;
        session_seconds = now;
        checkpoint::save(&c.out, &config, &decoder, &optim, &state)?;
    }
    finish(
        plan,
        &config,
        &decoder,
        state,
        c.epochs - trained_before.min(c.epochs),
    )
}

/// Writes the decoder, the manifest and the table.
fn finish(
    plan: &Plan,
    config: &ModelConfig,
    decoder: &SamDecoder,
    state: TrainState,
    epochs_trained: usize,
) -> Result<Outcome, FinetuneError> {
    let c = &plan.config;
    let bytes = export_decoder(config, &decoder.valid(), ExportDtype::F32)
        .map_err(|e| FinetuneError::model("exporting the fine-tuned decoder", e))?;
    let decoder_path = c.out.join(DECODER_FILE);
    write_file(&decoder_path, &bytes)?;
    let trainable_parameters = model::parameters(decoder)
        .params
        .iter()
        .filter(|p| p.3)
        .map(|p| p.2.iter().product::<usize>())
        .sum();
    let before = state
        .history
        .first()
        .map(|r| r.val.clone())
        .unwrap_or_default();
    let after = state
        .history
        .last()
        .map(|r| r.val.clone())
        .unwrap_or_default();
    let rows = table::rows(&before, &after);
    let manifest = ModelManifest {
        format: MANIFEST_FORMAT.to_string(),
        name: plan.name.clone(),
        base_model: config.id.to_string(),
        base_weights_sha256: c.base_weights_sha256.clone(),
        decoder: DECODER_FILE.to_string(),
        decoder_sha256: format!("{:x}", Sha256::digest(&bytes)),
        decoder_format: FORMAT_VERSION.to_string(),
        samscope: env!("CARGO_PKG_VERSION").to_string(),
        training: TrainingRecord {
            mode: c.mode.to_string(),
            target: c.target.as_str().to_string(),
            epochs: state.epochs_done,
            steps: state.steps,
            lr: c.lr,
            schedule: c.schedule.to_string(),
            batch: c.batch,
            optimizer: c.optimizer.clone(),
            betas: BETAS,
            eps: EPSILON,
            weight_decay: c.weight_decay,
            seed: c.seed,
            jitter_px: c.jitter_px,
            loss: "bce_with_logits + soft dice (smooth 1e-5) on the single-mask low-res logits"
                .into(),
            trainable: vec![
                "mask_decoder.*".into(),
                "prompt_encoder.no_mask_embed".into(),
            ],
            trainable_parameters,
            seconds: state.seconds,
            device: c.device_label.clone(),
        },
        train_data: plan.settings.train.clone(),
        val_data: plan.settings.val.clone(),
        metrics: rows.clone(),
        history: state.history,
    };
    let manifest_path = c.out.join(MANIFEST_FILE);
    let text = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    write_file(&manifest_path, format!("{text}\n").as_bytes())?;
    let mode_note = match c.mode.protocol() {
        Protocol::Promptless => "no prompt".to_string(),
        p => format!("protocol `{p}`"),
    };
    let title = format!(
        "# `{}` vs zero-shot `{}` ({} mode, validated with {mode_note}; {} epochs)",
        plan.name, config.id, c.mode, manifest.training.epochs
    );
    let md_path = c.out.join("table.md");
    write_file(&md_path, table::markdown(&title, &rows).as_bytes())?;
    let json_path = c.out.join("table.json");
    let json = serde_json::json!({
        "model": plan.name,
        "base_model": config.id.as_str(),
        "mode": c.mode.as_str(),
        "epochs": manifest.training.epochs,
        "rows": rows,
    });
    write_file(
        &json_path,
        format!("{}\n", serde_json::to_string_pretty(&json).expect("json")).as_bytes(),
    )?;
    Ok(Outcome {
        manifest,
        epochs_trained,
        files: vec![decoder_path, manifest_path, md_path, json_path],
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FinetuneError> {
    runfolder::write_atomic(path, bytes).map_err(|e| FinetuneError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_goes_from_the_rate_to_zero() {
        assert_eq!(Schedule::Constant.rate(0.1, 5, 10), 0.1);
        assert_eq!(Schedule::Cosine.rate(0.1, 0, 10), 0.1);
        assert!((Schedule::Cosine.rate(0.1, 5, 10) - 0.05).abs() < 1e-12);
        assert!(Schedule::Cosine.rate(0.1, 10, 10).abs() < 1e-12);
        assert_eq!("cosine".parse::<Schedule>().unwrap(), Schedule::Cosine);
    }

    #[test]
    fn order_is_a_seeded_permutation() {
        let a = order(10, 3, 1);
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..10).collect::<Vec<_>>());
        assert_eq!(a, order(10, 3, 1));
        assert_ne!(a, order(10, 3, 2));
    }
}
