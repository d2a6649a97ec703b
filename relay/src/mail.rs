//! Delivery of the code: the message itself, a real SMTP transport (lettre, pooled, with
//! timeouts) and the development outbox used when no SMTP server is configured. SMTP failures are
//! turned into a hint an operator can act on; the client only ever learns `delivery_failed`.

use crate::config::SmtpArgs;
use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart, header::ContentType};
use lettre::transport::smtp::Error as SmtpError;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use otp_relay_shared::api::OutboxEntry;
use otp_relay_shared::{Code, EmailAddress};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// Messages kept by the development outbox, newest first.
const OUTBOX_SIZE: usize = 50;

/// What a message says, before it is rendered.
pub struct CodeMessage<'a> {
    pub to: &'a EmailAddress,
    pub code: &'a Code,
    pub lifetime: Duration,
    /// Host of the page where the code will be typed, for the autofill line.
    pub site_host: &'a str,
}

/// A rendered message.
#[derive(Debug, Clone)]
pub struct RenderedMessage {
    pub subject: String,
    pub text: String,
    pub html: String,
}

fn human_duration(lifetime: Duration) -> String {
    let secs = lifetime.as_secs();
    match (secs / 60, secs % 60) {
        (0, s) => format!("{s} second{}", if s == 1 { "" } else { "s" }),
        (m, 0) => format!("{m} minute{}", if m == 1 { "" } else { "s" }),
        (m, s) => format!("{m} min {s} s"),
    }
}

impl CodeMessage<'_> {
    /// Subject, plain text and HTML. The plain text ends with `@host #code`, the line browsers
    /// read to offer the code for autofill on that host only.
    pub fn render(&self) -> RenderedMessage {
        let code = self.code.as_str();
        let lifetime = human_duration(self.lifetime);
        let host = self.site_host;
        let subject = format!("{code} is your verification code");
        let text = format!(
            "Your verification code is {code}\r\n\
             \r\n\
             Enter it on {host} to confirm that this is your email address. \
             It expires in {lifetime}.\r\n\
             \r\n\
             Not you? If you did not ask for this code, ignore this email: \
             nothing happens without the code.\r\n\
             \r\n\
             @{host} #{code}"
        );
        let host_html = html_escape::encode_text(host);
        let html = format!(
            "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1a1a1a\">\
             <p>Your verification code is</p>\
             <p style=\"font-size:28px;font-weight:bold;letter-spacing:4px\">{code}</p>\
             <p>Enter it on <b>{host_html}</b> to confirm that this is your email address. \
             It expires in {lifetime}.</p>\
             <p style=\"color:#555\">Not you? If you did not ask for this code, ignore this \
             email: nothing happens without the code.</p></body></html>"
        );
        RenderedMessage {
            subject,
            text,
            html,
        }
    }
}

/// Why a send failed, with a hint for the operator. Never contains the code.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{hint} ({detail})")]
pub struct DeliveryError {
    pub hint: String,
    pub detail: String,
}

impl DeliveryError {
    fn new(hint: impl Into<String>, detail: impl Into<String>) -> Self {
        DeliveryError {
            hint: hint.into(),
            detail: detail.into(),
        }
    }
}

/// The parsed SMTP URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub mode: TlsMode,
    pub user: Option<String>,
    password: Option<String>,
}

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (port 465).
    Implicit,
    /// STARTTLS, required (port 587).
    StartTls,
    /// No TLS: for a relay on the same host only.
    Plain,
}

impl SmtpTarget {
    /// Parses `smtps://user:pass@host:465`, `smtp://user:pass@host:587?tls=required`,
    /// `smtp://host:25`.
    pub fn parse(text: &str) -> Result<SmtpTarget, String> {
        let url = url::Url::parse(text.trim())
            .map_err(|e| format!("OTP_RELAY_SMTP_URL is not a URL ({e}); expected e.g. smtps://user:pass@smtp.example.com:465"))?;
        let tls_param = url
            .query_pairs()
            .find(|(key, _)| key == "tls")
            .map(|(_, value)| value.to_ascii_lowercase());
        let (mode, default_port) = match (url.scheme(), tls_param.as_deref()) {
            ("smtps", None) => (TlsMode::Implicit, 465),
            ("smtp", Some("required" | "starttls")) => (TlsMode::StartTls, 587),
            ("smtp", None | Some("none")) => (TlsMode::Plain, 25),
            (scheme, tls) => {
                return Err(format!(
                    "OTP_RELAY_SMTP_URL: scheme {scheme:?} with tls={tls:?} is not supported; use smtps:// (port 465), smtp://...?tls=required (port 587) or smtp:// (plain, local relay)"
                ));
            }
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("OTP_RELAY_SMTP_URL has no host")?
            .trim_matches(['[', ']'])
            .to_string();
        let decode = |s: &str| {
            percent_decode(s).map_err(|_| {
                "OTP_RELAY_SMTP_URL: user or password is not valid percent-encoded UTF-8"
                    .to_string()
            })
        };
        let user = match url.username() {
            "" => None,
            name => Some(decode(name)?),
        };
        let password = url.password().map(decode).transpose()?;
        Ok(SmtpTarget {
            host,
            port: url.port().unwrap_or(default_port),
            mode,
            user,
            password,
        })
    }

    /// `smtps://host:465` without credentials, for log lines.
    pub fn describe(&self) -> String {
        let mode = match self.mode {
            TlsMode::Implicit => "implicit TLS",
            TlsMode::StartTls => "STARTTLS",
            TlsMode::Plain => "no TLS",
        };
        let user = self
            .user
            .as_deref()
            .map(|u| format!(" as {u}"))
            .unwrap_or_default();
        format!("{}:{} ({mode}{user})", self.host, self.port)
    }
}

fn percent_decode(text: &str) -> Result<String, std::string::FromUtf8Error> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
}

