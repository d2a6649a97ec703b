//! Operator configuration: command-line flags that mirror the `OTP_RELAY_*` environment variables
//! of docs/api.md, checked once at start-up into a [`Config`] the rest of the relay trusts. Secrets
//! are parsed straight into types whose `Debug` prints a placeholder.

use crate::core::keys::{self, KeyRing};
use crate::core::proof::ProofKeys;
use crate::core::secret::SecretString;
use crate::core::{Policy, Rate, ServiceSettings};
use crate::mail::SmtpSettings;
use clap::{Args, FromArgMatches};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// How to reach the mail server. Shared by `serve` and `send-test`.
#[derive(Debug, Clone, Args)]
pub struct SmtpArgs {
    /// SMTP server: smtps://user:pass@host:465 (implicit TLS),
    /// smtp://user:pass@host:587?tls=required (STARTTLS), smtp://host:25 (plain; with a login
    /// only to this machine). Required unless in development mode.
    #[arg(long, env = "OTP_RELAY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,
    /// PEM file of extra CA certificates to trust for the SMTP server.
    #[arg(long, env = "OTP_RELAY_SMTP_CA")]
    pub smtp_ca: Option<PathBuf>,
    /// How long one SMTP exchange may take before the send counts as failed.
    #[arg(long, env = "OTP_RELAY_SMTP_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub smtp_timeout: Duration,
    /// The sender, e.g. "Example <no-reply@example.com>".
    #[arg(
        long,
        env = "OTP_RELAY_FROM",
        default_value = "otp-relay <no-reply@localhost.localdomain>"
    )]
    pub from: String,
}

/// Everything `serve` accepts.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Development mode: codes go to the outbox at /dev/outbox instead of SMTP, and the relay
    /// listens on loopback only. Never in production.
    #[arg(long, env = "OTP_RELAY_DEV", default_value_t = false, value_parser = parse_bool,
          num_args = 0..=1, default_missing_value = "true")]
    pub dev: bool,
    /// Address to listen on; port 0 picks a free port (the bound address is printed).
    #[arg(long, env = "OTP_RELAY_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// The relay's own public URL: the proof's issuer and default audience. Default:
    /// http://<listen address>.
    #[arg(long, env = "OTP_RELAY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Challenge keys, "kid:base64url" items separated by commas, each at least 32 random bytes;
    /// the first signs, all verify. Unset: a random key for this run only.
    #[arg(long, env = "OTP_RELAY_SECRET", hide_env_values = true)]
    pub secret: Option<SecretString>,
    /// Proof keys, "kid:base64url" items separated by commas, each a 32-byte Ed25519 seed
    /// (`otp-relay keygen --kid ID`): the first signs, every one is published at
    /// /.well-known/jwks.json. Unset: a random key for this run only.
    #[arg(long, env = "OTP_RELAY_PROOF_KEYS", hide_env_values = true)]
    pub proof_keys: Option<SecretString>,
    /// Legacy: sign proofs with HS256 under this secret (base64url, at least 32 bytes) instead,
    /// which every backend that checks proofs must then hold. Not with OTP_RELAY_PROOF_KEYS.
    #[arg(long, env = "OTP_RELAY_PROOF_SECRET", hide_env_values = true)]
    pub proof_secret: Option<SecretString>,
    #[command(flatten)]
    pub smtp: SmtpArgs,
    /// Code lifetime, e.g. 5m or 90s (at most 10m).
    #[arg(long, env = "OTP_RELAY_TTL", default_value = "5m", value_parser = parse_duration)]
    pub ttl: Duration,
    /// Digits per code (6 to 9).
    #[arg(long, env = "OTP_RELAY_CODE_LENGTH", default_value_t = 6)]
    pub code_length: usize,
    /// Wrong codes allowed per challenge.
    #[arg(long, env = "OTP_RELAY_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// Sends per challenge, the first one included.
    #[arg(long, env = "OTP_RELAY_SENDS_PER_CHALLENGE", default_value_t = 3)]
    pub sends_per_challenge: u32,
    /// Wait between sends of one challenge, e.g. 30s.
    #[arg(long, env = "OTP_RELAY_RESEND_AFTER", default_value = "30s", value_parser = parse_duration)]
    pub resend_after: Duration,
    /// Sends to one address asked for from one client network (an IPv4 /24, an IPv6 /48) per
    /// window, e.g. 5/15m.
    #[arg(long, env = "OTP_RELAY_SENDS_PER_ADDRESS", default_value = "5/15m", value_parser = parse_rate)]
    pub sends_per_address: Rate,
    /// Sends to one address from all networks together per window, e.g. 20/15m.
    #[arg(long, env = "OTP_RELAY_SENDS_PER_ADDRESS_TOTAL", default_value = "20/15m", value_parser = parse_rate)]
    pub sends_per_address_total: Rate,
    /// Sends requested by one client IP per window, e.g. 20/15m (an office behind one address
    /// needs more).
    #[arg(long, env = "OTP_RELAY_SENDS_PER_IP", default_value = "20/15m", value_parser = parse_rate)]
    pub sends_per_ip: Rate,
    /// Failed verifications per address from one client network per window, across challenges.
    #[arg(long, env = "OTP_RELAY_FAILURES_PER_ADDRESS", default_value = "10/1h", value_parser = parse_rate)]
    pub failures_per_address: Rate,
    /// Failed verifications per address from all networks together per window (at most 100).
    #[arg(long, env = "OTP_RELAY_FAILURES_PER_ADDRESS_TOTAL", default_value = "100/1h", value_parser = parse_rate)]
    pub failures_per_address_total: Rate,
    /// Lifetime of the proof handed out on success.
    #[arg(long, env = "OTP_RELAY_PROOF_TTL", default_value = "10m", value_parser = parse_duration)]
    pub proof_ttl: Duration,
    /// Origins allowed to call from a browser, comma separated (e.g. https://shop.example).
    #[arg(long, env = "OTP_RELAY_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// The proxies in front, as addresses or CIDR ranges, comma separated (e.g. 10.0.0.0/8).
    /// From them, the client is the right-most X-Forwarded-For entry that is not one of them.
    #[arg(long, env = "OTP_RELAY_TRUST_PROXY", value_delimiter = ',')]
    pub trust_proxy: Vec<String>,
    /// Most connections served at once; more wait until one closes.
    #[arg(long, env = "OTP_RELAY_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,
    /// Most connections one client (an IPv4 address, an IPv6 /64) holds at once; more are
    /// closed as they come. A trusted proxy is not limited.
    #[arg(long, env = "OTP_RELAY_CONNECTIONS_PER_CLIENT", default_value_t = 64)]
    pub connections_per_client: usize,
    /// How long a keep-alive connection is reused: the first answer after this says
    /// `Connection: close`.
    #[arg(long, env = "OTP_RELAY_CONNECTION_MAX_AGE", default_value = "5m", value_parser = parse_duration)]
    pub connection_max_age: Duration,
    /// Requests served on one connection before it is closed.
    #[arg(
        long,
        env = "OTP_RELAY_CONNECTION_MAX_REQUESTS",
        default_value_t = 1000
    )]
    pub connection_max_requests: u64,
    /// How long a client may take to send a request's headers (also how long an idle
    /// connection stays open), at most 30s.
    #[arg(long, env = "OTP_RELAY_HEADER_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_timeout: Duration,
    /// How long one request may take, from its headers to the answer.
    #[arg(long, env = "OTP_RELAY_REQUEST_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// A built frontend (trunk's dist/) to serve at /.
    #[arg(long, env = "OTP_RELAY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,
    /// A JSON file with each allowed origin's branding for its emails: product name, sender,
    /// accent colour, logo (README, "A site's own voice"). Unset: the neutral email.
    #[arg(long, env = "OTP_RELAY_BRANDING")]
    pub branding: Option<PathBuf>,
    /// Where to serve Prometheus metrics at /metrics, e.g. 127.0.0.1:9187 (a private address:
    /// never the public one). Unset: no metrics are served.
    #[arg(long, env = "OTP_RELAY_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// The log's format on stderr: text, or json (one object per line).
    #[arg(long, env = "OTP_RELAY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Where the relay keeps its state: `memory` (this process only), or shared by several
    /// relays: `redis://[user:pass@]host:port[/db]`, `rediss://…` (TLS), or
    /// `redis-cluster://[user:pass@]host:port,host:port,…` (Redis Cluster).
    #[arg(
        long,
        env = "OTP_RELAY_STORE",
        default_value = "memory",
        hide_env_values = true
    )]
    pub store: SecretString,
    /// PEM file of the CA certificates to trust for a `rediss://` store, in place of the
    /// system's (for a Redis with a certificate from a private CA).
    #[arg(long, env = "OTP_RELAY_STORE_CA")]
    pub store_ca: Option<PathBuf>,
    /// Most exact per-challenge entries (attempts, used marks, resends) the in-memory store
    /// holds; past it they are counted in a sketch, which can only refuse early.
    #[arg(long, env = "OTP_RELAY_STORE_CAPACITY", default_value_t = crate::core::store::memory::DEFAULT_CAPACITY)]
    pub store_capacity: usize,
    /// Cells per row of the in-memory store's limit sketches (a power of two): memory is
    /// fixed at 4 rows x 5 slots x 2 bytes x this, per limit; more cells, fewer early refusals.
    #[arg(long, env = "OTP_RELAY_LIMIT_SKETCH_WIDTH", default_value_t = crate::core::store::sketch::DEFAULT_WIDTH)]
    pub limit_sketch_width: usize,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}; write a duration such as 90s, 5m or 1h"))
}

