//! Wiring for `otp-relay serve`: build the store, the delivery, the verification service and the
//! router from a checked configuration; announce what the relay runs with (loudly when that is
//! not fit for production); listen; sweep the store; shut down gracefully on Ctrl-C or SIGTERM.
//!
//! Connections are served here rather than by `axum::serve`, because a relay on the internet
//! must close the ones that stall (docs/security.md, A21): each connection gets HTTP/1.1 with a
//! header-read timeout (which also ends idle keep-alive connections), and at most
//! `max_connections` are served at once; more wait in the listen backlog until one closes. One
//! client holds at most its share of them (A30).

use crate::config::{Config, ConnectionLimits, StoreSetting};
use crate::core::store::memory::MemorySettings;
use crate::core::{Clock, Delivery, MemoryStore, Store, VerificationService};
use crate::http::{App, SharedApp};
use crate::mail::{Mailer, Outbox};
use crate::metrics::{MeteredDelivery, MeteredStore, Metrics};
use crate::redis_store::{CONDITIONS_CHECK_EVERY, RedisStore};
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// A relay assembled on an in-memory store, not yet listening: what the router serves, and the
/// store (to sweep, or for tests to look at).
#[cfg(any(test, feature = "testing"))]
pub struct Assembled {
    pub app: SharedApp,
    pub store: Arc<MemoryStore>,
}

/// The in-memory store `config` asks for.
fn memory_store(config: &Config, clock: Arc<dyn Clock>) -> Arc<MemoryStore> {
    Arc::new(MemoryStore::new(
        MemorySettings {
            capacity: config.store_capacity,
            sketch_width: config.limit_sketch_width,
            ..MemorySettings::for_policy(&config.policy)
        },
        clock,
    ))
}

/// Builds the whole relay for `config` on `store`, delivering with `delivery` and telling time by
/// `clock`.
fn assemble_on(
    config: Config,
    store: Arc<dyn Store>,
    delivery: Arc<dyn Delivery>,
    outbox: Option<Arc<Outbox>>,
    clock: Arc<dyn Clock>,
) -> SharedApp {
    let metrics = Arc::new(Metrics::new());
    let store = Arc::new(MeteredStore {
        inner: store,
        metrics: Arc::clone(&metrics),
    });
    let delivery = Arc::new(MeteredDelivery {
        inner: delivery,
        metrics: Arc::clone(&metrics),
    });
    let service = VerificationService::new(config.service_settings(), store, delivery, clock);
    Arc::new(App {
        config,
        service,
        outbox,
        metrics,
        draining: std::sync::atomic::AtomicBool::new(false),
    })
}

/// The relay on an in-memory store with any delivery (tests use one that fails on demand), for
/// [`crate::http::router`] without a socket.
#[cfg(any(test, feature = "testing"))]
pub fn assemble_with(
    config: Config,
    delivery: Arc<dyn Delivery>,
    outbox: Option<Arc<Outbox>>,
    clock: Arc<dyn Clock>,
) -> Assembled {
    let store = memory_store(&config, Arc::clone(&clock));
    let app = assemble_on(
        config,
        Arc::clone(&store) as Arc<dyn Store>,
        delivery,
        outbox,
        clock,
    );
    Assembled { app, store }
}

