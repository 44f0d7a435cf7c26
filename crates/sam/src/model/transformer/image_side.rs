//! The seam between the paper's token↔image attentions and their fast paths.
//!
//! Upstream, each cross-attention of a two-way block projects all `N = 64·64` image tokens
//! (`B×N×C`) for a handful of prompt tokens. Here the attentions read the image through
//! [`ImageSide`], always channel-major (`B×C×N`, as the embedding comes out of the encoder),
//! and compute the same functions in cheaper orders, each exact algebra:
//! - **folded** ([`ImageSide::Tokens`], fewer than `internal / heads` prompt tokens): the
//!   image tokens are multiplied by the per-head products of the prompt side with the
//!   projection weights, instead of projecting every image token;
//! - **prepared** ([`ImageSide::Prepared`], first block, no mask input): the first block's
//!   image-side projections depend only on the image, so a predictor computes them once per
//!   image ([`TwoWayTransformer::project_first_block`]) and every click reuses them.
//!
//! Every route is compared with [`Attention::forward`] on transposed tokens by the tests
//! below, and end to end by the golden tensors of `tests/parity.rs`.

use burn::nn::Linear;
use burn::prelude::*;

use super::{Attention, TwoWayTransformer, flatten};
use crate::ops::{add, matmul, softmax};

/// The image tokens as one block's token↔image attentions read them (channel-major,
/// `B×C×N`): the one way into the fast paths, passed to [`Attention::tokens_to_image`] and
/// [`Attention::image_to_tokens`].
// One exists per block call and is passed by reference, so the size difference between the
// variants costs nothing (boxing would add an allocation per block).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum ImageSide<'a> {
    /// The image tokens, projected by each attention (folded when there are few prompt
    /// tokens).
    Tokens {
        /// The image tokens `keys`, `B×C×N`.
        keys: Tensor<3>,
        /// `keys + key_pe`, `B×C×N` (used by both attentions of a block: computed once).
        keys_with_pe: Tensor<3>,
    },
    /// The first block's projections, prepared once per image.
    Prepared(&'a FirstBlockProjections),
}

