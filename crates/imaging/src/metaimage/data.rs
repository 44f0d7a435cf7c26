//! The voxels: after the header in a `.mha`, or in the data file a `.mhd` names beside it.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::samples::{convert, keep_channels};
use crate::volume::{Volume, Voxels};
use crate::{ImagingError, Limits, gzip};

use super::header::{Header, geometry};
use super::{FORMAT, corrupt};

/// `name` resolved against the folder of `header_path`, refused when it could leave it.
pub(super) fn data_file_path(header_path: &Path, name: &str) -> Result<PathBuf, ImagingError> {
    let relative = Path::new(name);
    let plain = relative
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !plain || relative.file_name().is_none() {
        return Err(ImagingError::Unsupported(
            "MetaImage ElementDataFile",
            format!(
                "`{}`: the data file must be named relative to the header's folder, without a \
                 root, a drive or `..`",
                crate::printable(name, 200)
            ),
        ));
    }
    let folder = header_path.parent().unwrap_or(Path::new(""));
    Ok(folder.join(relative))
}

/// The whole data file, refused over [`Limits::max_bytes`] before it is read.
pub(super) fn read_data_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, ImagingError> {
    let cannot = |e: std::io::Error| {
        corrupt(format!(
            "`ElementDataFile`: cannot read the data file {}: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(cannot)?;
    let len = file.metadata().map_err(cannot)?.len();
    let too_large = |len: u64| {
        ImagingError::TooLarge(format!(
            "the data file {} has {len} bytes, above the limit of {} bytes",
            path.display(),
            limits.max_bytes
        ))
    };
    if len > limits.max_bytes as u64 {
        return Err(too_large(len));
    }
    let mut data = Vec::new();
    data.try_reserve_exact(len as usize)
        .map_err(|_| ImagingError::TooLarge(format!("cannot allocate {len} bytes")))?;
    file.take(limits.max_bytes as u64 + 1)
        .read_to_end(&mut data)
        .map_err(cannot)?;
    if data.len() > limits.max_bytes {
        return Err(too_large(data.len() as u64));
    }
    Ok(data)
}

fn truncated(needed: u64, have: usize) -> ImagingError {
    corrupt(format!(
        "the header needs {needed} data bytes, the file has {have}"
    ))
}

/// The voxels of `header` from `file` (the `.mha`, or the data file with `after_header`
/// 0), bounded by `limits` before anything is allocated.
pub(super) fn decode_data(
    h: &Header,
    file: &[u8],
    after_header: usize,
    limits: &Limits,
) -> Result<Volume, ImagingError> {
    let shape = [0, 1, 2].map(|a| h.dims.get(a).copied().unwrap_or(1));
    limits.check_plane(shape[0], shape[1])?;
    let overflow = || ImagingError::TooLarge("`DimSize`: the dimensions overflow".into());
    let voxel_count = crate::limits::product(&shape).ok_or_else(overflow)?;
    let sample_count = voxel_count.checked_mul(h.components).ok_or_else(overflow)?;
    let channels: usize = if h.components == 1 { 1 } else { 3 };
    let data_len = limits.alloc("the MetaImage volume", sample_count, h.kind.bytes())?;
    limits.alloc("the decoded volume", voxel_count * channels as u64, 4)?;
    crate::limits::admit(data_len as u64 + voxel_count * channels as u64 * 4)?;
    // Every volume of a 4-D file: where `HeaderSize = -1` counts from.
    let all_len = crate::limits::product(&h.dims)
        .and_then(|n| n.checked_mul(h.components))
        .and_then(|n| n.checked_mul(h.kind.bytes()))
        .ok_or_else(overflow)?;

    let start = |len_from_end: Option<u64>| -> Result<usize, ImagingError> {
        match h.header_size {
            -1 => {
                let len = len_from_end.ok_or_else(|| {
                    ImagingError::Unsupported(
                        "MetaImage HeaderSize",
                        "-1 (the data end the file) for data of unknown length: compressed \
                         without `CompressedDataSize`, or text (`BinaryData = False`)"
                            .into(),
                    )
                })?;
                usize::try_from(len)
                    .ok()
                    .and_then(|len| file.len().checked_sub(len))
                    .ok_or_else(|| truncated(len, file.len()))
            }
            0 => Ok(after_header),
            n => usize::try_from(n)
                .ok()
                .filter(|&n| n <= file.len())
                .ok_or_else(|| {
                    corrupt(format!(
                        "`HeaderSize` is {n} bytes, the data file has {}",
                        file.len()
                    ))
                }),
        }
    };

    let voxels = if !h.binary {
        let start = start(None)?;
        let text = std::str::from_utf8(&file[start..])
            .map_err(|_| corrupt("`BinaryData = False` but the data are not text"))?;
        let samples: Vec<f32> = text
            .split_ascii_whitespace()
            .take(sample_count as usize)
            .map(|t| {
                t.parse::<f64>()
                    .map(|v| v as f32)
                    .map_err(|_| corrupt("a text sample (`BinaryData = False`) does not parse"))
            })
            .collect::<Result<_, _>>()?;
        if samples.len() as u64 != sample_count {
            return Err(corrupt(format!(
                "the header needs {sample_count} text samples, the file has {}",
                samples.len()
            )));
        }
        Voxels::F32(keep_channels(&samples, h.components, channels, |v| *v))
    } else if h.compressed {
        let start = start(h.compressed_size)?;
        let available = file.len() - start;
        let end = match h.compressed_size {
            None => file.len(),
            Some(n) => usize::try_from(n)
                .ok()
                .filter(|&n| n <= available)
                .map(|n| start + n)
                .ok_or_else(|| {
                    corrupt(format!(
                        "`CompressedDataSize` is {n} bytes, the file has {available} after the header"
                    ))
                })?,
        };
        let inflated = gzip::zlib_exact(&file[start..end], data_len, FORMAT)?;
        convert(
            &inflated,
            h.kind,
            h.big_endian,
            h.components as usize,
            channels,
        )
    } else {
        let start = start(Some(all_len))?;
        let end = start
            .checked_add(data_len)
            .filter(|&e| e <= file.len())
            .ok_or_else(|| truncated(data_len as u64, file.len() - start))?;
        convert(
            &file[start..end],
            h.kind,
            h.big_endian,
            h.components as usize,
            channels,
        )
    };
    Volume::new(shape.map(|d| d as usize), channels, voxels, geometry(h))
}
