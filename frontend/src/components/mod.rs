//! The view: one component that renders the flow's state and turns the person's input into flow
//! actions, and the flow's effects into requests to the relay.

use crate::api::{Call, RelayClient};
use crate::flow::{
    Action, Busy, Effect, Flow, Focus, Notice, Recovery, Step, Tone, VerifiedProof, clock,
};
use crate::words::{self, Words};
use gloo_timers::callback::Interval;
use otp_relay_shared::Lang;
use otp_relay_shared::api::{CreateChallengeRequest, ResendRequest, VerifyRequest, WidgetStatus};
use web_sys::{HtmlElement, HtmlInputElement};
use yew::prelude::*;

/// What the host page gives the flow.
#[derive(Properties, Clone, PartialEq)]
pub struct VerifyFlowProps {
    /// The relay's base URL; empty for the page's own origin.
    #[prop_or_default]
    pub relay: AttrValue,
    /// Prefills the address field.
    #[prop_or_default]
    pub email: AttrValue,
    /// Called once the address is verified.
    #[prop_or_default]
    pub on_verified: Callback<VerifiedProof>,
    /// Called on every error: (code, message).
    #[prop_or_default]
    pub on_error: Callback<(String, String)>,
    /// Raised by the page each time its form is submitted before verification.
    #[prop_or_default]
    pub hold: u32,
    /// Told the language the flow speaks once it changes from English (the page names its tab
    /// in it); a widget leaves its host page alone.
    #[prop_or_default]
    pub on_language: Callback<Words>,
    /// Language tags in order of preference (`fr,en-GB,de`): the first one spoken wins, else
    /// English.
    #[prop_or_default]
    pub lang: AttrValue,
    /// The flow is the page itself (the standalone page): its titles are the page's top heading.
    /// A widget's are `h2`, below its host page's own headings.
    #[prop_or_default]
    pub is_page: bool,
}

/// The language of `props`.
fn lang_of(props: &VerifyFlowProps) -> Lang {
    Lang::first_of(props.lang.split(',')).unwrap_or(Lang::En)
}

thread_local! {
    /// The relay (as the props name it) that allowed this page, and whether it runs the
    /// development outbox.
    static ALLOWED: std::cell::RefCell<Option<(String, bool)>> =
        const { std::cell::RefCell::new(None) };
}

/// Messages of the component.
pub enum Msg {
    Flow(Action),
    Tick,
    /// The page's status and, for a language other than English, its messages.
    Status(Option<(WidgetStatus, Option<Words>)>),
}

/// The verification flow.
pub struct VerifyFlow {
    flow: Flow,
    relay: RelayClient,
    now_ms: f64,
    id: String,
    dev_outbox: bool,
    /// The standalone page's titles are its top heading (`aria-level="1"` on the `h2`: a
    /// dynamic tag would cost the download about 800 bytes); a widget's stay `h2`.
    is_page: bool,
    email_ref: NodeRef,
    code_ref: NodeRef,
    notice_ref: NodeRef,
    success_ref: NodeRef,
    _clock: Interval,
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A short random id, so that several widgets on one page never share element ids. The ids need
/// to differ, not to be secret: `Math.random()` is enough and keeps a crypto shim out of the
/// download.
fn instance_id() -> String {
    let random = (js_sys::Math::random() * 4_294_967_296.0) as u32;
    let mut id = String::from("otp-");
    for shift in (0..8).rev() {
        let digit = (random >> (shift * 4)) & 0xf;
        id.push(char::from_digit(digit, 16).unwrap_or('0'));
    }
    id
}

/// Asks the relay: a call, or (`None`) the page's status. Every request goes through this one
/// future, so the wasm holds one copy of the code that runs futures for a component.
async fn ask(relay: RelayClient, call: Option<Call>) -> Msg {
    match call {
        Some(call) => Msg::Flow(relay.call(call).await),
        None => Msg::Status(relay.status().await),
    }
}

impl VerifyFlow {
    fn run(&self, ctx: &Context<Self>, effect: Effect) {
        let call = match effect {
            Effect::RequestCode { email } => {
                Call::RequestCode(CreateChallengeRequest { email, lang: None })
            }
            Effect::Resend { challenge, email } => Call::Resend(ResendRequest {
                challenge,
                email,
                lang: None,
            }),
            Effect::Verify {
                challenge,
                email,
                code,
            } => Call::Verify(VerifyRequest {
                challenge,
                email,
                code,
                lang: None,
            }),
            Effect::Announce(proof) => return ctx.props().on_verified.emit(proof),
            Effect::ReportError { code, message } => {
                return ctx.props().on_error.emit((code, message));
            }
        };
        ctx.link().send_future(ask(self.relay.clone(), Some(call)));
    }