/// Where messages go.
#[derive(Clone)]
pub enum Mailer {
    Smtp(Arc<SmtpMailer>),
    /// Development only: messages are kept in memory and shown at `/dev/outbox`.
    Outbox(Arc<Outbox>),
}

/// SMTP delivery over a small pool of idle connections that this module manages itself: a
/// connection goes back to the pool only after a send on it completed, so a send cut off by the
/// timeout can never leave a half-finished transaction for the next one (lettre's own pool can).
pub struct SmtpMailer {
    target: SmtpTarget,
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

/// The development outbox.
#[derive(Default)]
pub struct Outbox {
    messages: Mutex<VecDeque<OutboxEntry>>,
}

impl Outbox {
    /// Newest first.
    pub fn entries(&self) -> Vec<OutboxEntry> {
        self.messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    fn push(&self, entry: OutboxEntry) {
        let mut messages = self
            .messages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        messages.push_front(entry);
        messages.truncate(OUTBOX_SIZE);
    }
}

/// Parses the sender address.
pub fn parse_from(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>()
        .map_err(|e| format!("OTP_RELAY_FROM {text:?} is not a valid sender ({e}); write e.g. \"Example <no-reply@example.com>\""))
}

impl Mailer {
    /// The SMTP mailer when a URL is configured, else the outbox.
    pub fn from_args(args: &SmtpArgs) -> Result<Mailer, String> {
        let from = parse_from(&args.from)?;
        let Some(url) = args.smtp_url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Ok(Mailer::Outbox(Arc::new(Outbox::default())));
        };
        let target = SmtpTarget::parse(url)?;
        let mut tls = TlsParameters::builder(target.host.clone());
        if let Some(path) = &args.smtp_ca {
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
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.clone())),
            _ => None,
        };
        Ok(Mailer::Smtp(Arc::new(SmtpMailer {
            tls: (target.mode != TlsMode::Plain).then_some(tls),
            target,
            credentials,
            hello: ClientId::default(),
            from,
            timeout: args.smtp_timeout,
            idle: Mutex::new(Vec::new()),
        })))
    }

    /// Whether this is the development outbox.
    pub fn outbox(&self) -> Option<&Arc<Outbox>> {
        match self {
            Mailer::Outbox(outbox) => Some(outbox),
            Mailer::Smtp(_) => None,
        }
    }

    /// For the start-up log line.
    pub fn describe(&self) -> String {
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
        let task = tokio::spawn(async move { mailer.send_now(&to, message).await });
        match task.await {
            Ok(result) => result,
            Err(join) => Err(DeliveryError::new("the send task failed", join.to_string())),
        }
    }

    async fn send_now(
        &self,
        to: &EmailAddress,
        message: RenderedMessage,
    ) -> Result<(), DeliveryError> {
        match self {
            Mailer::Outbox(outbox) => {
                outbox.push(OutboxEntry {
                    to: to.to_string(),
                    subject: message.subject,
                    text: message.text,
                    sent_at: crate::time::rfc3339(crate::time::unix_now()),
                });
                Ok(())
            }
            Mailer::Smtp(smtp) => smtp.send(to, message).await,
        }
    }
}

