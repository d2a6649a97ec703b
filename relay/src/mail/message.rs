//! The code email as a person reads it: subject, plain text and HTML. The plain text ends with
//! the `@host #code` line that browsers read to offer the code for autofill on that host only.

use crate::core::CodeEmail;
use std::time::Duration;

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

/// Subject, plain text and HTML for one code email.
pub fn render(email: &CodeEmail) -> RenderedMessage {
    let code = email.code.as_str();
    let lifetime = human_duration(email.lifetime);
    let host = email.site_host.as_str();
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

/// The message `otp-relay send-test` sends.
pub fn test_message() -> RenderedMessage {
    RenderedMessage {
        subject: "otp-relay test message".into(),
        text: "This is a test message from otp-relay send-test. SMTP delivery works.".into(),
        html: "<p>This is a test message from <b>otp-relay send-test</b>. SMTP delivery works.</p>"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otp_relay_shared::{Code, EmailAddress};

    #[test]
    fn the_message_has_everything_and_ends_with_the_autofill_line() {
        let rendered = render(&CodeEmail {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            code: Code::parse("042137", 6).unwrap(),
            lifetime: Duration::from_secs(300),
            site_host: "shop.example".into(),
        });
        assert!(rendered.subject.contains("042137"));
        assert!(rendered.text.contains("expires in 5 minutes"));
        assert!(rendered.text.contains("ignore this email"));
        assert!(rendered.text.ends_with("\r\n@shop.example #042137"));
        assert!(rendered.html.contains("042137") && rendered.html.contains("5 minutes"));
        assert!(rendered.html.contains("ignore this"));
    }

    #[test]
    fn a_host_with_markup_is_escaped_in_html() {
        let rendered = render(&CodeEmail {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            code: Code::parse("042137", 6).unwrap(),
            lifetime: Duration::from_secs(60),
            site_host: "<b>x".into(),
        });
        assert!(rendered.html.contains("&lt;b&gt;x"));
    }

    #[test]
    fn lifetimes_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(60)), "1 minute");
        assert_eq!(human_duration(Duration::from_secs(90)), "1 min 30 s");
        assert_eq!(human_duration(Duration::from_secs(2)), "2 seconds");
    }
}
