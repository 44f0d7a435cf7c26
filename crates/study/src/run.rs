//! A whole evaluation: discover the dataset, take this shard, evaluate every image not yet
//! done (one record per image, written as soon as it is finished), then rebuild the tables
//! and the report from the records. `merge` joins the records of several shards.

use std::path::{Path, PathBuf};

use eval::layouts::{Layout, Sample};
use eval::metrics::Spacing;
use eval::sample::Loader;
use eval::volume_slice::VolumeSlice;
use runfolder::RunFolder;
use sam::{ModelId, SamPredictor};

use crate::cache::EmbeddingCache;
use crate::error::StudyError;
use crate::evaluate::{EvalOptions, evaluate_image};
use crate::manifest::{FORMAT_VERSION, Manifest, Settings, Shard};
use crate::progress::Progress;
use crate::record::{ImageRecord, read_record, record_path, write_atomic, write_record};
use crate::report::report_html;
use crate::summary::{Summary, summarize, write_tables};

/// Everything `samscope eval` asks for.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Data folder.
    pub data: PathBuf,
    /// Its layout.
    pub layout: Layout,
    /// What to measure.
    pub options: EvalOptions,
    /// Output folder.
    pub out: PathBuf,
    /// Embedding cache folder (default `OUT/cache`).
    pub cache: Option<PathBuf>,
    /// This machine's part of the dataset.
    pub shard: Option<Shard>,
    /// Continue a run in `out`, skipping finished images.
    pub resume: bool,
    /// Evaluate only the first N images (of this shard).
    pub limit: Option<usize>,
    /// sha256 of the checkpoint (keys the cache, recorded in `run.json`).
    pub checkpoint_sha256: String,
    /// Best and worst cases shown per protocol in the report.
    pub report_cases: usize,
    /// Draw the progress bar on stderr.
    pub progress: bool,
}

/// What a run or merge did.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Images covered.
    pub images: usize,
    /// Images evaluated now.
    pub evaluated: usize,
    /// Images skipped because a record existed (`--resume`).
    pub resumed: usize,
    /// The aggregate results.
    pub summary: Summary,
    /// Files written (tables and report).
    pub files: Vec<PathBuf>,
}

/// The sorted samples of `shard`, at most `limit` of them.
pub fn select(samples: Vec<Sample>, shard: Option<Shard>, limit: Option<usize>) -> Vec<Sample> {
    samples
        .into_iter()
        .enumerate()
        .filter(|(i, _)| shard.is_none_or(|s| i % s.count == s.index))
        .map(|(_, s)| s)
        .take(limit.unwrap_or(usize::MAX))
        .collect()
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `out` as an evaluation's run folder, as its messages name it.
fn folder(out: &Path) -> RunFolder<'_> {
    RunFolder {
        dir: out,
        run: "a run",
        kind: "an evaluation folder",
        may_change: "",
    }
}

/// Checks that `out` can take the run of `manifest`: fresh, or the same run when resuming.
fn check_out(out: &Path, manifest: &Manifest, resume: bool) -> Result<(), StudyError> {
    folder(out).check(Manifest::read(out)?, resume, |old| {
        let mut problems = manifest.settings.differences(&old.settings, true);
        if old.shard != manifest.shard {
            let text = |s: Option<Shard>| s.map_or("none".into(), |s| s.to_string());
            problems.push(format!(
                "shard: {} vs {}",
                text(manifest.shard),
                text(old.shard)
            ));
        }
        if old.limit != manifest.limit {
            problems.push("limit".into());
        }
        if problems.is_empty() && old.images != manifest.images {
            problems.push("the images found in the data folder".into());
        }
        Ok::<_, StudyError>(
            (!problems.is_empty())
                .then(|| format!("{} (this run vs that one)", problems.join(", "))),
        )
    })
}

/// The records of every image of `manifest` in `dir`, in manifest order; fails naming the
/// first missing one.
fn collect_records(dir: &Path, manifest: &Manifest) -> Result<Vec<ImageRecord>, StudyError> {
    let records = dir.join("records");
    let mut out = Vec::with_capacity(manifest.images.len());
    for id in &manifest.images {
        let path = record_path(&records, id);
        match read_record(&path)? {
            Some(r) => out.push(r),
            None => {
                return Err(StudyError::output(
                    dir,
                    format!(
                        "image `{id}` has no record; the run there is unfinished: run it again with --resume"
                    ),
                ));
            }
        }
    }
    Ok(out)
}

