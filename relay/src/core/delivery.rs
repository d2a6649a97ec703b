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
}

/// One code email, before it is rendered.
#[derive(Debug, Clone)]
pub struct CodeEmail {
    pub to: EmailAddress,
    pub code: Code,
    /// How long the code stays valid from now.
    pub lifetime: Duration,
    /// Host of the page where the code will be typed, for the autofill line.
    pub site_host: String,
    /// The language the person asked in.
    pub lang: Lang,
    /// The requesting site's branding, if its operator set one.
    pub brand: Option<Arc<Brand>>,
}

/// Why a send failed, with a hint for the operator. Never contains the code; the client only
/// ever learns `delivery_failed`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{hint} ({detail})")]
pub struct DeliveryError {
    pub hint: String,
    pub detail: String,
}

impl DeliveryError {
    pub fn new(hint: impl Into<String>, detail: impl Into<String>) -> Self {
        DeliveryError {
            hint: hint.into(),
            detail: detail.into(),
        }
    }
}

/// Sends code emails.
#[async_trait]
pub trait Delivery: Send + Sync + 'static {
    async fn deliver(&self, email: CodeEmail) -> Result<(), DeliveryError>;

    /// For the start-up log line.
    fn describe(&self) -> String;
}
