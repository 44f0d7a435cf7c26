//! The one error type of the imaging crate.

/// Why a scan could not be decoded.
///
/// Messages name the format, the field and the numbers involved; they never quote a text
/// attribute of the file (a DICOM or NIfTI header can carry patient data).
#[derive(Debug, thiserror::Error)]
pub enum ImagingError {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// Not a format samscope reads.
    #[error(
        "unsupported image format: {0}; samscope reads PNG, JPEG, TIFF, PNM (PPM/PGM), DICOM, NIfTI-1/2 (.nii, .nii.gz), NRRD and MetaImage (.mha, .mhd)"
    )]
    UnsupportedFormat(String),
    /// A format samscope reads, in a variant it does not (a transfer syntax, data type,
    /// encoding or layout); the message names it.
    #[error("unsupported {0}: {1}")]
    Unsupported(&'static str, String),
    /// The container is recognised but its content is broken.
    #[error("corrupt or truncated {0} image: {1}")]
    Corrupt(&'static str, String),
    /// Width or height is zero.
    #[error("the image has no pixels (width or height is 0)")]
    NoPixels,
    /// Over a size limit.
    #[error("image too large: {0}")]
    TooLarge(String),
    /// A slice or window request that does not fit the volume.
    #[error("{0}")]
    BadRequest(String),
}
