//! The API's endpoints: the three of the flow each take a shared request type and hands it to the verification
//! service; what the service answers becomes the response, and is counted for the metrics.

use super::SharedApp;
use super::error::HttpError;
use super::extract::{ApiRequest, pow_solution};
use crate::core::clock::rfc3339;
use crate::core::{Requester, Sent, Verified};
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ResendRequest, VerifyRequest, VerifyResponse,
};
use otp_relay_shared::pow::PowSolution;

/// `GET /api/v1/pow`: a proof-of-work challenge at the difficulty this client needs now; never
/// cached, as each is single use.
pub async fn pow(State(app): State<SharedApp>, request: Request) -> Result<Response, HttpError> {
    let requester = super::extract::requester(&request, &app.config.trusted_proxies)?;
    let challenge = app.service.pow_challenge(&requester).await?;
    app.metrics
        .count_pow_challenge(challenge.maxnumber, app.service.pow_base());
    Ok(([(header::CACHE_CONTROL, "no-store")], Json(challenge)).into_response())
}

/// The `pow` of a send, checked for its shape, in the requester's language if refused.
fn pow_of(field: Option<&str>, requester: &Requester) -> Result<Option<PowSolution>, HttpError> {
    pow_solution(field).map_err(|e| HttpError::in_lang(e, requester.lang))
}

/// `POST /api/v1/challenges`.
pub async fn issue(
    State(app): State<SharedApp>,
    request: ApiRequest<CreateChallengeRequest>,
) -> Result<Response, HttpError> {
    let pow = pow_of(request.body.pow.as_deref(), &request.requester)?;
    let outcome = app
        .service
        .issue(&request.body.email, pow.as_ref(), &request.requester)
        .await;
    app.metrics.count_send(&outcome);
    app.metrics.count_pow(&outcome, app.service.pow_base());
    let sent = outcome.map_err(|e| HttpError::in_lang(e, request.requester.lang))?;
    Ok((StatusCode::CREATED, Json(challenge_response(sent))).into_response())
}

/// `POST /api/v1/challenges/resend`.
pub async fn resend(
    State(app): State<SharedApp>,
    request: ApiRequest<ResendRequest>,
) -> Result<Response, HttpError> {
    let body = &request.body;
    let pow = pow_of(body.pow.as_deref(), &request.requester)?;
    let outcome = app
        .service
        .resend(
            &body.challenge,
            &body.email,
            pow.as_ref(),
            &request.requester,
        )
        .await;
    app.metrics.count_send(&outcome);
    app.metrics.count_pow(&outcome, app.service.pow_base());
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
