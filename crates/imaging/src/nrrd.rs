//! NRRD (`.nrrd`, data attached), encodings `raw`, `gzip` and `ascii`.
//!
//! Fields read: `type`, `dimension`, `sizes`, `encoding`, `endian`, `kinds`, `space`,
//! `space directions`, `space origin`, `spacings`, `byte skip`, `line skip`. Key/value
//! pairs (`key:=value`), comments and every other field are skipped and never kept.
//! A leading non-spatial axis of size 3 (`RGB-color`, `vector`, …) is read as RGB; with
//! more than three spatial axes the first 3-D volume is read.

use crate::samples::{Kind, convert, keep_channels};
use crate::volume::{Geometry, Volume, Voxels};
use crate::{ImagingError, Limits, gzip};

const FORMAT: &str = "NRRD";
/// Longest header accepted.
const MAX_HEADER: usize = 1 << 20;

fn corrupt(reason: impl Into<String>) -> ImagingError {
    ImagingError::Corrupt(FORMAT, reason.into())
}

fn unsupported(reason: impl Into<String>) -> ImagingError {
    ImagingError::Unsupported("NRRD", reason.into())
}

/// An NRRD `type` as a sample kind.
fn parse_type(text: &str) -> Result<Kind, ImagingError> {
    Ok(match text {
        "uchar" | "unsigned char" | "uint8" | "uint8_t" => Kind::U8,
        "signed char" | "int8" | "int8_t" => Kind::I8,
        "short" | "short int" | "signed short" | "signed short int" | "int16" | "int16_t" => {
            Kind::I16
        }
        "ushort" | "unsigned short" | "unsigned short int" | "uint16" | "uint16_t" => Kind::U16,
        "int" | "signed int" | "int32" | "int32_t" => Kind::I32,
        "uint" | "unsigned int" | "uint32" | "uint32_t" => Kind::U32,
        "longlong"
        | "long long"
        | "long long int"
        | "signed long long"
        | "signed long long int"
        | "int64"
        | "int64_t" => Kind::I64,
        "ulonglong" | "unsigned long long" | "unsigned long long int" | "uint64" | "uint64_t" => {
            Kind::U64
        }
        "float" => Kind::F32,
        "double" => Kind::F64,
        _ => return Err(unsupported("this `type` (block or unknown)")),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Raw,
    Gzip,
    Ascii,
}

/// The fields samscope uses.
#[derive(Default)]
struct Fields {
    kind: Option<Kind>,
    dimension: Option<usize>,
    sizes: Vec<u64>,
    encoding: Option<Encoding>,
    big_endian: Option<bool>,
    kinds: Vec<String>,
    space: Option<String>,
    directions: Vec<Option<[f64; 3]>>,
    origin: Option<[f64; 3]>,
    spacings: Vec<f64>,
    byte_skip: i64,
    line_skip: u64,
}

fn numbers(text: &str) -> Result<Vec<f64>, ImagingError> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| {
            t.parse::<f64>()
                .map_err(|_| corrupt("a number in a vector does not parse"))
        })
        .collect()
}

/// `(a,b,c)` → the three numbers.
fn vector(text: &str) -> Result<[f64; 3], ImagingError> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| corrupt("a vector is not written `(x,y,z)`"))?;
    let v = numbers(inner)?;
    v.try_into()
        .map_err(|_| unsupported("vectors of other than 3 components (space dimension ≠ 3)"))
}

