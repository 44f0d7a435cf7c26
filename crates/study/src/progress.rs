//! A progress bar over the images of a run, with the decoder's rate and an ETA, on stderr
//! ([`runfolder::Ticker`]: redrawn in place on a terminal, one line every few seconds
//! otherwise — logs, CI).

use std::time::Duration;

use runfolder::{Ticker, clock, eta};

/// Progress over the images of a run.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: usize,
    /// Images evaluated in this process (resumed ones excluded), for the ETA.
    evaluated: usize,
    decodes: usize,
    decode_seconds: f64,
    ticker: Ticker,
}

impl Progress {
    /// Progress over `total` images of which `done` were finished before (resumed);
    /// `visible = false` prints nothing.
    pub fn new(total: usize, done: usize, visible: bool) -> Self {
        Self {
            total,
            done,
            evaluated: 0,
            decodes: 0,
            decode_seconds: 0.0,
            ticker: Ticker::new(visible),
        }
    }

    /// One more image evaluated with `decodes` decoder calls taking `decode_seconds`.
    pub fn image_done(&mut self, decodes: usize, decode_seconds: f64) {
        self.done += 1;
        self.evaluated += 1;
        self.decodes += decodes;
        self.decode_seconds += decode_seconds;
        if self.ticker.visible() && (self.ticker.due() || self.done == self.total) {
            let line = self.line(self.ticker.elapsed());
            self.ticker.draw(&line);
        }
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        self.ticker.finish();
    }

    /// The bar after `elapsed` time.
    fn line(&self, elapsed: Duration) -> String {
        const WIDTH: usize = 24;
        let fraction = if self.total == 0 {
            1.0
        } else {
            self.done as f64 / self.total as f64
        };
        let filled = ((fraction * WIDTH as f64).round() as usize).min(WIDTH);
        let mut line = format!(
            "[{}{}] {}/{} images {:>3.0}%",
            "#".repeat(filled),
            ".".repeat(WIDTH - filled),
            self.done,
            self.total,
            fraction * 100.0
        );
        if self.decode_seconds > 0.0 {
            line += &format!(
                " · {:.1} prompts/s",
                self.decodes as f64 / self.decode_seconds
            );
        }
        if let Some(seconds) = eta(
            elapsed,
            self.evaluated,
            self.total.saturating_sub(self.done),
        ) {
            line += &format!(" · ETA {}", clock(seconds));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bar_counts_rate_and_eta() {
        let mut p = Progress::new(10, 2, false);
        p.image_done(30, 1.5);
        p.image_done(30, 1.5);
        // 4 of 10 done, 2 evaluated in 20 s → 10 s per image, 6 left → 1m00s.
        let line = p.line(Duration::from_secs(20));
        assert!(
            line.starts_with("[##########..............] 4/10 images  40%"),
            "{line}"
        );
        assert!(
            line.contains("20.0 prompts/s") && line.contains("ETA 1m00s"),
            "{line}"
        );
        for _ in 0..6 {
            p.image_done(1, 0.1);
        }
        assert!(!p.line(Duration::from_secs(80)).contains("ETA"));
    }
}
