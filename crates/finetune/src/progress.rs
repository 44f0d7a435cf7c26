//! Training progress on stderr: a bar over the steps of the epoch with the running loss
//! and an ETA for the whole run (redrawn in place on a terminal, one line every few seconds
//! otherwise), and one summary line per epoch with the validation Dice.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress of a training run.
#[derive(Debug)]
pub struct TrainProgress {
    epochs: usize,
    steps_per_epoch: usize,
    /// Steps taken in this process, for the ETA.
    steps_here: usize,
    /// Steps left in the whole run.
    steps_left: usize,
    start: Instant,
    last_print: Option<Instant>,
    visible: bool,
    terminal: bool,
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
            start: Instant::now(),
            last_print: None,
            visible,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Step `step` (1-based) of `epoch` (1-based) is done; `loss` is the epoch's mean so far.
    pub fn step(&mut self, epoch: usize, step: usize, loss: f64) {
        self.steps_here += 1;
        self.steps_left = self.steps_left.saturating_sub(1);
        let due = self
            .last_print
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if self.visible && (self.terminal || due) {
            let line = self.line(epoch, step, loss, self.start.elapsed());
            self.print(&line, self.terminal);
        }
    }

    /// The summary line of a finished epoch (or of the zero-shot pass, epoch 0).
    pub fn epoch(&mut self, text: &str) {
        if self.visible {
            if self.terminal && self.last_print.is_some() {
                eprint!("\r\x1b[K");
            }
            eprintln!("{text}");
            self.last_print = None;
        }
    }

    fn print(&mut self, line: &str, in_place: bool) {
        let mut err = std::io::stderr().lock();
        let _ = if in_place {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        self.last_print = Some(Instant::now());
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
        if self.steps_here > 0 && self.steps_left > 0 {
            let per_step = elapsed.as_secs_f64() / self.steps_here as f64;
            line += &format!(" · ETA {}", clock(per_step * self.steps_left as f64));
        }
        line
    }
}

/// `1h02m`, `3m07s` or `12s`.
pub fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, min, sec) => format!("{min}m{sec:02}s"),
        (h, min, _) => format!("{h}h{min:02}m"),
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
