//! The attack table of docs/security.md, one test (or more) per row that concerns the relay.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Barrier;

/// A1: after the allowed wrong codes the right code is refused, and new challenges do not reset
/// the address's failure budget.
#[tokio::test]
async fn a1_brute_force_is_stopped_per_challenge_and_per_address() {
    let app = TestApp::spawn_with(&[("OTP_RELAY_FAILURES_PER_ADDRESS", "4/1h")]);
    let email = "a1@example.com";
    let (body, code) = app.request_code(email).await;
    let challenge = challenge_of(&body);
    for left in [2, 1, 0] {
        let reply = app
            .relay
            .verify(&challenge, email, &wrong_code(&code))
            .await;
        assert_eq!(reply.error_code(), "wrong_code");
        assert_eq!(reply.json["error"]["attempts_left"], left);
    }
    let right = app.relay.verify(&challenge, email, &code).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(right.error_code(), "too_many_attempts");

    // Three failures so far; one more on a new challenge spends the budget of four. A challenge
    // issued before that cannot be verified after it, even with its right code.
    let (held, held_code) = app.request_code(email).await;
    let (body, code) = app.request_code(email).await;
    let wrong = app
        .relay
        .verify(&challenge_of(&body), email, &wrong_code(&code))
        .await;
    assert_eq!(wrong.error_code(), "wrong_code");
    let right = app
        .relay
        .verify(&challenge_of(&held), email, &held_code)
        .await;
    assert_eq!(
        right.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        right.text
    );
    assert_eq!(right.error_code(), "too_many_attempts");

    // Another address is not affected.
    let (body, code) = app.request_code("other-a1@example.com").await;
    let ok = app
        .relay
        .verify(&challenge_of(&body), "other-a1@example.com", &code)
        .await;
    assert_eq!(ok.status, StatusCode::OK);
}

async fn race<F, Fut>(n: usize, request: F) -> Vec<(StatusCode, String)>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Reply> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let request = Arc::new(request);
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            let request = Arc::clone(&request);
            tokio::spawn(async move {
                barrier.wait().await;
                let reply = request().await;
                (reply.status, reply.error_code().to_string())
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

/// A2: parallel guesses cannot race the counter; parallel right guesses verify once.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn a2_parallel_guesses_cannot_race_the_counters() {
    let app = Arc::new(TestApp::spawn());
    let email = "a2@example.com";
    let (body, code) = app.request_code(email).await;
    let challenge = challenge_of(&body);
    let wrong = wrong_code(&code);
    let results = {
        let app = Arc::clone(&app);
        race(64, move || {
            let app = Arc::clone(&app);
            let challenge = challenge.clone();
            let wrong = wrong.clone();
            async move { app.relay.verify(&challenge, email, &wrong).await }
        })
        .await
    };
    let judged = results
        .iter()
        .filter(|(_, code)| code == "wrong_code")
        .count();
    let refused = results
        .iter()
        .filter(|(_, code)| code == "too_many_attempts")
        .count();
    assert_eq!((judged, refused), (3, 61), "{results:?}");

    let (body, code) = app.request_code("a2-right@example.com").await;
    let challenge = challenge_of(&body);
    let results = {
        let app = Arc::clone(&app);
        race(16, move || {
            let app = Arc::clone(&app);
            let challenge = challenge.clone();
            let code = code.clone();
            async move {
                app.relay
                    .verify(&challenge, "a2-right@example.com", &code)
                    .await
            }
        })
        .await
    };
    let ok = results
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "{results:?}");
}

/// Whether `code` appears in `text` as a number of its own (not inside a longer run of digits
/// or letters, as in a timestamp or random base64).
fn contains_code(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_alphanumeric())
            && !after.is_some_and(|c| c.is_ascii_alphanumeric())
    })
}

/// A3: the code is in the email only: no response body, header, decoded token or log line.
#[tokio::test]
async fn a3_the_code_appears_only_in_the_email() {
    let app = TestApp::spawn_with(&[("OTP_RELAY_RESEND_AFTER", "0s")]);
    let email = "a3@example.com";
    let issued = app.relay.issue(email).await;
    let code = app.smtp.last_to(email).code();
    let resent = app.relay.resend(&challenge_of(&issued.json), email).await;
    let wrong = app
        .relay
        .verify(&challenge_of(&issued.json), email, &wrong_code(&code))
        .await;
    let verified = app
        .relay
        .verify(&challenge_of(&issued.json), email, &code)
        .await;
    assert_eq!(verified.status, StatusCode::OK);
    for reply in [&issued, &resent, &wrong, &verified] {
        assert!(!contains_code(&reply.text, &code), "body: {}", reply.text);
        for (name, value) in &reply.headers {
            let value = value.to_str().unwrap_or_default();
            assert!(!contains_code(value, &code), "header {name}: {value}");
        }
    }
    let token = URL_SAFE_NO_PAD.decode(challenge_of(&issued.json)).unwrap();
    assert!(
        !token.windows(code.len()).any(|w| w == code.as_bytes()),
        "token holds the code"
    );
    assert!(
        !token.windows(email.len()).any(|w| w == email.as_bytes()),
        "token holds the address"
    );
    let proof = verified.json["proof"].as_str().unwrap();
    for part in proof.split('.').take(2) {
        let decoded = String::from_utf8_lossy(&URL_SAFE_NO_PAD.decode(part).unwrap()).into_owned();
        assert!(!contains_code(&decoded, &code), "proof: {decoded}");
    }
    // The last event's line: every line before it has arrived too (they arrive in order).
    let logs = app.relay.logs_once("address verified");
    assert!(logs.contains("code sent"), "debug logs were captured");
    for line in logs.lines() {
        assert!(!contains_code(line, &code), "log line: {line}");
        assert!(!line.contains(email), "log line names the address: {line}");
    }
}

