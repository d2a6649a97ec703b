//! The proof of work a send costs (docs/security.md, requirement 14, A25 and A26): a send pays
//! with a solved challenge, once; every other `pow` is answered 428 with a fresh challenge and
//! leaves nothing counted; a malformed one is a 400 naming the field; the difficulty grows with a
//! network's sends and with a surge over every network.

use super::{ADA, assert_refused, relay_with};
use crate::core::StoreKey;
use crate::testing::{Answer, Caller, InProcessRelay, solve_pow};
use axum::http::{StatusCode, header};
use serde_json::{Value, json};
use std::time::Duration;

const SEND: &str = "/api/v1/challenges";

fn paying(flags: &[&str]) -> InProcessRelay {
    let mut all = vec!["--pow", "on"];
    all.extend_from_slice(flags);
    relay_with(&all)
}

async fn challenge(relay: &InProcessRelay, caller: &Caller) -> Value {
    let answer = relay.get_as(caller, "/api/v1/pow").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.json);
    answer.json
}

/// A send of `email` from `caller` carrying `pow` as it is.
async fn send_with(relay: &InProcessRelay, caller: &Caller, email: &str, pow: Value) -> Answer {
    relay
        .post_as(caller, SEND, &json!({ "email": email, "pow": pow }))
        .await
}

/// base64 of a solution payload, as a client encodes one.
fn encode(solution: &Value) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(solution.to_string())
}

fn decode(pow: &str) -> Value {
    use base64::Engine;
    serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(pow)
            .unwrap(),
    )
    .unwrap()
}

/// A 428 with a fresh challenge that solves, and nothing sent or counted.
#[track_caller]
fn assert_pow_required(answer: &Answer) -> Value {
    assert_refused(answer, StatusCode::PRECONDITION_REQUIRED, "pow_required");
    let fresh = answer.json["error"]["pow"].clone();
    assert_eq!(fresh["algorithm"], "SHA-256", "{}", answer.json);
    assert!(fresh["salt"].as_str().unwrap().ends_with('&'));
    assert!(solve_pow(&fresh).is_some(), "the fresh challenge solves");
    fresh
}

fn client_sends(relay: &InProcessRelay, bucket: &str) -> u64 {
    futures_util::FutureExt::now_or_never(crate::core::store::peek(
        relay.store.as_ref(),
        &StoreKey::ClientSends(bucket.into()),
    ))
    .unwrap()
    .unwrap()
    .value
}

#[tokio::test]
async fn a_solved_challenge_pays_for_one_send_and_is_never_cached() {
    let relay = paying(&[]);
    let caller = Caller::default();
    let answer = relay.get_as(&caller, "/api/v1/pow").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let pow = &answer.json;
    assert_eq!(pow["maxnumber"], 100_000, "the documented base");
    let salt = pow["salt"].as_str().unwrap();
    assert!(salt.contains("?expires=") && salt.ends_with('&'), "{salt}");
    for field in ["challenge", "signature"] {
        assert_eq!(
            pow[field].as_str().unwrap().len(),
            64,
            "{field}: hex SHA-256"
        );
    }

    let solution = solve_pow(pow).unwrap();
    let sent = send_with(&relay, &caller, ADA, json!(solution)).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.json);
    assert_eq!(relay.sent(), 1);

    // Single use: the same solution again, even for another address, pays for nothing.
    let again = send_with(&relay, &caller, "bob@example.com", json!(solution)).await;
    assert_pow_required(&again);
    assert_eq!(relay.sent(), 1);

    // A resend pays too.
    relay.clock.advance(Duration::from_secs(30));
    let token = sent.challenge();
    let unpaid = relay
        .post_as(
            &caller,
            "/api/v1/challenges/resend",
            &json!({ "challenge": token, "email": ADA }),
        )
        .await;
    let fresh = assert_pow_required(&unpaid);
    let resent = relay
        .post_as(
            &caller,
            "/api/v1/challenges/resend",
            &json!({ "challenge": token, "email": ADA, "pow": solve_pow(&fresh).unwrap() }),
        )
        .await;
    assert_eq!(resent.status, StatusCode::OK, "{}", resent.json);
    assert_eq!(relay.sent(), 2);
}

