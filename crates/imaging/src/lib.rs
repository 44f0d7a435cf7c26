//! Decoding scans into volumes and 8-bit RGB images for the SAM encoder.
//!
//! Data flows one way: bytes → [`decode_scan`] → a raster [`DecodedImage`] (PNG, JPEG,
//! TIFF, PNM) or a [`Volume`] (DICOM, NIfTI-1/2, NRRD, MetaImage) → [`Volume::slice`] →
//! [`apply_window`] → 8-bit RGB → encoder. [`decode_scan_image`] does all of it for
//! callers that want one 2-D image; [`decode_image`] reads raster images only;
//! [`decode_scan_file`] is [`decode_scan`] for bytes read from a path, which a detached
//! MetaImage header (`.mhd`) needs to find its data file. Formats are recognised by
//! content, never by file name.
//!
//! Decoding is bounded: dimensions and allocations are checked against [`Limits`] from
//! the headers before anything is decoded, so a decompression bomb or a header that
//! claims absurd sizes is refused, not allocated.
//!
//! Privacy: a [`Volume`] holds voxels and geometry only. No patient, study or
//! institution attribute of a DICOM file (nor NIfTI `descrip` text, nor NRRD key/value
//! pairs, nor MetaImage `Comment`/`Name` fields) is kept, returned, logged or quoted in an error.

#![warn(missing_docs)]

mod convert;
mod dicom;
mod error;
mod gzip;
mod jpeg;
mod labels;
mod limits;
mod mask;
mod metaimage;
mod nifti;
mod nrrd;
mod samples;
mod sniff;
pub mod volume;
pub mod window;

use std::io::Cursor;
use std::path::Path;

use image::ImageReader;

pub use convert::{Conversion, to_rgb8};
pub use error::ImagingError;
pub use labels::decode_labels;
pub use limits::{Limits, with_admission};
pub use mask::{CleanMask, clean_mask, is_clean_png};
pub use sniff::{SourceFormat, detect};
pub use volume::{Axis, Geometry, Slice, Volume, apply_window};
pub use window::{Preset, ResolvedWindow, Window, WindowLevel};

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

/// What a file decodes to.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)] // one per decode; boxing buys nothing
pub enum Scan {
    /// A raster image (PNG, JPEG, TIFF, PNM), already 8-bit RGB.
    Image(DecodedImage),
    /// A volume (DICOM, NIfTI, NRRD, MetaImage): one slice or many, to be sliced and
    /// windowed.
    Volume(Volume),
}

/// `text` cut to `max` characters with anything but printable ASCII replaced, for
/// quoting format fields (never attribute values) in errors.
pub(crate) fn printable(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Decodes any supported file held in memory within `limits`.
///
/// A detached MetaImage header (`.mhd`, whose `ElementDataFile` names a separate data
/// file) is refused here with a message saying so: its voxels are not in `bytes` (read it
/// with [`decode_scan_file`]).
pub fn decode_scan(bytes: &[u8], limits: &Limits) -> Result<Scan, ImagingError> {
    decode_scan_in(bytes, None, limits)
}

/// As [`decode_scan`], for `bytes` read from the file at `path`: a detached MetaImage
/// header (`.mhd`) also reads the data file its `ElementDataFile` names, which must be a
/// relative path inside the header's folder (no root, drive or `..`); that file counts
/// against [`Limits::max_bytes`] as well. Every other format decodes exactly as with
/// [`decode_scan`], and `path` is not read.
pub fn decode_scan_file(bytes: &[u8], path: &Path, limits: &Limits) -> Result<Scan, ImagingError> {
    decode_scan_in(bytes, Some(path), limits)
}

fn decode_scan_in(
    bytes: &[u8],
    path: Option<&Path>,
    limits: &Limits,
) -> Result<Scan, ImagingError> {
    limits.check_input(bytes.len())?;
    let format = detect(bytes)?;
    match format {
        SourceFormat::Dicom => Ok(Scan::Volume(dicom::decode(bytes, limits)?)),
        SourceFormat::Nifti => Ok(Scan::Volume(nifti::decode(bytes, limits)?)),
        SourceFormat::Nrrd => Ok(Scan::Volume(nrrd::decode(bytes, limits)?)),
        SourceFormat::MetaImage => Ok(Scan::Volume(match path {
            Some(path) => metaimage::decode_file(bytes, path, limits)?,
            None => metaimage::decode(bytes, limits)?,
        })),
        raster => decode_raster(bytes, raster, limits).map(Scan::Image),
    }
}

/// A slice rendered to 8-bit RGB, with what was done to it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedSlice {
    /// The pixels (`format` is the volume's container).
    pub image: DecodedImage,
    /// The window applied.
    pub window: ResolvedWindow,
    /// Distance between columns and between rows, mm.
    pub pixel_spacing: [f64; 2],
}