/// Writes the tables and the report of `records` into `out`.
fn write_outputs(
    out: &Path,
    manifest: &Manifest,
    records: &[ImageRecord],
    report_cases: usize,
    data: Option<&Path>,
) -> Result<(Summary, Vec<PathBuf>), StudyError> {
    let summary = summarize(manifest, records);
    let mut files = write_tables(out, manifest, records, &summary)?;
    let report = out.join("report.html");
    write_atomic(
        &report,
        report_html(manifest, &summary, records, report_cases, data).as_bytes(),
    )?;
    files.push(report);
    Ok((summary, files))
}

/// A fine-tuned decoder evaluated in place of the model's own (`samscope eval --finetuned`):
/// the embeddings are the base model's, the results carry the fine-tuned model's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinetunedDecoder {
    /// The fine-tuned model's name (e.g. `lite_medsam+vessels`).
    pub name: String,
    /// sha256 of its decoder file.
    pub sha256: String,
}

/// A checked run, before any model is loaded: the samples of this shard and the manifest.
#[derive(Debug, Clone)]
pub struct Plan {
    config: RunConfig,
    samples: Vec<Sample>,
    manifest: Manifest,
    /// The model whose encoder (and, unless fine-tuned, decoder) runs.
    model: ModelId,
}

impl Plan {
    /// The images this run covers.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }
}

/// Checks the options, finds the dataset's images and checks `OUT`, without loading the
/// model (`model` is the id it will be) or writing anything.
pub fn plan(config: &RunConfig, model: ModelId) -> Result<Plan, StudyError> {
    plan_with_decoder(config, model, None)
}

/// [`plan`] for `model` with the fine-tuned `decoder` in place of its own, if any.
pub fn plan_with_decoder(
    config: &RunConfig,
    model: ModelId,
    decoder: Option<&FinetunedDecoder>,
) -> Result<Plan, StudyError> {
    if config.options.protocols.is_empty() {
        return Err(StudyError::option(
            "--protocol",
            "give at least one protocol",
        ));
    }
    if config.options.prompt.clicks == 0 {
        return Err(StudyError::option("--clicks", "must be at least 1"));
    }
    if !(config.options.nsd_tolerance_mm >= 0.0 && config.options.nsd_tolerance_mm.is_finite()) {
        return Err(StudyError::option(
            "--nsd-tolerance",
            "must be a non-negative number of mm",
        ));
    }
    if config.limit == Some(0) {
        return Err(StudyError::option("--limit", "must be at least 1"));
    }
    let data = absolute(&config.data);
    let samples = select(config.layout.discover(&data)?, config.shard, config.limit);
    let o = &config.options;
    let manifest = Manifest {
        format: FORMAT_VERSION,
        samscope: env!("CARGO_PKG_VERSION").to_string(),
        settings: Settings {
            layout: config.layout.as_str().to_string(),
            data,
            protocols: o.protocols.iter().map(|p| p.as_str().to_string()).collect(),
            instances: o.instances.as_str().to_string(),
            outside: o.prompt.outside.as_str().to_string(),
            seed: o.prompt.seed,
            jitter_px: o.prompt.jitter_px,
            clicks: o.prompt.clicks,
            nsd_tolerance_mm: o.nsd_tolerance_mm,
            model: decoder.map_or_else(|| model.to_string(), |d| d.name.clone()),
            checkpoint_sha256: config.checkpoint_sha256.clone(),
            decoder_sha256: decoder.map(|d| d.sha256.clone()),
        },
        shard: config.shard,
        limit: config.limit,
        images: samples.iter().map(|s| s.id.clone()).collect(),
        merged_from: Vec::new(),
    };
    check_out(&config.out, &manifest, config.resume)?;
    Ok(Plan {
        config: config.clone(),
        samples,
        manifest,
        model,
    })
}

/// Runs `samscope eval`: [`plan`] then [`execute`].
pub fn run(config: &RunConfig, predictor: &SamPredictor) -> Result<Outcome, StudyError> {
    execute(&plan(config, predictor.config().id)?, predictor)
}