#[tokio::test]
async fn every_unpaid_send_is_428_with_a_fresh_challenge_and_counts_nothing() {
    let relay = paying(&[]);
    let caller = Caller::default();
    let good = decode(&solve_pow(&challenge(&relay, &caller).await).unwrap());
    let stored = relay.store.len();

    let mut bad: Vec<(&str, Value)> = vec![("none", Value::Null)];
    let mut changed = |what: &'static str, change: &dyn Fn(&mut Value)| {
        let mut solution = good.clone();
        change(&mut solution);
        bad.push((what, json!(encode(&solution))));
    };
    changed("another number", &|s| {
        s["number"] = json!(s["number"].as_u64().unwrap() + 1)
    });
    changed("a higher maxnumber in the salt", &|s| {
        let salt = s["salt"]
            .as_str()
            .unwrap()
            .replace("maxnumber=", "maxnumber=9");
        s["salt"] = json!(salt);
    });
    changed("a later expiry in the salt", &|s| {
        let salt = s["salt"].as_str().unwrap().replace("expires=", "expires=9");
        s["salt"] = json!(salt);
    });
    changed("another signature", &|s| {
        s["signature"] = json!("0".repeat(64));
    });
    changed("another algorithm", &|s| s["algorithm"] = json!("SHA-512"));
    for (what, pow) in bad {
        let body = if pow.is_null() {
            json!({ "email": ADA })
        } else {
            json!({ "email": ADA, "pow": pow })
        };
        let answer = relay.post_as(&caller, SEND, &body).await;
        assert_pow_required(&answer);
        assert_eq!(relay.sent(), 0, "{what}: nothing sent");
        assert_eq!(relay.store.len(), stored, "{what}: nothing kept");
        assert_eq!(
            client_sends(&relay, "127.0.0.1"),
            0,
            "{what}: nothing counted"
        );
    }

    // Solved for another network: a client elsewhere cannot spend it.
    let elsewhere = Caller::at("198.51.100.9");
    let answer = send_with(&relay, &elsewhere, ADA, json!(encode(&good))).await;
    assert_pow_required(&answer);
    // The same network (a /24) may: a person's address can change within it.
    let neighbour = Caller::at("127.0.0.99");
    let answer = send_with(&relay, &neighbour, ADA, json!(encode(&good))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);

    // Expired: a challenge lives ten minutes.
    let old = solve_pow(&challenge(&relay, &caller).await).unwrap();
    relay.clock.advance(Duration::from_secs(600));
    let answer = send_with(&relay, &caller, "cy@example.com", json!(old)).await;
    assert_pow_required(&answer);
    assert_eq!(relay.sent(), 1);
}

