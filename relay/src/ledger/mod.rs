//! The little state the relay keeps: counters (attempts, sends, failures) and claims (a challenge
//! used, a resend cooldown), each with a time to live. Codes are never stored.
//!
//! Every operation is atomic on its own: `increment` returns the count *after* adding, so callers
//! that compare it with a limit cannot be raced past the limit by parallel requests, and `claim`
//! succeeds for exactly one caller.

use async_trait::async_trait;
use std::time::Duration;

pub mod memory;

pub use memory::MemoryLedger;

/// A counter after an increment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// The value after this increment.
    pub value: u64,
    /// Until the window ends and the counter disappears.
    pub resets_in: Duration,
}

/// The store could not be reached or is full: the relay refuses the operation (fails closed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LedgerError(pub String);

/// Short-lived shared state, in memory or in a shared store.
#[async_trait]
pub trait Ledger: Send + Sync + 'static {
    /// Adds one to `key`. A missing or expired counter starts at 1 with a window of `window`;
    /// a live one keeps its window (fixed windows).
    async fn increment(&self, key: &str, window: Duration) -> Result<Count, LedgerError>;

    /// Takes one back from a live counter (never below zero), for an attempt that turned out not
    /// to count, such as a send that could not be delivered.
    async fn decrement(&self, key: &str) -> Result<(), LedgerError>;

    /// The current value of a counter, 0 if absent.
    async fn count(&self, key: &str) -> Result<u64, LedgerError>;

    /// Sets `key` for `ttl` if it is not set. `Ok(None)`: this caller set it. `Ok(Some(left))`:
    /// it was already set and lives for `left` more.
    async fn claim(&self, key: &str, ttl: Duration) -> Result<Option<Duration>, LedgerError>;

    /// Whether `key` is set.
    async fn is_claimed(&self, key: &str) -> Result<bool, LedgerError>;

    /// Removes a claim or a counter.
    async fn release(&self, key: &str) -> Result<(), LedgerError>;

    /// Identifies the lifetime of the stored state. Tokens carry the epoch they were issued in;
    /// when a store loses its state (an in-memory store after a restart) the epoch changes and
    /// older tokens are refused, so a used challenge can never be accepted twice.
    fn epoch(&self) -> u64;

    /// A short name for logs and the health check.
    fn describe(&self) -> String;
}