fn parse_fields(header: &str) -> Result<Fields, ImagingError> {
    let mut f = Fields::default();
    for line in header.lines().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.starts_with('#') || line.contains(":=") {
            continue; // comments and key/value pairs: never read
        }
        let Some((name, value)) = line.split_once(": ") else {
            return Err(corrupt(
                "a header line is neither a field, a key/value pair nor a comment",
            ));
        };
        let value = value.trim();
        let count = |v: &str| -> Result<u64, ImagingError> {
            v.parse::<u64>()
                .map_err(|_| corrupt(format!("`{name}` is not a whole number")))
        };
        match name.to_ascii_lowercase().as_str() {
            "type" => f.kind = Some(parse_type(value)?),
            "dimension" => f.dimension = Some(count(value)? as usize),
            "sizes" => {
                f.sizes = value
                    .split_whitespace()
                    .map(count)
                    .collect::<Result<_, _>>()?;
            }
            "encoding" => {
                f.encoding = Some(match value {
                    "raw" => Encoding::Raw,
                    "gzip" | "gz" => Encoding::Gzip,
                    "ascii" | "text" | "txt" => Encoding::Ascii,
                    "bzip2" | "bz2" => return Err(unsupported("encoding bzip2; use raw or gzip")),
                    "hex" => return Err(unsupported("encoding hex; use raw or gzip")),
                    _ => return Err(unsupported("an unknown encoding")),
                })
            }
            "endian" => {
                f.big_endian = Some(match value {
                    "little" => false,
                    "big" => true,
                    _ => return Err(corrupt("endian is neither little nor big")),
                })
            }
            "kinds" => {
                f.kinds = value
                    .split_whitespace()
                    .map(str::to_ascii_lowercase)
                    .collect()
            }
            "space" => f.space = Some(value.to_ascii_lowercase()),
            "space directions" => {
                f.directions = value
                    .split_whitespace()
                    .map(|t| {
                        if t == "none" {
                            Ok(None)
                        } else {
                            vector(t).map(Some)
                        }
                    })
                    .collect::<Result<_, _>>()?;
            }
            "space origin" => f.origin = Some(vector(value)?),
            "spacings" => {
                f.spacings = value
                    .split_whitespace()
                    .map(|t| t.parse::<f64>().unwrap_or(f64::NAN))
                    .collect();
            }
            "byte skip" | "byteskip" => {
                f.byte_skip = value
                    .parse()
                    .map_err(|_| corrupt("`byte skip` is not a number"))?;
            }
            "line skip" | "lineskip" => f.line_skip = count(value)?,
            "data file" | "datafile" => {
                return Err(unsupported(
                    "a detached header (`data file`); upload a .nrrd with the data attached",
                ));
            }
            _ => {}
        }
    }
    Ok(f)
}

/// A kind that is not a spatial (or time) domain axis.
fn is_channel_kind(kind: &str) -> bool {
    !matches!(kind, "domain" | "space" | "time" | "???" | "none")
}

/// How the space's axes relate to LPS: sign of x and y, and whether it is patient space.
fn space_to_lps(space: Option<&str>) -> Result<([f64; 3], bool), ImagingError> {
    Ok(match space {
        None => ([1.0; 3], false),
        Some("left-posterior-superior" | "lps") => ([1.0, 1.0, 1.0], true),
        Some("right-anterior-superior" | "ras") => ([-1.0, -1.0, 1.0], true),
        Some("left-anterior-superior" | "las") => ([1.0, -1.0, 1.0], true),
        Some("scanner-xyz" | "3d-right-handed" | "3d-left-handed") => ([1.0; 3], false),
        Some(_) => return Err(unsupported("this `space` (time-varying or unknown)")),
    })
}

