#!/usr/bin/env python3
"""Golden hashes for the SAM ViT / MobileSAM preprocessing (official segment-anything 1.0):
`ResizeLongestSide(1024).apply_image` (PIL bilinear with antialiasing on uint8) and the
predictor's `(x - pixel_mean) / pixel_std` + zero padding to 1024².

Writes tests/fixtures/golden/sam_vit_preprocess.json: per image the resized shape, the sha256 of
the resized uint8 HxWx3 bytes and of the padded float32 1x3x1024x1024 input (C order,
little-endian), plus a few pixel values for diagnostics.

  /opt/golden-venv/bin/python tools/golden/make_resize_golden.py
"""

import hashlib
import json
import os

import numpy as np
import torch
from PIL import Image

from segment_anything.utils.transforms import ResizeLongestSide

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IMAGES = os.path.join(REPO, "tests", "fixtures", "images")


def main():
    transform = ResizeLongestSide(1024)
    mean = torch.Tensor([123.675, 116.28, 103.53]).view(-1, 1, 1)
    std = torch.Tensor([58.395, 57.12, 57.375]).view(-1, 1, 1)
    out = {"generator": "tools/golden/make_resize_golden.py", "target_length": 1024, "images": {}}
    for name in ("nuclei", "retina"):
        image = np.array(Image.open(os.path.join(IMAGES, f"{name}.png")).convert("RGB"))
        resized = transform.apply_image(image)
        x = torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None, :, :, :].float()
        # SamPredictor.set_torch_image -> Sam.preprocess (normalise, then pad bottom/right)
        x = (x - mean) / std
        h, w = x.shape[-2:]
        x = torch.nn.functional.pad(x, (0, 1024 - w, 0, 1024 - h))
        out["images"][name] = {
            "resized_shape": list(resized.shape),
            "resized_sha256": hashlib.sha256(np.ascontiguousarray(resized).tobytes()).hexdigest(),
            "input_sha256": hashlib.sha256(x.numpy().astype("<f4").tobytes()).hexdigest(),
            "samples": {f"{y},{x_},{c}": int(resized[y, x_, c])
                        for y, x_, c in [(0, 0, 0), (100, 200, 1), (resized.shape[0] - 1, resized.shape[1] - 1, 2)]},
        }
    with open(os.path.join(REPO, "tests", "fixtures", "golden", "sam_vit_preprocess.json"), "w") as f:
        json.dump(out, f, indent=2)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
