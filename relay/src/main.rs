//! The `otp-relay` binary: parse the command line, set up logging, hand over to [`otp_relay::cli`].

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = otp_relay::cli::Cli::parse();
    init_logging();
    otp_relay::cli::run(cli)
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
