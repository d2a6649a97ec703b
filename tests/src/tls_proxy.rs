//! A TLS-terminating proxy in front of a plain server, as a load balancer is.

use super::*;

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
