//! The real `otp-relay` binary as a child process, with the store a test asks for, and the
//! answers it gives; the relay and an SMTP server wired together.

use super::*;

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
    /// and no development mode: one of them must be in `env`). The proof of work is off unless
    /// `env` sets `OTP_RELAY_POW`: the rules of the flow are tested without it, and the proof of
    /// work's own tests and the real clients (page, widget, terminal) with it.
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
            ("OTP_RELAY_POW".into(), "off".into()),
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
        self.send_terminate();
        self.wait_for_exit()
    }

    /// Sends SIGTERM, as a rolling update does, and returns at once.
    pub fn send_terminate(&self) {
        let child = self.child.as_ref().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    pub fn wait_for_exit(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
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

    /// Whether this relay wants a proof of work on sends.
    pub fn pow_on(&self) -> bool {
        self.env
            .iter()
            .any(|(k, v)| k == "OTP_RELAY_POW" && v != "off")
    }

    /// A solved proof of work, as a client pays one: `GET /api/v1/pow`, solved.
    pub async fn pow(&self) -> String {
        self.pow_from("127.0.0.1").await
    }

    /// A solved proof of work for the client `ip`, as a trusted proxy in front would ask for it
    /// (`X-Forwarded-For`; a relay that trusts no proxy takes it as from this machine).
    pub async fn pow_from(&self, ip: &str) -> String {
        let challenge = self.pow_challenge_from(ip).await;
        otp_relay::testing::solve_pow(&challenge).expect("the challenge solves")
    }

    /// `GET /api/v1/pow` for the client `ip` (as [`Self::pow_from`] asks), unsolved.
    pub async fn pow_challenge_from(&self, ip: &str) -> Value {
        self.client
            .get(format!("{}/api/v1/pow", self.url))
            .header("X-Forwarded-For", ip)
            .send()
            .await
            .expect("relay answers")
            .json::<Value>()
            .await
            .expect("a challenge")
    }

    /// A POST for the client `ip`, as a trusted proxy in front sends it (`X-Forwarded-For`).
    pub async fn post_for(&self, ip: &str, path: &str, body: Value) -> Reply {
        self.send(
            self.client
                .post(format!("{}{path}", self.url))
                .header("X-Forwarded-For", ip)
                .json(&body),
        )
        .await
    }

    /// `POST /api/v1/challenges` paid with `pow` as it is.
    pub async fn issue_paying(&self, email: &str, pow: &str) -> Reply {
        self.post("/api/v1/challenges", json!({ "email": email, "pow": pow }))
            .await
    }

    /// A send (`path` with `body`), paid for as a client pays where the relay wants a proof of
    /// work: one solved before, and the one a `pow_required` hands back, once.
    pub async fn post_paid(&self, path: &str, mut body: Value) -> Reply {
        if !self.pow_on() {
            return self.post(path, body).await;
        }
        body["pow"] = Value::String(self.pow().await);
        let reply = self.post(path, body.clone()).await;
        if reply.error_code() != "pow_required" {
            return reply;
        }
        body["pow"] = Value::String(
            otp_relay::testing::solve_pow(&reply.json["error"]["pow"]).expect("it solves"),
        );
        self.post(path, body).await
    }

    pub async fn issue(&self, email: &str) -> Reply {
        self.post_paid("/api/v1/challenges", json!({ "email": email }))
            .await
    }

    pub async fn resend(&self, challenge: &str, email: &str) -> Reply {
        self.post_paid(
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

    /// The development outbox as a person sees it: its HTML page.
    pub async fn outbox_page(&self) -> String {
        self.client
            .get(format!("{}/dev/outbox", self.url))
            .send()
            .await
            .expect("relay answers")
            .text()
            .await
            .expect("the outbox page")
    }

    /// A send from this relay's own page at `path` that asks for the email's link (docs/api.md),
    /// paid for.
    pub async fn issue_with_link(&self, email: &str, path: &str) -> Reply {
        let body =
            json!({"email": email, "link": format!("{}{path}", self.url), "pow": self.pow().await});
        self.post_from(&self.url, "/api/v1/challenges", body).await
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
