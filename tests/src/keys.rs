//! Secrets and keys the relays of the tests are started with, and the check a backend runs on a
//! proof.

use super::*;

/// A fixed challenge secret, so a restarted relay knows its earlier tokens.
pub fn challenge_secret() -> String {
    format!("k1:{}", URL_SAFE_NO_PAD.encode([11u8; 32]))
}

/// The legacy HS256 proof secret, for the tests of that mode (`OTP_RELAY_PROOF_SECRET`).
pub const PROOF_KEY: [u8; 32] = [42u8; 32];

pub fn proof_secret() -> String {
    URL_SAFE_NO_PAD.encode(PROOF_KEY)
}

/// The Ed25519 seed of the relays' proof key `p1` (`OTP_RELAY_PROOF_KEYS`, set by default).
pub const PROOF_SEED: [u8; 32] = [43u8; 32];

pub fn proof_keys() -> String {
    format!("p1:{}", URL_SAFE_NO_PAD.encode(PROOF_SEED))
}

/// An Ed25519 seed as the PKCS#8 document `jsonwebtoken` signs with (RFC 8410), so tests can
/// mint proofs with a key of their own.
pub fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// A relay's JWK Set, fetched from `/.well-known/jwks.json` as a backend would.
pub async fn fetch_jwks(relay_url: &str) -> jsonwebtoken::jwk::JwkSet {
    reqwest::get(format!("{relay_url}/.well-known/jwks.json"))
        .await
        .expect("GET jwks.json")
        .error_for_status()
        .expect("jwks.json answers 200")
        .json()
        .await
        .expect("a JWK Set")
}

/// The README's Rust backend check: the key the proof's `kid` names in `jwks`, EdDSA only, this
/// audience and issuer exactly, `exp` with no leeway; the claims, or why not.
pub fn check_proof(
    proof: &str,
    jwks: &jsonwebtoken::jwk::JwkSet,
    audience: &str,
    issuer: &str,
) -> Result<Value, String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(proof).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("the proof names no key")?;
    let jwk = jwks.find(&kid).ok_or(format!("no published key {kid:?}"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(proof, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if claims["email_verified"] != true {
        return Err("email_verified is not true".into());
    }
    Ok(claims)
}
