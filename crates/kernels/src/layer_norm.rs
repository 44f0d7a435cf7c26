//! Layer norm ([`crate::layer_norm`]): `(y − mean) · rstd · w + b`
//! of `y = x + shift` (per channel), with the mean and the biased variance of each normalised
//! vector, `rstd = 1/√(var + eps)`,
//! accumulated in f32 like PyTorch's CPU kernel (the variance from the centred values, not
//! from `E[x²] − mean²`).
//!
//! The data is a tensor `blocks × len × inner` in row-major order, normalised over `len`:
//! - `inner = 1` (a token's channels are contiguous): one task per group of rows, each row
//!   reduced in vector lanes, then rewritten;
//! - `inner > 1` (channel-major image tokens, `B×C×N`): the statistics of [`COLUMNS`]
//!   adjacent columns at a time (a `len × COLUMNS` panel stays in cache for its two
//!   passes), then every row rewritten with its channel's weight and bias.

use super::{LANES, for_each_chunk, reduce_lanes, simd_kernel};

/// Columns whose statistics one task gathers.
const COLUMNS: usize = 256;

/// Elements one task of the row-wise path covers at least.
const ROW_TASK_ELEMENTS: usize = 1 << 14;

/// Per-channel values of a layer norm: `len` each (the normalised dimension's length).
#[derive(Debug, Clone, PartialEq)]
pub struct Channels {
    /// Added to the input before normalising.
    pub shift: Vec<f32>,
    /// Scale after normalising.
    pub weight: Vec<f32>,
    /// Offset after scaling.
    pub bias: Vec<f32>,
}

/// Normalises `values + shift` (`blocks × len × inner`, row-major) over `len`, in place.
pub(crate) fn layer_norm(
    values: &mut [f32],
    len: usize,
    inner: usize,
    channels: &Channels,
    eps: f32,
) {
    let Channels {
        shift,
        weight,
        bias,
    } = channels;
    debug_assert_eq!((shift.len(), weight.len(), bias.len()), (len, len, len));
    debug_assert_eq!(values.len() % (len * inner), 0);
    if inner == 1 {
        let rows_per_task = ROW_TASK_ELEMENTS.div_ceil(len);
        for_each_chunk(values, rows_per_task * len, |_, rows| {
            normalise_rows(rows, shift, weight, bias, eps)
        });
        return;
    }
    let panels = inner.div_ceil(COLUMNS);
    let blocks = values.len() / (len * inner);
    // Per panel: COLUMNS means, then COLUMNS reciprocal standard deviations.
    let mut stats = vec![0.0f32; blocks * panels * 2 * COLUMNS];
    let source: &[f32] = values;
    for_each_chunk(&mut stats, 2 * COLUMNS, |i, panel_stats| {
        let (block, panel) = (i / panels, i % panels);
        let first = panel * COLUMNS;
        let width = COLUMNS.min(inner - first);
        let data = &source[block * len * inner..(block + 1) * len * inner];
        let (mean, rstd) = panel_stats.split_at_mut(COLUMNS);
        column_statistics(
            data,
            inner,
            first,
            shift,
            &mut mean[..width],
            &mut rstd[..width],
            eps,
        );
    });
    for_each_chunk(values, inner, |row, values| {
        let (block, c) = (row / len, row % len);
        let stats = &stats[block * panels * 2 * COLUMNS..(block + 1) * panels * 2 * COLUMNS];
        normalise_columns(values, stats, [shift[c], weight[c], bias[c]]);
    });
}

simd_kernel! {
    /// Normalises every `len`-long row of `rows` plus `shift` (`len` = `weight.len()`).
    fn normalise_rows(rows: &mut [f32], shift: &[f32], weight: &[f32], bias: &[f32], eps: f32) {
        let len = weight.len();
        for row in rows.chunks_exact_mut(len) {
            for (v, &s) in row.iter_mut().zip(shift) {
                *v += s;
            }
            let mean = reduce_lanes(row, 0.0, |a, b| a + b) / len as f32;
            let var = sum_of_squared_deviations(row, mean) / len as f32;
            let rstd = 1.0 / (var + eps).sqrt();
            for ((v, &w), &b) in row.iter_mut().zip(weight).zip(bias) {
                *v = (*v - mean) * rstd * w + b;
            }
        }
    }
}

