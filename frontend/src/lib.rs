//! The otp-relay verification flow in the browser: a Yew component tree that mounts into any
//! element. [`flow`] is the pure state machine (tested natively), [`api`] the one module that
//! talks to the relay, [`components`] the thin view on top, [`widget`] the entry points of the
//! embeddable `<otp-verify>` element.

pub mod api;
pub mod components;
pub mod flow;
pub mod widget;
pub mod words;

use components::VerifyFlowProps;
use web_sys::Element;

/// Renders the flow into `root`; the handle unmounts it when destroyed. The app is of the same
/// kind as the widget's pooled apps ([`widget::Slot`]), so the wasm carries one app type, not two.
pub fn mount(root: Element, props: VerifyFlowProps) -> yew::AppHandle<widget::Slot> {
    let mut app = mount_slot(root);
    app.update(widget::SlotProps::showing(props));
    app
}

/// An app for the widget pool, showing nothing until given props.
fn mount_slot(root: Element) -> yew::AppHandle<widget::Slot> {
    yew::Renderer::<widget::Slot>::with_root(root).render()
}

/// The wasm's allocator (see `Cargo.toml`): talc, which grows the wasm memory as needed.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
