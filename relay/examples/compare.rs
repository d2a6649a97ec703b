//! The comparing benchmarks of `make load`, with a client light enough not to hide the server's
//! cost (HTTP/1.1 keep-alive over raw sockets, one connection per task):
//!
//! - `compare bare --url URL`: POSTs to the bare axum endpoint (`--example bare`);
//! - `compare verify --url URL`: issues a pool of challenges, then verifies them with wrong codes
//!   (each challenge at most 10 times, so every answer is `wrong_code`);
//! - `compare issue --url URL --count N [--seconds S]`: issues N codes to distinct addresses (or
//!   as many as S seconds allow);
//! - `compare pow-check --url URL`: pays one send with a solved proof of work, then sends with the
//!   same (spent) solution over and over: the relay's full check of a solution, answered 428;
//! - `compare issue-networks --url URL --count N [--pow]`: N sends from N client networks behind
//!   a trusted proxy, each paying a proof of work solved beforehand with `--pow`: beside the same
//!   without, what checking a solution adds to a send;
//! - `compare smtp --port P`: sends messages straight to an SMTP server on loopback, for its own
//!   ceiling.
//!
//! Each prints one line: requests, rate, p50 and p99, and with `--pid PID` the server's CPU time
//! per request. Options: `--seconds S` (10), `--concurrency C` (16). Several servers (relays
//! sharing a store) are given as `--url URL,URL --pid PID,PID`: connection `i` goes to server
//! `i % n`, and the CPU time is theirs together. `--store-pid PID,PID` names the store's servers
//! (Redis): their CPU time is added, and shown apart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

#[path = "common/flags.rs"]
mod flags;
use flags::{arg, number};

/// One keep-alive connection, opened again when the server closes it (`Connection: close`, as
/// the relay says after a connection's 1,000th request), as a browser would.
struct Connection {
    address: String,
    stream: BufReader<TcpStream>,
    line: String,
}

impl Connection {
    async fn open(address: &str) -> std::io::Result<Connection> {
        Ok(Connection {
            address: address.to_string(),
            stream: Self::connect(address).await?,
            line: String::new(),
        })
    }

    async fn connect(address: &str) -> std::io::Result<BufReader<TcpStream>> {
        let stream = TcpStream::connect(address).await?;
        stream.set_nodelay(true)?;
        Ok(BufReader::new(stream))
    }

    /// POSTs `body` to `path`; the status and the body of the answer.
    async fn post(&mut self, path: &str, body: &str) -> std::io::Result<(u16, Vec<u8>)> {
        self.post_for(path, body, None).await
    }

