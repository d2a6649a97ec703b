//! The HTTP surface: exactly the endpoints, statuses and error codes of API.md, the origin
//! allow-list (CORS), the JSON-only body rule with its size limit, and the client IP.

mod outbox;
mod widget;

use crate::error::ApiError;
use crate::service::{Relay, Requester};
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures_util::StreamExt;
use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::Health;
use serde_json::{Map, Value};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

/// What a page whose origin is not on the allow-list is told.
const ORIGIN_NOT_ALLOWED: &str = "This site is not allowed to use this verification service. Its operator must add the site's origin to OTP_RELAY_ALLOWED_ORIGINS.";

/// Largest request body accepted (API.md).
pub const MAX_BODY_BYTES: usize = 16 * 1024;
/// How much of an oversized body is read and discarded before answering 413.
const DRAIN_LIMIT: usize = 2 * 1024 * 1024;
/// How long reading a body may take.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Shared state of the handlers.
pub type AppState = Arc<Relay>;

/// The whole application, so tests can drive it without a socket.
pub fn router(relay: Arc<Relay>) -> Router {
    let api = Router::new()
        .route("/api/v1/challenges", post(issue))
        .route("/api/v1/challenges/resend", post(resend))
        .route("/api/v1/challenges/verify", post(verify))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&relay),
            origin_guard,
        ));
    // Files (the page, the widget) are compressed as hard as gzip goes: they are cached for long,
    // and API answers are too small to gain from it.
    let files = widget::routes().layer(
        CompressionLayer::new()
            .gzip(true)
            .quality(CompressionLevel::Best),
    );
    let mut app = Router::new()
        .merge(api)
        .merge(files)
        .route("/healthz", get(health))
        .route("/dev/outbox", get(outbox::page));
    app = match relay.config.static_dir.clone() {
        Some(dir) => {
            let index = dir.join("index.html");
            app.fallback_service(
                tower::ServiceBuilder::new()
                    .layer(
                        CompressionLayer::new()
                            .gzip(true)
                            .quality(CompressionLevel::Best),
                    )
                    .service(ServeDir::new(dir).fallback(ServeFile::new(index))),
            )
        }
        None => app.fallback(not_found),
    };
    app.with_state(relay)
}

async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

async fn not_found() -> ApiError {
    ApiError::new(
        ErrorCode::NotFound,
        "There is nothing at this address. The API lives under /api/v1/.",
    )
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "This endpoint takes POST with a JSON body.",
    )
}

/// The allowed `Origin` of a request, put in its extensions by [`origin_guard`].
#[derive(Debug, Clone)]
struct AllowedOrigin(String);

/// CORS by allow-list: a request with an `Origin` that is not listed gets 403 and no
/// `Access-Control-*` headers; a listed origin's preflight gets 204. Requests without `Origin`
/// (servers, terminal clients) pass.
async fn origin_guard(State(relay): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        if request.method() == Method::OPTIONS {
            return (StatusCode::NO_CONTENT, [(header::ALLOW, "POST, OPTIONS")]).into_response();
        }
        return next.run(request).await;
    };
    let allowed = origin
        .to_str()
        .ok()
        .filter(|o| relay.config.allowed_origins.iter().any(|a| a == o))
        .map(str::to_string);
    let Some(allowed) = allowed else {
        return ApiError::new(ErrorCode::OriginNotAllowed, ORIGIN_NOT_ALLOWED).into_response();
    };
    let cors = |headers: &mut HeaderMap| {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    };
    if request.method() == Method::OPTIONS {
        let mut response = StatusCode::NO_CONTENT.into_response();
        let headers = response.headers_mut();
        cors(headers);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("POST, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return response;
    }
    request.extensions_mut().insert(AllowedOrigin(allowed));
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    cors(headers);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
    response
}

/// A JSON object body: checked for content type, size and shape before any handler sees it.
struct JsonObject {
    fields: Map<String, Value>,
    requester: Requester,
}

impl JsonObject {
    /// A required string field.
    fn string(&self, name: &str) -> Result<&str, ApiError> {
        match self.fields.get(name) {
            Some(Value::String(text)) => Ok(text),
            Some(Value::Null) | None => Err(ApiError::invalid_request(format!(
                "The field \"{name}\" is missing; send it as a string."
            ))),
            Some(_) => Err(ApiError::invalid_request(format!(
                "The field \"{name}\" must be a string."
            ))),
        }
    }
}

impl FromRequest<AppState> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
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
        let requester = requester(&request, state);
        let bytes = read_body(request).await?;
        let value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::invalid_request(format!("The request body is not valid JSON ({e})."))
        })?;
        match value {
            Value::Object(fields) => Ok(JsonObject { fields, requester }),
            _ => Err(ApiError::invalid_request(
                "The request body must be a JSON object.",
            )),
        }
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
fn requester(request: &Request, relay: &Relay) -> Requester {
    let socket_ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip());
    let ip = if relay.config.trust_proxy {
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

async fn issue(State(relay): State<AppState>, body: JsonObject) -> Result<Response, ApiError> {
    let email = body.string("email")?;
    let response = relay.issue(email, &body.requester).await?;
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

async fn resend(State(relay): State<AppState>, body: JsonObject) -> Result<Response, ApiError> {
    let challenge = body.string("challenge")?;
    let email = body.string("email")?;
    let response = relay.resend(challenge, email, &body.requester).await?;
    Ok(Json(response).into_response())
}

async fn verify(State(relay): State<AppState>, body: JsonObject) -> Result<Response, ApiError> {
    let challenge = body.string("challenge")?;
    let email = body.string("email")?;
    let code = body.string("code")?;
    let response = relay
        .verify(challenge, email, code, &body.requester)
        .await?;
    Ok(Json(response).into_response())
}
