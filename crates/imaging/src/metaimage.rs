//! MetaImage (ITK's MetaIO): `.mha`, the header and the data in one file, and `.mhd`, a
//! header whose `ElementDataFile` names a separate data file (`.raw`, `.zraw`).
//!
//! Fields read (names are case-sensitive, as MetaIO reads them): `ObjectType` (`Image`),
//! `NDims` (2 to 4; with four dimensions the first 3-D volume is read), `DimSize`,
//! `ElementType` (`MET_UCHAR`, `MET_CHAR`, `MET_USHORT`, `MET_SHORT`, `MET_UINT`, `MET_INT`,
//! `MET_ULONG`, `MET_LONG` (4 bytes, as in MetaIO's type table), `MET_ULONG_LONG`,
//! `MET_LONG_LONG`, `MET_FLOAT`, `MET_DOUBLE`),
//! `ElementNumberOfChannels` (1; 3 or 4 are read as RGB), `ElementSpacing` (else
//! `ElementSize`), `Offset` / `Position` / `Origin`, `TransformMatrix` / `Rotation` /
//! `Orientation` (the direction of voxel axis `k` is the matrix's `k`-th group of `NDims`
//! values, in ITK's LPS world, as ITK writes it), `AnatomicalOrientation` (only when no
//! matrix is given, where ITK would take the identity: each letter is the side an axis comes
//! from, `RAI` = identity),
//! `BinaryData` (`False`: numbers as text), `BinaryDataByteOrderMSB` /
//! `ElementByteOrderMSB`, `CompressedData` (zlib, or gzip) with `CompressedDataSize`
//! (else the compressed stream runs to the end of the file), `HeaderSize` (where the data
//! start, counted from the start of the data file, or of the `.mha` itself, as MetaIO seeks;
//! `-1`: the data are the file's last bytes) and `ElementDataFile`, the last field. Every other field
//! (`Comment`, `Name`, `AcquisitionDate`, `ElementToIntensityFunction…`, which ITK does not
//! apply either, …) is skipped and never kept.
//!
//! `ElementDataFile = LOCAL`: the data follow the header. A file name is read only when the
//! header was read from a path ([`decode_file`]): it must be a relative path of plain
//! components (no root, no drive, no `..`), and is resolved against the header's folder, so a
//! header cannot make samscope read a file anywhere else; the header's own path, as the user
//! gave it, may be anywhere (symbolic links inside its folder are followed). `LIST` and
//! `%d` patterns (one file per slice) are refused by name.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::samples::{Kind, convert, keep_channels};
use crate::volume::{Geometry, Volume, Voxels, cross, unit};
use crate::{ImagingError, Limits, gzip};

const FORMAT: &str = "MetaImage";
/// Longest header accepted.
const MAX_HEADER: usize = 1 << 20;

/// Every field name MetaIO's image reader knows; a file whose first line names one of
/// these is taken as MetaImage.
const FIELDS: [&str; 41] = [
    "ObjectType",
    "ObjectSubType",
    "FileFormatVersion",
    "Comment",
    "AcquisitionDate",
    "NDims",
    "Name",
    "ID",
    "ParentID",
    "CompressedData",
    "CompressedDataSize",
    "BinaryData",
    "ElementByteOrderMSB",
    "BinaryDataByteOrderMSB",
    "Color",
    "Position",
    "Origin",
    "Offset",
    "TransformMatrix",
    "Rotation",
    "Orientation",
    "CenterOfRotation",
    "DistanceUnits",
    "AnatomicalOrientation",
    "ElementSpacing",
    "DimSize",
    "HeaderSize",
    "Modality",
    "ImagePosition",
    "ElementOrigin",
    "ElementDirection",
    "SequenceID",
    "ElementMin",
    "ElementMax",
    "ElementNumberOfChannels",
    "ElementSize",
    "ElementNBits",
    "ElementToIntensityFunctionSlope",
    "ElementToIntensityFunctionOffset",
    "ElementType",
    "ElementDataFile",
];

fn corrupt(reason: impl Into<String>) -> ImagingError {
    ImagingError::Corrupt(FORMAT, reason.into())
}

/// `key` and `value` of a `key = value` (or `key : value`) line, trimmed.
fn split_field(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = line.iter().position(|&b| b == b'=' || b == b':')?;
    Some((line[..at].trim_ascii(), line[at + 1..].trim_ascii()))
}

/// Whether `bytes` start like a MetaImage header: the first line is `Field = value` with a
/// field MetaIO knows.
pub(crate) fn is_metaimage(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(512)];
    let head = head.trim_ascii_start();
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    split_field(line).is_some_and(|(key, _)| FIELDS.iter().any(|f| f.as_bytes() == key))
}

