//! The widget embedded in another site: a host page on its own origin loads it with one script
//! tag and one element.

use fantoccini::Client;
use otp_relay_tests::browser::{dist_dir, screenshot, with_browser};
use otp_relay_tests::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) struct Embed {
    pub(crate) site: HostSite,
    pub(crate) app: TestApp,
}

/// A host site and a relay that allows it and serves the widget.
pub(crate) fn embed() -> Arc<Embed> {
    let site = HostSite::start();
    let dist = dist_dir().display().to_string();
    let origin = site.origin();
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_STATIC_DIR", dist.as_str()),
        ("OTP_RELAY_ALLOWED_ORIGINS", origin.as_str()),
        ("OTP_RELAY_POW", "on"),
    ]);
    Arc::new(Embed { site, app })
}

impl Embed {
    pub(crate) fn script(&self) -> String {
        format!(
            r#"<script type="module" src="{}/widget/v1/otp-verify.js"></script>"#,
            self.app.relay.url
        )
    }

    /// A host page with `body` and an event recorder.
    pub(crate) fn page(&self, name: &str, head: &str, body: &str) -> String {
        self.site.page(
            name,
            &format!(
                r#"<!doctype html><html><head><meta charset="utf-8">{}{head}</head><body>{body}
<script>
  window.otpEvents = [];
  for (const type of ["otp-verified", "otp-error"]) {{
    document.addEventListener(type, (e) => window.otpEvents.push({{type, target: e.target.id, detail: e.detail}}));
  }}
</script></body></html>"#,
                self.script()
            ),
        )
    }
}

/// The backend check of README (the relay's published keys), with this site's origin as
/// audience.
pub(crate) async fn backend_accepts(
    relay_url: &str,
    proof: &str,
    audience: &str,
    issuer: &str,
) -> bool {
    let jwks = fetch_jwks(relay_url).await;
    check_proof(proof, &jwks, audience, issuer).is_ok()
}

/// Runs `script` with `root` bound to the shadow root of the element matching `host`.
pub(crate) async fn in_shadow(
    client: &Client,
    host: &str,
    script: &str,
    args: Vec<Value>,
) -> Value {
    let wrapped = format!(
        "const root = document.querySelector({host:?}).shadowRoot; if (!root) return null; {script}"
    );
    client.execute(&wrapped, args).await.unwrap_or(Value::Null)
}

