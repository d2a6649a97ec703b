//! The command line: `keygen`, `send-test`, `serve --help`, and refusing bad configuration with
//! a sentence instead of a crash.

use otp_relay_tests::*;
use std::process::Command;

fn otp_relay() -> Command {
    relay_command()
}

#[test]
fn keygen_prints_a_fresh_256_bit_secret() {
    use base64::Engine;
    let first = otp_relay().arg("keygen").output().unwrap();
    let second = otp_relay().arg("keygen").output().unwrap();
    assert!(first.status.success());
    let secret = String::from_utf8(first.stdout).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(secret.trim())
        .unwrap();
    assert_eq!(bytes.len(), 32);
    assert_ne!(secret, String::from_utf8(second.stdout).unwrap());
}

/// `keygen --kid p1` prints a proof key the relay accepts, and publishes.
#[tokio::test]
async fn keygen_with_a_key_id_prints_a_key_the_relay_takes() {
    let printed = otp_relay()
        .args(["keygen", "--kid", "p7"])
        .output()
        .unwrap();
    assert!(printed.status.success());
    let key = String::from_utf8(printed.stdout)
        .unwrap()
        .trim()
        .to_string();
    assert!(key.starts_with("p7:"), "{key}");
    let relay = RelayProcess::dev(&[("OTP_RELAY_PROOF_KEYS".into(), key)]);
    let jwks = fetch_jwks(&relay.url).await;
    assert!(jwks.find("p7").is_some());
    let bad = otp_relay()
        .args(["keygen", "--kid", "no spaces"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("key id"));
}

#[test]
fn serve_help_explains_the_settings() {
    let help = otp_relay().args(["serve", "--help"]).output().unwrap();
    let text = String::from_utf8(help.stdout).unwrap();
    for variable in [
        "OTP_RELAY_LISTEN",
        "OTP_RELAY_PUBLIC_URL",
        "OTP_RELAY_SECRET",
        "OTP_RELAY_PROOF_SECRET",
        "OTP_RELAY_PROOF_KEYS",
        "OTP_RELAY_STORE",
        "OTP_RELAY_STORE_CA",
        "OTP_RELAY_SMTP_URL",
        "OTP_RELAY_SMTP_CA",
        "OTP_RELAY_FROM",
        "OTP_RELAY_TTL",
        "OTP_RELAY_MAX_ATTEMPTS",
        "OTP_RELAY_RESEND_AFTER",
        "OTP_RELAY_ALLOWED_ORIGINS",
        "OTP_RELAY_SENDS_PER_ADDRESS",
        "OTP_RELAY_SENDS_PER_ADDRESS_TOTAL",
        "OTP_RELAY_SENDS_PER_IP",
        "OTP_RELAY_FAILURES_PER_ADDRESS",
        "OTP_RELAY_FAILURES_PER_ADDRESS_TOTAL",
        "OTP_RELAY_TRUST_PROXY",
        "OTP_RELAY_STATIC_DIR",
    ] {
        assert!(
            text.contains(variable),
            "--help does not mention {variable}"
        );
    }
}

#[test]
fn bad_configuration_is_refused_with_a_sentence() {
    for (key, value, expect) in [
        ("OTP_RELAY_SECRET", "k1:dG9vLXNob3J0", "at least 32"),
        ("OTP_RELAY_TTL", "1h", "10m"),
        ("OTP_RELAY_ALLOWED_ORIGINS", "*", "each site"),
        ("OTP_RELAY_SMTP_URL", "http://mail.example", "smtps://"),
        ("OTP_RELAY_FROM", "not an address", "OTP_RELAY_FROM"),
    ] {
        let output = otp_relay()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env(key, value)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{key}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expect), "{key}={value}: {stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn send_test_delivers_or_says_what_went_wrong() {
    let smtp = SmtpServer::start();
    let ca = smtp.certs().ca().display().to_string();
    let ok = otp_relay()
        .args(["send-test", "ops@example.com"])
        .env("OTP_RELAY_SMTP_URL", smtp.url())
        .env("OTP_RELAY_SMTP_CA", &ca)
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Sent a test message to ops@example.com"));
    assert_eq!(
        smtp.last_to("ops@example.com").subject,
        "otp-relay test message"
    );

    let refused = otp_relay()
        .args(["send-test", "ops@example.com"])
        .env("OTP_RELAY_SMTP_URL", smtp.url_with_password("nope"))
        .env("OTP_RELAY_SMTP_CA", &ca)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("refused the login"));

    // Implicit TLS against a STARTTLS port: the hint names the TLS modes.
    let wrong_mode = otp_relay()
        .args(["send-test", "ops@example.com"])
        .env(
            "OTP_RELAY_SMTP_URL",
            format!("smtps://u:p@127.0.0.1:{}", smtp.port),
        )
        .env("OTP_RELAY_SMTP_CA", &ca)
        .env("OTP_RELAY_SMTP_TIMEOUT", "2s")
        .output()
        .unwrap();
    assert_eq!(wrong_mode.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong_mode.stderr);
    assert!(
        stderr.contains("465") || stderr.contains("did not"),
        "{stderr}"
    );

    let unconfigured = otp_relay()
        .args(["send-test", "ops@example.com"])
        .output()
        .unwrap();
    assert_eq!(unconfigured.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unconfigured.stderr).contains("OTP_RELAY_SMTP_URL"));
}

