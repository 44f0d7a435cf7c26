//! GELU, `0.5·x·(1 + erf(x/√2))` ([`crate::gelu`], [`crate::gelu_of_sum`]).
//!
//! The error function comes from `erfc(z) = t·exp(−z² + P(t))`, `t = 1/(1 + z/2)`, a
//! Chebyshev fit with relative error below 1.2e-7 for every `z ≥ 0`. GELU is written with
//! `erfc(|x|/√2)`: `x − x·erfc/2` for `x ≥ 0`, `x·erfc/2` below, so the negative tail keeps
//! its relative precision: the tests check a relative error below 2e-6 (a few f32 ulp)
//! wherever |GELU(x)| ≥ 1e-6 and an absolute error below 1e-6 everywhere, against an f64
//! reference.

use super::exp::exp_non_positive;
use super::simd_kernel;

simd_kernel! {
    /// GELU of every value, in place.
    fn gelu_slice(values: &mut [f32]) {
        for v in values.iter_mut() {
            *v = gelu_scalar(*v);
        }
    }
}

simd_kernel! {
    /// GELU of every value plus its channel's bias, in place: `values` holds whole blocks of
    /// `bias.len()` channels × `inner` values.
    fn gelu_of_sum_slice(values: &mut [f32], bias: &[f32], inner: usize) {
        for (row, v) in values.chunks_exact_mut(inner).enumerate() {
            let b = bias[row % bias.len()];
            for v in v.iter_mut() {
                *v = gelu_scalar(*v + b);
            }
        }
    }
}

/// `0.5·x·(1 + erf(x/√2))` through `erfc(|x|/√2)`.
#[inline(always)]
fn gelu_scalar(x: f32) -> f32 {
    let half_x_erfc = 0.5 * x * erfc_of_scaled(x);
    if x >= 0.0 {
        x - half_x_erfc
    } else {
        half_x_erfc
    }
}

/// `erfc(|x|/√2)` (Chebyshev fit, relative error < 1.2e-7; `NaN` stays `NaN`). The square
/// in the exponent is taken as `x²/2`, which rounds once, rather than as `z²`.
#[inline(always)]
fn erfc_of_scaled(x: f32) -> f32 {
    let z = x.abs() * std::f32::consts::FRAC_1_SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z);
    // The degree-9 polynomial in Estrin's form: pairs, then pairs of pairs, so the
    // multiplications do not wait on each other (Horner's chain was the loop's bottleneck).
    let t2 = t * t;
    let t4 = t2 * t2;
    let p01 = -1.265_512_2 + t * 1.000_023_7;
    let p23 = 0.374_091_96 + t * 0.096_784_18;
    let p45 = -0.186_288_06 + t * 0.278_868_07;
    let p67 = -1.135_204 + t * 1.488_515_9;
    let p89 = -0.822_152_23 + t * 0.170_872_77;
    let p = (p01 + t2 * p23) + t4 * ((p45 + t2 * p67) + t4 * p89);
    t * exp_non_positive(p - 0.5 * x * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference GELU in f64 (`erf` from the f64 libm, exact to f32 precision).
    fn reference(x: f32) -> f64 {
        let x = x as f64;
        0.5 * x * (1.0 + libm_erf(x / std::f64::consts::SQRT_2))
    }

    /// erf in f64 through `erfc = 1 − erf` continued fraction / series (accurate to ~1e-15),
    /// independent of the code under test.
    fn libm_erf(x: f64) -> f64 {
        let z = x.abs();
        let value = if z < 3.0 {
            // Maclaurin series: erf z = 2/√π Σ (−1)^n z^(2n+1) / (n! (2n+1)).
            let mut term = z;
            let mut sum = z;
            let mut n = 0.0;
            while term.abs() > 1e-17 * sum.abs() {
                n += 1.0;
                term *= -z * z / n;
                sum += term / (2.0 * n + 1.0);
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            // Continued fraction for erfc (Lentz), converges fast for z ≥ 3.
            let mut f = 0.0;
            for k in (1..=60).rev() {
                f = (k as f64 / 2.0) / (z + f);
            }
            1.0 - (-z * z).exp() / (std::f64::consts::PI.sqrt() * (z + f))
        };
        value.copysign(x)
    }

    #[test]
    fn matches_the_exact_gelu_to_a_few_ulp() {
        let mut worst_abs = 0.0f64;
        let mut worst_rel = 0.0f64;
        let mut x = -20.0f32;
        while x <= 20.0 {
            let got = gelu_scalar(x) as f64;
            let want = reference(x);
            let abs = (got - want).abs();
            worst_abs = worst_abs.max(abs);
            if want.abs() >= 1e-6 {
                worst_rel = worst_rel.max(abs / want.abs());
            }
            x += 1.0 / 1024.0;
        }
        // f32 has a relative precision of 6e-8; a few ulp everywhere, including the tail.
        assert!(worst_rel < 2e-6, "relative error {worst_rel:e}");
        assert!(worst_abs < 1e-6, "absolute error {worst_abs:e}");
    }

    #[test]
    fn keeps_special_values() {
        assert_eq!(gelu_scalar(0.0), 0.0);
        assert_eq!(gelu_scalar(100.0), 100.0);
        assert_eq!(gelu_scalar(-100.0), 0.0);
        assert!(gelu_scalar(f32::NAN).is_nan());
    }
}
