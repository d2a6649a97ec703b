//! Request and response bodies of API version 1 (`/api/v1/...`), as serde types.

use crate::ErrorCode;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/challenges`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"email": "Ada@Example.com", "pow": "eyJhbGdvcml0aG0iOiJTSEEtMjU2IiwiY2hhbGxlbmdlIjoi4oCmIn0", "lang": "en"})))]
pub struct CreateChallengeRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    /// A solved proof of work (`crate::pow`): base64 of ALTCHA's solution payload as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub pow: Option<String>,
    /// The language the client shows (a BCP 47 tag such as `de`): the email and the `message` of
    /// a refusal are written in it. Without it, or in a language the relay does not speak, the
    /// request's `Accept-Language` decides.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, example = "de"))]
    pub lang: Option<String>,
    /// The page that asks (its URL, on the request's `Origin`): the email then also carries a
    /// link to it that confirms the address with a click there (docs/api.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "openapi",
        schema(
            nullable = false,
            max_length = 512,
            example = "https://shop.example/signup"
        )
    )]
    pub link: Option<String>,
}

/// `POST /api/v1/challenges/resend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"challenge": "AQFrMQ…", "email": "ada@example.com", "pow": "eyJhbGdvcml0aG0iOiJTSEEtMjU2IiwiY2hhbGxlbmdlIjoi4oCmIn0"})))]
pub struct ResendRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 852))]
    pub challenge: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    /// As in [`CreateChallengeRequest::pow`]: each send pays its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub pow: Option<String>,
    /// As in [`CreateChallengeRequest::lang`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, example = "de"))]
    pub lang: Option<String>,
}

/// `POST /api/v1/challenges/verify`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"challenge": "AQFrMQ…", "email": "ada@example.com", "code": "042137"})))]
pub struct VerifyRequest {
    #[cfg_attr(feature = "openapi", schema(max_length = 852))]
    pub challenge: String,
    #[cfg_attr(feature = "openapi", schema(max_length = 254))]
    pub email: String,
    /// The code from the email; or, in its place, `link` and `page`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, max_length = 9))]
    pub code: Option<String>,
    /// The link secret from the email's link (after `.` in its `otp-link`), in place of `code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, max_length = 64))]
    pub link: Option<String>,
    /// With `link`: the URL of the page the link was opened on, without its fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, max_length = 512))]
    pub page: Option<String>,
    /// As in [`CreateChallengeRequest::lang`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false, example = "de"))]
    pub lang: Option<String>,
}

/// 201 from `challenges`, 200 from `challenges/resend`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"challenge": "AQFrMQ…", "email": "ada@example.com", "code_length": 6, "expires_at": "2026-11-21T10:05:00Z", "resend_at": "2026-11-21T10:00:30Z", "attempts_left": 3, "sends_left": 2})))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"verified": true, "email": "ada@example.com", "proof": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6InAxIn0.…", "proof_expires_at": "2026-11-21T10:10:00Z"})))]
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

/// The body of an error: what clients branch on and what a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    pub code: ErrorCode,
    pub message: String,
    /// With `wrong_code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub attempts_left: Option<u32>,
    /// With `rate_limited`, in whole seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub retry_after: Option<u64>,
    /// With `pow_required`: a fresh challenge to solve before trying again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub pow: Option<crate::pow::PowChallenge>,
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"status": "ok"})))]
pub struct Health {
    pub status: String,
}

/// `GET /widget/v1/status`: what a widget needs to know before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"origin": "https://shop.example", "allowed": true, "message": null, "dev_outbox": false})))]
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
    /// Whether the operator's branding asks for a link in this site's emails (widgets then ask
    /// for it, as if their `link` attribute were set).
    #[serde(default)]
    pub link: bool,
    /// With `?lang=` naming a language other than English: the page's messages in it, one per
    /// message slot in the order the browser build numbers them (`None` for a plural form the
    /// language does not use).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub messages: Option<Vec<Option<String>>>,
}

/// One simulated email in the development outbox (`GET /dev/outbox` as JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OutboxEntry {
    pub to: String,
    pub subject: String,
    pub text: String,
    /// The HTML part, as it would be sent.
    #[serde(default)]
    pub html: String,
    /// The message's headers as they would be sent, in order: `[name, value]` pairs.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    pub sent_at: String,
    /// The link the message carries, for a site that asked for one (also in both parts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(nullable = false))]
    pub link: Option<String>,
}

/// A parsed JSON object as a client without serde reads it (the browser's `Response.json()`,
/// where serde's derived readers would cost the page's download about 14 KB gzip). The
/// answers' readers ([`FromFields`]) are written here, beside the types, and a test checks that
/// they read back everything serde writes, field for field.
pub trait Fields: Sized {
    fn text(&self, name: &str) -> Option<String>;
    /// A whole number, at least 0.
    fn count(&self, name: &str) -> Option<u64>;
    fn flag(&self, name: &str) -> Option<bool>;
    fn object(&self, name: &str) -> Option<Self>;
    /// A list of strings or nulls.
    fn texts(&self, name: &str) -> Option<Vec<Option<String>>>;
}

/// An answer type, read from a parsed JSON object; `None` when a required field is missing or
/// of another type.
pub trait FromFields: Sized {
    fn from_fields(fields: &impl Fields) -> Option<Self>;
}

