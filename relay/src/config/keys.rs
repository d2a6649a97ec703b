//! The keys: the challenge keys (`OTP_RELAY_SECRET`) and the proof keys (`OTP_RELAY_PROOF_KEYS`,
//! or the legacy `OTP_RELAY_PROOF_SECRET`); random ones for this run when none is set, which the
//! relay warns about at start.

use super::*;
use crate::core::keys;
use crate::core::secret::SecretString;

/// The challenge keys, and whether they are random for this run.
pub(super) fn challenge_keys(args: &ServeArgs) -> Result<(KeyRing, bool), ConfigError> {
    match args.secret.as_ref().map(|s| s.expose().trim()) {
        Some(spec) if !spec.is_empty() => Ok((
            KeyRing::parse(spec).map_err(|e| {
                ConfigError::new("OTP_RELAY_SECRET", format!("OTP_RELAY_SECRET: {e}"))
            })?,
            false,
        )),
        _ => Ok((KeyRing::random(), true)),
    }
}

/// The proof keys, and whether they are random for this run.
pub(super) fn proof_keys(args: &ServeArgs) -> Result<(ProofKeys, bool), ConfigError> {
    let set = |value: &Option<SecretString>| {
        value
            .as_ref()
            .map(|s| s.expose().trim().to_string())
            .filter(|text| !text.is_empty())
    };
    match (set(&args.proof_keys), set(&args.proof_secret)) {
        (Some(_), Some(_)) => Err(ConfigError::new(
            "OTP_RELAY_PROOF_SECRET",
            "OTP_RELAY_PROOF_KEYS and OTP_RELAY_PROOF_SECRET are both set: \
             keep OTP_RELAY_PROOF_KEYS (Ed25519, public keys at /.well-known/jwks.json) \
             and unset OTP_RELAY_PROOF_SECRET, or keep only the legacy HS256 secret",
        )),
        (Some(spec), None) => Ok((
            ProofKeys::parse_ed25519(&spec).map_err(|e| {
                ConfigError::new("OTP_RELAY_PROOF_KEYS", format!("OTP_RELAY_PROOF_KEYS: {e}"))
            })?,
            false,
        )),
        (None, Some(text)) => Ok((
            ProofKeys::Hs256(
                keys::decode_secret("OTP_RELAY_PROOF_SECRET", &text).map_err(|e| {
                    ConfigError::new(
                        "OTP_RELAY_PROOF_SECRET",
                        format!("OTP_RELAY_PROOF_SECRET: {e}"),
                    )
                })?,
            ),
            false,
        )),
        (None, None) => Ok((ProofKeys::random_ed25519(), true)),
    }
}
