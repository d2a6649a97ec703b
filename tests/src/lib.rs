//! Test kit shared by the relay's integration tests and the browser tests: the real `otp-relay`
//! binary on a free loopback port, a real SMTP server process (aiosmtpd, with STARTTLS or
//! implicit TLS, and AUTH) writing a Maildir, and helpers that read codes out of delivered
//! messages, never out of the relay's internals. [`browser`] drives headless Chromium.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod browser;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub const USER: &str = "relay@test.example";
pub const PASSWORD: &str = "s3cret-pass";

/// A fixed challenge secret, so a restarted relay knows its earlier tokens.
pub fn challenge_secret() -> String {
    format!("k1:{}", URL_SAFE_NO_PAD.encode([11u8; 32]))
}

/// The legacy HS256 proof secret, for the tests of that mode (`OTP_RELAY_PROOF_SECRET`).
pub const PROOF_KEY: [u8; 32] = [42u8; 32];

pub fn proof_secret() -> String {
    URL_SAFE_NO_PAD.encode(PROOF_KEY)
}

/// The Ed25519 seed of the relays' proof key `p1` (`OTP_RELAY_PROOF_KEYS`, set by default).
pub const PROOF_SEED: [u8; 32] = [43u8; 32];

pub fn proof_keys() -> String {
    format!("p1:{}", URL_SAFE_NO_PAD.encode(PROOF_SEED))
}

/// An Ed25519 seed as the PKCS#8 document `jsonwebtoken` signs with (RFC 8410), so tests can
/// mint proofs with a key of their own.
pub fn ed25519_pkcs8(seed: &[u8; 32]) -> Vec<u8> {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(seed);
    der
}

/// A relay's JWK Set, fetched from `/.well-known/jwks.json` as a backend would.
pub async fn fetch_jwks(relay_url: &str) -> jsonwebtoken::jwk::JwkSet {
    reqwest::get(format!("{relay_url}/.well-known/jwks.json"))
        .await
        .expect("GET jwks.json")
        .error_for_status()
        .expect("jwks.json answers 200")
        .json()
        .await
        .expect("a JWK Set")
}

/// The README's Rust backend check: the key the proof's `kid` names in `jwks`, EdDSA only, this
/// audience and issuer exactly, `exp` with no leeway; the claims, or why not.
pub fn check_proof(
    proof: &str,
    jwks: &jsonwebtoken::jwk::JwkSet,
    audience: &str,
    issuer: &str,
) -> Result<Value, String> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(proof).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("the proof names no key")?;
    let jwk = jwks.find(&kid).ok_or(format!("no published key {kid:?}"))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(proof, &key, &validation)
        .map_err(|e| e.to_string())?
        .claims;
    if claims["email_verified"] != true {
        return Err("email_verified is not true".into());
    }
    Ok(claims)
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A throwaway CA and a certificate for 127.0.0.1 and localhost signed by it.
pub struct Certs {
    pub dir: TempDir,
}

impl Default for Certs {
    fn default() -> Self {
        Self::new()
    }
}

impl Certs {
    pub fn new() -> Certs {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().expect("tempdir");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "otp-relay test CA");
        let ca_key = KeyPair::generate().expect("ca key");
        let ca_cert = ca_params.self_signed(&ca_key).expect("ca cert");
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_params =
            CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .expect("leaf params");
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = leaf_params
            .signed_by(&leaf_key, &issuer)
            .expect("leaf cert");
        std::fs::write(dir.path().join("ca.pem"), ca_cert.pem()).expect("write ca");
        std::fs::write(dir.path().join("cert.pem"), leaf.pem()).expect("write cert");
        std::fs::write(dir.path().join("key.pem"), leaf_key.serialize_pem()).expect("write key");
        Certs { dir }
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

/// The port a helper process in `tests/support/` listens on: the one line `READY <port>` it
/// prints on stdout once it does.
fn ready_port(child: &mut Child, what: &str) -> u16 {
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read READY");
    line.trim()
        .strip_prefix("READY ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{what} did not start: {line:?}"))
}

