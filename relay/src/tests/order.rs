//! The verification order of docs/security.md: code format → token integrity and address
//! binding → used → expired (an older store epoch included) → attempts and the address's failure
//! budget counted → constant-time comparison → proof. Each test puts two refusals in conflict
//! and shows which one wins, and that refusals before the count use no attempt.

use super::{assert_refused, relay, wrong};
use axum::http::StatusCode;
use std::time::Duration;

use super::ADA;

#[tokio::test]
async fn the_code_format_is_checked_before_the_token() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    let answer = relay.verify("not-a-token", ADA, "12a456").await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_code_format");
    for bad in ["", "12345", "1234567", "１２３４５６", " 123456"] {
        let answer = relay.verify(&challenge, ADA, bad).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_code_format");
    }
    // None of these used an attempt: the right code still verifies.
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn integrity_and_address_are_checked_before_use_and_use_no_attempt() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    let mut altered = challenge.clone().into_bytes();
    let last = altered.len() - 1;
    altered[last] = if altered[last] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).unwrap();
    for _ in 0..5 {
        let answer = relay.verify(&altered, ADA, &code).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_challenge");
        let answer = relay.verify(&challenge, "bob@example.com", &code).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_challenge");
    }
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
    // Once used, a forged token is still invalid, not "used".
    let answer = relay.verify(&altered, ADA, &code).await;
    assert_eq!(answer.error_code(), "invalid_challenge");
}

#[tokio::test]
async fn used_is_checked_before_expired() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
    // Past the code's lifetime, within the used mark's margin: still "used", not "expired".
    relay.clock.advance(Duration::from_secs(330));
    let answer = relay.verify(&challenge, ADA, &code).await;
    assert_refused(&answer, StatusCode::CONFLICT, "already_used");
}

#[tokio::test]
async fn expired_is_checked_before_attempts_and_costs_no_budget() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    relay.clock.advance(Duration::from_secs(300));
    // More wrong codes than the address's failure budget: all "expired", none counted.
    for _ in 0..12 {
        let answer = relay.verify(&challenge, ADA, &wrong(&code)).await;
        assert_refused(&answer, StatusCode::GONE, "expired");
    }
    let (fresh, fresh_code) = relay.challenge_and_code(ADA).await.unwrap();
    assert_eq!(
        relay.verify(&fresh, ADA, &fresh_code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_token_from_an_earlier_store_is_expired_even_with_the_same_key() {
    let before_restart = relay();
    let (challenge, code) = before_restart.challenge_and_code(ADA).await.unwrap();
    let after_restart = relay();
    let answer = after_restart.verify(&challenge, ADA, &code).await;
    assert_refused(&answer, StatusCode::GONE, "expired");
    assert!(
        answer.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restarted")
    );
}

#[tokio::test]
async fn attempts_are_counted_before_comparing_so_the_right_code_comes_too_late() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    for left in [2, 1, 0] {
        let answer = relay.verify(&challenge, ADA, &wrong(&code)).await;
        assert_refused(&answer, StatusCode::UNPROCESSABLE_ENTITY, "wrong_code");
        assert_eq!(answer.json["error"]["attempts_left"], left);
    }
    let answer = relay.verify(&challenge, ADA, &code).await;
    assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let resend = relay.resend(&challenge, ADA).await;
    assert_eq!(resend.error_code(), "too_many_attempts");
}

#[tokio::test]
async fn parallel_guesses_never_exceed_the_attempts() {
    let relay = std::sync::Arc::new(relay());
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    let guesses: Vec<_> = (0..32)
        .map(|_| {
            let relay = std::sync::Arc::clone(&relay);
            let challenge = challenge.clone();
            let guess = wrong(&code);
            tokio::spawn(async move { relay.verify(&challenge, ADA, &guess).await })
        })
        .collect();
    let mut judged = 0;
    for guess in guesses {
        let answer = guess.await.unwrap();
        match answer.error_code() {
            "wrong_code" => judged += 1,
            "too_many_attempts" => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(judged, 3);
}

#[tokio::test]
async fn the_address_budget_spans_challenges_and_a_right_code_is_not_a_failure() {
    let relay = relay_with_sends();
    // 1 right code after a wrong one: the wrong one counts, the right one does not.
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    relay.verify(&challenge, ADA, &wrong(&code)).await;
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
    // A challenge issued while the budget still had room.
    let (held, held_code) = relay.challenge_and_code(ADA).await.unwrap();
    // 9 more wrong codes over three challenges spend the budget of 10.
    for _ in 0..3 {
        let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
        for _ in 0..3 {
            assert_eq!(
                relay
                    .verify(&challenge, ADA, &wrong(&code))
                    .await
                    .error_code(),
                "wrong_code"
            );
        }
    }
    // New codes are refused (A17), and the right code of the one issued before is refused too.
    let sent = relay.sent();
    let refused = relay.issue(ADA).await;
    assert_refused(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(relay.sent(), sent, "no message");
    let answer = relay.verify(&held, ADA, &held_code).await;
    assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    for answer in [&refused, &answer] {
        // The failures fell in the quarter-hour slot that began at 10:00: they count until 11:15.
        let retry_after = answer.json["error"]["retry_after"].as_u64().unwrap();
        assert_eq!(retry_after, 4500);
        assert_eq!(
            answer.headers["retry-after"].to_str().unwrap(),
            retry_after.to_string()
        );
    }
    // Another address is not affected.
    let (other, other_code) = relay.challenge_and_code("bob@example.com").await.unwrap();
    assert_eq!(
        relay
            .verify(&other, "bob@example.com", &other_code)
            .await
            .status,
        StatusCode::OK
    );
}

/// Enough sends per address for the budget tests to need many challenges.
fn relay_with_sends() -> crate::testing::InProcessRelay {
    super::relay_with(&[
        "--sends-per-address",
        "50/15m",
        "--sends-per-address-total",
        "100/15m",
    ])
}

#[tokio::test]
async fn the_right_code_verifies_once_and_names_the_normalised_address() {
    let relay = relay();
    let issued = relay.issue("Ada@Example.COM").await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.json);
    assert_eq!(issued.json["email"], ADA);
    let code = relay.last_code(ADA).unwrap();
    let answer = relay
        .verify(&issued.challenge(), " ada@example.com ", &code)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    assert_eq!(answer.json["verified"], true);
    assert_eq!(answer.json["email"], ADA);
    let again = relay.verify(&issued.challenge(), ADA, &code).await;
    assert_refused(&again, StatusCode::CONFLICT, "already_used");
}
