//! A progress bar with ETA on stderr: redrawn in place on a terminal, one line every few
//! seconds otherwise (logs, CI).

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Progress over the images of a run.
#[derive(Debug)]
pub struct Progress {
    total: usize,
    done: usize,
    /// Images evaluated in this process (resumed ones excluded), for the ETA.
    evaluated: usize,
    decodes: usize,
    decode_seconds: f64,
    start: Instant,
    last_print: Option<Instant>,
    visible: bool,
    terminal: bool,
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
            start: Instant::now(),
            last_print: None,
            visible,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// One more image evaluated with `decodes` decoder calls taking `decode_seconds`.
    pub fn image_done(&mut self, decodes: usize, decode_seconds: f64) {
        self.done += 1;
        self.evaluated += 1;
        self.decodes += decodes;
        self.decode_seconds += decode_seconds;
        let due = self
            .last_print
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(5));
        if self.visible && (self.terminal || due || self.done == self.total) {
            self.print();
        }
    }

    /// Ends the bar's line.
    pub fn finish(&mut self) {
        if self.visible && self.terminal && self.last_print.is_some() {
            eprintln!();
        }
    }

    fn print(&mut self) {
        let line = self.line(self.start.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        self.last_print = Some(Instant::now());
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
        if self.evaluated > 0 && self.done < self.total {
            let per_image = elapsed.as_secs_f64() / self.evaluated as f64;
            let eta = per_image * (self.total - self.done) as f64;
            line += &format!(" · ETA {}", clock(eta));
        }
        line
    }
}

/// `1h02m`, `3m07s` or `12s`.
fn clock(seconds: f64) -> String {
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

    #[test]
    fn clock_formats() {
        assert_eq!(clock(12.4), "12s");
        assert_eq!(clock(187.0), "3m07s");
        assert_eq!(clock(3720.0), "1h02m");
    }
}
