//! Host kernels for SAM on the CPU, on plain `f32` slices: GELU with the exact error function
//! (`0.5·x·(1 + erf(x/√2))`, PyTorch's default `nn.GELU()`), softmax, layer norm over any
//! one dimension, element-wise sums and strided (batched, broadcast) matrix products.
//!
//! Burn's CPU backend (flex) evaluates GELU and softmax one element at a time through scalar
//! `erff`/`expf` calls on one thread (≈ 10 ns per GELU value, ≈ 3 ns per exponential; the
//! LiteMedSAM encoder applies GELU to ≈ 90 M values per image, the mask decoder to 3 M per
//! click), a layer norm written with tensor operations passes over the tensor seven times,
//! sums run on one thread, and every matrix product is zero-filled and then copied into a
//! re-aligned buffer. The kernels here run branch-free, vectorisable loops (8 lanes with
//! AVX2, 16 with AVX-512, detected at run time; 4 with wasm SIMD) on all cores (one thread
//! in wasm). Accuracy is a few f32 ulp against an f64 reference (see each kernel's tests).
//!
//! The crate knows no tensor library: `sam::ops` is the one place that hands it the buffers
//! of Burn's flex tensors, and uses Burn's own operations on every other backend and under
//! automatic differentiation.

#![warn(missing_docs)]

mod exp;
mod gelu;
mod layer_norm;
mod matmul;
mod softmax;

pub use layer_norm::Channels;
pub use matmul::{Operand, matmul};

/// GELU (exact erf form) of every value, in place, on all cores.
pub fn gelu(values: &mut [f32]) {
    in_parallel(values, 1, gelu::gelu_slice);
}

/// GELU of every value plus its channel's bias, in place, on all cores: `values` is a
/// row-major `blocks × bias.len() × inner` tensor, `bias` runs along its middle dimension.
pub fn gelu_of_sum(values: &mut [f32], bias: &[f32], inner: usize) {
    if bias.is_empty() || inner == 0 {
        return;
    }
    in_parallel(values, bias.len() * inner, |block| {
        gelu::gelu_of_sum_slice(block, bias, inner)
    });
}

/// Softmax over the middle dimension of a row-major `blocks × len × inner` tensor, in
/// place, on all cores.
pub fn softmax(values: &mut [f32], len: usize, inner: usize) {
    if len == 0 || inner == 0 {
        return;
    }
    in_parallel(values, len * inner, |block| {
        softmax::softmax_blocks(block, len, inner)
    });
}

/// Layer norm over the middle dimension of a row-major `blocks × len × inner` tensor, in
/// place, on all cores: `(y − mean) · rstd · weight + bias` of `y = values + shift`, with the
/// biased variance and `rstd = 1/√(var + eps)` (see [`Channels`]).
pub fn layer_norm(values: &mut [f32], len: usize, inner: usize, channels: &Channels, eps: f32) {
    if len == 0 || inner == 0 {
        return;
    }
    let lengths = [&channels.shift, &channels.weight, &channels.bias].map(|c| c.len());
    assert_eq!(lengths, [len; 3], "layer_norm: one value per channel");
    assert_eq!(values.len() % (len * inner), 0, "layer_norm: whole blocks");
    layer_norm::layer_norm(values, len, inner, channels, eps);
}

/// `sum += addend`, element by element (the two have the same length), on all cores.
pub fn add_into(sum: &mut [f32], addend: &[f32]) {
    assert_eq!(sum.len(), addend.len(), "add_into: lengths differ");
    let size = sum.len().div_ceil(threads()).max(PARALLEL_MIN_ELEMENTS);
    if size >= sum.len() {
        // One chunk: on the calling thread, without waking the pool.
        add_slice(sum, addend);
        return;
    }
    for_each_chunk(sum, size, |i, chunk| {
        add_slice(chunk, &addend[i * size..i * size + chunk.len()])
    });
}

simd_kernel! {
    /// `sum[i] += addend[i]`.
    fn add_slice(sum: &mut [f32], addend: &[f32]) {
        for (s, &a) in sum.iter_mut().zip(addend) {
            *s += a;
        }
    }
}