    /// POSTs `body` to `path` as a proxy in front would for the client `forwarded`.
    async fn post_for(
        &mut self,
        path: &str,
        body: &str,
        forwarded: Option<&str>,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let forwarded = forwarded
            .map(|ip| format!("X-Forwarded-For: {ip}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{forwarded}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.exchange(&request).await
    }

    /// GETs `path`, for the client `forwarded` when given; the status and the body.
    async fn get(
        &mut self,
        path: &str,
        forwarded: Option<&str>,
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let forwarded = forwarded
            .map(|ip| format!("X-Forwarded-For: {ip}\r\n"))
            .unwrap_or_default();
        self.exchange(&format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{forwarded}\r\n"
        ))
        .await
    }

    /// Writes `request` and reads the answer: its status and body.
    async fn exchange(&mut self, request: &str) -> std::io::Result<(u16, Vec<u8>)> {
        self.stream.get_mut().write_all(request.as_bytes()).await?;
        self.line.clear();
        self.stream.read_line(&mut self.line).await?;
        let status = self
            .line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut length = 0usize;
        let mut closing = false;
        loop {
            self.line.clear();
            if self.stream.read_line(&mut self.line).await? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("connection") {
                    closing = value.trim().eq_ignore_ascii_case("close");
                }
            }
        }
        let mut body = vec![0u8; length];
        self.stream.read_exact(&mut body).await?;
        if closing {
            self.stream = Self::connect(&self.address).await?;
        }
        Ok((status, body))
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// CPU time used so far by the relays (`--pid`) and, apart, by the store's servers
/// (`--store-pid`, Redis), when named.
fn server_cpu() -> Option<(Duration, Option<Duration>)> {
    let relays = cpu_of(&arg("--pid")?)?;
    let store = arg("--store-pid").and_then(|pids| cpu_of(&pids));
    Some((relays, store))
}

/// CPU time (user and system) used so far by the processes `pids` (comma separated), from
/// /proc; Linux ticks are 1/100 s.
fn cpu_of(pids: &str) -> Option<Duration> {
    let mut ticks = 0u64;
    for pid in pids.split(',') {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after_name = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        ticks += fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    }
    Some(Duration::from_millis(ticks * 10))
}

/// The server connection `task` talks to, from a comma-separated list.
fn server_for(addresses: &str, task: usize) -> String {
    let all: Vec<&str> = addresses.split(',').collect();
    all[task % all.len()].to_string()
}

fn report(
    name: &str,
    mut samples: Vec<Duration>,
    errors: usize,
    seconds: f64,
    cpu: Option<(Duration, Option<Duration>)>,
) {
    samples.sort_unstable();
    let per_request = |used: Duration| used.as_secs_f64() * 1e6 / samples.len().max(1) as f64;
    let cpu = cpu
        .map(|(relays, store)| match store {
            None => format!("  server CPU {:.1} µs/request", per_request(relays)),
            Some(store) => format!(
                "  server CPU {:.1} µs/request (relays {:.1}, Redis {:.1})",
                per_request(relays + store),
                per_request(relays),
                per_request(store)
            ),
        })
        .unwrap_or_default();
    println!(
        "{name:<7} {:>8} requests {:>10.0}/s  p50 {:>8.2?}  p99 {:>8.2?}  errors {errors}{cpu}",
        samples.len(),
        samples.len() as f64 / seconds,
        percentile(&samples, 0.50),
        percentile(&samples, 0.99),
    );
}

/// The server CPU used while `work` runs, when `--pid` names the server.
async fn measured<T>(
    work: impl std::future::Future<Output = T>,
) -> (T, Option<(Duration, Option<Duration>)>) {
    let before = server_cpu();
    let result = work.await;
    let used = server_cpu().zip(before).map(|(after, before)| {
        (
            after.0.saturating_sub(before.0),
            after.1.zip(before.1).map(|(a, b)| a.saturating_sub(b)),
        )
    });
    (result, used)
}

/// Runs `concurrency` connections for `seconds`, each POSTing bodies from `bodies` (connection
/// `i` takes bodies `i`, `i + concurrency`, …, each `uses` times) and expecting `expect`.
async fn hammer(
    address: &str,
    path: &'static str,
    bodies: Arc<Vec<String>>,
    uses: usize,
    expect: u16,
    seconds: u64,
    concurrency: usize,
) -> (Vec<Duration>, usize, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let (stop, bodies, address) = (
                Arc::clone(&stop),
                Arc::clone(&bodies),
                server_for(address, task),
            );
            tokio::spawn(async move {
                let mut samples = Vec::new();
                let mut errors = 0usize;
                let Ok(mut connection) = Connection::open(&address).await else {
                    return (samples, 1);
                };
                let mut n = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let index = (task + (n / uses) * concurrency) % bodies.len();
                    n += 1;
                    let started = Instant::now();
                    match connection.post(path, &bodies[index]).await {
                        Ok((status, _)) if status == expect => samples.push(started.elapsed()),
                        Ok(_) => errors += 1,
                        Err(_) => {
                            errors += 1;
                            match Connection::open(&address).await {
                                Ok(fresh) => connection = fresh,
                                Err(_) => break,
                            }
                        }
                    }
                }
                (samples, errors)
            })
        })
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((samples, failed)) = task.await {
            all.extend(samples);
            errors += failed;
        }
    }
    (all, errors, started.elapsed().as_secs_f64())
}

