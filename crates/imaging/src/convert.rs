//! Mapping any decoded pixel type to the encoder's 8-bit RGB.
//!
//! 16-bit and floating-point images are mapped in two passes straight over the decoded
//! buffer (min/max, then map), so no wider copy of the image is ever made: the only new
//! buffer is the 8-bit RGB result.

use image::DynamicImage;

/// How source values became 8-bit.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Conversion {
    /// Already 8-bit; grey replicated to RGB, alpha dropped.
    Direct,
    /// Higher bit depth: `round((v - min) / (max - min) * 255)` over the whole image
    /// and all channels (a constant image maps to 0).
    MinMax {
        /// Smallest source value.
        min: f64,
        /// Largest source value.
        max: f64,
    },
    /// A volume slice through a window: `lower` → 0, `upper` → 255 (reversed when
    /// `inverted`, for MONOCHROME1).
    Window {
        /// Value shown black (white when inverted).
        lower: f64,
        /// Value shown white (black when inverted).
        upper: f64,
        /// MONOCHROME1.
        inverted: bool,
    },
}

/// Converts a decoded image to row-major RGB bytes, reporting how.
pub fn to_rgb8(image: &DynamicImage) -> (Vec<u8>, Conversion) {
    match image {
        DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgba8(_) => (image.to_rgb8().into_raw(), Conversion::Direct),
        DynamicImage::ImageLuma16(b) => min_max(b.as_raw(), 1, f64::from),
        DynamicImage::ImageLumaA16(b) => min_max(b.as_raw(), 2, f64::from),
        DynamicImage::ImageRgb16(b) => min_max(b.as_raw(), 3, f64::from),
        DynamicImage::ImageRgba16(b) => min_max(b.as_raw(), 4, f64::from),
        DynamicImage::ImageRgb32F(b) => min_max(b.as_raw(), 3, f64::from),
        DynamicImage::ImageRgba32F(b) => min_max(b.as_raw(), 4, f64::from),
        // A pixel type newer than this code: through f32 RGB.
        other => min_max(other.to_rgb32f().as_raw(), 3, f64::from),
    }
}

/// As [`to_rgb8`], consuming the image: an 8-bit RGB image becomes the result without a
/// copy, and the decoded buffer is freed as soon as the result exists.
pub(crate) fn into_rgb8(image: DynamicImage) -> (Vec<u8>, Conversion) {
    match image {
        DynamicImage::ImageRgb8(b) => (b.into_raw(), Conversion::Direct),
        other => to_rgb8(&other),
    }
}

