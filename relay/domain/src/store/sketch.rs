//! A keyed counting sketch over a sliding window: how many times a key was counted in (at least)
//! the last `window`, in memory fixed at creation whatever the number of distinct keys.
//!
//! It is a count-min sketch (`ROWS` rows of `width` cells, each row indexed by its own keyed
//! SipHash, so nobody can aim collisions at a key) per time slot, a slot being `window / SLOTS`
//! long; `SLOTS + 1` slots are kept, so a count covers the whole window and at most one slot more.
//! Both approximations only ever add: another key sharing a cell in every row adds its counts, and
//! an old slot is forgotten only once it lies entirely outside the window. An estimate is
//! therefore never below the true count in the window, and a limit checked against it holds
//! exactly for one key, and can only refuse a little early, never late.
//!
//! Taking a count back is safe only in the slot that took it: [`Count::slot`] says which, and a
//! slot that has rotated out is left alone (the count is then forgotten anyway).

use super::Count;
use crate::clock::UnixTime;
use std::hash::BuildHasher;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// Rows per slot: an estimate is wrong only if the key collides in every row.
pub const ROWS: usize = 4;
/// Slots per window: a count is forgotten between `window` and `window * (1 + 1/SLOTS)` after it
/// was made.
pub const SLOTS: u64 = 4;
/// Default cells per row.
pub const DEFAULT_WIDTH: usize = 1 << 16;

struct Slot {
    /// Which slot of time (`now / slot_len`) this holds; `None` while unused.
    number: Option<u64>,
    cells: Box<[u16]>,
}

/// `len` zeroed cells, written rather than only reserved, so that their pages are resident from
/// the start and the process does not grow as keys arrive.
fn resident_zeros(len: usize) -> Box<[u16]> {
    let mut cells = vec![0u16; len].into_boxed_slice();
    // One write per 4 KiB page; `black_box` keeps the compiler from proving it a no-op.
    for page in cells.chunks_mut(2048) {
        page[0] = std::hint::black_box(0);
    }
    cells
}

/// A fixed-size sliding-window counter for many keys.
pub struct WindowedSketch {
    hashers: [std::collections::hash_map::RandomState; ROWS],
    width: usize,
    slot_millis: u64,
    /// Counts at or over this are "limited": [`WindowedSketch::add`] reports how long until the
    /// count, without the request that was just counted, falls below it again.
    limit: u64,
    slots: Mutex<Vec<Slot>>,
}

impl WindowedSketch {
    /// A sketch for counts per `window` with `width` cells per row (rounded up to a power of
    /// two), for a limit of `limit` per window. Its memory is allocated and touched here, so it
    /// does not grow later.
    pub fn new(window: Duration, width: usize, limit: u64) -> Self {
        let width = width.max(64).next_power_of_two();
        let slot_millis = (u64::try_from(window.as_millis()).unwrap_or(u64::MAX) / SLOTS).max(1);
        let slots = (0..=SLOTS)
            .map(|_| Slot {
                number: None,
                cells: resident_zeros(ROWS * width),
            })
            .collect();
        WindowedSketch {
            hashers: std::array::from_fn(|_| std::collections::hash_map::RandomState::new()),
            width,
            slot_millis,
            limit,
            slots: Mutex::new(slots),
        }
    }

