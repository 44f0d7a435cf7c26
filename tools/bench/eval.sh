#!/usr/bin/env bash
# The evaluator on this machine's CPU: prompts per second from one cached embedding
# (crates/study/benches/prompts.rs) and the whole-dataset time of `samscope eval` on the
# stardist nuclei fixture (86 nuclei, `box` + `centroid`, component instances), cold (one
# encoder pass) and warm (embedding cached). Prints one JSON line per measurement.
#   tools/bench/eval.sh [RUNS]
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ROOT"
runs="${1:-20}"

cargo build -q --release -p samscope-cli
cargo bench -q -p samscope-study --bench prompts --no-run >/dev/null 2>&1
cargo bench -q -p samscope-study --bench prompts -- "$runs" | tail -n 1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/data/images" "$work/data/masks"
cp tests/fixtures/images/nuclei.png "$work/data/images/nuclei.png"
cp tests/fixtures/images/nuclei_mask.png "$work/data/masks/nuclei.png"
echo '{"*": "nucleus"}' >"$work/data/classes.json"
for pass in cold warm; do
  start=$(date +%s.%N)
  "$CARGO_TARGET_DIR/release/samscope" eval --data "$work/data" --layout generic \
    --protocol box,centroid --instances component --cache "$work/cache" \
    --out "$work/out-$pass" --quiet >/dev/null
  end=$(date +%s.%N)
  python3 - "$pass" "$start" "$end" "$work/out-$pass/summary.json" <<'PY'
import json, sys
p, start, end, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
t = json.load(open(path))["timing"]
print(json.dumps({"pass": p, "wall_s": round(end - start, 2), "encoder_passes": t["encoder_passes"],
                  "encoder_s": round(t["encoder_seconds"], 2), "decoder_calls": t["decoder_calls"],
                  "decoder_s": round(t["decoder_seconds"], 2),
                  "prompts_per_s": round(t["prompts_per_second"], 2)}))
PY
done
