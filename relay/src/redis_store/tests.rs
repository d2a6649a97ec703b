//! The Redis store against real `redis-server` processes: plans run by the script as the
//! in-memory interpreter runs them, the layout of the keys, the epoch, data loss, the conditions
//! it refuses under (an evicting policy, a clock far from Redis's), and an unreachable server.

use super::*;
use crate::core::store::{Corner, MemoryStore, memory::MemorySettings, peek};
use otp_relay_tests::RedisServer;

fn setting(server: &RedisServer) -> RedisSetting {
    RedisSetting {
        nodes: vec![SecretString::new(server.url())],
        cluster: false,
        ca: None,
    }
}

/// A store on `server` on the system clock.
async fn connect(server: &RedisServer) -> RedisStore {
    RedisStore::connect(&setting(server), crate::core::clock::system())
        .await
        .unwrap()
}

const MINUTE: Duration = Duration::from_secs(60);

fn plan(steps: Vec<Step>) -> Plan {
    Plan { steps }
}

fn count(key: &StoreKey) -> Step {
    Step::Count {
        key: key.clone(),
        window: MINUTE,
        limit: None,
        kept: false,
    }
}

fn claim(key: &StoreKey) -> Step {
    Step::Claim {
        key: key.clone(),
        ttl: MINUTE,
    }
}

/// Whether `plan` ran to its end.
async fn passes(store: &RedisStore, steps: Vec<Step>) -> Result<bool, StoreError> {
    Ok(matches!(store.run(&plan(steps)).await?, Outcome::Done(_)))
}

#[test]
fn every_key_shares_one_hash_tag_and_a_challenge_is_one_hash() {
    let id = [7; 16];
    let keys = [
        StoreKey::ClientSends("192.0.2.1".into()),
        StoreKey::AddressSends(id),
        StoreKey::NetworkAddressFailures(id),
        StoreKey::Attempts(id),
        StoreKey::Used(id),
        StoreKey::PowSpent(id),
        StoreKey::SendsThisMinute,
    ];
    for key in &keys {
        assert!(place(key).0.starts_with("{otp-relay}:"), "{key}");
    }
    assert!(EPOCH_KEY.starts_with(TAG));
    let challenge = format!("{{otp-relay}}:challenge:{}", "07".repeat(16));
    for (key, field) in [
        (StoreKey::Attempts(id), "attempts"),
        (StoreKey::ChallengeSends(id), "sends"),
        (StoreKey::ResendCooldown(id), "@cooldown"),
        (StoreKey::Used(id), "used"),
    ] {
        assert_eq!(place(&key), (challenge.clone(), field));
    }
}

