//! A table of malformed requests: each gets its documented status and code, uses no attempt,
//! and the relay keeps serving.

use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::json;

struct Case {
    name: &'static str,
    path: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: StatusCode,
    code: &'static str,
}

#[tokio::test]
async fn every_malformed_request_gets_its_documented_error() {
    let app = TestApp::spawn();
    let email = "table@example.com";
    let (body, code) = app.request_code(email).await;
    let challenge = challenge_of(&body);
    let verify_with = |value: serde_json::Value| -> Vec<u8> {
        serde_json::to_vec(&json!({"challenge": challenge, "email": email, "code": value})).unwrap()
    };
    let json_ct = Some("application/json");
    let mut cases = vec![
        Case {
            name: "malformed JSON",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: b"{\"challenge\": ".to_vec(),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "not an object",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: b"[1,2,3]".to_vec(),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "empty body",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: Vec::new(),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "missing field",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: serde_json::to_vec(&json!({"challenge": challenge, "email": email})).unwrap(),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "code as number",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: verify_with(json!(123456)),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "code as null",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: verify_with(json!(null)),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "code as array",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: verify_with(json!(["1"])),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "email as number",
            path: "/api/v1/challenges",
            content_type: json_ct,
            body: b"{\"email\": 5}".to_vec(),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request",
        },
        Case {
            name: "1 MB body",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: format!("{{\"email\": \"{}\"}}", "a".repeat(1 << 20)).into_bytes(),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
        },
        Case {
            name: "17 KiB body",
            path: "/api/v1/challenges",
            content_type: json_ct,
            body: format!("{{\"email\": \"{}\"}}", "a".repeat(17 * 1024)).into_bytes(),
            status: StatusCode::PAYLOAD_TOO_LARGE,
            code: "payload_too_large",
        },
        Case {
            name: "form content type",
            path: "/api/v1/challenges/verify",
            content_type: Some("application/x-www-form-urlencoded"),
            body: b"code=123456".to_vec(),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
        },
        Case {
            name: "text content type",
            path: "/api/v1/challenges",
            content_type: Some("text/plain"),
            body: b"{\"email\":\"x@example.com\"}".to_vec(),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
        },
        Case {
            name: "no content type",
            path: "/api/v1/challenges",
            content_type: None,
            body: b"{\"email\":\"x@example.com\"}".to_vec(),
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            code: "unsupported_media_type",
        },
    ];
    let long_address = format!("{}@example.com", "a".repeat(250));
    let invalid_emails: Vec<String> = vec![
        "".into(),
        "   ".into(),
        "plainaddress".into(),
        "a@b@example.com".into(),
        "@example.com".into(),
        "a@".into(),
        "a@localhost".into(),
        "a@-bad.example".into(),
        "a@exa mple.com".into(),
        "a b@example.com".into(),
        ".a@example.com".into(),
        "a..b@example.com".into(),
        "a@example.com\r\nBcc: x@y.io".into(),
        "a@example.com\u{2028}".into(),
        "a\u{0}@example.com".into(),
        "a@example.com,b@example.com".into(),
        "\"quoted\"@example.com".into(),
        long_address,
        "a@bücher.example".into(),
        "a@1.2.3.4".into(),
    ];
    for bad in &invalid_emails {
        cases.push(Case {
            name: "invalid email",
            path: "/api/v1/challenges",
            content_type: json_ct,
            body: serde_json::to_vec(&json!({"email": bad})).unwrap(),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_email",
        });
    }
    for bad in [
        "",
        "1",
        "12345",
        "1234567",
        "12345a",
        " 12345",
        "123 456",
        "１２３４５６",
        "123456\n",
        "-12345",
        "+12345",
        "1.2345",
    ] {
        cases.push(Case {
            name: "invalid code format",
            path: "/api/v1/challenges/verify",
            content_type: json_ct,
            body: verify_with(json!(bad)),
            status: StatusCode::BAD_REQUEST,
            code: "invalid_code_format",
        });
    }

    for case in &cases {
        let mut request = app
            .relay
            .client
            .post(format!("{}{}", app.relay.url, case.path))
            .body(case.body.clone());
        if let Some(content_type) = case.content_type {
            request = request.header("Content-Type", content_type);
        }
        let reply = app.relay.send(request).await;
        assert_eq!(reply.status, case.status, "{}: {}", case.name, reply.text);
        assert_eq!(
            reply.error_code(),
            case.code,
            "{}: {}",
            case.name,
            reply.text
        );
        let message = reply.json["error"]["message"].as_str().unwrap_or_default();
        assert!(
            message.len() > 15 && message.ends_with('.'),
            "{}: message {message:?}",
            case.name
        );
        assert_eq!(
            reply.headers["content-type"], "application/json",
            "{}",
            case.name
        );
    }

    assert!(app.relay.healthy().await, "still serving");
    assert_eq!(app.smtp.count(), 1, "no bad request sent mail");
    let wrong = app
        .relay
        .verify(&challenge, email, &wrong_code(&code))
        .await;
    assert_eq!(
        wrong.json["error"]["attempts_left"], 2,
        "no bad request used an attempt"
    );
    assert_eq!(
        app.relay.verify(&challenge, email, &code).await.status,
        StatusCode::OK
    );
    assert!(!app.relay.logs_flushed().contains("panicked"));
}