impl Volume {
    /// Slice `index` along `axis`, windowed to 8-bit RGB (grey replicated) for the encoder;
    /// `format` is recorded in the result.
    pub fn render(
        &self,
        axis: Axis,
        index: usize,
        window: &Window,
        format: SourceFormat,
    ) -> Result<RenderedSlice, ImagingError> {
        let resolved = self.resolve_window(window)?;
        let slice = self.slice(axis, index)?;
        let rgb = apply_window(&slice, &resolved);
        let (lower, upper) = resolved
            .bounds
            .map_or((0.0, 255.0), |w| (w.lower(), w.upper()));
        Ok(RenderedSlice {
            image: DecodedImage {
                width: slice.width as u32,
                height: slice.height as u32,
                rgb,
                format,
                conversion: Conversion::Window {
                    lower,
                    upper,
                    inverted: resolved.invert,
                },
            },
            window: resolved,
            pixel_spacing: slice.pixel_spacing,
        })
    }

    /// Whether the volume is one image: a single slice along its stored slice axis.
    pub fn is_single_slice(&self) -> bool {
        self.dims()[2] == 1
    }
}

/// Decodes a raster image (PNG, JPEG, TIFF, PNM) held in memory to 8-bit RGB within
/// `limits`.
///
/// Grey is replicated to RGB; 16-bit and floating-point images are mapped to 8 bits by
/// min–max over the whole image (see [`to_rgb8`]); alpha is dropped. Volume formats
/// (DICOM, NIfTI, NRRD, MetaImage) are refused here, so a caller that keeps the uploaded
/// bytes can never keep a DICOM file's attributes by accident: read them with
/// [`decode_scan`] or [`decode_scan_image`].
pub fn decode_image(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImagingError> {
    let format = raster_format(bytes, limits, "input")?;
    decode_raster(bytes, format, limits)
}

/// The raster format of `bytes` (checked against `limits`); a volume format is refused,
/// naming `what` the bytes are for.
pub(crate) fn raster_format(
    bytes: &[u8],
    limits: &Limits,
    what: &'static str,
) -> Result<SourceFormat, ImagingError> {
    limits.check_input(bytes.len())?;
    let format = detect(bytes)?;
    if format.is_volume() {
        return Err(ImagingError::Unsupported(
            what,
            format!(
                "{} is a volume format; this reads PNG, JPEG, TIFF and PNM images",
                format.name()
            ),
        ));
    }
    Ok(format)
}

/// Decodes any supported file held in memory to one 8-bit RGB image within `limits`:
/// raster images as [`decode_image`] does; volumes with a single slice (a single-frame
/// DICOM, a 2-D NIfTI/NRRD/MetaImage) rendered as stored ([`Axis::Native`]) with the
/// [`Window::Default`] window. A volume with several slices is refused with a message
/// saying so (use [`decode_scan`] and [`Volume::render`]).
pub fn decode_scan_image(bytes: &[u8], limits: &Limits) -> Result<DecodedImage, ImagingError> {
    limits.check_input(bytes.len())?;
    let format = detect(bytes)?;
    match decode_scan(bytes, limits)? {
        Scan::Image(image) => Ok(image),
        Scan::Volume(volume) if volume.is_single_slice() => Ok(volume
            .render(Axis::Native, 0, &Window::Default, format)?
            .image),
        Scan::Volume(volume) => {
            let [x, y, z] = volume.dims();
            Err(ImagingError::BadRequest(format!(
                "this {} file is a volume of {x}×{y}×{z} voxels; choose a slice (axis and index)",
                format.name()
            )))
        }
    }
}

fn decode_raster(
    bytes: &[u8],
    format: SourceFormat,
    limits: &Limits,
) -> Result<DecodedImage, ImagingError> {
    // The decoded samples and the 8-bit RGB made from them.
    let image = decode_pixels(bytes, format, limits, 3)?;
    let (width, height) = (image.width(), image.height());
    let (rgb, conversion) = convert::into_rgb8(image);
    Ok(DecodedImage {
        width,
        height,
        rgb,
        format,
        conversion,
    })
}

/// A raster image's pixels as decoded, within `limits`, after asking the admission hook
/// ([`with_admission`]) for their bytes plus `then_per_pixel` bytes per pixel for what the
/// caller makes of them.
pub(crate) fn decode_pixels(
    bytes: &[u8],
    format: SourceFormat,
    limits: &Limits,
    then_per_pixel: u64,
) -> Result<image::DynamicImage, ImagingError> {
    let image_format = format
        .image_format()
        .ok_or_else(|| ImagingError::UnsupportedFormat(format.name().into()))?;
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(image_format);
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| ImagingError::Corrupt(format.name(), e.to_string()))?;
    limits.check_plane(u64::from(width), u64::from(height))?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_alloc);
    decoder_limits.max_image_width = Some(width);
    decoder_limits.max_image_height = Some(height);
    let image_error = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => ImagingError::TooLarge(l.to_string()),
        other => ImagingError::Corrupt(format.name(), other.to_string()),
    };
    if format == SourceFormat::Jpeg {
        jpeg::check_complete(bytes)?;
    }
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(image_format);
    reader.limits(decoder_limits);
    let decoder = reader.into_decoder().map_err(image_error)?;
    let decoded_bytes = image::ImageDecoder::total_bytes(&decoder);
    if decoded_bytes > limits.max_alloc {
        return Err(ImagingError::TooLarge(format!(
            "the decoded image needs {decoded_bytes} bytes, above the limit of {} bytes",
            limits.max_alloc
        )));
    }
    let pixels = u64::from(width) * u64::from(height);
    limits::admit(decoded_bytes.saturating_add(pixels.saturating_mul(then_per_pixel)))?;
    image::DynamicImage::from_decoder(decoder).map_err(image_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, ImageFormat, Luma, Rgb};

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
    fn truncated_png_tiff_and_jpeg_are_refused_not_filled() {
        let img = ImageBuffer::from_fn(64, 48, |x, y| Rgb([x as u8 * 3, y as u8 * 5, 17]));
        for format in [ImageFormat::Png, ImageFormat::Tiff, ImageFormat::Jpeg] {
            let mut out = Cursor::new(Vec::new());
            img.write_to(&mut out, format).unwrap();
            let whole = out.into_inner();
            assert!(
                decode_image(&whole, &Limits::default()).is_ok(),
                "{format:?}"
            );
            // (A PNG cut inside its final IEND chunk still holds every pixel.)
            for cut in [whole.len() / 2, whole.len() - 13] {
                assert!(
                    matches!(
                        decode_image(&whole[..cut], &Limits::default()),
                        Err(ImagingError::Corrupt(..))
                    ),
                    "{format:?} cut at {cut} of {}",
                    whole.len()
                );
            }
        }
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

    #[test]
    fn volumes_render_one_slice_and_refuse_several_in_decode_scan_image() {
        let one = nifti::tests::nifti1([3, 2, 1], None, true);
        let d = decode_scan_image(&one, &Limits::default()).unwrap();
        assert_eq!((d.width, d.height, d.format), (3, 2, SourceFormat::Nifti));
        assert!(matches!(
            decode_image(&one, &Limits::default()),
            Err(ImagingError::Unsupported(..))
        ));
        let many = nifti::tests::nifti1([3, 2, 4], None, true);
        let err = decode_scan_image(&many, &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("3×2×4"), "{err}");
        let Scan::Volume(v) = decode_scan(&many, &Limits::default()).unwrap() else {
            panic!("a volume")
        };
        let r = v
            .render(Axis::Axial, 3, &Window::MinMax, SourceFormat::Nifti)
            .unwrap();
        assert_eq!(r.image.rgb.len(), 3 * 2 * 3);
        assert_eq!(r.pixel_spacing, [2.0, 3.0]);
    }
}
