//! Where the relay keeps its state (`OTP_RELAY_STORE`, `OTP_RELAY_STORE_CA`), and the rule that a
//! Redis password crosses the network over TLS only.

use crate::core::network::is_loopback_host;
use crate::core::secret::SecretString;

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
pub(super) const STORE_FORMS: &str = "memory, redis://[user:pass@]host:port[/db], rediss://[user:pass@]host:port[/db] (TLS), redis-cluster://[user:pass@]host:port,host:port,... or rediss-cluster://[user:pass@]host:port,host:port,... (TLS)";

/// Refuses a password sent in the clear to another machine (A14, as for SMTP): `credentials`
/// is what comes before `@`, `hosts` the comma-separated `host:port` after it.
pub(super) fn refuse_cleartext_login(
    scheme: &str,
    credentials: &str,
    hosts: &str,
) -> Result<(), String> {
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
pub(super) fn parse_store(
    text: &SecretString,
    ca: Option<&std::path::Path>,
) -> Result<StoreSetting, String> {
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
