//! The browser decoder benchmark (BENCHMARKS.md, "Browser decoder"; run it with
//! `tools/bench/browser.sh`): `web/bench.html` in headless Chromium times samscope's Burn
//! decoder worker (CPU-wasm, then WebGPU) against onnxruntime-web running segment-anything's
//! official ONNX export of the same decoder (`tools/bench/export_onnx.py`), in the same page on
//! the same prompts, and compares their masks. Ignored by default: it needs the viewer bundle
//! (`scripts/build-web.sh`), the ONNX file and onnxruntime-web from npm, and takes minutes.
//!
//! Environment: `SAMSCOPE_WEB_DIR` (default `dist/`), `SAMSCOPE_BENCH_ONNX` (default
//! `$SAMSCOPE_HOME/bench/lite_medsam_decoder.onnx`), `SAMSCOPE_ORT_DIST` (default
//! `$SAMSCOPE_HOME/tools/npm/node_modules/onnxruntime-web/dist`), `SAMSCOPE_BENCH_REPS` (passes
//! over the 24 prompts, default 3), `SAMSCOPE_BENCH_WEBGPU_REPS` (default 1),
//! `SAMSCOPE_BENCH_BACKENDS` (default `cpu,webgpu`), `SAMSCOPE_BENCH_DOWNLOADS` (the backends
//! whose first visit is measured, default `cpu,webgpu`). Results go to stdout (a Markdown table)
//! and `$SAMSCOPE_HOME/bench/browser-<backend>.json`; the f16 decoder the viewer downloads is
//! copied to `$SAMSCOPE_HOME/bench/decoder.f16.safetensors`. Then, per backend, a first visit
//! of the viewer in a fresh browser context: what it downloaded until the decoder was ready.

mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::cdp::{Browser, TempDir};
use support::serve::{Server, root};

fn home() -> PathBuf {
    std::env::var_os("SAMSCOPE_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/samscope"))
}

fn env_path(key: &str, default: PathBuf) -> PathBuf {
    std::env::var_os(key).map(PathBuf::from).unwrap_or(default)
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// dist/ + the current web/bench.{html,js} + `vendor/ort/` (onnxruntime-web's wasm build)
/// + `bench/lite_medsam_decoder.onnx`.
fn assemble_web_dir(dir: &Path) {
    let dist = env_path("SAMSCOPE_WEB_DIR", root().join("dist"));
    assert!(
        dist.join("decoder-worker-cpu.js").is_file(),
        "no viewer bundle in {} — build it with scripts/build-web.sh",
        dist.display()
    );
    copy_dir(&dist, dir);
    for file in ["bench.html", "bench.js"] {
        std::fs::copy(root().join("web").join(file), dir.join(file)).unwrap();
    }
    let ort = env_path(
        "SAMSCOPE_ORT_DIST",
        home().join("tools/npm/node_modules/onnxruntime-web/dist"),
    );
    let vendor = dir.join("vendor/ort");
    std::fs::create_dir_all(&vendor).unwrap();
    for file in [
        "ort.wasm.min.js",
        "ort-wasm-simd-threaded.wasm",
        "ort-wasm-simd-threaded.mjs",
    ] {
        std::fs::copy(ort.join(file), vendor.join(file)).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (install onnxruntime-web with npm)",
                ort.join(file).display()
            )
        });
    }
    let onnx = env_path(
        "SAMSCOPE_BENCH_ONNX",
        home().join("bench/lite_medsam_decoder.onnx"),
    );
    std::fs::create_dir_all(dir.join("bench")).unwrap();
    std::fs::copy(&onnx, dir.join("bench/lite_medsam_decoder.onnx"))
        .unwrap_or_else(|e| panic!("{}: {e} (run tools/bench/export_onnx.py)", onnx.display()));
}

/// What the benchmark reads from the server's data directory.
trait DecoderFile {
    /// The f16 decoder weights the viewer downloads (exported into the data directory).
    fn f16_decoder(&self) -> Option<PathBuf>;
}

impl DecoderFile for Server {
    fn f16_decoder(&self) -> Option<PathBuf> {
        let models = std::fs::read_dir(self.data.0.join("models")).ok()?;
        models
            .filter_map(Result::ok)
            .map(|e| e.path().join("decoder.f16.safetensors"))
            .find(|p| p.is_file())
    }
}

fn run_page(server: &Server, backend: &str, reps: usize) -> Value {
    let mut browser = Browser::launch(backend == "webgpu");
    let url = format!(
        "{}/bench.html?backend={backend}&ort=/vendor/ort/&onnx=/bench/lite_medsam_decoder.onnx&reps={reps}",
        server.url
    );
    let page = browser.open_in_new_context(&url);
    let text = browser.wait_for(
        &page,
        "window.benchResult ? JSON.stringify(window.benchResult) : null",
        Duration::from_secs(1800),
    );
    let result: Value = serde_json::from_str(text.as_str().unwrap()).unwrap();
    if let Some(error) = result.get("error") {
        panic!(
            "bench.html ({backend}) failed: {error}\nconsole: {:?}\nerrors: {:?}",
            browser.console_messages(&page),
            browser.console_errors(&page)
        );
    }
    result
}

