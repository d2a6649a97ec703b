//! Request bodies: JSON only, at most 16 KiB, one object, parsed into the shared request types of
//! `otp_relay_shared::api` with a precise message for each missing or mistyped field. Also who
//! is asking: the client IP (the socket's peer, or from a trusted proxy its `X-Forwarded-For`)
//! and the allowed origin.

use super::SharedApp;
use super::cors::AllowedOrigin;
use super::error::HttpError;
use crate::core::{ApiError, Requester};
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::header;
use futures_util::StreamExt;
use ipnet::IpNet;
use otp_relay_shared::ErrorCode;
use otp_relay_shared::Lang;
use otp_relay_shared::api::{CreateChallengeRequest, ResendRequest, VerifyRequest};
use serde::de::DeserializeOwned;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Largest request body accepted (docs/api.md).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How much of an oversized body is read and discarded before answering 413.
const DRAIN_LIMIT: usize = 2 * 1024 * 1024;
/// How long reading a body may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// A request body into a shared request type. serde reads it (unknown fields ignored, a field
/// given twice refused); a refusal names the field and says what to send, since the person
/// reading it is a developer wiring up a client.
pub fn request_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut reader = serde_json::Deserializer::from_slice(bytes);
    let body = serde_path_to_error::deserialize(&mut reader).map_err(|e| body_refusal(&e))?;
    // Anything after the object is not JSON the relay can read.
    reader.end().map_err(|e| not_json(&e))?;
    Ok(body)
}

fn not_json(error: &serde_json::Error) -> ApiError {
    ApiError::invalid_request(format!("The request body is not valid JSON ({error})."))
}

/// What is wrong with a body serde refused, for the developer who sent it.
fn body_refusal(error: &serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let inner = error.inner();
    if inner.classify() != serde_json::error::Category::Data {
        return not_json(inner);
    }
    // serde's own wording names the field for the errors it finds at the object's level.
    let detail = inner.to_string();
    let quoted = |prefix: &str| {
        detail
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(str::to_string)
    };
    let field = error.path().to_string();
    if let Some(missing) = quoted("missing field `") {
        ApiError::invalid_request(format!(
            "The field \"{missing}\" is missing; send it as a string."
        ))
    } else if let Some(twice) = quoted("duplicate field `") {
        ApiError::invalid_request(format!(
            "The field \"{twice}\" is given twice; send it once."
        ))
    } else if field == "." {
        ApiError::invalid_request("The request body must be a JSON object.")
    } else if detail.starts_with("invalid type: null") {
        ApiError::invalid_request(format!(
            "The field \"{field}\" is missing; send it as a string."
        ))
    } else {
        ApiError::invalid_request(format!("The field \"{field}\" must be a string."))
    }
}

/// An API request: its body, checked for content type, size and shape before any handler sees
/// it, and who sent it.
pub struct ApiRequest<T> {
    pub body: T,
    pub requester: Requester,
}

impl<T: DeserializeOwned + Localized> FromRequest<SharedApp> for ApiRequest<T> {
    type Rejection = HttpError;

    async fn from_request(request: Request, app: &SharedApp) -> Result<Self, HttpError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::protocol(
                ErrorCode::UnsupportedMediaType,
                "Send the request as JSON, with the header Content-Type: application/json.",
            )
            .into());
        }
        let mut requester = requester(&request, &app.config.trusted_proxies)?;
        let bytes = read_body(request).await?;
        let body: T = request_body(&bytes)?;
        // The body's `lang` (a page or widget says which language it shows) comes before the
        // browser's `Accept-Language`; a tag the relay does not speak is passed over.
        if let Some(lang) = body.lang().and_then(Lang::from_tag) {
            requester.lang = lang;
        }
        Ok(ApiRequest { body, requester })
    }
}

/// A request type that may say which language its sender shows.
pub trait Localized {
    fn lang(&self) -> Option<&str>;
}

