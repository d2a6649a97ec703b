//! Failover on a real Redis Cluster: three masters with a replica each, two relays on it, and a
//! stream of whole flows (a code issued by one relay, verified at the other) running while the
//! master that holds the relays' keys is failed over to its replica (`CLUSTER FAILOVER`), then
//! killed with its replica taking over (`CLUSTER FAILOVER FORCE`), then frozen (`SIGSTOP`)
//! past the relays' command timeout and thawed. Throughout: no code is accepted twice, no
//! attempt budget starts again, every refusal is a 503 `unavailable` with `Retry-After`, and the
//! relays serve again by themselves within seconds of the cluster. The figures (requests
//! refused, time to recover) are printed.

use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the cluster notices a dead master: short, so that the test waits seconds, not minutes.
const NODE_TIMEOUT_MS: u32 = 2000;
/// The longest a relay may take to serve again once the cluster is whole.
const RECOVERY: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Stream {
    /// (challenge, address, code, verified at) of every code accepted.
    verified: Vec<(String, String, String, usize)>,
    /// When each request answered, and whether it succeeded.
    answers: Vec<(Instant, bool)>,
    /// Anything but success or a 503 with `Retry-After`.
    violations: Vec<String>,
}

/// A refusal must be a clear 503 with `Retry-After`.
fn judge(stream: &Mutex<Stream>, what: &str, reply: &Reply, success: StatusCode) -> bool {
    let ok = reply.status == success;
    let mut stream = stream.lock().unwrap();
    stream.answers.push((Instant::now(), ok));
    if !ok {
        let clear = reply.status == StatusCode::SERVICE_UNAVAILABLE
            && reply.error_code() == "unavailable"
            && reply.headers.contains_key("retry-after");
        if !clear {
            stream
                .violations
                .push(format!("{what}: {} {}", reply.status, reply.text));
        }
    }
    ok
}