/// A TLS-terminating proxy (`tests/support/tls_proxy.py`) in front of a plain server, as a load
/// balancer is in front of a relay, with a certificate for 127.0.0.1 and localhost from its own
/// private CA.
pub struct TlsProxy {
    child: Child,
    pub port: u16,
    pub certs: Certs,
}

impl TlsProxy {
    /// A proxy to `target` (`host:port`) on a free port.
    pub fn start(target: &str) -> TlsProxy {
        let certs = Certs::new();
        let dir = certs.dir.path();
        let mut child = Command::new("/usr/bin/python3")
            .arg(workspace_root().join("tests/support/tls_proxy.py"))
            .arg("--cert")
            .arg(dir.join("cert.pem"))
            .arg("--key")
            .arg(dir.join("key.pem"))
            .args(["--target", target])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start /usr/bin/python3 tests/support/tls_proxy.py");
        let port = ready_port(&mut child, "the TLS proxy");
        TlsProxy { child, port, certs }
    }

    /// `https://localhost:PORT`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the SMTP server protects its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpMode {
    StartTls,
    Implicit,
}

/// A real SMTP server process on loopback.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    pub mode: SmtpMode,
    maildir: TempDir,
    certs: Arc<Certs>,
}

fn smtp_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("support/smtp_server.py")
}

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The `otp-relay` binary, with no `OTP_RELAY_*` setting inherited from the environment the
/// tests run in: each test says what it configures.
pub fn relay_command() -> Command {
    let mut command = Command::new(relay_binary());
    for (key, _) in std::env::vars() {
        if key.starts_with("OTP_RELAY_") {
            command.env_remove(key);
        }
    }
    command
}

/// The `otp-relay` binary of this build: beside the test executable's `deps/` folder. Built on
/// demand when a test binary of another package runs first.
pub fn relay_binary() -> PathBuf {
    static BINARY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Ok(path) = std::env::var("OTP_RELAY_BIN") {
                return PathBuf::from(path);
            }
            let exe = std::env::current_exe().expect("current exe");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target/<profile>");
            // Tests of another package do not make cargo rebuild the relay: make sure the
            // binary is the current source's (a no-op when it is).
            let mut build = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
            build.args(["build", "--quiet", "-p", "otp-relay", "--bin", "otp-relay"]);
            if profile_dir.ends_with("release") {
                build.arg("--release");
            }
            let status = build
                .current_dir(workspace_root())
                .status()
                .expect("cargo build");
            assert!(status.success(), "building otp-relay failed");
            profile_dir.join("otp-relay")
        })
        .clone()
}

impl SmtpServer {
    /// STARTTLS and AUTH on a free port.
    pub fn start() -> SmtpServer {
        Self::start_with(SmtpMode::StartTls, 0, Arc::new(Certs::new()))
    }

