//! Decoded volumes kept in memory for slicing, least recently used first out.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use imaging::Volume;

use crate::image_id::VolumeId;

/// Bytes of decoded volumes kept in memory for slicing.
pub const VOLUME_CACHE_BYTES: usize = 512 << 20;

/// Recently used volumes, least recently used dropped first, within a byte budget.
#[derive(Debug)]
pub struct VolumeCache {
    budget: usize,
    entries: Mutex<VecDeque<(VolumeId, Arc<Volume>)>>,
}

impl VolumeCache {
    /// An empty cache of `budget` bytes.
    pub fn new(budget: usize) -> Self {
        Self {
            budget,
            entries: Mutex::new(VecDeque::new()),
        }
    }

    /// The volume `id`, if cached (and marks it used).
    pub fn get(&self, id: &VolumeId) -> Option<Arc<Volume>> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let at = entries.iter().position(|(k, _)| k == id)?;
        let entry = entries.remove(at)?;
        let volume = entry.1.clone();
        entries.push_front(entry);
        Some(volume)
    }

    /// Keeps `volume` (if it fits the budget at all), dropping the least recently used.
    pub fn insert(&self, id: VolumeId, volume: Arc<Volume>) {
        if volume.byte_len() > self.budget {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        entries.retain(|(k, _)| *k != id);
        entries.push_front((id, volume));
        let mut used: usize = entries.iter().map(|(_, v)| v.byte_len()).sum();
        while used > self.budget {
            match entries.pop_back() {
                Some((_, v)) => used -= v.byte_len(),
                None => break,
            }
        }
    }
}
