//! The `otp-relay` command line: `serve` ([`serve`]), `keygen`, `send-test` ([`send_test`]) and
//! `verify`, the terminal client ([`verify`]). Parsing and dispatch only; each command's work
//! lives in its module.

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
    /// Print a fresh random secret for OTP_RELAY_SECRET (prefix it with a key id) or
    /// OTP_RELAY_PROOF_SECRET.
    Keygen,
    /// Verify an address from the terminal: ask a relay for a code, type it in (or pipe it).
    ///
    /// Exit codes: 0 verified, 2 invalid input (or the input ended), 3 wrong code (attempts used
    /// up), 4 expired, 5 delivery failed, 6 relay unreachable, 7 other refusal (rate limited...).
    Verify {
        /// The address to verify; asked for when missing.
        #[arg(long)]
        email: Option<String>,
        /// The relay's URL.
        #[arg(long, env = "OTP_RELAY_URL", default_value = "http://127.0.0.1:8787")]
        relay: String,
        /// On success print only the proof (a JWT) on stdout, for scripts.
        #[arg(long)]
        print_proof: bool,
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
        Command::Keygen => {
            println!("{}", crate::core::keys::random_secret());
            ExitCode::SUCCESS
        }
        Command::Serve(args) => runtime.block_on(serve::run(*args)),
        Command::SendTest { address, smtp } => runtime.block_on(send_test::run(&address, &smtp)),
        Command::Verify {
            email,
            relay,
            print_proof,
        } => {
            let options = verify::VerifyOptions {
                relay,
                email,
                print_proof,
            };
            ExitCode::from(runtime.block_on(verify::verify(options)).code())
        }
    }
}