fn parse_rate(text: &str) -> Result<Rate, String> {
    let (count, window) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not COUNT/WINDOW, e.g. 5/15m"))?;
    let count = count
        .trim()
        .parse::<u64>()
        .map_err(|_| format!("{count:?} is not a whole number"))?;
    let window = parse_duration(window)?;
    if count == 0 || window.is_zero() {
        return Err(format!("{text:?}: count and window must be above zero"));
    }
    Ok(Rate { count, window })
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("{other:?} is not true or false")),
    }
}

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// As written by the operator: the proof's `iss`.
    pub public_url: String,
    /// No public URL was given: it follows the bound address.
    pub public_url_is_default: bool,
    /// Host of the public URL: for the autofill line when a request has no `Origin`.
    pub public_host: String,
    pub keys: KeyRing,
    pub keys_are_ephemeral: bool,
    pub proof_keys: ProofKeys,
    pub proof_key_is_ephemeral: bool,
    pub smtp: SmtpArgs,
    pub policy: Policy,
    /// Canonical `scheme://host[:port]` strings.
    pub allowed_origins: Vec<String>,
    /// Development mode: the outbox instead of SMTP, loopback only.
    pub dev: bool,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<IpNet>,
    pub connections: ConnectionLimits,
    pub static_dir: Option<PathBuf>,
    /// Where metrics are served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Each allowed origin's branding.
    pub branding: std::collections::HashMap<String, std::sync::Arc<crate::core::Brand>>,
    pub log_format: LogFormat,
    pub store: StoreSetting,
    pub store_capacity: usize,
    pub limit_sketch_width: usize,
}

/// One site's branding as the operator writes it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct BrandFile {
    product: String,
    from: Option<String>,
    accent: Option<String>,
    logo: Option<String>,
}

