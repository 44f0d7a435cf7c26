//! The embedding wire format shared by the server (encode) and the browser (decode):
//! bytes in, bytes out — no I/O, compiles for `wasm32-unknown-unknown`.
//!
//! Layout, every integer little-endian:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | magic `SAMSCEMB` |
//! | 8 | 2 | format version ([`FORMAT_VERSION`]) |
//! | 10 | 1 | dtype: 0 = f32, 1 = f16 (IEEE 754 binary16) |
//! | 11 | 1 | rank, always 4 |
//! | 12 | 4 | `data_offset`: where the tensor starts (a multiple of 16) |
//! | 16 | 16 | shape `B, C, H, W` as 4 × u32 (`1, 256, 64, 64`) |
//! | 32 | 8 | original image size `height, width` as 2 × u32 |
//! | 40 | 8 | model input size `height, width` as 2 × u32 (the resized image inside the padded input) |
//! | 48 | 2 | model id length `n` (bytes, ASCII) |
//! | 50 | n | model id (`lite_medsam`, …) |
//! | 50 + n | … | zero padding up to `data_offset` |
//! | `data_offset` | `B·C·H·W · 2 or 4` | the tensor, row-major (C order) |
//!
//! The file ends exactly after the tensor. A 1×256×64×64 f16 embedding is 2 MiB plus a
//! 64-byte header.

use burn::prelude::*;
use half::f16;

use crate::build_sam::ModelId;
use crate::error::SamError;
use crate::export::ExportDtype;
use crate::predictor::Embedding;

/// The first 8 bytes of every encoded embedding.
pub const MAGIC: [u8; 8] = *b"SAMSCEMB";
/// The layout version this module writes and reads.
pub const FORMAT_VERSION: u16 = 1;
/// Size of the fixed part of the header, before the model id.
const FIXED_HEADER: usize = 50;
/// `data_offset` is rounded up to this, so the tensor can be viewed in place.
const DATA_ALIGN: usize = 16;
/// Largest tensor accepted on decode (elements), far above any SAM embedding.
const MAX_ELEMENTS: usize = 1 << 26;

/// What the header says about the tensor that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbeddingHeader {
    /// Model that produced the embedding.
    pub model: ModelId,
    /// Storage precision of the tensor bytes.
    pub dtype: ExportDtype,
    /// `[B, C, H, W]`, `[1, 256, 64, 64]` for every SAM model.
    pub shape: [usize; 4],
    /// Original image `(height, width)` in pixels.
    pub original_size: (usize, usize),
    /// Resized image `(height, width)` inside the padded model input.
    pub input_size: (usize, usize),
}

/// An embedding as plain values: the header and `B·C·H·W` f32 values in C order
/// (f16 data is widened on decode).
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingData {
    /// Geometry, model and the precision it was (or will be) stored in.
    pub header: EmbeddingHeader,
    /// Row-major values, `shape.iter().product()` of them.
    pub values: Vec<f32>,
}

fn invalid(message: impl Into<String>) -> SamError {
    SamError::InvalidEmbedding(format!("embedding file: {}", message.into()))
}

fn to_u32(value: usize, what: &str) -> Result<u32, SamError> {
    u32::try_from(value).map_err(|_| invalid(format!("{what} {value} does not fit in 32 bits")))
}

/// Bytes per stored element.
fn element_size(dtype: ExportDtype) -> usize {
    match dtype {
        ExportDtype::F32 => 4,
        ExportDtype::F16 => 2,
    }
}

fn dtype_code(dtype: ExportDtype) -> u8 {
    match dtype {
        ExportDtype::F32 => 0,
        ExportDtype::F16 => 1,
    }
}

fn element_count(shape: &[usize; 4]) -> Result<usize, SamError> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_ELEMENTS)
        .ok_or_else(|| invalid(format!("shape {shape:?} is too large")))
}

impl EmbeddingData {
    /// Reads an [`Embedding`]'s tensor (`1×256×64×64`) into plain values; `dtype` is the
    /// precision [`EmbeddingData::encode`] will store.
    pub fn from_embedding(embedding: &Embedding, dtype: ExportDtype) -> Result<Self, SamError> {
        let dims = embedding.tensor.dims();
        let values = embedding
            .tensor
            .clone()
            .try_into_vec_as::<f32>()
            .map_err(|e| SamError::InvalidEmbedding(format!("reading the tensor: {e:?}")))?;
        Ok(Self {
            header: EmbeddingHeader {
                model: embedding.model,
                dtype,
                shape: dims,
                original_size: embedding.original_size,
                input_size: embedding.input_size,
            },
            values,
        })
    }

