//! Time on a manual clock: a code's lifetime, the resend cooldown and its count, the send limits
//! per address and per client with their windows, and the proof's lifetime. Nothing sleeps.

use super::{assert_refused, relay, relay_with};
use crate::core::Clock;
use crate::core::clock::rfc3339;
use axum::http::StatusCode;
use std::time::Duration;

use super::ADA;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test]
async fn a_code_lives_exactly_its_lifetime() {
    let relay = relay();
    let start = relay.clock.now().secs();
    let issued = relay.issue(ADA).await;
    assert_eq!(issued.json["expires_at"], rfc3339(start + 300));
    let code = relay.last_code(ADA).unwrap();
    relay.clock.advance(secs(299));
    let (other, other_code) = (issued.challenge(), code.clone());
    assert_eq!(
        relay.verify(&other, ADA, &other_code).await.status,
        StatusCode::OK
    );

    let issued = relay.issue("bob@example.com").await;
    let code = relay.last_code("bob@example.com").unwrap();
    relay.clock.advance(secs(300));
    let answer = relay
        .verify(&issued.challenge(), "bob@example.com", &code)
        .await;
    assert_refused(&answer, StatusCode::GONE, "expired");
    let resend = relay.resend(&issued.challenge(), "bob@example.com").await;
    assert_refused(&resend, StatusCode::GONE, "expired");
}

#[tokio::test]
async fn a_configured_lifetime_is_kept_and_the_email_says_it() {
    let relay = relay_with(&["--ttl", "90s"]);
    let issued = relay.issue(ADA).await;
    let code = relay.last_code(ADA).unwrap();
    let text = &relay.outbox.entries()[0].text;
    assert!(text.contains("It expires in 1 min 30 s."), "{text}");
    relay.clock.advance(secs(90));
    let answer = relay.verify(&issued.challenge(), ADA, &code).await;
    assert_eq!(answer.error_code(), "expired");
}

#[tokio::test]
async fn resends_wait_for_the_cooldown_send_the_same_code_and_run_out() {
    let relay = relay();
    let start = relay.clock.now().secs();
    let issued = relay.issue(ADA).await;
    assert_eq!(issued.json["resend_at"], rfc3339(start + 30));
    assert_eq!(issued.json["sends_left"], 2);
    let challenge = issued.challenge();
    let code = relay.last_code(ADA).unwrap();

    relay.clock.advance(secs(20));
    let early = relay.resend(&challenge, ADA).await;
    assert_refused(&early, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(early.json["error"]["retry_after"], 10);
    assert_eq!(early.headers["retry-after"], "10");

    relay.clock.advance(secs(10));
    let resent = relay.resend(&challenge, ADA).await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.json);
    assert_eq!(resent.json["sends_left"], 1);
    assert_eq!(resent.json["expires_at"], issued.json["expires_at"]);
    assert_eq!(resent.json["attempts_left"], 3);
    assert_eq!(resent.json["resend_at"], rfc3339(start + 60));
    assert_eq!(relay.last_code(ADA).unwrap(), code, "the same code again");
    assert_eq!(relay.sent(), 2);

    relay.clock.advance(secs(30));
    assert_eq!(relay.resend(&challenge, ADA).await.json["sends_left"], 0);
    relay.clock.advance(secs(30));
    let none_left = relay.resend(&challenge, ADA).await;
    assert_refused(&none_left, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(relay.sent(), 3);

    // The first token still verifies with the one code.
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_resend_that_cannot_be_delivered_costs_nothing() {
    let relay = relay();
    let issued = relay.issue(ADA).await;
    relay.clock.advance(secs(30));
    relay.delivery.fail(true);
    let failed = relay.resend(&issued.challenge(), ADA).await;
    assert_refused(&failed, StatusCode::BAD_GATEWAY, "delivery_failed");
    relay.delivery.fail(false);
    let resent = relay.resend(&issued.challenge(), ADA).await;
    assert_eq!(
        resent.status,
        StatusCode::OK,
        "no new cooldown, no send used"
    );
    assert_eq!(resent.json["sends_left"], 1);
}

#[tokio::test]
async fn sends_per_address_are_limited_per_window() {
    let relay = relay();
    for _ in 0..5 {
        assert_eq!(relay.issue(ADA).await.status, StatusCode::CREATED);
    }
    relay.clock.advance(secs(60));
    let sixth = relay.issue("ADA@example.com").await;
    assert_refused(&sixth, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // The sends fell in the quarter-window slot 10:00:00-10:03:45, which stops counting a whole
    // window after it ends: at 10:18:45, 1,065 s from now.
    assert_eq!(sixth.json["error"]["retry_after"], 1065);
    assert_eq!(relay.sent(), 5);
    assert_eq!(
        relay.issue("bob@example.com").await.status,
        StatusCode::CREATED
    );
    relay.clock.advance(secs(1064));
    assert_eq!(
        relay.issue(ADA).await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "never before"
    );
    relay.clock.advance(secs(1));
    assert_eq!(relay.issue(ADA).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn sends_per_client_are_limited_per_window() {
    let relay = relay();
    for n in 0..20 {
        let answer = relay.issue(&format!("p{n}@example.com")).await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let over = relay.issue("p20@example.com").await;
    assert_refused(&over, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(
        over.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("your network")
    );
    assert_eq!(over.json["error"]["retry_after"], 1125);
    relay.clock.advance(secs(1124));
    assert_eq!(
        relay.issue("p20@example.com").await.status,
        StatusCode::TOO_MANY_REQUESTS,
        "never before"
    );
    relay.clock.advance(secs(1));
    assert_eq!(
        relay.issue("p20@example.com").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn the_failure_budget_reopens_when_its_window_ends() {
    let relay = relay_with(&["--failures-per-address", "2/1h"]);
    let (held, held_code) = relay.challenge_and_code(ADA).await.unwrap();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    for _ in 0..2 {
        relay.verify(&challenge, ADA, &super::wrong(&code)).await;
    }
    // Failures counted in the slot 10:00-10:15 count until 11:15.
    let locked = relay.verify(&held, ADA, &held_code).await;
    assert_eq!(locked.error_code(), "too_many_attempts");
    assert_eq!(locked.json["error"]["retry_after"], 4500);
    let refused = relay.issue(ADA).await;
    assert_eq!(refused.error_code(), "rate_limited");
    assert_eq!(refused.json["error"]["retry_after"], 4500);
    relay.clock.advance(secs(4499));
    assert_eq!(relay.issue(ADA).await.error_code(), "rate_limited");
    relay.clock.advance(secs(1));
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    assert_eq!(
        relay.verify(&challenge, ADA, &code).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_proof_lives_its_configured_lifetime_from_the_clock() {
    let relay = relay_with(&["--proof-ttl", "4s"]);
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    relay.clock.advance(secs(42));
    let now = relay.clock.now().secs();
    let answer = relay.verify(&challenge, ADA, &code).await;
    assert_eq!(answer.json["proof_expires_at"], rfc3339(now + 4));
    let claims = super::claims(answer.json["proof"].as_str().unwrap());
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["exp"], now + 4);
}
