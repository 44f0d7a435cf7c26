//! TinyViT image encoder, the one MobileSAM and LiteMedSAM use (`tiny_vit_sam.py`).
//!
//! Stage 0 is convolutional (MBConv blocks); stages 1–3 are windowed self-attention
//! blocks with learned relative biases, each followed by a depthwise "local" convolution
//! and an MLP. A neck maps the last stage to the 256-channel SAM image embedding.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, LayerNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

use crate::common::{
    Conv2dBn, ConvBnSpec, LayerNorm2d, layer_norm_module, window_partition, window_unpartition,
};
use crate::ops::{add, gelu, matmul, softmax};

/// Epsilon of TinyViT's token layer norms (`nn.LayerNorm`'s default).
const LAYER_NORM_EPS: f64 = 1e-5;

/// How the input image becomes the first feature map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchEmbedKind {
    /// Two 1×1, stride-1 `Conv2d_BN` (LiteMedSAM: the 256² input is stage 0's grid).
    Pointwise,
    /// Two 3×3, stride-2 `Conv2d_BN` (MobileSAM: 1024² input → 256² grid).
    Strided3x3,
}

/// Sizes of a TinyViT encoder. Model families differ only by these values.
#[derive(Debug, Clone, PartialEq)]
pub struct TinyVitConfig {
    /// Side of the square input image in pixels.
    pub img_size: usize,
    /// Channels per stage.
    pub embed_dims: [usize; 4],
    /// Blocks per stage.
    pub depths: [usize; 4],
    /// Attention heads per stage (stage 0 is convolutional and ignores it).
    pub num_heads: [usize; 4],
    /// Attention window side per stage (stage 0 ignores it).
    pub window_sizes: [usize; 4],
    /// Stride of the patch-merging convolution after stages 0, 1 and 2.
    pub merge_strides: [usize; 3],
    /// MLP hidden width as a multiple of the stage width.
    pub mlp_ratio: usize,
    /// MBConv expansion of the convolutional stage.
    pub mbconv_expand_ratio: usize,
    /// Kernel of the depthwise convolution inside attention blocks.
    pub local_conv_size: usize,
    /// The stem.
    pub patch_embed: PatchEmbedKind,
    /// Channels of the output embedding.
    pub out_chans: usize,
}

impl TinyVitConfig {
    /// TinyViT-5M as in LiteMedSAM: 256² input, 1×1 patch embedding.
    pub fn lite_medsam() -> Self {
        Self {
            img_size: 256,
            embed_dims: [64, 128, 160, 320],
            depths: [2, 2, 6, 2],
            num_heads: [2, 4, 5, 10],
            window_sizes: [7, 7, 14, 7],
            merge_strides: [2, 2, 1],
            mlp_ratio: 4,
            mbconv_expand_ratio: 4,
            local_conv_size: 3,
            patch_embed: PatchEmbedKind::Pointwise,
            out_chans: 256,
        }
    }

    /// TinyViT-5M as in MobileSAM: 1024² input, 3×3 stride-2 patch embedding.
    pub fn mobile_sam() -> Self {
        Self {
            img_size: 1024,
            patch_embed: PatchEmbedKind::Strided3x3,
            ..Self::lite_medsam()
        }
    }

    /// Side of the stem's output grid (stage 0's resolution).
    pub fn patches_resolution(&self) -> usize {
        match self.patch_embed {
            PatchEmbedKind::Pointwise => self.img_size,
            PatchEmbedKind::Strided3x3 => self.img_size / 4,
        }
    }

    /// Grid side at the input of each stage.
    pub fn stage_resolutions(&self) -> [usize; 4] {
        let mut res = [self.patches_resolution(); 4];
        for i in 1..4 {
            let stride = self.merge_strides[i - 1];
            res[i] = (res[i - 1] - 1) / stride + 1;
        }
        res
    }

    /// Side of the output embedding grid.
    pub fn embedding_size(&self) -> usize {
        self.stage_resolutions()[3]
    }

