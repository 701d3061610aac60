//! The page's state machine: which screen shows, and the three actions that
//! move it (load the link, pay, watch the order). The screens read and
//! drive it; `app` mounts it. It never names a screen, so the screens can
//! depend on it without a cycle.

use checkout::api::{CheckoutView, LinkState, Money, OrderView, PayAction, PayMethod, PayRequest};
use checkout::routing::{self, Route, Shopper};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::error::Problem;
use crate::i18n::{self, Lang};
use crate::outcome::BridgeOutcome;
use crate::poll::{self, Verdict};
use crate::{api, bridge, decode, js, Error};

/// Which wallet's sheet the page is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wallet {
    /// WeixinJSBridge.
    WeChat,
    /// AlipayJSBridge.
    Alipay,
}

/// What the main area shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Screen {
    /// Fetching the link.
    Loading,
    /// The link could not be fetched (network, server): retry.
    LoadFailed(Error),
    /// The token is not genuine.
    Invalid,
    /// The link expired.
    Expired,
    /// The link was paid already.
    AlreadyPaid,
    /// An Alipay-only link in WeChat.
    OpenInBrowser,
    /// Summary and the pay button (pay errors live in [`Ctx::pay_error`]).
    Ready,
    /// Waiting for a wallet's payment sheet.
    Wallet(Wallet),
    /// Jumping to the payment app; the order is watched meanwhile.
    Redirecting {
        /// The attempt.
        charge_code: String,
        /// Where the page went.
        url: String,
    },
    /// Desktop: the QR code and its live status.
    Qr {
        /// The attempt.
        charge_code: String,
        /// The QR code as SVG markup.
        svg: String,
    },
    /// A wallet answered (or the shopper came back): the Worker confirms.
    Confirm {
        /// The attempt.
        charge_code: String,
        /// What the wallet said, if the page saw it.
        outcome: Option<BridgeOutcome>,
    },
    /// The Worker's final word on the attempt.
    Done(OrderView),
}

impl Screen {
    /// The screen's name and, for results, the order's state: the
    /// `data-screen` and `data-state` the browser tests wait for.
    pub fn name(&self) -> (&'static str, &'static str) {
        match self {
            Screen::Loading => ("loading", ""),
            Screen::LoadFailed(_) => ("load-failed", ""),
            Screen::Invalid => ("invalid", ""),
            Screen::Expired => ("expired", ""),
            Screen::AlreadyPaid => ("already-paid", ""),
            Screen::OpenInBrowser => ("open-in-browser", ""),
            Screen::Ready => ("ready", ""),
            Screen::Wallet(_) => ("wallet", ""),
            Screen::Redirecting { .. } => ("redirecting", ""),
            Screen::Qr { .. } => ("qr", ""),
            Screen::Confirm { .. } => ("confirm", ""),
            Screen::Done(order) => ("done", order.state.as_str()),
        }
    }
}

/// The live state of order polling, shown under waiting screens.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PollState {
    /// The last poll failed with this (polling goes on).
    pub trouble: Option<Error>,
    /// Polling stopped after [`poll::MAX_POLLS`]; "Check again" restarts it.
    pub gave_up: bool,
}

/// Things fixed once the page has read its address and the link.
struct Session {
    token: Option<String>,
    openid: Option<String>,
    buyer_id: Option<String>,
    resume: Option<String>,
    env: routing::Environment,
    /// Bumped by every new pay or watch; a running poll loop stops when it
    /// sees a newer generation.
    generation: u64,
}

/// Everything the page knows.
pub struct State {
    /// Current language.
    pub lang: Lang,
    /// Current screen.
    pub screen: Screen,
    /// The link, once loaded.
    pub link: Option<CheckoutView>,
    /// A pay request is in flight: pay buttons are disabled.
    pub busy: bool,
    /// Why the last pay attempt did not start.
    pub pay_error: Option<Error>,
    /// What the shopper typed as the amount of an open-amount link.
    pub typed_amount: String,
    /// Polling status.
    pub poll: PollState,
    session: Session,
}

/// The page state behind one signal (a `Copy` handle). One signal and one
/// reactive view over it, redrawn as a whole (tachys updates the DOM in
/// place where the screen stays the same), instead of a signal and a
/// reactive closure per detail: each of those is its own set of generic
/// reactive and rendering functions in the wasm (issue 12).
#[derive(Clone, Copy)]
pub struct Ctx {
    state: RwSignal<State>,
}

impl Ctx {
    pub(crate) fn new() -> Ctx {
        let params = js::page_params();
        let lang = i18n::detect(params.lang.as_deref(), &js::browser_languages());
        js::set_language(lang);
        Ctx {
            state: RwSignal::new(State {
                lang,
                screen: Screen::Loading,
                link: None,
                busy: false,
                pay_error: None,
                typed_amount: String::new(),
                poll: PollState::default(),
                session: Session {
                    token: params.token,
                    openid: params.openid,
                    buyer_id: params.buyer_id,
                    resume: params.charge_code,
                    env: routing::detect_with(&js::user_agent(), js::environment_flags()),
                    generation: 0,
                },
            }),
        }
    }

