//! The verification flow as a pure state machine: what the person sees and may do at each stage,
//! which request to make next, and every text the view shows. No browser types, no clock of its
//! own (time comes in as milliseconds since the epoch), so every transition is tested natively.
//! The view renders what this decides and decides nothing.

use crate::words::{self, Slot, Words};
use otp_relay_shared::api::{CreateChallengeRequest, ErrorDetail, ResendRequest, VerifyRequest};
use otp_relay_shared::code::normalize_typed_code;
use otp_relay_shared::pow::PowChallenge;
use otp_relay_shared::{EmailAddress, EmailError, ErrorCode};

/// A challenge as the flow needs it, times in milliseconds since the Unix epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct ChallengeInfo {
    pub token: String,
    pub email: String,
    pub code_length: usize,
    pub expires_at_ms: f64,
    pub resend_at_ms: f64,
    pub attempts_left: u32,
    pub sends_left: u32,
}

/// The proof handed to the page on success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    pub email: String,
    pub proof: String,
    pub expires_at: String,
}

/// Why a request failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The relay refused: the API's error, its `message` worded in the flow's language.
    Refused(ErrorDetail),
    /// No answer: network down, relay stopped, CORS refused before any response.
    Unreachable,
}

/// A request to the relay: the shared request types, which the client sends as they are (it
/// adds the language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Send(CreateChallengeRequest),
    Resend(ResendRequest),
    Verify(VerifyRequest),
}

/// What the component must do; a request's outcome comes back as an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Ask(Request),
    /// Hand the proof to the page.
    Announce(VerifiedProof),
    /// Tell the page an error happened (for embedding sites).
    ReportError {
        code: String,
        message: String,
    },
}

/// The proof of work a send pays (docs/api.md, `GET /api/v1/pow`): fetched and solved in the
/// background from the moment the flow starts, so that "Send code" does not wait for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pow {
    /// A challenge is being fetched or solved (a [`PowJob`] runs).
    Working,
    /// A solution, unspent: the next send pays with it.
    Ready(String),
    /// The relay offered none (an older relay, or it could not be reached): sends go without,
    /// and a relay that wants one answers `pow_required` with a challenge to solve.
    Unavailable,
}

/// Work for the component: fetch a challenge (`GET /api/v1/pow`) and solve it, or solve the
/// one a `pow_required` answer carried. Its result comes back as [`Action::PowSolved`] or
/// [`Action::PowUnavailable`] with the same generation; a result of an older job is ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PowJob {
    pub generation: u32,
    pub challenge: Option<PowChallenge>,
}

/// How many `pow_required` answers in a row are solved and retried without the person.
const POW_RETRIES: u8 = 3;

/// Where the person is, with what that stage needs.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Typing the address; what is wrong with it, if the last try was refused.
    Email {
        error: Option<String>,
    },
    /// A code was sent. `dead`: it cannot be used any more, only a new code helps.
    Code {
        challenge: ChallengeInfo,
        dead: bool,
    },
    /// Opened from an email's link: nothing is sent until the person confirms with a click
    /// (docs/security.md, A32).
    Confirm(EmailLink),
    Verified(VerifiedProof),
}

/// What an email's link brings in its fragment, and the page it was opened on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLink {
    pub token: String,
    pub secret: String,
    pub email: String,
    /// The page's URL without the fragment: the relay checks it is the page the link was made for.
    pub page: String,
}

impl EmailLink {
    /// Reads a page's fragment (after `#`): `otp-link=<challenge>.<secret>&email=<address>`, the
    /// address percent-encoded (`decode` decodes it: the browser's own decoder, which costs the
    /// download nothing). `None` for any other fragment.
    pub fn from_fragment(
        fragment: &str,
        page: &str,
        decode: impl Fn(&str) -> Option<String>,
    ) -> Option<EmailLink> {
        let rest = fragment.strip_prefix("otp-link=")?;
        // Split on characters, not on `&email=`: a string search costs the download more.
        let (link, email) = rest.split_once('&')?;
        let (token, secret) = link.split_once('.')?;
        let email = decode(email.strip_prefix("email=")?)?;
        (!token.is_empty() && !secret.is_empty()).then(|| EmailLink {
            token: token.into(),
            secret: secret.into(),
            email,
            page: page.into(),
        })
    }
}

/// The stage without its data, for comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Email,
    Code,
    Confirm,
    Verified,
}

/// What is in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    Idle,
    Sending,
    Resending,
    Verifying,
}

/// How a message looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Error,
}

