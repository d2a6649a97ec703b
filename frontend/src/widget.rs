//! The embeddable widget's entry points, called by the `<otp-verify>` loader module
//! (`frontend/widget/otp-verify.js`): mount the flow into an element (the loader gives the
//! inside of a shadow root), reset it, destroy it.

use crate::components::{Msg, VerifyFlow, VerifyFlowProps};
use crate::flow::{Action, VerifiedProof};
use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use web_sys::Element;
use yew::{AppHandle, Callback};

/// One mounted widget.
#[wasm_bindgen]
pub struct WidgetHandle {
    app: Option<AppHandle<VerifyFlow>>,
}

fn object(entries: &[(&str, &str)]) -> JsValue {
    let detail = Object::new();
    for (key, value) in entries {
        let _ = Reflect::set(&detail, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    detail.into()
}

/// Mounts the flow into `container`. `on_verified` gets `{email, proof, expires_at}`, `on_error`
/// gets `{code, message}`.
#[wasm_bindgen(js_name = mountWidget)]
pub fn mount_widget(
    container: Element,
    relay: String,
    email: String,
    on_verified: Function,
    on_error: Function,
) -> WidgetHandle {
    let props = VerifyFlowProps {
        relay: relay.into(),
        email: email.into(),
        on_verified: Callback::from(move |proof: VerifiedProof| {
            let detail = object(&[
                ("email", &proof.email),
                ("proof", &proof.proof),
                ("expires_at", &proof.expires_at),
            ]);
            let _ = on_verified.call1(&JsValue::NULL, &detail);
        }),
        on_error: Callback::from(move |(code, message): (String, String)| {
            let detail = object(&[("code", &code), ("message", &message)]);
            let _ = on_error.call1(&JsValue::NULL, &detail);
        }),
    };
    WidgetHandle {
        app: Some(crate::mount(container, props)),
    }
}

#[wasm_bindgen]
impl WidgetHandle {
    /// Back to an empty address field, as if just mounted.
    pub fn reset(&self) {
        if let Some(app) = &self.app {
            app.send_message(Msg::Flow(Action::Reset));
        }
    }

    /// The host form was submitted before verification: say so in the widget.
    #[wasm_bindgen(js_name = holdSubmission)]
    pub fn hold_submission(&self) {
        if let Some(app) = &self.app {
            app.send_message(Msg::Flow(Action::SubmissionHeld));
        }
    }

    /// Unmounts the flow: its DOM, timers and callbacks go.
    pub fn destroy(&mut self) {
        if let Some(app) = self.app.take() {
            app.destroy();
        }
    }

    /// Whether `destroy` has been called.
    #[wasm_bindgen(getter)]
    pub fn destroyed(&self) -> bool {
        self.app.is_none()
    }
}

/// Bytes of linear memory the module uses now: lets a page (or a test) see that mounting and
/// destroying widgets does not grow it.
#[wasm_bindgen(js_name = memoryBytes)]
pub fn memory_bytes() -> f64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .map(|memory| {
            f64::from(
                memory
                    .buffer()
                    .unchecked_into::<js_sys::ArrayBuffer>()
                    .byte_length(),
            )
        })
        .unwrap_or(0.0)
}