    /// Reads the state and redraws when it changes (the page's one view).
    pub fn track<R>(self, f: impl FnOnce(&State) -> R) -> R {
        self.state.with(f)
    }

    /// Reads the state without subscribing: the screens are drawn inside
    /// the one view that [`Ctx::track`]s it.
    pub fn with<R>(self, f: impl FnOnce(&State) -> R) -> R {
        self.state.with_untracked(f)
    }

    /// Changes what the page shows (redraws).
    fn set(self, f: impl FnOnce(&mut State)) {
        self.state.update(f);
    }

    /// Changes what no screen shows as it changes (the typed amount, the
    /// loaded link, the poll generation): no redraw.
    fn set_quietly(self, f: impl FnOnce(&mut State)) {
        self.state.update_untracked(f);
    }

    fn show(self, screen: Screen) {
        self.set(|s| s.screen = screen);
    }

    /// The current language's strings.
    pub fn t(self) -> &'static i18n::Strings {
        self.with(|s| s.lang.t())
    }

    /// Switches language (focus stays on the switch: the screen is
    /// updated in place).
    pub fn switch_language(self) {
        self.set(|s| s.lang = s.lang.other());
        js::set_language(self.with(|s| s.lang));
    }

    /// Keeps what the shopper types into the amount field.
    pub fn type_amount(self, text: String) {
        self.set_quietly(|s| s.typed_amount = text);
    }

    /// Where checkout's routing sends this shopper for this link.
    pub fn route(self) -> Route {
        self.with(State::route)
    }

    fn next_generation(self) -> u64 {
        self.set_quietly(|s| s.session.generation += 1);
        self.with(|s| s.session.generation)
    }

    fn is_current(self, generation: u64) -> bool {
        self.with(|s| s.session.generation == generation)
    }

    fn token(self) -> Option<String> {
        self.with(|s| s.session.token.clone())
    }
}

impl State {
    /// Where checkout's routing sends this shopper for this link.
    pub fn route(&self) -> Route {
        let shopper = Shopper {
            env: self.session.env,
            openid: self.session.openid.clone(),
            buyer_id: self.session.buyer_id.clone(),
        };
        routing::route(&shopper, self.link.as_ref().and_then(|l| l.channel))
    }
}

/// Shows the link's screen (or resumes watching an order): from the answer
/// the Worker embedded in the page on the first load, fetched otherwise.
pub fn load(ctx: Ctx) {
    ctx.show(Screen::Loading);
    let Some(token) = ctx.token() else {
        ctx.show(Screen::Invalid);
        return;
    };
    let resume = ctx.with(|s| s.session.resume.clone());
    let embedded = js::take_embedded_checkout().and_then(|v| decode::checkout_view(&v).ok());
    if let Some(link) = embedded {
        loaded(ctx, link, resume);
        return;
    }
    spawn_local(async move {
        match api::checkout(&token).await {
            Ok(link) => loaded(ctx, link, resume),
            Err(e) => match (e.problem(), resume) {
                (Problem::LinkExpired, Some(code)) => confirm(ctx, code, None),
                (Problem::InvalidLink, _) => ctx.show(Screen::Invalid),
                (Problem::LinkExpired, None) => ctx.show(Screen::Expired),
                _ => ctx.show(Screen::LoadFailed(e)),
            },
        }
    });
}

/// The link is known: resume watching the attempt in the address, or show it.
fn loaded(ctx: Ctx, link: CheckoutView, resume: Option<String>) {
    ctx.set_quietly(|s| s.link = Some(link.clone()));
    match resume {
        Some(code) => confirm(ctx, code, None),
        None => show_link(ctx, &link),
    }
}

fn show_link(ctx: Ctx, link: &CheckoutView) {
    ctx.show(match link.state {
        LinkState::Paid => Screen::AlreadyPaid,
        LinkState::Expired => Screen::Expired,
        LinkState::Open => match ctx.route() {
            Route::OpenInBrowser => Screen::OpenInBrowser,
            Route::Pay(_) => Screen::Ready,
        },
    });
}

/// Starts a payment attempt with the routed method. Ignored while another
/// is in flight, so a double tap creates one order.
pub fn pay(ctx: Ctx) {
    if ctx.with(|s| s.busy) {
        return;
    }
    let Route::Pay(method) = ctx.route() else {
        ctx.show(Screen::OpenInBrowser);
        return;
    };
    let Some(token) = ctx.token() else {
        ctx.show(Screen::Invalid);
        return;
    };
    let Ok(amount) = typed_amount(ctx) else {
        return;
    };
    ctx.set(|s| {
        s.busy = true;
        s.pay_error = None;
    });
    let generation = ctx.next_generation();
    let (openid, buyer_id) = ctx.with(|s| match method {
        PayMethod::WechatJsapi => (s.session.openid.clone(), None),
        PayMethod::AlipayJsapi => (None, s.session.buyer_id.clone()),
        _ => (None, None),
    });
    let request = PayRequest {
        token,
        method,
        openid,
        buyer_id,
        buyer_logon_id: None,
        amount,
    };
    spawn_local(async move {
        let result = api::pay(&request).await;
        if ctx.is_current(generation) {
            match result {
                Ok(response) => act(ctx, response.charge_code, response.action).await,
                Err(e) => pay_failed(ctx, e),
            }
        }
        ctx.set(|s| s.busy = false);
    });
}

