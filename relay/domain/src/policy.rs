//! The rules of the flow as numbers: lifetimes, attempts, limits. Checked by the configuration
//! layer, then given to the service.

use std::time::Duration;

/// A count per window, such as `5/15m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u64,
    pub window: Duration,
}

/// The rules of the flow.
#[derive(Debug, Clone)]
pub struct Policy {
    pub ttl: Duration,
    pub code_length: usize,
    pub max_attempts: u32,
    pub sends_per_challenge: u32,
    pub resend_after: Duration,
    /// Sends to one mailbox asked for from one client network: a stranger's requests spend
    /// their own network's share, not the mailbox's owner's (docs/security.md, A27).
    pub sends_per_address: Rate,
    /// Sends to one mailbox from every network together: what an inbox can receive at most.
    pub sends_per_address_total: Rate,
    pub sends_per_ip: Rate,
    /// Wrong codes for one mailbox from one client network, across challenges.
    pub failures_per_address: Rate,
    /// Wrong codes for one mailbox from every network together (NIST 800-63B: at most 100).
    pub failures_per_address_total: Rate,
    pub proof_ttl: Duration,
}

impl Default for Policy {
    /// The defaults of docs/api.md.
    fn default() -> Self {
        const MINUTE: Duration = Duration::from_secs(60);
        Policy {
            ttl: 5 * MINUTE,
            code_length: otp_relay_shared::DEFAULT_CODE_LENGTH,
            max_attempts: 3,
            sends_per_challenge: 3,
            resend_after: Duration::from_secs(30),
            sends_per_address: Rate {
                count: 5,
                window: 15 * MINUTE,
            },
            sends_per_address_total: Rate {
                count: 20,
                window: 15 * MINUTE,
            },
            sends_per_ip: Rate {
                count: 20,
                window: 15 * MINUTE,
            },
            failures_per_address: Rate {
                count: 10,
                window: 60 * MINUTE,
            },
            failures_per_address_total: Rate {
                count: 100,
                window: 60 * MINUTE,
            },
            proof_ttl: 10 * MINUTE,
        }
    }
}
