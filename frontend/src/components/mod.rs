//! The view: the component that holds a flow, renders its stage with the step views of
//! [`steps`], turns the flow's effects into requests to the relay, and their answers into flow
//! actions.

mod steps;

use crate::api::RelayClient;
use crate::flow::{Action, Effect, Flow, Focus, Request, Stage, Step, VerifiedProof};
use crate::words::{self, Words};
use gloo_timers::callback::Interval;
use otp_relay_shared::Lang;
use otp_relay_shared::api::WidgetStatus;
use steps::{Refs, Scene};
use web_sys::HtmlElement;
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
    refs: Refs,
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

/// Asks the relay: a request, or (`None`) the page's status. Every request goes through this
/// one future, so the wasm holds one copy of the code that runs futures for a component.
async fn ask(relay: RelayClient, request: Option<Request>) -> Msg {
    match request {
        Some(request) => Msg::Flow(relay.call(request).await),
        None => Msg::Status(relay.status().await),
    }
}

impl VerifyFlow {
    fn run(&self, ctx: &Context<Self>, effect: Effect) {
        match effect {
            Effect::Ask(request) => {
                ctx.link()
                    .send_future(ask(self.relay.clone(), Some(request)));
            }
            Effect::Announce(proof) => ctx.props().on_verified.emit(proof),
            Effect::ReportError { code, message } => ctx.props().on_error.emit((code, message)),
        }
    }

    fn words(&self) -> Words {
        self.flow.words
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
            refs: Refs::default(),
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
            Msg::Tick => self.flow.ticking(),
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
                    // The relay's sentence, in the language asked for.
                    let message = status.message.unwrap_or_default();
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
        if ctx.props().email != old.email && self.flow.step() == Step::Email {
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
        let scene = Scene {
            flow: &self.flow,
            now_ms: self.now_ms,
            id: &self.id,
            heading_level: if self.is_page { "1" } else { "2" },
            refs: &self.refs,
            act: ctx.link().callback(Msg::Flow),
        };
        let body = match &self.flow.stage {
            Stage::Email { .. } => steps::email(&scene),
            Stage::Code { .. } => steps::code(&scene),
            Stage::Verified(proof) => steps::verified(&scene, proof),
        };
        html! {
            <section class="otp" aria-labelledby={format!("{}-title", self.id)}
                lang={self.words().lang.tag()} dir={if self.words().lang.is_rtl() { "rtl" } else { "ltr" }}>
                { body }
                if self.dev_outbox && self.flow.step() != Step::Verified {
                    <p class="otp-dev">
                        { self.words().text(words::UI_DEV_MODE) }{ " " }
                        <a href={self.relay.url("/dev/outbox")} target="_blank" rel="noopener">{ self.words().text(words::UI_OPEN_OUTBOX) }</a>
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
            Focus::EmailField => &self.refs.email,
            Focus::CodeField => &self.refs.code,
            Focus::Notice => &self.refs.notice,
            Focus::Success => &self.refs.success,
        };
        if let Some(element) = target.cast::<HtmlElement>() {
            let _ = element.focus();
        }
    }
}
