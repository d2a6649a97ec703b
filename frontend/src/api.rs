//! The relay's API as the browser calls it: `fetch` with JSON bodies, answers turned into flow
//! actions. Requests and answers are the shared types of `otp_relay_shared::api`, the ones the
//! relay, the terminal client and the tests read with serde. JSON is the browser's own
//! (`JSON.stringify`, `Response.json()`): requests are written by destructuring the shared types,
//! and answers read with their shared field readers (`FromFields`, tested against serde), so no
//! JSON parser or serde code is in the wasm, which keeps the download small.

use crate::flow::{Action, ChallengeInfo, Failure, Request as ApiRequest, VerifiedProof};
use crate::words::Words;
use js_sys::{Date, JSON, Promise};
use otp_relay_shared::Lang;
use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ErrorResponse, Fields, FromFields, ResendRequest,
    VerifyRequest, VerifyResponse, WidgetStatus,
};
use otp_relay_shared::pow::PowChallenge;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, RequestInit, Response};

/// The browser's client of the relay's HTTP API. Where the relay is: `""` for the page's own
/// origin, or an absolute URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayClient {
    base: String,
    /// The language the page shows: the relay writes the email and its refusals in it.
    lang: Lang,
}

/// A parsed JSON object, read field by field.
struct JsObject(JsValue);

impl JsObject {
    fn get(&self, name: &str) -> JsValue {
        js_sys::Reflect::get(&self.0, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    }
}

impl Fields for JsObject {
    fn text(&self, name: &str) -> Option<String> {
        self.get(name).as_string()
    }

    fn count(&self, name: &str) -> Option<u64> {
        let n = self.get(name).as_f64()?;
        (n.is_finite() && n >= 0.0 && n.fract() == 0.0).then_some(n as u64)
    }

    fn flag(&self, name: &str) -> Option<bool> {
        self.get(name).as_bool()
    }

    fn object(&self, name: &str) -> Option<Self> {
        Some(JsObject(self.get(name))).filter(|object| object.0.is_object())
    }

