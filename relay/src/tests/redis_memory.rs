//! What the shared store holds per challenge: the keys, their sizes and their lifetimes in a
//! real `redis-server`, for the whole flow through the service on a clock that stands still.

use crate::config::Config;
use crate::core::{Answer, Requester, VerificationService};
use crate::mail::Mailer;
use crate::redis_store::{RedisSetting, RedisStore};
use otp_relay_tests::RedisServer;
use std::sync::Arc;
use std::time::Duration;

/// What Redis holds once a challenge was sent, resent, tried with a wrong code and verified
/// (the proof of work on): one hash for the challenge, the mailbox's sends and failures, those of
/// its share from the client's network, the client's sends, a mark for each proof of work spent
/// and the send rate, each with the lifetime the rules give it, on a relay whose clock stands
/// still.
/// Sizes are `MEMORY USAGE` on Redis 7.0 (`make test-tools` installs it).
#[tokio::test]
async fn a_verified_resent_challenge_leaves_ten_keys_of_known_size_and_lifetime() {
    let server = RedisServer::start();
    let clock = crate::core::ManualClock::at(crate::core::clock::system().now());
    let setting = RedisSetting {
        nodes: vec![crate::core::secret::SecretString::new(server.url())],
        cluster: false,
        ca: None,
    };
    let store = RedisStore::connect(&setting, Arc::new(clock.clone()))
        .await
        .unwrap();
    let config = Config::from_flags(&["--dev", "--pow", "on"]).unwrap();
    let mailer = Mailer::outbox(Arc::new(clock.clone()), &config.smtp.from);
    let outbox = mailer.as_outbox().cloned().unwrap();
    let service = VerificationService::new(
        config.service_settings(),
        Arc::new(store),
        Arc::new(mailer),
        Arc::new(clock.clone()),
    );
    let requester = Requester {
        ip: "192.0.2.7".parse().unwrap(),
        origin: None,
        lang: otp_relay_shared::Lang::En,
    };
    let paid = || async {
        let challenge = service.pow_challenge(&requester).await.unwrap();
        crate::testing::solve_pow(&serde_json::to_value(challenge).unwrap()).unwrap()
    };
    let email = "ada@example.com";
    let sent = service
        .issue(email, Some(&paid().await), None, &requester)
        .await
        .unwrap();
    clock.advance(Duration::from_secs(30));
    service
        .resend(&sent.token, email, Some(&paid().await), &requester)
        .await
        .unwrap();
    let entry = outbox.entries().into_iter().next().unwrap();
    let code = entry
        .text
        .trim_end()
        .rsplit_once('#')
        .unwrap()
        .1
        .to_string();
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let refused = service
        .verify(&sent.token, email, Answer::Code(&wrong), &requester)
        .await;
    assert_eq!(refused.unwrap_err().code.as_str(), "wrong_code");
    service
        .verify(&sent.token, email, Answer::Code(&code), &requester)
        .await
        .unwrap();

    let mut left = Vec::new();
    for key in server.keys() {
        let kind = key.split(':').nth(1).unwrap().to_string();
        let mut fields: Vec<String> = match server.cli(&["type", &key]).as_str() {
            "hash" => server
                .cli(&["hkeys", &key])
                .lines()
                .map(str::to_string)
                .collect(),
            other => vec![other.to_string()],
        };
        fields.sort();
        let ttl: i64 = server.cli(&["ttl", &key]).parse().unwrap();
        let bytes: u64 = server.cli(&["memory", "usage", &key]).parse().unwrap();
        left.push((kind, fields.join(","), ttl, bytes));
    }
    left.sort();
    let expected: Vec<(String, String, i64, u64)> = [
        // Until the challenge expires and 60 s more, from the resend 30 s after the issue: its
        // attempts, resends, used mark and the end of the resend wait.
        ("challenge", "@cooldown,attempts,sends,used", 330, 168),
        // The client's send window.
        ("client-sends", "string", 900, 88),
        ("epoch", "string", -1, 72),
        // The failure budget's window and the send window.
        ("mailbox-failures", "string", 3600, 120),
        ("mailbox-sends", "string", 900, 104),
        // Until the proof of work's challenge expires and 60 s more.
        ("pow-spent", "string", 660, 104),
        ("pow-spent", "string", 660, 104),
        ("sends-this-minute", "string", 60, 72),
        ("share-failures", "string", 3600, 104),
        ("share-sends", "string", 900, 104),
    ]
    .into_iter()
    .map(|(kind, fields, ttl, bytes)| (kind.to_string(), fields.to_string(), ttl, bytes))
    .collect();
    assert_eq!(left, expected);
    let total: u64 = left.iter().map(|(.., bytes)| bytes).sum();
    assert_eq!(total, 1040, "bytes in all, the epoch's included");
}