/// Reads `OTP_RELAY_BRANDING`: `{"https://shop.example": {"product": "…", "from": "…",
/// "accent": "#rrggbb", "logo": "https://…"}}`, each origin one of the allowed origins.
fn parse_branding(
    path: &std::path::Path,
    allowed_origins: &[String],
) -> Result<std::collections::HashMap<String, std::sync::Arc<crate::core::Brand>>, String> {
    let at = |what: String| format!("OTP_RELAY_BRANDING ({}): {what}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(format!("cannot read it: {e}")))?;
    let sites: std::collections::BTreeMap<String, BrandFile> = serde_json::from_str(&text)
        .map_err(|e| {
            at(format!(
                "{e}; expected {{\"https://shop.example\": {{\"product\": \"Shop\", \"from\": \"Shop <codes@shop.example>\", \"accent\": \"#0a7d4f\", \"logo\": \"https://shop.example/logo.png\"}}}}"
            ))
        })?;
    let mut branding = std::collections::HashMap::new();
    for (origin, site) in sites {
        let canonical = canonical_origin(&origin).map_err(at)?;
        if !allowed_origins.contains(&canonical) {
            return Err(at(format!(
                "{origin} is not in OTP_RELAY_ALLOWED_ORIGINS; brand only the sites that may use the relay"
            )));
        }
        let product = site.product.trim().to_string();
        if product.is_empty()
            || product.chars().count() > 60
            || product.chars().any(char::is_control)
        {
            return Err(at(format!(
                "{origin}: \"product\" must be a name of 1 to 60 characters on one line"
            )));
        }
        if let Some(from) = &site.from {
            crate::mail::smtp::parse_from(from)
                .map_err(|e| at(format!("{origin}: \"from\": {e}")))?;
        }
        if let Some(accent) = &site.accent {
            let hex = accent.strip_prefix('#').unwrap_or_default();
            if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(at(format!(
                    "{origin}: \"accent\" {accent:?} is not a colour such as #0a7d4f"
                )));
            }
        }
        if let Some(logo) = &site.logo {
            let url = url::Url::parse(logo)
                .map_err(|e| at(format!("{origin}: \"logo\" {logo:?} is not a URL: {e}")))?;
            if url.scheme() != "https" || logo.contains('"') {
                return Err(at(format!(
                    "{origin}: \"logo\" must be an https:// URL (mail clients block others)"
                )));
            }
        }
        branding.insert(
            canonical,
            std::sync::Arc::new(crate::core::Brand {
                product,
                from: site.from,
                accent: site.accent,
                logo: site.logo,
            }),
        );
    }
    Ok(branding)
}

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, target, fields with the message).
    Json,
}

/// Reads `OTP_RELAY_METRICS_LISTEN`: blank is unset; the public address is refused.
fn parse_metrics_listen(
    text: Option<&str>,
    public: SocketAddr,
) -> Result<Option<SocketAddr>, String> {
    let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    let address: SocketAddr = text.parse().map_err(|_| {
        format!(
            "OTP_RELAY_METRICS_LISTEN: {text:?} is not an address and port such as 127.0.0.1:9187"
        )
    })?;
    if address.port() != 0 && address.port() == public.port() {
        return Err(format!(
            "OTP_RELAY_METRICS_LISTEN: {address} is the public port (OTP_RELAY_LISTEN); metrics are served on a port of their own, such as 127.0.0.1:9187"
        ));
    }
    Ok(Some(address))
}

/// Where the relay keeps its state.
#[derive(Debug, Clone)]
pub enum StoreSetting {
    /// In this process; lost on restart.
    Memory,
    /// Redis, shared by several relays.
    Redis(RedisSetting),
}

pub use crate::redis_store::RedisSetting;

/// The forms `OTP_RELAY_STORE` takes, for error messages.
const STORE_FORMS: &str = "memory, redis://[user:pass@]host:port[/db], rediss://[user:pass@]host:port[/db] (TLS), redis-cluster://[user:pass@]host:port,host:port,... or rediss-cluster://[user:pass@]host:port,host:port,... (TLS)";

/// Whether `host` (from `host:port`, `[::1]:port`) names this machine, so that a plain
/// connection to it never leaves it.
fn is_loopback_host(host_port: &str) -> bool {
    let host = match host_port.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => host_port,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Refuses a password sent in the clear to another machine (A14, as for SMTP): `credentials`
/// is what comes before `@`, `hosts` the comma-separated `host:port` after it.
fn refuse_cleartext_login(scheme: &str, credentials: &str, hosts: &str) -> Result<(), String> {
    let remote = hosts
        .split(',')
        .map(|host| host.split('/').next().unwrap_or_default().trim())
        .find(|host| !host.is_empty() && !is_loopback_host(host));
    match remote {
        Some(host) if !credentials.is_empty() => Err(format!(
            "OTP_RELAY_STORE would send the Redis password to {host} without TLS. Use TLS: \
             rediss://user:pass@{host} for one server, rediss-cluster://user:pass@host:port,... \
             for a cluster (OTP_RELAY_STORE_CA names a private CA). A plain {scheme}:// URL takes \
             a password only for Redis on this machine (localhost, 127.0.0.1, ::1)."
        )),
        _ => Ok(()),
    }
}

/// Reads `OTP_RELAY_STORE` and `OTP_RELAY_STORE_CA`.
fn parse_store(text: &SecretString, ca: Option<&std::path::Path>) -> Result<StoreSetting, String> {
    let value = text.expose().trim();
    let (scheme, rest) = value.split_once("://").unwrap_or((value, ""));
    // The credentials, if any, come once before the (first) host.
    let (credentials, hosts) = match rest.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), rest),
    };
    if scheme == "redis" || scheme == "redis-cluster" {
        refuse_cleartext_login(scheme, &credentials, hosts)?;
    }
    let setting = match scheme {
        "" | "memory" if rest.is_empty() => StoreSetting::Memory,
        "redis" | "rediss" => StoreSetting::Redis(RedisSetting {
            nodes: vec![SecretString::new(value.to_string())],
            cluster: false,
            ca: None,
        }),
        "redis-cluster" | "rediss-cluster" => {
            // The credentials apply to every node; TLS too.
            let node_scheme = scheme.trim_end_matches("-cluster");
            let nodes: Vec<SecretString> = hosts
                .trim_end_matches('/')
                .split(',')
                .map(str::trim)
                .filter(|host| !host.is_empty())
                .map(|host| SecretString::new(format!("{node_scheme}://{credentials}{host}")))
                .collect();
            if nodes.is_empty() || hosts.contains('/') {
                return Err(format!(
                    "OTP_RELAY_STORE: a cluster is given as redis-cluster://host:port,host:port,... (a cluster has no database number); the forms are {STORE_FORMS}"
                ));
            }
            StoreSetting::Redis(RedisSetting {
                nodes,
                cluster: true,
                ca: None,
            })
        }
        _ => {
            return Err(format!(
                "OTP_RELAY_STORE: {scheme:?} is not a store this relay knows; use {STORE_FORMS}"
            ));
        }
    };
    let Some(ca) = ca else {
        return Ok(setting);
    };
    match setting {
        StoreSetting::Redis(mut redis) if scheme == "rediss" || scheme == "rediss-cluster" => {
            let pem = std::fs::read(ca)
                .map_err(|e| format!("OTP_RELAY_STORE_CA: cannot read {}: {e}", ca.display()))?;
            if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(format!(
                    "OTP_RELAY_STORE_CA: {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
                    ca.display()
                ));
            }
            redis.ca = Some(pem);
            Ok(StoreSetting::Redis(redis))
        }
        _ => Err(
            "OTP_RELAY_STORE_CA is for a TLS store only: set OTP_RELAY_STORE to rediss://host:port or rediss-cluster://host:port,..., or unset OTP_RELAY_STORE_CA".into(),
        ),
    }
}

