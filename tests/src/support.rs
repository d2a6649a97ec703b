//! Paths, free ports and the helper processes of `tests/support/`.

use super::*;

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A free port for a Redis Cluster node: at most 55535, since its cluster bus listens 10,000
/// above it (redis-server refuses to start otherwise), with that bus port free too.
pub fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        let bus_free = port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok();
        if bus_free {
            return port;
        }
    }
}

/// The port a helper process in `tests/support/` listens on: the one line `READY <port>` it
/// prints on stdout once it does.
pub(crate) fn ready_port(child: &mut Child, what: &str) -> u16 {
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

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A program of the PyPI test tools' virtual environment (`scripts/ensure-tools.sh test`):
/// `python`, `schemathesis`, `openapi-spec-validator`.
pub fn venv_bin(program: &str) -> PathBuf {
    let tools = std::env::var_os("OTP_RELAY_TOOLS").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/otp-relay/tools")
        },
        PathBuf::from,
    );
    let path = tools.join("venv/bin").join(program);
    assert!(
        path.exists(),
        "{} is missing: `make test-tools` installs the PyPI test tools",
        path.display()
    );
    path
}

/// The Python of that environment.
pub fn venv_python() -> PathBuf {
    venv_bin("python")
}
