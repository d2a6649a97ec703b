//! The relay's API as the browser calls it: `fetch` with JSON bodies, answers turned into flow
//! actions. Parsing is left to the browser's own `JSON` (smaller than bundling a JSON parser).

use crate::flow::{ChallengeInfo, Failure, VerifiedProof};
use js_sys::{Date, JSON, Promise};
use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ErrorResponse, ResendRequest, VerifyRequest,
    VerifyResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// Where the relay is: `""` for the page's own origin, or an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relay {
    base: String,
}

fn to_ms(rfc3339: &str) -> f64 {
    Date::parse(rfc3339)
}

impl From<ChallengeResponse> for ChallengeInfo {
    fn from(r: ChallengeResponse) -> Self {
        ChallengeInfo {
            expires_at_ms: to_ms(&r.expires_at),
            resend_at_ms: to_ms(&r.resend_at),
            token: r.challenge,
            email: r.email,
            code_length: r.code_length,
            attempts_left: r.attempts_left,
            sends_left: r.sends_left,
        }
    }
}

async fn await_promise(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

impl Relay {
    pub fn new(base: &str) -> Self {
        Relay {
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// The URL of a relay path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<R, Failure> {
        let json = serde_wasm_bindgen::to_value(body)
            .ok()
            .and_then(|value| JSON::stringify(&value).ok())
            .ok_or(Failure::Unreachable)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&json);
        let request = Request::new_with_str_and_init(&self.url(path), &init)
            .map_err(|_| Failure::Unreachable)?;
        request
            .headers()
            .set("Content-Type", "application/json")
            .map_err(|_| Failure::Unreachable)?;
        let window = web_sys::window().ok_or(Failure::Unreachable)?;
        let response: Response = await_promise(window.fetch_with_request(&request))
            .await
            .ok()
            .and_then(|value| value.dyn_into().ok())
            .ok_or(Failure::Unreachable)?;
        let ok = response.ok();
        // A proxy's own error page (the relay down behind it) is not JSON: treat as unreachable.
        let body = match response.json() {
            Ok(promise) => await_promise(promise)
                .await
                .map_err(|_| Failure::Unreachable)?,
            Err(_) => return Err(Failure::Unreachable),
        };
        if ok {
            serde_wasm_bindgen::from_value(body).map_err(|_| Failure::Unreachable)
        } else {
            let error: ErrorResponse =
                serde_wasm_bindgen::from_value(body).map_err(|_| Failure::Unreachable)?;
            Err(Failure::Api {
                code: error.error.code,
                message: error.error.message,
                attempts_left: error.error.attempts_left,
                retry_after: error.error.retry_after,
            })
        }
    }

    pub async fn request_code(&self, email: String) -> Result<ChallengeInfo, Failure> {
        let response: ChallengeResponse = self
            .post("/api/v1/challenges", &CreateChallengeRequest { email })
            .await?;
        Ok(response.into())
    }

    pub async fn resend(&self, challenge: String, email: String) -> Result<ChallengeInfo, Failure> {
        let response: ChallengeResponse = self
            .post(
                "/api/v1/challenges/resend",
                &ResendRequest { challenge, email },
            )
            .await?;
        Ok(response.into())
    }

    pub async fn verify(
        &self,
        challenge: String,
        email: String,
        code: String,
    ) -> Result<VerifiedProof, Failure> {
        let response: VerifyResponse = self
            .post(
                "/api/v1/challenges/verify",
                &VerifyRequest {
                    challenge,
                    email,
                    code,
                },
            )
            .await?;
        Ok(VerifiedProof {
            email: response.email,
            proof: response.proof,
            expires_at: response.proof_expires_at,
        })
    }

    /// Whether the relay runs with the development outbox (only then does it answer there).
    pub async fn has_dev_outbox(&self) -> bool {
        let Some(window) = web_sys::window() else {
            return false;
        };
        match await_promise(window.fetch_with_str(&self.url("/dev/outbox"))).await {
            Ok(value) => value.dyn_into::<Response>().is_ok_and(|r| r.ok()),
            Err(_) => false,
        }
    }
}
