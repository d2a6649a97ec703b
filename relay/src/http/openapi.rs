//! The API as an OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]`
//! annotations and the shared types' schemas (`otp-relay-shared`'s `openapi` feature), served at
//! `GET /api/v1/openapi.json` to any origin and committed as `docs/openapi.json`; a test keeps
//! the two equal, Schemathesis runs the document against a live relay, and
//! `otp-relay openapi` prints it. What is described here besides the annotations is what several
//! endpoints share: the browser's headers, the refusals of a JSON body, the JWK Set's shape.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use otp_relay_shared::ErrorCode;
use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ErrorDetail, ErrorResponse, Health, OutboxEntry,
    ResendRequest, VerifyResponse, WidgetStatus,
};
use otp_relay_shared::pow::PowChallenge;
use utoipa::OpenApi;

/// The headers a browser sends that change an API answer. `Origin` is checked against the
/// allow-list (absent: a server, curl, the terminal client); `Accept-Language` words `message`.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
pub(super) struct BrowserHeaders {
    /// The calling page's origin; one not on `OTP_RELAY_ALLOWED_ORIGINS` is 403
    /// `origin_not_allowed`. A challenge is bound to it.
    #[param(rename = "Origin", example = "https://shop.example")]
    origin: Option<String>,
    /// The language of an error's `message` (and of the email) when the body has no `lang`.
    #[param(rename = "Accept-Language", example = "de-DE,de;q=0.9,en;q=0.5")]
    accept_language: Option<String>,
}

/// How a JSON request is refused before its content is judged, in the order the relay checks:
/// the origin, the media type, the size, the shape (docs/api.md, "Conventions"); and a store
/// that cannot answer.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub(super) enum BodyRefusals {
    /// `invalid_request`: the body is not a JSON object, or a field is missing, `null` or not a
    /// string (the message names it), or a send's `link` that is not a page of the request's
    /// `Origin`; `invalid_email`: not one plain address. Verify and resend add
    /// `invalid_challenge` (the token is not one of this relay's for this address and this site;
    /// with `link`, a link changed or opened on another page than its own) and verify
    /// `invalid_code_format` (not `code_length` ASCII digits); none of them uses an attempt.
    #[response(status = 400, example = json!({"error": {"code": "invalid_email", "message": "That is not an email address: it has no @."}}))]
    BadRequest(ErrorResponse),
    /// `origin_not_allowed`: an `Origin` that is not on the allow-list.
    #[response(status = 403, example = json!({"error": {"code": "origin_not_allowed", "message": "This site is not allowed to use this verification service."}}))]
    Forbidden(ErrorResponse),
    /// `payload_too_large`: a body over 16 KiB.
    #[response(status = 413, example = json!({"error": {"code": "payload_too_large", "message": "The request body is larger than 16384 bytes."}}))]
    TooLarge(ErrorResponse),
    /// `unsupported_media_type`: `Content-Type` missing or not `application/json`.
    #[response(status = 415, example = json!({"error": {"code": "unsupported_media_type", "message": "Send the request body as JSON with Content-Type: application/json."}}))]
    MediaType(ErrorResponse),
    /// `unavailable`: a store the relay needs did not answer, or the request passed
    /// `OTP_RELAY_REQUEST_TIMEOUT`. Nothing was counted or forgotten; try again.
    #[response(status = 503, headers(("Retry-After" = u64, description = "Seconds to wait: the same as `retry_after`")), example = json!({"error": {"code": "unavailable", "message": "The service is busy right now. Try again in a moment.", "retry_after": 2}}))]
    Unavailable(ErrorResponse),
}

/// `POST /api/v1/challenges/verify`'s body as the relay takes it: the shared `VerifyRequest` with exactly
/// one of its answers, the code or the email's link (which the shared type cannot say).
#[derive(utoipa::ToSchema, serde::Deserialize)]
#[allow(dead_code)]
#[serde(untagged)]
#[schema(example = json!({"challenge": "AQFrMQ…", "email": "ada@example.com", "code": "042137"}))]
pub(super) enum VerifyBody {
    /// With the code from the email.
    #[schema(title = "With the code")]
    Code(VerifyWithCode),
    /// With the email's link: its secret and the page it was opened on.
    #[schema(title = "With the email's link")]
    Link(VerifyWithLink),
}

