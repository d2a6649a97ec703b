//! Mail server faults: unreachable, refusing the login, hanging. Each gives `delivery_failed`
//! within the timeout and a log line an operator can act on; the relay keeps serving, and
//! sending works again once the server is back.

use otp_relay_tests::*;
use reqwest::StatusCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TIMEOUT: &str = "2s";

async fn issue_fails_in_time(relay: &RelayProcess, email: &str) {
    let started = Instant::now();
    let reply = relay.issue(email).await;
    let took = started.elapsed();
    assert_eq!(reply.status, StatusCode::BAD_GATEWAY, "{}", reply.text);
    assert_eq!(reply.error_code(), "delivery_failed");
    assert!(
        reply.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("try again")
    );
    assert!(took < Duration::from_secs(4), "answered after {took:?}");
    assert!(relay.healthy().await);
}

/// Relay settings for a STARTTLS server (with the test login) on `port`, whatever is there.
fn smtp_on_port(port: u16, certs: &Certs) -> Vec<(String, String)> {
    vec![
        (
            "OTP_RELAY_SMTP_URL".to_string(),
            format!("smtp://relay%40test.example:{PASSWORD}@127.0.0.1:{port}?tls=required"),
        ),
        (
            "OTP_RELAY_SMTP_CA".to_string(),
            certs.ca().display().to_string(),
        ),
        ("OTP_RELAY_SMTP_TIMEOUT".to_string(), TIMEOUT.to_string()),
    ]
}

#[tokio::test]
async fn an_unreachable_server_fails_cleanly_and_recovers_when_it_is_back() {
    let certs = Arc::new(Certs::new());
    let port = free_port();
    let mut env = smtp_on_port(port, &certs);
    env.push((
        "OTP_RELAY_SENDS_PER_ADDRESS".to_string(),
        "2/15m".to_string(),
    ));
    let relay = RelayProcess::start(&env);
    // More failures than the address's send limit: failed sends are not counted against it.
    for _ in 0..3 {
        issue_fails_in_time(&relay, "down@example.com").await;
    }
    // Fails, with the whole log, if no such line arrives.
    relay.logs_once("nothing accepts connections");

    let smtp = SmtpServer::start_with(SmtpMode::StartTls, port, certs);
    let reply = relay.issue("down@example.com").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let code = smtp.last_to("down@example.com").code();
    assert_eq!(
        relay
            .verify(&challenge_of(&reply.json), "down@example.com", &code)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_refused_login_fails_cleanly_with_a_hint() {
    let smtp = SmtpServer::start();
    let env = vec![
        (
            "OTP_RELAY_SMTP_URL".to_string(),
            smtp.url_with_password("wrong-password"),
        ),
        (
            "OTP_RELAY_SMTP_CA".to_string(),
            smtp.certs().ca().display().to_string(),
        ),
        ("OTP_RELAY_SMTP_TIMEOUT".to_string(), TIMEOUT.to_string()),
    ];
    let relay = RelayProcess::start(&env);
    issue_fails_in_time(&relay, "login@example.com").await;
    // Fails, with the whole log, if no such line arrives.
    relay.logs_once("refused the login");
    assert!(
        !relay.logs().contains("wrong-password"),
        "the password is never logged"
    );
    assert_eq!(smtp.count(), 0);
}

#[tokio::test]
async fn a_hanging_server_times_out_and_sending_works_once_it_is_back() {
    // A server that accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = Arc::new(std::sync::Mutex::new(Vec::new()));
    let keep = Arc::clone(&held);
    let hanging = std::thread::spawn(move || {
        for stream in listener.incoming().take(2) {
            keep.lock().unwrap().push(stream);
        }
        listener
    });
    let certs = Arc::new(Certs::new());
    let env = smtp_on_port(port, &certs);
    let relay = RelayProcess::start(&env);
    issue_fails_in_time(&relay, "hang@example.com").await;
    issue_fails_in_time(&relay, "hang@example.com").await;
    // Fails, with the whole log, if no such line arrives.
    relay.logs_once("did not finish within");

    // The hanging server goes away and a real one takes its port.
    let listener = hanging.join().unwrap();
    drop(listener);
    held.lock().unwrap().clear();
    let smtp = SmtpServer::start_with(SmtpMode::StartTls, port, certs);
    let reply = relay.issue("hang@example.com").await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    smtp.last_to("hang@example.com");
}

/// Clients that hang up mid-request must not leave a half-finished SMTP transaction behind:
/// normal sends afterwards all arrive.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_hanging_up_mid_send_do_not_break_later_sends() {
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_SENDS_PER_IP", "200/15m"),
        ("OTP_RELAY_SENDS_PER_ADDRESS", "200/15m"),
        ("OTP_RELAY_SENDS_PER_ADDRESS_TOTAL", "400/15m"),
    ]);
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(5))
        .build()
        .unwrap();
    for i in 0..20 {
        let _ = impatient
            .post(format!("{}/api/v1/challenges", app.relay.url))
            .json(&serde_json::json!({"email": format!("gone{i}@example.com")}))
            .send()
            .await;
    }
    for i in 0..10 {
        let reply = app.relay.issue(&format!("after{i}@example.com")).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "send {i} after hang-ups: {}",
            reply.text
        );
    }
    for i in 0..10 {
        app.smtp.last_to(&format!("after{i}@example.com"));
    }
    let logs = app.relay.logs_flushed();
    assert!(
        !logs.contains("delivery failed") && !logs.contains("nested"),
        "every send, the cut-off ones included, went through: {logs}"
    );
}

