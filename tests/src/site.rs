//! Another site: a static web server on its own loopback port.

use super::*;

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
