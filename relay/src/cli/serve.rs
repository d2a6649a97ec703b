//! `otp-relay serve`: check the configuration, choose the delivery, and run the server on the
//! system clock. A configuration error is one sentence for the operator and exit code 2.

use crate::config::{Config, ServeArgs};
use crate::core::clock;
use crate::mail::Mailer;
use std::process::ExitCode;

/// The mailer the configuration asks for: the development outbox in development mode, else SMTP
/// (the configuration has checked that one of them is set).
pub fn mailer_for(
    config: &Config,
    clock: std::sync::Arc<dyn crate::core::Clock>,
) -> Result<Mailer, String> {
    if config.dev {
        return Ok(Mailer::outbox(clock));
    }
    match config.smtp.smtp_settings() {
        Some(settings) => Mailer::smtp(&settings),
        None => Err(crate::config::NO_MAIL_SERVER.into()),
    }
}

pub async fn run(args: ServeArgs) -> ExitCode {
    let clock = clock::system();
    let configured = Config::from_args(args)
        .and_then(|config| mailer_for(&config, clock.clone()).map(|mailer| (config, mailer)));
    let (config, mailer) = match configured {
        Ok(configured) => configured,
        Err(error) => {
            eprintln!("otp-relay: {error}");
            return ExitCode::from(2);
        }
    };
    match crate::server::serve(config, mailer, clock).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("otp-relay: {error}");
            ExitCode::FAILURE
        }
    }
}