/// Where the voxels are.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DataFile {
    /// After the header, in the same file.
    Local,
    /// In this file, beside the header.
    Named(String),
}

/// The header's values, as text, the last of each field winning (as in MetaIO).
#[derive(Default)]
struct Raw<'a> {
    object_type: Option<&'a str>,
    ndims: Option<&'a str>,
    dim_size: Option<&'a str>,
    element_type: Option<&'a str>,
    channels: Option<&'a str>,
    spacing: Option<&'a str>,
    size: Option<&'a str>,
    offset: Option<&'a str>,
    position: Option<&'a str>,
    origin: Option<&'a str>,
    transform: Option<&'a str>,
    rotation: Option<&'a str>,
    orientation: Option<&'a str>,
    anatomical: Option<&'a str>,
    binary: Option<&'a str>,
    msb: Option<&'a str>,
    compressed: Option<&'a str>,
    compressed_size: Option<&'a str>,
    header_size: Option<&'a str>,
    data_file: Option<&'a str>,
}

/// A parsed header.
#[derive(Debug)]
struct Header {
    dims: Vec<u64>,
    kind: Kind,
    components: u64,
    spacing: Vec<f64>,
    origin: Vec<f64>,
    /// `NDims × NDims`, the direction of axis `k` at `k·NDims..(k+1)·NDims`.
    matrix: Option<Vec<f64>>,
    anatomical: Option<String>,
    binary: bool,
    big_endian: bool,
    compressed: bool,
    compressed_size: Option<u64>,
    header_size: i64,
    data_file: DataFile,
    /// Byte offset just after the `ElementDataFile` line.
    data_start: usize,
}

/// MetaIO's booleans: `True`, `true`, `1`, … (the first character decides).
fn boolean(value: Option<&str>) -> Option<bool> {
    value.map(|v| matches!(v.as_bytes().first(), Some(b'T' | b't' | b'1')))
}

/// The first `n` numbers of `field`.
fn numbers(field: &str, value: &str, n: usize) -> Result<Vec<f64>, ImagingError> {
    let v: Vec<f64> = value
        .split_ascii_whitespace()
        .take(n)
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| corrupt(format!("`{field}` holds a value that is not a number")))
        })
        .collect::<Result<_, _>>()?;
    if v.len() < n {
        return Err(corrupt(format!(
            "`{field}` has {} values, it needs {n}",
            v.len()
        )));
    }
    Ok(v)
}

fn element_type(value: &str) -> Result<Kind, ImagingError> {
    Ok(match value {
        "MET_UCHAR" => Kind::U8,
        "MET_CHAR" => Kind::I8,
        "MET_USHORT" => Kind::U16,
        "MET_SHORT" => Kind::I16,
        "MET_UINT" | "MET_ULONG" => Kind::U32,
        "MET_INT" | "MET_LONG" => Kind::I32,
        "MET_ULONG_LONG" => Kind::U64,
        "MET_LONG_LONG" => Kind::I64,
        "MET_FLOAT" => Kind::F32,
        "MET_DOUBLE" => Kind::F64,
        other => {
            return Err(ImagingError::Unsupported(
                "MetaImage ElementType",
                format!(
                    "`{}`; samscope reads MET_UCHAR, MET_CHAR, MET_USHORT, MET_SHORT, MET_UINT, \
                     MET_INT, MET_ULONG, MET_LONG, MET_ULONG_LONG, MET_LONG_LONG, MET_FLOAT and MET_DOUBLE",
                    crate::printable(other, 32)
                ),
            ));
        }
    })
}

