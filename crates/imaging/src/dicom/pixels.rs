//! Pixel samples of one DICOM frame: native bytes (or what a codec produced) to typed
//! samples, RLE Lossless, palette colour and YBR_FULL to RGB.

use crate::ImagingError;
use crate::volume::Voxels;

use super::corrupt;

/// How the stored samples are laid out (Image Pixel module).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub rows: usize,
    pub cols: usize,
    pub samples_per_pixel: usize,
    pub bits_allocated: usize,
    pub bits_stored: usize,
    pub high_bit: usize,
    pub signed: bool,
    /// Planar configuration 1 (`RRR…GGG…BBB`).
    pub planar: bool,
}

impl Layout {
    /// Samples in one frame.
    pub fn frame_samples(&self) -> usize {
        self.rows * self.cols * self.samples_per_pixel
    }

    /// Bytes of one native frame (bit-packed for 1-bit data).
    pub fn frame_bytes(&self) -> usize {
        if self.bits_allocated == 1 {
            self.frame_samples().div_ceil(8)
        } else {
            self.frame_samples() * self.bits_allocated / 8
        }
    }
}

/// Growing buffers of typed samples, one per supported stored type.
pub(crate) enum Samples {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    I32(Vec<i32>),
    F32(Vec<f32>),
}

impl Samples {
    /// An empty buffer for `layout`, with room for `capacity` samples.
    pub fn for_layout(layout: &Layout, capacity: usize) -> Result<Self, ImagingError> {
        Ok(match (layout.bits_allocated, layout.signed) {
            (1, _) | (8, false) => Samples::U8(Vec::with_capacity(capacity)),
            (8, true) => Samples::I8(Vec::with_capacity(capacity)),
            (16, false) => Samples::U16(Vec::with_capacity(capacity)),
            (16, true) => Samples::I16(Vec::with_capacity(capacity)),
            (32, true) => Samples::I32(Vec::with_capacity(capacity)),
            (32, false) => Samples::F32(Vec::with_capacity(capacity)),
            (bits, _) => {
                return Err(ImagingError::Unsupported(
                    "DICOM Bits Allocated",
                    format!("{bits} (1, 8, 16 and 32 are read)"),
                ));
            }
        })
    }

    /// Appends one frame's samples from `bytes` (little endian, `layout`), masking to
    /// Bits Stored and sign-extending; planar data is interleaved.
    pub fn push_frame(
        &mut self,
        bytes: &[u8],
        layout: &Layout,
        bit_offset: usize,
    ) -> Result<(), ImagingError> {
        let n = layout.frame_samples();
        let stored = layout.bits_stored.clamp(1, layout.bits_allocated.max(1));
        let shift = (layout.high_bit + 1).saturating_sub(stored) as u32;
        let mask: u64 = if stored >= 64 {
            u64::MAX
        } else {
            (1u64 << stored) - 1
        };
        let value = |raw: u64| -> i64 {
            let v = (raw >> shift) & mask;
            if layout.signed && stored < 64 && v >> (stored - 1) & 1 == 1 {
                v as i64 - (1i64 << stored)
            } else {
                v as i64
            }
        };
        let need = layout.frame_bytes();
        if bytes.len() < need && layout.bits_allocated != 1 {
            return Err(corrupt(format!(
                "a frame needs {need} bytes of pixel data, {} are there",
                bytes.len()
            )));
        }
        let order = planar_order(layout);
        let at = |i: usize| order.as_ref().map_or(i, |o| o[i]);
        match self {
            Samples::U8(out) if layout.bits_allocated == 1 => {
                let bits = bit_offset + n;
                if bytes.len() * 8 < bits {
                    return Err(corrupt("the 1-bit pixel data is shorter than the frames"));
                }
                out.extend((bit_offset..bits).map(|b| (bytes[b / 8] >> (b % 8)) & 1));
            }
            Samples::U8(out) => out.extend((0..n).map(|i| value(u64::from(bytes[at(i)])) as u8)),
            Samples::I8(out) => out.extend((0..n).map(|i| value(u64::from(bytes[at(i)])) as i8)),
            Samples::U16(out) => {
                out.extend((0..n).map(|i| value(u64::from(le16(bytes, at(i)))) as u16))
            }
            Samples::I16(out) => {
                out.extend((0..n).map(|i| value(u64::from(le16(bytes, at(i)))) as i16))
            }
            Samples::I32(out) => {
                out.extend((0..n).map(|i| value(u64::from(le32(bytes, at(i)))) as i32))
            }
            Samples::F32(out) => {
                out.extend((0..n).map(|i| value(u64::from(le32(bytes, at(i)))) as f32))
            }
        }
        Ok(())
    }

