//! Matrix products ([`crate::matmul`]) through the `gemm` crate (the one Burn's flex uses)
//! straight into a new buffer. Flex zero-fills each product's output and then copies it into
//! a re-aligned buffer (its byte vector is declared with alignment 1): on the mask decoder
//! that was ≈ 4 ms of single-threaded copying per click.

/// One operand of [`matmul`]: a strided view into a buffer of f32 values, as a tensor
/// library keeps it (shape, element strides, offset of the first element).
#[derive(Debug, Clone, Copy)]
pub struct Operand<'a> {
    /// The whole buffer the view reads from.
    pub values: &'a [f32],
    /// Dimensions, outermost first (at least 2: `…×rows×columns`).
    pub shape: &'a [usize],
    /// Elements between neighbours along each dimension (may be 0 or negative).
    pub strides: &'a [isize],
    /// Index in `values` of the element at index 0 in every dimension.
    pub offset: usize,
}

impl Operand<'_> {
    /// Whether every element the view addresses lies inside `values`.
    fn in_bounds(&self) -> bool {
        if self.shape.len() != self.strides.len() || self.shape.contains(&0) {
            return false;
        }
        let (mut low, mut high) = (self.offset as isize, self.offset as isize);
        for (&len, &stride) in self.shape.iter().zip(self.strides) {
            let Some(span) = (len as isize - 1).checked_mul(stride) else {
                return false;
            };
            if span < 0 {
                low += span;
            } else {
                high += span;
            }
        }
        low >= 0 && (high as usize) < self.values.len()
    }
}

/// The product of `a` (`…×m×k`) and `b` (`…×k×n`), any strides; batch dimensions of size 1
/// broadcast. Returns the row-major values and the shape `…×m×n`, or `None` when the shapes
/// do not fit (the caller then lets its tensor library report it), a view reaches outside its
/// buffer, or the product is empty.
pub fn matmul(a: Operand<'_>, b: Operand<'_>) -> Option<(Vec<f32>, Vec<usize>)> {
    let (a_dims, b_dims) = (a.shape, b.shape);
    let rank = a_dims.len();
    if rank < 2 || b_dims.len() != rank || a_dims[rank - 1] != b_dims[rank - 2] {
        return None;
    }
    if !a.in_bounds() || !b.in_bounds() {
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

    let (a_strides, b_strides) = (a.strides, b.strides);
    // Where each batch's matrices start in the operands' buffers.
    let starts: Vec<(isize, isize)> = (0..batches)
        .map(|batch| {
            let mut at = (a.offset as isize, b.offset as isize);
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
        a: a.values.as_ptr(),
        b: b.values.as_ptr(),
        out: out.as_mut_ptr(),
        sizes: [m, k, n],
        a_strides: [a_strides[rank - 2], a_strides[rank - 1]],
        b_strides: [b_strides[rank - 2], b_strides[rank - 1]],
    };
    // SAFETY (both branches): the starts with the strides address elements of the operands'
    // buffers (checked by `in_bounds` above: a batch index of a broadcast dimension stays 0,
    // any other stays below that dimension's length); batch `i` writes the `m × n` values at
    // `i · m · n` of `out`'s capacity, so batches never overlap, and every one of the `total`
    // values is written once before `set_len` below.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `a·b` for row-major `m×k` and `k×n`, in f64.
    fn reference(a: &[f32], b: &[f32], [m, k, n]: [usize; 3]) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                out[i * n + j] = (0..k)
                    .map(|l| a[i * k + l] as f64 * b[l * n + j] as f64)
                    .sum();
            }
        }
        out
    }

    #[test]
    fn strided_broadcast_products_match_an_f64_product() {
        let (m, k, n) = (5, 7, 4);
        let a: Vec<f32> = (0..m * k).map(|i| (i * 13 % 11) as f32 - 5.0).collect();
        // b stored transposed (n×k): read through swapped strides; three batches, the last
        // two sharing a (broadcast along the batch dimension).
        let b_t: Vec<f32> = (0..3 * n * k).map(|i| (i * 7 % 5) as f32 * 0.25).collect();
        let a_op = Operand {
            values: &a,
            shape: &[1, m, k],
            strides: &[0, k as isize, 1],
            offset: 0,
        };
        let b_op = Operand {
            values: &b_t,
            shape: &[3, k, n],
            strides: &[(n * k) as isize, 1, k as isize],
            offset: 0,
        };
        let (values, shape) = matmul(a_op, b_op).expect("shapes fit");
        assert_eq!(shape, vec![3, m, n]);
        for batch in 0..3 {
            let b: Vec<f32> = (0..k * n)
                .map(|i| b_t[batch * n * k + (i % n) * k + i / n])
                .collect();
            let want = reference(&a, &b, [m, k, n]);
            for (got, want) in values[batch * m * n..(batch + 1) * m * n].iter().zip(want) {
                assert!((*got as f64 - want).abs() < 1e-4, "{got} vs {want}");
            }
        }
    }

    #[test]
    fn views_outside_their_buffer_and_misfit_shapes_are_refused() {
        let values = vec![1.0f32; 12];
        let view = |shape: &'static [usize], strides: &'static [isize], offset| Operand {
            values: &values,
            shape,
            strides,
            offset,
        };
        let fits = view(&[3, 4], &[4, 1], 0);
        assert!(matmul(view(&[2, 3], &[3, 1], 0), fits).is_some());
        // One element past the end; a negative stride before the start; k mismatch.
        assert!(matmul(view(&[2, 3], &[3, 1], 7), fits).is_none());
        assert!(matmul(view(&[2, 3], &[-3, 1], 0), fits).is_none());
        assert!(matmul(view(&[2, 4], &[4, 1], 0), fits).is_none());
    }
}
