//! What the core asks of delivery: send this code to this address, or say why not. The mail
//! layer (`mail/`) implements it with SMTP or the development outbox; the core never sees how.

use async_trait::async_trait;
use otp_relay_shared::{Code, EmailAddress, Lang};
use std::sync::Arc;
use std::time::Duration;

/// A site's own voice in its emails (`OTP_RELAY_BRANDING`, per allowed origin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Brand {
    /// The site's product name, named in the email.
    pub product: String,
    /// The sender, `Name <address>`, in place of `OTP_RELAY_FROM`.
    pub from: Option<String>,
    /// `#rrggbb`, for the code's frame in the HTML part.
    pub accent: Option<String>,
    /// An `https://` image shown above the code in the HTML part.
    pub logo: Option<String>,
    /// The site's widgets ask for the email's link (`"link": true`), as if each had its `link`
    /// attribute: off unless set.
    pub link: bool,
}

/// One code email, before it is rendered.
#[derive(Debug, Clone)]
pub struct CodeEmail {
    pub to: EmailAddress,
    pub code: Code,
    /// The link that confirms with a click on the page that asked (docs/api.md), if it asked.
    pub link: Option<String>,
    /// How long the code stays valid from now.
    pub lifetime: Duration,
    /// Host of the page where the code will be typed, for the autofill line.
    pub site_host: String,
    /// The language the person asked in.
    pub lang: Lang,
    /// The requesting site's branding, if its operator set one.
    pub brand: Option<Arc<Brand>>,
}

/// Why a send failed, with a hint for the operator. Never contains the code, and never a full
/// address: a mail server's reply often quotes the recipient, and anyone can ask for codes to
/// addresses that do not exist, so every address in it is masked as `a***@example.com` when it
/// is made (docs/security.md, A29). The client only ever learns `delivery_failed`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{hint} ({detail})")]
pub struct DeliveryError {
    pub hint: String,
    pub detail: String,
}

impl DeliveryError {
    pub fn new(hint: impl Into<String>, detail: impl Into<String>) -> Self {
        DeliveryError {
            hint: mask_addresses(&hint.into()),
            detail: mask_addresses(&detail.into()),
        }
    }
}

/// `text` with every `local@domain` in it masked as `l***@domain`, however it is quoted
/// (`<a@b>`, `"a@b"`, `a@b:`): the local part is whatever runs up to the `@` from the last
/// space, bracket, quote or punctuation that cannot end an address.
pub fn mask_addresses(text: &str) -> String {
    fn delimits(c: char) -> bool {
        c.is_whitespace() || c.is_control() || "<>()[]{}\"',;:`=".contains(c)
    }
    let mut masked = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('@') {
        let (before, after) = rest.split_at(at);
        let local_start = before
            .char_indices()
            .rev()
            .find(|&(_, c)| delimits(c))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let local = &before[local_start..];
        let domain_len = after[1..].find(delimits).unwrap_or(after.len() - 1);
        masked.push_str(&before[..local_start]);
        match local.chars().next() {
            Some(first) if domain_len > 0 && !local.ends_with("***") => {
                masked.push(first);
                masked.push_str("***@");
            }
            _ => {
                masked.push_str(local);
                masked.push('@');
            }
        }
        rest = &after[1..];
    }
    masked.push_str(rest);
    masked
}

/// Sends code emails.
#[async_trait]
pub trait Delivery: Send + Sync + 'static {
    async fn deliver(&self, email: CodeEmail) -> Result<(), DeliveryError>;

    /// For the start-up log line.
    fn describe(&self) -> String;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_a_mail_servers_reply_are_masked() {
        assert_eq!(
            mask_addresses("550 5.1.1 <grace.hopper@example.org>: Recipient address rejected"),
            "550 5.1.1 <g***@example.org>: Recipient address rejected"
        );
        assert_eq!(
            mask_addresses("to=ada+x@example.com, \"bob@example.net\"; é@x.io"),
            "to=a***@example.com, \"b***@example.net\"; é***@x.io"
        );
        assert_eq!(mask_addresses("a***@example.com"), "a***@example.com");
        assert_eq!(mask_addresses("no address @ all @"), "no address @ all @");
        let hint = DeliveryError::new("refused ada@example.com", "<ada@example.com>");
        assert_eq!(hint.hint, "refused a***@example.com");
        assert_eq!(hint.detail, "<a***@example.com>");
    }
}
