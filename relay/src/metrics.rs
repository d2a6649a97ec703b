//! Prometheus metrics, served on their own listen address (`OTP_RELAY_METRICS_LISTEN`), never on
//! the public port. Every label comes from a fixed set (a result is `sent`, `verified` or an
//! error code; a route is one of the router's own paths), so no address, IP or origin can become
//! a series and the number of series cannot grow with traffic.
//!
//! Routes are labelled by the template the router matched (`MatchedPath`), so every route has its
//! own label without a list to keep.
//!
//! The counters are moved from outside the core: the handlers count results, and the store and
//! the delivery are wrapped ([`MeteredStore`], [`MeteredDelivery`]) to count errors and time
//! deliveries, so the domain knows nothing of metrics.

use crate::core::store::{Outcome, Plan, Store, StoreError};
use crate::core::{ApiError, CodeEmail, Delivery, DeliveryError};
use async_trait::async_trait;
use otp_relay_shared::ErrorCode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Instant;

/// The label of a send or a verification: what came of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: &'static str,
}

/// The labels of an HTTP request: the route that answered (its template, as the router matched
/// it, such as `/widget/v1/{file}`: one of the router's own, a fixed set) and the status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub route: String,
    pub status: u16,
}

/// The difficulty of a proof-of-work challenge handed out: `log2(maxnumber / base)`, from a
/// fixed range (0 to 40).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LevelLabel {
    pub level: u32,
}

/// The build the relay runs.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BuildLabels {
    pub version: &'static str,
}

/// The routes whose series exist from the start at zero, for the alert rules and dashboards
/// that name them. Every route is counted under its own label whether listed here or not
/// (`MatchedPath`); what no route matched (a file, a wrong path) is `other`.
pub const ROUTES: [&str; 16] = [
    "/api/v1/pow",
    "/api/v1/challenges",
    "/api/v1/challenges/resend",
    "/api/v1/challenges/verify",
    "/healthz",
    "/livez",
    "/readyz",
    "/.well-known/jwks.json",
    "/dev/outbox",
    "/widget/v1/otp-verify.js",
    "/widget/v1/otp-verify.d.ts",
    "/widget/v1/react.d.ts",
    "/api/v1/openapi.json",
    "/widget/v1/status",
    "/widget/v1/i18n/{file}",
    "/widget/v1/{file}",
];

/// The route label of a request no route matched.
pub const OTHER_ROUTE: &str = "other";

/// Every metric the relay exports, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    sends: Family<ResultLabel, Counter>,
    verifications: Family<ResultLabel, Counter>,
    delivery_seconds: Histogram,
    store_errors: Counter,
    http_requests: Family<HttpLabels, Counter>,
    pow_challenges: Family<LevelLabel, Counter>,
    pow_solutions: Family<ResultLabel, Counter>,
    review_uses: Family<StepLabel, Counter>,
    runtime_tasks: Gauge,
    store_entries: Gauge,
}

/// The step of a review address's use: `sent` (a send that sent nothing) or `verified`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabel {
    pub step: &'static str,
}

