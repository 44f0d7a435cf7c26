//! Matrix products for the host path of [`super::matmul`], through the `gemm` crate (the
//! one Burn's flex uses) straight into a new buffer. Flex zero-fills each product's output
//! and then copies it into a re-aligned buffer (its byte vector is declared with alignment
//! 1): on the mask decoder that was ≈ 4 ms of single-threaded copying per click.

use burn::backend::flex::FlexTensor;

/// The product of `a` (`…×m×k`) and `b` (`…×k×n`), f32, any strides; batch dimensions of size
/// 1 broadcast. Returns the row-major values and the shape, or `None` when the shapes do not
/// fit (the caller then lets Burn report it) or the product is empty.
pub(super) fn matmul(a: &FlexTensor, b: &FlexTensor) -> Option<(Vec<f32>, Vec<usize>)> {
    let (a_dims, b_dims) = (a.layout().shape().to_vec(), b.layout().shape().to_vec());
    let rank = a_dims.len();
    if rank < 2 || b_dims.len() != rank || a_dims[rank - 1] != b_dims[rank - 2] {
        return None;
    }
    let (m, k, n) = (a_dims[rank - 2], a_dims[rank - 1], b_dims[rank - 1]);
    let mut out_dims = Vec::with_capacity(rank);
    for (&da, &db) in a_dims[..rank - 2].iter().zip(&b_dims[..rank - 2]) {
        if da != db && da != 1 && db != 1 {
            return None;
        }
        out_dims.push(da.max(db));
    }
    let batches: usize = out_dims.iter().product();
    let total = batches.checked_mul(m)?.checked_mul(n)?;
    if total == 0 || k == 0 {
        return None;
    }
    out_dims.extend([m, n]);

    let (a_strides, b_strides) = (a.layout().strides(), b.layout().strides());
    let (a_values, b_values) = (a.storage::<f32>(), b.storage::<f32>());
    let mut out: Vec<f32> = Vec::with_capacity(total);
    for batch in 0..batches {
        let (mut a_at, mut b_at) = (
            a.layout().start_offset() as isize,
            b.layout().start_offset() as isize,
        );
        let mut rest = batch;
        for d in (0..rank - 2).rev() {
            let index = rest % out_dims[d];
            rest /= out_dims[d];
            if a_dims[d] != 1 {
                a_at += index as isize * a_strides[d];
            }
            if b_dims[d] != 1 {
                b_at += index as isize * b_strides[d];
            }
        }
        // SAFETY: `a_at`/`b_at` with the layouts' strides address elements of their tensors'
        // buffers (flex's layouts stay inside their storage); `out` has room for `total`
        // values and this batch writes `m × n` of them at `batch · m · n`, row-major, without
        // reading them (`read_dst = false`): every value of `out` is written once before
        // `set_len` below.
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                out.as_mut_ptr().add(batch * m * n),
                1,
                n as isize,
                false,
                a_values.as_ptr().offset(a_at),
                a_strides[rank - 1],
                a_strides[rank - 2],
                b_values.as_ptr().offset(b_at),
                b_strides[rank - 1],
                b_strides[rank - 2],
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism(),
            );
        }
    }
    // SAFETY: all `total` values were written by the products above.
    unsafe { out.set_len(total) };
    Some((out, out_dims))
}

/// `gemm`'s threads: Rayon's pool (it runs small products on one thread by itself).
#[cfg(not(target_arch = "wasm32"))]
fn parallelism() -> gemm::Parallelism {
    gemm::Parallelism::Rayon(0)
}

/// The wasm worker has one thread.
#[cfg(target_arch = "wasm32")]
fn parallelism() -> gemm::Parallelism {
    gemm::Parallelism::None
}
