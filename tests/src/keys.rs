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

/// The relay's proof-of-work key under [`challenge_secret`], as ALTCHA's libraries take it: the
/// hex text of the key (docs/api.md, `GET /api/v1/pow`).
pub fn pow_key_hex() -> String {
    let keys = otp_relay::core::keys::KeyRing::parse(&challenge_secret()).expect("the test secret");
    otp_relay::core::hex(keys.signing().pow_signature.expose())
}

/// A proof-of-work challenge signed with the relay's key (under [`challenge_secret`]) for a
/// client at `ip`, as the relay would have issued it `age` ago at `maxnumber`: for solutions the
/// relay's own `GET /api/v1/pow` never hands out (expired, easier than needed).
pub fn signed_pow(
    ip: &str,
    maxnumber: u64,
    age: std::time::Duration,
) -> otp_relay_shared::pow::PowChallenge {
    use otp_relay::core::{Clock, SystemClock};
    let keys = otp_relay::core::keys::KeyRing::parse(&challenge_secret()).expect("the test secret");
    let issued = otp_relay::core::UnixTime::from_secs(SystemClock.now().secs() - age.as_secs());
    otp_relay::core::pow::issue(
        &keys,
        ip.parse().expect("an address"),
        maxnumber,
        issued,
        std::time::Duration::from_secs(600),
    )
}

/// The `pow` a client sends for `challenge`: solved, base64 of the solution as JSON.
pub fn paid(challenge: &otp_relay_shared::pow::PowChallenge) -> String {
    otp_relay::testing::solve_pow(&serde_json::to_value(challenge).expect("JSON"))
        .expect("it solves")
}
