//! Wiring for `otp-relay serve`: build the store, the delivery, the verification service and the
//! router from a checked configuration; announce what the relay runs with (loudly when that is
//! not fit for production); listen; sweep the store; shut down gracefully on Ctrl-C or SIGTERM.

use crate::config::Config;
use crate::core::{Clock, Delivery, MemoryStore, Store, VerificationService};
use crate::http::{App, SharedApp};
use crate::mail::{Mailer, Outbox};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// A relay assembled but not yet listening: what the router serves, and the store to sweep.
pub struct Assembled {
    pub app: SharedApp,
    pub store: Arc<MemoryStore>,
}

/// Builds the whole relay for `config`, delivering with `mailer` and telling time by `clock`.
/// Tests call this with a manual clock and drive [`crate::http::router`] without a socket.
pub fn assemble(config: Config, mailer: Mailer, clock: Arc<dyn Clock>) -> Assembled {
    let outbox = mailer.as_outbox().cloned();
    assemble_with(config, Arc::new(mailer), outbox, clock)
}

/// [`assemble`] with any delivery (tests use one that fails on demand).
pub fn assemble_with(
    config: Config,
    delivery: Arc<dyn Delivery>,
    outbox: Option<Arc<Outbox>>,
    clock: Arc<dyn Clock>,
) -> Assembled {
    let store = Arc::new(MemoryStore::new(config.store_capacity, Arc::clone(&clock)));
    let service = VerificationService::new(
        config.service_settings(),
        Arc::clone(&store) as Arc<dyn Store>,
        delivery,
        clock,
    );
    let app = Arc::new(App {
        config,
        service,
        outbox,
    });
    Assembled { app, store }
}

/// Binds, prints the bound address on stdout and serves until a signal.
pub async fn serve(
    mut config: Config,
    mailer: Mailer,
    clock: Arc<dyn Clock>,
) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    config.bound_to(bound);
    let Assembled { app, store } = assemble(config, mailer.clone(), clock);
    announce(&app.config, &mailer, store.as_ref());
    let router = crate::http::router(app);

    // Bounded memory: expired entries go even when nobody writes.
    let sweeper = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            store.sweep();
        }
    });

    // Tests and scripts read this line to find a port chosen by the system.
    println!("otp-relay listening on http://{bound}");
    tracing::info!("listening on http://{bound}");
    let result = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(|e| format!("server error: {e}"));
    sweeper.abort();
    tracing::info!("stopped");
    result
}

fn announce(config: &Config, mailer: &Mailer, store: &dyn Store) {
    if mailer.as_outbox().is_some() {
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
        delivery = %mailer.description(),
        store = %store.describe(),
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
