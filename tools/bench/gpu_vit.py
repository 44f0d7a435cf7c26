#!/usr/bin/env python3
"""PyTorch eager baseline for the SAM ViT encoders on a CUDA GPU (same inputs as
`samscope bench-encoder`: one 1×3×1024×1024 image, random weights, median of N runs).

Prints one JSON line per (model, precision).  Run by tools/bench/gpu.sh.
"""

import argparse
import json
import statistics

import torch
from segment_anything import sam_model_registry


def bench(model_id: str, dtype: torch.dtype, runs: int, warmup: int) -> dict:
    encoder = sam_model_registry[model_id](checkpoint=None).image_encoder
    encoder = encoder.to("cuda", dtype=dtype).eval()
    x = torch.rand(1, 3, 1024, 1024, device="cuda", dtype=dtype)
    times = []
    with torch.inference_mode():
        for i in range(warmup + runs):
            start = torch.cuda.Event(enable_timing=True)
            end = torch.cuda.Event(enable_timing=True)
            start.record()
            out = encoder(x).float().cpu()  # same end point as samscope: result on the host
            end.record()
            torch.cuda.synchronize()
            if i >= warmup:
                times.append(start.elapsed_time(end))
    assert out.shape == (1, 256, 64, 64)
    del encoder
    torch.cuda.empty_cache()
    return {
        "impl": "pytorch-eager",
        "model": model_id,
        "precision": {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}[dtype],
        "median_ms": statistics.median(times),
        "min_ms": min(times),
        "max_ms": max(times),
        "runs": runs,
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0),
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--models", default="vit_b,vit_h")
    args = ap.parse_args()
    torch.manual_seed(0)
    for model_id in args.models.split(","):
        for dtype in (torch.float32, torch.float16, torch.bfloat16):
            print(json.dumps(bench(model_id, dtype, args.runs, args.warmup)), flush=True)


if __name__ == "__main__":
    main()
