//! Key material. The operator gives one or more master secrets (`kid:base64url`); from each we
//! derive, with HKDF-SHA256 and distinct labels, one key per job, so that a key used to sign
//! challenge tokens can never be confused with the one that derives codes or binds addresses
//! (docs/security.md, keys). The proof key is a separate secret shared with the sites' backends.
//! Every key lives in a [`SecretKey`], whose `Debug` prints a placeholder.

use crate::secret::{SecretBytes, SecretKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use sha2::Sha256;

/// Shortest secret accepted: 256 bits.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest key id: it travels inside every token.
pub const MAX_KID_LEN: usize = 16;

/// Domain-separation labels: the product, the purpose and the version.
const LABEL_TOKEN: &[u8] = b"otp-relay/v1/challenge-token-mac";
const LABEL_CODE: &[u8] = b"otp-relay/v1/code-prf";
const LABEL_ADDRESS: &[u8] = b"otp-relay/v1/address-binding";
const LABEL_POW: &[u8] = b"otp-relay/v1/pow-signature";
// The label keeps its historical name so that pseudonyms stay stable across versions.
const LABEL_STORE: &[u8] = b"otp-relay/v1/ledger-address-key";

/// The keys derived from one master secret.
#[derive(Clone, Debug)]
pub struct ChallengeKeys {
    pub kid: String,
    pub token_mac: SecretKey,
    pub code_prf: SecretKey,
    pub address_binding: SecretKey,
    /// Signs proof-of-work challenges (`pow.rs`); its MAC is keyed by the hex text of the key,
    /// as ALTCHA's libraries take it.
    pub pow_signature: SecretKey,
}

/// All challenge keys: the first signs new tokens, every one verifies (key rotation).
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: Vec<ChallengeKeys>,
    /// Pseudonymises addresses in the store; from the first secret, so rotation resets budgets
    /// at worst, never mixes them.
    store_key: SecretKey,
}

/// Why a secret given by the operator was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no secret given")]
    Empty,
    /// Which item (counting from 1): nothing of it is repeated, as it may be a bare secret.
    #[error("secret item {0} is not of the form kid:base64url (it has no kid: in front)")]
    NoKid(usize),
    #[error("key id {0:?} must be 1 to 16 characters of A-Z, a-z, 0-9, '-' or '_'")]
    BadKid(String),
    #[error("key id {0:?} appears twice")]
    DuplicateKid(String),
    #[error("secret {0:?} is not base64url (A-Z a-z 0-9 - _, no padding)")]
    NotBase64(String),
    #[error(
        "secret {0:?} is {1} bytes; at least 32 random bytes are needed (use `otp-relay keygen`)"
    )]
    TooShort(String, usize),
    #[error(
        "proof key {0:?} is {1} bytes; an Ed25519 seed is exactly 32 random bytes (use `otp-relay keygen --kid ID`)"
    )]
    SeedLength(String, usize),
}

fn derive_bytes(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"otp-relay"), secret);
    let mut out = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit, so expand cannot fail.
    if hk.expand(label, &mut out).is_err() {
        unreachable!("HKDF output length is fixed and valid");
    }
    out
}

fn derive(secret: &[u8], label: &[u8]) -> SecretKey {
    SecretKey::new(derive_bytes(secret, label))
}

/// Decodes a base64url secret (padding tolerated) and checks its length.
pub fn decode_secret(name: &str, text: &str) -> Result<SecretBytes, KeyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim().trim_end_matches('='))
        .map_err(|_| KeyError::NotBase64(name.to_string()))?;
    if bytes.len() < MIN_SECRET_BYTES {
        return Err(KeyError::TooShort(name.to_string(), bytes.len()));
    }
    Ok(SecretBytes::new(bytes))
}

/// A fresh random secret in the form `keygen` prints.
pub fn random_secret() -> String {
    URL_SAFE_NO_PAD.encode(crate::random::bytes::<32>())
}

/// Splits `kid:base64url[,kid:base64url...]` into checked key ids and decoded secrets (each
/// at least 32 bytes), in order. Shared by the challenge keys and the proof keys.
pub fn parse_items(spec: &str) -> Result<Vec<(String, SecretBytes)>, KeyError> {
    let mut items: Vec<(String, SecretBytes)> = Vec::new();
    for (position, item) in spec
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
    {
        let (kid, secret) = item.split_once(':').ok_or(KeyError::NoKid(position + 1))?;
        let kid_ok = !kid.is_empty()
            && kid.len() <= MAX_KID_LEN
            && kid
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !kid_ok {
            return Err(KeyError::BadKid(kid.to_string()));
        }
        if items.iter().any(|(k, _)| k == kid) {
            return Err(KeyError::DuplicateKid(kid.to_string()));
        }
        items.push((kid.to_string(), decode_secret(kid, secret)?));
    }
    if items.is_empty() {
        return Err(KeyError::Empty);
    }
    Ok(items)
}

