//! The API's three endpoints: each takes a shared request type and hands it to the verification
//! service; what the service answers becomes the response, and is counted for the metrics.

use super::SharedApp;
use super::error::HttpError;
use super::extract::ApiRequest;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use otp_relay_shared::api::{CreateChallengeRequest, ResendRequest, VerifyRequest};

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
    Ok((StatusCode::CREATED, Json(outcome?)).into_response())
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
    Ok(Json(outcome?).into_response())
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
    Ok(Json(outcome?).into_response())
}
