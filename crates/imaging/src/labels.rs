//! Label maps and label volumes (ground-truth segmentations): one whole number ≥ 0 per
//! voxel, sliced with [`Volume::label_slice`] on the same grid as the image volume.

use std::io::Cursor;

use image::{DynamicImage, ImageReader};

use crate::volume::{Geometry, Voxels, with_samples};
use crate::{ImagingError, Limits, Scan, SourceFormat, Volume, decode_scan};

/// Decodes a label map (8/16-bit grey PNG, TIFF or PNM, or RGB with R = G = B) or a
/// label volume (NIfTI, NRRD, MetaImage `.mha`, DICOM with one sample per pixel) within
/// `limits`. Every value must be a whole number ≥ 0 (after the file's rescale).
pub fn decode_labels(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
    limits.check_input(bytes.len())?;
    let format = crate::detect(bytes)?;
    if let Some(image_format) = format.image_format() {
        return raster_labels(bytes, format, image_format, limits);
    }
    let Scan::Volume(volume) = decode_scan(bytes, limits)? else {
        unreachable!("volume formats decode to volumes")
    };
    if volume.channels() != 1 {
        return Err(ImagingError::Unsupported(
            "label volume",
            "colour voxels; a label volume has one value per voxel".into(),
        ));
    }
    let rescale = volume.rescale();
    let all_labels = with_samples!(volume.voxels(), v => v.iter().all(|&s| {
        let x = rescale.apply(crate::volume::Sample::to_f64(s));
        x >= 0.0 && x <= f64::from(u32::MAX) && x.fract() == 0.0
    }));
    if !all_labels {
        return Err(ImagingError::BadRequest(
            "not a label volume: some values are negative or not whole numbers".into(),
        ));
    }
    Ok(volume)
}

fn raster_labels(
    bytes: &[u8],
    format: SourceFormat,
    image_format: image::ImageFormat,
    limits: &Limits,
) -> Result<Volume, ImagingError> {
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(image_format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| ImagingError::Corrupt(format.name(), e.to_string()))?;
    limits.check_plane(u64::from(width), u64::from(height))?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_alloc);
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(image_format);
    reader.limits(decoder_limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => ImagingError::TooLarge(l.to_string()),
        other => ImagingError::Corrupt(format.name(), other.to_string()),
    })?;
    let dims = [width as usize, height as usize, 1];
    let voxels = match image {
        DynamicImage::ImageLuma8(g) => Voxels::U8(g.into_raw()),
        DynamicImage::ImageLuma16(g) => Voxels::U16(g.into_raw()),
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) | DynamicImage::ImageLumaA8(_) => {
            let rgb = image.to_rgb8();
            if !rgb.pixels().all(|p| p[0] == p[1] && p[1] == p[2]) {
                return Err(ImagingError::BadRequest(
                    "a colour label map; labels must be grey (one value per class, or R = G = B)"
                        .into(),
                ));
            }
            Voxels::U8(rgb.pixels().map(|p| p[0]).collect())
        }
        DynamicImage::ImageLumaA16(_) => Voxels::U16(image.to_luma16().into_raw()),
        _ => {
            return Err(ImagingError::Unsupported(
                "label map",
                "pixel type; label maps are 8- or 16-bit grey".into(),
            ));
        }
    };
    Volume::new(dims, 1, voxels, Geometry::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Axis;

    #[test]
    fn png_labels_and_nifti_label_volumes_slice_alike() {
        let img = image::GrayImage::from_fn(3, 2, |x, y| image::Luma([(x + 3 * y) as u8]));
        let mut png = Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let v = decode_labels(png.get_ref(), &Limits::default()).unwrap();
        assert_eq!(
            v.label_slice(Axis::Native, 0).unwrap().labels,
            vec![0, 1, 2, 3, 4, 5]
        );

        // scl_slope 2, scl_inter −10: values −10, −8, … are not labels.
        let nii = crate::nifti::tests::nifti1([3, 2, 2], None, true);
        assert!(decode_labels(&nii, &Limits::default()).is_err());
    }
}