/// A4: a used challenge is refused the second time, and after a restart of the relay, whatever
/// its store.
#[tokio::test]
async fn a4_replay_is_refused_also_after_a_restart() {
    let mut app = TestApp::spawn();
    let email = "a4@example.com";
    let (body, code) = app.request_code(email).await;
    let challenge = challenge_of(&body);
    assert_eq!(
        app.relay.verify(&challenge, email, &code).await.status,
        StatusCode::OK
    );
    let replay = app.relay.verify(&challenge, email, &code).await;
    assert_eq!(replay.error_code(), "already_used");

    let (pending, pending_code) = app.request_code("a4-pending@example.com").await;
    app.relay.restart();
    let after = app.relay.verify(&challenge, email, &code).await;
    let pending_after = app
        .relay
        .verify(
            &challenge_of(&pending),
            "a4-pending@example.com",
            &pending_code,
        )
        .await;
    if app.relay.store_survives_restarts() {
        // A shared store remembers the used mark, and the attempts of the challenge not yet
        // used, so that one still verifies, once.
        assert_eq!(after.error_code(), "already_used", "{}", after.text);
        assert_eq!(
            pending_after.status,
            StatusCode::OK,
            "{}",
            pending_after.text
        );
    } else {
        // The in-memory store forgot its attempts and used marks: every challenge issued before
        // the restart is refused, since accepting one would reopen guessing or replay.
        assert_eq!(after.status, StatusCode::GONE, "{}", after.text);
        assert_eq!(after.error_code(), "expired");
        assert!(
            after.json["error"]["message"]
                .as_str()
                .unwrap()
                .contains("new code")
        );
        assert_eq!(pending_after.error_code(), "expired");
    }
    // New challenges work after the restart.
    let (body, code) = app.request_code(email).await;
    assert_eq!(
        app.relay
            .verify(&challenge_of(&body), email, &code)
            .await
            .status,
        StatusCode::OK
    );
}

/// A5: a code is bound to its address; malformed codes use no attempt.
#[tokio::test]
async fn a5_unbound_or_malformed_input_is_refused_without_using_an_attempt() {
    let app = TestApp::spawn();
    let (body, code) = app.request_code("a5@example.com").await;
    let challenge = challenge_of(&body);
    let other = app.relay.verify(&challenge, "b5@example.com", &code).await;
    assert_eq!(other.status, StatusCode::BAD_REQUEST);
    assert_eq!(other.error_code(), "invalid_challenge");

    for bad in ["", "12345", "1234567", "１２３４５６", "12 456", "abcdef"] {
        let reply = app.relay.verify(&challenge, "a5@example.com", bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(reply.error_code(), "invalid_code_format", "{bad:?}");
    }
    for bad in [
        json!(null),
        json!([1, 2]),
        json!(123456),
        json!({"code": "1"}),
        json!(true),
    ] {
        let reply = app
            .relay
            .post(
                "/api/v1/challenges/verify",
                json!({"challenge": challenge, "email": "a5@example.com", "code": bad}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(reply.error_code(), "invalid_request", "{bad}");
    }
    let wrong = app
        .relay
        .verify(&challenge, "a5@example.com", &wrong_code(&code))
        .await;
    assert_eq!(
        wrong.json["error"]["attempts_left"], 2,
        "no attempt was used before"
    );
    assert_eq!(
        app.relay
            .verify(&challenge, "a5@example.com", &code)
            .await
            .status,
        StatusCode::OK
    );
}

/// A6: secrets are compared only through constant-time calls. This reads the relay's source:
/// every comparison of a MAC, tag or code goes through `verify_slice` or `ct_eq`, and no `==` or
/// `!=` touches one.
#[test]
fn a6_macs_and_codes_are_compared_in_constant_time_only() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("domain/src");
    let mut checked = 0;
    for file in ["token.rs", "code.rs", "service.rs"] {
        let source = std::fs::read_to_string(dir.join(file)).unwrap();
        let production = source.split("#[cfg(test)]").next().unwrap();
        for (number, line) in production.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            let compares = code.contains("==") || code.contains("!=");
            let secret = ["mac", "tag", "code", "expected", "submitted"]
                .iter()
                .any(|word| code.to_ascii_lowercase().contains(word));
            let harmless = code.contains("code_length") || code.contains(".len()");
            assert!(
                !(compares && secret && !harmless),
                "{file}:{}: compare secrets with verify_slice or ct_eq: {line}",
                number + 1
            );
        }
        checked += production.matches("verify_slice").count() + production.matches("ct_eq").count();
    }
    assert!(
        checked >= 3,
        "the constant-time calls are where they belong"
    );
}

/// A7: header injection and lists: 400, and the SMTP server sees nothing.
#[tokio::test]
async fn a7_header_injection_never_reaches_the_mail_server() {
    let app = TestApp::spawn();
    for bad in [
        "a@x.io\r\nBcc: e@y.io",
        "a@x.io\nBcc: e@y.io",
        "a@x.io\u{2028}",
        "a@x.io\u{0085}",
        "a\u{0}@x.io",
        "a@x.io\tb@y.io",
        "a@x.io, e@y.io",
        "a@x.io,e@y.io",
        "Bob <a@x.io>",
    ] {
        let reply = app.relay.issue(bad).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{bad:?}");
        assert_eq!(reply.error_code(), "invalid_email", "{bad:?}");
        assert!(reply.json["error"]["message"].as_str().unwrap().len() > 10);
    }
    // A valid send afterwards shows the server is listening and received exactly that one.
    app.request_code("a7@example.com").await;
    assert_eq!(app.smtp.count(), 1);
}

/// A8 at the HTTP level: codes delivered by the relay are 6 ASCII digits and differ between
/// challenges (the distribution itself is tested on many codes in `code::tests`).
#[tokio::test]
async fn a8_delivered_codes_are_six_digits_and_fresh_each_time() {
    let relay = RelayProcess::dev(&[
        ("OTP_RELAY_SENDS_PER_ADDRESS".into(), "100/15m".into()),
        ("OTP_RELAY_SENDS_PER_ADDRESS_TOTAL".into(), "200/15m".into()),
        ("OTP_RELAY_SENDS_PER_IP".into(), "100/15m".into()),
    ]);
    let mut codes = std::collections::HashSet::new();
    for _ in 0..20 {
        assert_eq!(
            relay.issue("a8@example.com").await.status,
            StatusCode::CREATED
        );
    }
    for entry in relay.outbox().await {
        let code = outbox_code(&entry);
        assert_eq!(code.len(), 6);
        assert!(code.bytes().all(|b| b.is_ascii_digit()));
        codes.insert(code);
    }
    assert!(
        codes.len() >= 19,
        "20 challenges, {} distinct codes",
        codes.len()
    );
}

/// A9: the (N+1)th send to one address gets 429 and the server received N; likewise per IP.
#[tokio::test]
async fn a9_email_bombing_is_limited_per_address_and_per_ip() {
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_SENDS_PER_ADDRESS", "3/15m"),
        ("OTP_RELAY_SENDS_PER_IP", "5/15m"),
    ]);
    for _ in 0..3 {
        assert_eq!(
            app.relay.issue("a9@example.com").await.status,
            StatusCode::CREATED
        );
    }
    let fourth = app.relay.issue("a9@example.com").await;
    assert_eq!(fourth.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(fourth.error_code(), "rate_limited");
    let retry_after = fourth.json["error"]["retry_after"].as_u64().unwrap();
    // A send counts for the whole window (15 min) and at most a quarter of it more.
    assert!((899..=1125).contains(&retry_after), "{retry_after}");
    assert_eq!(
        fourth.headers["retry-after"].to_str().unwrap(),
        retry_after.to_string()
    );
    app.smtp.wait_for(3);
    assert_eq!(app.smtp.count(), 3);

    // Two more addresses reach the per-IP limit of five; a spoofed X-Forwarded-For changes
    // nothing while no proxy is trusted.
    assert_eq!(
        app.relay.issue("b9@example.com").await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.relay.issue("c9@example.com").await.status,
        StatusCode::CREATED
    );
    let spoofed = app
        .relay
        .send(
            app.relay
                .client
                .post(format!("{}/api/v1/challenges", app.relay.url))
                .header("X-Forwarded-For", "203.0.113.9")
                .json(&json!({"email": "d9@example.com"})),
        )
        .await;
    assert_eq!(
        spoofed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        spoofed.text
    );
    assert!(
        spoofed.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("network")
    );
    app.smtp.wait_for(5);
    assert_eq!(app.smtp.count(), 5);
}

