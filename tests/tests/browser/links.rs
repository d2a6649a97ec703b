//! The email's link (docs/security.md, A32): the page it opens asks the person to confirm, and
//! nothing else spends it: not a `HEAD` or `GET` of its URL, not a browser that loads it and runs
//! its scripts, not a script that clicks or submits. A person's click verifies, and the tab where
//! they asked for the code completes too. A link sent to another page, or opened on another
//! origin, is refused, and the code still works.

use crate::widget::{
    backend_accepts, enter_code, events, in_shadow, request_code, wait_widget_text,
};
use fantoccini::Client;
use fantoccini::elements::{Element, ElementRef};
use otp_relay_tests::browser::{Browser, dist_dir, screenshot, wait_for_text, with_browser};
use otp_relay_tests::*;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A host site whose pages (`signup.html`, `other.html`) carry `<otp-verify link>`, and a relay
/// that allows the site under both of its origins.
struct LinkSite {
    site: HostSite,
    app: TestApp,
}

fn link_site(extra: &[(&str, &str)]) -> Arc<LinkSite> {
    let site = HostSite::start();
    let dist = dist_dir().display().to_string();
    let origins = format!("{},{}", site.origin(), site.other_origin());
    let mut settings = vec![
        ("OTP_RELAY_STATIC_DIR", dist.as_str()),
        ("OTP_RELAY_ALLOWED_ORIGINS", origins.as_str()),
        ("OTP_RELAY_POW", "on"),
    ];
    settings.extend_from_slice(extra);
    let app = TestApp::spawn_with(&settings);
    let linked = LinkSite { site, app };
    for page in ["signup.html", "other.html"] {
        linked.page(page, r#"<otp-verify id="w" link></otp-verify>"#);
    }
    Arc::new(linked)
}

impl LinkSite {
    /// A page with `body`, the widget's script and an event recorder.
    fn page(&self, name: &str, body: &str) -> String {
        self.site.page(
            name,
            &format!(
                r#"<!doctype html><html><head><meta charset="utf-8"><script type="module" src="{}/widget/v1/otp-verify.js"></script></head><body>{body}
<script>
  window.otpEvents = [];
  for (const type of ["otp-verified", "otp-error"]) {{
    document.addEventListener(type, (e) => window.otpEvents.push({{type, detail: e.detail}}));
  }}
</script></body></html>"#,
                self.app.relay.url
            ),
        )
    }

    fn url(&self, page: &str) -> String {
        format!("{}/{page}", self.site.origin())
    }

    /// The link in the newest message to `email`.
    fn link_to(&self, email: &str) -> String {
        self.app
            .smtp
            .last_to(email)
            .link()
            .expect("the email carries a link")
    }
}

/// Opens `url` in a new tab of the same browser, as a mail program opens a link, and switches
/// to it.
async fn open_in_new_tab(client: &Client, url: &str) {
    let tab = client.new_window(true).await.unwrap();
    client.switch_to_window(tab.handle).await.unwrap();
    client.goto(url).await.unwrap();
}

/// Presses the widget's confirm button as a person does: a WebDriver click, which the page sees
/// as a trusted event.
async fn confirm_by_hand(client: &Client) {
    wait_widget_text(client, "#w", "is yours").await;
    let found = in_shadow(
        client,
        "#w",
        "return root.querySelector('button.otp-primary');",
        vec![],
    )
    .await;
    let id = found
        .as_object()
        .and_then(|o| o.values().next())
        .and_then(Value::as_str)
        .expect("the confirm button")
        .to_string();
    Element::from_element_id(client.clone(), ElementRef::from(id))
        .click()
        .await
        .expect("a click on the confirm button");
}

/// What a mail scanner's browser does on the page: it has run the page's scripts; now scripts of
/// its own click every button and submit every form, without a person.
async fn click_and_submit_by_script(client: &Client) {
    in_shadow(
        client,
        "#w",
        "root.querySelectorAll('button').forEach((b) => b.click());
         root.querySelectorAll('form').forEach((f) => f.requestSubmit());
         document.querySelectorAll('form').forEach((f) => f.requestSubmit());",
        vec![],
    )
    .await;
}

fn verified_events(seen: &[Value]) -> Vec<&Value> {
    seen.iter()
        .filter(|e| e["type"] == "otp-verified")
        .collect()
}

#[tokio::test]
async fn a_scanner_that_fetches_or_runs_the_link_spends_nothing_and_the_code_still_works() {
    let linked = link_site(&[]);
    let (person, scanner) = Browser::start_two().await;
    let (person_client, scanner_client) = (person.client.clone(), scanner.client.clone());
    let shared = Arc::clone(&linked);
    let test = tokio::spawn(async move {
        let linked = shared;
        let (person, scanner) = (person_client, scanner_client);
        person.goto(&linked.url("signup.html")).await.unwrap();
        request_code(&person, "#w", "scan@example.com").await;
        let message = linked.app.smtp.last_to("scan@example.com");
        let link = message.link().expect("the email carries a link");
        assert!(
            link.starts_with(&format!("{}#otp-link=", linked.url("signup.html"))),
            "{link}"
        );
        assert!(link.ends_with("&email=scan%40example.com"), "{link}");
        assert!(!link.contains(&message.code()), "the link is not the code");
        assert!(
            message.html.contains("Confirm my address"),
            "the HTML part has the button"
        );

        // HEAD and GET, as a link checker sends them: the fragment never leaves the client, so
        // the site's server is asked for the page and nothing else.
        let http = reqwest::Client::new();
        for method in [reqwest::Method::HEAD, reqwest::Method::GET] {
            let answer = http.request(method.clone(), &link).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{method}");
            assert_eq!(answer.url().fragment(), None);
        }

        // A browser that loads it and runs it: the page shows the question and takes the
        // fragment out of the address bar; scripts that click and submit spend nothing.
        scanner.goto(&link).await.unwrap();
        wait_widget_text(&scanner, "#w", "Confirm that scan@example.com is yours").await;
        let address: Value = scanner
            .execute("return location.href;", vec![])
            .await
            .unwrap();
        assert_eq!(address, json!(linked.url("signup.html")));
        click_and_submit_by_script(&scanner).await;
        // Long enough for a request a script set off to come back (a verify takes a few ms).
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let text = wait_widget_text(&scanner, "#w", "is yours").await;
        assert!(!text.contains("Address verified"), "{text}");
        assert!(verified_events(&events(&scanner).await).is_empty());

        // The person still verifies with the code.
        enter_code(&person, "#w", &message.code()).await;
        let seen = events(&person).await;
        assert_eq!(verified_events(&seen).len(), 1, "{seen:?}");
    });
    let outcome = test.await;
    if outcome.is_err() {
        screenshot(&person.client, "links_scanner_person").await;
        screenshot(&scanner.client, "links_scanner_scanner").await;
    }
    person.close().await;
    scanner.close().await;
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}

#[tokio::test]
async fn a_click_on_the_link_gives_the_proof_and_the_tab_that_asked_completes_too() {
    let linked = link_site(&[]);
    let shared = Arc::clone(&linked);
    with_browser("links_same_browser", |client| async move {
        let linked = shared;
        client.goto(&linked.url("signup.html")).await.unwrap();
        request_code(&client, "#w", "tap@example.com").await;
        let asked_in = client.window().await.unwrap();
        let link = linked.link_to("tap@example.com");

        // The link, opened in another tab of the same browser, as a mail program opens it.
        open_in_new_tab(&client, &link).await;
        confirm_by_hand(&client).await;
        wait_widget_text(&client, "#w", "Address verified").await;
        let seen = events(&client).await;
        let verified = verified_events(&seen);
        assert_eq!(verified.len(), 1, "{seen:?}");
        assert_eq!(verified[0]["detail"]["email"], "tap@example.com");
        let proof = verified[0]["detail"]["proof"].as_str().unwrap().to_string();
        let issuer = linked.app.relay.url.clone();
        assert!(
            backend_accepts(&issuer, &proof, &linked.site.origin(), &issuer).await,
            "the site's backend accepts the proof"
        );

        // The tab where the person asked completes within a second, with the same proof.
        client.switch_to_window(asked_in).await.unwrap();
        let started = Instant::now();
        wait_widget_text(&client, "#w", "Address verified").await;
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        let seen = events(&client).await;
        let verified = verified_events(&seen);
        assert_eq!(verified.len(), 1, "{seen:?}");
        assert_eq!(verified[0]["detail"]["proof"], proof.as_str());

        // The link is spent.
        open_in_new_tab(&client, &link).await;
        confirm_by_hand(&client).await;
        wait_widget_text(&client, "#w", "already been used").await;
    })
    .await;
}

#[tokio::test]
async fn a_link_sent_to_another_page_or_opened_on_another_origin_is_refused() {
    let linked = link_site(&[]);
    let shared = Arc::clone(&linked);
    with_browser("links_refused", |client| async move {
        let linked = shared;
        client.goto(&linked.url("signup.html")).await.unwrap();
        request_code(&client, "#w", "moved@example.com").await;
        let asked_in = client.window().await.unwrap();
        let message = linked.app.smtp.last_to("moved@example.com");
        let link = message.link().unwrap();
        let to_other_page = link.replace("/signup.html#", "/other.html#");
        let on_other_origin = link.replace(&linked.site.origin(), &linked.site.other_origin());
        for (changed, says) in [
            (to_other_page, "This link does not work on this page"),
            (on_other_origin, "not valid here"),
        ] {
            open_in_new_tab(&client, &changed).await;
            confirm_by_hand(&client).await;
            wait_widget_text(&client, "#w", says).await;
            // A way forward: a new code for the same address.
            wait_widget_text(&client, "#w", "Get a new code").await;
            client.close_window().await.unwrap();
            client.switch_to_window(asked_in.clone()).await.unwrap();
        }
        // Nothing was spent: the code verifies in the tab that asked.
        enter_code(&client, "#w", &message.code()).await;
    })
    .await;
}

#[tokio::test]
async fn the_link_is_off_unless_the_element_the_mount_option_or_the_branding_asks() {
    // The relay brands the site's second origin with `"link": true`.
    let branding = tempfile::NamedTempFile::new().unwrap();
    let site = HostSite::start();
    std::fs::write(
        branding.path(),
        json!({ site.other_origin(): {"product": "Shop", "link": true} }).to_string(),
    )
    .unwrap();
    let dist = dist_dir().display().to_string();
    let origins = format!("{},{}", site.origin(), site.other_origin());
    let branding_path = branding.path().display().to_string();
    let app = TestApp::spawn_with(&[
        ("OTP_RELAY_STATIC_DIR", dist.as_str()),
        ("OTP_RELAY_ALLOWED_ORIGINS", origins.as_str()),
        ("OTP_RELAY_BRANDING", branding_path.as_str()),
        ("OTP_RELAY_POW", "on"),
    ]);
    let linked = Arc::new(LinkSite { site, app });
    linked.page("plain.html", r#"<otp-verify id="w"></otp-verify>"#);
    linked.page(
        "mounted.html",
        &format!(
            r#"<div id="w"></div><script type="module">
                 import {{ mount }} from "{}/widget/v1/otp-verify.js";
                 mount(document.getElementById("w"), {{ link: true }});
               </script>"#,
            linked.app.relay.url
        ),
    );
    let shared = Arc::clone(&linked);
    with_browser("links_switches", |client| async move {
        let linked = shared;
        for (origin, page, email, carries) in [
            (linked.site.origin(), "plain.html", "off@example.com", false),
            (
                linked.site.origin(),
                "mounted.html",
                "mounted@example.com",
                true,
            ),
            (
                linked.site.other_origin(),
                "plain.html",
                "branded@example.com",
                true,
            ),
        ] {
            let url = format!("{origin}/{page}");
            client.goto(&url).await.unwrap();
            request_code(&client, "#w", email).await;
            let link = linked.app.smtp.last_to(email).link();
            assert_eq!(link.is_some(), carries, "{url}: {link:?}");
            if let Some(link) = link {
                assert!(link.starts_with(&format!("{url}#otp-link=")), "{link}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn the_standalone_page_with_data_link_confirms_and_completes_its_other_tab() {
    // The built page with its element's `data-link` set, served by the relay.
    let page_dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(dist_dir()).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), page_dir.path().join(entry.file_name())).unwrap();
    }
    let index = page_dir.path().join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(html.contains("data-otp-page"));
    std::fs::write(
        &index,
        html.replace("data-otp-page", "data-otp-page data-link"),
    )
    .unwrap();
    // The relay sends the precompressed copy when there is one: drop it, so the edited page is
    // what is served.
    let _ = std::fs::remove_file(page_dir.path().join("index.html.gz"));
    let dir = page_dir.path().display().to_string();
    let app = Arc::new(TestApp::spawn_with(&[
        ("OTP_RELAY_STATIC_DIR", dir.as_str()),
        ("OTP_RELAY_POW", "on"),
    ]));
    let shared = Arc::clone(&app);
    with_browser("links_page", |client| async move {
        let app = shared;
        let page = format!("{}/", app.relay.url);
        crate::flow::open_url(&client, &app.relay.url).await;
        crate::flow::request_code(&client, "page@example.com").await;
        crate::flow::type_code_field_shown(&client).await;
        let asked_in = client.window().await.unwrap();
        let link = app.smtp.last_to("page@example.com").link().unwrap();
        assert!(link.starts_with(&format!("{page}#otp-link=")), "{link}");

        open_in_new_tab(&client, &link).await;
        wait_for_text(&client, "h1, h2", "is yours").await;
        let button = client
            .find(fantoccini::Locator::Css("button.otp-primary"))
            .await
            .unwrap();
        button.click().await.unwrap();
        wait_for_text(&client, "h1, h2", "Address verified").await;

        client.switch_to_window(asked_in).await.unwrap();
        wait_for_text(&client, "h1, h2", "Address verified").await;
    })
    .await;
}
