//! Mask decoder (the official `modeling/mask_decoder.py`): predicts masks and their
//! quality from an image embedding and prompt embeddings.

use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;
use burn::tensor::activation::gelu;

use crate::common::{LayerNorm2d, Mlp};
use crate::transformer::{TwoWayTransformer, TwoWayTransformerConfig};

/// Sizes of the mask decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskDecoderConfig {
    /// Token width (256).
    pub transformer_dim: usize,
    /// The two-way transformer.
    pub transformer: TwoWayTransformerConfig,
    /// Masks in multimask mode (3); one more token predicts the single mask.
    pub num_multimask_outputs: usize,
    /// Layers of the IoU head (3).
    pub iou_head_depth: usize,
    /// Hidden width of the IoU head (256).
    pub iou_head_hidden_dim: usize,
}

impl MaskDecoderConfig {
    /// SAM's decoder (shared by every SAM family).
    pub fn sam() -> Self {
        Self {
            transformer_dim: 256,
            transformer: TwoWayTransformerConfig::sam(),
            num_multimask_outputs: 3,
            iou_head_depth: 3,
            iou_head_hidden_dim: 256,
        }
    }

    /// Builds the decoder with freshly initialised weights.
    pub fn init(&self, device: &Device) -> MaskDecoder {
        let d = self.transformer_dim;
        let num_mask_tokens = self.num_multimask_outputs + 1;
        MaskDecoder {
            transformer: self.transformer.init(device),
            iou_token: EmbeddingConfig::new(1, d).init(device),
            mask_tokens: EmbeddingConfig::new(num_mask_tokens, d).init(device),
            output_upscaling: OutputUpscaling {
                conv_t1: ConvTranspose2dConfig::new([d, d / 4], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
                norm: LayerNorm2d::new(d / 4, device),
                conv_t2: ConvTranspose2dConfig::new([d / 4, d / 8], [2, 2])
                    .with_stride([2, 2])
                    .init(device),
            },
            output_hypernetworks_mlps: (0..num_mask_tokens)
                .map(|_| Mlp::new(d, d, d / 8, 3, device))
                .collect(),
            iou_prediction_head: Mlp::new(
                d,
                self.iou_head_hidden_dim,
                num_mask_tokens,
                self.iou_head_depth,
                device,
            ),
        }
    }
}

/// `ConvT 2×2/2 → LN2d → GELU → ConvT 2×2/2 → GELU` (`output_upscaling.{0,1,3}`).
#[derive(Module, Debug)]
pub struct OutputUpscaling {
    /// `output_upscaling.0`.
    pub conv_t1: ConvTranspose2d,
    /// `output_upscaling.1`.
    pub norm: LayerNorm2d,
    /// `output_upscaling.3`.
    pub conv_t2: ConvTranspose2d,
}

impl OutputUpscaling {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = gelu(self.norm.forward(self.conv_t1.forward(x)));
        gelu(self.conv_t2.forward(x))
    }
}

/// Output of one decoder call.
#[derive(Debug, Clone)]
pub struct DecoderOutput {
    /// Low-resolution mask logits `1×C×256×256` (C = 3 multimask, else 1).
    pub low_res_masks: Tensor<4>,
    /// Predicted IoU of each mask, `1×C`.
    pub iou_predictions: Tensor<2>,
}

/// The mask decoder.
#[derive(Module, Debug)]
pub struct MaskDecoder {
    /// Two-way transformer.
    pub transformer: TwoWayTransformer,
    /// Token whose output predicts mask quality.
    pub iou_token: Embedding,
    /// One token per output mask.
    pub mask_tokens: Embedding,
    /// Upsamples image tokens 4×.
    pub output_upscaling: OutputUpscaling,
    /// Hypernetwork per mask token: token → 32 mask weights.
    pub output_hypernetworks_mlps: Vec<Mlp>,
    /// Token → IoU per mask.
    pub iou_prediction_head: Mlp,
}

impl MaskDecoder {
    /// Predicts masks for one image and one prompt set.
    ///
    /// - `image_embeddings`: `1×256×64×64`
    /// - `image_pe`: `1×256×64×64` (the prompt encoder's dense PE)
    /// - `sparse`: `1×N×256`; `dense`: `1×256×64×64`
    ///
    /// `multimask_output` keeps masks 1..=3, else mask 0.
    pub fn forward(
        &self,
        image_embeddings: Tensor<4>,
        image_pe: Tensor<4>,
        sparse: Tensor<3>,
        dense: Tensor<4>,
        multimask_output: bool,
    ) -> DecoderOutput {
        let (masks, iou) = self.predict_masks(image_embeddings, image_pe, sparse, dense);
        let num_mask_tokens = self.output_hypernetworks_mlps.len();
        let (start, count) = if multimask_output {
            (1, num_mask_tokens - 1)
        } else {
            (0, 1)
        };
        DecoderOutput {
            low_res_masks: masks.narrow(1, start, count),
            iou_predictions: iou.narrow(1, start, count),
        }
    }

    /// All `1 + num_multimask_outputs` masks `B×M×4h×4w` and their IoU `B×M`.
    pub fn predict_masks(
        &self,
        image_embeddings: Tensor<4>,
        image_pe: Tensor<4>,
        sparse: Tensor<3>,
        dense: Tensor<4>,
    ) -> (Tensor<4>, Tensor<2>) {
        let [b, _, _] = sparse.dims();
        let output_tokens = Tensor::cat(
            vec![self.iou_token.weight.val(), self.mask_tokens.weight.val()],
            0,
        );
        let [t, d] = output_tokens.dims();
        let tokens = Tensor::cat(
            vec![output_tokens.unsqueeze::<3>().expand([b, t, d]), sparse],
            1,
        );
        let src = image_embeddings + dense;
        let [_, c, h, w] = src.dims();

        let (hs, src) = self.transformer.forward(src, image_pe, tokens);
        let iou_token_out = hs.clone().narrow(1, 0, 1).squeeze_dim::<2>(1);
        let num_mask_tokens = self.output_hypernetworks_mlps.len();

        let src = src.swap_dims(1, 2).reshape([b, c, h, w]);
        let upscaled = self.output_upscaling.forward(src);
        let [_, uc, uh, uw] = upscaled.dims();

        let hyper_in: Vec<Tensor<2>> = self
            .output_hypernetworks_mlps
            .iter()
            .enumerate()
            .map(|(i, mlp)| mlp.forward(hs.clone().narrow(1, 1 + i, 1).squeeze_dim::<2>(1)))
            .collect();
        let hyper_in: Tensor<3> = Tensor::stack(hyper_in, 1);
        let masks = hyper_in
            .matmul(upscaled.reshape([b, uc, uh * uw]))
            .reshape([b, num_mask_tokens, uh, uw]);
        let iou = self.iou_prediction_head.forward(iou_token_out);
        (masks, iou)
    }
}
