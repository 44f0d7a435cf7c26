//! The network, one module per official component (`segment_anything/modeling`): the image
//! encoders ([`image_encoder`] ViT, [`tiny_vit`]), the [`prompt_encoder`], the two-way
//! [`transformer`] and the [`mask_decoder`] built on it, their shared blocks ([`common`]),
//! the composite [`sam`] and the registry of model sizes [`build_sam`].
//!
//! Every `forward` here reads like the paper: the tensor operations that have a host kernel
//! come from [`crate::ops`], and the prepared per-image fast path of the mask decoder sits
//! behind one named seam ([`transformer::ImageSide`]).

pub mod build_sam;
pub mod common;
pub mod image_encoder;
pub mod mask_decoder;
pub mod prompt_encoder;
pub mod sam;
pub mod tiny_vit;
pub mod transformer;