/// Waits until the widget's text contains `text`.
pub(crate) async fn wait_widget_text(client: &Client, host: &str, text: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let seen = in_shadow(client, host, "return root.textContent;", vec![]).await;
        let seen = seen.as_str().unwrap_or_default().to_string();
        if seen.contains(text) {
            return seen;
        }
        assert!(Instant::now() < deadline, "{host}: no {text:?} in {seen:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Types into the widget's field (one input event, as typing the last key or pasting does).
pub(crate) async fn widget_type(client: &Client, host: &str, field: &str, text: &str) {
    in_shadow(
        client,
        host,
        "const f = root.querySelector(arguments[0]); f.focus(); f.value = arguments[1];
         f.dispatchEvent(new InputEvent('input', {bubbles: true}));",
        vec![json!(field), json!(text)],
    )
    .await;
}

pub(crate) async fn widget_click(client: &Client, host: &str, button: &str) {
    in_shadow(
        client,
        host,
        "root.querySelector(arguments[0]).click();",
        vec![json!(button)],
    )
    .await;
}

/// Opens a host page and waits for its widget `#w` to show.
async fn open_page(client: &Client, url: &str) {
    client.goto(url).await.unwrap();
    wait_widget_text(client, "#w", "Email address").await;
}

pub(crate) async fn request_code(client: &Client, host: &str, email: &str) {
    wait_widget_text(client, host, "Email address").await;
    widget_type(client, host, "input[type=email]", email).await;
    widget_click(client, host, "button[type=submit]").await;
    wait_widget_text(client, host, "Enter the code").await;
}

pub(crate) async fn enter_code(client: &Client, host: &str, code: &str) {
    widget_type(client, host, "input[autocomplete=one-time-code]", code).await;
    wait_widget_text(client, host, "Address verified").await;
}

pub(crate) async fn events(client: &Client) -> Vec<Value> {
    client
        .execute("return window.otpEvents;", vec![])
        .await
        .unwrap()
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_site_embeds_the_widget_and_its_backend_accepts_the_proof() {
    let embed = embed();
    let path = embed.page("plain.html", "", r#"<otp-verify id="w"></otp-verify>"#);
    let shared = Arc::clone(&embed);
    with_browser("widget_plain", |client| async move {
        let embed = shared;
        client
            .goto(&format!("{}{path}", embed.site.origin()))
            .await
            .unwrap();
        // A widget's titles sit below its host page's headings: an `h2` of level 2.
        wait_widget_text(&client, "#w", "Verify your email").await;
        let headings = in_shadow(
            &client,
            "#w",
            "return [...root.querySelectorAll('h1, h2, [aria-level]')]
                .map(h => h.tagName + (h.getAttribute('aria-level') || ''));",
            vec![],
        )
        .await;
        assert_eq!(headings, serde_json::json!(["H22"]));
        request_code(&client, "#w", "wendy@example.com").await;
        let code = embed.app.smtp.last_to("wendy@example.com").code();
        let message = embed.app.smtp.last_to("wendy@example.com");
        assert!(
            message
                .text
                .trim_end()
                .ends_with(&format!("@127.0.0.1 #{code}")),
            "autofill names the embedding site"
        );
        enter_code(&client, "#w", &code).await;
        let events = events(&client).await;
        let verified = events
            .iter()
            .find(|e| e["type"] == "otp-verified")
            .expect("otp-verified on the page");
        assert_eq!(verified["target"], "w");
        assert_eq!(verified["detail"]["email"], "wendy@example.com");
        assert!(
            verified["detail"]["expires_at"]
                .as_str()
                .unwrap()
                .ends_with('Z')
        );
        let proof = verified["detail"]["proof"].as_str().unwrap();
        let issuer = embed.app.relay.url.clone();
        assert!(
            backend_accepts(&issuer, proof, &embed.site.origin(), &issuer).await,
            "this site's backend accepts it"
        );
        assert!(
            !backend_accepts(&issuer, proof, &embed.site.other_origin(), &issuer).await,
            "another site's backend refuses it"
        );
        screenshot(&client, "widget-verified").await;
    })
    .await;
}

#[tokio::test]
async fn form_mode_holds_the_submission_until_verified_then_sends_the_proof() {
    let embed = embed();
    embed.site.page("thanks.html", "<p id=thanks>Thanks</p>");
    let path = embed.page(
        "form.html",
        "",
        r#"<form id="signup" action="/thanks.html" method="get">
             <input name="name" value="Wendy">
             <otp-verify id="w" name="email_proof"></otp-verify>
             <button id="send" type="submit">Sign up</button>
           </form>"#,
    );
    let shared = Arc::clone(&embed);
    with_browser("widget_form", |client| async move {
        let embed = shared;
        let url = format!("{}{path}", embed.site.origin());
        client.goto(&url).await.unwrap();
        wait_widget_text(&client, "#w", "Email address").await;
        client
            .execute("document.getElementById('send').click();", vec![])
            .await
            .unwrap();
        wait_widget_text(&client, "#w", "Verify your email address first").await;
        assert_eq!(
            client.current_url().await.unwrap().as_str(),
            url,
            "the form was held back"
        );
        let held = events(&client).await;
        assert!(
            held.iter().any(|e| e["detail"]["code"] == "not_verified"),
            "{held:?}"
        );
        let hidden: Value = client
            .execute(
                "return document.querySelector('input[type=hidden][name=email_proof]').value;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(hidden, "", "no proof before verification");

        request_code(&client, "#w", "form@example.com").await;
        let code = embed.app.smtp.last_to("form@example.com").code();
        widget_type(&client, "#w", "input[autocomplete=one-time-code]", &code).await;
        // The held-back submission goes on by itself once verified.
        let deadline = Instant::now() + Duration::from_secs(15);
        while !client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .contains("thanks.html")
        {
            assert!(
                Instant::now() < deadline,
                "the form was not submitted after verification"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let submitted = client.current_url().await.unwrap();
        let fields: std::collections::HashMap<String, String> =
            submitted.query_pairs().into_owned().collect();
        assert_eq!(fields["name"], "Wendy");
        let issuer = embed.app.relay.url.clone();
        assert!(
            backend_accepts(
                &issuer,
                &fields["email_proof"],
                &embed.site.origin(),
                &issuer
            )
            .await
        );
    })
    .await;
}

/// The computed look of the widget's field and button.
async fn widget_styles(client: &Client) -> Value {
    in_shadow(
        client,
        "#w",
        "const pick = (el) => { const s = getComputedStyle(el);
           return [s.display, s.fontFamily, s.fontSize, s.color, s.backgroundColor, s.borderTopStyle,
                   s.borderTopWidth, s.borderTopColor, s.paddingTop, s.width, s.height].join('|'); };
         return { input: pick(root.querySelector('input')), button: pick(root.querySelector('button')),
                  box: pick(root.querySelector('.otp')) };",
        vec![],
    )
    .await
}

#[tokio::test]
async fn host_css_for_inputs_buttons_and_everything_does_not_change_the_widget() {
    let embed = embed();
    let plain = embed.page("plain.html", "", r#"<otp-verify id="w"></otp-verify>"#);
    let hostile = embed.page(
        "hostile.html",
        r#"<style>
             html { font-size: 40px; }
             * { font-family: "Comic Sans MS", cursive !important; color: red !important; box-sizing: content-box !important; }
             input { border: 5px dotted lime !important; background: yellow !important; padding: 30px !important; width: 50px !important; }
             button { background: black !important; color: white !important; border-radius: 0 !important; display: none !important; }
             body { font-size: 30px; line-height: 3; color: green; }
           </style>"#,
        r#"<otp-verify id="w"></otp-verify>"#,
    );
    let shared = Arc::clone(&embed);
    with_browser("widget_host_css", |client| async move {
        let embed = shared;
        open_page(&client, &format!("{}{plain}", embed.site.origin())).await;
        let reference = widget_styles(&client).await;
        open_page(&client, &format!("{}{hostile}", embed.site.origin())).await;
        screenshot(&client, "widget-hostile-css").await;
        let styled = widget_styles(&client).await;
        assert!(!reference["input"].is_null());
        assert_eq!(
            styled, reference,
            "the host page's CSS leaked into the widget"
        );
        // And the widget's CSS does not leak out: the host's own input keeps the host's style.
        let host_input: Value = client
            .execute(
                "document.body.insertAdjacentHTML('beforeend', '<input id=mine>');
                      return getComputedStyle(document.getElementById('mine')).borderTopStyle;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(host_input, "dotted");
    })
    .await;
}

#[tokio::test]
async fn css_custom_properties_theme_the_widget() {
    let embed = embed();
    let path = embed.page(
        "themed.html",
        r#"<style>
             .brand { --otp-accent: #7a1fa2; --otp-accent-text: #fffff0; --otp-radius: 0px;
                      --otp-font: monospace; }
           </style>"#,
        r#"<div class="brand"><otp-verify id="w"></otp-verify></div>"#,
    );
    let shared = Arc::clone(&embed);
    with_browser("widget_theme", |client| async move {
        let embed = shared;
        open_page(&client, &format!("{}{path}", embed.site.origin())).await;
        let look = in_shadow(
            &client,
            "#w",
            "const b = getComputedStyle(root.querySelector('button[type=submit]'));
             const i = getComputedStyle(root.querySelector('input'));
             return [b.backgroundColor, b.color, b.borderTopLeftRadius, i.fontFamily];",
            vec![],
        )
        .await;
        assert_eq!(
            look,
            json!([
                "rgb(122, 31, 162)",
                "rgb(255, 255, 240)",
                "0px",
                "monospace"
            ])
        );
    })
    .await;
}

#[tokio::test]
async fn an_origin_not_on_the_allow_list_gets_a_clear_error_in_the_widget() {
    let embed = embed();
    let path = embed.page("plain.html", "", r#"<otp-verify id="w"></otp-verify>"#);
    let shared = Arc::clone(&embed);
    with_browser("widget_not_allowed", |client| async move {
        let embed = shared;
        open_page(&client, &format!("{}{path}", embed.site.other_origin())).await;
        widget_type(&client, "#w", "input[type=email]", "nope@example.com").await;
        widget_click(&client, "#w", "button[type=submit]").await;
        wait_widget_text(
            &client,
            "#w",
            "This site is not allowed to use this verification service",
        )
        .await;
        let events = events(&client).await;
        assert!(
            events
                .iter()
                .any(|e| e["detail"]["code"] == "origin_not_allowed"),
            "{events:?}"
        );
        assert_eq!(embed.app.smtp.count(), 0);
    })
    .await;
}

#[tokio::test]
async fn what_an_embedding_page_downloads_stays_within_the_size_budget() {
    let embed = embed();
    let path = embed.page("plain.html", "", r#"<otp-verify id="w"></otp-verify>"#);
    let shared = Arc::clone(&embed);
    with_browser("widget_size", |client| async move {
        let embed = shared;
        open_page(&client, &format!("{}{path}", embed.site.origin())).await;
        let resources: Value = client
            .execute(
                "return performance.getEntriesByType('resource')
                   .filter(r => r.name.startsWith(arguments[0]))
                   .map(r => ({name: r.name, bytes: r.encodedBodySize}));",
                vec![json!(embed.app.relay.url)],
            )
            .await
            .unwrap();
        let resources = resources.as_array().unwrap();
        let names: Vec<&str> = resources
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        for kind in ["otp-verify.js", "_bg.wasm", ".css"] {
            assert!(
                names.iter().any(|n| n.contains(kind)),
                "{kind} not among {names:?}"
            );
        }
        let total: u64 = resources.iter().filter_map(|r| r["bytes"].as_u64()).sum();
        assert!(total > 10_000, "sizes are visible ({resources:?})");
        assert!(
            total <= 80_000,
            "the widget downloads {total} bytes, over the budget of 80,000: {resources:?}"
        );
        println!(
            "widget download: {total} bytes over {} files",
            resources.len()
        );
    })
    .await;
}

#[tokio::test]
async fn several_widgets_work_independently_and_mounting_leaks_nothing() {
    let embed = embed();
    let path = embed.page(
        "many.html",
        "",
        r#"<otp-verify id="a"></otp-verify><otp-verify id="b" email="bee@example.com"></otp-verify><div id="spot"></div>"#,
    );
    let shared = Arc::clone(&embed);
    with_browser("widget_many", |client| async move {
        let embed = shared;
        client
            .goto(&format!("{}{path}", embed.site.origin()))
            .await
            .unwrap();
        request_code(&client, "#a", "ann@example.com").await;
        let b = wait_widget_text(&client, "#b", "Email address").await;
        assert!(b.contains("Verify your email"), "b stays on its first step");
        let b_value = in_shadow(
            &client,
            "#b",
            "return root.querySelector('input[type=email]').value;",
            vec![],
        )
        .await;
        assert_eq!(b_value, "bee@example.com");
        let ids = client
            .execute(
                "return [...document.querySelectorAll('otp-verify')]
                   .map(w => w.shadowRoot.querySelector('input').id);",
                vec![],
            )
            .await
            .unwrap();
        assert_ne!(ids[0], ids[1], "each widget has its own element ids");
        enter_code(
            &client,
            "#a",
            &embed.app.smtp.last_to("ann@example.com").code(),
        )
        .await;
        wait_widget_text(&client, "#b", "Send code").await;

        // The JavaScript API: mount, reset, destroy, many times over.
        let report = client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 (async () => {
                   const widget = await import(arguments[0]);
                   const spot = document.getElementById('spot');
                   const cycle = async (n) => {
                     for (let i = 0; i < n; i++) {
                       const handle = await widget.mount(spot, { email: 'x' + i + '@example.com' });
                       await new Promise((r) => setTimeout(r, 0));
                       handle.reset();
                       await new Promise((r) => setTimeout(r, 0));
                       handle.destroy();
                     }
                   };
                   await cycle(50);
                   const warm = await widget.memoryBytes();
                   await cycle(300);
                   const after = await widget.memoryBytes();
                   const handle = await widget.mount(spot, { email: 'kept@example.com' });
                   await new Promise((r) => setTimeout(r, 50));
                   const shown = spot.shadowRoot.querySelector('input').value;
                   handle.destroy();
                   const statusRequests = performance.getEntriesByType('resource')
                     .filter((e) => e.name.endsWith('/widget/v1/status')).length;
                   done({ warm, after, shown, left: spot.shadowRoot.childNodes.length,
                          hidden: document.querySelectorAll('input[type=hidden]').length,
                          statusRequests });
                 })().catch((e) => done({ error: String(e) }));",
                vec![json!(format!(
                    "{}/widget/v1/otp-verify.js",
                    embed.app.relay.url
                ))],
            )
            .await
            .unwrap();
        assert!(report["error"].is_null(), "{report}");
        assert_eq!(report["shown"], "kept@example.com");
        assert_eq!(report["left"], 0, "destroy leaves an empty shadow root");
        assert_eq!(report["hidden"], 0);
        // The page's status is asked once, not once per mount (the two widgets on the page may
        // both ask before the first answer arrives).
        assert!(
            report["statusRequests"].as_u64().unwrap() <= 3,
            "351 mounts asked for the status {} times",
            report["statusRequests"]
        );
        let (warm, after) = (
            report["warm"].as_f64().unwrap(),
            report["after"].as_f64().unwrap(),
        );
        assert!(
            after - warm <= 65_536.0,
            "300 more mounts grew wasm memory from {warm} to {after}"
        );
        // The page's own widgets still work.
        request_code(&client, "#b", "bee@example.com").await;
    })
    .await;
}