/// A real SMTP server that turns faulty mid-exchange and recovers (`SmtpServer::set_fault`):
/// it drops the connection mid-`DATA`, answers `451`, stalls past the timeout, closes right
/// after `STARTTLS`. Each time the person gets `delivery_failed` with a way forward and the
/// operator a hint; the next send, the fault gone, goes through the pool and arrives once.
/// Nothing is counted twice or lost: the failed sends are given back to the mailbox, so its five
/// sends in 15 minutes are exactly the five that arrived.
#[tokio::test]
async fn faults_mid_exchange_fail_cleanly_and_the_pool_recovers() {
    let smtp = SmtpServer::start();
    let mut env = smtp.relay_env();
    env.push(("OTP_RELAY_SMTP_TIMEOUT".into(), TIMEOUT.into()));
    let relay = RelayProcess::start(&env);
    let to = "faulty@example.com";
    let mut delivered = 0;
    // The closed-after-STARTTLS fault first: it strikes new connections only, and the pool
    // holds none yet.
    for fault in ["close-after-starttls", "drop-data", "tempfail", "stall"] {
        smtp.set_fault(fault);
        issue_fails_in_time(&relay, to).await;
        smtp.set_fault("");
        let reply = relay.issue(to).await;
        assert_eq!(
            reply.status,
            StatusCode::CREATED,
            "after {fault}: {}",
            reply.text
        );
        delivered += 1;
        let messages = smtp.wait_for(delivered);
        assert_eq!(
            messages.len(),
            delivered,
            "after {fault}: each message once"
        );
        let code = smtp.last_to(to).code();
        let verified = relay.verify(&challenge_of(&reply.json), to, &code).await;
        assert_eq!(
            verified.status,
            StatusCode::OK,
            "after {fault}: {}",
            verified.text
        );
    }
    // The log is written by a thread of its own: wait for the last failure's line (the stall's),
    // and every earlier one is there too.
    let logs = relay.logs_once("did not finish within");
    assert!(
        logs.contains("temporarily refusing mail"),
        "the 451 is named"
    );
    let failures: Vec<&str> = logs
        .lines()
        .filter(|line| line.contains("delivery failed"))
        .collect();
    assert_eq!(failures.len(), 4, "one hint per failure:\n{logs}");
    for line in &failures {
        assert!(line.contains("hint="), "{line}");
        assert!(!line.contains(to), "the address is masked: {line}");
    }

    // The failures were given back: one more send fits in the mailbox's five, the next does not.
    let fifth = relay.issue(to).await;
    assert_eq!(fifth.status, StatusCode::CREATED, "{}", fifth.text);
    assert_eq!(relay.issue(to).await.error_code(), "rate_limited");
    assert_eq!(smtp.wait_for(5).len(), 5);
}
