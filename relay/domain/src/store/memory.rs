//! The in-memory store: one process, lost on restart (the epoch changes with it), in memory that
//! does not grow with the number of addresses or clients.
//!
//! Send limits and failure budgets (per client, per mailbox, per mailbox and network) live in fixed-size
//! [`WindowedSketch`]es: one estimate per key that is never below the true count, so a limit holds
//! exactly for one key and can only refuse a little early. What is kept about one challenge
//! (attempts, the used mark, resends and their wait) is exact, in a map of at most `capacity`
//! live entries; it only exists for challenges someone resent or tried to verify. When the map is
//! full, new entries go to one more sketch instead, which again can only over-count (a few
//! people may be told "already used" or "no attempts left" early): the store never answers 503
//! because others filled it, and never forgets a guard while it lives.

use super::plan::{Entries, Outcome, Plan, interpret};
use super::sketch::{self, WindowedSketch};
use super::{Count, Store, StoreError, StoreKey};
use crate::clock::{Clock, UnixTime};
use crate::policy::Policy;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// Default bound on exact entries (per-challenge state): about 100 bytes each.
pub const DEFAULT_CAPACITY: usize = 200_000;

/// How the in-memory store is sized, and the windows and limits its sketches serve.
#[derive(Debug, Clone)]
pub struct MemorySettings {
    /// Most exact entries held before new ones spill into a sketch.
    pub capacity: usize,
    /// Cells per sketch row (rounded up to a power of two).
    pub sketch_width: usize,
    pub policy: Policy,
    /// Longest anything about one challenge is kept.
    pub challenge_lifetime: Duration,
}

impl MemorySettings {
    /// The settings for `policy` with the default sizes.
    pub fn for_policy(policy: &Policy) -> Self {
        MemorySettings {
            capacity: DEFAULT_CAPACITY,
            sketch_width: sketch::DEFAULT_WIDTH,
            policy: policy.clone(),
            challenge_lifetime: policy.ttl + crate::service::STORE_MARGIN,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    value: u64,
    expires: UnixTime,
}

type ExactMap = HashMap<StoreKey, Entry>;

/// Fixed-size limits, exact per-challenge state, and the sketch it spills into.
pub struct MemoryStore {
    client_sends: WindowedSketch,
    mailbox_sends: WindowedSketch,
    mailbox_failures: WindowedSketch,
    network_mailbox_sends: WindowedSketch,
    network_mailbox_failures: WindowedSketch,
    exact: Mutex<ExactMap>,
    capacity: usize,
    /// Per-challenge entries that found the exact map full.
    spill: WindowedSketch,
    /// Whether anything ever spilled: until then, reads need not look at the spill sketch.
    spilled_once: AtomicBool,
    /// When a full map was last swept (milliseconds of the clock).
    swept_full_at: AtomicU64,
    epoch: u64,
    clock: Arc<dyn Clock>,
}

/// Where a key is kept.
enum Place<'a> {
    Sketch(&'a WindowedSketch, &'a [u8]),
    Exact,
}

impl MemoryStore {
    /// An empty store with a fresh random epoch, telling time by `clock`. All of its sketch
    /// memory is allocated here.
    pub fn new(settings: MemorySettings, clock: Arc<dyn Clock>) -> Self {
        let policy = &settings.policy;
        let width = settings.sketch_width;
        let rate_sketch = |rate: crate::Rate| WindowedSketch::new(rate.window, width, rate.count);
        MemoryStore {
            client_sends: rate_sketch(policy.sends_per_ip),
            mailbox_sends: rate_sketch(policy.sends_per_address_total),
            mailbox_failures: rate_sketch(policy.failures_per_address_total),
            network_mailbox_sends: rate_sketch(policy.sends_per_address),
            network_mailbox_failures: rate_sketch(policy.failures_per_address),
            exact: Mutex::new(HashMap::new()),
            capacity: settings.capacity.max(1),
            spill: WindowedSketch::new(settings.challenge_lifetime, width, 1),
            spilled_once: AtomicBool::new(false),
            swept_full_at: AtomicU64::new(0),
            epoch: crate::random::u64(),
            clock,
        }
    }

    /// Drops every expired exact entry; returns how many are left.
    pub fn sweep(&self) -> usize {
        let now = self.clock.now();
        let mut entries = self.lock();
        entries.retain(|_, entry| entry.expires > now);
        entries.len()
    }

