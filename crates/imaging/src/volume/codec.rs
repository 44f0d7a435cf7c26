//! A volume as bytes (how the server stores uploads): the samples and the geometry, and
//! nothing else. All numbers little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `SSVOL001` |
//! | 8 | 1 | sample type: 0 u8, 1 i8, 2 u16, 3 i16, 4 i32, 5 f32 |
//! | 9 | 1 | channels (1 or 3) |
//! | 10 | 1 | invert (MONOCHROME1) |
//! | 11 | 1 | has a default window |
//! | 12 | 1 | oriented |
//! | 13 | 3 | zero |
//! | 16 | 12 | dims, 3 × u32 |
//! | 28 | 4 | zero |
//! | 32 | 16 | rescale slope, intercept (f64) |
//! | 48 | 24 | spacing (3 × f64) |
//! | 72 | 72 | directions of `i`, `j`, `k` (9 × f64) |
//! | 144 | 24 | origin (3 × f64) |
//! | 168 | 16 | default window center, width (f64; zero when absent) |
//! | 184 | 8 | zero |
//! | 192 | | samples |

use std::io::{self, Write};

use super::{Geometry, Rescale, Volume, Voxels};
use crate::window::WindowLevel;
use crate::{ImagingError, Limits};

/// The first 8 bytes of an encoded volume.
pub const VOLUME_MAGIC: &[u8; 8] = b"SSVOL001";
const HEADER: usize = 192;

/// Samples written through a 64 KiB block, each as the bytes `le` gives.
fn write_samples<T, const N: usize>(
    out: &mut impl Write,
    samples: &[T],
    le: impl Fn(&T) -> [u8; N],
) -> io::Result<()> {
    let mut block = Vec::with_capacity(64 << 10);
    for chunk in samples.chunks((64 << 10) / N) {
        block.clear();
        chunk.iter().for_each(|s| block.extend_from_slice(&le(s)));
        out.write_all(&block)?;
    }
    Ok(())
}

fn corrupt(reason: impl Into<String>) -> ImagingError {
    ImagingError::Corrupt("volume", reason.into())
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.bytes[self.at..self.at + N]);
        self.at += N;
        out
    }
    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.take())
    }
    fn f64x3(&mut self) -> [f64; 3] {
        [self.f64(), self.f64(), self.f64()]
    }
}