macro_rules! localized {
    ($($request:ty),*) => {$(
        impl Localized for $request {
            fn lang(&self) -> Option<&str> {
                self.lang.as_deref()
            }
        }
    )*};
}
localized!(CreateChallengeRequest, ResendRequest, VerifyRequest);

fn too_large() -> ApiError {
    ApiError::protocol(
        ErrorCode::PayloadTooLarge,
        format!(
            "The request body is larger than {} KiB.",
            MAX_BODY_BYTES / 1024
        ),
    )
}

/// Reads a body of at most [`MAX_BODY_BYTES`]. A larger one is read on and discarded up to
/// [`DRAIN_LIMIT`], so that a client still sending it gets to read the 413 instead of a reset
/// connection; past that (or a slow drain) the connection is given up.
async fn read_body(request: Request) -> Result<Vec<u8>, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > DRAIN_LIMIT) {
        return Err(too_large());
    }
    let mut stream = request.into_body().into_data_stream();
    let mut body = Vec::new();
    let mut total = 0usize;
    let read = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk
                .map_err(|_| ApiError::invalid_request("The request body could not be read."))?;
            total += chunk.len();
            if total <= MAX_BODY_BYTES {
                body.extend_from_slice(&chunk);
            } else if total > DRAIN_LIMIT {
                break;
            }
        }
        Ok::<(), ApiError>(())
    };
    match tokio::time::timeout(DRAIN_TIME, read).await {
        Ok(result) => result?,
        Err(_) if total > MAX_BODY_BYTES => return Err(too_large()),
        Err(_) => {
            return Err(ApiError::invalid_request(
                "The request body arrived too slowly.",
            ));
        }
    }
    if total > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(body)
}

/// The client IP and the allowed origin. The IP is the socket's peer, unless that peer is a
/// trusted proxy: then it is read from `X-Forwarded-For` ([`client_ip`]).
pub fn requester(request: &Request, trusted_proxies: &[IpNet]) -> Result<Requester, ApiError> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip());
    // Every header line, as bytes: a line that is not ASCII is still read, never skipped, or
    // the client it names would vanish and the request count as the proxy's own (A31).
    let forwarded = request
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .map(axum::http::HeaderValue::as_bytes);
    let ip = client_ip(peer, forwarded, trusted_proxies).map_err(|entry| {
        tracing::warn!(
            %peer,
            entry = %entry.chars().take(64).collect::<String>(),
            "a trusted proxy sent an X-Forwarded-For entry that is not an IP address where the client should be: refused"
        );
        ApiError::invalid_request(
            "The proxy in front of this relay did not say which address the request came from \
             (its X-Forwarded-For entry is not an IP address). The site's operator needs to fix \
             the proxy or OTP_RELAY_TRUST_PROXY.",
        )
    })?;
    let origin = request
        .extensions()
        .get::<AllowedOrigin>()
        .map(|o| o.0.clone());
    let lang = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::En);
    Ok(Requester { ip, origin, lang })
}

/// Who the client is (docs/security.md, A22). A peer that is not a trusted proxy is the client,
/// whatever its headers say. From a trusted proxy, the `X-Forwarded-For` entries (all headers, in
/// order) are read from the right, skipping trusted proxies; the first other entry is the client.
/// Entries may carry a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`). When every entry is a
/// trusted proxy, the left-most is the client; with no entry, the peer.
///
/// An entry where the client should be that is not an address (`unknown`, garbage) is an error,
/// with the entry: the request is refused rather than counted in a bucket that every such client
/// would share.
pub fn client_ip<'a>(
    peer: IpAddr,
    forwarded: impl Iterator<Item = &'a [u8]>,
    trusted_proxies: &[IpNet],
) -> Result<IpAddr, String> {
    let peer = peer.to_canonical();
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !trusted(&peer) {
        return Ok(peer);
    }
    let entries: Vec<&[u8]> = forwarded
        .flat_map(|header| header.split(|&byte| byte == b','))
        .map(<[u8]>::trim_ascii)
        .filter(|entry| !entry.is_empty())
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev() {
        let ip = std::str::from_utf8(entry)
            .ok()
            .and_then(parse_forwarded_entry)
            .ok_or_else(|| String::from_utf8_lossy(entry).into_owned())?;
        client = ip;
        if !trusted(&ip) {
            break;
        }
    }
    Ok(client)
}

