//! The in-memory ledger: one process, lost on restart (the epoch changes with it). Bounded: when
//! full it first sweeps expired entries, and if still full it refuses new entries rather than
//! evicting live ones, because evicting an attempt counter or a used-challenge mark would reopen
//! brute force and replay.

use super::{Count, Ledger, LedgerError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Default bound on live entries: about 100 bytes each, so tens of megabytes at most.
pub const DEFAULT_CAPACITY: usize = 200_000;

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: u64,
    expires: Instant,
}

/// A bounded map of counters and claims with expiry.
pub struct MemoryLedger {
    entries: Mutex<HashMap<String, Entry>>,
    capacity: usize,
    epoch: u64,
}

impl MemoryLedger {
    /// An empty ledger with a fresh random epoch.
    pub fn new(capacity: usize) -> Self {
        MemoryLedger {
            entries: Mutex::new(HashMap::new()),
            capacity,
            epoch: crate::random::u64(),
        }
    }

    /// Drops every expired entry; returns how many are left.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
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

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding the lock cannot leave an entry half-written (every update is a
        // single insert), so a poisoned map is still consistent.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes room for one more entry or says why not.
    fn ensure_room(
        &self,
        entries: &mut HashMap<String, Entry>,
        now: Instant,
    ) -> Result<(), LedgerError> {
        if entries.len() < self.capacity {
            return Ok(());
        }
        entries.retain(|_, entry| entry.expires > now);
        if entries.len() < self.capacity {
            Ok(())
        } else {
            Err(LedgerError(format!(
                "in-memory store is full ({} live entries); raise its capacity or use a shared store",
                self.capacity
            )))
        }
    }

    fn live(entries: &HashMap<String, Entry>, key: &str, now: Instant) -> Option<Entry> {
        entries
            .get(key)
            .copied()
            .filter(|entry| entry.expires > now)
    }
}

#[async_trait]
impl Ledger for MemoryLedger {
    async fn increment(&self, key: &str, window: Duration) -> Result<Count, LedgerError> {
        let now = Instant::now();
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
        entries.insert(key.to_string(), entry);
        Ok(Count {
            value: entry.value,
            resets_in: entry.expires.saturating_duration_since(now),
        })
    }

    async fn decrement(&self, key: &str) -> Result<(), LedgerError> {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some(entry) = Self::live(&entries, key, now) {
            entries.insert(
                key.to_string(),
                Entry {
                    value: entry.value.saturating_sub(1),
                    ..entry
                },
            );
        }
        Ok(())
    }

    async fn count(&self, key: &str) -> Result<u64, LedgerError> {
        Ok(Self::live(&self.lock(), key, Instant::now()).map_or(0, |entry| entry.value))
    }

    async fn claim(&self, key: &str, ttl: Duration) -> Result<Option<Duration>, LedgerError> {
        let now = Instant::now();
        let mut entries = self.lock();
        if let Some(entry) = Self::live(&entries, key, now) {
            return Ok(Some(entry.expires.saturating_duration_since(now)));
        }
        if !entries.contains_key(key) {
            self.ensure_room(&mut entries, now)?;
        }
        entries.insert(
            key.to_string(),
            Entry {
                value: 1,
                expires: now + ttl,
            },
        );
        Ok(None)
    }

    async fn is_claimed(&self, key: &str) -> Result<bool, LedgerError> {
        Ok(Self::live(&self.lock(), key, Instant::now()).is_some())
    }

    async fn release(&self, key: &str) -> Result<(), LedgerError> {
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
    use std::sync::Arc;

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn counters_keep_their_window_and_expire() {
        let ledger = MemoryLedger::new(10);
        assert_eq!(ledger.increment("k", MINUTE).await.unwrap().value, 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        let second = ledger.increment("k", MINUTE).await.unwrap();
        assert_eq!(second.value, 2);
        assert_eq!(second.resets_in, Duration::from_secs(30));
        tokio::time::advance(Duration::from_secs(31)).await;
        assert_eq!(ledger.count("k").await.unwrap(), 0);
        assert_eq!(ledger.increment("k", MINUTE).await.unwrap().value, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_claim_succeeds_once_until_it_expires() {
        let ledger = MemoryLedger::new(10);
        assert_eq!(ledger.claim("used", MINUTE).await.unwrap(), None);
        assert_eq!(ledger.claim("used", MINUTE).await.unwrap(), Some(MINUTE));
        assert!(ledger.is_claimed("used").await.unwrap());
        tokio::time::advance(MINUTE).await;
        assert!(!ledger.is_claimed("used").await.unwrap());
        assert_eq!(ledger.claim("used", MINUTE).await.unwrap(), None);
        ledger.release("used").await.unwrap();
        assert!(!ledger.is_claimed("used").await.unwrap());
    }

    #[tokio::test(start_paused = true)]
    async fn decrement_never_goes_below_zero() {
        let ledger = MemoryLedger::new(10);
        ledger.increment("k", MINUTE).await.unwrap();
        ledger.decrement("k").await.unwrap();
        ledger.decrement("k").await.unwrap();
        assert_eq!(ledger.count("k").await.unwrap(), 0);
        ledger.decrement("absent").await.unwrap();
        assert_eq!(ledger.count("absent").await.unwrap(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn stays_bounded_sweeps_then_refuses() {
        let ledger = MemoryLedger::new(3);
        for key in ["a", "b", "c"] {
            ledger.increment(key, MINUTE).await.unwrap();
        }
        assert!(
            ledger.increment("d", MINUTE).await.is_err(),
            "full of live entries"
        );
        assert!(ledger.claim("d", MINUTE).await.is_err());
        assert_eq!(
            ledger.increment("a", MINUTE).await.unwrap().value,
            2,
            "live keys still count"
        );
        tokio::time::advance(MINUTE).await;
        assert_eq!(
            ledger.increment("d", MINUTE).await.unwrap().value,
            1,
            "expired swept"
        );
        assert_eq!(ledger.len(), 1);
        tokio::time::advance(MINUTE).await;
        assert_eq!(ledger.sweep(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn parallel_increments_are_all_counted() {
        let ledger = Arc::new(MemoryLedger::new(10));
        let tasks: Vec<_> = (0..64)
            .map(|_| {
                let ledger = Arc::clone(&ledger);
                tokio::spawn(async move { ledger.increment("k", MINUTE).await.unwrap().value })
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
        assert_ne!(MemoryLedger::new(1).epoch(), MemoryLedger::new(1).epoch());
    }
}
