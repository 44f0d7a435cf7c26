#!/usr/bin/env python3
"""Golden tensors for the SAM ViT image encoder (official segment-anything 1.0 code).

No official checkpoint can be downloaded here, so the encoder is built with seeded random
weights in which every constant-initialised tensor (pos_embed, rel_pos_h/w, LayerNorm
gamma/beta, biases) is perturbed: a port that drops a position encoding or a norm cannot pass.

Writes, under tests/fixtures/golden/vit_small/:
  checkpoint.pth        the small random encoder's state dict (keys prefixed `image_encoder.`)
  input.npy             (1, 3, S, S) float32 input
  tokens_patch.npy      patch embedding + pos_embed, (1, H, W, C)
  block{i}.sample.npy   output of every block, strided sample (stride 13)
  embedding.npy         neck output (1, out, H, W)
  manifest.json
and tests/fixtures/golden/vit_{b,l,h}_keys.txt: every state-dict key of the official
sam_model_registry models (name, dtype, shape), built on the meta device (no weights).

  /opt/golden-venv/bin/python tools/golden/make_vit_golden.py
"""

import json
import os
from functools import partial

import numpy as np
import torch
from segment_anything import sam_model_registry
from segment_anything.modeling import ImageEncoderViT

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(REPO, "tests", "fixtures", "golden")
SMALL = dict(img_size=320, patch_size=16, embed_dim=64, depth=4, num_heads=4, mlp_ratio=4.0,
             out_chans=64, qkv_bias=True, use_rel_pos=True, window_size=14,
             global_attn_indexes=(1, 3))
STRIDE = 13


def main():
    torch.manual_seed(1234)
    torch.set_num_threads(2)
    enc = ImageEncoderViT(norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
                          act_layer=torch.nn.GELU, rel_pos_zero_init=True, **SMALL).eval()
    with torch.no_grad():
        for name, p in enc.named_parameters():
            # Default init leaves pos_embed / rel_pos at 0 and norms at 1/0: perturb all.
            p.add_(torch.randn_like(p) * (0.05 if p.dim() > 1 else 0.2))
    d = os.path.join(OUT, "vit_small")
    os.makedirs(d, exist_ok=True)
    state = {f"image_encoder.{k}": v.clone() for k, v in enc.state_dict().items()}
    torch.save(state, os.path.join(d, "checkpoint.pth"))

    x = torch.randn(1, 3, SMALL["img_size"], SMALL["img_size"])
    np.save(os.path.join(d, "input.npy"), x.numpy())
    with torch.no_grad():
        t = enc.patch_embed(x) + enc.pos_embed
        np.save(os.path.join(d, "tokens_patch.npy"), t.numpy())
        blocks = []
        for i, blk in enumerate(enc.blocks):
            t = blk(t)
            np.save(os.path.join(d, f"block{i}.sample.npy"), t.reshape(-1)[::STRIDE].numpy())
            blocks.append({"file": f"vit_small/block{i}.sample.npy", "shape": list(t.shape),
                           "window_size": blk.window_size})
        emb = enc.neck(t.permute(0, 3, 1, 2))
        np.save(os.path.join(d, "embedding.npy"), emb.numpy())
        full = enc(x)
        assert torch.equal(full, emb)
    manifest = {
        "config": {k: (list(v) if isinstance(v, tuple) else v) for k, v in SMALL.items()},
        "layer_norm_eps": 1e-6, "seed": 1234, "sample_stride": STRIDE,
        "torch": torch.__version__, "blocks": blocks,
        "embedding_shape": list(emb.shape),
    }
    with open(os.path.join(d, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2)

    for name in ("vit_b", "vit_l", "vit_h"):
        with torch.device("meta"):
            sam = sam_model_registry[name](checkpoint=None)
        lines = sorted(f"{k}\t{str(v.dtype).replace('torch.', '')}\t{list(v.shape)}"
                       for k, v in sam.state_dict().items())
        with open(os.path.join(OUT, f"{name}_keys.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print(name, len(lines), "keys")


if __name__ == "__main__":
    main()
