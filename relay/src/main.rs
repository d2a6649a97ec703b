//! The `otp-relay` binary: parse the command line, set up logging, hand over to [`otp_relay::cli`].

use clap::Parser;
use std::process::ExitCode;

/// Many small short-lived allocations per request (JSON, headers, log lines): mimalloc serves them
/// in a fraction of the system allocator's time (measured with `make load`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = otp_relay::cli::Cli::parse();
    // TLS connections to Redis take the process's crypto provider, which is ambiguous when
    // another crate in the build enables a second one: name it. An error means one is set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Held until the end of `main`: dropping it writes out the lines still queued.
    let json = matches!(
        &cli.command,
        otp_relay::cli::Command::Serve(args) if args.log_format == otp_relay::config::LogFormat::Json
    );
    let _log_writer = init_logging(json);
    otp_relay::cli::run(cli)
}

/// Logs to stderr through a queue that a thread of its own writes out, so that no request waits
/// for a write or wakes a thread per line ([`otp_relay::log_writer`]).
/// `json`: one JSON object per line (`OTP_RELAY_LOG_FORMAT=json`), for log collectors.
fn init_logging(json: bool) -> otp_relay::log_writer::Flusher<std::io::Stderr> {
    let filter = tracing_subscriber::EnvFilter::try_from_env("OTP_RELAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let (writer, flusher) = otp_relay::log_writer::queued(std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder
            .json()
            .with_current_span(false)
            .with_span_list(false)
            .init();
    } else {
        builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    flusher
}
