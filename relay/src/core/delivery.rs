//! What the core asks of delivery: send this code to this address, or say why not. The mail
//! layer (`mail/`) implements it with SMTP or the development outbox; the core never sees how.

use async_trait::async_trait;
use otp_relay_shared::{Code, EmailAddress};
use std::time::Duration;

/// One code email, before it is rendered.
#[derive(Debug, Clone)]
pub struct CodeEmail {
    pub to: EmailAddress,
    pub code: Code,
    /// How long the code stays valid from now.
    pub lifetime: Duration,
    /// Host of the page where the code will be typed, for the autofill line.
    pub site_host: String,
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
