//! A real webhook receiver process (`support/webhook_receiver.py`): it checks each request's
//! Standard Webhooks signature with the `standardwebhooks` library from PyPI, as an operator's
//! receiver would, and records what it got.

use super::*;

/// A webhook secret in the specification's form, as `otp-relay keygen --webhook` makes one.
pub fn webhook_secret() -> String {
    otp_relay::mail::webhook::random_secret()
}

/// The receiver process on a free loopback port.
pub struct WebhookReceiver {
    child: Child,
    pub port: u16,
    /// The secret it checks signatures with.
    pub secret: String,
    out: TempDir,
}

impl WebhookReceiver {
    /// A receiver that answers 204 to every correctly signed request.
    pub fn start() -> WebhookReceiver {
        Self::start_answering(204)
    }

    /// A receiver that answers `status` to correctly signed requests (401 to the others).
    pub fn start_answering(status: u16) -> WebhookReceiver {
        let secret = webhook_secret();
        let out = tempfile::tempdir().expect("out dir");
        let mut child = Command::new(venv_python())
            .arg(workspace_root().join("tests/support/webhook_receiver.py"))
            .args(["--secret", &secret, "--answer", &status.to_string()])
            .arg("--out")
            .arg(out.path().join("received.jsonl"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/support/webhook_receiver.py");
        let port = ready_port(&mut child, "the webhook receiver");
        WebhookReceiver {
            child,
            port,
            secret,
            out,
        }
    }

    /// The relay's settings for this receiver, signing with `secret`.
    pub fn relay_env_signing_with(&self, secret: &str) -> Vec<(String, String)> {
        vec![
            (
                "OTP_RELAY_WEBHOOK_URL".into(),
                format!("http://127.0.0.1:{}/otp", self.port),
            ),
            ("OTP_RELAY_WEBHOOK_SECRET".into(), secret.to_string()),
        ]
    }

    /// The relay's settings for this receiver, with its secret.
    pub fn relay_env(&self) -> Vec<(String, String)> {
        self.relay_env_signing_with(&self.secret)
    }

    /// Everything received so far, oldest first: `{"verified": true, "payload", "headers"}` or
    /// `{"verified": false, "error"}`.
    pub fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(self.out.path().join("received.jsonl"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// The newest verified message to `to`: its `data`.
    pub fn last_to(&self, to: &str) -> Value {
        self.received()
            .into_iter()
            .rev()
            .find(|entry| entry["verified"] == true && entry["payload"]["data"]["to"] == to)
            .map(|entry| entry["payload"]["data"].clone())
            .unwrap_or_else(|| panic!("no signed webhook for {to}: {:?}", self.received()))
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}