#[derive(utoipa::ToSchema, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyWithCode {
    #[schema(max_length = 852)]
    challenge: String,
    #[schema(max_length = 254)]
    email: String,
    #[schema(max_length = 9)]
    code: String,
    #[schema(nullable = false, example = "de")]
    lang: Option<String>,
}

#[derive(utoipa::ToSchema, serde::Deserialize)]
#[allow(dead_code)]
#[serde(deny_unknown_fields)]
pub(super) struct VerifyWithLink {
    #[schema(max_length = 852)]
    challenge: String,
    #[schema(max_length = 254)]
    email: String,
    /// The link secret: after the `.` in the fragment's `otp-link`.
    #[schema(max_length = 64)]
    link: String,
    /// The URL of the page the link was opened on, without its fragment.
    #[schema(max_length = 512)]
    page: String,
    #[schema(nullable = false, example = "de")]
    lang: Option<String>,
}

/// One public proof key: Ed25519 as a JWK (RFC 8037).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(example = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "p1", "alg": "EdDSA", "use": "sig"}))]
pub(super) struct Jwk {
    kty: String,
    crv: String,
    /// The public key, base64url.
    x: String,
    kid: String,
    alg: String,
    #[serde(rename = "use")]
    usage: String,
}

/// `GET /.well-known/jwks.json`: the keys proofs are checked with.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "otp-relay",
        description = "Email one-time-code verification: a person types their address, gets a \
code by email, types it back, and the site learns, with a signed proof (an EdDSA JWT checked \
against `/.well-known/jwks.json`), that this person controls that address. Every error is \
`{\"error\": {\"code\", \"message\"}}`: branch on `code`, show `message` (worded in the \
request's language). Where a body carries `retry_after`, a `Retry-After` header says the same. \
Every `/api/v1/` endpoint also answers a CORS preflight (`OPTIONS`) for allowed origins, and 405 \
`method_not_allowed` to other methods. The full contract, with the order of the checks: \
docs/api.md.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    paths(
        super::handlers::issue,
        super::handlers::resend,
        super::handlers::verify,
        super::handlers::pow,
        openapi_json,
        super::jwks,
        super::health,
        super::live,
        super::ready,
        super::outbox::page,
        super::widget::loader,
        super::widget::typescript_types,
        super::widget::react_types,
        super::widget::status,
        super::widget::catalogue,
        super::widget::asset,
    ),
    components(schemas(
        CreateChallengeRequest,
        ResendRequest,
        VerifyBody,
        VerifyWithCode,
        VerifyWithLink,
        ChallengeResponse,
        VerifyResponse,
        ErrorResponse,
        ErrorDetail,
        ErrorCode,
        PowChallenge,
        Health,
        WidgetStatus,
        OutboxEntry,
        JwkSet,
        Jwk,
    )),
    tags(
        (name = "flow", description = "Send a code, send it again, check it."),
        (name = "keys", description = "What a backend checks proofs with."),
        (name = "operations", description = "Health, readiness and this document."),
        (name = "widget", description = "The embeddable `<otp-verify>` widget's files."),
        (name = "development", description = "Only in development mode (`OTP_RELAY_DEV`)."),
    )
)]
struct ApiDoc;

/// The document as served and committed: pretty JSON, keys in a fixed order, one line ending.
pub fn document() -> String {
    let mut text = ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"));
    text.push('\n');
    text
}

/// `GET /api/v1/openapi.json`.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "operations",
    responses((
        status = 200,
        description = "This document. Readable from any origin.",
        content_type = "application/json",
        headers(("Access-Control-Allow-Origin" = String, description = "`*`"))
    ))
)]
pub(super) async fn openapi_json() -> Response {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let mut response = DOCUMENT.get_or_init(document).clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}
