//! The verification flow as a person goes through it.

use fantoccini::{Client, Locator};
use otp_relay_tests::browser::{
    dist_dir, screenshot, wait_for, wait_for_text, with_browser, with_browser_sized,
};
use otp_relay_tests::*;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A relay serving the built page, with SMTP, and settings on top. The proof of work is on, as
/// it is by default: the page pays it.
fn app(extra: &[(&str, &str)]) -> TestApp {
    let dist = dist_dir().display().to_string();
    let mut settings = vec![
        ("OTP_RELAY_STATIC_DIR", dist.as_str()),
        ("OTP_RELAY_POW", "on"),
    ];
    settings.extend_from_slice(extra);
    TestApp::spawn_with(&settings)
}

/// Opens the page and records the events it receives.
async fn open(client: &Client, app: &TestApp) {
    open_url(client, &app.relay.url).await;
}

pub(crate) async fn open_url(client: &Client, url: &str) {
    client.goto(&format!("{url}/")).await.unwrap();
    wait_for(client, "input[type=email]").await;
    client
        .execute(
            "window.otpEvents = [];
             const root = document.getElementById('otp-verify');
             root.addEventListener('otp-verified', e => window.otpEvents.push({type: 'verified', detail: e.detail}));
             root.addEventListener('otp-error', e => window.otpEvents.push({type: 'error', detail: e.detail}));",
            vec![],
        )
        .await
        .unwrap();
}

