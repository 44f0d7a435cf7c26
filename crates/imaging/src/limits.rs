//! Upper bounds for one decode, checked from headers before anything is allocated.

use crate::ImagingError;

/// Upper bounds for one decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Largest accepted image or slice, in pixels (width × height).
    pub max_pixels: u64,
    /// Largest allocation a decoder may make, in bytes; for volumes, the decoded voxels
    /// (and a decompressed file) must fit in it.
    pub max_alloc: u64,
}

impl Default for Limits {
    /// 64 MiB files, 100 megapixels, 2 GiB of decoder memory.
    fn default() -> Self {
        Self {
            max_bytes: 64 << 20,
            max_pixels: 100_000_000,
            max_alloc: 2 << 30,
        }
    }
}

impl Limits {
    /// Refuses an empty input or one over [`Limits::max_bytes`].
    pub(crate) fn check_input(&self, len: usize) -> Result<(), ImagingError> {
        if len == 0 {
            return Err(ImagingError::Empty);
        }
        if len > self.max_bytes {
            return Err(ImagingError::TooLarge(format!(
                "{len} bytes, above the limit of {} bytes",
                self.max_bytes
            )));
        }
        Ok(())
    }

    /// Refuses a `width × height` plane with no pixels or over [`Limits::max_pixels`].
    pub(crate) fn check_plane(&self, width: u64, height: u64) -> Result<(), ImagingError> {
        let pixels = width.saturating_mul(height);
        if pixels == 0 {
            return Err(ImagingError::NoPixels);
        }
        if pixels > self.max_pixels {
            return Err(ImagingError::TooLarge(format!(
                "{width}×{height} = {pixels} pixels per slice, above the limit of {} pixels",
                self.max_pixels
            )));
        }
        Ok(())
    }

    /// The byte size of `count` items of `item_bytes` each, refused when it overflows or is
    /// over [`Limits::max_alloc`]; `what` names the buffer in the message.
    pub(crate) fn alloc(
        &self,
        what: &str,
        count: u64,
        item_bytes: u64,
    ) -> Result<usize, ImagingError> {
        let bytes = count.checked_mul(item_bytes).ok_or_else(|| {
            ImagingError::TooLarge(format!("{what}: {count} × {item_bytes} bytes overflows"))
        })?;
        if bytes > self.max_alloc {
            return Err(ImagingError::TooLarge(format!(
                "{what} needs {bytes} bytes, above the limit of {} bytes",
                self.max_alloc
            )));
        }
        usize::try_from(bytes).map_err(|_| {
            ImagingError::TooLarge(format!(
                "{what} needs {bytes} bytes, more than this machine addresses"
            ))
        })
    }
}

/// The product of `dims`, or `None` when it overflows.
pub(crate) fn product(dims: &[u64]) -> Option<u64> {
    dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d))
}