fn parse_header(bytes: &[u8]) -> Result<Header, ImagingError> {
    let mut raw = Raw::default();
    let mut pos = 0;
    let data_start = loop {
        if pos >= MAX_HEADER {
            return Err(corrupt("no `ElementDataFile` in the first MiB"));
        }
        if pos >= bytes.len() {
            return Err(corrupt(
                "the header ends without `ElementDataFile` (the last field, naming the data)",
            ));
        }
        let rest = &bytes[pos..];
        let (line, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(n) => (&rest[..n], pos + n + 1),
            None => (rest, bytes.len()),
        };
        pos = next;
        if line.trim_ascii().is_empty() {
            continue;
        }
        let (key, value) =
            split_field(line).ok_or_else(|| corrupt("a header line is not `Field = value`"))?;
        // Fields samscope does not read may hold any bytes; the ones it reads are text.
        let Ok(key) = std::str::from_utf8(key) else {
            continue;
        };
        let slot = match key {
            "ObjectType" => &mut raw.object_type,
            "NDims" => &mut raw.ndims,
            "DimSize" => &mut raw.dim_size,
            "ElementType" => &mut raw.element_type,
            "ElementNumberOfChannels" => &mut raw.channels,
            "ElementSpacing" => &mut raw.spacing,
            "ElementSize" => &mut raw.size,
            "Offset" => &mut raw.offset,
            "Position" => &mut raw.position,
            "Origin" => &mut raw.origin,
            "TransformMatrix" => &mut raw.transform,
            "Rotation" => &mut raw.rotation,
            "Orientation" => &mut raw.orientation,
            "AnatomicalOrientation" => &mut raw.anatomical,
            "BinaryData" => &mut raw.binary,
            "BinaryDataByteOrderMSB" | "ElementByteOrderMSB" => &mut raw.msb,
            "CompressedData" => &mut raw.compressed,
            "CompressedDataSize" => &mut raw.compressed_size,
            "HeaderSize" => &mut raw.header_size,
            "ElementDataFile" => &mut raw.data_file,
            _ => continue,
        };
        *slot =
            Some(std::str::from_utf8(value).map_err(|_| corrupt(format!("`{key}` is not text")))?);
        if key == "ElementDataFile" {
            break next;
        }
    };

    if let Some(t) = raw.object_type
        && t != "Image"
    {
        return Err(ImagingError::Unsupported(
            "MetaImage ObjectType",
            format!(
                "`{}`; samscope reads `ObjectType = Image`",
                crate::printable(t, 32)
            ),
        ));
    }
    let ndims: usize = raw
        .ndims
        .ok_or_else(|| corrupt("no `NDims` field"))?
        .parse()
        .map_err(|_| corrupt("`NDims` is not a whole number"))?;
    if !(2..=4).contains(&ndims) {
        return Err(ImagingError::Unsupported(
            "MetaImage NDims",
            format!("{ndims} dimensions (2, 3 or 4 are read)"),
        ));
    }
    let dims_text = raw.dim_size.ok_or_else(|| corrupt("no `DimSize` field"))?;
    let dims: Vec<u64> = dims_text
        .split_ascii_whitespace()
        .take(ndims)
        .map(|t| {
            t.parse::<u64>()
                .map_err(|_| corrupt("`DimSize` holds a value that is not a whole number ≥ 0"))
        })
        .collect::<Result<_, _>>()?;
    if dims.len() != ndims {
        return Err(corrupt(format!(
            "`DimSize` has {} values, `NDims` is {ndims}",
            dims.len()
        )));
    }
    if dims.contains(&0) {
        return Err(ImagingError::NoPixels);
    }
    let kind = element_type(
        raw.element_type
            .ok_or_else(|| corrupt("no `ElementType` field"))?,
    )?;
    let components: u64 = match raw.channels {
        None => 1,
        Some(v) => v
            .parse()
            .map_err(|_| corrupt("`ElementNumberOfChannels` is not a whole number"))?,
    };
    if !matches!(components, 1 | 3 | 4) {
        return Err(ImagingError::Unsupported(
            "MetaImage ElementNumberOfChannels",
            format!("{components} channels per voxel (1, 3 or 4 are read)"),
        ));
    }
    let spacing = match (raw.spacing, raw.size) {
        (Some(v), _) => numbers("ElementSpacing", v, ndims)?,
        (None, Some(v)) => numbers("ElementSize", v, ndims)?,
        (None, None) => vec![1.0; ndims],
    };
    // MetaIO reads Offset, then Position, then Origin, each replacing the one before.
    let origin = match (raw.origin, raw.position, raw.offset) {
        (Some(v), _, _) => numbers("Origin", v, ndims)?,
        (None, Some(v), _) => numbers("Position", v, ndims)?,
        (None, None, Some(v)) => numbers("Offset", v, ndims)?,
        (None, None, None) => vec![0.0; ndims],
    };
    // And Orientation, then Rotation, then TransformMatrix.
    let matrix = match (raw.transform, raw.rotation, raw.orientation) {
        (Some(v), _, _) => Some(numbers("TransformMatrix", v, ndims * ndims)?),
        (None, Some(v), _) => Some(numbers("Rotation", v, ndims * ndims)?),
        (None, None, Some(v)) => Some(numbers("Orientation", v, ndims * ndims)?),
        (None, None, None) => None,
    };
    let compressed_size = match raw.compressed_size {
        None => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| corrupt("`CompressedDataSize` is not a whole number"))?,
        ),
    };
    let header_size: i64 = match raw.header_size {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| corrupt("`HeaderSize` is not a whole number"))?,
    };
    if header_size < -1 {
        return Err(corrupt(format!(
            "`HeaderSize` is {header_size}; it is a byte count or -1"
        )));
    }
    let name = raw
        .data_file
        .ok_or_else(|| corrupt("no `ElementDataFile` field"))?;
    let data_file = if matches!(name, "LOCAL" | "Local" | "local") {
        DataFile::Local
    } else if name.starts_with("LIST") {
        return Err(ImagingError::Unsupported(
            "MetaImage ElementDataFile",
            "`LIST` (one data file per slice); write the volume as one .mha or .raw".into(),
        ));
    } else if name.contains('%') {
        return Err(ImagingError::Unsupported(
            "MetaImage ElementDataFile",
            "a numbered file pattern (one data file per slice); write the volume as one .mha or .raw"
                .into(),
        ));
    } else if name.is_empty() {
        return Err(corrupt("`ElementDataFile` is empty"));
    } else {
        DataFile::Named(name.to_string())
    };
    Ok(Header {
        dims,
        kind,
        components,
        spacing,
        origin,
        matrix,
        anatomical: raw.anatomical.map(str::to_string),
        binary: boolean(raw.binary).unwrap_or(true),
        big_endian: boolean(raw.msb).unwrap_or(false),
        compressed: boolean(raw.compressed).unwrap_or(false),
        compressed_size: compressed_size.filter(|&n| n > 0),
        header_size,
        data_file,
        data_start,
    })
}

