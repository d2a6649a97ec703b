//! `otp-relay verify`: the terminal client. It asks a relay for a code, reads the code the person
//! types (or a script pipes in), and says plainly what happened. Typos are explained and asked
//! again without using an attempt; everything the relay refuses ends with a message and its own
//! exit code (see [`Outcome`]).

use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ErrorResponse, ResendRequest, VerifyRequest,
    VerifyResponse,
};
use otp_relay_shared::code::normalize_typed_code;
use otp_relay_shared::{Code, EmailAddress, ErrorCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// How `verify` ends; the discriminant is the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Verified = 0,
    /// The address or an argument was not usable, or the input ended first.
    InvalidInput = 2,
    /// Every attempt was used on wrong codes.
    WrongCode = 3,
    Expired = 4,
    DeliveryFailed = 5,
    /// No answer from the relay, or it cannot reach its store.
    Unreachable = 6,
    /// Anything else the relay refused (rate limit, origin, used challenge).
    Refused = 7,
}

impl Outcome {
    /// The process exit code.
    pub fn code(self) -> u8 {
        self as u8
    }
}

/// What `verify` was asked to do.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub relay: String,
    pub email: Option<String>,
    pub print_proof: bool,
}

/// An answer from the relay, or none.
enum Reply<T> {
    Ok(T),
    Error {
        /// `None` for a code this client does not know (a newer relay) or a body that is not the
        /// API's error.
        code: Option<ErrorCode>,
        message: String,
        attempts_left: Option<u32>,
    },
    Unreachable(String),
}

/// The relay's HTTP API, as this client calls it.
struct RelayApi {
    http: reqwest::Client,
    base: String,
}

impl RelayApi {
    async fn post<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Reply<T> {
        let response = match self
            .http
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => return Reply::Unreachable(error.to_string()),
        };
        let status = response.status();
        let bytes = match response.bytes().await {
            Ok(bytes) => bytes,
            Err(error) => return Reply::Unreachable(error.to_string()),
        };
        if status.is_success() {
            return match serde_json::from_slice::<T>(&bytes) {
                Ok(body) => Reply::Ok(body),
                Err(error) => Reply::Error {
                    code: None,
                    message: format!(
                        "The relay's answer was not understood ({error}). Is --relay the relay's URL?"
                    ),
                    attempts_left: None,
                },
            };
        }
        match serde_json::from_slice::<ErrorResponse>(&bytes) {
            Ok(ErrorResponse { error }) => Reply::Error {
                code: Some(error.code),
                message: error.message,
                attempts_left: error.attempts_left,
            },
            Err(_) => Reply::Error {
                code: None,
                message: format!("The relay answered {status}."),
                attempts_left: None,
            },
        }
    }
}

/// Reads lines from stdin; prompts only when a person is there to see them.
struct Input {
    lines: std::io::Lines<std::io::StdinLock<'static>>,
    interactive: bool,
}

impl Input {
    fn ask(&mut self, prompt: &str) -> Option<String> {
        if self.interactive {
            eprint!("{prompt}");
            let _ = std::io::stderr().flush();
        }
        match self.lines.next() {
            Some(Ok(line)) => Some(line),
            _ => None,
        }
    }
}

fn say(text: &str) {
    eprintln!("{text}");
}

fn parse_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).ok()
}

