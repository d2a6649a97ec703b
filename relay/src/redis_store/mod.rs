//! The Redis store: the same little state as the in-memory store, shared by several relays
//! through one Redis server or a Redis Cluster. A request's whole [`Plan`] is one Lua script,
//! run atomically on the server: one round trip per request. Every key has a TTL, so Redis holds
//! only live limits and the challenges someone resent or tried. Counters are exact, in fixed
//! windows.
//!
//! Every key carries the same hash tag (`{otp-relay}:challenge:…`), so one request's keys,
//! whatever client, mailbox and challenge they are about, share a cluster slot, which a script
//! needs. A cluster therefore keeps the relay's keys on one master (with its replicas): it brings
//! failover, not more room or speed, and the state per request is small (`make load` measures
//! Redis's share of the work). What is kept about one challenge is one hash ([`place`]).
//!
//! The key `{otp-relay}:epoch` holds the store's epoch, which every script checks first: when
//! Redis loses data (a restart without persistence, a flush, a failover to an empty replica) the
//! epoch is gone with it, the relay that notices moves the store to a new, higher epoch, and
//! every challenge issued before is refused as expired, never accepted twice. Commands time out
//! within a second, and connections come back by themselves when Redis does.
//!
//! Two conditions keep those promises, and the relay checks both on the node that holds its
//! keys, at start (refusing to start), after the store changed epoch, and every few seconds
//! ([`RedisStore::check_conditions`]); while one fails it refuses every operation (503):
//!
//! - Redis must never evict: every key the relay keeps (used marks, attempt counts, budgets) has
//!   a TTL and only the epoch has none, so an evicting `maxmemory-policy` would remove exactly
//!   the state that makes a code single use, and the epoch could not notice (docs/security.md,
//!   A28).
//! - The relay's clock must be within [`MAX_CLOCK_SKEW`] of Redis's: what is kept about a
//!   challenge lives until its expiry plus a 60 s margin, measured from the clock of the relay
//!   that wrote it, so two relays more than 60 s apart could let a used code verify again on
//!   the one behind.

use crate::core::Clock;
use crate::core::hex;
use crate::core::secret::SecretString;
use crate::core::store::{Count, Outcome, Plan, Step, Store, StoreError, StoreKey};
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

/// The start of every key: the hash tag that puts them all on one cluster slot.
const TAG: &str = "{otp-relay}";
/// The key of the store's epoch.
const EPOCH_KEY: &str = "{otp-relay}:epoch";
/// Longest wait for one answer from Redis.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(1000);
/// The error a script returns when the store's epoch is not the one it was given.
const EPOCH_MISMATCH: &str = "OTP_EPOCH";
/// Epochs stay below 2^52, so that Lua (whose numbers are doubles) compares them exactly.
const EPOCH_LIMIT: u64 = 1 << 52;

/// Runs a [`Plan`]: `KEYS[1]` is the epoch's key, `ARGV[1]` the epoch expected, and each step
/// six arguments: its operation, the index in `KEYS` of its key, its field (empty for a key of
/// its own; a field starting with `@` holds the time its claim ends), and three numbers
/// (`count`: window in ms, limit or -1, kept 1 or 0; `claim`: lifetime in ms; `peek`: limit or
/// -1; `within`: the steps, counted from 0, whose answers are the sends and the rate, and the
/// corners `rate:sends,…` with -1 for no bound). Answers `{refused step (from 1) or 0, value,
/// ms left, value, ms left, …}` for the steps run, the time left only for the step that
/// refused. Mirrors `store::plan::interpret`, in as few commands as it can (a count is one
/// `INCR` or `HINCRBY`, and a new one sets its expiry) and with the common steps written out
/// rather than called: each Lua call costs Redis about as much as a command.
const PLAN_SCRIPT: &str = r#"
local call = redis.call
if call('GET', KEYS[1]) ~= ARGV[1] then return redis.error_reply('OTP_EPOCH') end
local clock
local function now()
  if not clock then
    local time = call('TIME')
    clock = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  return clock
end
-- A field starting with '@' holds the time its claim ends.
local function until_field(field) return field ~= '' and string.byte(field) == 64 end
-- A hash lives as long as its longest-lived entry.
local function outlive(key, ms)
  if call('PEXPIRE', key, ms, 'GT') == 0 then call('PEXPIRE', key, ms, 'NX') end
