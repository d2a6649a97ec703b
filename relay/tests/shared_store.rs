//! Several relays, one Redis: what one relay issues, another verifies, and the limits, attempts
//! and single use hold across them. Real `redis-server` processes and real relay binaries.

use otp_relay_tests::*;
use reqwest::StatusCode;
use std::time::{Duration, Instant};

/// Two relays in development mode on one Redis (each has its own outbox).
fn two_relays(redis: &RedisServer) -> (RelayProcess, RelayProcess) {
    let env = vec![("OTP_RELAY_STORE".to_string(), redis.url())];
    (RelayProcess::dev(&env), RelayProcess::dev(&env))
}

/// Issues a code on `relay` for `email`: the challenge and the code from its outbox.
async fn issue(relay: &RelayProcess, email: &str) -> (String, String) {
    let reply = relay.issue(email).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let entry = relay
        .outbox()
        .await
        .into_iter()
        .find(|entry| entry["to"] == email)
        .expect("a message");
    (challenge_of(&reply.json), outbox_code(&entry))
}

/// `n` verifies of the same challenge and code at once, alternating between `relays`; their
/// answers' error codes ("" for a success).
async fn verify_in_parallel(
    relays: [RelayProcess; 2],
    n: usize,
    challenge: &str,
    email: &str,
    code: &str,
) -> Vec<String> {
    let relays = relays.map(std::sync::Arc::new);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let relay = std::sync::Arc::clone(&relays[i % 2]);
            let (challenge, email, code) =
                (challenge.to_string(), email.to_string(), code.to_string());
            tokio::spawn(async move {
                relay
                    .verify(&challenge, &email, &code)
                    .await
                    .error_code()
                    .to_string()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn a_code_issued_by_one_relay_verifies_once_on_another() {
    let redis = RedisServer::start();
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "ada@example.com").await;
    let verified = b.verify(&challenge, "ada@example.com", &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    for relay in [&a, &b] {
        let again = relay.verify(&challenge, "ada@example.com", &code).await;
        assert_eq!(again.error_code(), "already_used", "{}", again.text);
    }
}

#[tokio::test]
async fn attempts_and_send_limits_are_one_budget_across_relays() {
    let redis = RedisServer::start();
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "bob@example.com").await;
    for (n, relay) in [&a, &b, &a].into_iter().enumerate() {
        let reply = relay
            .verify(&challenge, "bob@example.com", &wrong_code(&code))
            .await;
        assert_eq!(reply.error_code(), "wrong_code");
        assert_eq!(reply.json["error"]["attempts_left"], 2 - n);
    }
    let right = b.verify(&challenge, "bob@example.com", &code).await;
    assert_eq!(right.error_code(), "too_many_attempts", "{}", right.text);

    // Five sends to one mailbox, alternating relays; the sixth is refused on either.
    for n in 0..5 {
        let relay = if n % 2 == 0 { &a } else { &b };
        assert_eq!(
            relay.issue("cy@example.com").await.status,
            StatusCode::CREATED
        );
    }
    let sixth = b.issue("cy@example.com").await;
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        sixth.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_right_codes_over_two_relays_verify_exactly_once() {
    let redis = RedisServer::start();
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "dee@example.com").await;
    let answers = verify_in_parallel([a, b], 16, &challenge, "dee@example.com", &code).await;
    let ok = answers.iter().filter(|code| code.is_empty()).count();
    for answer in &answers {
        assert!(
            ["", "already_used", "too_many_attempts"].contains(&answer.as_str()),
            "{answer}"
        );
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn a_restarted_relay_still_verifies_its_outstanding_codes() {
    let redis = RedisServer::start();
    let (mut a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "eve@example.com").await;
    a.restart();
    let verified = a.verify(&challenge, "eve@example.com", &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    drop(b);
}

#[tokio::test]
async fn redis_down_is_503_fast_and_back_empty_refuses_what_came_before() {
    let mut redis = RedisServer::start();
    let (a, _b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "fay@example.com").await;

    redis.stop();
    let started = Instant::now();
    let down = a.verify(&challenge, "fay@example.com", &code).await;
    assert_eq!(down.error_code(), "unavailable", "{}", down.text);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let ready = a
        .client
        .get(format!("{}/readyz", a.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(a.healthy().await, "the process itself still serves");

    // Redis comes back empty: the relay recovers by itself, and the earlier challenge (whose
    // used mark and attempts would be gone) is refused.
    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = a.verify(&challenge, "fay@example.com", &code).await;
        if reply.error_code() != "unavailable" {
            assert_eq!(reply.error_code(), "expired", "{}", reply.text);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not back within 15 s: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (fresh, fresh_code) = issue(&a, "fay2@example.com").await;
    assert_eq!(
        a.verify(&fresh, "fay2@example.com", &fresh_code)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_codes_over_two_relays_are_judged_exactly_three_times() {
    let redis = RedisServer::start();
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "gil@example.com").await;
    let answers = verify_in_parallel(
        [a, b],
        64,
        &challenge,
        "gil@example.com",
        &wrong_code(&code),
    )
    .await;
    for answer in &answers {
        assert!(
            ["wrong_code", "too_many_attempts"].contains(&answer.as_str()),
            "{answer}"
        );
    }
    let judged = answers.iter().filter(|code| *code == "wrong_code").count();
    assert_eq!(judged, 3);
    let third = RelayProcess::dev(&[("OTP_RELAY_STORE".to_string(), redis.url())]);
    let right = third.verify(&challenge, "gil@example.com", &code).await;
    assert_eq!(right.error_code(), "too_many_attempts");
}
