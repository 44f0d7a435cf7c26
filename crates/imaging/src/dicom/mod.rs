//! DICOM Part 10 files with dicom-rs: single- and multi-frame, MONOCHROME1/2, RGB,
//! YBR_FULL, PALETTE COLOR; native pixel data, RLE Lossless and the JPEG processes that
//! the pure-Rust `jpeg-decoder` reads (baseline, extended, lossless). Rescale slope and
//! intercept give physical values (HU for CT).
//!
//! Only the Image Pixel, Image Plane, Multi-frame functional groups, Modality LUT and
//! VOI LUT attributes are read. Patient, study and institution attributes are parsed
//! with the data set (they are in its byte stream) but never copied out, logged or
//! quoted in an error: what leaves this module is a [`Volume`].

mod pixels;
mod prescan;

use std::borrow::Cow;

use dicom_core::Tag;
use dicom_dictionary_std::tags;
use dicom_encoding::adapters::{PixelDataObject, RawPixelData};
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::{InMemDicomObject, OpenFileOptions, file::ReadPreamble};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use crate::volume::{Geometry, Rescale, Volume, Voxels, cross, unit, usable_spacing};
use crate::window::WindowLevel;
use crate::{ImagingError, Limits};

use pixels::{Layout, Palette, Samples};

pub(crate) const FORMAT: &str = "DICOM";
const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

pub(crate) fn corrupt(reason: impl Into<String>) -> ImagingError {
    ImagingError::Corrupt(FORMAT, reason.into())
}

type Object = InMemDicomObject;

/// Numbers of an attribute (any numeric or decimal-string VR).
fn numbers(obj: &Object, tag: Tag) -> Option<Vec<f64>> {
    let element = obj.get(tag)?;
    element.to_multi_float64().ok().filter(|v| !v.is_empty())
}

fn number(obj: &Object, tag: Tag) -> Option<f64> {
    numbers(obj, tag)?
        .first()
        .copied()
        .filter(|v| v.is_finite())
}

fn integer(obj: &Object, tag: Tag) -> Option<i64> {
    obj.get(tag)?.to_int::<i64>().ok()
}

/// The items of a sequence attribute (empty when absent).
fn items(obj: &Object, tag: Tag) -> &[Object] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// An attribute looked up at the top level, then in the first item of `sequence` inside
/// the Shared, then the first Per-frame Functional Groups (enhanced multi-frame objects).
fn functional<'a, T>(
    obj: &'a Object,
    sequence: Tag,
    get: impl Fn(&'a Object) -> Option<T>,
) -> Option<T> {
    get(obj).or_else(|| {
        [
            tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
            tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        ]
        .into_iter()
        .find_map(|groups| {
            let group = items(obj, groups).first()?;
            get(items(group, sequence).first()?)
        })
    })
}

fn photometric(obj: &Object) -> Result<String, ImagingError> {
    let element = obj
        .get(tags::PHOTOMETRIC_INTERPRETATION)
        .ok_or_else(|| corrupt("no Photometric Interpretation (0028,0004)"))?;
    let text = element
        .to_str()
        .map_err(|_| corrupt("Photometric Interpretation is not text"))?;
    Ok(text.trim_matches(['\0', ' ']).to_ascii_uppercase())
}

/// Decodes a DICOM Part 10 file within `limits`.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
    // Nothing the DICOM libraries might log (values included) reaches a subscriber.
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), || {
        decode_quietly(bytes, limits)
    })
}

