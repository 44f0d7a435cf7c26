//! Training progress on stderr: a bar over the steps of the epoch with the running loss
//! and an ETA for the whole run, and one summary line per epoch with the validation Dice
//! ([`runfolder::Ticker`]: redrawn in place on a terminal, one line every few seconds
//! otherwise).

use std::time::Duration;

use runfolder::{Ticker, clock, eta};

/// Progress of a training run.
#[derive(Debug)]
pub struct TrainProgress {
    epochs: usize,
    steps_per_epoch: usize,
    /// Steps taken in this process, for the ETA.
    steps_here: usize,
    /// Steps left in the whole run.
    steps_left: usize,
    ticker: Ticker,
}

impl TrainProgress {
    /// Progress over `epochs` epochs of `steps_per_epoch` steps, `done` epochs finished
    /// before (resumed); `visible = false` prints nothing.
    pub fn new(epochs: usize, done: usize, steps_per_epoch: usize, visible: bool) -> Self {
        Self {
            epochs,
            steps_per_epoch,
            steps_here: 0,
            steps_left: epochs.saturating_sub(done) * steps_per_epoch,
            ticker: Ticker::new(visible),
        }
    }

    /// Step `step` (1-based) of `epoch` (1-based) is done; `loss` is the epoch's mean so far.
    pub fn step(&mut self, epoch: usize, step: usize, loss: f64) {
        self.steps_here += 1;
        self.steps_left = self.steps_left.saturating_sub(1);
        if self.ticker.due() {
            let line = self.line(epoch, step, loss, self.ticker.elapsed());
            self.ticker.draw(&line);
        }
    }

    /// The summary line of a finished epoch (or of the zero-shot pass, epoch 0).
    pub fn epoch(&mut self, text: &str) {
        self.ticker.say(text);
    }

    fn line(&self, epoch: usize, step: usize, loss: f64, elapsed: Duration) -> String {
        const WIDTH: usize = 20;
        let fraction = step as f64 / self.steps_per_epoch.max(1) as f64;
        let filled = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
        let mut line = format!(
            "epoch {epoch}/{} [{}{}] {step}/{} · loss {loss:.4}",
            self.epochs,
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            self.steps_per_epoch
        );
        if let Some(seconds) = eta(elapsed, self.steps_here, self.steps_left) {
            line += &format!(" · ETA {}", clock(seconds));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shows_epoch_loss_and_eta() {
        let mut p = TrainProgress::new(4, 1, 10, false);
        for s in 1..=5 {
            p.step(2, s, 0.5);
        }
        // 5 steps in 10 s → 2 s per step; 30 − 5 = 25 left → 50 s.
        let line = p.line(2, 5, 0.4321, Duration::from_secs(10));
        assert!(
            line.starts_with("epoch 2/4 [##########..........] 5/10 · loss 0.4321"),
            "{line}"
        );
        assert!(line.ends_with("ETA 50s"), "{line}");
        assert_eq!(clock(187.0), "3m07s");
    }
}
