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
    // Where each batch's matrices start in the operands' buffers.
    let starts: Vec<(isize, isize)> = (0..batches)
        .map(|batch| {
            let mut at = (
                a.layout().start_offset() as isize,
                b.layout().start_offset() as isize,
            );
            let mut rest = batch;
            for d in (0..rank - 2).rev() {
                let index = (rest % out_dims[d]) as isize;
                rest /= out_dims[d];
                if a_dims[d] != 1 {
                    at.0 += index * a_strides[d];
                }
                if b_dims[d] != 1 {
                    at.1 += index * b_strides[d];
                }
            }
            at
        })
        .collect();
    let mut out: Vec<f32> = Vec::with_capacity(total);
    let product = Product {
        a: a.storage::<f32>().as_ptr(),
        b: b.storage::<f32>().as_ptr(),
        out: out.as_mut_ptr(),
        sizes: [m, k, n],
        a_strides: [a_strides[rank - 2], a_strides[rank - 1]],
        b_strides: [b_strides[rank - 2], b_strides[rank - 1]],
    };
    // SAFETY (both branches): the starts with the layouts' strides address elements of the
    // operands' buffers (flex's layouts stay inside their storage); batch `i` writes the
    // `m × n` values at `i · m · n` of `out`'s capacity, so batches never overlap, and every
    // one of the `total` values is written once before `set_len` below.
    if batches > 1 && m * n * k < BATCH_PARALLEL_WORK {
        run_batches(batches, |batch| unsafe {
            product.batch(batch, starts[batch], gemm::Parallelism::None)
        });
    } else {
        for (batch, &start) in starts.iter().enumerate() {
            unsafe { product.batch(batch, start, parallelism()) };
        }
    }
    // SAFETY: all `total` values were written by the products above.
    unsafe { out.set_len(total) };
    Some((out, out_dims))
}

/// Work (`m·k·n`) below which one product does not use several threads: the batches of a
/// batched product are then shared among them instead (as flex does).
const BATCH_PARALLEL_WORK: usize = 192 * 192 * 192;

/// One batched product's operands and output, as `gemm` takes them.
struct Product {
    a: *const f32,
    b: *const f32,
    out: *mut f32,
    /// `[m, k, n]`.
    sizes: [usize; 3],
    /// Row and column strides of `a` and of `b`.
    a_strides: [isize; 2],
    b_strides: [isize; 2],
}

// SAFETY: the pointers are only used by `Product::batch`, whose callers write disjoint parts
// of the output and only read the operands.
unsafe impl Sync for Product {}

impl Product {
    /// Batch `batch` (its matrices starting at `start` in `a` and `b`) into its `m × n`
    /// block of the output.
    ///
    /// # Safety
    /// `start` with the strides must address elements of the operands, the output must have
    /// room for batch `batch`, and no other thread may write that block at the same time.
    unsafe fn batch(&self, batch: usize, start: (isize, isize), parallelism: gemm::Parallelism) {
        let [m, k, n] = self.sizes;
        unsafe {
            gemm::gemm(
                m,
                n,
                k,
                self.out.add(batch * m * n),
                1,
                n as isize,
                false,
                self.a.offset(start.0),
                self.a_strides[1],
                self.a_strides[0],
                self.b.offset(start.1),
                self.b_strides[1],
                self.b_strides[0],
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            );
        }
    }
}

/// Runs `task` for every batch, on Rayon's pool.
#[cfg(not(target_arch = "wasm32"))]
fn run_batches(batches: usize, task: impl Fn(usize) + Sync + Send) {
    use rayon::prelude::*;
    (0..batches).into_par_iter().for_each(task);
}

/// In wasm the batches run in order on the worker's thread.
#[cfg(target_arch = "wasm32")]
fn run_batches(batches: usize, task: impl Fn(usize) + Sync + Send) {
    (0..batches).for_each(task);
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
