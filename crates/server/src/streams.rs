//! Caps on open teaching event streams, per server and per session: each stream holds a
//! [`StreamSlot`] for as long as it is open, and gives it back when it ends (the client
//! went away, the session expired or the server shuts down).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::ApiError;

#[derive(Debug, Default)]
struct Open {
    total: usize,
    per_session: HashMap<String, usize>,
}

/// The open event streams, counted against the two caps.
#[derive(Debug)]
pub struct StreamSlots {
    max_total: usize,
    max_per_session: usize,
    open: Arc<Mutex<Open>>,
}

/// One open stream's place; dropping it frees the place.
#[derive(Debug)]
pub struct StreamSlot {
    session: String,
    open: Arc<Mutex<Open>>,
}

impl StreamSlots {
    /// At most `max_total` streams on the server and `max_per_session` on one session.
    pub fn new(max_total: usize, max_per_session: usize) -> Self {
        Self {
            max_total,
            max_per_session,
            open: Arc::default(),
        }
    }

    /// A place for one more stream of `session`, or 503 `too_many_streams`.
    pub fn acquire(&self, session: &str) -> Result<StreamSlot, ApiError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= self.max_total {
            return Err(ApiError::TooManyStreams(format!(
                "this server already has {} open event streams, its limit",
                self.max_total
            )));
        }
        let count = open.per_session.entry(session.to_string()).or_default();
        if *count >= self.max_per_session {
            return Err(ApiError::TooManyStreams(format!(
                "this teaching session already has {} open event streams, its limit",
                self.max_per_session
            )));
        }
        *count += 1;
        open.total += 1;
        Ok(StreamSlot {
            session: session.to_string(),
            open: self.open.clone(),
        })
    }

    /// Streams open now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }

    /// The `/metrics` gauge of open streams (Prometheus text format 0.0.4).
    pub fn render(&self) -> String {
        format!(
            "# HELP samscope_event_streams Teaching event streams open now.\n# TYPE samscope_event_streams gauge\nsamscope_event_streams {}\n",
            self.open()
        )
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.per_session.get_mut(&self.session) {
            *count -= 1;
            if *count == 0 {
                open.per_session.remove(&self.session);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_caps_hold_and_dropped_slots_come_back() {
        let slots = StreamSlots::new(3, 2);
        let a1 = slots.acquire("a").unwrap();
        let _a2 = slots.acquire("a").unwrap();
        let err = slots.acquire("a").unwrap_err();
        assert_eq!(err.code(), "too_many_streams");
        assert!(err.to_string().contains("session"), "{err}");
        let _b1 = slots.acquire("b").unwrap();
        let err = slots.acquire("b").unwrap_err();
        assert!(err.to_string().contains("server"), "{err}");
        assert_eq!(slots.open(), 3);
        drop(a1);
        assert_eq!(slots.open(), 2);
        let _a3 = slots.acquire("a").unwrap();
        assert!(slots.acquire("c").is_err());
    }
}
