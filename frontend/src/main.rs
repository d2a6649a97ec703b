//! The single-page app: mounts the flow into the page's `[data-otp-page]` element and tells the
//! page about the result with `otp-verified` and `otp-error` events on that element. Loaded as
//! the widget's module (on another site's page), it finds no such element and does nothing.

use otp_relay_frontend::components::VerifyFlowProps;
use otp_relay_frontend::flow::VerifiedProof;
use otp_relay_frontend::widget::object;
use otp_relay_frontend::words::{self, Words};
use web_sys::{CustomEvent, CustomEventInit, Element};
use yew::Callback;

fn dispatch(target: &Element, name: &str, detail: &[(&str, &str)]) {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(&object(detail));
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = target.dispatch_event(&event);
    }
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `navigator.languages`: the browser's languages in order of preference. The page follows
    /// the browser.
    #[wasm_bindgen(thread_local_v2, js_namespace = navigator, js_name = languages)]
    static BROWSER_LANGUAGES: js_sys::Array;
}

fn main() {
    let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("[data-otp-page]").ok().flatten())
    else {
        return;
    };
    let relay = root.get_attribute("data-relay").unwrap_or_default();
    let verified_target = root.clone();
    let error_target = root.clone();
    let props = VerifyFlowProps {
        is_page: true,
        relay: relay.into(),
        email: root.get_attribute("data-email").unwrap_or_default().into(),
        // `data-link` on the page's element: the email also carries a link back to this page.
        link: root.has_attribute("data-link"),
        on_verified: Callback::from(move |proof: VerifiedProof| {
            dispatch(
                &verified_target,
                "otp-verified",
                &[
                    ("email", &proof.email),
                    ("proof", &proof.proof),
                    ("expires_at", &proof.expires_at),
                ],
            );
        }),
        on_error: Callback::from(move |(code, message): (String, String)| {
            dispatch(
                &error_target,
                "otp-error",
                &[("code", &code), ("message", &message)],
            );
        }),
        hold: 0,
        // The tab's title and the document's language follow the flow's.
        on_language: Callback::from(|words: Words| {
            if let Some(document) = web_sys::window().and_then(|w| w.document()) {
                document.set_title(&format!("{} · otp-relay", words.text(words::UI_TITLE)));
                if let Some(html) = document.document_element() {
                    let _ = html.set_attribute("lang", words.lang.tag());
                }
            }
        }),
        lang: String::from(BROWSER_LANGUAGES.with(|list| list.join(","))).into(),
    };
    // The page lives as long as the app: keep it mounted.
    std::mem::forget(otp_relay_frontend::mount(root, props));
}
