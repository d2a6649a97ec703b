//! The email in the person's language and in the site's own voice, through the real binary and
//! a real SMTP server: the language from the body's `lang`, else `Accept-Language`, else English,
//! with `Content-Language`; a site's branding from `OTP_RELAY_BRANDING`, and the refusals of a
//! branding file with mistakes.

use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::json;

const SITE: &str = "https://shop.example";

/// Asks for a code with these headers and body; the message delivered.
async fn delivered(
    app: &TestApp,
    email: &str,
    accept: Option<&str>,
    lang: Option<&str>,
) -> Delivered {
    let mut body = json!({ "email": email });
    if let Some(lang) = lang {
        body["lang"] = json!(lang);
    }
    let mut request = app
        .relay
        .client
        .post(format!("{}/api/v1/challenges", app.relay.url))
        .json(&body);
    if let Some(accept) = accept {
        request = request.header("Accept-Language", accept);
    }
    let before = app.smtp.count();
    let reply = app.relay.send(request).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    app.smtp.wait_for(before + 1).pop().unwrap()
}

#[tokio::test]
async fn the_email_is_written_in_the_language_asked_for() {
    let app = TestApp::spawn();
    let german = delivered(
        &app,
        "de@example.com",
        Some("de-DE,de;q=0.9,en;q=0.5"),
        None,
    )
    .await;
    assert_eq!(
        german.subject,
        format!("{} ist Ihr Bestätigungscode", german.code())
    );
    assert!(
        german.raw.contains("Content-Language: de"),
        "{}",
        german.raw
    );
    assert!(
        german.text.contains("Er ist 5 Minuten lang gültig."),
        "{}",
        german.text
    );

    // The body's `lang` (what the page shows) comes before the browser's preference.
    let japanese = delivered(&app, "ja@example.com", Some("de"), Some("ja-JP")).await;
    assert_eq!(
        japanese.subject,
        format!("確認コードは {} です", japanese.code())
    );
    assert!(japanese.raw.contains("Content-Language: ja"));

    let arabic = delivered(&app, "ar@example.com", Some("ar-EG"), None).await;
    assert!(arabic.html.contains("dir=\"rtl\""), "{}", arabic.html);
    assert!(arabic.text.contains("5 دقائق"), "{}", arabic.text);

    // Neither a language the relay does not speak nor none at all: English.
    let unknown = delivered(&app, "xx@example.com", Some("nl-NL, tlh"), Some("xx")).await;
    assert_eq!(
        unknown.subject,
        format!("{} is your verification code", unknown.code())
    );
    assert!(unknown.raw.contains("Content-Language: en"));
    for message in [&german, &japanese, &arabic, &unknown] {
        let last = message.text.trim_end().lines().last().unwrap().to_string();
        assert!(
            last.starts_with('@') && last.ends_with(&message.code()),
            "{last}"
        );
    }
}

fn branding_file(dir: &tempfile::TempDir, json: &serde_json::Value) -> String {
    let path = dir.path().join("branding.json");
    std::fs::write(&path, serde_json::to_vec_pretty(json).unwrap()).unwrap();
    path.to_string_lossy().into_owned()
}

