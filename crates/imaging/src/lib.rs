//! Decoding scans into 8-bit RGB for the SAM encoder.
//!
//! Data flows one way: bytes → [`decode_image`] → [`DecodedImage`] (8-bit RGB) → encoder.
//! Decoding is bounded: dimensions and allocations are checked against [`Limits`]
//! before pixels are decoded, so a decompression bomb is refused, not allocated.

#![warn(missing_docs)]

mod convert;
mod error;

use std::io::Cursor;

use image::{ImageFormat, ImageReader};

pub use convert::{Conversion, to_rgb8};
pub use error::ImagingError;

/// Upper bounds for one decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Largest accepted image, in pixels (width × height).
    pub max_pixels: u64,
    /// Largest allocation the decoder may make, in bytes.
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

/// The container a scan came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// PNG.
    Png,
    /// JPEG.
    Jpeg,
    /// TIFF.
    Tiff,
    /// Netpbm (PPM/PGM), as STARE ships its fundus photographs.
    Pnm,
}

impl SourceFormat {
    fn image_format(self) -> ImageFormat {
        match self {
            SourceFormat::Png => ImageFormat::Png,
            SourceFormat::Jpeg => ImageFormat::Jpeg,
            SourceFormat::Tiff => ImageFormat::Tiff,
            SourceFormat::Pnm => ImageFormat::Pnm,
        }
    }

    /// Short lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            SourceFormat::Png => "png",
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Tiff => "tiff",
            SourceFormat::Pnm => "pnm",
        }
    }
}

/// A decoded image as the encoder wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major `height × width × 3` bytes.
    pub rgb: Vec<u8>,
    /// Container it came from.
    pub format: SourceFormat,
    /// How the source pixels were mapped to 8-bit RGB.
    pub conversion: Conversion,
}

fn detect(bytes: &[u8]) -> Result<SourceFormat, ImagingError> {
    match image::guess_format(bytes) {
        Ok(ImageFormat::Png) => Ok(SourceFormat::Png),
        Ok(ImageFormat::Jpeg) => Ok(SourceFormat::Jpeg),
        Ok(ImageFormat::Tiff) => Ok(SourceFormat::Tiff),
        Ok(ImageFormat::Pnm) => Ok(SourceFormat::Pnm),
        Ok(other) => Err(ImagingError::UnsupportedFormat(format!("{other:?}"))),
        Err(_) => Err(ImagingError::UnsupportedFormat(
            "unrecognised data (not PNG, JPEG, TIFF or PNM)".into(),
        )),
    }
}

/// Decodes a PNG, JPEG, TIFF or PNM (PPM/PGM) held in memory to 8-bit RGB within `limits`.
///
/// Grey images are replicated to RGB; 16-bit and floating-point images are mapped to
/// 8 bits by min–max over the whole image (see [`to_rgb8`]); alpha is dropped.
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImagingError> {
    if bytes.is_empty() {
        return Err(ImagingError::Empty);
    }
    if bytes.len() > limits.max_bytes {
        return Err(ImagingError::TooLarge(format!(
            "{} bytes, above the limit of {} bytes",
            bytes.len(),
            limits.max_bytes
        )));
    }
    let format = detect(bytes)?;
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format.image_format());
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| ImagingError::Corrupt(format.name(), e.to_string()))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 {
        return Err(ImagingError::NoPixels);
    }
    if pixels > limits.max_pixels {
        return Err(ImagingError::TooLarge(format!(
            "{width}×{height} = {pixels} pixels, above the limit of {} pixels",
            limits.max_pixels
        )));
    }
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_alloc);
    decoder_limits.max_image_width = Some(width);
    decoder_limits.max_image_height = Some(height);
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format.image_format());
    reader.limits(decoder_limits);
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(l) => ImagingError::TooLarge(l.to_string()),
        other => ImagingError::Corrupt(format.name(), other.to_string()),
    })?;
    let (rgb, conversion) = to_rgb8(&image);
    Ok(DecodedImage {
        width,
        height,
        rgb,
        format,
        conversion,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, Rgb};

    fn png_bytes<P: image::PixelWithColorType>(img: &ImageBuffer<P, Vec<P::Subpixel>>) -> Vec<u8>
    where
        [P::Subpixel]: image::EncodableLayout,
    {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn decodes_rgb_png_unchanged() {
        let img = ImageBuffer::from_fn(3, 2, |x, y| Rgb([x as u8, y as u8, 7]));
        let d = decode_image(&png_bytes(&img), &Limits::default()).unwrap();
        assert_eq!((d.width, d.height, d.format), (3, 2, SourceFormat::Png));
        assert_eq!(&d.rgb[..6], &[0, 0, 7, 1, 0, 7]);
    }

    #[test]
    fn grey16_is_min_max_scaled_and_replicated() {
        let img: ImageBuffer<Luma<u16>, Vec<u16>> =
            ImageBuffer::from_fn(3, 1, |x, _| Luma([1000 + 500 * x as u16]));
        let d = decode_image(&png_bytes(&img), &Limits::default()).unwrap();
        assert_eq!(d.rgb, vec![0, 0, 0, 128, 128, 128, 255, 255, 255]);
    }

    #[test]
    fn decodes_binary_ppm() {
        let mut ppm = b"P6\n2 1\n255\n".to_vec();
        ppm.extend_from_slice(&[10, 20, 30, 40, 50, 60]);
        let d = decode_image(&ppm, &Limits::default()).unwrap();
        assert_eq!((d.width, d.height, d.format), (2, 1, SourceFormat::Pnm));
        assert_eq!(d.rgb, vec![10, 20, 30, 40, 50, 60]);
    }

    #[test]
    fn refuses_empty_text_truncated_and_oversized() {
        let limits = Limits::default();
        assert!(matches!(
            decode_image(b"", &limits),
            Err(ImagingError::Empty)
        ));
        assert!(matches!(
            decode_image(b"hello, not an image", &limits),
            Err(ImagingError::UnsupportedFormat(_))
        ));
        let img = ImageBuffer::from_fn(64, 64, |x, y| Rgb([x as u8, y as u8, 0]));
        let bytes = png_bytes(&img);
        assert!(matches!(
            decode_image(&bytes[..bytes.len() / 2], &limits),
            Err(ImagingError::Corrupt(..))
        ));
        let small = Limits {
            max_pixels: 100,
            ..limits
        };
        assert!(matches!(
            decode_image(&bytes, &small),
            Err(ImagingError::TooLarge(_))
        ));
    }
}
