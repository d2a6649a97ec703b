//! Request bodies: JSON only, at most 16 KiB, one object, parsed into the shared request types of
//! `otp_relay_shared::api` with a precise message for each missing or mistyped field. Also who
//! is asking: the client IP (socket, or a trusted proxy's header) and the allowed origin.

use super::SharedApp;
use super::cors::AllowedOrigin;
use crate::core::{ApiError, Requester};
use axum::extract::{ConnectInfo, FromRequest, Request};
use axum::http::header;
use futures_util::StreamExt;
use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::{CreateChallengeRequest, ResendRequest, VerifyRequest};
use serde_json::{Map, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Largest request body accepted (docs/api.md).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How much of an oversized body is read and discarded before answering 413.
const DRAIN_LIMIT: usize = 2 * 1024 * 1024;
/// How long reading a body may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// The fields of a JSON object body.
pub struct Fields(Map<String, Value>);

impl Fields {
    /// A required string field.
    pub fn string(&self, name: &str) -> Result<String, ApiError> {
        match self.0.get(name) {
            Some(Value::String(text)) => Ok(text.clone()),
            Some(Value::Null) | None => Err(ApiError::invalid_request(format!(
                "The field \"{name}\" is missing; send it as a string."
            ))),
            Some(_) => Err(ApiError::invalid_request(format!(
                "The field \"{name}\" must be a string."
            ))),
        }
    }
}

/// A shared request type, read from a body's fields.
pub trait FromFields: Sized {
    fn from_fields(fields: &Fields) -> Result<Self, ApiError>;
}

impl FromFields for CreateChallengeRequest {
    fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        Ok(CreateChallengeRequest {
            email: fields.string("email")?,
        })
    }
}

impl FromFields for ResendRequest {
    fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        Ok(ResendRequest {
            challenge: fields.string("challenge")?,
            email: fields.string("email")?,
        })
    }
}

impl FromFields for VerifyRequest {
    fn from_fields(fields: &Fields) -> Result<Self, ApiError> {
        Ok(VerifyRequest {
            challenge: fields.string("challenge")?,
            email: fields.string("email")?,
            code: fields.string("code")?,
        })
    }
}

/// An API request: its body, checked for content type, size and shape before any handler sees
/// it, and who sent it.
pub struct ApiRequest<T> {
    pub body: T,
    pub requester: Requester,
}

impl<T: FromFields> FromRequest<SharedApp> for ApiRequest<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, app: &SharedApp) -> Result<Self, ApiError> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "Send the request as JSON, with the header Content-Type: application/json.",
            ));
        }
        let requester = requester(&request, app.config.trust_proxy);
        let bytes = read_body(request).await?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::invalid_request(format!("The request body is not valid JSON ({e})."))
        })?;
        let Value::Object(fields) = value else {
            return Err(ApiError::invalid_request(
                "The request body must be a JSON object.",
            ));
        };
        Ok(ApiRequest {
            body: T::from_fields(&Fields(fields))?,
            requester,
        })
    }
}

fn too_large() -> ApiError {
    ApiError::new(
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

/// The client IP (socket, or the last `X-Forwarded-For` entry when a proxy is trusted) and the
/// allowed origin.
fn requester(request: &Request, trust_proxy: bool) -> Requester {
    let socket_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip());
    let ip = if trust_proxy {
        request
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .last()
            .and_then(|last| last.trim().parse::<IpAddr>().ok())
            .unwrap_or(socket_ip)
    } else {
        socket_ip
    };
    let origin = request
        .extensions()
        .get::<AllowedOrigin>()
        .map(|o| o.0.clone());
    Requester { ip, origin }
}