    /// Bytes of counters held.
    pub fn bytes(&self) -> usize {
        (SLOTS as usize + 1) * ROWS * self.width * std::mem::size_of::<u16>()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Slot>> {
        // Every update is a few cell writes that cannot be left half done by a panic elsewhere.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn slot_of(&self, now: UnixTime) -> u64 {
        now.millis() / self.slot_millis
    }

    /// The cell of `key` in each row.
    fn cells(&self, key: &[u8]) -> [usize; ROWS] {
        let mask = self.width as u64 - 1;
        std::array::from_fn(|row| {
            let hash = self.hashers[row].hash_one(key);
            // Masking keeps the index below `width`, a usize.
            (hash & mask) as usize + row * self.width
        })
    }

    /// The estimate of `key` and, for a refusal, how long until it falls below the limit. A slot
    /// counts while it lies at most `SLOTS` slots back; slots ahead of `now` (the clock was
    /// stepped back) count too, so nothing is forgotten early.
    fn estimate(&self, slots: &[Slot], at: &[usize; ROWS], now: UnixTime, minus: u64) -> Count {
        let current = self.slot_of(now);
        // (slot number, this key's count in it), for the slots that still count.
        let mut held = [(0u64, 0u64); SLOTS as usize + 1];
        let mut len = 0;
        for slot in slots {
            let Some(number) = slot.number.filter(|&n| n + SLOTS >= current) else {
                continue;
            };
            let count = at
                .iter()
                .map(|&i| u64::from(slot.cells[i]))
                .min()
                .unwrap_or(0);
            if count > 0 {
                held[len] = (number, count);
                len += 1;
            }
        }
        let contributions = &mut held[..len];
        let value: u64 = contributions.iter().map(|(_, count)| count).sum();
        // Oldest first: each slot stops counting once it is SLOTS + 1 slots old.
        contributions.sort_unstable();
        let mut remaining = value.saturating_sub(minus);
        let mut resets_in = Duration::ZERO;
        for &mut (number, count) in contributions {
            if remaining < self.limit {
                break;
            }
            remaining = remaining.saturating_sub(count);
            let forgotten_at = UnixTime::from_millis((number + SLOTS + 1) * self.slot_millis);
            resets_in = forgotten_at.since(now);
        }
        Count {
            value,
            resets_in,
            slot: None,
        }
    }

    /// Counts `key` once at `now`; the estimate after counting, and the slot that took it.
    pub fn add(&self, key: &[u8], now: UnixTime) -> Count {
        let at = self.cells(key);
        let current = self.slot_of(now);
        let mut slots = self.lock();
        let index = (current % (SLOTS + 1)) as usize;
        let slot = &mut slots[index];
        // A slot is reused once it is out of the window; one ahead of the clock is kept.
        if slot.number.is_none_or(|n| n < current) {
            slot.cells.fill(0);
            slot.number = Some(current);
        }
        for &i in &at {
            slot.cells[i] = slot.cells[i].saturating_add(1);
        }
        let taken_in = slot.number;
        let mut count = self.estimate(&slots, &at, now, 1);
        count.slot = taken_in;
        count
    }

    /// The estimate of `key` at `now`, counting nothing.
    pub fn peek(&self, key: &[u8], now: UnixTime) -> Count {
        let at = self.cells(key);
        let slots = self.lock();
        self.estimate(&slots, &at, now, 0)
    }

    /// Takes back one count of `key` made in `slot` (from [`Count::slot`]), if that slot still
    /// holds it. Only the cells that count added to are lowered, so no other key's estimate can
    /// drop below its true count.
    pub fn take_back(&self, key: &[u8], slot: u64) {
        let at = self.cells(key);
        let mut slots = self.lock();
        let index = (slot % (SLOTS + 1)) as usize;
        let held = &mut slots[index];
        if held.number == Some(slot) {
            for &i in &at {
                held.cells[i] = held.cells[i].saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    const MINUTE: Duration = Duration::from_secs(60);

    fn at(seconds: u64) -> UnixTime {
        UnixTime::from_secs(1_795_255_200 + seconds)
    }

    #[test]
    fn one_key_is_counted_exactly_and_forgotten_after_its_window() {
        let sketch = WindowedSketch::new(15 * MINUTE, 1024, 5);
        for n in 1..=5 {
            assert_eq!(sketch.add(b"ada", at(n)).value, n);
        }
        let sixth = sketch.add(b"ada", at(10));
        assert_eq!(sixth.value, 6);
        // Counted in the slot that starts at 0 (slots of 225 s): forgotten at 5 * 225 s.
        assert_eq!(sixth.resets_in, Duration::from_secs(1125 - 10));
        assert_eq!(
            sketch.peek(b"ada", at(899)).value,
            6,
            "never before the window ends"
        );
        assert_eq!(sketch.peek(b"ada", at(1124)).value, 6);
        assert_eq!(sketch.peek(b"ada", at(1125)).value, 0);
        assert_eq!(sketch.peek(b"bob", at(10)).value, 0);
    }

    #[test]
    fn a_count_taken_back_is_gone_only_from_its_own_slot() {
        let sketch = WindowedSketch::new(MINUTE, 1024, 3);
        let first = sketch.add(b"ada", at(0));
        sketch.take_back(b"ada", first.slot.unwrap());
        assert_eq!(sketch.peek(b"ada", at(1)).value, 0);
        let second = sketch.add(b"ada", at(1));
        // A slot this sketch does not hold: nothing is taken back.
        sketch.take_back(b"ada", second.slot.unwrap() + 5);
        assert_eq!(sketch.peek(b"ada", at(2)).value, 1);
    }

    #[test]
    fn a_clock_stepped_back_forgets_nothing() {
        let sketch = WindowedSketch::new(MINUTE, 1024, 3);
        sketch.add(b"ada", at(600));
        // The clock is set back by 500 s: the count made "later" still counts.
        sketch.add(b"ada", at(100));
        assert_eq!(sketch.peek(b"ada", at(100)).value, 2);
        assert_eq!(sketch.peek(b"ada", at(150)).value, 2);
        // Back at 630, the count made at 100 is long out of the window.
        assert_eq!(sketch.peek(b"ada", at(630)).value, 1);
    }

    #[test]
    fn memory_does_not_depend_on_the_number_of_keys() {
        let sketch = WindowedSketch::new(15 * MINUTE, 4096, 5);
        let bytes = sketch.bytes();
        for n in 0u32..200_000 {
            sketch.add(&n.to_le_bytes(), at(u64::from(n % 900)));
        }
        assert_eq!(sketch.bytes(), bytes);
        assert_eq!(bytes, 5 * 4 * 4096 * 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Against an exact counter of the same window: never below it, for any mix of keys,
        /// times, and counts taken back, in a sketch small enough to collide all the time.
        #[test]
        fn never_counts_less_than_an_exact_counter(
            events in proptest::collection::vec((0u8..40, 0u64..3, any::<bool>()), 1..400)
        ) {
            let window = MINUTE;
            let sketch = WindowedSketch::new(window, 64, 5);
            let mut exact: Vec<(u8, u64)> = Vec::new();
            let mut now = 0u64;
            for (key, step, take_back) in events {
                now += step * 7;
                let count = sketch.add(&[key], at(now));
                exact.push((key, now));
                if take_back {
                    sketch.take_back(&[key], count.slot.unwrap());
                    exact.pop();
                }
                let mut truth: HashMap<u8, u64> = HashMap::new();
                for (k, t) in &exact {
                    if now < t + window.as_secs() {
                        *truth.entry(*k).or_default() += 1;
                    }
                }
                for key in 0u8..40 {
                    let estimate = sketch.peek(&[key], at(now)).value;
                    let true_count = truth.get(&key).copied().unwrap_or(0);
                    prop_assert!(estimate >= true_count, "key {key}: {estimate} < {true_count}");
                }
            }
        }
    }
}
