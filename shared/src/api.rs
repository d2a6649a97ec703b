//! Request and response bodies of API version 1 (`/api/v1/...`), as serde types.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/challenges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateChallengeRequest {
    pub email: String,
    /// The language the client shows (a BCP 47 tag such as `de`): the email and the `message` of
    /// a refusal are written in it. Without it, or in a language the relay does not speak, the
    /// request's `Accept-Language` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `POST /api/v1/challenges/resend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResendRequest {
    pub challenge: String,
    pub email: String,
    /// As in [`CreateChallengeRequest::lang`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `POST /api/v1/challenges/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyRequest {
    pub challenge: String,
    pub email: String,
    pub code: String,
    /// As in [`CreateChallengeRequest::lang`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// 201 from `challenges`, 200 from `challenges/resend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeResponse {
    /// Opaque to clients: sent back as is to resend and verify.
    pub challenge: String,
    /// The normalised address the code went to.
    pub email: String,
    pub code_length: usize,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// RFC 3339, UTC: the earliest time a resend is accepted.
    pub resend_at: String,
    pub attempts_left: u32,
    pub sends_left: u32,
}

/// 200 from `challenges/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifyResponse {
    pub verified: bool,
    pub email: String,
    /// A JWT signed with the proof key (see docs/api.md).
    pub proof: String,
    /// RFC 3339, UTC.
    pub proof_expires_at: String,
}

/// Every error response: `{"error": {...}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

/// The body of an error: what clients branch on and what a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// With `wrong_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// With `rate_limited`, in whole seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after: Option<u64>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
}

/// `GET /widget/v1/status`: what a widget needs to know before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WidgetStatus {
    /// The request's `Origin`, if it sent one.
    pub origin: Option<String>,
    /// Whether that origin may use the API (a browser cannot read the API's 403, which carries
    /// no CORS headers).
    pub allowed: bool,
    /// Why not, for a person, when it is not allowed.
    pub message: Option<String>,
    /// Whether codes go to the development outbox instead of real email.
    pub dev_outbox: bool,
}

/// One simulated email in the development outbox (`GET /dev/outbox` as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub sent_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_omits_absent_extras() {
        let body = ErrorResponse {
            error: ErrorDetail {
                code: ErrorCode::Expired,
                message: "This code has expired.".into(),
                attempts_left: None,
                retry_after: None,
            },
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": "expired", "message": "This code has expired."}})
        );
    }

    #[test]
    fn widget_status_names_every_field() {
        let status = WidgetStatus {
            origin: None,
            allowed: true,
            message: None,
            dev_outbox: false,
        };
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            serde_json::json!({"origin": null, "allowed": true, "message": null, "dev_outbox": false})
        );
    }

    #[test]
    fn wrong_code_carries_attempts_left() {
        let json = r#"{"error":{"code":"wrong_code","message":"m","attempts_left":2}}"#;
        let body: ErrorResponse = serde_json::from_str(json).unwrap();
        assert_eq!(body.error.code, ErrorCode::WrongCode);
        assert_eq!(body.error.attempts_left, Some(2));
    }
}