    pub fn start_with(mode: SmtpMode, port: u16, certs: Arc<Certs>) -> SmtpServer {
        let maildir = tempfile::tempdir().expect("maildir");
        let dir = certs.dir.path();
        let mut child = Command::new("/usr/bin/python3")
            .arg(smtp_script())
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--mode",
                if mode == SmtpMode::StartTls {
                    "starttls"
                } else {
                    "implicit"
                },
            ])
            .arg("--cert")
            .arg(dir.join("cert.pem"))
            .arg("--key")
            .arg(dir.join("key.pem"))
            .args(["--user", USER, "--password", PASSWORD])
            .arg("--maildir")
            .arg(maildir.path())
            .arg("--exit-on-stdin-eof")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start /usr/bin/python3 tests/support/smtp_server.py (needs python3-aiosmtpd)");
        let port = ready_port(&mut child, "the SMTP server");
        SmtpServer {
            child,
            port,
            mode,
            maildir,
            certs,
        }
    }

    /// The relay's OTP_RELAY_SMTP_URL for this server, with the given password.
    pub fn url_with_password(&self, password: &str) -> String {
        let user = USER.replace('@', "%40");
        match self.mode {
            SmtpMode::StartTls => {
                format!(
                    "smtp://{user}:{password}@127.0.0.1:{}?tls=required",
                    self.port
                )
            }
            SmtpMode::Implicit => format!("smtps://{user}:{password}@127.0.0.1:{}", self.port),
        }
    }

    pub fn url(&self) -> String {
        self.url_with_password(PASSWORD)
    }

    /// Environment that points a relay at this server.
    pub fn relay_env(&self) -> Vec<(String, String)> {
        vec![
            ("OTP_RELAY_SMTP_URL".into(), self.url()),
            (
                "OTP_RELAY_SMTP_CA".into(),
                self.certs.ca().display().to_string(),
            ),
        ]
    }

    /// Raw messages delivered so far, oldest first.
    pub fn raw_messages(&self) -> Vec<Vec<u8>> {
        let new = self.maildir.path().join("new");
        let mut files: Vec<_> = std::fs::read_dir(&new)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files.iter().filter_map(|f| std::fs::read(f).ok()).collect()
    }

    pub fn count(&self) -> usize {
        self.raw_messages().len()
    }

    /// Waits until at least `n` messages arrived.
    pub fn wait_for(&self, n: usize) -> Vec<Delivered> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let raw = self.raw_messages();
            if raw.len() >= n {
                return raw.iter().map(|r| Delivered::parse(r)).collect();
            }
            assert!(
                Instant::now() < deadline,
                "expected {n} messages, got {}",
                raw.len()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The newest message to `to`.
    pub fn last_to(&self, to: &str) -> Delivered {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(found) = self
                .raw_messages()
                .iter()
                .map(|r| Delivered::parse(r))
                .rfind(|m| m.to == to)
            {
                return found;
            }
            assert!(Instant::now() < deadline, "no message to {to}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn certs(&self) -> Arc<Certs> {
        Arc::clone(&self.certs)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A delivered message, parsed.
#[derive(Debug, Clone)]
pub struct Delivered {
    pub raw: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl Delivered {
    pub fn parse(raw: &[u8]) -> Delivered {
        let message = mail_parser::MessageParser::default()
            .parse(raw)
            .expect("a parsable message");
        let to = message
            .to()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .unwrap_or_default()
            .to_string();
        Delivered {
            raw: String::from_utf8_lossy(raw).into_owned(),
            to,
            subject: message.subject().unwrap_or_default().to_string(),
            text: message.body_text(0).unwrap_or_default().to_string(),
            html: message.body_html(0).unwrap_or_default().to_string(),
        }
    }

    /// The code, from the autofill line that ends the plain-text part.
    pub fn code(&self) -> String {
        let last = self.text.trim_end().lines().last().expect("a last line");
        let code = last.rsplit('#').next().expect("@host #code");
        assert!(
            code.bytes().all(|b| b.is_ascii_digit()),
            "last line {last:?}"
        );
        code.to_string()
    }
}

/// A running `otp-relay serve` child process (the real binary).
pub struct RelayProcess {
    child: Option<Child>,
    pub url: String,
    /// The line the relay printed on stdout when it started listening.
    pub announced: String,
    env: Vec<(String, String)>,
    stderr: Arc<Mutex<Vec<String>>>,
    pub client: reqwest::Client,
    /// The Redis this relay was given by [`test_store`], kept as long as the relay (and across
    /// its restarts).
    shared_store: Option<Arc<SharedStore>>,
}

/// Runs `otp-relay serve` with `env` (on top of a valid key and sender) and expects it to refuse
/// to start: its exit status and what it said.
pub fn refused_start(env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut child = relay_command()
        .arg("serve")
        .env("OTP_RELAY_LISTEN", "127.0.0.1:0")
        .env("OTP_RELAY_SECRET", challenge_secret())
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the relay started with {env:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code(), stderr)
}

/// Which store relays started by the kit use, from `OTP_RELAY_TEST_STORE`: `memory` (the
/// default), `redis` or `redis-cluster`. `make test` runs the attack table once with each, so
/// every row holds against every store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestStore {
    Memory,
    Redis,
    RedisCluster,
}

pub fn test_store() -> TestStore {
    match std::env::var("OTP_RELAY_TEST_STORE").as_deref() {
        Ok("redis") => TestStore::Redis,
        Ok("redis-cluster") => TestStore::RedisCluster,
        Ok("memory") | Err(_) => TestStore::Memory,
        Ok(other) => panic!("OTP_RELAY_TEST_STORE={other:?}: use memory, redis or redis-cluster"),
    }
}

/// A Redis server or cluster that a relay shares its state through.
pub enum SharedStore {
    Single(RedisServer),
    Cluster(RedisCluster),
}

impl SharedStore {
    /// The store [`test_store`] asks for, if it is not memory.
    pub fn for_tests() -> Option<SharedStore> {
        match test_store() {
            TestStore::Memory => None,
            TestStore::Redis => Some(SharedStore::Single(RedisServer::start())),
            TestStore::RedisCluster => Some(SharedStore::Cluster(RedisCluster::start())),
        }
    }

    /// The relay's `OTP_RELAY_STORE`.
    pub fn url(&self) -> String {
        match self {
            SharedStore::Single(server) => server.url(),
            SharedStore::Cluster(cluster) => cluster.url(),
        }
    }
}

/// A response as a test sees it.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn error_code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("")
    }
}

impl RelayProcess {
    /// Starts the binary in development mode (`OTP_RELAY_DEV`: the outbox instead of SMTP) with
    /// these settings on top of test defaults.
    pub fn dev(env: &[(String, String)]) -> RelayProcess {
        let mut all = vec![("OTP_RELAY_DEV".to_string(), "1".to_string())];
        all.extend_from_slice(env);
        Self::start(&all)
    }

    /// Starts the binary with these settings on top of test defaults (which name no mail server
    /// and no development mode: one of them must be in `env`).
    pub fn start(env: &[(String, String)]) -> RelayProcess {
        let mut all: Vec<(String, String)> = vec![
            ("OTP_RELAY_LISTEN".into(), "127.0.0.1:0".into()),
            ("OTP_RELAY_SECRET".into(), challenge_secret()),
            ("OTP_RELAY_PROOF_KEYS".into(), proof_keys()),
            (
                "OTP_RELAY_FROM".into(),
                "Example <no-reply@example.com>".into(),
            ),
            ("OTP_RELAY_LOG".into(), "debug".into()),
            ("OTP_RELAY_SMTP_TIMEOUT".into(), "3s".into()),
        ];
        for (key, value) in env {
            all.retain(|(k, _)| k != key);
            all.push((key.clone(), value.clone()));
        }
        // A test of the legacy HS256 proofs sets the secret instead of the keys.
        if env.iter().any(|(k, _)| k == "OTP_RELAY_PROOF_SECRET") {
            all.retain(|(k, _)| k != "OTP_RELAY_PROOF_KEYS");
        }
        let shared_store = if all.iter().any(|(k, _)| k == "OTP_RELAY_STORE") {
            None
        } else {
            SharedStore::for_tests().map(Arc::new)
        };
        if let Some(store) = &shared_store {
            all.push(("OTP_RELAY_STORE".into(), store.url()));
        }
        let mut relay = Self::spawn(all, Arc::new(Mutex::new(Vec::new())));
        relay.shared_store = shared_store;
        relay
    }

    /// Whether the relay's state outlives the process (a shared store).
    pub fn store_survives_restarts(&self) -> bool {
        self.env
            .iter()
            .any(|(k, v)| k == "OTP_RELAY_STORE" && v != "memory")
    }

    fn spawn(env: Vec<(String, String)>, stderr_lines: Arc<Mutex<Vec<String>>>) -> RelayProcess {
        let mut command = relay_command();
        command.arg("serve");
        command.envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start otp-relay");
        let stderr = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr_lines);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("lock").push(line);
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read stdout");
        // In JSON log mode the line is a JSON object with the URL in `fields.url`.
        let announced = serde_json::from_str::<Value>(&line)
            .ok()
            .and_then(|entry| entry["fields"]["url"].as_str().map(str::to_string));
        let Some(url) = announced
            .as_deref()
            .or_else(|| line.trim().strip_prefix("otp-relay listening on "))
        else {
            std::thread::sleep(Duration::from_millis(200));
            panic!(
                "relay did not start: {line:?}\n{}",
                stderr_lines.lock().expect("lock").join("\n")
            );
        };
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        RelayProcess {
            announced: line.trim_end().to_string(),
            child: Some(child),
            url: url.to_string(),
            env,
            stderr: stderr_lines,
            client,
            shared_store: None,
        }
    }

    /// Stops the process (SIGKILL: an abrupt restart loses the in-memory store, as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for the process to exit; its exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
        child.wait().expect("wait")
    }

    /// Changes one setting for the next start (a restart, say).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_string(), value.to_string()));
    }

    /// A new process with the same settings on the same port; the log keeps accumulating.
    pub fn restart(&mut self) {
        self.kill();
        self.start_again();
    }

    /// Starts a stopped relay again with the same settings on the same port.
    pub fn start_again(&mut self) {
        let address = self.url.trim_start_matches("http://").to_string();
        let mut env = self.env.clone();
        env.retain(|(k, _)| k != "OTP_RELAY_LISTEN");
        env.push(("OTP_RELAY_LISTEN".into(), address));
        let mut fresh = Self::spawn(env, Arc::clone(&self.stderr));
        fresh.shared_store = self.shared_store.take();
        *self = fresh;
    }

    /// Everything the relay logged so far.
    pub fn logs(&self) -> String {
        self.stderr.lock().expect("lock").join("\n")
    }

    /// Everything logged up to now, once the relay has written out the lines it still queued: it
    /// writes them out every 20 ms, so the log is read once it has not changed for ten times that.
    pub fn logs_flushed(&self) -> String {
        let mut last = self.logs();
        let mut unchanged_since = Instant::now();
        loop {
            std::thread::sleep(Duration::from_millis(20));
            let now = self.logs();
            if now != last {
                last = now;
                unchanged_since = Instant::now();
            } else if unchanged_since.elapsed() >= Duration::from_millis(200) {
                return last;
            }
        }
    }

    /// Everything logged once a line containing `needle` has arrived (the log is read by another
    /// thread, so a line written just now may not be here yet); panics after 10 s without it.
    pub fn logs_once(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {needle:?}:\n{logs}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.client.post(format!("{}{path}", self.url)).json(&body))
            .await
    }

    /// A POST as a browser on the page at `origin` sends it.
    pub async fn post_from(&self, origin: &str, path: &str, body: Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.url))
                .header("Origin", origin)
                .json(&body),
        )
        .await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("relay answers");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            text,
            json,
        }
    }

    pub async fn issue(&self, email: &str) -> Reply {
        self.post("/api/v1/challenges", json!({ "email": email }))
            .await
    }

    pub async fn resend(&self, challenge: &str, email: &str) -> Reply {
        self.post(
            "/api/v1/challenges/resend",
            json!({ "challenge": challenge, "email": email }),
        )
        .await
    }

    pub async fn verify(&self, challenge: &str, email: &str, code: &str) -> Reply {
        self.post(
            "/api/v1/challenges/verify",
            json!({ "challenge": challenge, "email": email, "code": code }),
        )
        .await
    }

    /// The development outbox as JSON, newest first.
    pub async fn outbox(&self) -> Vec<Value> {
        self.client
            .get(format!("{}/dev/outbox", self.url))
            .header("Accept", "application/json")
            .send()
            .await
            .expect("relay answers")
            .json::<Vec<Value>>()
            .await
            .expect("the outbox as JSON")
    }

    pub async fn healthy(&self) -> bool {
        match self
            .client
            .get(format!("{}/healthz", self.url))
            .send()
            .await
        {
            Ok(response) => response.status() == StatusCode::OK,
            Err(_) => false,
        }
    }
}

