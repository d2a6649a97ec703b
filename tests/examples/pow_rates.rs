//! `make load`'s last figure: SHA-256 tries per second of the proof of work, solved by the page's
//! own wasm (its `powTriesMs` export, the solver the page runs) and by ALTCHA's solver from npm
//! (`altcha-lib`'s `solveChallenge`, bundled by esbuild), one after the other in the same headless
//! Chromium, on the same salt.

// A measurement tool: a failure to set it up is reported by panicking, with what was missing.
#![allow(clippy::expect_used, clippy::panic)]

use otp_relay_tests::browser::{Browser, dist_dir};
use otp_relay_tests::{RelayProcess, workspace_root};
use std::process::Command;

/// The salt of a challenge the relay hands out (its length matters to SHA-256's blocks).
const SALT: &str =
    "0123456789abcdef01234567?expires=1800000000&maxnumber=100000&net=0123456789abcdef&";

#[tokio::main]
async fn main() {
    let site = tempfile::tempdir().expect("a folder");
    for entry in std::fs::read_dir(dist_dir()).expect("dist/: run `make frontend` first") {
        let entry = entry.expect("an entry");
        std::fs::copy(entry.path(), site.path().join(entry.file_name())).expect("a copy");
    }
    let esbuild = Command::new("esbuild")
        .arg(workspace_root().join("tests/altcha/node_modules/altcha-lib/dist/esm/v1/index.js"))
        .args([
            "--bundle",
            "--format=esm",
            "--minify",
            "--log-level=warning",
        ])
        .arg(format!(
            "--outfile={}",
            site.path().join("altcha.js").display()
        ))
        .status()
        .expect("esbuild (make tools installs it)");
    assert!(esbuild.success(), "esbuild could not bundle altcha-lib");
    let glue = std::fs::read_dir(site.path())
        .expect("the site")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("otp-relay-frontend") && name.ends_with(".js"))
        .expect("the page's JS glue");
    let relay = RelayProcess::dev(&[(
        "OTP_RELAY_STATIC_DIR".into(),
        site.path().display().to_string(),
    )]);
    let browser = Browser::start(1280, 900, None).await;
    let client = &browser.client;
    client
        .goto(&format!("{}/", relay.url))
        .await
        .expect("the page");
    let ours_tries = 2_000_000u32;
    let altcha_tries = 200_000u32;
    let script = format!(
        r#"const done = arguments[0];
        (async () => {{
            const ours = await import('/{glue}');
            ours.powTriesMs(50000);
            const oursMs = ours.powTriesMs({ours_tries});
            const altcha = await import('/altcha.js');
            await altcha.solveChallenge('0'.repeat(64), '{SALT}', 'SHA-256', 5000).promise;
            const started = performance.now();
            await altcha.solveChallenge('0'.repeat(64), '{SALT}', 'SHA-256', {altcha_tries} - 1).promise;
            done([oursMs, performance.now() - started]);
        }})().catch(error => done(String(error)));"#
    );
    let timings = client
        .execute_async(&script, vec![])
        .await
        .expect("the measurement");
    let (Some(ours_ms), Some(altcha_ms)) = (timings[0].as_f64(), timings[1].as_f64()) else {
        panic!("the measurement failed: {timings}");
    };
    let ours = f64::from(ours_tries) / ours_ms * 1000.0;
    let altcha = f64::from(altcha_tries) / altcha_ms * 1000.0;
    println!(
        "page's wasm {:.2} M tries/s, altcha-lib {:.2} M tries/s: {:.1} times ALTCHA's",
        ours / 1e6,
        altcha / 1e6,
        ours / altcha
    );
    println!(
        "a send at the base difficulty (maxnumber 100,000, 50,000 tries on average): {:.0} ms in this browser's wasm",
        50_000.0 / ours * 1000.0
    );
    browser.close().await;
}