/// A `pow` that is a string but not base64 of a solution payload is a wrong proof of work like
/// any other: 428 with a fresh challenge the client can solve, never a dead end (a document that
/// calls every string valid must not meet a refusal as malformed). One that is not a string is
/// a body of the wrong shape: 400 naming the field.
#[tokio::test]
async fn a_pow_that_is_not_a_solution_payload_gets_a_fresh_challenge() {
    use base64::Engine;
    let relay = paying(&[]);
    let caller = Caller::default();
    let b64 = |text: &str| base64::engine::general_purpose::STANDARD.encode(text);
    let garbled = [
        String::new(),
        "not base64!".into(),
        b64("not json"),
        b64(r#"{"algorithm":"SHA-256"}"#),
        b64(r#"{"algorithm":"SHA-256","challenge":"a","number":"1","salt":"s&","signature":"b"}"#),
    ];
    for (paid_before, pow) in garbled.iter().enumerate() {
        let answer = send_with(&relay, &caller, ADA, json!(pow)).await;
        let fresh = assert_pow_required(&answer);
        assert_eq!(relay.sent(), paid_before, "{pow:?}: nothing sent");
        let paid = send_with(
            &relay,
            &caller,
            "bob@example.com",
            json!(solve_pow(&fresh).unwrap()),
        );
        let paid = paid.await;
        assert_eq!(paid.status, StatusCode::CREATED, "{pow:?}: {}", paid.json);
        relay.clock.advance(std::time::Duration::from_secs(15 * 60));
    }
    for pow in [json!(12), json!({ "number": 1 })] {
        let answer = relay.post(SEND, &json!({ "email": ADA, "pow": pow })).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(message.contains("\"pow\""), "{pow}: {message}");
    }
}

#[tokio::test]
async fn altchas_took_member_is_ignored() {
    let relay = paying(&[]);
    let caller = Caller::default();
    let mut solution = decode(&solve_pow(&challenge(&relay, &caller).await).unwrap());
    solution["took"] = json!(42);
    let answer = send_with(&relay, &caller, ADA, json!(encode(&solution))).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
}

#[tokio::test]
async fn a_network_that_sends_a_lot_is_asked_far_more() {
    // A small base keeps the test quick; the factors are the point.
    let relay = paying(&["--pow-base", "50"]);
    let caller = Caller::default();
    let mut asked = Vec::new();
    for n in 0..10 {
        let pow = challenge(&relay, &caller).await;
        asked.push(pow["maxnumber"].as_u64().unwrap());
        let email = format!("user{n}@example.com");
        let answer = send_with(&relay, &caller, &email, json!(solve_pow(&pow).unwrap())).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "send {n}: {}",
            answer.json
        );
    }
    // A code and a resend, or a second address, cost no more than the first.
    assert_eq!(&asked[..3], &[50, 50, 50]);
    assert_eq!(asked[9], 50 * 128, "the tenth send: {asked:?}");
    assert!(asked.windows(2).all(|w| w[0] <= w[1]), "{asked:?}");

    // Another network is not affected.
    let other = challenge(&relay, &Caller::at("203.0.113.5")).await;
    assert_eq!(other["maxnumber"], 50);

    // A solution made at an easier level than now required is refused, with the harder one.
    let easy = Caller::at("192.0.2.10");
    let early = solve_pow(&challenge(&relay, &easy).await).unwrap();
    for n in 0..4 {
        relay
            .issue_as(&easy, &format!("early{n}@example.com"))
            .await;
    }
    let answer = send_with(&relay, &easy, ADA, json!(early)).await;
    let fresh = assert_pow_required(&answer);
    assert!(fresh["maxnumber"].as_u64().unwrap() > 50, "{fresh}");

    // The window over (the in-memory store's sketches forget in slots of a fifth of it), the
    // network is back at the base.
    relay.clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(challenge(&relay, &caller).await["maxnumber"], 50);
}

#[tokio::test]
async fn a_surge_over_every_network_raises_it_for_everyone_while_it_lasts() {
    let relay = paying(&["--pow-base", "50", "--pow-surge", "4"]);
    for n in 0..5 {
        let caller = Caller::at(&format!("10.0.{n}.1"));
        let answer = relay.issue_as(&caller, &format!("s{n}@example.com")).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    }
    // Five sends in the minute against a level of four: sixteen times the work, for a network
    // that never sent anything.
    let newcomer = Caller::at("198.51.100.1");
    assert_eq!(challenge(&relay, &newcomer).await["maxnumber"], 50 * 16);
    relay.clock.advance(Duration::from_secs(60));
    assert_eq!(challenge(&relay, &newcomer).await["maxnumber"], 50);
}

#[tokio::test]
async fn exempt_networks_and_a_relay_with_it_off_need_none() {
    for flags in [&["--pow-exempt", "127.0.0.0/8"][..], &["--pow", "off"][..]] {
        let relay = relay_with(flags);
        let answer = relay.post(SEND, &json!({ "email": ADA })).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{flags:?}: {}",
            answer.json
        );
    }
    // Exempt is only what is listed.
    let relay = paying(&["--pow-exempt", "10.0.0.0/8"]);
    let answer = relay.post(SEND, &json!({ "email": ADA })).await;
    assert_pow_required(&answer);
}

#[tokio::test]
async fn the_refusal_is_worded_in_the_requesters_language() {
    let relay = paying(&[]);
    let answer = relay
        .post(SEND, &json!({ "email": ADA, "lang": "de" }))
        .await;
    assert_pow_required(&answer);
    let message = answer.json["error"]["message"].as_str().unwrap();
    assert_eq!(
        message,
        otp_relay_shared::Catalogue::of(otp_relay_shared::Lang::De)
            .text("refusal.pow_required", &[])
    );
}
