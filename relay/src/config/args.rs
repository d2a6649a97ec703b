//! The command line of `serve` (and the SMTP part `send-test` shares): every flag with its
//! `OTP_RELAY_*` variable, and the parsers of durations, rates and switches.

use super::*;
use crate::core::Rate;
use crate::core::secret::SecretString;

/// How to reach the mail server. Shared by `serve` and `send-test`.
#[derive(Debug, Clone, Args)]
pub struct SmtpArgs {
    /// SMTP server: smtps://user:pass@host:465 (implicit TLS),
    /// smtp://user:pass@host:587?tls=required (STARTTLS), smtp://host:25 (plain; with a login
    /// only to this machine). Required unless in development mode.
    #[arg(long, env = "OTP_RELAY_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,
    /// A file holding the SMTP URL, in place of OTP_RELAY_SMTP_URL.
    #[arg(long, env = "OTP_RELAY_SMTP_URL_FILE")]
    pub smtp_url_file: Option<PathBuf>,
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
    /// Deliver codes by a signed HTTP POST to this URL instead of SMTP (Standard Webhooks):
    /// https://, or http:// to a loopback host only.
    #[arg(long, env = "OTP_RELAY_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// The webhook's signing secrets, `whsec_` + base64 (24 to 64 bytes), separated by spaces or
    /// commas: each signs, so a receiver's secret is rotated by listing the new one beside the
    /// old one.
    #[arg(long, env = "OTP_RELAY_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<SecretString>,
    /// A file holding the webhook's secrets, in place of OTP_RELAY_WEBHOOK_SECRET.
    #[arg(long, env = "OTP_RELAY_WEBHOOK_SECRET_FILE")]
    pub webhook_secret_file: Option<PathBuf>,
    /// How long the webhook may take to answer before the send counts as failed.
    #[arg(long, env = "OTP_RELAY_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub webhook_timeout: Duration,
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
    /// A file holding the challenge keys, in place of OTP_RELAY_SECRET (a container secret, a
    /// systemd credential).
    #[arg(long, env = "OTP_RELAY_SECRET_FILE")]
    pub secret_file: Option<PathBuf>,
    /// Proof keys, "kid:base64url" items separated by commas, each a 32-byte Ed25519 seed
    /// (`otp-relay keygen --kid ID`): the first signs, every one is published at
    /// /.well-known/jwks.json. Unset: a random key for this run only.
    #[arg(long, env = "OTP_RELAY_PROOF_KEYS", hide_env_values = true)]
    pub proof_keys: Option<SecretString>,
    /// A file holding the proof keys, in place of OTP_RELAY_PROOF_KEYS.
    #[arg(long, env = "OTP_RELAY_PROOF_KEYS_FILE")]
    pub proof_keys_file: Option<PathBuf>,
    /// Legacy: sign proofs with HS256 under this secret (base64url, at least 32 bytes) instead,
    /// which every backend that checks proofs must then hold. Not with OTP_RELAY_PROOF_KEYS.
    #[arg(long, env = "OTP_RELAY_PROOF_SECRET", hide_env_values = true)]
    pub proof_secret: Option<SecretString>,
    /// A file holding the legacy HS256 proof secret, in place of OTP_RELAY_PROOF_SECRET.
    #[arg(long, env = "OTP_RELAY_PROOF_SECRET_FILE")]
    pub proof_secret_file: Option<PathBuf>,
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
    /// Told to stop (SIGTERM, Ctrl-C), how long the relay keeps serving with /readyz at 503, so
    /// that a load balancer stops sending first; then it finishes what is in flight and exits.
    #[arg(long, env = "OTP_RELAY_DRAIN", default_value = "5s", value_parser = parse_duration)]
    pub drain: Duration,
    /// The proof of work on sends and resends: on (the default; blank is on too) or off.
    #[arg(long, env = "OTP_RELAY_POW", default_value = "on", value_parser = parse_on_off, action = clap::ArgAction::Set)]
    pub pow: bool,
    /// Client networks (addresses or CIDR ranges, comma separated) that send without a proof
    /// of work, e.g. a backend that calls the relay from known addresses.
    #[arg(long, env = "OTP_RELAY_POW_EXEMPT", value_delimiter = ',')]
    pub pow_exempt: Vec<String>,
    /// The proof of work's `maxnumber` for a network with no recent sends (the expected work is
    /// half of it in SHA-256 hashes).
    #[arg(long, env = "OTP_RELAY_POW_BASE", default_value_t = crate::core::pow::DEFAULT_BASE)]
    pub pow_base: u64,
    /// Sends per minute over all clients above which every proof of work gets harder.
    #[arg(long, env = "OTP_RELAY_POW_SURGE", default_value_t = crate::core::pow::DEFAULT_SURGE_PER_MINUTE)]
    pub pow_surge: u64,
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
    /// Unset: `memory`.
    #[arg(long, env = "OTP_RELAY_STORE", hide_env_values = true)]
    pub store: Option<SecretString>,
    /// A file holding the store's URL (which may hold a password), in place of OTP_RELAY_STORE.
    #[arg(long, env = "OTP_RELAY_STORE_FILE")]
    pub store_file: Option<PathBuf>,
    /// Review addresses: `address:code` pairs, separated by commas, that get no email and
    /// verify with the listed code (app-store review, end-to-end tests of a site); their
    /// proofs carry `review: true`. The code is `OTP_RELAY_CODE_LENGTH` digits.
    #[arg(long, env = "OTP_RELAY_REVIEW_ADDRESSES", hide_env_values = true)]
    pub review_addresses: Option<SecretString>,
    /// A file of review addresses, one `address:code` a line, in place of
    /// OTP_RELAY_REVIEW_ADDRESSES.
    #[arg(long, env = "OTP_RELAY_REVIEW_ADDRESSES_FILE")]
    pub review_addresses_file: Option<PathBuf>,
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

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("{e}; write a duration such as 90s, 5m or 1h"))
}

