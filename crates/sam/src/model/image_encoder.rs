//! SAM's ViT image encoder (the official `modeling/image_encoder.py`): patch embedding,
//! absolute position embedding, windowed and global attention blocks with decomposed
//! relative positions, and the neck.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

use crate::common::{
    MlpActivation, MlpBlock, layer_norm_module, window_partition, window_unpartition,
};
use crate::ops::{add, matmul, softmax};

/// Epsilon of the ViT blocks' layer norms (the official `partial(nn.LayerNorm, eps=1e-6)`).
const LAYER_NORM_EPS: f64 = 1e-6;
use crate::tiny_vit::Neck;

/// Sizes of a ViT encoder. ViT-B/L/H differ only by these values.
#[derive(Debug, Clone, PartialEq)]
pub struct VitConfig {
    /// Side of the square input (1024).
    pub img_size: usize,
    /// Patch side (16).
    pub patch_size: usize,
    /// Token width.
    pub embed_dim: usize,
    /// Number of blocks.
    pub depth: usize,
    /// Attention heads.
    pub num_heads: usize,
    /// MLP hidden width as a multiple of `embed_dim`.
    pub mlp_ratio: usize,
    /// Channels of the output embedding (256).
    pub out_chans: usize,
    /// Window side of the windowed blocks (14).
    pub window_size: usize,
    /// Blocks that attend globally.
    pub global_attn_indexes: Vec<usize>,
}

impl VitConfig {
    fn sam(embed_dim: usize, depth: usize, num_heads: usize, global: [usize; 4]) -> Self {
        Self {
            img_size: 1024,
            patch_size: 16,
            embed_dim,
            depth,
            num_heads,
            mlp_ratio: 4,
            out_chans: 256,
            window_size: 14,
            global_attn_indexes: global.to_vec(),
        }
    }

    /// SAM ViT-B: 768 wide, 12 blocks, 12 heads, global attention at 2, 5, 8, 11.
    pub fn vit_b() -> Self {
        Self::sam(768, 12, 12, [2, 5, 8, 11])
    }

    /// SAM ViT-L: 1024 wide, 24 blocks, 16 heads, global attention at 5, 11, 17, 23.
    pub fn vit_l() -> Self {
        Self::sam(1024, 24, 16, [5, 11, 17, 23])
    }

    /// SAM ViT-H: 1280 wide, 32 blocks, 16 heads, global attention at 7, 15, 23, 31.
    pub fn vit_h() -> Self {
        Self::sam(1280, 32, 16, [7, 15, 23, 31])
    }

    /// Side of the token grid (and of the output embedding).
    pub fn grid_size(&self) -> usize {
        self.img_size / self.patch_size
    }

    /// Builds the encoder with freshly initialised weights.
    pub fn init(&self, device: &Device) -> ImageEncoderVit {
        let (d, g) = (self.embed_dim, self.grid_size());
        let head_dim = d / self.num_heads;
        let blocks = (0..self.depth)
            .map(|i| {
                let window = if self.global_attn_indexes.contains(&i) {
                    0
                } else {
                    self.window_size
                };
                let span = if window == 0 { g } else { window };
                let rel =
                    |device| Param::from_tensor(Tensor::zeros([2 * span - 1, head_dim], device));
                VitBlock {
                    norm1: LayerNormConfig::new(d)
                        .with_epsilon(LAYER_NORM_EPS)
                        .init(device),
                    attn: VitAttention {
                        qkv: LinearConfig::new(d, 3 * d).init(device),
                        proj: LinearConfig::new(d, d).init(device),
                        rel_pos_h: rel(device),
                        rel_pos_w: rel(device),
                        num_heads: self.num_heads,
                    },
                    norm2: LayerNormConfig::new(d)
                        .with_epsilon(LAYER_NORM_EPS)
                        .init(device),
                    mlp: MlpBlock::new(d, d * self.mlp_ratio, MlpActivation::Gelu, device),
                    window_size: window,
                }
            })
            .collect();
        ImageEncoderVit {
            patch_embed: VitPatchEmbed {
                proj: Conv2dConfig::new([3, d], [self.patch_size; 2])
                    .with_stride([self.patch_size; 2])
                    .init(device),
            },
            pos_embed: Param::from_tensor(Tensor::zeros([1, g, g, d], device)),
            blocks,
            neck: Neck::new(d, self.out_chans, device),
        }
    }
}

/// Non-overlapping patches → tokens (`patch_embed.proj`).
#[derive(Module, Debug)]
pub struct VitPatchEmbed {
    /// `patch×patch` convolution with stride `patch`.
    pub proj: Conv2d,
}

/// The ViT image encoder.
#[derive(Module, Debug)]
pub struct ImageEncoderVit {
    /// Patch embedding.
    pub patch_embed: VitPatchEmbed,
    /// Absolute position embedding `1×G×G×D`.
    pub pos_embed: Param<Tensor<4>>,
    /// Transformer blocks.
    pub blocks: Vec<VitBlock>,
    /// Projection to the SAM embedding.
    pub neck: Neck,
}

impl ImageEncoderVit {
    /// Patch embedding plus absolute positions: `B×3×S×S` → tokens `B×G×G×D`.
    pub fn embed_patches(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.patch_embed.proj.forward(x).permute([0, 2, 3, 1]);
        x + self.pos_embed.val()
    }

