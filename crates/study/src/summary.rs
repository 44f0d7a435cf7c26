//! Tables from records: `per_instance.csv`, the per-class table (`per_class.md`,
//! `per_class.csv`, mean ± std and n, like the paper's tables) and `summary.json`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::StudyError;
use crate::manifest::Manifest;
use crate::record::{ImageRecord, InstanceResult, write_atomic};

/// The label of the row that pools every class.
pub const ALL_CLASSES: &str = "(all)";

/// Mean and population standard deviation (NumPy's default, ddof = 0) of the defined values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Mean {
    /// Number of values.
    pub n: usize,
    /// Mean, absent when `n = 0`.
    pub mean: Option<f64>,
    /// Standard deviation, absent when `n = 0`.
    pub std: Option<f64>,
}

impl Mean {
    /// Mean and std of `values`.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Mean {
        let v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Mean {
                n: 0,
                mean: None,
                std: None,
            };
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
        Mean {
            n: v.len(),
            mean: Some(mean),
            std: Some(var.sqrt()),
        }
    }

    /// `0.812 ± 0.104`, or `–` without values.
    fn text(&self, digits: usize) -> String {
        match (self.mean, self.std) {
            (Some(m), Some(s)) => format!("{m:.digits$} ± {s:.digits$}"),
            _ => "–".into(),
        }
    }
}

/// `iterative` statistics of a class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IterativeStats {
    /// Mean IoU after click 1, 2, …, N.
    pub iou_after_click: Vec<f64>,
    /// Mean number of clicks to IoU ≥ 0.85 (N when never reached).
    pub noc85: f64,
    /// Mean number of clicks to IoU ≥ 0.90 (N when never reached).
    pub noc90: f64,
    /// Instances that never reached 0.85.
    pub not_reached_85: usize,
    /// Instances that never reached 0.90.
    pub not_reached_90: usize,
}

/// One row of the per-class table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassRow {
    /// Protocol.
    pub protocol: String,
    /// Class, or [`ALL_CLASSES`].
    pub class: String,
    /// Scored instances.
    pub n: usize,
    /// Dice.
    pub dice: Mean,
    /// IoU.
    pub iou: Mean,
    /// HD95 (mm) over the instances where it is defined.
    pub hd95: Mean,
    /// NSD.
    pub nsd: Mean,
    /// Instances whose prediction was empty.
    pub empty_predictions: usize,
    /// Images where the class was declared but absent (skipped).
    pub skipped_empty_ground_truth: usize,
    /// Only for `iterative`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iterative: Option<IterativeStats>,
}

/// Encoder and decoder time over the records.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Timing {
    /// Images whose embedding was computed.
    pub encoder_passes: usize,
    /// Images whose embedding came from the cache.
    pub embeddings_from_cache: usize,
    /// Seconds in the encoder.
    pub encoder_seconds: f64,
    /// Decoder calls (prompts, including every corrective click).
    pub decoder_calls: usize,
    /// Seconds in them (prompt encoder, mask decoder, upscaling and thresholding).
    pub decoder_seconds: f64,
    /// `decoder_calls / decoder_seconds`.
    pub prompts_per_second: Option<f64>,
}

/// Everything the tables and the report show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Images evaluated.
    pub images: usize,
    /// Where the pixel spacing came from.
    pub spacing: String,
    /// NSD tolerance, mm.
    pub nsd_tolerance_mm: f64,
    /// Declared-but-absent classes per class name (each skipped, not scored).
    pub skipped_empty_ground_truth: BTreeMap<String, usize>,
    /// Per protocol (run order), per class (sorted) then [`ALL_CLASSES`].
    pub rows: Vec<ClassRow>,
    /// Time spent.
    pub timing: Timing,
}

/// Clicks to reach `target` (1-based), or the number of clicks when never reached.
fn clicks_to(ious: &[f64], target: f64) -> (usize, bool) {
    match ious.iter().position(|&v| v >= target) {
        Some(i) => (i + 1, true),
        None => (ious.len(), false),
    }
}

