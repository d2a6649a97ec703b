//! The flow a person goes through: request a code, read it from the email, verify it; resend;
//! expiry; the message itself; the development outbox.

use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::Arc;

#[tokio::test]
async fn a_code_sent_over_starttls_with_auth_verifies_once() {
    let app = TestApp::spawn();
    let (body, code) = app.request_code("Ada@Example.com").await;
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["code_length"], 6);
    assert_eq!(body["attempts_left"], 3);
    assert_eq!(body["sends_left"], 2);
    assert_eq!(code.len(), 6);

    let reply = app
        .relay
        .verify(&challenge_of(&body), "ada@example.com", &code)
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json["verified"], true);
    assert_eq!(reply.json["email"], "ada@example.com");
    assert!(reply.json["proof"].as_str().unwrap().split('.').count() == 3);

    let again = app
        .relay
        .verify(&challenge_of(&body), "ada@example.com", &code)
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.error_code(), "already_used");
}

#[tokio::test]
async fn implicit_tls_delivery_works() {
    let smtp = SmtpServer::start_with(SmtpMode::Implicit, 0, Arc::new(Certs::new()));
    let relay = RelayProcess::start(&smtp.relay_env());
    assert!(smtp.url().starts_with("smtps://"));
    let reply = relay.issue("bob@example.org").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let code = smtp.last_to("bob@example.org").code();
    let verified = relay
        .verify(&challenge_of(&reply.json), "bob@example.org", &code)
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
}

