//! `otp-relay verify`: the terminal client. It asks a relay for a code, reads the code the person
//! types (or a script pipes in), and says plainly what happened. Typos are explained and asked
//! again without using an attempt; everything the relay refuses ends with a message and its own
//! exit code (see [`Outcome`]). It speaks the person's language ([`VerifyOptions::lang`]: `--lang`,
//! else the locale) and asks the relay to write the email in it too. Each send pays the relay's
//! proof of work, solved here with native SHA-256.

use otp_relay_shared::api::{
    ChallengeResponse, CreateChallengeRequest, ErrorDetail, ErrorResponse, ResendRequest,
    VerifyRequest, VerifyResponse,
};
use otp_relay_shared::code::normalize_typed_code;
use otp_relay_shared::pow::PowChallenge;
use otp_relay_shared::{Catalogue, Code, EmailAddress, ErrorCode, Lang};
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
    /// Extra CA certificates (PEM) for an `https://` relay.
    pub ca: Option<std::path::PathBuf>,
    pub email: Option<String>,
    pub print_proof: bool,
    pub lang: Lang,
}

/// The language of the terminal: `LANGUAGE` (a list), `LC_ALL`, `LC_MESSAGES`, then `LANG`, as
/// gettext reads them; `C`, `POSIX` and unset are none.
pub fn locale_lang(var: impl Fn(&str) -> Option<String>) -> Option<Lang> {
    ["LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| var(name))
        .filter(|value| !value.is_empty() && value != "C" && value != "POSIX")
        .find_map(|value| Lang::first_of(value.split(':')))
}

/// The certificates of a PEM file given with `--ca`, or a sentence saying what is wrong with it.
fn trusted_certificates(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path)
        .map_err(|error| format!("--ca {}: cannot be read ({error})", path.display()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default();
    if certificates.is_empty() {
        return Err(format!(
            "--ca {}: holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        ));
    }
    Ok(certificates)
}

/// An answer from the relay, or none.
enum Reply<T> {
    Ok(T),
    /// The relay refused: the API's error, its `message` in the client's language.
    Refused(ErrorDetail),
    /// An answer that is not the relay's API (a proxy's page, another service): what to say.
    NotUnderstood(String),
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
                Err(error) => Reply::NotUnderstood(format!(
                    "The relay's answer was not understood ({error}). Is --relay the relay's URL?"
                )),
            };
        }
        match serde_json::from_slice::<ErrorResponse>(&bytes) {
            Ok(ErrorResponse { error }) => Reply::Refused(error),
            Err(_) => Reply::NotUnderstood(format!("The relay answered {status}.")),
        }
    }

    /// A proof-of-work challenge from `GET /api/v1/pow`; `None` from a relay that has no such
    /// endpoint (the send then goes without, and a relay that wants one says so).
    async fn pow_challenge(&self) -> Result<Option<PowChallenge>, String> {
        let response = self
            .http
            .get(format!("{}/api/v1/pow", self.base))
            .send()
            .await
            .map_err(|error| error.to_string())?;
        if !response.status().is_success() {
            return Ok(None);
        }
        Ok(response.json::<PowChallenge>().await.ok())
    }

    /// A send (the first or again), paid for with a proof of work: a challenge is fetched and
    /// solved first; when the relay asks for a harder one (`pow_required`), that one is solved
    /// and the send tried again.
    async fn post_paid<T: DeserializeOwned, R: Serialize>(
        &self,
        path: &str,
        words: &Words,
        mut request: R,
        pay: impl Fn(&mut R, String),
    ) -> Reply<T> {
        let mut challenge = match self.pow_challenge().await {
            Ok(challenge) => challenge,
            Err(detail) => return Reply::Unreachable(detail),
        };
        for _ in 0..3 {
            if let Some(challenge) = challenge.take() {
                match solve_pow(challenge, words).await {
                    Some(solution) => pay(&mut request, solution),
                    None => {
                        return Reply::NotUnderstood(
                            "The relay's proof of work could not be solved.".into(),
                        );
                    }
                }
            }
            match self.post::<T>(path, &request).await {
                Reply::Refused(error)
                    if error.code == ErrorCode::PowRequired && error.pow.is_some() =>
                {
                    challenge = error.pow;
                }
                reply => return reply,
            }
        }
        self.post::<T>(path, &request).await
    }
}

/// `otp-relay pow`: a challenge from the relay at `relay`, solved: the `pow` a send carries.
pub async fn solved_pow(relay: &str) -> Result<String, String> {
    let api = RelayApi {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|error| error.to_string())?,
        base: relay.trim_end_matches('/').to_string(),
    };
    let challenge = api
        .pow_challenge()
        .await?
        .ok_or_else(|| format!("{relay} offers no proof of work (GET /api/v1/pow)"))?;
    let words = Words {
        catalogue: Catalogue::builtin(
            locale_lang(|name| std::env::var(name).ok()).unwrap_or(Lang::En),
        ),
    };
    solve_pow(challenge, &words)
        .await
        .ok_or_else(|| "the relay's proof of work could not be solved".to_string())
}

