//! Two-way transformer of the mask decoder (the official `modeling/transformer.py`):
//! prompt tokens and image tokens attend to each other in both directions.
//!
//! This file is the paper's computation: [`Attention::forward`] on `B×N×C` tokens and the
//! blocks written as upstream writes them. The image tokens stay channel-major (`B×C×N`)
//! throughout, and the two token↔image attentions of a block read them through one seam,
//! [`ImageSide`] (module `image_side`): there they are computed in exact reorderings for few
//! prompt tokens, or from projections prepared once per image ([`FirstBlockProjections`]).

mod image_side;

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::common::{MlpActivation, MlpBlock, layer_norm_module_of_sum};
use crate::ops::{add, matmul, softmax};

pub use image_side::{FirstBlockProjections, ImageOutput, ImageSide};

/// Epsilon of the transformer's layer norms (`nn.LayerNorm`'s default, also
/// [`LayerNormConfig`]'s).
const LAYER_NORM_EPS: f64 = 1e-5;

/// Sizes of the two-way transformer.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoWayTransformerConfig {
    /// Number of two-way blocks (2).
    pub depth: usize,
    /// Token width (256).
    pub embedding_dim: usize,
    /// Attention heads (8).
    pub num_heads: usize,
    /// MLP hidden width (2048).
    pub mlp_dim: usize,
    /// Internal width divisor of the token↔image attentions (2).
    pub attention_downsample_rate: usize,
}

impl TwoWayTransformerConfig {
    /// SAM's transformer: depth 2, 256 wide, 8 heads, MLP 2048, downsample 2.
    pub fn sam() -> Self {
        Self {
            depth: 2,
            embedding_dim: 256,
            num_heads: 8,
            mlp_dim: 2048,
            attention_downsample_rate: 2,
        }
    }

    /// Builds the transformer with freshly initialised weights.
    pub fn init(&self, device: &Device) -> TwoWayTransformer {
        let d = self.embedding_dim;
        let cross =
            |device| Attention::new(d, self.num_heads, self.attention_downsample_rate, device);
        TwoWayTransformer {
            layers: (0..self.depth)
                .map(|i| TwoWayAttentionBlock {
                    self_attn: Attention::new(d, self.num_heads, 1, device),
                    norm1: LayerNormConfig::new(d)
                        .with_epsilon(LAYER_NORM_EPS)
                        .init(device),
                    cross_attn_token_to_image: cross(device),
                    norm2: LayerNormConfig::new(d)
                        .with_epsilon(LAYER_NORM_EPS)
                        .init(device),
                    mlp: MlpBlock::new(d, self.mlp_dim, MlpActivation::Relu, device),
                    norm3: LayerNormConfig::new(d)
                        .with_epsilon(LAYER_NORM_EPS)
                        .init(device),
                    norm4: LayerNormConfig::new(d)
                        .with_epsilon(LAYER_NORM_EPS)
                        .init(device),
                    cross_attn_image_to_token: cross(device),
                    skip_first_layer_pe: i == 0,
                })
                .collect(),
            final_attn_token_to_image: cross(device),
            norm_final_attn: LayerNormConfig::new(d)
                .with_epsilon(LAYER_NORM_EPS)
                .init(device),
        }
    }
}

/// Multi-head attention with an optional downscaled internal width.
#[derive(Module, Debug)]
pub struct Attention {
    /// Query projection.
    pub q_proj: Linear,
    /// Key projection.
    pub k_proj: Linear,
    /// Value projection.
    pub v_proj: Linear,
    /// Output projection back to the embedding width.
    pub out_proj: Linear,
    /// Number of heads.
    pub num_heads: usize,
}

impl Attention {
    fn new(dim: usize, num_heads: usize, downsample: usize, device: &Device) -> Self {
        let internal = dim / downsample;
        Self {
            q_proj: LinearConfig::new(dim, internal).init(device),
            k_proj: LinearConfig::new(dim, internal).init(device),
            v_proj: LinearConfig::new(dim, internal).init(device),
            out_proj: LinearConfig::new(internal, dim).init(device),
            num_heads,
        }
    }

    /// `B×N×I` → `B×heads×N×(I/heads)`.
    fn separate_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, n, c] = x.dims();
        x.reshape([b, n, self.num_heads, c / self.num_heads])
            .swap_dims(1, 2)
    }

    /// `B×heads×N×hd` → `B×N×(heads·hd)`.
    fn recombine_heads(x: Tensor<4>) -> Tensor<3> {
        let [b, heads, n, hd] = x.dims();
        x.swap_dims(1, 2).reshape([b, n, heads * hd])
    }

    /// `q`: `B×Nq×C`, `k`/`v`: `B×Nk×C` → `B×Nq×C`: `softmax(Q Kᵀ / √hd) V` per head.
    pub fn forward(&self, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
        let q = self.separate_heads(self.q_proj.forward(q));
        let k = self.separate_heads(self.k_proj.forward(k));
        let v = self.separate_heads(self.v_proj.forward(v));
        let head_dim = q.dims()[3];
        let attn = matmul(q, k.swap_dims(2, 3)) / (head_dim as f64).sqrt();
        let out = matmul(softmax(attn, 3), v);
        self.out_proj.forward(Self::recombine_heads(out))
    }
}

