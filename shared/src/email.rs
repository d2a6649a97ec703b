//! The address rule: one plain `local@domain` address, nothing that could smuggle a header or a
//! second recipient into a mail library, normalised to lower case so that limits keyed by address
//! cannot be dodged by changing case.

use std::fmt;

/// Longest address accepted (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_LENGTH: usize = 254;
/// Longest local part (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL_PART_LENGTH: usize = 64;
const MAX_LABEL_LENGTH: usize = 63;

/// A syntactically valid, normalised email address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Why an address was refused; `Display` is a sentence a person can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailError {
    Empty,
    TooLong,
    ControlCharacter,
    Whitespace,
    NoAt,
    SeveralAt,
    ListSeparator,
    EmptyLocalPart,
    LocalPartTooLong,
    LocalPartCharacter(char),
    /// `%` or `!`: old source-routing syntax that some mail servers still follow to another host.
    RoutingCharacter(char),
    LocalPartDots,
    InvalidDomain,
    NonAsciiDomain,
}

/// The English sentence of the catalogue (`address.*`): the rule names the refusal, the catalogue
/// words it.
impl fmt::Display for EmailError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::Catalogue::of(crate::Lang::En).address_refusal(self))
    }
}

impl std::error::Error for EmailError {}

impl EmailError {
    /// This refusal's message in the catalogues (`address.*` in `i18n/page/`), with the name and
    /// value of the message's one placeholder (`max`, `char`), if it has one.
    pub fn message(&self) -> (&'static str, Option<(&'static str, String)>) {
        let max = |n: usize| Some(("max", n.to_string()));
        let char = |c: &char| Some(("char", c.to_string()));
        match self {
            EmailError::Empty => ("address.empty", None),
            EmailError::TooLong => ("address.too_long", max(MAX_EMAIL_LENGTH)),
            EmailError::ControlCharacter => ("address.control", None),
            EmailError::Whitespace => ("address.whitespace", None),
            EmailError::NoAt => ("address.no_at", None),
            EmailError::SeveralAt => ("address.several_at", None),
            EmailError::ListSeparator => ("address.list", None),
            EmailError::EmptyLocalPart => ("address.empty_local", None),
            EmailError::LocalPartTooLong => ("address.local_too_long", max(MAX_LOCAL_PART_LENGTH)),
            EmailError::LocalPartCharacter(c) => ("address.local_character", char(c)),
            EmailError::RoutingCharacter(c) => ("address.routing_character", char(c)),
            EmailError::LocalPartDots => ("address.local_dots", None),
            EmailError::InvalidDomain => ("address.invalid_domain", None),
            EmailError::NonAsciiDomain => ("address.non_ascii_domain", None),
        }
    }

    /// One of each refusal, for tests that go through them all.
    pub fn every_kind() -> [EmailError; 14] {
        [
            EmailError::Empty,
            EmailError::TooLong,
            EmailError::ControlCharacter,
            EmailError::Whitespace,
            EmailError::NoAt,
            EmailError::SeveralAt,
            EmailError::ListSeparator,
            EmailError::EmptyLocalPart,
            EmailError::LocalPartTooLong,
            EmailError::LocalPartCharacter('('),
            EmailError::RoutingCharacter('%'),
            EmailError::LocalPartDots,
            EmailError::InvalidDomain,
            EmailError::NonAsciiDomain,
        ]
    }
}

