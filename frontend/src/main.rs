//! The single-page app: mounts the flow into the page's `[data-otp-page]` element and tells the
//! page about the result with `otp-verified` and `otp-error` events on that element. Loaded as
//! the widget's module (on another site's page), it finds no such element and does nothing.

use otp_relay_frontend::components::VerifyFlowProps;
use otp_relay_frontend::flow::VerifiedProof;
use otp_relay_frontend::widget::object;
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
        relay: relay.into(),
        email: root.get_attribute("data-email").unwrap_or_default().into(),
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
        lang: String::from(BROWSER_LANGUAGES.with(|list| list.join(","))).into(),
    };
    // The page lives as long as the app: keep it mounted.
    std::mem::forget(otp_relay_frontend::mount(root, props));
}
