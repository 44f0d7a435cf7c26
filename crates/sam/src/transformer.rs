//! Two-way transformer of the mask decoder (the official `modeling/transformer.py`):
//! prompt tokens and image tokens attend to each other in both directions.

use burn::module::Module;
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::common::{MlpActivation, MlpBlock, layer_norm_module_of_sum_over};
use crate::kernels::{add, matmul, softmax};

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

    /// Internal width and width per head.
    fn widths(&self) -> (usize, usize) {
        let internal = self.q_proj.weight.dims()[1];
        (internal, internal / self.num_heads)
    }

    /// Whether [`Self::tokens_to_image`] / [`Self::image_to_tokens`] take the folded route:
    /// with `heads × tokens` below the internal width, multiplying the image tokens by the
    /// per-head products of the token side with the projection weights costs fewer operations
    /// than projecting every image token.
    fn folds(&self, tokens: usize) -> bool {
        let (internal, _) = self.widths();
        self.num_heads * tokens < internal
    }

    /// A projection's weight `C×I` as one `C×hd` block per head: `1×heads×C×hd`.
    fn weight_per_head(&self, linear: &Linear) -> Tensor<4> {
        let [c, _] = linear.weight.dims();
        let (_, hd) = self.widths();
        linear
            .weight
            .val()
            .reshape([c, self.num_heads, hd])
            .swap_dims(0, 1)
            .unsqueeze()
    }

    /// A projection's bias (zero without one) as `1×heads×1×hd`.
    fn bias_per_head(&self, linear: &Linear) -> Tensor<4> {
        let (internal, hd) = self.widths();
        let bias = match &linear.bias {
            Some(bias) => bias.val(),
            None => Tensor::zeros([internal], &linear.weight.device()),
        };
        bias.reshape([1, self.num_heads, 1, hd])
    }

    /// Prompt tokens attend to the image: `q`: `B×n×C` tokens, `k`/`v`: `B×C×N`
    /// channel-major image tokens → `B×n×C`. Equal to
    /// `forward(q, kᵀ, vᵀ)`; for few tokens it is computed without projecting the N image
    /// tokens:
    /// - scores: `Q_h K_hᵀ = (Q_h W_k,hᵀ) k + Q_h b_k,h`; the last term is the same for every
    ///   key, so softmax removes it;
    /// - values: `P_h V_h = (P_h vᵀ) W_v,h + b_v,h` because each row of `P_h` sums to one.
    pub fn tokens_to_image(&self, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
        let [b, n, c] = q.dims();
        if !self.folds(n) {
            return self.forward(q, k.swap_dims(1, 2), v.swap_dims(1, 2));
        }
        let (internal, hd) = self.widths();
        let heads = self.num_heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let q = self.separate_heads(self.q_proj.forward(q));
        let wk = self.weight_per_head(&self.k_proj).swap_dims(2, 3);
        let scores = matmul((q.matmul(wk) * scale).reshape([b, heads * n, c]), k);
        let attended = matmul(softmax(scores, 2), v.swap_dims(1, 2));
        let out = attended
            .reshape([b, heads, n, c])
            .matmul(self.weight_per_head(&self.v_proj))
            + self.bias_per_head(&self.v_proj);
        self.out_proj
            .forward(out.swap_dims(1, 2).reshape([b, n, internal]))
    }

    /// The image attends to the prompt tokens: `q`: `B×C×N` channel-major image tokens,
    /// `k`/`v`: `B×n×C` tokens → `B×C×N` (channel-major). Equal to `forward(qᵀ, k, v)ᵀ`;
    /// for few tokens it is computed without projecting the N image tokens:
    /// - scores: `q_h K_hᵀ = q (W_q,h K_hᵀ) + b_q,h K_hᵀ`;
    /// - output: `Σ_h P_h (V_h W_o,h) + b_o`, the output projection split by head.
    pub fn image_to_tokens(&self, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
        let (out, bias) = self.image_to_tokens_parts(q, k, v);
        with_channel_bias(out, bias)
    }

    /// [`Self::image_to_tokens`] as an [`ImageOutput`]: the folded route leaves the output
    /// projection's bias to the caller.
    fn image_to_tokens_parts(&self, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> ImageOutput {
        let [b, c, big_n] = q.dims();
        let n = k.dims()[1];
        if !self.folds(n) {
            return (self.forward(q.swap_dims(1, 2), k, v).swap_dims(1, 2), None);
        }
        let (_, hd) = self.widths();
        let heads = self.num_heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let k = self.separate_heads(self.k_proj.forward(k));
        let v = self.separate_heads(self.v_proj.forward(v));
        let wq = self.weight_per_head(&self.q_proj).swap_dims(2, 3);
        let bq = self.bias_per_head(&self.q_proj);
        let shift = (bq.matmul(k.clone().swap_dims(2, 3)) * scale).reshape([b, heads * n, 1]);
        let scores = matmul((k.matmul(wq) * scale).reshape([b, heads * n, c]), q) + shift;
        let weights = softmax(scores.reshape([b, heads, n, big_n]), 2);
        (self.image_output(weights, v), self.out_bias())
    }

    /// The output projection's bias `C`, if it has one.
    fn out_bias(&self) -> Option<Tensor<1>> {
        self.out_proj.bias.as_ref().map(|bias| bias.val())
    }

    /// The image rows of an image→token attention from its weights `B×heads×n×N` (softmax
    /// over the tokens) and the tokens' values `B×heads×n×hd`, without the output
    /// projection's bias: `Σ_h P_hᵀ (V_h W_o,h)` as `B×C×N`.
    fn image_output(&self, weights: Tensor<4>, values: Tensor<4>) -> Tensor<3> {
        let [b, heads, n, big_n] = weights.dims();
        let (_, hd) = self.widths();
        let c = self.out_proj.weight.dims()[1];
        let wo = self
            .out_proj
            .weight
            .val()
            .reshape([heads, hd, c])
            .unsqueeze::<4>();
        let per_token = values.matmul(wo).reshape([b, heads * n, c]);
        matmul(
            per_token.swap_dims(1, 2),
            weights.reshape([b, heads * n, big_n]),
        )
    }

    /// `linear` applied to every channel-major image token: `x`: `B×C×N` →
    /// `B×heads×hd×N`.
    fn project_image(&self, linear: &Linear, x: Tensor<3>) -> Tensor<4> {
        let [b, _, big_n] = x.dims();
        let (internal, hd) = self.widths();
        let projected = matmul(linear.weight.val().transpose().unsqueeze::<3>(), x);
        let projected = match &linear.bias {
            Some(bias) => projected + bias.val().reshape([1, internal, 1]),
            None => projected,
        };
        projected.reshape([b, self.num_heads, hd, big_n])
    }

    /// [`Self::tokens_to_image`] with the image side already projected
    /// ([`Self::project_image`]): `keys` = `k_proj(k)`, `values` = `v_proj(v)`, both
    /// `B×heads×hd×N`.
    fn tokens_to_projected_image(
        &self,
        q: Tensor<3>,
        keys: Tensor<4>,
        values: Tensor<4>,
    ) -> Tensor<3> {
        let [b, n, _] = q.dims();
        let (internal, hd) = self.widths();
        let q = self.separate_heads(self.q_proj.forward(q));
        // The scale on the small side (for SAM's 16-wide heads a power of two: exact).
        let weights = softmax(matmul(q / (hd as f64).sqrt(), keys), 3);
        let out = matmul(weights, values.swap_dims(2, 3));
        self.out_proj
            .forward(out.swap_dims(1, 2).reshape([b, n, internal]))
    }

    /// [`Self::image_to_tokens_parts`] with the image queries already projected
    /// (`queries` = `q_proj(q)` as `B×heads×hd×N`).
    fn projected_image_to_tokens(
        &self,
        queries: Tensor<4>,
        k: Tensor<3>,
        v: Tensor<3>,
    ) -> ImageOutput {
        let (_, hd) = self.widths();
        let k = self.separate_heads(self.k_proj.forward(k));
        let v = self.separate_heads(self.v_proj.forward(v));
        let weights = softmax(matmul(k / (hd as f64).sqrt(), queries), 2);
        (self.image_output(weights, v), self.out_bias())
    }
}

