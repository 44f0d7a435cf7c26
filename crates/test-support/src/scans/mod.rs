//! Small scan files written by hand, byte for byte, for tests that need a file of a known
//! shape: NIfTI-1 ([`Nifti1`]), MetaImage ([`mha`]), NRRD ([`nrrd`]), DICOM ([`dicom`]),
//! and the gzip / zlib streams they may be wrapped in.

pub mod dicom;
mod nifti;

use std::io::Write;

pub use nifti::Nifti1;

/// `data` as a gzip stream (fast compression, as the scanners' writers default to).
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("writes to memory");
    e.finish().expect("writes to memory")
}

/// `data` as a zlib stream (MetaImage's `CompressedData = True`).
pub fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).expect("writes to memory");
    e.finish().expect("writes to memory")
}

/// A single-file MetaImage (`.mha`): `fields` (whole lines, each ending in `\n`), then
/// `ElementDataFile = LOCAL`, then `data`.
pub fn mha(fields: &str, data: &[u8]) -> Vec<u8> {
    let mut out = format!("{fields}ElementDataFile = LOCAL\n").into_bytes();
    out.extend_from_slice(data);
    out
}

/// An attached-data NRRD: `header` (from the magic line through the blank line that ends
/// it), then `data`.
pub fn nrrd(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = header.as_bytes().to_vec();
    out.extend_from_slice(data);
    out
}
