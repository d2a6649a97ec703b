//! The verification flow as a pure state machine: what the person sees and may do at each step,
//! and which request to make next. No browser types, no clock of its own (time comes in as
//! milliseconds since the epoch), so every transition is tested natively.

use crate::words::{self, Words};
use otp_relay_shared::code::normalize_typed_code;
use otp_relay_shared::{EmailAddress, EmailError, ErrorCode, Lang};

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

/// Why a request failed, as the flow needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The relay answered with an API error.
    Api {
        code: ErrorCode,
        message: String,
        attempts_left: Option<u32>,
        retry_after: Option<u64>,
    },
    /// No answer: network down, relay stopped, CORS refused before any response.
    Unreachable,
}

/// A request the component must make; its outcome comes back as an [`Action`].
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    RequestCode {
        email: String,
    },
    Resend {
        challenge: String,
        email: String,
    },
    Verify {
        challenge: String,
        email: String,
        code: String,
    },
    /// Not a request: hand the proof to the page.
    Announce(VerifiedProof),
    /// Not a request: tell the page an error happened (for embedding sites).
    ReportError {
        code: String,
        message: String,
    },
}

/// Where the person is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Email,
    Code,
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
    /// The page's form was submitted before the address was verified.
    SubmissionHeld,
    /// The relay does not serve this page's origin: nothing can work here.
    Refused(String),
    Issued(ChallengeInfo),
    Resent(ChallengeInfo),
    Verified(VerifiedProof),
    Failed(Failure),
}

/// The state of one verification widget.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub step: Step,
    pub busy: Busy,
    pub email_input: String,
    /// Shown beside the address field.
    pub email_error: Option<String>,
    pub challenge: Option<ChallengeInfo>,
    pub code_input: String,
    /// Shown beside the code field and read out by screen readers.
    pub notice: Option<Notice>,
    /// The code cannot be used any more; only a new code helps.
    pub code_dead: bool,
    /// Until when requests are refused (rate limited), ms.
    pub blocked_until_ms: Option<f64>,
    pub verified: Option<VerifiedProof>,
    /// Where focus goes after the next render (taken by the component).
    pub focus: Option<Focus>,
    /// The request to repeat on `Retry`.
    last_request: Option<Effect>,
    /// The code last sent for checking: never sent twice in a row.
    last_submitted: Option<String>,
    /// Why this page cannot use the relay at all, if it cannot.
    pub refused: Option<String>,
    /// The messages, in the language the flow speaks.
    pub words: Words,
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

