//! The Redis store against real `redis-server` processes: the epoch, data loss, the conditions
//! it refuses under (an evicting policy, a clock far from Redis's), and an unreachable server.

use super::*;
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

/// A key whose bucket is `wanted`.
fn key_in_bucket(wanted: u64) -> StoreKey {
    (0u8..=255)
        .map(|n| StoreKey::Attempts([n; 16]))
        .find(|key| bucket(&key.to_string()) == wanted)
        .expect("some key falls in every bucket")
}

#[test]
fn the_keys_of_one_operation_share_a_hash_tag() {
    let (key, epoch) = redis_keys(&StoreKey::Used([7; 16]));
    let tag = |text: &str| text[text.find('{').unwrap()..=text.find('}').unwrap()].to_string();
    assert_eq!(tag(&key), tag(&epoch));
    assert!(key.ends_with(&format!("used:{}", "07".repeat(16))));
    let buckets: std::collections::HashSet<u64> = (0u8..=255)
        .map(|n| bucket(&StoreKey::Used([n; 16]).to_string()))
        .collect();
    assert!(buckets.len() > 64, "keys spread over the buckets");
}

#[tokio::test]
async fn relays_agree_on_the_epoch_and_keep_it_across_restarts() {
    let server = RedisServer::start();
    let a = connect(&server).await;
    let b = connect(&server).await;
    assert_ne!(a.epoch(), 0);
    assert_eq!(a.epoch(), b.epoch());
    assert_eq!(server.keys().len(), BUCKETS as usize);
    drop(a);
    let again = connect(&server).await;
    assert_eq!(again.epoch(), b.epoch());
}

#[tokio::test]
async fn a_bucket_that_lost_its_data_moves_every_relay_to_a_higher_epoch() {
    let server = RedisServer::start();
    let a = connect(&server).await;
    let b = connect(&server).await;
    let before = a.epoch();
    let key = key_in_bucket(5);
    let count = a.increment(&key, Duration::from_secs(60)).await.unwrap();
    assert_eq!(count.value, 1);

    // Bucket 5 loses its keys, as a shard failing over to an empty replica would.
    let (data, epoch) = redis_keys(&key);
    assert_eq!(server.cli(&["del", &data, &epoch]), "2");
    let refused = b.increment(&key, Duration::from_secs(60)).await;
    assert!(refused.is_err(), "the operation that noticed is refused");
    assert!(b.epoch() > before, "{} > {before}", b.epoch());

    // The other relay learns it on its next operation, whichever bucket it touches.
    let elsewhere = key_in_bucket(9);
    assert!(a.count(&elsewhere).await.is_err());
    assert_eq!(a.epoch(), b.epoch());
    assert_eq!(
        a.increment(&key, Duration::from_secs(60))
            .await
            .unwrap()
            .value,
        1
    );
}

#[tokio::test]
async fn a_store_that_lost_everything_moves_to_an_epoch_above_the_one_known() {
    let server = RedisServer::start();
    let store = connect(&server).await;
    let before = store.epoch();
    let key = key_in_bucket(5);
    store
        .increment(&key, Duration::from_secs(60))
        .await
        .unwrap();
    server.flush();
    assert!(
        store.count(&key).await.is_err(),
        "the operation that noticed"
    );
    assert!(store.epoch() > before, "{} > {before}", store.epoch());
    assert_eq!(store.count(&key).await.unwrap().value, 0);
}

#[tokio::test]
async fn an_evicting_policy_refuses_every_operation_until_it_is_fixed() {
    let server = RedisServer::start();
    let store = connect(&server).await;
    let used = StoreKey::Used([3; 16]);
    assert_eq!(store.claim(&used, Duration::from_secs(60)).await, Ok(None));

    server.cli(&["config", "set", "maxmemory-policy", "volatile-ttl"]);
    let refusal = store.check_conditions().await.unwrap_err().0;
    assert!(
        refusal.contains("maxmemory-policy is volatile-ttl"),
        "{refusal}"
    );
    assert!(refusal.contains("noeviction"), "{refusal}");
    for answer in [
        store.is_claimed(&used).await.map(|_| ()),
        store
            .claim(&used, Duration::from_secs(60))
            .await
            .map(|_| ()),
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
    assert_eq!(store.is_claimed(&used).await, Ok(true));
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
    assert_eq!(store.is_claimed(&used).await, Err(StoreError(refusal)));
    clock.rewind(Duration::from_secs(90));
    let refusal = store.check_conditions().await.unwrap_err().0;
    assert!(refusal.contains("s behind Redis's"), "{refusal}");
    clock.advance(Duration::from_secs(45));
    assert_eq!(store.check_conditions().await, Ok(()));
    assert_eq!(store.is_claimed(&used).await, Ok(false));
}

#[tokio::test]
async fn an_unreachable_server_is_an_error() {
    let mut server = RedisServer::start();
    let store = connect(&server).await;
    server.stop();
    // Each answers with an error, not a hang (how fast is shown with the real binary, in
    // relay/tests/shared_store.rs: the core reads no clock of its own).
    assert!(store.ready().await.is_err());
    let claimed = store
        .claim(&StoreKey::Used([1; 16]), Duration::from_secs(9))
        .await;
    assert!(claimed.is_err());
}
