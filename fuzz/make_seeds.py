"""Seed corpora for the fuzz targets: small real files from the test data
(`scripts/fetch-testdata.sh`) and tiny synthetic files of every layout the decoders read.
Standard library only.  Usage: python3 fuzz/make_seeds.py TESTDATA_DIR CORPUS_DIR"""

import gzip
import os
import shutil
import struct
import sys
import zlib

testdata, corpus = sys.argv[1], sys.argv[2]
repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def put(target, name, data):
    os.makedirs(os.path.join(corpus, target), exist_ok=True)
    with open(os.path.join(corpus, target, name), "wb") as f:
        f.write(data)


def real(target, name):
    with open(os.path.join(testdata, name), "rb") as f:
        put(target, name, f.read())


for name in ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm", "MR_small_bigendian.dcm",
             "MR_small_RLE.dcm", "SC_rgb_rle.dcm", "SC_rgb_jpeg_dcmtk.dcm", "rtdose.dcm",
             "MR_small_jp2klossless.dcm", "MR_truncated.dcm"]:
    real("dicom", name)
real("labels", "liver_1frame.dcm")

# An 8×8×8 uint8 crop of the MNI152 T1, as the other formats' content.
with gzip.open(os.path.join(testdata, "mni152_t1.nii.gz")) as f:
    nii = f.read()
nx, ny = struct.unpack_from("<2h", nii, 42)
vox = int(struct.unpack_from("<f", nii, 108)[0])
crop = bytearray()
for z in range(90, 98):
    for y in range(110, 118):
        start = vox + (z * ny + y) * nx
        crop += nii[start + 95:start + 103]
crop = bytes(crop)


def nifti1(data, dims, datatype, bitpix, little=True, sform=True, slope=0.0):
    e = "<" if little else ">"
    h = bytearray(352)
    struct.pack_into(e + "i", h, 0, 348)
    struct.pack_into(e + "8h", h, 40, len(dims), *dims, *([1] * (7 - len(dims))))
    struct.pack_into(e + "2h", h, 70, datatype, bitpix)
    struct.pack_into(e + "8f", h, 76, -1.0, 1.0, 1.5, 2.0, 1, 1, 1, 1)
    struct.pack_into(e + "3f", h, 108, 352.0, slope, -3.0)
    if sform:
        struct.pack_into(e + "2h", h, 252, 1, 1)
        struct.pack_into(e + "3f", h, 256, 0.1, 0.2, 0.3)
        struct.pack_into(e + "12f", h, 280, -1, 0, 0, 10, 0, 1.5, 0, 20, 0, 0, 2, 30)
    h[344:348] = b"n+1\0"
    return bytes(h) + data


def nifti2(data, dims, datatype, bitpix):
    h = bytearray(544)
    struct.pack_into("<i", h, 0, 540)
    h[4:12] = b"n+2\0\r\n\x1a\n"
    struct.pack_into("<2h", h, 12, datatype, bitpix)
    struct.pack_into("<8q", h, 16, len(dims), *dims, *([1] * (7 - len(dims))))
    struct.pack_into("<8d", h, 104, 1.0, 1.0, 1.0, 1.0, 1, 1, 1, 1)
    struct.pack_into("<q", h, 168, 544)
    struct.pack_into("<2i", h, 344, 1, 0)
    struct.pack_into("<3d", h, 352, 0.0, 0.0, 0.0)
    return bytes(h) + data


i16 = b"".join(struct.pack("<h", v * 7 - 500) for v in crop)
niftis = {
    "u8.nii": nifti1(crop, [8, 8, 8], 2, 8),
    "u8_be_qform.nii": nifti1(crop, [8, 8, 8], 2, 8, little=False, sform=False),
    "i16_slope.nii": nifti1(i16, [8, 8, 8], 4, 16, slope=0.5),
    "rgb.nii": nifti1(crop[:8 * 8 * 3], [8, 8, 1], 128, 24),
    "f32_4d.nii": nifti1(b"".join(struct.pack("<f", v / 3) for v in crop[:256]) * 2, [4, 4, 4, 8], 16, 32),
    "u8.nii2": nifti2(crop, [8, 8, 8], 2, 8),
}
for name, data in niftis.items():
    put("nifti", name, data)
    put("nifti", name + ".gz", gzip.compress(data, mtime=0))