/// A first visit of the viewer (`/?backend=…`, fresh browser context) until its decoder is
/// ready: every response Chromium received, with the bytes that came over the wire, as a
/// Markdown table.
fn first_visit_download(server: &Server, backend: &str) -> String {
    let mut browser = Browser::launch(backend == "webgpu");
    let context = browser.new_context();
    let page = browser.open_recording_downloads(
        &format!("{}/?backend={backend}", server.url),
        Some(&context),
    );
    browser.wait_for(
        &page,
        "typeof window.samscopeState === 'function' && JSON.parse(window.samscopeState()).decoder_ready",
        Duration::from_secs(600),
    );
    let mut downloads = browser.downloads(&page);
    downloads.sort_by_key(|d| std::cmp::Reverse(d.bytes));
    let total: u64 = downloads.iter().map(|d| d.bytes).sum();
    let mut table = format!(
        "\nFirst visit, `?backend={backend}` (bytes received, as sent):\n\n| response | encoding | bytes |\n|---|---|---|\n"
    );
    for d in &downloads {
        let path = d.url.trim_start_matches(&server.url);
        table += &format!("| `{path}` | {} | {} |\n", d.encoding, d.bytes);
    }
    table += &format!(
        "| **total** | | **{total}** ({:.2} MiB) |\n",
        total as f64 / 1048576.0
    );
    table
}

fn ms(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{x:.1}"))
        .unwrap_or_else(|| "–".into())
}

#[test]
#[ignore = "benchmark: needs dist/, the ONNX export and onnxruntime-web; run tools/bench/browser.sh"]
fn browser_decoder_benchmark() {
    let web =
        TempDir(std::env::temp_dir().join(format!("samscope-bench-web-{}", std::process::id())));
    assemble_web_dir(&web.0);
    let server = Server::start(&web.0);
    let out = home().join("bench");
    std::fs::create_dir_all(&out).unwrap();

    let backends = std::env::var("SAMSCOPE_BENCH_BACKENDS").unwrap_or_else(|_| "cpu,webgpu".into());
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for backend in backends.split(',').map(str::trim).filter(|b| !b.is_empty()) {
        let reps = if backend == "webgpu" {
            env_usize("SAMSCOPE_BENCH_WEBGPU_REPS", 1)
        } else {
            env_usize("SAMSCOPE_BENCH_REPS", 3)
        };
        let started = Instant::now();
        let r = run_page(&server, backend, reps);
        eprintln!(
            "{backend}: page done in {:.0} s",
            started.elapsed().as_secs_f64()
        );
        std::fs::write(
            out.join(format!("browser-{backend}.json")),
            serde_json::to_string_pretty(&r).unwrap(),
        )
        .unwrap();
        let engine = format!(
            "samscope Burn `{}`{}",
            r["backend"].as_str().unwrap_or("?"),
            match r["adapter"].as_str() {
                Some(a) if !a.is_empty() => format!(" ({a})"),
                _ => String::new(),
            }
        );
        rows.push(format!(
            "| {backend} | {engine} | {} | {} | {} | {} | {:.2}× | {:.4} / {:.4} / {} px ({}/{} same best) |",
            r["burn"]["n"],
            ms(&r["burn"]["median"]),
            ms(&r["burn"]["p90"]),
            ms(&r["burn_worker"]["median"]),
            r["ratio_median"].as_f64().unwrap_or(f64::NAN),
            r["min_mask_iou"].as_f64().unwrap_or(f64::NAN),
            r["min_mask_iou_100px"].as_f64().unwrap_or(f64::NAN),
            r["max_diff_pixels"],
            r["same_candidate"],
            r["prompts"],
        ));
        rows.push(format!(
            "| {backend} | onnxruntime-web {} wasm, 1 thread | {} | {} | {} | – | 1.00× | |",
            r["ort_version"].as_str().unwrap_or(""),
            r["ort"]["n"],
            ms(&r["ort"]["median"]),
            ms(&r["ort"]["p90"]),
        ));
        results.push(r);
    }
    if let Some(f16) = server.f16_decoder() {
        std::fs::copy(&f16, out.join("decoder.f16.safetensors")).unwrap();
    }
    let downloads =
        std::env::var("SAMSCOPE_BENCH_DOWNLOADS").unwrap_or_else(|_| "cpu,webgpu".into());
    let download_tables: Vec<String> = downloads
        .split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|backend| first_visit_download(&server, backend))
        .collect();

    println!(
        "\n| page | engine | clicks | median ms/click | p90 ms | worker decode median ms | vs ORT (median) | masks vs ORT: min IoU / min IoU (≥ 100 px) / max pixels differing |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for row in &rows {
        println!("{row}");
    }
    for r in &results {
        println!(
            "\n{}: Burn load {} ms, warm-up {} ms; ORT load {} ms; max |Δ IoU prediction| {:.2e}; fallback: {}",
            r["backend_requested"].as_str().unwrap_or("?"),
            ms(&r["burn_load_ms"]),
            ms(&r["burn_warmup_ms"]),
            ms(&r["ort_load_ms"]),
            r["max_score_diff"].as_f64().unwrap_or(f64::NAN),
            r["fallback_reason"]
        );
    }
    for table in &download_tables {
        println!("{table}");
    }
    // Same decoder, same inputs: the best candidates may differ only in pixels whose logit
    // sits at the threshold (f32 rounding), a handful per mask.
    for r in &results {
        for p in r["per_prompt"].as_array().unwrap() {
            let (diff, union) = (p["diff"].as_f64().unwrap(), p["union"].as_f64().unwrap());
            assert!(
                diff <= 10f64.max(0.01 * union) && p["same_candidate"] == true,
                "{}: Burn's and onnxruntime-web's best masks differ: {p}",
                r["backend_requested"]
            );
        }
    }
}