/// Decodes a MetaImage file held in memory within `limits`: a `.mha`, or any header whose
/// data are `LOCAL`. A detached header (`.mhd`) is refused with a message saying so, since
/// its data file is not in `bytes` (read it with [`decode_file`]).
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
    let header = parse_header(bytes)?;
    match header.data_file {
        DataFile::Local => decode_data(&header, bytes, header.data_start, limits),
        DataFile::Named(_) => Err(ImagingError::Unsupported(
            "MetaImage layout",
            "a detached header (.mhd): its voxels are in the separate file that \
             `ElementDataFile` names, which a single upload cannot carry; send a single-file .mha \
             (header and data in one file, e.g. written by SimpleITK as `scan.mha`), or give the \
             .mhd's path to the command line"
                .into(),
        )),
    }
}

/// Decodes the MetaImage header `bytes` read from `header_path` within `limits`, reading a
/// detached data file from the header's folder (see the module notes for what is allowed).
pub(crate) fn decode_file(
    bytes: &[u8],
    header_path: &Path,
    limits: &Limits,
) -> Result<Volume, ImagingError> {
    let header = parse_header(bytes)?;
    match &header.data_file {
        DataFile::Local => decode_data(&header, bytes, header.data_start, limits),
        DataFile::Named(name) => {
            let path = data_file_path(header_path, name)?;
            let data = read_data_file(&path, limits)?;
            decode_data(&header, &data, 0, limits)
        }
    }
}