/// Evaluates every image of `plan` that has no record yet, then writes the tables and the
/// report.
pub fn execute(plan: &Plan, predictor: &SamPredictor) -> Result<Outcome, StudyError> {
    let (config, samples, manifest) = (&plan.config, &plan.samples, &plan.manifest);
    if predictor.config().id != plan.model {
        return Err(StudyError::option(
            "--model",
            format!(
                "the plan is for `{}` but the predictor runs `{}`",
                plan.model,
                predictor.config().id
            ),
        ));
    }
    let data = &manifest.settings.data;
    let o = &config.options;
    check_out(&config.out, manifest, config.resume)?;
    std::fs::create_dir_all(config.out.join("records"))
        .map_err(|e| StudyError::io(&config.out, e))?;
    manifest.write(&config.out)?;
    let records_dir = config.out.join("records");
    let cache = EmbeddingCache::new(
        config.cache.as_deref().unwrap_or(&config.out.join("cache")),
        predictor.config().id,
        &config.checkpoint_sha256,
    );
    let mut todo = Vec::new();
    for s in samples {
        let path = record_path(&records_dir, &s.id);
        match read_record(&path)? {
            None => todo.push((s, path)),
            // A volume layout's slice or window changed (e.g. `volume.json`) under the same id.
            Some(r) if r.slice != s.slice => {
                let text =
                    |v: Option<VolumeSlice>| v.map_or("a 2-D image".into(), |v| v.to_string());
                return Err(StudyError::output(
                    &path,
                    format!(
                        "cannot resume: `{}` was evaluated as {} but the data folder now gives {}; use another --out",
                        s.id,
                        text(r.slice),
                        text(s.slice)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    let resumed = samples.len() - todo.len();
    let mut progress = Progress::new(samples.len(), resumed, config.progress);
    // Samples come in id order, so the slices of a volume follow each other: the loader
    // decodes each volume once and holds one at a time.
    let mut loader = Loader::default();
    for (s, path) in &todo {
        let loaded = loader.load(s)?;
        let (embedding, encoder) =
            cache.embed(predictor, &loaded.image_key, &loaded.image, &s.source())?;
        let spacing = s.spacing.unwrap_or(Spacing::UNKNOWN);
        let scores = evaluate_image(predictor, &embedding, &s.id, &loaded.truth, spacing, o)?;
        let record = ImageRecord {
            id: s.id.clone(),
            image: s.image.clone(),
            image_relative: s.image.strip_prefix(data).unwrap_or(&s.image).to_path_buf(),
            width: loaded.truth.width,
            height: loaded.truth.height,
            left_half: s.left_half,
            slice: s.slice,
            spacing,
            spacing_known: s.spacing.is_some(),
            embedding_cached: encoder.cached,
            encoder_seconds: encoder.seconds,
            empty: scores.empty,
            results: scores.results,
        };
        write_record(path, &record)?;
        progress.image_done(
            record.results.iter().map(|r| r.decodes).sum(),
            record.results.iter().map(|r| r.decode_seconds).sum(),
        );
    }
    progress.finish();
    let records = collect_records(&config.out, manifest)?;
    let (summary, files) =
        write_outputs(&config.out, manifest, &records, config.report_cases, None)?;
    Ok(Outcome {
        images: samples.len(),
        evaluated: todo.len(),
        resumed,
        summary,
        files,
    })
}

/// What `samscope eval-merge` asks for.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The `--out` folders of every shard.
    pub shards: Vec<PathBuf>,
    /// Where the joined results go.
    pub out: PathBuf,
    /// Where the scans are now, for the report's figures (default: where they were).
    pub data: Option<PathBuf>,
    /// Best and worst cases shown per protocol in the report.
    pub report_cases: usize,
}

/// Runs `samscope eval-merge`: checks the shards are one complete, consistent set, copies
/// their records into `out` and rebuilds the tables and the report.
pub fn merge(config: &MergeConfig) -> Result<Outcome, StudyError> {
    let mut parts: Vec<(PathBuf, Manifest)> = Vec::new();
    for dir in &config.shards {
        let manifest = Manifest::read(dir)?.ok_or_else(|| {
            StudyError::output(
                dir,
                "no run.json: not the --out folder of a samscope eval run",
            )
        })?;
        if manifest.shard.is_none() {
            return Err(StudyError::output(
                dir,
                "this run was not sharded (no --shard); there is nothing to merge",
            ));
        }
        parts.push((dir.clone(), manifest));
    }
    let Some((first_dir, first)) = parts.first().cloned() else {
        return Err(StudyError::option(
            "SHARD_DIR",
            "give the --out folders of the shards",
        ));
    };
    let count = first.shard.map_or(0, |s| s.count);
    let mut seen = vec![None::<&Path>; count];
    for (dir, m) in &parts {
        let differences = m.settings.differences(&first.settings, false);
        if !differences.is_empty() || m.limit != first.limit {
            return Err(StudyError::output(
                dir,
                format!(
                    "was run with other settings than {} (this shard vs that one): {}",
                    first_dir.display(),
                    if differences.is_empty() {
                        "limit".into()
                    } else {
                        differences.join(", ")
                    }
                ),
            ));
        }
        let shard = m.shard.expect("checked above");
        if shard.count != count || shard.index >= count {
            return Err(StudyError::output(
                dir,
                format!(
                    "is shard {shard} but {} is one of {count}",
                    first_dir.display()
                ),
            ));
        }
        if let Some(other) = seen[shard.index] {
            return Err(StudyError::output(
                dir,
                format!("is shard {shard}, as is {}", other.display()),
            ));
        }
        seen[shard.index] = Some(dir.as_path());
    }
    let missing: Vec<String> = (0..count)
        .filter(|&i| seen[i].is_none())
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(StudyError::option(
            "SHARD_DIR",
            format!("missing shard(s) {}", missing.join(", ")),
        ));
    }
    // Every shard finished: read all records before writing anything.
    let mut records = Vec::new();
    for (dir, m) in &parts {
        records.extend(collect_records(dir, m)?);
    }
    records.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = records.windows(2).find(|p| p[0].id == p[1].id) {
        return Err(StudyError::output(
            &config.out,
            format!("image `{}` is in two shards", pair[0].id),
        ));
    }
    let manifest = Manifest {
        shard: None,
        images: records.iter().map(|r| r.id.clone()).collect(),
        merged_from: parts.iter().map(|(d, _)| absolute(d)).collect(),
        ..first
    };
    match Manifest::read(&config.out)? {
        Some(old) if old.merged_from.is_empty() => {
            return Err(StudyError::output(
                &config.out,
                "holds an evaluation run; merge into a new or empty --out",
            ));
        }
        Some(_) => {
            // An earlier merge: replace it.
            let old_records = config.out.join("records");
            if old_records.exists() {
                std::fs::remove_dir_all(&old_records)
                    .map_err(|e| StudyError::io(&old_records, e))?;
            }
        }
        None => {
            if !folder(&config.out).is_new_or_empty()? {
                return Err(StudyError::output(
                    &config.out,
                    "exists and is not an evaluation folder (no run.json); choose a new or empty --out",
                ));
            }
        }
    }
    let records_dir = config.out.join("records");
    std::fs::create_dir_all(&records_dir).map_err(|e| StudyError::io(&records_dir, e))?;
    for r in &records {
        write_record(&record_path(&records_dir, &r.id), r)?;
    }
    manifest.write(&config.out)?;
    let (summary, files) = write_outputs(
        &config.out,
        &manifest,
        &records,
        config.report_cases,
        config.data.as_deref(),
    )?;
    Ok(Outcome {
        images: records.len(),
        evaluated: 0,
        resumed: 0,
        summary,
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_disjoint_round_robin_and_limit_applies_after() {
        let samples: Vec<Sample> = (0..7)
            .map(|i| Sample {
                id: format!("s{i}"),
                image: PathBuf::new(),
                layers: Vec::new(),
                spacing: None,
                left_half: false,
                slice: None,
            })
            .collect();
        let ids = |v: Vec<Sample>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        let shard = |index| Some(Shard { index, count: 3 });
        assert_eq!(
            ids(select(samples.clone(), shard(0), None)),
            ["s0", "s3", "s6"]
        );
        assert_eq!(ids(select(samples.clone(), shard(2), None)), ["s2", "s5"]);
        assert_eq!(
            ids(select(samples.clone(), shard(0), Some(2))),
            ["s0", "s3"]
        );
        assert_eq!(select(samples, None, None).len(), 7);
    }
}