impl KeyRing {
    /// Parses `kid:base64url[,kid:base64url...]`.
    pub fn parse(spec: &str) -> Result<Self, KeyError> {
        let items = parse_items(spec)?;
        let (_, first) = items.first().ok_or(KeyError::Empty)?;
        let store_key = derive(first.expose(), LABEL_STORE);
        let keys = items
            .into_iter()
            .map(|(kid, secret)| ChallengeKeys {
                kid,
                token_mac: derive(secret.expose(), LABEL_TOKEN),
                code_prf: derive(secret.expose(), LABEL_CODE),
                address_binding: derive(secret.expose(), LABEL_ADDRESS),
                pow_signature: SecretKey::keyed_by_hex(derive_bytes(secret.expose(), LABEL_POW)),
            })
            .collect();
        Ok(KeyRing { keys, store_key })
    }

    /// A ring with one random key, for a run without a configured secret.
    pub fn random() -> Self {
        // A fresh 32-byte secret always parses.
        match Self::parse(&format!("ephemeral:{}", random_secret())) {
            Ok(ring) => ring,
            Err(error) => unreachable!("random key ring: {error}"),
        }
    }

    /// The key that signs new challenges.
    pub fn signing(&self) -> &ChallengeKeys {
        &self.keys[0]
    }

    /// Every configured key, the signing one first.
    pub fn all(&self) -> impl Iterator<Item = &ChallengeKeys> {
        self.keys.iter()
    }

    /// The key with this id, if it is configured.
    pub fn by_kid(&self, kid: &str) -> Option<&ChallengeKeys> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// Key for pseudonymising addresses in store keys.
    pub fn store_key(&self) -> &SecretKey {
        &self.store_key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> String {
        random_secret()
    }

    #[test]
    fn parses_several_keys_first_signs() {
        let ring = KeyRing::parse(&format!("new:{}, old:{}", secret(), secret())).unwrap();
        assert_eq!(ring.signing().kid, "new");
        assert!(ring.by_kid("old").is_some());
        assert!(ring.by_kid("other").is_none());
    }

    #[test]
    fn derived_keys_differ_per_purpose() {
        let ring = KeyRing::parse(&format!("k:{}", secret())).unwrap();
        let k = ring.signing();
        assert_ne!(k.token_mac, k.code_prf);
        assert_ne!(k.token_mac, k.address_binding);
        assert_ne!(k.code_prf, k.address_binding);
        assert_ne!(&k.token_mac, ring.store_key());
    }

    #[test]
    fn debug_output_names_key_ids_only() {
        let secret = secret();
        let ring = KeyRing::parse(&format!("k:{secret}")).unwrap();
        let printed = format!("{ring:?}");
        assert!(printed.contains("\"k\""));
        assert!(!printed.contains(&secret), "{printed}");
        let raw = ring
            .signing()
            .token_mac
            .expose()
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assert!(!printed.contains(&raw), "{printed}");
    }

    #[test]
    fn weak_or_malformed_secrets_are_refused() {
        assert!(matches!(KeyRing::parse(""), Err(KeyError::Empty)));
        let bare = secret();
        let refused = KeyRing::parse(&format!("k1:{bare},{bare}")).unwrap_err();
        assert_eq!(refused, KeyError::NoKid(2));
        assert!(
            !refused.to_string().contains(&bare[..4]),
            "a bare secret is never echoed: {refused}"
        );
        assert!(matches!(
            KeyRing::parse("k:c2hvcnQ"),
            Err(KeyError::TooShort(_, 5))
        ));
        assert!(matches!(
            KeyRing::parse("k:***"),
            Err(KeyError::NotBase64(_))
        ));
        assert!(matches!(
            KeyRing::parse(&format!("bad kid:{}", secret())),
            Err(KeyError::BadKid(_))
        ));
        let s = secret();
        assert!(matches!(
            KeyRing::parse(&format!("a:{s},a:{s}")),
            Err(KeyError::DuplicateKid(_))
        ));
    }
}
