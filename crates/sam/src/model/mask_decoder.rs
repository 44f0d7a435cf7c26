//! Mask decoder (the official `modeling/mask_decoder.py`): predicts masks and their
//! quality from an image embedding and prompt embeddings.

use burn::module::Module;
use burn::nn::conv::{ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{Embedding, EmbeddingConfig};
use burn::prelude::*;

use crate::common::{LayerNorm2d, Mlp};
use crate::ops::{add, gelu, gelu_of_sum, matmul};
use crate::transformer::{FirstBlockProjections, TwoWayTransformer, TwoWayTransformerConfig};

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
    /// `x`: `B×C×N` channel-major image tokens of an `H×W` grid (`N = H·W`) → the upscaled
    /// features as `B×16×C'×N`: entry `[b, g, c, i·W + j]` is channel `c` of output pixel
    /// `(4i + 2·ky + ky2, 4j + 2·kx + kx2)` with `g = 8·ky + 4·kx + 2·ky2 + kx2` (see
    /// [`interleave_subpixels`]). Each transposed convolution (2×2, stride 2: the kernel
    /// taps never overlap) is one matrix product per kernel tap, so no `4H×4W` feature map
    /// is ever rearranged; only the final masks are.
    ///
    /// Each convolution's bias is added by the operation after it (layer norm, GELU), which
    /// on the CPU backend does so without another pass over the features.
    fn forward(&self, x: Tensor<3>) -> Tensor<4> {
        let x = conv_transpose_2x2(&self.conv_t1, x.unsqueeze_dim(1));
        let x = gelu(self.norm.forward_of_sum_over(x, bias(&self.conv_t1), 2));
        let x = conv_transpose_2x2(&self.conv_t2, x);
        match bias(&self.conv_t2) {
            Some(bias) => gelu_of_sum(x, bias, 2),
            None => gelu(x),
        }
    }
}

/// The bias of `conv`, if it has one.
fn bias(conv: &ConvTranspose2d) -> Option<Tensor<1>> {
    conv.bias.as_ref().map(|bias| bias.val())
}

/// A 2×2, stride-2 transposed convolution without padding applied to `x`, **without its
/// bias** (the caller adds [`bias`] along dimension 2): `B×G×Cin×N` → `B×4G×Cout×N`; output
/// group `4g + 2·ky + kx` holds kernel tap `(ky, kx)` of input group `g` (the output pixel
/// `(2i + ky, 2j + kx)` of input pixel `(i, j)`).
fn conv_transpose_2x2(conv: &ConvTranspose2d, x: Tensor<4>) -> Tensor<4> {
    debug_assert_eq!(conv.kernel_size, [2, 2]);
    debug_assert_eq!(conv.stride, [2, 2]);
    debug_assert_eq!((conv.padding, conv.groups), ([0, 0], 1));
    let [cin, cout, _, _] = conv.weight.dims();
    let [b, g, _, n] = x.dims();
    let taps = conv
        .weight
        .val()
        .permute([2, 3, 1, 0])
        .reshape([1, 1, 4 * cout, cin]);
    matmul(taps, x).reshape([b, g * 4, cout, n])
}

