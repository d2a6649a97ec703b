//! SMTP delivery with lettre over a small pool of idle connections that this module manages
//! itself: a connection goes back to the pool only after a send on it completed, so a send cut
//! off by the timeout can never leave a half-finished transaction for the next one (lettre's
//! own pool can). The whole exchange is bounded by the configured timeout.

use super::RenderedMessage;
use super::diagnosis::{diagnose, diagnose_text};
use super::url::{SmtpTarget, TlsMode};
use crate::core::DeliveryError;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use otp_relay_shared::EmailAddress;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// SMTP delivery over a small pool of idle connections that this module manages itself: a
/// connection goes back to the pool only after a send on it completed, so a send cut off by the
/// timeout can never leave a half-finished transaction for the next one (lettre's own pool can).
pub struct SmtpMailer {
    pub(super) target: SmtpTarget,
    tls: Option<TlsParameters>,
    credentials: Option<Credentials>,
    hello: ClientId,
    from: Mailbox,
    timeout: Duration,
    idle: Mutex<Vec<IdleConnection>>,
}

struct IdleConnection {
    connection: AsyncSmtpConnection,
    since: Instant,
}

/// Idle connections kept for reuse.
const POOL_SIZE: usize = 8;
/// Servers commonly drop idle clients after a minute or so; reuse only younger connections.
const IDLE_REUSE: Duration = Duration::from_secs(30);

/// `Content-Language`, which lettre has no type for.
#[derive(Clone)]
struct ContentLanguage(&'static str);

impl lettre::message::header::Header for ContentLanguage {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Content-Language")
    }

    fn parse(text: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        otp_relay_shared::Lang::from_tag(text)
            .map(|lang| ContentLanguage(lang.tag()))
            .ok_or_else(|| "not a language the relay speaks".into())
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.to_string())
    }
}

/// A header lettre has no type for whose value never changes.
macro_rules! fixed_header {
    ($(#[$doc:meta])* $type:ident, $name:literal, $value:literal) => {
        $(#[$doc])*
        #[derive(Clone)]
        struct $type;

        impl lettre::message::header::Header for $type {
            fn name() -> lettre::message::header::HeaderName {
                lettre::message::header::HeaderName::new_from_ascii_str($name)
            }

            fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
                Ok($type)
            }

            fn display(&self) -> lettre::message::header::HeaderValue {
                lettre::message::header::HeaderValue::new(Self::name(), $value.to_string())
            }
        }
    };
}

fixed_header!(
    /// `Auto-Submitted: auto-generated` (RFC 3834): a machine wrote this message, so
    /// auto-responders (out-of-office, vacation) do not answer it.
    AutoSubmitted,
    "Auto-Submitted",
    "auto-generated"
);

fixed_header!(
    /// `X-Auto-Response-Suppress: All`: the same for Exchange and Outlook, which read this
    /// instead.
    AutoResponseSuppress,
    "X-Auto-Response-Suppress",
    "All"
);

/// The sender of `message`: a site's own (`OTP_RELAY_BRANDING`, checked at start, so it
/// parses), else `default` (`OTP_RELAY_FROM`).
pub(crate) fn sender(message: &RenderedMessage, default: &Mailbox) -> Mailbox {
    message
        .from
        .as_deref()
        .and_then(|from| parse_from(from).ok())
        .unwrap_or_else(|| default.clone())
}

/// A fresh `Message-ID` on the sender's own domain (lettre's default names this machine, which
/// spam filters hold against a message), random so that no two are alike.
fn message_id(from: &Mailbox) -> String {
    format!(
        "<{}@{}>",
        crate::core::hex(&crate::core::random::bytes::<16>()),
        from.email.domain()
    )
}

/// The message as it goes out: both parts, in the person's language, marked as sent by a
/// machine (no auto-replies) with a `Message-ID` on the sender's domain.
fn build_message(
    from: Mailbox,
    recipient: Mailbox,
    message: RenderedMessage,
    id: String,
) -> Result<Message, lettre::error::Error> {
    Message::builder()
        .message_id(Some(id))
        .from(from)
        .to(recipient)
        .subject(message.subject)
        .header(ContentLanguage(message.lang.tag()))
        .header(AutoSubmitted)
        .header(AutoResponseSuppress)
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(message.text),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(message.html),
                ),
        )
}

