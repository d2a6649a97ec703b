//! Operator configuration: command-line flags that mirror the `OTP_RELAY_*` environment variables
//! of docs/api.md, checked once at start-up into a [`Config`] the rest of the relay trusts. Secrets
//! are parsed straight into types whose `Debug` prints a placeholder.

mod args;
mod branding;
mod keys;
mod listen;
mod policy;
mod secret_files;
mod store;
#[cfg(test)]
mod tests;

pub use args::{LogFormat, ServeArgs, SmtpArgs, parse_duration};
pub use listen::{ConnectionLimits, MAX_HEADER_TIMEOUT, canonical_origin};
pub use policy::{MAX_FAILURES, MAX_TTL};
pub use store::{RedisSetting, StoreSetting};

use branding::parse_branding;
pub use branding::{Branding, branding_from_text};
use listen::{parse_metrics_listen, parse_trusted_proxies};
use store::parse_store;

use crate::core::keys::KeyRing;
use crate::core::pow::PowSettings;
use crate::core::proof::ProofKeys;
use crate::core::secret::SecretString;
use crate::core::{Policy, ReviewAddresses, ServiceSettings};
use crate::mail::{SmtpSettings, WebhookSettings};
use clap::{Args, FromArgMatches};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// As written by the operator: the proof's `iss`.
    pub public_url: String,
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
    /// The proof of work a send costs.
    pub pow: PowSettings,
    /// How long the relay serves on after it was told to stop, `/readyz` at 503.
    pub drain: Duration,
    /// Addresses with a fixed code and no email.
    pub review: ReviewAddresses,
}

/// The outbox shows every code to whoever asks, so it is never what a blank setting gives (A13):
/// it takes an explicit switch, and then only this machine can reach it.
fn mail_mode(args: &ServeArgs) -> Result<(), ConfigError> {
    let webhook = args.smtp.webhook_settings();
    if let Some(settings) = &webhook {
        crate::mail::WebhookTarget::parse(settings.url, settings.secrets)
            .map_err(ConfigError::of("OTP_RELAY_WEBHOOK_URL"))?;
    }
    let smtp = args.smtp.smtp_settings().is_some();
    if webhook.is_some() && (smtp || args.dev) {
        return Err(ConfigError::new(
            "OTP_RELAY_WEBHOOK_URL",
            "OTP_RELAY_WEBHOOK_URL is set with OTP_RELAY_SMTP_URL or OTP_RELAY_DEV: codes go one \
             way only. Keep the webhook and unset the other, or unset OTP_RELAY_WEBHOOK_URL.",
        ));
    }
    match (args.dev, smtp || webhook.is_some()) {
        (false, false) => Err(ConfigError::new("OTP_RELAY_SMTP_URL", NO_MAIL_SERVER)),
        (true, true) => Err(ConfigError::new(
            "OTP_RELAY_DEV",
            "both OTP_RELAY_DEV and OTP_RELAY_SMTP_URL are set. Development mode \
             shows codes in an outbox and sends no mail: unset OTP_RELAY_DEV to send \
             with SMTP, or unset OTP_RELAY_SMTP_URL to use the outbox.",
        )),
        (true, false) if !args.listen.ip().is_loopback() => Err(ConfigError::new(
            "OTP_RELAY_LISTEN",
            format!(
                "development mode shows every code at /dev/outbox, so it listens on loopback \
                 only, not on {}. Use OTP_RELAY_LISTEN=127.0.0.1:{}, or configure \
                 OTP_RELAY_SMTP_URL and drop OTP_RELAY_DEV.",
                args.listen,
                args.listen.port()
            ),
        )),
        _ => Ok(()),
    }
}

/// What `serve` says when there is neither a mail server nor development mode.
pub const NO_MAIL_SERVER: &str = "no mail server is configured, so no code could be sent. \
Set OTP_RELAY_SMTP_URL (e.g. smtps://user:pass@smtp.example.com:465) to send codes by email \
(or OTP_RELAY_WEBHOOK_URL with OTP_RELAY_WEBHOOK_SECRET to hand them to a service of yours), or \
start with --dev (OTP_RELAY_DEV=1) to try the relay on this machine with a development outbox \
that shows the codes instead of sending them.";

/// `OTP_RELAY_STORE` as the relay reads it (without `OTP_RELAY_STORE_CA`).
pub fn parse_store_setting(text: &SecretString) -> Result<StoreSetting, String> {
    parse_store(text, None)
}