/// A9 behind a trusted proxy: the limit follows the client address the proxy reports.
#[tokio::test]
async fn a9_behind_a_trusted_proxy_each_client_has_its_own_limit() {
    let relay = RelayProcess::dev(&[
        ("OTP_RELAY_TRUST_PROXY".into(), "127.0.0.1".into()),
        ("OTP_RELAY_SENDS_PER_IP".into(), "1/15m".into()),
    ]);
    let from = |ip: &str, email: &str| {
        relay
            .client
            .post(format!("{}/api/v1/challenges", relay.url))
            .header("X-Forwarded-For", format!("198.51.100.1, {ip}"))
            .json(&json!({ "email": email }))
    };
    assert_eq!(
        relay.send(from("192.0.2.1", "p1@example.com")).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        relay.send(from("192.0.2.2", "p2@example.com")).await.status,
        StatusCode::CREATED
    );
    let again = relay.send(from("192.0.2.1", "p3@example.com")).await;
    assert_eq!(again.status, StatusCode::TOO_MANY_REQUESTS);
}

/// A10: origins not on the list get 403 and no CORS headers, preflight included.
#[tokio::test]
async fn a10_cors_allows_only_listed_origins() {
    let relay = RelayProcess::dev(&[(
        "OTP_RELAY_ALLOWED_ORIGINS".into(),
        "https://ok.example".into(),
    )]);
    let url = format!("{}/api/v1/challenges", relay.url);
    for origin in [
        "https://evil.example",
        "null",
        "https://ok.example.evil.example",
        "http://ok.example",
    ] {
        for preflight in [true, false] {
            let request = if preflight {
                relay
                    .client
                    .request(reqwest::Method::OPTIONS, &url)
                    .header("Access-Control-Request-Method", "POST")
            } else {
                relay
                    .client
                    .post(&url)
                    .json(&json!({"email": "cors@example.com"}))
            };
            let reply = relay.send(request.header("Origin", origin)).await;
            assert_eq!(
                reply.status,
                StatusCode::FORBIDDEN,
                "{origin} preflight={preflight}"
            );
            assert_eq!(reply.error_code(), "origin_not_allowed");
            assert!(
                !reply
                    .headers
                    .keys()
                    .any(|k| k.as_str().starts_with("access-control-")),
                "{origin}: {:?}",
                reply.headers
            );
        }
    }
    let preflight = relay
        .send(
            relay
                .client
                .request(reqwest::Method::OPTIONS, &url)
                .header("Origin", "https://ok.example")
                .header("Access-Control-Request-Method", "POST")
                .header("Access-Control-Request-Headers", "content-type"),
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(
        preflight.headers["access-control-allow-origin"],
        "https://ok.example"
    );
    assert!(
        preflight.headers["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("POST")
    );
    assert!(
        preflight.headers["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("content-type")
    );
    let allowed = relay
        .post_from(
            "https://ok.example",
            "/api/v1/challenges",
            json!({"email": "cors@example.com"}),
        )
        .await;
    assert_eq!(allowed.status, StatusCode::CREATED);
    assert_eq!(
        allowed.headers["access-control-allow-origin"],
        "https://ok.example"
    );
}

/// A11: any altered token is `invalid_challenge` and uses no attempt; a proof is not a challenge.
#[tokio::test]
async fn a11_forged_tokens_are_refused_without_using_an_attempt() {
    let app = TestApp::spawn();
    let email = "a11@example.com";
    let (body, code) = app.request_code(email).await;
    let challenge = challenge_of(&body);
    let bytes = URL_SAFE_NO_PAD.decode(&challenge).unwrap();
    let mut forgeries = Vec::new();
    for position in 0..bytes.len() {
        let mut altered = bytes.clone();
        altered[position] ^= 0x01;
        forgeries.push(URL_SAFE_NO_PAD.encode(&altered));
    }
    forgeries.push(URL_SAFE_NO_PAD.encode(&bytes[..bytes.len() - 1]));
    forgeries.push(URL_SAFE_NO_PAD.encode([bytes.as_slice(), &[0]].concat()));
    forgeries.push(format!("{challenge}="));
    forgeries.push(challenge[..challenge.len() - 1].to_string());
    let mut swapped = bytes.clone();
    swapped[2..4].copy_from_slice(b"k2");
    forgeries.push(URL_SAFE_NO_PAD.encode(&swapped));

    // A proof presented as a challenge.
    let (other, other_code) = app.request_code("a11-proof@example.com").await;
    let proof = app
        .relay
        .verify(&challenge_of(&other), "a11-proof@example.com", &other_code)
        .await;
    forgeries.push(proof.json["proof"].as_str().unwrap().to_string());

    for forged in &forgeries {
        let reply = app.relay.verify(forged, email, &code).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{forged}");
        assert_eq!(reply.error_code(), "invalid_challenge", "{forged}");
        let resend = app.relay.resend(forged, email).await;
        assert_eq!(resend.error_code(), "invalid_challenge", "{forged}");
    }
    let wrong = app
        .relay
        .verify(&challenge, email, &wrong_code(&code))
        .await;
    assert_eq!(
        wrong.json["error"]["attempts_left"], 2,
        "no forgery used an attempt"
    );
}

/// A13: without SMTP and without development mode the relay refuses to start, naming both ways
/// forward; development mode refuses a non-loopback address and says loudly what it is. (That
/// `/dev/outbox` is 404 with SMTP: `flow.rs::the_development_outbox_shows_messages_and_is_off_with_smtp`.)
#[tokio::test]
async fn a13_the_outbox_is_never_what_a_blank_setting_gives() {
    for env in [
        &[][..],
        &[("OTP_RELAY_SMTP_URL", "")][..],
        &[("OTP_RELAY_DEV", "0")][..],
    ] {
        let (status, stderr) = refused_start(env);
        assert_eq!(status, Some(2), "{env:?}: {stderr}");
        assert!(
            stderr.contains("OTP_RELAY_SMTP_URL") && stderr.contains("OTP_RELAY_DEV"),
            "{stderr}"
        );
    }
    let (status, stderr) =
        refused_start(&[("OTP_RELAY_DEV", "1"), ("OTP_RELAY_LISTEN", "0.0.0.0:0")]);
    assert_eq!(status, Some(2));
    assert!(stderr.contains("loopback"), "{stderr}");

    let relay = RelayProcess::dev(&[]);
    let logs = relay.logs_once("DEVELOPMENT MODE");
    assert!(
        logs.contains(&format!("{}/dev/outbox", relay.url)),
        "{logs}"
    );
    let outbox = relay
        .client
        .get(format!("{}/dev/outbox", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(outbox.status(), StatusCode::OK);
}

/// A14: an SMTP login, or a Redis password, to another host over a plain connection refuses to
/// start, naming TLS.
#[test]
fn a14_smtp_credentials_never_cross_the_network_in_the_clear() {
    for url in [
        "smtp://mailer:hunter2@smtp.example.com:587",
        "smtp://mailer:hunter2@192.0.2.25:25?tls=none",
    ] {
        let (status, stderr) = refused_start(&[("OTP_RELAY_SMTP_URL", url)]);
        assert_eq!(status, Some(2), "{stderr}");
        assert!(stderr.contains("TLS"), "{stderr}");
        assert!(
            stderr.contains("smtps://") && stderr.contains("tls=required"),
            "{stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    // The same for the store's password: TLS (rediss://, rediss-cluster://) to another host.
    for url in [
        "redis://:hunter2@redis.example.com:6379",
        "redis-cluster://:hunter2@192.0.2.7:7000,192.0.2.8:7000",
    ] {
        let (status, stderr) = refused_start(&[("OTP_RELAY_STORE", url)]);
        assert_eq!(status, Some(2), "{stderr}");
        assert!(stderr.contains("without TLS"), "{stderr}");
        assert!(
            stderr.contains("rediss://") && stderr.contains("rediss-cluster://"),
            "{stderr}"
        );
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
}

fn jwt_claims(proof: &str) -> serde_json::Value {
    let payload = proof.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A15: a code issued on site A and typed on site B is no proof for B; no attempt is used.
#[tokio::test]
async fn a15_a_code_from_one_site_never_becomes_a_proof_for_another() {
    let site_a = "https://a.example";
    let site_b = "https://b.example";
    let app = TestApp::spawn_with(&[(
        "OTP_RELAY_ALLOWED_ORIGINS",
        "https://a.example,https://b.example",
    )]);
    let email = "a15@example.com";
    let issued = app
        .relay
        .post_from(site_a, "/api/v1/challenges", json!({ "email": email }))
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
    let code = app.smtp.wait_for(1)[0].code();
    let challenge = challenge_of(&issued.json);
    let verify = |origin: &'static str, code: String| {
        app.relay.post_from(
            origin,
            "/api/v1/challenges/verify",
            json!({ "challenge": challenge, "email": email, "code": code }),
        )
    };
    let from_b = verify(site_b, code.clone()).await;
    assert_eq!(
        (from_b.status, from_b.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_challenge"),
        "{}",
        from_b.text
    );
    let from_nowhere = app.relay.verify(&challenge, email, &code).await;
    assert_eq!(from_nowhere.error_code(), "invalid_challenge");
    let wrong = verify(site_a, wrong_code(&code)).await;
    assert_eq!(wrong.json["error"]["attempts_left"], 2, "B used no attempt");
    let from_a = verify(site_a, code.clone()).await;
    assert_eq!(from_a.status, StatusCode::OK, "{}", from_a.text);
    assert_eq!(
        jwt_claims(from_a.json["proof"].as_str().unwrap())["aud"],
        site_a
    );
}

/// A16: `ada+1@` … `ada+6@` are one mailbox: the sixth send in the window is 429, and so is a
/// case variant; the server received five.
#[tokio::test]
async fn a16_subaddresses_share_their_mailbox_send_limit() {
    let app = TestApp::spawn();
    for n in 1..=5 {
        let reply = app.relay.issue(&format!("ada+{n}@example.com")).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    }
    for spelling in ["ada+6@example.com", "ADA@Example.COM"] {
        let reply = app.relay.issue(spelling).await;
        assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS, "{spelling}");
        assert_eq!(reply.error_code(), "rate_limited");
    }
    app.smtp.wait_for(5);
    assert_eq!(app.smtp.count(), 5);
}

/// A17: once a mailbox has used its wrong-code budget, sends to it are 429 and no message goes.
#[tokio::test]
async fn a17_a_locked_mailbox_gets_no_more_codes() {
    let app = TestApp::spawn_with(&[("OTP_RELAY_FAILURES_PER_ADDRESS", "2/1h")]);
    let email = "a17@example.com";
    let (body, code) = app.request_code(email).await;
    for _ in 0..2 {
        let reply = app
            .relay
            .verify(&challenge_of(&body), email, &wrong_code(&code))
            .await;
        assert_eq!(reply.error_code(), "wrong_code");
    }
    let refused = app.relay.issue("A17+again@example.com").await;
    assert_eq!(
        refused.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        refused.text
    );
    assert_eq!(refused.error_code(), "rate_limited");
    let retry_after = refused.json["error"]["retry_after"].as_u64().unwrap();
    // A failure counts for the whole window (1 h) and at most a quarter of it more.
    assert!((3599..=4500).contains(&retry_after), "{retry_after}");
    // A send is answered only once the mail server has taken the message, so none is on its way.
    assert_eq!(app.smtp.count(), 1, "no message after the lockout");
}

/// A18: `%` and `!` route mail to other servers: not an address.
#[tokio::test]
async fn a18_mail_routing_characters_are_refused() {
    let app = TestApp::spawn();
    for address in [
        "victim%evil.example@example.com",
        "evil.example!victim@example.com",
    ] {
        let reply = app.relay.issue(address).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, "invalid_email"),
            "{address}"
        );
    }
    let good = app.relay.issue("plain@example.com").await;
    assert_eq!(good.status, StatusCode::CREATED);
    assert_eq!(
        app.smtp.wait_for(1).len(),
        1,
        "only the plain address got mail"
    );
}

/// A19: with the mail server down, one client's sends still count against it: of 25, some are
/// 429 (each failed one was refunded to the mailbox, so the address was never the limit).
#[tokio::test]
async fn a19_failed_deliveries_still_count_against_the_client() {
    let closed = format!("smtp://127.0.0.1:{}", free_port());
    let relay = RelayProcess::start(&[("OTP_RELAY_SMTP_URL".into(), closed)]);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(relay.issue("a19@example.com").await.status);
    }
    let failed = statuses
        .iter()
        .filter(|s| **s == StatusCode::BAD_GATEWAY)
        .count();
    let limited = statuses
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((failed, limited), (20, 5), "{statuses:?}");
}

/// A20: 80 refused sends from 80 clients leave nothing behind, so a fresh person still gets and
/// verifies a code from a small store.
#[tokio::test]
async fn a20_refusals_cannot_fill_the_store() {
    let relay = RelayProcess::dev(&[
        ("OTP_RELAY_TRUST_PROXY".into(), "127.0.0.1".into()),
        ("OTP_RELAY_STORE_CAPACITY".into(), "40".into()),
        ("OTP_RELAY_SENDS_PER_ADDRESS".into(), "1/15m".into()),
        ("OTP_RELAY_SENDS_PER_ADDRESS_TOTAL".into(), "5/15m".into()),
    ]);
    let from = |client: String, email: &str| {
        relay
            .client
            .post(format!("{}/api/v1/challenges", relay.url))
            .header("X-Forwarded-For", client)
            .json(&json!({ "email": email }))
    };
    // The victim's mailbox total is spent, from five networks.
    for n in 0..5 {
        let reply = relay
            .send(from(format!("192.0.{n}.1"), "victim@example.com"))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    for n in 0..80 {
        let client = format!("198.51.{}.{}", n / 200, n % 200 + 1);
        let reply = relay.send(from(client, "victim@example.com")).await;
        assert_eq!(
            reply.status,
            StatusCode::TOO_MANY_REQUESTS,
            "{n}: {}",
            reply.text
        );
    }
    let fresh = relay
        .send(from("203.0.113.200".into(), "fresh@example.com"))
        .await;
    assert_eq!(fresh.status, StatusCode::CREATED, "{}", fresh.text);
    let entry = relay
        .outbox()
        .await
        .into_iter()
        .find(|entry| entry["to"] == "fresh@example.com")
        .unwrap();
    let verified = relay
        .verify(
            &challenge_of(&fresh.json),
            "fresh@example.com",
            &outbox_code(&entry),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
}

/// A21: 40 connections that stall mid-request (half in their headers, half in their body) are
/// closed within 45 s, while normal requests are served all along.
#[tokio::test]
async fn a21_stalled_connections_are_closed_while_others_are_served() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let relay = RelayProcess::dev(&[]);
    let address = relay.url.trim_start_matches("http://").to_string();
    let started = std::time::Instant::now();
    let mut stalled = Vec::new();
    for n in 0..40 {
        let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
        let partial = if n % 2 == 0 {
            "POST /api/v1/challenges HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl".to_string()
        } else {
            "POST /api/v1/challenges HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{\"email\":".to_string()
        };
        stream.write_all(partial.as_bytes()).await.unwrap();
        stalled.push(stream);
    }
    let healthy = std::time::Instant::now();
    assert!(relay.healthy().await);
    assert!(healthy.elapsed() < std::time::Duration::from_secs(2));
    let watchers: Vec<_> = stalled
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                let mut buffer = Vec::new();
                // Whatever the relay answers (an error for a half body), it then closes.
                let _ = stream.read_to_end(&mut buffer).await;
                started.elapsed()
            })
        })
        .collect();
    let mut latest = std::time::Duration::ZERO;
    let during = tokio::spawn({
        let client = relay.client.clone();
        let url = relay.url.clone();
        async move {
            for _ in 0..10 {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let answer = client.get(format!("{url}/healthz")).send().await.unwrap();
                assert_eq!(answer.status(), StatusCode::OK);
            }
        }
    });
    for watcher in watchers {
        let closed_after = tokio::time::timeout(std::time::Duration::from_secs(45), watcher)
            .await
            .expect("a stalled connection stayed open past 45 s")
            .unwrap();
        latest = latest.max(closed_after);
    }
    during.await.unwrap();
    assert!(latest <= std::time::Duration::from_secs(45), "{latest:?}");
    eprintln!("40 stalled connections closed after at most {latest:?}");
}

/// A22: `X-Forwarded-For` from a peer that is not a trusted proxy is ignored; from a trusted one,
/// entries with ports parse and name their client.
#[tokio::test]
async fn a22_forwarded_for_is_believed_only_from_trusted_proxies() {
    async fn send_as(relay: &RelayProcess, forwarded: &str, email: &str) -> Reply {
        relay
            .post_for(forwarded, "/api/v1/challenges", json!({ "email": email }))
            .await
    }
    let limit = ("OTP_RELAY_SENDS_PER_IP".to_string(), "1/15m".to_string());
    let elsewhere = RelayProcess::dev(&[
        ("OTP_RELAY_TRUST_PROXY".into(), "10.0.0.0/8".into()),
        limit.clone(),
    ]);
    assert_eq!(
        send_as(&elsewhere, "192.0.2.1", "p1@example.com")
            .await
            .status,
        StatusCode::CREATED
    );
    let spoofed = send_as(&elsewhere, "192.0.2.2", "p2@example.com").await;
    assert_eq!(
        spoofed.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        spoofed.text
    );

    let behind = RelayProcess::dev(&[("OTP_RELAY_TRUST_PROXY".into(), "127.0.0.1".into()), limit]);
    assert_eq!(
        send_as(&behind, "192.0.2.1:5555", "q1@example.com")
            .await
            .status,
        StatusCode::CREATED
    );
    let same_client = send_as(&behind, "192.0.2.1:6666", "q2@example.com").await;
    assert_eq!(
        same_client.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        same_client.text
    );
    let other_client = send_as(&behind, "[2001:db8::7]:5555", "q3@example.com").await;
    assert_eq!(
        other_client.status,
        StatusCode::CREATED,
        "{}",
        other_client.text
    );
    let unknown = send_as(&behind, "unknown", "q4@example.com").await;
    assert_eq!(
        (unknown.status, unknown.error_code()),
        (StatusCode::BAD_REQUEST, "invalid_request"),
        "{}",
        unknown.text
    );
}

/// A27: from one network, a stranger spends a mailbox's wrong-code budget and its sends through
/// `+tag` spellings; the owner, from another network, still gets and verifies a code. On every
/// store (the attack table also runs on Redis and a Redis Cluster).
#[tokio::test]
async fn a27_a_stranger_cannot_lock_the_owner_of_an_address_out() {
    let app = TestApp::spawn_with(&[("OTP_RELAY_TRUST_PROXY", "127.0.0.1")]);
    let relay = &app.relay;
    let post = |client: &str, path: &str, body: serde_json::Value| {
        relay
            .client
            .post(format!("{}{path}", relay.url))
            .header("X-Forwarded-For", client.to_string())
            .json(&body)
    };
    let attacker = "203.0.113.9";
    let mut sent = 0;
    // Four challenges for one mailbox, twelve wrong codes: the review's reproduction.
    for tag in 1..=4 {
        let email = format!("a27+x{tag}@example.com");
        let issued = relay
            .send(post(
                attacker,
                "/api/v1/challenges",
                json!({ "email": email }),
            ))
            .await;
        assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
        sent += 1;
        app.smtp.wait_for(sent);
        let code = app.smtp.last_to(&email).code();
        for _ in 0..3 {
            let body = json!({
                "challenge": challenge_of(&issued.json),
                "email": email,
                "code": wrong_code(&code),
            });
            relay
                .send(post(attacker, "/api/v1/challenges/verify", body))
                .await;
        }
    }
    // Then the attacker's sends: refused from its network.
    let more = relay
        .send(post(
            "203.0.113.77",
            "/api/v1/challenges",
            json!({ "email": "a27+x5@example.com" }),
        ))
        .await;
    assert_eq!(more.error_code(), "rate_limited", "{}", more.text);

    // The owner, from another network.
    let owner = "198.51.100.7";
    let email = "a27@example.com";
    let issued = relay
        .send(post(owner, "/api/v1/challenges", json!({ "email": email })))
        .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
    app.smtp.wait_for(sent + 1);
    let code = app.smtp.last_to(email).code();
    let body = json!({ "challenge": challenge_of(&issued.json), "email": email, "code": code });
    let verified = relay
        .send(post(owner, "/api/v1/challenges/verify", body))
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
}

/// A29: a mail server that refuses a recipient and quotes its full address: the relay's log
/// holds the address masked only, and says the recipient (not the sender) was refused. (Every
/// black-box test also checks its relay's whole log for full addresses when it stops.)
#[tokio::test]
async fn a29_a_refused_recipient_is_never_logged_in_full() {
    let app = TestApp::spawn();
    let reply = app.relay.issue("nobody.grace@example.org").await;
    assert_eq!(reply.error_code(), "delivery_failed", "{}", reply.text);
    let logs = app.relay.logs_once("delivery failed");
    assert!(!logs.contains("nobody.grace@"), "{logs}");
    assert!(logs.contains("n***@example.org"), "{logs}");
    assert!(logs.contains("refused the recipient"), "{logs}");
    assert!(!logs.contains("check that OTP_RELAY_FROM"), "{logs}");
    assert!(full_addresses(&logs).is_empty(), "{logs}");
}

/// A31: a proxy appends to the client's own `X-Forwarded-For` line, which holds a byte that is
/// not ASCII. The line is still read: the client keeps its own bucket (not freed from it, not
/// moved into the proxy's, where it would share one with every other such client); a line whose
/// entry where the client should be is not an address is refused, and logged.
#[tokio::test]
async fn a31_a_forwarding_line_that_is_not_ascii_neither_frees_nor_shares_a_bucket() {
    let relay = RelayProcess::dev(&[
        ("OTP_RELAY_TRUST_PROXY".into(), "127.0.0.1".into()),
        ("OTP_RELAY_SENDS_PER_IP".into(), "1/15m".into()),
    ]);
    let from = |line: &[u8], email: &str| {
        relay
            .client
            .post(format!("{}/api/v1/challenges", relay.url))
            .header(
                "X-Forwarded-For",
                reqwest::header::HeaderValue::from_bytes(line).unwrap(),
            )
            .json(&json!({ "email": email }))
    };
    let first = relay
        .send(from(b"\xff, 203.0.113.9", "p1@example.com"))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let other = relay
        .send(from(b"\xfe, 198.51.100.4", "p2@example.com"))
        .await;
    assert_eq!(
        other.status,
        StatusCode::CREATED,
        "another client is not in a shared bucket: {}",
        other.text
    );
    for line in [&b"\xff, 203.0.113.9"[..], b"203.0.113.9"] {
        let again = relay.send(from(line, "p3@example.com")).await;
        assert_eq!(again.error_code(), "rate_limited", "{}", again.text);
    }
    let garbled = relay
        .send(from(b"203.0.113.9, \xff", "p4@example.com"))
        .await;
    assert_eq!(garbled.error_code(), "invalid_request", "{}", garbled.text);
    relay.logs_once("not an IP address where the client should be");
}

/// A30: 1,100 connections from one address, each sending its headers slowly, do not keep a
/// health probe from another address waiting: one client holds only its share.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a30_one_client_cannot_hold_every_connection() {
    use tokio::io::AsyncWriteExt;
    let relay = RelayProcess::dev(&[]);
    let address: std::net::SocketAddr = relay.url.trim_start_matches("http://").parse().unwrap();
    let mut slow = Vec::new();
    for _ in 0..1100 {
        let Ok(mut stream) = tokio::net::TcpStream::connect(address).await else {
            continue;
        };
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nHo").await;
        slow.push(stream);
    }
    for _ in 0..3 {
        let started = std::time::Instant::now();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
        let mut probe = socket.connect(address).await.unwrap();
        probe
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut probe, &mut answer)
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    drop(slow);
}

/// A send from the client `ip` (behind the trusted proxy the tests are) with `pow`, if any.
async fn send_from(relay: &RelayProcess, ip: &str, email: &str, pow: Option<&str>) -> Reply {
    let mut body = json!({ "email": email });
    if let Some(pow) = pow {
        body["pow"] = json!(pow);
    }
    relay.post_for(ip, "/api/v1/challenges", body).await
}

/// `GET /api/v1/pow` as the client `ip`.
async fn pow_for(
    relay: &RelayProcess,
    ip: &str,
) -> (reqwest::header::HeaderMap, serde_json::Value) {
    let response = relay
        .client
        .get(format!("{}/api/v1/pow", relay.url))
        .header("X-Forwarded-For", ip)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    (headers, response.json().await.unwrap())
}

/// A 428 `pow_required` whose fresh challenge solves.
#[track_caller]
fn assert_pow_required(reply: &Reply, what: &str) {
    assert_eq!(
        (reply.status, reply.error_code()),
        (StatusCode::PRECONDITION_REQUIRED, "pow_required"),
        "{what}: {}",
        reply.text
    );
    let fresh = &reply.json["error"]["pow"];
    assert!(
        otp_relay::testing::solve_pow(fresh).is_some(),
        "{what}: a fresh challenge that solves: {fresh}"
    );
}

/// base64 of a solution payload changed by `change`.
fn altered(pow: &str, change: impl Fn(&mut serde_json::Value)) -> String {
    use base64::engine::general_purpose::STANDARD;
    let mut solution: serde_json::Value =
        serde_json::from_slice(&STANDARD.decode(pow).unwrap()).unwrap();
    change(&mut solution);
    STANDARD.encode(solution.to_string())
}

/// A25: a send without a valid proof of work is 428 with a fresh challenge; no email goes and
/// nothing is counted. On every store (the attack table also runs on Redis and a Redis Cluster).
#[tokio::test]
async fn a25_a_send_without_a_valid_proof_of_work_sends_nothing_and_counts_nothing() {
    // Two sends per client: after every refusal below, both must still be there.
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_POW", "on"),
        ("OTP_RELAY_TRUST_PROXY", "127.0.0.1"),
        ("OTP_RELAY_SENDS_PER_IP", "2/15m"),
    ]);
    let relay = &app.relay;
    let client = "198.51.100.7";
    let (headers, challenge) = pow_for(relay, client).await;
    assert_eq!(headers["cache-control"], "no-store");
    let good = otp_relay::testing::solve_pow(&challenge).unwrap();
    let hour = std::time::Duration::from_secs(3600);
    let refusals: Vec<(&str, Option<String>)> = vec![
        ("no pow", None),
        (
            "another number",
            Some(altered(&good, |s| {
                s["number"] = json!(s["number"].as_u64().unwrap() + 1)
            })),
        ),
        (
            "a tampered salt",
            Some(altered(&good, |s| {
                let salt = s["salt"]
                    .as_str()
                    .unwrap()
                    .replace("maxnumber=", "maxnumber=1");
                s["salt"] = json!(salt);
            })),
        ),
        (
            "a tampered signature",
            Some(altered(&good, |s| s["signature"] = json!("ab".repeat(32)))),
        ),
        (
            "solved for another network",
            Some(paid(&signed_pow(
                "203.0.113.9",
                1_000,
                std::time::Duration::ZERO,
            ))),
        ),
        ("expired", Some(paid(&signed_pow(client, 100_000, hour)))),
        (
            "easier than needed",
            Some(paid(&signed_pow(client, 10, std::time::Duration::ZERO))),
        ),
    ];
    for (what, pow) in &refusals {
        let reply = send_from(relay, client, "ada@example.com", pow.as_deref()).await;
        assert_pow_required(&reply, what);
    }
    assert_eq!(app.smtp.count(), 0, "no email went");

    // The good one pays for one send, once.
    let sent = send_from(relay, client, "ada@example.com", Some(&good)).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let replayed = send_from(relay, client, "bob@example.com", Some(&good)).await;
    assert_pow_required(&replayed, "a replayed solution");
    // Nothing was counted: the client's second send is still there.
    let second = send_from(
        relay,
        client,
        "cy@example.com",
        Some(&relay.pow_from(client).await),
    )
    .await;
    assert_eq!(second.status, StatusCode::CREATED, "{}", second.text);
    assert_eq!(app.smtp.wait_for(2).len(), 2);

    // A `pow` that is not a solution payload is a wrong proof of work like any other: 428 with
    // a fresh challenge, nothing sent.
    let malformed = send_from(relay, client, "dee@example.com", Some("not base64")).await;
    assert_pow_required(&malformed, "a pow that is not a solution payload");
    assert_eq!(app.smtp.count(), 2, "no email went");
    let logs = relay.logs_once("refusal=\"replayed\"");
    for reason in ["missing", "invalid", "other_network", "expired", "too_easy"] {
        assert!(
            logs.contains(&format!("refusal=\"{reason}\"")),
            "{reason} logged"
        );
    }
}

