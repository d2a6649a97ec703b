//! Delivery of the code: the message itself ([`message`]), a real SMTP transport ([`smtp`], with
//! the URL it is configured by in [`url`] and failure hints in [`diagnosis`]), a signed webhook
//! in its place ([`webhook`]) and the development outbox ([`outbox`]). This is the only part of
//! the relay that knows lettre.

pub mod diagnosis;
pub mod message;
pub mod outbox;
pub mod smtp;
pub mod url;
pub mod webhook;

pub use message::RenderedMessage;
pub use outbox::Outbox;
pub use smtp::SmtpMailer;
pub use url::{SmtpTarget, TlsMode};
pub use webhook::{WebhookSender, WebhookTarget};

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
    /// A signed POST to the operator's URL, which sends the message its own way.
    Webhook(Arc<WebhookSender>),
}

/// Where webhooks go, as the configuration gives it.
#[derive(Debug, Clone)]
pub struct WebhookSettings<'a> {
    pub url: &'a str,
    pub secrets: &'a str,
    pub from: &'a str,
    pub timeout: Duration,
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

    /// The webhook sender for these settings, on `clock` (the payload's times).
    pub fn webhook(
        settings: &WebhookSettings<'_>,
        clock: Arc<dyn Clock>,
    ) -> Result<Mailer, String> {
        let from = smtp::parse_from(settings.from)?;
        let target = WebhookTarget::parse(settings.url, settings.secrets)?;
        let sender = WebhookSender::new(target, settings.timeout, from, clock)?;
        Ok(Mailer::Webhook(Arc::new(sender)))
    }

    /// The development outbox, showing messages as sent by `from` (`OTP_RELAY_FROM`).
    pub fn outbox(clock: Arc<dyn Clock>, from: &str) -> Mailer {
        Mailer::Outbox(Arc::new(Outbox::new(clock, from)))
    }

    /// The outbox, if this is the development outbox.
    pub fn as_outbox(&self) -> Option<&Arc<Outbox>> {
        match self {
            Mailer::Outbox(outbox) => Some(outbox),
            Mailer::Smtp(_) | Mailer::Webhook(_) => None,
        }
    }

    /// For the start-up log line.
    pub fn description(&self) -> String {
        match self {
            Mailer::Smtp(smtp) => format!("SMTP {}", smtp.target.describe()),
            Mailer::Outbox(_) => "development outbox (nothing is sent)".into(),
            Mailer::Webhook(webhook) => webhook.describe(),
        }
    }

    /// Sends a rendered message by SMTP (`send-test`, which checks SMTP only).
    pub async fn send(
        &self,
        to: &EmailAddress,
        message: RenderedMessage,
    ) -> Result<(), DeliveryError> {
        match self {
            Mailer::Smtp(smtp) => smtp.send(to, message).await,
            _ => Err(DeliveryError::new(
                "send-test sends by SMTP only",
                "set OTP_RELAY_SMTP_URL",
            )),
        }
    }

    /// Sends one code email. Runs in its own task so that a client hanging up cannot cut an
    /// SMTP transaction (or a webhook's request) in half and leave a broken connection in the
    /// pool.
    async fn send_code(&self, email: CodeEmail) -> Result<(), DeliveryError> {
        let mailer = self.clone();
        let task = tokio::spawn(async move {
            let message = message::render(&email);
            match &mailer {
                Mailer::Outbox(outbox) => {
                    outbox.keep(&email.to, message, email.link.clone());
                    Ok(())
                }
                Mailer::Smtp(smtp) => smtp.send(&email.to, message).await,
                Mailer::Webhook(webhook) => webhook.deliver(&email, &message).await,
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
        self.send_code(email).await
    }

    fn describe(&self) -> String {
        self.description()
    }
}
