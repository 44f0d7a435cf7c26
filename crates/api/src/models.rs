//! `GET /api/v1/models`: what the server runs and where the browser gets each decoder.

use serde::{Deserialize, Serialize};

use crate::dtype::WireDtype;

/// The answer of `GET /api/v1/models`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelList {
    /// The default model first, then the others, then fine-tuned decoders.
    pub models: Vec<ModelInfo>,
}

/// A model the server runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Model id (`lite_medsam`, or a fine-tuned decoder's name such as
    /// `lite_medsam+vessels`).
    pub id: String,
    /// For a fine-tuned decoder: the model whose architecture and embeddings it uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// The server's default model.
    pub default: bool,
    /// Side of the square model input, pixels.
    pub image_size: usize,
    /// `[1, C, H, W]` of its embeddings.
    pub embedding_shape: [usize; 4],
    /// sha256 of the checkpoint (it keys the embedding cache).
    pub weights_sha256: String,
    /// f16 decoder weights.
    pub decoder: DecoderInfo,
    /// f32 decoder weights (the exact ones).
    pub decoder_f32: DecoderInfo,
}

impl ModelInfo {
    /// The decoder in `dtype`.
    pub fn decoder_for(&self, dtype: WireDtype) -> &DecoderInfo {
        match dtype {
            WireDtype::F16 => &self.decoder,
            WireDtype::F32 => &self.decoder_f32,
        }
    }
}

/// One downloadable decoder (prompt encoder + mask decoder as safetensors) of a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecoderInfo {
    /// The file.
    pub url: String,
    /// The same file as byte planes, compressed as the client accepts: the download form
    /// (reordered back, then checked against `sha256`).
    pub planes_url: String,
    /// Size of the file in bytes.
    pub bytes: u64,
    /// sha256 of the file, lower-case hex.
    pub sha256: String,
    /// Precision of the weights.
    pub dtype: WireDtype,
    /// Export format (`decoder-v1`).
    pub format: String,
}