/// How connections are kept from piling up (docs/security.md, A21) and shared fairly (A30).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    /// Connections one client may hold at once.
    pub per_client: usize,
    /// Peers that hold connections for many clients (the trusted proxies): not limited per
    /// client.
    pub shared_peers: Vec<IpNet>,
    pub max_age: Duration,
    pub max_requests: u64,
    pub header_timeout: Duration,
    pub request_timeout: Duration,
}

/// Longest time a client may take over its headers: a stalled connection is closed by then.
pub const MAX_HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// What `serve` says when there is neither a mail server nor development mode.
pub const NO_MAIL_SERVER: &str = "no mail server is configured, so no code could be sent. \
Set OTP_RELAY_SMTP_URL (e.g. smtps://user:pass@smtp.example.com:465) to send codes by email, or \
start with --dev (OTP_RELAY_DEV=1) to try the relay on this machine with a development outbox \
that shows the codes instead of sending them.";

/// Parses the trusted proxies: addresses (`10.0.0.1`, `::1`) or CIDR ranges (`10.0.0.0/8`).
fn parse_trusted_proxies(items: &[String]) -> Result<Vec<IpNet>, String> {
    let mut proxies = Vec::new();
    for item in items.iter().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if matches!(
            item.to_ascii_lowercase().as_str(),
            "true" | "yes" | "on" | "1"
        ) {
            return Err(format!(
                "OTP_RELAY_TRUST_PROXY: {item:?} would trust anyone; list the proxies' addresses or CIDR ranges, e.g. 10.0.0.5 or 10.0.0.0/8"
            ));
        }
        if matches!(
            item.to_ascii_lowercase().as_str(),
            "false" | "no" | "off" | "0"
        ) {
            continue;
        }
        let net = item
            .parse::<IpNet>()
            .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
            .map_err(|_| {
                format!(
                    "OTP_RELAY_TRUST_PROXY: {item:?} is not an IP address or a CIDR range such as 10.0.0.0/8"
                )
            })?;
        proxies.push(net.trunc());
    }
    Ok(proxies)
}

/// Longest lifetime allowed (docs/security.md, requirement 2).
pub const MAX_TTL: Duration = Duration::from_secs(600);
/// Highest failure budget allowed (NIST 800-63B 5.2.2).
pub const MAX_FAILURES: u64 = 100;

/// Canonical origin of a URL (`scheme://host[:port]`, default ports dropped), or why not.
pub fn canonical_origin(text: &str) -> Result<String, String> {
    let url = url::Url::parse(text.trim()).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!("{text:?} is not an http(s) origin"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "{text:?} has a path; an origin is scheme://host[:port] only"
        ));
    }
    Ok(url.origin().ascii_serialization())
}

impl SmtpArgs {
    /// The SMTP settings, when an SMTP URL is set and not blank.
    pub fn smtp_settings(&self) -> Option<SmtpSettings<'_>> {
        let url = self.smtp_url.as_ref()?.expose().trim();
        (!url.is_empty()).then(|| SmtpSettings {
            url,
            ca: self.smtp_ca.as_deref(),
            from: &self.from,
            timeout: self.smtp_timeout,
        })
    }
}

