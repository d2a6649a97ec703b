//! The embeddable widget's entry points, called by the `<otp-verify>` loader module
//! (`frontend/widget/otp-verify.js`): mount the flow into an element (the loader gives one inside
//! a shadow root), reset it, hold back a form, destroy it.
//!
//! Yew never frees the event listeners it installs on an app's root element, so an app per mount
//! would leak a little with every mount. Instead, finished apps go back to a pool with their root
//! element and are reused by the next mount: memory follows the most widgets alive at once, not
//! how many were ever mounted.

use crate::components::{VerifyFlow, VerifyFlowProps};
use crate::flow::VerifiedProof;
use js_sys::{Function, Object, Reflect};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use web_sys::Element;
use yew::{AppHandle, Callback, Component, Context, Html, Properties, html};

/// What a pooled app shows: nothing while parked, or one flow.
#[derive(Properties, Clone, PartialEq, Default)]
pub struct SlotProps {
    flow: Option<VerifyFlowProps>,
    /// A new value starts a fresh flow (mount, reset).
    generation: u32,
}

impl SlotProps {
    /// A fresh flow with these props.
    pub fn showing(flow: VerifyFlowProps) -> Self {
        SlotProps {
            flow: Some(flow),
            generation: 1,
        }
    }
}

/// The root component of a pooled app.
pub struct Slot;

impl Component for Slot {
    type Message = ();
    type Properties = SlotProps;

    fn create(_ctx: &Context<Self>) -> Self {
        Slot
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        match &ctx.props().flow {
            Some(props) => html! { <VerifyFlow key={ctx.props().generation} ..props.clone() /> },
            None => html! {},
        }
    }
}

struct Pooled {
    root: Element,
    app: AppHandle<Slot>,
}

thread_local! {
    static POOL: RefCell<Vec<Pooled>> = const { RefCell::new(Vec::new()) };
}

/// One mounted widget.
#[wasm_bindgen]
pub struct WidgetHandle {
    slot: Option<Pooled>,
    props: SlotProps,
}

/// A plain JS object of string fields: an event's `detail`.
pub fn object(entries: &[(&str, &str)]) -> JsValue {
    let detail = Object::new();
    for (key, value) in entries {
        let _ = Reflect::set(&detail, &JsValue::from_str(key), &JsValue::from_str(value));
    }
    detail.into()
}

fn take_pooled() -> Option<Pooled> {
    POOL.with(|pool| pool.borrow_mut().pop())
}

/// Mounts the flow inside `container`. `on_verified` gets `{email, proof, expires_at}`, `on_error`
/// gets `{code, message}`.
#[wasm_bindgen(js_name = mountWidget)]
pub fn mount_widget(
    container: Element,
    relay: String,
    email: String,
    lang: String,
    link: bool,
    on_verified: Function,
    on_error: Function,
) -> Result<WidgetHandle, JsValue> {
    let flow = VerifyFlowProps {
        relay: relay.into(),
        email: email.into(),
        lang: lang.into(),
        link,
        hold: 0,
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
        on_language: Callback::noop(),
        // Below the host page's own headings.
        is_page: false,
    };
    let mut slot = match take_pooled() {
        Some(slot) => slot,
        None => {
            let document = web_sys::window()
                .and_then(|w| w.document())
                .ok_or_else(|| JsValue::from_str("no document"))?;
            let root = document.create_element("div")?;
            let app = crate::mount_slot(root.clone());
            Pooled { root, app }
        }
    };
    container.append_child(&slot.root)?;
    let props = SlotProps::showing(flow);
    slot.app.update(props.clone());
    Ok(WidgetHandle {
        slot: Some(slot),
        props,
    })
}

#[wasm_bindgen]
impl WidgetHandle {
    fn show(&mut self) {
        if let Some(slot) = self.slot.as_mut() {
            slot.app.update(self.props.clone());
        }
    }

    /// Back to an empty address field, as if just mounted.
    pub fn reset(&mut self) {
        self.props.generation = self.props.generation.wrapping_add(1);
        if let Some(flow) = self.props.flow.as_mut() {
            flow.email = Default::default();
            flow.hold = 0;
        }
        self.show();
    }

    /// The host form was submitted before verification: say so in the widget.
    #[wasm_bindgen(js_name = holdSubmission)]
    pub fn hold_submission(&mut self) {
        if let Some(flow) = self.props.flow.as_mut() {
            flow.hold = flow.hold.wrapping_add(1);
        }
        self.show();
    }

    /// Unmounts the flow (its DOM, timers and callbacks go) and parks the app for reuse.
    pub fn destroy(&mut self) {
        if let Some(mut slot) = self.slot.take() {
            slot.app.update(SlotProps::default());
            slot.root.remove();
            POOL.with(|pool| pool.borrow_mut().push(slot));
        }
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

/// How fast this wasm solves the relay's proof of work: milliseconds for `tries` SHA-256 tries
/// on a challenge none of them solves, in one go (`make load` compares it with ALTCHA's solver
/// in the same browser).
#[wasm_bindgen(js_name = powTriesMs)]
pub fn pow_tries_ms(tries: u32) -> f64 {
    use otp_relay_shared::pow::{PowChallenge, Solver};
    // A salt of the relay's length, and a digest no try gives.
    const SALT: &str =
        "0123456789abcdef01234567?expires=1800000000&maxnumber=100000&net=0123456789abcdef&";
    const DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";
    let challenge = PowChallenge {
        algorithm: otp_relay_shared::pow::ALGORITHM.into(),
        challenge: DIGEST.into(),
        maxnumber: u64::from(tries),
        salt: SALT.into(),
        signature: String::new(),
    };
    let started = js_sys::Date::now();
    if let Some(mut solver) = Solver::new(&challenge) {
        solver.run(u64::from(tries));
    }
    js_sys::Date::now() - started
}