/// A26: one network's tenth send in the window is asked a far higher `maxnumber` than its
/// first; a surge over `OTP_RELAY_POW_SURGE` raises it for every network, a fresh one included.
#[tokio::test]
async fn a26_a_bot_burst_meets_a_rising_price() {
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_POW", "on"),
        ("OTP_RELAY_TRUST_PROXY", "127.0.0.1"),
        ("OTP_RELAY_POW_BASE", "100"),
        ("OTP_RELAY_POW_SURGE", "30"),
    ]);
    let relay = &app.relay;
    let burst = "198.51.100.20";
    let mut asked = Vec::new();
    for n in 0..10 {
        let (_, challenge) = pow_for(relay, burst).await;
        asked.push(challenge["maxnumber"].as_u64().unwrap());
        let pow = otp_relay::testing::solve_pow(&challenge).unwrap();
        let sent = send_from(relay, burst, &format!("b{n}@example.com"), Some(&pow)).await;
        assert_eq!(sent.status, StatusCode::CREATED, "send {n}: {}", sent.text);
    }
    assert!(asked[9] >= 100 * asked[0], "the tenth send: {asked:?}");
    let (_, fresh) = pow_for(relay, "203.0.113.50").await;
    assert_eq!(fresh["maxnumber"], 100, "another network pays the base");

    // Many networks, three sends each, until the relay's rate passes the surge level.
    for network in 0..7u8 {
        for n in 0..3 {
            let ip = format!("10.{network}.0.1");
            let pow = relay.pow_from(&ip).await;
            let sent = send_from(
                relay,
                &ip,
                &format!("s{network}-{n}@example.com"),
                Some(&pow),
            )
            .await;
            assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
        }
    }
    let (_, surged) = pow_for(relay, "192.0.2.200").await;
    assert!(
        surged["maxnumber"].as_u64().unwrap() >= 16 * 100,
        "a surge raises it for a network that never sent: {surged}"
    );
}
