//! The little state the relay keeps: counters (attempts, sends, failures) and claims (a challenge
//! used, a resend cooldown), each with a time to live. Codes are never stored, and neither are
//! addresses: they appear only as keyed pseudonyms.
//!
//! A request's reads and writes are one [`Plan`], run by the store as one call: a count is
//! compared with its limit *after* adding, so parallel requests cannot be raced past the limit,
//! and a claim succeeds for exactly one caller.
//!
//! A store may answer a count above the true one (a sketch shared by many keys), never below:
//! limits then refuse a little early, never late. It never forgets a live attempt count or used
//! mark; when it cannot keep one it refuses (the relay then fails closed).

use async_trait::async_trait;
use std::fmt;
use std::time::Duration;

pub mod memory;
pub mod plan;
pub mod sketch;

pub use memory::MemoryStore;
pub use plan::{Corner, Entries, Outcome, Plan, Step};

/// The random identity of one challenge (its nonce), for keys about that challenge.
pub type ChallengeId = [u8; 16];

/// A keyed pseudonym of a mailbox (`EmailAddress::mailbox`), so the store never holds addresses.
pub type AddressId = [u8; 16];

/// Everything the relay stores, one variant per kind of entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoreKey {
    /// Sends requested from one client network (an IPv4 address or an IPv6 /64).
    ClientSends(String),
    /// Sends to one mailbox in the current window, from every client network.
    AddressSends(AddressId),
    /// Wrong codes for one mailbox in the current window, across challenges, from every client
    /// network.
    AddressFailures(AddressId),
    /// Sends to one mailbox asked for from one client network (a keyed pseudonym of both).
    NetworkAddressSends(AddressId),
    /// Wrong codes for one mailbox from one client network (a keyed pseudonym of both).
    NetworkAddressFailures(AddressId),
    /// Sends of one challenge, the first included.
    ChallengeSends(ChallengeId),
    /// Set while a challenge waits before its next resend.
    ResendCooldown(ChallengeId),
    /// Codes tried against one challenge.
    Attempts(ChallengeId),
    /// Set once a challenge verified.
    Used(ChallengeId),
    /// Set once a proof-of-work solution paid for a send (the first half of its challenge hash).
    PowSpent([u8; 16]),
    /// Sends paid for with a proof of work over all clients in the current minute: the surge's
    /// measure.
    SendsThisMinute,
}

impl fmt::Display for StoreKey {
    /// The key's text form, for stores that key by strings and for logs. The prefixes are stable.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (prefix, id): (&str, &[u8]) = match self {
            StoreKey::ClientSends(bucket) => return write!(f, "ip-sends:{bucket}"),
            StoreKey::SendsThisMinute => return f.write_str("sends-this-minute"),
            StoreKey::AddressSends(id) => ("address-sends", id),
            StoreKey::AddressFailures(id) => ("address-failures", id),
            StoreKey::NetworkAddressSends(id) => ("network-address-sends", id),
            StoreKey::NetworkAddressFailures(id) => ("network-address-failures", id),
            StoreKey::ChallengeSends(id) => ("sends", id),
            StoreKey::ResendCooldown(id) => ("cooldown", id),
            StoreKey::Attempts(id) => ("attempts", id),
            StoreKey::Used(id) => ("used", id),
            StoreKey::PowSpent(id) => ("pow-spent", id),
        };
        write!(f, "{prefix}:{}", crate::hex(id))
    }
}

/// A counter after an increment, or as it stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Count {
    /// The value after this increment (0 for a counter that is not there).
    pub value: u64,
    /// Until the window ends and the counter disappears; for a count kept in a sketch, until it
    /// falls below that sketch's limit again.
    pub resets_in: Duration,
    /// For a count kept in a sketch, the time slot that took it, which [`Store::decrement`]
    /// needs; `None` for an exact counter.
    pub slot: Option<u64>,
}

/// The store could not be reached or is full: the relay refuses the operation (fails closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Short-lived shared state, in memory or in a shared store.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Runs `plan` as one call (one round trip to a shared store): its steps in order, up to the
    /// first refusal, which undoes the held steps before it.
    async fn run(&self, plan: &Plan) -> Result<Outcome, StoreError>;

    /// Identifies the lifetime of the stored state. Tokens carry the epoch they were issued in;
    /// when a store loses its state (an in-memory store after a restart) the epoch changes and
    /// older tokens are refused, so a used challenge can never be accepted twice.
    fn epoch(&self) -> u64;

    /// A short name for logs and the health check.
    fn describe(&self) -> String;

    /// Whether the store answers now, for `/readyz`. A store in this process always does.
    async fn ready(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A counter (or a claim, as 1) as it stands: a plan of one read, for tests and tools.
pub async fn peek(store: &dyn Store, key: &StoreKey) -> Result<Count, StoreError> {
    let plan = Plan {
        steps: vec![Step::Peek {
            key: key.clone(),
            limit: None,
        }],
    };
    match store.run(&plan).await? {
        Outcome::Done(answers) | Outcome::Refused { answers, .. } => {
            Ok(answers.first().copied().unwrap_or_default())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_stable_distinct_text_forms() {
        let id = [0xab; 16];
        let texts: Vec<String> = [
            StoreKey::ClientSends("192.0.2.1".into()),
            StoreKey::AddressSends(id),
            StoreKey::AddressFailures(id),
            StoreKey::NetworkAddressSends(id),
            StoreKey::NetworkAddressFailures(id),
            StoreKey::ChallengeSends(id),
            StoreKey::ResendCooldown(id),
            StoreKey::Attempts(id),
            StoreKey::Used(id),
            StoreKey::PowSpent(id),
            StoreKey::SendsThisMinute,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(texts[0], "ip-sends:192.0.2.1");
        assert_eq!(texts[8], format!("used:{}", "ab".repeat(16)));
        let mut unique = texts.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), texts.len());
    }
}
