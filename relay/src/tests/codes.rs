//! Every error code of the API, each reached through the router as a client would reach it,
//! with its documented status, a message, and its extras.

use super::{assert_refused, relay, wrong};
use crate::testing::Answer;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use otp_relay_shared::ErrorCode;
use serde_json::json;
use std::collections::BTreeSet;
use std::time::Duration;

use super::ADA;

fn raw(method: Method, path: &str, content_type: Option<&str>, body: Vec<u8>) -> Request<Body> {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(content_type) = content_type {
        request = request.header(header::CONTENT_TYPE, content_type);
    }
    request.body(Body::from(body)).unwrap()
}

#[tokio::test]
async fn every_error_code_is_reachable_with_its_status() {
    let mut seen: Vec<ErrorCode> = Vec::new();
    let mut expect = |answer: Answer, code: ErrorCode| -> Answer {
        assert_refused(
            &answer,
            StatusCode::from_u16(code.http_status()).unwrap(),
            code.as_str(),
        );
        seen.push(code);
        answer
    };

    let relay = relay();
    let verify = "/api/v1/challenges/verify";
    expect(
        relay
            .request(raw(
                Method::POST,
                verify,
                Some("application/json"),
                b"{".to_vec(),
            ))
            .await,
        ErrorCode::InvalidRequest,
    );
    expect(
        relay
            .request(raw(
                Method::POST,
                verify,
                Some("application/json"),
                vec![b' '; 17 * 1024],
            ))
            .await,
        ErrorCode::PayloadTooLarge,
    );
    expect(
        relay
            .request(raw(
                Method::POST,
                verify,
                Some("text/plain"),
                b"{}".to_vec(),
            ))
            .await,
        ErrorCode::UnsupportedMediaType,
    );
    expect(
        relay
            .post_from(
                Some("https://evil.example"),
                "/api/v1/challenges",
                &json!({"email": ADA}),
            )
            .await,
        ErrorCode::OriginNotAllowed,
    );
    expect(
        relay.issue("ada@@example.com").await,
        ErrorCode::InvalidEmail,
    );

    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    expect(
        relay.verify(&challenge, ADA, "12345").await,
        ErrorCode::InvalidCodeFormat,
    );
    expect(
        relay.verify("AAAA", ADA, &code).await,
        ErrorCode::InvalidChallenge,
    );
    let wrong_code = expect(
        relay.verify(&challenge, ADA, &wrong(&code)).await,
        ErrorCode::WrongCode,
    );
    assert_eq!(wrong_code.json["error"]["attempts_left"], 2);
    let limited = expect(relay.resend(&challenge, ADA).await, ErrorCode::RateLimited);
    assert!(limited.headers.contains_key("retry-after"));
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
    expect(
        relay.verify(&challenge, ADA, &code).await,
        ErrorCode::AlreadyUsed,
    );

    let (challenge, code) = relay.challenge_and_code("bob@example.com").await.unwrap();
    for _ in 0..3 {
        relay
            .verify(&challenge, "bob@example.com", &wrong(&code))
            .await;
    }
    expect(
        relay.verify(&challenge, "bob@example.com", &code).await,
        ErrorCode::TooManyAttempts,
    );

    let (challenge, code) = relay.challenge_and_code("cy@example.com").await.unwrap();
    relay.clock.advance(Duration::from_secs(300));
    expect(
        relay.verify(&challenge, "cy@example.com", &code).await,
        ErrorCode::Expired,
    );

    relay.delivery.fail(true);
    expect(
        relay.issue("dee@example.com").await,
        ErrorCode::DeliveryFailed,
    );
    relay.delivery.fail(false);

    expect(
        relay
            .request(raw(Method::GET, "/api/v1/challenges", None, Vec::new()))
            .await,
        ErrorCode::MethodNotAllowed,
    );
    expect(
        relay
            .request(raw(Method::GET, "/nothing-here", None, Vec::new()))
            .await,
        ErrorCode::NotFound,
    );

    // A request past its deadline (a mail server that never answers), on paused time.
    tokio::time::pause();
    relay.delivery.hang(true);
    expect(
        relay.issue("slow@example.com").await,
        ErrorCode::Unavailable,
    );
    relay.delivery.hang(false);
    tokio::time::resume();

    // A send without a proof of work, where one is on (as it is by default outside tests).
    let paying = super::relay_with(&["--pow", "on"]);
    let required = expect(
        paying
            .post("/api/v1/challenges", &json!({ "email": ADA }))
            .await,
        ErrorCode::PowRequired,
    );
    assert!(
        required.json["error"]["pow"]["salt"]
            .as_str()
            .unwrap()
            .ends_with('&')
    );

    let reached: BTreeSet<&str> = seen.iter().map(|code| code.as_str()).collect();
    let all: BTreeSet<&str> = ErrorCode::ALL
        .iter()
        .filter(|code| **code != ErrorCode::Internal)
        .map(|code| code.as_str())
        .collect();
    assert_eq!(
        reached, all,
        "every code but `internal` is reached by a request"
    );
}

