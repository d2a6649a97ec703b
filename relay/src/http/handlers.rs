//! The API's endpoints: the three of the flow each take a shared request type and hands it to the verification
//! service; what the service answers becomes the response, and is counted for the metrics.

use super::SharedApp;
use super::error::HttpError;
use super::extract::ApiRequest;
use crate::core::clock::rfc3339;
use crate::core::{Answer, ApiError, Sent, Verified};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use otp_relay_shared::api::ErrorResponse;
use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ResendRequest, VerifyRequest, VerifyResponse,
};
use otp_relay_shared::pow::PowChallenge;

/// `GET /api/v1/pow`: a proof-of-work challenge at the difficulty this client needs now; never
/// cached, as each is single use.
#[utoipa::path(
    get,
    path = "/api/v1/pow",
    tag = "flow",
    params(super::openapi::BrowserHeaders),
    responses(
        (status = 200, body = PowChallenge, description = "ALTCHA's challenge (SHA-256 form): find `number` in `0..=maxnumber` with `hex(SHA-256(salt + number)) == challenge`, and send base64 of `{algorithm, challenge, number, salt, signature}` as `pow`. Single use, bound to this client's network, valid for minutes.",
            headers(("Cache-Control" = String, description = "`no-store`"))),
        (status = 403, body = ErrorResponse, description = "`origin_not_allowed`"),
        (status = 503, body = ErrorResponse, description = "`unavailable`"),
    )
)]
pub async fn pow(State(app): State<SharedApp>, request: Request) -> Result<Response, HttpError> {
    let requester = super::extract::requester(&request, &app.config.trusted_proxies)?;
    let challenge = app.service.pow_challenge(&requester).await?;
    app.metrics
        .count_pow_challenge(challenge.maxnumber, app.service.pow_base());
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(challenge)).into_response())
}

