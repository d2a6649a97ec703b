//! The code email as a person reads it, in their language: subject, plain text and HTML. The
//! plain text is complete on its own and ends with the `@host #code` line that browsers read to
//! offer the code for autofill on that host only. With a site's branding (`OTP_RELAY_BRANDING`)
//! the HTML part carries its product name, accent colour and logo, and the site's sender.
//!
//! A site that asked for a link gets one in both parts, after the instructions and before the
//! autofill line: the page that asked, with the challenge in the fragment (docs/api.md). It
//! does nothing until the person confirms there, so a mail scanner that opens it spends nothing.
//!
//! The HTML part is what mail clients render well: one centred table, inline styles only, no
//! external CSS, and colours that stay readable when a client darkens the message.

use crate::core::{Brand, CodeEmail};
use otp_relay_shared::{Catalogue, Lang};

/// A rendered message.
#[derive(Debug, Clone)]
pub struct RenderedMessage {
    pub subject: String,
    pub text: String,
    pub html: String,
    /// For `Content-Language`.
    pub lang: Lang,
    /// The site's own sender, in place of the relay's.
    pub from: Option<String>,
}

/// Text between tags.
fn escape(text: &str) -> String {
    html_escape::encode_text(text).into_owned()
}

/// Text inside a double-quoted attribute, where `"` must not end it (docs/security.md: a
/// product name with a quote broke out of the logo's `alt`).
fn escape_attribute(text: &str) -> String {
    html_escape::encode_double_quoted_attribute(text).into_owned()
}