/// `internal` has no request that reaches it (signing a proof is its only source); its
/// mapping to HTTP is the same single path as every other code's.
#[tokio::test]
async fn internal_maps_to_500_with_the_api_body() {
    use axum::response::IntoResponse;
    let response =
        crate::http::error::HttpError::from(crate::core::ApiError::internal()).into_response();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(body["error"]["code"], "internal");
}

#[tokio::test]
async fn malformed_fields_get_a_message_naming_the_field_and_use_no_attempt() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    let verify = "/api/v1/challenges/verify";
    for (body, field, says) in [
        (
            json!({"challenge": challenge, "email": ADA}),
            "code",
            "is missing",
        ),
        (
            json!({"challenge": challenge, "email": ADA, "code": null}),
            "code",
            "is missing",
        ),
        (
            json!({"challenge": challenge, "email": ADA, "code": 123456}),
            "code",
            "must be a string",
        ),
        (
            json!({"challenge": challenge, "email": [ADA], "code": code}),
            "email",
            "must be a string",
        ),
        (
            json!({"email": ADA, "code": code}),
            "challenge",
            "is missing",
        ),
    ] {
        let answer = relay.post(verify, &body).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&format!("\"{field}\" {says}")),
            "{body}: {message}"
        );
    }
    let answer = relay.post(verify, &json!([1, 2])).await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    // A field given twice is refused: which of the two would count is anyone's guess, and a
    // proxy in front may have read the other one.
    let twice = format!(
        r#"{{"challenge": "{challenge}", "email": "{ADA}", "code": "000000", "code": "{code}"}}"#
    );
    let answer = relay
        .request(raw(
            Method::POST,
            verify,
            Some("application/json"),
            twice.into_bytes(),
        ))
        .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    let message = answer.error().unwrap().message;
    assert!(message.contains("\"code\" is given twice"), "{message}");
    let answer = relay
        .post(
            verify,
            &json!({"challenge": challenge, "email": ADA, "code": code, "lang": 7}),
        )
        .await;
    let message = answer.error().unwrap().message;
    assert!(message.contains("\"lang\" must be a string"), "{message}");
    // Unknown fields are passed over, and trailing bytes are not JSON.
    let trailing = format!(
        r#"{{"challenge": "{challenge}", "email": "{ADA}", "code": "{code}", "extra": 1}} x"#
    );
    let answer = relay
        .request(raw(
            Method::POST,
            verify,
            Some("application/json"),
            trailing.into_bytes(),
        ))
        .await;
    let message = answer.error().unwrap().message;
    assert!(message.contains("not valid JSON"), "{message}");
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_failed_delivery_gives_the_sends_back() {
    let relay = relay();
    relay.delivery.fail(true);
    for _ in 0..8 {
        assert_eq!(relay.issue(ADA).await.error_code(), "delivery_failed");
    }
    relay.delivery.fail(false);
    for _ in 0..5 {
        assert_eq!(relay.issue(ADA).await.status, StatusCode::CREATED);
    }
    assert_eq!(relay.issue(ADA).await.error_code(), "rate_limited");
    assert_eq!(relay.sent(), 5);
}

#[tokio::test]
async fn liveness_and_readiness_answer_json() {
    let relay = relay();
    for (path, status) in [("/healthz", "ok"), ("/livez", "ok"), ("/readyz", "ready")] {
        let answer = relay
            .request(raw(Method::GET, path, None, Vec::new()))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.json, json!({ "status": status }), "{path}");
    }
}
