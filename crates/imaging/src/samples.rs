//! Typed binary samples → [`Voxels`]: the sample types NRRD and MetaImage share, either
//! byte order, keeping the first three of every group of components (RGB of RGBA, …).

use crate::volume::Voxels;

/// A sample type of a binary volume file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    U8,
    I8,
    U16,
    I16,
    U32,
    I32,
    U64,
    I64,
    F32,
    F64,
}

impl Kind {
    /// Bytes per sample.
    pub(crate) fn bytes(self) -> u64 {
        match self {
            Kind::U8 | Kind::I8 => 1,
            Kind::U16 | Kind::I16 => 2,
            Kind::U32 | Kind::I32 | Kind::F32 => 4,
            Kind::U64 | Kind::I64 | Kind::F64 => 8,
        }
    }
}

/// Keeps the first `channels` of every `components` samples.
pub(crate) fn keep_channels<T, U>(
    samples: &[T],
    components: u64,
    channels: usize,
    f: impl Fn(&T) -> U,
) -> Vec<U> {
    if components as usize == channels {
        samples.iter().map(f).collect()
    } else {
        samples
            .chunks_exact(components as usize)
            .flat_map(|px| px[..channels].iter().map(&f))
            .collect()
    }
}

/// `raw` samples of `kind` (big-endian when `big`), `components` per voxel, as voxels of
/// `channels` samples each. Types without a [`Voxels`] variant become `F32`.
pub(crate) fn convert(
    raw: &[u8],
    kind: Kind,
    big: bool,
    components: usize,
    channels: usize,
) -> Voxels {
    fn read<const N: usize>(raw: &[u8], big: bool) -> impl Iterator<Item = [u8; N]> + '_ {
        raw.chunks_exact(N).map(move |c| {
            let mut b: [u8; N] = c.try_into().expect("exact chunk");
            if big {
                b.reverse();
            }
            b
        })
    }
    let comps = components as u64;
    match kind {
        Kind::U8 => Voxels::U8(keep_channels(raw, comps, channels, |b| *b)),
        Kind::I8 => Voxels::I8(keep_channels(raw, comps, channels, |b| *b as i8)),
        Kind::U16 => {
            let v: Vec<u16> = read::<2>(raw, big).map(u16::from_le_bytes).collect();
            Voxels::U16(keep_channels(&v, comps, channels, |s| *s))
        }
        Kind::I16 => {
            let v: Vec<i16> = read::<2>(raw, big).map(i16::from_le_bytes).collect();
            Voxels::I16(keep_channels(&v, comps, channels, |s| *s))
        }
        Kind::I32 => {
            let v: Vec<i32> = read::<4>(raw, big).map(i32::from_le_bytes).collect();
            Voxels::I32(keep_channels(&v, comps, channels, |s| *s))
        }
        Kind::U32 => {
            let v: Vec<f32> = read::<4>(raw, big)
                .map(|b| u32::from_le_bytes(b) as f32)
                .collect();
            Voxels::F32(keep_channels(&v, comps, channels, |s| *s))
        }
        Kind::F32 => {
            let v: Vec<f32> = read::<4>(raw, big).map(f32::from_le_bytes).collect();
            Voxels::F32(keep_channels(&v, comps, channels, |s| *s))
        }
        Kind::I64 => {
            let v: Vec<f32> = read::<8>(raw, big)
                .map(|b| i64::from_le_bytes(b) as f32)
                .collect();
            Voxels::F32(keep_channels(&v, comps, channels, |s| *s))
        }
        Kind::U64 => {
            let v: Vec<f32> = read::<8>(raw, big)
                .map(|b| u64::from_le_bytes(b) as f32)
                .collect();
            Voxels::F32(keep_channels(&v, comps, channels, |s| *s))
        }
        Kind::F64 => {
            let v: Vec<f32> = read::<8>(raw, big)
                .map(|b| f64::from_le_bytes(b) as f32)
                .collect();
            Voxels::F32(keep_channels(&v, comps, channels, |s| *s))
        }
    }
}
