//! `otp-relay serve`: check the configuration, choose the delivery, and run the server on the
//! system clock. A configuration error is one sentence for the operator and exit code 2.

use crate::config::{Config, ServeArgs};
use crate::core::clock;
use crate::mail::Mailer;
use std::process::ExitCode;

/// The mailer the configuration asks for: the development outbox in development mode, else the
/// webhook or SMTP (the configuration has checked that exactly one of them is set).
pub fn mailer_for(
    config: &Config,
    clock: std::sync::Arc<dyn crate::core::Clock>,
) -> Result<Mailer, String> {
    if config.dev {
        return Ok(Mailer::outbox(clock, &config.smtp.from));
    }
    if let Some(settings) = config.smtp.webhook_settings() {
        return Mailer::webhook(&settings, clock);
    }
    match config.smtp.smtp_settings() {
        Some(settings) => Mailer::smtp(&settings),
        None => Err(crate::config::NO_MAIL_SERVER.into()),
    }
}

pub async fn run(mut args: ServeArgs) -> ExitCode {
    let clock = clock::system();
    // Checked before anything is bound, so that a wrong setting is named without listening.
    if let Err(error) = Config::from_args(args.clone()) {
        eprintln!("otp-relay: {error}");
        return ExitCode::from(2);
    }
    // Port 0 picks a free port: the configuration is made from the address the system gave, so
    // that a defaulted public URL names the real port, and is never changed afterwards.
    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("otp-relay: cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    match listener.local_addr() {
        Ok(bound) => args.listen = bound,
        Err(error) => {
            eprintln!("otp-relay: cannot read the bound address: {error}");
            return ExitCode::FAILURE;
        }
    }
    let configured = Config::from_args(args)
        .map_err(|error| error.to_string())
        .and_then(|config| mailer_for(&config, clock.clone()).map(|mailer| (config, mailer)));
    let (config, mailer) = match configured {
        Ok(configured) => configured,
        Err(error) => {
            eprintln!("otp-relay: {error}");
            return ExitCode::from(2);
        }
    };
    match crate::server::serve(config, listener, mailer, clock).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("otp-relay: {error}");
            ExitCode::FAILURE
        }
    }
}