impl SmtpMailer {
    async fn send(&self, to: &EmailAddress, message: RenderedMessage) -> Result<(), DeliveryError> {
        let recipient: Mailbox = to.as_str().parse().map_err(|e| {
            DeliveryError::new(
                "the recipient was refused by the mail library",
                format!("{e}"),
            )
        })?;
        let email = Message::builder()
            .from(self.from.clone())
            .to(recipient)
            .subject(message.subject)
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
                    Err(self.classify(&error))
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
            .map_err(|e| self.classify(&e))?,
            TlsMode::StartTls | TlsMode::Plain => {
                let socket = TcpStream::connect(address)
                    .await
                    .map_err(|e| self.classify_message(&format!("connect: {e}"), None))?;
                // Best effort: without it sends are slower, not wrong.
                let _ = socket.set_nodelay(true);
                AsyncSmtpConnection::connect_with_transport(Box::new(socket), &self.hello)
                    .await
                    .map_err(|e| self.classify(&e))?
            }
        };
        if let (TlsMode::StartTls, Some(tls)) = (self.target.mode, &self.tls)
            && let Err(error) = connection.starttls(tls.clone(), &self.hello).await
        {
            connection.abort().await;
            return Err(self.classify(&error));
        }
        if let Some(credentials) = &self.credentials
            && let Err(error) = connection
                .auth(&[Mechanism::Plain, Mechanism::Login], credentials)
                .await
        {
            connection.abort().await;
            return Err(self.classify(&error));
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

    /// Turns a lettre error into a hint an operator can act on.
    fn classify(&self, error: &SmtpError) -> DeliveryError {
        let mut detail = error_chain(error);
        if error.is_timeout() {
            detail.push_str(" (timed out)");
        }
        let status = error.status().map(|code| code.to_string());
        let mut failure = self.classify_message(&detail, status.as_deref());
        if failure.hint.ends_with("failed") && error.is_permanent() {
            failure.hint = format!(
                "the SMTP server {} refused the message: check that OTP_RELAY_FROM is a sender it accepts",
                self.target.describe()
            );
        } else if failure.hint.ends_with("failed") && error.is_transient() {
            failure.hint = format!(
                "the SMTP server {} is temporarily refusing mail: try again later",
                self.target.describe()
            );
        }
        failure
    }

    /// The hint for an error's text and SMTP status.
    fn classify_message(&self, detail: &str, status: Option<&str>) -> DeliveryError {
        let server = self.target.describe();
        let lower = detail.to_ascii_lowercase();
        let status = status.unwrap_or_default();
        let hint = if lower.contains("timed out") {
            format!(
                "the SMTP server {server} did not answer in time: check the host, the port and any firewall"
            )
        } else if lower.contains("connection refused") {
            format!(
                "nothing accepts connections at {server}: check the host and port, and that the server is running"
            )
        } else if lower.contains("failed to lookup")
            || lower.contains("dns")
            || lower.contains("resolve")
        {
            format!("the SMTP host of {server} could not be resolved: check its name")
        } else if lower.contains("certificate")
            || lower.contains("corrupt message")
            || lower.contains("wrong version number")
            || lower.contains("tls")
            || lower.contains("handshake")
        {
            format!(
                "TLS with {server} failed: port 465 wants smtps://, port 587 wants smtp://...?tls=required; a private CA goes in OTP_RELAY_SMTP_CA"
            )
        } else if status.starts_with("535")
            || lower.contains("authentication")
            || lower.contains("credentials")
        {
            format!(
                "the SMTP server {server} refused the login: check the user and password in OTP_RELAY_SMTP_URL"
            )
        } else if status.starts_with("530") {
            format!(
                "the SMTP server {server} requires a login (or STARTTLS) before sending: add user:password to OTP_RELAY_SMTP_URL"
            )
        } else {
            format!("sending through {server} failed")
        };
        DeliveryError::new(hint, detail.to_string())
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_into_modes() {
        let t = SmtpTarget::parse("smtps://me%40x.io:p%3Ass@smtp.example.com").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.mode),
            ("smtp.example.com", 465, TlsMode::Implicit)
        );
        assert_eq!(t.user.as_deref(), Some("me@x.io"));
        assert_eq!(t.password.as_deref(), Some("p:ss"));
        let t = SmtpTarget::parse("smtp://u:p@smtp.example.com:2587?tls=required").unwrap();
        assert_eq!((t.port, t.mode), (2587, TlsMode::StartTls));
        let t = SmtpTarget::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (t.port, t.mode, t.user.as_deref()),
            (2525, TlsMode::Plain, None)
        );
        assert!(SmtpTarget::parse("http://x").is_err());
        assert!(SmtpTarget::parse("smtps://x?tls=required").is_err());
        let secret = SmtpTarget::parse("smtps://user:hunter2@smtp.example.com").unwrap();
        assert!(!secret.describe().contains("hunter2"));
    }

    #[test]
    fn the_message_has_everything_and_ends_with_the_autofill_line() {
        let to = EmailAddress::parse("ada@example.com").unwrap();
        let code = Code::parse("042137", 6).unwrap();
        let rendered = CodeMessage {
            to: &to,
            code: &code,
            lifetime: Duration::from_secs(300),
            site_host: "shop.example",
        }
        .render();
        assert!(rendered.subject.contains("042137"));
        assert!(rendered.text.contains("expires in 5 minutes"));
        assert!(rendered.text.contains("ignore this email"));
        assert!(rendered.text.ends_with("\r\n@shop.example #042137"));
        assert!(rendered.html.contains("042137") && rendered.html.contains("5 minutes"));
        assert!(rendered.html.contains("ignore this"));
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(60)), "1 minute");
        assert_eq!(human_duration(Duration::from_secs(90)), "1 min 30 s");
        assert_eq!(human_duration(Duration::from_secs(2)), "2 seconds");
    }
}