/// What came of a send's proof of work: `accepted`, or why it was refused.
pub const POW_RESULTS: [&str; 7] = [
    "accepted",
    "missing",
    "invalid",
    "expired",
    "other_network",
    "too_easy",
    "replayed",
];

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("otp_relay");
        let sends = Family::<ResultLabel, Counter>::default();
        registry.register(
            "sends",
            "Requests for a code (first sends and resends), by result: sent, or the error code",
            sends.clone(),
        );
        let verifications = Family::<ResultLabel, Counter>::default();
        registry.register(
            "verifications",
            "Codes checked, by result: verified, or the error code",
            verifications.clone(),
        );
        // From 10 ms to about 20 s: a local relay answers in milliseconds, a slow provider in
        // seconds, and the SMTP timeout is 10 s by default.
        let delivery_seconds = Histogram::new(
            prometheus_client::metrics::histogram::exponential_buckets(0.01, 2.0, 12),
        );
        registry.register(
            "delivery_seconds",
            "Time to hand one message to the mail server (or the outbox), failed sends included",
            delivery_seconds.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "store_errors",
            "Store operations that failed (the store did not answer, or lost its data)",
            store_errors.clone(),
        );
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered on the public port, by route and status",
            http_requests.clone(),
        );
        let pow_challenges = Family::<LevelLabel, Counter>::default();
        registry.register(
            "pow_challenges",
            "Proof-of-work challenges handed out (GET /api/v1/pow and with pow_required), by level: log2(maxnumber / OTP_RELAY_POW_BASE)",
            pow_challenges.clone(),
        );
        let pow_solutions = Family::<ResultLabel, Counter>::default();
        registry.register(
            "pow_solutions",
            "Proofs of work of sends, by result: accepted (the send went ahead), or why refused",
            pow_solutions.clone(),
        );
        let review_uses = Family::<StepLabel, Counter>::default();
        registry.register(
            "review_uses",
            "Uses of review addresses (OTP_RELAY_REVIEW_ADDRESSES), by step: sent (no email went) or verified (a review proof)",
            review_uses.clone(),
        );
        let runtime_tasks = Gauge::default();
        registry.register(
            "runtime_tasks",
            "Tokio tasks alive in the relay (connections, requests, upkeep), sampled every 5 s",
            runtime_tasks.clone(),
        );
        let store_entries = Gauge::default();
        registry.register(
            "store_entries",
            "Exact entries the in-memory store holds (live, or expired and not yet swept), sampled every 5 s; 0 with Redis",
            store_entries.clone(),
        );
        let build_info = Family::<BuildLabels, Gauge>::default();
        build_info
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION"),
            })
            .set(1);
        registry.register("build_info", "The relay's version", build_info);
        let metrics = Metrics {
            registry,
            sends,
            verifications,
            delivery_seconds,
            store_errors,
            http_requests,
            pow_challenges,
            pow_solutions,
            review_uses,
            runtime_tasks,
            store_entries,
        };
        metrics.start_at_zero();
        metrics
    }

    /// Every series an alert or a dashboard may name exists from the start, at zero: a rule
    /// over a series that has never been counted has no data on a fresh relay, and says
    /// nothing. Results: success and every error code; requests: every route with its success
    /// status and the server errors.
    fn start_at_zero(&self) {
        for (family, success) in [(&self.sends, "sent"), (&self.verifications, "verified")] {
            let results = std::iter::once(success).chain(ErrorCode::ALL.iter().map(|c| c.as_str()));
            for result in results {
                let _series = family.get_or_create(&ResultLabel { result });
            }
        }
        for result in POW_RESULTS {
            let _series = self.pow_solutions.get_or_create(&ResultLabel { result });
        }
        let _series = self.pow_challenges.get_or_create(&LevelLabel { level: 0 });
        for step in ["sent", "verified"] {
            let _series = self.review_uses.get_or_create(&StepLabel { step });
        }
        for route in ROUTES.iter().copied().chain(std::iter::once(OTHER_ROUTE)) {
            let success = if route == "/api/v1/challenges" {
                201
            } else {
                200
            };
            for status in [success, 500, 503] {
                let _series = self.http_requests.get_or_create(&HttpLabels {
                    route: route.to_string(),
                    status,
                });
            }
        }
    }

    /// The result label of an answer: `success` or the error's code.
    fn result<T>(outcome: &Result<T, ApiError>, success: &'static str) -> ResultLabel {
        ResultLabel {
            result: match outcome {
                Ok(_) => success,
                Err(error) => error.code.as_str(),
            },
        }
    }

    /// Counts a send (or a resend) by what came of it, and a review address's.
    pub fn count_send(&self, outcome: &Result<crate::core::Sent, ApiError>) {
        self.sends
            .get_or_create(&Self::result(outcome, "sent"))
            .inc();
        if matches!(outcome, Ok(sent) if sent.review) {
            self.review_uses
                .get_or_create(&StepLabel { step: "sent" })
                .inc();
        }
    }

    /// Counts a proof-of-work challenge handed out at `maxnumber`, by its level over `base`.
    pub fn count_pow_challenge(&self, maxnumber: u64, base: u64) {
        let level = (maxnumber / base.max(1)).max(1).ilog2().min(40);
        self.pow_challenges
            .get_or_create(&LevelLabel { level })
            .inc();
    }

    /// Counts what came of a send's proof of work: accepted when the send paid one, the refusal
    /// (and the fresh challenge it carries) when it did not; nothing when none was needed or the
    /// send was refused for another reason.
    pub fn count_pow(&self, outcome: &Result<crate::core::Sent, ApiError>, base: u64) {
        let result = match outcome {
            Ok(sent) if sent.pow_paid.is_some() => "accepted",
            Err(ApiError {
                reason: crate::core::Reason::PowRequired(refusal),
                pow,
                ..
            }) => {
                if let Some(fresh) = pow {
                    self.count_pow_challenge(fresh.maxnumber, base);
                }
                refusal.as_str()
            }
            _ => return,
        };
        self.pow_solutions
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// Counts a verification by what came of it, and a review address's.
    pub fn count_verification(&self, outcome: &Result<crate::core::Verified, ApiError>) {
        self.verifications
            .get_or_create(&Self::result(outcome, "verified"))
            .inc();
        if matches!(outcome, Ok(verified) if verified.review) {
            self.review_uses
                .get_or_create(&StepLabel { step: "verified" })
                .inc();
        }
    }

    /// Counts one answered request on `route` (the route template the router matched, or
    /// [`OTHER_ROUTE`]).
    pub fn count_request(&self, route: &str, status: u16) {
        self.http_requests
            .get_or_create(&HttpLabels {
                route: route.to_string(),
                status,
            })
            .inc();
    }

    /// Sets what the relay holds now: its tasks, and the in-memory store's entries (if it has
    /// one), for a soak to see them stay flat.
    pub fn set_holdings(&self, tasks: usize, store_entries: Option<usize>) {
        let as_gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.runtime_tasks.set(as_gauge(tasks));
        self.store_entries.set(as_gauge(store_entries.unwrap_or(0)));
    }

    /// The metrics in the OpenMetrics text format, which Prometheus scrapes.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// A store that counts its errors.
pub struct MeteredStore {
    pub inner: Arc<dyn Store>,
    pub metrics: Arc<Metrics>,
}

impl MeteredStore {
    fn counted<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if result.is_err() {
            self.metrics.store_errors.inc();
        }
        result
    }
}

