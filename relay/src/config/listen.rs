//! Listening and its limits: connections, trusted proxies, the metrics port, and the origins
//! allowed to call from a browser.

use super::*;

/// Reads `OTP_RELAY_METRICS_LISTEN`: blank is unset; the public address is refused.
pub(super) fn parse_metrics_listen(
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

/// Parses addresses (`10.0.0.1`, `::1`) and CIDR ranges (`10.0.0.0/8`), blanks skipped; the
/// first item that is neither is the error.
pub(super) fn parse_networks(items: &[String]) -> Result<Vec<IpNet>, String> {
    items
        .iter()
        .map(|item| item.trim())
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| item.to_string())
        })
        .collect()
}

/// Parses the trusted proxies: addresses (`10.0.0.1`, `::1`) or CIDR ranges (`10.0.0.0/8`).
pub(super) fn parse_trusted_proxies(items: &[String]) -> Result<Vec<IpNet>, String> {
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

/// How connections are limited, from the arguments, within their bounds.
pub(super) fn connection_limits(
    args: &ServeArgs,
    trusted_proxies: &[IpNet],
) -> Result<ConnectionLimits, ConfigError> {
    let connections = ConnectionLimits {
        max_connections: args.max_connections,
        // Never more than all of them, so a small OTP_RELAY_MAX_CONNECTIONS alone is enough.
        per_client: args.connections_per_client.min(args.max_connections),
        shared_peers: trusted_proxies.to_vec(),
        max_age: args.connection_max_age,
        max_requests: args.connection_max_requests,
        header_timeout: args.header_timeout,
        request_timeout: args.request_timeout,
    };
    if connections.max_connections == 0 {
        return Err(ConfigError::new(
            "OTP_RELAY_MAX_CONNECTIONS",
            "OTP_RELAY_MAX_CONNECTIONS must be at least 1",
        ));
    }
    if args.connections_per_client == 0 {
        return Err(ConfigError::new(
            "OTP_RELAY_CONNECTIONS_PER_CLIENT",
            "OTP_RELAY_CONNECTIONS_PER_CLIENT must be at least 1",
        ));
    }
    if connections.max_age.is_zero() || connections.max_requests == 0 {
        return Err(ConfigError::new(
            "OTP_RELAY_CONNECTION_MAX_AGE",
            "OTP_RELAY_CONNECTION_MAX_AGE and OTP_RELAY_CONNECTION_MAX_REQUESTS must be above zero",
        ));
    }
    if connections.header_timeout.is_zero() || connections.header_timeout > MAX_HEADER_TIMEOUT {
        return Err(ConfigError::new(
            "OTP_RELAY_HEADER_TIMEOUT",
            "OTP_RELAY_HEADER_TIMEOUT must be between 1s and 30s",
        ));
    }
    if connections.request_timeout <= args.smtp.smtp_timeout {
        return Err(ConfigError::new(
            "OTP_RELAY_REQUEST_TIMEOUT",
            format!(
                "OTP_RELAY_REQUEST_TIMEOUT ({}) must be longer than OTP_RELAY_SMTP_TIMEOUT ({}), \
                 or a slow but successful send would be answered as a failure",
                humantime::format_duration(connections.request_timeout),
                humantime::format_duration(args.smtp.smtp_timeout)
            ),
        ));
    }
    Ok(connections)
}

/// The origins allowed to call from a browser, canonical, and the relay's own (pages it serves
/// call it from there).
pub(super) fn allowed_origins(
    args: &ServeArgs,
    public_url: &url::Url,
) -> Result<Vec<String>, ConfigError> {
    let refused = |message: String| ConfigError::new("OTP_RELAY_ALLOWED_ORIGINS", message);
    let mut allowed_origins = Vec::new();
    for origin in args
        .allowed_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
    {
        if origin == "*" || origin == "null" {
            return Err(refused(format!(
                "OTP_RELAY_ALLOWED_ORIGINS: {origin:?} is not allowed; list each site's origin"
            )));
        }
        allowed_origins.push(
            canonical_origin(origin)
                .map_err(|e| refused(format!("OTP_RELAY_ALLOWED_ORIGINS: {e}")))?,
        );
    }
    if let Ok(own) = canonical_origin(public_url.origin().ascii_serialization().as_str())
        && !allowed_origins.contains(&own)
    {
        allowed_origins.push(own);
    }
    Ok(allowed_origins)
}