fn decode_quietly(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
    let dicm = crate::sniff::dicom_preamble(bytes).ok_or_else(|| corrupt("no DICM marker"))?;
    let meta = prescan::meta(bytes, dicm)?;
    let ts = TransferSyntaxRegistry
        .get(&meta.transfer_syntax)
        .ok_or_else(|| {
            ImagingError::Unsupported(
                "DICOM transfer syntax",
                format!(
                    "unknown UID {}",
                    crate::printable(&meta.transfer_syntax, 64)
                ),
            )
        })?;
    let ts_name = format!("{} ({})", ts.name(), ts.uid());
    let encapsulated_decoder = match ts.codec() {
        Codec::None => None,
        Codec::EncapsulatedPixelData(Some(reader), _) => Some(reader),
        _ if ts.uid() == RLE_LOSSLESS => None,
        _ => {
            return Err(ImagingError::Unsupported(
                "DICOM transfer syntax",
                format!(
                    "{ts_name}; samscope reads uncompressed, RLE Lossless and JPEG baseline/extended/lossless"
                ),
            ));
        }
    };
    prescan::dataset(&bytes[meta.dataset_start..], ts)?;

    let obj = OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .from_reader(&bytes[dicm..])
        .map_err(|_| corrupt("the data set does not parse"))?;

    // Image Pixel module.
    let required = |tag: Tag, name: &str| {
        integer(&obj, tag).ok_or_else(|| corrupt(format!("no valid {name}")))
    };
    let rows = required(tags::ROWS, "Rows (0028,0010)")?;
    let cols = required(tags::COLUMNS, "Columns (0028,0011)")?;
    let spp = integer(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let bits_allocated = required(tags::BITS_ALLOCATED, "Bits Allocated (0028,0100)")?;
    let bits_stored = integer(&obj, tags::BITS_STORED).unwrap_or(bits_allocated);
    let high_bit = integer(&obj, tags::HIGH_BIT).unwrap_or(bits_stored - 1);
    let frames = integer(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    let signed = integer(&obj, tags::PIXEL_REPRESENTATION).unwrap_or(0) == 1;
    let planar = integer(&obj, tags::PLANAR_CONFIGURATION).unwrap_or(0) == 1;
    if !(1..=65535).contains(&rows) || !(1..=65535).contains(&cols) {
        return Err(ImagingError::NoPixels);
    }
    if !matches!(spp, 1 | 3) {
        return Err(ImagingError::Unsupported(
            "DICOM Samples per Pixel",
            format!("{spp} (1 or 3 are read)"),
        ));
    }
    if !(1..=bits_allocated).contains(&bits_stored)
        || !(bits_stored - 1..bits_allocated).contains(&high_bit)
    {
        return Err(corrupt("Bits Stored / High Bit do not fit Bits Allocated"));
    }
    let layout = Layout {
        rows: rows as usize,
        cols: cols as usize,
        samples_per_pixel: spp as usize,
        bits_allocated: bits_allocated as usize,
        bits_stored: bits_stored as usize,
        high_bit: high_bit as usize,
        signed,
        planar,
    };
    let pi = photometric(&obj)?;
    let channels = match (pi.as_str(), spp) {
        ("MONOCHROME1" | "MONOCHROME2", 1) => 1,
        ("PALETTE COLOR", 1) => 3,
        ("RGB" | "YBR_FULL", 3) => 3,
        ("YBR_FULL_422" | "YBR_PARTIAL_422" | "YBR_PARTIAL_420", 3)
            if encapsulated_decoder.is_some() =>
        {
            3
        }
        ("YBR_ICT" | "YBR_RCT", 3) if encapsulated_decoder.is_some() => 3,
        _ => {
            return Err(ImagingError::Unsupported(
                "DICOM Photometric Interpretation",
                format!(
                    "{} with {spp} sample(s) per pixel in {ts_name}",
                    crate::printable(&pi, 24)
                ),
            ));
        }
    };

    limits.check_plane(cols as u64, rows as u64)?;
    let voxel_count = (rows * cols) as u64 * frames as u64;
    let sample_bytes = (bits_allocated as u64).div_ceil(8).max(1);
    let frame_bytes = limits.alloc("the DICOM frames", voxel_count * spp as u64, sample_bytes)?;
    limits.alloc("the decoded volume", voxel_count * channels as u64, 4)?;
    crate::limits::admit(frame_bytes as u64 + voxel_count * channels as u64 * 4)?;

    let pixel_data = obj
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| corrupt("no Pixel Data (7FE0,0010)"))?;
    let frames = frames as usize;
    let mut samples = Samples::for_layout(&layout, layout.frame_samples() * frames)?;
    if let Some(fragments) = pixel_data.fragments() {
        let offsets = pixel_data.offset_table().unwrap_or(&[]);
        let per_frame = frame_fragments(fragments, offsets, frames)?;
        for (frame, data) in per_frame.iter().enumerate() {
            let native = if ts.uid() == RLE_LOSSLESS {
                pixels::decode_rle(data, &layout)?
            } else {
                let decoder = encapsulated_decoder.ok_or_else(|| corrupt("no decoder"))?;
                decode_jpeg_frame(decoder.as_ref(), data, &layout, &meta.transfer_syntax, &pi)
                    .map_err(|e| corrupt(format!("frame {frame}: {e}")))?
            };
            let native_layout = Layout {
                planar: false,
                ..layout
            };
            samples.push_frame(&native, &native_layout, 0)?;
        }
    } else {
        if encapsulated_decoder.is_some() || ts.uid() == RLE_LOSSLESS {
            return Err(corrupt(
                "compressed transfer syntax without encapsulated pixel data",
            ));
        }
        let data = pixel_data
            .to_bytes()
            .map_err(|_| corrupt("Pixel Data is not a byte value"))?;
        let frame_bytes = layout.frame_bytes();
        let needed = if layout.bits_allocated == 1 {
            (layout.frame_samples() * frames).div_ceil(8)
        } else {
            frame_bytes * frames
        };
        if data.len() < needed {
            return Err(corrupt(format!(
                "Pixel Data has {} bytes, {frames} frame(s) of {}×{} need {needed}",
                data.len(),
                cols,
                rows
            )));
        }
        for frame in 0..frames {
            if layout.bits_allocated == 1 {
                samples.push_frame(&data, &layout, frame * layout.frame_samples())?;
            } else {
                samples.push_frame(
                    &data[frame * frame_bytes..(frame + 1) * frame_bytes],
                    &layout,
                    0,
                )?;
            }
        }
    }

    let mut voxels = samples.into_voxels();
    let dims = [cols as usize, rows as usize, frames];
    if pi == "PALETTE COLOR" {
        voxels = apply_palette(&obj, voxels)?;
    } else if pi == "YBR_FULL" && encapsulated_decoder.is_none() {
        match &mut voxels {
            Voxels::U8(v) => pixels::ybr_full_to_rgb(v),
            _ => {
                return Err(ImagingError::Unsupported(
                    "DICOM Photometric Interpretation",
                    "YBR_FULL with more than 8 bits".into(),
                ));
            }
        }
    }

    let geometry = geometry(&obj, frames);
    let mut volume = Volume::new(dims, channels, voxels, geometry)?;
    if channels == 1 {
        let (rescale, per_frame) = rescale(&obj, frames);
        volume = match per_frame {
            Some(per_frame) => apply_per_frame_rescale(volume, &per_frame)?,
            None => volume.with_rescale(rescale),
        };
        volume = volume
            .with_invert(pi == "MONOCHROME1")
            .with_default_window(window(&obj));
    }
    Ok(volume)
}

/// The bytes of each frame: one fragment per frame, all fragments for one frame, or
/// grouped by the Basic Offset Table, or by JPEG start-of-image markers.
fn frame_fragments<'a>(
    fragments: &'a [Vec<u8>],
    offsets: &[u32],
    frames: usize,
) -> Result<Vec<Cow<'a, [u8]>>, ImagingError> {
    if fragments.is_empty() {
        return Err(corrupt("the encapsulated Pixel Data has no fragments"));
    }
    if fragments.len() == frames {
        return Ok(fragments
            .iter()
            .map(|f| Cow::Borrowed(f.as_slice()))
            .collect());
    }
    if frames == 1 {
        return Ok(vec![Cow::Owned(fragments.concat())]);
    }
    let mut groups: Vec<Vec<&Vec<u8>>> = Vec::new();
    if offsets.len() == frames {
        let mut position = 0usize;
        for fragment in fragments {
            let frame = offsets
                .iter()
                .rposition(|&o| o as usize <= position)
                .unwrap_or(0);
            if groups.len() <= frame {
                groups.resize(frame + 1, Vec::new());
            }
            groups[frame].push(fragment);
            position += fragment.len() + 8;
        }
    } else {
        for fragment in fragments {
            if fragment.starts_with(&[0xFF, 0xD8]) || groups.is_empty() {
                groups.push(Vec::new());
            }
            if let Some(last) = groups.last_mut() {
                last.push(fragment);
            }
        }
    }
    if groups.len() != frames || groups.iter().any(Vec::is_empty) {
        return Err(corrupt(format!(
            "{} fragments cannot be matched to {frames} frames",
            fragments.len()
        )));
    }
    Ok(groups
        .into_iter()
        .map(|g| Cow::Owned(g.into_iter().flatten().copied().collect()))
        .collect())
}

