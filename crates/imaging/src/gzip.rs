//! Bounded gzip and zlib: `.nii.gz` files, NRRD's `encoding: gzip` and MetaImage's
//! `CompressedData` (zlib). The caller knows from the header how many bytes it needs and
//! checks them against the limits first; nothing here inflates more than it was asked for.

use std::io::Read;

use flate2::read::{MultiGzDecoder, ZlibDecoder};

use crate::ImagingError;

/// Whether `bytes` start with the gzip magic.
pub(crate) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// Up to `n` leading bytes of the decompressed stream (fewer when it is shorter).
pub(crate) fn prefix(data: &[u8], n: usize, format: &'static str) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::with_capacity(n);
    MultiGzDecoder::new(data)
        .take(n as u64)
        .read_to_end(&mut out)
        .map_err(|e| ImagingError::Corrupt(format, format!("gzip: {e}")))?;
    Ok(out)
}

/// Exactly the first `len` decompressed bytes; a shorter stream is reported as truncated.
/// `len` must already be checked against the limits.
pub(crate) fn exact(
    data: &[u8],
    len: usize,
    format: &'static str,
) -> Result<Vec<u8>, ImagingError> {
    read_exact(MultiGzDecoder::new(data), len, format, "gzip")
}

/// As [`exact`] for a zlib stream, or a gzip one (told by its magic), as MetaIO inflates
/// either.
pub(crate) fn zlib_exact(
    data: &[u8],
    len: usize,
    format: &'static str,
) -> Result<Vec<u8>, ImagingError> {
    if is_gzip(data) {
        exact(data, len, format)
    } else {
        read_exact(ZlibDecoder::new(data), len, format, "zlib")
    }
}

fn read_exact(
    stream: impl Read,
    len: usize,
    format: &'static str,
    codec: &str,
) -> Result<Vec<u8>, ImagingError> {
    let mut out = Vec::new();
    out.try_reserve_exact(len)
        .map_err(|_| ImagingError::TooLarge(format!("cannot allocate {len} bytes")))?;
    stream
        .take(len as u64)
        .read_to_end(&mut out)
        .map_err(|e| ImagingError::Corrupt(format, format!("{codec}: {e}")))?;
    if out.len() < len {
        return Err(ImagingError::Corrupt(
            format,
            format!(
                "the {codec} stream holds {} bytes, the header needs {len}",
                out.len()
            ),
        ));
    }
    Ok(out)
}
