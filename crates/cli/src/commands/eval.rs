//! `samscope eval` and `samscope eval-merge`: the paper's zero-shot evaluation over a
//! labelled dataset (protocols and metrics in docs/protocols.md).

use std::path::PathBuf;

use eval::{InstanceMode, Layout, OutsidePolicy, Protocol, ProtocolOptions};
use study::{EvalOptions, FinetunedDecoder, MergeConfig, Outcome, RunConfig, Shard};

use crate::commands::finetune::{finetuned_predictor, open_finetuned};
use crate::error::CliError;
use crate::model::ModelArgs;

/// Arguments of `samscope eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// The dataset folder.
    #[arg(long)]
    pub data: PathBuf,
    /// Its layout: generic, drive, stare, chase, hrf, isic2018, refuge, drishti, rimone,
    /// montgomery, shenzhen, endovis2017, aroi, amos (AMOS 2022 CT/MR volumes), volume (one
    /// NIfTI/NRRD image + label volume pair); volume layouts evaluate each labelled slice.
    #[arg(long)]
    pub layout: String,
    /// Prompting protocol(s): centroid, center, box, box-jitter, iterative, promptless (no
    /// prompt: fine-tuned decoders); repeat the flag or separate with commas. All share one
    /// encoder pass per image.
    #[arg(long = "protocol", value_delimiter = ',', required = true)]
    pub protocols: Vec<String>,
    /// Output folder (tables, report, per-image records, embedding cache).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the box-jitter shifts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Evaluate shard INDEX of COUNT (0-based, e.g. 0/4 … 3/4); join them with eval-merge.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<String>,
    /// Continue the run in --out, skipping the images already finished.
    #[arg(long)]
    pub resume: bool,
    /// Evaluate only the first N images (of this shard).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Instances: `class` (each label value, the paper's default) or `component` (each
    /// connected piece of each label value).
    #[arg(long, default_value = "class")]
    pub instances: String,
    /// `centroid` outside its object: `keep` it (flagged) or move it `inside`.
    #[arg(long, default_value = "keep")]
    pub outside: String,
    /// Largest outward shift of a box-jitter side, pixels.
    #[arg(long, default_value_t = 20)]
    pub jitter: u32,
    /// Clicks of the iterative protocol, the first (center) included.
    #[arg(long, default_value_t = 10)]
    pub clicks: usize,
    /// Tolerance of the normalised surface Dice, mm (pixels when the spacing is unknown).
    #[arg(long, default_value_t = 2.0)]
    pub nsd_tolerance: f64,
    /// Embedding cache folder, shareable between runs (default: OUT/cache).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Best and worst cases shown per protocol in report.html.
    #[arg(long, default_value_t = 4)]
    pub report_cases: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Evaluate a fine-tuned decoder (a `samscope finetune --out` folder) with --model's
    /// encoder; results carry its name (e.g. `lite_medsam+vessels`).
    #[arg(long, value_name = "MODEL_DIR")]
    pub finetuned: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
}

/// Arguments of `samscope eval-merge`.
#[derive(Debug, clap::Args)]
pub struct EvalMergeArgs {
    /// The --out folders of every shard of one sharded run.
    #[arg(required = true, value_name = "SHARD_OUT")]
    pub shards: Vec<PathBuf>,
    /// Where the joined tables and report go (a new or empty folder, or an earlier merge).
    #[arg(long)]
    pub out: PathBuf,
    /// Where the scans are now, if they moved since the shards ran (for the report's figures).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Best and worst cases shown per protocol in report.html.
    #[arg(long, default_value_t = 4)]
    pub report_cases: usize,
}

impl EvalArgs {
    /// The run these flags describe (the checkpoint digest is filled in by `run`).
    fn config(&self) -> Result<RunConfig, CliError> {
        let protocols = self
            .protocols
            .iter()
            .map(|p| p.trim().parse::<Protocol>())
            .collect::<Result<Vec<_>, _>>()?;
        let mut unique = protocols.clone();
        unique.sort();
        unique.dedup();
        if unique.len() != protocols.len() {
            return Err(CliError::arg("--protocol", "a protocol is named twice"));
        }
        Ok(RunConfig {
            data: self.data.clone(),
            layout: self.layout.parse::<Layout>()?,
            options: EvalOptions {
                protocols,
                instances: self.instances.parse::<InstanceMode>()?,
                prompt: ProtocolOptions {
                    outside: self.outside.parse::<OutsidePolicy>()?,
                    jitter_px: self.jitter,
                    clicks: self.clicks,
                    seed: self.seed,
                },
                nsd_tolerance_mm: self.nsd_tolerance,
            },
            out: self.out.clone(),
            cache: self.cache.clone(),
            shard: self.shard.as_deref().map(str::parse::<Shard>).transpose()?,
            resume: self.resume,
            limit: self.limit,
            checkpoint_sha256: String::new(),
            report_cases: self.report_cases,
            progress: !self.quiet,
        })
    }
}

/// Prints the headline numbers and where the files are.
fn report(outcome: &Outcome) {
    for row in outcome
        .summary
        .rows
        .iter()
        .filter(|r| r.class == study::summary::ALL_CLASSES)
    {
        let mean = |m: &study::summary::Mean| match (m.mean, m.std) {
            (Some(a), Some(s)) => format!("{a:.3} ± {s:.3}"),
            _ => "–".into(),
        };
        println!(
            "{}: Dice {}, IoU {}, NSD {} over {} instances",
            row.protocol,
            mean(&row.dice),
            mean(&row.iou),
            mean(&row.nsd),
            row.n
        );
    }
    let t = &outcome.summary.timing;
    println!(
        "{} images ({} evaluated now, {} resumed); encoder passes {}, cached {}; {} decoder calls{}",
        outcome.images,
        outcome.evaluated,
        outcome.resumed,
        t.encoder_passes,
        t.embeddings_from_cache,
        t.decoder_calls,
        t.prompts_per_second
            .map_or(String::new(), |v| format!(" at {v:.1} prompts/s"))
    );
    for file in &outcome.files {
        println!("wrote {}", file.display());
    }
}

/// Runs `samscope eval`.
pub fn run(args: &EvalArgs) -> Result<(), CliError> {
    let mut config = args.config()?;
    // Everything that can fail without the model fails first.
    let resolved = args.model.resolve()?;
    config.checkpoint_sha256 = resolved.sha256.clone();
    let finetuned = args
        .finetuned
        .as_deref()
        .map(|dir| open_finetuned(dir, &resolved))
        .transpose()?;
    let decoder = finetuned.as_ref().map(|m| FinetunedDecoder {
        name: m.name().to_string(),
        sha256: m.manifest.decoder_sha256.clone(),
    });
    let plan = study::plan_with_decoder(&config, resolved.config.id, decoder.as_ref())?;
    let predictor = match &finetuned {
        Some(model) => finetuned_predictor(&args.model, resolved, model)?,
        None => args.model.load_resolved(resolved)?,
    };
    let outcome = study::execute(&plan, &predictor)?;
    report(&outcome);
    Ok(())
}

/// Runs `samscope eval-merge`.
pub fn run_merge(args: &EvalMergeArgs) -> Result<(), CliError> {
    let outcome = study::merge(&MergeConfig {
        shards: args.shards.clone(),
        out: args.out.clone(),
        data: args.data.clone(),
        report_cases: args.report_cases,
    })?;
    report(&outcome);
    Ok(())
}