    /// Exact entries held (live, or expired and not yet swept).
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no exact entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes held by the sketches: fixed from the start.
    pub fn sketch_bytes(&self) -> usize {
        [
            &self.client_sends,
            &self.mailbox_sends,
            &self.mailbox_failures,
            &self.network_mailbox_sends,
            &self.network_mailbox_failures,
            &self.spill,
        ]
        .iter()
        .map(|sketch| sketch.bytes())
        .sum()
    }

    fn lock(&self) -> MutexGuard<'_, ExactMap> {
        // A panic while holding the lock cannot leave an entry half-written (every update is a
        // single insert), so a poisoned map is still consistent.
        self.exact
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn place<'a>(&'a self, key: &'a StoreKey) -> Place<'a> {
        match key {
            StoreKey::ClientSends(bucket) => Place::Sketch(&self.client_sends, bucket.as_bytes()),
            StoreKey::AddressSends(id) => Place::Sketch(&self.mailbox_sends, id),
            StoreKey::AddressFailures(id) => Place::Sketch(&self.mailbox_failures, id),
            StoreKey::NetworkAddressSends(id) => Place::Sketch(&self.network_mailbox_sends, id),
            StoreKey::NetworkAddressFailures(id) => {
                Place::Sketch(&self.network_mailbox_failures, id)
            }
            _ => Place::Exact,
        }
    }

    /// The spill sketch's key for a per-challenge entry: its kind and its challenge.
    fn spill_key(key: &StoreKey) -> Vec<u8> {
        key.to_string().into_bytes()
    }

    fn live(entries: &ExactMap, key: &StoreKey, now: UnixTime) -> Option<Entry> {
        entries
            .get(key)
            .copied()
            .filter(|entry| entry.expires > now)
    }

    /// Whether a new exact entry fits, after dropping expired ones if need be. A full map is
    /// swept at most once a second: under pressure, a scan per request would cost every request
    /// the whole map.
    fn has_room(&self, entries: &mut ExactMap, now: UnixTime) -> bool {
        if entries.len() < self.capacity {
            return true;
        }
        let last = self.swept_full_at.load(Ordering::Relaxed);
        if now.millis() >= last.saturating_add(1000) {
            self.swept_full_at.store(now.millis(), Ordering::Relaxed);
            entries.retain(|_, entry| entry.expires > now);
        }
        entries.len() < self.capacity
    }

    /// A per-challenge entry as the spill sketch has it (nothing, while nothing ever spilled).
    fn spilled(&self, key: &StoreKey, now: UnixTime) -> Count {
        if self.spilled_once.load(Ordering::Relaxed) {
            self.spill.peek(&Self::spill_key(key), now)
        } else {
            Count::default()
        }
    }

    /// Counts `key` in the spill sketch, because the exact map is full.
    fn spill(&self, key: &StoreKey, now: UnixTime) -> Count {
        if !self.spilled_once.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                capacity = self.capacity,
                "in-memory store: exact entries full; per-challenge state now also goes to a sketch \
                 (raise OTP_RELAY_STORE_CAPACITY)"
            );
        }
        self.spill.add(&Self::spill_key(key), now)
    }
}

#[async_trait]
impl Store for MemoryStore {
    async fn run(&self, plan: &Plan) -> Result<Outcome, StoreError> {
        Ok(interpret(self, plan))
    }

    fn epoch(&self) -> u64 {
        self.epoch
    }

    fn describe(&self) -> String {
        format!(
            "in-memory store (limits in {} KiB of sketches, at most {} exact entries, lost on restart)",
            self.sketch_bytes() / 1024,
            self.capacity
        )
    }
}

impl Entries for MemoryStore {
    fn increment(&self, key: &StoreKey, window: Duration) -> Count {
        let now = self.clock.now();
        if let Place::Sketch(sketch, bytes) = self.place(key) {
            return sketch.add(bytes, now);
        }
        let mut entries = self.lock();
        let entry = match Self::live(&entries, key, now) {
            Some(entry) => Entry {
                value: entry.value + 1,
                ..entry
            },
            None if entries.contains_key(key) || self.has_room(&mut entries, now) => Entry {
                value: 1,
                expires: now + window,
            },
            None => {
                drop(entries);
                return self.spill(key, now);
            }
        };
        entries.insert(key.clone(), entry);
        // Counted here before, while the map was full: those counts still stand.
        let spilled = self.spilled(key, now).value;
        Count {
            value: entry.value + spilled,
            resets_in: entry.expires.since(now),
            slot: None,
        }
    }

