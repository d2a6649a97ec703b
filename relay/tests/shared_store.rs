//! Several relays, one Redis: what one relay issues, another verifies, and the limits, attempts
//! and single use hold across them, on a single Redis server, on one that speaks only TLS, and
//! on a three-master Redis Cluster, plain and TLS-only. Real `redis-server` processes and real
//! relay binaries.

use otp_relay_tests::*;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The Redis the relays of one test share.
enum Backing {
    Single(RedisServer),
    /// TLS only, with a certificate from a private CA the relays are told to trust.
    Tls(RedisServer, Arc<Certs>),
    Cluster(RedisCluster),
    /// A cluster whose nodes speak only TLS, the bus included.
    TlsCluster(RedisCluster, Arc<Certs>),
}

impl Backing {
    fn single() -> Backing {
        Backing::Single(RedisServer::start())
    }

    fn tls() -> Backing {
        let certs = Arc::new(Certs::new());
        Backing::Tls(RedisServer::start_tls(Arc::clone(&certs)), certs)
    }

    fn cluster() -> Backing {
        Backing::Cluster(RedisCluster::start())
    }

    fn tls_cluster() -> Backing {
        let certs = Arc::new(Certs::new());
        Backing::TlsCluster(RedisCluster::start_tls(Arc::clone(&certs)), certs)
    }

    /// The relay settings that point at it.
    fn env(&self) -> Vec<(String, String)> {
        match self {
            Backing::Single(server) => vec![("OTP_RELAY_STORE".into(), server.url())],
            Backing::Tls(server, certs) => vec![
                ("OTP_RELAY_STORE".into(), server.url()),
                (
                    "OTP_RELAY_STORE_CA".into(),
                    certs.ca().to_string_lossy().into_owned(),
                ),
            ],
            Backing::Cluster(cluster) => vec![("OTP_RELAY_STORE".into(), cluster.url())],
            Backing::TlsCluster(cluster, certs) => vec![
                ("OTP_RELAY_STORE".into(), cluster.url()),
                (
                    "OTP_RELAY_STORE_CA".into(),
                    certs.ca().to_string_lossy().into_owned(),
                ),
            ],
        }
    }

    /// Every server holding data.
    fn servers(&self) -> Vec<&RedisServer> {
        match self {
            Backing::Single(server) | Backing::Tls(server, _) => vec![server],
            Backing::Cluster(cluster) | Backing::TlsCluster(cluster, _) => {
                cluster.nodes.iter().collect()
            }
        }
    }
}

/// Two relays in development mode on one Redis (each has its own outbox).
fn two_relays(redis: &Backing) -> (RelayProcess, RelayProcess) {
    let env = redis.env();
    (RelayProcess::dev(&env), RelayProcess::dev(&env))
}

