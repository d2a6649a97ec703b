//! Headless Chromium driven over WebDriver (Debian's chromium and chromium-driver). Each test
//! gets its own chromedriver on a free port and a fresh profile; a failing test leaves a
//! screenshot in `test-artifacts/screenshots/`.

use crate::{free_port, workspace_root};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// At most this many browsers at once: the machines have two cores.
const MAX_BROWSERS: usize = 2;
static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

struct Slot;

impl Slot {
    fn take() -> Slot {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *running >= MAX_BROWSERS {
            running = FREED
                .wait(running)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *running += 1;
        Slot
    }

    /// Two slots at once, for a test that needs two browsers: taken one by one, two such tests
    /// could each hold one and wait for ever for the other.
    fn take_two() -> (Slot, Slot) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while *running + 2 > MAX_BROWSERS {
            running = FREED
                .wait(running)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        *running += 2;
        (Slot, Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut running = RUNNING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *running -= 1;
        FREED.notify_all();
    }
}

/// A chromedriver process and a browser session.
pub struct Browser {
    driver: Child,
    pub client: Client,
    _profile: tempfile::TempDir,
    _slot: Slot,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium at the given window size, its language
    /// (`navigator.languages`, `Accept-Language`) set to `lang` when given.
    pub async fn start(width: u32, height: u32, lang: Option<&str>) -> Browser {
        let slot = tokio::task::spawn_blocking(Slot::take).await.expect("slot");
        Self::start_in(slot, width, height, lang).await
    }

    /// Two browsers with nothing in common (profiles, tabs, storage): a person's and another
    /// device's, or a mail scanner's.
    pub async fn start_two() -> (Browser, Browser) {
        let (first, second) = tokio::task::spawn_blocking(Slot::take_two)
            .await
            .expect("slots");
        (
            Self::start_in(first, 1280, 900, None).await,
            Self::start_in(second, 1280, 900, None).await,
        )
    }

    async fn start_in(slot: Slot, width: u32, height: u32, lang: Option<&str>) -> Browser {
        assert!(
            std::path::Path::new(CHROMEDRIVER).exists(),
            "{CHROMEDRIVER} is missing: `make test` installs Debian's chromium and chromium-driver"
        );
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        while reqwest::get(format!("{url}/status")).await.is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        // Headless windows are at least 500 px wide: narrower screens are emulated.
        let mobile = if width < 500 {
            json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2.0}})
        } else {
            json!(null)
        };
        let mut capabilities = json!({
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage",
                    format!("--window-size={width},{height}"),
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        if !mobile.is_null() {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = mobile;
        }
        if let Some(lang) = lang {
            if let Some(args) = capabilities["goog:chromeOptions"]["args"].as_array_mut() {
                args.push(json!(format!("--lang={lang}")));
                args.push(json!(format!("--accept-lang={lang}")));
            }
            capabilities["goog:chromeOptions"]["prefs"] = json!({"intl.accept_languages": lang});
        }
        let capabilities = capabilities.as_object().cloned().unwrap_or_default();
        // Already installed by an earlier test of this process: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = ClientBuilder::rustls()
            .expect("rustls")
            .capabilities(capabilities)
            .connect(&url)
            .await
            .expect("a WebDriver session");
        Browser {
            driver,
            client,
            _profile: profile,
            _slot: slot,
        }
    }

    /// Saves a PNG of the page; returns its path.
    pub async fn screenshot(&self, name: &str) -> Option<PathBuf> {
        screenshot(&self.client, name).await
    }

    pub async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Saves a PNG of the page in `test-artifacts/screenshots/`; returns its path.
pub async fn screenshot(client: &Client, name: &str) -> Option<PathBuf> {
    let png = client.screenshot().await.ok()?;
    let dir = workspace_root().join("test-artifacts/screenshots");
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join(format!("{name}.png"));
    std::fs::write(&path, png).ok()?;
    Some(path)
}

/// Runs a browser test; if it fails, saves a screenshot named after it and fails with its path.
pub async fn with_browser<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    with_browser_sized(name, 1280, 900, test).await;
}

/// Like [`with_browser`] with a window size.
pub async fn with_browser_sized<F, Fut>(name: &str, width: u32, height: u32, test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_in_browser(name, Browser::start(width, height, None).await, test).await;
}

/// Like [`with_browser`] with Chromium's language set to `lang` (`de`, `ja`, `ar`).
pub async fn with_browser_in<F, Fut>(name: &str, lang: &str, test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_in_browser(name, Browser::start(1280, 900, Some(lang)).await, test).await;
}

async fn run_in_browser<F, Fut>(name: &str, browser: Browser, test: F)
where
    F: FnOnce(Client) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(test(browser.client.clone())).await;
    if let Err(error) = outcome {
        let shot = browser.screenshot(name).await;
        browser.close().await;
        if error.is_panic() {
            eprintln!("screenshot of the failing page: {shot:?}");
            std::panic::resume_unwind(error.into_panic());
        }
        panic!("browser test {name} was cancelled: {error}");
    }
    browser.close().await;
}

/// Waits until `css` matches an element whose text contains `text`; returns that text.
pub async fn wait_for_text(client: &Client, css: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut last = String::new();
    loop {
        if let Ok(elements) = client.find_all(Locator::Css(css)).await {
            for element in elements {
                if let Ok(found) = element.text().await {
                    if found.contains(text) {
                        return found;
                    }
                    last = found;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "no {css} containing {text:?}; last seen {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `css` matches an element.
pub async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            return element;
        }
        assert!(Instant::now() < deadline, "no element {css}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The built frontend (trunk's `dist/`), which `make test` builds before the tests.
pub fn dist_dir() -> PathBuf {
    let dist = std::env::var("OTP_RELAY_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|_| workspace_root().join("dist"));
    assert!(
        dist.join("index.html").exists(),
        "{} has no built frontend: run `make test` (it builds the frontend first)",
        dist.display()
    );
    dist
}

/// A command of ChromeDriver's own, POSTed under the session: `goog/cdp/execute` (a DevTools
/// command) or `chromium/network_conditions`.
#[derive(Debug)]
struct ChromiumCommand {
    path: &'static str,
    body: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for ChromiumCommand {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/{}",
            session_id.unwrap_or_default(),
            self.path
        ))
    }

    fn method_and_body(&self, _request_url: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(self.body.to_string()))
    }
}

/// Emulates a slow network for the pages this client loads from now on: `latency` added to each
/// request, and at most `bytes_per_second` down and up.
pub async fn emulate_network(client: &Client, latency: Duration, bytes_per_second: u64) {
    client
        .issue_cmd(ChromiumCommand {
            path: "chromium/network_conditions",
            body: json!({"network_conditions": {
                "offline": false,
                "latency": latency.as_millis() as u64,
                "download_throughput": bytes_per_second,
                "upload_throughput": bytes_per_second,
            }}),
        })
        .await
        .expect("network emulation");
}

/// Runs `source` in every page this client loads from now on, before the page's own scripts.
pub async fn run_before_each_page(client: &Client, source: &str) {
    client
        .issue_cmd(ChromiumCommand {
            path: "goog/cdp/execute",
            body: json!({"cmd": "Page.addScriptToEvaluateOnNewDocument", "params": {"source": source}}),
        })
        .await
        .expect("a script before each page");
}