/// One frame's encapsulated bytes, presented to a dicom-rs pixel data adapter.
struct OneFrame<'a> {
    transfer_syntax: &'a str,
    layout: &'a Layout,
    photometric: &'a str,
    data: &'a [u8],
}

impl PixelDataObject for OneFrame<'_> {
    fn transfer_syntax_uid(&self) -> &str {
        self.transfer_syntax
    }
    fn rows(&self) -> Option<u16> {
        u16::try_from(self.layout.rows).ok()
    }
    fn cols(&self) -> Option<u16> {
        u16::try_from(self.layout.cols).ok()
    }
    fn samples_per_pixel(&self) -> Option<u16> {
        u16::try_from(self.layout.samples_per_pixel).ok()
    }
    fn bits_allocated(&self) -> Option<u16> {
        u16::try_from(self.layout.bits_allocated).ok()
    }
    fn bits_stored(&self) -> Option<u16> {
        u16::try_from(self.layout.bits_stored).ok()
    }
    fn photometric_interpretation(&self) -> Option<&str> {
        Some(self.photometric)
    }
    fn number_of_frames(&self) -> Option<u32> {
        Some(1)
    }
    fn number_of_fragments(&self) -> Option<u32> {
        Some(1)
    }
    fn fragment(&self, fragment: usize) -> Option<Cow<'_, [u8]>> {
        (fragment == 0).then_some(Cow::Borrowed(self.data))
    }
    fn offset_table(&self) -> Option<Cow<'_, [u32]>> {
        Some(Cow::Borrowed(&[]))
    }
    fn raw_pixel_data(&self) -> Option<RawPixelData> {
        Some(RawPixelData {
            fragments: std::iter::once(self.data.to_vec()).collect(),
            offset_table: Default::default(),
        })
    }
}

