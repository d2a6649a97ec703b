//! The in-memory store: one process, lost on restart (the epoch changes with it). Bounded: when
//! full it first sweeps expired entries, and if still full it refuses new entries rather than
//! evicting live ones, because evicting an attempt counter or a used-challenge mark would reopen
//! brute force and replay.

use super::{Count, Store, StoreError, StoreKey};
use crate::core::clock::{Clock, UnixTime};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Default bound on live entries: about 100 bytes each, so tens of megabytes at most.
pub const DEFAULT_CAPACITY: usize = 200_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: u64,
    expires: UnixTime,
}

/// A bounded map of counters and claims with expiry.
pub struct MemoryStore {
    entries: Mutex<HashMap<StoreKey, Entry>>,
    capacity: usize,
    epoch: u64,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    /// An empty store with a fresh random epoch, telling time by `clock`.
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            entries: Mutex::new(HashMap::new()),
            capacity,
            epoch: crate::core::random::u64(),
            clock,
        }
    }

    /// Drops every expired entry; returns how many are left.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.retain(|_, entry| entry.expires > now);
        entries.len()
    }

    /// Live and not yet swept entries.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<StoreKey, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written (every update is a
        // single insert), so a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more entry or says why not.
    fn ensure_room(
        &self,
        entries: &mut HashMap<StoreKey, Entry>,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        if entries.len() < self.capacity {
            return Ok(());
        }
        entries.retain(|_, entry| entry.expires > now);
        if entries.len() < self.capacity {
            Ok(())
        } else {
            Err(StoreError(format!(
                "in-memory store is full ({} live entries); raise its capacity or use a shared store",
                self.capacity
            )))
        }
    }

    fn live(entries: &HashMap<StoreKey, Entry>, key: &StoreKey, now: UnixTime) -> Option<Entry> {
        entries
            .get(key)
            .copied()
            .filter(|entry| entry.expires > now)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn increment(&self, key: &StoreKey, window: Duration) -> Result<Count, StoreError> {
        let now = self.clock.now();
        let mut entries = self.lock();
        let entry = match Self::live(&entries, key, now) {
            Some(entry) => Entry {
                value: entry.value + 1,
                ..entry
            },
            None => {
                if !entries.contains_key(key) {
                    self.ensure_room(&mut entries, now)?;
                }
                Entry {
                    value: 1,
                    expires: now + window,
                }
            }
        };
        entries.insert(key.clone(), entry);
        Ok(Count {
            value: entry.value,
            resets_in: entry.expires.since(now),
        })
    }

    async fn decrement(&self, key: &StoreKey) -> Result<(), StoreError> {
        let now = self.clock.now();
        let mut entries = self.lock();
        if let Some(entry) = Self::live(&entries, key, now) {
            entries.insert(
                key.clone(),
                Entry {
                    value: entry.value.saturating_sub(1),
                    ..entry
                },
            );
        }
        Ok(())
    }

    async fn count(&self, key: &StoreKey) -> Result<u64, StoreError> {
        Ok(Self::live(&self.lock(), key, self.clock.now()).map_or(0, |entry| entry.value))
    }

    async fn claim(&self, key: &StoreKey, ttl: Duration) -> Result<Option<Duration>, StoreError> {
        let now = self.clock.now();
        let mut entries = self.lock();
        if let Some(entry) = Self::live(&entries, key, now) {
            return Ok(Some(entry.expires.since(now)));
        }
        if !entries.contains_key(key) {
            self.ensure_room(&mut entries, now)?;
        }
        entries.insert(
            key.clone(),
            Entry {
                value: 1,
                expires: now + ttl,
            },
        );
        Ok(None)
    }

    async fn is_claimed(&self, key: &StoreKey) -> Result<bool, StoreError> {
        Ok(Self::live(&self.lock(), key, self.clock.now()).is_some())
    }

    async fn release(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn describe(&self) -> String {
        format!(
            "in-memory store (capacity {} entries, lost on restart)",
            self.capacity
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clock::ManualClock;

    const MINUTE: Duration = Duration::from_secs(60);

    /// Test keys: distinct challenge ids by a small number.
    fn key(n: u8) -> StoreKey {
        StoreKey::Attempts([n; 16])
    }

    fn store(capacity: usize) -> (MemoryStore, ManualClock) {
        let clock = ManualClock::new();
        (MemoryStore::new(capacity, Arc::new(clock.clone())), clock)
    }

    #[tokio::test]
    async fn counters_keep_their_window_and_expire() {
        let (store, clock) = store(10);
        assert_eq!(store.increment(&key(1), MINUTE).await.unwrap().value, 1);
        clock.advance(Duration::from_secs(30));
        let second = store.increment(&key(1), MINUTE).await.unwrap();
        assert_eq!(second.value, 2);
        assert_eq!(second.resets_in, Duration::from_secs(30));
        clock.advance(Duration::from_secs(31));
        assert_eq!(store.count(&key(1)).await.unwrap(), 0);
        assert_eq!(store.increment(&key(1), MINUTE).await.unwrap().value, 1);
    }

    #[tokio::test]
    async fn a_claim_succeeds_once_until_it_expires() {
        let (store, clock) = store(10);
        let used = StoreKey::Used([1; 16]);
        assert_eq!(store.claim(&used, MINUTE).await.unwrap(), None);
        assert_eq!(store.claim(&used, MINUTE).await.unwrap(), Some(MINUTE));
        assert!(store.is_claimed(&used).await.unwrap());
        clock.advance(MINUTE);
        assert!(!store.is_claimed(&used).await.unwrap());
        assert_eq!(store.claim(&used, MINUTE).await.unwrap(), None);
        store.release(&used).await.unwrap();
        assert!(!store.is_claimed(&used).await.unwrap());
    }

    #[tokio::test]
    async fn decrement_never_goes_below_zero() {
        let (store, _) = store(10);
        store.increment(&key(1), MINUTE).await.unwrap();
        store.decrement(&key(1)).await.unwrap();
        store.decrement(&key(1)).await.unwrap();
        assert_eq!(store.count(&key(1)).await.unwrap(), 0);
        store.decrement(&key(2)).await.unwrap();
        assert_eq!(store.count(&key(2)).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn stays_bounded_sweeps_then_refuses() {
        let (store, clock) = store(3);
        for n in 1..=3 {
            store.increment(&key(n), MINUTE).await.unwrap();
        }
        assert!(
            store.increment(&key(4), MINUTE).await.is_err(),
            "full of live entries"
        );
        assert!(store.claim(&key(4), MINUTE).await.is_err());
        assert_eq!(
            store.increment(&key(1), MINUTE).await.unwrap().value,
            2,
            "live keys still count"
        );
        clock.advance(MINUTE);
        assert_eq!(
            store.increment(&key(4), MINUTE).await.unwrap().value,
            1,
            "expired swept"
        );
        assert_eq!(store.len(), 1);
        clock.advance(MINUTE);
        assert_eq!(store.sweep(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_increments_are_all_counted() {
        let (store, _) = store(10);
        let store = Arc::new(store);
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.increment(&key(1), MINUTE).await.unwrap().value })
            })
            .collect();
        let mut values = Vec::new();
        for task in tasks {
            values.push(task.await.unwrap());
        }
        values.sort_unstable();
        assert_eq!(values, (1..=64).collect::<Vec<_>>());
    }

    #[test]
    fn each_instance_has_its_own_epoch() {
        assert_ne!(store(1).0.epoch(), store(1).0.epoch());
    }
}
