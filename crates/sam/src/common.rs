//! Building blocks shared by several SAM components (the official `modeling/common.py`),
//! plus TinyViT's convolution + batch-norm pair.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Channel-wise LayerNorm over `B×C×H×W` feature maps (normalises over C at every pixel),
/// with the official ε = 1e-6 and parameters named `weight` / `bias` as in PyTorch.
#[derive(Module, Debug)]
pub struct LayerNorm2d {
    /// Per-channel scale, shape `[C]`.
    pub weight: Param<Tensor<1>>,
    /// Per-channel shift, shape `[C]`.
    pub bias: Param<Tensor<1>>,
    /// Added to the variance before the square root.
    pub eps: f64,
}

impl LayerNorm2d {
    /// A freshly initialised norm (γ = 1, β = 0) for `channels` channels.
    pub fn new(channels: usize, device: &Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::ones([channels], device)),
            bias: Param::from_tensor(Tensor::zeros([channels], device)),
            eps: 1e-6,
        }
    }

    /// `x`: `B×C×H×W` → `B×C×H×W`, computed exactly as the official module:
    /// `(x - mean_C) / sqrt(var_C + eps) * weight + bias`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let channels = self.weight.dims()[0];
        let mean = x.clone().mean_dim(1);
        let centred = x - mean;
        let var = centred.clone().square().mean_dim(1);
        let normed = centred / (var + self.eps).sqrt();
        let weight = self.weight.val().reshape([1, channels, 1, 1]);
        let bias = self.bias.val().reshape([1, channels, 1, 1]);
        normed * weight + bias
    }
}

/// The transformer's two-layer MLP with ReLU (`MLPBlock` in the official code).
#[derive(Module, Debug)]
pub struct MlpBlock {
    /// `embedding_dim → mlp_dim`.
    pub lin1: Linear,
    /// `mlp_dim → embedding_dim`.
    pub lin2: Linear,
}

impl MlpBlock {
    /// An MLP `dim → hidden → dim`.
    pub fn new(dim: usize, hidden: usize, device: &Device) -> Self {
        Self {
            lin1: LinearConfig::new(dim, hidden).init(device),
            lin2: LinearConfig::new(hidden, dim).init(device),
        }
    }

    /// `x`: `…×dim` → `…×dim`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.lin2.forward(relu(self.lin1.forward(x)))
    }
}

/// The mask decoder's `MLP`: `num_layers` linear layers with ReLU between them
/// (none after the last), parameters `layers.{i}.weight|bias`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// The linear layers, in order.
    pub layers: Vec<Linear>,
}

impl Mlp {
    /// `input → hidden (× num_layers-1) → output`.
    pub fn new(
        input: usize,
        hidden: usize,
        output: usize,
        num_layers: usize,
        device: &Device,
    ) -> Self {
        let layers = (0..num_layers)
            .map(|i| {
                let d_in = if i == 0 { input } else { hidden };
                let d_out = if i + 1 == num_layers { output } else { hidden };
                LinearConfig::new(d_in, d_out).init(device)
            })
            .collect();
        Self { layers }
    }

    /// `x`: `…×input` → `…×output`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let last = self.layers.len() - 1;
        self.layers
            .iter()
            .enumerate()
            .fold(x, |x, (i, layer)| {
                let y = layer.forward(x);
                if i < last { relu(y) } else { y }
            })
    }
}

/// Batch norm in inference mode with PyTorch's parameter names
/// (`weight`, `bias`, `running_mean`, `running_var`; ε = 1e-5).
///
/// SAM never trains its image encoder here, so only the running statistics are used.
#[derive(Module, Debug)]
pub struct FrozenBatchNorm2d {
    /// Scale γ, shape `[C]`.
    pub weight: Param<Tensor<1>>,
    /// Shift β, shape `[C]`.
    pub bias: Param<Tensor<1>>,
    /// Running mean, shape `[C]`.
    pub running_mean: Param<Tensor<1>>,
    /// Running variance, shape `[C]`.
    pub running_var: Param<Tensor<1>>,
}

impl FrozenBatchNorm2d {
    /// Identity statistics (mean 0, var 1) with γ = `weight_init`, β = 0.
    pub fn new(channels: usize, weight_init: f32, device: &Device) -> Self {
        Self {
            weight: Param::from_tensor(Tensor::full([channels], weight_init, device)),
            bias: Param::from_tensor(Tensor::zeros([channels], device)),
            running_mean: Param::from_tensor(Tensor::zeros([channels], device)),
            running_var: Param::from_tensor(Tensor::ones([channels], device)),
        }
    }

    /// `x`: `B×C×H×W` → `B×C×H×W`: `(x - mean) / sqrt(var + 1e-5) * weight + bias`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let c = self.weight.dims()[0];
        let shape = [1, c, 1, 1];
        let inv_std = (self.running_var.val() + 1e-5).sqrt().recip();
        let scale = self.weight.val() * inv_std;
        let shift = self.bias.val() - self.running_mean.val() * scale.clone();
        x * scale.reshape(shape) + shift.reshape(shape)
    }
}

/// TinyViT's `Conv2d_BN`: a bias-free convolution `c` followed by batch norm `bn`.
#[derive(Module, Debug)]
pub struct Conv2dBn {
    /// The convolution (no bias).
    pub c: Conv2d,
    /// The batch norm, inference mode.
    pub bn: FrozenBatchNorm2d,
}

/// Shape of one [`Conv2dBn`]: channels, square kernel, stride, padding and groups.
#[derive(Debug, Clone, Copy)]
pub struct ConvBnSpec {
    /// Input channels.
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Square kernel size.
    pub kernel: usize,
    /// Stride in both directions.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Convolution groups (`in_channels` for depthwise).
    pub groups: usize,
}

impl ConvBnSpec {
    /// A 1×1, stride-1 pointwise convolution.
    pub fn pointwise(in_channels: usize, out_channels: usize) -> Self {
        Self {
            in_channels,
            out_channels,
            kernel: 1,
            stride: 1,
            padding: 0,
            groups: 1,
        }
    }

    /// A depthwise `kernel×kernel` convolution with "same" padding at stride 1.
    pub fn depthwise(channels: usize, kernel: usize, stride: usize) -> Self {
        Self {
            in_channels: channels,
            out_channels: channels,
            kernel,
            stride,
            padding: kernel / 2,
            groups: channels,
        }
    }
}

impl Conv2dBn {
    /// Builds the pair; `bn_weight_init` is γ's initial value (TinyViT uses 0 for some).
    pub fn new(spec: ConvBnSpec, bn_weight_init: f32, device: &Device) -> Self {
        let c = Conv2dConfig::new([spec.in_channels, spec.out_channels], [spec.kernel; 2])
            .with_stride([spec.stride; 2])
            .with_padding(PaddingConfig2d::Explicit(spec.padding, spec.padding, spec.padding, spec.padding))
            .with_groups(spec.groups)
            .with_bias(false)
            .init(device);
        Self {
            c,
            bn: FrozenBatchNorm2d::new(spec.out_channels, bn_weight_init, device),
        }
    }

    /// `x`: `B×C_in×H×W` → `B×C_out×H'×W'`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        self.bn.forward(self.c.forward(x))
    }
}
