//! The API's three endpoints: each takes a shared request type and hands it to the verification
//! service; what the service answers becomes the response, and is counted for the metrics.

use super::SharedApp;
use super::error::HttpError;
use super::extract::ApiRequest;
use crate::core::clock::rfc3339;
use crate::core::{Sent, Verified};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ResendRequest, VerifyRequest, VerifyResponse,
};

/// `POST /api/v1/challenges`.
pub async fn issue(
    State(app): State<SharedApp>,
    request: ApiRequest<CreateChallengeRequest>,
) -> Result<Response, HttpError> {
    let outcome = app
        .service
        .issue(&request.body.email, &request.requester)
        .await;
    app.metrics.count_send(&outcome);
    let sent = outcome.map_err(|e| HttpError::in_lang(e, request.requester.lang))?;
    Ok((StatusCode::CREATED, Json(challenge_response(sent))).into_response())
}

/// `POST /api/v1/challenges/resend`.
pub async fn resend(
    State(app): State<SharedApp>,
    request: ApiRequest<ResendRequest>,
) -> Result<Response, HttpError> {
    let body = &request.body;
    let outcome = app
        .service
        .resend(&body.challenge, &body.email, &request.requester)
        .await;
    app.metrics.count_send(&outcome);
    let sent = outcome.map_err(|e| HttpError::in_lang(e, request.requester.lang))?;
    Ok(Json(challenge_response(sent)).into_response())
}

/// `POST /api/v1/challenges/verify`.
pub async fn verify(
    State(app): State<SharedApp>,
    request: ApiRequest<VerifyRequest>,
) -> Result<Response, HttpError> {
    let body = &request.body;
    let outcome = app
        .service
        .verify(&body.challenge, &body.email, &body.code, &request.requester)
        .await;
    app.metrics.count_verification(&outcome);
    let verified = outcome.map_err(|e| HttpError::in_lang(e, request.requester.lang))?;
    Ok(Json(verify_response(verified)).into_response())
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
