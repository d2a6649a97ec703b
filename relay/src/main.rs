//! The `otp-relay` command: `serve`, `keygen`, `send-test`. Parsing and wiring only; everything
//! else lives in the library.

use clap::Parser;
use otp_relay::config::{Cli, Command, Config, SmtpArgs};
use otp_relay::keys::random_secret;
use otp_relay::mail::{Mailer, RenderedMessage};
use otp_relay_shared::EmailAddress;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
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
            println!("{}", random_secret());
            ExitCode::SUCCESS
        }
        Command::Serve(args) => {
            let configured = Config::from_args(*args)
                .and_then(|config| Mailer::from_args(&config.smtp).map(|mailer| (config, mailer)));
            let (config, mailer) = match configured {
                Ok(configured) => configured,
                Err(error) => {
                    eprintln!("otp-relay: {error}");
                    return ExitCode::from(2);
                }
            };
            match runtime.block_on(otp_relay::server::serve(config, mailer)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("otp-relay: {error}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::SendTest { address, smtp } => runtime.block_on(send_test(&address, &smtp)),
        Command::Verify {
            email,
            relay,
            print_proof,
        } => {
            let options = otp_relay::client::VerifyOptions {
                relay,
                email,
                print_proof,
            };
            ExitCode::from(runtime.block_on(otp_relay::client::verify(options)).code())
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTP_RELAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

/// Sends one message and says in plain words what happened.
async fn send_test(address: &str, smtp: &SmtpArgs) -> ExitCode {
    let to = match EmailAddress::parse(address) {
        Ok(to) => to,
        Err(error) => {
            eprintln!("send-test: {address:?}: {error}");
            return ExitCode::from(2);
        }
    };
    let mailer = match Mailer::from_args(smtp) {
        Ok(mailer) => mailer,
        Err(error) => {
            eprintln!("send-test: {error}");
            return ExitCode::from(2);
        }
    };
    if mailer.outbox().is_some() {
        eprintln!(
            "send-test: no SMTP server is configured. Set OTP_RELAY_SMTP_URL (or --smtp-url), e.g. smtps://user:pass@smtp.example.com:465"
        );
        return ExitCode::from(2);
    }
    let message = RenderedMessage {
        subject: "otp-relay test message".into(),
        text: "This is a test message from otp-relay send-test. SMTP delivery works.".into(),
        html: "<p>This is a test message from <b>otp-relay send-test</b>. SMTP delivery works.</p>"
            .into(),
    };
    match mailer.send(&to, message).await {
        Ok(()) => {
            println!("Sent a test message to {to} through {}.", mailer.describe());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("send-test: sending failed: {}", error.hint);
            eprintln!("  detail: {}", error.detail);
            ExitCode::FAILURE
        }
    }
}
