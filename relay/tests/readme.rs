//! The README's curl example, run as written against a relay in development mode with the proof
//! of work on (as `make run` starts it): only the relay's address is this test's, and `make -s
//! pow` is the command its Makefile target runs.

use otp_relay_tests::*;
use serde_json::Value;
use std::process::Command;

/// The shell block that follows "The API works without the page too".
fn readme_block() -> String {
    block_after("The API works without the page too")
}

/// The `curl` commands of `block`, pointed at `relay` (`make -s pow` as the command it runs).
fn curl_commands(block: &str, relay: &RelayProcess) -> Vec<String> {
    let block = block.replace("http://127.0.0.1:8787", &relay.url).replace(
        "make -s pow",
        &format!("{} pow --relay {}", relay_binary().display(), relay.url),
    );
    block
        .split("\ncurl")
        .skip(1)
        .map(|command| format!("curl{command}"))
        .collect()
}

/// Runs `script` with bash; its standard output.
fn bash(script: &str) -> String {
    let output = Command::new("bash").args(["-c", script]).output().unwrap();
    assert!(
        output.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn the_curl_example_works_as_written() {
    let makefile = std::fs::read_to_string(workspace_root().join("Makefile")).unwrap();
    assert!(
        makefile.contains("--bin otp-relay -- pow"),
        "`make -s pow` runs `otp-relay pow`"
    );
    let relay = RelayProcess::dev(&[("OTP_RELAY_POW".into(), "on".into())]);
    // Comments, then a send, then a verify.
    let commands = curl_commands(&readme_block(), &relay);
    assert_eq!(commands.len(), 2, "a send, then a verify: {commands:?}");

    let sent: Value = serde_json::from_str(&bash(&commands[0])).unwrap();
    let challenge = sent["challenge"].as_str().expect("a challenge").to_string();
    let code = outbox_code(&relay.outbox().await[0]);
    let verify = commands[1]
        .replace("<challenge from above>", &challenge)
        .replace("<code>", &code);
    let verified: Value = serde_json::from_str(&bash(&verify)).unwrap();
    assert_eq!(verified["verified"], true, "{verified}");
}

/// The shell block that follows `marker` in the README.
fn block_after(marker: &str) -> String {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let after = readme
        .split_once(marker)
        .unwrap_or_else(|| panic!("the README has {marker:?}"))
        .1;
    let block = after.split_once("```sh\n").unwrap().1;
    block.split_once("```").unwrap().0.to_string()
}

/// "Review addresses": the relay started with the variable as the block writes it, then the
/// block's send and verify as written: nothing in the outbox, a proof that says `review`.
#[tokio::test]
async fn the_review_address_example_works_as_written() {
    let block = block_after("List them as `address:code` pairs");
    let first = block.lines().next().unwrap();
    let setting = first
        .strip_suffix(" make run")
        .expect("VARIABLE=value make run");
    let (name, value) = setting.split_once('=').unwrap();
    let relay = RelayProcess::dev(&[
        (name.to_string(), value.trim_matches('\'').to_string()),
        ("OTP_RELAY_POW".into(), "on".into()),
    ]);
    let commands = curl_commands(&block, &relay);
    assert_eq!(commands.len(), 2, "a send, then a verify: {block}");
    let sent: Value = serde_json::from_str(&bash(&commands[0])).unwrap();
    let challenge = sent["challenge"].as_str().expect("a challenge").to_string();
    assert!(
        relay.outbox().await.is_empty(),
        "no email for a review address"
    );
    let verified: Value = serde_json::from_str(&bash(
        &commands[1].replace("<challenge from above>", &challenge),
    ))
    .unwrap();
    assert_eq!(verified["verified"], true, "{verified}");
    assert_eq!(
        claims_of(verified["proof"].as_str().unwrap())["review"],
        true
    );
}

/// "The OpenAPI document": the curl command as written saves the committed document.
#[tokio::test]
async fn the_openapi_example_works_as_written() {
    let relay = RelayProcess::dev(&[]);
    let dir = tempfile::tempdir().unwrap();
    let command =
        block_after("While\n`make run` is running:").replace("http://127.0.0.1:8787", &relay.url);
    bash(&format!("cd {} && {command}", dir.path().display()));
    let saved = std::fs::read_to_string(dir.path().join("otp-relay.openapi.json")).unwrap();
    let committed = std::fs::read_to_string(workspace_root().join("docs/openapi.json")).unwrap();
    assert!(saved == committed);
}

/// A JWT's claims, unchecked (the proof tests check signatures).
fn claims_of(jwt: &str) -> Value {
    use base64::Engine;
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}