fn iterative_stats(results: &[&InstanceResult]) -> IterativeStats {
    let clicks = results.iter().map(|r| r.clicks.len()).max().unwrap_or(0);
    let iou_after_click = (0..clicks)
        .map(|k| {
            Mean::of(results.iter().filter_map(|r| r.clicks.get(k).copied()))
                .mean
                .unwrap_or(0.0)
        })
        .collect();
    let noc = |t| {
        let all: Vec<(usize, bool)> = results.iter().map(|r| clicks_to(&r.clicks, t)).collect();
        (
            Mean::of(all.iter().map(|&(k, _)| k as f64))
                .mean
                .unwrap_or(0.0),
            all.iter().filter(|&&(_, hit)| !hit).count(),
        )
    };
    let ((noc85, miss85), (noc90, miss90)) = (noc(0.85), noc(0.90));
    IterativeStats {
        iou_after_click,
        noc85,
        noc90,
        not_reached_85: miss85,
        not_reached_90: miss90,
    }
}

fn row(protocol: &str, class: &str, results: &[&InstanceResult], skipped: usize) -> ClassRow {
    ClassRow {
        protocol: protocol.to_string(),
        class: class.to_string(),
        n: results.len(),
        dice: Mean::of(results.iter().map(|r| r.dice)),
        iou: Mean::of(results.iter().map(|r| r.iou)),
        hd95: Mean::of(results.iter().filter_map(|r| r.hd95)),
        nsd: Mean::of(results.iter().map(|r| r.nsd)),
        empty_predictions: results
            .iter()
            .filter(|r| {
                r.flags
                    .iter()
                    .any(|f| f == eval::protocols::flags::EMPTY_PREDICTION)
            })
            .count(),
        skipped_empty_ground_truth: skipped,
        iterative: (protocol == eval::protocols::Protocol::Iterative.as_str())
            .then(|| iterative_stats(results)),
    }
}

/// Aggregates `records` (the images of `manifest`).
pub fn summarize(manifest: &Manifest, records: &[ImageRecord]) -> Summary {
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for e in records.iter().flat_map(|r| &r.empty) {
        *skipped.entry(e.class.clone()).or_default() += 1;
    }
    let mut rows = Vec::new();
    for protocol in &manifest.settings.protocols {
        let results: Vec<&InstanceResult> = records
            .iter()
            .flat_map(|r| &r.results)
            .filter(|r| &r.protocol == protocol)
            .collect();
        let classes: BTreeSet<&str> = results
            .iter()
            .map(|r| r.class.as_str())
            .chain(skipped.keys().map(String::as_str))
            .collect();
        for class in classes {
            let of_class: Vec<&InstanceResult> = results
                .iter()
                .copied()
                .filter(|r| r.class == class)
                .collect();
            rows.push(row(
                protocol,
                class,
                &of_class,
                skipped.get(class).copied().unwrap_or(0),
            ));
        }
        rows.push(row(protocol, ALL_CLASSES, &results, skipped.values().sum()));
    }
    let computed: Vec<&ImageRecord> = records.iter().filter(|r| !r.embedding_cached).collect();
    let decoder_calls = records
        .iter()
        .flat_map(|r| &r.results)
        .map(|r| r.decodes)
        .sum();
    // fold from +0.0: an empty f64 `sum()` is -0.0.
    let decoder_seconds = records
        .iter()
        .flat_map(|r| &r.results)
        .fold(0.0, |acc, r| acc + r.decode_seconds);
    let known = records.iter().filter(|r| r.spacing_known).count();
    let spacing = match known {
        k if k == records.len() => "from the dataset for every image".to_string(),
        0 => "unknown: 1 px = 1 mm (HD95 and NSD are in pixels)".to_string(),
        k => format!(
            "from the dataset for {k} of {} images; 1 px = 1 mm for the others",
            records.len()
        ),
    };
    Summary {
        images: records.len(),
        spacing,
        nsd_tolerance_mm: manifest.settings.nsd_tolerance_mm,
        skipped_empty_ground_truth: skipped,
        rows,
        timing: Timing {
            encoder_passes: computed.len(),
            embeddings_from_cache: records.len() - computed.len(),
            encoder_seconds: computed.iter().fold(0.0, |acc, r| acc + r.encoder_seconds),
            decoder_calls,
            decoder_seconds,
            prompts_per_second: (decoder_seconds > 0.0)
                .then(|| decoder_calls as f64 / decoder_seconds),
        },
    }
}