    fn decrement(&self, key: &StoreKey, counted: &Count) {
        let now = self.clock.now();
        if let Place::Sketch(sketch, bytes) = self.place(key) {
            if let Some(slot) = counted.slot {
                sketch.take_back(bytes, slot);
            }
            return;
        }
        if let Some(slot) = counted.slot {
            self.spill.take_back(&Self::spill_key(key), slot);
            return;
        }
        let mut entries = self.lock();
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
    }

    fn count(&self, key: &StoreKey) -> Count {
        let now = self.clock.now();
        if let Place::Sketch(sketch, bytes) = self.place(key) {
            return sketch.peek(bytes, now);
        }
        let spilled = self.spilled(key, now);
        match Self::live(&self.lock(), key, now) {
            Some(entry) => Count {
                value: entry.value + spilled.value,
                resets_in: entry.expires.since(now),
                slot: None,
            },
            None => spilled,
        }
    }

    fn claim(&self, key: &StoreKey, ttl: Duration) -> Option<Duration> {
        let now = self.clock.now();
        // Everything below happens under the map's lock, the spill sketch's included: a claim
        // that spilled while the map was full and one that finds room a moment later (a sweep
        // in between) must see each other, or both would win.
        let mut entries = self.lock();
        let spilled = self.spilled(key, now);
        if spilled.value > 0 {
            return Some(spilled.resets_in);
        }
        if let Some(entry) = Self::live(&entries, key, now) {
            return Some(entry.expires.since(now));
        }
        if !entries.contains_key(key) && !self.has_room(&mut entries, now) {
            // The claim is won by whoever brings the estimate to 1; later callers see it set.
            let count = self.spill(key, now);
            return (count.value > 1).then_some(count.resets_in);
        }
        entries.insert(
            key.clone(),
            Entry {
                value: 1,
                expires: now + ttl,
            },
        );
        None
    }

    fn is_claimed(&self, key: &StoreKey) -> bool {
        let now = self.clock.now();
        Self::live(&self.lock(), key, now).is_some() || self.spilled(key, now).value > 0
    }