/// Subject, plain text and HTML for one code email.
pub fn render(email: &CodeEmail) -> RenderedMessage {
    let words = Catalogue::of(email.lang);
    let code = email.code.as_str();
    let host = email.site_host.as_str();
    let time = words.duration(email.lifetime.as_secs());
    let brand: Option<&Brand> = email.brand.as_deref();
    let subject = words.text("email.subject", &[("code", code)]);
    let intro = words.text("email.intro", &[]);
    let enter = words.text("email.enter", &[("host", host), ("time", &time)]);
    let not_you = words.text("email.not_you", &[]);
    let sent_for = brand.map(|brand| words.text("email.sent_for", &[("product", &brand.product)]));

    let mut text = format!("{intro} {code}\r\n\r\n{enter}\r\n\r\n");
    if let Some(link) = &email.link {
        let open = words.text("email.link", &[]);
        text.push_str(&format!("{open}\r\n{link}\r\n\r\n"));
    }
    text.push_str(&format!("{not_you}\r\n\r\n"));
    if let Some(sent_for) = &sent_for {
        text.push_str(sent_for);
        text.push_str("\r\n\r\n");
    }
    text.push_str(&format!("@{host} #{code}"));

    let accent = brand
        .and_then(|brand| brand.accent.as_deref())
        .unwrap_or("#2f6fde");
    let dir = if email.lang.is_rtl() { "rtl" } else { "ltr" };
    let align = if email.lang.is_rtl() { "right" } else { "left" };
    let logo = brand
        .and_then(|brand| brand.logo.as_deref().map(|logo| (brand, logo)))
        .map(|(brand, logo)| {
            format!(
                "<tr><td style=\"padding:0 0 16px 0\"><img src=\"{}\" alt=\"{}\" height=\"32\" style=\"display:block;height:32px;border:0\"></td></tr>",
                escape_attribute(logo),
                escape_attribute(&brand.product)
            )
        })
        .unwrap_or_default();
    let link_button = email
        .link
        .as_deref()
        .map(|link| {
            format!(
                "<tr><td style=\"padding:0 0 16px 0\"><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;background:{accent};color:#ffffff;border-radius:6px;font-weight:600;text-decoration:none\">{}</a></td></tr>",
                escape_attribute(link),
                escape(&words.text("email.link_button", &[]))
            )
        })
        .unwrap_or_default();
    let footer = sent_for
        .map(|line| {
            format!(
                "<tr><td style=\"padding:16px 0 0 0;font-size:12px;color:#6b7280\">{}</td></tr>",
                escape(&line)
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"color-scheme\" content=\"light dark\"><meta name=\"supported-color-schemes\" content=\"light dark\">\
         <title>{subject}</title></head>\
         <body style=\"margin:0;padding:0;background:#f4f5f7\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"background:#f4f5f7\"><tr><td align=\"center\" style=\"padding:24px 12px\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\" style=\"max-width:480px;background:#ffffff;border-radius:8px;text-align:{align}\">\
         <tr><td style=\"padding:24px;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:15px;line-height:1.5;color:#1f2937\">\
         <table role=\"presentation\" width=\"100%\" cellpadding=\"0\" cellspacing=\"0\">\
         {logo}\
         <tr><td style=\"padding:0 0 8px 0\">{intro_html}</td></tr>\
         <tr><td style=\"padding:0 0 16px 0\"><div dir=\"ltr\" style=\"display:inline-block;padding:10px 16px;border:2px solid {accent};border-radius:6px;font-size:28px;font-weight:700;letter-spacing:4px;font-family:ui-monospace,Menlo,Consolas,monospace;color:#111827\">{code}</div></td></tr>\
         <tr><td style=\"padding:0 0 12px 0\">{enter_html}</td></tr>\
         {link_button}\
         <tr><td style=\"padding:0;color:#4b5563;font-size:13px\">{not_you_html}</td></tr>\
         {footer}\
         </table></td></tr></table></td></tr></table></body></html>",
        lang = email.lang.tag(),
        subject = escape(&subject),
        intro_html = escape(&intro),
        enter_html = escape(&enter),
        not_you_html = escape(&not_you),
    );
    RenderedMessage {
        subject,
        text,
        html,
        lang: email.lang,
        from: brand.and_then(|brand| brand.from.clone()),
    }
}

/// The message `otp-relay send-test` sends.
pub fn test_message() -> RenderedMessage {
    RenderedMessage {
        subject: "otp-relay test message".into(),
        text: "This is a test message from otp-relay send-test. SMTP delivery works.".into(),
        html: "<p>This is a test message from <b>otp-relay send-test</b>. SMTP delivery works.</p>"
            .into(),
        lang: Lang::En,
        from: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use otp_relay_shared::{Code, EmailAddress};
    use std::time::Duration;

    #[test]
    fn the_message_has_everything_and_ends_with_the_autofill_line() {
        let rendered = render(&CodeEmail {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            code: Code::parse("042137", 6).unwrap(),
            link: None,
            lifetime: Duration::from_secs(300),
            site_host: "shop.example".into(),
            lang: Lang::En,
            brand: None,
        });
        assert!(rendered.subject.contains("042137"));
        assert!(rendered.text.contains("expires in 5 minutes"));
        assert!(rendered.text.contains("ignore this email"));
        assert!(rendered.text.ends_with("\r\n@shop.example #042137"));
        assert!(rendered.html.contains("042137") && rendered.html.contains("5 minutes"));
        assert!(rendered.html.contains("ignore this"));
    }

    fn email_in(lang: Lang, brand: Option<Brand>) -> CodeEmail {
        CodeEmail {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            code: Code::parse("042137", 6).unwrap(),
            link: None,
            lifetime: Duration::from_secs(300),
            site_host: "shop.example".into(),
            lang,
            brand: brand.map(std::sync::Arc::new),
        }
    }

    fn shop() -> Brand {
        Brand {
            product: "Example Shop".into(),
            from: Some("Example Shop <codes@shop.example>".into()),
            accent: Some("#0a7d4f".into()),
            logo: Some("https://shop.example/logo.png".into()),
            link: false,
        }
    }

    /// Every email, in each language, with and without a site's branding, against its snapshot
    /// in `relay/src/mail/snapshots/` (insta: `cargo insta review`, or `INSTA_UPDATE=always`,
    /// after a deliberate change; review the difference before committing). Each has the code,
    /// the expiry in its language and the `@host #code` line last.
    #[test]
    fn every_email_matches_its_snapshot_and_has_the_code_the_expiry_and_the_autofill_line() {
        for lang in Lang::ALL {
            for (variant, brand) in [("plain", None), ("branded", Some(shop()))] {
                let branded = brand.is_some();
                let rendered = render(&email_in(lang, brand));
                let expiry = Catalogue::builtin(lang).duration(300);
                let name = format!("{}-{variant}", lang.tag());
                assert!(rendered.subject.contains("042137"), "{name}");
                assert!(rendered.text.contains(&expiry), "{name}: {expiry}");
                assert!(
                    rendered.text.ends_with("\r\n@shop.example #042137"),
                    "{name}"
                );
                assert!(rendered.html.contains(">042137<"), "{name}");
                assert!(rendered.html.contains(&escape(&expiry)), "{name}");
                assert!(
                    rendered.html.contains(&format!("lang=\"{}\"", lang.tag())),
                    "{name}"
                );
                assert_eq!(
                    rendered.html.contains("dir=\"rtl\""),
                    lang.is_rtl(),
                    "{name}"
                );
                assert_eq!(rendered.html.contains("Example Shop"), branded, "{name}");
                assert_eq!(rendered.html.contains("#0a7d4f"), branded, "{name}");
                assert_eq!(rendered.text.contains("Example Shop"), branded, "{name}");
                assert!(!rendered.html.contains("<link") && !rendered.html.contains("<style"));
                let snapshot = format!(
                    "Subject: {}\n\n----- text/plain -----\n{}\n\n----- text/html -----\n{}\n",
                    rendered.subject,
                    rendered.text.replace("\r\n", "\n"),
                    rendered.html.replace("<tr>", "\n<tr>")
                );
                insta::assert_snapshot!(name, snapshot);
            }
        }
    }

    /// A site that asked for a link gets it in both parts, in every language, before the line
    /// that says what to do if it was not you; the text still ends with the autofill line.
    #[test]
    fn a_link_is_in_both_parts_and_the_autofill_line_stays_last() {
        let link = "https://shop.example/signup?a=1&b=2#otp-link=AQ.x&email=ada%40example.com";
        for lang in Lang::ALL {
            let rendered = render(&CodeEmail {
                link: Some(link.into()),
                ..email_in(lang, Some(shop()))
            });
            let words = Catalogue::builtin(lang);
            let text = &rendered.text;
            let at = text.find(link).expect("the link in the text part");
            assert!(text[..at].ends_with(&format!("{}\r\n", words.text("email.link", &[]))));
            assert!(at < text.find(&words.text("email.not_you", &[])).unwrap());
            assert!(
                text.ends_with("\r\n@shop.example #042137"),
                "{}",
                lang.tag()
            );
            assert!(
                rendered
                    .html
                    .contains(&format!("<a href=\"{}\"", escape_attribute(link)))
            );
            assert!(
                rendered
                    .html
                    .contains(&escape(&words.text("email.link_button", &[])))
            );
        }
        let without = render(&email_in(Lang::En, None));
        assert!(!without.text.contains("http") && !without.html.contains("<a "));
    }

    #[test]
    fn a_host_with_markup_is_escaped_in_html() {
        let rendered = render(&CodeEmail {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            code: Code::parse("042137", 6).unwrap(),
            link: None,
            lifetime: Duration::from_secs(60),
            site_host: "<b>x".into(),
            lang: Lang::En,
            brand: None,
        });
        assert!(rendered.html.contains("&lt;b&gt;x"));
    }

    #[test]
    fn a_product_name_with_quotes_stays_inside_the_logos_attribute() {
        let rendered = render(&CodeEmail {
            to: EmailAddress::parse("ada@example.com").unwrap(),
            code: Code::parse("042137", 6).unwrap(),
            link: None,
            lifetime: Duration::from_secs(60),
            site_host: "shop.example".into(),
            lang: Lang::En,
            brand: Some(std::sync::Arc::new(crate::core::Brand {
                product: "Shop\" onerror=\"alert(1)".into(),
                from: None,
                accent: None,
                logo: Some("https://shop.example/l.png?a=1\"x".into()),
                link: false,
            })),
        });
        assert!(
            rendered
                .html
                .contains("alt=\"Shop&quot; onerror=&quot;alert(1)\""),
            "{}",
            rendered.html
        );
        assert!(rendered.html.contains("l.png?a=1&quot;x\""));
        let img = &rendered.html[rendered.html.find("<img").unwrap()..];
        let img = &img[..img.find('>').unwrap()];
        assert!(!img.contains("\" onerror"), "{img}");
    }
}
