#!/usr/bin/env python3
"""Export LiteMedSAM's prompt encoder + mask decoder to ONNX with segment-anything's official
``SamOnnxModel`` (the model onnxruntime-web runs in the browser decoder benchmark,
tools/bench/browser.sh), then check it with onnxruntime (CPU) against the PyTorch golden tensors.

The model is built exactly as tools/golden/make_golden.py builds it (its ``build_models``: strict
checkpoint load, official PromptEncoder / MaskDecoder, official Sam wrapper) from the verified
checkpoint ``$SAMSCOPE_HOME/lite_medsam.pth`` (scripts/fetch-model.sh). The export follows
segment-anything 1.0's scripts/export_onnx_model.py: return_single_mask=False, no stability
score, no extra metrics, exact GELU, opset 17, dynamic ``num_points``; LiteMedSAM's image size is
256, so the embedding is 1x256x64x64 and ``mask_input`` / ``low_res_masks`` are 256x256. One
change: ``mask_postprocessing`` is the upstream main branch's (see ``SamOnnxModelFixed``), since
the 1.0 release bakes the dummy input's aspect ratio into the exported crop.

The ONNX model's convention (not the predictor's): ``point_coords`` are already mapped to the
256-pixel model frame with ResizeLongestSide(256) (x * neww / W, y * newh / H); a box is two
extra points labelled 2 and 3; without a box a padding point (0, 0) labelled -1 is appended.
Outputs: ``masks`` 1x4xHxW logits at ``orig_im_size`` (index 0 = the single-mask token,
1..3 = the three multimask candidates), ``iou_predictions`` 1x4, ``low_res_masks`` 1x4x256x256.

Usage: /opt/golden-venv/bin/python tools/bench/export_onnx.py [--out PATH] [--force]
(needs ``pip install onnx onnxruntime`` in that venv).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tools", "golden"))

import make_golden  # noqa: E402  (build_models, sha256_file, CHECKPOINT_SHA256)
from segment_anything.utils.onnx import SamOnnxModel  # noqa: E402

GOLDEN = os.path.join(REPO, "tests", "fixtures", "golden")
OPSET = 17


def home() -> str:
    return os.environ.get("SAMSCOPE_HOME", os.path.join(os.path.expanduser("~"), ".cache", "samscope"))


class SamOnnxModelFixed(SamOnnxModel):
    """segment-anything 1.0 (PyPI) slices the padding off with ``int(prepadded_size[i])``, which the
    tracer freezes to the dummy ``orig_im_size``'s aspect ratio (facebookresearch/segment-anything
    issue #56): masks of any other aspect ratio come out stretched. This is the fix from the
    upstream main branch (commit 3b41bf7, utils/onnx.py): slice with the int64 tensors."""

    def mask_postprocessing(self, masks: torch.Tensor, orig_im_size: torch.Tensor) -> torch.Tensor:
        masks = F.interpolate(masks, size=(self.img_size, self.img_size), mode="bilinear",
                              align_corners=False)
        prepadded_size = self.resize_longest_image_size(orig_im_size, self.img_size).to(torch.int64)
        masks = masks[..., : prepadded_size[0], : prepadded_size[1]]
        orig_im_size = orig_im_size.to(torch.int64)
        h, w = orig_im_size[0], orig_im_size[1]
        return F.interpolate(masks, size=(h, w), mode="bilinear", align_corners=False)


def export(sam, out: str) -> None:
    onnx_model = SamOnnxModelFixed(model=sam, return_single_mask=False, use_stability_score=False,
                              return_extra_metrics=False)
    embed_dim = sam.prompt_encoder.embed_dim
    embed_size = sam.prompt_encoder.image_embedding_size
    mask_input_size = [4 * x for x in embed_size]
    img = sam.image_encoder.img_size
    assert (embed_dim, tuple(embed_size), img) == (256, (64, 64), 256), (embed_dim, embed_size, img)
    dummy = {
        "image_embeddings": torch.randn(1, embed_dim, *embed_size, dtype=torch.float),
        "point_coords": torch.randint(low=0, high=img, size=(1, 5, 2), dtype=torch.float),
        "point_labels": torch.randint(low=0, high=4, size=(1, 5), dtype=torch.float),
        "mask_input": torch.randn(1, 1, *mask_input_size, dtype=torch.float),
        "has_mask_input": torch.tensor([1], dtype=torch.float),
        "orig_im_size": torch.tensor([1500, 2250], dtype=torch.float),
    }
    _ = onnx_model(**dummy)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".part"
    kwargs = dict(export_params=True, verbose=False, opset_version=OPSET, do_constant_folding=True,
                  input_names=list(dummy.keys()),
                  output_names=["masks", "iou_predictions", "low_res_masks"],
                  dynamic_axes={"point_coords": {1: "num_points"}, "point_labels": {1: "num_points"}})
    with open(tmp, "wb") as f:
        try:  # torch >= 2.9 defaults to the dynamo exporter; the official script is TorchScript-based
            torch.onnx.export(onnx_model, tuple(dummy.values()), f, dynamo=False, **kwargs)
        except TypeError:
            torch.onnx.export(onnx_model, tuple(dummy.values()), f, **kwargs)
    import onnx
    onnx.checker.check_model(tmp)
    os.replace(tmp, out)


def onnx_inputs(emb: np.ndarray, points, labels, box, size_hw, input_hw):
    """The official ONNX convention: model-frame coords, box corners labelled 2/3, else a pad point."""
    (H, W), (nh, nw) = size_hw, input_hw
    coords, lbl = [], []
    for (x, y), l in zip(points or [], labels or []):
        coords.append([x * nw / W, y * nh / H])
        lbl.append(float(l))
    if box is not None:
        x0, y0, x1, y1 = box
        coords += [[x0 * nw / W, y0 * nh / H], [x1 * nw / W, y1 * nh / H]]
        lbl += [2.0, 3.0]
    else:
        coords.append([0.0, 0.0])
        lbl.append(-1.0)
    return {
        "image_embeddings": emb.astype(np.float32),
        "point_coords": np.array([coords], dtype=np.float32),
        "point_labels": np.array([lbl], dtype=np.float32),
        "mask_input": np.zeros((1, 1, 256, 256), dtype=np.float32),
        "has_mask_input": np.zeros((1,), dtype=np.float32),
        "orig_im_size": np.array([H, W], dtype=np.float32),
    }


def verify(sam, path: str) -> dict:
    import onnxruntime as ort

    manifest = json.load(open(os.path.join(GOLDEN, "manifest.json")))
    info = manifest["images"]["nuclei"]
    emb = np.load(os.path.join(GOLDEN, info["embedding"]))
    size, inp = (info["height"], info["width"]), (info["newh"], info["neww"])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    onnx_model = SamOnnxModelFixed(model=sam, return_single_mask=False)
    report = {}
    for case in ("point1", "points3", "box", "box_point"):
        c = info["cases"][case]
        feeds = onnx_inputs(emb, c["points"], c["labels"], c["box"], size, inp)
        # the transformed coordinates equal the golden predictor's (ResizeLongestSide, float32)
        n_pts = len(c["points"] or [])
        if c["points_model"]:
            assert np.allclose(feeds["point_coords"][0, :n_pts], np.array(c["points_model"]), atol=1e-4)
        if c["box_model"]:
            assert np.allclose(feeds["point_coords"][0, n_pts:n_pts + 2].reshape(-1),
                               np.array(c["box_model"]), atol=1e-4)
        masks, iou, low = session.run(None, feeds)
        with torch.no_grad():
            t_masks, t_iou, t_low = onnx_model(**{k: torch.from_numpy(v) for k, v in feeds.items()})
        g = c["outputs"]["multi"]
        g_low = np.load(os.path.join(GOLDEN, g["lowres"]))
        g_iou = np.load(os.path.join(GOLDEN, g["iou"]))
        g_masks = np.load(os.path.join(GOLDEN, g["masks"]))
        s = c["outputs"]["single"]
        s_low = np.load(os.path.join(GOLDEN, s["lowres"]))
        ort_bin = masks[0, 1:] > 0.0
        best_o, best_g = int(np.argmax(iou[0, 1:])), int(np.argmax(g_iou[0]))
        inter = np.logical_and(ort_bin[best_o], g_masks[best_g] > 0).sum()
        union = np.logical_or(ort_bin[best_o], g_masks[best_g] > 0).sum()
        r = {
            "ort_vs_torch_onnxmodel_lowres": float(np.abs(low - t_low.numpy()).max()),
            "ort_vs_torch_onnxmodel_masks": float(np.abs(masks - t_masks.numpy()).max()),
            "ort_vs_golden_lowres_multi": float(np.abs(low[:, 1:] - g_low).max()),
            "ort_vs_golden_lowres_single": float(np.abs(low[:, :1] - s_low).max()),
            "ort_vs_golden_iou": float(np.abs(iou[:, 1:] - g_iou).max()),
            "mask_pixels_differing": int((ort_bin != (g_masks > 0)).sum()),
            "near_threshold_1e-3": sum(g["near_threshold_1e-3"]),
            "best_same": best_o == best_g,
            "best_iou": float(inter / max(union, 1)),
        }
        report[case] = r
        print(f"{case:10s} max|Δ| ORT vs PyTorch: low-res {r['ort_vs_golden_lowres_multi']:.2e} (multi) "
              f"{r['ort_vs_golden_lowres_single']:.2e} (single), IoU pred {r['ort_vs_golden_iou']:.2e}, "
              f"full-size logits vs SamOnnxModel {r['ort_vs_torch_onnxmodel_masks']:.2e}; "
              f"mask pixels differing {r['mask_pixels_differing']} (golden near-threshold "
              f"{r['near_threshold_1e-3']}); best candidate same: {r['best_same']}, IoU {r['best_iou']:.4f}")
        assert r["ort_vs_golden_lowres_multi"] < 1e-3 and r["ort_vs_golden_iou"] < 1e-4, r
        assert r["best_same"] and r["best_iou"] > 0.999, r
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default=os.path.join(home(), "lite_medsam.pth"))
    ap.add_argument("--out", default=os.path.join(home(), "bench", "lite_medsam_decoder.onnx"))
    ap.add_argument("--force", action="store_true", help="export even if the file exists")
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    digest = make_golden.sha256_file(args.checkpoint)
    if digest != make_golden.CHECKPOINT_SHA256:
        sys.exit(f"checkpoint {args.checkpoint} sha256 {digest} != {make_golden.CHECKPOINT_SHA256} "
                 "(run scripts/fetch-model.sh)")
    _, _, _, sam = make_golden.build_models(args.checkpoint)
    if args.force or not os.path.isfile(args.out):
        export(sam, args.out)
        print(f"exported {args.out} ({os.path.getsize(args.out)} bytes, opset {OPSET})")
    else:
        print(f"using existing {args.out} (--force re-exports)")
    verify(sam, args.out)
    print("onnxruntime (CPU) matches PyTorch on the nuclei golden prompts")


if __name__ == "__main__":
    main()
