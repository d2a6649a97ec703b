//! The container image (`make image`) run by podman the way a host runs it (read-only, no
//! capabilities, no new privileges), with Redis and an SMTP server on the host and the secrets
//! as mounted files: a whole flow against it, from the send to the proof checked with the JWKS.

use otp_relay_tests::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

const IMAGE: &str = "localhost/otp-relay:latest";

/// `podman` with what these machines need to run a container (ops notes in README, "Deploy").
fn podman() -> Command {
    let mut command = Command::new("podman");
    command.args(["--runtime", "runc", "--cgroup-manager=cgroupfs"]);
    command
}

fn podman_output(args: &[&str]) -> (bool, String) {
    let output = podman()
        .args(args)
        .output()
        .expect("podman (make image-tools)");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

/// The JSON a request to the container answers.
async fn answer(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

/// Removes the container when the test ends, whatever happened.
struct Container(String);

impl Drop for Container {
    fn drop(&mut self) {
        let _ = podman().args(["rm", "-f", &self.0]).output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_runs_a_whole_flow_with_redis_smtp_and_secret_files() {
    let (ok, size) = podman_output(&["image", "inspect", IMAGE, "--format", "{{.Size}}"]);
    assert!(
        ok,
        "no image {IMAGE}: `make image` builds it (`make test` does, first): {size}"
    );
    let bytes: u64 = size.trim().parse().unwrap();
    eprintln!("{IMAGE}: {bytes} bytes");
    assert!(bytes <= 15_000_000, "{bytes} bytes");
    let (_, config) = podman_output(&["image", "inspect", IMAGE, "--format", "{{json .Config}}"]);
    let config: Value = serde_json::from_str(config.trim()).unwrap();
    assert_eq!(config["User"], "10001:10001");
    let (_, check) = podman_output(&[
        "image",
        "inspect",
        IMAGE,
        "--format",
        "{{json .HealthCheck}}",
    ]);
    let check: Value = serde_json::from_str(check.trim()).unwrap();
    assert_eq!(check["Test"], json!(["CMD", "/otp-relay", "healthcheck"]));
    for label in ["version", "revision", "source"] {
        let key = format!("org.opencontainers.image.{label}");
        assert!(config["Labels"][&key].is_string(), "{key}: {config}");
    }

    let redis = RedisServer::start();
    let smtp = SmtpServer::start();
    let secrets = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    for (name, value) in [
        ("secret", challenge_secret()),
        ("proof-keys", proof_keys()),
        ("smtp-url", smtp.url()),
        ("store-url", redis.url()),
    ] {
        std::fs::write(secrets.path().join(name), format!("{value}\n")).unwrap();
    }
    std::fs::copy(smtp.certs().ca(), secrets.path().join("smtp-ca.pem")).unwrap();
    // The container's user reads them.
    Command::new("chmod")
        .args(["-R", "a+rX"])
        .arg(secrets.path())
        .status()
        .unwrap();
    let mount = format!("{}:/run/secrets/otp-relay:ro", secrets.path().display());
    let name = format!("otp-relay-test-{port}");
    let env = [
        format!("OTP_RELAY_LISTEN=127.0.0.1:{port}"),
        format!("OTP_RELAY_PUBLIC_URL={url}"),
        "OTP_RELAY_SECRET_FILE=/run/secrets/otp-relay/secret".into(),
        "OTP_RELAY_PROOF_KEYS_FILE=/run/secrets/otp-relay/proof-keys".into(),
        "OTP_RELAY_SMTP_URL_FILE=/run/secrets/otp-relay/smtp-url".into(),
        "OTP_RELAY_SMTP_CA=/run/secrets/otp-relay/smtp-ca.pem".into(),
        "OTP_RELAY_STORE_FILE=/run/secrets/otp-relay/store-url".into(),
        "OTP_RELAY_DRAIN=1s".into(),
    ];
    let mut run: Vec<String> = [
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "--read-only",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "-v",
        &mount,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for variable in &env {
        run.extend(["-e".to_string(), variable.clone()]);
    }
    run.push(IMAGE.into());
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    let (ok, said) = podman_output(&run);
    assert!(ok, "{said}");
    let container = Container(name);

    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client.get(format!("{url}/readyz")).send().await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        if Instant::now() > deadline {
            let (_, logs) = podman_output(&["logs", &container.0]);
            panic!("the container never got ready: {logs}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The image's own health check, run as the runtime runs it (no shell in the image).
    let (healthy, said) = podman_output(&["healthcheck", "run", &container.0]);
    assert!(healthy, "{said}");

    // A whole flow: the proof of work paid, the code from the SMTP server, the proof checked.
    let challenge = answer(client.get(format!("{url}/api/v1/pow"))).await;
    let pow = otp_relay::testing::solve_pow(&challenge).unwrap();
    let sent = answer(
        client
            .post(format!("{url}/api/v1/challenges"))
            .json(&json!({ "email": "img@example.com", "pow": pow })),
    )
    .await;
    let token = sent["challenge"]
        .as_str()
        .unwrap_or_else(|| panic!("{sent}"));
    let code = smtp.last_to("img@example.com").code();
    let verified = answer(
        client
            .post(format!("{url}/api/v1/challenges/verify"))
            .json(&json!({ "challenge": token, "email": "img@example.com", "code": code })),
    )
    .await;
    let proof = verified["proof"]
        .as_str()
        .unwrap_or_else(|| panic!("{verified}"));
    let jwks = fetch_jwks(&url).await;
    let claims = check_proof(proof, &jwks, &url, &url).unwrap();
    assert_eq!(claims["email"], "img@example.com");
    assert!(!redis.keys().is_empty(), "the state is in the host's Redis");

    // Stopped as a runtime stops it: drained, then exit 0.
    let (ok, said) = podman_output(&["stop", "-t", "20", &container.0]);
    assert!(ok, "{said}");
    let (_, code) = podman_output(&["inspect", &container.0, "--format", "{{.State.ExitCode}}"]);
    assert_eq!(code.trim(), "0");
    let (_, logs) = podman_output(&["logs", &container.0]);
    assert!(!logs.contains("img@example.com"), "{logs}");
}
