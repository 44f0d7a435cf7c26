#!/usr/bin/env bash
# Set up a fresh machine and run the product: LiteMedSAM segments a nucleus in the demo scan,
# then the viewer and its embedding server run on localhost with the default model and the
# demo scans.
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare
log "building samscope (release)"
cargo build --release -p samscope-cli
scripts/build-web.sh
samscope="$CARGO_TARGET_DIR/release/samscope"

out="${SAMSCOPE_OUT:-$ROOT/out}"
mkdir -p "$out"
log "segmenting a nucleus in static/demo/nuclei.png with a box prompt"
"$samscope" segment --image static/demo/nuclei.png --box 173,131,214,162 \
  --out "$out/nuclei_mask.png" --low-res-out "$out/nuclei_logits.npy" --json
echo "mask written to $out/nuclei_mask.png"

log "the viewer, the API and the demo scans on http://${SAMSCOPE_ADDR:-127.0.0.1:8080} (Ctrl-C stops)"
exec "$samscope" serve --addr "${SAMSCOPE_ADDR:-127.0.0.1:8080}" --web-dir "$ROOT/dist"
