//! CORS by allow-list: a request with an `Origin` that is not listed gets 403 and no
//! `Access-Control-*` headers; a listed origin's preflight gets 204. Requests without `Origin`
//! (servers, terminal clients) pass. The allowed origin is handed to the handlers as
//! [`AllowedOrigin`].

use super::SharedApp;
use super::error::HttpError;
use crate::core::ApiError;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The allowed `Origin` of a request, put in its extensions by [`origin_guard`].
#[derive(Debug, Clone)]
pub struct AllowedOrigin(pub String);

/// The middleware in front of the API.
pub async fn origin_guard(
    State(app): State<SharedApp>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(origin) = request.headers().get(header::ORIGIN).cloned() else {
        if request.method() == Method::OPTIONS {
            return (StatusCode::NO_CONTENT, [(header::ALLOW, "POST, OPTIONS")]).into_response();
        }
        return next.run(request).await;
    };
    let allowed = origin
        .to_str()
        .ok()
        .filter(|o| app.config.allowed_origins.iter().any(|a| a == o))
        .map(str::to_string);
    let Some(allowed) = allowed else {
        return HttpError::from(ApiError::origin_not_allowed()).into_response();
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
