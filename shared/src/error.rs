//! The error codes of API version 1: the `code` field clients branch on, with its HTTP status.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Every `error.code` the relay can answer with (see `docs/api.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    OriginNotAllowed,
    InvalidEmail,
    InvalidCodeFormat,
    InvalidChallenge,
    WrongCode,
    TooManyAttempts,
    Expired,
    AlreadyUsed,
    RateLimited,
    PowRequired,
    DeliveryFailed,
    Unavailable,
    NotFound,
    MethodNotAllowed,
    Internal,
}

impl ErrorCode {
    /// All codes, for exhaustive tests and documentation.
    pub const ALL: [ErrorCode; 18] = [
        ErrorCode::InvalidRequest,
        ErrorCode::PayloadTooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::OriginNotAllowed,
        ErrorCode::InvalidEmail,
        ErrorCode::InvalidCodeFormat,
        ErrorCode::InvalidChallenge,
        ErrorCode::WrongCode,
        ErrorCode::TooManyAttempts,
        ErrorCode::Expired,
        ErrorCode::AlreadyUsed,
        ErrorCode::RateLimited,
        ErrorCode::PowRequired,
        ErrorCode::DeliveryFailed,
        ErrorCode::Unavailable,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Internal,
    ];

    /// The snake_case name used on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::OriginNotAllowed => "origin_not_allowed",
            ErrorCode::InvalidEmail => "invalid_email",
            ErrorCode::InvalidCodeFormat => "invalid_code_format",
            ErrorCode::InvalidChallenge => "invalid_challenge",
            ErrorCode::WrongCode => "wrong_code",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::Expired => "expired",
            ErrorCode::AlreadyUsed => "already_used",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PowRequired => "pow_required",
            ErrorCode::DeliveryFailed => "delivery_failed",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::NotFound => "not_found",
            ErrorCode::MethodNotAllowed => "method_not_allowed",
            ErrorCode::Internal => "internal",
        }
    }

    /// The code for its wire name, if it is one.
    pub fn from_wire(name: &str) -> Option<ErrorCode> {
        Self::ALL.into_iter().find(|code| code.as_str() == name)
    }

    /// The HTTP status that goes with the code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest
            | ErrorCode::InvalidEmail
            | ErrorCode::InvalidCodeFormat
            | ErrorCode::InvalidChallenge => 400,
            ErrorCode::OriginNotAllowed => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::AlreadyUsed => 409,
            ErrorCode::Expired => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::WrongCode => 422,
            ErrorCode::PowRequired => 428,
            ErrorCode::TooManyAttempts | ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::DeliveryFailed => 502,
            ErrorCode::Unavailable => 503,
        }
    }

    /// Whether the person needs a new code (a fresh challenge) to go on.
    pub fn needs_new_code(self) -> bool {
        matches!(
            self,
            ErrorCode::TooManyAttempts
                | ErrorCode::Expired
                | ErrorCode::AlreadyUsed
                | ErrorCode::InvalidChallenge
        )
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_match_serde_names() {
        for code in ErrorCode::ALL {
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: ErrorCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, code);
            assert_eq!(ErrorCode::from_wire(code.as_str()), Some(code));
        }
    }

    #[test]
    fn unknown_wire_names_are_none() {
        assert_eq!(ErrorCode::from_wire("teapot"), None);
    }

    #[test]
    fn statuses_follow_the_api_table() {
        assert_eq!(ErrorCode::WrongCode.http_status(), 422);
        assert_eq!(ErrorCode::Expired.http_status(), 410);
        assert_eq!(ErrorCode::AlreadyUsed.http_status(), 409);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
        assert_eq!(ErrorCode::DeliveryFailed.http_status(), 502);
        assert_eq!(ErrorCode::Unavailable.http_status(), 503);
    }
}
