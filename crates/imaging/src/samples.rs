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
    keep(samples.iter().map(f), components, channels)
}

/// As [`keep_channels`], for samples read one at a time (no intermediate copy).
fn keep<U>(samples: impl Iterator<Item = U>, components: u64, channels: usize) -> Vec<U> {
    let components = components as usize;
    if components == channels {
        samples.collect()
    } else {
        samples
            .enumerate()
            .filter(|(n, _)| n % components < channels)
            .map(|(_, s)| s)
            .collect()
    }
}

/// `raw` samples of `kind` (big-endian when `big`), `components` per voxel, as voxels of
/// `channels` samples each. Types without a [`Voxels`] variant become `F32`. Each sample is
/// converted as it is read: the result is the only new buffer.
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
        Kind::U16 => Voxels::U16(keep(
            read::<2>(raw, big).map(u16::from_le_bytes),
            comps,
            channels,
        )),
        Kind::I16 => Voxels::I16(keep(
            read::<2>(raw, big).map(i16::from_le_bytes),
            comps,
            channels,
        )),
        Kind::I32 => Voxels::I32(keep(
            read::<4>(raw, big).map(i32::from_le_bytes),
            comps,
            channels,
        )),
        Kind::U32 => Voxels::F32(keep(
            read::<4>(raw, big).map(|b| u32::from_le_bytes(b) as f32),
            comps,
            channels,
        )),
        Kind::F32 => Voxels::F32(keep(
            read::<4>(raw, big).map(f32::from_le_bytes),
            comps,
            channels,
        )),
        Kind::I64 => Voxels::F32(keep(
            read::<8>(raw, big).map(|b| i64::from_le_bytes(b) as f32),
            comps,
            channels,
        )),
        Kind::U64 => Voxels::F32(keep(
            read::<8>(raw, big).map(|b| u64::from_le_bytes(b) as f32),
            comps,
            channels,
        )),
        Kind::F64 => Voxels::F32(keep(
            read::<8>(raw, big).map(|b| f64::from_le_bytes(b) as f32),
            comps,
            channels,
        )),
    }
}