    /// Builds the encoder with freshly initialised weights.
    pub fn init(&self, device: &Device) -> TinyVit {
        let dims = self.embed_dims;
        let res = self.stage_resolutions();
        let layers = (0..4)
            .map(|i| {
                let downsample = (i < 3).then(|| {
                    PatchMerging::new(dims[i], dims[i + 1], self.merge_strides[i], device)
                });
                if i == 0 {
                    Stage::Conv(ConvLayer {
                        blocks: (0..self.depths[0])
                            .map(|_| MbConv::new(dims[0], self.mbconv_expand_ratio, device))
                            .collect(),
                        downsample,
                    })
                } else {
                    Stage::Attention(BasicLayer {
                        blocks: (0..self.depths[i])
                            .map(|_| {
                                TinyVitBlock::new(
                                    BlockSpec {
                                        dim: dims[i],
                                        resolution: res[i],
                                        num_heads: self.num_heads[i],
                                        window_size: self.window_sizes[i],
                                        mlp_ratio: self.mlp_ratio,
                                        local_conv_size: self.local_conv_size,
                                    },
                                    device,
                                )
                            })
                            .collect(),
                        downsample,
                        resolution: res[i],
                    })
                }
            })
            .collect();
        TinyVit {
            patch_embed: PatchEmbed::new(self.patch_embed, dims[0], device),
            layers,
            neck: Neck::new(dims[3], self.out_chans, device),
            embedding_size: self.embedding_size(),
        }
    }
}

/// The TinyViT image encoder.
#[derive(Module, Debug)]
pub struct TinyVit {
    /// Stem.
    pub patch_embed: PatchEmbed,
    /// Stage 0 (convolutional) then stages 1–3 (attention).
    pub layers: Vec<Stage>,
    /// Projection to the SAM embedding.
    pub neck: Neck,
    /// Side of the output grid.
    pub embedding_size: usize,
}

impl TinyVit {
    /// Folds every batch norm into its convolution (see [`Conv2dBn::fold`]).
    pub fn fold_batch_norms(&mut self) {
        self.patch_embed.conv1.fold();
        self.patch_embed.conv2.fold();
        for stage in &mut self.layers {
            let merge = match stage {
                Stage::Conv(layer) => {
                    for block in &mut layer.blocks {
                        block.conv1.fold();
                        block.conv2.fold();
                        block.conv3.fold();
                    }
                    layer.downsample.as_mut()
                }
                Stage::Attention(layer) => {
                    for block in &mut layer.blocks {
                        block.local_conv.fold();
                    }
                    layer.downsample.as_mut()
                }
            };
            if let Some(merge) = merge {
                merge.conv1.fold();
                merge.conv2.fold();
                merge.conv3.fold();
            }
        }
    }
}

/// Every intermediate the parity tests compare: the stem output and each stage's output.
#[derive(Debug, Clone)]
pub struct TinyVitTrace {
    /// Stem output, `B×C0×R×R`.
    pub patch_embed: Tensor<4>,
    /// Output of each stage (after its patch merging), `B×L×C`.
    pub layers: Vec<Tensor<3>>,
    /// The image embedding, `B×256×64×64`.
    pub embedding: Tensor<4>,
}

impl TinyVit {
    /// `image`: `B×3×S×S` normalised and padded input → embedding `B×256×E×E`.
    pub fn forward(&self, image: Tensor<4>) -> Tensor<4> {
        self.forward_trace(image).embedding
    }

    /// Like [`forward`](Self::forward), keeping every stage output.
    pub fn forward_trace(&self, image: Tensor<4>) -> TinyVitTrace {
        let stem = self.patch_embed.forward(image);
        let mut outputs = Vec::with_capacity(self.layers.len());
        let mut tokens: Option<Tensor<3>> = None;
        for stage in &self.layers {
            let out = match (stage, tokens.take()) {
                (Stage::Conv(layer), None) => layer.forward(stem.clone()),
                (Stage::Attention(layer), Some(x)) => layer.forward(x),
                _ => unreachable!("TinyViT has one convolutional stage, first"),
            };
            outputs.push(out.clone());
            tokens = Some(out);
        }
        let tokens = tokens.expect("TinyViT has at least one stage");
        let [b, _, c] = tokens.dims();
        let e = self.embedding_size;
        let grid = tokens.reshape([b, e, e, c]).permute([0, 3, 1, 2]);
        TinyVitTrace {
            patch_embed: stem,
            layers: outputs,
            embedding: self.neck.forward(grid),
        }
    }
}

