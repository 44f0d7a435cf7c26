//! Model registry (the official `build_sam.py`): one entry per model, all built by one
//! function from the numbers that differ.

use std::fmt;
use std::str::FromStr;

use burn::prelude::Device;

use crate::image_encoder::VitConfig;
use crate::mask_decoder::MaskDecoderConfig;
use crate::prompt_encoder::PromptEncoderConfig;
use crate::sam::{ImageEncoder, Sam};
use crate::tiny_vit::TinyVitConfig;

/// The models samscope knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelId {
    /// LiteMedSAM (TinyViT, 256² input), the default.
    LiteMedSam,
    /// MobileSAM (TinyViT, 1024² input).
    MobileSam,
    /// SAM ViT-B.
    VitB,
    /// SAM ViT-L.
    VitL,
    /// SAM ViT-H.
    VitH,
}

impl ModelId {
    /// Every id, in display order.
    pub const ALL: [ModelId; 5] = [
        ModelId::LiteMedSam,
        ModelId::MobileSam,
        ModelId::VitB,
        ModelId::VitL,
        ModelId::VitH,
    ];

    /// The id as written on the command line and in files.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelId::LiteMedSam => "lite_medsam",
            ModelId::MobileSam => "mobile_sam",
            ModelId::VitB => "vit_b",
            ModelId::VitL => "vit_l",
            ModelId::VitH => "vit_h",
        }
    }
}

impl fmt::Display for ModelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ModelId {
    type Err = crate::SamError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelId::ALL
            .into_iter()
            .find(|id| id.as_str() == s)
            .ok_or_else(|| crate::SamError::UnknownModel(s.to_string()))
    }
}

/// How an image becomes the encoder input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Preprocessing {
    /// LiteMedSAM upstream: longest side to the input size with OpenCV `INTER_AREA`,
    /// min–max to [0, 1] over all channels, zero padding bottom/right.
    MedSamLite,
    /// Official SAM predictor: longest side with PIL bilinear (antialiased), normalise
    /// by pixel mean/std, zero padding bottom/right.
    SamVit {
        /// Per-channel mean (RGB, 0–255 scale).
        mean: [f32; 3],
        /// Per-channel standard deviation.
        std: [f32; 3],
    },
}

impl Preprocessing {
    /// The official SAM predictor's preprocessing (ImageNet mean/std on 0–255 values).
    pub const SAM_VIT: Preprocessing = Preprocessing::SamVit {
        mean: [123.675, 116.28, 103.53],
        std: [58.395, 57.12, 57.375],
    };
}

/// The encoder architecture of a model.
#[derive(Debug, Clone, PartialEq)]
pub enum EncoderConfig {
    /// TinyViT.
    TinyVit(TinyVitConfig),
    /// ViT.
    Vit(VitConfig),
}

impl EncoderConfig {
    /// Side of the square encoder input.
    pub fn img_size(&self) -> usize {
        match self {
            EncoderConfig::TinyVit(c) => c.img_size,
            EncoderConfig::Vit(c) => c.img_size,
        }
    }

    /// Side of the output embedding grid.
    pub fn embedding_size(&self) -> usize {
        match self {
            EncoderConfig::TinyVit(c) => c.embedding_size(),
            EncoderConfig::Vit(c) => c.grid_size(),
        }
    }

    /// Builds the encoder with freshly initialised weights.
    pub fn init(&self, device: &Device) -> ImageEncoder {
        match self {
            EncoderConfig::TinyVit(c) => ImageEncoder::TinyVit(c.init(device)),
            EncoderConfig::Vit(c) => ImageEncoder::Vit(c.init(device)),
        }
    }
}

/// Everything needed to build and drive one model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelConfig {
    /// Which model.
    pub id: ModelId,
    /// Side of the square encoder input.
    pub img_size: usize,
    /// Image encoder.
    pub encoder: EncoderConfig,
    /// Prompt encoder.
    pub prompt_encoder: PromptEncoderConfig,
    /// Mask decoder.
    pub mask_decoder: MaskDecoderConfig,
    /// Input preparation.
    pub preprocessing: Preprocessing,
}

impl ModelConfig {
    /// The configuration of `id` (every known model has one).
    pub fn for_model(id: ModelId) -> Self {
        let (encoder, preprocessing) = match id {
            ModelId::LiteMedSam => (
                EncoderConfig::TinyVit(TinyVitConfig::lite_medsam()),
                Preprocessing::MedSamLite,
            ),
            ModelId::MobileSam => (
                EncoderConfig::TinyVit(TinyVitConfig::mobile_sam()),
                Preprocessing::SAM_VIT,
            ),
            ModelId::VitB => (
                EncoderConfig::Vit(VitConfig::vit_b()),
                Preprocessing::SAM_VIT,
            ),
            ModelId::VitL => (
                EncoderConfig::Vit(VitConfig::vit_l()),
                Preprocessing::SAM_VIT,
            ),
            ModelId::VitH => (
                EncoderConfig::Vit(VitConfig::vit_h()),
                Preprocessing::SAM_VIT,
            ),
        };
        Self::build(id, encoder, preprocessing)
    }

    /// The one builder all models go through (the official `_build_sam`).
    fn build(id: ModelId, encoder: EncoderConfig, preprocessing: Preprocessing) -> Self {
        let img_size = encoder.img_size();
        let embedding = encoder.embedding_size();
        Self {
            id,
            img_size,
            prompt_encoder: PromptEncoderConfig {
                embed_dim: 256,
                image_embedding_size: embedding,
                input_image_size: img_size,
                mask_in_chans: 16,
            },
            encoder,
            mask_decoder: MaskDecoderConfig::sam(),
            preprocessing,
        }
    }

    /// Side of the image embedding grid (64 for every SAM).
    pub fn embedding_size(&self) -> usize {
        self.prompt_encoder.image_embedding_size
    }

    /// Side of the low-resolution masks (4× the embedding grid).
    pub fn low_res_size(&self) -> usize {
        4 * self.embedding_size()
    }

    /// Builds the model with freshly initialised weights (load a checkpoint next).
    pub fn init(&self, device: &Device) -> Sam {
        Sam {
            image_encoder: self.encoder.init(device),
            prompt_encoder: self.prompt_encoder.init(device),
            mask_decoder: self.mask_decoder.init(device),
        }
    }
}
