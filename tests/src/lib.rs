//! Test kit shared by the relay's integration tests and the browser tests: the real `otp-relay`
//! binary on a free loopback port, a real SMTP server process (aiosmtpd, with STARTTLS or
//! implicit TLS, and AUTH) writing a Maildir, and helpers that read codes out of delivered
//! messages, never out of the relay's internals. [`browser`] drives headless Chromium.
//!
//! One module per peer: `relay` (the binary, its store, `TestApp`), `smtp`, `redis` (a node or a
//! cluster), `tls_proxy`, `webhook` (a receiver that checks signatures), `site` (another origin), `certs`, `keys` (secrets and the proof check a
//! backend runs), `support` (paths, ports, helper processes). Everything is re-exported here, so
//! a test needs `use otp_relay_tests::*` only.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::missing_panics_doc)]

pub mod browser;
mod certs;
mod keys;
mod redis;
mod relay;
mod site;
mod smtp;
mod support;
mod tls_proxy;
mod webhook;

pub use certs::*;
pub use keys::*;
pub use redis::*;
pub use relay::*;
pub use site::*;
pub use smtp::*;
pub use support::*;
pub use tls_proxy::*;
pub use webhook::*;

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