/// The stem: `Conv2d_BN → GELU → Conv2d_BN` (`patch_embed.seq.{0,2}` in PyTorch).
#[derive(Module, Debug)]
pub struct PatchEmbed {
    /// First convolution (`seq.0`), 3 → C/2.
    pub conv1: Conv2dBn,
    /// Second convolution (`seq.2`), C/2 → C.
    pub conv2: Conv2dBn,
}

impl PatchEmbed {
    fn new(kind: PatchEmbedKind, dim: usize, device: &Device) -> Self {
        let spec = |cin, cout| match kind {
            PatchEmbedKind::Pointwise => ConvBnSpec::pointwise(cin, cout),
            PatchEmbedKind::Strided3x3 => ConvBnSpec {
                kernel: 3,
                stride: 2,
                padding: 1,
                ..ConvBnSpec::pointwise(cin, cout)
            },
        };
        Self {
            conv1: Conv2dBn::new(spec(3, dim / 2), 1.0, device),
            conv2: Conv2dBn::new(spec(dim / 2, dim), 1.0, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.conv2.forward(gelu(self.conv1.forward(x)))
    }
}

/// One TinyViT stage.
#[derive(Module, Debug)]
pub enum Stage {
    /// Stage 0: MBConv blocks.
    Conv(ConvLayer),
    /// Stages 1–3: windowed attention blocks.
    Attention(BasicLayer),
}

/// Inverted-residual block: expand 1×1, depthwise 3×3, project 1×1, residual, GELU.
#[derive(Module, Debug)]
pub struct MbConv {
    /// Expansion.
    pub conv1: Conv2dBn,
    /// Depthwise 3×3.
    pub conv2: Conv2dBn,
    /// Projection.
    pub conv3: Conv2dBn,
}

impl MbConv {
    fn new(dim: usize, expand: usize, device: &Device) -> Self {
        let hidden = dim * expand;
        Self {
            conv1: Conv2dBn::new(ConvBnSpec::pointwise(dim, hidden), 1.0, device),
            conv2: Conv2dBn::new(ConvBnSpec::depthwise(hidden, 3, 1), 1.0, device),
            conv3: Conv2dBn::new(ConvBnSpec::pointwise(hidden, dim), 0.0, device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = gelu(self.conv1.forward(x.clone()));
        let y = gelu(self.conv2.forward(y));
        gelu(add(self.conv3.forward(y), x))
    }
}

/// Stage 0: MBConv blocks on a `B×C×H×W` map, then patch merging to tokens.
#[derive(Module, Debug)]
pub struct ConvLayer {
    /// The blocks.
    pub blocks: Vec<MbConv>,
    /// Patch merging to the next stage.
    pub downsample: Option<PatchMerging>,
}

impl ConvLayer {
    fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        let merge = self
            .downsample
            .as_ref()
            .expect("the convolutional stage is always followed by patch merging");
        merge.forward(x)
    }
}

/// Patch merging: 1×1 conv, GELU, depthwise 3×3 (stride 2 or 1), GELU, 1×1 conv; output as tokens.
#[derive(Module, Debug)]
pub struct PatchMerging {
    /// 1×1 to the new width.
    pub conv1: Conv2dBn,
    /// Depthwise 3×3.
    pub conv2: Conv2dBn,
    /// 1×1.
    pub conv3: Conv2dBn,
}

impl PatchMerging {
    fn new(dim: usize, out_dim: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv1: Conv2dBn::new(ConvBnSpec::pointwise(dim, out_dim), 1.0, device),
            conv2: Conv2dBn::new(ConvBnSpec::depthwise(out_dim, 3, stride), 1.0, device),
            conv3: Conv2dBn::new(ConvBnSpec::pointwise(out_dim, out_dim), 1.0, device),
        }
    }

    /// `x`: `B×C×H×W` → tokens `B×(H'·W')×C'`.
    fn forward(&self, x: Tensor<4>) -> Tensor<3> {
        let x = gelu(self.conv1.forward(x));
        let x = gelu(self.conv2.forward(x));
        let x = self.conv3.forward(x);
        let [b, c, h, w] = x.dims();
        x.reshape([b, c, h * w]).swap_dims(1, 2)
    }
}

/// Stages 1–3: attention blocks on tokens of an `R×R` grid, then optional merging.
#[derive(Module, Debug)]
pub struct BasicLayer {
    /// The blocks.
    pub blocks: Vec<TinyVitBlock>,
    /// Patch merging to the next stage (none after the last).
    pub downsample: Option<PatchMerging>,
    /// Grid side `R`.
    pub resolution: usize,
}

impl BasicLayer {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = self.blocks.iter().fold(x, |x, block| block.forward(x));
        match &self.downsample {
            Some(merge) => {
                let [b, _, c] = x.dims();
                let r = self.resolution;
                merge.forward(x.reshape([b, r, r, c]).permute([0, 3, 1, 2]))
            }
            None => x,
        }
    }
}

struct BlockSpec {
    dim: usize,
    resolution: usize,
    num_heads: usize,
    window_size: usize,
    mlp_ratio: usize,
    local_conv_size: usize,
}

/// Windowed attention → residual → depthwise local conv → MLP → residual.
#[derive(Module, Debug)]
pub struct TinyVitBlock {
    /// Attention inside each window.
    pub attn: WindowAttention,
    /// Depthwise convolution between attention and MLP.
    pub local_conv: Conv2dBn,
    /// Pre-norm MLP.
    pub mlp: TinyVitMlp,
    /// Grid side.
    pub resolution: usize,
    /// Window side.
    pub window_size: usize,
}

impl TinyVitBlock {
    fn new(spec: BlockSpec, device: &Device) -> Self {
        Self {
            attn: WindowAttention::new(spec.dim, spec.num_heads, spec.window_size, device),
            local_conv: Conv2dBn::new(
                ConvBnSpec::depthwise(spec.dim, spec.local_conv_size, 1),
                1.0,
                device,
            ),
            mlp: TinyVitMlp::new(spec.dim, spec.dim * spec.mlp_ratio, device),
            resolution: spec.resolution,
            window_size: spec.window_size,
        }
    }

