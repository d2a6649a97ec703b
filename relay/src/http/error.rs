//! The one place errors become HTTP: the status of the error's code, the JSON body of API
//! version 1 with its `message` worded from the catalogue in the requester's language, and a
//! `Retry-After` header where the error says when to come back. Refusals that matter for security
//! are logged here, one line each with the code as `reason` (a wrong code, a refused proof of work
//! and an unreachable store are logged where they happen, with more to say).

use crate::core::{ApiError, Limit, Reason};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use otp_relay_shared::api::{ErrorDetail, ErrorResponse};
use otp_relay_shared::{Catalogue, ErrorCode, Lang};

/// An [`ApiError`] on its way out as HTTP, with the language to word it in when the request
/// said one. The domain's error knows nothing of HTTP or of words (it lives in the domain crate,
/// which has no axum); this wrapper is where it becomes a response, and `?` turns one into the
/// other. Without a language, the request's `Accept-Language` decides ([`reword`]).
#[derive(Debug)]
pub struct HttpError {
    pub error: ApiError,
    pub lang: Option<Lang>,
}

impl HttpError {
    /// `error`, worded in `lang`.
    pub fn in_lang(error: ApiError, lang: Lang) -> Self {
        HttpError {
            error,
            lang: Some(lang),
        }
    }
}

impl From<ApiError> for HttpError {
    fn from(error: ApiError) -> Self {
        HttpError { error, lang: None }
    }
}

/// An error answered without a language of its own, kept on the response so that [`reword`]
/// can word it in the request's `Accept-Language`.
#[derive(Clone)]
struct Unworded(ApiError);

/// The sentence a person reads for `error`, from `lang`'s catalogue. Only the HTTP layer's own
/// refusals (a body it cannot read, a route that does not exist) are English for developers.
pub fn sentence(error: &ApiError, lang: Lang) -> String {
    let catalogue = Catalogue::of(lang);
    let say = |key: &str| catalogue.text(key, &[]);
    let wait = |key: &str| {
        let wait = catalogue.wait(error.retry_after.unwrap_or(1));
        catalogue.text(key, &[("time", &wait)])
    };
    match &error.reason {
        Reason::Protocol(text) => text.to_string(),
        Reason::Address(problem) => catalogue.address_refusal(problem),
        Reason::CodeFormat { length } => {
            catalogue.text("refusal.code_format", &[("length", &length.to_string())])
        }
        Reason::InvalidChallenge => say("refusal.invalid_challenge"),
        Reason::LinkRefused => say("refusal.link"),
        Reason::LinkPage => say("refusal.link_page"),
        Reason::Expired => say("refusal.expired"),
        Reason::ExpiredByRestart => say("refusal.expired_by_restart"),
        Reason::AlreadyUsed => say("refusal.already_used"),
        Reason::TooManyAttempts => say("refusal.too_many_attempts"),
        Reason::AddressLocked => wait("refusal.address_locked"),
        Reason::WrongCode => match error.attempts_left.unwrap_or(0) {
            0 => say("refusal.no_attempts"),
            left => catalogue.plural("refusal.wrong", u64::from(left), &[]),
        },
        Reason::Limit(limit) => wait(match limit {
            Limit::ClientSends => "refusal.client_sends",
            Limit::NetworkAddressSends => "refusal.network_address_sends",
            Limit::AddressSends => "refusal.address_sends",
            Limit::NetworkAddressFailures => "refusal.network_address_failures",
            Limit::AddressFailures => "refusal.address_failures",
            Limit::NoResendsLeft => "refusal.no_resends_left",
            Limit::ResendWait => "refusal.resend_wait",
        }),
        Reason::OriginNotAllowed => say("refusal.origin_not_allowed"),
        Reason::PowRequired(_) => say("refusal.pow_required"),
        Reason::DeliveryFailed => say("refusal.delivery_failed"),
        Reason::Unavailable => say("refusal.unavailable"),
        Reason::StoreNotReady(detail) => {
            catalogue.text("refusal.store_not_ready", &[("detail", detail)])
        }
        Reason::Timeout => say("refusal.timeout"),
        Reason::Internal => say("refusal.internal"),
    }
}

/// The JSON body of API version 1.
fn body(error: &ApiError, lang: Lang) -> Json<ErrorResponse> {
    Json(ErrorResponse {
        error: ErrorDetail {
            code: error.code,
            message: sentence(error, lang),
            attempts_left: error.attempts_left,
            retry_after: error.retry_after,
            pow: error.pow.as_deref().cloned(),
        },
    })
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let HttpError { error, lang } = self;
        let status = StatusCode::from_u16(error.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
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
                detail = ?error.reason,
                "request refused"
            );
        }
        let mut response = (status, body(&error, lang.unwrap_or(Lang::En))).into_response();
        if let Some(seconds) = error.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if lang.is_none() {
            response.extensions_mut().insert(Unworded(error));
        }
        response
    }
}

/// Words again, in the language of `accept_language`, an error answered without a language of
/// its own (worded in English until here). The outermost layer calls it on every response; an
/// answer that is not such an error, or a request for English, passes unchanged.
pub fn reword(response: &mut Response, accept_language: Option<&HeaderValue>) {
    let Some(Unworded(error)) = response.extensions_mut().remove::<Unworded>() else {
        return;
    };
    let lang = accept_language
        .and_then(|value| value.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::En);
    if lang != Lang::En {
        *response.body_mut() = body(&error, lang).into_response().into_body();
    }
}
