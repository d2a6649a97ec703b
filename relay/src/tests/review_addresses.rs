//! Review addresses (`OTP_RELAY_REVIEW_ADDRESSES`): no email, the listed code verifies, and
//! every other rule holds as for anyone: attempts, expiry, site binding, single use, limits.
//! Their proofs, and only theirs, carry `review: true`.

use super::{ADA, assert_refused, claims, relay_with, wrong};
use crate::testing::Caller;
use axum::http::StatusCode;
use std::time::Duration;

const REVIEWER: &str = "review@example.com";
const LISTED: &str = "246810";
const SHOP: &str = "https://shop.example";

fn listed() -> String {
    format!("{REVIEWER}:{LISTED}")
}

fn review_relay() -> crate::testing::InProcessRelay {
    relay_with(&["--review-addresses", &listed()])
}

#[tokio::test]
async fn a_review_address_gets_no_email_and_its_listed_code_verifies_once() {
    let relay = review_relay();
    let issued = relay.issue("Review@Example.com").await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.json);
    assert_eq!(relay.sent(), 0, "no email for a review address");
    let challenge = issued.challenge();

    let verified = relay.verify(&challenge, REVIEWER, LISTED).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.json);
    let proof = claims(verified.json["proof"].as_str().unwrap());
    assert_eq!(proof["review"], true, "{proof}");
    assert_eq!(proof["email"], REVIEWER);

    let again = relay.verify(&challenge, REVIEWER, LISTED).await;
    assert_refused(&again, StatusCode::CONFLICT, "already_used");

    // Anyone else: an email with a derived code, and a proof without the claim.
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    assert_eq!(relay.sent(), 1);
    assert_ne!(code, LISTED);
    let verified = relay.verify(&challenge, ADA, &code).await;
    let proof = claims(verified.json["proof"].as_str().unwrap());
    assert!(proof.get("review").is_none(), "{proof}");
    // The listed code is not a master key: another address's challenge refuses it.
    let (other, _) = relay.challenge_and_code("bob@example.com").await.unwrap();
    let refused = relay.verify(&other, "bob@example.com", LISTED).await;
    assert_refused(&refused, StatusCode::UNPROCESSABLE_ENTITY, "wrong_code");
}

#[tokio::test]
async fn a_review_address_keeps_the_attempt_budget_and_the_expiry() {
    let relay = review_relay();
    let challenge = relay.issue(REVIEWER).await.challenge();
    for left in [2, 1] {
        let answer = relay.verify(&challenge, REVIEWER, &wrong(LISTED)).await;
        assert_refused(&answer, StatusCode::UNPROCESSABLE_ENTITY, "wrong_code");
        assert_eq!(answer.json["error"]["attempts_left"], left);
    }
    let last = relay.verify(&challenge, REVIEWER, &wrong(LISTED)).await;
    assert_refused(&last, StatusCode::UNPROCESSABLE_ENTITY, "wrong_code");
    let after = relay.verify(&challenge, REVIEWER, LISTED).await;
    assert_refused(&after, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");

    let challenge = relay.issue(REVIEWER).await.challenge();
    relay.clock.advance(Duration::from_secs(5 * 60));
    let expired = relay.verify(&challenge, REVIEWER, LISTED).await;
    assert_refused(&expired, StatusCode::GONE, "expired");
    assert_eq!(relay.sent(), 0);
}

#[tokio::test]
async fn a_review_address_keeps_the_site_binding_and_the_send_limits() {
    let relay = relay_with(&["--review-addresses", &listed(), "--allowed-origins", SHOP]);
    let shop = Caller::default().from_site(SHOP);
    let issued = relay.issue_as(&shop, REVIEWER).await;
    assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.json);
    let elsewhere = relay
        .verify_as(&Caller::default(), &issued.challenge(), REVIEWER, LISTED)
        .await;
    assert_refused(&elsewhere, StatusCode::BAD_REQUEST, "invalid_challenge");
    let verified = relay
        .verify_as(&shop, &issued.challenge(), REVIEWER, LISTED)
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.json);
    assert_eq!(
        claims(verified.json["proof"].as_str().unwrap())["aud"],
        SHOP
    );

    // Five sends to one mailbox from one network in 15 minutes, as for anyone.
    for n in 2..=5 {
        let answer = relay.issue_as(&shop, REVIEWER).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "send {n}: {}",
            answer.json
        );
    }
    let sixth = relay.issue_as(&shop, REVIEWER).await;
    assert_refused(&sixth, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(relay.sent(), 0);
}

#[tokio::test]
async fn a_review_address_pays_the_proof_of_work() {
    let relay = relay_with(&["--review-addresses", &listed(), "--pow", "on"]);
    let unpaid = relay
        .post(
            "/api/v1/challenges",
            &serde_json::json!({ "email": REVIEWER }),
        )
        .await;
    assert_refused(&unpaid, StatusCode::PRECONDITION_REQUIRED, "pow_required");
    let paid = relay.issue(REVIEWER).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.json);
}