/// Issues `count` codes to distinct addresses over `concurrency` connections, or as many as fit
/// in `limit`; the challenges.
async fn issue(
    address: &str,
    count: usize,
    concurrency: usize,
    tag: &str,
    limit: Duration,
) -> (Vec<(String, String)>, Vec<Duration>, usize, f64) {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started.checked_add(limit);
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| {
            let (next, address, tag) = (
                Arc::clone(&next),
                server_for(address, task),
                tag.to_string(),
            );
            tokio::spawn(async move {
                let mut issued = Vec::new();
                let mut samples = Vec::new();
                let mut errors = 0usize;
                let Ok(mut connection) = Connection::open(&address).await else {
                    return (issued, samples, 1);
                };
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= count || deadline.is_some_and(|end| Instant::now() >= end) {
                        break;
                    }
                    let email = format!("{tag}-{n}@example.com");
                    let body = format!(r#"{{"email":"{email}"}}"#);
                    let at = Instant::now();
                    match connection.post("/api/v1/challenges", &body).await {
                        Ok((201, answer)) => {
                            samples.push(at.elapsed());
                            let json: serde_json::Value =
                                serde_json::from_slice(&answer).unwrap_or_default();
                            if let Some(challenge) = json["challenge"].as_str() {
                                issued.push((challenge.to_string(), email));
                            }
                        }
                        _ => errors += 1,
                    }
                }
                (issued, samples, errors)
            })
        })
        .collect();
    let mut issued = Vec::new();
    let mut samples = Vec::new();
    let mut errors = 0;
    for task in tasks {
        if let Ok((mine, times, failed)) = task.await {
            issued.extend(mine);
            samples.extend(times);
            errors += failed;
        }
    }
    (issued, samples, errors, started.elapsed().as_secs_f64())
}

/// A proof of work from `GET /api/v1/pow` (for the client `forwarded`, when given), solved: the
/// `pow` a send carries. Exits when the relay offers none.
async fn solved_pow(connection: &mut Connection, forwarded: Option<&str>) -> String {
    use base64::Engine;
    let challenge = match connection.get("/api/v1/pow", forwarded).await {
        Ok((200, body)) => {
            serde_json::from_slice::<otp_relay_shared::pow::PowChallenge>(&body).ok()
        }
        _ => None,
    };
    let Some(challenge) = challenge else {
        eprintln!("compare: the relay offers no proof of work");
        std::process::exit(1);
    };
    let number = otp_relay_shared::pow::solve(&challenge).unwrap_or_default();
    let solution = serde_json::to_vec(&challenge.solution(number)).unwrap_or_default();
    base64::engine::general_purpose::STANDARD.encode(solution)
}

/// Reads one SMTP reply (all its lines); its code.
async fn smtp_reply(stream: &mut BufReader<TcpStream>, line: &mut String) -> std::io::Result<u16> {
    loop {
        line.clear();
        if stream.read_line(line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        // "250-..." continues, "250 ..." ends.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(line.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0));
        }
    }
}

/// One SMTP session that sends messages one after another until `stop`.
async fn smtp_session(
    port: u16,
    task: usize,
    stop: Arc<AtomicBool>,
) -> std::io::Result<(Vec<Duration>, usize)> {
    let stream = TcpStream::connect(("127.0.0.1", port)).await?;
    stream.set_nodelay(true)?;
    let mut stream = BufReader::new(stream);
    let mut line = String::new();
    smtp_reply(&mut stream, &mut line).await?;
    stream
        .get_mut()
        .write_all(b"EHLO bench.example\r\n")
        .await?;
    smtp_reply(&mut stream, &mut line).await?;
    let (mut samples, mut errors, mut n) = (Vec::new(), 0usize, 0usize);
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let at = Instant::now();
        let mut ok = true;
        for (command, expect) in [
            ("MAIL FROM:<no-reply@example.com>\r\n".to_string(), 250),
            (format!("RCPT TO:<direct-{task}-{n}@example.com>\r\n"), 250),
            ("DATA\r\n".to_string(), 354),
            (
                format!(
                    "From: Example <no-reply@example.com>\r\nTo: direct-{task}-{n}@example.com\r\n\
                     Subject: 123456 is your verification code\r\n\r\n\
                     Your verification code is 123456\r\n.\r\n"
                ),
                250,
            ),
        ] {
            stream.get_mut().write_all(command.as_bytes()).await?;
            ok &= smtp_reply(&mut stream, &mut line).await? == expect;
        }
        if ok {
            samples.push(at.elapsed());
        } else {
            errors += 1;
        }
    }
    let _ = stream.get_mut().write_all(b"QUIT\r\n").await;
    Ok((samples, errors))
}