/// Solves a proof of work on a thread of its own (native SHA-256), saying so on stderr when it
/// takes more than a second; the `pow` to send, base64 of the solution as JSON.
async fn solve_pow(challenge: PowChallenge, words: &Words) -> Option<String> {
    solve_noticed(challenge, Duration::from_secs(1), || {
        say(&words.text("cli.pow_slow", &[]));
    })
    .await
}

/// Solves `challenge`, calling `notice` once if it takes longer than `after`; the `pow`.
async fn solve_noticed(
    challenge: PowChallenge,
    after: Duration,
    notice: impl FnOnce(),
) -> Option<String> {
    use base64::Engine;
    let mut solving = tokio::task::spawn_blocking(move || {
        let number = otp_relay_shared::pow::solve(&challenge)?;
        serde_json::to_vec(&challenge.solution(number)).ok()
    });
    let solved = tokio::select! {
        solved = &mut solving => solved,
        () = tokio::time::sleep(after) => {
            notice();
            solving.await
        }
    };
    let json = solved.ok()??;
    Some(base64::engine::general_purpose::STANDARD.encode(json))
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

/// What the client says, in the person's language.
struct Words {
    catalogue: Catalogue,
}

impl Words {
    fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.catalogue.text(key, args)
    }

    fn plural(&self, key: &str, n: u64, args: &[(&str, &str)]) -> String {
        self.catalogue.plural(key, n, args)
    }
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

/// What a refusal means for the exit code, after saying it (the relay's sentence, in the
/// language the client asked for).
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

fn unreachable(words: &Words, relay: &str, detail: &str) -> Outcome {
    say(&words.text("cli.unreachable", &[("relay", relay), ("detail", detail)]));
    Outcome::Unreachable
}

/// Runs the whole exchange.
pub async fn verify(options: VerifyOptions) -> Outcome {
    let words = Words {
        catalogue: Catalogue::builtin(options.lang),
    };
    let mut input = Input {
        lines: std::io::stdin().lock().lines(),
        interactive: std::io::stdin().is_terminal(),
    };
    // The relay writes the email and its refusals in the language the client speaks: the
    // header for any request, the body's `lang` for the API's.
    let lang = options.lang.tag();
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::ACCEPT_LANGUAGE,
        reqwest::header::HeaderValue::from_static(lang),
    );
    let mut builder = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .default_headers(headers)
        .https_only(options.relay.starts_with("https://"));
    if let Some(path) = &options.ca {
        match trusted_certificates(path) {
            Ok(certificates) => {
                for certificate in certificates {
                    builder = builder.add_root_certificate(certificate);
                }
            }
            Err(error) => {
                say(&error);
                return Outcome::InvalidInput;
            }
        }
    }
    let http = match builder.build() {
        Ok(http) => http,
        Err(error) => return unreachable(&words, &options.relay, &error.to_string()),
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
            None => match input.ask(&format!("{} ", words.text("cli.email_prompt", &[]))) {
                Some(line) => line,
                None => {
                    say(&words.text("cli.no_email", &[]));
                    return Outcome::InvalidInput;
                }
            },
        };
        let email = match EmailAddress::parse(&raw) {
            Ok(email) => email,
            Err(error) if input.interactive && options.email.is_none() => {
                say(&words.catalogue.address_refusal(&error));
                continue;
            }
            Err(error) => {
                say(&words.catalogue.address_refusal(&error));
                return Outcome::InvalidInput;
            }
        };
        let request = CreateChallengeRequest {
            email: email.to_string(),
            lang: Some(lang.to_string()),
            pow: None,
            // The terminal has no page for a link to open: the person types the code.
            link: None,
        };
        match api
            .post_paid::<ChallengeResponse, _>(
                "/api/v1/challenges",
                &words,
                request,
                |request, pow| request.pow = Some(pow),
            )
            .await
        {
            Reply::Ok(body) => break (email, body),
            Reply::Unreachable(detail) => return unreachable(&words, &options.relay, &detail),
            Reply::Refused(error)
                if error.code == ErrorCode::InvalidEmail
                    && input.interactive
                    && options.email.is_none() =>
            {
                say(&error.message);
            }
            Reply::Refused(error) => return end_with(Some(error.code), &error.message),
            Reply::NotUnderstood(message) => return end_with(None, &message),
        }
    };

    let token = challenge.challenge.clone();
    let code_length = challenge.code_length;
    let expires_at = parse_time(&challenge.expires_at);
    let mut attempts_left = u64::from(challenge.attempts_left);
    let lifetime = seconds_until(expires_at).max(0) as u64;
    // Whole minutes once there is a minute or more: the seconds tick away while one reads.
    let lifetime = if lifetime >= 60 {
        words.catalogue.duration(lifetime.div_ceil(60) * 60)
    } else {
        words.catalogue.duration(lifetime)
    };
    let shown = email.to_string();
    say(&words.text(
        "cli.sent",
        &[
            ("length", &code_length.to_string()),
            ("email", &shown),
            ("time", &lifetime),
        ],
    ));
    if input.interactive {
        say(&words.text("cli.type_code", &[]));
    }

    while attempts_left > 0 {
        let Some(line) = input.ask(&format!("{} ", words.text("cli.code_prompt", &[]))) else {
            say(&words.text("cli.input_ended", &[]));
            return Outcome::InvalidInput;
        };
        let trimmed = line.trim();
        if trimmed.eq_ignore_ascii_case("r") {
            // The relay decides when a resend is due (its clock, not this machine's, counts) and
            // says how long to wait when it is too early.
            let request = ResendRequest {
                challenge: token.clone(),
                email: email.to_string(),
                lang: Some(lang.to_string()),
                pow: None,
            };
            match api
                .post_paid::<ChallengeResponse, _>(
                    "/api/v1/challenges/resend",
                    &words,
                    request,
                    |request, pow| request.pow = Some(pow),
                )
                .await
            {
                Reply::Ok(body) => {
                    let left = u64::from(body.sends_left);
                    say(&words.plural("cli.resent", left, &[("email", &shown)]));
                }
                Reply::Unreachable(detail) => {
                    return unreachable(&words, &options.relay, &detail);
                }
                Reply::Refused(error)
                    if matches!(
                        error.code,
                        ErrorCode::RateLimited | ErrorCode::DeliveryFailed
                    ) =>
                {
                    say(&error.message);
                }
                Reply::Refused(error) => return end_with(Some(error.code), &error.message),
                Reply::NotUnderstood(message) => return end_with(None, &message),
            }
            continue;
        }
        let typed_code = normalize_typed_code(trimmed);
        let code = match Code::parse(&typed_code, code_length) {
            Ok(code) => code,
            Err(_) => {
                let length = code_length.to_string();
                say(&format!(
                    "{} {}",
                    words.text("refusal.code_format", &[("length", &length)]),
                    words.text("cli.no_attempt_used", &[])
                ));
                continue;
            }
        };
        let request = VerifyRequest {
            challenge: token.clone(),
            email: email.to_string(),
            code: Some(code.as_str().to_string()),
            link: None,
            page: None,
            lang: Some(lang.to_string()),
        };
        match api
            .post::<VerifyResponse>("/api/v1/challenges/verify", &request)
            .await
        {
            Reply::Ok(body) => {
                let proof = body.proof;
                let verified = words.text("cli.verified", &[("email", &shown)]);
                if options.print_proof {
                    say(&verified);
                    println!("{proof}");
                } else {
                    println!("{verified}");
                }
                return Outcome::Verified;
            }
            Reply::Unreachable(detail) => return unreachable(&words, &options.relay, &detail),
            Reply::Refused(error) if error.code == ErrorCode::WrongCode => {
                attempts_left = u64::from(error.attempts_left.unwrap_or(0));
                // The last one ends the run, with the terminal's own way forward (below).
                if attempts_left > 0 {
                    say(&error.message);
                }
            }
            Reply::Refused(error) if error.code == ErrorCode::InvalidCodeFormat => {
                say(&error.message);
            }
            Reply::Refused(error) => return end_with(Some(error.code), &error.message),
            Reply::NotUnderstood(message) => return end_with(None, &message),
        }
    }
    say(&words.text("cli.no_attempts", &[]));
    Outcome::WrongCode
}

#[cfg(test)]
mod tests {
    use super::*;
    use otp_relay_shared::pow::{ALGORITHM, hash, to_hex};

    /// A challenge whose number is `number` (unsigned: the solver does not look).
    fn challenge(number: u64) -> PowChallenge {
        let salt = "00?expires=1&maxnumber=1&net=00&".to_string();
        PowChallenge {
            algorithm: ALGORITHM.into(),
            challenge: to_hex(&hash(&salt, number)),
            maxnumber: number,
            salt,
            signature: String::new(),
        }
    }

    #[tokio::test]
    async fn a_slow_solve_says_so_once_and_a_quick_one_says_nothing() {
        let mut said = 0;
        let pow = solve_noticed(challenge(200_000), Duration::ZERO, || said += 1).await;
        assert!(pow.is_some());
        assert_eq!(said, 1, "past the threshold: one line");
        let mut said = 0;
        let pow = solve_noticed(challenge(10), Duration::from_secs(60), || said += 1).await;
        assert!(pow.is_some());
        assert_eq!(said, 0, "within it: nothing");
    }
}
