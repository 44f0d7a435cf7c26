//! Telling formats apart by content, never by file name.

use image::ImageFormat;

use crate::{ImagingError, gzip};

/// The container a scan came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// TIFF.
    Tiff,
    /// Netpbm (PPM/PGM), as STARE ships its fundus photographs.
    Pnm,
    /// DICOM Part 10 (`DICM` after the 128-byte preamble).
    Dicom,
    /// NIfTI-1 or NIfTI-2 single file (`.nii`), possibly gzipped (`.nii.gz`).
    Nifti,
    /// NRRD with the data attached (`.nrrd`).
    Nrrd,
    /// MetaImage (ITK's MetaIO): `.mha`, or a `.mhd` header read from a path.
    MetaImage,
}

impl SourceFormat {
    /// Short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Png => "png",
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Tiff => "tiff",
            SourceFormat::Pnm => "pnm",
            SourceFormat::Dicom => "dicom",
            SourceFormat::Nifti => "nifti",
            SourceFormat::Nrrd => "nrrd",
            SourceFormat::MetaImage => "metaimage",
        }
    }

    /// Whether it is decoded as a volume (with geometry and a window) rather than as an
    /// 8/16-bit raster image.
    pub fn is_volume(self) -> bool {
        matches!(
            self,
            SourceFormat::Dicom
                | SourceFormat::Nifti
                | SourceFormat::Nrrd
                | SourceFormat::MetaImage
        )
    }

    pub(crate) fn image_format(self) -> Option<ImageFormat> {
        match self {
            SourceFormat::Png => Some(ImageFormat::Png),
            SourceFormat::Jpeg => Some(ImageFormat::Jpeg),
            SourceFormat::Tiff => Some(ImageFormat::Tiff),
            SourceFormat::Pnm => Some(ImageFormat::Pnm),
            _ => None,
        }
    }
}

/// Where a DICOM file's `DICM` marker is: after the 128-byte preamble, or at the start
/// when the preamble was stripped.
pub(crate) fn dicom_preamble(bytes: &[u8]) -> Option<usize> {
    if bytes.get(128..132) == Some(b"DICM") {
        Some(128)
    } else if bytes.starts_with(b"DICM") {
        Some(0)
    } else {
        None
    }
}

/// NIfTI-1 (348-byte header) or NIfTI-2 (540) in either byte order.
pub(crate) fn nifti_header_size(bytes: &[u8]) -> Option<usize> {
    let head: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    [i32::from_le_bytes(head), i32::from_be_bytes(head)]
        .into_iter()
        .find(|&n| n == 348 || n == 540)
        .map(|n| n as usize)
}

/// Detects the format of `bytes` from their content.
pub fn detect(bytes: &[u8]) -> Result<SourceFormat, ImagingError> {
    if dicom_preamble(bytes).is_some() {
        return Ok(SourceFormat::Dicom);
    }
    if bytes.starts_with(b"NRRD000") {
        return Ok(SourceFormat::Nrrd);
    }
    if nifti_header_size(bytes).is_some() {
        return Ok(SourceFormat::Nifti);
    }
    if crate::metaimage::is_metaimage(bytes) {
        return Ok(SourceFormat::MetaImage);
    }
    if gzip::is_gzip(bytes) {
        let head = gzip::prefix(bytes, 4, "gzip")?;
        if nifti_header_size(&head).is_some() {
            return Ok(SourceFormat::Nifti);
        }
        return Err(ImagingError::UnsupportedFormat(
            "gzip-compressed data that is not a NIfTI file".into(),
        ));
    }
    match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => Ok(SourceFormat::Png),
        Ok(ImageFormat::Jpeg) => Ok(SourceFormat::Jpeg),
        Ok(ImageFormat::Tiff) => Ok(SourceFormat::Tiff),
        Ok(ImageFormat::Pnm) => Ok(SourceFormat::Pnm),
        Ok(other) => Err(ImagingError::UnsupportedFormat(format!("{other:?}"))),
        Err(_) => Err(ImagingError::UnsupportedFormat(
            "unrecognised data (not PNG, JPEG, TIFF, PNM, DICOM, NIfTI, NRRD or MetaImage)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_medical_formats_by_content() {
        let mut dicom = vec![0u8; 132];
        dicom[128..].copy_from_slice(b"DICM");
        assert_eq!(detect(&dicom).unwrap(), SourceFormat::Dicom);
        assert_eq!(
            detect(b"NRRD0004\ntype: uchar\n").unwrap(),
            SourceFormat::Nrrd
        );
        let mut nii = vec![0u8; 352];
        nii[..4].copy_from_slice(&348i32.to_le_bytes());
        assert_eq!(detect(&nii).unwrap(), SourceFormat::Nifti);
        nii[..4].copy_from_slice(&540i32.to_be_bytes());
        assert_eq!(detect(&nii).unwrap(), SourceFormat::Nifti);
        let gz = test_support::scans::gzip(&nii);
        assert_eq!(detect(&gz).unwrap(), SourceFormat::Nifti);
        assert!(detect(b"\x1f\x8bjunk").is_err());
        assert_eq!(
            detect(b"ObjectType = Image\nNDims = 3\n").unwrap(),
            SourceFormat::MetaImage
        );
        assert!(matches!(
            detect(b"hello"),
            Err(ImagingError::UnsupportedFormat(_))
        ));
    }
}