    /// The values as an [`Embedding`] on `device`, ready for [`crate::SamPredictor::predict`].
    pub fn into_embedding(self, device: &Device) -> Embedding {
        let header = self.header;
        Embedding {
            model: header.model,
            tensor: Tensor::from_data(TensorData::new(self.values, header.shape), device),
            original_size: header.original_size,
            input_size: header.input_size,
        }
    }

    /// Serialises to the wire format in `self.header.dtype` (f16 rounds to nearest even;
    /// values beyond ±65504 become ±infinity).
    pub fn encode(&self) -> Result<Vec<u8>, SamError> {
        let h = &self.header;
        let count = element_count(&h.shape)?;
        if count != self.values.len() {
            return Err(invalid(format!(
                "shape {:?} needs {count} values but {} were given",
                h.shape,
                self.values.len()
            )));
        }
        let model = h.model.as_str().as_bytes();
        let data_offset = (FIXED_HEADER + model.len()).div_ceil(DATA_ALIGN) * DATA_ALIGN;
        let mut out = Vec::with_capacity(data_offset + count * element_size(h.dtype));
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(dtype_code(h.dtype));
        out.push(4);
        out.extend_from_slice(&to_u32(data_offset, "data offset")?.to_le_bytes());
        let geometry = h.shape.iter().chain([
            &h.original_size.0,
            &h.original_size.1,
            &h.input_size.0,
            &h.input_size.1,
        ]);
        for &v in geometry {
            out.extend_from_slice(&to_u32(v, "dimension")?.to_le_bytes());
        }
        out.extend_from_slice(&(model.len() as u16).to_le_bytes());
        out.extend_from_slice(model);
        out.resize(data_offset, 0);
        match h.dtype {
            ExportDtype::F32 => {
                for v in &self.values {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
            ExportDtype::F16 => {
                for &v in &self.values {
                    out.extend_from_slice(&f16::from_f32(v).to_le_bytes());
                }
            }
        }
        Ok(out)
    }

    /// Parses the wire format, checking magic, version, sizes and that the buffer ends
    /// exactly after the tensor; f16 values are widened to f32.
    pub fn decode(bytes: &[u8]) -> Result<Self, SamError> {
        let header = decode_header(bytes)?;
        let (data_offset, count) = (header_data_offset(bytes), element_count(&header.shape)?);
        let expected = data_offset + count * element_size(header.dtype);
        if bytes.len() != expected {
            return Err(invalid(format!(
                "{} bytes, but the header describes {expected} (truncated or padded)",
                bytes.len()
            )));
        }
        let data = &bytes[data_offset..];
        let values = match header.dtype {
            ExportDtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            ExportDtype::F16 => data
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                .collect(),
        };
        Ok(Self { header, values })
    }
}

fn read_u32(bytes: &[u8], at: usize) -> usize {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]) as usize
}

/// `data_offset` of a buffer already checked by [`decode_header`].
fn header_data_offset(bytes: &[u8]) -> usize {
    read_u32(bytes, 12)
}

