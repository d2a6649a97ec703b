//! Review addresses: addresses an operator lists with a fixed code, for app-store reviewers and
//! for end-to-end tests of an embedding site, who need a code known in advance and no email.
//! For such an address the service sends nothing and expects the listed code instead of the
//! derived one; every other rule (attempts, expiry, site binding, single use, limits, the proof
//! of work) holds as for anyone. Its proof carries `review: true`, so a backend can refuse it
//! (docs/api.md). The match is on the whole normalised address, not the mailbox: `review+x@`
//! is an ordinary address.

use otp_relay_shared::{Code, EmailAddress};
use std::collections::HashMap;

/// The listed addresses and their codes.
#[derive(Clone, Default)]
pub struct ReviewAddresses {
    codes: HashMap<String, Code>,
}

// The codes are secrets of a kind: never in a debug print of the configuration.
impl std::fmt::Debug for ReviewAddresses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReviewAddresses({} listed)", self.codes.len())
    }
}

impl ReviewAddresses {
    /// Parses `address:code` pairs separated by commas or line breaks (a file holds one a
    /// line), each code `code_length` digits, each address one the address rule accepts. The
    /// error names the entry by its position and its address, never its code.
    pub fn parse(spec: &str, code_length: usize) -> Result<ReviewAddresses, String> {
        let mut codes = HashMap::new();
        let entries = spec
            .split([',', '\n'])
            .map(|entry| entry.trim_matches([' ', '\t', '\r']))
            .filter(|entry| !entry.is_empty());
        for (index, entry) in entries.enumerate() {
            let position = index + 1;
            let Some((raw_address, raw_code)) = entry.rsplit_once(':') else {
                return Err(format!(
                    "entry {position} is not address:code (e.g. review@example.com:{})",
                    "1".repeat(code_length)
                ));
            };
            let address = EmailAddress::parse(raw_address)
                .map_err(|error| format!("entry {position}, {raw_address:?}: {error}"))?;
            let code = Code::parse(raw_code.trim(), code_length).map_err(|_| {
                format!(
                    "entry {position}, {address}: the code must be {code_length} digits \
                     (OTP_RELAY_CODE_LENGTH)"
                )
            })?;
            if codes.insert(address.to_string(), code).is_some() {
                return Err(format!("entry {position}, {address}: listed twice"));
            }
        }
        Ok(ReviewAddresses { codes })
    }

    /// The fixed code of `email`, if it is a review address.
    pub fn code_for(&self, email: &EmailAddress) -> Option<&Code> {
        self.codes.get(email.as_str())
    }

    /// How many addresses are listed.
    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(raw: &str) -> EmailAddress {
        EmailAddress::parse(raw).unwrap()
    }

    #[test]
    fn pairs_by_comma_or_line_normalised() {
        let listed = ReviewAddresses::parse(
            "Review@Example.com:123456,\n e2e@shop.example : 654321\n",
            6,
        )
        .unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(
            listed
                .code_for(&address("review@example.com"))
                .unwrap()
                .as_str(),
            "123456"
        );
        assert_eq!(
            listed
                .code_for(&address("e2e@shop.example"))
                .unwrap()
                .as_str(),
            "654321"
        );
        // The whole address, not its mailbox.
        assert!(listed.code_for(&address("review+x@example.com")).is_none());
        assert!(ReviewAddresses::parse("", 6).unwrap().is_empty());
    }

    #[test]
    fn refusals_name_the_entry_never_the_code() {
        for (spec, says) in [
            ("review@example.com", "entry 1 is not address:code"),
            (
                "a@example.com:111111,review@example.com:12345",
                "must be 6 digits",
            ),
            ("review@example.com:12345a", "must be 6 digits"),
            ("not-an-address:123456", "entry 1, \"not-an-address\""),
            ("a b@example.com:123456", "entry 1"),
            ("a@example.com:123456,A@example.com:654321", "listed twice"),
        ] {
            let error = ReviewAddresses::parse(spec, 6).unwrap_err();
            assert!(error.contains(says), "{spec}: {error}");
            assert!(
                !error.contains("12345a") && !error.contains("654321"),
                "{error}"
            );
        }
        assert!(ReviewAddresses::parse("a@example.com:12345678", 8).is_ok());
    }
}
