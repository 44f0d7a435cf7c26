//! The header: `key = value` lines up to `ElementDataFile`, and the geometry they give.

use crate::ImagingError;
use crate::samples::Kind;
use crate::volume::{Geometry, cross, unit};

use super::corrupt;

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
pub(super) enum DataFile {
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
pub(super) struct Header {
    pub(super) dims: Vec<u64>,
    pub(super) kind: Kind,
    pub(super) components: u64,
    pub(super) spacing: Vec<f64>,
    pub(super) origin: Vec<f64>,
    /// `NDims × NDims`, the direction of axis `k` at `k·NDims..(k+1)·NDims`.
    pub(super) matrix: Option<Vec<f64>>,
    pub(super) anatomical: Option<String>,
    pub(super) binary: bool,
    pub(super) big_endian: bool,
    pub(super) compressed: bool,
    pub(super) compressed_size: Option<u64>,
    pub(super) header_size: i64,
    pub(super) data_file: DataFile,
    /// Byte offset just after the `ElementDataFile` line.
    pub(super) data_start: usize,
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

pub(super) fn parse_header(bytes: &[u8]) -> Result<Header, ImagingError> {
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

pub(super) fn geometry(h: &Header) -> Geometry {
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
