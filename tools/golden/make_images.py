#!/usr/bin/env python3
"""Build the committed source images under tests/fixtures/images/ from upstream wheels.

Inputs are the *wheels* (zip files) as fetched with ``pip download --no-deps``:

    pip download --no-deps stardist==0.9.2 scikit-image==0.26.0 -d /tmp/golden-data

Outputs (8-bit PNGs, deterministic):

    tests/fixtures/images/nuclei.png       RGB, 512 x 357 (W x H)
    tests/fixtures/images/nuclei_mask.png  8-bit grey label map, same crop
    tests/fixtures/images/retina.png       RGB, 330 x 420 (W x H)

See tests/fixtures/README.md for provenance and licences.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import io
import os
import zipfile

import numpy as np
import tifffile
from PIL import Image

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(REPO, "tests", "fixtures", "images")

STARDIST_IMG = "stardist/data/images/img2d.tif"
STARDIST_MASK = "stardist/data/images/mask2d.tif"
SKIMAGE_RETINA = "skimage/data/retina.jpg"

# Crops, as (row0, row1, col0, col1), half-open, in the source image.
NUCLEI_CROP = (80, 437, 0, 512)  # 357 rows x 512 cols of the 512x512 img2d.tif
# retina.jpg is 1411x1411; crop (left, upper, right, lower) then box-reduce by 3.
RETINA_CROP_LURB = (0, 150, 990, 1410)  # -> 990 x 1260 -> reduce(3) -> 330 x 420
RETINA_REDUCE = 3


def _read_member(wheel: str, member: str) -> bytes:
    with zipfile.ZipFile(wheel) as z:
        return z.read(member)


def _find_wheel(directory: str, prefix: str) -> str:
    hits = sorted(glob.glob(os.path.join(directory, prefix + "-*.whl")))
    if not hits:
        raise SystemExit(f"no {prefix}-*.whl in {directory} (run pip download --no-deps ...)")
    return hits[-1]


def to_u8_minmax(a: np.ndarray) -> np.ndarray:
    """floor((x - min) * 255 / (max - min) + 0.5) over the whole image, exact integer arithmetic."""
    if a.dtype == np.uint8:
        return a
    if np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.int64)
        lo, hi = int(a.min()), int(a.max())
        d = max(hi - lo, 1)
        return ((2 * (a - lo) * 255 + d) // (2 * d)).astype(np.uint8)
    a = a.astype(np.float64)
    lo, hi = float(a.min()), float(a.max())
    d = max(hi - lo, 1e-12)
    return np.floor((a - lo) * 255.0 / d + 0.5).clip(0, 255).astype(np.uint8)


def make_nuclei(wheel: str) -> None:
    img = tifffile.imread(io.BytesIO(_read_member(wheel, STARDIST_IMG)))
    mask = tifffile.imread(io.BytesIO(_read_member(wheel, STARDIST_MASK)))
    assert img.shape == (512, 512) and mask.shape == (512, 512), (img.shape, mask.shape)
    print(f"img2d.tif {img.dtype} min={img.min()} max={img.max()}; mask2d.tif {mask.dtype} max={mask.max()}")
    u8 = to_u8_minmax(img)  # min-max over the WHOLE image, before cropping
    r0, r1, c0, c1 = NUCLEI_CROP
    u8 = u8[r0:r1, c0:c1]
    rgb = np.repeat(u8[:, :, None], 3, axis=2)
    Image.fromarray(rgb, "RGB").save(os.path.join(OUT_DIR, "nuclei.png"), optimize=True)
    m = mask[r0:r1, c0:c1]
    # Original stardist instance ids are kept (max 183 < 256), so an 8-bit label PNG is lossless.
    assert m.max() < 256
    Image.fromarray(m.astype(np.uint8), "L").save(os.path.join(OUT_DIR, "nuclei_mask.png"), optimize=True)


def make_retina(wheel: str) -> None:
    im = Image.open(io.BytesIO(_read_member(wheel, SKIMAGE_RETINA)))
    im.load()
    im = im.convert("RGB")
    assert im.size == (1411, 1411), im.size
    im = im.crop(RETINA_CROP_LURB).reduce(RETINA_REDUCE)  # box filter, exact integer average
    assert im.size == (330, 420), im.size
    im.save(os.path.join(OUT_DIR, "retina.png"), optimize=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheels", default="/tmp/golden-data", help="directory holding the downloaded wheels")
    ap.add_argument("--stardist-wheel", default=None)
    ap.add_argument("--skimage-wheel", default=None)
    args = ap.parse_args()
    sd = args.stardist_wheel or _find_wheel(args.wheels, "stardist")
    sk = args.skimage_wheel or _find_wheel(args.wheels, "scikit_image")
    os.makedirs(OUT_DIR, exist_ok=True)
    make_nuclei(sd)
    make_retina(sk)
    for name in ("nuclei.png", "nuclei_mask.png", "retina.png"):
        p = os.path.join(OUT_DIR, name)
        with open(p, "rb") as f:
            h = hashlib.sha256(f.read()).hexdigest()
        print(f"{name}: {os.path.getsize(p)} bytes sha256={h}")


if __name__ == "__main__":
    main()