#[async_trait]
impl Store for MeteredStore {
    async fn run(&self, plan: &Plan) -> Result<Outcome, StoreError> {
        self.counted(self.inner.run(plan).await)
    }

    fn epoch(&self) -> u64 {
        self.inner.epoch()
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.counted(self.inner.ready().await)
    }
}

/// A delivery that times each message.
pub struct MeteredDelivery {
    pub inner: Arc<dyn Delivery>,
    pub metrics: Arc<Metrics>,
}

#[async_trait]
impl Delivery for MeteredDelivery {
    async fn deliver(&self, email: CodeEmail) -> Result<(), DeliveryError> {
        let started = Instant::now();
        let result = self.inner.deliver(email).await;
        self.metrics
            .delivery_seconds
            .observe(started.elapsed().as_secs_f64());
        result
    }

    fn describe(&self) -> String {
        self.inner.describe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_there_from_the_start_at_zero() {
        let text = Metrics::new().encode().unwrap();
        for series in [
            r#"otp_relay_sends_total{result="sent"} 0"#,
            r#"otp_relay_sends_total{result="delivery_failed"} 0"#,
            r#"otp_relay_verifications_total{result="verified"} 0"#,
            r#"otp_relay_verifications_total{result="wrong_code"} 0"#,
            r#"otp_relay_http_requests_total{route="/api/v1/challenges",status="201"} 0"#,
            r#"otp_relay_http_requests_total{route="/api/v1/challenges/verify",status="503"} 0"#,
            "otp_relay_store_errors_total 0",
            "otp_relay_delivery_seconds_count 0",
        ] {
            assert!(text.contains(series), "{series} missing:\n{text}");
        }
    }

    #[test]
    fn labels_come_from_fixed_sets() {
        let metrics = Metrics::new();
        let email = otp_relay_shared::EmailAddress::parse("ada@example.com").unwrap();
        let at = crate::core::UnixTime::from_secs(0);
        let sent = |review| crate::core::Sent {
            token: String::new(),
            email: email.clone(),
            code_length: 6,
            expires_at: at,
            resend_at: at,
            attempts_left: 3,
            sends_left: 2,
            pow_paid: None,
            review,
        };
        let verified = |review| crate::core::Verified {
            email: email.clone(),
            proof: String::new(),
            proof_expires_at: at,
            review,
        };
        metrics.count_send(&Ok(sent(false)));
        metrics.count_send(&Ok(sent(true)));
        metrics.count_send(&Err(ApiError::protocol(ErrorCode::RateLimited, "later")));
        metrics.count_verification(&Ok(verified(false)));
        metrics.count_verification(&Ok(verified(true)));
        metrics.count_request("/api/v1/challenges", 201);
        metrics.count_request(OTHER_ROUTE, 404);
        metrics.count_request(OTHER_ROUTE, 404);
        let text = metrics.encode().unwrap();
        assert!(
            text.contains(r#"otp_relay_sends_total{result="sent"} 2"#),
            "{text}"
        );
        assert!(text.contains(r#"otp_relay_sends_total{result="rate_limited"} 1"#));
        assert!(text.contains(r#"otp_relay_verifications_total{result="verified"} 2"#));
        assert!(text.contains(r#"otp_relay_review_uses_total{step="sent"} 1"#));
        assert!(text.contains(r#"otp_relay_review_uses_total{step="verified"} 1"#));
        assert!(text.contains(r#"otp_relay_http_requests_total{route="other",status="404"} 2"#));
        assert!(text.contains(r#"otp_relay_build_info{version=""#));
        assert!(!text.contains("ada@"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }
}