/// The way forward a message offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Nothing but to fix the input.
    None,
    /// Request a fresh code for the same address.
    NewCode,
    /// Repeat the request that failed.
    Retry,
}

/// A message for the person, with its way forward.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    pub tone: Tone,
    pub text: String,
    pub recovery: Recovery,
}

/// A button as the view shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Button {
    pub label: String,
    pub enabled: bool,
}

/// Where focus should go after a render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    EmailField,
    CodeField,
    Notice,
    Success,
}

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    EmailInput(String),
    SubmitEmail,
    CodeInput(String),
    SubmitCode,
    Resend,
    NewCode,
    Retry,
    UseAnotherAddress,
    /// Start again from an empty form (the embedding page asked for it).
    Reset,
    /// The page was opened from an email's link.
    LinkOpened(EmailLink),
    /// The person confirmed that the link's address is theirs.
    Confirm,
    /// Another tab of this site verified a challenge (its token) with the email's link.
    VerifiedElsewhere(String, VerifiedProof),
    /// The page's form was submitted before the address was verified.
    SubmissionHeld,
    /// The relay does not serve this page's origin: nothing can work here.
    Refused(String),
    /// A proof of work solved (its generation, and the `pow` to send).
    PowSolved(u32, String),
    /// No proof of work could be had (its generation).
    PowUnavailable(u32),
    Issued(ChallengeInfo),
    Resent(ChallengeInfo),
    Verified(VerifiedProof),
    Failed(Failure),
}

/// The state of one verification widget.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub stage: Stage,
    pub busy: Busy,
    pub email_input: String,
    pub code_input: String,
    /// Shown beside the code field and read out by screen readers.
    pub notice: Option<Notice>,
    /// Until when requests are refused (rate limited), ms.
    pub blocked_until_ms: Option<f64>,
    /// Where focus goes after the next render (taken by the component).
    pub focus: Option<Focus>,
    /// The request to repeat on `Retry`.
    last_request: Option<Request>,
    /// The code last sent for checking: never sent twice in a row.
    last_submitted: Option<String>,
    /// Why this page cannot use the relay at all, if it cannot.
    refused: Option<String>,
    /// The proof of work for the next send.
    pub pow: Pow,
    /// Work for the component (taken by it after each update).
    pub pow_job: Option<PowJob>,
    /// The generation of the proof-of-work job in force.
    pow_generation: u32,
    /// A send or resend that waits for its proof of work.
    waiting: Option<Request>,
    /// `pow_required` answers solved and retried in a row.
    pow_retries: u8,
    /// The messages, in the language the flow speaks.
    pub words: Words,
    /// The page a send asks the email's link to open, when the site wants a link.
    pub link_page: Option<String>,
}

impl Default for Flow {
    fn default() -> Self {
        Self::new("")
    }
}

/// Whole seconds from `now` until `at`, never negative.
pub fn seconds_until(at_ms: f64, now_ms: f64) -> u64 {
    let left = ((at_ms - now_ms) / 1000.0).ceil();
    if left.is_finite() && left > 0.0 {
        left as u64
    } else {
        0
    }
}

