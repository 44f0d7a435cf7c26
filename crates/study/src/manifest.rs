//! `OUT/run.json`: what a run evaluates and with which settings, so that `--resume` can
//! refuse to mix settings and `eval-merge` can check its shards belong together.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::StudyError;

/// Version of the `run.json` / record layout.
pub const FORMAT_VERSION: u32 = 1;

/// One of `count` disjoint parts of a dataset (`--shard INDEX/COUNT`, 0-based): image `i`
/// of the sorted list belongs to shard `i mod count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = StudyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            StudyError::option(
                "--shard",
                format!("`{s}`; use INDEX/COUNT with 0 ≤ INDEX < COUNT, e.g. 0/4 … 3/4"),
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The settings every part of one evaluation must share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Dataset layout.
    pub layout: String,
    /// Data folder (absolute).
    pub data: PathBuf,
    /// Protocols, in order.
    pub protocols: Vec<String>,
    /// `class` or `component`.
    pub instances: String,
    /// `keep` or `inside`.
    pub outside: String,
    /// `--seed`.
    pub seed: u64,
    /// `--jitter`, pixels.
    pub jitter_px: u32,
    /// `--clicks`.
    pub clicks: usize,
    /// NSD tolerance, mm.
    pub nsd_tolerance_mm: f64,
    /// Model id.
    pub model: String,
    /// sha256 of the checkpoint.
    pub checkpoint_sha256: String,
    /// sha256 of the fine-tuned decoder evaluated in place of the model's own
    /// (`--finetuned`; `model` is then the fine-tuned model's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder_sha256: Option<String>,
}

impl Settings {
    /// The fields that differ from `other`, as `name: self's value vs other's` (the data
    /// folder only when `compare_data`: shards may run where the data is mounted elsewhere).
    pub fn differences(&self, other: &Settings, compare_data: bool) -> Vec<String> {
        let ignore: &[&str] = if compare_data { &[] } else { &["data"] };
        runfolder::differences(self, other, ignore)
            .iter()
            .map(ToString::to_string)
            .collect()
    }
}

/// The content of `run.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT_VERSION`].
    pub format: u32,
    /// samscope version that wrote it.
    pub samscope: String,
    /// Shared settings.
    pub settings: Settings,
    /// This run's shard, if sharded.
    pub shard: Option<Shard>,
    /// `--limit`.
    pub limit: Option<usize>,
    /// Ids of the images this run covers, in order.
    pub images: Vec<String>,
    /// Shard folders an `eval-merge` joined (empty for a run).
    pub merged_from: Vec<PathBuf>,
}

impl Manifest {
    /// `DIR/run.json`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("run.json")
    }

    /// Reads `DIR/run.json`; `Ok(None)` when absent.
    pub fn read(dir: &Path) -> Result<Option<Manifest>, StudyError> {
        let path = Self::path(dir);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StudyError::io(&path, e)),
        };
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| StudyError::output(&path, format!("not a samscope run.json: {e}")))?;
        if manifest.format != FORMAT_VERSION {
            return Err(StudyError::output(
                &path,
                format!(
                    "written by a samscope with result format {} (this one reads {FORMAT_VERSION})",
                    manifest.format
                ),
            ));
        }
        Ok(Some(manifest))
    }

    /// Writes `DIR/run.json`.
    pub fn write(&self, dir: &Path) -> Result<(), StudyError> {
        let text = serde_json::to_string_pretty(self).expect("manifest serialises");
        crate::record::write_atomic(&Self::path(dir), text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_zero_based() {
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
        for bad in ["4/4", "1/0", "a/2", "1", "-1/2"] {
            let err = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(err.contains("--shard"), "{bad}: {err}");
        }
    }

    #[test]
    fn differences_name_the_fields() {
        let a = Settings {
            layout: "generic".into(),
            data: "/a".into(),
            protocols: vec!["box".into()],
            instances: "class".into(),
            outside: "keep".into(),
            seed: 0,
            jitter_px: 20,
            clicks: 10,
            nsd_tolerance_mm: 2.0,
            model: "lite_medsam".into(),
            checkpoint_sha256: "x".into(),
            decoder_sha256: None,
        };
        let mut b = a.clone();
        b.data = "/b".into();
        assert!(a.differences(&b, false).is_empty());
        assert_eq!(a.differences(&b, true).len(), 1);
        b.seed = 3;
        let d = a.differences(&b, false);
        assert!(d.len() == 1 && d[0] == "seed: 0 vs 3", "{d:?}");
    }
}
