//! The widget's TypeScript declarations (`frontend/npm`, the `@otp-relay/widget` types package):
//! `tests/typescript/check.sh` compiles plain-TypeScript and React 19 samples against them with
//! the pinned TypeScript, and holds every marked misuse to its own compile error, so the types
//! can neither refuse what the widget does nor let through what it does not. TypeScript and
//! `@types/react` come from `scripts/ensure-tools.sh test` (`make test-tools`).

use otp_relay_tests::workspace_root;
use std::process::Command;

#[test]
fn the_widget_types_accept_the_samples_and_refuse_the_misuses() {
    let output = Command::new("bash")
        .arg("tests/typescript/check.sh")
        .current_dir(workspace_root())
        .output()
        .expect("bash runs (make test-tools installs TypeScript into tests/typescript)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // What was checked, line by line: shown with --nocapture, and in the failure.
    println!("{stdout}");
    assert!(
        output.status.success(),
        "tests/typescript/check.sh failed:\n{stdout}{stderr}"
    );
}

/// The declared error codes are the API's, every one of them: a code added to the contract
/// without its declaration fails here.
#[test]
fn the_declared_error_codes_are_the_apis() {
    let declarations =
        std::fs::read_to_string(workspace_root().join("frontend/npm/otp-verify.d.ts")).unwrap();
    let start = declarations.find("export type OtpApiErrorCode").unwrap();
    let union = &declarations[start..start + declarations[start..].find(';').unwrap()];
    let declared: Vec<&str> = union.split('"').skip(1).step_by(2).collect();
    let api: Vec<&str> = otp_relay_shared::ErrorCode::ALL
        .iter()
        .map(|code| code.as_str())
        .collect();
    assert_eq!(declared, api);
}