/// Runs a test against a single Redis, a TLS-only Redis and a three-master cluster, plain and
/// TLS-only.
macro_rules! on_every_store {
    ($($test:ident),* $(,)?) => {$(
        mod $test {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn single() {
                super::$test(Backing::single()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn tls() {
                super::$test(Backing::tls()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn cluster() {
                super::$test(Backing::cluster()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn tls_cluster() {
                super::$test(Backing::tls_cluster()).await;
            }
        }
    )*};
}

on_every_store!(
    a_code_issued_by_one_relay_verifies_once_on_another,
    attempts_and_send_limits_are_one_budget_across_relays,
    parallel_right_codes_over_two_relays_verify_exactly_once,
    parallel_wrong_codes_over_two_relays_are_judged_exactly_three_times,
    a_restarted_relay_still_verifies_its_outstanding_codes,
    every_key_expires_but_the_epoch,
    an_evicting_policy_is_refused_while_it_lasts,
    a_proof_of_work_is_spent_once_across_relays,
    each_kind_of_request_sends_redis_one_script,
);

/// Issues a code on `relay` for `email`: the challenge and the code from its outbox.
async fn issue(relay: &RelayProcess, email: &str) -> (String, String) {
    let reply = relay.issue(email).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let entry = relay
        .outbox()
        .await
        .into_iter()
        .find(|entry| entry["to"] == email)
        .expect("a message");
    (challenge_of(&reply.json), outbox_code(&entry))
}

/// `n` verifies of the same challenge and code at once, alternating between `relays`; their
/// answers' error codes ("" for a success).
async fn verify_in_parallel(
    relays: [RelayProcess; 2],
    n: usize,
    challenge: &str,
    email: &str,
    code: &str,
) -> Vec<String> {
    let relays = relays.map(std::sync::Arc::new);
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let relay = std::sync::Arc::clone(&relays[i % 2]);
            let (challenge, email, code) =
                (challenge.to_string(), email.to_string(), code.to_string());
            tokio::spawn(async move {
                relay
                    .verify(&challenge, &email, &code)
                    .await
                    .error_code()
                    .to_string()
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

async fn a_code_issued_by_one_relay_verifies_once_on_another(redis: Backing) {
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "ada@example.com").await;
    let verified = b.verify(&challenge, "ada@example.com", &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    for relay in [&a, &b] {
        let again = relay.verify(&challenge, "ada@example.com", &code).await;
        assert_eq!(again.error_code(), "already_used", "{}", again.text);
    }
}

async fn attempts_and_send_limits_are_one_budget_across_relays(redis: Backing) {
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "bob@example.com").await;
    for (n, relay) in [&a, &b, &a].into_iter().enumerate() {
        let reply = relay
            .verify(&challenge, "bob@example.com", &wrong_code(&code))
            .await;
        assert_eq!(reply.error_code(), "wrong_code");
        assert_eq!(reply.json["error"]["attempts_left"], 2 - n);
    }
    let right = b.verify(&challenge, "bob@example.com", &code).await;
    assert_eq!(right.error_code(), "too_many_attempts", "{}", right.text);

    // Five sends to one mailbox, alternating relays; the sixth is refused on either.
    for n in 0..5 {
        let relay = if n % 2 == 0 { &a } else { &b };
        assert_eq!(
            relay.issue("cy@example.com").await.status,
            StatusCode::CREATED
        );
    }
    let sixth = b.issue("cy@example.com").await;
    assert_eq!(
        sixth.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        sixth.text
    );
}

async fn parallel_right_codes_over_two_relays_verify_exactly_once(redis: Backing) {
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "dee@example.com").await;
    let answers = verify_in_parallel([a, b], 16, &challenge, "dee@example.com", &code).await;
    let ok = answers.iter().filter(|code| code.is_empty()).count();
    for answer in &answers {
        assert!(
            ["", "already_used", "too_many_attempts"].contains(&answer.as_str()),
            "{answer}"
        );
    }
    assert_eq!(ok, 1);
}

async fn a_restarted_relay_still_verifies_its_outstanding_codes(redis: Backing) {
    let (mut a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "eve@example.com").await;
    a.restart();
    let verified = a.verify(&challenge, "eve@example.com", &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_down_is_503_fast_and_back_empty_refuses_what_came_before() {
    let mut backing = Backing::single();
    let (a, _b) = two_relays(&backing);
    let Backing::Single(redis) = &mut backing else {
        unreachable!()
    };
    let (challenge, code) = issue(&a, "fay@example.com").await;

    redis.stop();
    let started = Instant::now();
    let down = a.verify(&challenge, "fay@example.com", &code).await;
    assert_eq!(down.error_code(), "unavailable", "{}", down.text);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let ready = a
        .client
        .get(format!("{}/readyz", a.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let reason = ready.text().await.unwrap();
    assert!(reason.contains("did not answer"), "{reason}");
    for raw in ["os error", "refused", "127.0.0.1"] {
        assert!(
            !reason.contains(raw),
            "Redis's own words stay in the log: {reason}"
        );
    }
    assert!(a.healthy().await, "the process itself still serves");

    // Redis comes back empty: the relay recovers by itself, and the earlier challenge (whose
    // used mark and attempts would be gone) is refused.
    redis.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = a.verify(&challenge, "fay@example.com", &code).await;
        if reply.error_code() != "unavailable" {
            assert_eq!(reply.error_code(), "expired", "{}", reply.text);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not back within 15 s: {}",
            reply.text
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (fresh, fresh_code) = issue(&a, "fay2@example.com").await;
    assert_eq!(
        a.verify(&fresh, "fay2@example.com", &fresh_code)
            .await
            .status,
        StatusCode::OK
    );
}

async fn parallel_wrong_codes_over_two_relays_are_judged_exactly_three_times(redis: Backing) {
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "gil@example.com").await;
    let answers = verify_in_parallel(
        [a, b],
        64,
        &challenge,
        "gil@example.com",
        &wrong_code(&code),
    )
    .await;
    for answer in &answers {
        assert!(
            ["wrong_code", "too_many_attempts"].contains(&answer.as_str()),
            "{answer}"
        );
    }
    let judged = answers.iter().filter(|code| *code == "wrong_code").count();
    assert_eq!(judged, 3);
    let third = RelayProcess::dev(&redis.env());
    let right = third.verify(&challenge, "gil@example.com", &code).await;
    assert_eq!(right.error_code(), "too_many_attempts");
}

/// Every key the relay writes has a TTL, except the epoch; issuing a code stores nothing but
/// the limits; a live key takes little memory; and every key is on one node (one hash tag).
/// Exact sizes and lifetimes: `redis_store::tests`.
async fn every_key_expires_but_the_epoch(redis: Backing) {
    let mut env = redis.env();
    env.push(("OTP_RELAY_SENDS_PER_IP".into(), "1000/1h".into()));
    let (a, b) = (RelayProcess::dev(&env), RelayProcess::dev(&env));
    let mut issued = Vec::new();
    for n in 0..30 {
        let relay = if n % 2 == 0 { &a } else { &b };
        issued.push(issue(relay, &format!("key{n}@example.com")).await);
    }
    for (n, (challenge, code)) in issued.iter().enumerate().take(10) {
        let wrong = b
            .verify(challenge, &format!("key{n}@example.com"), &wrong_code(code))
            .await;
        assert_eq!(wrong.error_code(), "wrong_code", "{}", wrong.text);
    }
    let (challenge, code) = &issued[29];
    let right = a.verify(challenge, "key29@example.com", code).await;
    assert_eq!(right.status, StatusCode::OK, "{}", right.text);

    let mut kinds = std::collections::BTreeMap::<String, usize>::new();
    let mut sizes = Vec::new();
    let mut servers_with_data = 0;
    for server in redis.servers() {
        let keys = server.keys();
        let data: Vec<&String> = keys.iter().filter(|k| !k.ends_with(":epoch")).collect();
        servers_with_data += usize::from(!data.is_empty());
        *kinds.entry("epoch".into()).or_default() += keys.len() - data.len();
        let commands: Vec<String> = data
            .iter()
            .flat_map(|key| [format!("PTTL {key}"), format!("MEMORY USAGE {key}")])
            .collect();
        let answers = server.batch(&commands);
        assert_eq!(answers.len(), commands.len(), "{answers:?}");
        for (key, pair) in data.iter().zip(answers.chunks(2)) {
            let ttl: i64 = pair[0].parse().unwrap();
            assert!(ttl > 0, "{key} has no TTL ({ttl})");
            sizes.push(pair[1].parse::<u64>().unwrap());
            // {otp-relay}:kind:id
            let kind = key.split(':').nth(1).unwrap().to_string();
            *kinds.entry(kind).or_default() += 1;
        }
    }
    let expected: std::collections::BTreeMap<String, usize> = [
        ("epoch", 1),
        ("mailbox-sends", 30),
        ("share-sends", 30),
        ("client-sends", 1),
        ("challenge", 11),
        ("mailbox-failures", 10),
        ("share-failures", 10),
    ]
    .into_iter()
    .map(|(kind, n)| (kind.to_string(), n))
    .collect();
    assert_eq!(
        kinds, expected,
        "nothing else is stored, nothing per code issued"
    );
    let average = sizes.iter().sum::<u64>() as f64 / sizes.len() as f64;
    eprintln!(
        "{} live keys, {average:.0} bytes each (MEMORY USAGE)",
        sizes.len()
    );
    // About 110 bytes on one server and 130 on a cluster node (Redis 7.0, as README says).
    assert!(average <= 160.0, "{average} bytes per key");
    assert_eq!(servers_with_data, 1, "one hash tag: every key on one node");
}

/// A28: a Redis node whose `maxmemory-policy` is switched to an evicting one while the relays
/// run: within seconds they refuse (503, `/readyz` 503 naming the setting), a new relay refuses
/// to start, and once it is `noeviction` again they serve, the held challenge included.
async fn an_evicting_policy_is_refused_while_it_lasts(redis: Backing) {
    let (a, b) = two_relays(&redis);
    let (challenge, code) = issue(&a, "eve@example.com").await;
    let servers = redis.servers();
    let node = servers
        .into_iter()
        .find(|server| !server.keys().is_empty())
        .expect("a node holds the relay's keys");
    assert_eq!(
        node.cli(&["config", "set", "maxmemory-policy", "volatile-ttl"]),
        "OK"
    );
    for relay in [&a, &b] {
        let reason = wait_for_readiness(relay, StatusCode::SERVICE_UNAVAILABLE).await;
        assert!(
            reason.contains("maxmemory-policy is volatile-ttl"),
            "{reason}"
        );
        assert!(reason.contains("noeviction"), "{reason}");
    }
    let refused = b.verify(&challenge, "eve@example.com", &code).await;
    assert_eq!(refused.error_code(), "unavailable", "{}", refused.text);
    assert_eq!(
        b.issue("eve2@example.com").await.error_code(),
        "unavailable"
    );
    let env = redis.env();
    let mut start: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    start.push(("OTP_RELAY_DEV", "1"));
    let (status, said) = refused_start(&start);
    assert_ne!(status, Some(0));
    assert!(said.contains("maxmemory-policy"), "{said}");

    assert_eq!(
        node.cli(&["config", "set", "maxmemory-policy", "noeviction"]),
        "OK"
    );
    for relay in [&a, &b] {
        wait_for_readiness(relay, StatusCode::OK).await;
    }
    let verified = b.verify(&challenge, "eve@example.com", &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
}

/// Polls `/readyz` until it answers `status` (within 10 s); its body.
async fn wait_for_readiness(relay: &RelayProcess, status: StatusCode) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = relay
            .client
            .get(format!("{}/readyz", relay.url))
            .send()
            .await
            .unwrap();
        let seen = answer.status();
        let body = answer.text().await.unwrap();
        if seen == status {
            return body;
        }
        assert!(Instant::now() < deadline, "/readyz stayed {seen}: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A23 on a cluster: a master that loses its data (a failover to an empty replica) takes the
/// used mark of a challenge with it; that challenge is not accepted twice, and every challenge
/// issued before the loss is refused, on both relays, while new ones verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cluster_master_that_loses_its_data_refuses_what_came_before() {
    let redis = Backing::cluster();
    let (a, b) = two_relays(&redis);
    let (used, used_code) = issue(&a, "hal@example.com").await;
    let verified = b.verify(&used, "hal@example.com", &used_code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    let (pending, pending_code) = issue(&a, "ida@example.com").await;

    let Backing::Cluster(cluster) = &redis else {
        unreachable!()
    };
    let holder = cluster
        .nodes
        .iter()
        .find(|node| !node.keys().is_empty())
        .expect("a master holds the relay's keys");
    holder.flush();

    for relay in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let again = relay.verify(&used, "hal@example.com", &used_code).await;
            assert_ne!(again.status, StatusCode::OK, "accepted twice");
            if again.error_code() != "unavailable" {
                assert_eq!(again.error_code(), "expired", "{}", again.text);
                break;
            }
            assert!(Instant::now() < deadline, "{}", again.text);
        }
    }
    let before = b.verify(&pending, "ida@example.com", &pending_code).await;
    assert_eq!(before.error_code(), "expired", "{}", before.text);
    for relay in [&a, &b] {
        let (fresh, fresh_code) = issue(relay, "jo@example.com").await;
        let ok = relay.verify(&fresh, "jo@example.com", &fresh_code).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
    }
}

/// A relay told `rediss://` trusts only the CA it is given: without it, the private CA's
/// certificate is refused and the relay does not start.
#[tokio::test]
async fn a_tls_store_is_trusted_only_through_its_ca() {
    let redis = Backing::tls();
    let Backing::Tls(server, _) = &redis else {
        unreachable!()
    };
    let url = server.url();
    let (status, said) = refused_start(&[("OTP_RELAY_DEV", "1"), ("OTP_RELAY_STORE", &url)]);
    assert_eq!(status, Some(1), "{said}");
    assert!(said.contains("cannot reach the store"), "{said}");
    assert!(said.contains("invalid peer certificate"), "{said}");
    let plain = url.replace("rediss://", "redis://");
    let (status, said) = refused_start(&[("OTP_RELAY_DEV", "1"), ("OTP_RELAY_STORE", &plain)]);
    assert_eq!(status, Some(1), "{said}");
    assert!(said.contains("cannot reach the store"), "{said}");
}

/// A25 across relays: a proof of work one relay handed out pays on another, once; sent to both
/// at the same moment, exactly one send goes.
async fn a_proof_of_work_is_spent_once_across_relays(redis: Backing) {
    let mut env = redis.env();
    env.push(("OTP_RELAY_POW".into(), "on".into()));
    let (a, b) = (RelayProcess::dev(&env), RelayProcess::dev(&env));
    let from_a = a.pow().await;
    let paid = b.issue_paying("ada@example.com", &from_a).await;
    assert_eq!(paid.status, StatusCode::CREATED, "{}", paid.text);
    for relay in [&a, &b] {
        let replayed = relay.issue_paying("bob@example.com", &from_a).await;
        assert_eq!(replayed.error_code(), "pow_required", "{}", replayed.text);
    }

    let pow = a.pow().await;
    let (first, second) = tokio::join!(
        a.issue_paying("cy@example.com", &pow),
        b.issue_paying("dee@example.com", &pow)
    );
    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 428], "{} / {}", first.text, second.text);
}

/// The commands clients sent the servers since `before` (a count per monitor), leaving out the
/// relay's upkeep (a script on the epoch's key alone, every two seconds).
fn request_commands(monitors: &[Monitor], before: &[usize]) -> Vec<String> {
    for monitor in monitors {
        monitor.caught_up();
    }
    monitors
        .iter()
        .zip(before)
        .flat_map(|(monitor, from)| monitor.commands().into_iter().skip(*from))
        .filter(|line| !line.contains("\" \"1\" \"{otp-relay}:epoch\""))
        .collect()
}

fn seen(monitors: &[Monitor]) -> Vec<usize> {
    for monitor in monitors {
        monitor.caught_up();
    }
    monitors.iter().map(|m| m.commands().len()).collect()
}

/// Counted, not assumed: what each kind of request sends Redis (`MONITOR`, commands inside
/// scripts left out), over ten requests of each kind, with the proof of work on: exactly one
/// script each, none a hidden `GET`, `PING` or `EXISTS`, the proof of work's claim included.
async fn each_kind_of_request_sends_redis_one_script(redis: Backing) {
    let mut env = redis.env();
    env.push(("OTP_RELAY_POW".into(), "on".into()));
    env.push(("OTP_RELAY_TRUST_PROXY".into(), "127.0.0.1".into()));
    env.push(("OTP_RELAY_RESEND_AFTER".into(), "1s".into()));
    let relay = RelayProcess::dev(&env);
    // Each send from a client network of its own, so each pays the base difficulty.
    let ip = |kind: u8, n: usize| format!("10.{kind}.{n}.1");
    let paid_send = |ip: String, path: &'static str, mut body: serde_json::Value| {
        let relay = &relay;
        async move {
            body["pow"] = serde_json::Value::String(relay.pow_from(&ip).await);
            relay.post_for(&ip, path, body).await
        }
    };
    // Warm: the script loaded on every node (a script a node has not seen costs a second
    // command once), every connection open.
    let mut warm = Vec::new();
    for n in 0..10 {
        let email = format!("warm{n}@example.com");
        let sent = paid_send(ip(1, n), "/api/v1/challenges", json!({ "email": email })).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
        warm.push((sent.json["challenge"].as_str().unwrap().to_string(), email));
    }
    let (challenge, email) = &warm[0];
    let code = relay
        .outbox()
        .await
        .into_iter()
        .find(|entry| entry["to"] == email.as_str())
        .map(|entry| outbox_code(&entry))
        .unwrap();
    relay.verify(challenge, email, &wrong_code(&code)).await;
    assert_eq!(
        relay.verify(challenge, email, &code).await.status,
        StatusCode::OK
    );

    let servers = redis.servers();
    let monitors: Vec<Monitor> = servers.iter().map(|server| server.monitor()).collect();
    const N: usize = 10;
    let mut per_request = Vec::new();

    let before = seen(&monitors);
    let mut challenges = Vec::new();
    for n in 0..N {
        challenges.push(relay.pow_challenge_from(&ip(2, n)).await);
    }
    per_request.push((
        "proof-of-work challenge",
        request_commands(&monitors, &before),
    ));
    let solutions: Vec<String> = challenges
        .iter()
        .map(|challenge| otp_relay::testing::solve_pow(challenge).unwrap())
        .collect();

    let before = seen(&monitors);
    let mut issued = Vec::new();
    for (n, pow) in solutions.iter().enumerate() {
        let email = format!("count{n}@example.com");
        let body = json!({ "email": email, "pow": pow });
        let sent = relay.post_for(&ip(2, n), "/api/v1/challenges", body).await;
        assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.text);
        issued.push(sent.json["challenge"].as_str().unwrap().to_string());
    }
    per_request.push(("send", request_commands(&monitors, &before)));
    let outbox = relay.outbox().await;
    let code_of = |n: usize| {
        let email = format!("count{n}@example.com");
        outbox
            .iter()
            .find(|entry| entry["to"] == email.as_str())
            .map(outbox_code)
            .unwrap()
    };

    let before = seen(&monitors);
    for (n, challenge) in issued.iter().enumerate() {
        let email = format!("count{n}@example.com");
        let wrong = relay
            .verify(challenge, &email, &wrong_code(&code_of(n)))
            .await;
        assert_eq!(wrong.error_code(), "wrong_code");
    }
    per_request.push(("wrong code", request_commands(&monitors, &before)));

    let before = seen(&monitors);
    for (n, challenge) in issued.iter().enumerate() {
        let email = format!("count{n}@example.com");
        let right = relay.verify(challenge, &email, &code_of(n)).await;
        assert_eq!(right.status, StatusCode::OK, "{}", right.text);
    }
    per_request.push(("right code", request_commands(&monitors, &before)));

    // A resend waits after the issue (1 s here): a real relay's clock cannot be moved.
    let mut resend_pows = Vec::new();
    for n in 0..N {
        resend_pows.push(relay.pow_from(&ip(1, n)).await);
    }
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = seen(&monitors);
    for (n, ((challenge, email), pow)) in warm.iter().zip(&resend_pows).enumerate().skip(1) {
        let body = json!({ "challenge": challenge, "email": email, "pow": pow });
        let resent = relay
            .post_for(&ip(1, n), "/api/v1/challenges/resend", body)
            .await;
        assert_eq!(resent.status, StatusCode::OK, "{}", resent.text);
    }
    per_request.push(("resend", request_commands(&monitors, &before)));

    let mut counts = Vec::new();
    for (kind, commands) in &per_request {
        for command in commands {
            let name = command.split('"').nth(1).unwrap_or_default();
            assert_eq!(name, "EVALSHA", "{kind}: not the loaded script: {command}");
            assert!(command.contains("{otp-relay}:"), "{command}");
        }
        let requests = if *kind == "resend" { N - 1 } else { N };
        counts.push((*kind, commands.len() / requests, commands.len() % requests));
    }
    assert_eq!(
        counts,
        [
            ("proof-of-work challenge", 1, 0),
            ("send", 1, 0),
            ("wrong code", 1, 0),
            ("right code", 1, 0),
            ("resend", 1, 0)
        ],
        "scripts per request (and a remainder, which should be 0)"
    );
}