/// Runs `kernel` over `values` split into one chunk of whole `block`s per core (the calling
/// thread alone for small inputs).
fn in_parallel(values: &mut [f32], block: usize, kernel: impl Fn(&mut [f32]) + Sync + Send) {
    let blocks = values.len() / block;
    let threads = threads();
    if threads > 1 && blocks > 1 && values.len() >= PARALLEL_MIN_ELEMENTS {
        let chunk = blocks.div_ceil(threads) * block;
        for_each_chunk(values, chunk, |_, part| kernel(part));
    } else {
        kernel(values);
    }
}

/// Elements below which threads cost more than they save.
const PARALLEL_MIN_ELEMENTS: usize = 1 << 16;

/// Threads the host kernels may use: Rayon's pool (the one Burn's matrix products use).
#[cfg(not(target_arch = "wasm32"))]
fn threads() -> usize {
    rayon::current_num_threads()
}

/// In wasm the worker has one thread.
#[cfg(target_arch = "wasm32")]
fn threads() -> usize {
    1
}

/// Calls `task(i, chunk)` for the `i`-th `size`-long chunk of `values` (the last may be
/// shorter), on Rayon's pool.
#[cfg(not(target_arch = "wasm32"))]
fn for_each_chunk(values: &mut [f32], size: usize, task: impl Fn(usize, &mut [f32]) + Sync + Send) {
    use rayon::prelude::*;
    values
        .par_chunks_mut(size)
        .enumerate()
        .for_each(|(i, chunk)| task(i, chunk));
}

/// In wasm the chunks are processed in order on the worker's thread.
#[cfg(target_arch = "wasm32")]
fn for_each_chunk(values: &mut [f32], size: usize, task: impl Fn(usize, &mut [f32]) + Sync + Send) {
    for (i, chunk) in values.chunks_mut(size).enumerate() {
        task(i, chunk);
    }
}

/// Width of the partial reductions (one AVX2 register of f32).
const LANES: usize = 8;

/// `op` folded over `values` from `init`, as `LANES` interleaved partial results combined
/// at the end (so the reduction vectorises).
#[inline(always)]
fn reduce_lanes(values: &[f32], init: f32, op: impl Fn(f32, f32) -> f32) -> f32 {
    let mut partial = [init; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (p, &v) in partial.iter_mut().zip(chunk) {
            *p = op(*p, v);
        }
    }
    let mut result = partial.into_iter().fold(init, &op);
    for &v in tail {
        result = op(result, v);
    }
    result
}

/// Defines `$name(args…)`: `$body` compiled for the target's baseline instruction set, with
/// AVX2 and with AVX-512F (chosen at run time on x86-64). Same arithmetic, same results:
/// Rust never fuses multiply-adds on its own.
macro_rules! simd_kernel {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$doc])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn body($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2")]
            fn avx2($($arg: $ty),*) {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $ty),*) {
                body($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (detected just above).
                unsafe { avx512($($arg),*) };
                return;
            }
            #[cfg(target_arch = "x86_64")]
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (detected just above).
                unsafe { avx2($($arg),*) };
                return;
            }
            body($($arg),*)
        }
    };
}
use simd_kernel;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_into_sums_every_element_across_chunks() {
        // Long enough to be split into several chunks on a multi-core machine.
        let n = 3 * PARALLEL_MIN_ELEMENTS + 17;
        let mut sum: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let addend: Vec<f32> = (0..n).map(|i| (n - i) as f32).collect();
        let want: Vec<f32> = sum.iter().zip(&addend).map(|(s, a)| s + a).collect();
        add_into(&mut sum, &addend);
        assert_eq!(sum, want);
    }

    #[test]
    fn gelu_of_sum_adds_each_channels_bias_before_the_gelu() {
        // 2 blocks × 3 channels × 5 values.
        let values: Vec<f32> = (0..30).map(|i| i as f32 / 7.0 - 2.0).collect();
        let bias = [0.5f32, -1.0, 2.0];
        let mut ours = values.clone();
        gelu_of_sum(&mut ours, &bias, 5);
        let mut want: Vec<f32> = values
            .iter()
            .enumerate()
            .map(|(i, v)| v + bias[(i / 5) % 3])
            .collect();
        gelu(&mut want);
        assert_eq!(ours, want);
    }
}
