//! Mapping any decoded pixel type to the encoder's 8-bit RGB.

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
        DynamicImage::ImageLuma16(_)
        | DynamicImage::ImageLumaA16(_)
        | DynamicImage::ImageRgb16(_)
        | DynamicImage::ImageRgba16(_) => {
            let values: Vec<f64> = image
                .to_rgb16()
                .into_raw()
                .into_iter()
                .map(f64::from)
                .collect();
            min_max(&values)
        }
        _ => {
            let values: Vec<f64> = image
                .to_rgb32f()
                .into_raw()
                .into_iter()
                .map(f64::from)
                .collect();
            min_max(&values)
        }
    }
}

/// Min–max over all finite values to 0..=255, rounding half up; non-finite values → 0.
fn min_max(values: &[f64]) -> (Vec<u8>, Conversion) {
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
