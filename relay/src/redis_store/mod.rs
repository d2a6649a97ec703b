//! The Redis store: the same little state as the in-memory store, shared by several relays
//! through one Redis server or a Redis Cluster. Every operation is one Lua script run atomically
//! on the server, and every key has a TTL, so Redis holds only live limits and the challenges
//! someone resent or tried. Counters are exact, in fixed windows.
//!
//! Keys are spread over [`BUCKETS`] hash tags (`otp-relay:{17}:attempts:…`), and each bucket
//! holds its own copy of the store's epoch (`otp-relay:{17}:epoch`), so the keys one script
//! touches share a cluster slot. Every script checks its bucket's epoch: when Redis loses data
//! (a restart without persistence, a flush, a failover to an empty replica) the epoch of every
//! bucket it lost is gone with it, the relay that notices moves every bucket to a new, higher
//! epoch, and every challenge issued before is refused as expired, never accepted twice.
//! Commands time out within a second, and connections come back by themselves when Redis does.
//!
//! Two conditions keep those promises, and the relay checks both on every node that holds its
//! keys, at start (refusing to start), after the store changed epoch, and every few seconds
//! ([`RedisStore::check_conditions`]); while one fails it refuses every operation (503):
//!
//! - Redis must never evict: every key the relay keeps (used marks, attempt counts, budgets) has
//!   a TTL and only the epochs have none, so an evicting `maxmemory-policy` would remove exactly
//!   the state that makes a code single use, and the epoch could not notice (docs/security.md,
//!   A28).
//! - The relay's clock must be within [`MAX_CLOCK_SKEW`] of Redis's: what is kept about a
//!   challenge lives until its expiry plus a 60 s margin, measured from the clock of the relay
//!   that wrote it, so two relays more than 60 s apart could let a used code verify again on
//!   the one behind.

use crate::core::Clock;
use crate::core::secret::SecretString;
use crate::core::store::{Count, Store, StoreError, StoreKey};
use async_trait::async_trait;
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisError, RedisFuture, Script, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How to reach Redis: one server, or the seed nodes of a cluster (`OTP_RELAY_STORE`).
#[derive(Debug, Clone)]
pub struct RedisSetting {
    /// `redis://` or `rediss://` URLs (they may hold a password): one for a single server, one
    /// per seed node of a cluster.
    pub nodes: Vec<SecretString>,
    /// Whether the nodes form a Redis Cluster.
    pub cluster: bool,
    /// The CA certificates (PEM) trusted for `rediss://` in place of the system's.
    pub ca: Option<Vec<u8>>,
}

/// How many hash tags the keys are spread over: enough to spread them over a cluster's masters,
/// few enough that moving every bucket to a new epoch is quick.
pub const BUCKETS: u64 = 128;
/// Longest wait for one answer from Redis.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1000);
/// The error a script returns when its bucket's epoch is not the one it was given.
const EPOCH_MISMATCH: &str = "OTP_EPOCH";
/// Epochs stay below 2^52, so that Lua (whose numbers are doubles) compares them exactly.
const EPOCH_LIMIT: u64 = 1 << 52;

/// Each script starts by checking its bucket's epoch (KEYS[1] against ARGV[1]).
const CHECK_EPOCH: &str =
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('OTP_EPOCH') end\n";

struct Scripts {
    increment: Script,
    decrement: Script,
    count: Script,
    claim: Script,
    is_claimed: Script,
    release: Script,
    /// Raises a bucket's epoch to ARGV[1] unless it is already there or above; answers the
    /// bucket's epoch after.
    raise_epoch: Script,
    /// The `maxmemory_policy` of the node that holds a bucket (KEYS[1]), and its clock (Unix
    /// seconds).
    conditions: Script,
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
            raise_epoch: Script::new(
                "local now = tonumber(redis.call('GET', KEYS[1]) or '0')
                 if now == nil or now < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
                 return redis.call('GET', KEYS[1])",
            ),
            conditions: Script::new(
                "local policy = string.match(redis.call('INFO', 'memory'), 'maxmemory_policy:([%w%-]+)')
                 return {policy or '', tonumber(redis.call('TIME')[1])}",
            ),
        }
    }
}

/// One Redis server (through a connection manager) or a cluster.
#[derive(Clone)]
enum Connection {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(connection) => connection.req_packed_command(cmd),
            Connection::Cluster(connection) => connection.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
            Connection::Cluster(connection) => {
                connection.req_packed_commands(pipeline, offset, count)
            }
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(connection) => connection.get_db(),
            Connection::Cluster(connection) => connection.get_db(),
        }
    }
}

/// A store shared through Redis.
pub struct RedisStore {
    connection: Connection,
    scripts: Scripts,
    epoch: AtomicU64,
    describe: String,
    /// Why the store is refused while a condition fails, naming what to change.
    refusal: Mutex<Option<String>>,
    /// The relay's clock, compared with Redis's.
    clock: Arc<dyn Clock>,
}

/// How often a running relay checks the conditions again.
pub const CONDITIONS_CHECK_EVERY: Duration = Duration::from_secs(2);

