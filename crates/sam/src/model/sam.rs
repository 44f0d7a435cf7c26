//! The composite SAM model (the official `modeling/sam.py`): image encoder, prompt
//! encoder and mask decoder, with the parameter paths of the official checkpoints.

use burn::module::Module;
use burn::prelude::*;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};

use crate::image_encoder::ImageEncoderVit;
use crate::mask_decoder::{DecoderOutput, MaskDecoder};
use crate::ops::add;
use crate::prompt_encoder::{PromptEncoder, Prompts};
use crate::tiny_vit::TinyVit;
use crate::transformer::FirstBlockProjections;

/// The image encoder of a model family.
// One encoder exists per loaded model and is never moved in a hot path, so the size
// difference between the variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum ImageEncoder {
    /// TinyViT (LiteMedSAM, MobileSAM).
    TinyVit(TinyVit),
    /// ViT-B/L/H (official SAM).
    Vit(ImageEncoderVit),
}

impl ImageEncoder {
    /// `input`: `B×3×S×S` normalised, padded image → embedding `B×256×64×64`.
    pub fn forward(&self, input: Tensor<4>) -> Tensor<4> {
        match self {
            ImageEncoder::TinyVit(encoder) => encoder.forward(input),
            ImageEncoder::Vit(encoder) => encoder.forward(input),
        }
    }

    /// The encoder prepared for inference (batch norms folded into convolutions).
    pub fn for_inference(mut self) -> Self {
        if let ImageEncoder::TinyVit(encoder) = &mut self {
            encoder.fold_batch_norms();
        }
        self
    }
}

/// A whole SAM model; parameter paths are `image_encoder.*`, `prompt_encoder.*`,
/// `mask_decoder.*` as in the official checkpoints.
#[derive(Module, Debug)]
pub struct Sam {
    /// Heavy encoder, run once per image.
    pub image_encoder: ImageEncoder,
    /// Prompt encoder.
    pub prompt_encoder: PromptEncoder,
    /// Mask decoder.
    pub mask_decoder: MaskDecoder,
}

impl Sam {
    /// Splits the model into its encoder and the light prompt decoder (what the browser runs).
    pub fn split(self) -> (ImageEncoder, SamDecoder) {
        (
            self.image_encoder,
            SamDecoder {
                prompt_encoder: self.prompt_encoder,
                mask_decoder: self.mask_decoder,
            },
        )
    }
}

/// Prompt encoder + mask decoder: everything needed per click once the embedding exists.
#[derive(Module, Debug)]
pub struct SamDecoder {
    /// Prompt encoder.
    pub prompt_encoder: PromptEncoder,
    /// Mask decoder.
    pub mask_decoder: MaskDecoder,
}

impl SamDecoder {
    /// Decodes one prompt set against an embedding.
    ///
    /// - `embedding`: `1×256×64×64`
    /// - `image_pe`: the dense positional encoding from [`PromptEncoder::dense_pe`] (`1×256×64×64`),
    ///   computed once per model by the predictor
    /// - `prompts`: in the model input frame (resized image pixels)
    /// - `mask_input`: optional previous low-res logits `1×1×256×256`
    pub fn decode(
        &self,
        embedding: Tensor<4>,
        image_pe: Tensor<4>,
        prompts: &Prompts,
        mask_input: Option<Tensor<4>>,
        multimask_output: bool,
    ) -> DecoderOutput {
        let device = embedding.device();
        let sparse = self.prompt_encoder.embed_sparse(prompts, &device);
        let dense = self.prompt_encoder.embed_dense(mask_input, &device);
        self.mask_decoder
            .forward(embedding, image_pe, sparse, dense, multimask_output)
    }

    /// The per-image part of decoding `embedding` (`1×256×64×64`) with `image_pe`, done once
    /// so that every later click ([`Self::decode_prepared`]) skips it: the first transformer
    /// block's image-side projections, which depend on the embedding and the dense prompt
    /// embedding but not on the points or boxes. They hold for every prompt without a mask
    /// input (the dense embedding is then the learned `no_mask_embed`).
    pub fn prepare(&self, embedding: Tensor<4>, image_pe: Tensor<4>) -> PreparedImage {
        let device = embedding.device();
        let dense = self.prompt_encoder.embed_dense(None, &device);
        let first_block = self
            .mask_decoder
            .transformer
            .project_first_block(add(embedding.clone(), dense), image_pe.clone());
        PreparedImage {
            embedding,
            image_pe,
            first_block,
        }
    }

    /// [`Self::decode`] of a prepared image. Prompts without `mask_input` reuse the
    /// prepared projections; with one the dense embedding differs, and the whole transformer
    /// runs.
    pub fn decode_prepared(
        &self,
        image: &PreparedImage,
        prompts: &Prompts,
        mask_input: Option<Tensor<4>>,
        multimask_output: bool,
    ) -> DecoderOutput {
        let device = image.embedding.device();
        let sparse = self.prompt_encoder.embed_sparse(prompts, &device);
        let image_pe = image.image_pe.clone();
        match mask_input {
            None => self.mask_decoder.forward_prepared(
                &image.first_block,
                image_pe,
                sparse,
                multimask_output,
            ),
            Some(mask) => {
                let dense = self.prompt_encoder.embed_dense(Some(mask), &device);
                let embedding = image.embedding.clone();
                let decoder = &self.mask_decoder;
                decoder.forward(embedding, image_pe, sparse, dense, multimask_output)
            }
        }
    }
}

/// An image embedding with the per-image part of decoding done ([`SamDecoder::prepare`]).
#[derive(Debug, Clone)]
pub struct PreparedImage {
    /// `1×256×64×64`.
    embedding: Tensor<4>,
    /// The dense positional encoding it was prepared with.
    image_pe: Tensor<4>,
    /// The first transformer block's image-side projections.
    first_block: FirstBlockProjections,
}

/// Bilinear resize with `align_corners = false` (PyTorch `F.interpolate(..., "bilinear")`).
fn bilinear(x: Tensor<4>, size: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if [h, w] == size {
        return x;
    }
    interpolate(
        x,
        InterpolateOptions::new(InterpolateMode::Bilinear)
            .with_align_corners(false)
            .with_output_size(size),
    )
}

/// Official `Sam.postprocess_masks`: low-res logits `B×C×256×256` → bilinear to the padded
/// input size → crop to the resized image → bilinear to the original size. Returns logits
/// `B×C×H×W`; threshold them at 0 for masks.
pub fn postprocess_masks(
    low_res: Tensor<4>,
    img_size: usize,
    input_size: (usize, usize),
    original_size: (usize, usize),
) -> Tensor<4> {
    let padded = bilinear(low_res, [img_size, img_size]);
    let [b, c, _, _] = padded.dims();
    let cropped = padded.slice([0..b, 0..c, 0..input_size.0, 0..input_size.1]);
    bilinear(cropped, [original_size.0, original_size.1])
}