impl EmailAddress {
    /// Parses what a person typed. Surrounding spaces are forgiven; everything else that is not a
    /// plain address is refused with the reason.
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim_matches(' ');
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        // Checked before the length so that an injection attempt is named for what it is.
        if trimmed.chars().any(is_forbidden_control) {
            return Err(EmailError::ControlCharacter);
        }
        if trimmed.len() > MAX_EMAIL_LENGTH {
            return Err(EmailError::TooLong);
        }
        if trimmed.contains([',', ';']) {
            return Err(EmailError::ListSeparator);
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err(EmailError::Whitespace);
        }
        let mut parts = trimmed.split('@');
        let (local, domain) = match (parts.next(), parts.next(), parts.next()) {
            (Some(local), Some(domain), None) => (local, domain),
            (_, None, _) => return Err(EmailError::NoAt),
            _ => return Err(EmailError::SeveralAt),
        };
        check_local_part(local)?;
        check_domain(domain)?;
        Ok(EmailAddress(trimmed.to_ascii_lowercase()))
    }

    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.rsplit('@').next().unwrap_or_default()
    }

    /// The mailbox this address delivers to, as far as can be told without asking its server:
    /// case-folded, a `+tag` removed, and at Gmail (gmail.com, googlemail.com) dots ignored and
    /// the two domains taken as one. Limits are keyed on it, so `ada+1@` … `ada+6@` share one
    /// budget; the address itself is what the code is sent to and what the proof names.
    pub fn mailbox(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((self.0.as_str(), ""));
        let local = match local.split_once('+') {
            Some((base, _tag)) if !base.is_empty() => base,
            _ => local,
        };
        match domain {
            "gmail.com" | "googlemail.com" => format!("{}@gmail.com", local.replace('.', "")),
            _ => format!("{local}@{domain}"),
        }
    }

    /// The address with most of the local part hidden, for log lines: `a***@example.com`.
    pub fn masked(&self) -> Masked<'_> {
        Masked(self)
    }
}

/// [`EmailAddress::masked`]: written straight into a log line, with nothing allocated.
pub struct Masked<'a>(&'a EmailAddress);

impl fmt::Display for Masked<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.as_str();
        let (local, domain) = text.split_once('@').unwrap_or((text, ""));
        if let Some(first) = local.chars().next() {
            write!(f, "{first}")?;
        }
        write!(f, "***@{domain}")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EmailAddress {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Control characters (C0, DEL, C1 such as U+0085) and the Unicode line and paragraph
/// separators, which some mail software treats as line breaks.
fn is_forbidden_control(c: char) -> bool {
    c.is_control() || c == '\u{2028}' || c == '\u{2029}'
}

/// The symbols RFC 5322 allows in an atom besides letters and digits. Matched byte-wise, like the
/// double dot below: a substring search would put a whole string-search algorithm into the
/// browser's download for these two checks.
fn is_atext_symbol(c: char) -> bool {
    c.is_ascii() && b"!#$%&'*+-/=?^_`{|}~".contains(&(c as u8))
}

/// RFC 5322 dot-atom: atext characters, dots only between them.
fn check_local_part(local: &str) -> Result<(), EmailError> {
    if local.is_empty() {
        return Err(EmailError::EmptyLocalPart);
    }
    if local.len() > MAX_LOCAL_PART_LENGTH {
        return Err(EmailError::LocalPartTooLong);
    }
    if let Some(bad) = local
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '.' || is_atext_symbol(c)))
    {
        return Err(EmailError::LocalPartCharacter(bad));
    }
    if let Some(route) = local.chars().find(|&c| c == '%' || c == '!') {
        return Err(EmailError::RoutingCharacter(route));
    }
    let double_dot = local.as_bytes().windows(2).any(|pair| pair == b"..");
    if local.starts_with('.') || local.ends_with('.') || double_dot {
        return Err(EmailError::LocalPartDots);
    }
    Ok(())
}