/// Most a relay's clock may differ from Redis's: two relays then differ by at most twice this,
/// the 60 s margin the store keeps a challenge's state past its expiry.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(30);

/// The one policy under which Redis never removes a key before its TTL.
const NO_EVICTION: &str = "noeviction";

/// What Redis said goes to the log only: its text may name hosts and settings, and the error
/// reaches `/readyz`, which anyone may read.
fn store_error(error: &RedisError) -> StoreError {
    tracing::warn!(%error, "the shared store (Redis) did not answer");
    StoreError("the shared store (Redis) did not answer".into())
}

/// The refusal for a relay whose clock is `skew` seconds ahead of Redis's (behind, when negative).
fn clock_error(skew: i64) -> String {
    let direction = if skew > 0 { "ahead of" } else { "behind" };
    format!(
        "this relay's clock is {} s {direction} Redis's, more than {} s, so a code used on one \
         relay could verify again on another: set the clocks of the relays and of Redis by NTP",
        skew.unsigned_abs(),
        MAX_CLOCK_SKEW.as_secs()
    )
}

/// The refusal for a node whose `maxmemory-policy` is `policy`.
fn evicting_error(policy: &str) -> String {
    format!(
        "Redis's maxmemory-policy is {policy}, which lets it evict the relay's used marks and \
         counters and so accept a code twice: set maxmemory-policy to noeviction (CONFIG SET \
         maxmemory-policy noeviction, and in redis.conf)"
    )
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

/// The bucket of a key: a hash every relay computes alike (FNV-1a of the key's text, whose high
/// bits are the well-mixed ones).
fn bucket(key: &str) -> u64 {
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    (hash >> 32) % BUCKETS
}

/// The key of a bucket's epoch.
fn epoch_key(bucket: u64) -> String {
    format!("otp-relay:{{{bucket}}}:epoch")
}

/// The Redis key of `key`, and of the epoch of its bucket.
fn redis_keys(key: &StoreKey) -> (String, String) {
    let text = key.to_string();
    let bucket = bucket(&text);
    (format!("otp-relay:{{{bucket}}}:{text}"), epoch_key(bucket))
}

/// What a script's error says, when it is the epoch check's.
fn is_epoch_mismatch(error: &RedisError) -> bool {
    error.to_string().contains(EPOCH_MISMATCH)
}

impl RedisStore {
    /// Connects to Redis as `setting` says and agrees on the epoch with it.
    pub async fn connect(
        setting: &RedisSetting,
        clock: Arc<dyn Clock>,
    ) -> Result<RedisStore, String> {
        let urls: Vec<&str> = setting.nodes.iter().map(|url| url.expose()).collect();
        let certificates = setting.ca.clone().map(|pem| redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem),
        });
        let (connection, describe) = if setting.cluster {
            let mut builder = redis::cluster::ClusterClientBuilder::new(urls.iter().copied())
                .response_timeout(RESPONSE_TIMEOUT)
                .connection_timeout(RESPONSE_TIMEOUT)
                .retries(1)
                .max_retry_wait(200);
            if let Some(certificates) = certificates {
                builder = builder.certs(certificates);
            }
            let client = builder
                .build()
                .map_err(|e| format!("OTP_RELAY_STORE is not a Redis Cluster URL: {e}"))?;
            let describe = format!("Redis Cluster seeded by {} nodes", urls.len());
            let connection = client
                .get_async_connection()
                .await
                .map_err(|e| format!("cannot reach the store ({describe}): {e}"))?;
            (Connection::Cluster(connection), describe)
        } else {
            let url = urls.first().copied().unwrap_or_default();
            let client = match certificates {
                Some(certificates) => redis::Client::build_with_tls(url, certificates),
                None => redis::Client::open(url),
            }
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
            (Connection::Single(connection), describe)
        };
        let store = RedisStore {
            connection,
            scripts: Scripts::new(),
            epoch: AtomicU64::new(0),
            describe,
            refusal: Mutex::new(None),
            clock,
        };
        store
            .agree_on_epoch()
            .await
            .map_err(|e| format!("cannot read the store's epoch: {e}"))?;
        store
            .check_conditions()
            .await
            .map_err(|e| format!("cannot use the store ({}): {e}", store.describe))?;
        Ok(store)
    }

    fn refusal(&self) -> Option<String> {
        self.refusal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Reads the eviction policy and the clock of every node that holds a bucket; while a node
    /// may evict or its clock is too far from the relay's, the store refuses every operation,
    /// until a later check finds both fixed.
    pub async fn check_conditions(&self) -> Result<(), StoreError> {
        let reads = (0..BUCKETS).map(|bucket| {
            let mut connection = self.connection.clone();
            let script = &self.scripts.conditions;
            async move {
                script
                    .key(epoch_key(bucket))
                    .invoke_async::<(String, i64)>(&mut connection)
                    .await
                    .map_err(|e| store_error(&e))
            }
        });
        let conditions = futures_util::future::try_join_all(reads).await?;
        let now = i64::try_from(self.clock.now().secs()).unwrap_or(i64::MAX);
        let max_skew = i64::try_from(MAX_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
        let refusal = conditions.iter().find_map(|(policy, redis_now)| {
            if policy.as_str() != NO_EVICTION {
                Some(evicting_error(policy))
            } else if (now - redis_now).abs() > max_skew {
                Some(clock_error(now - redis_now))
            } else {
                None
            }
        });
        let mut held = self
            .refusal
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (&*held, &refusal) {
            (None, Some(refusal)) => tracing::error!("{refusal}; refusing every verification"),
            (Some(_), None) => tracing::warn!("the shared store is fit for use again: serving"),
            _ => {}
        }
        *held = refusal.clone();
        match refusal {
            Some(refusal) => Err(StoreError(refusal)),
            None => Ok(()),
        }
    }

    /// The epoch of every bucket (`None` where it is missing).
    async fn bucket_epochs(&self) -> Result<Vec<Option<u64>>, StoreError> {
        let reads = (0..BUCKETS).map(|bucket| {
            let mut connection = self.connection.clone();
            async move {
                let text: Option<String> = redis::cmd("GET")
                    .arg(epoch_key(bucket))
                    .query_async(&mut connection)
                    .await
                    .map_err(|e| store_error(&e))?;
                Ok::<_, StoreError>(text.and_then(|text| text.parse::<u64>().ok()))
            }
        });
        futures_util::future::try_join_all(reads).await
    }

    /// Moves every bucket's epoch up to `epoch`, where it is below or missing.
    async fn raise_epochs(&self, epoch: u64) -> Result<(), StoreError> {
        let writes = (0..BUCKETS).map(|bucket| {
            let mut connection = self.connection.clone();
            let script = &self.scripts.raise_epoch;
            async move {
                let _: Option<String> = script
                    .key(epoch_key(bucket))
                    .arg(epoch)
                    .invoke_async(&mut connection)
                    .await
                    .map_err(|e| store_error(&e))?;
                Ok::<_, StoreError>(())
            }
        });
        futures_util::future::try_join_all(writes).await?;
        Ok(())
    }

    /// Takes the epoch every bucket holds. Where buckets disagree or some lost theirs, Redis lost
    /// data: every bucket moves to a new epoch above all of theirs, so that no challenge issued
    /// before is accepted. Relays that do this at once end on the highest of their choices.
    async fn agree_on_epoch(&self) -> Result<u64, StoreError> {
        for _ in 0..5 {
            let epochs = self.bucket_epochs().await?;
            let highest = epochs.iter().flatten().copied().max();
            if let (Some(first), true) = (highest, epochs.iter().all(|e| *e == highest)) {
                let before = self.epoch.swap(first, Ordering::SeqCst);
                if before != 0 && before != first {
                    tracing::warn!(
                        "the shared store's epoch changed: challenges issued before are refused as expired"
                    );
                }
                return Ok(first);
            }
            let step = 1 + crate::core::random::u64() % (1 << 32);
            let next = match highest {
                // A store without any epoch: a fresh one, or one that lost everything. Above
                // the one this relay knew, so that no epoch ever comes back.
                None => self.epoch.load(Ordering::SeqCst).saturating_add(step),
                Some(highest) => {
                    tracing::warn!(
                        "the shared store lost data: moving it to a new epoch, so challenges issued before are refused as expired"
                    );
                    highest.saturating_add(step)
                }
            };
            if next >= EPOCH_LIMIT {
                return Err(StoreError(
                    "the shared store's epoch is out of range".into(),
                ));
            }
            self.raise_epochs(next).await?;
        }
        Err(StoreError(
            "the relays could not agree on the shared store's epoch; try again".into(),
        ))
    }

    /// Runs `script` on `key` with `args` after its bucket's epoch check. A failed check means
    /// the epoch moved (or the bucket's data was lost): the relay agrees on the new epoch and
    /// refuses this operation, whose challenge may predate the change.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        key: &StoreKey,
        args: &[u64],
    ) -> Result<T, StoreError> {
        if let Some(refusal) = self.refusal() {
            return Err(StoreError(refusal));
        }
        let (key, epoch_key) = redis_keys(key);
        let mut invocation = script.key(epoch_key);
        invocation
            .key(key)
            .arg(self.epoch.load(Ordering::SeqCst).to_string());
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection.clone();
        match invocation.invoke_async(&mut connection).await {
            Ok(value) => Ok(value),
            Err(error) if is_epoch_mismatch(&error) => {
                // A store that lost its data was often started again, perhaps with another
                // configuration: its policy is read again too.
                self.agree_on_epoch().await?;
                self.check_conditions().await?;
                Err(StoreError(
                    "the shared store changed epoch (it lost data or was started again); try again"
                        .into(),
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
        // On a cluster, PING goes to every master and answers only when all of them do.
        let _: Value = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(|e| store_error(&e))?;
        match self.refusal() {
            Some(refusal) => Err(StoreError(refusal)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
