//! What an operator watches: Prometheus metrics on a port of their own (scraped while the flow
//! runs, parsed by the Prometheus client's own parsers), JSON logs with no code and no address in
//! them, readiness that follows the store, and the example dashboard and alert rules in `ops/`.

use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn support(script: &str) -> std::path::PathBuf {
    workspace_root().join("tests/support").join(script)
}

/// Runs a support script with `input` on stdin; its stdout, or a panic with its stderr.
fn python(script: &str, args: &[&str], input: &str) -> String {
    let mut child = Command::new("/usr/bin/python3")
        .arg(support(script))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (make test-tools installs its packages)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The metrics page, parsed by both of the Prometheus client's parsers: sample → value.
async fn scrape(port: u16) -> HashMap<String, f64> {
    let reply = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let content_type = reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let page = reply.text().await.unwrap();
    let parsed: HashMap<String, f64> =
        serde_json::from_str(&python("metrics.py", &["openmetrics"], &page)).unwrap();
    let older: HashMap<String, f64> =
        serde_json::from_str(&python("metrics.py", &["prometheus"], &page)).unwrap();
    assert!(
        !older.is_empty(),
        "the older text parser reads the page too"
    );
    parsed
}

/// How much each sample moved between two scrapes (absent counts as 0).
fn moved(before: &HashMap<String, f64>, after: &HashMap<String, f64>, sample: &str) -> f64 {
    after.get(sample).copied().unwrap_or(0.0) - before.get(sample).copied().unwrap_or(0.0)
}

fn with_metrics(extra: &[(&str, &str)]) -> (TestApp, u16) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut env: Vec<(&str, &str)> = vec![("OTP_RELAY_METRICS_LISTEN", &listen)];
    env.extend_from_slice(extra);
    (TestApp::spawn_with(&env), port)
}

