//! Segment Anything in Burn: one backend-agnostic code path for CPU (flex), wgpu/WebGPU
//! and CUDA; compiles for native and `wasm32-unknown-unknown`.
//!
//! The crate is laid out as the official `segment_anything` package:
//! - [`model`]: the network, one module per official component (`modeling/`):
//!   [`image_encoder`] (ViT), [`tiny_vit`], [`prompt_encoder`], [`transformer`],
//!   [`mask_decoder`], [`common`], the composite [`sam`] and the registry [`build_sam`];
//! - [`runtime`]: what runs it for a user: the facade [`predictor`], image/coordinate
//!   [`transforms`] (`utils/transforms.py`), interactive click-by-click [`session`]s and
//!   reduced [`precision`];
//! - [`formats`]: bytes in, bytes out: [`checkpoint`] (feature `pytorch`, native: official
//!   `.pth` files through burn-store), the browser's decoder weights [`export`], [`npy`]
//!   arrays and the embedding wire format [`embedding_codec`] shared with the server and the
//!   browser;
//! - [`ops`]: the one place where the model's GELU, softmax, layer norms, matrix products
//!   and same-shape sums choose between Burn's operations and, on Burn's CPU backend, the
//!   host kernels of the `samscope-kernels` crate ([`kernels`]).
//!
//! Each component module is also reachable at the crate root (`sam::image_encoder`,
//! `sam::predictor`, `sam::export`, …), as `segment_anything` re-exports its components. The
//! crate does no I/O.

#![warn(missing_docs)]

mod error;
pub mod formats;
pub mod model;
pub mod ops;
pub mod runtime;

#[cfg(feature = "pytorch")]
pub use formats::checkpoint;
pub use formats::{embedding_codec, export, npy};
pub use model::{
    build_sam, common, image_encoder, mask_decoder, prompt_encoder, sam, tiny_vit, transformer,
};
pub use runtime::{precision, predictor, session, transforms};

/// The host kernels (crate `samscope-kernels`) behind [`ops`].
pub use kernels;

pub use build_sam::{ModelConfig, ModelId, Preprocessing};
pub use error::SamError;
pub use predictor::{
    BinaryMask, ChosenMask, Embedding, Prediction, PreparedEmbedding, PromptInput, SamPredictor,
};
pub use prompt_encoder::Prompts;
pub use sam::{ImageEncoder, PreparedImage, Sam, SamDecoder};
pub use transforms::RgbImage;