impl Drop for RelayProcess {
    /// Stops the relay, and fails the test if any line it logged names a full address
    /// (docs/security.md, requirement 16 and A29): every black-box test checks this of its logs.
    fn drop(&mut self) {
        self.kill();
        if !std::thread::panicking() {
            let named = full_addresses(&self.logs());
            assert!(
                named.is_empty(),
                "the relay logged full addresses (only a***@domain is allowed): {named:?}"
            );
        }
    }
}

/// Every `local@domain.tld` in `text` whose local part is not masked (`a***`).
pub fn full_addresses(text: &str) -> Vec<String> {
    fn delimits(c: char) -> bool {
        c.is_whitespace() || c.is_control() || "<>()[]{}\"',;:`=\\".contains(c)
    }
    let mut found = Vec::new();
    for (at, _) in text.match_indices('@') {
        let before = &text[..at];
        let local = &before[before
            .char_indices()
            .rev()
            .find(|&(_, c)| delimits(c))
            .map_or(0, |(i, c)| i + c.len_utf8())..];
        let after = &text[at + 1..];
        let domain = &after[..after.find(delimits).unwrap_or(after.len())];
        if !local.is_empty() && !local.ends_with("***") && domain.contains('.') {
            found.push(format!("{local}@{domain}"));
        }
    }
    found
}