/// The amount to send for an open-amount link (`None` for a fixed link),
/// checked with the Worker's own rule so the shopper hears at once; the
/// Worker checks again and decides. A refused amount is shown as the pay
/// error; an accepted one becomes the amount the next screens show.
fn typed_amount(ctx: Ctx) -> Result<Option<String>, ()> {
    let Some(bounds) = ctx.with(|s| s.link.as_ref().and_then(|l| l.open_amount.clone())) else {
        return Ok(None);
    };
    match bounds.parse(&ctx.with(|s| s.typed_amount.clone())) {
        Ok(fen) => {
            ctx.set_quietly(|s| {
                if let Some(l) = &mut s.link {
                    l.money = Money::from(fen);
                }
            });
            Ok(Some(fen.to_yuan()))
        }
        Err(e) => {
            ctx.set(|s| s.pay_error = Some(Error::Amount(e)));
            Err(())
        }
    }
}

fn pay_failed(ctx: Ctx, error: Error) {
    match error.problem() {
        Problem::AlreadyPaid => load(ctx),
        Problem::LinkExpired => ctx.show(Screen::Expired),
        Problem::InvalidLink => ctx.show(Screen::Invalid),
        _ => {
            ctx.set(|s| {
                s.pay_error = Some(error);
                s.screen = Screen::Ready;
            });
        }
    }
}

/// Does what the Worker said to do with a new attempt.
async fn act(ctx: Ctx, charge_code: String, action: PayAction) {
    match action {
        // The Worker draws the QR (`checkout::qr::svg`), so the page carries no encoder.
        PayAction::Qr { svg: Some(svg), .. } => {
            ctx.show(Screen::Qr {
                charge_code: charge_code.clone(),
                svg,
            });
            watch(ctx, charge_code);
        }
        PayAction::Qr { svg: None, .. } => pay_failed(ctx, Error::QrTooLong),
        // The Worker refuses unsafe redirects already; checked again here,
        // with the same function, right before `location` is set.
        PayAction::Redirect { url } if !checkout::guard::is_safe_redirect(&url) => {
            pay_failed(ctx, Error::UnsafeRedirect)
        }
        PayAction::Redirect { url } => {
            js::remember_charge_code(&charge_code);
            ctx.show(Screen::Redirecting {
                charge_code: charge_code.clone(),
                url: url.clone(),
            });
            watch(ctx, charge_code);
            js::navigate(&url);
        }
        PayAction::WechatJsapi { params } => {
            ctx.show(Screen::Wallet(Wallet::WeChat));
            match bridge::wechat_pay(&params).await {
                Ok(outcome) => confirm(ctx, charge_code, Some(outcome)),
                Err(e) => pay_failed(ctx, e),
            }
        }
        PayAction::AlipayTradePay { trade_no } => {
            ctx.show(Screen::Wallet(Wallet::Alipay));
            match bridge::alipay_trade_pay(&trade_no).await {
                Ok(outcome) => confirm(ctx, charge_code, Some(outcome)),
                Err(e) => pay_failed(ctx, e),
            }
        }
    }
}

fn confirm(ctx: Ctx, charge_code: String, outcome: Option<BridgeOutcome>) {
    ctx.show(Screen::Confirm {
        charge_code: charge_code.clone(),
        outcome,
    });
    watch(ctx, charge_code);
}

/// Polls the order with back-off until the Worker gives a final state,
/// another attempt starts, or [`poll::MAX_POLLS`] is reached.
pub fn watch(ctx: Ctx, charge_code: String) {
    let generation = ctx.next_generation();
    ctx.set(|s| s.poll = PollState::default());
    // Every page has a token (without one it shows "invalid" and never watches).
    let token = ctx.token().unwrap_or_default();
    spawn_local(async move {
        let mut attempt = 0;
        loop {
            let result = api::order(&charge_code, &token).await;
            if !ctx.is_current(generation) {
                return;
            }
            match result {
                Ok(order) => {
                    if ctx.with(|s| s.poll.trouble.is_some()) {
                        ctx.set(|s| s.poll.trouble = None);
                    }
                    if Verdict::of(order.state).is_final() {
                        ctx.show(Screen::Done(order));
                        return;
                    }
                }
                Err(e) if e.problem() == Problem::NotFound => {
                    ctx.set_quietly(|s| s.pay_error = Some(e));
                    match ctx.with(|s| s.link.clone()) {
                        Some(link) => show_link(ctx, &link),
                        None => ctx.show(Screen::Invalid),
                    }
                    return;
                }
                Err(e) => ctx.set(|s| s.poll.trouble = Some(e)),
            }
            if attempt >= poll::MAX_POLLS {
                ctx.set(|s| s.poll.gave_up = true);
                return;
            }
            js::sleep(poll::delay_ms(attempt)).await;
            attempt += 1;
            if !ctx.is_current(generation) {
                return;
            }
        }
    });
}