/// Plans drawn from a fixed seed over a few keys of every kind, run on Redis and on the
/// in-memory store: the script answers as `store::plan::interpret` does, step for step.
#[tokio::test]
async fn the_script_runs_plans_as_the_memory_store_does() {
    let server = RedisServer::start();
    let redis = connect(&server).await;
    let memory = MemoryStore::new(
        MemorySettings::for_policy(&crate::core::Policy::default()),
        Arc::new(crate::core::ManualClock::new()),
    );
    // Claims and counts on keys of their own kinds, as the service uses them.
    let claims = [
        StoreKey::Used([1; 16]),
        StoreKey::ResendCooldown([1; 16]),
        StoreKey::PowSpent([1; 16]),
    ];
    let counters = [
        StoreKey::Attempts([1; 16]),
        StoreKey::ChallengeSends([1; 16]),
        StoreKey::AddressFailures([2; 16]),
        StoreKey::NetworkAddressSends([3; 16]),
        StoreKey::ClientSends("192.0.2.1".into()),
        StoreKey::SendsThisMinute,
    ];
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let mut draw = |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let mut refused = 0;
    for _ in 0..300 {
        let mut steps = Vec::new();
        for _ in 0..1 + draw(5) {
            let claim_key = claims[usize::try_from(draw(3)).unwrap()].clone();
            let key = counters[usize::try_from(draw(6)).unwrap()].clone();
            let limit =
                [None, Some(0), Some(1), Some(2), Some(4)][usize::try_from(draw(5)).unwrap()];
            steps.push(match draw(7) {
                0 => Step::Unset(claim_key),
                1 => claim(&claim_key),
                2 | 3 => Step::Count {
                    key,
                    window: MINUTE,
                    limit,
                    kept: draw(2) == 0,
                },
                4 => Step::Peek { key, limit },
                5 if !steps.is_empty() => Step::Within {
                    sends: 0,
                    rate: steps.len() - 1,
                    corners: vec![Corner {
                        max_rate: Some(draw(3)),
                        max_sends: limit,
                    }],
                },
                _ if draw(2) == 0 => Step::Release(claim_key),
                // Exact counters, which need no sketch slot to be taken back.
                _ => Step::Uncount {
                    key: counters[[0, 1, 5][usize::try_from(draw(3)).unwrap()]].clone(),
                    counted: Count::default(),
                },
            });
        }
        let plan = plan(steps);
        let values = |outcome: Outcome| match outcome {
            Outcome::Done(answers) => (None, answers.iter().map(|a| a.value).collect::<Vec<_>>()),
            Outcome::Refused { at, answers } => {
                (Some(at), answers.iter().map(|a| a.value).collect())
            }
        };
        let in_memory = values(memory.run(&plan).await.unwrap());
        let in_redis = values(redis.run(&plan).await.unwrap());
        assert_eq!(in_redis, in_memory, "{plan:?}");
        refused += usize::from(in_memory.0.is_some());
    }
    assert!(refused > 30, "refusals are drawn too: {refused}");
}

#[tokio::test]
async fn counts_and_claims_answer_what_is_left_and_a_refusal_leaves_nothing() {
    let server = RedisServer::start();
    let store = connect(&server).await;
    let (used, attempts) = (StoreKey::Used([1; 16]), StoreKey::Attempts([1; 16]));
    let Outcome::Done(answers) = store
        .run(&plan(vec![count(&attempts), count(&attempts)]))
        .await
        .unwrap()
    else {
        panic!("no limit");
    };
    assert_eq!(answers[1].value, 2);
    assert!(passes(&store, vec![claim(&used)]).await.unwrap());
    let Outcome::Refused { at: 1, answers } = store
        .run(&plan(vec![count(&attempts), claim(&used)]))
        .await
        .unwrap()
    else {
        panic!("claimed already");
    };
    assert_eq!(answers[1].value, 1);
    assert!(answers[1].resets_in > MINUTE - Duration::from_secs(5));
    assert!(answers[1].resets_in <= MINUTE);
    assert_eq!(
        peek(&store, &attempts).await.unwrap().value,
        2,
        "the count given back"
    );

    // A send to a new mailbox refused by a later limit leaves no key behind.
    let mailbox = StoreKey::AddressSends([9; 16]);
    let keys_before = server.keys().len();
    let refused = store
        .run(&plan(vec![
            count(&mailbox),
            Step::Count {
                key: attempts.clone(),
                window: MINUTE,
                limit: Some(2),
                kept: false,
            },
        ]))
        .await
        .unwrap();
    let Outcome::Refused { at: 1, answers } = refused else {
        panic!("the attempts are over their limit: {refused:?}");
    };
    assert_eq!(answers[1].value, 3);
    assert!(answers[1].resets_in > MINUTE - Duration::from_secs(5));
    assert_eq!(server.keys().len(), keys_before);
}

#[tokio::test]
async fn relays_agree_on_the_epoch_and_keep_it_across_restarts() {
    let server = RedisServer::start();
    let a = connect(&server).await;
    let b = connect(&server).await;
    assert_ne!(a.epoch(), 0);
    assert_eq!(a.epoch(), b.epoch());
    assert_eq!(server.keys(), vec![EPOCH_KEY.to_string()]);
    drop(a);
    let again = connect(&server).await;
    assert_eq!(again.epoch(), b.epoch());
}

