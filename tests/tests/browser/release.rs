//! The release binary (`make release`) on its own, statically linked: copied into an empty folder and started with
//! no `OTP_RELAY_STATIC_DIR`, it serves the page and the widget it carries, and a person verifies
//! an address through them, the code read from a real SMTP server.

use crate::flow::{open_url, request_code, type_code};
use otp_relay_tests::browser::{wait_for_text, with_browser};
use otp_relay_tests::*;
use std::io::BufRead;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

/// The release binary running from a folder of its own; stopped when dropped.
struct Released {
    child: Child,
    url: String,
    _folder: tempfile::TempDir,
}

impl Drop for Released {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_released(smtp: &SmtpServer) -> Released {
    let built = workspace_root().join("release/otp-relay");
    assert!(
        built.exists(),
        "no {}: `make release` builds it (`make test` does, first)",
        built.display()
    );
    // Static: no loader, no shared library to find on the host.
    let ldd = Command::new("ldd").arg(&built).output().unwrap();
    let said =
        String::from_utf8_lossy(&ldd.stdout).to_string() + &String::from_utf8_lossy(&ldd.stderr);
    assert!(
        said.contains("statically linked") || said.contains("not a dynamic executable"),
        "{said}"
    );
    let folder = tempfile::tempdir().unwrap();
    let binary = folder.path().join("otp-relay");
    std::fs::copy(&built, &binary).unwrap();
    let mut command = Command::new(&binary);
    command
        .arg("serve")
        .current_dir(folder.path())
        .env_clear()
        .env("OTP_RELAY_LISTEN", "127.0.0.1:0")
        .env("OTP_RELAY_SECRET", challenge_secret())
        .env("OTP_RELAY_PROOF_KEYS", proof_keys())
        .envs(smtp.relay_env())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = command.spawn().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let url = line
        .trim()
        .strip_prefix("otp-relay listening on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    Released {
        child,
        url,
        _folder: folder,
    }
}

#[tokio::test]
async fn the_release_binary_alone_serves_the_page_and_a_person_verifies_through_it() {
    let smtp = Arc::new(SmtpServer::start());
    let relay = Arc::new(start_released(&smtp));
    let loader = reqwest::get(format!("{}/widget/v1/otp-verify.js", relay.url))
        .await
        .unwrap();
    assert_eq!(loader.status(), reqwest::StatusCode::OK);
    let (shared_smtp, shared_relay) = (Arc::clone(&smtp), Arc::clone(&relay));
    with_browser("release_binary", |client| async move {
        open_url(&client, &shared_relay.url).await;
        request_code(&client, "rel@example.com").await;
        wait_for_text(&client, ".otp-hint", "We sent a code to rel@example.com").await;
        let code = shared_smtp.last_to("rel@example.com").code();
        type_code(&client, &code).await;
        wait_for_text(&client, ".otp-success", "rel@example.com is verified").await;
    })
    .await;
}
