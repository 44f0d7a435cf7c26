//! The fine-tuning loss: binary cross-entropy on the logits plus a soft Dice loss on their
//! sigmoid, both on the low-resolution logits against the resized ground truth — PyTorch's
//! `BCEWithLogitsLoss` + MONAI's `DiceLoss(sigmoid=True)` (its defaults: no squares in the
//! denominator, smoothing 1e-5; the squared form escapes the all-background start of
//! promptless training about twice as slowly on thin vessels):
//!
//! ```text
//! p    = sigmoid(x)
//! bce  = mean(max(x, 0) − x·g + log(1 + exp(−|x|)))          over every pixel of the batch
//! dice = mean_b(1 − (2·Σ p·g + ε) / (Σ p + Σ g + ε)),   ε = 1e-5, sums per image
//! loss = bce + dice
//! ```
//!
//! `tools/golden/make_finetune_golden.py` computes the same loss and its gradients with the
//! official PyTorch decoder (`tests/gradient_parity.rs` compares).

use burn::prelude::*;
use burn::tensor::activation::{relu, sigmoid};

/// Smoothing of the Dice ratio (MONAI's default `smooth_nr = smooth_dr`).
pub const DICE_SMOOTH: f64 = 1e-5;

/// Mean binary cross-entropy of `logits` against targets in `[0, 1]` (same shape),
/// in the numerically stable form PyTorch uses.
pub fn bce_with_logits<const D: usize>(logits: Tensor<D>, truth: Tensor<D>) -> Tensor<1> {
    let stable = (logits.clone().abs().neg()).exp().log1p();
    (relu(logits.clone()) - logits * truth + stable).mean()
}

/// Mean over the batch of `1 − (2Σpg + ε) / (Σp + Σg + ε)`, `p = sigmoid(logits)`;
/// `logits`, `truth`: `B×1×H×W`.
pub fn soft_dice_loss(logits: Tensor<4>, truth: Tensor<4>) -> Tensor<1> {
    let [b, c, h, w] = logits.dims();
    let p = sigmoid(logits).reshape([b, c * h * w]);
    let g = truth.reshape([b, c * h * w]);
    let intersection = (p.clone() * g.clone()).sum_dim(1);
    let denominator = p.sum_dim(1) + g.sum_dim(1);
    let ratio = (intersection * 2.0 + DICE_SMOOTH) / (denominator + DICE_SMOOTH);
    (ratio.neg() + 1.0).mean()
}

/// The fine-tuning loss, [`bce_with_logits`] + [`soft_dice_loss`], a 1-element tensor.
pub fn bce_dice(logits: Tensor<4>, truth: Tensor<4>) -> Tensor<1> {
    bce_with_logits(logits.clone(), truth.clone()) + soft_dice_loss(logits, truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(t: Tensor<1>) -> f64 {
        f64::from(t.into_scalar::<f32>())
    }

    #[test]
    fn matches_hand_computed_values() {
        let device = Device::flex();
        let x = Tensor::<4>::from_floats([[[[2.0, -1.0], [0.0, 30.0]]]], &device);
        let g = Tensor::<4>::from_floats([[[[1.0, 0.0], [1.0, 0.0]]]], &device);
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let bce_ref = [(2.0, 1.0), (-1.0, 0.0), (0.0, 1.0), (30.0, 0.0)]
            .iter()
            .map(|&(x, g): &(f64, f64)| x.max(0.0) - x * g + (-x.abs()).exp().ln_1p())
            .sum::<f64>()
            / 4.0;
        let p = [sig(2.0), sig(-1.0), sig(0.0), sig(30.0)];
        let inter = p[0] + p[2];
        let denom = p.iter().sum::<f64>() + 2.0;
        let dice_ref = 1.0 - (2.0 * inter + DICE_SMOOTH) / (denom + DICE_SMOOTH);
        assert!((scalar(bce_with_logits(x.clone(), g.clone())) - bce_ref).abs() < 1e-5);
        assert!((scalar(soft_dice_loss(x.clone(), g.clone())) - dice_ref).abs() < 1e-5);
        assert!((scalar(bce_dice(x, g)) - bce_ref - dice_ref).abs() < 1e-5);
    }
}