/// An image→token attention's output `B×C×N` and the bias (per channel, `C`) still to be
/// added to it, if any: the block adds it inside its layer norm, without another pass over
/// the image tokens.
type ImageOutput = (Tensor<3>, Option<Tensor<1>>);

/// `x` (`B×C×N`) plus a per-channel `bias`.
fn with_channel_bias(x: Tensor<3>, bias: Option<Tensor<1>>) -> Tensor<3> {
    match bias {
        Some(bias) => {
            let c = bias.dims()[0];
            x + bias.reshape([1, c, 1])
        }
        None => x,
    }
}

/// The image-side projections of the first block's two cross-attentions. They depend only on
/// the image tokens entering the transformer (embedding + dense prompt embedding) and the
/// positional encoding, not on the prompt tokens, so a predictor computes them once per image
/// ([`TwoWayTransformer::project_first_block`]) and every click reuses them.
#[derive(Debug, Clone)]
pub struct FirstBlockProjections {
    /// The image tokens entering the transformer (embedding + dense prompt embedding),
    /// `B×C×H×W`.
    image: Tensor<4>,
    /// `k_proj(keys + pe)` of the token→image attention, `B×heads×hd×N`.
    keys: Tensor<4>,
    /// `v_proj(keys)` of the token→image attention, `B×heads×hd×N`.
    values: Tensor<4>,
    /// `q_proj(keys + pe)` of the image→token attention, `B×heads×hd×N`.
    queries: Tensor<4>,
}