/// Serves on `listener` (bound at `config.listen`), prints that address on stdout, and serves
/// until a signal.
pub async fn serve(
    config: Config,
    listener: tokio::net::TcpListener,
    mailer: Mailer,
    clock: Arc<dyn Clock>,
) -> Result<(), String> {
    let bound = config.listen;
    let limits = config.connections.clone();
    let mut in_memory = None;
    let (store, upkeep): (Arc<dyn Store>, tokio::task::JoinHandle<()>) = match &config.store {
        StoreSetting::Memory => {
            let memory = memory_store(&config, Arc::clone(&clock));
            in_memory = Some(Arc::clone(&memory));
            // Expired entries go even when nobody writes (Redis expires its own).
            let sweeper = every(Duration::from_secs(30), {
                let memory = Arc::clone(&memory);
                move || {
                    memory.sweep();
                    async {}
                }
            });
            (memory as Arc<dyn Store>, sweeper)
        }
        StoreSetting::Redis(redis) => {
            let redis = Arc::new(RedisStore::connect(redis, Arc::clone(&clock)).await?);
            // A policy changed on a live Redis, or a clock that drifted, is noticed within a
            // few seconds (A28).
            let watcher = every(CONDITIONS_CHECK_EVERY, {
                let redis = Arc::clone(&redis);
                move || {
                    let redis = Arc::clone(&redis);
                    async move {
                        let _ = redis.check_conditions().await;
                    }
                }
            });
            (redis as Arc<dyn Store>, watcher)
        }
    };
    let outbox = mailer.as_outbox().cloned();
    let app = assemble_on(
        config,
        Arc::clone(&store),
        Arc::new(mailer.clone()),
        outbox,
        Arc::clone(&clock),
    );
    announce(&app.config, &mailer, store.as_ref());
    // What the relay holds, for the metrics: a leak shows as a line that keeps rising.
    let holdings = every(Duration::from_secs(5), {
        let metrics = Arc::clone(&app.metrics);
        move || {
            let tasks = tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks();
            metrics.set_holdings(tasks, in_memory.as_ref().map(|memory| memory.len()));
            async {}
        }
    });
    let metrics_server = match app.config.metrics_listen {
        Some(address) => Some(serve_metrics(address, Arc::clone(&app.metrics)).await?),
        None => None,
    };
    let log_format = app.config.log_format;
    let drain = app.config.drain;
    let stopping = Arc::clone(&app);
    let router = crate::http::router(app);

    // Tests and scripts read this line to find a port chosen by the system. In JSON mode it is
    // an object shaped like the log's lines, so that a stream that merges stdout into the log
    // stays JSON.
    let url = format!("http://{bound}");
    match log_format {
        crate::config::LogFormat::Text => println!("otp-relay listening on {url}"),
        crate::config::LogFormat::Json => println!(
            "{}",
            serde_json::json!({
                "timestamp": crate::core::clock::rfc3339(clock.now().secs()),
                "level": "INFO",
                "target": "otp_relay::server",
                "fields": { "message": format!("otp-relay listening on {url}"), "url": url },
            })
        ),
    }
    tracing::info!("listening on http://{bound}");
    // Told to stop, the relay first drains: `/readyz` answers 503 at once, so that a load
    // balancer or Kubernetes stops sending requests, and whatever still arrives in the drain
    // period is served (each answer then says `Connection: close`). Then it stops accepting
    // and lets what is in flight finish. The drain is real time, not the relay's clock: it is
    // about the process, not about codes.
    let drained = async move {
        shutdown_signal().await;
        stopping
            .draining
            .store(true, std::sync::atomic::Ordering::Relaxed);
        tracing::info!(
            drain_seconds = drain.as_secs_f64(),
            "shutting down: /readyz answers 503; serving while draining, then finishing requests in flight"
        );
        tokio::time::sleep(drain).await;
    };
    serve_connections(listener, router, limits, clock, drained).await;
    upkeep.abort();
    holdings.abort();
    if let Some(metrics_server) = metrics_server {
        metrics_server.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

/// Runs `task` every `period` in a task of its own, until aborted.
fn every<F, Fut>(period: Duration, mut task: F) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            task().await;
        }
    })
}