impl ImageSide<'_> {
    /// `keys` (`B×C×N`) with their positional encoding `key_pe` (`B×C×N`).
    pub fn tokens(keys: Tensor<3>, key_pe: &Tensor<3>) -> Self {
        let keys_with_pe = add(keys.clone(), key_pe.clone());
        ImageSide::Tokens { keys, keys_with_pe }
    }

    /// The image tokens themselves, `B×C×N` (a block's residual stream).
    pub fn keys(&self) -> Tensor<3> {
        match self {
            ImageSide::Tokens { keys, .. } => keys.clone(),
            ImageSide::Prepared(prepared) => flatten(prepared.image.clone()),
        }
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

impl TwoWayTransformer {
    /// The first block's image-side projections for `image_embedding` (`B×C×H×W`, the
    /// embedding plus the dense prompt embedding) and `image_pe` (`B×C×H×W`), for
    /// [`Self::forward_prepared`].
    pub fn project_first_block(
        &self,
        image_embedding: Tensor<4>,
        image_pe: Tensor<4>,
    ) -> FirstBlockProjections {
        let keys = flatten(image_embedding.clone());
        let keys_with_pe = add(keys.clone(), flatten(image_pe));
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

/// An image→token attention's output and the bias (per channel, `C`) still to be added to
/// it, if any: the block adds it inside its layer norm, without another pass over the image
/// tokens.
#[derive(Debug, Clone)]
pub struct ImageOutput {
    /// `B×C×N` without the bias.
    pub values: Tensor<3>,
    /// The output projection's bias, when the route left it out.
    pub bias: Option<Tensor<1>>,
}

impl Attention {
    /// Prompt tokens attend to the image: `q`: `B×n×C` tokens → `B×n×C`; equal to
    /// `forward(q, (keys + pe)ᵀ, keysᵀ)`.
    ///
    /// Folded (few tokens), without projecting the N image tokens `k = keys + pe`, `v = keys`:
    /// - scores: `Q_h K_hᵀ = (Q_h W_k,hᵀ) k + Q_h b_k,h`; the last term is the same for every
    ///   key, so softmax removes it;
    /// - values: `P_h V_h = (P_h vᵀ) W_v,h + b_v,h` because each row of `P_h` sums to one.
    pub fn tokens_to_image(&self, q: Tensor<3>, image: &ImageSide) -> Tensor<3> {
        match image {
            ImageSide::Prepared(p) => {
                self.tokens_to_projected_image(q, p.keys.clone(), p.values.clone())
            }
            ImageSide::Tokens { keys, keys_with_pe } => {
                let (k, v) = (keys_with_pe.clone(), keys.clone());
                if self.folds(q.dims()[1]) {
                    self.tokens_to_image_folded(q, k, v)
                } else {
                    self.forward(q, k.swap_dims(1, 2), v.swap_dims(1, 2))
                }
            }
        }
    }

    /// The image attends to the prompt tokens `k`/`v` (`B×n×C`) with queries `keys + pe`:
    /// `forward((keys + pe)ᵀ, k, v)ᵀ`, channel-major (`B×C×N`).
    ///
    /// Folded (few tokens), without projecting the N image tokens `q = keys + pe`:
    /// - scores: `q_h K_hᵀ = q (W_q,h K_hᵀ) + b_q,h K_hᵀ`;
    /// - output: `Σ_h P_h (V_h W_o,h) + b_o`, the output projection split by head, its bias
    ///   left to the caller ([`ImageOutput::bias`]).
    pub fn image_to_tokens(&self, image: &ImageSide, k: Tensor<3>, v: Tensor<3>) -> ImageOutput {
        match image {
            ImageSide::Prepared(p) => self.projected_image_to_tokens(p.queries.clone(), k, v),
            ImageSide::Tokens { keys_with_pe, .. } => {
                let q = keys_with_pe.clone();
                if self.folds(k.dims()[1]) {
                    self.image_to_tokens_folded(q, k, v)
                } else {
                    let values = self.forward(q.swap_dims(1, 2), k, v).swap_dims(1, 2);
                    ImageOutput { values, bias: None }
                }
            }
        }
    }

    /// Internal width and width per head.
    fn widths(&self) -> (usize, usize) {
        let internal = self.q_proj.weight.dims()[1];
        (internal, internal / self.num_heads)
    }

    /// Whether the folded routes apply: with `heads × tokens` below the internal width,
    /// multiplying the image tokens by the per-head products of the token side with the
    /// projection weights costs fewer operations than projecting every image token.
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

    /// [`Self::tokens_to_image`], folded: `k`, `v` channel-major `B×C×N`.
    fn tokens_to_image_folded(&self, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> Tensor<3> {
        let [b, n, c] = q.dims();
        let (_, hd) = self.widths();
        let heads = self.num_heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let q = self.separate_heads(self.q_proj.forward(q));
        let wk = self.weight_per_head(&self.k_proj).swap_dims(2, 3);
        let scores = matmul((matmul(q, wk) * scale).reshape([b, heads * n, c]), k);
        let attended = matmul(softmax(scores, 2), v.swap_dims(1, 2));
        let out = matmul(
            attended.reshape([b, heads, n, c]),
            self.weight_per_head(&self.v_proj),
        ) + self.bias_per_head(&self.v_proj);
        self.out_proj.forward(Self::recombine_heads(out))
    }

    /// [`Self::image_to_tokens`], folded: `q` channel-major `B×C×N`.
    fn image_to_tokens_folded(&self, q: Tensor<3>, k: Tensor<3>, v: Tensor<3>) -> ImageOutput {
        let [b, c, big_n] = q.dims();
        let n = k.dims()[1];
        let (_, hd) = self.widths();
        let heads = self.num_heads;
        let scale = 1.0 / (hd as f64).sqrt();
        let k = self.separate_heads(self.k_proj.forward(k));
        let v = self.separate_heads(self.v_proj.forward(v));
        let wq = self.weight_per_head(&self.q_proj).swap_dims(2, 3);
        let bq = self.bias_per_head(&self.q_proj);
        let shift = (matmul(bq, k.clone().swap_dims(2, 3)) * scale).reshape([b, heads * n, 1]);
        let scores = matmul((matmul(k, wq) * scale).reshape([b, heads * n, c]), q) + shift;
        let weights = softmax(scores.reshape([b, heads, n, big_n]), 2);
        self.image_output(weights, v)
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
        let (_, hd) = self.widths();
        let q = self.separate_heads(self.q_proj.forward(q));
        // The scale on the small side (for SAM's 16-wide heads a power of two: exact).
        let weights = softmax(matmul(q / (hd as f64).sqrt(), keys), 3);
        let out = matmul(weights, values.swap_dims(2, 3));
        self.out_proj.forward(Self::recombine_heads(out))
    }

    /// [`Self::image_to_tokens`] with the image queries already projected
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
        self.image_output(weights, v)
    }

    /// The image rows of an image→token attention from its weights `B×heads×n×N` (softmax
    /// over the tokens) and the tokens' values `B×heads×n×hd`, without the output
    /// projection's bias: `Σ_h P_hᵀ (V_h W_o,h)` as `B×C×N`.
    fn image_output(&self, weights: Tensor<4>, values: Tensor<4>) -> ImageOutput {
        let [b, heads, n, big_n] = weights.dims();
        let (_, hd) = self.widths();
        let c = self.out_proj.weight.dims()[1];
        let wo = self
            .out_proj
            .weight
            .val()
            .reshape([heads, hd, c])
            .unsqueeze::<4>();
        let per_token = matmul(values, wo).reshape([b, heads * n, c]);
        ImageOutput {
            values: matmul(
                per_token.swap_dims(1, 2),
                weights.reshape([b, heads * n, big_n]),
            ),
            bias: self.out_proj.bias.as_ref().map(|bias| bias.val()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::TwoWayTransformerConfig;
    use super::*;
    use burn::tensor::Distribution;

    fn random<const D: usize>(shape: [usize; D], device: &Device) -> Tensor<D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    fn max_abs_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar()
    }

    /// `x` (`B×C×N`) plus a per-channel `bias`.
    fn with_bias(out: ImageOutput) -> Tensor<3> {
        match out.bias {
            Some(bias) => {
                let c = bias.dims()[0];
                out.values + bias.reshape([1, c, 1])
            }
            None => out.values,
        }
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
            let image = ImageSide::Tokens {
                keys: v.clone(),
                keys_with_pe: k.clone(),
            };
            let ours = attention.tokens_to_image(q.clone(), &image);
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
            let image = ImageSide::Tokens {
                keys: random([2, 32, 50], &device),
                keys_with_pe: q.clone(),
            };
            let ours = with_bias(attention.image_to_tokens(&image, k.clone(), v.clone()));
            let official = attention.forward(q.swap_dims(1, 2), k, v).swap_dims(1, 2);
            let diff = max_abs_diff(ours, official);
            assert!(diff < 1e-5, "{tokens} tokens: max |Δ| {diff:e}");
        }
    }

    #[test]
    fn prepared_routes_equal_the_official_attention() {
        let device = Device::flex();
        let attention = attention(&device);
        let image = random([2, 32, 50], &device);
        let tokens = random([2, 3, 32], &device);
        let other = random([2, 3, 32], &device);
        // One attention's projections in every slot (each route reads its own).
        let prepared = FirstBlockProjections {
            image: image.clone().reshape([2, 32, 5, 10]),
            keys: attention.project_image(&attention.k_proj, image.clone()),
            values: attention.project_image(&attention.v_proj, image.clone()),
            queries: attention.project_image(&attention.q_proj, image.clone()),
        };
        let side = ImageSide::Prepared(&prepared);
        assert_eq!(max_abs_diff(side.keys(), image.clone()), 0.0);

        let ours = attention.tokens_to_image(tokens.clone(), &side);
        let official = attention.forward(
            tokens.clone(),
            image.clone().swap_dims(1, 2),
            image.clone().swap_dims(1, 2),
        );
        let diff = max_abs_diff(ours, official);
        assert!(diff < 1e-5, "token→image: max |Δ| {diff:e}");

        let ours = with_bias(attention.image_to_tokens(&side, tokens.clone(), other.clone()));
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
        let (q1, k1) = transformer.forward(image, pe.clone(), tokens.clone());
        let (q2, k2) = transformer.forward_prepared(&projections, pe, tokens);
        let diff = max_abs_diff(q1, q2).max(max_abs_diff(k1, k2));
        assert!(diff < 1e-4, "max |Δ| {diff:e}");
    }
}