pub(super) fn parse_rate(text: &str) -> Result<Rate, String> {
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

/// `on` or `off`; blank is `on`, so that an empty setting never turns a protection off.
pub(super) fn parse_on_off(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "1" | "true" | "yes" | "" => Ok(true),
        "off" | "0" | "false" | "no" => Ok(false),
        other => Err(format!("{other:?} is neither on nor off")),
    }
}

pub(super) fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("{other:?} is not true or false")),
    }
}

/// How the log is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (timestamp, level, target, fields with the message).
    Json,
}

impl SmtpArgs {
    /// Takes the SMTP URL and the webhook's secrets from their files
    /// (`OTP_RELAY_SMTP_URL_FILE`, `OTP_RELAY_WEBHOOK_SECRET_FILE`), if named.
    pub fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        super::secret_files::read_into(
            &mut self.smtp_url,
            self.smtp_url_file.as_deref(),
            "OTP_RELAY_SMTP_URL",
        )?;
        super::secret_files::read_into(
            &mut self.webhook_secret,
            self.webhook_secret_file.as_deref(),
            "OTP_RELAY_WEBHOOK_SECRET",
        )
    }

    /// The webhook's settings, when a webhook URL is set and not blank.
    pub fn webhook_settings(&self) -> Option<WebhookSettings<'_>> {
        let url = self.webhook_url.as_deref()?.trim();
        (!url.is_empty()).then(|| WebhookSettings {
            url,
            secrets: self
                .webhook_secret
                .as_ref()
                .map_or("", |secret| secret.expose()),
            from: &self.from,
            timeout: self.webhook_timeout,
        })
    }

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

impl ServeArgs {
    /// Takes every secret setting named by its `_FILE` form from that file
    /// (`config::secret_files`).
    pub fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        use super::secret_files::read_into;
        self.smtp.read_secret_files()?;
        read_into(
            &mut self.secret,
            self.secret_file.as_deref(),
            "OTP_RELAY_SECRET",
        )?;
        read_into(
            &mut self.proof_keys,
            self.proof_keys_file.as_deref(),
            "OTP_RELAY_PROOF_KEYS",
        )?;
        read_into(
            &mut self.proof_secret,
            self.proof_secret_file.as_deref(),
            "OTP_RELAY_PROOF_SECRET",
        )?;
        read_into(
            &mut self.store,
            self.store_file.as_deref(),
            "OTP_RELAY_STORE",
        )?;
        read_into(
            &mut self.review_addresses,
            self.review_addresses_file.as_deref(),
            "OTP_RELAY_REVIEW_ADDRESSES",
        )
    }

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