impl FromFields for ChallengeResponse {
    fn from_fields(fields: &impl Fields) -> Option<Self> {
        Some(ChallengeResponse {
            challenge: fields.text("challenge")?,
            email: fields.text("email")?,
            code_length: usize::try_from(fields.count("code_length")?).ok()?,
            expires_at: fields.text("expires_at")?,
            resend_at: fields.text("resend_at")?,
            attempts_left: u32::try_from(fields.count("attempts_left")?).ok()?,
            sends_left: u32::try_from(fields.count("sends_left")?).ok()?,
        })
    }
}

impl FromFields for VerifyResponse {
    fn from_fields(fields: &impl Fields) -> Option<Self> {
        Some(VerifyResponse {
            verified: fields.flag("verified")?,
            email: fields.text("email")?,
            proof: fields.text("proof")?,
            proof_expires_at: fields.text("proof_expires_at")?,
        })
    }
}

impl FromFields for ErrorResponse {
    fn from_fields(fields: &impl Fields) -> Option<Self> {
        let error = fields.object("error")?;
        Some(ErrorResponse {
            error: ErrorDetail {
                code: ErrorCode::from_wire(&error.text("code")?)?,
                message: error.text("message")?,
                attempts_left: error
                    .count("attempts_left")
                    .and_then(|n| u32::try_from(n).ok()),
                retry_after: error.count("retry_after"),
                pow: error
                    .object("pow")
                    .and_then(|pow| crate::pow::PowChallenge::from_fields(&pow)),
            },
        })
    }
}

impl FromFields for WidgetStatus {
    fn from_fields(fields: &impl Fields) -> Option<Self> {
        Some(WidgetStatus {
            origin: fields.text("origin"),
            allowed: fields.flag("allowed")?,
            message: fields.text("message"),
            dev_outbox: fields.flag("dev_outbox").unwrap_or(false),
            link: fields.flag("link").unwrap_or(false),
            messages: fields.texts("messages"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Fields`] over serde's own reading of the JSON, as the browser's would be.
    struct Json(serde_json::Value);

    impl Fields for Json {
        fn text(&self, name: &str) -> Option<String> {
            self.0.get(name)?.as_str().map(str::to_string)
        }
        fn count(&self, name: &str) -> Option<u64> {
            self.0.get(name)?.as_u64()
        }
        fn flag(&self, name: &str) -> Option<bool> {
            self.0.get(name)?.as_bool()
        }
        fn object(&self, name: &str) -> Option<Self> {
            self.0
                .get(name)
                .filter(|v| v.is_object())
                .cloned()
                .map(Json)
        }
        fn texts(&self, name: &str) -> Option<Vec<Option<String>>> {
            let items = self.0.get(name)?.as_array()?;
            Some(
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect(),
            )
        }
    }

    /// What serde writes, the hand readers read back whole: one contract, read one way.
    fn reads_back<T: FromFields + Serialize + PartialEq + std::fmt::Debug>(answer: T) {
        let json = Json(serde_json::to_value(&answer).unwrap());
        assert_eq!(T::from_fields(&json), Some(answer));
    }

    #[test]
    fn the_field_readers_read_back_what_serde_writes() {
        reads_back(ChallengeResponse {
            challenge: "c".into(),
            email: "ada@example.com".into(),
            code_length: 6,
            expires_at: "2026-11-21T10:05:00Z".into(),
            resend_at: "2026-11-21T10:00:30Z".into(),
            attempts_left: 3,
            sends_left: 2,
        });
        reads_back(VerifyResponse {
            verified: true,
            email: "ada@example.com".into(),
            proof: "a.b.c".into(),
            proof_expires_at: "2026-11-21T10:10:00Z".into(),
        });
        let pow = crate::pow::PowChallenge {
            algorithm: "SHA-256".into(),
            challenge: "ab".repeat(32),
            maxnumber: 100_000,
            salt: "0f?expires=1&".into(),
            signature: "cd".repeat(32),
        };
        for (attempts_left, retry_after, pow) in
            [(None, None, None), (Some(2), Some(45), Some(pow))]
        {
            for code in ErrorCode::ALL {
                reads_back(ErrorResponse {
                    error: ErrorDetail {
                        code,
                        message: "m".into(),
                        attempts_left,
                        retry_after,
                        pow: pow.clone(),
                    },
                });
            }
        }
        for messages in [None, Some(vec![Some("a".to_string()), None])] {
            reads_back(WidgetStatus {
                origin: Some("https://shop.example".into()),
                allowed: false,
                message: Some("m".into()),
                dev_outbox: true,
                link: messages.is_some(),
                messages,
            });
        }
        // A field missing or of another type: not the answer.
        let partial = Json(serde_json::json!({"verified": true, "email": "a@b.c", "proof": 1}));
        assert_eq!(VerifyResponse::from_fields(&partial), None);
    }

    #[test]
    fn error_body_omits_absent_extras() {
        let body = ErrorResponse {
            error: ErrorDetail {
                code: ErrorCode::Expired,
                message: "This code has expired.".into(),
                attempts_left: None,
                retry_after: None,
                pow: None,
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
            link: false,
            messages: None,
        };
        assert_eq!(
            serde_json::to_value(&status).unwrap(),
            serde_json::json!({"origin": null, "allowed": true, "message": null, "dev_outbox": false, "link": false})
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