    /// `x`: `B×3×S×S` normalised, padded image → embedding `B×out×G×G`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let tokens = self
            .blocks
            .iter()
            .fold(self.embed_patches(x), |t, block| block.forward(t));
        self.neck.forward(tokens.permute([0, 3, 1, 2]))
    }
}

/// Pre-norm block: (windowed or global) attention and MLP, each with a residual.
#[derive(Module, Debug)]
pub struct VitBlock {
    /// Norm before attention.
    pub norm1: LayerNorm,
    /// Attention.
    pub attn: VitAttention,
    /// Norm before the MLP.
    pub norm2: LayerNorm,
    /// GELU MLP.
    pub mlp: MlpBlock,
    /// Window side; 0 = global attention.
    pub window_size: usize,
}

impl VitBlock {
    /// `x`: tokens `B×H×W×D` → same shape.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, h, w, _] = x.dims();
        let normed = layer_norm_module(&self.norm1, x.clone(), 3, LAYER_NORM_EPS);
        let attended = if self.window_size > 0 {
            let (windows, padded) = window_partition(normed, self.window_size);
            let windows = self.attn.forward(windows);
            window_unpartition(windows, self.window_size, padded, (h, w))
        } else {
            self.attn.forward(normed)
        };
        let x = add(x, attended);
        let mlp_out =
            self.mlp
                .forward(layer_norm_module(&self.norm2, x.clone(), 3, LAYER_NORM_EPS));
        add(x, mlp_out)
    }
}

/// Multi-head attention with decomposed relative positions (`add_decomposed_rel_pos`).
#[derive(Module, Debug)]
pub struct VitAttention {
    /// Joint projection; output laid out as `[3, heads, head_dim]`.
    pub qkv: Linear,
    /// Output projection.
    pub proj: Linear,
    /// Relative embeddings along rows, `(2S-1)×head_dim`.
    pub rel_pos_h: Param<Tensor<2>>,
    /// Relative embeddings along columns, `(2S-1)×head_dim`.
    pub rel_pos_w: Param<Tensor<2>>,
    /// Number of heads.
    pub num_heads: usize,
}

/// `R[q][k] = rel_pos[q - k + size - 1]` as `size×size×C` (official `get_rel_pos` for equal
/// query and key sizes, where no interpolation happens).
fn relative_table(rel_pos: Tensor<2>, size: usize) -> Tensor<3> {
    let [_, c] = rel_pos.dims();
    let index: Vec<i64> = (0..size)
        .flat_map(|q| (0..size).map(move |k| (q + size - 1 - k) as i64))
        .collect();
    let device = rel_pos.device();
    let index = Tensor::<1, Int>::from_data(TensorData::new(index, [size * size]), &device);
    rel_pos.select(0, index).reshape([size, size, c])
}

impl VitAttention {
    /// `x`: `B×H×W×D` (one window or the whole grid per batch item) → `B×H×W×D`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, h, w, d] = x.dims();
        let heads = self.num_heads;
        let hd = d / heads;
        let n = h * w;
        let qkv = self
            .qkv
            .forward(x)
            .reshape([b, n, 3, heads, hd])
            .permute([2, 0, 3, 1, 4])
            .reshape([3, b * heads, n, hd]);
        let q = qkv.clone().narrow(0, 0, 1).reshape([b * heads, n, hd]);
        let k = qkv.clone().narrow(0, 1, 1).reshape([b * heads, n, hd]);
        let v = qkv.narrow(0, 2, 1).reshape([b * heads, n, hd]);
        let scale = (hd as f64).powf(-0.5);
        let attn = matmul(q.clone() * scale, k.swap_dims(1, 2));
        let attn = self.add_rel_pos(attn, q, (h, w));
        let out = matmul(softmax(attn, 2), v);
        let out = out
            .reshape([b, heads, h, w, hd])
            .permute([0, 2, 3, 1, 4])
            .reshape([b, h, w, d]);
        self.proj.forward(out)
    }

    /// Adds `q·R_h` along rows and `q·R_w` along columns (q unscaled), as the official code.
    fn add_rel_pos(&self, attn: Tensor<3>, q: Tensor<3>, (h, w): (usize, usize)) -> Tensor<3> {
        let [bh, n, hd] = q.dims();
        let rh = relative_table(self.rel_pos_h.val(), h); // h×h×C
        let rw = relative_table(self.rel_pos_w.val(), w); // w×w×C
        let q = q.reshape([bh, h, w, hd]);
        // rel_h[b, y, x, k] = Σ_c q[b, y, x, c] · Rh[y, k, c]
        let q_rows = q.clone().swap_dims(0, 1).reshape([h, bh * w, hd]);
        let rel_h = matmul(q_rows, rh.swap_dims(1, 2))
            .reshape([h, bh, w, h])
            .swap_dims(0, 1);
        // rel_w[b, y, x, k] = Σ_c q[b, y, x, c] · Rw[x, k, c]
        let q_columns = q.permute([2, 0, 1, 3]).reshape([w, bh * h, hd]);
        let rel_w = matmul(q_columns, rw.swap_dims(1, 2))
            .reshape([w, bh, h, w])
            .permute([1, 2, 0, 3]);
        let attn: Tensor<5> = attn.reshape([bh, h, w, h, w]);
        let attn = attn + rel_h.unsqueeze_dim::<5>(4) + rel_w.unsqueeze_dim::<5>(3);
        attn.reshape([bh, n, n])
    }
}
