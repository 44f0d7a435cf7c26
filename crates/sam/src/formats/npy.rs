//! NumPy `.npy` (format 1.0) encoding and decoding of little-endian `f32` and `u8`
//! arrays, on byte buffers (no I/O).

use crate::error::SamError;

const MAGIC: &[u8] = b"\x93NUMPY";

/// A decoded array: shape and row-major values.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray<T> {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values in C order.
    pub data: Vec<T>,
}

/// Element types this module reads and writes.
pub trait NpyElement: Copy {
    /// The `descr` of the header (`'<f4'`, `'|u1'`).
    const DESCR: &'static str;
    /// Bytes per element.
    const SIZE: usize;
    /// Decodes one element from little-endian bytes.
    fn from_le(bytes: &[u8]) -> Self;
    /// Appends the little-endian bytes of `self`.
    fn write_le(self, out: &mut Vec<u8>);
}

impl NpyElement for f32 {
    const DESCR: &'static str = "<f4";
    const SIZE: usize = 4;
    fn from_le(b: &[u8]) -> Self {
        f32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_le_bytes());
    }
}

impl NpyElement for u8 {
    const DESCR: &'static str = "|u1";
    const SIZE: usize = 1;
    fn from_le(b: &[u8]) -> Self {
        b[0]
    }
    fn write_le(self, out: &mut Vec<u8>) {
        out.push(self);
    }
}

/// Encodes `data` with `shape` as a `.npy` file image.
pub fn encode<T: NpyElement>(shape: &[usize], data: &[T]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        T::DESCR,
        shape_text
    );
    // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * T::SIZE);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for &v in data {
        v.write_le(&mut out);
    }
    out
}

fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let start = header.find(&format!("'{key}':"))? + key.len() + 3;
    Some(header[start..].trim_start())
}

/// Decodes a `.npy` file image holding `T` elements in C order.
pub fn decode<T: NpyElement>(bytes: &[u8]) -> Result<NpyArray<T>, SamError> {
    let err = |m: &str| SamError::Npy(m.to_string());
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(err("not a .npy file (bad magic)"));
    }
    let (header_len, offset) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(SamError::Npy(format!("unsupported .npy version {v}"))),
    };
    let body = offset
        .checked_add(header_len)
        .filter(|&end| end <= bytes.len())
        .ok_or_else(|| err("truncated header"))?;
    let header =
        std::str::from_utf8(&bytes[offset..body]).map_err(|_| err("header is not text"))?;
    let descr = header_value(header, "descr").ok_or_else(|| err("header has no descr"))?;
    if !descr.starts_with(&format!("'{}'", T::DESCR)) {
        return Err(SamError::Npy(format!(
            "dtype {} found, {} expected",
            descr.split(',').next().unwrap_or(descr),
            T::DESCR
        )));
    }
    if header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err(err("Fortran-ordered arrays are not supported"));
    }
    let shape_text = header_value(header, "shape").ok_or_else(|| err("header has no shape"))?;
    let close = shape_text.find(')').ok_or_else(|| err("malformed shape"))?;
    let shape = shape_text[1..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| err("malformed shape")))
        .collect::<Result<Vec<_>, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| err("shape overflows"))?;
    let payload = &bytes[body..];
    if payload.len() != count * T::SIZE {
        return Err(SamError::Npy(format!(
            "shape {shape:?} needs {} bytes of data, found {}",
            count * T::SIZE,
            payload.len()
        )));
    }
    let data = payload.chunks_exact(T::SIZE).map(T::from_le).collect();
    Ok(NpyArray { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_f32_and_pads_header_to_64() {
        let bytes = encode(&[2, 3], &[1.0f32, 2.0, 3.0, 4.0, 5.0, 6.5]);
        let body = bytes.len() - 6 * 4;
        assert_eq!(body % 64, 0);
        let arr = decode::<f32>(&bytes).unwrap();
        assert_eq!(arr.shape, vec![2, 3]);
        assert_eq!(arr.data[5], 6.5);
    }

    #[test]
    fn one_dimensional_shape_has_trailing_comma() {
        let bytes = encode(&[3], &[1u8, 2, 3]);
        assert!(String::from_utf8_lossy(&bytes).contains("'shape': (3,)"));
        assert_eq!(decode::<u8>(&bytes).unwrap().data, vec![1, 2, 3]);
    }

    #[test]
    fn rejects_wrong_dtype_and_truncation() {
        let bytes = encode(&[2], &[1.0f32, 2.0]);
        assert!(decode::<u8>(&bytes).is_err());
        assert!(decode::<f32>(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode::<f32>(b"not numpy at all").is_err());
    }
}