    fn words(&self) -> Words {
        self.flow.words
    }

    /// The level of the step's title: 1 on the standalone page, else an `h2`'s own 2.
    fn heading_level(&self) -> &'static str {
        if self.is_page { "1" } else { "2" }
    }

    fn text(&self, slot: usize) -> &'static str {
        self.flow.words.text(slot)
    }

    fn say(&self, slot: usize, value: &str) -> String {
        self.flow.words.say(slot, value)
    }

    fn notice_view(&self, ctx: &Context<Self>, notice: Option<&Notice>) -> Html {
        let link = ctx.link();
        let Some(notice) = notice else {
            return html! { <div class="otp-notice" role="status" aria-live="polite" ref={self.notice_ref.clone()} tabindex="-1"></div> };
        };
        let blocked = self.flow.blocked_in(self.now_ms);
        let busy = self.flow.busy != Busy::Idle;
        let button = match notice.recovery {
            Recovery::None => html! {},
            Recovery::NewCode => html! {
                <button type="button" class="otp-secondary" disabled={busy || blocked > 0}
                    onclick={link.callback(|_| Msg::Flow(Action::NewCode))}>
                    { if blocked > 0 { self.say(words::UI_NEW_CODE_IN, &clock(blocked)) } else { self.text(words::UI_NEW_CODE).to_string() } }
                </button>
            },
            Recovery::Retry => html! {
                <button type="button" class="otp-secondary" disabled={busy || blocked > 0}
                    onclick={link.callback(|_| Msg::Flow(Action::Retry))}>
                    { if blocked > 0 { self.say(words::UI_TRY_AGAIN_IN, &clock(blocked)) } else { self.text(words::UI_TRY_AGAIN).to_string() } }
                </button>
            },
        };
        let (class, role) = match notice.tone {
            Tone::Info => ("otp-notice otp-info", "status"),
            Tone::Error => ("otp-notice otp-error", "alert"),
        };
        html! {
            <div class={class} role={role} aria-live="polite" ref={self.notice_ref.clone()} tabindex="-1">
                <p>{ &notice.text }</p>
                { button }
            </div>
        }
    }

    fn email_step(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let id = &self.id;
        let sending = self.flow.busy == Busy::Sending;
        let error_id = format!("{id}-email-error");
        let onsubmit = link.callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Flow(Action::SubmitEmail)
        });
        let oninput = link.callback(|e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            Msg::Flow(Action::EmailInput(input.value()))
        });
        html! {
            <form class="otp-form" onsubmit={onsubmit} novalidate=true>
                <h2 class="otp-title" aria-level={self.heading_level()} id={format!("{id}-title")}>{ self.text(words::UI_TITLE) }</h2>
                <p class="otp-hint">{ self.say(words::UI_HINT, &otp_relay_shared::DEFAULT_CODE_LENGTH.to_string()) }</p>
                <label class="otp-label" for={format!("{id}-email")}>{ self.text(words::UI_EMAIL_LABEL) }</label>
                <input id={format!("{id}-email")} class="otp-input" type="email" name="email"
                    autocomplete="email" inputmode="email" spellcheck="false" required=true
                    ref={self.email_ref.clone()}
                    value={self.flow.email_input.clone()}
                    aria-invalid={if self.flow.email_error.is_some() { "true" } else { "false" }}
                    aria-describedby={error_id.clone()}
                    oninput={oninput} />
                <p id={error_id} class="otp-field-error" aria-live="polite">
                    { self.flow.email_error.clone().unwrap_or_default() }
                </p>
                <button type="submit" class="otp-primary" disabled={sending} aria-busy={if sending { "true" } else { "false" }}>
                    { if sending { self.text(words::UI_SENDING) } else { self.text(words::UI_SEND) } }
                </button>
                { self.notice_view(ctx, self.flow.notice.as_ref()) }
            </form>
        }
    }

    fn code_step(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link();
        let id = &self.id;
        let Some(challenge) = self.flow.challenge.as_ref() else {
            return html! {};
        };
        let now = self.now_ms;
        let verifying = self.flow.busy == Busy::Verifying;
        let expired = self.flow.is_expired(now);
        let expired_notice;
        let notice = if expired && !self.flow.code_dead {
            expired_notice = Notice {
                tone: Tone::Error,
                text: self.text(words::UI_CODE_EXPIRED).to_string(),
                recovery: Recovery::NewCode,
            };
            Some(&expired_notice)
        } else {
            self.flow.notice.as_ref()
        };
        let onsubmit = link.callback(|e: SubmitEvent| {
            e.prevent_default();
            Msg::Flow(Action::SubmitCode)
        });
        let oninput = link.callback(|e: InputEvent| {
            let input: HtmlInputElement = e.target_unchecked_into();
            Msg::Flow(Action::CodeInput(input.value()))
        });
        let resend_in = self.flow.resend_in(now);
        let resend_label = if self.flow.busy == Busy::Resending {
            self.text(words::UI_SENDING).to_string()
        } else if challenge.sends_left == 0 {
            self.text(words::UI_NO_RESENDS).to_string()
        } else if resend_in > 0 {
            self.say(words::UI_RESEND_IN, &clock(resend_in))
        } else {
            self.words()
                .count(words::UI_RESEND_LEFT, u64::from(challenge.sends_left))
        };
        // The address in bold, where this language puts it in the sentence.
        let (before, after) = self.words().parts(words::UI_SENT_TO);
        let dead = self.flow.code_dead || expired;
        let length = challenge.code_length;
        html! {
            <form class="otp-form" onsubmit={onsubmit} novalidate=true>
                <h2 class="otp-title" aria-level={self.heading_level()} id={format!("{id}-title")}>{ self.text(words::UI_CODE_TITLE) }</h2>
                <p class="otp-hint">{ before }<strong>{ &challenge.email }</strong>{ after }</p>
                <label class="otp-label" for={format!("{id}-code")}>{ self.say(words::UI_CODE_LABEL, &length.to_string()) }</label>
                <input id={format!("{id}-code")} class="otp-input otp-code" type="text" name="one-time-code"
                    autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]*" spellcheck="false"
                    ref={self.code_ref.clone()}
                    value={self.flow.code_input.clone()}
                    disabled={dead}
                    aria-describedby={format!("{id}-expiry")}
                    oninput={oninput} />
                <p id={format!("{id}-expiry")} class="otp-countdown">
                    { if expired { self.text(words::UI_EXPIRED).to_string() } else { self.say(words::UI_EXPIRES_IN, &clock(self.flow.expires_in(now))) } }
                </p>
                <button type="submit" class="otp-primary" disabled={verifying || dead} aria-busy={if verifying { "true" } else { "false" }}>
                    { if verifying { self.text(words::UI_CHECKING) } else { self.text(words::UI_VERIFY) } }
                </button>
                { self.notice_view(ctx, notice) }
                <div class="otp-actions">
                    <button type="button" class="otp-link" disabled={!self.flow.can_resend(now)}
                        onclick={link.callback(|_| Msg::Flow(Action::Resend))}>{ resend_label }</button>
                    <button type="button" class="otp-link"
                        onclick={link.callback(|_| Msg::Flow(Action::UseAnotherAddress))}>{ self.text(words::UI_USE_ANOTHER) }</button>
                </div>
            </form>
        }
    }

    fn verified_step(&self) -> Html {
        let email = self
            .flow
            .verified
            .as_ref()
            .map(|v| v.email.clone())
            .unwrap_or_default();
        let (before, after) = self.words().parts(words::UI_VERIFIED);
        html! {
            <div class="otp-form otp-success" role="status">
                <h2 class="otp-title" aria-level={self.heading_level()} tabindex="-1" ref={self.success_ref.clone()}>{ self.text(words::UI_VERIFIED_TITLE) }</h2>
                <p>{ before }<strong>{ email }</strong>{ after }</p>
            </div>
        }
    }
}