/// The headers `message` would go out with from `from` to `to`, in order, as `(name, value)`
/// pairs: what the development outbox shows.
pub fn headers_as_sent(
    from: &Mailbox,
    to: &EmailAddress,
    message: &RenderedMessage,
) -> Vec<(String, String)> {
    let from = sender(message, from);
    let Ok(recipient) = to.as_str().parse::<Mailbox>() else {
        return Vec::new();
    };
    let id = message_id(&from);
    let Ok(email) = build_message(from, recipient, message.clone(), id) else {
        return Vec::new();
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in email.headers().to_string().lines() {
        match (line.starts_with([' ', '\t']), headers.last_mut()) {
            // A folded line continues the header before it.
            (true, Some((_, value))) => {
                value.push(' ');
                value.push_str(line.trim());
            }
            _ => {
                if let Some((name, value)) = line.split_once(':') {
                    headers.push((name.to_string(), value.trim().to_string()));
                }
            }
        }
    }
    headers
}

/// Parses the sender address.
pub fn parse_from(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>()
        .map_err(|e| format!("OTP_RELAY_FROM {text:?} is not a valid sender ({e}); write e.g. \"Example <no-reply@example.com>\""))
}

impl SmtpMailer {
    /// A mailer for `target`, trusting the extra CA in `ca` if given.
    pub fn new(
        target: SmtpTarget,
        ca: Option<&Path>,
        from: Mailbox,
        timeout: Duration,
    ) -> Result<SmtpMailer, String> {
        let mut tls = TlsParameters::builder(target.host.clone());
        if let Some(path) = ca {
            let pem = std::fs::read(path)
                .map_err(|e| format!("OTP_RELAY_SMTP_CA {}: {e}", path.display()))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| {
                format!(
                    "OTP_RELAY_SMTP_CA {}: not a PEM certificate ({e})",
                    path.display()
                )
            })?;
            tls = tls.add_root_certificate(cert);
        }
        let tls = tls
            .build_rustls()
            .map_err(|e| format!("TLS settings for {}: {e}", target.host))?;
        let credentials = match (&target.user, &target.password) {
            (Some(user), Some(password)) => Some(Credentials::new(
                user.clone(),
                password.expose().to_string(),
            )),
            _ => None,
        };
        Ok(SmtpMailer {
            tls: (target.mode != TlsMode::Plain).then_some(tls),
            target,
            credentials,
            hello: ClientId::default(),
            from,
            timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    pub async fn send(
        &self,
        to: &EmailAddress,
        message: RenderedMessage,
    ) -> Result<(), DeliveryError> {
        let recipient: Mailbox = to.as_str().parse().map_err(|e| {
            DeliveryError::new(
                "the recipient was refused by the mail library",
                format!("{e}"),
            )
        })?;
        let from = sender(&message, &self.from);
        let id = message_id(&from);
        let email = build_message(from, recipient, message, id)
            .map_err(|e| DeliveryError::new("the message could not be built", e.to_string()))?;
        let envelope = email.envelope().clone();
        let bytes = email.formatted();
        // lettre bounds only the TCP connect; this bounds the whole exchange. On timeout the
        // connection is dropped (closed), never returned to the pool.
        let exchange = async {
            if let Some(mut reused) = self.take_idle() {
                if reused.send(&envelope, &bytes).await.is_ok() {
                    self.put_idle(reused);
                    return Ok(());
                }
                // The server may have closed an idle connection: try once on a fresh one.
                reused.abort().await;
            }
            let mut connection = self.connect().await?;
            match connection.send(&envelope, &bytes).await {
                Ok(_) => {
                    self.put_idle(connection);
                    Ok(())
                }
                Err(error) => {
                    connection.abort().await;
                    Err(diagnose(&self.target, &error))
                }
            }
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(result) => result,
            Err(_) => Err(DeliveryError::new(
                format!(
                    "the SMTP server {} did not finish within {:?}: check the host, the port, the TLS mode and any firewall",
                    self.target.describe(),
                    self.timeout
                ),
                "timeout",
            )),
        }
    }

    /// Opens, secures and authenticates a connection. Plain and STARTTLS connections use our own
    /// socket with TCP_NODELAY, so that the end of a message is not held back by delayed ACKs.
    async fn connect(&self) -> Result<AsyncSmtpConnection, DeliveryError> {
        let address = (self.target.host.as_str(), self.target.port);
        let mut connection = match self.target.mode {
            TlsMode::Implicit => AsyncSmtpConnection::connect_tokio1(
                address,
                Some(self.timeout),
                &self.hello,
                self.tls.clone(),
                None,
            )
            .await
            .map_err(|e| diagnose(&self.target, &e))?,
            TlsMode::StartTls | TlsMode::Plain => {
                let socket = TcpStream::connect(address)
                    .await
                    .map_err(|e| diagnose_text(&self.target, &format!("connect: {e}"), None))?;
                // Best effort: without it sends are slower, not wrong.
                let _ = socket.set_nodelay(true);
                AsyncSmtpConnection::connect_with_transport(Box::new(socket), &self.hello)
                    .await
                    .map_err(|e| diagnose(&self.target, &e))?
            }
        };
        if let (TlsMode::StartTls, Some(tls)) = (self.target.mode, &self.tls)
            && let Err(error) = connection.starttls(tls.clone(), &self.hello).await
        {
            connection.abort().await;
            return Err(diagnose(&self.target, &error));
        }
        if let Some(credentials) = &self.credentials
            && let Err(error) = connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
        {
            connection.abort().await;
            return Err(diagnose(&self.target, &error));
        }
        Ok(connection)
    }

    fn take_idle(&self) -> Option<AsyncSmtpConnection> {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while let Some(entry) = idle.pop() {
            if entry.since.elapsed() < IDLE_REUSE {
                return Some(entry.connection);
            }
        }
        None
    }

    fn put_idle(&self, connection: AsyncSmtpConnection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < POOL_SIZE && !connection.has_broken() {
            idle.push(IdleConnection {
                connection,
                since: Instant::now(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The headers of a code message as they go out, with what changes from one message to the
    /// next (the date, the MIME boundary) put in words.
    #[test]
    fn a_message_is_marked_automatic_with_an_id_on_the_senders_domain() {
        let from = parse_from("Example <no-reply@example.com>").unwrap();
        let id = message_id(&from);
        assert!(id.starts_with('<') && id.ends_with("@example.com>"), "{id}");
        assert_eq!(id.len(), "<@example.com>".len() + 32);
        assert_ne!(id, message_id(&from), "a fresh one each time");
        let email = build_message(
            from,
            "ada@example.org".parse().unwrap(),
            super::super::message::test_message(),
            "<00112233445566778899aabbccddeeff@example.com>".into(),
        )
        .unwrap();
        let formatted = String::from_utf8(email.formatted()).unwrap();
        let head = formatted.split("\r\n\r\n").next().unwrap();
        let boundary = head
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap()
            .to_string();
        let head: Vec<String> = head
            .replace("\r\n ", " ")
            .lines()
            .map(|line| match line.split_once(": ") {
                Some(("Date", _)) => "Date: <when it was sent>".to_string(),
                _ => line.replace(&boundary, "<boundary>"),
            })
            .collect();
        insta::assert_snapshot!("message-headers", head.join("\n"));
    }
}