impl Volume {
    /// The volume as bytes (see the module documentation).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.write_encoded(&mut out)
            .expect("writing into a Vec cannot fail");
        out
    }

    /// The length of [`Volume::encode`]'s result.
    pub fn encoded_len(&self) -> usize {
        HEADER + self.byte_len()
    }

    /// Writes [`Volume::encode`]'s bytes to `out` a block at a time, never holding a copy
    /// of the samples.
    pub fn write_encoded(&self, out: &mut impl Write) -> io::Result<()> {
        let mut head = Vec::with_capacity(HEADER);
        head.extend_from_slice(VOLUME_MAGIC);
        let kind = match self.voxels() {
            Voxels::U8(_) => 0u8,
            Voxels::I8(_) => 1,
            Voxels::U16(_) => 2,
            Voxels::I16(_) => 3,
            Voxels::I32(_) => 4,
            Voxels::F32(_) => 5,
        };
        let g = self.geometry();
        let window = self.default_window();
        head.extend_from_slice(&[
            kind,
            self.channels() as u8,
            u8::from(self.invert()),
            u8::from(window.is_some()),
            u8::from(g.oriented),
            0,
            0,
            0,
        ]);
        for d in self.dims() {
            head.extend_from_slice(&(d as u32).to_le_bytes());
        }
        head.extend_from_slice(&[0; 4]);
        let mut f = |v: f64| head.extend_from_slice(&v.to_le_bytes());
        f(self.rescale().slope);
        f(self.rescale().intercept);
        g.spacing.into_iter().for_each(&mut f);
        g.directions.iter().flatten().copied().for_each(&mut f);
        g.origin.into_iter().for_each(&mut f);
        let w = window.unwrap_or(WindowLevel {
            center: 0.0,
            width: 0.0,
        });
        f(w.center);
        f(w.width);
        head.extend_from_slice(&[0; 8]);
        debug_assert_eq!(head.len(), HEADER);
        out.write_all(&head)?;
        match self.voxels() {
            Voxels::U8(v) => out.write_all(v),
            Voxels::I8(v) => write_samples(out, v, |s| [*s as u8]),
            Voxels::U16(v) => write_samples(out, v, |s| s.to_le_bytes()),
            Voxels::I16(v) => write_samples(out, v, |s| s.to_le_bytes()),
            Voxels::I32(v) => write_samples(out, v, |s| s.to_le_bytes()),
            Voxels::F32(v) => write_samples(out, v, |s| s.to_le_bytes()),
        }
    }

    /// Reads bytes written by [`Volume::encode`], within `limits`.
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
        if bytes.len() < HEADER || &bytes[..8] != VOLUME_MAGIC {
            return Err(corrupt(
                "not a samscope volume (bad magic or truncated header)",
            ));
        }
        let (kind, channels, invert, has_window, oriented) =
            (bytes[8], bytes[9], bytes[10], bytes[11], bytes[12]);
        let sample_bytes: u64 = match kind {
            0 | 1 => 1,
            2 | 3 => 2,
            4 | 5 => 4,
            other => return Err(corrupt(format!("unknown sample type {other}"))),
        };
        if invert > 1 || has_window > 1 || oriented > 1 || !matches!(channels, 1 | 3) {
            return Err(corrupt("bad flags"));
        }
        let mut r = Reader { bytes, at: 16 };
        let dims = [(); 3].map(|_| u32::from_le_bytes(r.take()) as u64);
        let _ = r.take::<4>();
        let count = crate::limits::product(&[dims[0], dims[1], dims[2], u64::from(channels)])
            .ok_or_else(|| corrupt("dimensions overflow"))?;
        let data_len = limits.alloc("the volume", count, sample_bytes)?;
        if bytes.len() - HEADER != data_len {
            return Err(corrupt(format!(
                "{} data bytes, the header needs {data_len}",
                bytes.len() - HEADER
            )));
        }
        crate::limits::admit(data_len as u64)?;
        let rescale = Rescale {
            slope: r.f64(),
            intercept: r.f64(),
        };
        let spacing = r.f64x3();
        let directions = [r.f64x3(), r.f64x3(), r.f64x3()];
        let origin = r.f64x3();
        let window = WindowLevel {
            center: r.f64(),
            width: r.f64(),
        };
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !finite(&spacing)
            || spacing.iter().any(|&s| s <= 0.0)
            || !finite(directions.as_flattened())
            || !finite(&origin)
            || Rescale::new(rescale.slope, rescale.intercept) != rescale
        {
            return Err(corrupt("bad geometry or rescale"));
        }
        let data = &bytes[HEADER..];
        let voxels = match kind {
            0 => Voxels::U8(data.to_vec()),
            1 => Voxels::I8(data.iter().map(|&b| b as i8).collect()),
            2 => Voxels::U16(
                data.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            3 => Voxels::I16(
                data.chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect(),
            ),
            4 => Voxels::I32(
                data.chunks_exact(4)
                    .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
            _ => Voxels::F32(
                data.chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            ),
        };
        let geometry = Geometry {
            spacing,
            directions,
            origin,
            oriented: oriented == 1,
        };
        let dims = dims.map(|d| d as usize);
        Ok(Volume::new(dims, usize::from(channels), voxels, geometry)?
            .with_rescale(rescale)
            .with_invert(invert == 1)
            .with_default_window((has_window == 1).then_some(window)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_damage() {
        let g = Geometry::from_lps_affine(
            [[0.5, 0.0, 0.0], [0.0, 0.0, -0.7], [0.0, 2.0, 0.0]],
            [1.0, -2.0, 3.5],
        );
        let vol = Volume::new(
            [3, 2, 2],
            1,
            Voxels::I16(vec![-1000, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 3000]),
            g,
        )
        .unwrap()
        .with_rescale(Rescale::new(2.0, -1024.0))
        .with_invert(true)
        .with_default_window(Some(WindowLevel {
            center: 40.0,
            width: 400.0,
        }));
        let bytes = vol.encode();
        let limits = Limits::default();
        assert_eq!(Volume::decode(&bytes, &limits).unwrap(), vol);
        assert!(Volume::decode(&bytes[..bytes.len() - 1], &limits).is_err());
        let mut bad = bytes.clone();
        bad[8] = 9;
        assert!(Volume::decode(&bad, &limits).is_err());
        let small = Limits {
            max_alloc: 10,
            ..limits
        };
        assert!(matches!(
            Volume::decode(&bytes, &small),
            Err(ImagingError::TooLarge(_))
        ));
    }
}
