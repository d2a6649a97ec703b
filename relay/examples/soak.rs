//! Soak test against a running relay on loopback: concurrent clients run the whole flow (request
//! a code, read it from the development outbox, verify it), a share of them first with a wrong
//! code, and a share of hostile requests (a body that is not JSON, one over the size limit, a
//! forged token, a site that is not allowed), for minutes. Every few seconds it samples the
//! relay process (RSS, open file descriptors, threads from /proc) and its metrics (tokio tasks
//! alive, store entries), with the requests, errors and latency percentiles of that interval,
//! into a CSV; at the end it says whether each resource stayed flat after the warm-up. `make
//! soak` starts a relay, runs it, and plots the CSV (scripts/soak.sh).
//!
//! The clients keep to a steady rate (`--rate`, whole flows a second over all of them): a soak
//! looks for what grows with time, at a load the relay holds exactly (its store's exact map,
//! not the sketches that take over past it, which refuse early by design).
//!
//! Usage: soak --url URL --pid PID --metrics URL --csv FILE [--minutes 10] [--concurrency 8]
//!             [--rate 400] [--every 5] [--warmup-minutes 3]

use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "common/flags.rs"]
mod flags;
use flags::{arg, number};

/// What the clients saw in the current interval; the sampler takes it and starts a new one.
#[derive(Default)]
struct Interval {
    latencies: Vec<Duration>,
    errors: u64,
    hostile: u64,
}

struct Shared {
    url: String,
    client: reqwest::Client,
    interval: Mutex<Interval>,
    stop: AtomicBool,
    flows: AtomicU64,
}

impl Shared {
    fn record(&self, took: Duration) {
        if let Ok(mut interval) = self.interval.lock() {
            interval.latencies.push(took);
        }
    }

    fn error(&self, what: String) {
        if let Ok(mut interval) = self.interval.lock() {
            if interval.errors == 0 {
                eprintln!("soak: {what}");
            }
            interval.errors += 1;
        }
    }

    /// POSTs `body` to `path`; the status and the JSON answer, timed into the interval.
    async fn post(&self, path: &str, body: Value) -> Option<(u16, Value)> {
        let started = Instant::now();
        let sent = self
            .client
            .post(format!("{}{path}", self.url))
            .json(&body)
            .send()
            .await;
        match sent {
            Ok(response) => {
                let status = response.status().as_u16();
                let json = response.json().await.unwrap_or(Value::Null);
                self.record(started.elapsed());
                Some((status, json))
            }
            Err(error) => {
                self.error(format!("{path}: {error}"));
                None
            }
        }
    }

    async fn code_for(&self, email: &str) -> Option<String> {
        let outbox: Value = self
            .client
            .get(format!("{}/dev/outbox", self.url))
            .header("Accept", "application/json")
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        outbox
            .as_array()?
            .iter()
            .find(|entry| entry["to"] == email)?["text"]
            .as_str()?
            .rsplit('#')
            .next()
            .map(str::to_string)
    }

    /// One hostile request of four kinds in turn; each must get its documented refusal.
    async fn hostile(&self, n: u64) {
        let url = format!("{}/api/v1/challenges", self.url);
        let request = match n % 4 {
            0 => self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body("{\"email\": "),
            1 => self
                .client
                .post(&url)
                .header("content-type", "application/json")
                .body(format!("{{\"email\": \"{}\"}}", "a".repeat(20_000))),
            2 => self
                .client
                .post(format!("{}/api/v1/challenges/verify", self.url))
                .json(&json!({"challenge": "AgJrMQ", "email": "x@example.com", "code": "123456"})),
            _ => self
                .client
                .post(&url)
                .header("origin", "https://evil.example")
                .json(&json!({"email": "x@example.com"})),
        };
        let expected = [400, 413, 400, 403][(n % 4) as usize];
        match request.send().await {
            Ok(response) if response.status().as_u16() == expected => {
                if let Ok(mut interval) = self.interval.lock() {
                    interval.hostile += 1;
                }
            }
            Ok(response) => self.error(format!(
                "hostile request {}: {} (expected {expected})",
                n % 4,
                response.status()
            )),
            Err(error) => self.error(format!("hostile request: {error}")),
        }
    }
}

async fn run_client(shared: Arc<Shared>, id: usize, every: Duration) {
    let mut n: u64 = 0;
    let mut pace = tokio::time::interval(every);
    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !shared.stop.load(Ordering::Relaxed) {
        pace.tick().await;
        n += 1;
        if n.is_multiple_of(8) {
            shared.hostile(n / 8).await;
        }
        let email = format!("soak-{id}-{n}@example.com");
        let Some((status, issued)) = shared
            .post("/api/v1/challenges", json!({ "email": email }))
            .await
        else {
            continue;
        };
        if status != 201 {
            shared.error(format!("issue: {status} {issued}"));
            continue;
        }
        let Some(code) = shared.code_for(&email).await else {
            shared.error("the code is not in the outbox".into());
            continue;
        };
        let challenge = issued["challenge"].clone();
        if n.is_multiple_of(4) {
            let wrong: String = code
                .bytes()
                .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
                .collect();
            let body = json!({ "challenge": challenge, "email": email, "code": wrong });
            match shared.post("/api/v1/challenges/verify", body).await {
                Some((422, _)) | None => {}
                Some((status, answer)) => shared.error(format!("wrong code: {status} {answer}")),
            }
        }
        let body = json!({ "challenge": challenge, "email": email, "code": code });
        match shared.post("/api/v1/challenges/verify", body).await {
            Some((200, _)) => {
                shared.flows.fetch_add(1, Ordering::Relaxed);
            }
            Some((status, answer)) => shared.error(format!("verify: {status} {answer}")),
            None => {}
        }
    }
}