/// Decodes an NRRD file within `limits`.
pub(crate) fn decode(bytes: &[u8], limits: &Limits) -> Result<Volume, ImagingError> {
    let window = &bytes[..bytes.len().min(MAX_HEADER)];
    let (header_end, data_start) = match window.windows(2).position(|w| w == b"\n\n") {
        Some(p) => (p, p + 2),
        None => match window.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(p) => (p, p + 4),
            None if bytes.len() > MAX_HEADER => {
                return Err(corrupt("no end of header in the first MiB"));
            }
            None => return Err(corrupt("the header does not end (no blank line)")),
        },
    };
    let header =
        std::str::from_utf8(&bytes[..header_end]).map_err(|_| corrupt("the header is not text"))?;
    let version = header.as_bytes().get(7).copied().unwrap_or(0);
    if !(b'1'..=b'5').contains(&version) {
        return Err(corrupt("bad magic (NRRD0001 to NRRD0005)"));
    }
    let f = parse_fields(header)?;
    let kind = f.kind.ok_or_else(|| corrupt("no `type` field"))?;
    let encoding = f.encoding.ok_or_else(|| corrupt("no `encoding` field"))?;
    let dimension = f.dimension.ok_or_else(|| corrupt("no `dimension` field"))?;
    if !(1..=16).contains(&dimension) || f.sizes.len() != dimension {
        return Err(corrupt("`sizes` does not have `dimension` entries"));
    }
    if f.sizes.contains(&0) {
        return Err(ImagingError::NoPixels);
    }
    let big_endian = match (f.big_endian, kind.bytes(), encoding) {
        (Some(b), _, _) => b,
        (None, 1, _) | (None, _, Encoding::Ascii) => false,
        (None, _, _) => return Err(corrupt("no `endian` field for multi-byte samples")),
    };

    // A leading channel axis (RGB, vector, …), then up to three spatial axes.
    let leading_channel = if !f.kinds.is_empty() {
        f.kinds.len() == dimension && is_channel_kind(&f.kinds[0])
    } else {
        f.directions.len() == dimension && f.directions[0].is_none() && dimension > 1
    };
    let components = if leading_channel { f.sizes[0] } else { 1 };
    let channels: usize = match components {
        1 => 1,
        3 | 4 => 3,
        other => {
            return Err(unsupported(format!(
                "{other} components per voxel (1, 3 or 4 are read)"
            )));
        }
    };
    let first_spatial = usize::from(leading_channel);
    let spatial: Vec<u64> = f.sizes[first_spatial..].iter().copied().take(3).collect();
    if spatial.is_empty() {
        return Err(unsupported("no spatial axis"));
    }
    let shape = [0, 1, 2].map(|a| spatial.get(a).copied().unwrap_or(1));
    limits.check_plane(shape[0], shape[1])?;
    let voxel_count = crate::limits::product(&shape)
        .ok_or_else(|| ImagingError::TooLarge("the dimensions overflow".into()))?;
    let sample_count = voxel_count
        .checked_mul(components)
        .ok_or_else(|| ImagingError::TooLarge("the dimensions overflow".into()))?;
    let data_len = limits.alloc("the NRRD volume", sample_count, kind.bytes())?;
    limits.alloc("the decoded volume", voxel_count * channels as u64, 4)?;
    let read_bytes = match encoding {
        Encoding::Raw => 0,
        Encoding::Gzip => data_len as u64,
        Encoding::Ascii => sample_count.saturating_mul(8),
    };
    crate::limits::admit(read_bytes.saturating_add(voxel_count * channels as u64 * 4))?;

    let body = &bytes[data_start..];
    let body = skip_lines(body, f.line_skip)?;
    let samples: Vec<f64>;
    let raw: std::borrow::Cow<'_, [u8]> = match encoding {
        Encoding::Raw => {
            let start = if f.byte_skip == -1 {
                body.len()
                    .checked_sub(data_len)
                    .ok_or_else(|| truncated(data_len, body.len()))?
            } else {
                usize::try_from(f.byte_skip).map_err(|_| corrupt("`byte skip` below −1"))?
            };
            let end = start.checked_add(data_len).filter(|&e| e <= body.len());
            let end = end.ok_or_else(|| truncated(data_len, body.len().saturating_sub(start)))?;
            std::borrow::Cow::Borrowed(&body[start..end])
        }
        Encoding::Gzip => {
            let skip = usize::try_from(f.byte_skip)
                .map_err(|_| corrupt("`byte skip: -1` needs raw encoding"))?;
            let total = limits.alloc("the inflated NRRD data", (skip + data_len) as u64, 1)?;
            let mut inflated = gzip::exact(body, total, FORMAT)?;
            inflated.drain(..skip);
            std::borrow::Cow::Owned(inflated)
        }
        Encoding::Ascii => {
            let text = std::str::from_utf8(body).map_err(|_| corrupt("ascii data is not text"))?;
            samples = text
                .split_whitespace()
                .take(sample_count as usize)
                .map(|t| {
                    t.parse::<f64>()
                        .map_err(|_| corrupt("an ascii sample does not parse"))
                })
                .collect::<Result<_, _>>()?;
            if samples.len() as u64 != sample_count {
                return Err(truncated(sample_count as usize, samples.len()));
            }
            let voxels = Voxels::F32(keep_channels(&samples, components, channels, |v| *v as f32));
            return finish(voxels, shape, channels, &f, first_spatial);
        }
    };
    let voxels = convert(&raw, kind, big_endian, components as usize, channels);
    finish(voxels, shape, channels, &f, first_spatial)
}

fn truncated(needed: usize, have: usize) -> ImagingError {
    corrupt(format!(
        "the header needs {needed} data bytes, the file has {have}"
    ))
}

fn skip_lines(mut body: &[u8], lines: u64) -> Result<&[u8], ImagingError> {
    for _ in 0..lines {
        let p = body
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| corrupt("`line skip` runs past the data"))?;
        body = &body[p + 1..];
    }
    Ok(body)
}

fn finish(
    voxels: Voxels,
    shape: [u64; 3],
    channels: usize,
    f: &Fields,
    first_spatial: usize,
) -> Result<Volume, ImagingError> {
    let (signs, patient) = space_to_lps(f.space.as_deref())?;
    let spatial_directions: Vec<Option<[f64; 3]>> = f
        .directions
        .iter()
        .skip(first_spatial)
        .take(3)
        .copied()
        .collect();
    let geometry = if !spatial_directions.is_empty()
        && spatial_directions.iter().all(Option::is_some)
    {
        let mut columns = [[0.0; 3]; 3];
        let mut full = true;
        for (axis, column) in columns.iter_mut().enumerate() {
            match spatial_directions.get(axis) {
                Some(Some(d)) => *column = [d[0] * signs[0], d[1] * signs[1], d[2] * signs[2]],
                _ => full = false,
            }
        }
        if !full {
            // A 2-D image in 3-D space: the third axis is the normal, 1 mm.
            if let (Some(a), Some(b)) = (
                crate::volume::unit(columns[0]),
                crate::volume::unit(columns[1]),
            ) {
                columns[2] = crate::volume::cross(a, b);
            }
        }
        let origin = f.origin.unwrap_or([0.0; 3]);
        let origin = [
            origin[0] * signs[0],
            origin[1] * signs[1],
            origin[2] * signs[2],
        ];
        let mut g = Geometry::from_lps_affine(columns, origin);
        g.oriented &= patient;
        g
    } else {
        let spacing = |a: usize| {
            crate::volume::usable_spacing(f.spacings.get(first_spatial + a).copied().unwrap_or(1.0))
        };
        Geometry {
            spacing: [spacing(0), spacing(1), spacing(2)],
            ..Geometry::default()
        }
    };
    Volume::new(shape.map(|d| d as usize), channels, voxels, geometry)
}

