//! The HTTP surface, and the only part of the relay (with `server.rs`) that knows axum: the
//! endpoints, statuses and error codes of docs/api.md, the origin allow-list ([`cors`]), the
//! JSON-only body rule with its size limit ([`extract`]), the API's handlers ([`handlers`]), the
//! widget files ([`widget`]), the development outbox page ([`outbox`]), the OpenAPI document
//! generated from the handlers ([`openapi`]), and the one place errors become responses
//! ([`error`]).

pub mod cors;
pub mod error;
pub mod extract;
pub mod frontend;
pub mod handlers;
pub mod openapi;
mod outbox;
mod widget;

use crate::config::Config;
use crate::core::{ApiError, VerificationService};
use crate::mail::Outbox;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use error::HttpError;
use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::{ErrorResponse, Health};
use std::sync::Arc;
use tower_http::CompressionLevel;
use tower_http::compression::CompressionLayer;
use tower_http::services::{ServeDir, ServeFile};

pub use extract::MAX_BODY_BYTES;

/// What the handlers share: the checked configuration, the verification service, and the
/// development outbox when there is one.
pub struct App {
    pub config: Config,
    pub service: VerificationService,
    pub outbox: Option<Arc<Outbox>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Set once the relay was told to stop: `/readyz` answers 503 so that a load balancer sends
    /// no more, while requests are still served for the drain period (`OTP_RELAY_DRAIN`).
    pub draining: std::sync::atomic::AtomicBool,
}

/// The handlers' state.
pub type SharedApp = Arc<App>;

/// The whole application, so tests can drive it without a socket.
pub fn router(app: SharedApp) -> Router {
    let api = Router::new()
        .route("/api/v1/challenges", post(handlers::issue))
        .route("/api/v1/challenges/resend", post(handlers::resend))
        .route("/api/v1/challenges/verify", post(handlers::verify))
        .route("/api/v1/pow", get(handlers::pow))
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            cors::origin_guard,
        ));
    // Files (the page, the widget) are compressed as hard as gzip goes: they are cached for long,
    // and API answers are too small to gain from it.
    let files = widget::routes().layer(
        CompressionLayer::new()
            .gzip(true)
            .quality(CompressionLevel::Best),
    );
    let mut router = Router::new()
        .merge(api)
        .merge(files)
        .route("/api/v1/openapi.json", get(openapi::openapi_json))
        .route("/healthz", get(health))
        .route("/livez", get(live))
        .route("/readyz", get(ready))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/dev/outbox", get(outbox::page));
    router = match frontend::Frontend::of(app.config.static_dir.as_ref()) {
        Some(frontend::Frontend::BuiltIn) => router.fallback(frontend::built_in_page),
        Some(frontend::Frontend::Folder(dir)) => {
            let index = dir.join("index.html");
            router.fallback_service(
                tower::ServiceBuilder::new()
                    .layer(
                        CompressionLayer::new()
                            .gzip(true)
                            .quality(CompressionLevel::Best),
                    )
                    .service(
                        ServeDir::new(dir)
                            .precompressed_gzip()
                            .fallback(ServeFile::new(index).precompressed_gzip()),
                    ),
            )
        }
        None => router.route("/", get(no_page)).fallback(not_found),
    };
    if app.config.dev {
        router = router.layer(middleware::from_fn(loopback_host_only));
    }
    let deadline = app.config.connections.request_timeout;
    let metrics = Arc::clone(&app.metrics);
    router
        .layer(middleware::from_fn_with_state(
            Arc::clone(&app),
            close_while_draining,
        ))
        .layer(middleware::from_fn(
            move |request: axum::extract::Request, next: middleware::Next| {
                counted_within_deadline(deadline, Arc::clone(&metrics), request, next)
            },
        ))
        .with_state(app)
}

