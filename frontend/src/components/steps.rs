//! One view per stage of the flow, and the notice they share. Each renders what the flow decided
//! (texts, buttons, what is open) and turns the person's input into flow actions; none decides.

use crate::flow::{Action, Busy, EmailLink, Flow, Notice, Tone, VerifiedProof};
use crate::words;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// What every step view needs: the flow, the time, the element ids and references, and where
/// actions go.
pub struct Scene<'a> {
    pub flow: &'a Flow,
    pub now_ms: f64,
    /// This widget's prefix for element ids.
    pub id: &'a str,
    /// `1` on the standalone page (its top heading), else `2`, below the host page's headings.
    pub heading_level: &'static str,
    pub refs: &'a Refs,
    pub act: Callback<Action>,
}

/// The elements focus can move to.
#[derive(Default)]
pub struct Refs {
    pub email: NodeRef,
    pub code: NodeRef,
    pub notice: NodeRef,
    pub success: NodeRef,
}

/// An element id of this widget: its prefix and the part (`otp-1a2b3c4d-email`).
pub fn part(id: &str, part: &str) -> String {
    [id, part].concat()
}

/// A click that does `action`. One closure type for every button, so the wasm holds one copy of
/// the code around it.
fn press(act: &Callback<Action>, action: Action) -> Callback<MouseEvent> {
    act.reform(move |_| action.clone())
}

/// A form submission that does `action` instead of loading a page.
fn submit(act: &Callback<Action>, action: Action) -> Callback<SubmitEvent> {
    act.reform(move |e: SubmitEvent| {
        e.prevent_default();
        action.clone()
    })
}

/// Typing into a field, as the action `typed` makes of its value.
fn typing(act: &Callback<Action>, typed: fn(String) -> Action) -> Callback<InputEvent> {
    act.reform(move |e: InputEvent| {
        let input: HtmlInputElement = e.target_unchecked_into();
        typed(input.value())
    })
}

fn flag(on: bool) -> &'static str {
    if on { "true" } else { "false" }
}

/// The message under a step, with its way forward. Its class is written out for each tone:
/// a class computed at run time would bring yew's class sets (an index map) into the wasm for
/// this one element.
pub fn notice(scene: &Scene<'_>, notice: Option<&Notice>) -> Html {
    let at = scene.refs.notice.clone();
    let Some(notice) = notice else {
        return html! { <div class="otp-notice" role="status" aria-live="polite" ref={at} tabindex="-1"></div> };
    };
    let button = match scene.flow.recovery_button(notice, scene.now_ms) {
        None => html! {},
        Some(button) => {
            let action = match notice.recovery {
                crate::flow::Recovery::NewCode => Action::NewCode,
                _ => Action::Retry,
            };
            html! {
                <button type="button" class="otp-secondary" disabled={!button.enabled}
                    onclick={press(&scene.act, action)}>{ button.label }</button>
            }
        }
    };
    let body = html! { <><p>{ &notice.text }</p>{ button }</> };
    match notice.tone {
        Tone::Info => html! {
            <div class="otp-notice otp-info" role="status" aria-live="polite" ref={at} tabindex="-1">{ body }</div>
        },
        Tone::Error => html! {
            <div class="otp-notice otp-error" role="alert" aria-live="polite" ref={at} tabindex="-1">{ body }</div>
        },
    }
}

/// Typing the address.
pub fn email(scene: &Scene<'_>) -> Html {
    let (flow, id) = (scene.flow, scene.id);
    let sending = flow.busy == Busy::Sending;
    let error_id = part(id, "-email-error");
    let onsubmit = submit(&scene.act, Action::SubmitEmail);
    let oninput = typing(&scene.act, Action::EmailInput);
    let words = flow.words;
    html! {
        <form class="otp-form" onsubmit={onsubmit} novalidate=true>
            <h2 class="otp-title" aria-level={scene.heading_level} id={part(id, "-title")}>{ words.text(words::UI_TITLE) }</h2>
            <p class="otp-hint">{ words.say(words::UI_HINT, &otp_relay_shared::DEFAULT_CODE_LENGTH.to_string()) }</p>
            <label class="otp-label" for={part(id, "-email")}>{ words.text(words::UI_EMAIL_LABEL) }</label>
            <input id={part(id, "-email")} class="otp-input" type="email" name="email"
                autocomplete="email" inputmode="email" spellcheck="false" required=true
                ref={scene.refs.email.clone()}
                value={flow.email_input.clone()}
                aria-invalid={flag(flow.email_error().is_some())}
                aria-describedby={error_id.clone()}
                oninput={oninput} />
            <p id={error_id} class="otp-field-error" aria-live="polite">
                { flow.email_error().unwrap_or_default() }
            </p>
            <button type="submit" class="otp-primary" disabled={sending} aria-busy={flag(sending)}>
                { flow.main_label(words::UI_SEND, Busy::Sending, words::UI_SENDING) }
            </button>
            { notice(scene, flow.shown_notice(scene.now_ms).as_ref()) }
        </form>
    }
}

