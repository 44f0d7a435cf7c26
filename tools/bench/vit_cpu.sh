#!/usr/bin/env bash
# SAM ViT-B encoder per 1024² image on the CPU: samscope (flex) next to PyTorch, same run.
#   tools/bench/vit_cpu.sh [RUNS]     (needs the PyTorch venv of tools/golden/README.md)
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ROOT"
runs="${1:-3}"
py="${GOLDEN_PYTHON:-/opt/golden-venv/bin/python}"
cargo build -q --release -p samscope-cli
"$CARGO_TARGET_DIR/release/samscope" bench-encoder --model vit_b --random-weights --device cpu \
  --runs "$runs" --warmup 1
"$py" tools/bench/vit_cpu.py --models vit_b --runs "$runs" --warmup 1 --threads "$(nproc)"