/// `4:05`.
pub fn clock(seconds: u64) -> String {
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// Why a typed address is refused, before anything is sent, in the flow's language (the
/// catalogue's `address.*` messages, numbered for the wasm).
pub fn address_refusal(words: Words, error: &EmailError) -> String {
    let (_, placeholder) = error.message();
    let slot = match error {
        EmailError::Empty => words::ADDRESS_EMPTY,
        EmailError::TooLong => words::ADDRESS_TOO_LONG,
        EmailError::ControlCharacter => words::ADDRESS_CONTROL,
        EmailError::Whitespace => words::ADDRESS_WHITESPACE,
        EmailError::NoAt => words::ADDRESS_NO_AT,
        EmailError::SeveralAt => words::ADDRESS_SEVERAL_AT,
        EmailError::ListSeparator => words::ADDRESS_LIST,
        EmailError::EmptyLocalPart => words::ADDRESS_EMPTY_LOCAL,
        EmailError::LocalPartTooLong => words::ADDRESS_LOCAL_TOO_LONG,
        EmailError::LocalPartCharacter(_) => words::ADDRESS_LOCAL_CHARACTER,
        EmailError::RoutingCharacter(_) => words::ADDRESS_ROUTING_CHARACTER,
        EmailError::LocalPartDots => words::ADDRESS_LOCAL_DOTS,
        EmailError::InvalidDomain => words::ADDRESS_INVALID_DOMAIN,
        EmailError::NonAsciiDomain => words::ADDRESS_NON_ASCII_DOMAIN,
    };
    let value = placeholder.map(|(_, value)| value).unwrap_or_default();
    words.say(slot, &value)
}

impl Flow {
    /// A fresh flow in English, the address field prefilled.
    pub fn new(prefill: &str) -> Self {
        Self::speaking(prefill, Words::english())
    }

    /// A fresh flow speaking `words`, the address field prefilled.
    pub fn speaking(prefill: &str, words: Words) -> Self {
        Flow {
            words,
            stage: Stage::Email { error: None },
            busy: Busy::Idle,
            email_input: prefill.to_string(),
            code_input: String::new(),
            notice: None,
            blocked_until_ms: None,
            focus: None,
            last_request: None,
            last_submitted: None,
            refused: None,
            pow: Pow::Working,
            pow_job: Some(PowJob {
                generation: 0,
                challenge: None,
            }),
            pow_generation: 0,
            waiting: None,
            pow_retries: 0,
            link_page: None,
        }
    }

    /// Starts a new proof-of-work job: a fresh challenge, or `challenge` to solve.
    fn start_pow(&mut self, challenge: Option<PowChallenge>) {
        self.pow_generation = self.pow_generation.wrapping_add(1);
        self.pow = Pow::Working;
        self.pow_job = Some(PowJob {
            generation: self.pow_generation,
            challenge,
        });
    }

    /// The generation of the proof-of-work job in force: a result of another is stale.
    pub fn pow_generation(&self) -> u32 {
        self.pow_generation
    }

    /// Whether a send waits for its proof of work (the button then says it is working).
    pub fn paying(&self) -> bool {
        self.waiting.is_some()
    }

    /// Makes a send or resend, paying with the solution at hand and starting on the next; or,
    /// while one is being solved, waits for it.
    fn pay(&mut self, busy: Busy, mut request: Request) -> Option<Effect> {
        match std::mem::replace(&mut self.pow, Pow::Working) {
            Pow::Ready(solution) => {
                set_pow(&mut request, Some(solution));
                self.start_pow(None);
                self.ask(busy, request)
            }
            Pow::Working => {
                self.busy = busy;
                self.waiting = Some(request);
                None
            }
            Pow::Unavailable => {
                self.pow = Pow::Unavailable;
                set_pow(&mut request, None);
                self.ask(busy, request)
            }
        }
    }

    pub fn step(&self) -> Step {
        match self.stage {
            Stage::Email { .. } => Step::Email,
            Stage::Code { .. } => Step::Code,
            Stage::Confirm(_) => Step::Confirm,
            Stage::Verified(_) => Step::Verified,
        }
    }

    /// The challenge of the code stage.
    pub fn challenge(&self) -> Option<&ChallengeInfo> {
        match &self.stage {
            Stage::Code { challenge, .. } => Some(challenge),
            _ => None,
        }
    }

    /// Whether the code can no longer be used (only a new code helps).
    pub fn code_dead(&self) -> bool {
        matches!(self.stage, Stage::Code { dead: true, .. })
    }

    /// What is wrong with the address, shown beside its field.
    pub fn email_error(&self) -> Option<&str> {
        match &self.stage {
            Stage::Email { error } => error.as_deref(),
            _ => None,
        }
    }

    pub fn verified(&self) -> Option<&VerifiedProof> {
        match &self.stage {
            Stage::Verified(proof) => Some(proof),
            _ => None,
        }
    }

    /// Seconds until the code expires.
    pub fn expires_in(&self, now_ms: f64) -> u64 {
        self.challenge()
            .map_or(0, |c| seconds_until(c.expires_at_ms, now_ms))
    }

    /// Seconds until a resend is allowed (0: now).
    pub fn resend_in(&self, now_ms: f64) -> u64 {
        let resend = self
            .challenge()
            .map_or(0, |c| seconds_until(c.resend_at_ms, now_ms));
        resend.max(self.blocked_in(now_ms))
    }

    /// Seconds while requests are refused after `rate_limited`.
    pub fn blocked_in(&self, now_ms: f64) -> u64 {
        self.blocked_until_ms
            .map_or(0, |until| seconds_until(until, now_ms))
    }

    /// Whether "Resend code" can be pressed now.
    pub fn can_resend(&self, now_ms: f64) -> bool {
        self.busy == Busy::Idle
            && !self.code_dead()
            && self.expires_in(now_ms) > 0
            && self.challenge().is_some_and(|c| c.sends_left > 0)
            && self.resend_in(now_ms) == 0
    }

    /// Whether the code has run out on the person's clock (the relay has the last word).
    pub fn is_expired(&self, now_ms: f64) -> bool {
        self.challenge().is_some() && self.expires_in(now_ms) == 0
    }

    /// Whether the code field and its button are closed: the code is spent or has run out.
    pub fn code_closed(&self, now_ms: f64) -> bool {
        self.code_dead() || self.is_expired(now_ms)
    }

    /// Whether time changes what is shown (a countdown runs).
    pub fn ticking(&self) -> bool {
        self.step() == Step::Code || self.blocked_until_ms.is_some()
    }

    fn code_length(&self) -> usize {
        self.challenge()
            .map_or(otp_relay_shared::DEFAULT_CODE_LENGTH, |c| c.code_length)
    }

    fn ask(&mut self, busy: Busy, request: Request) -> Option<Effect> {
        self.busy = busy;
        self.last_request = Some(request.clone());
        Some(Effect::Ask(request))
    }

    /// Not inlined: a message is said from a score of places, and one copy of the code that
    /// replaces the last one keeps the download smaller.
    #[inline(never)]
    fn say(&mut self, tone: Tone, text: String, recovery: Recovery) {
        self.notice = Some(Notice {
            tone,
            text,
            recovery,
        });
    }

    fn say_slot(&mut self, tone: Tone, slot: Slot, recovery: Recovery) {
        let text = self.words.text(slot).to_string();
        self.say(tone, text, recovery);
    }

    fn request_code_for(&mut self, email: String) -> Option<Effect> {
        self.notice = None;
        self.pay(
            Busy::Sending,
            Request::Send(CreateChallengeRequest {
                email,
                lang: None,
                pow: None,
                link: self.link_page.clone(),
            }),
        )
    }

    /// The code can no longer be used.
    fn close_code(&mut self) {
        if let Stage::Code { dead, .. } = &mut self.stage {
            *dead = true;
        }
        self.code_input.clear();
    }

    /// A code was sent (or sent again): the code stage, open, with this challenge.
    fn code_sent(&mut self, challenge: ChallengeInfo) {
        self.busy = Busy::Idle;
        self.email_input = challenge.email.clone();
        self.stage = Stage::Code {
            challenge,
            dead: false,
        };
        self.focus = Some(Focus::CodeField);
    }

    /// A fresh flow with `prefill` in the address field, for the same site (its link setting).
    fn start_over(&mut self, prefill: &str) {
        let link_page = self.link_page.take();
        *self = Flow::speaking(prefill, self.words);
        self.link_page = link_page;
    }

    /// Applies an action at time `now_ms`; returns what the component must do, if anything.
    pub fn update(&mut self, action: Action, now_ms: f64) -> Option<Effect> {
        match action {
            Action::EmailInput(text) => {
                self.email_input = text;
                if let Stage::Email { error } = &mut self.stage {
                    *error = None;
                }
                None
            }
            Action::SubmitEmail => {
                if self.busy != Busy::Idle || self.step() != Step::Email {
                    return None;
                }
                if let Some(reason) = self.refused.clone() {
                    self.say(Tone::Error, reason, Recovery::None);
                    self.focus = Some(Focus::Notice);
                    return None;
                }
                if self.blocked_in(now_ms) > 0 {
                    self.focus = Some(Focus::Notice);
                    return None;
                }
                match EmailAddress::parse(&self.email_input) {
                    Ok(email) => self.request_code_for(email.to_string()),
                    Err(problem) => {
                        self.stage = Stage::Email {
                            error: Some(address_refusal(self.words, &problem)),
                        };
                        self.focus = Some(Focus::EmailField);
                        None
                    }
                }
            }
            Action::CodeInput(text) => {
                if self.step() != Step::Code || self.code_dead() {
                    return None;
                }
                let length = self.code_length();
                let normalized = normalize_typed_code(&text);
                let digits: String = normalized.chars().filter(char::is_ascii_digit).collect();
                if digits.len() != normalized.chars().count() {
                    let text = self.words.say(words::UI_DIGITS_ONLY, &length.to_string());
                    self.say(Tone::Error, text, Recovery::None);
                } else if matches!(&self.notice, Some(n) if n.recovery == Recovery::None && n.tone == Tone::Error)
                {
                    self.notice = None;
                }
                self.code_input = digits.chars().take(length).collect();
                if self.code_input.len() == length {
                    self.submit_code()
                } else {
                    None
                }
            }
            Action::SubmitCode => {
                if self.code_input.len() != self.code_length() {
                    let length = self.code_length().to_string();
                    let text = self.words.say(words::UI_ENTER_ALL, &length);
                    self.say(Tone::Error, text, Recovery::None);
                    self.focus = Some(Focus::CodeField);
                    return None;
                }
                self.submit_code()
            }
            Action::Resend => {
                if !self.can_resend(now_ms) {
                    return None;
                }
                let challenge = self.challenge()?;
                let request = Request::Resend(ResendRequest {
                    challenge: challenge.token.clone(),
                    email: challenge.email.clone(),
                    lang: None,
                    pow: None,
                });
                self.notice = None;
                self.pay(Busy::Resending, request)
            }
            Action::NewCode => {
                if self.busy != Busy::Idle {
                    return None;
                }
                let email = self
                    .challenge()
                    .map(|c| c.email.clone())
                    .unwrap_or_else(|| self.email_input.clone());
                self.request_code_for(email)
            }
            Action::Retry => {
                if self.busy != Busy::Idle || self.blocked_in(now_ms) > 0 {
                    return None;
                }
                let request = self.last_request.clone()?;
                self.notice = None;
                self.pow_retries = 0;
                match request {
                    // A send pays again: its proof of work was spent.
                    Request::Send(_) => self.pay(Busy::Sending, request),
                    Request::Resend(_) => self.pay(Busy::Resending, request),
                    Request::Verify(_) => self.ask(Busy::Verifying, request),
                }
            }
            Action::UseAnotherAddress => {
                let email = self.email_input.clone();
                self.start_over(&email);
                self.focus = Some(Focus::EmailField);
                None
            }
            Action::Reset => {
                self.start_over("");
                None
            }
            Action::LinkOpened(link) => {
                if self.busy != Busy::Idle || self.step() == Step::Verified {
                    return None;
                }
                self.email_input = link.email.clone();
                self.notice = None;
                self.stage = Stage::Confirm(link);
                None
            }
            Action::Confirm => {
                let Stage::Confirm(link) = &self.stage else {
                    return None;
                };
                if self.busy != Busy::Idle {
                    return None;
                }
                let request = Request::Verify(VerifyRequest {
                    challenge: link.token.clone(),
                    email: link.email.clone(),
                    code: None,
                    link: Some(link.secret.clone()),
                    page: Some(link.page.clone()),
                    lang: None,
                });
                self.notice = None;
                self.ask(Busy::Verifying, request)
            }
            Action::VerifiedElsewhere(token, proof) => {
                if self.challenge().is_none_or(|c| c.token != token) {
                    return None;
                }
                self.update(Action::Verified(proof), now_ms)
            }
            Action::PowSolved(generation, solution) => {
                if generation != self.pow_generation {
                    return None;
                }
                self.pow = Pow::Ready(solution);
                let request = self.waiting.take()?;
                let busy = self.busy;
                self.pay(busy, request)
            }
            Action::PowUnavailable(generation) => {
                if generation != self.pow_generation {
                    return None;
                }
                self.pow = Pow::Unavailable;
                let request = self.waiting.take()?;
                let busy = self.busy;
                self.pay(busy, request)
            }
            Action::Refused(reason) => {
                self.say(Tone::Error, reason.clone(), Recovery::None);
                self.refused = Some(reason.clone());
                Some(Effect::ReportError {
                    code: ErrorCode::OriginNotAllowed.as_str().to_string(),
                    message: reason,
                })
            }
            Action::SubmissionHeld => {
                let (slot, focus) = match self.step() {
                    Step::Verified | Step::Confirm => return None,
                    Step::Email => (words::UI_FIRST_EMAIL, Focus::EmailField),
                    Step::Code => (words::UI_FIRST_CODE, Focus::CodeField),
                };
                self.say_slot(Tone::Error, slot, Recovery::None);
                self.focus = Some(focus);
                None
            }
            Action::Issued(challenge) => {
                self.pow_retries = 0;
                self.code_input.clear();
                self.last_submitted = None;
                self.blocked_until_ms = None;
                self.say_slot(Tone::Info, words::UI_CHECK_INBOX, Recovery::None);
                self.code_sent(challenge);
                None
            }
            Action::Resent(challenge) => {
                self.pow_retries = 0;
                let text = self.words.say(words::UI_SENT_AGAIN, &challenge.email);
                self.say(Tone::Info, text, Recovery::None);
                self.code_sent(challenge);
                None
            }
            Action::Verified(proof) => {
                self.busy = Busy::Idle;
                self.notice = None;
                self.stage = Stage::Verified(proof.clone());
                self.focus = Some(Focus::Success);
                Some(Effect::Announce(proof))
            }
            Action::Failed(failure) => self.fail(failure, now_ms),
        }
    }

    fn submit_code(&mut self) -> Option<Effect> {
        if self.busy != Busy::Idle || self.code_dead() {
            return None;
        }
        if self.last_submitted.as_deref() == Some(self.code_input.as_str()) {
            return None;
        }
        let challenge = self.challenge()?;
        let request = Request::Verify(VerifyRequest {
            challenge: challenge.token.clone(),
            email: challenge.email.clone(),
            code: Some(self.code_input.clone()),
            link: None,
            page: None,
            lang: None,
        });
        self.last_submitted = Some(self.code_input.clone());
        self.notice = None;
        self.ask(Busy::Verifying, request)
    }

    fn fail(&mut self, failure: Failure, now_ms: f64) -> Option<Effect> {
        let was = self.busy;
        self.busy = Busy::Idle;
        // A failed check may be repeated with the same code (e.g. after a network error).
        self.last_submitted = None;
        let error = match failure {
            Failure::Unreachable => {
                let text = self.words.text(words::UI_UNREACHABLE);
                self.say(Tone::Error, text.to_string(), Recovery::Retry);
                self.focus = Some(Focus::Notice);
                return Some(Effect::ReportError {
                    code: "unreachable".into(),
                    message: text.into(),
                });
            }
            Failure::Refused(error) => error,
        };
        // The relay wants a proof of work (none, or a harder one): solve the one it handed
        // over and send again, without the person, a few times in a row.
        if error.code == ErrorCode::PowRequired
            && self.pow_retries < POW_RETRIES
            && let (Some(challenge), Some(request)) = (error.pow.clone(), self.last_request.clone())
        {
            self.pow_retries += 1;
            self.busy = was;
            self.waiting = Some(request);
            self.start_pow(Some(challenge));
            return None;
        }
        let report = Some(Effect::ReportError {
            code: error.code.as_str().to_string(),
            message: error.message.clone(),
        });
        // What the person reads is the relay's sentence: it words it in the flow's language.
        let message = error.message;
        self.focus = Some(Focus::Notice);
        match error.code {
            ErrorCode::InvalidEmail if self.step() == Step::Email => {
                self.stage = Stage::Email {
                    error: Some(message),
                };
                self.focus = Some(Focus::EmailField);
            }
            ErrorCode::WrongCode => {
                let left = error.attempts_left.unwrap_or(0);
                if let Stage::Code { challenge, .. } = &mut self.stage {
                    challenge.attempts_left = left;
                }
                self.code_input.clear();
                if left == 0 {
                    self.close_code();
                    self.say(Tone::Error, message, Recovery::NewCode);
                } else {
                    self.say(Tone::Error, message, Recovery::None);
                    self.focus = Some(Focus::CodeField);
                }
            }
            code if code.needs_new_code() => {
                self.close_code();
                if let Some(seconds) = error.retry_after {
                    self.blocked_until_ms = Some(now_ms + seconds as f64 * 1000.0);
                }
                self.say(Tone::Error, message, Recovery::NewCode);
            }
            ErrorCode::RateLimited => {
                let seconds = error.retry_after.unwrap_or(30);
                self.blocked_until_ms = Some(now_ms + seconds as f64 * 1000.0);
                let recovery = if was == Busy::Resending {
                    Recovery::None
                } else {
                    Recovery::Retry
                };
                self.say(Tone::Error, message, recovery);
            }
            ErrorCode::OriginNotAllowed => {
                self.refused = Some(message.clone());
                self.say(Tone::Error, message, Recovery::None);
            }
            ErrorCode::InvalidCodeFormat => {
                self.code_input.clear();
                self.say(Tone::Error, message, Recovery::None);
                self.focus = Some(Focus::CodeField);
            }
            _ => {
                self.say(Tone::Error, message, Recovery::Retry);
            }
        }
        report
    }
}

/// Puts the proof of work into a send or resend.
fn set_pow(request: &mut Request, solution: Option<String>) {
    match request {
        Request::Send(CreateChallengeRequest { pow, .. })
        | Request::Resend(ResendRequest { pow, .. }) => *pow = solution,
        Request::Verify(_) => {}
    }
}

mod shown;
#[cfg(test)]
mod tests;
