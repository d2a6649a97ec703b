//! Delivery of the code: the message itself ([`message`]), a real SMTP transport ([`smtp`], with
//! the URL it is configured by in [`url`] and failure hints in [`diagnosis`]) and the development
//! outbox ([`outbox`]). This is the only part of the relay that knows lettre.

pub mod diagnosis;
pub mod message;
pub mod outbox;
pub mod smtp;
pub mod url;

pub use message::RenderedMessage;
pub use outbox::Outbox;
pub use smtp::SmtpMailer;
pub use url::{SmtpTarget, TlsMode};

use crate::core::{Clock, CodeEmail, Delivery, DeliveryError};
use async_trait::async_trait;
use otp_relay_shared::EmailAddress;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    Smtp(Arc<SmtpMailer>),
    /// Development only: messages are kept in memory and shown at `/dev/outbox`.
    Outbox(Arc<Outbox>),
}

/// How to reach the mail server, as the configuration gives it.
#[derive(Debug, Clone)]
pub struct SmtpSettings<'a> {
    pub url: &'a str,
    pub ca: Option<&'a Path>,
    pub from: &'a str,
    pub timeout: Duration,
}

impl Mailer {
    /// The SMTP mailer for these settings.
    pub fn smtp(settings: &SmtpSettings<'_>) -> Result<Mailer, String> {
        let from = smtp::parse_from(settings.from)?;
        let target = SmtpTarget::parse(settings.url)?;
        let mailer = SmtpMailer::new(target, settings.ca, from, settings.timeout)?;
        Ok(Mailer::Smtp(Arc::new(mailer)))
    }

    /// The development outbox, showing messages as sent by `from` (`OTP_RELAY_FROM`).
    pub fn outbox(clock: Arc<dyn Clock>, from: &str) -> Mailer {
        Mailer::Outbox(Arc::new(Outbox::new(clock, from)))
    }

    /// The outbox, if this is the development outbox.
    pub fn as_outbox(&self) -> Option<&Arc<Outbox>> {
        match self {
            Mailer::Outbox(outbox) => Some(outbox),
            Mailer::Smtp(_) => None,
        }
    }

    /// For the start-up log line.
    pub fn description(&self) -> String {
        match self {
            Mailer::Smtp(smtp) => format!("SMTP {}", smtp.target.describe()),
            Mailer::Outbox(_) => "development outbox (nothing is sent)".into(),
        }
    }

    /// Sends a rendered message. Runs in its own task so that a client hanging up cannot cut an
    /// SMTP transaction in half and leave a broken connection in the pool.
    pub async fn send(
        &self,
        to: &EmailAddress,
        message: RenderedMessage,
    ) -> Result<(), DeliveryError> {
        let mailer = self.clone();
        let to = to.clone();
        let task = tokio::spawn(async move {
            match &mailer {
                Mailer::Outbox(outbox) => {
                    outbox.keep(&to, message);
                    Ok(())
                }
                Mailer::Smtp(smtp) => smtp.send(&to, message).await,
            }
        });
        match task.await {
            Ok(result) => result,
            Err(join) => Err(DeliveryError::new("the send task failed", join.to_string())),
        }
    }
}

#[async_trait]
impl Delivery for Mailer {
    async fn deliver(&self, email: CodeEmail) -> Result<(), DeliveryError> {
        let message = message::render(&email);
        self.send(&email.to, message).await
    }

    fn describe(&self) -> String {
        self.description()
    }
}