/// While the relay drains before it stops, every answer says `Connection: close`, so that
/// clients that keep connections open take their next request to another relay.
async fn close_while_draining(
    State(app): State<SharedApp>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let mut response = next.run(request).await;
    if app.draining.load(std::sync::atomic::Ordering::Relaxed) {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    response
}

/// Development mode listens on loopback only, but a web page could still reach it through a name
/// of its own that resolves to 127.0.0.1 (DNS rebinding) and read the outbox, codes and all: a
/// request for any host but a loopback one is refused.
async fn loopback_host_only(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    // Browsers always send `Host`; a request without one (HTTP/1.0, a test without a socket)
    // cannot come from a rebound page.
    let Some(host) = request.headers().get(axum::http::header::HOST) else {
        return next.run(request).await;
    };
    let host = host.to_str().unwrap_or_default();
    if crate::core::network::is_loopback_host(host) {
        return next.run(request).await;
    }
    tracing::warn!(
        reason = "dev_host",
        host = %host.chars().take(64).collect::<String>(),
        "development mode: refused a request for a host that is not loopback"
    );
    HttpError::from(ApiError::protocol(
        ErrorCode::OriginNotAllowed,
        "In development mode the relay answers only requests for localhost, 127.0.0.1 or [::1]. \
         Open it at http://127.0.0.1 with its port.",
    ))
    .into_response()
}

/// Answers 503 when a request takes longer than the deadline (a client trickling its body, a
/// mail server that hangs), so no request holds a connection open for ever (A21); words an
/// error that had no language of its own in the request's `Accept-Language`; and counts every
/// answer for the metrics. One layer for all three: each layer costs every request a boxed
/// future.
async fn counted_within_deadline(
    deadline: std::time::Duration,
    metrics: Arc<crate::metrics::Metrics>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    // The route's template names it (a fixed set); what no route matched is `other`, never its
    // path, which the client chose.
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or(crate::metrics::OTHER_ROUTE, |matched| matched.as_str())
        .to_string();
    let accept_language = request
        .headers()
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .cloned();
    let mut response = within_deadline(deadline, request, next).await;
    error::reword(&mut response, accept_language.as_ref());
    metrics.count_request(&route, response.status().as_u16());
    response
}

async fn within_deadline(
    deadline: std::time::Duration,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(deadline, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            // A client trickling its request (A21) or a peer that does not answer.
            tracing::warn!(
                reason = "deadline",
                deadline_secs = deadline.as_secs(),
                "a request passed its deadline"
            );
            HttpError::from(ApiError::timeout()).into_response()
        }
    }
}

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, body = Health, description = "`{\"status\": \"ok\"}`")))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// `GET /livez`: the same as `/healthz`, by the name Kubernetes' probes use.
#[utoipa::path(get, path = "/livez", tag = "operations",
    responses((status = 200, body = Health, description = "`{\"status\": \"ok\"}`")))]
async fn live() -> Json<Health> {
    health().await
}

/// `GET /readyz`: 200 while the store answers and the relay is not stopping, 503 with the reason
/// otherwise.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = Health, description = "`{\"status\": \"ready\"}`: send traffic."),
        (status = 503, body = ErrorResponse, description = "`unavailable`: the store does not answer (or may evict), or the relay is draining before it stops."),
    ))]
async fn ready(State(app): State<SharedApp>) -> Result<Json<Health>, HttpError> {
    if app.draining.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(ApiError::store_not_ready(
            "the relay is shutting down: it serves what comes in while it drains, then stops"
                .into(),
        )
        .into());
    }
    app.service.store_ready().await?;
    Ok(Json(Health {
        status: "ready".into(),
    }))
}

/// `GET /.well-known/jwks.json`: the public halves of the proof keys, for backends that check
/// proofs. Readable from any origin (it holds nothing secret), and cached for
/// [`JWKS_MAX_AGE`](crate::core::proof::JWKS_MAX_AGE), which the rotation procedure waits out.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "keys",
    responses(
        (status = 200, body = openapi::JwkSet, description = "The public proof keys (RFC 7517, Ed25519 per RFC 8037). Readable from any origin.",
            headers(
                ("Cache-Control" = String, description = "`public, max-age=300`: a new key is published at least this long before it signs"),
                ("Access-Control-Allow-Origin" = String, description = "`*`"),
            )),
        (status = 404, body = ErrorResponse, description = "`not_found`: this relay signs with a shared secret (legacy HS256) and has no public keys."),
    ))]
async fn jwks(State(app): State<SharedApp>) -> Result<axum::response::Response, HttpError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let set = app.config.proof_keys.jwks().ok_or_else(|| {
        ApiError::protocol(
            ErrorCode::NotFound,
            "This relay signs proofs with a shared secret (HS256, OTP_RELAY_PROOF_SECRET), so it has no public keys to publish. Set OTP_RELAY_PROOF_KEYS instead.",
        )
    })?;
    let cache = format!(
        "public, max-age={}",
        crate::core::proof::JWKS_MAX_AGE.as_secs()
    );
    Ok((
        [
            (header::CACHE_CONTROL, cache),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_string()),
        ],
        Json(set),
    )
        .into_response())
}

async fn not_found() -> HttpError {
    HttpError::from(ApiError::protocol(
        ErrorCode::NotFound,
        "There is nothing at this address. The API lives under /api/v1/.",
    ))
}

/// `GET /` on a relay with no page to serve: how to get one.
async fn no_page() -> HttpError {
    HttpError::from(ApiError::protocol(
        ErrorCode::NotFound,
        "This relay serves no page: build it with `make frontend` (`make release` then builds it \
         into the binary), or set OTP_RELAY_STATIC_DIR to trunk's dist/. The API lives under /api/v1/.",
    ))
}

async fn method_not_allowed() -> HttpError {
    HttpError::from(ApiError::protocol(
        ErrorCode::MethodNotAllowed,
        "This endpoint takes POST with a JSON body.",
    ))
}
