//! The API's three endpoints: each takes a shared request type and hands it to the verification
//! service; what the service answers becomes the response.

use super::SharedApp;
use super::extract::ApiRequest;
use crate::core::ApiError;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use otp_relay_shared::api::{CreateChallengeRequest, ResendRequest, VerifyRequest};

/// `POST /api/v1/challenges`.
pub async fn issue(
    State(app): State<SharedApp>,
    request: ApiRequest<CreateChallengeRequest>,
) -> Result<Response, ApiError> {
    let response = app
        .service
        .issue(&request.body.email, &request.requester)
        .await?;
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

/// `POST /api/v1/challenges/resend`.
pub async fn resend(
    State(app): State<SharedApp>,
    request: ApiRequest<ResendRequest>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    let response = app
        .service
        .resend(&body.challenge, &body.email, &request.requester)
        .await?;
    Ok(Json(response).into_response())
}

/// `POST /api/v1/challenges/verify`.
pub async fn verify(
    State(app): State<SharedApp>,
    request: ApiRequest<VerifyRequest>,
) -> Result<Response, ApiError> {
    let body = &request.body;
    let response = app
        .service
        .verify(&body.challenge, &body.email, &body.code, &request.requester)
        .await?;
    Ok(Json(response).into_response())
}
