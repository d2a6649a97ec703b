//! The development outbox: messages kept in memory, newest first, for `/dev/outbox`. Nothing is
//! sent. It exists only when the relay runs without SMTP.

use super::RenderedMessage;
use crate::core::Clock;
use crate::core::clock::rfc3339;
use otp_relay_shared::EmailAddress;
use otp_relay_shared::api::OutboxEntry;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// Messages kept, newest first; older ones are dropped so the outbox stays small.
const OUTBOX_SIZE: usize = 50;
/// `OTP_RELAY_FROM`'s default.
const DEFAULT_FROM: &str = "otp-relay <no-reply@localhost.localdomain>";

/// The development outbox.
pub struct Outbox {
    messages: Mutex<VecDeque<OutboxEntry>>,
    clock: Arc<dyn Clock>,
    /// The sender the messages would come from (`OTP_RELAY_FROM`), for the headers shown.
    from: Option<lettre::message::Mailbox>,
}

impl Outbox {
    /// An empty outbox that stamps messages with `clock`, showing them as sent by `from` (an
    /// `OTP_RELAY_FROM`, checked at start; the default sender if it does not parse).
    pub fn new(clock: Arc<dyn Clock>, from: &str) -> Self {
        let from = super::smtp::parse_from(from)
            .or_else(|_| super::smtp::parse_from(DEFAULT_FROM))
            .ok();
        Outbox {
            messages: Mutex::new(VecDeque::new()),
            clock,
            from,
        }
    }

    /// Newest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.lock().iter().cloned().collect()
    }

    /// Keeps `message` as it would have been sent to `to`: both parts, the headers, and the link
    /// it carries, if any.
    pub fn keep(&self, to: &EmailAddress, message: RenderedMessage, link: Option<String>) {
        let headers = self
            .from
            .as_ref()
            .map(|from| super::smtp::headers_as_sent(from, to, &message))
            .unwrap_or_default();
        let entry = OutboxEntry {
            to: to.to_string(),
            subject: message.subject,
            text: message.text,
            html: message.html,
            headers,
            sent_at: rfc3339(self.clock.now().secs()),
            link,
        };
        let mut messages = self.lock();
        messages.push_front(entry);
        messages.truncate(OUTBOX_SIZE);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<OutboxEntry>> {
        // Every update is a single push and truncate, so a poisoned queue is still consistent.
        self.messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::ManualClock;

    #[test]
    fn keeps_the_newest_fifty_newest_first() {
        let outbox = Outbox::new(
            Arc::new(ManualClock::new()),
            "Example <no-reply@example.com>",
        );
        let to = EmailAddress::parse("ada@example.com").unwrap();
        for n in 0..60 {
            outbox.keep(
                &to,
                RenderedMessage {
                    subject: format!("message {n}"),
                    text: String::new(),
                    html: String::new(),
                    lang: otp_relay_shared::Lang::En,
                    from: None,
                },
                None,
            );
        }
        let entries = outbox.entries();
        assert_eq!(entries.len(), 50);
        assert_eq!(entries[0].subject, "message 59");
        assert_eq!(entries[0].sent_at, "2026-11-21T10:00:00Z");
    }
}
