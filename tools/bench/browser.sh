#!/usr/bin/env bash
# Browser decoder benchmark (BENCHMARKS.md, "Browser decoder"): decode time per click in
# headless Chromium for samscope's Burn worker (CPU-wasm, WebGPU) against onnxruntime-web
# running the official ONNX export of the same decoder, same page, same prompts; then what a
# first visit of the viewer downloads per backend (as Chromium received it), and the bundle's
# files raw / gzip / brotli.
#   tools/bench/browser.sh            (env: SAMSCOPE_BENCH_REPS, SAMSCOPE_BENCH_WEBGPU_REPS,
#                                      SAMSCOPE_BENCH_BACKENDS=cpu,webgpu; see bench_browser.rs)
# Needs: dist/ (scripts/build-web.sh --with-browser: Chromium, onnxruntime-web from npm) and
# the PyTorch venv of tools/golden/README.md with onnx + onnxruntime (GOLDEN_PYTHON).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ROOT"
py="${GOLDEN_PYTHON:-/opt/golden-venv/bin/python}"
onnx="$SAMSCOPE_HOME/bench/lite_medsam_decoder.onnx"
ort_dist="${SAMSCOPE_ORT_DIST:-$SAMSCOPE_HOME/tools/npm/node_modules/onnxruntime-web/dist}"
web="${SAMSCOPE_WEB_DIR:-$ROOT/dist}"

[ -f "$web/decoder-worker-cpu.js" ] || { echo "error: no viewer bundle in $web (scripts/build-web.sh)" >&2; exit 1; }
[ -f "$ort_dist/ort.wasm.min.js" ] || { echo "error: onnxruntime-web not found in $ort_dist (npm install onnxruntime-web)" >&2; exit 1; }
if [ ! -f "$onnx" ]; then
  [ -x "$py" ] || { echo "error: no PyTorch venv at $py (see tools/golden/README.md)" >&2; exit 1; }
  scripts/fetch-model.sh
  log "exporting the official ONNX decoder (tools/bench/export_onnx.py)"
  "$py" tools/bench/export_onnx.py --out "$onnx"
fi

log "browser benchmark (cargo test --release -p samscope-cli --test bench_browser -- --ignored)"
cargo test --release -p samscope-cli --test bench_browser -- --ignored --nocapture

# The first-visit downloads (what Chromium received per backend) are in the test's output
# above; here the bundle's files as built, raw and as the server sends them.
log "bundle files (bytes: raw, gzip -9, brotli -q 11 — the .gz/.br copies scripts/build-web.sh made)"
size() { if [ -f "$1" ]; then stat -c %s "$1"; else echo "–"; fi; }
echo "| file | raw | gzip | brotli |"
echo "|---|---|---|---|"
for f in "$web"/*.wasm "$web"/*.js "$web"/*.css "$web"/index.html; do
  case "$(basename "$f")" in bench.*) continue ;; esac
  printf '| %s | %s | %s | %s |\n' "$(basename "$f")" "$(size "$f")" "$(size "$f.gz")" "$(size "$f.br")"
done
gz() { gzip -9 -c "$1" | wc -c; }
onnx_gz=$(gz "$onnx"); ort_wasm_gz=$(gz "$ort_dist/ort-wasm-simd-threaded.wasm")
echo "for comparison: ONNX decoder (f32) $(stat -c %s "$onnx") B, gzip $onnx_gz B;" \
  "onnxruntime-web wasm $(stat -c %s "$ort_dist/ort-wasm-simd-threaded.wasm") B, gzip $ort_wasm_gz B"
