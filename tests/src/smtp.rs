//! A real SMTP server process (aiosmtpd) writing a Maildir, and the messages it received.

use super::*;

pub const USER: &str = "relay@test.example";
pub const PASSWORD: &str = "s3cret-pass";

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
            .arg("--faults")
            .arg(maildir.path().join("fault"))
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

    /// Injects a fault into every exchange from now on (`tests/support/smtp_server.py`:
    /// `drop-data`, `tempfail`, `stall`, `close-after-starttls`); `""` for none.
    pub fn set_fault(&self, fault: &str) {
        std::fs::write(self.maildir.path().join("fault"), fault).expect("write the fault");
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

    /// The link the plain-text part carries (a send that named its page), if any.
    pub fn link(&self) -> Option<String> {
        self.text
            .lines()
            .map(str::trim)
            .find(|line| line.contains("#otp-link="))
            .map(str::to_string)
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