#[tokio::test]
async fn each_counter_moves_by_exactly_what_the_requests_do() {
    let (app, port) = with_metrics(&[]);
    let before = scrape(port).await;
    assert_eq!(before["otp_relay_build_info{version=0.1.0}"], 1.0);

    let (body, code) = app.request_code("met@example.com").await;
    let challenge = challenge_of(&body);
    app.request_code("met2@example.com").await;
    let invalid = app.relay.issue("not an address").await;
    assert_eq!(invalid.error_code(), "invalid_email");
    let wrong = app
        .relay
        .verify(&challenge, "met@example.com", &wrong_code(&code))
        .await;
    assert_eq!(wrong.error_code(), "wrong_code");
    let right = app.relay.verify(&challenge, "met@example.com", &code).await;
    assert_eq!(right.status, StatusCode::OK);
    let again = app.relay.verify(&challenge, "met@example.com", &code).await;
    assert_eq!(again.error_code(), "already_used");
    let public = app
        .relay
        .client
        .get(format!("{}/metrics", app.relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(
        public.status(),
        StatusCode::NOT_FOUND,
        "never on the public port"
    );
    // Every route has a label of its own: its template, never the path a client chose.
    for path in [
        "/widget/v1/status",
        "/widget/v1/i18n/de.txt",
        "/widget/v1/i18n/xx.txt",
    ] {
        app.relay
            .client
            .get(format!("{}{path}", app.relay.url))
            .send()
            .await
            .unwrap();
    }

    let after = scrape(port).await;
    for (sample, by) in [
        ("otp_relay_sends_total{result=sent}", 2.0),
        ("otp_relay_sends_total{result=invalid_email}", 1.0),
        ("otp_relay_sends_total{result=delivery_failed}", 0.0),
        ("otp_relay_verifications_total{result=wrong_code}", 1.0),
        ("otp_relay_verifications_total{result=verified}", 1.0),
        ("otp_relay_verifications_total{result=already_used}", 1.0),
        ("otp_relay_delivery_seconds_count{}", 2.0),
        ("otp_relay_store_errors_total{}", 0.0),
        (
            "otp_relay_http_requests_total{route=/api/v1/challenges,status=201}",
            2.0,
        ),
        (
            "otp_relay_http_requests_total{route=/api/v1/challenges,status=400}",
            1.0,
        ),
        (
            "otp_relay_http_requests_total{route=/api/v1/challenges/verify,status=422}",
            1.0,
        ),
        (
            "otp_relay_http_requests_total{route=/api/v1/challenges/verify,status=200}",
            1.0,
        ),
        (
            "otp_relay_http_requests_total{route=/api/v1/challenges/verify,status=409}",
            1.0,
        ),
        ("otp_relay_http_requests_total{route=other,status=404}", 1.0),
        (
            "otp_relay_http_requests_total{route=/widget/v1/status,status=200}",
            1.0,
        ),
        (
            "otp_relay_http_requests_total{route=/widget/v1/i18n/{file},status=200}",
            1.0,
        ),
        (
            "otp_relay_http_requests_total{route=/widget/v1/i18n/{file},status=404}",
            1.0,
        ),
    ] {
        assert_eq!(moved(&before, &after, sample), by, "{sample}: {after:?}");
    }
    // A delivery through a real SMTP server takes more than nothing and less than the timeout.
    let spent = moved(&before, &after, "otp_relay_delivery_seconds_sum{}");
    assert!(spent > 0.0 && spent < 6.0, "{spent}");
    for sample in after.keys() {
        assert!(
            !sample.contains("example.com") && !sample.contains("127.0.0.1"),
            "{sample}"
        );
    }
}

/// In JSON mode every line the relay writes on stderr during a whole flow is a JSON object, and
/// neither the code from the delivered email nor the full address appears anywhere; refusals
/// that matter for security are one line each with a reason.
/// The proof of work's counters: challenges handed out by level (from `GET /api/v1/pow` and
/// with `pow_required`), solutions accepted and refused by reason.
#[tokio::test]
async fn the_proof_of_work_is_counted_by_level_and_by_result() {
    let (app, port) = with_metrics(&[("OTP_RELAY_POW", "on")]);
    let before = scrape(port).await;
    let relay = &app.relay;
    let unpaid = relay
        .post("/api/v1/challenges", json!({ "email": "pw@example.com" }))
        .await;
    assert_eq!(unpaid.error_code(), "pow_required");
    let pow = relay.pow().await;
    let paid = relay.issue_paying("pw@example.com", &pow).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    let replayed = relay.issue_paying("pw2@example.com", &pow).await;
    assert_eq!(replayed.error_code(), "pow_required");
    let after = scrape(port).await;
    for (sample, by) in [
        // GET /api/v1/pow once, and a fresh one with each of the two refusals.
        ("otp_relay_pow_challenges_total{level=0}", 3.0),
        ("otp_relay_pow_solutions_total{result=accepted}", 1.0),
        ("otp_relay_pow_solutions_total{result=missing}", 1.0),
        ("otp_relay_pow_solutions_total{result=replayed}", 1.0),
        ("otp_relay_pow_solutions_total{result=invalid}", 0.0),
        ("otp_relay_sends_total{result=pow_required}", 2.0),
        (
            "otp_relay_http_requests_total{route=/api/v1/pow,status=200}",
            1.0,
        ),
    ] {
        assert_eq!(moved(&before, &after, sample), by, "{sample}");
    }
}

/// Review addresses are counted apart: a send that sent nothing, a review proof.
#[tokio::test]
async fn review_addresses_are_counted_by_step() {
    let (app, port) = with_metrics(&[("OTP_RELAY_REVIEW_ADDRESSES", "rv@example.com:975310")]);
    let before = scrape(port).await;
    let relay = &app.relay;
    let sent = relay.issue("rv@example.com").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
    let verified = relay
        .verify(&challenge_of(&sent.json), "rv@example.com", "975310")
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    app.request_code("ordinary@example.com").await;
    let after = scrape(port).await;
    for (sample, by) in [
        ("otp_relay_review_uses_total{step=sent}", 1.0),
        ("otp_relay_review_uses_total{step=verified}", 1.0),
        ("otp_relay_sends_total{result=sent}", 2.0),
        ("otp_relay_verifications_total{result=verified}", 1.0),
    ] {
        assert_eq!(moved(&before, &after, sample), by, "{sample}");
    }
}

#[tokio::test]
async fn json_logs_parse_and_never_hold_the_code_or_the_address() {
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_LOG_FORMAT", "json"),
        ("OTP_RELAY_SENDS_PER_ADDRESS", "2/15m"),
        ("OTP_RELAY_ALLOWED_ORIGINS", "https://shop.example"),
    ]);
    let email = "json.person@example.com";
    let (body, code) = app.request_code(email).await;
    let challenge = challenge_of(&body);
    let wrong = app
        .relay
        .verify(&challenge, email, &wrong_code(&code))
        .await;
    assert_eq!(wrong.error_code(), "wrong_code");
    assert_eq!(
        app.relay.verify(&challenge, email, &code).await.status,
        StatusCode::OK
    );
    app.request_code(email).await;
    let limited = app.relay.issue(email).await;
    assert_eq!(limited.error_code(), "rate_limited");
    let foreign = app
        .relay
        .post_from(
            "https://evil.example",
            "/api/v1/challenges",
            json!({ "email": email }),
        )
        .await;
    assert_eq!(foreign.error_code(), "origin_not_allowed");

    // The start-up line on stdout is JSON too, shaped like the log's.
    let announced: Value = serde_json::from_str(&app.relay.announced)
        .unwrap_or_else(|e| panic!("not a JSON line ({e}): {}", app.relay.announced));
    assert_eq!(announced["fields"]["url"], app.relay.url.as_str());
    assert_eq!(announced["level"], "INFO");
    assert!(announced["fields"]["message"].is_string());

    let logs = app.relay.logs_flushed();
    let mut reasons = Vec::new();
    for line in logs.lines() {
        let entry: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
        for field in ["timestamp", "level", "target", "fields"] {
            assert!(entry.get(field).is_some(), "no {field}: {line}");
        }
        assert!(entry["fields"]["message"].is_string(), "{line}");
        if let Some(reason) = entry["fields"]["reason"].as_str() {
            reasons.push(reason.to_string());
        }
    }
    assert!(logs.lines().count() > 5, "{logs}");
    let mut codes = vec![code.clone()];
    codes.extend(app.smtp.wait_for(2).iter().map(|m| m.code()));
    for code in codes {
        assert!(!logs.contains(&code), "the code {code} is in the log");
    }
    assert!(!logs.contains(email), "the address is in the log");
    assert!(
        !logs.contains(&challenge),
        "the challenge token is in the log"
    );
    for reason in ["wrong_code", "rate_limited", "origin_not_allowed"] {
        let lines = reasons.iter().filter(|r| *r == reason).count();
        assert_eq!(lines, 1, "{reason}: {reasons:?}");
    }
}

