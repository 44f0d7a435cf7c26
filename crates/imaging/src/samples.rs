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
    /// Every `N`-byte sample read through `f`, the first `channels` of each voxel kept.
    fn typed<const N: usize, T>(
        (raw, big, comps, channels): (&[u8], bool, u64, usize),
        f: impl Fn([u8; N]) -> T,
    ) -> Vec<T> {
        keep(read::<N>(raw, big).map(f), comps, channels)
    }
    let at = (raw, big, comps, channels);
    match kind {
        Kind::U8 => Voxels::U8(keep_channels(raw, comps, channels, |b| *b)),
        Kind::I8 => Voxels::I8(keep_channels(raw, comps, channels, |b| *b as i8)),
        Kind::U16 => Voxels::U16(typed(at, u16::from_le_bytes)),
        Kind::I16 => Voxels::I16(typed(at, i16::from_le_bytes)),
        Kind::I32 => Voxels::I32(typed(at, i32::from_le_bytes)),
        Kind::U32 => Voxels::F32(typed(at, |b| u32::from_le_bytes(b) as f32)),
        Kind::F32 => Voxels::F32(typed(at, f32::from_le_bytes)),
        Kind::I64 => Voxels::F32(typed(at, |b| i64::from_le_bytes(b) as f32)),
        Kind::U64 => Voxels::F32(typed(at, |b| u64::from_le_bytes(b) as f32)),
        Kind::F64 => Voxels::F32(typed(at, |b| f64::from_le_bytes(b) as f32)),
    }
}
