//! MetaImage (ITK's MetaIO): `.mha`, the header and the data in one file, and `.mhd`, a
//! header whose `ElementDataFile` names a separate data file (`.raw`, `.zraw`).
//!
//! Fields read (names are case-sensitive, as MetaIO reads them): `ObjectType` (`Image`),
//! `NDims` (2 to 4; with four dimensions the first 3-D volume is read), `DimSize`,
//! `ElementType` (`MET_UCHAR`, `MET_CHAR`, `MET_USHORT`, `MET_SHORT`, `MET_UINT`, `MET_INT`,
//! `MET_ULONG`, `MET_LONG` (4 bytes, as in MetaIO's type table), `MET_ULONG_LONG`,
//! `MET_LONG_LONG`, `MET_FLOAT`, `MET_DOUBLE`),
//! `ElementNumberOfChannels` (1; 3 or 4 are read as RGB), `ElementSpacing` (else
//! `ElementSize`), `Offset` / `Position` / `Origin`, `TransformMatrix` / `Rotation` /
//! `Orientation` (the direction of voxel axis `k` is the matrix's `k`-th group of `NDims`
//! values, in ITK's LPS world, as ITK writes it), `AnatomicalOrientation` (only when no
//! matrix is given, where ITK would take the identity: each letter is the side an axis comes
//! from, `RAI` = identity),
//! `BinaryData` (`False`: numbers as text), `BinaryDataByteOrderMSB` /
//! `ElementByteOrderMSB`, `CompressedData` (zlib, or gzip) with `CompressedDataSize`
//! (else the compressed stream runs to the end of the file), `HeaderSize` (where the data
//! start, counted from the start of the data file, or of the `.mha` itself, as MetaIO seeks;
//! `-1`: the data are the file's last bytes) and `ElementDataFile`, the last field. Every other field
//! (`Comment`, `Name`, `AcquisitionDate`, `ElementToIntensityFunction…`, which ITK does not
//! apply either, …) is skipped and never kept.
//!
//! `ElementDataFile = LOCAL`: the data follow the header. A file name is read only when the
//! header was read from a path ([`decode_file`]): it must be a relative path of plain
//! components (no root, no drive, no `..`), and is resolved against the header's folder, so a
//! header cannot make samscope read a file anywhere else; the header's own path, as the user
//! gave it, may be anywhere (symbolic links inside its folder are followed). `LIST` and
//! `%d` patterns (one file per slice) are refused by name.

mod data;
mod header;
#[cfg(test)]
mod tests;

use std::path::Path;

use crate::volume::Volume;
use crate::{ImagingError, Limits};
use data::{data_file_path, decode_data, read_data_file};
pub(crate) use header::is_metaimage;
use header::{DataFile, parse_header};

const FORMAT: &str = "MetaImage";

fn corrupt(reason: impl Into<String>) -> ImagingError {
    ImagingError::Corrupt(FORMAT, reason.into())
}

/// Decodes a MetaImage file held in memory within `limits`: a `.mha`, or any header whose
/// data are `LOCAL`. A detached header (`.mhd`) is refused with a message saying so, since
/// its data file is not in `bytes` (read it with [`decode_file`]).
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
    let header = parse_header(bytes)?;
    match header.data_file {
        DataFile::Local => decode_data(&header, bytes, header.data_start, limits),
        DataFile::Named(_) => Err(ImagingError::Unsupported(
            "MetaImage layout",
            "a detached header (.mhd): its voxels are in the separate file that \
             `ElementDataFile` names, which a single upload cannot carry; send a single-file .mha \
             (header and data in one file, e.g. written by SimpleITK as `scan.mha`), or give the \
             .mhd's path to the command line"
                .into(),
        )),
    }
}

/// Decodes the MetaImage header `bytes` read from `header_path` within `limits`, reading a
/// detached data file from the header's folder (see the module notes for what is allowed).
pub(crate) fn decode_file(
    bytes: &[u8],
    header_path: &Path,
    limits: &Limits,
) -> Result<Volume, ImagingError> {
    let header = parse_header(bytes)?;
    match &header.data_file {
        DataFile::Local => decode_data(&header, bytes, header.data_start, limits),
        DataFile::Named(name) => {
            let path = data_file_path(header_path, name)?;
            let data = read_data_file(&path, limits)?;
            decode_data(&header, &data, 0, limits)
        }
    }
}
