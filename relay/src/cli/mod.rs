//! The `otp-relay` command line: `serve` ([`serve`]), `keygen`, `send-test` ([`send_test`]),
//! `verify`, the terminal client ([`verify`]), `pow` (a solved proof of work, for curl) and
//! `healthcheck` ([`healthcheck`], for images without a shell). Parsing and dispatch only; each command's work
//! lives in its module.

pub mod healthcheck;
pub mod send_test;
pub mod serve;
pub mod verify;

use crate::config::{ServeArgs, SmtpArgs};
use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Email one-time-code verification relay.
#[derive(Debug, Parser)]
#[command(name = "otp-relay", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (and, optionally, a built frontend).
    Serve(Box<ServeArgs>),
    /// Print a fresh random 32-byte secret, base64url: with `--kid ID` as `ID:secret`, ready for
    /// OTP_RELAY_SECRET (a challenge key) or OTP_RELAY_PROOF_KEYS (an Ed25519 proof key); with
    /// `--webhook`, a `whsec_` secret for OTP_RELAY_WEBHOOK_SECRET and the receiver.
    Keygen {
        /// The key id to put before the secret (1 to 16 of A-Z a-z 0-9 - _).
        #[arg(long, conflicts_with = "webhook")]
        kid: Option<String>,
        /// A webhook signing secret: `whsec_` and base64 of 32 random bytes.
        #[arg(long)]
        webhook: bool,
    },
    /// Print the API's OpenAPI 3.1 document (what `GET /api/v1/openapi.json` serves, and
    /// docs/openapi.json).
    Openapi,
    /// Verify an address from the terminal: ask a relay for a code, type it in (or pipe it).
    ///
    /// Exit codes: 0 verified, 2 invalid input (or the input ended), 3 wrong code (attempts used
    /// up), 4 expired, 5 delivery failed, 6 relay unreachable, 7 other refusal (rate limited...).
    Verify {
        /// The address to verify; asked for when missing.
        #[arg(long)]
        email: Option<String>,
        /// The relay's URL; https:// is checked against the system's CA roots.
        #[arg(long, env = "OTP_RELAY_URL", default_value = "http://127.0.0.1:8787")]
        relay: String,
        /// A PEM file of CA certificates to trust for an https:// relay as well as the system's
        /// (a private CA).
        #[arg(long, env = "OTP_RELAY_URL_CA")]
        ca: Option<std::path::PathBuf>,
        /// On success print only the proof (a JWT) on stdout, for scripts.
        #[arg(long)]
        print_proof: bool,
        /// The language to speak (en, de, fr, es, pt, ja, ar); default: the locale (LANGUAGE,
        /// LC_ALL, LC_MESSAGES, LANG), else English. The email is written in it too.
        #[arg(long)]
        lang: Option<String>,
    },
    /// Solve a relay's proof of work and print the `pow` a send carries (for curl and scripts:
    /// `"pow": "$(otp-relay pow)"`).
    Pow {
        /// The relay's URL.
        #[arg(long, env = "OTP_RELAY_URL", default_value = "http://127.0.0.1:8787")]
        relay: String,
    },
    /// Exit 0 if the relay on this machine is ready (`GET /readyz` answers 200), 1 if not: a
    /// container health check without a shell.
    Healthcheck {
        /// The relay's listen address, as `serve` takes it: an unspecified address (0.0.0.0)
        /// is asked on loopback.
        #[arg(long, env = "OTP_RELAY_LISTEN", default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
        /// The URL to ask instead.
        #[arg(long)]
        url: Option<String>,
        /// How long to wait for the answer.
        #[arg(long, default_value = "3s", value_parser = crate::config::parse_duration)]
        timeout: std::time::Duration,
    },
    /// Send one test message with the configured SMTP server and say plainly what went wrong.
    SendTest {
        /// Where to send the test message.
        address: String,
        #[command(flatten)]
        smtp: SmtpArgs,
    },
}
/// Runs the command the arguments name; its exit code.
pub fn run(cli: Cli) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("otp-relay: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Keygen { webhook: true, .. } => {
            println!("{}", crate::mail::webhook::random_secret());
            ExitCode::SUCCESS
        }
        Command::Keygen { kid, .. } => {
            let secret = crate::core::keys::random_secret();
            let Some(kid) = kid else {
                println!("{secret}");
                return ExitCode::SUCCESS;
            };
            // Checked as the relay will check it, so what is printed is always accepted.
            match crate::core::keys::parse_items(&format!("{kid}:{secret}")) {
                Ok(_) => {
                    println!("{kid}:{secret}");
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    eprintln!("otp-relay keygen: {error}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Serve(args) => runtime.block_on(serve::run(*args)),
        Command::Openapi => {
            print!("{}", crate::http::openapi::document());
            ExitCode::SUCCESS
        }
        Command::Healthcheck {
            listen,
            url,
            timeout,
        } => {
            let url = url.unwrap_or_else(|| healthcheck::readyz_url(listen));
            runtime.block_on(healthcheck::run(&url, timeout))
        }
        Command::SendTest { address, smtp } => runtime.block_on(send_test::run(&address, &smtp)),
        Command::Pow { relay } => match runtime.block_on(verify::solved_pow(&relay)) {
            Ok(pow) => {
                println!("{pow}");
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("otp-relay pow: {error}");
                ExitCode::from(verify::Outcome::Unreachable.code())
            }
        },
        Command::Verify {
            email,
            relay,
            ca,
            print_proof,
            lang,
        } => {
            let lang = match lang {
                Some(tag) => match otp_relay_shared::Lang::from_tag(&tag) {
                    Some(lang) => lang,
                    None => {
                        eprintln!(
                            "otp-relay verify: --lang {tag:?} is not one of en, de, fr, es, pt, ja, ar"
                        );
                        return ExitCode::from(verify::Outcome::InvalidInput.code());
                    }
                },
                None => verify::locale_lang(|name| std::env::var(name).ok())
                    .unwrap_or(otp_relay_shared::Lang::En),
            };
            let options = verify::VerifyOptions {
                relay,
                ca,
                email,
                print_proof,
                lang,
            };
            ExitCode::from(runtime.block_on(verify::verify(options)).code())
        }
    }
}
