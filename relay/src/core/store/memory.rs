//! The in-memory store: one process, lost on restart (the epoch changes with it). Bounded, in two
//! halves. Guards (attempts, failures, used marks) are never evicted, because evicting one would
//! reopen brute force or replay: when their half is full of live entries, new ones are refused
//! and the relay fails closed. Send limits live in the other half, which never refuses: when it is
//! full, the eighth of its entries that expire soonest make room, so that nobody's traffic can
//! fill the store and turn away a fresh person (docs/security.md, A20).

use super::{Count, Store, StoreError, StoreKey};
use crate::core::clock::{Clock, UnixTime};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Default bound on live entries, both halves together: about 100 bytes each, so tens of
/// megabytes at most.
pub const DEFAULT_CAPACITY: usize = 200_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: u64,
    expires: UnixTime,
}

type Entries = HashMap<StoreKey, Entry>;

/// One half of the store.
struct Partition {
    entries: Mutex<Entries>,
    capacity: usize,
    /// Full of live entries: evict the soonest to expire (send limits), or refuse (guards).
    evicts: bool,
}

impl Partition {
    fn new(capacity: usize, evicts: bool) -> Self {
        Partition {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
            evicts,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panic while holding the lock cannot leave an entry half-written (every update is a
        // single insert), so a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more entry, or says why not.
    fn ensure_room(&self, entries: &mut Entries, now: UnixTime) -> Result<(), StoreError> {
        if entries.len() < self.capacity {
            return Ok(());
        }
        entries.retain(|_, entry| entry.expires > now);
        if entries.len() < self.capacity {
            return Ok(());
        }
        if !self.evicts {
            return Err(StoreError(format!(
                "in-memory store is full ({} live guard entries); raise OTP_RELAY_STORE_CAPACITY or use a shared store",
                self.capacity
            )));
        }
        // Evict in batches, so that a store under pressure scans its entries once per eighth of
        // its capacity rather than once per request.
        let mut expiries: Vec<UnixTime> = entries.values().map(|entry| entry.expires).collect();
        let batch = (expiries.len() / 8).max(1);
        let (_, &mut threshold, _) = expiries.select_nth_unstable(batch - 1);
        entries.retain(|_, entry| entry.expires > threshold);
        tracing::warn!(
            evicted = self.capacity - entries.len(),
            "in-memory store: send limits full; the oldest were dropped to make room"
        );
        Ok(())
    }
}

/// A bounded map of counters and claims with expiry.
pub struct MemoryStore {
    guards: Partition,
    limits: Partition,
    epoch: u64,
    clock: Arc<dyn Clock>,
}

impl MemoryStore {
    /// An empty store of at most `capacity` live entries (half for guards, half for send
    /// limits), with a fresh random epoch, telling time by `clock`.
    pub fn new(capacity: usize, clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            guards: Partition::new(capacity / 2, false),
            limits: Partition::new(capacity - capacity / 2, true),
            epoch: crate::core::random::u64(),
            clock,
        }
    }

    /// Drops every expired entry; returns how many are left.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        [&self.guards, &self.limits]
            .iter()
            .map(|partition| {
                let mut entries = partition.lock();
                entries.retain(|_, entry| entry.expires > now);
                entries.len()
            })
            .sum()
    }

    /// Live and not yet swept entries.
    pub fn len(&self) -> usize {
        self.guards.lock().len() + self.limits.lock().len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn partition(&self, key: &StoreKey) -> &Partition {
        if key.is_guard() {
            &self.guards
        } else {
            &self.limits
        }
    }

    fn live(entries: &Entries, key: &StoreKey, now: UnixTime) -> Option<Entry> {
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
        let partition = self.partition(key);
        let mut entries = partition.lock();
        let entry = match Self::live(&entries, key, now) {
            Some(entry) => Entry {
                value: entry.value + 1,
                ..entry
            },
            None => {
                if !entries.contains_key(key) {
                    partition.ensure_room(&mut entries, now)?;
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
        let mut entries = self.partition(key).lock();
        match Self::live(&entries, key, now) {
            Some(entry) if entry.value > 1 => {
                entries.insert(
                    key.clone(),
                    Entry {
                        value: entry.value - 1,
                        ..entry
                    },
                );
            }
            _ => {
                entries.remove(key);
            }
        }
        Ok(())
    }

    async fn count(&self, key: &StoreKey) -> Result<Count, StoreError> {
        let now = self.clock.now();
        Ok(
            Self::live(&self.partition(key).lock(), key, now).map_or_else(
                Count::default,
                |entry| Count {
                    value: entry.value,
                    resets_in: entry.expires.since(now),
                },
            ),
        )
    }

    async fn claim(&self, key: &StoreKey, ttl: Duration) -> Result<Option<Duration>, StoreError> {
        let now = self.clock.now();
        let partition = self.partition(key);
        let mut entries = partition.lock();
        if let Some(entry) = Self::live(&entries, key, now) {
            return Ok(Some(entry.expires.since(now)));
        }
        if !entries.contains_key(key) {
            partition.ensure_room(&mut entries, now)?;
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
        let now = self.clock.now();
        Ok(Self::live(&self.partition(key).lock(), key, now).is_some())
    }

    async fn release(&self, key: &StoreKey) -> Result<(), StoreError> {
        self.partition(key).lock().remove(key);
        Ok(())
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn describe(&self) -> String {
        format!(
            "in-memory store (capacity {} entries, lost on restart)",
            self.guards.capacity + self.limits.capacity
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::clock::ManualClock;

    const MINUTE: Duration = Duration::from_secs(60);

    /// Test keys (guards): distinct challenge ids by a small number.
    fn key(n: u8) -> StoreKey {
        StoreKey::Attempts([n; 16])
    }

    /// Test keys (send limits).
    fn limit(n: u8) -> StoreKey {
        StoreKey::AddressSends([n; 16])
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
        assert_eq!(
            store.count(&key(1)).await.unwrap(),
            Count {
                value: 2,
                resets_in: Duration::from_secs(30)
            }
        );
        clock.advance(Duration::from_secs(31));
        assert_eq!(store.count(&key(1)).await.unwrap().value, 0);
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
    async fn a_counter_taken_back_to_zero_is_gone() {
        let (store, _) = store(10);
        store.increment(&key(1), MINUTE).await.unwrap();
        store.increment(&key(1), MINUTE).await.unwrap();
        store.decrement(&key(1)).await.unwrap();
        assert_eq!(store.count(&key(1)).await.unwrap().value, 1);
        store.decrement(&key(1)).await.unwrap();
        assert_eq!(store.len(), 0, "nothing left behind");
        store.decrement(&key(1)).await.unwrap();
        store.decrement(&key(2)).await.unwrap();
        assert_eq!(store.count(&key(2)).await.unwrap().value, 0);
        assert_eq!(store.len(), 0);
    }

    #[tokio::test]
    async fn guards_stay_bounded_sweep_then_refuse() {
        // Capacity 6: three guards, three send limits.
        let (store, clock) = store(6);
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

    #[tokio::test]
    async fn full_send_limits_drop_the_oldest_and_never_refuse() {
        let (store, clock) = store(32);
        for n in 0..16 {
            store.increment(&limit(n), MINUTE).await.unwrap();
            clock.advance(Duration::from_secs(1));
        }
        // Guards are not touched by the pressure on send limits, and the reverse.
        store
            .claim(&StoreKey::Used([99; 16]), MINUTE)
            .await
            .unwrap();
        for n in 16..100 {
            assert_eq!(store.increment(&limit(n), MINUTE).await.unwrap().value, 1);
            assert!(store.len() <= 32);
        }
        assert_eq!(
            store.count(&limit(0)).await.unwrap().value,
            0,
            "oldest went first"
        );
        assert_eq!(
            store.count(&limit(99)).await.unwrap().value,
            1,
            "newest stays"
        );
        assert!(store.is_claimed(&StoreKey::Used([99; 16])).await.unwrap());
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

    #[tokio::test]
    async fn claims_count_like_entries() {
        let (store, _) = store(2);
        store.claim(&StoreKey::Used([1; 16]), MINUTE).await.unwrap();
        assert!(store.claim(&StoreKey::Used([2; 16]), MINUTE).await.is_err());
        store
            .claim(&StoreKey::ResendCooldown([1; 16]), MINUTE)
            .await
            .unwrap();
        assert_eq!(
            store
                .claim(&StoreKey::ResendCooldown([2; 16]), MINUTE)
                .await
                .unwrap(),
            None
        );
    }

    #[test]
    fn each_instance_has_its_own_epoch() {
        assert_ne!(store(1).0.epoch(), store(1).0.epoch());
    }
}