/// Masks computed per sub-pixel group (`B×16×M×N` over an `H×W` grid, groups as in
/// [`OutputUpscaling::forward`]) → `B×M×4H×4W` in raster order.
fn interleave_subpixels(masks: Tensor<4>, grid: [usize; 2]) -> Tensor<4> {
    let [b, _, m, _] = masks.dims();
    let [h, w] = grid;
    // (b, ky, kx, ky2, kx2, m, i, j) → (b, m, i, ky, ky2, j, kx, kx2)
    masks
        .reshape([b, 2, 2, 2, 2, m, h, w])
        .permute([0, 5, 6, 1, 3, 7, 2, 4])
        .reshape([b, m, 4 * h, 4 * w])
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
        let src = add(image_embeddings, dense);
        self.predict_masks(src, image_pe, sparse, None, multimask_output)
    }

    /// [`Self::forward`] of the image `first_block` was prepared from
    /// ([`TwoWayTransformer::project_first_block`] of `image_embeddings + dense`, with this
    /// `image_pe`): the transformer's first block reuses its projections.
    pub fn forward_prepared(
        &self,
        first_block: &FirstBlockProjections,
        image_pe: Tensor<4>,
        sparse: Tensor<3>,
        multimask_output: bool,
    ) -> DecoderOutput {
        let src = first_block.image();
        self.predict_masks(src, image_pe, sparse, Some(first_block), multimask_output)
    }

    /// The masks `B×M×4h×4w` and their IoU `B×M` from `src` (`image_embeddings + dense`,
    /// `B×C×h×w`), of the mask tokens `multimask_output` selects: only those masks are
    /// computed from the upscaled features.
    fn predict_masks(
        &self,
        src: Tensor<4>,
        image_pe: Tensor<4>,
        sparse: Tensor<3>,
        first_block: Option<&FirstBlockProjections>,
        multimask_output: bool,
    ) -> DecoderOutput {
        let num_mask_tokens = self.output_hypernetworks_mlps.len();
        let selected = if multimask_output {
            1..num_mask_tokens
        } else {
            0..1
        };
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
        let [_, _, h, w] = src.dims();

        let (hs, src) = match first_block {
            Some(prepared) => self
                .transformer
                .forward_prepared(prepared, image_pe, tokens),
            None => self.transformer.forward(src, image_pe, tokens),
        };
        let iou_token_out = hs.clone().narrow(1, 0, 1).squeeze_dim::<2>(1);

        let upscaled = self.output_upscaling.forward(src);

        let hyper_in: Vec<Tensor<2>> = self.output_hypernetworks_mlps[selected.clone()]
            .iter()
            .zip(selected.clone())
            .map(|(mlp, i)| mlp.forward(hs.clone().narrow(1, 1 + i, 1).squeeze_dim::<2>(1)))
            .collect();
        let hyper_in: Tensor<4> = Tensor::stack::<3>(hyper_in, 1).unsqueeze_dim(1);
        let masks = interleave_subpixels(matmul(hyper_in, upscaled), [h, w]);
        let iou = self.iou_prediction_head.forward(iou_token_out);
        DecoderOutput {
            low_res_masks: masks,
            iou_predictions: iou.narrow(1, selected.start, selected.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::module::Param;
    use burn::tensor::Distribution;

    /// A 2×2 stride-2 transposed convolution (random weights and bias), as in the upscaling.
    fn conv_2x2(c_in: usize, c_out: usize, device: &Device) -> ConvTranspose2d {
        ConvTranspose2dConfig::new([c_in, c_out], [2, 2])
            .with_stride([2, 2])
            .init(device)
    }

    /// Both transposed convolutions as matrix products, then the masks interleaved, equal
    /// Burn's `ConvTranspose2d` followed by the official `hyper_in @ upscaled`.
    #[test]
    fn subpixel_upscaling_equals_transposed_convolutions() {
        let device = Device::flex();
        let conv = |c_in, c_out| conv_2x2(c_in, c_out, &device);
        let (conv_t1, conv_t2) = (conv(8, 6), conv(6, 4));
        let (b, h, w, masks) = (2, 3, 5, 3);
        let x = Tensor::<4>::random([b, 8, h, w], Distribution::Normal(0.0, 1.0), &device);
        let hyper = Tensor::<3>::random([b, masks, 4], Distribution::Normal(0.0, 1.0), &device);

        let upscaled = conv_t2.forward(conv_t1.forward(x.clone()));
        let official = hyper
            .clone()
            .matmul(upscaled.reshape([b, 4, 16 * h * w]))
            .reshape([b, masks, 4 * h, 4 * w]);

        let tokens = x.reshape([b, 1, 8, h * w]);
        let with_bias = |conv: &ConvTranspose2d, x| {
            let cout = conv.weight.dims()[1];
            conv_transpose_2x2(conv, x) + bias(conv).unwrap().reshape([1, 1, cout, 1])
        };
        let grouped = with_bias(&conv_t2, with_bias(&conv_t1, tokens));
        let ours = interleave_subpixels(hyper.unsqueeze_dim(1).matmul(grouped), [h, w]);

        let diff: f32 = (ours - official).abs().max().into_scalar();
        assert!(diff < 1e-5, "max |Δ| {diff:e}");
    }

    /// The upscaling (biases added inside the norm and the last GELU, on the host) against
    /// the official sequence of Burn modules and activations.
    #[test]
    fn output_upscaling_equals_the_official_layers() {
        let device = Device::flex();
        let conv = |c_in, c_out| conv_2x2(c_in, c_out, &device);
        let norm = LayerNorm2d {
            weight: Param::from_tensor(Tensor::random(
                [6],
                Distribution::Normal(1.0, 0.3),
                &device,
            )),
            bias: Param::from_tensor(Tensor::random([6], Distribution::Normal(0.0, 0.3), &device)),
            eps: 1e-6,
        };
        let upscaling = OutputUpscaling {
            conv_t1: conv(8, 6),
            norm,
            conv_t2: conv(6, 4),
        };
        let (b, h, w) = (2, 3, 5);
        let x = Tensor::<4>::random([b, 8, h, w], Distribution::Normal(0.0, 1.0), &device);

        let official = {
            let x = upscaling.conv_t1.forward(x.clone());
            let x = burn::tensor::activation::gelu(upscaling.norm.forward(x));
            burn::tensor::activation::gelu(upscaling.conv_t2.forward(x))
        };
        // Ours is `B×16×C'×N` in sub-pixel groups: a mask of ones per channel picks each
        // channel out, interleaved back to raster order.
        let grouped = upscaling.forward(x.reshape([b, 8, h * w]));
        let ones = Tensor::<2>::eye(4, &device).unsqueeze::<4>();
        let ours = interleave_subpixels(ones.matmul(grouped), [h, w]);

        let diff: f32 = (ours - official).abs().max().into_scalar();
        assert!(diff < 1e-5, "max |Δ| {diff:e}");
    }
}
