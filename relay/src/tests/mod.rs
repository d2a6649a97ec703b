//! The in-process tier: the whole router without a socket, on a manual clock, with the
//! development outbox. Every rule of the flow is shown here in milliseconds: the verification
//! order ([`order`]), every API error code ([`codes`]), expiry, windows and budgets
//! ([`windows`]), budgets shared out per network ([`lockout`]), the proof of work a send costs
//! ([`pow`]), what a security review found ([`review`]), review addresses ([`review_addresses`]),
//! and the email's link ([`links`]). The black-box tier (`relay/tests/`, `tests/`) keeps what only a real binary, a
//! real mail server or a real browser can show.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod codes;
mod links;
mod lockout;
mod order;
mod parsers;
mod pow;
mod redis_memory;
mod review;
mod review_addresses;
mod windows;
mod words;

use crate::testing::{Answer, InProcessRelay};
use axum::http::StatusCode;

/// The address most tests use.
const ADA: &str = "ada@example.com";

/// A relay on the test defaults: the documented policy, a fixed key.
fn relay() -> InProcessRelay {
    relay_with(&[])
}

fn relay_with(flags: &[&str]) -> InProcessRelay {
    let secret = format!("k1:{}A", "C".repeat(42));
    let mut all = vec!["--secret", secret.as_str()];
    all.extend_from_slice(flags);
    InProcessRelay::new(&all).unwrap()
}

/// The claims of a proof (its signature is checked in the black-box tier).
fn claims(proof: &str) -> serde_json::Value {
    use base64::Engine;
    let payload = proof.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

/// A code that is not `code` (every digit moved by one).
fn wrong(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

#[track_caller]
fn assert_refused(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(
        (answer.status, answer.error_code()),
        (status, code),
        "{}",
        answer.json
    );
    let message = answer.json["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.ends_with('.') && message.len() > 20,
        "a sentence a person can act on: {message:?}"
    );
}