/// A setting that is not valid, or a combination that would undo a promise: the variable to
/// change, and a sentence for the operator that names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ConfigError {
    /// The `OTP_RELAY_*` variable (the first, where several are involved).
    pub variable: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, message: impl Into<String>) -> Self {
        ConfigError {
            variable,
            message: message.into(),
        }
    }

    /// For `map_err`: a message about `variable` from a parser that does not know its name.
    pub(crate) fn of(variable: &'static str) -> impl Fn(String) -> ConfigError {
        move |message| ConfigError::new(variable, message)
    }
}

impl Config {
    /// Checks the arguments, one concern at a time; the error names the variable to change.
    pub fn from_args(mut args: ServeArgs) -> Result<Config, ConfigError> {
        args.read_secret_files()?;
        let policy = policy::checked(&args)?;
        let pow = policy::pow_settings(&args)?;
        // The sender is checked even while the outbox stands in for SMTP: a wrong one should
        // show on the first start, not on the first real send.
        crate::mail::smtp::parse_from(&args.smtp.from)
            .map_err(ConfigError::of("OTP_RELAY_FROM"))?;
        let trusted_proxies = parse_trusted_proxies(&args.trust_proxy)
            .map_err(ConfigError::of("OTP_RELAY_TRUST_PROXY"))?;
        let connections = listen::connection_limits(&args, &trusted_proxies)?;
        let memory = SecretString::new("memory".to_string());
        let store = parse_store(
            args.store.as_ref().unwrap_or(&memory),
            args.store_ca.as_deref(),
        )
        .map_err(ConfigError::of("OTP_RELAY_STORE"))?;
        let metrics_listen = parse_metrics_listen(args.metrics_listen.as_deref(), args.listen)
            .map_err(ConfigError::of("OTP_RELAY_METRICS_LISTEN"))?;
        if args.drain > Duration::from_secs(300) {
            return Err(ConfigError::new(
                "OTP_RELAY_DRAIN",
                "OTP_RELAY_DRAIN is at most 5m: a stopping relay should be gone within minutes",
            ));
        }
        if !(64..=1 << 24).contains(&args.limit_sketch_width)
            || !args.limit_sketch_width.is_power_of_two()
        {
            return Err(ConfigError::new(
                "OTP_RELAY_LIMIT_SKETCH_WIDTH",
                "OTP_RELAY_LIMIT_SKETCH_WIDTH must be a power of two from 64 to 16777216",
            ));
        }
        let public_url = args
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{}", args.listen));
        let parsed = url::Url::parse(&public_url).map_err(|e| {
            ConfigError::new(
                "OTP_RELAY_PUBLIC_URL",
                format!("OTP_RELAY_PUBLIC_URL {public_url:?} is not a URL: {e}"),
            )
        })?;
        let public_host = parsed
            .host_str()
            .ok_or_else(|| {
                ConfigError::new(
                    "OTP_RELAY_PUBLIC_URL",
                    format!("OTP_RELAY_PUBLIC_URL {public_url:?} has no host"),
                )
            })?
            .to_string();
        let (keys, keys_are_ephemeral) = keys::challenge_keys(&args)?;
        let (proof_keys, proof_key_is_ephemeral) = keys::proof_keys(&args)?;
        let allowed_origins = listen::allowed_origins(&args, &parsed)?;
        let branding = match args.branding.as_deref() {
            Some(path) => parse_branding(path, &allowed_origins)
                .map_err(ConfigError::of("OTP_RELAY_BRANDING"))?,
            None => std::collections::HashMap::new(),
        };
        let review = match &args.review_addresses {
            Some(spec) => {
                ReviewAddresses::parse(spec.expose(), policy.code_length).map_err(|message| {
                    ConfigError::new(
                        "OTP_RELAY_REVIEW_ADDRESSES",
                        format!("OTP_RELAY_REVIEW_ADDRESSES: {message}"),
                    )
                })?
            }
            None => ReviewAddresses::default(),
        };
        // Checked last, so that a setting that is wrong is named before one that is missing.
        mail_mode(&args)?;

        Ok(Config {
            listen: args.listen,
            public_url,
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
            pow,
            drain: args.drain,
            review,
        })
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
            pow: self.pow.clone(),
            review: self.review.clone(),
        }
    }

    /// The configuration of `otp-relay serve FLAGS...` from the flags alone
    /// ([`ServeArgs::from_flags`]: no `OTP_RELAY_*` variable is read).
    pub fn from_flags(flags: &[&str]) -> Result<Config, String> {
        Config::from_args(ServeArgs::from_flags(flags)?).map_err(|error| error.to_string())
    }
}