/// A relay and an SMTP server (STARTTLS + AUTH) wired together.
pub struct TestApp {
    pub relay: RelayProcess,
    pub smtp: SmtpServer,
}

impl TestApp {
    pub fn spawn() -> TestApp {
        Self::spawn_with(&[])
    }

    pub fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        let smtp = SmtpServer::start();
        let mut env = smtp.relay_env();
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        TestApp {
            relay: RelayProcess::start(&env),
            smtp,
        }
    }

    /// Requests a code for `email`; returns the 201 body and the code read from the message.
    pub async fn request_code(&self, email: &str) -> (Value, String) {
        let before = self.smtp.count();
        let reply = self.relay.issue(email).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        let messages = self.smtp.wait_for(before + 1);
        let code = messages.last().expect("a message").code();
        (reply.json, code)
    }
}

/// The code in a development outbox entry (its autofill line ends with `#<code>`).
pub fn outbox_code(entry: &Value) -> String {
    let text = entry["text"].as_str().expect("text");
    text.rsplit('#').next().expect("#code").trim().to_string()
}

/// The challenge string of a 201/200 body.
pub fn challenge_of(body: &Value) -> String {
    body["challenge"].as_str().expect("challenge").to_string()
}

/// Some digits that are not `code`.
pub fn wrong_code(code: &str) -> String {
    code.bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect()
}

