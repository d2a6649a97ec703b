//! The view: the component that holds a flow, renders its stage with the step views of
//! [`steps`], turns the flow's effects into requests to the relay, and their answers into flow
//! actions. It also meets the email's link (docs/security.md, A32): a page opened with one takes
//! it out of the address bar and its history at once and asks the person to confirm; once
//! confirmed, it tells the site's other tabs on a same-origin channel, so the tab where the
//! person asked for the code completes too.

mod steps;

use crate::api::RelayClient;
use crate::flow::{Action, Effect, EmailLink, Flow, Focus, Request, Stage, Step, VerifiedProof};
use crate::words::{self, Words};
use gloo_timers::callback::{Interval, Timeout};
use otp_relay_shared::Lang;
use otp_relay_shared::api::WidgetStatus;
use otp_relay_shared::pow::{PowChallenge, Progress, Solver};
use steps::{Refs, Scene};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BroadcastChannel, HtmlElement, MessageEvent};
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
    /// The email also carries a link back to this page (the relay's branding may ask for it too).
    #[prop_or_default]
    pub link: bool,
    /// The flow is the page itself (the standalone page): its titles are the page's top heading.
    /// A widget's are `h2`, below its host page's own headings.
    #[prop_or_default]
    pub is_page: bool,
}

/// The language of `props`.
fn lang_of(props: &VerifyFlowProps) -> Lang {
    Lang::first_of(props.lang.split(',')).unwrap_or(Lang::En)
}

/// What a relay said about this page: whether it runs the development outbox, and whether its
/// branding asks for the email's link.
#[derive(Clone, Copy)]
struct Allowed {
    dev_outbox: bool,
    link: bool,
}

thread_local! {
    /// The relay (as the props name it) that allowed this page, and what it said.
    static ALLOWED: std::cell::RefCell<Option<(String, Allowed)>> =
        const { std::cell::RefCell::new(None) };
}

/// The channel the site's tabs tell each other of a link confirmed on: same origin only.
const CHANNEL: &str = "otp-relay";

/// The site's tabs, and this flow's listener to them (kept as long as the channel).
type TabChannel = (BroadcastChannel, Closure<dyn FnMut(MessageEvent)>);

/// The page's URL without its fragment, and the fragment (without `#`).
fn page_and_fragment() -> Option<(String, String)> {
    let location = web_sys::window()?.location();
    let href = location.href().ok()?;
    let (page, fragment) = href.split_once('#').unwrap_or((&href, ""));
    Some((page.to_string(), fragment.to_string()))
}

/// The email's link this page was opened with, if it was: taken out of the address bar and the
/// history at once, so it is not bookmarked, shared or sent on as a referrer.
fn take_email_link(page: &str, fragment: &str) -> Option<EmailLink> {
    let decode = |text: &str| js_sys::decode_uri_component(text).ok().map(String::from);
    let link = EmailLink::from_fragment(fragment, page, decode)?;
    let history = web_sys::window()?.history().ok()?;
    let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(page));
    Some(link)
}

/// Messages of the component.
pub enum Msg {
    Flow(Action),
    Tick,
    /// The page's status and, for a language other than English, its messages.
    Status(Option<(WidgetStatus, Option<Words>)>),
    /// A proof-of-work challenge fetched for a job (none: the relay offers none).
    PowChallenge(u32, Option<PowChallenge>),
    /// Time for the next slice of the proof of work.
    PowSlice,
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
    /// The proof of work being solved, and the timer of its next slice.
    solving: Option<Solving>,
    pow_timer: Option<Timeout>,
    /// The page's URL without its fragment: where the email's link leads back to.
    page: String,
    /// The site's tabs, and what listens to them.
    channel: Option<TabChannel>,
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

/// What the component asks of the relay.
enum Work {
    Request(Request),
    /// The page's status.
    Status,
    /// A proof-of-work challenge, for the job of this generation.
    Pow(u32),
}

/// Asks the relay. Every request goes through this one future, so the wasm holds one copy of
/// the code that runs futures for a component.
async fn ask(relay: RelayClient, work: Work) -> Msg {
    match work {
        Work::Request(request) => Msg::Flow(relay.call(request).await),
        Work::Status => Msg::Status(relay.status().await),
        Work::Pow(generation) => Msg::PowChallenge(generation, relay.pow_challenge().await),
    }
}

/// Starts `work` for the component. Every request starts here, so the wasm holds one copy of
/// the code that builds and spawns the future.
#[inline(never)]
fn spawn(ctx: &Context<VerifyFlow>, relay: &RelayClient, work: Work) {
    ctx.link().send_future(ask(relay.clone(), work));
}

/// A proof of work being solved, for the flow's job in force: the challenge, the search.
struct Solving {
    challenge: PowChallenge,
    solver: Solver,
}

impl VerifyFlow {
    /// Starts the proof-of-work job the flow asked for, if any: fetches its challenge, or
    /// solves the one it came with. A new job replaces the one under way.
    fn run_pow_job(&mut self, ctx: &Context<Self>) {
        let Some(job) = self.flow.pow_job.take() else {
            return;
        };
        self.solving = None;
        match job.challenge {
            Some(challenge) => self.start_solving(ctx, job.generation, Some(challenge)),
            None => spawn(ctx, &self.relay, Work::Pow(job.generation)),
        }
    }

    fn start_solving(
        &mut self,
        ctx: &Context<Self>,
        generation: u32,
        challenge: Option<PowChallenge>,
    ) {
        let solving = challenge.and_then(|challenge| {
            Solver::new(&challenge).map(|solver| Solving { challenge, solver })
        });
        match solving {
            Some(solving) => {
                self.solving = Some(solving);
                self.next_slice(ctx);
            }
            None => self.act(ctx, Action::PowUnavailable(generation)),
        }
    }