put("labels", "labels.nii", nifti1(bytes(v // 64 for v in crop), [8, 8, 8], 2, 8))

head = "NRRD0004\ntype: {t}\ndimension: {d}\nsizes: {s}\n{extra}endian: {e}\nencoding: {enc}\n\n"
space = "space: right-anterior-superior\nspace directions: (1,0,0) (0,1.5,0) (0,0,2)\nspace origin: (1,2,3)\nkinds: domain domain domain\n"
put("nrrd", "raw.nrrd", head.format(t="uchar", d=3, s="8 8 8", extra=space, e="little", enc="raw").encode() + crop)
put("nrrd", "gzip.nrrd", head.format(t="short", d=3, s="8 8 8", extra=space, e="big", enc="gzip").encode()
    + gzip.compress(b"".join(struct.pack(">h", v - 100) for v in crop), mtime=0))
put("nrrd", "ascii.nrrd", head.format(t="float", d=2, s="8 8", extra="spacings: 0.5 0.5\n", e="little", enc="ascii").encode()
    + " ".join(str(v / 2) for v in crop[:64]).encode())
put("nrrd", "rgb.nrrd", head.format(t="uchar", d=3, s="3 8 8", extra="kinds: RGB-color space space\n", e="little", enc="raw").encode() + crop[:192])
put("labels", "labels.nrrd", head.format(t="ushort", d=3, s="8 8 8", extra=space, e="little", enc="raw").encode()
    + b"".join(struct.pack("<H", v // 32) for v in crop))

# MetaImage: what SimpleITK writes (the committed fixtures, see their make_fixtures.py) and
# hand-made headers of every layout the decoder reads.
fixtures = os.path.join(repo, "crates/imaging/tests/fixtures/metaimage")
for name in ["mni152_crop.mha", "rgb_2d.mha", "mni152_crop_i16.mhd", "mni152_crop_f32.mhd"]:
    with open(os.path.join(fixtures, name), "rb") as f:
        put("metaimage", name, f.read())
mha = ("ObjectType = Image\nNDims = {n}\nBinaryData = {binary}\nBinaryDataByteOrderMSB = {msb}\n{extra}"
       "TransformMatrix = {matrix}\nOffset = {offset}\nElementSpacing = {spacing}\nDimSize = {dims}\n"
       "ElementType = {t}\nElementDataFile = {file}\n")
rot = "0 1 0 0 0 -1 1 0 0"
put("metaimage", "u8.mha", mha.format(n=3, binary="True", msb="False", extra="", matrix=rot, offset="1 2 3",
                                       spacing="1 1.5 2", dims="8 8 8", t="MET_UCHAR", file="LOCAL").encode() + crop)
put("metaimage", "i16_msb_zlib.mha", mha.format(
    n=3, binary="True", msb="True", extra="CompressedData = True\nAnatomicalOrientation = ASR\n", matrix=rot,
    offset="1 2 3", spacing="1 1 1", dims="8 8 8", t="MET_SHORT", file="LOCAL").encode()
    + zlib.compress(b"".join(struct.pack(">h", v * 3 - 100) for v in crop)))
put("metaimage", "f32_text.mha", mha.format(n=2, binary="False", msb="False", extra="", matrix="1 0 0 1",
                                             offset="0 0", spacing="0.5 0.5", dims="8 8", t="MET_FLOAT",
                                             file="LOCAL").encode() + " ".join(str(v / 2) for v in crop[:64]).encode())
put("metaimage", "rgb_tail.mha", mha.format(n=2, binary="True", msb="False",
                                             extra="ElementNumberOfChannels = 3\nHeaderSize = -1\n",
                                             matrix="1 0 0 1", offset="0 0", spacing="1 1", dims="8 8",
                                             t="MET_UCHAR", file="LOCAL").encode() + crop[:192])
put("metaimage", "f64_4d.mha", mha.format(n=4, binary="True", msb="False", extra="",
                                           matrix="-1 0 0 0 0 -1 0 0 0 0 1 0 0 0 0 1", offset="0 0 0 0",
                                           spacing="1 1 2 1", dims="4 4 4 2", t="MET_DOUBLE", file="LOCAL").encode()
    + b"".join(struct.pack("<d", v / 3) for v in crop[:128]))
# Detached: the fuzz target puts a 4 KiB `data.raw` beside the header.
put("metaimage", "detached.mhd", mha.format(n=3, binary="True", msb="False", extra="HeaderSize = 64\n",
                                             matrix=rot, offset="1 2 3", spacing="1 1 1", dims="8 8 4",
                                             t="MET_USHORT", file="data.raw").encode())
put("labels", "labels.mha", mha.format(n=3, binary="True", msb="False", extra="", matrix=rot, offset="1 2 3",
                                        spacing="1 1 1", dims="8 8 8", t="MET_UCHAR", file="LOCAL").encode()
    + bytes(v // 64 for v in crop))


def png(width, height, color_type, depth, rows):
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\0" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">2I5B", width, height, depth, color_type, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


rows8 = [crop[64 * z:64 * z + 8] for z in range(8)]
put("raster", "grey8.png", png(8, 8, 0, 8, rows8))
put("raster", "grey16.png", png(8, 8, 0, 16, [b"".join(struct.pack(">H", v * 200) for v in r) for r in rows8]))
put("raster", "rgb.png", png(4, 4, 2, 8, [crop[12 * y:12 * y + 12] for y in range(4)]))
put("raster", "grey.pgm", b"P5\n8 8\n255\n" + crop[:64])
put("raster", "rgb.ppm", b"P6\n4 4\n255\n" + crop[:48])
put("labels", "labels.png", png(8, 8, 0, 8, [bytes(v // 64 for v in r) for r in rows8]))
for name in ["nuclei_mask.png"]:
    with open(os.path.join(repo, "tests/fixtures/images", name), "rb") as f:
        put("labels", name, f.read())
        f.seek(0)
        put("raster", name, f.read())

# The server's stored volume format (imaging::Volume::encode): a 4×4×2 i16 volume.
hdr = bytearray(192)
hdr[0:8] = b"SSVOL001"
hdr[8:13] = bytes([3, 1, 0, 1, 1])
struct.pack_into("<3I", hdr, 16, 4, 4, 2)
struct.pack_into("<2d", hdr, 32, 1.0, -1024.0)
struct.pack_into("<3d", hdr, 48, 0.5, 0.5, 2.0)
struct.pack_into("<9d", hdr, 72, 1, 0, 0, 0, 1, 0, 0, 0, 1)
struct.pack_into("<3d", hdr, 144, -10.0, -20.0, 30.0)
struct.pack_into("<2d", hdr, 168, 40.0, 400.0)
put("volume_codec", "i16.vol", bytes(hdr) + b"".join(struct.pack("<h", v * 9) for v in crop[:32]))
print("seeds written to", corpus)
