//! The one place errors become HTTP: the status of the error's code, the JSON body of API
//! version 1, and a `Retry-After` header where the error says when to come back. Refusals that
//! matter for security are logged here, one line each with the code as `reason` (a wrong code and
//! an unreachable store are logged where they happen, with more to say).

use crate::core::ApiError;
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otp_relay_shared::ErrorCode;

/// An [`ApiError`] on its way out as HTTP. The domain's error knows nothing of HTTP (it lives in
/// the domain crate, which has no axum); this wrapper is where it becomes a response, and `?`
/// turns one into the other.
#[derive(Debug)]
pub struct HttpError(pub ApiError);

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        HttpError(error)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let HttpError(error) = self;
        let status = StatusCode::from_u16(error.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = error.retry_after;
        if matches!(
            error.code,
            ErrorCode::RateLimited
                | ErrorCode::TooManyAttempts
                | ErrorCode::OriginNotAllowed
                | ErrorCode::InvalidChallenge
                | ErrorCode::AlreadyUsed
                | ErrorCode::Expired
        ) {
            tracing::info!(
                reason = error.code.as_str(),
                status = status.as_u16(),
                detail = %error.message,
                "request refused"
            );
        }
        let mut response = (status, Json(error.into_body())).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
