//! Activations the SAM components apply to large tensors: GELU with the exact error function
//! (`0.5·x·(1 + erf(x/√2))`, PyTorch's default `nn.GELU()`) and softmax.
//!
//! On Burn's CPU backend (flex) both are computed here, on the host. Flex evaluates them one
//! element at a time through scalar `erff`/`expf` calls on one thread (≈ 10 ns per GELU
//! value, ≈ 3 ns per exponential; the LiteMedSAM encoder applies GELU to ≈ 90 M values per
//! image, the mask decoder to 3 M per click). The functions here run branch-free,
//! vectorisable formulas (8 lanes with AVX2, detected at run time; 4 with wasm SIMD) on all
//! cores (one thread in wasm). Every other device, and any tensor that takes part in
//! automatic differentiation, uses Burn's own operations, so training and GPU backends are
//! untouched. Accuracy is a few f32 ulp (see each kernel and its tests).

mod exp;
mod gelu;
mod softmax;

use burn::backend::Flex;
use burn::prelude::*;

/// Elements below which threads cost more than they save.
#[cfg(not(target_arch = "wasm32"))]
const PARALLEL_MIN_ELEMENTS: usize = 1 << 16;

/// GELU (exact erf form) of `x`.
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if !computes_on_host(&x) {
        return burn::tensor::activation::gelu(x);
    }
    on_host(x, 1, gelu::gelu_slice)
}

/// Softmax of `x` over dimension `dim`.
pub fn softmax<const D: usize>(x: Tensor<D>, dim: usize) -> Tensor<D> {
    if !computes_on_host(&x) {
        return burn::tensor::activation::softmax(x, dim);
    }
    let dims = x.dims();
    let (len, inner) = (dims[dim], dims[dim + 1..].iter().product::<usize>());
    if len == 0 || inner == 0 {
        return x;
    }
    on_host(x, len * inner, move |block| {
        softmax::softmax_blocks(block, len, inner)
    })
}

/// Whether `x` lives in host memory on Burn's CPU backend, in f32, outside autodiff.
fn computes_on_host<const D: usize>(x: &Tensor<D>) -> bool {
    let device = x.device();
    !device.is_autodiff() && device == Device::flex() && x.dtype() == burn::tensor::DType::F32
}

/// Applies `kernel` to the values of `x` (row-major), in parallel over chunks made of whole
/// `block`s. A tensor that owns its contiguous buffer (the usual case: the output of the
/// previous operation) is changed in place through Burn's backend-extension API
/// (`try_into_primitive::<Flex>`); any other is read out and written back.
fn on_host<const D: usize>(
    x: Tensor<D>,
    block: usize,
    kernel: impl Fn(&mut [f32]) + Copy + Send,
) -> Tensor<D> {
    let Ok(mut flex) = x.try_into_primitive::<Flex>() else {
        unreachable!("computes_on_host checked that the tensor is on the flex backend")
    };
    let layout = flex.layout();
    let (in_place, n) = (
        flex.is_unique() && layout.is_contiguous() && layout.start_offset() == 0,
        layout.num_elements(),
    );
    if in_place {
        in_parallel(&mut flex.storage_mut::<f32>()[..n], block, kernel);
        return Tensor::from_primitive::<Flex>(flex);
    }
    let x = Tensor::<D>::from_primitive::<Flex>(flex);
    let device = x.device();
    let mut data = x.into_data();
    match data.as_mut_slice::<f32>() {
        Ok(values) => in_parallel(values, block, kernel),
        Err(_) => unreachable!("computes_on_host checked the dtype"),
    }
    Tensor::from_data(data, &device)
}

/// Runs `kernel` over `values` split into one chunk of whole `block`s per core (the calling
/// thread alone for small inputs).
#[cfg(not(target_arch = "wasm32"))]
fn in_parallel(values: &mut [f32], block: usize, kernel: impl Fn(&mut [f32]) + Copy + Send) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let blocks = values.len() / block;
    if threads > 1 && blocks > 1 && values.len() >= PARALLEL_MIN_ELEMENTS {
        let chunk = blocks.div_ceil(threads) * block;
        std::thread::scope(|scope| {
            for part in values.chunks_mut(chunk) {
                scope.spawn(move || kernel(part));
            }
        });
    } else {
        kernel(values);
    }
}

/// In wasm the worker has one thread: `kernel` runs over all of `values`.
#[cfg(target_arch = "wasm32")]
fn in_parallel(values: &mut [f32], _block: usize, kernel: impl Fn(&mut [f32]) + Copy + Send) {
    kernel(values);
}

/// Defines `$name(values, args…)`: `$body` compiled twice, for the target's baseline
/// instruction set and with AVX2 (chosen at run time on x86-64). Same arithmetic, same
/// results: Rust never fuses multiply-adds on its own.
macro_rules! simd_kernel {
    ($(#[$doc:meta])* fn $name:ident($values:ident: &mut [f32] $(, $arg:ident: $ty:ty)*) $body:block) => {
        $(#[$doc])*
        pub(super) fn $name($values: &mut [f32] $(, $arg: $ty)*) {
            #[inline(always)]
            fn body($values: &mut [f32] $(, $arg: $ty)*) $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            fn avx2($values: &mut [f32] $(, $arg: $ty)*) {
                body($values $(, $arg)*)
            }

            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (detected just above).
                unsafe { avx2($values $(, $arg)*) };
                return;
            }
            body($values $(, $arg)*)
        }
    };
}
use simd_kernel;

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