impl Component for VerifyFlow {
    type Message = Msg;
    type Properties = VerifyFlowProps;

    fn create(ctx: &Context<Self>) -> Self {
        let tick = ctx.link().callback(|()| Msg::Tick);
        let lang = lang_of(ctx.props());
        let relay = RelayClient::new(&ctx.props().relay, lang);
        // English is built in; another language's messages come with the page's status, and
        // the flow shows English until they arrive. A page's status does not change while the
        // page lives: once a relay has allowed it and the page has the widget's language, a
        // widget mounted later (or again) does not ask, so a page that mounts many sends one
        // request per language and leaves none in flight.
        let words = Words::received(lang);
        let known = ALLOWED.with(|allowed| match &*allowed.borrow() {
            Some((base, dev_outbox)) if *base == *ctx.props().relay => Some(*dev_outbox),
            _ => None,
        });
        if known.is_none() || words.is_none() {
            ctx.link().send_future(ask(relay.clone(), None));
        }
        VerifyFlow {
            flow: Flow::speaking(&ctx.props().email, words.unwrap_or_else(Words::english)),
            relay,
            now_ms: now_ms(),
            id: instance_id(),
            dev_outbox: known.unwrap_or(false),
            is_page: ctx.props().is_page,
            email_ref: NodeRef::default(),
            code_ref: NodeRef::default(),
            notice_ref: NodeRef::default(),
            success_ref: NodeRef::default(),
            _clock: Interval::new(1_000, move || tick.emit(())),
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        self.now_ms = now_ms();
        match msg {
            Msg::Flow(action) => {
                if let Some(effect) = self.flow.update(action, self.now_ms) {
                    self.run(ctx, effect);
                }
                true
            }
            // Only countdowns change with time.
            Msg::Tick => self.flow.step == Step::Code || self.flow.blocked_until_ms.is_some(),
            Msg::Status(Some((status, words))) => {
                self.dev_outbox = status.dev_outbox;
                // Only the language asked for now (the page may have changed it since);
                // without messages, English stays.
                if let Some(words) = words.filter(|w| w.lang == lang_of(ctx.props())) {
                    self.flow.words = words;
                    ctx.props().on_language.emit(words);
                }
                if status.allowed {
                    let base = ctx.props().relay.to_string();
                    ALLOWED.with(|allowed| *allowed.borrow_mut() = Some((base, status.dev_outbox)));
                } else {
                    let english = self.words().lang == Lang::En;
                    let message = status
                        .message
                        .filter(|_| english)
                        .unwrap_or_else(|| self.text(words::ERROR_ORIGIN_NOT_ALLOWED).to_string());
                    if let Some(effect) = self.flow.update(Action::Refused(message), self.now_ms) {
                        self.run(ctx, effect);
                    }
                }
                true
            }
            Msg::Status(None) => false,
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &VerifyFlowProps) -> bool {
        if ctx.props().hold != old.hold {
            self.flow.update(Action::SubmissionHeld, now_ms());
        }
        let lang = lang_of(ctx.props());
        if ctx.props().relay != old.relay || lang != lang_of(old) {
            self.relay = RelayClient::new(&ctx.props().relay, lang);
        }
        if ctx.props().email != old.email && self.flow.step == Step::Email {
            self.flow.email_input = ctx.props().email.to_string();
        }
        if lang != self.words().lang {
            match Words::received(lang) {
                Some(words) => {
                    self.flow.words = words;
                    ctx.props().on_language.emit(words);
                }
                None => ctx.link().send_future(ask(self.relay.clone(), None)),
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let body = match self.flow.step {
            Step::Email => self.email_step(ctx),
            Step::Code => self.code_step(ctx),
            Step::Verified => self.verified_step(),
        };
        html! {
            <section class="otp" aria-labelledby={format!("{}-title", self.id)}
                lang={self.words().lang.tag()} dir={if self.words().lang.is_rtl() { "rtl" } else { "ltr" }}>
                { body }
                if self.dev_outbox && self.flow.step != Step::Verified {
                    <p class="otp-dev">
                        { self.text(words::UI_DEV_MODE) }{ " " }
                        <a href={self.relay.url("/dev/outbox")} target="_blank" rel="noopener">{ self.text(words::UI_OPEN_OUTBOX) }</a>
                    </p>
                }
            </section>
        }
    }

    fn rendered(&mut self, _ctx: &Context<Self>, _first_render: bool) {
        let Some(focus) = self.flow.focus.take() else {
            return;
        };
        let target = match focus {
            Focus::EmailField => &self.email_ref,
            Focus::CodeField => &self.code_ref,
            Focus::Notice => &self.notice_ref,
            Focus::Success => &self.success_ref,
        };
        if let Some(element) = target.cast::<HtmlElement>() {
            let _ = element.focus();
        }
    }
}
