//! A stranger cannot lock a person out (docs/security.md, A27): a mailbox's failure budget and
//! its sends are shared out per client network, so whoever spends them from one network spends
//! their own share; the mailbox's total over every network is higher, and a person it stops is
//! told why and for how long.

use super::{ADA, assert_refused, relay_with, wrong};
use crate::testing::{Caller, InProcessRelay};
use axum::http::StatusCode;

/// The attacker's network, and the victim's, as a trusted proxy reports them.
fn behind_proxy(client: &str) -> Caller {
    Caller::at("10.0.0.1").forwarding(client)
}

fn proxied_relay(flags: &[&str]) -> InProcessRelay {
    let mut all = vec!["--trust-proxy", "10.0.0.0/8"];
    all.extend_from_slice(flags);
    relay_with(&all)
}

/// Issues a challenge to `email` from `caller`: its token and the code from the outbox.
async fn issued(relay: &InProcessRelay, caller: &Caller, email: &str) -> (String, String) {
    let answer = relay.issue_as(caller, email).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    (answer.challenge(), relay.last_code(email).unwrap())
}

/// The owner of [`ADA`], from `caller`'s network, gets a code and verifies it.
async fn owner_verifies(relay: &InProcessRelay, caller: &Caller) {
    let (challenge, code) = issued(relay, caller, ADA).await;
    let verified = relay.verify_as(caller, &challenge, ADA, &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.json);
}

/// Issues a challenge to `email` from `caller` and spends every attempt on it with wrong codes;
/// answers the last refusal.
async fn spend_attempts(relay: &InProcessRelay, caller: &Caller, email: &str) -> String {
    let (challenge, code) = issued(relay, caller, email).await;
    let mut last = String::new();
    for _ in 0..3 {
        let answer = relay
            .verify_as(caller, &challenge, email, &wrong(&code))
            .await;
        last = answer.error_code().to_string();
    }
    last
}

#[tokio::test]
async fn a_stranger_spending_a_mailboxs_failures_and_sends_does_not_stop_its_owner() {
    let relay = proxied_relay(&[]);
    let attacker = behind_proxy("203.0.113.9");
    let victim = behind_proxy("198.51.100.7");
    // The review's reproduction: four `+tag` spellings of one mailbox, ten wrong codes and more.
    for tag in 1..=4 {
        spend_attempts(&relay, &attacker, &format!("ada+x{tag}@example.com")).await;
    }
    // The attacker's own share is spent: refused from there, with a time.
    let refused = relay.issue_as(&attacker, "ada+x5@example.com").await;
    assert_refused(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let message = refused.json["error"]["message"].as_str().unwrap();
    assert!(message.contains("from your network"), "{message}");
    assert!(refused.json["error"]["retry_after"].as_u64().unwrap() > 3000);
    // The owner, from their own network, gets a code and verifies.
    owner_verifies(&relay, &victim).await;
}

#[tokio::test]
async fn a_stranger_spending_a_mailboxs_sends_does_not_stop_its_owner_getting_a_code() {
    let relay = proxied_relay(&[]);
    let attacker = behind_proxy("203.0.113.9");
    let victim = behind_proxy("198.51.100.7");
    for tag in 1..=5 {
        let issued = relay
            .issue_as(&attacker, &format!("ada+s{tag}@example.com"))
            .await;
        assert_eq!(issued.status, StatusCode::CREATED);
    }
    // Another address in the attacker's /24 is the same network.
    let refused = relay
        .issue_as(&behind_proxy("203.0.113.200"), "ada+s6@example.com")
        .await;
    assert_refused(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    owner_verifies(&relay, &victim).await;
    assert_eq!(relay.sent(), 6, "five for the attacker, one for the owner");
}

#[tokio::test]
async fn the_mailbox_total_holds_over_many_networks_and_says_how_long() {
    // Two failures per network, five in all: the third network's second failure is over the
    // total, and from then on every network, the owner's included, is told to wait.
    let relay = proxied_relay(&[
        "--failures-per-address",
        "2/1h",
        "--failures-per-address-total",
        "5/1h",
    ]);
    let owner = behind_proxy("198.51.100.7");
    let (held, held_code) = issued(&relay, &owner, ADA).await;
    let mut judged = 0;
    for network in 1..=3 {
        let caller = behind_proxy(&format!("203.0.{network}.9"));
        let (challenge, code) = issued(&relay, &caller, ADA).await;
        for _ in 0..2 {
            let answer = relay
                .verify_as(&caller, &challenge, ADA, &wrong(&code))
                .await;
            if answer.error_code() == "wrong_code" {
                judged += 1;
            }
        }
    }
    assert_eq!(judged, 5, "exactly the total was judged");
    // The owner is told, for their code and for a new one, why and for how long.
    let locked = relay.verify_as(&owner, &held, ADA, &held_code).await;
    assert_refused(&locked, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    let message = locked.json["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with("Too many wrong codes for this address."),
        "{message}"
    );
    assert!(locked.json["error"]["retry_after"].as_u64().unwrap() >= 3600);
    let refused = relay.issue_as(&owner, ADA).await;
    assert_refused(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    let retry_after = refused.json["error"]["retry_after"].as_u64().unwrap();
    assert!((3600..=4500).contains(&retry_after), "{retry_after}");
    assert_eq!(
        refused.headers["retry-after"].to_str().unwrap(),
        retry_after.to_string()
    );
}

#[tokio::test]
async fn sends_to_one_mailbox_stop_at_the_total_over_all_networks() {
    let relay = proxied_relay(&["--sends-per-address-total", "7/15m"]);
    let mut sent = 0;
    for network in 1..=3 {
        let caller = behind_proxy(&format!("203.0.{network}.9"));
        for _ in 0..5 {
            if relay.issue_as(&caller, ADA).await.status == StatusCode::CREATED {
                sent += 1;
            }
        }
    }
    assert_eq!(sent, 7);
    assert_eq!(relay.sent(), 7, "no inbox gets more than the total");
    let refused = relay.issue_as(&behind_proxy("198.51.100.7"), ADA).await;
    assert_refused(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(
        refused.json["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Too many codes were sent to this address."),
        "{}",
        refused.json
    );
}

#[tokio::test]
async fn from_one_network_the_budgets_are_as_before() {
    // A1 and A17 from one network: after the share of wrong codes, the right code is refused and
    // so is a new send.
    let relay = relay_with(&["--failures-per-address", "3/1h"]);
    let (held, held_code) = relay.challenge_and_code(ADA).await.unwrap();
    assert_eq!(
        spend_attempts(&relay, &Caller::default(), "ada+1@example.com").await,
        "wrong_code"
    );
    let refused = relay.verify(&held, ADA, &held_code).await;
    assert_refused(&refused, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");
    assert_refused(
        &relay.issue(ADA).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    );
}
