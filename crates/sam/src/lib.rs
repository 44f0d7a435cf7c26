//! Segment Anything in Burn: one backend-agnostic code path for CPU (flex), wgpu/WebGPU
//! and CUDA; compiles for native and `wasm32-unknown-unknown`.
//!
//! One module per official component (`segment_anything/modeling`): [`image_encoder`]
//! (ViT), [`tiny_vit`],
//! [`prompt_encoder`], [`transformer`], [`mask_decoder`], [`sam`]; the registry
//! [`build_sam`]; the facade [`predictor`]; image/coordinate [`transforms`]; the embedding
//! wire format [`embedding_codec`] shared with the server and the browser; interactive
//! click-by-click decoding in [`session`]; host kernels for Burn's CPU backend (matrix
//! products, GELU, softmax, layer norm, sums) in [`kernels`].
//! The crate does no I/O; [`checkpoint`] (feature `pytorch`, native) reads `.pth` files
//! through burn-store.

#![warn(missing_docs)]

pub mod build_sam;
#[cfg(feature = "pytorch")]
pub mod checkpoint;
pub mod common;
pub mod embedding_codec;
mod error;
pub mod export;
pub mod image_encoder;
pub mod kernels;
pub mod mask_decoder;
pub mod npy;
pub mod precision;
pub mod predictor;
pub mod prompt_encoder;
pub mod sam;
pub mod session;
pub mod tiny_vit;
pub mod transformer;
pub mod transforms;

pub use build_sam::{ModelConfig, ModelId, Preprocessing};
pub use error::SamError;
pub use predictor::{
    BinaryMask, ChosenMask, Embedding, Prediction, PreparedEmbedding, PromptInput, SamPredictor,
};
pub use prompt_encoder::Prompts;
pub use sam::{ImageEncoder, PreparedImage, Sam, SamDecoder};
pub use transforms::RgbImage;
