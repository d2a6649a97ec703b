//! What one request does to the store, written down before it is done: a [`Plan`] of steps
//! (claims, counts against limits, reads) that a store runs as one call, in order, stopping at
//! the first step that refuses. A step that refuses undoes the held steps before it, newest
//! first, so a refused request leaves nothing counted or claimed (docs/security.md, invariant
//! 7a) but what it marked [`Step::Count`]`{ kept: true }`.
//!
//! A plan is one call because on a shared store every call is a network round trip: Redis runs a
//! plan as one Lua script, atomically, on the one hash slot that holds all of the relay's keys.
//! In memory, [`interpret`] runs it over a store's single-entry operations ([`Entries`]), each of
//! them atomic, in the same order.

use super::{Count, StoreKey};
use std::time::Duration;

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Refused if the claim `key` is set (a used challenge).
    Unset(StoreKey),
    /// Sets the claim `key` for `ttl`; refused, with the time it has left, if it is set already.
    Claim { key: StoreKey, ttl: Duration },
    /// Adds one to `key` (a new counter lives for `window`); refused when the count after is
    /// above `limit`. `kept`: never undone, not even when this step or a later one refuses.
    Count {
        key: StoreKey,
        window: Duration,
        limit: Option<u64>,
        kept: bool,
    },
    /// Reads `key`; refused when its count is at or above `limit` (`None`: only a read).
    Peek { key: StoreKey, limit: Option<u64> },
    /// Refused unless the counts answered by steps `sends` and `rate` (earlier reads) lie under
    /// one of `corners`: `sends <= max_sends` and `rate <= max_rate` for some corner (`None`:
    /// no bound). How a proof of work's difficulty is checked against the counts in the same call.
    Within {
        sends: usize,
        rate: usize,
        corners: Vec<Corner>,
    },
    /// Takes back one count that an earlier plan took (`counted` is that step's answer).
    Uncount { key: StoreKey, counted: Count },
    /// Lifts a claim an earlier plan set.
    Release(StoreKey),
}

/// A corner of the region [`Step::Within`] lets through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corner {
    pub max_rate: Option<u64>,
    pub max_sends: Option<u64>,
}

impl Corner {
    /// Whether `sends` and `rate` lie under this corner.
    pub fn covers(&self, sends: u64, rate: u64) -> bool {
        self.max_sends.is_none_or(|max| sends <= max) && self.max_rate.is_none_or(|max| rate <= max)
    }
}

/// Steps to run as one call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    pub steps: Vec<Step>,
}

/// What a plan came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every step passed; each step's answer, in order (its `value`: a store may leave
    /// `resets_in` out where no step refused).
    Done(Vec<Count>),
    /// Step `at` refused; the answers of the steps up to it, that one's included with the time
    /// until it resets (for a claim that was set: `value` 1 and the time it has left). The held
    /// steps before it were undone.
    Refused { at: usize, answers: Vec<Count> },
}

impl Step {
    /// The answer of a step that sets, reads or changes nothing worth reporting.
    const NOTHING: Count = Count {
        value: 0,
        resets_in: Duration::ZERO,
        slot: None,
    };
}

/// The single-entry operations a store in this process runs a plan with, each atomic on its own.
pub trait Entries {
    /// Adds one to `key`. A missing or expired counter starts at 1 with a window of `window`;
    /// a live one keeps its window (fixed windows). Answers the count after adding.
    fn increment(&self, key: &StoreKey, window: Duration) -> Count;
    /// Takes back one count, `counted` (the answer of the increment that made it). A counter
    /// taken back to zero is removed.
    fn decrement(&self, key: &StoreKey, counted: &Count);
    /// A counter as it stands, without changing it; a value of 0 if absent.
    fn count(&self, key: &StoreKey) -> Count;
    /// Sets `key` for `ttl` if it is not set. `None`: this caller set it. `Some(left)`: it was
    /// set already and lives for `left` more.
    fn claim(&self, key: &StoreKey, ttl: Duration) -> Option<Duration>;
    /// Whether `key` is set.
    fn is_claimed(&self, key: &StoreKey) -> bool;
    /// Removes a claim or a counter.
    fn release(&self, key: &StoreKey);
}

