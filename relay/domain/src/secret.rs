//! Secret material in types that cannot be printed by accident: their `Debug` shows a
//! placeholder, never the bytes, so a `{:?}` of a configuration or a key ring in a log or a
//! panic message leaks nothing. The bytes live in `secrecy`'s boxes, which wipe them when they
//! are dropped; these wrappers keep the relay's own names (`expose`) and compare in constant
//! time.

use secrecy::{ExposeSecret, SecretSlice};
use std::fmt;
use subtle::ConstantTimeEq;

/// Secret bytes: key material, a proof key. Wiped from memory when dropped (`secrecy`).
#[derive(Clone)]
pub struct SecretBytes(SecretSlice<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(SecretSlice::from(bytes))
    }

    /// The bytes, for the one place that uses them as a key.
    pub fn expose(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

impl PartialEq for SecretBytes {
    fn eq(&self, other: &Self) -> bool {
        self.expose().ct_eq(other.expose()).into()
    }
}

impl Eq for SecretBytes {}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.expose().len())
    }
}

/// A fixed-size derived key, with its HMAC-SHA256 state prepared once: starting a MAC is then a
/// copy instead of hashing the padded key again for every request. Both are wiped from memory
/// when dropped (`secrecy`, and hmac's `zeroize` feature for the prepared state).
#[derive(Clone)]
pub struct SecretKey {
    bytes: SecretSlice<u8>,
    mac: hmac::Hmac<sha2::Sha256>,
}

impl SecretKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        Self::keyed_by(bytes, |bytes| bytes.to_vec())
    }

    /// A key whose MAC is keyed by the lowercase hex text of its bytes: ALTCHA's libraries take
    /// their HMAC key as text, and this is the text an operator would give them.
    pub fn keyed_by_hex(bytes: [u8; 32]) -> Self {
        Self::keyed_by(bytes, |bytes| crate::hex(bytes).into_bytes())
    }

    fn keyed_by(mut bytes: [u8; 32], mac_key: impl Fn(&[u8]) -> Vec<u8>) -> Self {
        let mut key = mac_key(&bytes);
        let mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        zeroize::Zeroize::zeroize(&mut key);
        let key = SecretKey {
            bytes: SecretSlice::from(bytes.to_vec()),
            mac,
        };
        zeroize::Zeroize::zeroize(&mut bytes);
        key
    }

    /// The key's 32 bytes.
    pub fn expose(&self) -> &[u8] {
        self.bytes.expose_secret()
    }

    /// A fresh HMAC-SHA256 under this key, ready for `update`.
    pub fn mac(&self) -> hmac::Hmac<sha2::Sha256> {
        self.mac.clone()
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        self.expose().ct_eq(other.expose()).into()
    }
}

impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A secret string, such as an SMTP password or a Redis URL with one. Wiped from memory when
/// dropped (`secrecy`).
#[derive(Clone)]
pub struct SecretString(secrecy::SecretString);

impl SecretString {
    pub fn new(text: String) -> Self {
        SecretString(secrecy::SecretString::from(text))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl PartialEq for SecretString {
    fn eq(&self, other: &Self) -> bool {
        self.expose()
            .as_bytes()
            .ct_eq(other.expose().as_bytes())
            .into()
    }
}

impl Eq for SecretString {}

impl std::str::FromStr for SecretString {
    type Err = std::convert::Infallible;

    /// For flags and environment variables that carry secrets.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(SecretString::new(text.to_string()))
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_secret() {
        let printed = format!(
            "{:?} {:?} {:?}",
            SecretBytes::new(b"hunter2-bytes".to_vec()),
            SecretKey::new([0x41; 32]),
            SecretString::new("hunter2".into())
        );
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(
            !printed.contains("AAAA") && !printed.contains("65, 65"),
            "{printed}"
        );
        assert!(printed.contains("redacted"));
    }
}