/// Why a typed address is refused, before anything is sent, in the flow's language (the same
/// messages as `EmailError::message` names, numbered for the wasm).
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
            step: Step::Email,
            busy: Busy::Idle,
            email_input: prefill.to_string(),
            email_error: None,
            challenge: None,
            code_input: String::new(),
            notice: None,
            code_dead: false,
            blocked_until_ms: None,
            verified: None,
            focus: None,
            last_request: None,
            last_submitted: None,
            refused: None,
        }
    }

    /// Seconds until the code expires.
    pub fn expires_in(&self, now_ms: f64) -> u64 {
        self.challenge
            .as_ref()
            .map_or(0, |c| seconds_until(c.expires_at_ms, now_ms))
    }

    /// Seconds until a resend is allowed (0: now).
    pub fn resend_in(&self, now_ms: f64) -> u64 {
        let resend = self
            .challenge
            .as_ref()
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
        self.step == Step::Code
            && self.busy == Busy::Idle
            && !self.code_dead
            && self.expires_in(now_ms) > 0
            && self.challenge.as_ref().is_some_and(|c| c.sends_left > 0)
            && self.resend_in(now_ms) == 0
    }

    /// Whether the code has run out on the person's clock (the relay has the last word).
    pub fn is_expired(&self, now_ms: f64) -> bool {
        self.step == Step::Code && self.challenge.is_some() && self.expires_in(now_ms) == 0
    }

    fn code_length(&self) -> usize {
        self.challenge
            .as_ref()
            .map_or(otp_relay_shared::DEFAULT_CODE_LENGTH, |c| c.code_length)
    }

    fn request(&mut self, busy: Busy, effect: Effect) -> Option<Effect> {
        self.busy = busy;
        self.last_request = Some(effect.clone());
        Some(effect)
    }

    fn say(&mut self, tone: Tone, text: impl Into<String>, recovery: Recovery) {
        self.notice = Some(Notice {
            tone,
            text: text.into(),
            recovery,
        });
    }

    fn request_code_for(&mut self, email: String) -> Option<Effect> {
        self.notice = None;
        self.request(Busy::Sending, Effect::RequestCode { email })
    }

    /// Applies an action at time `now_ms`; returns the request to make, if any.
    pub fn update(&mut self, action: Action, now_ms: f64) -> Option<Effect> {
        match action {
            Action::EmailInput(text) => {
                self.email_input = text;
                self.email_error = None;
                None
            }
            Action::SubmitEmail => {
                if self.busy != Busy::Idle {
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
                    Err(error) => {
                        self.email_error = Some(address_refusal(self.words, &error));
                        self.focus = Some(Focus::EmailField);
                        None
                    }
                }
            }
            Action::CodeInput(text) => {
                if self.step != Step::Code || self.code_dead {
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
                    self.submit_code(now_ms)
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
                self.submit_code(now_ms)
            }
            Action::Resend => {
                if !self.can_resend(now_ms) {
                    return None;
                }
                let challenge = self.challenge.as_ref()?;
                let effect = Effect::Resend {
                    challenge: challenge.token.clone(),
                    email: challenge.email.clone(),
                };
                self.notice = None;
                self.request(Busy::Resending, effect)
            }
            Action::NewCode => {
                if self.busy != Busy::Idle {
                    return None;
                }
                let email = self
                    .challenge
                    .as_ref()
                    .map(|c| c.email.clone())
                    .unwrap_or_else(|| self.email_input.clone());
                self.request_code_for(email)
            }
            Action::Retry => {
                if self.busy != Busy::Idle || self.blocked_in(now_ms) > 0 {
                    return None;
                }
                let effect = self.last_request.clone()?;
                let busy = match effect {
                    Effect::RequestCode { .. } => Busy::Sending,
                    Effect::Resend { .. } => Busy::Resending,
                    Effect::Verify { .. } => Busy::Verifying,
                    Effect::Announce(_) | Effect::ReportError { .. } => return None,
                };
                self.notice = None;
                self.request(busy, effect)
            }
            Action::UseAnotherAddress => {
                let email = self.email_input.clone();
                *self = Flow::speaking(&email, self.words);
                self.focus = Some(Focus::EmailField);
                None
            }
            Action::Reset => {
                *self = Flow::speaking("", self.words);
                None
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
                if self.step != Step::Verified {
                    let slot = match self.step {
                        Step::Email => words::UI_FIRST_EMAIL,
                        _ => words::UI_FIRST_CODE,
                    };
                    let text = self.words.text(slot);
                    self.say(Tone::Error, text, Recovery::None);
                    self.focus = Some(match self.step {
                        Step::Email => Focus::EmailField,
                        _ => Focus::CodeField,
                    });
                }
                None
            }
            Action::Issued(challenge) => {
                self.busy = Busy::Idle;
                self.step = Step::Code;
                self.email_input = challenge.email.clone();
                self.code_input.clear();
                self.code_dead = false;
                self.last_submitted = None;
                self.blocked_until_ms = None;
                let text = self.words.text(words::UI_CHECK_INBOX);
                self.say(Tone::Info, text, Recovery::None);
                self.challenge = Some(challenge);
                self.focus = Some(Focus::CodeField);
                None
            }
            Action::Resent(challenge) => {
                self.busy = Busy::Idle;
                let text = self.words.say(words::UI_SENT_AGAIN, &challenge.email);
                self.say(Tone::Info, text, Recovery::None);
                self.challenge = Some(challenge);
                self.focus = Some(Focus::CodeField);
                None
            }
            Action::Verified(proof) => {
                self.busy = Busy::Idle;
                self.step = Step::Verified;
                self.notice = None;
                self.verified = Some(proof.clone());
                self.focus = Some(Focus::Success);
                Some(Effect::Announce(proof))
            }
            Action::Failed(failure) => self.fail(failure, now_ms),
        }
    }

    /// A refusal as the person reads it: the relay's sentence when the flow speaks English (it
    /// says most), else the sentence this language has for the error's code.
    fn refusal(&self, code: ErrorCode, message: &str, retry_after: Option<u64>) -> String {
        if self.words.lang == Lang::En {
            return message.to_string();
        }
        let slot = match code {
            ErrorCode::InvalidEmail => words::ERROR_INVALID_EMAIL,
            ErrorCode::InvalidCodeFormat => words::ERROR_INVALID_CODE_FORMAT,
            ErrorCode::InvalidChallenge => words::ERROR_INVALID_CHALLENGE,
            ErrorCode::Expired => words::ERROR_EXPIRED,
            ErrorCode::AlreadyUsed => words::ERROR_ALREADY_USED,
            ErrorCode::TooManyAttempts => words::ERROR_TOO_MANY_ATTEMPTS,
            ErrorCode::RateLimited => words::ERROR_RATE_LIMITED,
            ErrorCode::OriginNotAllowed => words::ERROR_ORIGIN_NOT_ALLOWED,
            ErrorCode::DeliveryFailed => words::ERROR_DELIVERY_FAILED,
            ErrorCode::Unavailable => words::ERROR_UNAVAILABLE,
            _ => words::ERROR_OTHER,
        };
        let wait = clock(retry_after.unwrap_or(30));
        self.words.say(slot, &wait)
    }

    fn submit_code(&mut self, _now_ms: f64) -> Option<Effect> {
        if self.busy != Busy::Idle || self.code_dead {
            return None;
        }
        if self.last_submitted.as_deref() == Some(self.code_input.as_str()) {
            return None;
        }
        let challenge = self.challenge.as_ref()?;
        let effect = Effect::Verify {
            challenge: challenge.token.clone(),
            email: challenge.email.clone(),
            code: self.code_input.clone(),
        };
        self.last_submitted = Some(self.code_input.clone());
        self.notice = None;
        self.request(Busy::Verifying, effect)
    }

    fn fail(&mut self, failure: Failure, now_ms: f64) -> Option<Effect> {
        let was = self.busy;
        self.busy = Busy::Idle;
        // A failed check may be repeated with the same code (e.g. after a network error).
        self.last_submitted = None;
        let (code, message, attempts_left, retry_after) = match failure {
            Failure::Unreachable => {
                let text = self.words.text(words::UI_UNREACHABLE);
                self.say(Tone::Error, text, Recovery::Retry);
                self.focus = Some(Focus::Notice);
                return Some(Effect::ReportError {
                    code: "unreachable".into(),
                    message: "The verification service cannot be reached.".into(),
                });
            }
            Failure::Api {
                code,
                message,
                attempts_left,
                retry_after,
            } => (code, message, attempts_left, retry_after),
        };
        let report = Some(Effect::ReportError {
            code: code.as_str().to_string(),
            message: message.clone(),
        });
        // What the person reads: the relay's own sentence in English, else this language's.
        let message = self.refusal(code, &message, retry_after);
        self.focus = Some(Focus::Notice);
        match code {
            ErrorCode::InvalidEmail if self.step == Step::Email => {
                self.email_error = Some(message);
                self.focus = Some(Focus::EmailField);
            }
            ErrorCode::WrongCode => {
                let left = attempts_left.unwrap_or(0);
                if let Some(challenge) = self.challenge.as_mut() {
                    challenge.attempts_left = left;
                }
                self.code_input.clear();
                if left == 0 {
                    self.code_dead = true;
                    let text = self.words.text(words::UI_NO_ATTEMPTS);
                    self.say(Tone::Error, text, Recovery::NewCode);
                } else {
                    let text = self.words.count(words::UI_WRONG, u64::from(left));
                    self.say(Tone::Error, text, Recovery::None);
                    self.focus = Some(Focus::CodeField);
                }
            }
            code if code.needs_new_code() => {
                self.code_dead = true;
                self.code_input.clear();
                if let Some(seconds) = retry_after {
                    self.blocked_until_ms = Some(now_ms + seconds as f64 * 1000.0);
                }
                self.say(Tone::Error, message, Recovery::NewCode);
            }
            ErrorCode::RateLimited => {
                let seconds = retry_after.unwrap_or(30);
                self.blocked_until_ms = Some(now_ms + seconds as f64 * 1000.0);
                let recovery = if was == Busy::Resending {
                    Recovery::None
                } else {
                    Recovery::Retry
                };
                self.say(Tone::Error, message, recovery);
            }
            ErrorCode::DeliveryFailed | ErrorCode::Unavailable | ErrorCode::Internal => {
                self.say(Tone::Error, message, Recovery::Retry);
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

#[cfg(test)]
mod tests;