    /// Into voxels.
    pub fn into_voxels(self) -> Voxels {
        match self {
            Samples::U8(v) => Voxels::U8(v),
            Samples::I8(v) => Voxels::I8(v),
            Samples::U16(v) => Voxels::U16(v),
            Samples::I16(v) => Voxels::I16(v),
            Samples::I32(v) => Voxels::I32(v),
            Samples::F32(v) => Voxels::F32(v),
        }
    }
}

fn le16(b: &[u8], sample: usize) -> u16 {
    u16::from_le_bytes([b[2 * sample], b[2 * sample + 1]])
}

fn le32(b: &[u8], sample: usize) -> u32 {
    let i = 4 * sample;
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// For planar colour data: the stored index of the `i`-th interleaved sample.
fn planar_order(layout: &Layout) -> Option<Vec<usize>> {
    if !layout.planar || layout.samples_per_pixel == 1 {
        return None;
    }
    let pixels = layout.rows * layout.cols;
    let spp = layout.samples_per_pixel;
    Some(
        (0..pixels * spp)
            .map(|i| (i % spp) * pixels + i / spp)
            .collect(),
    )
}

/// Decodes one RLE Lossless frame (DICOM PS3.5 Annex G) to little-endian native bytes,
/// interleaved. Every offset and run is checked; nothing is read or written out of range.
pub(crate) fn decode_rle(fragment: &[u8], layout: &Layout) -> Result<Vec<u8>, ImagingError> {
    let bad = |why: &str| corrupt(format!("RLE: {why}"));
    if !layout.bits_allocated.is_multiple_of(8) || layout.bits_allocated == 0 {
        return Err(ImagingError::Unsupported(
            "DICOM RLE",
            format!("{} bits allocated", layout.bits_allocated),
        ));
    }
    let bytes_per_sample = layout.bits_allocated / 8;
    let segments = layout.samples_per_pixel * bytes_per_sample;
    let header = fragment
        .get(..64)
        .ok_or_else(|| bad("the header is truncated"))?;
    let count = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if count != segments || count > 15 {
        return Err(bad(&format!(
            "{count} segments, the image needs {segments}"
        )));
    }
    let offset = |i: usize| {
        u32::from_le_bytes(header[4 + 4 * i..8 + 4 * i].try_into().expect("4 bytes")) as usize
    };
    let pixels = layout.rows * layout.cols;
    let mut out = vec![0u8; pixels * segments];
    for s in 0..segments {
        let start = offset(s);
        let end = if s + 1 < segments {
            offset(s + 1)
        } else {
            fragment.len()
        };
        let data = fragment
            .get(start..end.min(fragment.len()))
            .filter(|_| start >= 64)
            .ok_or_else(|| bad("a segment offset is out of range"))?;
        // Segment s holds byte (bytes_per_sample − 1 − s % bytes_per_sample) (MSB first)
        // of sample s / bytes_per_sample.
        let sample = s / bytes_per_sample;
        let byte = bytes_per_sample - 1 - s % bytes_per_sample;
        let stride = segments;
        let base = sample * bytes_per_sample + byte;
        let mut written = 0usize;
        let mut i = 0usize;
        let mut put = |v: u8, written: &mut usize| {
            if *written < pixels {
                out[base + *written * stride] = v;
                *written += 1;
            }
        };
        while i < data.len() && written < pixels {
            let n = data[i] as i8;
            i += 1;
            if n >= 0 {
                let run = n as usize + 1;
                let literal = data
                    .get(i..i + run)
                    .ok_or_else(|| bad("a literal run is truncated"))?;
                for &v in literal {
                    put(v, &mut written);
                }
                i += run;
            } else if n != -128 {
                let v = *data
                    .get(i)
                    .ok_or_else(|| bad("a replicate run is truncated"))?;
                i += 1;
                for _ in 0..(1 - n as isize) as usize {
                    put(v, &mut written);
                }
            }
        }
        if written < pixels {
            return Err(bad(&format!(
                "a segment decodes to {written} of {pixels} bytes"
            )));
        }
    }
    Ok(out)
}

/// The JPEG frame header (SOFn) of `data`: `(precision, height, width, components)`.
pub(crate) fn jpeg_frame_header(data: &[u8]) -> Option<(u8, u16, u16, u8)> {
    if !data.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let h = data.get(i + 4..i + 10)?;
            return Some((
                h[0],
                u16::from_be_bytes([h[1], h[2]]),
                u16::from_be_bytes([h[3], h[4]]),
                h[5],
            ));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// Maps palette indices to 8-bit RGB with the three Palette Color Lookup Tables.
pub(crate) struct Palette {
    pub first: i64,
    pub tables: [Vec<u8>; 3],
}

impl Palette {
    /// From descriptors `[entries, first value, bits]` and the LUT words.
    pub fn new(descriptors: [Vec<i64>; 3], data: [Vec<u16>; 3]) -> Result<Self, ImagingError> {
        let mut tables: [Vec<u8>; 3] = Default::default();
        let mut first = 0;
        for (c, (d, words)) in descriptors.iter().zip(data.iter()).enumerate() {
            if d.len() != 3 {
                return Err(corrupt("a palette descriptor does not have 3 values"));
            }
            let entries = if d[0] == 0 {
                65536
            } else {
                d[0].rem_euclid(65536) as usize
            };
            first = d[1];
            let bits = d[2];
            tables[c] = if words.len() >= entries {
                words[..entries]
                    .iter()
                    .map(|&w| {
                        if bits == 8 {
                            (w & 0xFF) as u8
                        } else {
                            (w >> 8) as u8
                        }
                    })
                    .collect()
            } else if bits == 8 && words.len() * 2 >= entries {
                words
                    .iter()
                    .flat_map(|w| w.to_le_bytes())
                    .take(entries)
                    .collect()
            } else {
                return Err(corrupt(
                    "a palette lookup table is shorter than its descriptor",
                ));
            };
        }
        if tables.iter().any(Vec::is_empty) {
            return Err(corrupt("an empty palette lookup table"));
        }
        Ok(Self { first, tables })
    }

    /// RGB of one index.
    pub fn rgb(&self, index: i64) -> [u8; 3] {
        let pick = |t: &Vec<u8>| t[(index - self.first).clamp(0, t.len() as i64 - 1) as usize];
        [
            pick(&self.tables[0]),
            pick(&self.tables[1]),
            pick(&self.tables[2]),
        ]
    }
}

/// YCbCr (full range, ITU-R BT.601) to RGB, in place on interleaved 8-bit samples.
pub(crate) fn ybr_full_to_rgb(samples: &mut [u8]) {
    for px in samples.chunks_exact_mut(3) {
        let (y, cb, cr) = (
            f64::from(px[0]),
            f64::from(px[1]) - 128.0,
            f64::from(px[2]) - 128.0,
        );
        let r = y + 1.402 * cr;
        let g = y - 0.344136 * cb - 0.714136 * cr;
        let b = y + 1.772 * cb;
        px[0] = r.round().clamp(0.0, 255.0) as u8;
        px[1] = g.round().clamp(0.0, 255.0) as u8;
        px[2] = b.round().clamp(0.0, 255.0) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(bits: usize, stored: usize, signed: bool) -> Layout {
        Layout {
            rows: 1,
            cols: 2,
            samples_per_pixel: 1,
            bits_allocated: bits,
            bits_stored: stored,
            high_bit: stored - 1,
            signed,
            planar: false,
        }
    }

    #[test]
    fn masks_and_sign_extends() {
        let l = layout(16, 12, true);
        let mut s = Samples::for_layout(&l, 2).unwrap();
        s.push_frame(&[0xFF, 0xFF, 0x01, 0xF8], &l, 0).unwrap();
        // 0xFFFF → 12 bits 0xFFF → −1; 0xF801 → 0x801 → −2047.
        assert_eq!(s.into_voxels(), Voxels::I16(vec![-1, -2047]));
        let l = layout(16, 12, false);
        let mut s = Samples::for_layout(&l, 2).unwrap();
        s.push_frame(&[0xFF, 0xFF, 0x01, 0x08], &l, 0).unwrap();
        assert_eq!(s.into_voxels(), Voxels::U16(vec![4095, 2049]));
    }

    #[test]
    fn rle_decodes_and_refuses_bad_offsets() {
        let l = Layout {
            rows: 1,
            cols: 4,
            ..layout(8, 8, false)
        };
        let mut frag = vec![0u8; 64];
        frag[0] = 1;
        frag[4] = 64;
        frag.extend_from_slice(&[0x01, 7, 8, 0xFF, 9]); // literal 7 8, then 9 twice
        assert_eq!(decode_rle(&frag, &l).unwrap(), vec![7, 8, 9, 9]);
        let mut bad = frag.clone();
        bad[4] = 200;
        assert!(decode_rle(&bad, &l).is_err());
        assert!(decode_rle(&frag[..66], &l).is_err());
        assert!(decode_rle(&frag[..10], &l).is_err());
    }

    #[test]
    fn reads_the_jpeg_frame_header() {
        let jpeg = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0, 0xFF, 0xC0, 0x00, 0x0B, 8, 0, 3, 0, 5, 1,
        ];
        assert_eq!(jpeg_frame_header(&jpeg), Some((8, 3, 5, 1)));
        assert_eq!(jpeg_frame_header(&jpeg[..12]), None);
    }
}
