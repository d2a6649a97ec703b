//! Secret material in types that cannot be printed by accident: their `Debug` shows a
//! placeholder, never the bytes, so a `{:?}` of a configuration or a key ring in a log or a
//! panic message leaks nothing.

use std::fmt;

/// Secret bytes: key material, a proof key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn new(bytes: Vec<u8>) -> Self {
        SecretBytes(bytes)
    }

    /// The bytes, for the one place that uses them as a key.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes(<{} bytes redacted>)", self.0.len())
    }
}

/// A fixed-size derived key, with its HMAC-SHA256 state prepared once: starting a MAC is then a
/// copy instead of hashing the padded key again for every request.
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; 32],
    mac: hmac::Hmac<sha2::Sha256>,
}

impl SecretKey {
    pub fn new(bytes: [u8; 32]) -> Self {
        let mac = <hmac::Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(&bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        SecretKey { bytes, mac }
    }

    pub fn expose(&self) -> &[u8; 32] {
        &self.bytes
    }

    /// A fresh HMAC-SHA256 under this key, ready for `update`.
    pub fn mac(&self) -> hmac::Hmac<sha2::Sha256> {
        self.mac.clone()
    }
}

impl PartialEq for SecretKey {
    fn eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq;
        self.bytes.ct_eq(&other.bytes).into()
    }
}

impl Eq for SecretKey {}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// A secret string, such as an SMTP password.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(text: String) -> Self {
        SecretString(text)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for SecretString {
    type Err = std::convert::Infallible;

    /// For flags and environment variables that carry secrets.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(SecretString(text.to_string()))
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