    /// `x`: `B×(R·R)×C` → same shape.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, l, c] = x.dims();
        let (r, ws) = (self.resolution, self.window_size);
        let attended = if r == ws {
            self.attn.forward(x.clone())
        } else {
            let grid = x.clone().reshape([b, r, r, c]);
            let (windows, padded) = window_partition(grid, ws);
            let [n, _, _, _] = windows.dims();
            let windows = self
                .attn
                .forward(windows.reshape([n, ws * ws, c]))
                .reshape([n, ws, ws, c]);
            window_unpartition(windows, ws, padded, (r, r)).reshape([b, l, c])
        };
        let x = add(x, attended);
        let map = x.swap_dims(1, 2).reshape([b, c, r, r]);
        let x = self
            .local_conv
            .forward(map)
            .reshape([b, c, l])
            .swap_dims(1, 2);
        let mlp_out = self.mlp.forward(x.clone());
        add(x, mlp_out)
    }
}

/// TinyViT attention with learned biases indexed by the offset `(|Δy|, |Δx|)` inside a window.
#[derive(Module, Debug)]
pub struct WindowAttention {
    /// Pre-norm.
    pub norm: LayerNorm,
    /// Joint projection; per head the output holds `[q | k | v]`.
    pub qkv: Linear,
    /// Output projection.
    pub proj: Linear,
    /// One bias per head and offset, `heads × ws²`.
    pub attention_biases: Param<Tensor<2>>,
    /// Number of heads.
    pub num_heads: usize,
    /// Window side.
    pub window_size: usize,
}