impl FirstBlockProjections {
    /// The image tokens they were projected from (embedding + dense prompt embedding),
    /// `B×C×H×W`: the transformer's image input for every prompt that uses them.
    pub fn image(&self) -> Tensor<4> {
        self.image.clone()
    }
}

/// What a block's cross-attentions read of the image tokens.
enum ImageSide<'a> {
    /// The first block's prepared projections.
    Projected(&'a FirstBlockProjections),
    /// The image tokens plus their positional encoding, projected by each attention.
    WithPe(Box<Tensor<3>>),
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
    /// `queries`, `query_pe`: `B×n×C` tokens; `keys`, `key_pe`: `B×C×N` channel-major image
    /// tokens; `projected`: this block's image-side projections of `keys` when they are
    /// known (first block, see [`FirstBlockProjections`]). Returns the updated
    /// `(queries, keys)` in the same layouts.
    fn forward(
        &self,
        queries: Tensor<3>,
        keys: Tensor<3>,
        query_pe: Tensor<3>,
        key_pe: Tensor<3>,
        projected: Option<&FirstBlockProjections>,
    ) -> (Tensor<3>, Tensor<3>) {
        let queries = if self.skip_first_layer_pe {
            self.self_attn
                .forward(queries.clone(), queries.clone(), queries)
        } else {
            let q = queries.clone() + query_pe.clone();
            queries.clone() + self.self_attn.forward(q.clone(), q, queries)
        };
        let queries = self.norm1.forward(queries);

        // Without the prepared projections, `keys + key_pe` is used by both cross-attentions
        // (the keys do not change in between).
        let image = match projected {
            Some(p) => ImageSide::Projected(p),
            None => ImageSide::WithPe(Box::new(add(keys.clone(), key_pe))),
        };
        let q = queries.clone() + query_pe.clone();
        let attended =
            match &image {
                ImageSide::Projected(p) => self
                    .cross_attn_token_to_image
                    .tokens_to_projected_image(q, p.keys.clone(), p.values.clone()),
                ImageSide::WithPe(keys_with_pe) => self.cross_attn_token_to_image.tokens_to_image(
                    q,
                    (**keys_with_pe).clone(),
                    keys.clone(),
                ),
            };
        let queries = self.norm2.forward(queries + attended);

        let queries = queries.clone() + self.mlp.forward(queries);
        let queries = self.norm3.forward(queries);

        let q = queries.clone() + query_pe;
        let (attended, out_bias) =
            match image {
                ImageSide::Projected(p) => self
                    .cross_attn_image_to_token
                    .projected_image_to_tokens(p.queries.clone(), q, queries.clone()),
                ImageSide::WithPe(keys_with_pe) => self
                    .cross_attn_image_to_token
                    .image_to_tokens_parts(*keys_with_pe, q, queries.clone()),
            };
        let keys = layer_norm_module_of_sum_over(
            &self.norm4,
            add(keys, attended),
            out_bias,
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
    /// `(tokens B×n×C, image tokens B×C×HW)`. `first_block`: the projections
    /// [`Self::project_first_block`] made from the same `image_embedding` and `image_pe`, if
    /// the caller kept them.
    ///
    /// The image tokens stay channel-major (the official code transposes them to `B×HW×C`):
    /// the embedding then needs no transposed copy, and the upscaling takes the result as it
    /// is.
    pub fn forward(
        &self,
        image_embedding: Tensor<4>,
        image_pe: Tensor<4>,
        point_embedding: Tensor<3>,
        first_block: Option<&FirstBlockProjections>,
    ) -> (Tensor<3>, Tensor<3>) {
        let image_embedding = flatten(image_embedding);
        let image_pe = flatten(image_pe);

        let (mut queries, mut keys) = (point_embedding.clone(), image_embedding);
        for (i, layer) in self.layers.iter().enumerate() {
            let projected = first_block.filter(|_| i == 0);
            (queries, keys) = layer.forward(
                queries,
                keys,
                point_embedding.clone(),
                image_pe.clone(),
                projected,
            );
        }
        let q = queries.clone() + point_embedding;
        let k = add(keys.clone(), image_pe);
        let queries = queries
            + self
                .final_attn_token_to_image
                .tokens_to_image(q, k, keys.clone());
        (self.norm_final_attn.forward(queries), keys)
    }

    /// The first block's image-side projections for `image_embedding` (`B×C×H×W`, the
    /// embedding plus the dense prompt embedding) and `image_pe`.
    pub fn project_first_block(
        &self,
        image_embedding: Tensor<4>,
        image_pe: Tensor<4>,
    ) -> FirstBlockProjections {
        let keys = flatten(image_embedding.clone());
        let keys_with_pe = keys.clone() + flatten(image_pe);
        let first = &self.layers[0];
        let t2i = &first.cross_attn_token_to_image;
        let i2t = &first.cross_attn_image_to_token;
        FirstBlockProjections {
            image: image_embedding,
            keys: t2i.project_image(&t2i.k_proj, keys_with_pe.clone()),
            values: t2i.project_image(&t2i.v_proj, keys),
            queries: i2t.project_image(&i2t.q_proj, keys_with_pe),
        }
    }
}

/// `B×C×H×W` → channel-major tokens `B×C×HW` (a view, no copy).
fn flatten(x: Tensor<4>) -> Tensor<3> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h * w])
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar()
    }

    /// 4 heads, internal width 16: 3 tokens take the folded route, 5 the standard one.
    fn attention(device: &Device) -> Attention {
        let attention = Attention::new(32, 4, 2, device);
        assert!(attention.folds(3) && !attention.folds(5));
        attention
    }

    #[test]
    fn tokens_to_image_equals_the_official_attention() {
        let device = Device::flex();
        let attention = attention(&device);
        for tokens in [3, 5] {
            let q = random([2, tokens, 32], &device);
            let k = random([2, 32, 50], &device);
            let v = random([2, 32, 50], &device);
            let ours = attention.tokens_to_image(q.clone(), k.clone(), v.clone());
            let official = attention.forward(q, k.swap_dims(1, 2), v.swap_dims(1, 2));
            let diff = max_abs_diff(ours, official);
            assert!(diff < 1e-5, "{tokens} tokens: max |Δ| {diff:e}");
        }
    }

    #[test]
    fn image_to_tokens_equals_the_official_attention() {
        let device = Device::flex();
        let attention = attention(&device);
        for tokens in [3, 5] {
            let q = random([2, 32, 50], &device);
            let k = random([2, tokens, 32], &device);
            let v = random([2, tokens, 32], &device);
            let ours = attention.image_to_tokens(q.clone(), k.clone(), v.clone());
            let official = attention.forward(q.swap_dims(1, 2), k, v).swap_dims(1, 2);
            let diff = max_abs_diff(ours, official);
            assert!(diff < 1e-5, "{tokens} tokens: max |Δ| {diff:e}");
        }
    }

    #[test]
    fn projected_image_routes_equal_the_official_attention() {
        let device = Device::flex();
        let attention = attention(&device);
        let image = random([2, 32, 50], &device);
        let tokens = random([2, 3, 32], &device);
        let other = random([2, 3, 32], &device);

        let keys = attention.project_image(&attention.k_proj, image.clone());
        let values = attention.project_image(&attention.v_proj, image.clone());
        let ours = attention.tokens_to_projected_image(tokens.clone(), keys, values);
        let official = attention.forward(
            tokens.clone(),
            image.clone().swap_dims(1, 2),
            image.clone().swap_dims(1, 2),
        );
        let diff = max_abs_diff(ours, official);
        assert!(diff < 1e-5, "token→image: max |Δ| {diff:e}");

        let queries = attention.project_image(&attention.q_proj, image.clone());
        let (out, bias) =
            attention.projected_image_to_tokens(queries, tokens.clone(), other.clone());
        let ours = with_channel_bias(out, bias);
        let official = attention
            .forward(image.swap_dims(1, 2), tokens, other)
            .swap_dims(1, 2);
        let diff = max_abs_diff(ours, official);
        assert!(diff < 1e-5, "image→token: max |Δ| {diff:e}");
    }

    /// The whole transformer with the first block's projections prepared equals the
    /// transformer without them.
    #[test]
    fn prepared_first_block_changes_nothing() {
        let device = Device::flex();
        let transformer = TwoWayTransformerConfig {
            depth: 2,
            embedding_dim: 32,
            num_heads: 4,
            mlp_dim: 64,
            attention_downsample_rate: 2,
        }
        .init(&device);
        let image = random([1, 32, 6, 7], &device);
        let pe = random([1, 32, 6, 7], &device);
        let tokens = random([1, 3, 32], &device);
        let projections = transformer.project_first_block(image.clone(), pe.clone());
        let (q1, k1) = transformer.forward(image.clone(), pe.clone(), tokens.clone(), None);
        let (q2, k2) = transformer.forward(image, pe, tokens, Some(&projections));
        let diff = max_abs_diff(q1, q2).max(max_abs_diff(k1, k2));
        assert!(diff < 1e-4, "max |Δ| {diff:e}");
    }
}