/// Whole seconds from now until `at`, rounded up.
fn seconds_until(at: Option<OffsetDateTime>) -> i64 {
    at.map_or(0, |at| {
        (at - OffsetDateTime::now_utc()).as_seconds_f64().ceil() as i64
    })
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// What a refusal means for the exit code, after saying it.
fn end_with(code: Option<ErrorCode>, message: &str) -> Outcome {
    say(message);
    match code {
        Some(ErrorCode::TooManyAttempts | ErrorCode::WrongCode) => Outcome::WrongCode,
        Some(ErrorCode::Expired | ErrorCode::InvalidChallenge) => Outcome::Expired,
        Some(ErrorCode::DeliveryFailed) => Outcome::DeliveryFailed,
        Some(ErrorCode::Unavailable) => Outcome::Unreachable,
        Some(ErrorCode::InvalidEmail | ErrorCode::InvalidRequest) => Outcome::InvalidInput,
        _ => Outcome::Refused,
    }
}

fn unreachable(relay: &str, detail: &str) -> Outcome {
    say(&format!(
        "Cannot reach the relay at {relay} ({detail}). Check that it is running, or pass --relay URL."
    ));
    Outcome::Unreachable
}

/// Runs the whole exchange.
pub async fn verify(options: VerifyOptions) -> Outcome {
    let mut input = Input {
        lines: std::io::stdin().lock().lines(),
        interactive: std::io::stdin().is_terminal(),
    };
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
    {
        Ok(http) => http,
        Err(error) => return unreachable(&options.relay, &error.to_string()),
    };
    let api = RelayApi {
        http,
        base: options.relay.trim_end_matches('/').to_string(),
    };

    // The address: from --email, or asked (again, while a person types one that is not valid).
    let mut typed = options.email.clone();
    let (email, challenge) = loop {
        let raw = match typed.take() {
            Some(raw) => raw,
            None => match input.ask("Email address: ") {
                Some(line) => line,
                None => {
                    say("No email address was given.");
                    return Outcome::InvalidInput;
                }
            },
        };
        let email = match EmailAddress::parse(&raw) {
            Ok(email) => email,
            Err(error) if input.interactive && options.email.is_none() => {
                say(&error.to_string());
                continue;
            }
            Err(error) => {
                say(&error.to_string());
                return Outcome::InvalidInput;
            }
        };
        let request = CreateChallengeRequest {
            email: email.to_string(),
        };
        match api
            .post::<ChallengeResponse>("/api/v1/challenges", &request)
            .await
        {
            Reply::Ok(body) => break (email, body),
            Reply::Unreachable(detail) => return unreachable(&options.relay, &detail),
            Reply::Error {
                code: Some(ErrorCode::InvalidEmail),
                message,
                ..
            } if input.interactive && options.email.is_none() => {
                say(&message);
            }
            Reply::Error { code, message, .. } => return end_with(code, &message),
        }
    };

    let token = challenge.challenge.clone();
    let code_length = challenge.code_length;
    let expires_at = parse_time(&challenge.expires_at);
    let mut attempts_left = u64::from(challenge.attempts_left);
    let lifetime = seconds_until(expires_at).max(0) as u64;
    let lifetime = if lifetime >= 60 {
        plural(lifetime.div_ceil(60), "minute", "minutes")
    } else {
        plural(lifetime, "second", "seconds")
    };
    say(&format!(
        "We sent a {code_length}-digit code to {email}. It expires in {lifetime}."
    ));
    if input.interactive {
        say("Type the code from the email, or r and Enter to have it sent again.");
    }

    while attempts_left > 0 {
        let Some(line) = input.ask("Code: ") else {
            say("The input ended before a code was entered.");
            return Outcome::InvalidInput;
        };
        let trimmed = line.trim();
        if trimmed.eq_ignore_ascii_case("r") {
            // The relay decides when a resend is due (its clock, not this machine's, counts) and
            // says how long to wait when it is too early.
            let request = ResendRequest {
                challenge: token.clone(),
                email: email.to_string(),
            };
            match api
                .post::<ChallengeResponse>("/api/v1/challenges/resend", &request)
                .await
            {
                Reply::Ok(body) => {
                    let left = u64::from(body.sends_left);
                    say(&format!(
                        "We sent the code to {email} again (the first email's code works too; {} left).",
                        plural(left, "resend", "resends")
                    ));
                }
                Reply::Unreachable(detail) => return unreachable(&options.relay, &detail),
                Reply::Error {
                    code: Some(ErrorCode::RateLimited | ErrorCode::DeliveryFailed),
                    message,
                    ..
                } => {
                    say(&message);
                }
                Reply::Error { code, message, .. } => return end_with(code, &message),
            }
            continue;
        }
        let typed_code = normalize_typed_code(trimmed);
        let code = match Code::parse(&typed_code, code_length) {
            Ok(code) => code,
            Err(error) => {
                say(&format!("{error} No attempt was used."));
                continue;
            }
        };
        let request = VerifyRequest {
            challenge: token.clone(),
            email: email.to_string(),
            code: code.as_str().to_string(),
        };
        match api
            .post::<VerifyResponse>("/api/v1/challenges/verify", &request)
            .await
        {
            Reply::Ok(body) => {
                let proof = body.proof;
                if options.print_proof {
                    say(&format!("Verified: {email} controls this address."));
                    println!("{proof}");
                } else {
                    println!("Verified: {email} controls this address.");
                }
                return Outcome::Verified;
            }
            Reply::Unreachable(detail) => return unreachable(&options.relay, &detail),
            Reply::Error {
                code: Some(ErrorCode::WrongCode),
                attempts_left: left,
                ..
            } => {
                attempts_left = u64::from(left.unwrap_or(0));
                if attempts_left > 0 {
                    say(&format!(
                        "That code is not right. {} left.",
                        plural(attempts_left, "attempt", "attempts")
                    ));
                }
            }
            Reply::Error {
                code: Some(ErrorCode::InvalidCodeFormat),
                message,
                ..
            } => say(&message),
            Reply::Error { code, message, .. } => return end_with(code, &message),
        }
    }
    say("That code is not right, and no attempts are left. Run again to get a new code.");
    Outcome::WrongCode
}
