//! Counters, gauges and a histogram, rendered in the Prometheus text format (0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Upper bounds (seconds) of the encoder latency histogram.
const ENCODER_BUCKETS: [f64; 11] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Where a cached embedding was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheLayer {
    /// The in-memory LRU.
    Memory,
    /// The checksummed files in the data directory.
    Disk,
}

#[derive(Debug, Default)]
struct Histogram {
    /// Per bucket (not cumulative); the last slot is `+Inf`.
    counts: [u64; ENCODER_BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

/// Everything `/metrics` reports.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, u16), u64>>,
    encoder_runs: AtomicU64,
    encoder_failures: AtomicU64,
    encoder_seconds: Mutex<Histogram>,
    cache_hits_memory: AtomicU64,
    cache_hits_disk: AtomicU64,
    cache_misses: AtomicU64,
    cache_corrupt: AtomicU64,
    uploads: AtomicU64,
    /// Encoder jobs waiting (submitted, not started).
    pub queue_depth: AtomicUsize,
    /// Encoder jobs running (0 or 1).
    pub encoder_busy: AtomicUsize,
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts one response of `route` (a route template, never a raw path).
    pub fn record_request(&self, route: &str, status: u16) {
        *self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((route.to_string(), status))
            .or_default() += 1;
    }

    /// Counts one finished encoder run.
    pub fn record_encoder_run(&self, elapsed: Duration, ok: bool) {
        self.encoder_runs.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.encoder_failures.fetch_add(1, Ordering::Relaxed);
        }
        let seconds = elapsed.as_secs_f64();
        let mut h = self
            .encoder_seconds
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let slot = ENCODER_BUCKETS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(ENCODER_BUCKETS.len());
        h.counts[slot] += 1;
        h.sum += seconds;
        h.count += 1;
    }

    /// Mean encoder run time so far, if any run finished.
    pub fn mean_encoder_seconds(&self) -> Option<f64> {
        let h = self
            .encoder_seconds
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        (h.count > 0).then(|| h.sum / h.count as f64)
    }

    /// Counts a cache hit.
    pub fn record_hit(&self, layer: CacheLayer) {
        match layer {
            CacheLayer::Memory => &self.cache_hits_memory,
            CacheLayer::Disk => &self.cache_hits_disk,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a miss on every cache layer (the encoder must run).
    pub fn record_miss(&self) {
        self.cache_misses.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a damaged cache entry that was dropped.
    pub fn record_corrupt(&self) {
        self.cache_corrupt.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an accepted upload.
    pub fn record_upload(&self) {
        self.uploads.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition; `memory_cache_bytes` is the LRU's current size.
    pub fn render(&self, memory_cache_bytes: usize) -> String {
        let mut out = String::new();
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for (labels, value) in samples {
                let _ = writeln!(out, "{name}{labels} {value}");
            }
        };
        let requests: Vec<(String, String)> = self
            .requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|((route, status), n)| {
                (
                    format!("{{route=\"{}\",status=\"{status}\"}}", escape_label(route)),
                    n.to_string(),
                )
            })
            .collect();
        family(
            "samscope_http_requests_total",
            "counter",
            "HTTP responses by route template and status.",
            &requests,
        );
        let plain = |v: u64| vec![(String::new(), v.to_string())];
        family(
            "samscope_encoder_runs_total",
            "counter",
            "Image encoder runs (one per image and model that missed every cache).",
            &plain(load(&self.encoder_runs)),
        );
        family(
            "samscope_encoder_failures_total",
            "counter",
            "Image encoder runs that failed.",
            &plain(load(&self.encoder_failures)),
        );
        let histogram = {
            let h = self
                .encoder_seconds
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let mut cumulative = 0;
            let mut samples = Vec::new();
            for (i, count) in h.counts.iter().enumerate() {
                cumulative += count;
                let le = ENCODER_BUCKETS
                    .get(i)
                    .map_or_else(|| "+Inf".to_string(), |b| b.to_string());
                samples.push((format!("_bucket{{le=\"{le}\"}}"), cumulative.to_string()));
            }
            samples.push(("_sum".into(), h.sum.to_string()));
            samples.push(("_count".into(), h.count.to_string()));
            samples
        };
        family(
            "samscope_encoder_seconds",
            "histogram",
            "Image encoder run time.",
            &histogram,
        );
        family(
            "samscope_cache_hits_total",
            "counter",
            "Embedding requests served from a cache, by layer.",
            &[
                (
                    "{layer=\"memory\"}".into(),
                    load(&self.cache_hits_memory).to_string(),
                ),
                (
                    "{layer=\"disk\"}".into(),
                    load(&self.cache_hits_disk).to_string(),
                ),
            ],
        );
        family(
            "samscope_cache_misses_total",
            "counter",
            "Embeddings found in no cache (the encoder ran or was asked to).",
            &plain(load(&self.cache_misses)),
        );
        family(
            "samscope_cache_corrupt_total",
            "counter",
            "Damaged cache entries dropped and recomputed.",
            &plain(load(&self.cache_corrupt)),
        );
        family(
            "samscope_cache_memory_bytes",
            "gauge",
            "Bytes of encoded embeddings held in memory.",
            &plain(memory_cache_bytes as u64),
        );
        family(
            "samscope_uploads_total",
            "counter",
            "Images accepted by POST /api/v1/images.",
            &plain(load(&self.uploads)),
        );
        family(
            "samscope_encoder_queue_depth",
            "gauge",
            "Encoder jobs waiting to start.",
            &plain(self.queue_depth.load(Ordering::Relaxed) as u64),
        );
        family(
            "samscope_encoder_busy",
            "gauge",
            "Encoder jobs running now.",
            &plain(self.encoder_busy.load(Ordering::Relaxed) as u64),
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.record_request("/api/v1/images", 200);
        m.record_request("/api/v1/images", 200);
        m.record_request("/api/v1/images", 415);
        m.record_encoder_run(Duration::from_millis(300), true);
        m.record_encoder_run(Duration::from_secs(500), false);
        m.record_hit(CacheLayer::Disk);
        let text = m.render(42);
        for line in [
            "samscope_http_requests_total{route=\"/api/v1/images\",status=\"200\"} 2",
            "samscope_http_requests_total{route=\"/api/v1/images\",status=\"415\"} 1",
            "samscope_encoder_runs_total 2",
            "samscope_encoder_failures_total 1",
            "samscope_encoder_seconds_bucket{le=\"0.25\"} 0",
            "samscope_encoder_seconds_bucket{le=\"0.5\"} 1",
            "samscope_encoder_seconds_bucket{le=\"120\"} 1",
            "samscope_encoder_seconds_bucket{le=\"+Inf\"} 2",
            "samscope_encoder_seconds_count 2",
            "samscope_cache_hits_total{layer=\"disk\"} 1",
            "samscope_cache_hits_total{layer=\"memory\"} 0",
            "# TYPE samscope_encoder_queue_depth gauge",
            "samscope_cache_memory_bytes 42",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
        assert!((m.mean_encoder_seconds().unwrap() - 250.15).abs() < 1e-9);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
