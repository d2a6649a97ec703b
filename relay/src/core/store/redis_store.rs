//! The Redis store: the same little state as the in-memory store, shared by several relays.
//! Every operation is one Lua script run atomically on the server, and every key has a TTL, so
//! Redis holds only live limits and the challenges someone resent or tried. Counters are exact,
//! in fixed windows.
//!
//! The store's epoch lives in Redis too (created when missing) and every script checks it: when
//! Redis loses its data (a restart without persistence, a flush, a failover to an empty replica)
//! the epoch is gone, the relay takes the new one, and every challenge issued before is refused
//! as expired, never accepted twice. Commands time out within a second; the connection manager
//! reconnects by itself when Redis is back.

use super::{Count, Store, StoreError, StoreKey};
use crate::core::secret::SecretString;
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, Script};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Prefix of every key the relay writes.
const PREFIX: &str = "otp-relay:";
/// The key holding the store's epoch.
const EPOCH_KEY: &str = "otp-relay:epoch";
/// Longest wait for one answer from Redis.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1000);
/// The error a script returns when the epoch it was given is not Redis's.
const EPOCH_MISMATCH: &str = "OTP_EPOCH";

/// Each script starts by checking the epoch (KEYS[1] against ARGV[1]).
const CHECK_EPOCH: &str =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('OTP_EPOCH') end\n";

struct Scripts {
    increment: Script,
    decrement: Script,
    count: Script,
    claim: Script,
    is_claimed: Script,
    release: Script,
}

impl Scripts {
    fn new() -> Self {
        let script = |body: &str| Script::new(&format!("{CHECK_EPOCH}{body}"));
        Scripts {
            increment: script(
                "local v = redis.call('INCR', KEYS[2])
                 if v == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
                 return {v, redis.call('PTTL', KEYS[2])}",
            ),
            decrement: script(
                "local v = redis.call('DECR', KEYS[2])
                 if v <= 0 then redis.call('DEL', KEYS[2]) end
                 return v",
            ),
            count: script(
                "return {tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('PTTL', KEYS[2])}",
            ),
            claim: script(
                "if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then return -1 end
                 return redis.call('PTTL', KEYS[2])",
            ),
            is_claimed: script("return redis.call('EXISTS', KEYS[2])"),
            release: script("redis.call('DEL', KEYS[2]) return 1"),
        }
    }
}

/// A store shared through one Redis server.
pub struct RedisStore {
    connection: ConnectionManager,
    scripts: Scripts,
    epoch: AtomicU64,
    describe: String,
}

fn store_error(error: &RedisError) -> StoreError {
    StoreError(format!("the shared store (Redis) did not answer: {error}"))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// A PTTL answer (negative for "no key" or "no expiry") as a duration.
fn remaining(pttl: i64) -> Duration {
    Duration::from_millis(u64::try_from(pttl).unwrap_or(0))
}

impl RedisStore {
    /// Connects to `url` (`redis://[user:pass@]host:port[/db]`) and reads or creates the epoch.
    pub async fn connect(url: &SecretString) -> Result<RedisStore, String> {
        let client = redis::Client::open(url.expose())
            .map_err(|e| format!("OTP_RELAY_STORE is not a Redis URL: {e}"))?;
        let info = client.get_connection_info();
        let describe = format!("Redis at {}", info.addr());
        let config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_connection_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(2));
        let connection = client
            .get_connection_manager_with_config(config)
            .await
            .map_err(|e| format!("cannot reach the store ({describe}): {e}"))?;
        let store = RedisStore {
            connection,
            scripts: Scripts::new(),
            epoch: AtomicU64::new(0),
            describe,
        };
        store
            .renew_epoch()
            .await
            .map_err(|e| format!("cannot read the store's epoch: {e}"))?;
        Ok(store)
    }

    /// Reads Redis's epoch, creating it when missing, and takes it as this relay's.
    async fn renew_epoch(&self) -> Result<u64, StoreError> {
        let mut connection = self.connection.clone();
        let fresh = crate::core::random::u64().to_string();
        let (_, current): (Option<String>, Option<String>) = redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(EPOCH_KEY)
            .arg(&fresh)
            .arg("NX")
            .cmd("GET")
            .arg(EPOCH_KEY)
            .query_async(&mut connection)
            .await
            .map_err(|e| store_error(&e))?;
        let epoch = current
            .and_then(|text| text.parse::<u64>().ok())
            .ok_or_else(|| StoreError("the store's epoch is not a number".into()))?;
        let before = self.epoch.swap(epoch, Ordering::SeqCst);
        if before != 0 && before != epoch {
            tracing::warn!(
                "the shared store lost its state: challenges issued before are refused as expired"
            );
        }
        Ok(epoch)
    }

    /// Runs `script` on `key` with `args` after the epoch; an epoch that changed is taken up and
    /// the operation refused (the request's challenge may predate the loss).
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        key: &StoreKey,
        args: &[u64],
    ) -> Result<T, StoreError> {
        let mut invocation = script.key(EPOCH_KEY);
        invocation
            .key(format!("{PREFIX}{key}"))
            .arg(self.epoch.load(Ordering::SeqCst).to_string());
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        match invocation.invoke_async(&mut connection).await {
            Ok(value) => Ok(value),
            Err(error) if error.to_string().contains(EPOCH_MISMATCH) => {
                self.renew_epoch().await?;
                Err(StoreError(
                    "the shared store lost its state and was started again; try again".into(),
                ))
            }
            Err(error) => Err(store_error(&error)),
        }
    }
}

#[async_trait]
impl Store for RedisStore {
    async fn increment(&self, key: &StoreKey, window: Duration) -> Result<Count, StoreError> {
        let (value, pttl): (u64, i64) = self
            .run(&self.scripts.increment, key, &[millis(window)])
            .await?;
        Ok(Count {
            value,
            resets_in: remaining(pttl),
            slot: None,
        })
    }

    async fn decrement(&self, key: &StoreKey, _counted: &Count) -> Result<(), StoreError> {
        let _: i64 = self.run(&self.scripts.decrement, key, &[]).await?;
        Ok(())
    }

    async fn count(&self, key: &StoreKey) -> Result<Count, StoreError> {
        let (value, pttl): (u64, i64) = self.run(&self.scripts.count, key, &[]).await?;
        Ok(Count {
            value,
            resets_in: remaining(pttl),
            slot: None,
        })
    }

    async fn claim(&self, key: &StoreKey, ttl: Duration) -> Result<Option<Duration>, StoreError> {
        let pttl: i64 = self.run(&self.scripts.claim, key, &[millis(ttl)]).await?;
        Ok((pttl != -1).then(|| remaining(pttl)))
    }

    async fn is_claimed(&self, key: &StoreKey) -> Result<bool, StoreError> {
        let exists: i64 = self.run(&self.scripts.is_claimed, key, &[]).await?;
        Ok(exists == 1)
    }

    async fn release(&self, key: &StoreKey) -> Result<(), StoreError> {
        let _: i64 = self.run(&self.scripts.release, key, &[]).await?;
        Ok(())
    }

    fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    fn describe(&self) -> String {
        self.describe.clone()
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let _: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(|e| store_error(&e))?;
        Ok(())
    }
}
