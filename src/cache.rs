//! A small time-bounded cache for the records a warm function reuses
//! (`TRUSTGATE_CONFIG_CACHE_SECONDS`). Safe under concurrent requests; bounded in size so
//! unknown keys sent by a caller cannot grow it without limit.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    entries: Mutex<HashMap<K, (Instant, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(ttl: Duration, capacity: usize) -> TtlCache<K, V> {
        TtlCache {
            ttl,
            capacity,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value cached under `key` if it is younger than the TTL.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    pub fn insert(&self, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| at.elapsed() < self.ttl);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    pub fn remove(&self, key: &K) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// The cached value, or the one `load` produces (then cached). Errors are not cached.
    pub async fn get_or_load<E, F>(&self, key: &K, load: F) -> Result<V, E>
    where
        F: Future<Output = Result<V, E>>,
    {
        if let Some(value) = self.get(key) {
            return Ok(value);
        }
        let value = load.await?;
        self.insert(key.clone(), value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn caches_until_the_ttl_and_not_errors() {
        let cache = TtlCache::new(Duration::from_millis(50), 10);
        assert_eq!(
            cache.get_or_load(&1, async { Ok::<_, ()>("a") }).await,
            Ok("a")
        );
        assert_eq!(
            cache.get_or_load(&1, async { Ok::<_, ()>("b") }).await,
            Ok("a")
        );
        assert_eq!(
            cache
                .get_or_load(&2, async { Err::<&str, _>("down") })
                .await,
            Err("down")
        );
        assert_eq!(cache.get(&2), None);
        cache.insert(3, "c");
        cache.remove(&3);
        assert_eq!(cache.get(&3), None);
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(cache.get(&1), None);
    }

    #[test]
    fn zero_ttl_caches_nothing_and_capacity_is_bounded() {
        let off = TtlCache::new(Duration::ZERO, 10);
        off.insert(1, 1);
        assert_eq!(off.get(&1), None);
        let small = TtlCache::new(Duration::from_secs(60), 3);
        for i in 0..100 {
            small.insert(i, i);
        }
        assert!(small.entries.lock().unwrap().len() <= 3);
        assert_eq!(small.get(&99), Some(99));
    }
}