end
local function read(key, field)
  if field == '' then return tonumber(call('GET', key) or '0') end
  local value = tonumber(call('HGET', key, field) or '0')
  if until_field(field) then return (value > now()) and 1 or 0 end
  return value
end
local function left(key, field)
  if until_field(field) then return math.max(0, tonumber(call('HGET', key, field) or '0') - now()) end
  return math.max(0, call('PTTL', key))
end
local function remove(key, field)
  if field == '' then call('DEL', key) else call('HDEL', key, field) end
end
local function uncount(key, field)
  local value
  if field == '' then value = call('DECR', key) else value = call('HINCRBY', key, field, -1) end
  if value <= 0 then remove(key, field) end
end
local out = {0}
local held = {}
local at = 2
for step = 1, (#ARGV - 1) / 6 do
  local op, key, field = ARGV[at], KEYS[tonumber(ARGV[at + 1])], ARGV[at + 2]
  local value, refused = 0, false
  if op == 'count' then
    if field == '' then
      value = call('INCR', key)
      if value == 1 then call('PEXPIRE', key, ARGV[at + 3]) end
    else
      value = call('HINCRBY', key, field, 1)
      if value == 1 then outlive(key, ARGV[at + 3]) end
    end
    local limit = tonumber(ARGV[at + 4])
    refused = limit >= 0 and value > limit
    if ARGV[at + 5] == '0' then
      held[step] = key
      if refused then uncount(key, field) end
    end
  elseif op == 'unset' then
    if field == '' then
      refused = call('EXISTS', key) == 1
    elseif until_field(field) then
      refused = read(key, field) > 0
    else
      refused = call('HEXISTS', key, field) == 1
    end
    if refused then value = 1 end
  elseif op == 'peek' then
    value = read(key, field)
    local limit = tonumber(ARGV[at + 4])
    refused = limit >= 0 and value >= limit
  elseif op == 'claim' then
    local ms = ARGV[at + 3]
    if field == '' then
      refused = not call('SET', key, '1', 'NX', 'PX', ms)
    elseif until_field(field) then
      refused = read(key, field) > 0
      if not refused then
        call('HSET', key, field, now() + tonumber(ms))
        outlive(key, ms)
      end
    else
      refused = call('HSETNX', key, field, 1) == 0
      if not refused then outlive(key, ms) end
    end
    if refused then value = 1 else held[step] = key end
  elseif op == 'within' then
    local sends, rate = out[2 * tonumber(ARGV[at + 3]) + 2], out[2 * tonumber(ARGV[at + 4]) + 2]
    refused = true
    for max_rate, max_sends in string.gmatch(ARGV[at + 5], '(%-?%d+):(%-?%d+)') do
      max_rate, max_sends = tonumber(max_rate), tonumber(max_sends)
      if (max_rate < 0 or rate <= max_rate) and (max_sends < 0 or sends <= max_sends) then
        refused = false
        break
      end
    end
  elseif op == 'uncount' then
    if read(key, field) > 0 then uncount(key, field) end
  elseif op == 'release' then
    remove(key, field)
  end
  out[2 * step], out[2 * step + 1] = value, 0
  if refused then
    if op ~= 'within' then out[2 * step + 1] = left(key, field) end
    for earlier = step - 1, 1, -1 do
      local held_key = held[earlier]
      if held_key then
        local earlier_at = 2 + (earlier - 1) * 6
        local earlier_field = ARGV[earlier_at + 2]
        if ARGV[earlier_at] == 'claim' then
          remove(held_key, earlier_field)
        elseif read(held_key, earlier_field) > 0 then
          uncount(held_key, earlier_field)
        end
      end
    end
    out[1] = step
    return out
  end
  at = at + 6
end
return out
"#;

struct Scripts {
    plan: Script,
    /// Raises the epoch to ARGV[1] unless it is already there or above; answers the epoch after.
    raise_epoch: Script,
    /// The `maxmemory_policy` of the node that holds the relay's keys (KEYS[1]), and its clock
    /// (Unix seconds).
    conditions: Script,
}

impl Scripts {
    fn new() -> Self {
        Scripts {
            plan: Script::new(PLAN_SCRIPT),
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

/// Where an entry lives: its key, and its field in that key's hash (empty for a key of its own).
/// What is kept about one challenge is one hash, living as long as the challenge: its attempts,
/// resends and used mark, and the end of its resend wait (`@cooldown`, a time, as its own
/// lifetime is shorter). The limits, whose windows differ, are keys of their own.
fn place(key: &StoreKey) -> (String, &'static str) {
    // Written out rather than with `format!`: this runs for every key of every request.
    let at = |kind: &str, id: &str| {
        let mut key = String::with_capacity(TAG.len() + kind.len() + id.len() + 2);
        for part in [TAG, ":", kind, ":", id] {
            key.push_str(part);
        }
        key
    };
    let hashed = |kind: &str, id: &[u8]| at(kind, &hex(id));
    match key {
        StoreKey::ClientSends(bucket) => (at("client-sends", bucket), ""),
        StoreKey::AddressSends(id) => (hashed("mailbox-sends", id), ""),
        StoreKey::AddressFailures(id) => (hashed("mailbox-failures", id), ""),
        StoreKey::NetworkAddressSends(id) => (hashed("share-sends", id), ""),
        StoreKey::NetworkAddressFailures(id) => (hashed("share-failures", id), ""),
        StoreKey::ChallengeSends(id) => (hashed("challenge", id), "sends"),
        StoreKey::ResendCooldown(id) => (hashed("challenge", id), "@cooldown"),
        StoreKey::Attempts(id) => (hashed("challenge", id), "attempts"),
        StoreKey::Used(id) => (hashed("challenge", id), "used"),
        StoreKey::PowSpent(id) => (hashed("pow-spent", id), ""),
        StoreKey::SendsThisMinute => (format!("{TAG}:sends-this-minute"), ""),
    }
}

/// A bound for the script: the number, or -1 for none.
fn bound(limit: Option<u64>) -> i64 {
    limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX))
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

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis())
        .unwrap_or(i64::MAX)
        .max(1)
}

/// A PTTL answer (negative for "no key" or "no expiry") as a duration.
fn remaining(pttl: i64) -> Duration {
    Duration::from_millis(u64::try_from(pttl).unwrap_or(0))
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

    /// Reads the eviction policy and the clock of the node that holds the relay's keys; while
    /// it may evict or its clock is too far from the relay's, the store refuses every
    /// operation, until a later check finds both fixed.
    pub async fn check_conditions(&self) -> Result<(), StoreError> {
        let mut connection = self.connection.clone();
        let (policy, redis_now): (String, i64) = self
            .scripts
            .conditions
            .key(EPOCH_KEY)
            .invoke_async(&mut connection)
            .await
            .map_err(|e| store_error(&e))?;
        let now = i64::try_from(self.clock.now().secs()).unwrap_or(i64::MAX);
        let max_skew = i64::try_from(MAX_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
        let refusal = if policy != NO_EVICTION {
            Some(evicting_error(&policy))
        } else if (now - redis_now).abs() > max_skew {
            Some(clock_error(now - redis_now))
        } else {
            None
        };
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

    /// The store's epoch (`None` while it is missing).
    async fn stored_epoch(&self) -> Result<Option<u64>, StoreError> {
        let mut connection = self.connection.clone();
        let text: Option<String> = redis::cmd("GET")
            .arg(EPOCH_KEY)
            .query_async(&mut connection)
            .await
            .map_err(|e| store_error(&e))?;
        Ok(text.and_then(|text| text.parse::<u64>().ok()))
    }

    /// Takes the store's epoch. Where it is missing, Redis lost its data (or never had any): the
    /// store moves to a new epoch above the one this relay knew, so that no challenge issued
    /// before is accepted. Relays that do this at once end on the highest of their choices.
    async fn agree_on_epoch(&self) -> Result<u64, StoreError> {
        for _ in 0..5 {
            if let Some(epoch) = self.stored_epoch().await? {
                let before = self.epoch.swap(epoch, Ordering::SeqCst);
                if before != 0 && before != epoch {
                    tracing::warn!(
                        "the shared store's epoch changed: challenges issued before are refused as expired"
                    );
                }
                return Ok(epoch);
            }
            let known = self.epoch.load(Ordering::SeqCst);
            if known != 0 {
                tracing::warn!(
                    "the shared store lost data: moving it to a new epoch, so challenges issued before are refused as expired"
                );
            }
            let step = 1 + crate::core::random::u64() % (1 << 32);
            let next = known.saturating_add(step);
            if next >= EPOCH_LIMIT {
                return Err(StoreError(
                    "the shared store's epoch is out of range".into(),
                ));
            }
            let mut connection = self.connection.clone();
            let _: Option<String> = self
                .scripts
                .raise_epoch
                .key(EPOCH_KEY)
                .arg(next)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| store_error(&e))?;
        }
        Err(StoreError(
            "the relays could not agree on the shared store's epoch; try again".into(),
        ))
    }

    /// The script's invocation for `plan`: its keys, the epoch, and six arguments a step.
    fn invocation(&self, plan: &Plan) -> redis::ScriptInvocation<'_> {
        let mut invocation = self.scripts.plan.prepare_invoke();
        invocation
            .key(EPOCH_KEY)
            .arg(self.epoch.load(Ordering::SeqCst).to_string());
        let mut hashes: Vec<String> = Vec::new();
        let mut index = |key: &StoreKey| {
            let (hash, field) = place(key);
            let at = match hashes.iter().position(|known| *known == hash) {
                Some(at) => at,
                None => {
                    hashes.push(hash);
                    hashes.len() - 1
                }
            };
            // KEYS counts from 1, and KEYS[1] is the epoch's.
            (at + 2, field)
        };
        for step in &plan.steps {
            // Numbers go as numbers (no string made for each), `0` where a step has none.
            let (op, (key, field), numbers) = match step {
                Step::Unset(key) => ("unset", index(key), [0, 0, 0]),
                Step::Claim { key, ttl } => ("claim", index(key), [millis(*ttl), 0, 0]),
                Step::Count {
                    key,
                    window,
                    limit,
                    kept,
                } => (
                    "count",
                    index(key),
                    [millis(*window), bound(*limit), i64::from(*kept)],
                ),
                Step::Peek { key, limit } => ("peek", index(key), [0, bound(*limit), 0]),
                Step::Within {
                    sends,
                    rate,
                    corners,
                } => {
                    let corners: Vec<String> = corners
                        .iter()
                        .map(|corner| {
                            format!("{}:{}", bound(corner.max_rate), bound(corner.max_sends))
                        })
                        .collect();
                    invocation
                        .arg("within")
                        .arg(1)
                        .arg("")
                        .arg(*sends)
                        .arg(*rate)
                        .arg(corners.join(","));
                    continue;
                }
                Step::Uncount { key, .. } => ("uncount", index(key), [0, 0, 0]),
                Step::Release(key) => ("release", index(key), [0, 0, 0]),
            };
            invocation.arg(op).arg(key).arg(field);
            for number in numbers {
                invocation.arg(number);
            }
        }
        for hash in hashes {
            invocation.key(hash);
        }
        invocation
    }
}

#[async_trait]
impl Store for RedisStore {
    /// One script. A failed epoch check means the epoch moved (or Redis lost its data): the
    /// relay agrees on the new epoch and refuses this plan, whose challenge may predate the
    /// change.
    async fn run(&self, plan: &Plan) -> Result<Outcome, StoreError> {
        if let Some(refusal) = self.refusal() {
            return Err(StoreError(refusal));
        }
        let mut connection = self.connection.clone();
        let answer: Vec<i64> = match self.invocation(plan).invoke_async(&mut connection).await {
            Ok(answer) => answer,
            Err(error) if is_epoch_mismatch(&error) => {
                // A store that lost its data was often started again, perhaps with another
                // configuration: its policy is read again too.
                self.agree_on_epoch().await?;
                self.check_conditions().await?;
                return Err(StoreError(
                    "the shared store changed epoch (it lost data or was started again); try again"
                        .into(),
                ));
            }
            Err(error) => return Err(store_error(&error)),
        };
        let answers = answer
            .get(1..)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|pair| Count {
                value: u64::try_from(pair[0]).unwrap_or(0),
                resets_in: remaining(pair[1]),
                slot: None,
            })
            .collect();
        Ok(match answer.first().copied() {
            Some(refused) if refused > 0 => Outcome::Refused {
                at: usize::try_from(refused - 1).unwrap_or(0),
                answers,
            },
            _ => Outcome::Done(answers),
        })
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