    /// The next slice runs as a task of its own (a timer), so that input and rendering run
    /// between slices.
    fn next_slice(&mut self, ctx: &Context<Self>) {
        let link = ctx.link().clone();
        self.pow_timer = Some(Timeout::new(0, move || link.send_message(Msg::PowSlice)));
    }

    /// Solves for about 15 ms, far below the browser's 50 ms "long task". In slices on the
    /// page's thread rather than in a Web Worker: a worker would load a second copy of the wasm
    /// (the download is the budget that binds), and the widget would need a worker script
    /// beside its module on every host page.
    fn pow_slice(&mut self, ctx: &Context<Self>) {
        let generation = self.flow.pow_generation();
        let Some(solving) = self.solving.as_mut() else {
            return;
        };
        let started = now_ms();
        let outcome = loop {
            match solving.solver.run(1_000) {
                Progress::Searching if now_ms() - started < 15.0 => {}
                Progress::Searching => break None,
                Progress::Found(number) => {
                    break Some(
                        crate::api::pow_payload(&solving.challenge, number)
                            .map_or(Action::PowUnavailable(generation), |pow| {
                                Action::PowSolved(generation, pow)
                            }),
                    );
                }
                Progress::Exhausted => break Some(Action::PowUnavailable(generation)),
            }
        };
        match outcome {
            None => self.next_slice(ctx),
            Some(action) => {
                self.solving = None;
                self.act(ctx, action);
            }
        }
    }

    /// Applies an action to the flow and runs what it asks for.
    fn act(&mut self, ctx: &Context<Self>, action: Action) {
        let token = match &self.flow.stage {
            Stage::Confirm(link) => Some(link.token.clone()),
            _ => None,
        };
        if let Some(effect) = self.flow.update(action, self.now_ms) {
            // A link confirmed here: the tab that asked for the code completes too.
            if let (Some(token), Effect::Announce(proof), Some((channel, _))) =
                (token, &effect, &self.channel)
            {
                let _ = channel.post_message(&crate::api::link_confirmed(&token, proof));
            }
            self.run(ctx, effect);
        }
        self.run_pow_job(ctx);
    }

    /// Listens to the site's other tabs: a link confirmed there for this flow's challenge
    /// completes it here.
    fn listen(ctx: &Context<Self>) -> Option<TabChannel> {
        let channel = BroadcastChannel::new(CHANNEL).ok()?;
        let link = ctx.link().clone();
        let listener = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some((token, proof)) = crate::api::read_link_confirmed(event.data()) {
                link.send_message(Msg::Flow(Action::VerifiedElsewhere(token, proof)));
            }
        });
        channel.set_onmessage(Some(listener.as_ref().unchecked_ref()));
        Some((channel, listener))
    }

    fn run(&self, ctx: &Context<Self>, effect: Effect) {
        match effect {
            Effect::Ask(request) => {
                spawn(ctx, &self.relay, Work::Request(request));
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
            Some((base, known)) if *base == *ctx.props().relay => Some(*known),
            _ => None,
        });
        if known.is_none() || words.is_none() {
            spawn(ctx, &relay, Work::Status);
        }
        let (page, fragment) = page_and_fragment().unwrap_or_default();
        let mut flow = Flow::speaking(&ctx.props().email, words.unwrap_or_else(Words::english));
        if ctx.props().link || known.is_some_and(|known| known.link) {
            flow.link_page = Some(page.clone());
        }
        if let Some(link) = take_email_link(&page, &fragment) {
            flow.update(Action::LinkOpened(link), now_ms());
        }
        VerifyFlow {
            flow,
            page,
            channel: Self::listen(ctx),
            relay,
            now_ms: now_ms(),
            id: instance_id(),
            dev_outbox: known.is_some_and(|known| known.dev_outbox),
            is_page: ctx.props().is_page,
            refs: Refs::default(),
            _clock: Interval::new(1_000, move || tick.emit(())),
            solving: None,
            pow_timer: None,
        }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        self.now_ms = now_ms();
        match msg {
            Msg::Flow(action) => {
                self.act(ctx, action);
                true
            }
            // A challenge fetched for a job that another has replaced since is not solved.
            Msg::PowChallenge(generation, challenge) => {
                if generation == self.flow.pow_generation() {
                    self.start_solving(ctx, generation, challenge);
                }
                true
            }
            // A slice changes nothing on screen until it ends a search.
            Msg::PowSlice => {
                self.pow_slice(ctx);
                self.solving.is_none()
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
                if status.link && self.flow.link_page.is_none() {
                    self.flow.link_page = Some(self.page.clone());
                }
                if status.allowed {
                    let base = ctx.props().relay.to_string();
                    let known = Allowed {
                        dev_outbox: status.dev_outbox,
                        link: status.link,
                    };
                    ALLOWED.with(|allowed| *allowed.borrow_mut() = Some((base, known)));
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

    fn destroy(&mut self, _ctx: &Context<Self>) {
        if let Some((channel, _)) = self.channel.take() {
            channel.close();
        }
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &VerifyFlowProps) -> bool {
        if ctx.props().link && !old.link {
            self.flow.link_page = Some(self.page.clone());
        }
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
                None => spawn(ctx, &self.relay, Work::Status),
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
            Stage::Confirm(link) => steps::confirm(&scene, link),
            Stage::Verified(proof) => steps::verified(&scene, proof),
        };
        html! {
            <section class="otp" aria-labelledby={steps::part(&self.id, "-title")}
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

    fn rendered(&mut self, ctx: &Context<Self>, first_render: bool) {
        // The proof of work starts once the form is on screen, never before its first paint.
        if first_render {
            self.run_pow_job(ctx);
        }
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
