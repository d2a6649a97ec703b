//! The relay in process, for tests: the whole router on a [`ManualClock`] in development mode
//! (the outbox), driven without a socket (`tower::ServiceExt::oneshot`), or served on a loopback
//! port for a real client. Codes are read out of the messages in the outbox, never out of the relay's
//! internals. Expiry and windows are reached by advancing the clock, never by sleeping.

use crate::config::Config;
use crate::config::ConnectionLimits;
use crate::core::{CodeEmail, Delivery, DeliveryError, ManualClock, MemoryStore};
use crate::http::router;
use crate::mail::{Mailer, Outbox};
use crate::server::{Assembled, assemble_with, serve_connections};
use async_trait::async_trait;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, StatusCode, header};
use serde_json::{Value, json};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tower::ServiceExt;

/// An answer as a test sees it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

impl Answer {
    /// The API's error, read as every client reads it; `None` when the answer is not one.
    pub fn error(&self) -> Option<otp_relay_shared::api::ErrorDetail> {
        serde_json::from_value::<otp_relay_shared::api::ErrorResponse>(self.json.clone())
            .ok()
            .map(|body| body.error)
    }

    /// `error.code`, or `""` when the answer is not an error.
    pub fn error_code(&self) -> &'static str {
        self.error().map_or("", |error| error.code.as_str())
    }

    /// `challenge` of an issue or resend answer.
    pub fn challenge(&self) -> String {
        self.json["challenge"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// The `pow` a client sends for `challenge` (the JSON of `GET /api/v1/pow`, or of a
/// `pow_required` error's `pow`): solved with the clients' own solver, base64 of the solution.
pub fn solve_pow(challenge: &Value) -> Option<String> {
    use base64::Engine;
    let challenge: otp_relay_shared::pow::PowChallenge =
        serde_json::from_value(challenge.clone()).ok()?;
    let number = otp_relay_shared::pow::solve(&challenge)?;
    let json = serde_json::to_vec(&challenge.solution(number)).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(json))
}

/// The development outbox, with switches that make the mail server "refuse" every message, or
/// never answer.
pub struct SwitchableOutbox {
    mailer: Mailer,
    failing: AtomicBool,
    hanging: AtomicBool,
}

impl SwitchableOutbox {
    /// While set, every delivery fails as a refused message would.
    pub fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// While set, every delivery waits for ever, as with a mail server that stopped answering.
    pub fn hang(&self, hanging: bool) {
        self.hanging.store(hanging, Ordering::SeqCst);
    }
}

#[async_trait]
impl Delivery for SwitchableOutbox {
    async fn deliver(&self, email: CodeEmail) -> Result<(), DeliveryError> {
        if self.hanging.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if self.failing.load(Ordering::SeqCst) {
            return Err(DeliveryError::new(
                "the test mail server is switched off",
                "550 refused by the test",
            ));
        }
        self.mailer.deliver(email).await
    }

    fn describe(&self) -> String {
        "switchable test outbox".into()
    }
}

/// A relay with a manual clock and the development outbox, in this process.
pub struct InProcessRelay {
    pub clock: ManualClock,
    pub outbox: Arc<Outbox>,
    pub delivery: Arc<SwitchableOutbox>,
    /// The relay's store, to see what requests leave behind.
    pub store: Arc<MemoryStore>,
    router: Router,
    limits: ConnectionLimits,
    /// Whether sends need a proof of work, which the helpers then pay as a client would.
    pow_on: bool,
}

/// Where an in-process request comes from: the socket's peer, and the headers a browser or a
/// proxy adds.
#[derive(Debug, Clone)]
pub struct Caller {
    pub peer: IpAddr,
    pub origin: Option<String>,
    pub forwarded_for: Option<String>,
}

impl Caller {
    /// A client at `peer`, with no `Origin` (a server, the terminal client).
    pub fn at(peer: &str) -> Caller {
        Caller {
            peer: peer.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            origin: None,
            forwarded_for: None,
        }
    }

    /// This caller, from a page on `origin`.
    pub fn from_site(mut self, origin: &str) -> Caller {
        self.origin = Some(origin.to_string());
        self
    }

    /// This caller, with an `X-Forwarded-For` header.
    pub fn forwarding(mut self, forwarded_for: &str) -> Caller {
        self.forwarded_for = Some(forwarded_for.to_string());
        self
    }
}

impl Default for Caller {
    fn default() -> Self {
        Caller::at("127.0.0.1")
    }
}

impl InProcessRelay {
    /// The relay `otp-relay serve --dev FLAGS...` would be, with a manual clock that stands at a
    /// fixed round time. The proof of work is off unless the flags turn it on (`--pow on`): the
    /// rules of the flow are tested without it, and the proof of work's own tests, with it.
    pub fn new(flags: &[&str]) -> Result<InProcessRelay, String> {
        Self::with_clock(flags, ManualClock::new())
    }

    /// The same, on a clock the caller chose (for instance one that starts at the real time, for
    /// clients that compare the relay's times with their own clock).
    pub fn with_clock(flags: &[&str], clock: ManualClock) -> Result<InProcessRelay, String> {
        let pow_default: &[&str] = if flags.iter().any(|f| f.starts_with("--pow")) {
            &[]
        } else {
            &["--pow", "off"]
        };
        let flags: Vec<&str> = ["--dev"]
            .iter()
            .chain(pow_default)
            .chain(flags)
            .copied()
            .collect();
        let config = Config::from_flags(&flags)?;
        let pow_on = config.pow.enabled;
        let mailer = Mailer::outbox(Arc::new(clock.clone()), &config.smtp.from);
        let outbox = mailer
            .as_outbox()
            .cloned()
            .ok_or("the outbox mailer has an outbox")?;
        let delivery = Arc::new(SwitchableOutbox {
            mailer,
            failing: AtomicBool::new(false),
            hanging: AtomicBool::new(false),
        });
        let limits = config.connections.clone();
        let Assembled { app, store } = assemble_with(
            config,
            Arc::clone(&delivery) as Arc<dyn Delivery>,
            Some(Arc::clone(&outbox)),
            Arc::new(clock.clone()),
        );
        Ok(InProcessRelay {
            router: router(app),
            limits,
            store,
            clock,
            outbox,
            delivery,
            pow_on,
        })
    }

    /// Sends one request through the router; a client IP of 127.0.0.1 (no socket).
    pub async fn request(&self, request: Request<Body>) -> Answer {
        let response = match self.router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(infallible) => match infallible {},
        };
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            json,
        }
    }

    /// A JSON POST from `caller`.
    pub async fn post_as(&self, caller: &Caller, path: &str, body: &Value) -> Answer {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(origin) = &caller.origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(forwarded) = &caller.forwarded_for {
            request = request.header("x-forwarded-for", forwarded);
        }
        let mut request = request
            .body(Body::from(body.to_string()))
            .unwrap_or_else(|_| Request::new(Body::empty()));
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(caller.peer, 40_000)));
        self.request(request).await
    }

    /// A JSON POST, from `origin` when given.
    pub async fn post_from(&self, origin: Option<&str>, path: &str, body: &Value) -> Answer {
        let caller = Caller {
            origin: origin.map(str::to_string),
            ..Caller::default()
        };
        self.post_as(&caller, path, body).await
    }

    /// A GET from `caller`.
    pub async fn get_as(&self, caller: &Caller, path: &str) -> Answer {
        let mut request = Request::get(path);
        if let Some(origin) = &caller.origin {
            request = request.header(header::ORIGIN, origin);
        }
        if let Some(forwarded) = &caller.forwarded_for {
            request = request.header("x-forwarded-for", forwarded);
        }
        let mut request = request
            .body(Body::empty())
            .unwrap_or_else(|_| Request::new(Body::empty()));
        request
            .extensions_mut()
            .insert(ConnectInfo(SocketAddr::new(caller.peer, 40_000)));
        self.request(request).await
    }

    /// A solved proof of work for `caller`, as a client pays one: `GET /api/v1/pow`, solved.
    pub async fn pow_for(&self, caller: &Caller) -> String {
        solve_pow(&self.get_as(caller, "/api/v1/pow").await.json).unwrap_or_default()
    }

    /// A send (`path` with `body`) from `caller`, paid for as a client pays when the relay wants
    /// a proof of work: one solved before, and the harder one a `pow_required` hands back, once.
    pub async fn post_paid(&self, caller: &Caller, path: &str, body: &Value) -> Answer {
        if !self.pow_on {
            return self.post_as(caller, path, body).await;
        }
        let mut body = body.clone();
        body["pow"] = Value::String(self.pow_for(caller).await);
        let answer = self.post_as(caller, path, &body).await;
        if answer.error_code() != "pow_required" {
            return answer;
        }
        body["pow"] = Value::String(solve_pow(&answer.json["error"]["pow"]).unwrap_or_default());
        self.post_as(caller, path, &body).await
    }

    /// `POST /api/v1/challenges` from `caller`.
    pub async fn issue_as(&self, caller: &Caller, email: &str) -> Answer {
        self.post_paid(caller, "/api/v1/challenges", &json!({ "email": email }))
            .await
    }

    /// `POST /api/v1/challenges/verify` from `caller`.
    pub async fn verify_as(
        &self,
        caller: &Caller,
        challenge: &str,
        email: &str,
        code: &str,
    ) -> Answer {
        self.post_as(
            caller,
            "/api/v1/challenges/verify",
            &json!({ "challenge": challenge, "email": email, "code": code }),
        )
        .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Answer {
        self.post_from(None, path, body).await
    }

    pub async fn issue(&self, email: &str) -> Answer {
        self.issue_as(&Caller::default(), email).await
    }

    pub async fn resend(&self, challenge: &str, email: &str) -> Answer {
        self.post_paid(
            &Caller::default(),
            "/api/v1/challenges/resend",
            &json!({ "challenge": challenge, "email": email }),
        )
        .await
    }

    pub async fn verify(&self, challenge: &str, email: &str, code: &str) -> Answer {
        self.post(
            "/api/v1/challenges/verify",
            &json!({ "challenge": challenge, "email": email, "code": code }),
        )
        .await
    }

    /// Messages in the outbox so far.
    pub fn sent(&self) -> usize {
        self.outbox.entries().len()
    }

    /// The code in the newest message to `to`, read from its `@host #code` last line.
    pub fn last_code(&self, to: &str) -> Option<String> {
        let entry = self.outbox.entries().into_iter().find(|e| e.to == to)?;
        let last = entry.text.trim_end().lines().last()?.to_string();
        let code = last.rsplit_once('#')?.1.to_string();
        code.bytes().all(|b| b.is_ascii_digit()).then_some(code)
    }

    /// The link in the newest message to `to`, as the outbox shows it.
    pub fn last_link(&self, to: &str) -> Option<String> {
        self.outbox.entries().into_iter().find(|e| e.to == to)?.link
    }

    /// Issues a challenge to `email`; its token and the code from the message.
    pub async fn challenge_and_code(&self, email: &str) -> Option<(String, String)> {
        let answer = self.issue(email).await;
        (answer.status == StatusCode::CREATED).then_some(())?;
        Some((answer.challenge(), self.last_code(email)?))
    }

    /// Serves the router on a free loopback port until the returned task is aborted or the
    /// runtime ends: for a real client (the terminal client, a browser) against a relay whose
    /// clock the test moves.
    pub async fn serve_on_loopback(
        &self,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        self.serve_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// [`Self::serve_on_loopback`] at a chosen address (a page served from it calls the API
    /// from that origin, which must then be on the allow-list).
    pub async fn serve_on(
        &self,
        address: SocketAddr,
    ) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
        let listener = tokio::net::TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let task = tokio::spawn(serve_connections(
            listener,
            self.router.clone(),
            self.limits.clone(),
            Arc::new(self.clock.clone()),
            std::future::pending(),
        ));
        Ok((address, task))
    }
}