/// One CSV line, quoting fields that need it (RFC 4180).
fn csv_line(fields: &[String]) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    quoted.join(",") + "\n"
}

fn number(v: f64) -> String {
    format!("{v:.6}")
}

fn optional(v: Option<f64>) -> String {
    v.map(number).unwrap_or_default()
}

/// `per_instance.csv`: one line per instance and protocol.
pub fn per_instance_csv(manifest: &Manifest, records: &[ImageRecord]) -> String {
    let mut rows: Vec<(usize, &str, &InstanceResult)> = records
        .iter()
        .flat_map(|rec| rec.results.iter().map(move |r| (rec.id.as_str(), r)))
        .map(|(id, r)| {
            let order = manifest
                .settings
                .protocols
                .iter()
                .position(|p| p == &r.protocol)
                .unwrap_or(usize::MAX);
            (order, id, r)
        })
        .collect();
    rows.sort_by(|a, b| {
        (a.0, a.1, &a.2.class, a.2.value, a.2.component).cmp(&(
            b.0,
            b.1,
            &b.2.class,
            b.2.value,
            b.2.component,
        ))
    });
    let header = [
        "image",
        "class",
        "instance",
        "protocol",
        "prompt",
        "candidate",
        "predicted_iou",
        "dice",
        "iou",
        "hd95_mm",
        "nsd",
        "flags",
        "area_px",
        "iou_after_click",
    ];
    let mut out = csv_line(&header.map(String::from));
    for (_, id, r) in rows {
        out += &csv_line(&[
            id.to_string(),
            r.class.clone(),
            r.instance.clone(),
            r.protocol.clone(),
            r.prompt.text.clone(),
            r.chosen.to_string(),
            number(r.predicted_iou),
            number(r.dice),
            number(r.iou),
            optional(r.hd95),
            number(r.nsd),
            r.flags.join(";"),
            r.area.to_string(),
            r.clicks
                .iter()
                .map(|&v| number(v))
                .collect::<Vec<_>>()
                .join(";"),
        ]);
    }
    out
}

/// `per_class.csv`.
pub fn per_class_csv(summary: &Summary) -> String {
    let header = [
        "protocol",
        "class",
        "n",
        "dice_mean",
        "dice_std",
        "iou_mean",
        "iou_std",
        "hd95_n",
        "hd95_mean",
        "hd95_std",
        "nsd_mean",
        "nsd_std",
        "empty_predictions",
        "skipped_empty_gt",
        "noc85",
        "noc90",
    ];
    let mut out = csv_line(&header.map(String::from));
    for r in &summary.rows {
        let it = r.iterative.as_ref();
        out += &csv_line(&[
            r.protocol.clone(),
            r.class.clone(),
            r.n.to_string(),
            optional(r.dice.mean),
            optional(r.dice.std),
            optional(r.iou.mean),
            optional(r.iou.std),
            r.hd95.n.to_string(),
            optional(r.hd95.mean),
            optional(r.hd95.std),
            optional(r.nsd.mean),
            optional(r.nsd.std),
            r.empty_predictions.to_string(),
            r.skipped_empty_ground_truth.to_string(),
            optional(it.map(|i| i.noc85)),
            optional(it.map(|i| i.noc90)),
        ]);
    }
    out
}

