//! Ground-truth mask files made safe to keep: re-encoded as a PNG of exactly the decoded
//! samples and nothing else, so no text, EXIF, ICC or TIFF tag of the upload (a patient
//! name, a date) survives, while every label value does.

use std::io::Cursor;

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ColorType, DynamicImage};

use crate::{ImagingError, Limits};

/// A mask re-encoded by [`clean_mask`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanMask {
    /// The PNG: IHDR, IDAT and IEND chunks only.
    pub png: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Decodes a mask image (PNG, TIFF, PNM or JPEG, 8 or 16 bits per sample) within
/// `limits` and re-encodes its samples, unchanged, as a PNG without any metadata chunk.
/// Volume formats and floating-point samples are refused.
pub fn clean_mask(bytes: &[u8], limits: &Limits) -> Result<CleanMask, ImagingError> {
    let format = crate::raster_format(bytes, limits, "mask")?;
    // The decoded samples, and at most as many again for the encoder's copy.
    let image = crate::decode_pixels(bytes, format, limits, 8)?;
    let color = image.color();
    if !matches!(
        color,
        ColorType::L8
            | ColorType::La8
            | ColorType::Rgb8
            | ColorType::Rgba8
            | ColorType::L16
            | ColorType::La16
            | ColorType::Rgb16
            | ColorType::Rgba16
    ) {
        return Err(ImagingError::Unsupported(
            "mask",
            format!("{color:?} samples; a mask has 8- or 16-bit whole-number samples"),
        ));
    }
    Ok(CleanMask {
        png: png_of(&image)?,
        width: image.width(),
        height: image.height(),
    })
}

fn png_of(image: &DynamicImage) -> Result<Vec<u8>, ImagingError> {
    let mut out = Cursor::new(Vec::new());
    let encoder =
        PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Adaptive);
    image
        .write_with_encoder(encoder)
        .map_err(|e| ImagingError::Corrupt("PNG", format!("re-encoding the mask: {e}")))?;
    Ok(out.into_inner())
}

/// Whether `bytes` are a PNG whose chunks are all image data (IHDR, PLTE, tRNS, IDAT,
/// IEND): no text, EXIF, ICC profile, time or private chunk.
pub fn is_clean_png(bytes: &[u8]) -> bool {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    let Some(mut rest) = bytes.strip_prefix(SIGNATURE) else {
        return false;
    };
    while rest.len() >= 12 {
        let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = &rest[4..8];
        if !matches!(kind, b"IHDR" | b"PLTE" | b"tRNS" | b"IDAT" | b"IEND") {
            return false;
        }
        let Some(next) = rest.get(12 + len..) else {
            return false;
        };
        if kind == b"IEND" {
            return next.is_empty();
        }
        rest = next;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, ImageFormat, Luma};

    /// `png` with a chunk of `kind` holding `data` inserted after IHDR.
    pub(crate) fn with_chunk(png: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let after_ihdr = 8 + 12 + 13;
        let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
        chunk.extend_from_slice(kind);
        chunk.extend_from_slice(data);
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        chunk.extend_from_slice(&crc32(&crc_input).to_be_bytes());
        [&png[..after_ihdr], &chunk, &png[after_ihdr..]].concat()
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn metadata_chunks_are_dropped_and_samples_kept() {
        for sixteen in [false, true] {
            let mut out = Cursor::new(Vec::new());
            if sixteen {
                ImageBuffer::from_fn(9, 5, |x, y| Luma([(x * 1000 + y) as u16]))
                    .write_to(&mut out, ImageFormat::Png)
                    .unwrap();
            } else {
                ImageBuffer::from_fn(9, 5, |x, y| Luma([(x + 3 * y) as u8]))
                    .write_to(&mut out, ImageFormat::Png)
                    .unwrap();
            }
            let plain = out.into_inner();
            assert!(is_clean_png(&plain));
            let tagged = with_chunk(&plain, b"tEXt", b"PatientName\0DOE^JANE");
            assert!(!is_clean_png(&tagged));
            let clean = clean_mask(&tagged, &Limits::default()).unwrap();
            assert!(is_clean_png(&clean.png));
            assert!(!clean.png.windows(11).any(|w| w == b"PatientName"));
            assert_eq!((clean.width, clean.height), (9, 5));
            let before = image::load_from_memory(&plain).unwrap();
            let after = image::load_from_memory(&clean.png).unwrap();
            assert_eq!(before.color(), after.color());
            assert_eq!(before.as_bytes(), after.as_bytes());
        }
        assert!(!is_clean_png(b"\x89PNG\r\n\x1a\n"));
        assert!(matches!(
            clean_mask(b"not a mask", &Limits::default()),
            Err(ImagingError::UnsupportedFormat(_))
        ));
    }
}
