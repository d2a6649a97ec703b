//! The policy: lifetimes, attempts and limits, within the bounds they must keep
//! (docs/security.md, requirements 2 and 5, and the lock-out rule of A27).

use super::*;

/// Longest lifetime allowed (docs/security.md, requirement 2).
pub const MAX_TTL: Duration = Duration::from_secs(600);
/// Highest failure budget allowed (NIST 800-63B 5.2.2).
pub const MAX_FAILURES: u64 = 100;

/// The proof of work the arguments ask for (docs/security.md, requirement 14).
pub(super) fn pow_settings(args: &ServeArgs) -> Result<PowSettings, ConfigError> {
    let exempt = super::listen::parse_networks(&args.pow_exempt).map_err(|item| {
        ConfigError::new(
            "OTP_RELAY_POW_EXEMPT",
            format!(
                "OTP_RELAY_POW_EXEMPT: {item:?} is not an IP address or a CIDR range such as 10.0.0.0/8"
            ),
        )
    })?;
    if !(1..=crate::core::pow::MAX_DIFFICULTY).contains(&args.pow_base) {
        return Err(ConfigError::new(
            "OTP_RELAY_POW_BASE",
            format!(
                "OTP_RELAY_POW_BASE must be between 1 and {}",
                crate::core::pow::MAX_DIFFICULTY
            ),
        ));
    }
    if args.pow_surge == 0 {
        return Err(ConfigError::new(
            "OTP_RELAY_POW_SURGE",
            "OTP_RELAY_POW_SURGE must be at least 1 send per minute",
        ));
    }
    Ok(PowSettings {
        enabled: args.pow,
        base: args.pow_base,
        surge_per_minute: args.pow_surge,
        exempt,
        ..PowSettings::default()
    })
}

/// The policy the arguments ask for, within its bounds.
pub(super) fn checked(args: &ServeArgs) -> Result<Policy, ConfigError> {
    let policy = Policy {
        ttl: args.ttl,
        code_length: args.code_length,
        max_attempts: args.max_attempts,
        sends_per_challenge: args.sends_per_challenge,
        resend_after: args.resend_after,
        sends_per_address: args.sends_per_address,
        sends_per_address_total: args.sends_per_address_total,
        sends_per_ip: args.sends_per_ip,
        failures_per_address: args.failures_per_address,
        failures_per_address_total: args.failures_per_address_total,
        proof_ttl: args.proof_ttl,
    };
    let refuse = |variable: &'static str, message: &str| Err(ConfigError::new(variable, message));
    if policy.ttl.is_zero() || policy.ttl > MAX_TTL {
        return refuse("OTP_RELAY_TTL", "OTP_RELAY_TTL must be between 1s and 10m");
    }
    if !(otp_relay_shared::MIN_CODE_LENGTH..=otp_relay_shared::MAX_CODE_LENGTH)
        .contains(&policy.code_length)
    {
        return refuse(
            "OTP_RELAY_CODE_LENGTH",
            "OTP_RELAY_CODE_LENGTH must be between 6 and 9",
        );
    }
    if !(1..=10).contains(&policy.max_attempts) {
        return refuse(
            "OTP_RELAY_MAX_ATTEMPTS",
            "OTP_RELAY_MAX_ATTEMPTS must be between 1 and 10",
        );
    }
    if policy.sends_per_challenge == 0 {
        return refuse(
            "OTP_RELAY_SENDS_PER_CHALLENGE",
            "OTP_RELAY_SENDS_PER_CHALLENGE must be at least 1",
        );
    }
    if policy.failures_per_address_total.count > MAX_FAILURES {
        return refuse(
            "OTP_RELAY_FAILURES_PER_ADDRESS_TOTAL",
            "OTP_RELAY_FAILURES_PER_ADDRESS_TOTAL allows at most 100 failures",
        );
    }
    // A network's share above the total would let one network spend the whole of it, which is
    // the lock-out the shares exist to prevent (docs/security.md, A27).
    for (share, total, share_name, total_name) in [
        (
            policy.sends_per_address,
            policy.sends_per_address_total,
            "OTP_RELAY_SENDS_PER_ADDRESS",
            "OTP_RELAY_SENDS_PER_ADDRESS_TOTAL",
        ),
        (
            policy.failures_per_address,
            policy.failures_per_address_total,
            "OTP_RELAY_FAILURES_PER_ADDRESS",
            "OTP_RELAY_FAILURES_PER_ADDRESS_TOTAL",
        ),
    ] {
        if share.count >= total.count {
            return Err(ConfigError::new(
                share_name,
                format!(
                    "{share_name} ({}) must be below {total_name} ({}): one client network could \
                     otherwise spend the whole budget and lock the address's owner out. Raise \
                     {total_name} or lower {share_name}",
                    share.count, total.count
                ),
            ));
        }
    }
    if policy.proof_ttl.is_zero() {
        return refuse(
            "OTP_RELAY_PROOF_TTL",
            "OTP_RELAY_PROOF_TTL must be above zero",
        );
    }
    // The in-memory store's sketches count in 16-bit cells.
    if [
        policy.sends_per_ip,
        policy.sends_per_address,
        policy.sends_per_address_total,
        policy.failures_per_address,
        policy.failures_per_address_total,
    ]
    .iter()
    .any(|rate| rate.count >= u64::from(u16::MAX))
    {
        return refuse(
            "OTP_RELAY_SENDS_PER_IP",
            "OTP_RELAY_SENDS_PER_IP, OTP_RELAY_SENDS_PER_ADDRESS(_TOTAL) and OTP_RELAY_FAILURES_PER_ADDRESS(_TOTAL) allow at most 65534 per window; use a shorter window for more",
        );
    }
    Ok(policy)
}