    fn texts(&self, name: &str) -> Option<Vec<Option<String>>> {
        let list = self.get(name);
        js_sys::Array::is_array(&list).then(|| {
            js_sys::Array::from(&list)
                .iter()
                .map(|t| t.as_string())
                .collect()
        })
    }
}

/// A parsed JSON answer as a shared type; `None` if it is not one.
/// What a tab that confirmed an email's link tells the site's other tabs: the challenge and the
/// proof, as an object of the relay's own field names.
pub fn link_confirmed(token: &str, proof: &VerifiedProof) -> JsValue {
    crate::widget::object(&[
        ("challenge", token),
        ("email", &proof.email),
        ("proof", &proof.proof),
        ("proof_expires_at", &proof.expires_at),
    ])
}

/// The challenge and proof another tab confirmed, if `message` is one.
pub fn read_link_confirmed(message: JsValue) -> Option<(String, VerifiedProof)> {
    let fields = JsObject(message);
    let proof = VerifiedProof {
        email: fields.text("email")?,
        proof: fields.text("proof")?,
        expires_at: fields.text("proof_expires_at")?,
    };
    Some((fields.text("challenge")?, proof))
}

fn read<T: FromFields>(body: JsValue) -> Option<T> {
    T::from_fields(&JsObject(body))
}

impl From<ChallengeResponse> for ChallengeInfo {
    fn from(answer: ChallengeResponse) -> Self {
        ChallengeInfo {
            token: answer.challenge,
            email: answer.email,
            code_length: answer.code_length,
            expires_at_ms: Date::parse(&answer.expires_at),
            resend_at_ms: Date::parse(&answer.resend_at),
            attempts_left: answer.attempts_left,
            sends_left: answer.sends_left,
        }
    }
}

impl From<VerifyResponse> for VerifiedProof {
    fn from(answer: VerifyResponse) -> Self {
        VerifiedProof {
            email: answer.email,
            proof: answer.proof,
            expires_at: answer.proof_expires_at,
        }
    }
}

/// The `pow` a send carries for `challenge` solved by `number`: base64 (the browser's `btoa`)
/// of ALTCHA's solution payload as JSON. The relay's fields are hex, digits and `?=&`, which
/// JSON takes as they are.
pub fn pow_payload(challenge: &PowChallenge, number: u64) -> Option<String> {
    let PowChallenge {
        algorithm,
        challenge,
        salt,
        signature,
        maxnumber: _,
    } = challenge;
    let json = format!(
        r#"{{"algorithm":"{algorithm}","challenge":"{challenge}","number":{number},"salt":"{salt}","signature":"{signature}"}}"#
    );
    web_sys::window()?.btoa(&json).ok()
}

async fn await_promise(promise: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(promise).await
}

/// Fetches `request`: whether the answer is a success, and its body parsed as JSON. `None`: no
/// answer, or one that is not JSON. Every call to the relay goes through here, so the wasm holds
/// one copy of the awaiting.
async fn fetch_json(request: &Request) -> Option<(bool, JsValue)> {
    let window = web_sys::window()?;
    let response: Response = await_promise(window.fetch_with_request(request))
        .await
        .ok()?
        .dyn_into()
        .ok()?;
    let body = await_promise(response.json().ok()?).await.ok()?;
    Some((response.ok(), body))
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

    /// POSTs a JSON body; the parsed answer, or the relay's error.
    async fn post(&self, path: &str, body: &JsValue) -> Result<JsValue, Failure> {
        let json = JSON::stringify(body).map_err(|_| Failure::Unreachable)?;
        let init = RequestInit::new();
        init.set_method("POST");
        init.set_body(&json);
        let request = Request::new_with_str_and_init(&self.url(path), &init)
            .map_err(|_| Failure::Unreachable)?;
        request
            .headers()
            .set("Content-Type", "application/json")
            .map_err(|_| Failure::Unreachable)?;
        // A proxy's own error page (the relay down behind it) is not JSON: unreachable.
        let (ok, body) = fetch_json(&request).await.ok_or(Failure::Unreachable)?;
        if ok {
            Ok(body)
        } else {
            Err(
                read::<ErrorResponse>(body).map_or(Failure::Unreachable, |answer| {
                    Failure::Refused(answer.error)
                }),
            )
        }
    }

    /// GETs a relay path; its JSON body when the answer is a success.
    async fn get(&self, path: &str) -> Option<JsValue> {
        let request = Request::new_with_str(&self.url(path)).ok()?;
        match fetch_json(&request).await? {
            (true, body) => Some(body),
            (false, _) => None,
        }
    }

    /// Makes a request, in the page's language, and turns the answer into the flow's next
    /// action. One function for the three requests, so the wasm holds one request future, not
    /// three.
    pub async fn call(&self, request: ApiRequest) -> Action {
        let lang = self.lang.tag();
        // Each request's fields, named by destructuring its shared type: a field added there
        // does not compile here until it is sent.
        let (path, fields): (&str, &[(&str, &str)]) = match &request {
            ApiRequest::Send(CreateChallengeRequest {
                email,
                lang: _,
                pow,
                link,
            }) => (
                "/api/v1/challenges",
                &[
                    ("email", email),
                    ("lang", lang),
                    ("pow", pow.as_deref().unwrap_or_default()),
                    ("link", link.as_deref().unwrap_or_default()),
                ],
            ),
            ApiRequest::Resend(ResendRequest {
                challenge,
                email,
                lang: _,
                pow,
            }) => (
                "/api/v1/challenges/resend",
                &[
                    ("challenge", challenge),
                    ("email", email),
                    ("lang", lang),
                    ("pow", pow.as_deref().unwrap_or_default()),
                ],
            ),
            ApiRequest::Verify(VerifyRequest {
                challenge,
                email,
                code,
                link,
                page,
                lang: _,
            }) => (
                "/api/v1/challenges/verify",
                &[
                    ("challenge", challenge),
                    ("email", email),
                    ("code", code.as_deref().unwrap_or_default()),
                    ("link", link.as_deref().unwrap_or_default()),
                    ("page", page.as_deref().unwrap_or_default()),
                    ("lang", lang),
                ],
            ),
        };
        let body = js_sys::Object::new();
        // An empty field is none: not sent (a `pow`: so the relay says what it wants).
        for (name, value) in fields.iter().filter(|(_, value)| !value.is_empty()) {
            let _ =
                js_sys::Reflect::set(&body, &JsValue::from_str(name), &JsValue::from_str(value));
        }
        let body: JsValue = body.into();
        let answer = match self.post(path, &body).await {
            Ok(answer) => answer,
            Err(failure) => return Action::Failed(failure),
        };
        let action = match request {
            ApiRequest::Send(_) => {
                read::<ChallengeResponse>(answer).map(|a| Action::Issued(a.into()))
            }
            ApiRequest::Resend(_) => {
                read::<ChallengeResponse>(answer).map(|a| Action::Resent(a.into()))
            }
            ApiRequest::Verify(_) => {
                read::<VerifyResponse>(answer).map(|a| Action::Verified(a.into()))
            }
        };
        action.unwrap_or(Action::Failed(Failure::Unreachable))
    }

    /// A proof-of-work challenge (`GET /api/v1/pow`); `None` when the relay offers none.
    pub async fn pow_challenge(&self) -> Option<PowChallenge> {
        read(self.get("/api/v1/pow").await?)
    }

    /// What the relay says about this page: allowed to call it, development outbox; and for a
    /// language other than English, its messages. `None` when the relay cannot be asked (it is
    /// down, or older than this endpoint).
    pub async fn status(&self) -> Option<(WidgetStatus, Option<Words>)> {
        let path = format!("/widget/v1/status?lang={}", self.lang.tag());
        let body = self.get(&path).await?;
        let mut status: WidgetStatus = read(body)?;
        // One text per message slot, in the order the build numbered them (`words`).
        let messages = status
            .messages
            .take()
            .map(|texts| Words::receive(self.lang, texts));
        Some((status, messages))
    }
}
