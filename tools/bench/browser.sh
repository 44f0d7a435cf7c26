#!/usr/bin/env bash
# Browser decoder benchmark (BENCHMARKS.md, "Browser decoder"): decode time per click in
# headless Chromium for samscope's Burn worker (CPU-wasm, WebGPU) against onnxruntime-web
# running the official ONNX export of the same decoder, same page, same prompts; then the
# download sizes (viewer wasm + JS + f16 decoder weights), raw and gzip -9.
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

[ -f "$web/decoder-worker.js" ] || { echo "error: no viewer bundle in $web (scripts/build-web.sh)" >&2; exit 1; }
[ -f "$ort_dist/ort.wasm.min.js" ] || { echo "error: onnxruntime-web not found in $ort_dist (npm install onnxruntime-web)" >&2; exit 1; }
if [ ! -f "$onnx" ]; then
  [ -x "$py" ] || { echo "error: no PyTorch venv at $py (see tools/golden/README.md)" >&2; exit 1; }
  scripts/fetch-model.sh
  log "exporting the official ONNX decoder (tools/bench/export_onnx.py)"
  "$py" tools/bench/export_onnx.py --out "$onnx"
fi

log "browser benchmark (cargo test --release -p samscope-cli --test bench_browser -- --ignored)"
cargo test --release -p samscope-cli --test bench_browser -- --ignored --nocapture

log "download sizes (bytes; gzip -9)"
gz() { gzip -9 -c "$1" | wc -c; }
total_raw=0 total_gz=0
row() {
  local raw g
  raw=$(stat -c %s "$1"); g=$(gz "$1")
  total_raw=$((total_raw + raw)); total_gz=$((total_gz + g))
  printf '| %s | %d | %d |\n' "$2" "$raw" "$g"
}
echo "| file | raw | gzip -9 |"
echo "|---|---|---|"
shopt -s nullglob
for f in "$web"/*.wasm "$web"/*.js "$web"/*.css "$web"/index.html; do
  case "$(basename "$f")" in bench.js) continue ;; esac
  row "$f" "$(basename "$f")"
done
f16="$SAMSCOPE_HOME/bench/decoder.f16.safetensors"
if [ -f "$f16" ]; then row "$f16" "decoder.f16.safetensors (weights)"; fi
printf '| **total** | %d (%.2f MiB) | %d (%.2f MiB) |\n' "$total_raw" "$(echo "$total_raw/1048576" | bc -l)" \
  "$total_gz" "$(echo "$total_gz/1048576" | bc -l)"
onnx_gz=$(gz "$onnx"); ort_wasm_gz=$(gz "$ort_dist/ort-wasm-simd-threaded.wasm")
echo "for comparison: ONNX decoder (f32) $(stat -c %s "$onnx") B, gzip $onnx_gz B;" \
  "onnxruntime-web wasm $(stat -c %s "$ort_dist/ort-wasm-simd-threaded.wasm") B, gzip $ort_wasm_gz B"
