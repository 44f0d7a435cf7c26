//! Upload bodies held in memory (`--receive-memory`): every byte a body buffer holds is
//! charged to one server-wide budget from the moment it is allocated until its request
//! ends, so many signed-in clients sending large bodies at once cannot grow the server
//! past the budget. Charging follows what actually arrives, never what a header
//! announces: a client that trickles (or announces much and sends little) holds only what
//! it sent.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use futures_util::StreamExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// The unit of the budget's permits.
const KIB: usize = 1 << 10;
/// Seconds a refused client is told to wait (`Retry-After`).
const RETRY_AFTER_S: u64 = 5;

/// The memory shared by the bodies being received and handled.
#[derive(Debug)]
pub struct ReceiveBudget {
    free: Arc<Semaphore>,
    kib: usize,
}

impl ReceiveBudget {
    /// A budget of `bytes` (rounded up to whole KiB).
    pub fn new(bytes: u64) -> Self {
        let kib = usize::try_from(bytes.div_ceil(KIB as u64))
            .unwrap_or(usize::MAX)
            .clamp(1, Semaphore::MAX_PERMITS);
        Self {
            free: Arc::new(Semaphore::new(kib)),
            kib,
        }
    }

    /// Bytes not held by any body now.
    pub fn free_bytes(&self) -> u64 {
        self.free.available_permits() as u64 * KIB as u64
    }

    /// The whole budget, bytes.
    pub fn total_bytes(&self) -> u64 {
        self.kib as u64 * KIB as u64
    }

    /// The budget and what bodies hold of it, in the Prometheus text format of `/metrics`.
    pub fn render(&self) -> String {
        format!(
            "# HELP samscope_receive_memory_bytes Memory held by upload bodies now.\n# TYPE samscope_receive_memory_bytes gauge\nsamscope_receive_memory_bytes {}\n# HELP samscope_receive_memory_budget_bytes The budget of upload bodies in memory (--receive-memory).\n# TYPE samscope_receive_memory_budget_bytes gauge\nsamscope_receive_memory_budget_bytes {}\n",
            self.total_bytes() - self.free_bytes(),
            self.total_bytes()
        )
    }
}

/// What one body holds of the budget; given back when dropped (with the request).
#[derive(Debug)]
pub struct Charge {
    budget: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    held_kib: usize,
    /// Whether it is waiting for other bodies to give memory back.
    waiting: bool,
}

impl Charge {
    /// A charge of nothing yet against `budget`.
    pub fn new(budget: &ReceiveBudget) -> Self {
        Self {
            budget: budget.free.clone(),
            held: None,
            held_kib: 0,
            waiting: false,
        }
    }

    /// Holds at least `bytes` of the budget, waiting while other bodies hold the rest.
    async fn grow_to(&mut self, bytes: usize) -> Result<(), ApiError> {
        let want = bytes.div_ceil(KIB);
        if want <= self.held_kib {
            return Ok(());
        }
        let more = u32::try_from(want - self.held_kib)
            .map_err(|_| ApiError::internal("a body larger than 4 TiB was admitted"))?;
        self.waiting = true;
        let permit = self
            .budget
            .clone()
            .acquire_many_owned(more)
            .await
            .map_err(|_| ApiError::internal("receive budget closed"))?;
        self.waiting = false;
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        self.held_kib = want;
        Ok(())
    }
}

impl Charge {
    /// Whether it was waiting for memory (rather than for the client) when it was stopped.
    pub fn was_waiting(&self) -> bool {
        self.waiting
    }
}

/// The answer when the budget stays full for longer than the body may take.
pub fn budget_full() -> ApiError {
    ApiError::Busy {
        what: "the memory for upload bodies (--receive-memory)",
        retry_after_s: RETRY_AFTER_S,
    }
}

/// The body's bytes, at most `limit` of them, each buffer growth charged to `charge`
/// first (so the buffer never holds memory the budget has not granted).
pub async fn read_body(
    body: Body,
    limit: usize,
    charge: &mut Charge,
    too_large: impl Fn() -> ApiError,
) -> Result<Bytes, ApiError> {
    let mut stream = body.into_data_stream();
    let mut buffer = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest(format!("reading the body: {e}")))?;
        let needed = buffer.len() + chunk.len();
        if needed > limit {
            return Err(too_large());
        }
        if needed > buffer.capacity() {
            let capacity = needed.max(buffer.capacity() * 2).min(limit);
            charge.grow_to(capacity).await?;
            buffer.reserve_exact(capacity - buffer.len());
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(bytes: usize) -> Body {
        Body::from(vec![7u8; bytes])
    }

    #[tokio::test]
    async fn a_body_holds_what_its_buffer_holds_until_it_is_dropped() {
        let budget = ReceiveBudget::new(1 << 20);
        let mut charge = Charge::new(&budget);
        let bytes = read_body(body_of(300 << 10), 1 << 20, &mut charge, || {
            ApiError::TooLarge("too large".into())
        })
        .await
        .unwrap();
        assert_eq!(bytes.len(), 300 << 10);
        let held = budget.total_bytes() - budget.free_bytes();
        assert!((300 << 10..=600 << 10).contains(&held), "held {held}");
        drop(charge);
        assert_eq!(budget.free_bytes(), budget.total_bytes());
    }

    #[tokio::test]
    async fn a_body_waits_while_others_hold_the_budget() {
        let budget = ReceiveBudget::new(256 << 10);
        let mut first = Charge::new(&budget);
        first.grow_to(200 << 10).await.unwrap();
        let mut second = Charge::new(&budget);
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            read_body(body_of(100 << 10), 1 << 20, &mut second, || {
                ApiError::TooLarge("too large".into())
            }),
        )
        .await;
        assert!(waiting.is_err(), "the second body waits for room");
        drop(first);
        let mut third = Charge::new(&budget);
        let bytes = read_body(body_of(100 << 10), 1 << 20, &mut third, || {
            ApiError::TooLarge("too large".into())
        })
        .await
        .unwrap();
        assert_eq!(bytes.len(), 100 << 10);
    }

    #[test]
    fn a_full_budget_answers_busy_naming_the_flag() {
        let refusal = budget_full();
        assert!(
            refusal.to_string().contains("--receive-memory"),
            "{refusal}"
        );
        assert!(matches!(
            refusal,
            ApiError::Busy {
                retry_after_s: 5,
                ..
            }
        ));
    }

    #[tokio::test]
    async fn a_body_over_the_limit_is_refused() {
        let budget = ReceiveBudget::new(1 << 20);
        let mut charge = Charge::new(&budget);
        let refused = read_body(body_of(2000), 1000, &mut charge, || {
            ApiError::TooLarge("too large".into())
        })
        .await;
        assert!(matches!(refused, Err(ApiError::TooLarge(_))));
    }
}