impl Config {
    /// Checks the arguments; the error is a sentence for the operator.
    pub fn from_args(args: ServeArgs) -> Result<Config, String> {
        let policy = Policy {
            ttl: args.ttl,
            code_length: args.code_length,
            max_attempts: args.max_attempts,
            sends_per_challenge: args.sends_per_challenge,
            resend_after: args.resend_after,
            sends_per_address: args.sends_per_address,
            sends_per_address_total: args.sends_per_address_total,
            sends_per_ip: args.sends_per_ip,
            failures_per_address: args.failures_per_address,
            failures_per_address_total: args.failures_per_address_total,
            proof_ttl: args.proof_ttl,
        };
        if policy.ttl.is_zero() || policy.ttl > MAX_TTL {
            return Err("OTP_RELAY_TTL must be between 1s and 10m".into());
        }
        if !(otp_relay_shared::MIN_CODE_LENGTH..=otp_relay_shared::MAX_CODE_LENGTH)
            .contains(&policy.code_length)
        {
            return Err("OTP_RELAY_CODE_LENGTH must be between 6 and 9".into());
        }
        if !(1..=10).contains(&policy.max_attempts) {
            return Err("OTP_RELAY_MAX_ATTEMPTS must be between 1 and 10".into());
        }
        if policy.sends_per_challenge == 0 {
            return Err("OTP_RELAY_SENDS_PER_CHALLENGE must be at least 1".into());
        }
        if policy.failures_per_address_total.count > MAX_FAILURES {
            return Err("OTP_RELAY_FAILURES_PER_ADDRESS_TOTAL allows at most 100 failures".into());
        }
        // A network's share above the total would let one network spend the whole of it, which
        // is the lock-out the shares exist to prevent (docs/security.md, A27).
        for (share, total, share_name, total_name) in [
            (
                policy.sends_per_address,
                policy.sends_per_address_total,
                "OTP_RELAY_SENDS_PER_ADDRESS",
                "OTP_RELAY_SENDS_PER_ADDRESS_TOTAL",
            ),
            (
                policy.failures_per_address,
                policy.failures_per_address_total,
                "OTP_RELAY_FAILURES_PER_ADDRESS",
                "OTP_RELAY_FAILURES_PER_ADDRESS_TOTAL",
            ),
        ] {
            if share.count >= total.count {
                return Err(format!(
                    "{share_name} ({}) must be below {total_name} ({}): one client network could \
                     otherwise spend the whole budget and lock the address's owner out. Raise \
                     {total_name} or lower {share_name}",
                    share.count, total.count
                ));
            }
        }
        if policy.proof_ttl.is_zero() {
            return Err("OTP_RELAY_PROOF_TTL must be above zero".into());
        }

        // The sender is checked even while the outbox stands in for SMTP: a wrong one should
        // show on the first start, not on the first real send.
        crate::mail::smtp::parse_from(&args.smtp.from)?;

        let trusted_proxies = parse_trusted_proxies(&args.trust_proxy)?;
        let connections = ConnectionLimits {
            max_connections: args.max_connections,
            // Never more than all of them, so a small OTP_RELAY_MAX_CONNECTIONS alone is enough.
            per_client: args.connections_per_client.min(args.max_connections),
            shared_peers: trusted_proxies.clone(),
            max_age: args.connection_max_age,
            max_requests: args.connection_max_requests,
            header_timeout: args.header_timeout,
            request_timeout: args.request_timeout,
        };
        if connections.max_connections == 0 {
            return Err("OTP_RELAY_MAX_CONNECTIONS must be at least 1".into());
        }
        if args.connections_per_client == 0 {
            return Err("OTP_RELAY_CONNECTIONS_PER_CLIENT must be at least 1".into());
        }
        if connections.max_age.is_zero() || connections.max_requests == 0 {
            return Err(
                "OTP_RELAY_CONNECTION_MAX_AGE and OTP_RELAY_CONNECTION_MAX_REQUESTS must be above zero"
                    .into(),
            );
        }
        if connections.header_timeout.is_zero() || connections.header_timeout > MAX_HEADER_TIMEOUT {
            return Err("OTP_RELAY_HEADER_TIMEOUT must be between 1s and 30s".into());
        }
        if connections.request_timeout <= args.smtp.smtp_timeout {
            return Err(format!(
                "OTP_RELAY_REQUEST_TIMEOUT ({}) must be longer than OTP_RELAY_SMTP_TIMEOUT ({}), \
                 or a slow but successful send would be answered as a failure",
                humantime::format_duration(connections.request_timeout),
                humantime::format_duration(args.smtp.smtp_timeout)
            ));
        }
        let store = parse_store(&args.store, args.store_ca.as_deref())?;
        let metrics_listen = parse_metrics_listen(args.metrics_listen.as_deref(), args.listen)?;
        if !(64..=1 << 24).contains(&args.limit_sketch_width)
            || !args.limit_sketch_width.is_power_of_two()
        {
            return Err(
                "OTP_RELAY_LIMIT_SKETCH_WIDTH must be a power of two from 64 to 16777216".into(),
            );
        }
        if [
            policy.sends_per_ip,
            policy.sends_per_address,
            policy.sends_per_address_total,
            policy.failures_per_address,
            policy.failures_per_address_total,
        ]
        .iter()
        .any(|rate| rate.count >= u64::from(u16::MAX))
        {
            return Err(
                "OTP_RELAY_SENDS_PER_IP, OTP_RELAY_SENDS_PER_ADDRESS(_TOTAL) and OTP_RELAY_FAILURES_PER_ADDRESS(_TOTAL) allow at most 65534 per window; use a shorter window for more".into(),
            );
        }

        let public_url_is_default = args.public_url.is_none();
        let public_url = args
            .public_url
            .unwrap_or_else(|| format!("http://{}", args.listen));
        let parsed = url::Url::parse(&public_url)
            .map_err(|e| format!("OTP_RELAY_PUBLIC_URL {public_url:?} is not a URL: {e}"))?;
        let public_host = parsed
            .host_str()
            .ok_or_else(|| format!("OTP_RELAY_PUBLIC_URL {public_url:?} has no host"))?
            .to_string();

        let (keys, keys_are_ephemeral) = match args.secret.as_ref().map(|s| s.expose().trim()) {
            Some(spec) if !spec.is_empty() => (
                KeyRing::parse(spec).map_err(|e| format!("OTP_RELAY_SECRET: {e}"))?,
                false,
            ),
            _ => (KeyRing::random(), true),
        };
        let set = |value: &Option<SecretString>| {
            value
                .as_ref()
                .map(|s| s.expose().trim().to_string())
                .filter(|text| !text.is_empty())
        };
        let (proof_keys, proof_key_is_ephemeral) =
            match (set(&args.proof_keys), set(&args.proof_secret)) {
                (Some(_), Some(_)) => {
                    return Err(
                        "OTP_RELAY_PROOF_KEYS and OTP_RELAY_PROOF_SECRET are both set: \
                        keep OTP_RELAY_PROOF_KEYS (Ed25519, public keys at /.well-known/jwks.json) \
                        and unset OTP_RELAY_PROOF_SECRET, or keep only the legacy HS256 secret"
                            .into(),
                    );
                }
                (Some(spec), None) => (
                    ProofKeys::parse_ed25519(&spec)
                        .map_err(|e| format!("OTP_RELAY_PROOF_KEYS: {e}"))?,
                    false,
                ),
                (None, Some(text)) => (
                    ProofKeys::Hs256(
                        keys::decode_secret("OTP_RELAY_PROOF_SECRET", &text)
                            .map_err(|e| format!("OTP_RELAY_PROOF_SECRET: {e}"))?,
                    ),
                    false,
                ),
                (None, None) => (ProofKeys::random_ed25519(), true),
            };

        let mut allowed_origins = Vec::new();
        for origin in args
            .allowed_origins
            .iter()
            .map(|o| o.trim())
            .filter(|o| !o.is_empty())
        {
            if origin == "*" || origin == "null" {
                return Err(format!(
                    "OTP_RELAY_ALLOWED_ORIGINS: {origin:?} is not allowed; list each site's origin"
                ));
            }
            allowed_origins.push(
                canonical_origin(origin).map_err(|e| format!("OTP_RELAY_ALLOWED_ORIGINS: {e}"))?,
            );
        }
        // Pages served by the relay itself call it from its own origin.
        if let Ok(own) = canonical_origin(parsed.origin().ascii_serialization().as_str())
            && !allowed_origins.contains(&own)
        {
            allowed_origins.push(own);
        }
        let branding = match args.branding.as_deref() {
            Some(path) => parse_branding(path, &allowed_origins)?,
            None => std::collections::HashMap::new(),
        };

        // Checked last, so that a setting that is wrong is named before one that is missing.
        // The outbox shows every code to whoever asks, so it is never what a blank setting
        // gives (A13): it takes an explicit switch, and then only this machine can reach it.
        match (args.dev, args.smtp.smtp_settings().is_some()) {
            (false, false) => return Err(NO_MAIL_SERVER.into()),
            (true, true) => {
                return Err(
                    "both OTP_RELAY_DEV and OTP_RELAY_SMTP_URL are set. Development mode \
                     shows codes in an outbox and sends no mail: unset OTP_RELAY_DEV to send \
                     with SMTP, or unset OTP_RELAY_SMTP_URL to use the outbox."
                        .into(),
                );
            }
            (true, false) if !args.listen.ip().is_loopback() => {
                return Err(format!(
                    "development mode shows every code at /dev/outbox, so it listens on loopback \
                     only, not on {}. Use OTP_RELAY_LISTEN=127.0.0.1:{}, or configure \
                     OTP_RELAY_SMTP_URL and drop OTP_RELAY_DEV.",
                    args.listen,
                    args.listen.port()
                ));
            }
            _ => {}
        }

        Ok(Config {
            listen: args.listen,
            public_url,
            public_url_is_default,
            public_host,
            keys,
            keys_are_ephemeral,
            proof_keys,
            proof_key_is_ephemeral,
            smtp: args.smtp,
            policy,
            allowed_origins,
            dev: args.dev,
            trusted_proxies,
            connections,
            static_dir: args.static_dir,
            metrics_listen,
            log_format: args.log_format,
            branding,
            store,
            store_capacity: args.store_capacity,
            limit_sketch_width: args.limit_sketch_width,
        })
    }

