//! Building blocks shared by several SAM components (the official `modeling/common.py`),
//! plus TinyViT's convolution + batch-norm pair.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{LayerNorm, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::ops::{gelu, layer_norm_of_sum};

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
        self.forward_over(x, 1)
    }

    /// The same normalisation with the channels along dimension `dim` of `x` (the mask
    /// decoder's upscaling keeps them in dimension 2).
    pub fn forward_over<const D: usize>(&self, x: Tensor<D>, dim: usize) -> Tensor<D> {
        self.forward_of_sum_over(x, None, dim)
    }

    /// [`Self::forward_over`] of `x + shift`, `shift` a per-channel vector (the bias of the
    /// layer before), without storing the sum on the CPU backend.
    pub fn forward_of_sum_over<const D: usize>(
        &self,
        x: Tensor<D>,
        shift: Option<Tensor<1>>,
        dim: usize,
    ) -> Tensor<D> {
        let (weight, bias) = (self.weight.val(), Some(self.bias.val()));
        layer_norm_of_sum(x, shift, dim, weight, bias, self.eps)
    }
}

/// A [`LayerNorm`] module's parameters applied over dimension `dim` of `x` (its own forward
/// normalises the last dimension only). Burn keeps the module's epsilon private, so the caller
/// passes the one the module was built with.
pub fn layer_norm_module<const D: usize>(
    norm: &LayerNorm,
    x: Tensor<D>,
    dim: usize,
    eps: f64,
) -> Tensor<D> {
    layer_norm_module_of_sum(norm, x, None, dim, eps)
}

/// [`layer_norm_module`] of `x + shift`, `shift` a per-channel vector along `dim`
/// (see [`layer_norm_of_sum`]).
pub fn layer_norm_module_of_sum<const D: usize>(
    norm: &LayerNorm,
    x: Tensor<D>,
    shift: Option<Tensor<1>>,
    dim: usize,
    eps: f64,
) -> Tensor<D> {
    let bias = norm.beta.as_ref().map(|b| b.val());
    layer_norm_of_sum(x, shift, dim, norm.gamma.val(), bias, eps)
}

/// The activation between the two layers of an [`MlpBlock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlpActivation {
    /// ReLU (the two-way transformer).
    Relu,
    /// Exact (erf) GELU (the ViT image encoder).
    Gelu,
}

/// Two-layer MLP (`MLPBlock` in the official code): `lin2(act(lin1(x)))`.
#[derive(Module, Debug)]
pub struct MlpBlock {
    /// `embedding_dim → mlp_dim`.
    pub lin1: Linear,
    /// `mlp_dim → embedding_dim`.
    pub lin2: Linear,
    /// The activation.
    #[module(skip)]
    pub act: MlpActivation,
}

impl MlpBlock {
    /// An MLP `dim → hidden → dim`.
    pub fn new(dim: usize, hidden: usize, act: MlpActivation, device: &Device) -> Self {
        Self {
            lin1: LinearConfig::new(dim, hidden).init(device),
            lin2: LinearConfig::new(hidden, dim).init(device),
            act,
        }
    }

    /// `x`: `…×dim` → `…×dim`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let hidden = self.lin1.forward(x);
        let hidden = match self.act {
            MlpActivation::Relu => relu(hidden),
            MlpActivation::Gelu => gelu(hidden),
        };
        self.lin2.forward(hidden)
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
        self.layers.iter().enumerate().fold(x, |x, (i, layer)| {
            let y = layer.forward(x);
            if i < last { relu(y) } else { y }
        })
    }
}

/// PyTorch's default batch-norm ε.
const BATCH_NORM_EPS: f64 = 1e-5;

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
        let inv_std = (self.running_var.val() + BATCH_NORM_EPS).sqrt().recip();
        let scale = self.weight.val() * inv_std;
        let shift = self.bias.val() - self.running_mean.val() * scale.clone();
        x * scale.reshape(shape) + shift.reshape(shape)
    }
}

