//! The model's operations that have a host kernel: GELU (exact erf form, PyTorch's default
//! `nn.GELU()`), softmax, layer norm over any one dimension, matrix products, and sums of two
//! same-shaped activations (residuals, positional encodings). Model code takes these
//! operations from here and nowhere else; everything else is Burn's: reshapes, adding a
//! parameter (a bias, a learned embedding) by broadcasting, ReLU, and the modules' own
//! `forward` (`Linear`, convolutions, `LayerNorm` over the last dimension).
//!
//! Each function picks its path from the tensor: on Burn's CPU backend (flex), in f32 and
//! outside automatic differentiation, it hands the tensor's buffer to the host kernels of the
//! `samscope-kernels` crate ([`kernels`]: vectorised, on all cores, in place where the tensor
//! owns its buffer); on every other backend, in other precisions and while training it is
//! Burn's own operation, so GPU backends and fine-tuning are untouched. The two paths agree
//! to a few f32 ulp (the tests below compare them).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::prelude::*;

/// GELU (exact erf form) of `x`.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !computes_on_host(&x) {
        return burn::tensor::activation::gelu(x);
    }
    on_host(x, kernels::gelu)
}

/// GELU of `x + bias`, `bias` a per-channel vector along `dim`; on the host in one pass.
pub fn gelu_of_sum<const D: usize>(x: Tensor<D>, bias: Tensor<1>, dim: usize) -> Tensor<D> {
    if !computes_on_host(&x) {
        return burn::tensor::activation::gelu(x + along(bias, dim));
    }
    let inner = x.dims()[dim + 1..].iter().product::<usize>();
    let bias = host_values(bias);
    on_host(x, |values| kernels::gelu_of_sum(values, &bias, inner))
}

/// Softmax of `x` over dimension `dim`.
pub fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    if !computes_on_host(&x) {
        return burn::tensor::activation::softmax(x, dim);
    }
    let dims = x.dims();
    let (len, inner) = (dims[dim], dims[dim + 1..].iter().product::<usize>());
    on_host(x, |values| kernels::softmax(values, len, inner))
}

/// Layer norm of `x` over dimension `dim` (biased variance, `eps` inside the square root),
/// then the per-channel `weight` and optional `bias` along that dimension.
///
/// Any dimension can be normalised, so the mask decoder keeps image tokens channel-major
/// (`B×C×N`) without transposing them. The host path takes two passes over the data
/// (statistics, then the normalised values).
pub fn layer_norm<const D: usize>(
    x: Tensor<D>,
    dim: usize,
    weight: Tensor<1>,
    bias: Option<Tensor<1>>,
    eps: f64,
) -> Tensor<D> {
    layer_norm_of_sum(x, None, dim, weight, bias, eps)
}

/// [`layer_norm`] of `x + shift`, `shift` a per-channel vector along `dim` (e.g. the bias of
/// the operation that made `x`); on the host the sum is never stored.
pub fn layer_norm_of_sum<const D: usize>(
    x: Tensor<D>,
    shift: Option<Tensor<1>>,
    dim: usize,
    weight: Tensor<1>,
    bias: Option<Tensor<1>>,
    eps: f64,
) -> Tensor<D> {
    if !computes_on_host(&x) {
        let x = match shift {
            Some(shift) => x + along(shift, dim),
            None => x,
        };
        return layer_norm_with_tensor_ops(x, dim, weight, bias, eps);
    }
    let dims = x.dims();
    let (len, inner) = (dims[dim], dims[dim + 1..].iter().product::<usize>());
    let channels = kernels::Channels {
        shift: shift.map_or_else(|| vec![0.0; len], host_values),
        weight: host_values(weight),
        bias: bias.map_or_else(|| vec![0.0; len], host_values),
    };
    on_host(x, |values| {
        kernels::layer_norm(values, len, inner, &channels, eps as f32)
    })
}