/// Runs `plan` over `entries`, step by step; the first refusal undoes the held steps before it.
pub fn interpret(entries: &impl Entries, plan: &Plan) -> Outcome {
    let mut answers: Vec<Count> = Vec::with_capacity(plan.steps.len());
    for (at, step) in plan.steps.iter().enumerate() {
        let (answer, refused) = match step {
            Step::Unset(key) => {
                let set = entries.is_claimed(key);
                let value = u64::from(set);
                (
                    Count {
                        value,
                        ..Step::NOTHING
                    },
                    set,
                )
            }
            Step::Claim { key, ttl } => match entries.claim(key, *ttl) {
                None => (Step::NOTHING, false),
                Some(left) => (
                    Count {
                        value: 1,
                        resets_in: left,
                        slot: None,
                    },
                    true,
                ),
            },
            Step::Count {
                key,
                window,
                limit,
                kept,
            } => {
                let count = entries.increment(key, *window);
                let over = limit.is_some_and(|limit| count.value > limit);
                if over && !kept {
                    entries.decrement(key, &count);
                }
                (count, over)
            }
            Step::Peek { key, limit } => {
                let count = entries.count(key);
                (count, limit.is_some_and(|limit| count.value >= limit))
            }
            Step::Within {
                sends,
                rate,
                corners,
            } => {
                let read = |step: usize| answers.get(step).map_or(0, |count| count.value);
                let (sends, rate) = (read(*sends), read(*rate));
                let inside = corners.iter().any(|corner| corner.covers(sends, rate));
                (Step::NOTHING, !inside)
            }
            Step::Uncount { key, counted } => {
                entries.decrement(key, counted);
                (Step::NOTHING, false)
            }
            Step::Release(key) => {
                entries.release(key);
                (Step::NOTHING, false)
            }
        };
        answers.push(answer);
        if refused {
            undo(entries, &plan.steps[..at], &answers[..at]);
            return Outcome::Refused { at, answers };
        }
    }
    Outcome::Done(answers)
}

/// Undoes the held steps among `steps` (answered `answers`), newest first.
fn undo(entries: &impl Entries, steps: &[Step], answers: &[Count]) {
    for (step, answer) in steps.iter().zip(answers).rev() {
        match step {
            Step::Claim { key, .. } => entries.release(key),
            Step::Count {
                key, kept: false, ..
            } => entries.decrement(key, answer),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::store::memory::{MemorySettings, MemoryStore};
    use std::sync::Arc;

    const MINUTE: Duration = Duration::from_secs(60);

    fn store() -> MemoryStore {
        MemoryStore::new(
            MemorySettings::for_policy(&crate::Policy::default()),
            Arc::new(ManualClock::new()),
        )
    }

    fn count(key: &StoreKey, limit: Option<u64>, kept: bool) -> Step {
        Step::Count {
            key: key.clone(),
            window: MINUTE,
            limit,
            kept,
        }
    }

    #[test]
    fn a_refusal_undoes_the_held_steps_before_it_and_keeps_the_kept_ones() {
        let store = store();
        let (kept, held, claimed, full) = (
            StoreKey::Attempts([1; 16]),
            StoreKey::Attempts([2; 16]),
            StoreKey::Used([3; 16]),
            StoreKey::Attempts([4; 16]),
        );
        store.increment(&full, MINUTE);
        let plan = Plan {
            steps: vec![
                count(&kept, Some(5), true),
                count(&held, Some(5), false),
                Step::Claim {
                    key: claimed.clone(),
                    ttl: MINUTE,
                },
                count(&full, Some(1), false),
                count(&held, None, false),
            ],
        };
        let Outcome::Refused { at, answers } = interpret(&store, &plan) else {
            panic!("the full counter refuses");
        };
        assert_eq!((at, answers.len(), answers[3].value), (3, 4, 2));
        assert_eq!(store.count(&kept).value, 1, "kept");
        assert_eq!(store.count(&held).value, 0, "given back");
        assert!(!store.is_claimed(&claimed), "lifted");
        assert_eq!(store.count(&full).value, 1, "the refusing count undone too");
    }

    #[test]
    fn a_claim_someone_else_holds_refuses_with_its_time_left_and_stays() {
        let store = store();
        let key = StoreKey::ResendCooldown([4; 16]);
        store.claim(&key, MINUTE);
        let plan = Plan {
            steps: vec![Step::Claim {
                key: key.clone(),
                ttl: MINUTE,
            }],
        };
        assert_eq!(
            interpret(&store, &plan),
            Outcome::Refused {
                at: 0,
                answers: vec![Count {
                    value: 1,
                    resets_in: MINUTE,
                    slot: None
                }]
            }
        );
        assert!(store.is_claimed(&key));
    }

    #[test]
    fn within_reads_the_answers_of_earlier_steps() {
        let store = store();
        let (sends, rate) = (
            StoreKey::ClientSends("192.0.2.1".into()),
            StoreKey::SendsThisMinute,
        );
        for _ in 0..3 {
            store.increment(&sends, MINUTE);
        }
        let plan = |max_sends| Plan {
            steps: vec![
                Step::Peek {
                    key: sends.clone(),
                    limit: None,
                },
                Step::Peek {
                    key: rate.clone(),
                    limit: None,
                },
                Step::Within {
                    sends: 0,
                    rate: 1,
                    corners: vec![Corner {
                        max_rate: Some(10),
                        max_sends,
                    }],
                },
            ],
        };
        assert!(matches!(
            interpret(&store, &plan(Some(2))),
            Outcome::Refused { at: 2, .. }
        ));
        assert!(matches!(
            interpret(&store, &plan(Some(3))),
            Outcome::Done(answers) if answers[0].value == 3
        ));
    }
}
