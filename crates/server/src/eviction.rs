//! The eviction task of the disk budget: woken when a write takes the store over
//! `--cache-max-bytes`, it asks teaching what decks and running sessions use and evicts
//! the least recently used of the rest ([`crate::disk`]).

use std::sync::Arc;

use crate::disk::Area;
use crate::state::AppState;

/// Starts the task that evicts whenever a write takes the store over budget. It holds the
/// state weakly and ends with it.
pub fn start(state: &Arc<AppState>) {
    let Some(mut wakeups) = state.store.usage.take_wakeups() else {
        return;
    };
    let state = Arc::downgrade(state);
    tokio::spawn(async move {
        while wakeups.recv().await.is_some() {
            let Some(state) = state.upgrade() else {
                break;
            };
            let _ = tokio::task::spawn_blocking(move || evict(&state)).await;
        }
    });
}

/// One eviction pass: what decks and running sessions use is kept, and nothing is
/// removed when that cannot be read.
pub fn evict(state: &AppState) -> usize {
    if !state.store.usage.over_budget() {
        return 0;
    }
    let in_use = match state.teaching.content_in_use() {
        Ok(in_use) => in_use,
        Err(e) => {
            tracing::error!(error = %e, "not evicting: cannot read what decks use");
            return 0;
        }
    };
    state.store.usage.evict(&|area, id| match area {
        Area::Images | Area::Embeddings => in_use.images.contains(id),
        Area::Volumes => in_use.volumes.contains(id),
    })
}
