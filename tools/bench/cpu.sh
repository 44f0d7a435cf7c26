#!/usr/bin/env bash
# LiteMedSAM on CPU: samscope (Burn flex) next to PyTorch, same machine, same invocation.
# Prints both JSON lines and the ratios (samscope time / PyTorch time; < 1 is faster).
#   tools/bench/cpu.sh [ENCODER_RUNS] [DECODER_RUNS]
# Needs the PyTorch venv of tools/golden/README.md (GOLDEN_PYTHON, default /opt/golden-venv).
set -euo pipefail
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ROOT"
enc_runs="${1:-10}"
dec_runs="${2:-50}"
py="${GOLDEN_PYTHON:-/opt/golden-venv/bin/python}"
[ -x "$py" ] || { echo "error: no PyTorch venv at $py (see tools/golden/README.md)" >&2; exit 1; }

cargo bench -q -p samscope-sam --features pytorch --bench cpu --no-run >/dev/null
rust=$(cargo bench -q -p samscope-sam --features pytorch --bench cpu -- "$enc_runs" "$dec_runs" | tail -n 1)
torch=$("$py" tools/golden/bench_torch.py --runs "$enc_runs" --threads "$(nproc)" | tail -n 1)
echo "samscope: $rust"
echo "pytorch:  $torch"
python3 - "$rust" "$torch" <<'PY'
import json, sys
r, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for k, base in (("encoder_ms", "encoder_ms"), ("decoder_ms", "decoder_ms"),
                ("decoder_prepared_ms", "decoder_ms")):
    print(f"{k}: samscope {r[k]:.1f} ms, pytorch {t[base]:.1f} ms, ratio {r[k] / t[base]:.2f}x")
print(f"prepare_ms (once per image): samscope {r['prepare_ms']:.1f} ms")
PY