/// The SMTP server's own ceiling: `concurrency` sessions, each sending one message after another
/// over one connection, as fast as the server accepts them.
async fn smtp_direct(port: u16, seconds: u64, concurrency: usize) -> (Vec<Duration>, usize, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..concurrency)
        .map(|task| tokio::spawn(smtp_session(port, task, Arc::clone(&stop))))
        .collect();
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok(Ok((samples, failed))) => {
                all.extend(samples);
                errors += failed;
            }
            _ => errors += 1,
        }
    }
    (all, errors, started.elapsed().as_secs_f64())
}

#[tokio::main]
async fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let url = arg("--url").unwrap_or_else(|| "http://127.0.0.1:8787".into());
    let address = url
        .split(',')
        .map(|url| url.trim_start_matches("http://").trim_end_matches('/'))
        .collect::<Vec<_>>()
        .join(",");
    if !address.split(',').all(|a| a.starts_with("127.0.0.1:")) {
        eprintln!("compare: only loopback servers are load-tested");
        std::process::exit(2);
    }
    let seconds = number::<usize>("--seconds", 10) as u64;
    let concurrency = number::<usize>("--concurrency", 16).clamp(1, 256);
    match mode.as_str() {
        "bare" => {
            let body = r#"{"challenge":"x","email":"ada@example.com","code":"000000"}"#.to_string();
            let ((samples, errors, took), cpu) = measured(hammer(
                &address,
                "/api/v1/challenges/verify",
                Arc::new(vec![body]),
                usize::MAX,
                422,
                seconds,
                concurrency,
            ))
            .await;
            report("bare", samples, errors, took, cpu);
        }
        "verify" => {
            // Enough challenges that none is verified more than 10 times in the run.
            let pool = number::<usize>("--pool", 40_000);
            // Another code (such as "abc", answered 400) shows what the checks before it cost.
            let code = arg("--code").unwrap_or_else(|| "000000".into());
            let expect = number::<usize>("--expect", 422) as u16;
            let (issued, _, errors, _) =
                issue(&address, pool, concurrency, "verify", Duration::MAX).await;
            if errors > 0 || issued.is_empty() {
                eprintln!("compare: {errors} challenges could not be issued");
                std::process::exit(1);
            }
            let bodies: Vec<String> = issued
                .iter()
                .map(|(challenge, email)| {
                    format!(r#"{{"challenge":"{challenge}","email":"{email}","code":"{code}"}}"#)
                })
                .collect();
            let ((samples, errors, took), cpu) = measured(hammer(
                &address,
                "/api/v1/challenges/verify",
                Arc::new(bodies),
                10,
                expect,
                seconds,
                concurrency,
            ))
            .await;
            report("verify", samples, errors, took, cpu);
        }
        "issue" => {
            let count = number::<usize>("--count", 100_000);
            let limit = arg("--seconds").map_or(Duration::MAX, |_| Duration::from_secs(seconds));
            let ((_, samples, errors, took), cpu) =
                measured(issue(&address, count, concurrency, "issue", limit)).await;
            report("issue", samples, errors, took, cpu);
        }
        // A send whose proof of work was spent already, over and over: the relay checks the
        // solution in full (its MAC, its hash, its salt, the difficulty now, the claim) and
        // answers 428 with a fresh challenge. What checking costs, beside a wrong-code verify.
        "pow-check" => {
            let first = server_for(&address, 0);
            let Ok(mut connection) = Connection::open(&first).await else {
                eprintln!("compare: cannot connect to {first}");
                std::process::exit(1);
            };
            let pow = solved_pow(&mut connection, None).await;
            let body = format!(r#"{{"email":"spent@example.com","pow":"{pow}"}}"#);
            if !matches!(
                connection.post("/api/v1/challenges", &body).await,
                Ok((201, _))
            ) {
                eprintln!("compare: the solution did not pay for a send");
                std::process::exit(1);
            }
            let ((samples, errors, took), cpu) = measured(hammer(
                &address,
                "/api/v1/challenges",
                Arc::new(vec![body]),
                usize::MAX,
                428,
                seconds,
                concurrency,
            ))
            .await;
            report("pow check", samples, errors, took, cpu);
        }
        // Sends from `--count` client networks (a trusted proxy's X-Forwarded-For), each paying a
        // proof of work solved beforehand (`--pow`; the relay then runs with OTP_RELAY_POW_BASE=1
        // so solving costs nothing here), or none (`--pow` absent; the relay runs with the
        // proof of work off): the difference is what checking a solution costs the relay.
        "issue-networks" => {
            let count = number::<usize>("--count", 20_000).min(65_536);
            let paid = std::env::args().any(|a| a == "--pow");
            let first = server_for(&address, 0);
            let Ok(mut connection) = Connection::open(&first).await else {
                eprintln!("compare: cannot connect to {first}");
                std::process::exit(1);
            };
            let mut requests = Vec::with_capacity(count);
            for n in 0..count {
                let ip = format!("10.{}.{}.1", n / 256, n % 256);
                let mut body = format!(r#"{{"email":"net-{n}@example.com""#);
                if paid {
                    let pow = solved_pow(&mut connection, Some(&ip)).await;
                    body.push_str(&format!(r#","pow":"{pow}""#));
                }
                body.push('}');
                requests.push((ip, body));
            }
            let requests = Arc::new(requests);
            let next = Arc::new(AtomicUsize::new(0));
            let ((samples, errors, took), cpu) = measured(async {
                let started = Instant::now();
                let tasks: Vec<_> = (0..concurrency)
                    .map(|task| {
                        let (requests, next, address) = (
                            Arc::clone(&requests),
                            Arc::clone(&next),
                            server_for(&address, task),
                        );
                        tokio::spawn(async move {
                            let (mut samples, mut errors) = (Vec::new(), 0usize);
                            let Ok(mut connection) = Connection::open(&address).await else {
                                return (samples, 1);
                            };
                            loop {
                                let n = next.fetch_add(1, Ordering::Relaxed);
                                let Some((ip, body)) = requests.get(n) else {
                                    break;
                                };
                                let at = Instant::now();
                                match connection
                                    .post_for("/api/v1/challenges", body, Some(ip))
                                    .await
                                {
                                    Ok((201, _)) => samples.push(at.elapsed()),
                                    _ => errors += 1,
                                }
                            }
                            (samples, errors)
                        })
                    })
                    .collect();
                let (mut all, mut errors) = (Vec::new(), 0);
                for task in tasks {
                    if let Ok((samples, failed)) = task.await {
                        all.extend(samples);
                        errors += failed;
                    }
                }
                (all, errors, started.elapsed().as_secs_f64())
            })
            .await;
            report(
                if paid { "paid sends" } else { "free sends" },
                samples,
                errors,
                took,
                cpu,
            );
        }
        "smtp" => {
            let port = number::<usize>("--port", 25) as u16;
            let (samples, errors, took) = smtp_direct(port, seconds, concurrency).await;
            report("smtp", samples, errors, took, None);
        }
        _ => {
            eprintln!(
                "usage: compare bare|verify|issue|issue-networks|pow-check|smtp --url URL [--seconds S] [--concurrency C] [--count N] [--pool N] [--port P]"
            );
            std::process::exit(2);
        }
    }
}
