//! A bounded map from the SHA-256 of a verified token to what it verified to.
//!
//! Verifying an ES256 signature costs far more than the rest of a request, and
//! a client presents one token many times. The resource guard and the
//! introspection endpoint both keep one of these. The cache only remembers
//! successes; what the caller still checks on every hit (sender constraint,
//! scope, revocation, that the signing key is still trusted) stays outside.
//!
//! An entry is served only while the clock is inside
//! `[verified_at, valid_until)`, where `valid_until` is at most the token's
//! `exp` and at most `max_age` seconds after the verification: a cached token
//! is never accepted at or after its `exp`, and a clock that went backwards
//! forces a fresh verification.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::clock::UnixTime;

/// The cache key: the SHA-256 of the token as presented.
pub(crate) type CacheKey = [u8; 32];

struct Entry<T> {
    value: Arc<T>,
    verified_at: UnixTime,
    valid_until: UnixTime,
}

impl<T> Entry<T> {
    fn live(&self, now: UnixTime) -> bool {
        self.verified_at <= now && now < self.valid_until
    }
}

/// See the [module docs](self).
pub(crate) struct VerifiedCache<T> {
    capacity: usize,
    max_age: i64,
    map: RwLock<HashMap<CacheKey, Entry<T>>>,
}

impl<T> VerifiedCache<T> {
    /// At most `capacity` entries (0 disables the cache), each served for at
    /// most `max_age` seconds.
    pub(crate) fn new(capacity: usize, max_age: i64) -> Self {
        VerifiedCache {
            capacity,
            max_age,
            map: RwLock::new(HashMap::new()),
        }
    }

    /// A live entry, or `None`.
    pub(crate) fn get(&self, key: &CacheKey, now: UnixTime) -> Option<Arc<T>> {
        if self.capacity == 0 {
            return None;
        }
        let map = self.map.read().ok()?;
        let entry = map.get(key)?;
        entry.live(now).then(|| Arc::clone(&entry.value))
    }

    /// Remember `value`, verified at `now`, for a token that expires at `exp`.
    /// When the map is full, expired entries go first, then an arbitrary
    /// eighth of the live ones, so an insert never grows it past `capacity`.
    pub(crate) fn insert(&self, key: CacheKey, value: Arc<T>, exp: UnixTime, now: UnixTime) {
        let valid_until = exp.min(now.saturating_add(self.max_age));
        if self.capacity == 0 || valid_until <= now {
            return;
        }
        // A poisoned lock only costs the cache, never the request.
        let Ok(mut map) = self.map.write() else {
            return;
        };
        if map.len() >= self.capacity && !map.contains_key(&key) {
            map.retain(|_, e| e.live(now));
            if map.len() >= self.capacity {
                let mut excess = map.len() - self.capacity.saturating_mul(7) / 8;
                map.retain(|_, _| {
                    if excess > 0 {
                        excess -= 1;
                        false
                    } else {
                        true
                    }
                });
            }
        }
        map.insert(
            key,
            Entry {
                value,
                verified_at: now,
                valid_until,
            },
        );
    }

    /// Forget one token.
    pub(crate) fn remove(&self, key: &CacheKey) {
        if let Ok(mut map) = self.map.write() {
            map.remove(key);
        }
    }

    /// How many entries the map holds (live or not yet evicted).
    pub(crate) fn len(&self) -> usize {
        self.map.read().map(|m| m.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u32) -> CacheKey {
        let mut k = [0u8; 32];
        k[..4].copy_from_slice(&n.to_be_bytes());
        k
    }

    #[test]
    fn entry_is_served_until_exp_and_never_at_exp() {
        let cache = VerifiedCache::new(8, 60);
        cache.insert(key(1), Arc::new("claims"), 1_010, 1_000);
        assert_eq!(cache.get(&key(1), 1_000).as_deref(), Some(&"claims"));
        assert_eq!(cache.get(&key(1), 1_009).as_deref(), Some(&"claims"));
        assert_eq!(cache.get(&key(1), 1_010), None);
        assert_eq!(cache.get(&key(2), 1_000), None);
    }

    #[test]
    fn entry_is_served_at_most_max_age_after_verification() {
        let cache = VerifiedCache::new(8, 60);
        cache.insert(key(1), Arc::new(()), 10_000, 1_000);
        assert!(cache.get(&key(1), 1_059).is_some());
        assert!(cache.get(&key(1), 1_060).is_none());
    }

    #[test]
    fn clock_going_backwards_forces_a_fresh_verification() {
        let cache = VerifiedCache::new(8, 60);
        cache.insert(key(1), Arc::new(()), 2_000, 1_000);
        assert!(cache.get(&key(1), 999).is_none());
    }

    #[test]
    fn expired_tokens_and_a_zero_capacity_cache_store_nothing() {
        let cache = VerifiedCache::new(8, 60);
        cache.insert(key(1), Arc::new(()), 1_000, 1_000);
        assert_eq!(cache.len(), 0);
        let off = VerifiedCache::new(0, 60);
        off.insert(key(1), Arc::new(()), 2_000, 1_000);
        assert_eq!(off.len(), 0);
        assert!(off.get(&key(1), 1_000).is_none());
    }

    #[test]
    fn map_never_grows_past_its_capacity_and_evicts_expired_entries_first() {
        let cache = VerifiedCache::new(16, 60);
        // Eight entries that expire at 1_005, eight live ones.
        for n in 0..8 {
            cache.insert(key(n), Arc::new(n), 1_005, 1_000);
        }
        for n in 8..16 {
            cache.insert(key(n), Arc::new(n), 2_000, 1_000);
        }
        assert_eq!(cache.len(), 16);
        cache.insert(key(100), Arc::new(100), 2_000, 1_010);
        assert_eq!(cache.len(), 9, "the eight expired entries were evicted");
        for n in 8..16 {
            assert!(cache.get(&key(n), 1_010).is_some());
        }
        for n in 200..1_000 {
            cache.insert(key(n), Arc::new(n), 2_000, 1_010);
            assert!(cache.len() <= 16);
        }
        assert!(
            cache.get(&key(999), 1_010).is_some(),
            "the newest entry is kept"
        );
    }

    #[test]
    fn removed_entry_is_not_served() {
        let cache = VerifiedCache::new(8, 60);
        cache.insert(key(1), Arc::new(()), 2_000, 1_000);
        cache.remove(&key(1));
        assert!(cache.get(&key(1), 1_000).is_none());
    }
}