/// One block: self-attention on tokens, token→image, MLP, image→token.
#[derive(Module, Debug)]
pub struct TwoWayAttentionBlock {
    /// Token self-attention.
    pub self_attn: Attention,
    /// Norm after self-attention.
    pub norm1: LayerNorm,
    /// Tokens attend to the image.
    pub cross_attn_token_to_image: Attention,
    /// Norm after token→image.
    pub norm2: LayerNorm,
    /// Token MLP.
    pub mlp: MlpBlock,
    /// Norm after the MLP.
    pub norm3: LayerNorm,
    /// Norm after image→token.
    pub norm4: LayerNorm,
    /// Image attends to the tokens.
    pub cross_attn_image_to_token: Attention,
    /// First block: self-attention replaces the queries (no PE, no residual).
    pub skip_first_layer_pe: bool,
}

impl TwoWayAttentionBlock {
    /// `queries`, `query_pe`: `B×n×C` prompt tokens and their positional encoding; `image`:
    /// the image tokens `keys` with their positional encoding (channel-major, see
    /// [`ImageSide`]). Returns the updated `(queries B×n×C, keys B×C×N)`.
    fn forward(
        &self,
        queries: Tensor<3>,
        query_pe: &Tensor<3>,
        image: &ImageSide,
    ) -> (Tensor<3>, Tensor<3>) {
        // Self attention block
        let queries = if self.skip_first_layer_pe {
            self.self_attn
                .forward(queries.clone(), queries.clone(), queries)
        } else {
            let q = add(queries.clone(), query_pe.clone());
            let attn_out = self.self_attn.forward(q.clone(), q, queries.clone());
            add(queries, attn_out)
        };
        let queries = self.norm1.forward(queries);

        // Cross attention block, tokens attending to image embedding
        let q = add(queries.clone(), query_pe.clone());
        let attn_out = self.cross_attn_token_to_image.tokens_to_image(q, image);
        let queries = self.norm2.forward(add(queries, attn_out));

        // MLP block
        let mlp_out = self.mlp.forward(queries.clone());
        let queries = self.norm3.forward(add(queries, mlp_out));

        // Cross attention block, image embedding attending to tokens; the output
        // projection's bias is added inside the norm (no extra pass over the image tokens).
        let q = add(queries.clone(), query_pe.clone());
        let attn_out = self
            .cross_attn_image_to_token
            .image_to_tokens(image, q, queries.clone());
        let keys = layer_norm_module_of_sum(
            &self.norm4,
            add(image.keys(), attn_out.values),
            attn_out.bias,
            1,
            LAYER_NORM_EPS,
        );
        (queries, keys)
    }
}

/// The two-way transformer.
#[derive(Module, Debug)]
pub struct TwoWayTransformer {
    /// The blocks.
    pub layers: Vec<TwoWayAttentionBlock>,
    /// Final token→image attention.
    pub final_attn_token_to_image: Attention,
    /// Norm after the final attention.
    pub norm_final_attn: LayerNorm,
}

impl TwoWayTransformer {
    /// `image_embedding`, `image_pe`: `B×C×H×W`; `point_embedding`: `B×n×C` →
    /// `(tokens B×n×C, image tokens B×C×HW)`.
    ///
    /// The image tokens stay channel-major (the official code transposes them to `B×HW×C`):
    /// the embedding then needs no transposed copy, and the upscaling takes the result as it
    /// is.
    pub fn forward(
        &self,
        image_embedding: Tensor<4>,
        image_pe: Tensor<4>,
        point_embedding: Tensor<3>,
    ) -> (Tensor<3>, Tensor<3>) {
        let image_pe = flatten(image_pe);
        let image = ImageSide::tokens(flatten(image_embedding), &image_pe);
        self.run(image, &image_pe, point_embedding)
    }

    /// [`Self::forward`] of the image `first_block` was prepared from
    /// ([`Self::project_first_block`], with this `image_pe`): the first block's cross-attentions
    /// take its projections instead of projecting the image tokens.
    pub fn forward_prepared(
        &self,
        first_block: &FirstBlockProjections,
        image_pe: Tensor<4>,
        point_embedding: Tensor<3>,
    ) -> (Tensor<3>, Tensor<3>) {
        self.run(
            ImageSide::Prepared(first_block),
            &flatten(image_pe),
            point_embedding,
        )
    }

    /// The blocks, then the final token→image attention, from the first block's `image`
    /// side; `image_pe`: `B×C×N`.
    fn run(
        &self,
        mut image: ImageSide,
        image_pe: &Tensor<3>,
        point_embedding: Tensor<3>,
    ) -> (Tensor<3>, Tensor<3>) {
        let mut queries = point_embedding.clone();
        for layer in &self.layers {
            let (q, keys) = layer.forward(queries, &point_embedding, &image);
            queries = q;
            image = ImageSide::tokens(keys, image_pe);
        }
        let q = add(queries.clone(), point_embedding);
        let attn_out = self.final_attn_token_to_image.tokens_to_image(q, &image);
        let queries = self.norm_final_attn.forward(add(queries, attn_out));
        (queries, image.keys())
    }
}

/// `B×C×H×W` → channel-major tokens `B×C×HW` (a view, no copy).
fn flatten(x: Tensor<4>) -> Tensor<3> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h * w])
}