pub(crate) async fn request_code(client: &Client, email: &str) {
    let field = client
        .find(Locator::Css("input[type=email]"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(email).await.unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// Waits for the code step.
pub(crate) async fn type_code_field_shown(client: &Client) {
    wait_for(client, "input[autocomplete=one-time-code]").await;
}

pub(crate) async fn type_code(client: &Client, code: &str) {
    let field = wait_for(client, "input[autocomplete=one-time-code]").await;
    field.send_keys(code).await.unwrap();
}

/// Sets the code field as a paste does: the whole text at once, in one input event.
async fn paste_code(client: &Client, text: &str) {
    wait_for(client, "input[autocomplete=one-time-code]").await;
    client
        .execute(
            "const field = document.querySelector('input[autocomplete=one-time-code]');
             field.value = arguments[0];
             field.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertFromPaste', data: arguments[0]}));",
            vec![json!(text)],
        )
        .await
        .unwrap();
}

async fn events(client: &Client) -> serde_json::Value {
    client
        .execute("return window.otpEvents;", vec![])
        .await
        .unwrap()
}

/// The `otp-verified` event the page received.
async fn verified_event(client: &Client) -> serde_json::Value {
    events(client)
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "verified")
        .expect("otp-verified")
        .clone()
}

async fn active_element_id(client: &Client) -> String {
    client
        .execute(
            "return document.activeElement && document.activeElement.id;",
            vec![],
        )
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn happy_path_verifies_and_hands_the_proof_to_the_page() {
    let app = Arc::new(app(&[]));
    let shared = Arc::clone(&app);
    with_browser("happy_path", |client| async move {
        let app = shared;
        open(&client, &app).await;
        // The page's one top heading (what axe-core's page-has-heading-one looks for: an `h1`, or
        // a heading of level 1) is the flow's title, each step's in turn.
        let headings = client
            .execute(
                "return [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
                    .filter(h => h.tagName === 'H1' || h.getAttribute('aria-level') === '1')
                    .map(h => h.textContent);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(headings, serde_json::json!(["Verify your email"]));
        request_code(&client, "ada@example.com").await;
        wait_for_text(&client, ".otp-hint", "We sent a code to ada@example.com").await;
        assert!(
            active_element_id(&client).await.ends_with("-code"),
            "focus moves to the code field"
        );
        let countdown = wait_for_text(&client, ".otp-countdown", "Code expires in").await;
        assert!(
            countdown.contains("4:5") || countdown.contains("5:00"),
            "{countdown}"
        );
        let code = app.smtp.last_to("ada@example.com").code();
        type_code(&client, &code).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
        wait_for_text(&client, ".otp-success", "ada@example.com is verified").await;
        let verified = verified_event(&client).await;
        assert_eq!(verified["detail"]["email"], "ada@example.com");
        assert_eq!(
            verified["detail"]["proof"]
                .as_str()
                .unwrap()
                .split('.')
                .count(),
            3
        );
    })
    .await;
}

/// A review address (`OTP_RELAY_REVIEW_ADDRESSES`) through the real page: it pays the proof of
/// work as anyone does, no message reaches the mail server, the listed code verifies, and the
/// proof the page receives says `review: true`.
#[tokio::test]
async fn a_review_address_verifies_with_its_listed_code_and_no_email() {
    let app = Arc::new(app(&[(
        "OTP_RELAY_REVIEW_ADDRESSES",
        "appstore@example.com:314159",
    )]));
    let shared = Arc::clone(&app);
    with_browser("review_address", |client| async move {
        let app = shared;
        open(&client, &app).await;
        request_code(&client, "appstore@example.com").await;
        wait_for_text(&client, ".otp-hint", "appstore@example.com").await;
        type_code(&client, "314159").await;
        wait_for_text(&client, ".otp-success", "appstore@example.com is verified").await;
        let verified = verified_event(&client).await;
        let proof = verified["detail"]["proof"].as_str().unwrap();
        use base64::Engine;
        let claims: serde_json::Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(proof.split('.').nth(1).unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["review"], true, "{claims}");
        assert_eq!(claims["email"], "appstore@example.com");
        assert_eq!(app.smtp.count(), 0, "no message for a review address");
    })
    .await;
}

/// Codes delivered by webhook (`OTP_RELAY_WEBHOOK_URL`) to a receiver that checks each
/// signature with the `standardwebhooks` library: the person goes through the real page with the
/// code the webhook carried, and the page gets its proof.
#[tokio::test]
async fn a_webhook_delivers_the_code_for_the_whole_flow() {
    let receiver = Arc::new(WebhookReceiver::start());
    let dist = dist_dir().display().to_string();
    let mut env = receiver.relay_env();
    env.push(("OTP_RELAY_STATIC_DIR".into(), dist));
    env.push(("OTP_RELAY_POW".into(), "on".into()));
    let relay = Arc::new(RelayProcess::start(&env));
    let (shared_relay, shared_receiver) = (Arc::clone(&relay), Arc::clone(&receiver));
    with_browser("webhook_flow", |client| async move {
        open_url(&client, &shared_relay.url).await;
        request_code(&client, "hooked@example.com").await;
        wait_for_text(&client, ".otp-hint", "hooked@example.com").await;
        let code = shared_receiver.last_to("hooked@example.com")["code"]
            .as_str()
            .unwrap()
            .to_string();
        type_code(&client, &code).await;
        wait_for_text(&client, ".otp-success", "hooked@example.com is verified").await;
        let verified = verified_event(&client).await;
        assert!(verified["detail"]["proof"].as_str().is_some(), "{verified}");
    })
    .await;
    assert!(
        receiver
            .received()
            .iter()
            .all(|entry| entry["verified"] == true)
    );
}

#[tokio::test]
async fn a_wrong_code_then_the_right_one() {
    let app = Arc::new(app(&[]));
    let shared = Arc::clone(&app);
    with_browser("wrong_then_right", |client| async move {
        let app = shared;
        open(&client, &app).await;
        request_code(&client, "bob@example.com").await;
        let code = app.smtp.last_to("bob@example.com").code();
        type_code(&client, &wrong_code(&code)).await;
        wait_for_text(
            &client,
            ".otp-error",
            "That code is not right. 2 attempts left.",
        )
        .await;
        screenshot(&client, "desktop-wrong-code").await;
        type_code(&client, &code).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
        let events = events(&client).await;
        assert!(
            events
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["detail"]["code"] == "wrong_code")
        );
    })
    .await;
}

#[tokio::test]
async fn after_the_allowed_attempts_a_new_code_is_needed_and_works() {
    let app = Arc::new(app(&[]));
    let shared = Arc::clone(&app);
    with_browser("lockout", |client| async move {
        let app = shared;
        open(&client, &app).await;
        request_code(&client, "cy@example.com").await;
        let code = app.smtp.last_to("cy@example.com").code();
        let wrong = wrong_code(&code);
        type_code(&client, &wrong).await;
        wait_for_text(&client, ".otp-error", "2 attempts left").await;
        type_code(&client, &wrong_code(&wrong)).await;
        wait_for_text(&client, ".otp-error", "1 attempt left").await;
        type_code(&client, &wrong_code(&wrong_code(&wrong))).await;
        wait_for_text(&client, ".otp-error", "no attempts are left").await;
        let field = wait_for(&client, "input[autocomplete=one-time-code]").await;
        assert_eq!(
            field.attr("disabled").await.unwrap().as_deref(),
            Some("true")
        );
        let button = wait_for(&client, ".otp-error button").await;
        assert_eq!(button.text().await.unwrap(), "Get a new code");
        button.click().await.unwrap();
        app.smtp.wait_for(2);
        let fresh = app.smtp.last_to("cy@example.com").code();
        wait_for_text(&client, ".otp-info", "Check your inbox").await;
        type_code(&client, &fresh).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
    })
    .await;
}

/// The built page served by a relay in this process whose clock the test moves; the page's own
/// clock (`Date.now`) is moved by the same amount, so expiry and cooldowns are reached without
/// waiting.
struct ClockedSite {
    relay: otp_relay::testing::InProcessRelay,
    url: String,
}

impl ClockedSite {
    async fn start() -> ClockedSite {
        use otp_relay::core::{Clock, ManualClock, SystemClock, UnixTime};
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let dist = dist_dir().display().to_string();
        let relay = otp_relay::testing::InProcessRelay::with_clock(
            &[
                "--static-dir",
                &dist,
                "--allowed-origins",
                &url,
                "--pow",
                "on",
            ],
            ManualClock::at(UnixTime::from_secs(SystemClock.now().secs())),
        )
        .unwrap();
        relay.serve_on(([127, 0, 0, 1], port).into()).await.unwrap();
        ClockedSite { relay, url }
    }

    /// Moves the relay's clock and the page's by `seconds`.
    async fn advance(&self, client: &Client, seconds: u64) {
        self.relay.clock.advance(Duration::from_secs(seconds));
        client
            .execute(
                "const by = arguments[0] * 1000;
                 const real = Date.now.bind(Date);
                 Date.now = () => real() + by;",
                vec![json!(seconds)],
            )
            .await
            .unwrap();
    }

    fn code_to(&self, to: &str) -> String {
        self.relay.last_code(to).expect("a message in the outbox")
    }
}

#[tokio::test]
async fn an_expired_code_offers_a_new_one() {
    let site = Arc::new(ClockedSite::start().await);
    let shared = Arc::clone(&site);
    with_browser("expiry", |client| async move {
        let site = shared;
        open_url(&client, &site.url).await;
        request_code(&client, "dee@example.com").await;
        wait_for_text(&client, ".otp-countdown", "Code expires in 4:").await;
        site.advance(&client, 300).await;
        wait_for_text(&client, ".otp-error", "This code has expired").await;
        let field = wait_for(&client, "input[autocomplete=one-time-code]").await;
        assert_eq!(
            field.attr("disabled").await.unwrap().as_deref(),
            Some("true")
        );
        wait_for(&client, ".otp-error button")
            .await
            .click()
            .await
            .unwrap();
        wait_for_text(&client, ".otp-info", "Check your inbox").await;
        assert_eq!(site.relay.sent(), 2);
        let fresh = site.code_to("dee@example.com");
        type_code(&client, &fresh).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
    })
    .await;
}

#[tokio::test]
async fn resend_counts_down_then_sends_the_same_code_and_the_first_still_works() {
    let site = Arc::new(ClockedSite::start().await);
    let shared = Arc::clone(&site);
    with_browser("resend", |client| async move {
        let site = shared;
        open_url(&client, &site.url).await;
        request_code(&client, "eve@example.com").await;
        wait_for_text(&client, ".otp-info", "Check your inbox").await;
        let first = site.code_to("eve@example.com");
        let label = wait_for_text(&client, ".otp-actions button", "Resend code in 0:").await;
        assert!(label.starts_with("Resend code in"), "{label}");
        let button = client
            .find(Locator::Css(".otp-actions button"))
            .await
            .unwrap();
        assert_eq!(
            button.attr("disabled").await.unwrap().as_deref(),
            Some("true")
        );
        site.advance(&client, 30).await;
        wait_for_text(&client, ".otp-actions button", "Resend code (2 left)").await;
        client
            .find(Locator::Css(".otp-actions button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for_text(&client, ".otp-info", "again").await;
        assert_eq!(site.relay.sent(), 2);
        assert_eq!(site.code_to("eve@example.com"), first);
        wait_for_text(&client, ".otp-actions button", "Resend code in").await;
        type_code(&client, &first).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
    })
    .await;
}

#[tokio::test]
async fn a_pasted_code_with_a_space_is_accepted() {
    let app = Arc::new(app(&[]));
    let shared = Arc::clone(&app);
    with_browser("paste", |client| async move {
        let app = shared;
        open(&client, &app).await;
        request_code(&client, "fay@example.com").await;
        let code = app.smtp.last_to("fay@example.com").code();
        paste_code(&client, &format!("{} {}", &code[..3], &code[3..])).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
    })
    .await;
}

#[tokio::test]
async fn the_relay_being_down_is_explained_and_recovers() {
    let app = Arc::new(std::sync::Mutex::new(app(&[])));
    let shared = Arc::clone(&app);
    with_browser("relay_down", |client| async move {
        let url = shared.lock().unwrap().relay.url.clone();
        client.goto(&format!("{url}/")).await.unwrap();
        wait_for(&client, "input[type=email]").await;
        shared.lock().unwrap().relay.kill();
        request_code(&client, "gil@example.com").await;
        wait_for_text(
            &client,
            ".otp-error",
            "cannot reach the verification service",
        )
        .await;
        shared.lock().unwrap().relay.start_again();
        let retry = wait_for(&client, ".otp-error button").await;
        assert_eq!(retry.text().await.unwrap(), "Try again");
        retry.click().await.unwrap();
        wait_for_text(&client, ".otp-hint", "We sent a code to gil@example.com").await;
        let code = shared
            .lock()
            .unwrap()
            .smtp
            .last_to("gil@example.com")
            .code();
        type_code(&client, &code).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
    })
    .await;
}

#[tokio::test]
async fn a_double_submit_sends_one_request() {
    let app = Arc::new(app(&[]));
    let shared = Arc::clone(&app);
    with_browser("double_submit", |client| async move {
        let app = shared;
        open(&client, &app).await;
        request_code(&client, "hal@example.com").await;
        let code = app.smtp.last_to("hal@example.com").code();
        wait_for(&client, "input[autocomplete=one-time-code]").await;
        // The code completes (which submits) and the form is submitted again at once, twice.
        client
            .execute(
                "const field = document.querySelector('input[autocomplete=one-time-code]');
                 field.value = arguments[0];
                 field.dispatchEvent(new InputEvent('input', {bubbles: true}));
                 field.form.requestSubmit();
                 field.form.requestSubmit();",
                vec![json!(wrong_code(&code))],
            )
            .await
            .unwrap();
        wait_for_text(&client, ".otp-error", "2 attempts left").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            app.relay.logs_flushed().matches("wrong code").count(),
            1,
            "one request reached the relay"
        );
    })
    .await;
}

#[tokio::test]
async fn the_page_is_usable_at_phone_width_and_by_keyboard() {
    let app = Arc::new(app(&[]));
    let shared = Arc::clone(&app);
    with_browser_sized("phone_keyboard", 390, 844, |client| async move {
        let app = shared;
        open(&client, &app).await;
        let width: f64 = client
            .execute("return document.documentElement.scrollWidth;", vec![])
            .await
            .unwrap()
            .as_f64()
            .unwrap();
        assert!(
            width <= 390.0,
            "no horizontal scrolling at phone width ({width})"
        );
        // Keyboard only: focus the field, type, Enter.
        client
            .execute(
                "document.querySelector('input[type=email]').focus();",
                vec![],
            )
            .await
            .unwrap();
        let field = client.active_element().await.unwrap();
        field.send_keys("ivy@example.com\u{E007}").await.unwrap();
        wait_for_text(&client, ".otp-hint", "ivy@example.com").await;
        let label: String = client
            .execute(
                "return document.querySelector('label[for$=-code]').textContent;",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(label, "6-digit code");
        let live: String = client
            .execute(
                "return document.querySelector('.otp-notice').getAttribute('aria-live');",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_eq!(live, "polite");
        screenshot(&client, "phone-code-step").await;
        let code = app.smtp.last_to("ivy@example.com").code();
        client
            .active_element()
            .await
            .unwrap()
            .send_keys(&code)
            .await
            .unwrap();
        wait_for_text(&client, ".otp-success", "Address verified").await;
    })
    .await;
}

#[tokio::test]
async fn in_development_the_page_links_to_the_outbox() {
    let dist = dist_dir().display().to_string();
    let relay = Arc::new(RelayProcess::dev(&[
        ("OTP_RELAY_STATIC_DIR".into(), dist),
        ("OTP_RELAY_POW".into(), "on".into()),
    ]));
    let shared = Arc::clone(&relay);
    with_browser("dev_outbox", |client| async move {
        let relay = shared;
        client.goto(&format!("{}/", relay.url)).await.unwrap();
        let link = wait_for(&client, ".otp-dev a").await;
        let href = link.prop("href").await.unwrap().unwrap();
        assert_eq!(href, format!("{}/dev/outbox", relay.url));
        request_code(&client, "jo@example.com").await;
        wait_for_text(&client, ".otp-hint", "jo@example.com").await;
        let outbox = relay
            .client
            .get(&href)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let code = outbox
            .split("@127.0.0.1 #")
            .nth(1)
            .map(|rest| rest[..6].to_string())
            .expect("the code in the outbox page");
        type_code(&client, &code).await;
        wait_for_text(&client, ".otp-success", "Address verified").await;
    })
    .await;
}