/// Matrix product of `a` (`…×m×k`) and `b` (`…×k×n`), as Burn's `matmul` (batch dimensions
/// of size 1 broadcast). On the host the `gemm` crate writes it straight into a new buffer,
/// without flex's zero-filling and re-aligning copy of every product.
pub fn matmul<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    if !computes_on_host(&a) || !computes_on_host(&b) {
        return a.matmul(b);
    }
    let (a, b) = (into_flex(a), into_flex(b));
    match kernels::matmul(operand(&a), operand(&b)) {
        Some((values, shape)) => Tensor::from_data(TensorData::new(values, shape), &Device::flex()),
        None => Tensor::from_primitive::<Flex>(a).matmul(Tensor::from_primitive::<Flex>(b)),
    }
}

/// `a + b` for tensors of the same shape. On the host the sum is written into a buffer one of
/// them owns (or a new one), on all cores; flex adds on one thread.
pub fn add<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> Tensor<D> {
    if a.dims() != b.dims() || !computes_on_host(&a) || !computes_on_host(&b) {
        return a + b;
    }
    let (mut a, mut b) = (into_flex(a), into_flex(b));
    if !owns_contiguous(&a) {
        std::mem::swap(&mut a, &mut b);
    }
    if !is_plain(&a) || !is_plain(&b) {
        return Tensor::from_primitive::<Flex>(a) + Tensor::from_primitive::<Flex>(b);
    }
    let n = a.layout().num_elements();
    if owns_contiguous(&a) {
        kernels::add_into(&mut a.storage_mut::<f32>()[..n], &b.storage::<f32>()[..n]);
        return Tensor::from_primitive::<Flex>(a);
    }
    // Both are shared: a new buffer.
    let shape = a.layout().shape().clone();
    let mut sum = a.storage::<f32>()[..n].to_vec();
    kernels::add_into(&mut sum, &b.storage::<f32>()[..n]);
    Tensor::from_data(TensorData::new(sum, shape), &Device::flex())
}

/// A flex tensor's values as a strided [`kernels::Operand`].
fn operand(x: &FlexTensor) -> kernels::Operand<'_> {
    let layout = x.layout();
    kernels::Operand {
        values: x.storage::<f32>(),
        shape: layout.shape(),
        strides: layout.strides(),
        offset: layout.start_offset(),
    }
}

/// The flex tensor behind `x` (checked by [`computes_on_host`]).
fn into_flex<const D: usize>(x: Tensor<D>) -> FlexTensor {
    match x.try_into_primitive::<Flex>() {
        Ok(flex) => flex,
        Err(_) => unreachable!("computes_on_host checked that the tensor is on the flex backend"),
    }
}

/// Whether `x`'s values are its buffer's, contiguous from the start, in row-major order.
fn is_plain(x: &FlexTensor) -> bool {
    let layout = x.layout();
    layout.is_contiguous() && layout.start_offset() == 0
}

/// [`is_plain`], and no other tensor shares the buffer (so it can be written in place).
fn owns_contiguous(x: &FlexTensor) -> bool {
    x.is_unique() && is_plain(x)
}

/// A vector of channel values shaped to broadcast along dimension `dim` of a `D`-dimensional
/// tensor.
fn along<const D: usize>(values: Tensor<1>, dim: usize) -> Tensor<D> {
    let mut shape = [1; D];
    shape[dim] = values.dims()[0];
    values.reshape(shape)
}

/// [`layer_norm`] with Burn's tensor operations (any backend, differentiable).
fn layer_norm_with_tensor_ops<const D: usize>(
    x: Tensor<D>,
    dim: usize,
    weight: Tensor<1>,
    bias: Option<Tensor<1>>,
    eps: f64,
) -> Tensor<D> {
    let mean = x.clone().mean_dim(dim);
    let centred = x - mean;
    let var = centred.clone().square().mean_dim(dim);
    let normed = centred / (var + eps).sqrt();
    let scaled = normed * along(weight, dim);
    match bias {
        Some(bias) => scaled + along(bias, dim),
        None => scaled,
    }
}

/// The values of a small parameter tensor, as f32 on the host.
fn host_values(x: Tensor<1>) -> Vec<f32> {
    x.into_data()
        .convert::<f32>()
        .try_into_vec::<f32>()
        .expect("converted to f32 just above")
}

/// Whether `x` lives in host memory on Burn's CPU backend, in f32, outside autodiff.
fn computes_on_host<const D: usize>(x: &Tensor<D>) -> bool {
    let device = x.device();
    !device.is_autodiff() && device == Device::flex() && x.dtype() == burn::tensor::DType::F32
}