/// Decodes one JPEG frame after checking that its own header fits the DICOM image (the
/// adapter sizes its output from the DICOM attributes and copies the decoder's output in).
fn decode_jpeg_frame(
    decoder: &dyn dicom_encoding::adapters::PixelDataReader,
    data: &[u8],
    layout: &Layout,
    transfer_syntax: &str,
    photometric: &str,
) -> Result<Vec<u8>, String> {
    let (precision, height, width, components) =
        pixels::jpeg_frame_header(data).ok_or("no JPEG frame header")?;
    let out_bytes = if precision > 8 { 2 } else { 1 };
    let decoded = usize::from(height) * usize::from(width) * usize::from(components) * out_bytes;
    let room = layout.frame_samples() * layout.bits_allocated.div_ceil(8);
    if height == 0
        || usize::from(width) > layout.cols
        || usize::from(height) > layout.rows
        || usize::from(components) != layout.samples_per_pixel
        || decoded > room
    {
        return Err(format!(
            "the JPEG stream is {width}×{height}×{components} at {precision} bits, the DICOM image {}×{}×{} at {} bits",
            layout.cols, layout.rows, layout.samples_per_pixel, layout.bits_allocated
        ));
    }
    let frame = OneFrame {
        transfer_syntax,
        layout,
        photometric,
        data,
    };
    let mut out = Vec::new();
    decoder
        .decode_frame(&frame, 0, &mut out)
        .map_err(|e| format!("JPEG: {}", crate::printable(&e.to_string(), 120)))?;
    Ok(out)
}

