//! Softmax ([`crate::softmax`]): the maximum subtracted (so every
//! exponent is ≤ 0, where [`exp_non_positive`] is accurate to ~2 ulp), exponentials, then
//! one division by the sum, as PyTorch does.

use super::exp::exp_non_positive;
use super::{reduce_lanes, simd_kernel};

simd_kernel! {
    /// Softmax of every block of `values`: a block is `len` rows of `inner` contiguous
    /// values (the row-major layout of a tensor `…×len×inner`), normalised over its rows.
    fn softmax_blocks(values: &mut [f32], len: usize, inner: usize) {
        for block in values.chunks_exact_mut(len * inner) {
            if inner == 1 {
                softmax_row(block);
            } else {
                softmax_across_rows(block, inner);
            }
        }
    }
}

/// Softmax over one contiguous row. The maximum and the sum are reduced in 8 lanes and the
/// exponentials computed in their own loop, so all three vectorise.
#[inline(always)]
fn softmax_row(row: &mut [f32]) {
    let max = reduce_lanes(row, f32::NEG_INFINITY, f32::max);
    for v in row.iter_mut() {
        *v = exp_non_positive(*v - max);
    }
    let inv = 1.0 / reduce_lanes(row, 0.0, |a, b| a + b);
    for v in row.iter_mut() {
        *v *= inv;
    }
}

/// Softmax over the rows of `block` (`rows × inner`), column by column, vectorised along the
/// contiguous columns.
#[inline(always)]
fn softmax_across_rows(block: &mut [f32], inner: usize) {
    let mut max = vec![f32::NEG_INFINITY; inner];
    for row in block.chunks_exact(inner) {
        for (m, &v) in max.iter_mut().zip(row) {
            *m = m.max(v);
        }
    }
    let mut sum = vec![0.0f32; inner];
    for row in block.chunks_exact_mut(inner) {
        for ((v, &m), s) in row.iter_mut().zip(&max).zip(sum.iter_mut()) {
            *v = exp_non_positive(*v - m);
            *s += *v;
        }
    }
    for s in sum.iter_mut() {
        *s = 1.0 / *s;
    }
    for row in block.chunks_exact_mut(inner) {
        for (v, &inv) in row.iter_mut().zip(&sum) {
            *v *= inv;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(row: &[f32]) -> Vec<f64> {
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64;
        let exps: Vec<f64> = row.iter().map(|&v| (v as f64 - max).exp()).collect();
        let sum: f64 = exps.iter().sum();
        exps.iter().map(|e| e / sum).collect()
    }

    #[test]
    fn rows_and_columns_match_an_f64_softmax() {
        // 3 blocks of 5 rows × 4 columns; values spread over ±60 so some underflow.
        let values: Vec<f32> = (0..60)
            .map(|i| ((i * 37 % 61) as f32 - 30.0) * 2.0)
            .collect();
        let mut rows = values.clone();
        softmax_blocks(&mut rows, 20, 1);
        let mut columns = values.clone();
        softmax_blocks(&mut columns, 5, 4);
        for b in 0..3 {
            let block = &values[b * 20..(b + 1) * 20];
            for (got, want) in rows[b * 20..(b + 1) * 20].iter().zip(reference(block)) {
                assert!((*got as f64 - want).abs() <= 1e-6 * want.max(1e-30) + 1e-37);
            }
            for c in 0..4 {
                let column: Vec<f32> = (0..5).map(|r| block[r * 4 + c]).collect();
                for (r, want) in reference(&column).into_iter().enumerate() {
                    let got = columns[b * 20 + r * 4 + c] as f64;
                    assert!((got - want).abs() <= 1e-6 * want.max(1e-30) + 1e-37);
                }
            }
        }
    }
}
