//! Time as the core is given it. The service and the store never read the wall clock themselves:
//! they ask the [`Clock`] they were built with, the [`SystemClock`] in production and a
//! [`ManualClock`] in tests, so expiry, windows and proof lifetimes are tested without sleeping.
//! Also the API's time format: Unix time inside, RFC 3339 UTC on the wire.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A point in time: the duration since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UnixTime(Duration);

impl UnixTime {
    pub fn from_secs(seconds: u64) -> Self {
        UnixTime(Duration::from_secs(seconds))
    }

    pub fn from_millis(millis: u64) -> Self {
        UnixTime(Duration::from_millis(millis))
    }

    /// Whole seconds since the epoch, rounded down.
    pub fn secs(self) -> u64 {
        self.0.as_secs()
    }

    /// Whole seconds since the epoch, rounded up: a client that waits until then finds every
    /// cooldown that ends at `self` over (a truncated time could end up to a second too early).
    pub fn secs_ceil(self) -> u64 {
        self.0.as_secs() + u64::from(self.0.subsec_nanos() > 0)
    }

    pub fn millis(self) -> u64 {
        u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX)
    }

    /// How long from `earlier` until `self` (zero if `earlier` is later).
    pub fn since(self, earlier: UnixTime) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

impl std::ops::Add<Duration> for UnixTime {
    type Output = UnixTime;

    fn add(self, rhs: Duration) -> UnixTime {
        UnixTime(self.0.saturating_add(rhs))
    }
}

/// Where the current time comes from.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> UnixTime;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> UnixTime {
        // A clock before 1970 is broken; reading it as the epoch makes every token expired.
        UnixTime(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        )
    }
}

/// A clock that moves only when told to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    millis: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn at(start: UnixTime) -> Self {
        ManualClock {
            millis: Arc::new(AtomicU64::new(start.millis())),
        }
    }

    /// A clock standing at 2026-11-21T10:00:00Z, a round time that makes test output readable.
    pub fn new() -> Self {
        Self::at(UnixTime::from_secs(1_795_255_200))
    }

    pub fn advance(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_add(by, Ordering::SeqCst);
    }

    /// Steps the clock back, as an operating system's clock does when it is corrected.
    pub fn rewind(&self, by: Duration) {
        let by = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.millis.fetch_sub(by, Ordering::SeqCst);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// The clock production code is given when nothing else is.
pub fn system() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// `2026-11-21T10:05:00Z`.
pub fn rfc3339(unix_seconds: u64) -> String {
    i64::try_from(unix_seconds)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "9999-12-31T23:59:59Z".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_z() {
        assert_eq!(rfc3339(1_795_255_500), "2026-11-21T10:05:00Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn a_manual_clock_moves_only_when_advanced_and_clones_share_it() {
        let clock = ManualClock::new();
        let other = clock.clone();
        let start = clock.now();
        assert_eq!(rfc3339(start.secs()), "2026-11-21T10:00:00Z");
        clock.advance(Duration::from_millis(1500));
        assert_eq!(other.now().since(start), Duration::from_millis(1500));
        assert_eq!(other.now().secs(), start.secs() + 1);
        assert_eq!(other.now().secs_ceil(), start.secs() + 2);
    }
}
