//! SMTP failures turned into a hint an operator can act on (wrong port for the TLS mode, a
//! refused login, an unknown host...). The hint goes to the log and to `send-test`; a client
//! only ever learns `delivery_failed`.

use super::url::SmtpTarget;
use crate::core::DeliveryError;
use lettre::transport::smtp::Error as SmtpError;

/// Turns a lettre error into a hint an operator can act on.
pub fn diagnose(target: &SmtpTarget, error: &SmtpError) -> DeliveryError {
    let mut detail = error_chain(error);
    if error.is_timeout() {
        detail.push_str(" (timed out)");
    }
    let status = error.status().map(|code| code.to_string());
    let mut failure = diagnose_text(target, &detail, status.as_deref());
    if failure.hint.ends_with("failed") && error.is_permanent() {
        failure.hint = format!(
            "the SMTP server {} refused the message: check that OTP_RELAY_FROM is a sender it accepts",
            target.describe()
        );
    } else if failure.hint.ends_with("failed") && error.is_transient() {
        failure.hint = format!(
            "the SMTP server {} is temporarily refusing mail: try again later",
            target.describe()
        );
    }
    failure
}

/// The hint for an error's text and SMTP status.
pub fn diagnose_text(target: &SmtpTarget, detail: &str, status: Option<&str>) -> DeliveryError {
    let server = target.describe();
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
    } else if status.starts_with('5') && names_the_recipient(&lower) {
        format!(
            "the SMTP server {server} refused the recipient: the address the code was for does not \
             exist there or is not accepted (nothing is wrong with OTP_RELAY_FROM or the relay)"
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

/// Whether a refusal is about the recipient rather than the sender or the message: the words
/// servers use, or an enhanced status code for a bad destination (RFC 3463, X.1.1 to X.1.6).
fn names_the_recipient(lower: &str) -> bool {
    [
        "recipient",
        "rcpt",
        "user unknown",
        "no such user",
        "mailbox unavailable",
        "does not exist",
    ]
    .iter()
    .any(|words| lower.contains(words))
        || ["5.1.1", "5.1.2", "5.1.3", "5.1.6"]
            .iter()
            .any(|code| lower.contains(code))
}

/// An error with its causes, `a: b: c`, for the log's detail.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
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

    fn target() -> SmtpTarget {
        SmtpTarget::parse("smtps://user:pw@smtp.example.com").unwrap()
    }

    #[test]
    fn common_failures_get_a_hint_that_names_the_fix() {
        let cases = [
            (
                "connect: Connection refused (os error 111)",
                None,
                "nothing accepts connections",
            ),
            ("corrupt message", None, "port 465 wants smtps://"),
            ("invalid credentials", Some("535"), "refused the login"),
            ("must authenticate", Some("530"), "requires a login"),
            ("failed to lookup address", None, "could not be resolved"),
            ("timed out", None, "did not answer in time"),
            (
                "permanent error (550): 5.1.1 <x@example.org>: Recipient address rejected",
                Some("550"),
                "refused the recipient",
            ),
            (
                "permanent error (550): user unknown",
                Some("550"),
                "refused the recipient",
            ),
        ];
        for (detail, status, hint) in cases {
            let failure = diagnose_text(&target(), detail, status);
            assert!(failure.hint.contains(hint), "{detail}: {}", failure.hint);
            assert!(!failure.hint.contains("pw@"), "no password in hints");
            assert!(
                !failure.detail.contains("x@example"),
                "no full address in details"
            );
        }
    }
}
