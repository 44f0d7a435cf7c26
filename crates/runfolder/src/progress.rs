//! The clock under every progress line on stderr: when to redraw, how to draw (in place on
//! a terminal, one line every few seconds otherwise — logs, CI), and the ETA.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Seconds between lines when stderr is not a terminal.
const LOG_INTERVAL: Duration = Duration::from_secs(5);

/// Draws one progress line on stderr and keeps the time since the start.
#[derive(Debug)]
pub struct Ticker {
    start: Instant,
    last_print: Option<Instant>,
    visible: bool,
    terminal: bool,
}

impl Ticker {
    /// A ticker starting now; `visible = false` draws nothing.
    pub fn new(visible: bool) -> Self {
        Self {
            start: Instant::now(),
            last_print: None,
            visible,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Whether the line is drawn at all.
    pub fn visible(&self) -> bool {
        self.visible
    }

    /// Whether a new line is due now: always on a terminal (it is redrawn in place), else
    /// when nothing was drawn yet or the last line is a few seconds old. Always false when
    /// not visible.
    pub fn due(&self) -> bool {
        self.visible
            && (self.terminal || self.last_print.is_none_or(|t| t.elapsed() >= LOG_INTERVAL))
    }

    /// Draws `line`: in place on a terminal, as a new line otherwise.
    pub fn draw(&mut self, line: &str) {
        if !self.visible {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = if self.terminal {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        self.last_print = Some(Instant::now());
    }

    /// Prints `text` as a line of its own, replacing a line drawn in place; the next
    /// [`Self::draw`] starts afresh.
    pub fn say(&mut self, text: &str) {
        if self.visible {
            if self.terminal && self.last_print.is_some() {
                eprint!("\r\x1b[K");
            }
            eprintln!("{text}");
            self.last_print = None;
        }
    }

    /// Ends a line drawn in place.
    pub fn finish(&mut self) {
        if self.visible && self.terminal && self.last_print.is_some() {
            eprintln!();
        }
    }
}

/// The estimated seconds left when `done` units took `elapsed` and `left` remain; `None`
/// before the first unit or after the last.
pub fn eta(elapsed: Duration, done: usize, left: usize) -> Option<f64> {
    (done > 0 && left > 0).then(|| elapsed.as_secs_f64() / done as f64 * left as f64)
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
    fn clock_formats() {
        assert_eq!(clock(12.4), "12s");
        assert_eq!(clock(187.0), "3m07s");
        assert_eq!(clock(3720.0), "1h02m");
    }

    #[test]
    fn eta_is_the_mean_time_per_unit_times_the_units_left() {
        assert_eq!(eta(Duration::from_secs(20), 2, 6), Some(60.0));
        assert_eq!(eta(Duration::from_secs(20), 0, 6), None);
        assert_eq!(eta(Duration::from_secs(20), 4, 0), None);
    }

    #[test]
    fn an_invisible_ticker_is_never_due() {
        let mut t = Ticker::new(false);
        assert!(!t.due());
        t.draw("nothing");
        assert!(!t.visible() && !t.due());
    }
}