#[cfg(test)]
mod tests {
    use test_support::scans::nrrd;

    use super::*;
    use crate::volume::Axis;

    #[test]
    fn reads_raw_gzip_and_ascii_with_ras_geometry() {
        let samples: Vec<u8> = (0..24).flat_map(|v: i16| v.to_be_bytes()).collect();
        let header = "NRRD0004\n# a comment\ntype: short\ndimension: 3\nspace: right-anterior-superior\nsizes: 4 3 2\nspace directions: (-2,0,0) (0,3,0) (0,0,4)\nkinds: domain domain domain\nendian: big\nencoding: raw\nspace origin: (1,2,3)\nPatientName:=Nobody\n\n";
        let limits = Limits::default();
        let raw = decode(&nrrd(header, &samples), &limits).unwrap();
        assert_eq!(raw.dims(), [4, 3, 2]);
        assert_eq!(raw.value_at(3, 2, 1, 0), Some(23.0));
        assert_eq!(raw.geometry().spacing, [2.0, 3.0, 4.0]);
        assert_eq!(raw.geometry().directions[0], [1.0, 0.0, 0.0]);
        assert_eq!(raw.geometry().directions[1], [0.0, -1.0, 0.0]);
        assert_eq!(raw.geometry().origin, [-1.0, -2.0, 3.0]);
        assert!(raw.geometry().oriented);

        let gz = test_support::scans::gzip(&samples);
        let gz_header = header.replace("encoding: raw", "encoding: gzip");
        assert_eq!(decode(&nrrd(&gz_header, &gz), &limits).unwrap(), raw);

        let text: String = (0..24).map(|v| format!("{v} ")).collect();
        let ascii = header.replace("encoding: raw", "encoding: ascii");
        let a = decode(&nrrd(&ascii, text.as_bytes()), &limits).unwrap();
        assert_eq!(a.value_at(3, 2, 1, 0), Some(23.0));
        assert_eq!(a.slice(Axis::Axial, 1).unwrap().values.len(), 12);
    }

    #[test]
    fn reads_rgb_and_spacings() {
        let header = "NRRD0005\ntype: uchar\ndimension: 3\nsizes: 3 2 1\nkinds: RGB-color space space\nspacings: NaN 0.5 0.25\nencoding: raw\n\n";
        let v = decode(&nrrd(header, &[1, 2, 3, 4, 5, 6]), &Limits::default()).unwrap();
        assert_eq!((v.dims(), v.channels()), ([2, 1, 1], 3));
        assert_eq!(v.geometry().spacing, [0.5, 0.25, 1.0]);
        assert_eq!(v.value_at(1, 0, 0, 2), Some(6.0));
    }

    #[test]
    fn refuses_bad_headers() {
        let limits = Limits::default();
        let ok = "NRRD0004\ntype: uchar\ndimension: 2\nsizes: 2 2\nencoding: raw\n\n";
        assert!(decode(&nrrd(ok, &[1, 2, 3, 4]), &limits).is_ok());
        assert!(matches!(
            decode(&nrrd(ok, &[1, 2, 3]), &limits),
            Err(ImagingError::Corrupt(..))
        ));
        let cases = [
            ok.replace("sizes: 2 2", "sizes: 99999999 99999999"),
            ok.replace("sizes: 2 2", "sizes: 2"),
            ok.replace("encoding: raw", "encoding: bzip2"),
            ok.replace("encoding: raw\n", "encoding: raw\ndata file: x.raw\n"),
            ok.replace("type: uchar", "type: short"),
            ok.replace("\n\n", "\n"),
            ok.replace("type: uchar", "type: block"),
            ok.replace("encoding: raw", "encoding: gzip"),
        ];
        for case in cases {
            assert!(
                decode(&nrrd(&case, &[1, 2, 3, 4]), &limits).is_err(),
                "{case}"
            );
        }
    }
}