    fn release(&self, key: &StoreKey) {
        // A claim that spilled into the sketch stays until it rotates out: a little early
        // refusal, never a second winner.
        self.lock().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    const MINUTE: Duration = Duration::from_secs(60);

    /// Test keys (exact): distinct challenge ids by a small number.
    fn key(n: u8) -> StoreKey {
        StoreKey::Attempts([n; 16])
    }

    fn store(capacity: usize) -> (MemoryStore, ManualClock) {
        let clock = ManualClock::new();
        let settings = MemorySettings {
            capacity,
            sketch_width: 1024,
            ..MemorySettings::for_policy(&Policy::default())
        };
        (MemoryStore::new(settings, Arc::new(clock.clone())), clock)
    }

    #[test]
    fn counters_keep_their_window_and_expire() {
        let (store, clock) = store(10);
        assert_eq!(store.increment(&key(1), MINUTE).value, 1);
        clock.advance(Duration::from_secs(30));
        let second = store.increment(&key(1), MINUTE);
        assert_eq!(second.value, 2);
        assert_eq!(second.resets_in, Duration::from_secs(30));
        assert_eq!(
            store.count(&key(1)),
            Count {
                value: 2,
                resets_in: Duration::from_secs(30),
                slot: None,
            }
        );
        clock.advance(Duration::from_secs(31));
        assert_eq!(store.count(&key(1)).value, 0);
        assert_eq!(store.increment(&key(1), MINUTE).value, 1);
    }

    #[test]
    fn a_claim_succeeds_once_until_it_expires() {
        let (store, clock) = store(10);
        let used = StoreKey::Used([1; 16]);
        assert_eq!(store.claim(&used, MINUTE), None);
        assert_eq!(store.claim(&used, MINUTE), Some(MINUTE));
        assert!(store.is_claimed(&used));
        clock.advance(MINUTE);
        assert!(!store.is_claimed(&used));
        assert_eq!(store.claim(&used, MINUTE), None);
        store.release(&used);
        assert!(!store.is_claimed(&used));
    }

    #[test]
    fn a_counter_taken_back_to_zero_is_gone() {
        let (store, _) = store(10);
        store.increment(&key(1), MINUTE);
        let second = store.increment(&key(1), MINUTE);
        store.decrement(&key(1), &second);
        assert_eq!(store.count(&key(1)).value, 1);
        store.decrement(&key(1), &second);
        assert_eq!(store.len(), 0, "nothing left behind");
        store.decrement(&key(2), &Count::default());
        assert_eq!(store.count(&key(2)).value, 0);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn limits_hold_exactly_for_one_client_and_one_mailbox() {
        let (store, clock) = store(10);
        let policy = Policy::default();
        let client = StoreKey::ClientSends("192.0.2.1".into());
        for n in 1..=policy.sends_per_ip.count {
            let count = store.increment(&client, MINUTE);
            assert_eq!(count.value, n);
        }
        let over = store.increment(&client, MINUTE);
        assert_eq!(over.value, policy.sends_per_ip.count + 1);
        store.decrement(&client, &over);
        // Counted at 10:00:00, in the slot of 10:00:00-10:03:45: forgotten at 10:18:45.
        assert_eq!(over.resets_in, Duration::from_secs(1125));
        clock.advance(Duration::from_secs(1124));
        assert_eq!(store.count(&client).value, 20);
        clock.advance(Duration::from_secs(1));
        assert_eq!(store.count(&client).value, 0);
        assert_eq!(store.len(), 0, "limits take no exact entries");
    }

    #[test]
    fn millions_of_distinct_keys_leave_the_size_as_it_was() {
        let (store, clock) = store(1000);
        let bytes = store.sketch_bytes();
        for n in 0u32..1_000_000 {
            let mut mailbox = [0u8; 16];
            mailbox[..4].copy_from_slice(&n.to_le_bytes());
            let key = if n % 2 == 0 {
                StoreKey::ClientSends(n.to_string())
            } else {
                StoreKey::AddressSends(mailbox)
            };
            store.increment(&key, MINUTE);
            if n % 100_000 == 0 {
                clock.advance(MINUTE);
            }
        }
        assert_eq!(store.sketch_bytes(), bytes);
        assert_eq!(store.len(), 0);
    }

    #[test]
    fn a_full_map_spills_into_the_sketch_and_never_refuses_or_forgets() {
        let (store, _) = store(3);
        for n in 1..=3 {
            store.increment(&key(n), MINUTE);
        }
        // Full of live entries: a new one is counted in the sketch, not refused.
        assert_eq!(store.increment(&key(4), MINUTE).value, 1);
        assert_eq!(store.increment(&key(4), MINUTE).value, 2);
        assert_eq!(store.count(&key(4)).value, 2);
        let used = StoreKey::Used([9; 16]);
        assert_eq!(store.claim(&used, MINUTE), None);
        assert!(store.claim(&used, MINUTE).is_some(), "claimed once only");
        assert!(store.is_claimed(&used));
        assert_eq!(store.len(), 3, "the map stays within its capacity");
        // Live exact keys still count exactly.
        assert_eq!(store.increment(&key(1), MINUTE).value, 2);
    }

    #[test]
    fn expired_entries_make_room_and_a_full_map_is_swept_at_most_once_a_second() {
        let (store, clock) = store(3);
        for n in 1..=3 {
            store.increment(&key(n), MINUTE);
        }
        clock.advance(MINUTE);
        // The map is full of expired entries: the first new key sweeps them and stays exact.
        store.increment(&key(4), MINUTE);
        assert_eq!(store.len(), 1);
        for n in 5..=6 {
            store.increment(&key(n), Duration::from_millis(100));
        }
        clock.advance(Duration::from_millis(200));
        // Full again with two expired entries, but swept less than a second ago: spilled.
        store.increment(&key(7), MINUTE);
        assert_eq!(store.len(), 3);
        clock.advance(Duration::from_secs(1));
        store.increment(&key(8), MINUTE);
        assert_eq!(store.len(), 2, "swept again after a second");
    }

    #[test]
    fn parallel_increments_are_all_counted() {
        let (store, _) = store(10);
        let store = Arc::new(store);
        for key in [key(1), StoreKey::AddressFailures([7; 16])] {
            let tasks: Vec<_> = (0..64)
                .map(|_| {
                    let store = Arc::clone(&store);
                    let key = key.clone();
                    std::thread::spawn(move || store.increment(&key, MINUTE).value)
                })
                .collect();
            let mut values: Vec<u64> = tasks
                .into_iter()
                .map(|task| task.join().expect("an increment"))
                .collect();
            values.sort_unstable();
            assert_eq!(values, (1..=64).collect::<Vec<_>>(), "{key}");
        }
    }

    #[test]
    fn each_instance_has_its_own_epoch() {
        assert_ne!(store(1).0.epoch(), store(1).0.epoch());
    }
}
