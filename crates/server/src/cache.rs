//! The in-memory LRU of encoded embedding responses, bounded in bytes.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use axum::body::Bytes;

/// A least-recently-used map from keys to byte buffers holding at most `capacity` bytes.
#[derive(Debug)]
pub struct MemoryCache<K> {
    inner: Mutex<Lru<K>>,
}

#[derive(Debug)]
struct Lru<K> {
    capacity: usize,
    used: usize,
    clock: u64,
    entries: HashMap<K, (Bytes, u64)>,
    /// Last use → key, oldest first.
    order: BTreeMap<u64, K>,
}

impl<K: Hash + Eq + Clone> MemoryCache<K> {
    /// An empty cache of `capacity` bytes.
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(Lru {
                capacity,
                used: 0,
                clock: 0,
                entries: HashMap::new(),
                order: BTreeMap::new(),
            }),
        }
    }

    /// The value of `key`, marking it most recently used.
    pub fn get(&self, key: &K) -> Option<Bytes> {
        let mut lru = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        lru.clock += 1;
        let now = lru.clock;
        let (bytes, last) = lru.entries.get_mut(key)?;
        let (bytes, old) = (bytes.clone(), std::mem::replace(last, now));
        lru.order.remove(&old);
        lru.order.insert(now, key.clone());
        Some(bytes)
    }

    /// Inserts or replaces `key`, evicting the least recently used entries to make room;
    /// a value larger than the whole cache is not kept.
    pub fn insert(&self, key: K, bytes: Bytes) {
        let mut lru = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((old, last)) = lru.entries.remove(&key) {
            lru.used -= old.len();
            lru.order.remove(&last);
        }
        if bytes.len() > lru.capacity {
            return;
        }
        while lru.used + bytes.len() > lru.capacity {
            let Some((_, oldest)) = lru.order.pop_first() else {
                break;
            };
            if let Some((evicted, _)) = lru.entries.remove(&oldest) {
                lru.used -= evicted.len();
            }
        }
        lru.clock += 1;
        let now = lru.clock;
        lru.used += bytes.len();
        lru.order.insert(now, key.clone());
        lru.entries.insert(key, (bytes, now));
    }

    /// Bytes held.
    pub fn used(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .used
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize) -> Bytes {
        Bytes::from(vec![0u8; n])
    }

    #[test]
    fn evicts_least_recently_used_within_the_byte_budget() {
        let cache = MemoryCache::new(10);
        cache.insert("a", bytes(4));
        cache.insert("b", bytes(4));
        assert!(cache.get(&"a").is_some()); // b is now the oldest
        cache.insert("c", bytes(4));
        assert!(cache.get(&"b").is_none());
        assert!(cache.get(&"a").is_some());
        assert!(cache.get(&"c").is_some());
        assert_eq!(cache.used(), 8);
    }

    #[test]
    fn replacing_and_oversized_values_keep_the_accounting_right() {
        let cache = MemoryCache::new(10);
        cache.insert("a", bytes(6));
        cache.insert("a", bytes(3));
        assert_eq!(cache.used(), 3);
        cache.insert("huge", bytes(11));
        assert!(cache.get(&"huge").is_none());
        assert_eq!(cache.get(&"a").map(|b| b.len()), Some(3));
        cache.insert("b", bytes(7));
        assert_eq!(cache.used(), 10);
        cache.insert("c", bytes(10));
        assert_eq!(cache.used(), 10);
        assert!(cache.get(&"a").is_none() && cache.get(&"b").is_none());
    }
}