/// Another site: a static web server on its own loopback port, serving pages the test writes.
pub struct HostSite {
    child: Child,
    pub port: u16,
    dir: TempDir,
}

impl HostSite {
    pub fn start() -> HostSite {
        let dir = tempfile::tempdir().expect("site dir");
        let port = free_port();
        let child = Command::new("/usr/bin/python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the host site did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        HostSite { child, port, dir }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The same server under another origin (`localhost` is not `127.0.0.1` to a browser).
    pub fn other_origin(&self) -> String {
        format!("http://localhost:{}", self.port)
    }

    /// Writes a page; returns its path on the site.
    pub fn page(&self, name: &str, html: &str) -> String {
        std::fs::write(self.dir.path().join(name), html).expect("write page");
        format!("/{name}")
    }
}

impl Drop for HostSite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A throwaway `redis-server` on a free loopback port, without persistence: stopping it and
/// starting it again loses everything, as a restart of a real one without persistence would.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: TempDir,
    /// With TLS only (no plain port), the certificates it serves.
    tls: Option<Arc<Certs>>,
    /// Whether it is a node of a cluster.
    cluster_node: bool,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_as(None, false)
    }

    /// A server that speaks only TLS, with a certificate for 127.0.0.1 from `certs`' CA.
    pub fn start_tls(certs: Arc<Certs>) -> RedisServer {
        Self::start_as(Some(certs), false)
    }

