//! The API's error: one of the shared error codes, a message a person can act on, and the extras
//! some codes carry. Every refusal in the relay ends up as one of these; the HTTP layer
//! (`http/error.rs`) is the one place that turns it into a response.

use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::{ErrorDetail, ErrorResponse};

/// An error as the client will see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub attempts_left: Option<u32>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            attempts_left: None,
            retry_after: None,
        }
    }

    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }

    pub fn invalid_challenge() -> Self {
        Self::new(
            ErrorCode::InvalidChallenge,
            "This verification request is not valid for this address. Request a new code.",
        )
    }

    pub fn expired() -> Self {
        Self::new(
            ErrorCode::Expired,
            "This code has expired. Request a new code.",
        )
    }

    pub fn expired_by_restart() -> Self {
        Self::new(
            ErrorCode::Expired,
            "This code was issued before the service restarted and is no longer valid. Request a new code.",
        )
    }

    pub fn already_used() -> Self {
        Self::new(
            ErrorCode::AlreadyUsed,
            "This code has already been used. Request a new code if you need to verify again.",
        )
    }

    pub fn too_many_attempts() -> Self {
        Self::new(
            ErrorCode::TooManyAttempts,
            "Too many wrong codes. Request a new code.",
        )
    }

    pub fn address_locked(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::TooManyAttempts,
                format!(
                    "Too many wrong codes for this address. Request a new code in {}.",
                    wait_phrase(retry_after)
                ),
            )
        }
    }

    pub fn wrong_code(attempts_left: u32) -> Self {
        let message = match attempts_left {
            0 => {
                "That code is not right, and no attempts are left. Request a new code.".to_string()
            }
            1 => "That code is not right. You have 1 attempt left.".to_string(),
            n => format!("That code is not right. You have {n} attempts left."),
        };
        ApiError {
            attempts_left: Some(attempts_left),
            ..Self::new(ErrorCode::WrongCode, message)
        }
    }

    pub fn rate_limited(retry_after: u64, what: &str) -> Self {
        let retry_after = retry_after.max(1);
        ApiError {
            retry_after: Some(retry_after),
            ..Self::new(
                ErrorCode::RateLimited,
                format!("{what} Try again in {}.", wait_phrase(retry_after)),
            )
        }
    }

    pub fn delivery_failed() -> Self {
        Self::new(
            ErrorCode::DeliveryFailed,
            "We could not send the email right now. Check the address and try again in a moment.",
        )
    }

    pub fn unavailable() -> Self {
        Self::new(
            ErrorCode::Unavailable,
            "The service cannot check codes right now. Try again in a moment.",
        )
    }

    pub fn internal() -> Self {
        Self::new(
            ErrorCode::Internal,
            "Something went wrong on our side. Try again in a moment.",
        )
    }
}

/// "45 seconds", "2 minutes".
pub fn wait_phrase(seconds: u64) -> String {
    match seconds {
        0..=1 => "1 second".to_string(),
        2..=90 => format!("{seconds} seconds"),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(reason = "unavailable", %error, "store unavailable: refusing (fail closed)");
        ApiError::unavailable()
    }
}

impl ApiError {
    /// The JSON body of API version 1.
    pub fn into_body(self) -> ErrorResponse {
        ErrorResponse {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                attempts_left: self.attempts_left,
                retry_after: self.retry_after,
            },
        }
    }
}
