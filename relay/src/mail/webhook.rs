//! Delivery by webhook (`OTP_RELAY_WEBHOOK_URL`): in place of SMTP, the relay POSTs each message
//! as JSON to the operator's URL, which sends it by whatever means it likes (a mail provider's
//! API, a queue). Signed as the Standard Webhooks specification says
//! (<https://www.standardwebhooks.com/>): `webhook-id`, `webhook-timestamp` and
//! `webhook-signature` headers, `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body` under each
//! `whsec_` secret, so that a receiver checks it with a stock library in any language and a
//! secret is rotated by listing the new one beside the old. A 2xx answer is a delivery; anything
//! else, a redirect included, is `delivery_failed` with a hint for the operator.

use super::RenderedMessage;
use super::diagnosis::error_chain;
use crate::core::secret::SecretBytes;
use crate::core::{Clock, CodeEmail, DeliveryError};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The payload's `type` for a code.
pub const CODE_EVENT: &str = "otp.code";

/// Where webhooks go and what signs them, checked.
pub struct WebhookTarget {
    url: url::Url,
    /// Every listed secret signs (rotation: the receiver accepts any one it knows).
    secrets: Vec<SecretBytes>,
}

impl std::fmt::Debug for WebhookTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "WebhookTarget({}, {} secrets)",
            self.describe(),
            self.secrets.len()
        )
    }
}

impl WebhookTarget {
    /// Checks the URL (HTTPS, or HTTP to a loopback host only: a code must not cross a network
    /// in clear) and the secrets (`whsec_` and base64 of 24 to 64 bytes, as the specification
    /// has them; several separated by spaces or commas). Errors name the setting, never a secret.
    pub fn parse(url: &str, secrets: &str) -> Result<WebhookTarget, String> {
        let parsed = url::Url::parse(url.trim())
            .map_err(|e| format!("OTP_RELAY_WEBHOOK_URL {url:?} is not a URL: {e}"))?;
        let loopback = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            None => false,
        };
        match parsed.scheme() {
            "https" => {}
            "http" if loopback => {}
            "http" => {
                return Err(format!(
                    "OTP_RELAY_WEBHOOK_URL must be https:// (it carries codes), or http:// to a \
                     loopback host only; {} is neither",
                    parsed.host_str().unwrap_or("")
                ));
            }
            other => {
                return Err(format!(
                    "OTP_RELAY_WEBHOOK_URL must be https://, not {other}://"
                ));
            }
        }
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(
                "OTP_RELAY_WEBHOOK_URL must not hold credentials: the signature authenticates \
                 the relay"
                    .into(),
            );
        }
        let secrets = secrets
            .split([' ', ',', '\n'])
            .map(|secret| secret.trim_matches(['\r', '\t']))
            .filter(|secret| !secret.is_empty())
            .enumerate()
            .map(|(index, secret)| parse_secret(index + 1, secret))
            .collect::<Result<Vec<_>, _>>()?;
        if secrets.is_empty() {
            return Err(
                "OTP_RELAY_WEBHOOK_SECRET is required with OTP_RELAY_WEBHOOK_URL: a whsec_ \
                 secret shared with the receiver (e.g. from `otp-relay keygen --webhook`)"
                    .into(),
            );
        }
        Ok(WebhookTarget {
            url: parsed,
            secrets,
        })
    }

    /// The URL without its query (which may hold a token), for logs.
    pub fn describe(&self) -> String {
        format!(
            "{}://{}{}",
            self.url.scheme(),
            self.url.host_str().unwrap_or(""),
            self.url
                .port()
                .map(|port| format!(":{port}"))
                .unwrap_or_default()
        ) + self.url.path()
    }

    /// The `webhook-signature` header for `body` sent as message `id` at `timestamp`.
    pub fn signature(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        self.secrets
            .iter()
            .map(|secret| {
                let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.expose())
                    .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
                mac.update(id.as_bytes());
                mac.update(b".");
                mac.update(timestamp.to_string().as_bytes());
                mac.update(b".");
                mac.update(body);
                format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A fresh secret in the specification's form: `whsec_` and base64 of 32 random bytes.
pub fn random_secret() -> String {
    format!(
        "whsec_{}",
        STANDARD.encode(crate::core::random::bytes::<32>())
    )
}

fn parse_secret(position: usize, secret: &str) -> Result<SecretBytes, String> {
    let refuse = |why: &str| format!("OTP_RELAY_WEBHOOK_SECRET: secret {position} {why}");
    let encoded = secret
        .strip_prefix("whsec_")
        .ok_or_else(|| refuse("does not start with whsec_"))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| refuse("is not whsec_ followed by base64"))?;
    if !(24..=64).contains(&bytes.len()) {
        return Err(refuse(&format!(
            "is {} bytes; the specification asks for 24 to 64 random bytes",
            bytes.len()
        )));
    }
    Ok(SecretBytes::new(bytes))
}

/// What the receiver gets: the specification's envelope (`type`, `timestamp`, `data`).
#[derive(Debug, Serialize)]
pub struct Payload<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// RFC 3339, when the relay sent it.
    pub timestamp: String,
    pub data: CodeMessage<'a>,
}