/// Serves `GET /metrics` on `address`, a port of its own, in a task of its own.
async fn serve_metrics(
    address: std::net::SocketAddr,
    metrics: Arc<Metrics>,
) -> Result<tokio::task::JoinHandle<()>, String> {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
        format!("cannot listen on {address} for metrics (OTP_RELAY_METRICS_LISTEN): {e}")
    })?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("cannot read the metrics address: {e}"))?;
    let router = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = Arc::clone(&metrics);
            async move {
                match metrics.encode() {
                    Ok(text) => (
                        [(
                            header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                        .into_response(),
                    Err(error) => {
                        tracing::error!(%error, "could not encode the metrics");
                        StatusCode::INTERNAL_SERVER_ERROR.into_response()
                    }
                }
            }
        }),
    );
    tracing::info!("metrics at http://{bound}/metrics");
    Ok(tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics server stopped");
        }
    }))
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes, then lets the
/// requests in flight finish (for at most the request deadline).
///
/// Each client (an IPv4 address, an IPv6 /64; a trusted proxy is not limited) holds at most its
/// share of the connections: one more is closed as soon as it is accepted, so one client's slow
/// connections never keep another's, or a health probe, waiting (docs/security.md, A30). A
/// connection is reused for at most `max_requests` requests and `max_age`: the answer after that
/// says `Connection: close`.
pub async fn serve_connections(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    limits: ConnectionLimits,
    clock: Arc<dyn Clock>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let shares = Arc::new(ClientShares::default());
    let graceful = GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, or a connection reset before it was accepted: wait a
                // moment rather than spin.
                tracing::warn!(%error, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let peer_ip = peer.ip().to_canonical();
        let share = if limits.shared_peers.iter().any(|net| net.contains(&peer_ip)) {
            None
        } else {
            match ClientShares::take(&shares, peer_ip, limits.per_client) {
                Some(share) => Some(share),
                None => {
                    // At debug level: an attacker would otherwise write a line per connection.
                    tracing::debug!(
                        client = %peer_ip,
                        reason = "connections_per_client",
                        "a client holds its share of connections already: closed a new one"
                    );
                    continue;
                }
            }
        };
        let clock = Arc::clone(&clock);
        let opened = clock.now();
        let served = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let (max_age, max_requests) = (limits.max_age, limits.max_requests);
        let service = router
            .clone()
            .map_request(move |mut request: Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            })
            .map_response(move |mut response: axum::response::Response| {
                let count = served.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                if count >= max_requests || clock.now().since(opened) >= max_age {
                    response.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                }
                response
            });
        let connection =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended");
            }
            drop(share);
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at shutdown and were closed");
    }
}

/// How many connections each client ([`crate::core::network::client`]) holds now: at most one
/// entry per open connection.
#[derive(Default)]
struct ClientShares(std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>);

/// One connection's place in its client's share, given back when dropped.
struct ClientShare {
    shares: Arc<ClientShares>,
    client: IpAddr,
}

impl ClientShares {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<IpAddr, usize>> {
        // Every update is a single insert or remove: a poisoned map is still consistent.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A place for one more connection of the client at `ip`, unless it holds `limit` already.
    fn take(shares: &Arc<ClientShares>, ip: IpAddr, limit: usize) -> Option<ClientShare> {
        let client = crate::core::network::client(ip);
        let mut held = shares.lock();
        let count = held.entry(client).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(ClientShare {
            shares: Arc::clone(shares),
            client,
        })
    }
}

impl Drop for ClientShare {
    fn drop(&mut self) {
        let mut held = self.shares.lock();
        if let Some(count) = held.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.client);
            }
        }
    }
}

fn announce(config: &Config, mailer: &Mailer, store: &dyn Store) {
    if config.dev {
        let outbox = format!("{}/dev/outbox", config.public_url.trim_end_matches('/'));
        // On stderr as well as in the log, where a log filter cannot hide it (but not amid JSON
        // lines, where it would break the log's format; the log line says it there).
        if config.log_format == crate::config::LogFormat::Text {
            eprintln!(
                "\n  ==================== DEVELOPMENT MODE ====================\n  \
             No email is sent: every code is shown at {outbox}\n  \
             to anyone who can reach it. Listening on loopback only.\n  \
             Never run like this in production: set OTP_RELAY_SMTP_URL\n  \
             and drop OTP_RELAY_DEV.\n  \
             ==========================================================\n"
            );
        }
        tracing::warn!(
            "DEVELOPMENT MODE: no email is sent; codes are shown at {outbox}. Never run like this in production."
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
            "OTP_RELAY_PROOF_KEYS is not set: proofs are signed with a random Ed25519 key for this run \
             only, so proofs from before a restart no longer verify. Set it with `otp-relay keygen --kid p1`."
        );
    }
    if !config.review.is_empty() {
        tracing::warn!(
            addresses = config.review.len(),
            "OTP_RELAY_REVIEW_ADDRESSES lists review addresses: they get no email and verify with \
             their listed code, for anyone who knows it. Their proofs carry `review: true`; a \
             backend that takes real sign-ups should refuse those."
        );
    }
    let frontend = crate::http::frontend::Frontend::of(config.static_dir.as_ref()).map_or_else(
        || "no page (API only)".to_string(),
        |frontend| frontend.describe(),
    );
    tracing::info!(
        delivery = %mailer.description(),
        store = %store.describe(),
        frontend = %frontend,
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
}