/// Parses and checks the header alone (the buffer may be just the header's bytes).
pub fn decode_header(bytes: &[u8]) -> Result<EmbeddingHeader, SamError> {
    if bytes.len() < FIXED_HEADER {
        return Err(invalid(format!(
            "{} bytes is shorter than the {FIXED_HEADER}-byte header",
            bytes.len()
        )));
    }
    if bytes[..8] != MAGIC {
        return Err(invalid("not a samscope embedding (bad magic)"));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != FORMAT_VERSION {
        return Err(invalid(format!(
            "format version {version}; this samscope reads version {FORMAT_VERSION}"
        )));
    }
    let dtype = match bytes[10] {
        0 => ExportDtype::F32,
        1 => ExportDtype::F16,
        other => return Err(invalid(format!("unknown dtype code {other}"))),
    };
    if bytes[11] != 4 {
        return Err(invalid(format!("rank {}; expected 4", bytes[11])));
    }
    let data_offset = header_data_offset(bytes);
    let model_len = usize::from(u16::from_le_bytes([bytes[48], bytes[49]]));
    let model_end = FIXED_HEADER + model_len;
    if data_offset < model_end || !data_offset.is_multiple_of(DATA_ALIGN) || bytes.len() < model_end
    {
        return Err(invalid(format!(
            "data offset {data_offset} does not follow a {model_len}-byte model id"
        )));
    }
    let model_text = std::str::from_utf8(&bytes[FIXED_HEADER..model_end])
        .map_err(|_| invalid("the model id is not UTF-8"))?;
    let model: ModelId = model_text
        .parse()
        .map_err(|e: SamError| invalid(e.to_string()))?;
    let dim = |i: usize| read_u32(bytes, 16 + 4 * i);
    let header = EmbeddingHeader {
        model,
        dtype,
        shape: [dim(0), dim(1), dim(2), dim(3)],
        original_size: (dim(4), dim(5)),
        input_size: (dim(6), dim(7)),
    };
    element_count(&header.shape)?;
    Ok(header)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dtype: ExportDtype) -> EmbeddingData {
        let shape = [1, 4, 3, 2];
        EmbeddingData {
            header: EmbeddingHeader {
                model: ModelId::LiteMedSam,
                dtype,
                shape,
                original_size: (357, 512),
                input_size: (179, 256),
            },
            values: (0..24).map(|i| i as f32 * 0.37 - 4.0).collect(),
        }
    }

    #[test]
    fn f32_round_trips_exactly() {
        let data = sample(ExportDtype::F32);
        let bytes = data.encode().unwrap();
        assert_eq!(&bytes[..8], b"SAMSCEMB");
        assert_eq!(bytes.len(), 64 + 24 * 4);
        assert_eq!(EmbeddingData::decode(&bytes).unwrap(), data);
    }

    #[test]
    fn f16_round_trips_within_half_precision() {
        let data = sample(ExportDtype::F16);
        let bytes = data.encode().unwrap();
        assert_eq!(bytes.len(), 64 + 24 * 2);
        let back = EmbeddingData::decode(&bytes).unwrap();
        assert_eq!(back.header, data.header);
        for (a, b) in back.values.iter().zip(&data.values) {
            assert!((a - b).abs() <= b.abs() / 1024.0, "{a} vs {b}");
        }
    }

    #[test]
    fn full_size_f16_is_at_most_two_mib_plus_header() {
        let data = EmbeddingData {
            header: EmbeddingHeader {
                shape: [1, 256, 64, 64],
                ..sample(ExportDtype::F16).header
            },
            values: vec![0.5; 256 * 64 * 64],
        };
        assert_eq!(data.encode().unwrap().len(), 2 * 1024 * 1024 + 64);
    }

    #[test]
    fn rejects_damaged_buffers() {
        let bytes = sample(ExportDtype::F16).encode().unwrap();
        let mut bad_magic = bytes.clone();
        bad_magic[0] = b'X';
        let mut bad_version = bytes.clone();
        bad_version[8] = 9;
        let mut bad_dtype = bytes.clone();
        bad_dtype[10] = 7;
        let mut bad_model = bytes.clone();
        bad_model[50] = b'z';
        let mut huge_shape = bytes.clone();
        huge_shape[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        for (what, buf) in [
            ("empty", &[][..]),
            ("header only", &bytes[..40]),
            ("truncated", &bytes[..bytes.len() - 1]),
            ("bad magic", &bad_magic),
            ("bad version", &bad_version),
            ("bad dtype", &bad_dtype),
            ("bad model", &bad_model),
            ("huge shape", &huge_shape),
        ] {
            assert!(
                matches!(
                    EmbeddingData::decode(buf),
                    Err(SamError::InvalidEmbedding(_))
                ),
                "{what} was accepted"
            );
        }
        let mut padded = bytes;
        padded.push(0);
        assert!(EmbeddingData::decode(&padded).is_err());
    }

    #[test]
    fn encode_checks_the_value_count() {
        let mut data = sample(ExportDtype::F32);
        data.values.pop();
        assert!(data.encode().is_err());
    }
}