#[tokio::test]
async fn a_site_brand_names_its_product_and_sends_from_the_site() {
    let dir = tempfile::tempdir().unwrap();
    let path = branding_file(
        &dir,
        &json!({ SITE: {
            "product": "Example Shop",
            "from": "Example Shop <codes@shop.example>",
            "accent": "#0a7d4f",
            "logo": "https://shop.example/logo.png"
        }}),
    );
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_ALLOWED_ORIGINS", SITE),
        ("OTP_RELAY_BRANDING", &path),
    ]);
    let reply = app
        .relay
        .post_from(
            SITE,
            "/api/v1/challenges",
            json!({ "email": "br@example.com", "lang": "fr" }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let branded = app.smtp.last_to("br@example.com");
    assert!(
        branded
            .raw
            .contains("From: \"Example Shop\" <codes@shop.example>")
            || branded
                .raw
                .contains("From: Example Shop <codes@shop.example>"),
        "{}",
        branded.raw
    );
    assert!(branded.html.contains("https://shop.example/logo.png"));
    assert!(branded.html.contains("#0a7d4f"));
    assert!(
        branded.text.contains("Envoyé pour Example Shop."),
        "{}",
        branded.text
    );
    assert!(
        branded
            .text
            .trim_end()
            .ends_with(&format!("@shop.example #{}", branded.code()))
    );

    // The same relay, asked without an Origin: the neutral email from the relay's sender.
    let (_, _) = app.request_code("plain@example.com").await;
    let plain = app.smtp.last_to("plain@example.com");
    assert!(plain.raw.contains("no-reply@example.com"), "{}", plain.raw);
    assert!(!plain.html.contains("Example Shop") && !plain.text.contains("Example Shop"));
}

#[test]
fn a_branding_file_with_a_mistake_refuses_to_start_and_says_which() {
    let dir = tempfile::tempdir().unwrap();
    let site = |fields: serde_json::Value| json!({ SITE: fields });
    for (json, says) in [
        (
            json!({"https://other.example": {"product": "X"}}),
            "not in OTP_RELAY_ALLOWED_ORIGINS",
        ),
        (site(json!({"product": "X", "accent": "green"})), "accent"),
        (
            site(json!({"product": "X", "logo": "http://shop.example/l.png"})),
            "https://",
        ),
        (
            site(json!({"product": "X", "colour": "#000000"})),
            "unknown field",
        ),
        (site(json!({"product": ""})), "product"),
        (
            site(json!({"product": "X", "from": "not an address"})),
            "from",
        ),
    ] {
        let path = branding_file(&dir, &json);
        let (status, said) = refused_start(&[
            ("OTP_RELAY_DEV", "1"),
            ("OTP_RELAY_ALLOWED_ORIGINS", SITE),
            ("OTP_RELAY_BRANDING", &path),
        ]);
        assert_eq!(status, Some(2), "{json}: {said}");
        assert!(
            said.contains("OTP_RELAY_BRANDING") && said.contains(says),
            "{json}: {said}"
        );
    }
    let missing = refused_start(&[
        ("OTP_RELAY_DEV", "1"),
        ("OTP_RELAY_BRANDING", "/nonexistent.json"),
    ]);
    assert!(missing.1.contains("cannot read"), "{}", missing.1);
}

/// The page's and the widget's messages, per language, for browsers: public, cacheable, and a
/// language the widget does not speak is a clear 404.
#[tokio::test]
async fn the_relay_serves_each_language_of_the_page() {
    let relay = RelayProcess::dev(&[]);
    let german = relay
        .client
        .get(format!("{}/widget/v1/i18n/de.txt", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(german.status(), StatusCode::OK);
    assert_eq!(german.headers()["access-control-allow-origin"], "*");
    assert!(
        german.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(
        german.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = german.text().await.unwrap();
    assert!(
        text.contains("ui.title = E-Mail-Adresse bestätigen"),
        "{text}"
    );
    for wrong in ["xx.txt", "de", "DE.txt", "../en.txt"] {
        let reply = relay
            .client
            .get(format!("{}/widget/v1/i18n/{wrong}", relay.url))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::NOT_FOUND, "{wrong}");
    }
}

/// Mail servers and auto-responders see a transactional message: a `Message-ID` on the sender's
/// own domain (not this machine's name), and the marks that stop out-of-office replies.
#[tokio::test]
async fn the_email_reads_as_transactional_to_mail_servers() {
    let app = TestApp::spawn();
    let message = delivered(&app, "auto@example.com", None, None).await;
    let headers = message.raw.split("\r\n\r\n").next().unwrap().to_string();
    let id = headers
        .lines()
        .find_map(|line| line.strip_prefix("Message-ID: "))
        .unwrap_or_else(|| panic!("{headers}"));
    assert!(id.ends_with("@example.com>"), "{id}");
    assert!(
        headers.contains("Auto-Submitted: auto-generated"),
        "{headers}"
    );
    assert!(
        headers.contains("X-Auto-Response-Suppress: All"),
        "{headers}"
    );
}
