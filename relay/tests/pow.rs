//! The proof of work against ALTCHA's own library (npm `altcha-lib`, `tests/altcha/`): it solves
//! the relay's challenges, and the relay takes its solutions (its `took` member too); it checks
//! the solutions the relay's own solver (the page's and the terminal's) makes, given the key.

use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::process::Command;

/// `node tests/altcha/interop.mjs ARGS`: what it printed.
fn altcha(args: &[&str]) -> String {
    let output = Command::new("node")
        .arg(workspace_root().join("tests/altcha/interop.mjs"))
        .args(args)
        .output()
        .expect("node runs (make test-tools installs altcha-lib)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

#[tokio::test]
async fn altchas_library_solves_the_relays_challenge_and_the_relay_accepts_it() {
    let relay = RelayProcess::dev(&[("OTP_RELAY_POW".into(), "on".into())]);
    let pow = altcha(&[
        "solve",
        &relay.pow_challenge_from("127.0.0.1").await.to_string(),
    ]);
    let sent = relay.issue_paying("ada@example.com", &pow).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    // Spent once, whoever solved it.
    let again = relay.issue_paying("bob@example.com", &pow).await;
    assert_eq!(again.error_code(), "pow_required");
}

#[tokio::test]
async fn altchas_library_verifies_what_the_relays_solver_made_given_the_key() {
    let relay = RelayProcess::dev(&[("OTP_RELAY_POW".into(), "on".into())]);
    let ours = otp_relay::testing::solve_pow(&relay.pow_challenge_from("127.0.0.1").await).unwrap();
    assert_eq!(altcha(&["verify", &ours, &pow_key_hex()]), "true");
    // Under another key, or changed, it does not verify.
    assert_eq!(altcha(&["verify", &ours, &"0".repeat(64)]), "false");
    let forged = paid(&signed_pow("127.0.0.1", 1_000, std::time::Duration::ZERO));
    assert_eq!(altcha(&["verify", &forged, &pow_key_hex()]), "true");
    let mut tampered: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &ours).unwrap(),
    )
    .unwrap();
    tampered["number"] = json!(tampered["number"].as_u64().unwrap() + 1);
    let tampered = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        tampered.to_string(),
    );
    assert_eq!(altcha(&["verify", &tampered, &pow_key_hex()]), "false");
}