/// Typing the code.
pub fn code(scene: &Scene<'_>) -> Html {
    let (flow, id, now) = (scene.flow, scene.id, scene.now_ms);
    let Some(challenge) = flow.challenge() else {
        return html! {};
    };
    let verifying = flow.busy == Busy::Verifying;
    let closed = flow.code_closed(now);
    let onsubmit = submit(&scene.act, Action::SubmitCode);
    let oninput = typing(&scene.act, Action::CodeInput);
    let resend = flow.resend_button(now);
    let words = flow.words;
    // The address in bold, where this language puts it in the sentence.
    let (before, after) = words.parts(words::UI_SENT_TO);
    html! {
        <form class="otp-form" onsubmit={onsubmit} novalidate=true>
            <h2 class="otp-title" aria-level={scene.heading_level} id={part(id, "-title")}>{ words.text(words::UI_CODE_TITLE) }</h2>
            <p class="otp-hint">{ before }<strong>{ &challenge.email }</strong>{ after }</p>
            <label class="otp-label" for={part(id, "-code")}>{ words.say(words::UI_CODE_LABEL, &challenge.code_length.to_string()) }</label>
            <input id={part(id, "-code")} class="otp-input otp-code" type="text" name="one-time-code"
                autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]*" spellcheck="false"
                ref={scene.refs.code.clone()}
                value={flow.code_input.clone()}
                disabled={closed}
                aria-describedby={part(id, "-expiry")}
                oninput={oninput} />
            <p id={part(id, "-expiry")} class="otp-countdown">{ flow.expiry_line(now) }</p>
            <button type="submit" class="otp-primary" disabled={verifying || closed} aria-busy={flag(verifying)}>
                { flow.main_label(words::UI_VERIFY, Busy::Verifying, words::UI_CHECKING) }
            </button>
            { notice(scene, flow.shown_notice(now).as_ref()) }
            <div class="otp-actions">
                <button type="button" class="otp-link" disabled={!resend.enabled}
                    onclick={press(&scene.act, Action::Resend)}>{ resend.label }</button>
                <button type="button" class="otp-link"
                    onclick={press(&scene.act, Action::UseAnotherAddress)}>{ words.text(words::UI_USE_ANOTHER) }</button>
            </div>
        </form>
    }
}

/// Opened from an email's link: one button, which only a person's own click presses. A click
/// made by a script (`button.click()`, a form submitted by script) is not trusted and does
/// nothing, so a mail scanner that runs the page spends nothing (docs/security.md, A32).
pub fn confirm(scene: &Scene<'_>, link: &EmailLink) -> Html {
    let flow = scene.flow;
    let verifying = flow.busy == Busy::Verifying;
    let words = flow.words;
    // "Confirm that <address> is yours" is the step's title: the one question it asks.
    let (before, after) = words.parts(words::UI_CONFIRM);
    let act = scene.act.clone();
    let onclick = Callback::from(move |e: MouseEvent| {
        if e.is_trusted() {
            act.emit(Action::Confirm);
        }
    });
    html! {
        <div class="otp-form">
            <h2 class="otp-title" aria-level={scene.heading_level} id={part(scene.id, "-title")}>{ before }<strong>{ &link.email }</strong>{ after }</h2>
            <button type="button" class="otp-primary" disabled={verifying} {onclick}>
                { flow.main_label(words::UI_CONFIRM_BUTTON, Busy::Verifying, words::UI_CHECKING) }
            </button>
            { notice(scene, flow.shown_notice(scene.now_ms).as_ref()) }
        </div>
    }
}

/// The address is verified.
pub fn verified(scene: &Scene<'_>, proof: &VerifiedProof) -> Html {
    let words = scene.flow.words;
    let (before, after) = words.parts(words::UI_VERIFIED);
    html! {
        <div class="otp-form otp-success" role="status">
            <h2 class="otp-title" aria-level={scene.heading_level} tabindex="-1" ref={scene.refs.success.clone()}>{ words.text(words::UI_VERIFIED_TITLE) }</h2>
            <p>{ before }<strong>{ &proof.email }</strong>{ after }</p>
        </div>
    }
}
