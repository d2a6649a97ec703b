//! The OpenAPI document: the one the relay serves is the one committed (`docs/openapi.json`),
//! it names every route the relay has, `openapi-spec-validator` accepts it, and Schemathesis,
//! run against a live relay, finds no server error, no answer that breaks the document and no
//! request the document calls valid that the relay refuses as malformed
//! (`tests/schemathesis/`: its configuration and that check of ours).

use otp_relay_tests::*;
use reqwest::StatusCode;
use std::process::Command;

const UPDATE: &str = "cargo run -p otp-relay -- openapi > docs/openapi.json";

fn committed() -> String {
    std::fs::read_to_string(workspace_root().join("docs/openapi.json")).unwrap()
}

#[tokio::test]
async fn the_served_document_is_the_committed_one_and_any_origin_reads_it() {
    let relay = RelayProcess::dev(&[]);
    let response = relay
        .client
        .get(format!("{}/api/v1/openapi.json", relay.url))
        .header("origin", "https://any.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["content-type"], "application/json");
    let served = response.text().await.unwrap();
    assert!(
        served == committed(),
        "docs/openapi.json is not what the relay serves: run `{UPDATE}`"
    );
    let printed = Command::new(relay_binary())
        .arg("openapi")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(printed.stdout).unwrap(), served);
}

#[test]
fn the_document_names_every_route_and_nothing_else() {
    let document: serde_json::Value = serde_json::from_str(&committed()).unwrap();
    assert_eq!(document["openapi"], "3.1.0");
    let mut documented: Vec<&str> = document["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut routes = otp_relay::metrics::ROUTES.to_vec();
    documented.sort_unstable();
    routes.sort_unstable();
    assert_eq!(documented, routes);
    // Every error code is in it, and every example of an error names one of them.
    let codes = &document["components"]["schemas"]["ErrorCode"]["enum"];
    for code in otp_relay_shared::ErrorCode::ALL {
        assert!(
            codes.as_array().unwrap().contains(&code.as_str().into()),
            "{code:?}"
        );
    }
}

#[test]
fn openapi_spec_validator_accepts_the_document() {
    let output = Command::new(venv_bin("openapi-spec-validator"))
        .arg(workspace_root().join("docs/openapi.json"))
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && said.trim_end().ends_with(": OK"),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Schemathesis with every check against `relay`, from a fixed seed so that a failure
/// reproduces; its report is printed.
fn schemathesis(relay: &RelayProcess) {
    let folder = workspace_root().join("tests/schemathesis");
    let output = Command::new(venv_bin("schemathesis"))
        .env("SCHEMATHESIS_HOOKS", folder.join("hooks.py"))
        .arg("--config-file")
        .arg(folder.join("schemathesis.toml"))
        .arg("run")
        .arg(workspace_root().join("docs/openapi.json"))
        .args(["--url", &relay.url])
        .args(["--checks", "all", "--max-examples", "60", "--seed", "1"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--no-color", "--generation-database", "none"])
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "Schemathesis found failures:\n{report}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("16 selected / 16 total"), "{report}");
}

/// With the proof of work off (codes are sent, so the flow's answers are reached) and on (as
/// shipped: every send is 428 with a fresh challenge); the page's files served when built.
#[tokio::test]
async fn schemathesis_finds_nothing_against_a_live_relay() {
    for pow in ["off", "on"] {
        let mut env = vec![
            ("OTP_RELAY_POW".to_string(), pow.to_string()),
            (
                "OTP_RELAY_ALLOWED_ORIGINS".to_string(),
                "https://shop.example".to_string(),
            ),
        ];
        let dist = workspace_root().join("dist");
        if dist.join("otp-verify.js").exists() {
            env.push(("OTP_RELAY_STATIC_DIR".into(), dist.display().to_string()));
        }
        let relay = RelayProcess::dev(&env);
        schemathesis(&relay);
        let logs = relay.logs();
        assert!(!logs.contains("panicked"), "{logs}");
    }
}
