"""Reference values for samscope's real-file imaging tests (crates/imaging/tests/real_files.rs).

Reads the files `scripts/fetch-testdata.sh` puts in $SAMSCOPE_TESTDATA (default
~/.cache/samscope/testdata) with pydicom (+ pylibjpeg for JPEG), nibabel and pynrrd, and prints
Rust constants: physical values (rescale applied) at chosen voxels, geometry, and slices of the
MNI152 volume in display orientation computed from nibabel's closest canonical (RAS) image.

    python3 -m venv /tmp/med-venv
    /tmp/med-venv/bin/pip install numpy nibabel pydicom==3.0.2 pynrrd pylibjpeg pylibjpeg-libjpeg
    /tmp/med-venv/bin/python tools/golden/make_medical_golden.py \
        > crates/imaging/tests/support/golden.rs
    cargo fmt -p samscope-imaging
"""

import os
import sys

import nibabel as nib
import nrrd
import numpy as np
import pydicom
from pydicom.pixels import apply_color_lut, apply_modality_lut

DATA = os.environ.get("SAMSCOPE_TESTDATA", os.path.expanduser("~/.cache/samscope/testdata"))
rng = np.random.default_rng(20240601)


def points(shape, arr, n=4):
    """(i, j, k) voxel indices: n seeded random ones in the middle half of each axis (where
    the anatomy is), plus the argmin and argmax."""
    nk, nj, ni = shape
    mid = lambda n: int(rng.integers(n // 4, max(n // 4 + 1, 3 * n // 4)))
    out = [(mid(ni), mid(nj), mid(nk)) for _ in range(n)]
    for idx in (np.unravel_index(np.argmin(arr), arr.shape), np.unravel_index(np.argmax(arr), arr.shape)):
        k, j, i = (int(v) for v in idx[:3])
        out.append((i, j, k))
    return out


def fmt(v):
    return repr(float(v)) if not float(v).is_integer() else f"{float(v):.1f}"


def dicom(name, rgb=False):
    ds = pydicom.dcmread(os.path.join(DATA, name))
    arr = ds.pixel_array
    pi = ds.PhotometricInterpretation
    frames = int(ds.get("NumberOfFrames", 1))
    if pi == "PALETTE COLOR":
        arr = apply_color_lut(arr, ds)
        if arr.dtype != np.uint8:
            arr = (arr >> 8).astype(np.uint8)
    elif not rgb:
        arr = apply_modality_lut(arr, ds).astype(np.float64)
        if "DoseGridScaling" in ds and "RescaleSlope" not in ds:
            arr = ds.pixel_array.astype(np.float64) * float(ds.DoseGridScaling)
    if frames == 1:
        arr = arr[np.newaxis]
    if arr.ndim == 3:
        arr = arr[..., np.newaxis]  # k, j, i, c
    k, j, i, c = arr.shape
    print(f"/// {name}: {ds.file_meta.TransferSyntaxUID.name}, {pi}")
    const = name.split(".")[0].upper().replace("-", "_")
    print(f"pub const {const}_DIMS: [usize; 4] = [{i}, {j}, {k}, {c}];")
    pts = points((k, j, i), arr[..., 0])
    vals = ", ".join(
        f"({pi_}, {pj}, {pk}, {ch}, {fmt(arr[pk, pj, pi_, ch])})" for (pi_, pj, pk) in pts for ch in range(c)
    )
    print(f"pub const {const}_VALUES: &[(usize, usize, usize, usize, f64)] = &[{vals}];")
    if "PixelSpacing" in ds:
        ps = [float(v) for v in ds.PixelSpacing]
        print(f"pub const {const}_PIXEL_SPACING: [f64; 2] = [{fmt(ps[1])}, {fmt(ps[0])}];")
    if "ImagePositionPatient" in ds:
        ipp = ", ".join(fmt(v) for v in ds.ImagePositionPatient)
        print(f"pub const {const}_ORIGIN: [f64; 3] = [{ipp}];")
    if "ImageOrientationPatient" in ds:
        iop = ", ".join(fmt(v) for v in ds.ImageOrientationPatient)
        print(f"pub const {const}_ORIENTATION: [f64; 6] = [{iop}];")
    if "GridFrameOffsetVector" in ds:
        off = [float(v) for v in ds.GridFrameOffsetVector]
        print(f"pub const {const}_SLICE_SPACING: f64 = {fmt(abs(off[1] - off[0]))};")
    if "WindowCenter" in ds:
        wc = ds.WindowCenter if not isinstance(ds.WindowCenter, pydicom.multival.MultiValue) else ds.WindowCenter[0]
        ww = ds.WindowWidth if not isinstance(ds.WindowWidth, pydicom.multival.MultiValue) else ds.WindowWidth[0]
        print(f"pub const {const}_WINDOW: (f64, f64) = ({fmt(wc)}, {fmt(ww)});")
    print()


def mni():
    img = nib.load(os.path.join(DATA, "mni152_t1.nii.gz"))
    data = np.asarray(img.dataobj)  # i, j, k
    print("/// mni152_t1.nii.gz (nibabel)")
    print(f"pub const MNI_DIMS: [usize; 3] = {list(data.shape)};")
    pts = points(data.shape[::-1], data.transpose(2, 1, 0))
    vals = ", ".join(f"({i}, {j}, {k}, {fmt(data[i, j, k])})" for i, j, k in pts)
    print(f"pub const MNI_VALUES: &[(usize, usize, usize, f64)] = &[{vals}];")
    aff = img.affine
    rows = ", ".join("[" + ", ".join(fmt(v) for v in aff[r]) + "]" for r in range(3))
    print(f"/// RAS affine rows (nibabel `img.affine`).")
    print(f"pub const MNI_RAS_AFFINE: [[f64; 4]; 3] = [{rows}];")
    # Display slices from the closest canonical (RAS+) image: columns go to the patient's
    # left (−R), rows to posterior (axial) or inferior (coronal, sagittal).
    can = nib.as_closest_canonical(img)
    d = np.asarray(can.dataobj)
    nx, ny, nz = d.shape
    axial = lambda k: d[::-1, ::-1, k].T  # [y, x] = d[nx-1-x, ny-1-y, k]
    coronal = lambda j: d[::-1, j, ::-1].T  # [y, x] = d[nx-1-x, j, nz-1-y]
    sagittal = lambda i: d[i, ::-1, ::-1].T  # [y, x] = d[i, ny-1-x, nz-1-y]
    print("/// (slice index, [width, height], [(x, y, value)]).")
    print("pub type DisplaySlice = (usize, [usize; 2], &'static [(usize, usize, f64)]);")
    for name, f, index in (("AXIAL", axial, 90), ("CORONAL", coronal, 120), ("SAGITTAL", sagittal, 80)):
        s = f(index)
        pts = [(int(rng.integers(s.shape[1] // 4, 3 * s.shape[1] // 4)), int(rng.integers(s.shape[0] // 4, 3 * s.shape[0] // 4))) for _ in range(6)]
        vals = ", ".join(f"({x}, {y}, {fmt(s[y, x])})" for x, y in pts)
        print(f"pub const MNI_{name}: DisplaySlice = ({index}, [{s.shape[1]}, {s.shape[0]}], &[{vals}]);")
    print()


def nrrd_crop():
    data, header = nrrd.read(os.path.join(DATA, "mni152_crop.nrrd"))  # i, j, k
    print("/// mni152_crop.nrrd (pynrrd)")
    print(f"pub const NRRD_DIMS: [usize; 3] = {list(data.shape)};")
    pts = points(data.shape[::-1], data.transpose(2, 1, 0))
    vals = ", ".join(f"({i}, {j}, {k}, {fmt(data[i, j, k])})" for i, j, k in pts)
    print(f"pub const NRRD_VALUES: &[(usize, usize, usize, f64)] = &[{vals}];")
    origin = ", ".join(fmt(v) for v in header["space origin"])
    print(f"/// `space origin` (RAS).")
    print(f"pub const NRRD_RAS_ORIGIN: [f64; 3] = [{origin}];")
    print("/// Offset of the crop in the MNI152 voxel grid.")
    print("pub const NRRD_CROP_OFFSET: [usize; 3] = [50, 60, 40];")
    print()


if __name__ == "__main__":
    print("// Generated by tools/golden/make_medical_golden.py; do not edit.")
    print(f"// pydicom {pydicom.__version__}, nibabel {nib.__version__}, numpy {np.__version__}")
    print()
    for name in ("CT_small.dcm", "MR_small.dcm", "rtdose.dcm", "RG1_UNCI.dcm", "JPEG-LL.dcm", "liver_1frame.dcm"):
        dicom(name)
    for name in ("SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm", "examples_palette.dcm"):
        dicom(name, rgb=True)
    mni()
    nrrd_crop()
    sys.stdout.flush()