/// Escapes `|` for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// `per_class.md`: the paper-style table, mean ± std (n).
pub fn per_class_markdown(manifest: &Manifest, summary: &Summary) -> String {
    let s = &manifest.settings;
    let tol = summary.nsd_tolerance_mm;
    let mut md = format!(
        "# samscope eval: {} ({} layout)\n\nModel `{}`, {} images, instances by `{}`; \
         pixel spacing {}. Mean ± standard deviation (population); HD95 over the instances \
         with a non-empty prediction (n in brackets when fewer).\n\n",
        s.data.display(),
        s.layout,
        s.model,
        summary.images,
        s.instances,
        summary.spacing
    );
    md += &format!(
        "| protocol | class | n | Dice | IoU | HD95 (mm) | NSD@{tol} mm | empty pred. | skipped (empty GT) |\n\
         |---|---|---:|---|---|---|---|---:|---:|\n"
    );
    for r in &summary.rows {
        let hd95 = if r.hd95.n == r.n {
            r.hd95.text(2)
        } else {
            format!("{} (n={})", r.hd95.text(2), r.hd95.n)
        };
        md += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.protocol,
            cell(&r.class),
            r.n,
            r.dice.text(3),
            r.iou.text(3),
            hd95,
            r.nsd.text(3),
            r.empty_predictions,
            r.skipped_empty_ground_truth
        );
    }
    let iterative: Vec<&ClassRow> = summary
        .rows
        .iter()
        .filter(|r| r.iterative.is_some())
        .collect();
    if let Some(first) = iterative.first().and_then(|r| r.iterative.as_ref()) {
        let k = first.iou_after_click.len();
        md += "\n## iterative\n\nMean IoU after each click; NoC = clicks to reach the IoU \
               (the click budget when never reached).\n\n| class | n |";
        for i in 1..=k {
            md += &format!(" IoU@{i} |");
        }
        md += " NoC@85 | NoC@90 | not reached 85 / 90 |\n|---|---:|";
        md += &"---:|".repeat(k + 3);
        md += "\n";
        for r in iterative {
            let it = r.iterative.as_ref().expect("filtered");
            md += &format!("| {} | {} |", cell(&r.class), r.n);
            for v in &it.iou_after_click {
                md += &format!(" {v:.3} |");
            }
            md += &format!(
                " {:.2} | {:.2} | {} / {} |\n",
                it.noc85, it.noc90, it.not_reached_85, it.not_reached_90
            );
        }
    }
    md
}

/// `summary.json`.
pub fn summary_json(manifest: &Manifest, summary: &Summary) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        format: u32,
        settings: &'a crate::manifest::Settings,
        shard: Option<crate::manifest::Shard>,
        limit: Option<usize>,
        merged_from: &'a [PathBuf],
        #[serde(flatten)]
        summary: &'a Summary,
    }
    serde_json::to_string_pretty(&Out {
        format: manifest.format,
        settings: &manifest.settings,
        shard: manifest.shard,
        limit: manifest.limit,
        merged_from: &manifest.merged_from,
        summary,
    })
    .expect("summary serialises")
}

/// Writes the tables into `out`; returns the files written.
pub fn write_tables(
    out: &Path,
    manifest: &Manifest,
    records: &[ImageRecord],
    summary: &Summary,
) -> Result<Vec<PathBuf>, StudyError> {
    let files = [
        ("per_instance.csv", per_instance_csv(manifest, records)),
        ("per_class.csv", per_class_csv(summary)),
        ("per_class.md", per_class_markdown(manifest, summary)),
        ("summary.json", summary_json(manifest, summary)),
    ];
    let mut written = Vec::new();
    for (name, text) in files {
        let path = out.join(name);
        write_atomic(&path, text.as_bytes())?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn population_mean_and_std() {
        let m = Mean::of([1.0, 2.0, 3.0, 4.0]);
        assert_eq!((m.n, m.mean), (4, Some(2.5)));
        assert!((m.std.unwrap() - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!(Mean::of([]).mean, None);
        assert_eq!(Mean::of([]).text(2), "–");
        assert_eq!(Mean::of([0.5, 0.5]).text(3), "0.500 ± 0.000");
    }

    #[test]
    fn noc_counts_clicks_and_caps_at_the_budget() {
        assert_eq!(clicks_to(&[0.5, 0.86, 0.95], 0.85), (2, true));
        assert_eq!(clicks_to(&[0.5, 0.86, 0.95], 0.90), (3, true));
        assert_eq!(clicks_to(&[0.5, 0.6], 0.85), (2, false));
    }

    #[test]
    fn csv_quotes_when_needed() {
        assert_eq!(
            csv_line(&["a".into(), "b,c".into(), "say \"hi\"".into()]),
            "a,\"b,c\",\"say \"\"hi\"\"\"\n"
        );
    }
}
