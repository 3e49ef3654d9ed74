//! A small time-bounded cache for the warm Lambda container: a burst of events about one role
//! costs one set of IAM calls, and nothing is older than the TTL. An entry may also be given
//! its own, earlier end (assumed credentials, until shortly before they expire).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The TTL when `ROLEWARDEN_CACHE_TTL_SECONDS` is not set (0 turns the cache off).
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);
/// Entries kept at most; past it the oldest entry is evicted.
pub const DEFAULT_CAPACITY: usize = 1024;

#[derive(Debug)]
pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    /// Each value with the instant it stops being fresh.
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        TtlCache {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// A fresh entry, if there is one.
    pub fn get(&self, key: &K) -> Option<V> {
        self.get_at(key, Instant::now())
    }

    pub fn insert(&self, key: K, value: V) {
        self.insert_at(key, value, Instant::now());
    }

    /// Keeps `value` until `until`, or the TTL if that comes first.
    pub fn insert_until(&self, key: K, value: V, until: Instant) {
        let now = Instant::now();
        self.insert_ending(key, value, now, until.min(now + self.ttl));
    }

    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn get_at(&self, key: &K, now: Instant) -> Option<V> {
        let mut entries = self.entries.lock().ok()?;
        match entries.get(key) {
            Some((until, value)) if now < *until => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    fn insert_at(&self, key: K, value: V, now: Instant) {
        self.insert_ending(key, value, now, now + self.ttl);
    }

    fn insert_ending(&self, key: K, value: V, now: Instant, until: Instant) {
        if self.ttl.is_zero() || self.capacity == 0 || until <= now {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (until, _)| now < *until);
            if entries.len() >= self.capacity {
                let first = entries
                    .iter()
                    .min_by_key(|(_, (until, _))| *until)
                    .map(|(k, _)| k.clone());
                if let Some(first) = first {
                    entries.remove(&first);
                }
            }
        }
        entries.insert(key, (until, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = TtlCache::new(Duration::from_secs(300), 10);
        let t0 = Instant::now();
        cache.insert_at("role", 1, t0);
        assert_eq!(
            cache.get_at(&"role", t0 + Duration::from_secs(299)),
            Some(1)
        );
        assert_eq!(cache.get_at(&"role", t0 + Duration::from_secs(300)), None);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_oldest_entry_goes_when_full() {
        let cache = TtlCache::new(Duration::from_secs(300), 2);
        let t0 = Instant::now();
        cache.insert_at("a", 1, t0);
        cache.insert_at("b", 2, t0 + Duration::from_secs(1));
        cache.insert_at("c", 3, t0 + Duration::from_secs(2));
        assert_eq!(cache.len(), 2);
        let now = t0 + Duration::from_secs(3);
        assert_eq!(cache.get_at(&"a", now), None);
        assert_eq!(cache.get_at(&"b", now), Some(2));
        assert_eq!(cache.get_at(&"c", now), Some(3));
    }

    #[test]
    fn an_entry_may_end_before_the_ttl() {
        let cache = TtlCache::new(Duration::from_secs(300), 10);
        let t0 = Instant::now();
        cache.insert_ending("creds", 1, t0, t0 + Duration::from_secs(60));
        cache.insert_at("role", 2, t0);
        let later = t0 + Duration::from_secs(61);
        assert_eq!(cache.get_at(&"creds", later), None);
        assert_eq!(cache.get_at(&"role", later), Some(2));
    }

    #[test]
    fn a_zero_ttl_caches_nothing() {
        let cache = TtlCache::new(Duration::ZERO, 10);
        cache.insert("a", 1);
        assert_eq!(cache.get(&"a"), None);
    }
}
