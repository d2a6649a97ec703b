//! The page and the widget in the person's language: Chromium's language set to German,
//! Japanese and Arabic, a widget's own `lang` on a page in another. The expected sentences come
//! from the catalogues (`i18n/`), so a translator's edit does not break a test, and each is
//! checked to differ from the English one.

use super::flow::{open_url, request_code, type_code};
use super::widget::{Embed, embed, in_shadow, wait_widget_text, widget_click, widget_type};
use otp_relay_shared::{Catalogue, Lang};
use otp_relay_tests::browser::{screenshot, wait_for_text, with_browser_in};
use std::sync::Arc;

/// The sentences a test waits for, in `lang`.
struct Expected {
    title: String,
    sent_to: String,
    wrong_two_left: String,
    verified_title: String,
    verified: String,
}

impl Expected {
    fn of(lang: Lang) -> Expected {
        let words = Catalogue::builtin(lang);
        let english = Catalogue::english();
        let expected = Expected {
            title: words.text("ui.title", &[]),
            sent_to: words.text("ui.sent_to", &[("email", "ada@example.com")]),
            wrong_two_left: words.plural("refusal.wrong", 2, &[]),
            verified_title: words.text("ui.verified_title", &[]),
            verified: words.text("ui.verified", &[("email", "ada@example.com")]),
        };
        assert_ne!(expected.title, english.text("ui.title", &[]));
        assert_ne!(
            expected.wrong_two_left,
            english.plural("refusal.wrong", 2, &[])
        );
        expected
    }
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    code.chars()
        .map(|c| if c == '1' { '2' } else { '1' })
        .collect()
}

/// The root's `lang`, `dir` and computed direction, and for the title whether its text sits
/// against the side the language starts from (right for Arabic, left otherwise).
const LAYOUT: &str = "
    const section = root.querySelector('section.otp');
    const title = section.querySelector('.otp-title');
    const range = document.createRange();
    range.selectNodeContents(title);
    const text = range.getBoundingClientRect(), box = title.getBoundingClientRect();
    return {lang: section.getAttribute('lang'), dir: section.getAttribute('dir'),
            direction: getComputedStyle(section).direction,
            gap_left: text.left - box.left, gap_right: box.right - text.right};";

fn check_layout(layout: &serde_json::Value, lang: Lang) {
    assert_eq!(layout["lang"], lang.tag(), "{layout}");
    let (dir, near, far) = if lang.is_rtl() {
        ("rtl", "gap_right", "gap_left")
    } else {
        ("ltr", "gap_left", "gap_right")
    };
    assert_eq!(layout["dir"], dir, "{layout}");
    assert_eq!(layout["direction"], dir, "{layout}");
    let (near, far) = (
        layout[near].as_f64().unwrap(),
        layout[far].as_f64().unwrap(),
    );
    assert!(
        near < 2.0 && far > near + 5.0,
        "the title starts on the {dir} side: {layout}"
    );
}

