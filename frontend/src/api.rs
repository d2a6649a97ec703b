//! The relay's API as the browser calls it: `fetch` with JSON bodies, answers turned into flow
//! actions. JSON is the browser's own (`JSON.stringify`, `Response.json()`), and fields are read
//! straight off the parsed objects: no JSON or serde code in the wasm, which keeps the download
//! small. Requests are built from the shared request types and read by destructuring them, so a
//! change in `otp_relay_shared::api` cannot go unnoticed here.

use crate::flow::{Action, ChallengeInfo, Failure, VerifiedProof};
use crate::words::Words;
use js_sys::{Date, JSON, Object, Promise, Reflect};
use otp_relay_shared::api::{CreateChallengeRequest, ResendRequest, VerifyRequest, WidgetStatus};
use otp_relay_shared::{ErrorCode, Lang};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// A call to the relay, built from the shared request types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    RequestCode(CreateChallengeRequest),
    Resend(ResendRequest),
    Verify(VerifyRequest),
}

/// The browser's client of the relay's HTTP API. Where the relay is: `""` for the page's own
/// origin, or an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayClient {
    base: String,
    /// The language the page shows: the relay writes the email in it and sends its messages.
    lang: Lang,
}

fn field(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn text(object: &JsValue, name: &str) -> Option<String> {
    field(object, name).as_string()
}

fn number(object: &JsValue, name: &str) -> Option<f64> {
    field(object, name)
        .as_f64()
        .filter(|n| n.is_finite() && *n >= 0.0)
}

/// A whole non-negative number that fits `u32`.
fn count(object: &JsValue, name: &str) -> Option<u32> {
    number(object, name).map(|n| n.min(f64::from(u32::MAX)) as u32)
}

fn challenge_info(body: &JsValue) -> Option<ChallengeInfo> {
    Some(ChallengeInfo {
        token: text(body, "challenge")?,
        email: text(body, "email")?,
        code_length: count(body, "code_length")? as usize,
        expires_at_ms: Date::parse(&text(body, "expires_at")?),
        resend_at_ms: Date::parse(&text(body, "resend_at")?),
        attempts_left: count(body, "attempts_left")?,
        sends_left: count(body, "sends_left")?,
    })
}

fn verified_proof(body: &JsValue) -> Option<VerifiedProof> {
    Some(VerifiedProof {
        email: text(body, "email")?,
        proof: text(body, "proof")?,
        expires_at: text(body, "proof_expires_at")?,
    })
}

fn failure(body: &JsValue) -> Option<Failure> {
    let error = field(body, "error");
    Some(Failure::Api {
        code: ErrorCode::from_wire(&text(&error, "code")?)?,
        message: text(&error, "message")?,
        attempts_left: count(&error, "attempts_left"),
        retry_after: number(&error, "retry_after").map(|n| n as u64),
    })
}

async fn await_promise(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

impl RelayClient {
    pub fn new(base: &str, lang: Lang) -> Self {
        RelayClient {
            base: base.trim_end_matches('/').to_string(),
            lang,
        }
    }

    /// The URL of a relay path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// POSTs a JSON object of string fields; the parsed answer on success.
    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Result<JsValue, Failure> {
        let body = Object::new();
        for (name, value) in fields {
            let _ = Reflect::set(&body, &JsValue::from_str(name), &JsValue::from_str(value));
        }
        let json = JSON::stringify(&body).map_err(|_| Failure::Unreachable)?;
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
        // A proxy's own error page (the relay down behind it) is not JSON: unreachable.
        let promise = response.json().map_err(|_| Failure::Unreachable)?;
        let body = await_promise(promise)
            .await
            .map_err(|_| Failure::Unreachable)?;
        if response.ok() {
            Ok(body)
        } else {
            Err(failure(&body).unwrap_or(Failure::Unreachable))
        }
    }

    /// Makes a call and turns the answer into the flow's next action. One function for the three
    /// calls, so the wasm holds one request future, not three.
    pub async fn call(&self, call: Call) -> Action {
        let (path, mut fields) = match &call {
            Call::RequestCode(CreateChallengeRequest { email, .. }) => {
                ("/api/v1/challenges", vec![("email", email.as_str())])
            }
            Call::Resend(ResendRequest {
                challenge, email, ..
            }) => (
                "/api/v1/challenges/resend",
                vec![("challenge", challenge.as_str()), ("email", email.as_str())],
            ),
            Call::Verify(VerifyRequest {
                challenge,
                email,
                code,
                ..
            }) => (
                "/api/v1/challenges/verify",
                vec![
                    ("challenge", challenge.as_str()),
                    ("email", email.as_str()),
                    ("code", code.as_str()),
                ],
            ),
        };
        // The relay writes the email in the language the page shows.
        fields.push(("lang", self.lang.tag()));
        let body = match self.post(path, &fields).await {
            Ok(body) => body,
            Err(failure) => return Action::Failed(failure),
        };
        let action = match &call {
            Call::RequestCode(_) => challenge_info(&body).map(Action::Issued),
            Call::Resend(_) => challenge_info(&body).map(Action::Resent),
            Call::Verify(_) => verified_proof(&body).map(Action::Verified),
        };
        action.unwrap_or(Action::Failed(Failure::Unreachable))
    }

    /// What the relay says about this page: allowed to call it, development outbox; and for a
    /// language other than English, its messages. `None` when the relay cannot be asked (it is
    /// down, or older than this endpoint).
    pub async fn status(&self) -> Option<(WidgetStatus, Option<Words>)> {
        let window = web_sys::window()?;
        let path = format!("/widget/v1/status?lang={}", self.lang.tag());
        let response: Response = await_promise(window.fetch_with_str(&self.url(&path)))
            .await
            .ok()?
            .dyn_into()
            .ok()?;
        if !response.ok() {
            return None;
        }
        let body = await_promise(response.json().ok()?).await.ok()?;
        let status = WidgetStatus {
            origin: text(&body, "origin"),
            allowed: field(&body, "allowed").as_bool()?,
            message: text(&body, "message"),
            dev_outbox: field(&body, "dev_outbox").as_bool().unwrap_or(false),
        };
        // One text per message slot, in the order the build numbered them (`words`).
        let messages = field(&body, "messages");
        let messages = js_sys::Array::is_array(&messages).then(|| {
            let texts = js_sys::Array::from(&messages);
            Words::receive(
                self.lang,
                texts.iter().map(|text| text.as_string()).collect(),
            )
        });
        Some((status, messages))
    }
}