/// `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_forwarded_entry(entry: &str) -> Option<IpAddr> {
    let ip = entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .and_then(|inner| inner.parse::<IpAddr>().ok())
        })?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn nets(items: &[&str]) -> Vec<IpNet> {
        items.iter().map(|item| item.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_says() {
        let proxies = nets(&["10.0.0.0/8"]);
        for headers in [&[][..], &["198.51.100.9"][..], &["unknown"][..]] {
            assert_eq!(
                client_ip(
                    ip("203.0.113.5"),
                    headers.iter().map(|h| h.as_bytes()),
                    &proxies
                ),
                Ok(ip("203.0.113.5"))
            );
        }
        assert_eq!(
            client_ip(ip("203.0.113.5"), [&b"198.51.100.9"[..]].into_iter(), &[]),
            Ok(ip("203.0.113.5")),
            "nothing trusted by default"
        );
    }

    #[test]
    fn from_a_trusted_proxy_the_rightmost_untrusted_entry_is_the_client() {
        let proxies = nets(&["10.0.0.0/8", "192.0.2.7/32"]);
        let peer = ip("10.0.0.1");
        let client =
            |headers: &[&str]| client_ip(peer, headers.iter().map(|h| h.as_bytes()), &proxies);
        // A client's own spoofed entry on the left changes nothing.
        assert_eq!(client(&["6.6.6.6, 198.51.100.9"]), Ok(ip("198.51.100.9")));
        assert_eq!(
            client(&["6.6.6.6", "198.51.100.9, 192.0.2.7"]),
            Ok(ip("198.51.100.9"))
        );
        // Ports and brackets parse.
        assert_eq!(client(&["198.51.100.9:4711"]), Ok(ip("198.51.100.9")));
        assert_eq!(client(&["[2001:db8::1]:4711"]), Ok(ip("2001:db8::1")));
        assert_eq!(client(&["[2001:db8::1]"]), Ok(ip("2001:db8::1")));
        assert_eq!(client(&["::ffff:198.51.100.9"]), Ok(ip("198.51.100.9")));
        // Every entry a proxy: the left-most; no entry: the proxy itself.
        assert_eq!(client(&["10.1.1.1, 10.2.2.2"]), Ok(ip("10.1.1.1")));
        assert_eq!(client(&[]), Ok(peer));
        // Where the client should be, something that is not an address: refused, named.
        assert_eq!(
            client(&["198.51.100.9, unknown"]),
            Err("unknown".to_string())
        );
        // Left of the client, anything goes: it is never read.
        assert_eq!(client(&["garbage, 198.51.100.9"]), Ok(ip("198.51.100.9")));
    }

    #[test]
    fn a_line_that_is_not_ascii_is_read_not_skipped() {
        let proxies = nets(&["10.0.0.0/8"]);
        let peer = ip("10.0.0.1");
        let client = |headers: &[&[u8]]| client_ip(peer, headers.iter().copied(), &proxies);
        // The client's own line, with a byte that is not ASCII on its left: still the client.
        assert_eq!(
            client(&[b"\xff, 203.0.113.9"]),
            Ok(ip("203.0.113.9")),
            "neither freed nor counted as the proxy"
        );
        assert_eq!(
            client(&[b"198.51.100.1", b"\xff, 203.0.113.9"]),
            Ok(ip("203.0.113.9"))
        );
        // Where the client should be: refused, and named for the log.
        assert_eq!(client(&[b"203.0.113.9, \xff"]), Err("\u{fffd}".to_string()));
        assert_eq!(
            client(&[b"203.0.113.9", b"\xc3\xa9"]),
            Err("\u{e9}".to_string())
        );
    }
}
