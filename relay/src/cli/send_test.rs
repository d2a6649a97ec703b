//! `otp-relay send-test`: one message through the configured SMTP server, and in plain words
//! what went wrong if it did not go.

use crate::config::SmtpArgs;
use crate::mail::{Mailer, message};
use otp_relay_shared::EmailAddress;
use std::process::ExitCode;

/// Sends one test message to `address`.
pub async fn run(address: &str, smtp: &SmtpArgs) -> ExitCode {
    let mut smtp = smtp.clone();
    if let Err(error) = smtp.read_secret_files() {
        eprintln!("send-test: {error}");
        return ExitCode::from(2);
    }
    let to = match EmailAddress::parse(address) {
        Ok(to) => to,
        Err(error) => {
            eprintln!("send-test: {address:?}: {error}");
            return ExitCode::from(2);
        }
    };
    let Some(settings) = smtp.smtp_settings() else {
        eprintln!(
            "send-test: no SMTP server is configured. Set OTP_RELAY_SMTP_URL (or --smtp-url), e.g. smtps://user:pass@smtp.example.com:465"
        );
        return ExitCode::from(2);
    };
    let mailer = match Mailer::smtp(&settings) {
        Ok(mailer) => mailer,
        Err(error) => {
            eprintln!("send-test: {error}");
            return ExitCode::from(2);
        }
    };
    match mailer.send(&to, message::test_message()).await {
        Ok(()) => {
            println!(
                "Sent a test message to {to} through {}.",
                mailer.description()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("send-test: sending failed: {}", error.hint);
            eprintln!("  detail: {}", error.detail);
            ExitCode::FAILURE
        }
    }
}