/// Min–max over all finite values to 0..=255, rounding half up; non-finite values → 0.
///
/// `samples` are pixels of `stride` samples each: grey (+ alpha) when `stride` < 3,
/// replicated to RGB; else RGB (+ alpha). Alpha takes no part. Each value is computed in
/// f64 as it is read; no copy of `samples` is made.
fn min_max<T: Copy>(
    samples: &[T],
    stride: usize,
    value: impl Fn(T) -> f64,
) -> (Vec<u8>, Conversion) {
    let colours = if stride >= 3 { 3 } else { 1 };
    let (min, max) = samples
        .chunks_exact(stride)
        .flat_map(|px| &px[..colours])
        .map(|&s| value(s))
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let range = max - min;
    let byte = |v: f64| -> u8 {
        if !v.is_finite() || range <= 0.0 {
            0
        } else {
            ((v - min) / range * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
        }
    };
    let mut bytes = Vec::with_capacity(samples.len() / stride * 3);
    for px in samples.chunks_exact(stride) {
        if colours == 3 {
            bytes.extend(px[..3].iter().map(|&s| byte(value(s))));
        } else {
            let b = byte(value(px[0]));
            bytes.extend_from_slice(&[b, b, b]);
        }
    }
    (bytes, Conversion::MinMax { min, max })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, LumaA, Rgb, Rgba};

    /// The former implementation: every RGB value as an f64 copy, then min–max.
    fn reference(image: &DynamicImage) -> (Vec<u8>, Conversion) {
        let values: Vec<f64> = match image {
            DynamicImage::ImageLuma16(_)
            | DynamicImage::ImageLumaA16(_)
            | DynamicImage::ImageRgb16(_)
            | DynamicImage::ImageRgba16(_) => image
                .to_rgb16()
                .into_raw()
                .into_iter()
                .map(f64::from)
                .collect(),
            _ => image
                .to_rgb32f()
                .into_raw()
                .into_iter()
                .map(f64::from)
                .collect(),
        };
        let (min, max) = values
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| {
                (lo.min(v), hi.max(v))
            });
        let range = max - min;
        let bytes = values
            .iter()
            .map(|&v| {
                if !v.is_finite() || range <= 0.0 {
                    0
                } else {
                    ((v - min) / range * 255.0 + 0.5).floor().clamp(0.0, 255.0) as u8
                }
            })
            .collect();
        (bytes, Conversion::MinMax { min, max })
    }

    fn same_as_reference(image: DynamicImage) {
        let (bytes, conversion) = to_rgb8(&image);
        let (want, want_conversion) = reference(&image);
        assert_eq!(bytes, want, "{:?}", image.color());
        assert_eq!(
            format!("{conversion:?}"),
            format!("{want_conversion:?}"),
            "{:?}",
            image.color()
        );
        assert_eq!(into_rgb8(image).0, want);
    }

    #[test]
    fn sixteen_bit_and_float_match_the_f64_reference_bit_for_bit() {
        // Odd ramps so that many values land on .5 boundaries and rounding shows.
        let v16 = |x: u32, y: u32, c: u32| ((x * 977 + y * 131 + c * 4099) % 65536) as u16;
        same_as_reference(DynamicImage::ImageLuma16(ImageBuffer::from_fn(
            37,
            11,
            |x, y| Luma([v16(x, y, 0)]),
        )));
        same_as_reference(DynamicImage::ImageLumaA16(ImageBuffer::from_fn(
            37,
            11,
            |x, y| LumaA([v16(x, y, 0), 65535 - v16(x, y, 1)]),
        )));
        same_as_reference(DynamicImage::ImageRgb16(ImageBuffer::from_fn(
            37,
            11,
            |x, y| Rgb([v16(x, y, 0), v16(x, y, 1), v16(x, y, 2)]),
        )));
        same_as_reference(DynamicImage::ImageRgba16(ImageBuffer::from_fn(
            37,
            11,
            |x, y| Rgba([v16(x, y, 0), v16(x, y, 1), v16(x, y, 2), 65535]),
        )));
        // Alpha outside the colour range must not widen it.
        same_as_reference(DynamicImage::ImageRgba16(ImageBuffer::from_fn(
            4,
            1,
            |x, _| Rgba([100 + x as u16, 200, 300, if x == 0 { 0 } else { 65535 }]),
        )));
        let vf = |x: u32, y: u32, c: u32| match (x + y + c) % 17 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            n => (n as f32 - 8.3) * 1.7e3 + x as f32 * 0.01,
        };
        same_as_reference(DynamicImage::ImageRgb32F(ImageBuffer::from_fn(
            23,
            9,
            |x, y| Rgb([vf(x, y, 0), vf(x, y, 1), vf(x, y, 2)]),
        )));
        same_as_reference(DynamicImage::ImageRgba32F(ImageBuffer::from_fn(
            23,
            9,
            |x, y| Rgba([vf(x, y, 0), vf(x, y, 1), vf(x, y, 2), -1e9]),
        )));
        // Constant and all-NaN images map to 0.
        same_as_reference(DynamicImage::ImageLuma16(ImageBuffer::from_pixel(
            3,
            3,
            Luma([7]),
        )));
        same_as_reference(DynamicImage::ImageRgb32F(ImageBuffer::from_pixel(
            2,
            2,
            Rgb([f32::NAN; 3]),
        )));
    }

    #[test]
    fn grey_is_replicated_and_rgb8_is_taken_as_is() {
        let grey = DynamicImage::ImageLuma16(ImageBuffer::from_fn(3, 1, |x, _| {
            Luma([1000 + 500 * x as u16])
        }));
        assert_eq!(
            to_rgb8(&grey).0,
            vec![0, 0, 0, 128, 128, 128, 255, 255, 255]
        );
        let rgb = DynamicImage::ImageRgb8(ImageBuffer::from_fn(2, 1, |x, _| Rgb([x as u8, 9, 8])));
        assert_eq!(into_rgb8(rgb), (vec![0, 9, 8, 1, 9, 8], Conversion::Direct));
    }
}