/// Applies `kernel` to all values of `x` (row-major) at once. A tensor that owns its
/// contiguous buffer (the usual case: the output of the previous operation) is changed in
/// place through Burn's backend-extension API (`try_into_primitive::<Flex>`); any other is
/// read out and written back.
fn on_host<const D: usize>(x: Tensor<D>, kernel: impl FnOnce(&mut [f32])) -> Tensor<D> {
    let mut flex = into_flex(x);
    let n = flex.layout().num_elements();
    if owns_contiguous(&flex) {
        kernel(&mut flex.storage_mut::<f32>()[..n]);
        return Tensor::from_primitive::<Flex>(flex);
    }
    let x = Tensor::<D>::from_primitive::<Flex>(flex);
    let device = x.device();
    let mut data = x.into_data();
    match data.as_mut_slice::<f32>() {
        Ok(values) => kernel(values),
        Err(_) => unreachable!("computes_on_host checked the dtype"),
    }
    Tensor::from_data(data, &device)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    fn worst_difference<const D: usize>(ours: Tensor<D>, burn: Tensor<D>) -> f32 {
        let ours: Vec<f32> = ours.into_data().try_into_vec().unwrap();
        let burn: Vec<f32> = burn.into_data().try_into_vec().unwrap();
        ours.iter()
            .zip(&burn)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0f32, f32::max)
    }

    #[test]
    fn gelu_on_the_cpu_backend_equals_burn() {
        let device = Device::flex();
        let x = Tensor::<3>::random([3, 70, 400], Distribution::Normal(0.0, 3.0), &device);
        let reference = burn::tensor::activation::gelu(x.clone());
        // Shared (x is still held), transposed (not contiguous), then owned: in place.
        let worst = worst_difference(gelu(x.clone()), reference.clone());
        assert!(worst < 1e-6, "shared: worst difference {worst:e}");
        let transposed = gelu(x.clone().swap_dims(1, 2)).swap_dims(1, 2);
        let worst = worst_difference(transposed, reference.clone());
        assert!(worst < 1e-6, "transposed: worst difference {worst:e}");
        let owned = x * 1.0;
        let worst = worst_difference(gelu(owned), reference);
        assert!(worst < 1e-6, "owned: worst difference {worst:e}");
    }

    #[test]
    fn layer_norm_on_the_cpu_backend_equals_the_tensor_operations_over_every_dimension() {
        let device = Device::flex();
        let shape = [2, 6, 70, 300];
        let x = Tensor::<4>::random(shape, Distribution::Normal(1.0, 3.0), &device);
        for dim in 0..4 {
            let len = shape[dim];
            let weight = Tensor::<1>::random([len], Distribution::Normal(1.0, 0.5), &device);
            let bias = Tensor::<1>::random([len], Distribution::Normal(0.0, 0.5), &device);
            let reference = layer_norm_with_tensor_ops(
                x.clone(),
                dim,
                weight.clone(),
                Some(bias.clone()),
                1e-6,
            );
            // Shared (x is still held), transposed (not contiguous), then owned: in place.
            let shared = layer_norm(x.clone(), dim, weight.clone(), Some(bias.clone()), 1e-6);
            let worst = worst_difference(shared, reference.clone());
            assert!(
                worst < 1e-5,
                "dim {dim}, shared: worst difference {worst:e}"
            );
            let swapped = if dim == 3 { 2 } else { 3 };
            let transposed = layer_norm(
                x.clone().swap_dims(dim, swapped),
                swapped,
                weight.clone(),
                Some(bias.clone()),
                1e-6,
            )
            .swap_dims(dim, swapped);
            let worst = worst_difference(transposed, reference.clone());
            assert!(
                worst < 1e-5,
                "dim {dim}, transposed: worst difference {worst:e}"
            );
            // Owned, and without a bias (added afterwards).
            let mut bias_shape = [1; 4];
            bias_shape[dim] = len;
            let owned =
                layer_norm(x.clone() * 1.0, dim, weight, None, 1e-6) + bias.reshape(bias_shape);
            let worst = worst_difference(owned, reference);
            assert!(worst < 1e-5, "dim {dim}, owned: worst difference {worst:e}");
        }
    }

    #[test]
    fn matmul_on_the_cpu_backend_equals_burn_for_strided_and_broadcast_operands() {
        let device = Device::flex();
        let random =
            |shape: [usize; 4]| Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
        let cases = [
            // Plain; the left operand broadcast over both batch dimensions.
            (random([2, 3, 5, 7]), random([2, 3, 7, 4])),
            (random([1, 1, 5, 7]), random([2, 3, 7, 4])),
            // Transposed views (rows and columns strided) and a right operand broadcast.
            (
                random([2, 3, 7, 5]).swap_dims(2, 3),
                random([1, 3, 4, 7]).swap_dims(2, 3),
            ),
            // A narrowed view (offset into its buffer).
            (random([2, 3, 9, 7]).narrow(2, 2, 5), random([2, 3, 7, 4])),
        ];
        for (i, (a, b)) in cases.into_iter().enumerate() {
            let reference = a.clone().matmul(b.clone());
            let worst = worst_difference(matmul(a, b), reference);
            assert!(worst < 1e-6, "case {i}: worst difference {worst:e}");
        }
    }

    #[test]
    fn add_on_the_cpu_backend_equals_burn_whoever_owns_the_buffers() {
        let device = Device::flex();
        let a = Tensor::<3>::random([3, 70, 400], Distribution::Normal(0.0, 1.0), &device);
        let b = Tensor::<3>::random([3, 70, 400], Distribution::Normal(0.0, 1.0), &device);
        let reference = a.clone() + b.clone();
        // Both shared; the second owned; the first owned; a transposed view.
        let worst = worst_difference(add(a.clone(), b.clone()), reference.clone());
        assert!(worst == 0.0, "shared: worst difference {worst:e}");
        let worst = worst_difference(add(a.clone(), b.clone() * 1.0), reference.clone());
        assert!(worst == 0.0, "second owned: worst difference {worst:e}");
        let worst = worst_difference(add(a.clone() * 1.0, b.clone()), reference.clone());
        assert!(worst == 0.0, "first owned: worst difference {worst:e}");
        let transposed = add(a.swap_dims(1, 2), b.swap_dims(1, 2)).swap_dims(1, 2);
        let worst = worst_difference(transposed, reference);
        assert!(worst == 0.0, "transposed: worst difference {worst:e}");
    }

    /// Softmax over `dim` of a row-major `shape` in f64.
    fn softmax_f64(values: &[f32], shape: [usize; 4], dim: usize) -> Vec<f64> {
        let inner: usize = shape[dim + 1..].iter().product();
        let (len, block) = (shape[dim], shape[dim] * inner);
        let mut out = vec![0.0; values.len()];
        for start in (0..values.len()).step_by(block) {
            for column in 0..inner {
                let at = |r: usize| start + r * inner + column;
                let max = (0..len)
                    .map(|r| values[at(r)] as f64)
                    .fold(f64::MIN, f64::max);
                let sum: f64 = (0..len).map(|r| (values[at(r)] as f64 - max).exp()).sum();
                for r in 0..len {
                    out[at(r)] = (values[at(r)] as f64 - max).exp() / sum;
                }
            }
        }
        out
    }

    #[test]
    fn softmax_on_the_cpu_backend_matches_an_f64_softmax_over_every_dimension() {
        let device = Device::flex();
        // Large enough to be split across threads.
        let shape = [2, 8, 9, 4100];
        let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 4.0), &device);
        let values: Vec<f32> = x.clone().into_data().try_into_vec().unwrap();
        for dim in 0..4 {
            let ours: Vec<f32> = softmax(x.clone(), dim).into_data().try_into_vec().unwrap();
            let worst = ours
                .iter()
                .zip(softmax_f64(&values, shape, dim))
                .filter(|(_, want)| *want > 1e-30)
                .map(|(&got, want)| (got as f64 - want).abs() / want)
                .fold(0.0, f64::max);
            // Burn's own softmax is off by 1e-5 here (a sequential f32 sum of 4100 terms).
            assert!(worst < 5e-6, "dim {dim}: relative error {worst:e}");
        }
    }
}
