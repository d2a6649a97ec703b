//! What a security review found, each closed and shown here on the in-process relay: challenges
//! bound to their site (A15), limits per mailbox (A16, A17), no routing characters (A18), failed
//! deliveries still counted per client (A19), refusals that leave no state and a full store that
//! turns nobody away (A20), trusted proxies by address (A22), one clock for expiry and the store,
//! and a deadline on every request (A21). The numbers are those of docs/security.md.

use super::{ADA, assert_refused, claims, relay, relay_with, wrong};
use crate::testing::{Caller, InProcessRelay};
use axum::http::StatusCode;
use serde_json::json;
use std::time::Duration;

const SHOP: &str = "https://shop.example";
const OTHER: &str = "https://other.example";

fn two_sites() -> InProcessRelay {
    relay_with(&["--allowed-origins", &format!("{SHOP},{OTHER}")])
}

#[tokio::test]
async fn a_challenge_verifies_only_from_the_site_it_was_issued_for() {
    let relay = two_sites();
    let shop = Caller::default().from_site(SHOP);
    let issued = relay.issue_as(&shop, ADA).await;
    assert_eq!(issued.status, StatusCode::CREATED);
    let (challenge, code) = (issued.challenge(), relay.last_code(ADA).unwrap());

    // The right code, from another site or from no site: refused, and no attempt used.
    for caller in [Caller::default().from_site(OTHER), Caller::default()] {
        let answer = relay.verify_as(&caller, &challenge, ADA, &code).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_challenge");
        let resend = relay
            .post_as(
                &caller,
                "/api/v1/challenges/resend",
                &json!({ "challenge": challenge, "email": ADA }),
            )
            .await;
        assert_refused(&resend, StatusCode::BAD_REQUEST, "invalid_challenge");
    }
    let wrong_answer = relay.verify_as(&shop, &challenge, ADA, &wrong(&code)).await;
    assert_eq!(wrong_answer.json["error"]["attempts_left"], 2);

    let verified = relay.verify_as(&shop, &challenge, ADA, &code).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.json);
    assert_eq!(
        claims(verified.json["proof"].as_str().unwrap())["aud"],
        SHOP
    );

    // Without an origin at issue, only without one at verify.
    let (plain, plain_code) = relay.challenge_and_code("bob@example.com").await.unwrap();
    let answer = relay
        .verify_as(&shop, &plain, "bob@example.com", &plain_code)
        .await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_challenge");
    assert_eq!(
        relay
            .verify(&plain, "bob@example.com", &plain_code)
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn subaddresses_and_case_share_one_mailbox_send_limit() {
    let relay = relay();
    for n in 1..=5 {
        let answer = relay.issue(&format!("ada+{n}@example.com")).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{n}");
        assert_eq!(answer.json["email"], format!("ada+{n}@example.com"));
    }
    for spelling in ["ada+6@example.com", "ADA@Example.com", "Ada+x@EXAMPLE.COM"] {
        let answer = relay.issue(spelling).await;
        assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    assert_eq!(relay.sent(), 5);
    // Gmail ignores dots, and googlemail.com is the same mailbox.
    for n in 1..=5 {
        let dotted = format!("a.d.a+{n}@gmail.com");
        assert_eq!(relay.issue(&dotted).await.status, StatusCode::CREATED);
    }
    let answer = relay.issue("ada@googlemail.com").await;
    assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    // The proof names the address as entered.
    let (challenge, code) = relay
        .challenge_and_code("bob+shop@example.com")
        .await
        .unwrap();
    let verified = relay
        .verify(&challenge, "bob+shop@example.com", &code)
        .await;
    assert_eq!(verified.json["email"], "bob+shop@example.com");
    assert_eq!(
        claims(verified.json["proof"].as_str().unwrap())["email"],
        "bob+shop@example.com"
    );
}

#[tokio::test]
async fn the_failure_budget_is_per_mailbox_and_stops_sends_and_resends() {
    let relay = relay_with(&[
        "--failures-per-address",
        "3/1h",
        "--sends-per-address",
        "50/15m",
        "--sends-per-address-total",
        "100/15m",
    ]);
    let (held, _) = relay
        .challenge_and_code("ada+held@example.com")
        .await
        .unwrap();
    for spelling in ["ada+1@example.com", "ADA@example.com", "ada+2@example.com"] {
        let challenge = relay.issue(spelling).await.challenge();
        let code = relay.last_code(&spelling.to_lowercase()).unwrap();
        let answer = relay.verify(&challenge, spelling, &wrong(&code)).await;
        assert_eq!(answer.error_code(), "wrong_code");
    }
    let sent = relay.sent();
    let refused = relay.issue("ada+3@example.com").await;
    assert_refused(&refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(refused.json["error"]["retry_after"].as_u64().unwrap() > 3000);
    relay.clock.advance(Duration::from_secs(30));
    let resend = relay.resend(&held, "ada+held@example.com").await;
    assert_refused(&resend, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert_eq!(relay.sent(), sent, "no message for a locked mailbox");
    assert_eq!(
        relay.issue("bob@example.com").await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn mail_routing_characters_are_not_an_address() {
    let relay = relay();
    for address in [
        "ada%evil.example@example.com",
        "evil.example!ada@example.com",
    ] {
        let answer = relay.issue(address).await;
        assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_email");
    }
    assert_eq!(relay.sent(), 0);
    assert!(relay.store.is_empty(), "an invalid address leaves nothing");
}

#[tokio::test]
async fn failed_deliveries_are_refunded_to_the_person_but_not_to_the_client() {
    let relay = relay();
    relay.delivery.fail(true);
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(relay.issue(ADA).await.status);
    }
    assert!(
        statuses[..20].iter().all(|s| *s == StatusCode::BAD_GATEWAY),
        "{statuses:?}"
    );
    assert!(
        statuses[20..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Once the mail server is back, the person is not locked out: from another network, all
    // five sends to the mailbox are still there.
    relay.delivery.fail(false);
    let elsewhere = Caller::at("198.51.100.20");
    for n in 1..=5 {
        assert_eq!(
            relay.issue_as(&elsewhere, ADA).await.status,
            StatusCode::CREATED,
            "{n}"
        );
    }
}

#[tokio::test]
async fn refused_sends_leave_no_state_and_a_full_store_turns_nobody_away() {
    // The mailbox's total is spent, from five networks (one send each).
    let relay = relay_with(&[
        "--store-capacity",
        "40",
        "--sends-per-address",
        "1/15m",
        "--sends-per-address-total",
        "5/15m",
    ]);
    for n in 0..5 {
        let network = Caller::at(&format!("10.2.{n}.1"));
        assert_eq!(
            relay.issue_as(&network, ADA).await.status,
            StatusCode::CREATED
        );
    }
    let before = relay.store.len();
    for n in 0..80 {
        let client = Caller::at(&format!("10.0.{}.{}", n / 200, n % 200 + 1));
        let answer = relay.issue_as(&client, ADA).await;
        assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    }
    assert_eq!(relay.store.len(), before, "80 refusals left nothing behind");

    // Accepted sends from many clients fill the send limits to the brim …
    for n in 0..60 {
        let client = Caller::at(&format!("10.1.0.{}", n + 1));
        let answer = relay.issue_as(&client, &format!("p{n}@example.com")).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{n}");
        assert!(relay.store.len() <= 40);
    }
    // … and a fresh person still gets a code and verifies it.
    let fresh = Caller::at("203.0.113.77");
    let issued = relay.issue_as(&fresh, "fresh@example.com").await;
    assert_eq!(issued.status, StatusCode::CREATED);
    let code = relay.last_code("fresh@example.com").unwrap();
    let verified = relay
        .verify_as(&fresh, &issued.challenge(), "fresh@example.com", &code)
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.json);
}

#[tokio::test]
async fn forwarded_for_is_believed_only_from_trusted_proxies() {
    let relay = relay_with(&[
        "--trust-proxy",
        "10.0.0.0/8",
        "--sends-per-address",
        "99/15m",
        "--sends-per-address-total",
        "100/15m",
    ]);
    // An untrusted client that names a new address each time is still one client.
    for n in 0..21 {
        let spoofer = Caller::at("203.0.113.9").forwarding(&format!("198.51.100.{n}"));
        let answer = relay.issue_as(&spoofer, &format!("s{n}@example.com")).await;
        let expected = if n < 20 {
            StatusCode::CREATED
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(answer.status, expected, "{n}");
    }
    // Through the proxy, each client is itself, with or without a port, whatever it prepends.
    for n in 0..21 {
        let through_proxy =
            Caller::at("10.0.0.2").forwarding(&format!("6.6.6.6, 198.51.100.{n}:{}", 4000 + n));
        let answer = relay
            .issue_as(&through_proxy, &format!("c{n}@example.com"))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{n}: {}", answer.json);
    }
    // One client through the proxy with ports that change is still one client.
    let mut last = StatusCode::CREATED;
    for n in 0..21 {
        let same = Caller::at("10.0.0.2").forwarding(&format!("192.0.2.50:{}", 5000 + n));
        last = relay
            .issue_as(&same, &format!("d{n}@example.com"))
            .await
            .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // A proxy that cannot say who the client is: refused, not put in a shared bucket.
    let unknown = Caller::at("10.0.0.2").forwarding("unknown");
    let answer = relay.issue_as(&unknown, "u@example.com").await;
    assert_refused(&answer, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        answer.json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("proxy")
    );
}

#[tokio::test]
async fn a_clock_stepped_back_neither_resets_attempts_nor_reopens_a_used_challenge() {
    let relay = relay();
    let (challenge, code) = relay.challenge_and_code(ADA).await.unwrap();
    // The clock is corrected an hour back: the token is good for an hour longer.
    relay.clock.rewind(Duration::from_secs(3600));
    for _ in 0..3 {
        relay.verify(&challenge, ADA, &wrong(&code)).await;
    }
    // Past the code's lifetime counted from the first attempt, the attempts still count.
    relay.clock.advance(Duration::from_secs(600));
    let answer = relay.verify(&challenge, ADA, &code).await;
    assert_refused(&answer, StatusCode::TOO_MANY_REQUESTS, "too_many_attempts");

    let (challenge, code) = relay.challenge_and_code("bob@example.com").await.unwrap();
    assert_eq!(
        relay
            .verify(&challenge, "bob@example.com", &code)
            .await
            .status,
        StatusCode::OK
    );
    relay.clock.rewind(Duration::from_secs(3600));
    relay.clock.advance(Duration::from_secs(600));
    let replay = relay.verify(&challenge, "bob@example.com", &code).await;
    assert_refused(&replay, StatusCode::CONFLICT, "already_used");
}

#[tokio::test(start_paused = true)]
async fn a_request_that_passes_its_deadline_is_answered() {
    let relay = relay_with(&["--request-timeout", "20s"]);
    relay.delivery.hang(true);
    let started = tokio::time::Instant::now();
    let answer = relay.issue(ADA).await;
    assert_refused(&answer, StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    assert_eq!(started.elapsed().as_secs(), 20);
}

#[tokio::test]
async fn connections_past_the_bound_wait_for_a_stalled_one_to_be_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let relay = relay_with(&["--max-connections", "2", "--header-timeout", "1s"]);
    let (address, _server) = relay.serve_on_loopback().await.unwrap();
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHo")
            .await
            .unwrap();
        stalled.push(stream);
    }
    let started = std::time::Instant::now();
    let mut third = tokio::net::TcpStream::connect(address).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    third.read_to_string(&mut answer).await.unwrap();
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "served once a stalled connection was closed after its 1 s header timeout, not before: {waited:?}"
    );
    for mut stream in stalled {
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
    }
}

#[tokio::test]
async fn no_request_gets_503_from_a_full_in_memory_store() {
    // Room for two exact entries: everything past them goes to the overflow sketch.
    let relay = relay_with(&["--store-capacity", "2", "--sends-per-ip", "1000/15m"]);
    for n in 0..40 {
        let email = format!("full{n}@example.com");
        let (challenge, code) = relay.challenge_and_code(&email).await.unwrap();
        let wrong_answer = relay.verify(&challenge, &email, &wrong(&code)).await;
        assert_eq!(
            wrong_answer.error_code(),
            "wrong_code",
            "{n}: {}",
            wrong_answer.json
        );
        relay.clock.advance(Duration::from_secs(30));
        let resent = relay.resend(&challenge, &email).await;
        assert_eq!(resent.status, StatusCode::OK, "{n}: {}", resent.json);
        let right = relay.verify(&challenge, &email, &code).await;
        assert_eq!(right.status, StatusCode::OK, "{n}: {}", right.json);
        let replay = relay.verify(&challenge, &email, &code).await;
        assert_refused(&replay, StatusCode::CONFLICT, "already_used");
    }
    assert!(relay.store.len() <= 2);
}

/// Connects to `address` from the loopback address `from` (another client than 127.0.0.1).
async fn connect_from(from: &str, address: std::net::SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind(std::net::SocketAddr::new(from.parse().unwrap(), 0))
        .unwrap();
    socket.connect(address).await.unwrap()
}

#[tokio::test]
async fn one_client_holds_only_its_share_of_the_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let relay = relay_with(&[
        "--max-connections",
        "8",
        "--connections-per-client",
        "3",
        "--header-timeout",
        "30s",
    ]);
    let (address, _server) = relay.serve_on_loopback().await.unwrap();
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from("127.0.0.1", address).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHo")
            .await
            .unwrap();
        stalled.push(stream);
    }
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    // A fourth from the same client is closed unanswered, at once.
    let mut fourth = connect_from("127.0.0.1", address).await;
    let _ = fourth.write_all(request).await;
    let mut answer = Vec::new();
    let _ = fourth.read_to_end(&mut answer).await;
    assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    // Another client is served at once: the slots are not all held.
    let started = std::time::Instant::now();
    let mut other = connect_from("127.0.0.2", address).await;
    other.write_all(request).await.unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // Once one of the first client's connections closes, it may open another.
    drop(stalled.pop());
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let mut again = connect_from("127.0.0.1", address).await;
        let _ = again.write_all(request).await;
        let mut answer = String::new();
        let _ = again.read_to_string(&mut answer).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "its share came back");
        tokio::task::yield_now().await;
    }
}

#[tokio::test]
async fn a_connection_is_reused_for_at_most_its_requests_and_its_age() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let relay = relay_with(&[
        "--connection-max-requests",
        "2",
        "--connection-max-age",
        "60s",
    ]);
    let (address, _server) = relay.serve_on_loopback().await.unwrap();
    let request = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    // Three pipelined requests: two answers, the second saying close, then the end.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(&request.repeat(3)).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer}");
    assert_eq!(
        answer
            .to_ascii_lowercase()
            .matches("connection: close")
            .count(),
        1
    );

    // Past its age (on the relay's clock), the next answer closes the connection.
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut first = [0u8; 512];
    let n = stream.read(&mut first).await.unwrap();
    let first = String::from_utf8_lossy(&first[..n]).to_ascii_lowercase();
    assert!(
        first.starts_with("http/1.1 200") && !first.contains("connection: close"),
        "{first}"
    );
    relay.clock.advance(Duration::from_secs(60));
    stream.write_all(request).await.unwrap();
    let mut rest = String::new();
    stream.read_to_string(&mut rest).await.unwrap();
    assert!(
        rest.to_ascii_lowercase().contains("connection: close"),
        "{rest}"
    );
}

#[tokio::test]
async fn development_mode_answers_only_requests_for_a_loopback_host() {
    let relay = relay();
    let get = |host: &str| {
        axum::http::Request::get("/dev/outbox")
            .header("host", host)
            .header("accept", "application/json")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    for host in [
        "127.0.0.1:8787",
        "localhost:8080",
        "LOCALHOST",
        "[::1]:8787",
        "127.0.0.2",
    ] {
        assert_eq!(
            relay.request(get(host)).await.status,
            StatusCode::OK,
            "{host}"
        );
    }
    // A page on a name that a rebinding DNS server points at 127.0.0.1.
    for host in [
        "rebind.evil.example:8787",
        "relay",
        "127.0.0.1.evil.example",
        "[::2]:8787",
    ] {
        let refused = relay.request(get(host)).await;
        assert_refused(&refused, StatusCode::FORBIDDEN, "origin_not_allowed");
    }
}