    /// Once the socket is bound (port 0 picks one), a defaulted public URL names the real port.
    pub fn bound_to(&mut self, bound: SocketAddr) {
        if !self.public_url_is_default {
            return;
        }
        let old_origin = self.public_url.clone();
        self.public_url = format!("http://{bound}");
        self.public_host = bound.ip().to_string();
        self.allowed_origins.retain(|origin| *origin != old_origin);
        if !self.allowed_origins.contains(&self.public_url) {
            self.allowed_origins.push(self.public_url.clone());
        }
    }

    /// What the verification service is given.
    pub fn service_settings(&self) -> ServiceSettings {
        ServiceSettings {
            policy: self.policy.clone(),
            keys: self.keys.clone(),
            proof_keys: self.proof_keys.clone(),
            public_url: self.public_url.clone(),
            public_host: self.public_host.clone(),
            branding: self.branding.clone(),
        }
    }

    /// The configuration of `otp-relay serve FLAGS...` from the flags alone
    /// ([`ServeArgs::from_flags`]: no `OTP_RELAY_*` variable is read).
    pub fn from_flags(flags: &[&str]) -> Result<Config, String> {
        Config::from_args(ServeArgs::from_flags(flags)?)
    }
}

impl ServeArgs {
    /// `otp-relay serve FLAGS...` as the flags alone say it: every `OTP_RELAY_*` variable is
    /// ignored, so the tests that build a relay this way mean the same on a developer's machine
    /// whose shell sets some of them as in CI.
    pub fn from_flags(flags: &[&str]) -> Result<ServeArgs, String> {
        let command =
            ServeArgs::augment_args(clap::Command::new("serve")).mut_args(|arg| arg.env(None));
        let argv = std::iter::once("serve").chain(flags.iter().copied());
        let matches = command
            .try_get_matches_from(argv)
            .map_err(|e| e.to_string())?;
        ServeArgs::from_arg_matches(&matches).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `otp-relay serve --dev ARGS...`.
    fn serve(args: &[&str]) -> Result<Config, String> {
        let mut argv = vec!["otp-relay", "serve", "--dev"];
        argv.extend_from_slice(args);
        parse(argv)
    }

    /// `otp-relay serve ARGS...`, nothing added.
    fn serve_plain(args: &[&str]) -> Result<Config, String> {
        let mut argv = vec!["otp-relay", "serve"];
        argv.extend_from_slice(args);
        parse(argv)
    }

    fn parse(argv: Vec<&str>) -> Result<Config, String> {
        // argv[0..2] is `otp-relay serve`.
        Config::from_flags(&argv[2..])
    }

    /// Run alone by the test below, with `OTP_RELAY_MAX_ATTEMPTS=7` and `OTP_RELAY_SMTP_URL`
    /// set; in a plain run it holds trivially.
    #[test]
    fn flags_alone_give_the_defaults() {
        let config = Config::from_flags(&["--dev"]).unwrap();
        assert_eq!(config.policy.max_attempts, 3);
        assert!(config.smtp.smtp_url.is_none());
    }

    #[test]
    fn flags_alone_make_the_test_configuration_whatever_the_environment() {
        // The environment is the process's: this test runs the one above in a process of its
        // own, with variables that would change it if they were read.
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "config::tests::flags_alone_give_the_defaults"])
            .env("OTP_RELAY_MAX_ATTEMPTS", "7")
            .env("OTP_RELAY_SMTP_URL", "smtps://user:pw@smtp.example.com")
            .output()
            .unwrap();
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{said}");
        assert!(said.contains("1 passed"), "{said}");
    }

    fn redis_setting(args: &[&str]) -> Result<RedisSetting, String> {
        match serve(args)?.store {
            StoreSetting::Redis(redis) => Ok(redis),
            StoreSetting::Memory => Err("memory".into()),
        }
    }

    #[test]
    fn store_forms_parse_and_unknown_ones_name_the_forms() {
        assert!(matches!(serve(&[]).unwrap().store, StoreSetting::Memory));
        let single = redis_setting(&["--store", "redis://:pw@127.0.0.1:6379/2"]).unwrap();
        assert!(!single.cluster);
        assert_eq!(single.nodes.len(), 1);
        let cluster = redis_setting(&[
            "--store",
            "redis-cluster://:pw@127.0.0.1:7000, 127.0.0.1:7001,127.0.0.1:7002",
        ])
        .unwrap();
        assert!(cluster.cluster);
        let nodes: Vec<&str> = cluster.nodes.iter().map(SecretString::expose).collect();
        assert_eq!(
            nodes,
            [
                "redis://:pw@127.0.0.1:7000",
                "redis://:pw@127.0.0.1:7001",
                "redis://:pw@127.0.0.1:7002"
            ]
        );
        let tls_cluster =
            redis_setting(&["--store", "rediss-cluster://u:pw@redis-a:7000,redis-b:7001"]).unwrap();
        assert!(tls_cluster.cluster);
        let nodes: Vec<&str> = tls_cluster.nodes.iter().map(SecretString::expose).collect();
        assert_eq!(
            nodes,
            ["rediss://u:pw@redis-a:7000", "rediss://u:pw@redis-b:7001"]
        );
        for wrong in [
            "memcached://x:1",
            "redis-cluster://",
            "redis-cluster://a:1/0",
            "mem",
        ] {
            let error = serve(&["--store", wrong]).unwrap_err();
            assert!(error.contains("redis-cluster://"), "{wrong}: {error}");
        }
    }

    /// A14 for the store: a password goes to another machine over TLS only.
    #[test]
    fn a_redis_password_never_crosses_the_network_in_the_clear() {
        for cleartext in [
            "redis://:pw@redis.example:6379",
            "redis://user:pw@10.0.0.5:6379/1",
            "redis-cluster://:pw@127.0.0.1:7000,redis-b.example:7001",
        ] {
            let error = serve(&["--store", cleartext]).unwrap_err();
            assert!(error.contains("without TLS"), "{cleartext}: {error}");
            assert!(error.contains("rediss"), "{cleartext}: {error}");
            assert!(
                !error.contains("pw"),
                "the password is not repeated: {error}"
            );
        }
        for fine in [
            "redis://:pw@127.0.0.1:6379",
            "redis://:pw@localhost:6379/3",
            "redis://:pw@[::1]:6379",
            "redis://redis.example:6379",
            "rediss://:pw@redis.example:6380",
            "redis-cluster://:pw@127.0.0.1:7000,127.0.0.1:7001",
            "rediss-cluster://:pw@redis-a.example:7000,redis-b.example:7001",
        ] {
            assert!(serve(&["--store", fine]).is_ok(), "{fine}");
        }
    }

    #[test]
    fn a_store_ca_needs_tls_and_a_certificate() {
        let dir = std::env::temp_dir().join(format!("otp-relay-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let not_pem = dir.join("key.txt");
        std::fs::write(&not_pem, "hello").unwrap();
        let ca = ca.to_str().unwrap();
        let tls = redis_setting(&["--store", "rediss://127.0.0.1:6380", "--store-ca", ca]).unwrap();
        assert!(tls.ca.is_some());
        let plain = serve(&["--store", "redis://127.0.0.1:6379", "--store-ca", ca]).unwrap_err();
        assert!(plain.contains("rediss://"), "{plain}");
        let missing = serve(&[
            "--store",
            "rediss://h:1",
            "--store-ca",
            "/nonexistent/ca.pem",
        ])
        .unwrap_err();
        assert!(missing.contains("cannot read"), "{missing}");
        let wrong = serve(&[
            "--store",
            "rediss://h:1",
            "--store-ca",
            not_pem.to_str().unwrap(),
        ])
        .unwrap_err();
        assert!(wrong.contains("no PEM certificate"), "{wrong}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn rates_and_durations_parse() {
        assert_eq!(
            parse_rate("5/15m"),
            Ok(Rate {
                count: 5,
                window: Duration::from_secs(900)
            })
        );
        assert!(parse_rate("5").is_err());
        assert!(parse_rate("0/1m").is_err());
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn origins_are_canonical_and_wildcards_refused() {
        assert_eq!(
            canonical_origin("https://Shop.Example:443/").unwrap(),
            "https://shop.example"
        );
        assert_eq!(
            canonical_origin("http://127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert!(canonical_origin("https://shop.example/path").is_err());
        assert!(serve(&["--allowed-origins", "*"]).is_err());
        assert!(serve(&["--allowed-origins", "null"]).is_err());
    }

    #[test]
    fn unsafe_policies_are_refused() {
        assert!(serve(&["--ttl", "11m"]).is_err());
        assert!(serve(&["--code-length", "4"]).is_err());
        assert!(serve(&["--failures-per-address", "101/1h"]).is_err());
        assert!(serve(&["--secret", "k:c2hvcnQ"]).is_err());
    }

    #[test]
    fn defaults_follow_the_api() {
        let config = serve(&[]).unwrap();
        assert_eq!(config.policy.ttl, Duration::from_secs(300));
        assert_eq!(config.policy.max_attempts, 3);
        assert_eq!(config.policy.code_length, 6);
        assert_eq!(config.public_url, "http://127.0.0.1:8787");
        assert_eq!(
            config.allowed_origins,
            vec!["http://127.0.0.1:8787".to_string()]
        );
        assert!(config.keys_are_ephemeral && config.proof_key_is_ephemeral);
    }

    #[test]
    fn the_policy_defaults_are_the_cores_defaults() {
        let config = serve(&[]).unwrap();
        let core = Policy::default();
        assert_eq!(format!("{:?}", config.policy), format!("{core:?}"));
    }

    #[test]
    fn without_smtp_the_outbox_takes_an_explicit_switch() {
        for blank in [&[][..], &["--smtp-url", ""][..], &["--smtp-url", "  "][..]] {
            let error = serve_plain(blank).unwrap_err();
            assert!(
                error.contains("OTP_RELAY_SMTP_URL") && error.contains("OTP_RELAY_DEV"),
                "names both ways forward: {error}"
            );
        }
        assert!(serve_plain(&["--smtp-url", "smtps://u:p@smtp.example.com"]).is_ok());
        let dev = serve(&[]).unwrap();
        assert!(dev.dev);
        let both = serve(&["--smtp-url", "smtps://u:p@smtp.example.com"]).unwrap_err();
        assert!(both.contains("both"), "{both}");
    }

    #[test]
    fn development_mode_listens_on_loopback_only() {
        for listen in ["0.0.0.0:8787", "192.0.2.1:8787", "[::]:8787"] {
            let error = serve(&["--listen", listen]).unwrap_err();
            assert!(error.contains("loopback"), "{error}");
        }
        assert!(serve(&["--listen", "[::1]:0"]).is_ok());
        assert!(
            serve_plain(&[
                "--listen",
                "0.0.0.0:8787",
                "--smtp-url",
                "smtp://localhost:25"
            ])
            .is_ok()
        );
    }

    #[test]
    fn trusted_proxies_are_addresses_or_ranges() {
        let config = serve(&["--trust-proxy", "10.0.0.0/8, 192.0.2.7,::1,fd00::/8"]).unwrap();
        let shown: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "::1/128", "fd00::/8"]);
        assert!(serve(&[]).unwrap().trusted_proxies.is_empty());
        assert!(
            serve(&["--trust-proxy", "false"])
                .unwrap()
                .trusted_proxies
                .is_empty()
        );
        for bad in ["true", "1", "proxy.internal", "10.0.0.0/33"] {
            let error = serve(&["--trust-proxy", bad]).unwrap_err();
            assert!(error.contains("OTP_RELAY_TRUST_PROXY"), "{error}");
        }
    }

    #[test]
    fn connection_limits_are_checked() {
        let limits = serve(&[]).unwrap().connections;
        assert_eq!(limits.header_timeout, Duration::from_secs(10));
        assert_eq!(limits.request_timeout, Duration::from_secs(30));
        assert!(serve(&["--header-timeout", "31s"]).is_err());
        assert!(serve(&["--max-connections", "0"]).is_err());
        let error = serve(&["--request-timeout", "5s"]).unwrap_err();
        assert!(error.contains("OTP_RELAY_SMTP_TIMEOUT"), "{error}");
    }

    #[test]
    fn proofs_are_ed25519_unless_a_legacy_secret_is_set_on_purpose() {
        let (ephemeral, with_keys) = (
            serve(&[]).unwrap(),
            serve(&[
                "--proof-keys",
                &format!("p2:{},p1:{}", keys::random_secret(), keys::random_secret()),
            ])
            .unwrap(),
        );
        assert!(ephemeral.proof_key_is_ephemeral);
        assert!(matches!(ephemeral.proof_keys, ProofKeys::Ed25519 { .. }));
        assert!(!with_keys.proof_key_is_ephemeral);
        let published = with_keys.proof_keys.jwks().unwrap().keys;
        assert_eq!(published.len(), 2);
        assert_eq!(published[0].kid, "p2");

        // `--flag=value`: a base64url secret may start with '-'.
        let legacy = serve(&[&format!("--proof-secret={}", keys::random_secret())]).unwrap();
        assert!(matches!(legacy.proof_keys, ProofKeys::Hs256(_)));
        assert!(!legacy.proof_key_is_ephemeral);

        let both = serve(&[
            "--proof-keys",
            &format!("p1:{}", keys::random_secret()),
            &format!("--proof-secret={}", keys::random_secret()),
        ])
        .unwrap_err();
        assert!(both.contains("both set"), "{both}");
        let blank = serve(&["--proof-keys", " ", "--proof-secret", ""]).unwrap();
        assert!(blank.proof_key_is_ephemeral, "blank settings are unset");
        let long_seed =
            base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, [1u8; 64]);
        let wrong = serve(&["--proof-keys", &format!("p1:{long_seed}")]).unwrap_err();
        assert!(
            wrong.contains("OTP_RELAY_PROOF_KEYS") && wrong.contains("exactly 32"),
            "{wrong}"
        );
    }

    #[test]
    fn metrics_get_a_port_of_their_own() {
        assert_eq!(serve(&[]).unwrap().metrics_listen, None);
        assert_eq!(
            serve(&["--metrics-listen", " "]).unwrap().metrics_listen,
            None
        );
        let on = serve(&["--metrics-listen", "127.0.0.1:9187"]).unwrap();
        assert_eq!(on.metrics_listen, Some("127.0.0.1:9187".parse().unwrap()));
        let public = serve(&[
            "--listen",
            "127.0.0.1:8787",
            "--metrics-listen",
            "127.0.0.1:8787",
        ])
        .unwrap_err();
        assert!(public.contains("public port"), "{public}");
        assert!(serve(&["--metrics-listen", "9187"]).is_err());
        assert!(serve(&["--log-format", "xml"]).is_err());
        assert_eq!(
            serve(&["--log-format", "json"]).unwrap().log_format,
            LogFormat::Json
        );
    }

    #[test]
    fn secrets_never_show_in_debug_output() {
        let secret = crate::core::keys::random_secret();
        let config = serve_plain(&[
            "--secret",
            &format!("k:{secret}"),
            "--proof-keys",
            &format!("p1:{secret}"),
            "--smtp-url",
            "smtps://user:hunter2@smtp.example.com",
        ])
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains(&secret), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }
}