/// Replaces palette indices with their RGB entries.
fn apply_palette(obj: &Object, indices: Voxels) -> Result<Voxels, ImagingError> {
    if obj.get(Tag(0x0028, 0x1221)).is_some() {
        return Err(ImagingError::Unsupported(
            "DICOM palette",
            "segmented palette lookup tables".into(),
        ));
    }
    let descriptor = |tag| {
        obj.get(tag)
            .and_then(|e| e.to_multi_int::<i64>().ok())
            .ok_or_else(|| corrupt("no palette lookup table descriptor"))
    };
    let data = |tag| {
        obj.get(tag)
            .and_then(|e| e.to_bytes().ok())
            .map(|b| {
                b.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>()
            })
            .ok_or_else(|| corrupt("no palette lookup table data"))
    };
    let palette = Palette::new(
        [
            descriptor(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR)?,
            descriptor(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR)?,
            descriptor(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DESCRIPTOR)?,
        ],
        [
            data(tags::RED_PALETTE_COLOR_LOOKUP_TABLE_DATA)?,
            data(tags::GREEN_PALETTE_COLOR_LOOKUP_TABLE_DATA)?,
            data(tags::BLUE_PALETTE_COLOR_LOOKUP_TABLE_DATA)?,
        ],
    )?;
    let index: Vec<i64> = match indices {
        Voxels::U8(v) => v.into_iter().map(i64::from).collect(),
        Voxels::U16(v) => v.into_iter().map(i64::from).collect(),
        Voxels::I16(v) => v.into_iter().map(i64::from).collect(),
        _ => return Err(corrupt("palette indices must be 8 or 16 bits")),
    };
    Ok(Voxels::U8(
        index.into_iter().flat_map(|i| palette.rgb(i)).collect(),
    ))
}

/// The modality rescale: one for all frames, or one per frame when they differ.
fn rescale(obj: &Object, frames: usize) -> (Rescale, Option<Vec<Rescale>>) {
    let of = |o: &Object| -> Option<Rescale> {
        let intercept = number(o, tags::RESCALE_INTERCEPT)?;
        let slope = number(o, tags::RESCALE_SLOPE).unwrap_or(1.0);
        Some(Rescale::new(slope, intercept))
    };
    let dose = number(obj, tags::DOSE_GRID_SCALING).filter(|s| *s > 0.0);
    let global = of(obj)
        .or_else(|| {
            let group = items(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).first()?;
            of(items(group, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE).first()?)
        })
        .or(dose.map(|s| Rescale::new(s, 0.0)))
        .unwrap_or(Rescale::IDENTITY);
    let per_frame: Vec<Option<Rescale>> = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .iter()
        .take(frames)
        .map(|g| of(items(g, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE).first()?))
        .collect();
    if per_frame.len() == frames && per_frame.iter().all(Option::is_some) {
        let per_frame: Vec<Rescale> = per_frame.into_iter().flatten().collect();
        if per_frame.iter().all(|r| *r == per_frame[0]) {
            return (per_frame[0], None);
        }
        return (global, Some(per_frame));
    }
    (global, None)
}

fn apply_per_frame_rescale(volume: Volume, per_frame: &[Rescale]) -> Result<Volume, ImagingError> {
    let [w, h, _] = volume.dims();
    let plane = w * h;
    let values: Vec<f32> = (0..volume.voxels().len())
        .map(|n| {
            let stored = volume.value(n); // identity rescale so far
            per_frame[n / plane].apply(stored) as f32
        })
        .collect();
    Volume::new(volume.dims(), 1, Voxels::F32(values), *volume.geometry())
}

fn window(obj: &Object) -> Option<WindowLevel> {
    let of = |o: &Object| -> Option<WindowLevel> {
        Some(WindowLevel {
            center: number(o, tags::WINDOW_CENTER)?,
            width: number(o, tags::WINDOW_WIDTH)?,
        })
    };
    functional(obj, tags::FRAME_VOILUT_SEQUENCE, of).filter(WindowLevel::is_usable)
}