/// `name` resolved against the folder of `header_path`, refused when it could leave it.
fn data_file_path(header_path: &Path, name: &str) -> Result<PathBuf, ImagingError> {
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
fn read_data_file(path: &Path, limits: &Limits) -> Result<Vec<u8>, ImagingError> {
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
fn decode_data(
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

/// The LPS direction an axis takes from an `AnatomicalOrientation` letter (the side the
/// axis comes from: `R` → towards the left, +x).
fn anatomical_axis(letter: u8) -> Option<[f64; 3]> {
    Some(match letter.to_ascii_uppercase() {
        b'R' => [1.0, 0.0, 0.0],
        b'L' => [-1.0, 0.0, 0.0],
        b'A' => [0.0, 1.0, 0.0],
        b'P' => [0.0, -1.0, 0.0],
        b'I' => [0.0, 0.0, 1.0],
        b'S' => [0.0, 0.0, -1.0],
        _ => return None,
    })
}

fn geometry(h: &Header) -> Geometry {
    let n = h.dims.len();
    let spatial = n.min(3);
    // Directions of the spatial axes (LPS), when the header gives them.
    let mut directions: Option<Vec<[f64; 3]>> = match &h.matrix {
        Some(m) => Some(
            (0..spatial)
                .map(|a| [0, 1, 2].map(|c| if c < n { m[a * n + c] } else { 0.0 }))
                .collect(),
        ),
        None => h.anatomical.as_deref().and_then(|text| {
            let letters = text.as_bytes();
            let axes: Option<Vec<[f64; 3]>> = (0..spatial)
                .map(|a| letters.get(a).copied().and_then(anatomical_axis))
                .collect();
            // Each axis along a different body axis, else the field is not usable.
            axes.filter(|axes| {
                (0..axes.len())
                    .all(|i| (i + 1..axes.len()).all(|j| cross(axes[i], axes[j]) != [0.0; 3]))
            })
        }),
    };
    if let Some(dirs) = &mut directions {
        match dirs.iter().map(|&d| unit(d)).collect::<Option<Vec<_>>>() {
            Some(units) => *dirs = units,
            None => directions = None,
        }
    }
    let oriented = directions.is_some();
    let mut dirs = directions.unwrap_or_else(|| {
        vec![[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]][..spatial].to_vec()
    });
    if dirs.len() == 2 {
        // A 2-D image: the third axis is the normal, 1 mm.
        dirs.push(unit(cross(dirs[0], dirs[1])).unwrap_or([0.0, 0.0, 1.0]));
    }
    let mut columns = [[0.0; 3]; 3];
    for (axis, column) in columns.iter_mut().enumerate() {
        // A negative spacing runs the axis the other way; an unusable one is 1 mm.
        let s = h.spacing.get(axis).copied().unwrap_or(1.0);
        let s = if s.is_finite() && s != 0.0 { s } else { 1.0 };
        *column = dirs[axis].map(|d| d * s);
    }
    let origin = [0, 1, 2].map(|a| h.origin.get(a).copied().unwrap_or(0.0));
    let mut g = Geometry::from_lps_affine(columns, origin);
    g.oriented &= oriented;
    g
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::volume::Axis;

    /// A `.mha`: `fields` (one per line, `ElementDataFile = LOCAL` added) then `data`.
    pub(crate) fn mha(fields: &str, data: &[u8]) -> Vec<u8> {
        let mut out = format!("{fields}ElementDataFile = LOCAL\n").into_bytes();
        out.extend_from_slice(data);
        out
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// 4×3×2 int16 samples 0..24, little-endian.
    fn samples_le() -> Vec<u8> {
        (0..24i16).flat_map(i16::to_le_bytes).collect()
    }

    const ROTATED: &str = "ObjectType = Image\nNDims = 3\nBinaryData = True\n\
        BinaryDataByteOrderMSB = False\nCompressedData = False\n\
        TransformMatrix = 0 1 0 0 0 -1 1 0 0\nOffset = 1 2 3\nCenterOfRotation = 0 0 0\n\
        AnatomicalOrientation = ASR\nElementSpacing = 2 3 4\nDimSize = 4 3 2\n\
        ElementType = MET_SHORT\n";

    #[test]
    fn reads_what_itk_writes_with_its_direction_matrix() {
        // The header SimpleITK 2.5 writes for an image whose i axis points posterior,
        // j inferior and k left.
        let v = decode(&mha(ROTATED, &samples_le()), &Limits::default()).unwrap();
        assert_eq!((v.dims(), v.channels()), ([4, 3, 2], 1));
        assert_eq!(v.value_at(3, 2, 1, 0), Some(23.0));
        assert_eq!(v.value_at(1, 1, 0, 0), Some(5.0));
        let g = v.geometry();
        assert!(g.oriented);
        assert_eq!(g.spacing, [2.0, 3.0, 4.0]);
        assert_eq!(
            g.directions,
            [[0.0, 1.0, 0.0], [0.0, 0.0, -1.0], [1.0, 0.0, 0.0]]
        );
        assert_eq!(g.origin, [1.0, 2.0, 3.0]);
        assert_eq!(g.voxel_axis_of_world(), [2, 0, 1]);

        // Big-endian, and the older field names.
        let be: Vec<u8> = (0..24i16).flat_map(i16::to_be_bytes).collect();
        let old = ROTATED
            .replace(
                "BinaryDataByteOrderMSB = False",
                "ElementByteOrderMSB = True",
            )
            .replace("TransformMatrix", "Rotation")
            .replace("Offset", "Position")
            .replace("ElementSpacing", "ElementSize");
        assert_eq!(decode(&mha(&old, &be), &Limits::default()).unwrap(), v);
    }

    #[test]
    fn reads_zlib_gzip_text_and_header_size() {
        let limits = Limits::default();
        let plain = decode(&mha(ROTATED, &samples_le()), &limits).unwrap();
        let z = zlib(&samples_le());
        let with_size = ROTATED.replace(
            "CompressedData = False",
            &format!("CompressedData = True\nCompressedDataSize = {}", z.len()),
        );
        assert_eq!(decode(&mha(&with_size, &z), &limits).unwrap(), plain);
        // Without a size, the stream runs to the end of the file.
        let no_size = ROTATED.replace("CompressedData = False", "CompressedData = True");
        assert_eq!(decode(&mha(&no_size, &z), &limits).unwrap(), plain);
        assert_eq!(
            decode(&mha(&no_size, &gz(&samples_le())), &limits).unwrap(),
            plain
        );

        // HeaderSize -1: the data are the file's last bytes, after anything else.
        let tail = ROTATED.replace("NDims = 3", "NDims = 3\nHeaderSize = -1");
        let mut junk = vec![7u8; 13];
        junk.extend_from_slice(&samples_le());
        assert_eq!(decode(&mha(&tail, &junk), &limits).unwrap(), plain);
        let tail_z = with_size.replace("NDims = 3", "NDims = 3\nHeaderSize = -1");
        let mut junk_z = vec![7u8; 5];
        junk_z.extend_from_slice(&z);
        assert_eq!(decode(&mha(&tail_z, &junk_z), &limits).unwrap(), plain);
        // HeaderSize n: the data start at byte n of the file (MetaIO seeks from its start).
        let prefix = mha(
            &ROTATED.replace("NDims = 3", "NDims = 3\nHeaderSize = 0000"),
            &[],
        );
        let at = prefix.len() + 3;
        let skip = ROTATED.replace("NDims = 3", &format!("NDims = 3\nHeaderSize = {at:04}"));
        let mut data = vec![1, 2, 3];
        data.extend_from_slice(&samples_le());
        assert_eq!(decode(&mha(&skip, &data), &limits).unwrap(), plain);

        let text: String = (0..24).map(|v| format!("{v} ")).collect();
        let ascii = ROTATED.replace("BinaryData = True", "BinaryData = False");
        let t = decode(&mha(&ascii, text.as_bytes()), &limits).unwrap();
        assert_eq!(t.value_at(3, 2, 1, 0), Some(23.0));
        assert_eq!(t.geometry(), plain.geometry());
    }

    #[test]
    fn reads_rgb_2d_and_4d() {
        let limits = Limits::default();
        let rgb = "ObjectType = Image\nNDims = 2\nTransformMatrix = 1 0 0 1\nOffset = 0 0\n\
            ElementSpacing = 0.5 0.25\nDimSize = 2 1\nAnatomicalOrientation = ??\n\
            ElementNumberOfChannels = 3\nElementType = MET_UCHAR\n";
        let v = decode(&mha(rgb, &[1, 2, 3, 4, 5, 6]), &limits).unwrap();
        assert_eq!((v.dims(), v.channels()), ([2, 1, 1], 3));
        assert_eq!(v.value_at(1, 0, 0, 2), Some(6.0));
        assert_eq!(v.geometry().spacing, [0.5, 0.25, 1.0]);
        assert_eq!(v.geometry().directions[2], [0.0, 0.0, 1.0]);
        assert!(v.is_single_slice());
        let rgba = rgb.replace("Channels = 3", "Channels = 4");
        let w = decode(&mha(&rgba, &[1, 2, 3, 0, 4, 5, 6, 0]), &limits).unwrap();
        assert_eq!(w, v);

        let four = "NDims = 4\nDimSize = 2 2 1 3\nElementType = MET_FLOAT\n\
            ElementSpacing = 1 1 2 9\nTransformMatrix = -1 0 0 0 0 -1 0 0 0 0 1 0 0 0 0 1\n";
        let data: Vec<u8> = (0..12)
            .flat_map(|v| (v as f32 * 0.5).to_le_bytes())
            .collect();
        let v = decode(&mha(four, &data), &limits).unwrap();
        assert_eq!(v.dims(), [2, 2, 1]);
        assert_eq!(v.value_at(1, 1, 0, 0), Some(1.5));
        assert_eq!(v.geometry().spacing, [1.0, 1.0, 2.0]);
        assert_eq!(v.geometry().directions[0], [-1.0, 0.0, 0.0]);
        // Only the first volume has to be there.
        assert_eq!(decode(&mha(four, &data[..16]), &limits).unwrap(), v);
    }

    #[test]
    fn anatomical_orientation_places_axes_only_without_a_matrix() {
        let limits = Limits::default();
        let base = "NDims = 3\nDimSize = 2 2 2\nElementType = MET_UCHAR\n";
        let data = [0u8; 8];
        let plain = decode(&mha(base, &data), &limits).unwrap();
        assert!(!plain.geometry().oriented);
        let ao = format!("{base}AnatomicalOrientation = LPS\n");
        let g = *decode(&mha(&ao, &data), &limits).unwrap().geometry();
        assert!(g.oriented);
        assert_eq!(
            g.directions,
            [[-1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, -1.0]]
        );
        for unusable in ["RRI", "??", "RA", "XYZ"] {
            let text = format!("{base}AnatomicalOrientation = {unusable}\n");
            let g = *decode(&mha(&text, &data), &limits).unwrap().geometry();
            assert!(!g.oriented, "{unusable}");
        }
        // A matrix wins.
        let both = format!("{ao}TransformMatrix = 1 0 0 0 1 0 0 0 1\n");
        let g = *decode(&mha(&both, &data), &limits).unwrap().geometry();
        assert_eq!(g.directions[2], [0.0, 0.0, 1.0]);
        // A negative spacing runs the axis the other way.
        let neg = format!("{base}ElementSpacing = 1 -2 1\n");
        let g = *decode(&mha(&neg, &data), &limits).unwrap().geometry();
        assert_eq!((g.spacing[1], g.directions[1]), (2.0, [0.0, -1.0, 0.0]));
        assert_eq!(
            decode(&mha(&neg, &data), &limits)
                .unwrap()
                .slice(Axis::Axial, 1)
                .unwrap()
                .values
                .len(),
            4
        );
    }

    fn message(bytes: &[u8]) -> String {
        decode(bytes, &Limits::default()).unwrap_err().to_string()
    }

    #[test]
    fn refuses_broken_and_unsupported_headers_naming_the_field() {
        let ok = "ObjectType = Image\nNDims = 2\nDimSize = 2 2\nElementType = MET_UCHAR\n";
        let data = [1u8, 2, 3, 4];
        assert!(decode(&mha(ok, &data), &Limits::default()).is_ok());
        let cases: Vec<(String, &str)> = vec![
            (ok.replace("NDims = 2\n", ""), "NDims"),
            (ok.replace("DimSize = 2 2\n", ""), "DimSize"),
            (ok.replace("ElementType = MET_UCHAR\n", ""), "ElementType"),
            (ok.replace("MET_UCHAR", "MET_UCHAR_ARRAY"), "ElementType"),
            (ok.replace("MET_UCHAR", "MET_STRING"), "ElementType"),
            (ok.replace("= Image", "= Tube"), "ObjectType"),
            (ok.replace("NDims = 2", "NDims = 5"), "NDims"),
            (ok.replace("NDims = 2", "NDims = two"), "NDims"),
            (ok.replace("DimSize = 2 2", "DimSize = 2"), "DimSize"),
            (ok.replace("DimSize = 2 2", "DimSize = 2 -2"), "DimSize"),
            (
                format!("{ok}ElementNumberOfChannels = 2\n"),
                "ElementNumberOfChannels",
            ),
            (format!("{ok}ElementSpacing = 1\n"), "ElementSpacing"),
            (format!("{ok}TransformMatrix = 1 0 0\n"), "TransformMatrix"),
            (format!("{ok}Offset = a b\n"), "Offset"),
            (format!("{ok}HeaderSize = -2\n"), "HeaderSize"),
            (format!("{ok}HeaderSize = 999\n"), "HeaderSize"),
            (
                format!("{ok}CompressedData = True\nCompressedDataSize = 99\n"),
                "CompressedDataSize",
            ),
            (
                format!("{ok}CompressedData = True\nHeaderSize = -1\n"),
                "HeaderSize",
            ),
            (format!("{ok}this line has no separator\n"), "Field = value"),
        ];
        for (fields, field) in cases {
            let err = message(&mha(&fields, &data));
            assert!(err.contains(field), "{fields:?}: {err}");
        }
        // The data file names.
        for (name, what) in [
            ("LIST", "LIST"),
            ("LIST 2D", "LIST"),
            ("s%03d.raw 1 4 1", "pattern"),
        ] {
            let file = format!("{ok}ElementDataFile = {name}\n").into_bytes();
            let err = message(&file);
            assert!(err.contains(what), "{name}: {err}");
        }
        let detached = format!("{ok}ElementDataFile = scan.raw\n").into_bytes();
        let err = message(&detached);
        assert!(
            err.contains(".mhd") && err.contains("ElementDataFile") && err.contains(".mha"),
            "{err}"
        );
        assert!(message(ok.as_bytes()).contains("ElementDataFile"));
        assert!(matches!(
            decode(&mha(&ok.replace("2 2", "2 0"), &data), &Limits::default()),
            Err(ImagingError::NoPixels)
        ));
    }

    #[test]
    fn refuses_truncated_and_absurd_data_before_allocating() {
        let limits = Limits::default();
        let ok = "NDims = 3\nDimSize = 4 3 2\nElementType = MET_SHORT\n";
        let data = samples_le();
        assert!(decode(&mha(ok, &data), &limits).is_ok());
        assert!(message(&mha(ok, &data[..47])).contains("48 data bytes"));
        let z = zlib(&data);
        let compressed = format!("{ok}CompressedData = True\n");
        assert!(message(&mha(&compressed, &z[..z.len() / 2])).contains("zlib"));
        assert!(message(&mha(&compressed, b"not zlib")).contains("zlib"));
        let text = format!("{ok}BinaryData = False\n");
        assert!(message(&mha(&text, b"1 2 3")).contains("text samples"));
        assert!(message(&mha(&text, b"1 2 x")).contains("text sample"));
        // Sizes whose product overflows, or that are absurd, fail before any allocation.
        for dims in [
            "DimSize = 4294967296 4294967296 4294967296",
            "DimSize = 18446744073709551615 2 2",
            "DimSize = 100000 100000 1",
            "DimSize = 10000 10000 10000",
        ] {
            let fields = ok.replace("DimSize = 4 3 2", dims);
            assert!(
                matches!(
                    decode(&mha(&fields, &data), &limits),
                    Err(ImagingError::TooLarge(_))
                ),
                "{dims}"
            );
        }
        let four = "NDims = 4\nDimSize = 2 2 2 18446744073709551615\nElementType = MET_SHORT\n";
        assert!(matches!(
            decode(&mha(four, &data), &limits),
            Err(ImagingError::TooLarge(_))
        ));
        // A small bomb: 1 KiB of zlib claiming a volume over the limit.
        let small = Limits {
            max_alloc: 1 << 20,
            ..limits
        };
        let bomb = zlib(&vec![0u8; 4 << 20]);
        let fields =
            "NDims = 3\nDimSize = 1024 1024 4\nElementType = MET_UCHAR\nCompressedData = True\n";
        assert!(matches!(
            decode(&mha(fields, &bomb), &small),
            Err(ImagingError::TooLarge(_))
        ));
    }

    /// A fresh folder under the system's temporary folder.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("samscope-metaimage-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_a_detached_data_file_beside_the_header_and_nowhere_else() {
        let limits = Limits::default();
        let dir = scratch("detached");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::write(dir.join("scan.raw"), samples_le()).unwrap();
        std::fs::write(dir.join("data/scan.zraw"), zlib(&samples_le())).unwrap();
        let header = |name: &str, extra: &str| {
            format!("{ROTATED}{extra}ElementDataFile = {name}\n").into_bytes()
        };
        let want = decode(&mha(ROTATED, &samples_le()), &limits).unwrap();
        let mhd = dir.join("scan.mhd");
        assert_eq!(
            decode_file(&header("scan.raw", ""), &mhd, &limits).unwrap(),
            want
        );
        assert_eq!(
            decode_file(
                &header("./data/scan.zraw", "CompressedData = True\n"),
                &mhd,
                &limits
            )
            .unwrap(),
            want
        );
        // A .mha read from a path reads as from memory.
        assert_eq!(
            decode_file(&mha(ROTATED, &samples_le()), &mhd, &limits).unwrap(),
            want
        );
        let missing = decode_file(&header("gone.raw", ""), &mhd, &limits)
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("ElementDataFile") && missing.contains("gone.raw"),
            "{missing}"
        );
        for escape in [
            "../scan.raw",
            "data/../../scan.raw",
            "/etc/passwd",
            "data/..",
        ] {
            let err = decode_file(&header(escape, ""), &dir.join("data/x.mhd"), &limits)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("relative to the header's folder"),
                "{escape}: {err}"
            );
        }
        let truncated = decode_file(&header("scan.raw", "HeaderSize = 1\n"), &mhd, &limits);
        assert!(matches!(truncated, Err(ImagingError::Corrupt(..))));
        let tiny = Limits {
            max_bytes: 40,
            ..limits
        };
        assert!(matches!(
            decode_file(&header("scan.raw", ""), &mhd, &tiny),
            Err(ImagingError::TooLarge(_))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sniffs_the_first_field() {
        assert!(is_metaimage(ROTATED.as_bytes()));
        assert!(is_metaimage(b"\n  NDims=3\n"));
        assert!(is_metaimage(b"Comment : made by hand\n"));
        assert!(!is_metaimage(b"Hello = world\n"));
        assert!(!is_metaimage(b"NDims 3\n"));
        assert!(!is_metaimage(b""));
    }
}