/// `/readyz` follows the store (503 with a reason while Redis is down, 200 once it is back, by
/// itself); `/livez` stays 200 throughout; store errors are counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_follows_the_store_and_liveness_does_not() {
    let mut redis = RedisServer::start();
    let port = free_port();
    let relay = RelayProcess::dev(&[
        ("OTP_RELAY_STORE".into(), redis.url()),
        (
            "OTP_RELAY_METRICS_LISTEN".into(),
            format!("127.0.0.1:{port}"),
        ),
    ]);
    let get = |path: &str| relay.client.get(format!("{}{path}", relay.url)).send();
    assert_eq!(get("/readyz").await.unwrap().status(), StatusCode::OK);
    let before = scrape(port).await;

    redis.stop();
    let down = get("/readyz").await.unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = down.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(!body["error"]["message"].as_str().unwrap().is_empty());
    assert_eq!(get("/livez").await.unwrap().status(), StatusCode::OK);
    let during = scrape(port).await;
    assert!(moved(&before, &during, "otp_relay_store_errors_total{}") >= 1.0);

    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = get("/readyz").await.unwrap().status();
        if status == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "still {status} after 15 s");
        assert_eq!(get("/livez").await.unwrap().status(), StatusCode::OK);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The dashboard and the alert rules in ops/ parse, have the shape their tools expect, and name
/// only metrics a live relay exports (after a flow, so every family has a sample).
#[tokio::test]
async fn the_ops_dashboard_and_alerts_name_only_exported_metrics() {
    let (app, port) = with_metrics(&[]);
    let (body, code) = app.request_code("ops@example.com").await;
    let challenge = challenge_of(&body);
    app.relay
        .verify(&challenge, "ops@example.com", &wrong_code(&code))
        .await;
    let samples = scrape(port).await;
    let names: std::collections::BTreeSet<&str> = samples
        .keys()
        .map(|sample| sample.split('{').next().unwrap())
        .collect();
    let names = serde_json::to_string(&names).unwrap();
    let ops = workspace_root().join("ops");
    let checked: Value = serde_json::from_str(&python(
        "check_ops.py",
        &[ops.to_str().unwrap(), &names],
        "",
    ))
    .unwrap();
    assert!(
        checked["alerts"].as_array().unwrap().len() >= 3,
        "{checked}"
    );
    assert!(
        checked["panels"].as_array().unwrap().len() >= 5,
        "{checked}"
    );
    for metric in [
        "otp_relay_sends_total",
        "otp_relay_verifications_total",
        "otp_relay_store_errors_total",
        "otp_relay_delivery_seconds_bucket",
    ] {
        assert!(
            checked["metrics"]
                .as_array()
                .unwrap()
                .contains(&json!(metric)),
            "{metric} is watched: {checked}"
        );
    }

    // The check can fail: a rule naming a metric the relay does not export is refused.
    let broken = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(broken.path().join("prometheus")).unwrap();
    std::fs::create_dir_all(broken.path().join("grafana")).unwrap();
    let rules = std::fs::read_to_string(ops.join("prometheus/alerts.yml"))
        .unwrap()
        .replace(
            "otp_relay_store_errors_total",
            "otp_relay_store_failures_total",
        );
    std::fs::write(broken.path().join("prometheus/alerts.yml"), rules).unwrap();
    std::fs::copy(
        ops.join("grafana/otp-relay.json"),
        broken.path().join("grafana/otp-relay.json"),
    )
    .unwrap();
    let refused = Command::new("/usr/bin/python3")
        .arg(support("check_ops.py"))
        .arg(broken.path())
        .arg(&names)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("otp_relay_store_failures_total"));
}

