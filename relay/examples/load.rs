//! Load test against a running relay on loopback: concurrent clients run the whole flow (request
//! a code, read it from the development outbox, verify it), or only request codes
//! (`--issue-only`, to measure delivery through a real SMTP server). Bounded in time; reports
//! throughput and latency percentiles. `make load` starts a relay and runs it.
//!
//! Usage: load --url http://127.0.0.1:8787 [--seconds 10] [--concurrency 16] [--issue-only]

use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Samples {
    issue: Vec<Duration>,
    verify: Vec<Duration>,
    errors: Vec<String>,
}

#[path = "common/flags.rs"]
mod flags;
use flags::{arg, number};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

async fn run_client(
    client: reqwest::Client,
    url: String,
    id: usize,
    issue_only: bool,
    stop: Arc<AtomicBool>,
) -> Samples {
    let mut samples = Samples::default();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let email = format!("load-{id}-{n}@example.com");
        let started = Instant::now();
        let issued = client
            .post(format!("{url}/api/v1/challenges"))
            .json(&json!({ "email": email }))
            .send()
            .await;
        let body: Value = match issued {
            Ok(response) if response.status() == 201 => {
                response.json().await.unwrap_or(Value::Null)
            }
            Ok(response) => {
                samples.errors.push(format!("issue: {}", response.status()));
                continue;
            }
            Err(error) => {
                samples.errors.push(format!("issue: {error}"));
                continue;
            }
        };
        samples.issue.push(started.elapsed());
        if issue_only {
            continue;
        }
        let outbox: Value = match client
            .get(format!("{url}/dev/outbox"))
            .header("Accept", "application/json")
            .send()
            .await
        {
            Ok(response) => response.json().await.unwrap_or(Value::Null),
            Err(error) => {
                samples.errors.push(format!("outbox: {error}"));
                continue;
            }
        };
        let Some(code) = outbox
            .as_array()
            .and_then(|entries| entries.iter().find(|e| e["to"] == email.as_str()))
            .and_then(|entry| entry["text"].as_str())
            .and_then(|text| text.rsplit('#').next())
            .map(str::to_string)
        else {
            samples.errors.push("code not found in the outbox".into());
            continue;
        };
        let started = Instant::now();
        let verified = client
            .post(format!("{url}/api/v1/challenges/verify"))
            .json(&json!({ "challenge": body["challenge"], "email": email, "code": code }))
            .send()
            .await;
        match verified {
            Ok(response) if response.status() == 200 => samples.verify.push(started.elapsed()),
            Ok(response) => samples
                .errors
                .push(format!("verify: {}", response.status())),
            Err(error) => samples.errors.push(format!("verify: {error}")),
        }
    }
    samples
}

fn report(name: &str, mut samples: Vec<Duration>, seconds: f64) {
    samples.sort_unstable();
    println!(
        "{name:<8} {:>8} requests  {:>9.1}/s  p50 {:>8.2?}  p90 {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}",
        samples.len(),
        samples.len() as f64 / seconds,
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        samples.last().copied().unwrap_or_default(),
    );
}

#[tokio::main]
async fn main() {
    let url = arg("--url").unwrap_or_else(|| "http://127.0.0.1:8787".into());
    let host = url::Url::parse(&url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string));
    if !matches!(host.as_deref(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        eprintln!("load: only loopback relays are load-tested");
        std::process::exit(2);
    }
    let seconds: u64 = number("--seconds", 10).min(120);
    let concurrency: usize = number("--concurrency", 16).clamp(1, 256);
    let issue_only = std::env::args().any(|a| a == "--issue-only");
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
    {
        Ok(client) => client,
        Err(error) => {
            eprintln!("load: cannot build an HTTP client: {error}");
            std::process::exit(1);
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|id| {
            tokio::spawn(run_client(
                client.clone(),
                url.clone(),
                id,
                issue_only,
                Arc::clone(&stop),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Samples::default();
    for task in tasks {
        if let Ok(samples) = task.await {
            all.issue.extend(samples.issue);
            all.verify.extend(samples.verify);
            all.errors.extend(samples.errors);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "{concurrency} clients for {elapsed:.1} s against {url}{}",
        if issue_only { " (issue only)" } else { "" }
    );
    report("issue", all.issue, elapsed);
    if !issue_only {
        report("verify", all.verify, elapsed);
    }
    println!("errors   {}", all.errors.len());
    if let Some(first) = all.errors.first() {
        println!("first error: {first}");
    }
}