/// One code message, ready to send: everything a mail API needs, rendered in the person's
/// language.
#[derive(Debug, Serialize)]
pub struct CodeMessage<'a> {
    /// The recipient, normalised.
    pub to: &'a str,
    /// The sender: the site's own (`OTP_RELAY_BRANDING`) or `OTP_RELAY_FROM`.
    pub from: String,
    pub code: &'a str,
    /// The person's language (BCP 47).
    pub lang: &'static str,
    pub subject: &'a str,
    /// The plain-text part; it ends with the `@host #code` autofill line.
    pub text: &'a str,
    pub html: &'a str,
    /// RFC 3339: when the code stops working.
    pub expires_at: String,
    /// Host of the site the code is for.
    pub site: &'a str,
    /// The link that confirms the address on the page that asked, if it asked (also in `text`
    /// and `html`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<&'a str>,
}

/// Sends messages to one webhook.
pub struct WebhookSender {
    target: WebhookTarget,
    client: reqwest::Client,
    timeout: Duration,
    from: lettre::message::Mailbox,
    clock: Arc<dyn Clock>,
}

impl WebhookSender {
    pub fn new(
        target: WebhookTarget,
        timeout: Duration,
        from: lettre::message::Mailbox,
        clock: Arc<dyn Clock>,
    ) -> Result<WebhookSender, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            // A redirect could take the code elsewhere: it is a failure, with a hint.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("otp-relay/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot make the webhook client: {e}"))?;
        Ok(WebhookSender {
            target,
            client,
            timeout,
            from,
            clock,
        })
    }

    pub fn describe(&self) -> String {
        format!("webhook {}", self.target.describe())
    }

    /// Posts `email`, rendered as `message`, signed.
    pub async fn deliver(
        &self,
        email: &CodeEmail,
        message: &RenderedMessage,
    ) -> Result<(), DeliveryError> {
        let now = self.clock.now();
        let payload = Payload {
            kind: CODE_EVENT,
            timestamp: crate::core::clock::rfc3339(now.secs()),
            data: CodeMessage {
                to: email.to.as_str(),
                from: super::smtp::sender(message, &self.from).to_string(),
                code: email.code.as_str(),
                lang: email.lang.tag(),
                subject: &message.subject,
                text: &message.text,
                html: &message.html,
                expires_at: crate::core::clock::rfc3339(now.secs() + email.lifetime.as_secs()),
                site: &email.site_host,
                link: email.link.as_deref(),
            },
        };
        let body = serde_json::to_vec(&payload).map_err(|e| {
            DeliveryError::new("could not write the webhook's payload", e.to_string())
        })?;
        let id = format!(
            "msg_{}",
            crate::core::hex(&crate::core::random::bytes::<16>())
        );
        let timestamp = now.secs();
        let signature = self.target.signature(&id, timestamp, &body);
        let sent = self
            .client
            .post(self.target.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let where_to = self.target.describe();
        match sent {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) => Err(self.refused(answer.status())),
            Err(error) if error.is_timeout() => Err(DeliveryError::new(
                format!(
                    "the webhook {where_to} did not answer within {}s (OTP_RELAY_WEBHOOK_TIMEOUT)",
                    self.timeout.as_secs()
                ),
                error_chain(&error),
            )),
            Err(error) if error.is_connect() => Err(DeliveryError::new(
                format!(
                    "cannot connect to the webhook {where_to}: is the receiver running, and is OTP_RELAY_WEBHOOK_URL right?"
                ),
                error_chain(&error),
            )),
            Err(error) => Err(DeliveryError::new(
                format!("the webhook {where_to} failed"),
                error_chain(&error),
            )),
        }
    }

    /// The hint for an answer that is not a 2xx.
    fn refused(&self, status: reqwest::StatusCode) -> DeliveryError {
        let where_to = self.target.describe();
        let hint = match status.as_u16() {
            401 | 403 => format!(
                "the webhook {where_to} refused the relay ({status}): check that its secret is \
                 one of OTP_RELAY_WEBHOOK_SECRET"
            ),
            300..=399 => format!(
                "the webhook {where_to} answered a redirect ({status}), which the relay does not \
                 follow: set OTP_RELAY_WEBHOOK_URL to where it points"
            ),
            404 | 405 => format!(
                "the webhook {where_to} has no such endpoint ({status}): check the path in \
                 OTP_RELAY_WEBHOOK_URL"
            ),
            _ => format!("the webhook {where_to} answered {status}: see the receiver's log"),
        };
        DeliveryError::new(hint, format!("HTTP {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example (its README and every library's tests).
    #[test]
    fn the_signature_matches_the_specifications_example() {
        let target = WebhookTarget::parse(
            "https://hooks.example/otp",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        )
        .unwrap();
        assert_eq!(
            target.signature(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_fresh_secret_is_accepted() {
        let secret = random_secret();
        assert!(
            secret.starts_with("whsec_") && secret.len() == 6 + 44,
            "{secret}"
        );
        assert!(WebhookTarget::parse("https://hooks.example/", &secret).is_ok());
        assert_ne!(secret, random_secret());
    }

    #[test]
    fn several_secrets_each_sign() {
        let one = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let two = format!("whsec_{}", STANDARD.encode([7u8; 32]));
        let both = WebhookTarget::parse("https://hooks.example/", &format!("{two} {one}")).unwrap();
        let alone = WebhookTarget::parse("https://hooks.example/", one).unwrap();
        let signature = both.signature("msg_1", 1, b"{}");
        let signatures: Vec<&str> = signature.split(' ').collect();
        assert_eq!(signatures.len(), 2);
        assert_eq!(signatures[1], alone.signature("msg_1", 1, b"{}"));
    }

    #[test]
    fn a_code_never_crosses_a_network_in_clear_and_secrets_are_checked() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        for url in [
            "http://127.0.0.1:9000/hook",
            "http://[::1]:9000/hook",
            "http://localhost/hook",
            "https://hooks.example/otp?token=x",
        ] {
            assert!(WebhookTarget::parse(url, secret).is_ok(), "{url}");
        }
        for (url, says) in [
            ("http://hooks.example/otp", "must be https://"),
            ("ftp://hooks.example/otp", "not ftp://"),
            (
                "https://user:pw@hooks.example/otp",
                "must not hold credentials",
            ),
            ("hooks.example", "is not a URL"),
        ] {
            let error = WebhookTarget::parse(url, secret).unwrap_err();
            assert!(error.contains(says), "{url}: {error}");
        }
        for (secrets, says) in [
            ("", "is required"),
            (
                "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                "does not start with whsec_",
            ),
            ("whsec_!!!", "base64"),
            ("whsec_c2hvcnQ=", "is 5 bytes"),
        ] {
            let error = WebhookTarget::parse("https://hooks.example/", secrets).unwrap_err();
            assert!(error.contains(says), "{secrets}: {error}");
            assert!(!error.contains("MfKQ9r8"), "never the secret: {error}");
        }
        let target =
            WebhookTarget::parse("https://hooks.example:8443/otp?token=x", secret).unwrap();
        assert_eq!(target.describe(), "https://hooks.example:8443/otp");
    }
}
