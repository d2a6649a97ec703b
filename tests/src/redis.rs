//! Real `redis-server` processes: a single node, with or without TLS, a three-master cluster,
//! and one with a replica for each master, whose nodes a test can kill, pause and fail over.

use super::*;

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
    /// For a cluster node: `cluster-node-timeout` in milliseconds, if not Redis's default.
    node_timeout_ms: Option<u32>,
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
        Self::start_node(tls, cluster_node, None)
    }

    fn start_node(
        tls: Option<Arc<Certs>>,
        cluster_node: bool,
        node_timeout_ms: Option<u32>,
    ) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = RedisServer {
            child: None,
            port: if cluster_node {
                free_cluster_port()
            } else {
                free_port()
            },
            dir,
            tls,
            cluster_node,
            node_timeout_ms,
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

    /// Starts the server (again, empty) on its port and waits until it answers. A cluster node
    /// keeps the cluster it knew (`nodes.conf`) and rejoins it, as a restarted machine's would.
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
            if let Some(timeout) = self.node_timeout_ms {
                command.args(["--cluster-node-timeout", &timeout.to_string()]);
            }
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

    /// Whether the process is running (it was not stopped).
    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Freezes the process (`SIGSTOP`), as a stalled machine would; [`Self::resume`] thaws it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a paused process (`SIGCONT`).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("a running server").id();
        let sent = Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill {signal} {pid}");
    }

    /// Forgets every key at once, as a failover to an empty replica would.
    pub fn flush(&self) {
        assert_eq!(self.cli(&["flushall"]), "OK", "FLUSHALL");
    }

    /// The relay's keys it holds.
    pub fn keys(&self) -> Vec<String> {
        let listed = self.cli(&["--scan", "--pattern", "{otp-relay}:*"]);
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

    /// Three masters with a replica each, and a node timeout of `node_timeout_ms`: what a
    /// failover needs.
    pub fn start_with_replicas(node_timeout_ms: u32) -> RedisCluster {
        Self::start_cluster(None, 1, Some(node_timeout_ms))
    }

    fn start_as(tls: Option<Arc<Certs>>) -> RedisCluster {
        Self::start_cluster(tls, 0, None)
    }

    fn start_cluster(
        tls: Option<Arc<Certs>>,
        replicas: usize,
        node_timeout_ms: Option<u32>,
    ) -> RedisCluster {
        let nodes: Vec<RedisServer> = (0..3 * (1 + replicas))
            .map(|_| RedisServer::start_node(tls.clone(), true, node_timeout_ms))
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
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
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

    /// The index in `nodes` of the master serving the relay's keys (all under one hash tag, so
    /// one slot), and of its replica if it has one, as a running node that answers sees them;
    /// `None` while the cluster has settled on no master for it.
    pub fn relays_master_and_replica(&self) -> Option<(usize, Option<usize>)> {
        let asked = self
            .nodes
            .iter()
            .find(|node| node.running() && node.answers())?;
        let slot: u32 = asked
            .cli(&["cluster", "keyslot", "{otp-relay}"])
            .parse()
            .ok()?;
        let table = asked.cli(&["cluster", "nodes"]);
        let by_id = |id: &str| -> Option<(usize, &str)> {
            let line = table.lines().find(|line| line.starts_with(id))?;
            let port: u16 = line
                .split_whitespace()
                .nth(1)?
                .split('@')
                .next()?
                .rsplit(':')
                .next()?
                .parse()
                .ok()?;
            let index = self.nodes.iter().position(|node| node.port == port)?;
            Some((index, line))
        };
        let serves = |line: &str| {
            line.split_whitespace().skip(8).any(|range| {
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                match (low.parse::<u32>(), high.parse::<u32>()) {
                    (Ok(low), Ok(high)) => (low..=high).contains(&slot),
                    _ => false,
                }
            })
        };
        let master = table
            .lines()
            .find(|line| line.contains("master") && !line.contains("fail") && serves(line))?;
        let master_id = master.split_whitespace().next()?;
        let replica = table
            .lines()
            .find(|line| {
                line.contains("slave")
                    && !line.contains("fail")
                    && line.split_whitespace().nth(3) == Some(master_id)
            })
            .and_then(|line| by_id(line.split_whitespace().next()?))
            .map(|(index, _)| index);
        Some((by_id(master_id)?.0, replica))
    }

    /// The cluster as a running node that answers sees it (`CLUSTER NODES`), for a failure's
    /// message.
    pub fn describe(&self) -> String {
        self.nodes
            .iter()
            .find(|node| node.running() && node.answers())
            .map_or_else(
                || "no node answers".into(),
                |node| node.cli(&["cluster", "nodes"]),
            )
    }

    /// Whether every running node says the cluster is ok.
    pub fn ok(&self) -> bool {
        self.nodes
            .iter()
            .filter(|node| node.running())
            .all(|node| node.cli(&["cluster", "info"]).contains("cluster_state:ok"))
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

/// The commands clients send to a Redis server while it watches (`MONITOR`), without those run
/// inside a script (which `MONITOR` marks `[… lua]`).
pub struct Monitor {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    /// Marks seen (see [`Monitor::caught_up`]).
    marks: Arc<std::sync::atomic::AtomicUsize>,
    /// The `redis-cli` command line that reaches the server, to send the marks through.
    cli: Vec<String>,
}

/// The command a monitor's marks are made of.
const MARK: &str = "otp-relay-monitor-mark";

impl RedisServer {
    /// Starts watching the commands clients send; returns once `MONITOR` is in force.
    pub fn monitor(&self) -> Monitor {
        let mut child = self
            .redis_cli()
            .arg("monitor")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-cli monitor");
        let stdout = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let marks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (ready, started) = std::sync::mpsc::channel();
        let (sink, marked) = (Arc::clone(&lines), Arc::clone(&marks));
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line == "OK" {
                    let _ = ready.send(());
                } else if line.contains(MARK) {
                    marked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                } else if !line.contains(" lua] ") {
                    sink.lock().unwrap_or_else(|e| e.into_inner()).push(line);
                }
            }
        });
        started
            .recv_timeout(Duration::from_secs(5))
            .expect("MONITOR in force");
        let cli = self.redis_cli();
        let cli = std::iter::once(cli.get_program())
            .chain(cli.get_args())
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        Monitor {
            child,
            lines,
            marks,
            cli,
        }
    }
}

impl Monitor {
    /// Waits until every command sent before this call is in [`Monitor::commands`]: sends a mark
    /// (an `ECHO`, left out of the commands) and waits for `MONITOR` to show it, as its output
    /// reaches this process a little after the commands ran.
    pub fn caught_up(&self) {
        let before = self.marks.load(std::sync::atomic::Ordering::SeqCst);
        let status = Command::new(&self.cli[0])
            .args(&self.cli[1..])
            .args(["echo", MARK])
            .stdout(Stdio::null())
            .status()
            .expect("redis-cli echo");
        assert!(status.success(), "redis-cli echo");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.marks.load(std::sync::atomic::Ordering::SeqCst) == before {
            assert!(
                std::time::Instant::now() < deadline,
                "MONITOR shows the mark"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// What clients sent so far: one line per command, `MONITOR`'s form
    /// (`1733476000.123 [0 127.0.0.1:5000] "EVALSHA" "…" "2" "key" …`).
    pub fn commands(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