/// `otp-relay healthcheck`, the health check of an image without a shell: 0 while the relay on
/// its listen address answers `/readyz` with 200, 1 with the reason once it does not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_answers_with_its_exit_code() {
    let mut relay = RelayProcess::dev(&[]);
    let listen = relay.url.trim_start_matches("http://").to_string();
    let port = listen.rsplit_once(':').unwrap().1.to_string();
    let check = |env: &[(&str, &str)], args: &[&str]| {
        let mut command = otp_relay();
        command
            .arg("healthcheck")
            .args(args)
            .env_remove("OTP_RELAY_LISTEN");
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().unwrap()
    };
    // As the image runs it: the relay's own OTP_RELAY_LISTEN, every address.
    let everywhere = format!("0.0.0.0:{port}");
    let ready = check(&[("OTP_RELAY_LISTEN", &everywhere)], &[]);
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    let by_url = check(&[], &["--url", &format!("{}/readyz", relay.url)]);
    assert!(by_url.status.success());

    relay.terminate();
    let gone = check(&[("OTP_RELAY_LISTEN", &listen)], &["--timeout", "1s"]);
    assert_eq!(gone.status.code(), Some(1));
    let said = String::from_utf8_lossy(&gone.stderr);
    assert!(said.contains("otp-relay healthcheck:"), "{said}");
    assert!(said.contains("/readyz"), "{said}");
}

/// Secrets from files, as a container runtime or systemd hands them over: the relay starts with
/// `OTP_RELAY_SECRET_FILE` and `OTP_RELAY_PROOF_KEYS_FILE` alone, and refuses both forms at once
/// without printing either value.
#[test]
fn secrets_come_from_files_and_both_forms_refuse_to_start() {
    let folder = tempfile::tempdir().unwrap();
    let secret = format!("k1:{}", otp_relay::core::keys::random_secret());
    let secret_path = folder.path().join("secret");
    std::fs::write(&secret_path, format!("{secret}\n")).unwrap();
    let (status, said) = refused_start(&[
        ("OTP_RELAY_DEV", "1"),
        ("OTP_RELAY_SECRET", &secret),
        ("OTP_RELAY_SECRET_FILE", &secret_path.to_string_lossy()),
    ]);
    assert_eq!(status, Some(2), "{said}");
    assert!(
        said.contains("OTP_RELAY_SECRET and OTP_RELAY_SECRET_FILE are both set"),
        "{said}"
    );
    assert!(!said.contains(&secret[3..]), "{said}");

    // An SMTP URL from a file that the relay cannot use is refused without being shown.
    let marker = "Zq7xMARKERsecretvalue";
    for url in [
        format!("smtp://user:{marker}@mail.example.com:587"),
        format!("gopher://{marker}"),
        format!("smtps://user:{marker}@"),
    ] {
        let path = folder.path().join("smtp-url");
        std::fs::write(&path, format!("{url}\n")).unwrap();
        let (status, said) = refused_start(&[("OTP_RELAY_SMTP_URL_FILE", &path.to_string_lossy())]);
        assert_ne!(status, Some(0), "{said}");
        assert!(said.contains("OTP_RELAY_SMTP_URL"), "{said}");
        assert!(!said.contains(marker), "{said}");
    }
}

/// `otp-relay keygen --webhook` prints a secret in the Standard Webhooks form that a relay takes
/// as `OTP_RELAY_WEBHOOK_SECRET` (README, "Sending codes through your own service").
#[test]
fn keygen_makes_webhook_secrets_the_relay_accepts() {
    let printed = std::process::Command::new(relay_binary())
        .args(["keygen", "--webhook"])
        .output()
        .unwrap();
    assert!(printed.status.success());
    let secret = String::from_utf8(printed.stdout).unwrap();
    let secret = secret.trim_end();
    assert!(
        secret.starts_with("whsec_") && secret.len() == 50,
        "{secret}"
    );
    let config = otp_relay::config::Config::from_flags(&[
        "--webhook-url",
        "https://hooks.example/otp",
        "--webhook-secret",
        secret,
    ]);
    assert!(config.is_ok(), "{config:?}");
}
