//! What the decoder is prompted with while it learns (`--mode`), and in validation.
//!
//! - `promptless` (the paper's experiment): no points, no box; the sparse prompt is empty
//!   and the dense prompt is `no_mask_embed`. Validated with the evaluator's `promptless`
//!   protocol.
//! - `box`: the target's tight bounding box, each side moved outwards by a seeded 0–`jitter`
//!   pixels (the evaluator's `box-jitter`, keyed by epoch and image); validated with `box`.
//! - `point`: one positive click on a seeded random target pixel; validated with `center`
//!   (the target pixel farthest from its boundary).
//!
//! Prompts depend only on the seed, the epoch and the image id.

use std::fmt;
use std::str::FromStr;

use eval::protocols::{Prompt, first_prompt};
use eval::rng::SplitMix64;
use eval::{Protocol, ProtocolOptions};

use crate::error::FinetuneError;

/// The prompt mode of fine-tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No prompt at all (the paper's vessel experiment).
    Promptless,
    /// A jittered bounding box of the target.
    Box,
    /// One positive point on the target.
    Point,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 3] = [Mode::Promptless, Mode::Box, Mode::Point];

    /// The name on the command line and in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Promptless => "promptless",
            Mode::Box => "box",
            Mode::Point => "point",
        }
    }

    /// The evaluator protocol validation uses.
    pub fn protocol(self) -> Protocol {
        match self {
            Mode::Promptless => Protocol::Promptless,
            Mode::Box => Protocol::Box,
            Mode::Point => Protocol::Center,
        }
    }

    /// The training prompt of the image `id` (target `pixels` in a `width × height` image)
    /// in `epoch`; `None` in `promptless` mode.
    pub fn training_prompt(
        self,
        pixels: &[u32],
        size: (usize, usize),
        seed: u64,
        jitter_px: u32,
        epoch: usize,
        id: &str,
    ) -> Option<Prompt> {
        let (height, width) = size;
        let epoch = epoch.to_string();
        match self {
            Mode::Promptless => None,
            Mode::Box => {
                let options = ProtocolOptions {
                    jitter_px,
                    seed,
                    ..ProtocolOptions::default()
                };
                let key = ["finetune-box", &epoch, id];
                Some(first_prompt(Protocol::BoxJitter, pixels, width, height, &options, &key).0)
            }
            Mode::Point => {
                let mut rng = SplitMix64::keyed(seed, &["finetune-point", &epoch, id]);
                let pick = (rng.next_u64() % pixels.len().max(1) as u64) as usize;
                let p = *pixels.get(pick)? as usize;
                Some(Prompt {
                    points: vec![[(p % width) as f64, (p / width) as f64]],
                    labels: vec![1],
                    bbox: None,
                    multimask: false,
                })
            }
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = FinetuneError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| {
                FinetuneError::option("--mode", format!("`{s}`; use promptless, box or point"))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_are_seeded_and_on_target() {
        // A 10×6 image with a 3×2 target at x 4..7, y 2..4.
        let pixels: Vec<u32> = (2..4)
            .flat_map(|y| (4..7).map(move |x| (y * 10 + x) as u32))
            .collect();
        assert!(
            Mode::Promptless
                .training_prompt(&pixels, (6, 10), 1, 5, 0, "a")
                .is_none()
        );
        let point = |epoch| {
            Mode::Point
                .training_prompt(&pixels, (6, 10), 1, 5, epoch, "a")
                .unwrap()
        };
        assert_eq!(point(0), point(0));
        for epoch in 0..20 {
            let p = point(epoch).points[0];
            let flat = p[1] as u32 * 10 + p[0] as u32;
            assert!(pixels.contains(&flat));
        }
        let boxed = Mode::Box
            .training_prompt(&pixels, (6, 10), 1, 2, 3, "a")
            .unwrap()
            .bbox
            .unwrap();
        assert!(boxed[0] <= 4.0 && boxed[2] >= 6.0 && boxed[0] >= 2.0 && boxed[2] <= 8.0);
        assert_eq!("box".parse::<Mode>().unwrap(), Mode::Box);
        assert!("boxes".parse::<Mode>().is_err());
    }
}
