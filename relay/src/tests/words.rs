//! Refusals are data until the edge words them: the relay's `message` in the language the
//! request asked for (its `lang`, else `Accept-Language`), from the same catalogue the page, the
//! widget and the terminal read.

use super::{ADA, relay, relay_with, wrong};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

fn post_in(
    path: &str,
    accept_language: &str,
    origin: Option<&str>,
    body: &serde_json::Value,
) -> Request<Body> {
    let mut request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT_LANGUAGE, accept_language);
    if let Some(origin) = origin {
        request = request.header(header::ORIGIN, origin);
    }
    request.body(Body::from(body.to_string())).unwrap()
}

#[tokio::test]
async fn a_german_request_is_refused_in_german() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    let verify = "/api/v1/challenges/verify";
    // The body's `lang`, as the page and the widget send it.
    let answer = relay
        .post(
            verify,
            &json!({"challenge": challenge, "email": ADA, "code": wrong(&code), "lang": "de"}),
        )
        .await;
    let error = answer.error().unwrap();
    assert_eq!(
        error.message,
        "Dieser Code ist nicht richtig. Noch 2 Versuche."
    );
    assert_eq!(error.attempts_left, Some(2));
    // `Accept-Language`, as a server or the terminal sends it.
    let body = json!({"challenge": challenge, "email": ADA, "code": wrong(&code)});
    let answer = relay
        .request(post_in(verify, "de-DE, en;q=0.5", None, &body))
        .await;
    assert_eq!(
        answer.error().unwrap().message,
        "Dieser Code ist nicht richtig. Noch 1 Versuch."
    );
    // The body's `lang` comes first; a language the relay does not speak is passed over.
    let body = json!({"challenge": challenge, "email": ADA, "code": wrong(&code), "lang": "fr"});
    let answer = relay.request(post_in(verify, "de", None, &body)).await;
    assert_eq!(
        answer.error().unwrap().message,
        "Ce code n’est pas le bon, et il ne vous reste plus d’essai. Demandez un nouveau code."
    );
    let body = json!({"challenge": challenge, "email": ADA, "code": code, "lang": "tlh"});
    let answer = relay.request(post_in(verify, "de", None, &body)).await;
    assert_eq!(
        answer.error().unwrap().message,
        "Zu viele falsche Codes. Fordern Sie einen neuen Code an."
    );
}

#[tokio::test]
async fn waits_addresses_and_refusals_before_any_handler_are_worded_too() {
    let relay = relay_with(&["--allowed-origins", "https://ok.example"]);
    // An address the rule refuses, in Japanese.
    let answer = relay
        .post(
            "/api/v1/challenges",
            &json!({"email": "ada example.com", "lang": "ja"}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        answer.error().unwrap().message,
        "メールアドレスにスペースは使えません。"
    );
    // A wait, in German words.
    let (challenge, _) = relay.challenge_and_code(ADA).await.unwrap();
    let answer = relay
        .post(
            "/api/v1/challenges/resend",
            &json!({"challenge": challenge, "email": ADA, "lang": "de"}),
        )
        .await;
    assert_eq!(answer.error_code(), "rate_limited");
    assert_eq!(
        answer.error().unwrap().message,
        "Warten Sie kurz, bevor Sie den Code erneut anfordern. Versuchen Sie es in 30 Sekunden erneut."
    );
    // Refused by the origin guard, before the body is read: `Accept-Language` decides.
    let body = json!({"email": ADA});
    let answer = relay
        .request(post_in(
            "/api/v1/challenges",
            "es",
            Some("https://evil.example"),
            &body,
        ))
        .await;
    assert_eq!(answer.error_code(), "origin_not_allowed");
    let message = answer.error().unwrap().message;
    assert!(
        message.starts_with("Este sitio no tiene permiso")
            && message.contains("OTP_RELAY_ALLOWED_ORIGINS"),
        "{message}"
    );
    // What only a developer reads (a body the API cannot read) stays English.
    let answer = relay
        .request(post_in(
            "/api/v1/challenges",
            "de",
            None,
            &json!({"mail": ADA}),
        ))
        .await;
    assert_eq!(
        answer.error().unwrap().message,
        "The field \"email\" is missing; send it as a string."
    );
}
