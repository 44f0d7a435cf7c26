//! A vectorisable exponential for arguments ≤ 0 (softmax after subtracting the maximum,
//! `exp(−x²/2 + …)` in the error function).

/// `e^v` for `v ≤ ~0` without a library call: `v = k·ln2 + r`, `|r| ≤ ln2/2`,
/// `e^r` by its degree-7 Taylor polynomial (relative error < 1e-8 on that range) and `2^k`
/// built from the exponent bits. Arguments below −87 (results under `2^-125`) give zero.
#[inline(always)]
pub(crate) fn exp_non_positive(v: f32) -> f32 {
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    // Adding 1.5·2^23 rounds to the nearest integer k (|v·log2 e| < 2^22) and leaves k in
    // the low mantissa bits, so 2^k is built with integer operations (an `as i32` cast would
    // saturate lane by lane and stop the loop from vectorising).
    const ROUND: f32 = 12_582_912.0;
    let underflows = v < -87.0;
    let v = v.clamp(-87.0, 0.0);
    let shifted = v * std::f32::consts::LOG2_E + ROUND;
    let k = shifted - ROUND;
    let r = (v - k * LN2_HI) - k * LN2_LO;
    // Degree-7 Taylor polynomial in Estrin's form (short dependency chains).
    let r2 = r * r;
    let p = ((1.0 + r) + r2 * (0.5 + r * (1.0 / 6.0)))
        + (r2 * r2) * ((1.0 / 24.0 + r * (1.0 / 120.0)) + r2 * (1.0 / 720.0 + r * (1.0 / 5040.0)));
    let biased_k = shifted
        .to_bits()
        .wrapping_sub(ROUND.to_bits())
        .wrapping_add(127);
    let two_to_k = f32::from_bits(biased_k << 23);
    if underflows { 0.0 } else { p * two_to_k }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_library_exponential_to_two_ulp() {
        let mut worst = 0.0f64;
        let mut v = -87.0f32;
        while v <= 0.0 {
            let got = exp_non_positive(v) as f64;
            let want = (v as f64).exp();
            worst = worst.max((got - want).abs() / want);
            v += 1.0 / 4096.0;
        }
        assert!(worst < 2.5e-7, "relative error {worst:e}");
        assert_eq!(exp_non_positive(0.0), 1.0);
        assert_eq!(exp_non_positive(-200.0), 0.0);
        assert_eq!(exp_non_positive(f32::NEG_INFINITY), 0.0);
    }
}