/// A client that trickles its request past `OTP_RELAY_REQUEST_TIMEOUT` gets 503, and the JSON
/// log has one line saying so with `reason: deadline`. The real binary, so the deadline is
/// waited for (2 s).
#[tokio::test]
async fn a_request_past_its_deadline_is_logged_with_a_reason() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_LOG_FORMAT", "json"),
        ("OTP_RELAY_SMTP_TIMEOUT", "1s"),
        ("OTP_RELAY_REQUEST_TIMEOUT", "2s"),
    ]);
    let address = app.relay.url.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    // Headers and a tenth of the body promised; the rest never comes.
    stream
        .write_all(
            b"POST /api/v1/challenges HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer before 10 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]).to_string();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"unavailable\""), "{answer}");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    let logs = app.relay.logs_flushed();
    let deadline: Vec<Value> = logs
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|entry| entry["fields"]["reason"] == "deadline")
        .collect();
    assert_eq!(deadline.len(), 1, "{logs}");
    assert_eq!(deadline[0]["level"], "WARN");
    assert_eq!(deadline[0]["fields"]["deadline_secs"], 2);
}

/// Rolling updates lose no request: told to stop (SIGTERM), the relay answers `/readyz` 503 at
/// once, keeps serving what arrives for its drain period (`OTP_RELAY_DRAIN`, 2 s here), each
/// answer saying `Connection: close`, then finishes what is in flight and exits 0. Four clients
/// send verifies without a pause across the signal (of a code in the wrong format, which never
/// uses up the attempts): every request sent before the drain ends is answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stopping_relay_drains_without_failing_a_request() {
    let drain = Duration::from_secs(2);
    let mut relay = RelayProcess::dev(&[("OTP_RELAY_DRAIN".into(), "2s".into())]);
    let mut challenges = Vec::new();
    for n in 0..4 {
        let email = format!("drain{n}@example.com");
        let reply = relay.issue(&email).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        challenges.push((challenge_of(&reply.json), email));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut streams = Vec::new();
    for (challenge, email) in challenges {
        let (url, stop) = (relay.url.clone(), std::sync::Arc::clone(&stop));
        streams.push(tokio::spawn(async move {
            // Its own client, keeping its connection open as a load balancer would.
            let client = reqwest::Client::new();
            let body = json!({ "challenge": challenge, "email": email, "code": "abc" });
            let mut sent = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let at = Instant::now();
                let answer = client
                    .post(format!("{url}/api/v1/challenges/verify"))
                    .json(&body)
                    .send()
                    .await;
                let outcome = match answer {
                    Ok(response) => Ok((
                        response.status(),
                        response
                            .headers()
                            .get("connection")
                            .map(|value| value.to_str().unwrap_or("").to_string()),
                    )),
                    Err(error) => Err(error.to_string()),
                };
                sent.push((at, outcome));
            }
            sent
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signalled = Instant::now();
    relay.send_terminate();
    // /readyz goes 503 at once.
    let readyz = reqwest::Client::new()
        .get(format!("{}/readyz", relay.url))
        .send()
        .await
        .unwrap();
    assert_eq!(readyz.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        signalled.elapsed() < Duration::from_millis(500),
        "{:?}",
        signalled.elapsed()
    );
    let said = readyz.text().await.unwrap();
    assert!(said.contains("shutting down"), "{said}");
    // Past the drain the listener closes; the streams stop a little after.
    tokio::time::sleep(drain + Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut during_drain = 0;
    let mut closing = 0;
    for stream in streams {
        for (at, outcome) in stream.await.unwrap() {
            // Sent before the drain ended (with a margin for the signal to arrive).
            if at < signalled + drain - Duration::from_millis(200) {
                let (status, connection) = outcome.unwrap_or_else(|error| {
                    panic!(
                        "a request sent {:?} after the signal failed: {error}",
                        at.checked_duration_since(signalled)
                    )
                });
                assert_eq!(
                    status,
                    StatusCode::BAD_REQUEST,
                    "the code's format is refused"
                );
                if at > signalled + Duration::from_millis(100) {
                    during_drain += 1;
                    closing += usize::from(connection.as_deref() == Some("close"));
                }
            }
        }
    }
    eprintln!("{during_drain} requests served while draining");
    assert!(during_drain > 20, "{during_drain}");
    assert_eq!(closing, during_drain, "every answer while draining closes");
    let status = relay.wait_for_exit();
    assert!(status.success(), "{status:?}");
    assert!(
        relay.logs().contains("shutting down: /readyz answers 503"),
        "{}",
        relay.logs()
    );
}
