//! The one error type of the model crate.

use crate::build_sam::ModelId;

/// What can go wrong building, loading or running a model.
#[derive(Debug, thiserror::Error)]
pub enum SamError {
    /// The model id is not one samscope knows.
    #[error("unknown model `{0}`; known models: lite_medsam, mobile_sam, vit_b, vit_l, vit_h")]
    UnknownModel(String),
    /// The image has no pixels or its buffer does not match its size.
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// A prompt is outside the image, malformed, or inconsistent.
    #[error("invalid prompt: {0}")]
    InvalidPrompt(String),
    /// The embedding does not belong to this model or has the wrong shape.
    #[error("invalid embedding: {0}")]
    InvalidEmbedding(String),
    /// The checkpoint does not match the model: missing, unexpected or mis-shaped tensors.
    #[error("checkpoint does not match model `{model}`:\n{detail}")]
    CheckpointMismatch {
        /// The model being loaded.
        model: ModelId,
        /// Which tensors are missing, unexpected or mis-shaped.
        detail: String,
    },
    /// The checkpoint could not be read at all.
    #[error("cannot read checkpoint: {0}")]
    CheckpointUnreadable(String),
    /// An `.npy` buffer is malformed.
    #[error("invalid .npy data: {0}")]
    Npy(String),
}