/// The page, then a widget on a page with no language of its own, through the whole flow in
/// the browser's language: the email step, a wrong code with the attempts left, success; and
/// the email that arrives is in that language too.
async fn page_and_widget_speak(lang: Lang) {
    let embed = embed();
    let shared = Arc::clone(&embed);
    with_browser_in(
        &format!("language_{}", lang.tag()),
        lang.tag(),
        |client| async move {
            let embed = shared;
            let expected = Expected::of(lang);
            let languages = client
                .execute("return navigator.languages;", vec![])
                .await
                .unwrap();
            // The page, as the relay serves it.
            open_url(&client, &embed.app.relay.url).await;
            wait_for_text(&client, ".otp-title", &expected.title).await;
            let layout = client
                .execute(&format!("const root = document; {LAYOUT}"), vec![])
                .await
                .unwrap();
            check_layout(&layout, lang);
            // The page's tab and document follow too.
            let document = client
                .execute(
                    "return [document.title, document.documentElement.lang];",
                    vec![],
                )
                .await
                .unwrap();
            assert_eq!(
                document[0],
                format!("{} · otp-relay", expected.title),
                "the tab"
            );
            assert_eq!(document[1], lang.tag());
            request_code(&client, "ada@example.com").await;
            wait_for_text(&client, ".otp-hint", &expected.sent_to).await;
            let code = delivered_in(&embed, lang, 1);
            type_code(&client, &wrong(&code)).await;
            wait_for_text(&client, ".otp-notice", &expected.wrong_two_left).await;
            // For a person to look at (test-artifacts/screenshots/).
            screenshot(&client, &format!("language_{}_wrong_code", lang.tag())).await;
            type_code(&client, &code).await;
            wait_for_text(&client, ".otp-success", &expected.verified_title).await;
            wait_for_text(&client, ".otp-success", &expected.verified).await;

            // The widget on a site's page that does not say its language: the browser's.
            let path = embed.page("plain.html", "", r#"<otp-verify id="w"></otp-verify>"#);
            client
                .goto(&format!("{}{path}", embed.site.origin()))
                .await
                .unwrap();
            wait_widget_text(&client, "#w", &expected.title).await;
            check_layout(&in_shadow(&client, "#w", LAYOUT, vec![]).await, lang);
            widget_type(&client, "#w", "input[type=email]", "ada@example.com").await;
            widget_click(&client, "#w", "button[type=submit]").await;
            wait_widget_text(&client, "#w", &expected.sent_to).await;
            let code = delivered_in(&embed, lang, 2);
            widget_type(
                &client,
                "#w",
                "input[autocomplete=one-time-code]",
                &wrong(&code),
            )
            .await;
            wait_widget_text(&client, "#w", &expected.wrong_two_left).await;
            widget_type(&client, "#w", "input[autocomplete=one-time-code]", &code).await;
            wait_widget_text(&client, "#w", &expected.verified_title).await;
            println!("{}: navigator.languages {languages}", lang.tag());
        },
    )
    .await;
}

/// The code of the `nth` email to ada@example.com, checked to be written in `lang`.
fn delivered_in(embed: &Embed, lang: Lang, nth: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while embed.app.smtp.raw_messages().len() < nth {
        assert!(
            std::time::Instant::now() < deadline,
            "email {nth} did not arrive"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let email = embed.app.smtp.last_to("ada@example.com");
    let header = format!("Content-Language: {}", lang.tag());
    assert!(email.raw.contains(&header), "{header} in {}", email.raw);
    email.code()
}

#[tokio::test]
async fn in_german_the_page_and_the_widget_speak_german() {
    page_and_widget_speak(Lang::De).await;
}

#[tokio::test]
async fn in_japanese_the_page_and_the_widget_speak_japanese() {
    page_and_widget_speak(Lang::Ja).await;
}

#[tokio::test]
async fn in_arabic_the_page_and_the_widget_speak_arabic_right_to_left() {
    page_and_widget_speak(Lang::Ar).await;
}

/// A widget's own `lang` wins over the page's `<html lang>` and the browser's; a widget beside
/// it without one follows the page. Mounting from script takes `{lang}` too.
#[tokio::test]
async fn a_french_widget_on_an_english_page_is_french() {
    let embed = embed();
    let path = embed.site.page(
        "english.html",
        &format!(
            r#"<!doctype html><html lang="en"><head><meta charset="utf-8">{}</head><body>
<otp-verify id="fr" lang="fr"></otp-verify><otp-verify id="en"></otp-verify><div id="es"></div>
<script type="module">
  import {{ mount }} from "{}/widget/v1/otp-verify.js";
  mount(document.getElementById("es"), {{ lang: "es" }});
</script></body></html>"#,
            embed.script(),
            embed.app.relay.url
        ),
    );
    let shared = Arc::clone(&embed);
    with_browser_in("language_fr_widget", "de", |client| async move {
        let embed = shared;
        client
            .goto(&format!("{}{path}", embed.site.origin()))
            .await
            .unwrap();
        let french = Catalogue::builtin(Lang::Fr);
        wait_widget_text(&client, "#fr", &french.text("ui.title", &[])).await;
        wait_widget_text(&client, "#en", "Verify your email").await;
        wait_widget_text(
            &client,
            "#es",
            &Catalogue::builtin(Lang::Es).text("ui.title", &[]),
        )
        .await;
        check_layout(&in_shadow(&client, "#fr", LAYOUT, vec![]).await, Lang::Fr);
        // The French widget's email is French.
        widget_type(&client, "#fr", "input[type=email]", "ada@example.com").await;
        widget_click(&client, "#fr", "button[type=submit]").await;
        delivered_in(&embed, Lang::Fr, 1);
    })
    .await;
}
