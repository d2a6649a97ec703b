//! The proof of work as the page pays it: solved in slices while the person types, never one
//! task over 50 ms (the browser's "long task"); and when the relay asks for more than the page
//! solved ahead (a surge began meanwhile), "Working…" on the button, the harder challenge solved
//! and the send made by itself.

use crate::flow::{open_url, request_code, type_code};
use otp_relay_tests::browser::{
    dist_dir, emulate_network, run_before_each_page, wait_for, wait_for_text, with_browser,
};
use otp_relay_tests::*;
use serde_json::json;
use std::sync::Arc;

/// Records, from now on, every long task (`PerformanceObserver`, entry type `longtask`) and
/// every label the send button shows (a `MutationObserver`, so a label shown for one frame is
/// seen too).
const WATCH: &str = "
    window.longTasks = [];
    new PerformanceObserver(list => {
        for (const task of list.getEntries()) window.longTasks.push(task.duration);
    }).observe({type: 'longtask'});
    window.labels = [];
    const form = document.querySelector('form');
    new MutationObserver(() => {
        const button = document.querySelector('button[type=submit]');
        if (button) window.labels.push(button.textContent);
    }).observe(form.parentNode, {subtree: true, childList: true, characterData: true});";

#[tokio::test]
async fn a_surge_meets_a_harder_proof_of_work_solved_in_slices_while_the_button_says_working() {
    let dist = dist_dir().display().to_string();
    // Above one send a minute, every challenge is 32 times harder (docs/security.md).
    let app = Arc::new(TestApp::spawn_with(&[
        ("OTP_RELAY_STATIC_DIR", dist.as_str()),
        ("OTP_RELAY_POW", "on"),
        ("OTP_RELAY_POW_SURGE", "1"),
        ("OTP_RELAY_TRUST_PROXY", "127.0.0.1"),
    ]));
    let shared = Arc::clone(&app);
    with_browser("pow_surge", |client| async move {
        let app = shared;
        open_url(&client, &app.relay.url).await;
        client.execute(WATCH, vec![]).await.unwrap();
        // The page solves its challenge at the base while nobody else sends; then three sends
        // from elsewhere start a surge, so what it solved is too easy now.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        for n in 0..3 {
            let ip = format!("198.51.100.{n}");
            let pow = app.relay.pow_from(&ip).await;
            let body = json!({ "email": format!("s{n}@example.com"), "pow": pow });
            let sent = app.relay.post_for(&ip, "/api/v1/challenges", body).await;
            assert_eq!(sent.status.as_u16(), 201, "{}", sent.text);
        }
        request_code(&client, "ada@example.com").await;
        for _ in 0..30 {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            let seen = client.execute("return [window.labels.slice(-3), window.longTasks, document.querySelector('.otp-hint').textContent];", vec![]).await.unwrap();
            eprintln!("{seen}");
            if seen[2].as_str().unwrap_or("").contains("We sent") { break; }
        }
        eprintln!("{}", app.relay.logs().lines().filter(|l| l.contains("pow") || l.contains("code sent")).collect::<Vec<_>>().join("\n"));
        // Refused as too easy, the harder challenge solved, and sent by itself.
        wait_for_text(&client, ".otp-hint", "We sent a code to ada@example.com").await;
        let code = app.smtp.last_to("ada@example.com").code();
        type_code(&client, &code).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
        let seen = client
            .execute("return [window.labels, window.longTasks];", vec![])
            .await
            .unwrap();
        let labels: Vec<&str> = seen[0]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|label| label.as_str())
            .collect();
        assert!(labels.contains(&"Working…"), "the button said it was working: {labels:?}");
        assert_eq!(
            seen[1],
            json!([]),
            "no task over 50 ms while solving (durations in ms)"
        );
        let logs = app.relay.logs();
        assert!(logs.contains("refusal=\"too_easy\""), "the page's first solution was too easy");
    })
    .await;
}

/// Records when the address field first appears, from the page's own clock (milliseconds since
/// navigation began), before any of the page's scripts run.
const FIELD_TIMER: &str = "
    new MutationObserver((_, observer) => {
        if (document.querySelector('input[type=email]')) {
            window.fieldAt = performance.now();
            observer.disconnect();
        }
    }).observe(document, {subtree: true, childList: true});";

/// When the address field appeared on `url` (ms), over the emulated connection.
async fn field_appears(client: &fantoccini::Client, url: &str) -> f64 {
    client.goto(&format!("{url}/")).await.unwrap();
    wait_for(client, "input[type=email]").await;
    client
        .execute("return window.fieldAt;", vec![])
        .await
        .unwrap()
        .as_f64()
        .expect("the time the field appeared")
}

#[tokio::test]
async fn on_a_slow_connection_the_proof_of_work_never_delays_the_address_field() {
    let dist = dist_dir().display().to_string();
    let with_pow = Arc::new(RelayProcess::dev(&[
        ("OTP_RELAY_STATIC_DIR".into(), dist.clone()),
        ("OTP_RELAY_POW".into(), "on".into()),
    ]));
    let without = Arc::new(RelayProcess::dev(&[
        ("OTP_RELAY_STATIC_DIR".into(), dist),
        ("OTP_RELAY_POW".into(), "off".into()),
    ]));
    let (a, b) = (Arc::clone(&with_pow), Arc::clone(&without));
    with_browser("pow_slow_3g", |client| async move {
        run_before_each_page(&client, FIELD_TIMER).await;
        // Chromium's "slow 3G": 400 ms more per request, 50 KB/s.
        emulate_network(&client, std::time::Duration::from_millis(400), 50_000).await;
        // Each relay is its own origin: nothing one page downloads is cached for the other.
        let without_ms = field_appears(&client, &b.url).await;
        let with_ms = field_appears(&client, &a.url).await;
        eprintln!("the address field appeared after {with_ms:.0} ms with the proof of work, {without_ms:.0} ms without");
        assert!(
            with_ms <= without_ms * 1.1 + 100.0,
            "the proof of work delayed the field: {with_ms:.0} ms against {without_ms:.0} ms"
        );
    })
    .await;
}