fn proc_field(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |dir| dir.count() as u64)
}

/// One sample of a Prometheus text page: `name value`, without labels.
fn metric(page: &str, name: &str) -> u64 {
    page.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map_or(0, |value| value as u64)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Least-squares growth per minute of `values` sampled at `minutes`.
fn slope(minutes: &[f64], values: &[f64]) -> f64 {
    let n = minutes.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let mean_x = minutes.iter().sum::<f64>() / n;
    let mean_y = values.iter().sum::<f64>() / n;
    let covariance: f64 = minutes
        .iter()
        .zip(values)
        .map(|(x, y)| (x - mean_x) * (y - mean_y))
        .sum();
    let variance: f64 = minutes.iter().map(|x| (x - mean_x).powi(2)).sum();
    if variance == 0.0 {
        0.0
    } else {
        covariance / variance
    }
}

#[tokio::main]
async fn main() {
    let (Some(url), Some(pid), Some(metrics), Some(csv)) = (
        arg("--url"),
        arg("--pid").and_then(|p| p.parse::<u32>().ok()),
        arg("--metrics"),
        arg("--csv"),
    ) else {
        eprintln!("usage: soak --url URL --pid PID --metrics URL --csv FILE [--minutes 10]");
        std::process::exit(2);
    };
    let minutes = number::<f64>("--minutes", 10.0);
    let every = Duration::from_secs_f64(number::<f64>("--every", 5.0));
    let warmup = number::<f64>("--warmup-minutes", 3.0).min(minutes / 2.0);
    let concurrency = number::<f64>("--concurrency", 8.0).max(1.0) as usize;
    let rate = number::<f64>("--rate", 400.0).max(1.0);
    let pace = Duration::from_secs_f64(concurrency as f64 / rate);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_else(|error| {
            eprintln!("soak: cannot build an HTTP client: {error}");
            std::process::exit(1)
        });
    let shared = Arc::new(Shared {
        url,
        client: client.clone(),
        interval: Mutex::new(Interval::default()),
        stop: AtomicBool::new(false),
        flows: AtomicU64::new(0),
    });
    let clients: Vec<_> = (0..concurrency)
        .map(|id| tokio::spawn(run_client(Arc::clone(&shared), id, pace)))
        .collect();

    let mut rows = vec![
        "seconds,rss_kib,open_fds,threads,tasks,store_entries,requests,errors,hostile,p50_ms,p99_ms"
            .to_string(),
    ];
    let mut series: Vec<[f64; 6]> = Vec::new();
    let started = Instant::now();
    let end = started + Duration::from_secs_f64(minutes * 60.0);
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    while Instant::now() < end {
        tick.tick().await;
        let interval = shared
            .interval
            .lock()
            .map(|mut interval| std::mem::take(&mut *interval))
            .unwrap_or_default();
        let mut latencies = interval.latencies;
        latencies.sort_unstable();
        let page = match client.get(&metrics).send().await {
            Ok(response) => response.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        let seconds = started.elapsed().as_secs_f64();
        let sample = [
            seconds / 60.0,
            proc_field(pid, "VmRSS:") as f64,
            open_fds(pid) as f64,
            proc_field(pid, "Threads:") as f64,
            metric(&page, "otp_relay_runtime_tasks") as f64,
            metric(&page, "otp_relay_store_entries") as f64,
        ];
        rows.push(format!(
            "{:.0},{},{},{},{},{},{},{},{},{:.2},{:.2}",
            seconds,
            sample[1],
            sample[2],
            sample[3],
            sample[4],
            sample[5],
            latencies.len(),
            interval.errors,
            interval.hostile,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
        ));
        println!("{}", rows.last().map(String::as_str).unwrap_or_default());
        series.push(sample);
    }
    shared.stop.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.await;
    }
    if let Err(error) = std::fs::write(&csv, rows.join("\n") + "\n") {
        eprintln!("soak: cannot write {csv}: {error}");
        std::process::exit(1);
    }

    // After the warm-up: where each resource started, where it ended, its highest, and its
    // least-squares growth per minute.
    let after: Vec<&[f64; 6]> = series.iter().filter(|s| s[0] >= warmup).collect();
    let minutes_after: Vec<f64> = after.iter().map(|s| s[0]).collect();
    println!(
        "\nsoak: {} flows verified in {minutes:.0} min by {concurrency} clients at {rate:.0} flows/s; after the {warmup:.0}-minute warm-up:",
        shared.flows.load(Ordering::Relaxed)
    );
    for (index, name) in [
        (1, "RSS (KiB)"),
        (2, "open fds"),
        (3, "threads"),
        (4, "tokio tasks"),
        (5, "store entries"),
    ] {
        let values: Vec<f64> = after.iter().map(|s| s[index]).collect();
        let first = values.first().copied().unwrap_or(0.0);
        let last = values.last().copied().unwrap_or(0.0);
        let highest = values.iter().copied().fold(0.0, f64::max);
        println!(
            "  {name:<14} {first:>10.0} -> {last:>10.0}   max {highest:>10.0}   trend {:>+10.1}/min",
            slope(&minutes_after, &values)
        );
    }
}