#[tokio::test]
async fn the_message_has_both_parts_the_lifetime_and_the_autofill_line() {
    let app = TestApp::spawn_with(&[("OTP_RELAY_ALLOWED_ORIGINS", "https://shop.example")]);
    let reply = app
        .relay
        .post_from(
            "https://shop.example",
            "/api/v1/challenges",
            serde_json::json!({"email": "cy@example.com"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let message = app.smtp.last_to("cy@example.com");
    let code = message.code();
    assert!(
        message.subject.contains(&code),
        "subject {:?}",
        message.subject
    );
    assert!(message.raw.contains("From: Example <no-reply@example.com>"));
    assert!(message.raw.contains("multipart/alternative"));
    assert!(message.text.contains("expires in 5 minutes"));
    assert!(message.text.contains("Not you?"));
    assert!(message.html.contains(&code));
    assert!(message.html.contains("5 minutes"));
    assert!(message.html.contains("ignore this"));
    assert_eq!(
        message.text.trim_end().lines().last().unwrap(),
        format!("@shop.example #{code}")
    );
}

#[tokio::test]
async fn without_origin_the_autofill_line_names_the_public_host() {
    let app = TestApp::spawn_with(&[("OTP_RELAY_PUBLIC_URL", "https://verify.example.net")]);
    let (_, code) = app.request_code("dee@example.com").await;
    let message = app.smtp.last_to("dee@example.com");
    assert!(
        message
            .text
            .trim_end()
            .ends_with(&format!("@verify.example.net #{code}"))
    );
}

/// Resends through a real mail server. The cooldown is off here: its timing is shown on a manual
/// clock by the in-process tier (`http/tests/windows.rs`).
#[tokio::test]
async fn resend_sends_the_same_code_and_keeps_the_first_valid() {
    let app = TestApp::spawn_with(&[("OTP_RELAY_RESEND_AFTER", "0s")]);
    let (first, code) = app.request_code("eve@example.com").await;
    let challenge = challenge_of(&first);

    let resent = app.relay.resend(&challenge, "eve@example.com").await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.text);
    assert_eq!(resent.json["sends_left"], 1);
    assert_eq!(resent.json["expires_at"], first["expires_at"]);
    assert_eq!(resent.json["attempts_left"], 3);
    let messages = app.smtp.wait_for(2);
    assert_eq!(messages[1].code(), code, "a resend carries the same code");

    let last = app
        .relay
        .resend(&challenge_of(&resent.json), "eve@example.com")
        .await;
    assert_eq!(last.status, StatusCode::OK, "{}", last.text);
    assert_eq!(last.json["sends_left"], 0);
    let none_left = app.relay.resend(&challenge, "eve@example.com").await;
    assert_eq!(none_left.error_code(), "rate_limited");
    assert!(none_left.headers.contains_key("retry-after"));
    assert_eq!(app.smtp.count(), 3);

    // The token sent in first still works with the one code.
    let verified = app.relay.verify(&challenge, "eve@example.com", &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
}

#[tokio::test]
async fn wrong_then_right_code_reports_attempts_left() {
    let app = TestApp::spawn();
    let (body, code) = app.request_code("fay@example.com").await;
    let challenge = challenge_of(&body);
    let wrong = app
        .relay
        .verify(&challenge, "fay@example.com", &wrong_code(&code))
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.error_code(), "wrong_code");
    assert_eq!(wrong.json["error"]["attempts_left"], 2);
    assert!(
        wrong.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2 attempts left")
    );
    let right = app.relay.verify(&challenge, "fay@example.com", &code).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text);
}

#[tokio::test]
async fn the_development_outbox_shows_messages_and_is_off_with_smtp() {
    let relay = RelayProcess::dev(&[]);
    relay.logs_once("DEVELOPMENT MODE");
    let reply = relay.issue("hal@example.com").await;
    assert_eq!(reply.status, StatusCode::CREATED);
    let outbox = relay.outbox().await;
    let entry = &outbox[0];
    assert_eq!(entry["to"], "hal@example.com");
    let code = outbox_code(entry);
    let html = relay.outbox_page().await;
    assert!(html.contains("Development outbox") && html.contains(&code));
    // The email as sent: the HTML part in a frame that runs no script, under a policy that
    // loads nothing; the headers beside it, in JSON too.
    assert!(html.contains("<iframe sandbox "), "{html}");
    assert!(html.contains("srcdoc=\"&lt;!doctype html&gt;"), "{html}");
    assert!(html.contains("<th>Auto-Submitted</th>"), "{html}");
    let page = relay
        .client
        .get(format!("{}/dev/outbox", relay.url))
        .send()
        .await
        .unwrap();
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        policy.contains("default-src 'none'") && policy.contains("img-src data:"),
        "{policy}"
    );
    assert!(entry["html"].as_str().unwrap().contains(&code), "{entry}");
    let headers: Vec<(String, String)> = serde_json::from_value(entry["headers"].clone()).unwrap();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name}: {headers:?}"))
    };
    assert_eq!(header("To"), "hal@example.com");
    assert_eq!(header("From"), "Example <no-reply@example.com>");
    assert!(header("Message-ID").ends_with("@example.com>"));
    assert_eq!(header("Auto-Submitted"), "auto-generated");
    let verified = relay
        .verify(&challenge_of(&reply.json), "hal@example.com", &code)
        .await;
    assert_eq!(verified.status, StatusCode::OK);

    // A send from the relay's own page that asks for the email's link: the outbox shows it, as
    // a link to open, and in JSON.
    let page = format!("{}/signup", relay.url);
    let linked = relay.issue_with_link("ida@example.com", "/signup").await;
    assert_eq!(linked.status, StatusCode::CREATED, "{}", linked.json);
    let entry = relay.outbox().await.remove(0);
    let link = entry["link"]
        .as_str()
        .expect("the outbox entry has the link");
    assert!(link.starts_with(&format!("{page}#otp-link=")), "{link}");
    assert!(entry["text"].as_str().unwrap().contains(link));
    let html = relay.outbox_page().await;
    assert!(
        html.contains(&format!(
            "<a class=\"link\" href=\"{}\"",
            link.replace('&', "&amp;")
        )),
        "{html}"
    );

    let app = TestApp::spawn();
    let off = app
        .relay
        .client
        .get(format!("{}/dev/outbox", app.relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_and_unknown_paths_answer_json() {
    let relay = RelayProcess::dev(&[]);
    let health: Value = relay
        .client
        .get(format!("{}/healthz", relay.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, serde_json::json!({"status": "ok"}));
    let missing = relay
        .send(relay.client.get(format!("{}/nope", relay.url)))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.error_code(), "not_found");
    let wrong_method = relay
        .send(relay.client.get(format!("{}/api/v1/challenges", relay.url)))
        .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.error_code(), "method_not_allowed");
}

#[tokio::test]
async fn a_static_directory_is_served_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("index.html"), "<h1>otp page</h1>").unwrap();
    let relay = RelayProcess::dev(&[(
        "OTP_RELAY_STATIC_DIR".into(),
        dir.path().display().to_string(),
    )]);
    let page = relay
        .client
        .get(format!("{}/", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("otp page"));
    assert!(relay.healthy().await);
}

#[tokio::test]
async fn sigterm_shuts_down_gracefully() {
    let mut relay = RelayProcess::dev(&[]);
    assert!(relay.healthy().await);
    let status = relay.terminate();
    assert!(status.success(), "{status:?}");
    let logs = relay.logs_once("stopped");
    assert!(
        logs.contains("shutting down") && logs.contains("stopped"),
        "{logs}"
    );
}