async fn run_stream(
    relays: Arc<[RelayProcess; 2]>,
    stream: Arc<Mutex<Stream>>,
    stop: Arc<AtomicBool>,
) {
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let (issuer, verifier) = (n % 2, (n + 1) % 2);
        let email = format!("flow{n}@example.com");
        let sent = relays[issuer].issue(&email).await;
        if !judge(&stream, "issue", &sent, StatusCode::CREATED) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        let outbox = relays[issuer].outbox().await;
        let Some(code) = outbox
            .iter()
            .find(|entry| entry["to"] == email.as_str())
            .and_then(|entry| entry["text"].as_str()?.rsplit('#').next())
            .map(str::to_string)
        else {
            stream
                .lock()
                .unwrap()
                .violations
                .push(format!("no code for {email}"));
            continue;
        };
        let challenge = challenge_of(&sent.json);
        // Until it verifies: a refusal on the way is a 503, and the code is still good after it.
        let mut refused_before = false;
        loop {
            let verified = relays[verifier].verify(&challenge, &email, &code).await;
            // A verify whose script ran but whose answer was lost in the fault was refused
            // with a 503; asked again, the code is used: accepted once, as it must be.
            let used_in_the_fault = refused_before && verified.error_code() == "already_used";
            if used_in_the_fault || judge(&stream, "verify", &verified, StatusCode::OK) {
                stream.lock().unwrap().verified.push((
                    challenge.clone(),
                    email.clone(),
                    code.clone(),
                    verifier,
                ));
                break;
            }
            refused_before = true;
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A challenge with two of its three attempts spent, before a fault: after it, one wrong code
/// is its last (`attempts_left: 0`), never a budget started again.
async fn probe(relays: &[RelayProcess; 2], name: &str) -> (String, String, String) {
    let email = format!("{name}@example.com");
    let sent = loop {
        let sent = relays[0].issue(&email).await;
        if sent.status == StatusCode::CREATED {
            break sent;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let code = outbox_code_to(&relays[0].outbox().await, &email);
    let challenge = challenge_of(&sent.json);
    let wrong = wrong_code(&code);
    let mut spent = 0;
    while spent < 2 {
        let reply = relays[1].verify(&challenge, &email, &wrong).await;
        if reply.error_code() == "wrong_code" {
            spent += 1;
        }
    }
    (challenge, email, code)
}

fn outbox_code_to(outbox: &[Value], email: &str) -> String {
    outbox
        .iter()
        .find(|entry| entry["to"] == email)
        .and_then(|entry| entry["text"].as_str()?.rsplit('#').next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no code for {email}"))
}

/// Waits for `condition`, at most `limit`; how long it took.
async fn within(
    limit: Duration,
    what: &str,
    cluster: &RedisCluster,
    condition: impl Fn() -> bool,
) -> Duration {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < limit,
            "{what} within {limit:?}:\n{}",
            cluster.describe()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

/// From the cluster being whole again, how long until the stream succeeds on both relays' work
/// (a request that succeeded after that moment).
async fn recovery(stream: &Mutex<Stream>, since: Instant) -> Duration {
    let deadline = since + RECOVERY;
    loop {
        if let Some((at, _)) = stream
            .lock()
            .unwrap()
            .answers
            .iter()
            .find(|(at, ok)| *ok && *at > since)
        {
            return at.duration_since(since);
        }
        assert!(
            Instant::now() < deadline,
            "the relays serve again within {RECOVERY:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_failing_over_loses_no_used_mark_and_no_attempt() {
    let mut cluster = RedisCluster::start_with_replicas(NODE_TIMEOUT_MS);
    let env = vec![
        ("OTP_RELAY_STORE".to_string(), cluster.url()),
        ("OTP_RELAY_SENDS_PER_IP".to_string(), "5000/15m".to_string()),
    ];
    let relays = Arc::new([RelayProcess::dev(&env), RelayProcess::dev(&env)]);
    let stream = Arc::new(Mutex::new(Stream::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let running = tokio::spawn(run_stream(
        Arc::clone(&relays),
        Arc::clone(&stream),
        Arc::clone(&stop),
    ));
    let mut probes = Vec::new();
    let mut report = Vec::new();

    for fault in [
        "CLUSTER FAILOVER",
        "kill, then FAILOVER FORCE",
        "SIGSTOP for 3 s",
    ] {
        probes.push(probe(&relays, &format!("probe{}", probes.len())).await);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before = stream.lock().unwrap().answers.len();
        let ours = &cluster;
        let settled = || {
            ours.relays_master_and_replica()
                .and_then(|(master, replica)| Some((master, replica?)))
        };
        within(
            Duration::from_secs(30),
            "a master with a replica",
            ours,
            || ours.ok() && settled().is_some(),
        )
        .await;
        let (master, replica) = settled().expect("settled");
        let started = Instant::now();
        match fault {
            "CLUSTER FAILOVER" => {
                assert_eq!(cluster.nodes[replica].cli(&["cluster", "failover"]), "OK");
            }
            "kill, then FAILOVER FORCE" => {
                cluster.nodes[master].stop();
                assert_eq!(
                    cluster.nodes[replica].cli(&["cluster", "failover", "force"]),
                    "OK"
                );
            }
            _ => {
                cluster.nodes[master].pause();
                tokio::time::sleep(Duration::from_secs(3)).await;
                cluster.nodes[master].resume();
            }
        }
        let ours = &cluster;
        within(
            Duration::from_secs(30),
            &format!("after {fault}: the cluster is whole"),
            ours,
            || {
                ours.ok()
                    && ours
                        .relays_master_and_replica()
                        .is_some_and(|(now, _)| fault.starts_with("SIGSTOP") || now != master)
            },
        )
        .await;
        let whole = Instant::now();
        let back = recovery(&stream, whole).await;
        let (refused, outage) = {
            let stream = stream.lock().unwrap();
            let answers = &stream.answers[before..];
            let refused = answers.iter().filter(|(_, ok)| !ok).count();
            // The longest time without a successful answer, from the fault on.
            let successes: Vec<Instant> = std::iter::once(started)
                .chain(answers.iter().filter(|(_, ok)| *ok).map(|(at, _)| *at))
                .collect();
            let outage = successes
                .windows(2)
                .map(|pair| pair[1].saturating_duration_since(pair[0]))
                .max()
                .unwrap_or_default();
            (refused, outage)
        };
        report.push(format!(
            "{fault:<28} cluster whole after {:>4.1} s, relays serving {:>3.1} s later; longest without a success {:>4.1} s; {refused} requests refused (503)",
            whole.duration_since(started).as_secs_f64(),
            back.as_secs_f64(),
            outage.as_secs_f64()
        ));
        if fault.starts_with("kill") {
            // The killed node comes back empty and rejoins as a replica.
            cluster.nodes[master].start_again();
            let ours = &cluster;
            within(
                Duration::from_secs(30),
                "the killed node rejoins as a replica",
                ours,
                || {
                    ours.ok()
                        && ours.nodes[master]
                            .cli(&["info", "replication"])
                            .contains("master_link_status:up")
                },
            )
            .await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    stop.store(true, Ordering::Relaxed);
    running.await.unwrap();
    let stream = std::mem::take(&mut *stream.lock().unwrap());
    println!("failover, two relays, one stream of whole flows:");
    for line in &report {
        println!("  {line}");
    }
    println!(
        "  {} codes verified, {} requests answered, {} refused",
        stream.verified.len(),
        stream.answers.len(),
        stream.answers.iter().filter(|(_, ok)| !ok).count()
    );
    assert!(stream.violations.is_empty(), "{:?}", stream.violations);
    assert!(stream.verified.len() > 20, "the stream ran");

    // No code accepted twice: every verified code, at either relay, is `already_used`.
    for (challenge, email, code, at) in stream.verified.iter().step_by(3) {
        let again = relays[(at + 1) % 2].verify(challenge, email, code).await;
        assert_eq!(
            again.error_code(),
            "already_used",
            "{email}: {}",
            again.text
        );
    }
    // No attempt budget started again: each probe's third wrong code is its last.
    for (challenge, email, code) in &probes {
        let third = relays[0].verify(challenge, email, &wrong_code(code)).await;
        assert_eq!(third.error_code(), "wrong_code", "{}", third.text);
        assert_eq!(
            third.json["error"]["attempts_left"], 0,
            "{email}: {}",
            third.text
        );
        let right = relays[1].verify(challenge, email, code).await;
        assert_eq!(right.error_code(), "too_many_attempts", "{}", right.text);
    }
}