    fn start_as(tls: Option<Arc<Certs>>, cluster_node: bool) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir,
            tls,
            cluster_node,
        };
        server.start_again();
        server
    }

    /// The relay's `OTP_RELAY_STORE` for this server.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// `redis-cli` pointed at this server (over TLS, trusting its CA, when it speaks only TLS).
    fn redis_cli(&self) -> Command {
        let mut command = Command::new("redis-cli");
        command.args(["-p", &self.port.to_string()]);
        if let Some(certs) = &self.tls {
            command.arg("--tls").arg("--cacert").arg(certs.ca());
        }
        command
    }

    /// `redis-cli` for this server, with `args`; its standard output.
    pub fn cli(&self, args: &[&str]) -> String {
        self.redis_cli()
            .args(args)
            .stderr(Stdio::null())
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
            .unwrap_or_default()
    }

    /// Whether the server answers `PING`.
    pub fn answers(&self) -> bool {
        self.cli(&["ping"]) == "PONG"
    }

    /// Starts the server (again, empty) on its port and waits until it answers.
    pub fn start_again(&mut self) {
        let mut command = Command::new("redis-server");
        command.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
        match &self.tls {
            None => command.args(["--port", &self.port.to_string()]),
            Some(certs) => {
                let dir = certs.dir.path();
                command
                    .args(["--port", "0", "--tls-port", &self.port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(dir.join("cert.pem"))
                    .arg("--tls-key-file")
                    .arg(dir.join("key.pem"))
                    .arg("--tls-ca-cert-file")
                    .arg(certs.ca())
                    .args(["--tls-auth-clients", "no"])
            }
        };
        if self.cluster_node {
            command
                .args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(self.dir.path().join("nodes.conf"));
            if self.tls.is_some() {
                // The cluster bus and the addresses nodes announce: TLS too.
                command.args(["--tls-cluster", "yes"]);
            }
        }
        let child = command
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server (make test-tools installs it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.answers() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server; its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Forgets every key at once, as a failover to an empty replica would.
    pub fn flush(&self) {
        assert_eq!(self.cli(&["flushall"]), "OK", "FLUSHALL");
    }

    /// The relay's keys it holds.
    pub fn keys(&self) -> Vec<String> {
        let listed = self.cli(&["--scan", "--pattern", "otp-relay:*"]);
        listed.lines().map(str::to_string).collect()
    }

    /// Runs one command per line through `redis-cli`; one answer per line.
    pub fn batch(&self, commands: &[String]) -> Vec<String> {
        use std::io::Write;
        let mut child = self
            .redis_cli()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-cli");
        let mut stdin = child.stdin.take().expect("stdin");
        for line in commands {
            writeln!(stdin, "{line}").expect("write to redis-cli");
        }
        drop(stdin);
        let output = child.wait_with_output().expect("redis-cli");
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// How many keys it holds.
    pub fn key_count(&self) -> u64 {
        self.cli(&["dbsize"]).parse().unwrap_or(0)
    }
}

/// A Redis Cluster of three masters (no replicas) on free loopback ports, made with
/// `redis-cli --cluster create`.
pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
}

impl RedisCluster {
    pub fn start() -> RedisCluster {
        Self::start_as(None)
    }

    /// A cluster that speaks only TLS, with a certificate from `certs`' private CA.
    pub fn start_tls(certs: Arc<Certs>) -> RedisCluster {
        Self::start_as(Some(certs))
    }

    fn start_as(tls: Option<Arc<Certs>>) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3)
            .map(|_| RedisServer::start_as(tls.clone(), true))
            .collect();
        let addresses: Vec<String> = nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let mut create = Command::new("redis-cli");
        if let Some(certs) = &tls {
            create.arg("--tls").arg("--cacert").arg(certs.ca());
        }
        let created = create
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli --cluster create");
        assert!(created.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !nodes
            .iter()
            .all(|node| node.cli(&["cluster", "info"]).contains("cluster_state:ok"))
        {
            assert!(Instant::now() < deadline, "the cluster did not come up");
            std::thread::sleep(Duration::from_millis(50));
        }
        RedisCluster { nodes }
    }

    /// The relay's `OTP_RELAY_STORE` for this cluster.
    pub fn url(&self) -> String {
        let addresses: Vec<String> = self
            .nodes
            .iter()
            .map(|node| format!("127.0.0.1:{}", node.port))
            .collect();
        let scheme = match self.nodes.first().and_then(|node| node.tls.as_ref()) {
            Some(_) => "rediss-cluster",
            None => "redis-cluster",
        };
        format!("{scheme}://{}", addresses.join(","))
    }

    /// How many keys each master holds.
    pub fn key_counts(&self) -> Vec<u64> {
        self.nodes.iter().map(RedisServer::key_count).collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