/// `Σ (v − mean)²` over `values`, in vector lanes.
#[inline(always)]
fn sum_of_squared_deviations(values: &[f32], mean: f32) -> f32 {
    let mut partial = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (p, &v) in partial.iter_mut().zip(chunk) {
            *p += (v - mean) * (v - mean);
        }
    }
    let mut sum = partial.into_iter().sum::<f32>();
    for &v in tail {
        sum += (v - mean) * (v - mean);
    }
    sum
}

simd_kernel! {
    /// Mean and `1/√(var + eps)` of the columns `first..first + mean.len()` of `data + shift`
    /// (`data` a `len × inner` row-major block, `shift` one value per row), over its rows.
    fn column_statistics(
        data: &[f32],
        inner: usize,
        first: usize,
        shift: &[f32],
        mean: &mut [f32],
        rstd: &mut [f32],
        eps: f32,
    ) {
        let width = mean.len();
        let rows = data
            .chunks_exact(inner)
            .map(|row| &row[first..first + width])
            .zip(shift);
        let len = data.len() / inner;
        mean.fill(0.0);
        for (row, &s) in rows.clone() {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v + s;
            }
        }
        for m in mean.iter_mut() {
            *m /= len as f32;
        }
        rstd.fill(0.0);
        for (row, &s) in rows {
            for ((d, &m), &v) in rstd.iter_mut().zip(&*mean).zip(row) {
                *d += (v + s - m) * (v + s - m);
            }
        }
        for s in rstd.iter_mut() {
            *s = 1.0 / (*s / len as f32 + eps).sqrt();
        }
    }
}

simd_kernel! {
    /// One row (one channel) of a `len × inner` block plus its `shift`, normalised with its
    /// block's panel statistics ([`column_statistics`] per panel of [`COLUMNS`]), then
    /// scaled by `weight` and offset by `bias`.
    fn normalise_columns(row: &mut [f32], stats: &[f32], channel: [f32; 3]) {
        let [shift, weight, bias] = channel;
        for (values, panel) in row.chunks_mut(COLUMNS).zip(stats.chunks_exact(2 * COLUMNS)) {
            let (mean, rstd) = panel.split_at(COLUMNS);
            for ((v, &m), &r) in values.iter_mut().zip(mean).zip(rstd) {
                *v = (*v + shift - m) * r * weight + bias;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Layer norm of `blocks × len × inner` plus the per-channel `shift`, over `len`, in f64.
    fn reference(values: &[f32], len: usize, inner: usize, channels: &Channels) -> Vec<f64> {
        let (s, w, b) = (&channels.shift, &channels.weight, &channels.bias);
        let mut out = vec![0.0; values.len()];
        for start in (0..values.len()).step_by(len * inner) {
            for column in 0..inner {
                let at = |r: usize| start + r * inner + column;
                let y = |r: usize| values[at(r)] as f64 + s[r] as f64;
                let mean = (0..len).map(y).sum::<f64>() / len as f64;
                let var = (0..len).map(|r| (y(r) - mean).powi(2)).sum::<f64>() / len as f64;
                for r in 0..len {
                    let normed = (y(r) - mean) / (var + 1e-6).sqrt();
                    out[at(r)] = normed * w[r] as f64 + b[r] as f64;
                }
            }
        }
        out
    }

    #[test]
    fn rows_and_column_panels_match_an_f64_layer_norm_of_the_shifted_input() {
        // inner = 1 (rows), inner below one panel, and inner spanning a partial second panel;
        // values with a large common offset, so a one-pass variance would lose precision.
        for (blocks, len, inner) in [(5, 37, 1), (3, 9, 70), (2, 12, COLUMNS + 30)] {
            let n = blocks * len * inner;
            let values: Vec<f32> = (0..n)
                .map(|i| 50.0 + ((i * 7919 % 1013) as f32 / 101.3 - 5.0))
                .collect();
            let channels = Channels {
                shift: (0..len).map(|i| (i % 5) as f32 * 0.7 - 1.0).collect(),
                weight: (0..len).map(|i| 0.5 + i as f32 / 10.0).collect(),
                bias: (0..len).map(|i| i as f32 - 3.0).collect(),
            };
            let mut ours = values.clone();
            layer_norm(&mut ours, len, inner, &channels, 1e-6);
            let want = reference(&values, len, inner, &channels);
            let worst = ours
                .iter()
                .zip(&want)
                .map(|(&got, want)| (got as f64 - want).abs() / want.abs().max(1.0))
                .fold(0.0, f64::max);
            assert!(
                worst < 2e-5,
                "{blocks}×{len}×{inner}: relative error {worst:e}"
            );
        }
    }
}
