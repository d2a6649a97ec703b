//! The code rule: exactly `length` ASCII digits on the wire, and the forgiving normalisation a
//! client applies to what a person types or pastes before sending it.

use std::fmt;

/// A code in its wire form: exactly the configured number of ASCII digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Code(String);

/// Why a code string was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    WrongLength { expected: usize },
    NotDigits { expected: usize },
}

/// The English sentence of the catalogue (`refusal.code_format`).
impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (CodeError::WrongLength { expected } | CodeError::NotDigits { expected }) = self;
        f.write_str(
            &crate::Catalogue::of(crate::Lang::En)
                .text("refusal.code_format", &[("length", &expected.to_string())]),
        )
    }
}

impl std::error::Error for CodeError {}

impl Code {
    /// Strict parse of the wire form: no spaces, no other digits than ASCII.
    pub fn parse(input: &str, length: usize) -> Result<Self, CodeError> {
        if !input.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CodeError::NotDigits { expected: length });
        }
        if input.len() != length {
            return Err(CodeError::WrongLength { expected: length });
        }
        Ok(Code(input.to_owned()))
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

// Never print a code by accident (logs, panics, debug output).
impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Code(******)")
    }
}

/// Turns what a person typed or pasted into wire digits: full-width and other Unicode decimal
/// digits become ASCII, spaces, dashes and dots between groups are dropped. Anything else is kept
/// so that [`Code::parse`] can refuse it.
pub fn normalize_typed_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !(c.is_whitespace() || matches!(c, '-' | '‐' | '‑' | '–' | '—' | '.' | '·')))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (c as u32 - '０' as u32) as u8),
            _ => c,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse_takes_exactly_the_digits() {
        assert_eq!(Code::parse("012345", 6).unwrap().as_str(), "012345");
        for bad in [
            "",
            "12345",
            "1234567",
            "12345a",
            " 123456",
            "１２３４５６",
            "12 456",
        ] {
            assert!(Code::parse(bad, 6).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn typed_codes_are_normalised() {
        assert_eq!(normalize_typed_code("123 456"), "123456");
        assert_eq!(normalize_typed_code("123-456"), "123456");
        assert_eq!(normalize_typed_code(" １２３４５６\n"), "123456");
        assert_eq!(normalize_typed_code("12a456"), "12a456");
    }

    #[test]
    fn debug_never_shows_the_digits() {
        let code = Code::parse("987654", 6).unwrap();
        assert!(!format!("{code:?}").contains("987654"));
    }
}
