//! Two-way transformer of the mask decoder (the official `modeling/transformer.py`):
//! prompt tokens and image tokens attend to each other in both directions.

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::softmax;

use crate::common::{MlpActivation, MlpBlock};

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
                    norm1: LayerNormConfig::new(d).init(device),
                    cross_attn_token_to_image: cross(device),
                    norm2: LayerNormConfig::new(d).init(device),
                    mlp: MlpBlock::new(d, self.mlp_dim, MlpActivation::Relu, device),
                    norm3: LayerNormConfig::new(d).init(device),
                    norm4: LayerNormConfig::new(d).init(device),
                    cross_attn_image_to_token: cross(device),
                    skip_first_layer_pe: i == 0,
                })
                .collect(),
            final_attn_token_to_image: cross(device),
            norm_final_attn: LayerNormConfig::new(d).init(device),
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

    fn separate_heads(&self, x: Tensor<3>) -> Tensor<4> {
        let [b, n, c] = x.dims();
        x.reshape([b, n, self.num_heads, c / self.num_heads])
            .swap_dims(1, 2)
    }

    /// `q`: `B×Nq×C`, `k`/`v`: `B×Nk×C` → `B×Nq×C`.
    pub fn forward(&self, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
        let q = self.separate_heads(self.q_proj.forward(q));
        let k = self.separate_heads(self.k_proj.forward(k));
        let v = self.separate_heads(self.v_proj.forward(v));
        let [b, heads, nq, head_dim] = q.dims();
        let attn = q.matmul(k.swap_dims(2, 3)) / (head_dim as f64).sqrt();
        let out = softmax(attn, 3).matmul(v);
        let out = out.swap_dims(1, 2).reshape([b, nq, heads * head_dim]);
        self.out_proj.forward(out)
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
    /// Returns updated `(queries B×Nq×C, keys B×Nk×C)`.
    fn forward(
        &self,
        queries: Tensor<3>,
        keys: Tensor<3>,
        query_pe: Tensor<3>,
        key_pe: Tensor<3>,
    ) -> (Tensor<3>, Tensor<3>) {
        let queries = if self.skip_first_layer_pe {
            self.self_attn
                .forward(queries.clone(), queries.clone(), queries)
        } else {
            let q = queries.clone() + query_pe.clone();
            queries.clone() + self.self_attn.forward(q.clone(), q, queries)
        };
        let queries = self.norm1.forward(queries);

        let q = queries.clone() + query_pe.clone();
        let k = keys.clone() + key_pe.clone();
        let queries = queries + self.cross_attn_token_to_image.forward(q, k, keys.clone());
        let queries = self.norm2.forward(queries);

        let queries = queries.clone() + self.mlp.forward(queries);
        let queries = self.norm3.forward(queries);

        let q = queries.clone() + query_pe;
        let k = keys.clone() + key_pe;
        let keys = keys
            + self
                .cross_attn_image_to_token
                .forward(k, q, queries.clone());
        let keys = self.norm4.forward(keys);
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
    /// `image_embedding`, `image_pe`: `B×C×H×W`; `point_embedding`: `B×N×C` →
    /// `(tokens B×N×C, image tokens B×HW×C)`.
    pub fn forward(
        &self,
        image_embedding: Tensor<4>,
        image_pe: Tensor<4>,
        point_embedding: Tensor<3>,
    ) -> (Tensor<3>, Tensor<3>) {
        let flatten = |x: Tensor<4>| {
            let [b, c, h, w] = x.dims();
            x.reshape([b, c, h * w]).swap_dims(1, 2)
        };
        let image_embedding = flatten(image_embedding);
        let image_pe = flatten(image_pe);

        let (mut queries, mut keys) = (point_embedding.clone(), image_embedding);
        for layer in &self.layers {
            (queries, keys) =
                layer.forward(queries, keys, point_embedding.clone(), image_pe.clone());
        }
        let q = queries.clone() + point_embedding;
        let k = keys.clone() + image_pe;
        let queries = queries + self.final_attn_token_to_image.forward(q, k, keys.clone());
        (self.norm_final_attn.forward(queries), keys)
    }
}