/// A DNS host name with at least two labels and a top-level label that is not all digits.
fn check_domain(domain: &str) -> Result<(), EmailError> {
    if !domain.is_ascii() {
        return Err(EmailError::NonAsciiDomain);
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(EmailError::InvalidDomain);
    }
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_LENGTH
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let top_level_ok = labels
        .last()
        .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    if labels.iter().all(|label| label_ok(label)) && top_level_ok {
        Ok(())
    } else {
        Err(EmailError::InvalidDomain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_addresses_are_accepted_and_lowercased() {
        for (input, normal) in [
            ("ada@example.com", "ada@example.com"),
            (
                "  Ada.Lovelace+otp@Example.CO.uk ",
                "ada.lovelace+otp@example.co.uk",
            ),
            ("o'brien@mail-1.example.org", "o'brien@mail-1.example.org"),
            ("x@xn--bcher-kva.example", "x@xn--bcher-kva.example"),
        ] {
            assert_eq!(
                EmailAddress::parse(input).unwrap().as_str(),
                normal,
                "{input}"
            );
        }
    }

    #[test]
    fn injection_and_malformed_addresses_are_refused() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_total = format!("a@{}.com", "b".repeat(250));
        let cases: Vec<(&str, EmailError)> = vec![
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            ("a@x.io\r\nBcc: e@y.io", EmailError::ControlCharacter),
            ("a@x.io\u{2028}", EmailError::ControlCharacter),
            ("a@x.io\u{0085}", EmailError::ControlCharacter),
            ("a\0@x.io", EmailError::ControlCharacter),
            ("a@x.io\tb", EmailError::ControlCharacter),
            ("a@x.io, b@y.io", EmailError::ListSeparator),
            ("a@x.io;b@y.io", EmailError::ListSeparator),
            ("a b@x.io", EmailError::Whitespace),
            ("example.com", EmailError::NoAt),
            ("a@b@x.io", EmailError::SeveralAt),
            ("@x.io", EmailError::EmptyLocalPart),
            (&long_local, EmailError::LocalPartTooLong),
            (&long_total, EmailError::TooLong),
            ("<a@x.io>", EmailError::LocalPartCharacter('<')),
            ("\"a\"@x.io", EmailError::LocalPartCharacter('"')),
            (".a@x.io", EmailError::LocalPartDots),
            ("a..b@x.io", EmailError::LocalPartDots),
            ("a@localhost", EmailError::InvalidDomain),
            ("a@x..io", EmailError::InvalidDomain),
            ("a@-x.io", EmailError::InvalidDomain),
            ("a@x_y.io", EmailError::InvalidDomain),
            ("a@1.2.3.4", EmailError::InvalidDomain),
            ("a@[127.0.0.1]", EmailError::InvalidDomain),
            ("a@bücher.example", EmailError::NonAsciiDomain),
            ("a%b@x.io", EmailError::RoutingCharacter('%')),
            ("host!a@x.io", EmailError::RoutingCharacter('!')),
        ];
        for (input, expected) in cases {
            assert_eq!(EmailAddress::parse(input), Err(expected), "{input:?}");
        }
    }

    #[test]
    fn every_atext_symbol_is_accepted_and_nothing_else() {
        for symbol in "#$&'*+-/=?^_`{|}~".chars() {
            let input = format!("a{symbol}b@x.io");
            assert!(EmailAddress::parse(&input).is_ok(), "{input:?}");
        }
        for bad in ['(', ')', '[', '\\', ':', '<', 'é', '\u{ff01}'] {
            let input = format!("a{bad}b@x.io");
            assert_eq!(
                EmailAddress::parse(&input),
                Err(EmailError::LocalPartCharacter(bad)),
                "{input:?}"
            );
        }
    }

    #[test]
    fn every_refusal_has_a_sentence() {
        let message = EmailError::ControlCharacter.to_string();
        assert!(message.ends_with('.'));
        assert!(message.len() > 20);
    }

    #[test]
    fn subaddresses_and_gmail_dots_share_one_mailbox() {
        let mailbox = |input: &str| EmailAddress::parse(input).unwrap().mailbox();
        assert_eq!(mailbox("Ada+1@Example.com"), "ada@example.com");
        assert_eq!(mailbox("ada+news+x@example.com"), "ada@example.com");
        assert_eq!(mailbox("ada@example.com"), "ada@example.com");
        assert_eq!(mailbox("A.da.L+x@googlemail.com"), "adal@gmail.com");
        assert_eq!(mailbox("adal@gmail.com"), "adal@gmail.com");
        // Dots matter everywhere else; a leading `+` is not a tag.
        assert_eq!(mailbox("a.da@example.com"), "a.da@example.com");
        assert_eq!(mailbox("+ada@example.com"), "+ada@example.com");
        // The address itself keeps what was typed (less case).
        assert_eq!(
            EmailAddress::parse("Ada+1@Example.com").unwrap().as_str(),
            "ada+1@example.com"
        );
    }

    #[test]
    fn masked_hides_the_local_part() {
        let email = EmailAddress::parse("ada@example.com").unwrap();
        assert_eq!(email.masked().to_string(), "a***@example.com");
        assert_eq!(email.domain(), "example.com");
    }
}