/// Spacing, orientation and position from the Image Plane module or the functional
/// groups; the slice direction from the frames' positions when there are several.
fn geometry(obj: &Object, frames: usize) -> Geometry {
    let spacing = functional(obj, tags::PIXEL_MEASURES_SEQUENCE, |o| {
        numbers(o, tags::PIXEL_SPACING)
    })
    .or_else(|| numbers(obj, tags::IMAGER_PIXEL_SPACING))
    .filter(|v| v.len() >= 2);
    // Pixel Spacing is (between rows, between columns).
    let (col_spacing, row_spacing) = spacing
        .map(|v| (usable_spacing(v[1]), usable_spacing(v[0])))
        .unwrap_or((1.0, 1.0));
    let orientation = functional(obj, tags::PLANE_ORIENTATION_SEQUENCE, |o| {
        numbers(o, tags::IMAGE_ORIENTATION_PATIENT)
    })
    .filter(|v| v.len() == 6);
    let position = |o: &Object| numbers(o, tags::IMAGE_POSITION_PATIENT).filter(|v| v.len() == 3);
    let per_frame_positions: Vec<[f64; 3]> = items(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .iter()
        .take(frames)
        .filter_map(|g| position(items(g, tags::PLANE_POSITION_SEQUENCE).first()?))
        .map(|v| [v[0], v[1], v[2]])
        .collect();
    let origin = position(obj)
        .map(|v| [v[0], v[1], v[2]])
        .or_else(|| per_frame_positions.first().copied())
        .filter(|o| o.iter().all(|v| v.is_finite()))
        .unwrap_or([0.0; 3]);
    let thickness = functional(obj, tags::PIXEL_MEASURES_SEQUENCE, |o| {
        number(o, tags::SPACING_BETWEEN_SLICES).or_else(|| number(o, tags::SLICE_THICKNESS))
    });

    let Some(iop) = orientation else {
        return Geometry {
            spacing: [
                col_spacing,
                row_spacing,
                usable_spacing(thickness.unwrap_or(1.0)),
            ],
            origin,
            ..Geometry::default()
        };
    };
    let (Some(row_dir), Some(col_dir)) = (
        unit([iop[0], iop[1], iop[2]]),
        unit([iop[3], iop[4], iop[5]]),
    ) else {
        return Geometry {
            spacing: [col_spacing, row_spacing, 1.0],
            origin,
            ..Geometry::default()
        };
    };
    let normal = unit(cross(row_dir, col_dir)).unwrap_or([0.0, 0.0, 1.0]);
    // Between frames: their positions, else the RT dose grid offsets, else the thickness.
    let (slice_dir, slice_spacing) = match per_frame_positions.as_slice() {
        [a, b, ..] => {
            let d = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
            match unit(d) {
                Some(u) => (u, (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()),
                None => (normal, usable_spacing(thickness.unwrap_or(1.0))),
            }
        }
        _ => match numbers(obj, tags::GRID_FRAME_OFFSET_VECTOR).as_deref() {
            Some([a, b, ..]) if (b - a).is_finite() && b != a => {
                let sign = if b > a { 1.0 } else { -1.0 };
                (normal.map(|c| c * sign), (b - a).abs())
            }
            _ => (normal, usable_spacing(thickness.unwrap_or(1.0))),
        },
    };
    Geometry {
        spacing: [col_spacing, row_spacing, usable_spacing(slice_spacing)],
        directions: [row_dir, col_dir, slice_dir],
        origin,
        oriented: true,
    }
}

#[cfg(test)]
mod tests {
    use test_support::scans::dicom::{element, file};

    use super::*;

    fn us(v: u16) -> Vec<u8> {
        v.to_le_bytes().to_vec()
    }

    /// A 3×2 MONOCHROME2 16-bit signed image with rescale −1024, plus `extra` elements
    /// (which must sort before (0028,0002)).
    fn image(extra: &[u8], frames: &str, pixels: &[u8]) -> Vec<u8> {
        let mut ds = extra.to_vec();
        ds.extend(element(0x0028, 0x0002, b"US", &us(1)));
        ds.extend(element(0x0028, 0x0004, b"CS", b"MONOCHROME2 "));
        ds.extend(element(0x0028, 0x0008, b"IS", frames.as_bytes()));
        ds.extend(element(0x0028, 0x0010, b"US", &us(2)));
        ds.extend(element(0x0028, 0x0011, b"US", &us(3)));
        ds.extend(element(0x0028, 0x0100, b"US", &us(16)));
        ds.extend(element(0x0028, 0x0101, b"US", &us(16)));
        ds.extend(element(0x0028, 0x0102, b"US", &us(15)));
        ds.extend(element(0x0028, 0x0103, b"US", &us(1)));
        ds.extend(element(0x0028, 0x1052, b"DS", b"-1024 "));
        ds.extend(element(0x0028, 0x1053, b"DS", b"1 "));
        ds.extend(element(0x7FE0, 0x0010, b"OW", pixels));
        file(&ds)
    }

    fn pixels() -> Vec<u8> {
        [0i16, 1, 2, 1000, -1000, 3000]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    #[test]
    fn decodes_a_minimal_file_with_its_rescale() {
        let v = decode(&image(&[], "1 ", &pixels()), &Limits::default()).unwrap();
        assert_eq!(v.dims(), [3, 2, 1]);
        assert_eq!(v.value_at(0, 1, 0, 0), Some(1000.0 - 1024.0));
        assert_eq!(v.value_at(1, 1, 0, 0), Some(-2024.0));
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing() {
        // 100 000 nested undefined-length sequences, each with one undefined-length item.
        let mut nest = Vec::new();
        for _ in 0..100_000 {
            nest.extend_from_slice(&[
                0x09, 0x00, 0x10, 0x10, b'S', b'Q', 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
            ]);
            nest.extend_from_slice(&[0xFE, 0xFF, 0x00, 0xE0, 0xFF, 0xFF, 0xFF, 0xFF]);
        }
        let err = decode(&image(&nest, "1 ", &pixels()), &Limits::default()).unwrap_err();
        assert!(err.to_string().contains("nested"), "{err}");
    }

    #[test]
    fn absurd_lengths_and_sizes_are_refused_before_allocating() {
        let limits = Limits::default();
        // A private OB element that claims 4 GiB.
        let mut huge = vec![0x09, 0x00, 0x10, 0x10, b'O', b'B', 0, 0];
        huge.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        huge.extend_from_slice(&[1, 2, 3, 4]);
        let err = decode(&image(&huge, "1 ", &pixels()), &limits).unwrap_err();
        assert!(
            err.to_string().contains("more than the file has left"),
            "{err}"
        );
        // 2³¹ frames of 3×2.
        let err = decode(&image(&[], "2147483647", &pixels()), &limits).unwrap_err();
        assert!(matches!(err, ImagingError::TooLarge(_)), "{err}");
        // Two frames declared, one frame of pixels.
        let err = decode(&image(&[], "2 ", &pixels()), &limits).unwrap_err();
        assert!(matches!(err, ImagingError::Corrupt(..)), "{err}");
        // A meta group longer than the file.
        let mut bad = image(&[], "1 ", &pixels());
        bad[140..144].copy_from_slice(&0x7FFF_FFFFu32.to_le_bytes());
        assert!(decode(&bad, &limits).is_err());
    }

    #[test]
    fn patient_attributes_never_reach_errors() {
        let mut ds = element(0x0010, 0x0010, b"PN", b"Zyxwv^Quortle");
        // A date that does not parse, in case a parser quotes it.
        ds.extend(element(0x0010, 0x0030, b"DA", b"Quortle1"));
        let mut pixels = pixels();
        pixels.truncate(7);
        let err = decode(&image(&ds, "1 ", &pixels), &Limits::default()).unwrap_err();
        assert!(!format!("{err} {err:?}").contains("Quortle"), "{err:?}");
    }
}