impl WindowAttention {
    fn new(dim: usize, num_heads: usize, window_size: usize, device: &Device) -> Self {
        Self {
            norm: LayerNormConfig::new(dim)
                .with_epsilon(LAYER_NORM_EPS)
                .init(device),
            qkv: LinearConfig::new(dim, 3 * dim).init(device),
            proj: LinearConfig::new(dim, dim).init(device),
            attention_biases: Param::from_tensor(Tensor::zeros(
                [num_heads, window_size * window_size],
                device,
            )),
            num_heads,
            window_size,
        }
    }

    /// Bias table expanded to `1×heads×N×N`, N = ws²: entry (i, j) is the bias of the
    /// offset `|y_i - y_j|·ws + |x_i - x_j|`, the order in which the official code
    /// first meets each offset.
    fn bias_matrix(&self, device: &Device) -> Tensor<4> {
        let ws = self.window_size;
        let n = ws * ws;
        let index: Vec<i64> = (0..n)
            .flat_map(|i| {
                (0..n).map(move |j| {
                    let dy = (i / ws).abs_diff(j / ws);
                    let dx = (i % ws).abs_diff(j % ws);
                    (dy * ws + dx) as i64
                })
            })
            .collect();
        let index = Tensor::<1, Int>::from_data(TensorData::new(index, [n * n]), device);
        self.attention_biases
            .val()
            .select(1, index)
            .reshape([1, self.num_heads, n, n])
    }

    /// `x`: `B×N×C` tokens of one window each → `B×N×C`.
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, c] = x.dims();
        let heads = self.num_heads;
        let hd = c / heads;
        let qkv = self
            .qkv
            .forward(layer_norm_module(&self.norm, x, 2, LAYER_NORM_EPS))
            .reshape([b, n, heads, 3 * hd])
            .swap_dims(1, 2);
        let q = qkv.clone().narrow(3, 0, hd);
        let k = qkv.clone().narrow(3, hd, hd);
        let v = qkv.narrow(3, 2 * hd, hd);
        let scale = (hd as f64).powf(-0.5);
        let attn = matmul(q, k.swap_dims(2, 3)) * scale + self.bias_matrix(&v.device());
        let out = matmul(softmax(attn, 3), v);
        self.proj.forward(out.swap_dims(1, 2).reshape([b, n, c]))
    }
}

/// Pre-norm MLP with exact (erf) GELU.
#[derive(Module, Debug)]
pub struct TinyVitMlp {
    /// Pre-norm.
    pub norm: LayerNorm,
    /// Expansion.
    pub fc1: Linear,
    /// Projection.
    pub fc2: Linear,
}

impl TinyVitMlp {
    fn new(dim: usize, hidden: usize, device: &Device) -> Self {
        Self {
            norm: LayerNormConfig::new(dim)
                .with_epsilon(LAYER_NORM_EPS)
                .init(device),
            fc1: LinearConfig::new(dim, hidden).init(device),
            fc2: LinearConfig::new(hidden, dim).init(device),
        }
    }

    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        self.fc2.forward(gelu(self.fc1.forward(layer_norm_module(
            &self.norm,
            x,
            2,
            LAYER_NORM_EPS,
        ))))
    }
}

/// `conv 1×1 → LayerNorm2d → conv 3×3 → LayerNorm2d`, no biases (`neck.{0,1,2,3}`).
#[derive(Module, Debug)]
pub struct Neck {
    /// `neck.0`.
    pub conv1: Conv2d,
    /// `neck.1`.
    pub norm1: LayerNorm2d,
    /// `neck.2`.
    pub conv2: Conv2d,
    /// `neck.3`.
    pub norm2: LayerNorm2d,
}

impl Neck {
    /// A neck `in_chans → out_chans`.
    pub fn new(in_chans: usize, out_chans: usize, device: &Device) -> Self {
        Self {
            conv1: Conv2dConfig::new([in_chans, out_chans], [1, 1])
                .with_bias(false)
                .init(device),
            norm1: LayerNorm2d::new(out_chans, device),
            conv2: Conv2dConfig::new([out_chans, out_chans], [3, 3])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            norm2: LayerNorm2d::new(out_chans, device),
        }
    }

    /// `x`: `B×C×H×W` → `B×out×H×W`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.norm1.forward(self.conv1.forward(x));
        self.norm2.forward(self.conv2.forward(x))
    }
}
