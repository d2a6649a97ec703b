//! Wiring for `otp-relay serve`: build the relay from its configuration, announce what it runs
//! with (loudly when that is not fit for production), listen, sweep the store, and shut down
//! gracefully on Ctrl-C or SIGTERM.

use crate::config::Config;
use crate::ledger::{Ledger, MemoryLedger};
use crate::mail::Mailer;
use crate::service::Relay;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// Builds the relay, binds, prints the bound address on stdout and serves until a signal.
pub async fn serve(mut config: Config, mailer: Mailer) -> Result<(), String> {
    let memory = Arc::new(MemoryLedger::new(config.store_capacity));
    let ledger: Arc<dyn Ledger> = memory.clone();

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    config.bound_to(bound);
    announce(&config, &mailer, ledger.as_ref());
    let relay = Arc::new(Relay::new(config, ledger, mailer));
    let app = crate::http::router(relay);

    // Bounded memory: expired entries go even when nobody writes.
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            memory.sweep();
        }
    });

    // Tests and scripts read this line to find a port chosen by the system.
    println!("otp-relay listening on http://{bound}");
    tracing::info!("listening on http://{bound}");
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server error: {e}"));
    sweeper.abort();
    tracing::info!("stopped");
    result
}

fn announce(config: &Config, mailer: &Mailer, ledger: &dyn Ledger) {
    if mailer.outbox().is_some() {
        tracing::warn!(
            "DEVELOPMENT OUTBOX: no SMTP server is configured (OTP_RELAY_SMTP_URL), so no email is sent. \
             Codes are shown at {}/dev/outbox. Never run like this in production.",
            config.public_url.trim_end_matches('/')
        );
    }
    if config.keys_are_ephemeral {
        tracing::warn!(
            "OTP_RELAY_SECRET is not set: using a random challenge key for this run only; \
             codes sent before a restart will not work after it. Set it with `otp-relay keygen`."
        );
    }
    if config.proof_key_is_ephemeral {
        tracing::warn!(
            "OTP_RELAY_PROOF_SECRET is not set: proofs are signed with a random key no backend knows. \
             Set it with `otp-relay keygen` and share it with the backends that check proofs."
        );
    }
    tracing::info!(
        delivery = %mailer.describe(),
        store = %ledger.describe(),
        public_url = %config.public_url,
        allowed_origins = %config.allowed_origins.join(","),
        "otp-relay starting"
    );
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
