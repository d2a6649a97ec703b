//! The HTTP surface, and the only part of the relay (with `server.rs`) that knows axum: the
//! endpoints, statuses and error codes of docs/api.md, the origin allow-list ([`cors`]), the
//! JSON-only body rule with its size limit ([`extract`]), the API's handlers ([`handlers`]), the
//! widget files ([`widget`]), the development outbox page ([`outbox`]), and the one place errors
//! become responses ([`error`]).

pub mod cors;
pub mod error;
pub mod extract;
pub mod handlers;
mod outbox;
pub mod testing;
mod widget;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::core::{ApiError, VerificationService};
use crate::mail::Outbox;
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::Health;
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
}

/// The handlers' state.
pub type SharedApp = Arc<App>;

/// The whole application, so tests can drive it without a socket.
pub fn router(app: SharedApp) -> Router {
    let api = Router::new()
        .route("/api/v1/challenges", post(handlers::issue))
        .route("/api/v1/challenges/resend", post(handlers::resend))
        .route("/api/v1/challenges/verify", post(handlers::verify))
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
        .route("/healthz", get(health))
        .route("/dev/outbox", get(outbox::page));
    router = match app.config.static_dir.clone() {
        Some(dir) => {
            let index = dir.join("index.html");
            router.fallback_service(
                tower::ServiceBuilder::new()
                    .layer(
                        CompressionLayer::new()
                            .gzip(true)
                            .quality(CompressionLevel::Best),
                    )
                    .service(ServeDir::new(dir).fallback(ServeFile::new(index))),
            )
        }
        None => router.fallback(not_found),
    };
    router.with_state(app)
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
