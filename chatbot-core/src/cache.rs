//! A small bounded in-process cache for values that never change under their key (chunk texts
//! are addressed by a hash of their content), with an age limit as a safety net.
//!
//! Two generations instead of a linked LRU: reads look in the young map, then the old one
//! (promoting what they find); when the young map is full it becomes the old one and the
//! previous old one is dropped. Memory stays under twice `capacity` entries; a hot entry
//! survives every turnover.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Bounded, thread-safe, age-limited cache.
#[derive(Debug)]
pub struct GenCache<K, V> {
    inner: Mutex<Gens<K, V>>,
    capacity: usize,
    max_age: Duration,
}

#[derive(Debug)]
struct Gens<K, V> {
    young: HashMap<K, (V, Instant)>,
    old: HashMap<K, (V, Instant)>,
}

impl<K: Eq + Hash + Clone, V: Clone> GenCache<K, V> {
    /// A cache of at most about `capacity` live entries, none older than `max_age`.
    pub fn new(capacity: usize, max_age: Duration) -> Self {
        Self {
            inner: Mutex::new(Gens { young: HashMap::new(), old: HashMap::new() }),
            capacity: capacity.max(1),
            max_age,
        }
    }

    /// The value under `key`, if cached and younger than the age limit.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut g = self.inner.lock().ok()?;
        if let Some((v, at)) = g.young.get(key) {
            return (at.elapsed() < self.max_age).then(|| v.clone());
        }
        let (k, (v, at)) = g.old.remove_entry(key)?;
        if at.elapsed() >= self.max_age {
            return None;
        }
        self.put(&mut g, k, v.clone(), at);
        Some(v)
    }

    /// Cache `value` under `key`.
    pub fn insert(&self, key: K, value: V) {
        if let Ok(mut g) = self.inner.lock() {
            self.put(&mut g, key, value, Instant::now());
        }
    }

    /// Drop the entry under `key`.
    pub fn remove(&self, key: &K) {
        if let Ok(mut g) = self.inner.lock() {
            g.young.remove(key);
            g.old.remove(key);
        }
    }

    /// Drop every entry.
    #[cfg_attr(not(feature = "postgres"), allow(dead_code))]
    pub fn clear(&self) {
        if let Ok(mut g) = self.inner.lock() {
            g.young.clear();
            g.old.clear();
        }
    }

    /// Drop every entry whose key matches (e.g. one company's).
    #[cfg(test)]
    pub fn retain(&self, mut keep: impl FnMut(&K) -> bool) {
        if let Ok(mut g) = self.inner.lock() {
            g.young.retain(|k, _| keep(k));
            g.old.retain(|k, _| keep(k));
        }
    }

    /// Live entries (young and old generation).
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.inner.lock().map_or(0, |g| g.young.len() + g.old.len())
    }

    /// True when nothing is cached.
    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn put(&self, g: &mut Gens<K, V>, key: K, value: V, at: Instant) {
        if g.young.len() >= self.capacity {
            g.old = std::mem::take(&mut g.young);
        }
        g.young.insert(key, (value, at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_misses_and_bounded_size() {
        let c = GenCache::new(4, Duration::from_secs(60));
        assert_eq!(c.get(&1), None);
        for i in 0..100 {
            c.insert(i, i * 10);
        }
        assert!(c.len() <= 8, "at most two generations of 4: {}", c.len());
        assert_eq!(c.get(&99), Some(990));
        assert_eq!(c.get(&0), None, "evicted");
    }

    #[test]
    fn a_hot_entry_survives_turnovers() {
        let c = GenCache::new(4, Duration::from_secs(60));
        c.insert("hot", 1);
        for i in 0..50 {
            c.insert(if i % 2 == 0 { "a" } else { "b" }, i);
            c.insert(["c", "d", "e", "f"][i % 4], i);
            assert_eq!(c.get(&"hot"), Some(1), "round {i}");
        }
    }

    #[test]
    fn old_entries_expire_and_retain_filters() {
        let c = GenCache::new(10, Duration::from_millis(0));
        c.insert(1, 1);
        assert_eq!(c.get(&1), None, "older than the age limit");
        let c = GenCache::new(10, Duration::from_secs(60));
        c.insert(("a", 1), 1);
        c.insert(("b", 1), 2);
        c.retain(|k| k.0 != "a");
        assert_eq!((c.get(&("a", 1)), c.get(&("b", 1))), (None, Some(2)));
        c.remove(&("b", 1));
        assert!(c.is_empty());
    }
}
