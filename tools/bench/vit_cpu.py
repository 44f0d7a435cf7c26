#!/usr/bin/env python3
"""PyTorch CPU baseline for the SAM ViT encoders: one 1×3×1024×1024 input, random weights,
median of N runs, `torch.set_num_threads(T)`. Prints one JSON line per model.
Run by tools/bench/vit_cpu.sh next to `samscope bench-encoder --device cpu`."""

import argparse
import json
import statistics
import time

import torch
from segment_anything import sam_model_registry


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="vit_b")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for model_id in args.models.split(","):
        encoder = sam_model_registry[model_id](checkpoint=None).image_encoder.eval()
        x = torch.rand(1, 3, 1024, 1024)
        times = []
        with torch.inference_mode():
            for i in range(args.warmup + args.runs):
                start = time.perf_counter()
                encoder(x)
                if i >= args.warmup:
                    times.append((time.perf_counter() - start) * 1e3)
        print(json.dumps({"impl": "pytorch-cpu", "model": model_id, "median_ms": statistics.median(times),
                          "runs": args.runs, "threads": args.threads, "torch": torch.__version__}), flush=True)


if __name__ == "__main__":
    main()