#[tokio::test]
async fn a_store_that_lost_everything_moves_every_relay_to_a_higher_epoch() {
    let server = RedisServer::start();
    let a = connect(&server).await;
    let b = connect(&server).await;
    let before = a.epoch();
    let key = StoreKey::Attempts([5; 16]);
    assert!(passes(&a, vec![count(&key)]).await.unwrap());
    server.flush();
    assert!(
        passes(&b, vec![count(&key)]).await.is_err(),
        "the operation that noticed is refused"
    );
    assert!(b.epoch() > before, "{} > {before}", b.epoch());
    // The other relay learns it on its next operation.
    assert!(peek(&a, &key).await.is_err());
    assert_eq!(a.epoch(), b.epoch());
    assert_eq!(peek(&a, &key).await.unwrap().value, 0);
}

#[tokio::test]
async fn an_evicting_policy_refuses_every_operation_until_it_is_fixed() {
    let server = RedisServer::start();
    let store = connect(&server).await;
    let used = StoreKey::Used([3; 16]);
    assert!(passes(&store, vec![claim(&used)]).await.unwrap());

    server.cli(&["config", "set", "maxmemory-policy", "volatile-ttl"]);
    let refusal = store.check_conditions().await.unwrap_err().0;
    assert!(
        refusal.contains("maxmemory-policy is volatile-ttl"),
        "{refusal}"
    );
    assert!(refusal.contains("noeviction"), "{refusal}");
    for answer in [
        peek(&store, &used).await.map(|_| ()),
        passes(&store, vec![claim(&used)]).await.map(|_| ()),
        store.ready().await,
    ] {
        assert_eq!(answer, Err(StoreError(refusal.clone())));
    }
    let refused = RedisStore::connect(&setting(&server), crate::core::clock::system())
        .await
        .err()
        .unwrap();
    assert!(
        refused.contains("maxmemory-policy"),
        "refuses to start: {refused}"
    );

    server.cli(&["config", "set", "maxmemory-policy", "noeviction"]);
    assert_eq!(store.check_conditions().await, Ok(()));
    assert_eq!(peek(&store, &used).await.unwrap().value, 1);
    assert_eq!(store.ready().await, Ok(()));
}

#[tokio::test]
async fn a_relay_clock_far_from_rediss_refuses_every_operation_until_it_is_set() {
    let server = RedisServer::start();
    let clock = crate::core::ManualClock::at(crate::core::clock::system().now());
    let store = RedisStore::connect(&setting(&server), Arc::new(clock.clone()))
        .await
        .unwrap();
    let used = StoreKey::Used([4; 16]);
    clock.advance(Duration::from_secs(25));
    assert_eq!(store.check_conditions().await, Ok(()), "within 30 s");
    clock.advance(Duration::from_secs(20));
    let refusal = store.check_conditions().await.unwrap_err().0;
    assert!(refusal.contains("s ahead of Redis's"), "{refusal}");
    assert!(refusal.contains("NTP"), "{refusal}");
    assert_eq!(peek(&store, &used).await, Err(StoreError(refusal)));
    clock.rewind(Duration::from_secs(90));
    let refusal = store.check_conditions().await.unwrap_err().0;
    assert!(refusal.contains("s behind Redis's"), "{refusal}");
    clock.advance(Duration::from_secs(45));
    assert_eq!(store.check_conditions().await, Ok(()));
    assert_eq!(peek(&store, &used).await.unwrap().value, 0);
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    let mut server = RedisServer::start();
    let store = connect(&server).await;
    server.stop();
    // Each answers with an error, not a hang (how fast is shown with the real binary, in
    // relay/tests/shared_store.rs: the core reads no clock of its own).
    assert!(store.ready().await.is_err());
    assert!(
        passes(&store, vec![claim(&StoreKey::Used([1; 16]))])
            .await
            .is_err()
    );
}