/// TinyViT's `Conv2d_BN`: a bias-free convolution `c` followed by batch norm `bn`.
///
/// After loading, [`fold`](Self::fold) merges the batch norm into the convolution's weight
/// and bias (`w·γ/σ`, `β − μ·γ/σ`), which removes two full passes over every feature map.
#[derive(Module, Debug)]
pub struct Conv2dBn {
    /// The convolution (bias only once folded).
    pub c: Conv2d,
    /// The batch norm, inference mode; `None` once folded into `c`.
    pub bn: Option<FrozenBatchNorm2d>,
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
        let p = spec.padding;
        let c = Conv2dConfig::new([spec.in_channels, spec.out_channels], [spec.kernel; 2])
            .with_stride([spec.stride; 2])
            .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
            .with_groups(spec.groups)
            .with_bias(false)
            .init(device);
        Self {
            c,
            bn: Some(FrozenBatchNorm2d::new(
                spec.out_channels,
                bn_weight_init,
                device,
            )),
        }
    }

    /// Merges the batch norm into the convolution (inference only; idempotent).
    pub fn fold(&mut self) {
        let Some(bn) = self.bn.take() else { return };
        let inv_std = (bn.running_var.val() + BATCH_NORM_EPS).sqrt().recip();
        let scale = bn.weight.val() * inv_std;
        let shift = bn.bias.val() - bn.running_mean.val() * scale.clone();
        let [out, _, _, _] = self.c.weight.dims();
        let weight = self.c.weight.val() * scale.reshape([out, 1, 1, 1]);
        self.c.weight = Param::from_tensor(weight);
        self.c.bias = Some(Param::from_tensor(shift));
    }

    /// `x`: `B×C_in×H×W` → `B×C_out×H'×W'`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = self.c.forward(x);
        match &self.bn {
            Some(bn) => bn.forward(y),
            None => y,
        }
    }
}

/// Splits a `B×H×W×C` grid into `ws×ws` windows, zero-padding bottom/right to a multiple
/// of `ws`: returns `(B·nH·nW)×ws×ws×C` and the padded `(Hp, Wp)` (official `window_partition`).
pub fn window_partition(x: Tensor<4>, ws: usize) -> (Tensor<4>, (usize, usize)) {
    let [b, h, w, c] = x.dims();
    let (pad_h, pad_w) = ((ws - h % ws) % ws, (ws - w % ws) % ws);
    let device = x.device();
    let x = if pad_w > 0 {
        Tensor::cat(vec![x, Tensor::zeros([b, h, pad_w, c], &device)], 2)
    } else {
        x
    };
    let x = if pad_h > 0 {
        Tensor::cat(vec![x, Tensor::zeros([b, pad_h, w + pad_w, c], &device)], 1)
    } else {
        x
    };
    let (hp, wp) = (h + pad_h, w + pad_w);
    let (nh, nw) = (hp / ws, wp / ws);
    let windows = x
        .reshape([b * nh, ws, nw, ws * c])
        .swap_dims(1, 2)
        .reshape([b * nh * nw, ws, ws, c]);
    (windows, (hp, wp))
}

/// Inverse of [`window_partition`]: windows back to a `B×H×W×C` grid, padding removed.
pub fn window_unpartition(
    windows: Tensor<4>,
    ws: usize,
    padded: (usize, usize),
    size: (usize, usize),
) -> Tensor<4> {
    let [n, _, _, c] = windows.dims();
    let (hp, wp) = padded;
    let (nh, nw) = (hp / ws, wp / ws);
    let b = n / (nh * nw);
    let x = windows
        .reshape([b * nh, nw, ws, ws * c])
        .swap_dims(1, 2)
        .reshape([b, hp, wp, c]);
    if (hp, wp) == size {
        x
    } else {
        x.slice([0..b, 0..size.0, 0..size.1, 0..c])
    }
}
