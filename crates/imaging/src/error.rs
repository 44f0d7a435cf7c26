//! The one error type of the imaging crate.

/// Why a scan could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// Not a format samscope reads.
    #[error("unsupported image format: {0}; samscope reads PNG, JPEG, TIFF and PNM (PPM/PGM)")]
    UnsupportedFormat(String),
    /// The container is recognised but its content is broken.
    #[error("corrupt or truncated {0} image: {1}")]
    Corrupt(&'static str, String),
    /// Width or height is zero.
    #[error("the image has no pixels (width or height is 0)")]
    NoPixels,
    /// Over a size limit.
    #[error("image too large: {0}")]
    TooLarge(String),
}