/// `POST /api/v1/challenges`.
#[utoipa::path(
    post,
    path = "/api/v1/challenges",
    tag = "flow",
    summary = "Send a code",
    description = "Sends a code to the address and answers the challenge token that verifies it. Paid for with a solved proof of work (`pow`, from `GET /api/v1/pow`) unless the operator turned it off or exempted the client. The challenge is bound to the request's `Origin` (or to none).",
    params(super::openapi::BrowserHeaders),
    request_body = CreateChallengeRequest,
    responses(
        (status = 201, body = ChallengeResponse, description = "The code was sent."),
        super::openapi::BodyRefusals,
        (status = 428, body = ErrorResponse, description = "`pow_required`: no proof of work the relay accepts (none, wrong, expired, spent, another network's, or easier than needed now). `error.pow` is a fresh challenge; nothing was sent or counted.",
            example = json!({"error": {"code": "pow_required", "message": "Your browser needs to finish a short check first. Try again.", "pow": {"algorithm": "SHA-256", "challenge": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "maxnumber": 100000, "salt": "5c1d2f3e4a5b6c7d?expires=1764500000&", "signature": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"}}})),
        (status = 429, body = ErrorResponse, description = "`rate_limited`: too many sends from this client or to this mailbox, or the mailbox's wrong-code budget is spent.",
            headers(("Retry-After" = u64, description = "The same whole seconds as `retry_after`")),
            example = json!({"error": {"code": "rate_limited", "message": "Too many codes were requested. Try again in 5 minutes.", "retry_after": 300}})),
        (status = 502, body = ErrorResponse, description = "`delivery_failed`: the mail server (or webhook) did not take the message; the send is refunded to the mailbox.",
            example = json!({"error": {"code": "delivery_failed", "message": "We could not send the email. Try again in a few minutes."}})),
    )
)]
pub async fn issue(
    State(app): State<SharedApp>,
    request: ApiRequest<CreateChallengeRequest>,
) -> Result<Response, HttpError> {
    let outcome = app
        .service
        .issue(
            &request.body.email,
            request.body.pow.as_deref(),
            request.body.link.as_deref(),
            &request.requester,
        )
        .await;
    app.metrics.count_send(&outcome);
    app.metrics.count_pow(&outcome, app.service.pow_base());
    let sent = outcome.map_err(|e| HttpError::in_lang(e, request.requester.lang))?;
    Ok((StatusCode::CREATED, Json(challenge_response(sent))).into_response())
}

/// `POST /api/v1/challenges/resend`.
#[utoipa::path(
    post,
    path = "/api/v1/challenges/resend",
    tag = "flow",
    summary = "Send the same code again",
    description = "The same code, the same expiry and attempts; `resend_at` and `sends_left` move on. Each resend pays its own proof of work.",
    params(super::openapi::BrowserHeaders),
    request_body = ResendRequest,
    responses(
        (status = 200, body = ChallengeResponse, description = "Sent again; `challenge` is the token sent in."),
        super::openapi::BodyRefusals,
        (status = 409, body = ErrorResponse, description = "`already_used`: the challenge was verified."),
        (status = 410, body = ErrorResponse, description = "`expired`: past `expires_at`, or issued before a restart."),
        (status = 428, body = ErrorResponse, description = "`pow_required`, as for a send."),
        (status = 429, body = ErrorResponse, description = "`too_many_attempts` (every attempt used) or `rate_limited` (before `resend_at`, no resends left, or the send limits).",
            headers(("Retry-After" = u64, description = "The same whole seconds as `retry_after`")),
            example = json!({"error": {"code": "rate_limited", "message": "Wait 30 seconds before asking for the code again.", "retry_after": 30}})),
        (status = 502, body = ErrorResponse, description = "`delivery_failed`; not counted against the challenge."),
    )
)]
pub async fn resend(
    State(app): State<SharedApp>,
    request: ApiRequest<ResendRequest>,
) -> Result<Response, HttpError> {
    let body = &request.body;
    let outcome = app
        .service
        .resend(
            &body.challenge,
            &body.email,
            body.pow.as_deref(),
            &request.requester,
        )
        .await;
    app.metrics.count_send(&outcome);
    app.metrics.count_pow(&outcome, app.service.pow_base());
    let sent = outcome.map_err(|e| HttpError::in_lang(e, request.requester.lang))?;
    Ok(Json(challenge_response(sent)).into_response())
}

/// `POST /api/v1/challenges/verify`.
#[utoipa::path(
    post,
    path = "/api/v1/challenges/verify",
    tag = "flow",
    summary = "Check a code",
    description = "Checks the code against the challenge statelessly and, if right, answers a proof: an EdDSA JWT whose `aud` is the request's `Origin` (or the relay's public URL), checked against `/.well-known/jwks.json`. Each challenge verifies once.",
    params(super::openapi::BrowserHeaders),
    request_body = super::openapi::VerifyBody,
    responses(
        (status = 200, body = VerifyResponse, description = "Verified."),
        super::openapi::BodyRefusals,
        (status = 409, body = ErrorResponse, description = "`already_used`: verified before."),
        (status = 410, body = ErrorResponse, description = "`expired`: past `expires_at`, or issued before a restart; a new code is needed.",
            example = json!({"error": {"code": "expired", "message": "This code has expired. Ask for a new one."}})),
        (status = 422, body = ErrorResponse, description = "`wrong_code`, with `attempts_left`.",
            example = json!({"error": {"code": "wrong_code", "message": "That code is not right. 2 attempts left.", "attempts_left": 2}})),
        (status = 429, body = ErrorResponse, description = "`too_many_attempts`: no attempts left for this challenge, or the mailbox's failure budget is spent (then with `retry_after`).",
            headers(("Retry-After" = u64, description = "The same whole seconds as `retry_after`"))),
        (status = 500, body = ErrorResponse, description = "`internal`: the proof could not be signed."),
    )
)]
pub async fn verify(
    State(app): State<SharedApp>,
    request: ApiRequest<VerifyRequest>,
) -> Result<Response, HttpError> {
    let body = &request.body;
    let answer = match (&body.code, &body.link, &body.page) {
        (Some(code), None, None) => Answer::Code(code),
        (None, Some(secret), Some(page)) => Answer::Link { secret, page },
        (None, None, _) => {
            return Err(malformed(
                "\"code\" is missing: send the code from the email, or \"link\" and \"page\" from its link.",
            ));
        }
        (None, Some(_), None) => {
            return Err(malformed(
                "\"page\" is missing: send it with \"link\", the URL of the page the link was opened on.",
            ));
        }
        _ => {
            return Err(malformed(
                "Send \"code\", or \"link\" with \"page\", not both.",
            ));
        }
    };
    let outcome = app
        .service
        .verify(&body.challenge, &body.email, answer, &request.requester)
        .await;
    app.metrics.count_verification(&outcome);
    let verified = outcome.map_err(|e| HttpError::in_lang(e, request.requester.lang))?;
    Ok(Json(verify_response(verified)).into_response())
}

/// A body whose fields do not go together: English for developers, as the body's other
/// refusals are.
fn malformed(message: &'static str) -> HttpError {
    HttpError::from(ApiError::invalid_request(message))
}

/// A code sent, as the API writes it: times as RFC 3339 in UTC.
fn challenge_response(sent: Sent) -> ChallengeResponse {
    ChallengeResponse {
        challenge: sent.token,
        email: sent.email.to_string(),
        code_length: sent.code_length,
        expires_at: rfc3339(sent.expires_at.secs()),
        resend_at: rfc3339(sent.resend_at.secs()),
        attempts_left: sent.attempts_left,
        sends_left: sent.sends_left,
    }
}

/// A verified address, as the API writes it.
fn verify_response(verified: Verified) -> VerifyResponse {
    VerifyResponse {
        verified: true,
        email: verified.email.to_string(),
        proof: verified.proof,
        proof_expires_at: rfc3339(verified.proof_expires_at.secs()),
    }
}
