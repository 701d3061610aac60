//! The page's state machine: which screen shows, and the three actions that
//! move it (load the link, pay, watch the order). The screens read and
//! drive it; `app` mounts it. It never names a screen, so the screens can
//! depend on it without a cycle.

use checkout::api::{CheckoutView, LinkState, OrderView, PayAction, PayMethod, PayRequest};
use checkout::routing::{self, Route, Shopper};
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::error::Problem;
use crate::i18n::{self, Lang};
use crate::outcome::BridgeOutcome;
use crate::poll::{self, Verdict};
use crate::{api, bridge, js, Error};

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

/// The live state of order polling, shown under waiting screens.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PollState {
    /// The last poll failed with this (polling goes on).
    pub trouble: Option<Error>,
    /// Polling stopped after [`poll::MAX_POLLS`]; "Check again" restarts it.
    pub gave_up: bool,
}

/// Things fixed once the page has read its address and the link.
#[derive(Clone, Debug)]
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

/// Shared page state (all fields are `Copy` handles).
#[derive(Clone, Copy)]
pub struct Ctx {
    /// Current language.
    pub lang: RwSignal<Lang>,
    /// Current screen.
    pub screen: RwSignal<Screen>,
    /// The link, once loaded.
    pub link: RwSignal<Option<CheckoutView>>,
    /// A pay request is in flight: pay buttons are disabled.
    pub busy: RwSignal<bool>,
    /// Why the last pay attempt did not start.
    pub pay_error: RwSignal<Option<Error>>,
    /// Polling status.
    pub poll: RwSignal<PollState>,
    /// Whether the next heading to mount takes focus (not after a language switch).
    pub focus_heading: StoredValue<bool>,
    session: StoredValue<Session>,
}

impl Ctx {
    pub(crate) fn new() -> Ctx {
        let params = js::page_params();
        let lang = i18n::detect(params.lang.as_deref(), &js::browser_languages());
        Ctx {
            lang: RwSignal::new(lang),
            screen: RwSignal::new(Screen::Loading),
            link: RwSignal::new(None),
            busy: RwSignal::new(false),
            pay_error: RwSignal::new(None),
            poll: RwSignal::new(PollState::default()),
            focus_heading: StoredValue::new(true),
            session: StoredValue::new(Session {
                token: params.token,
                openid: params.openid,
                buyer_id: params.buyer_id,
                resume: params.charge_code,
                env: routing::detect_with(&js::user_agent(), js::environment_flags()),
                generation: 0,
            }),
        }
    }

    /// The current language's strings. Untracked: the whole screen is
    /// rebuilt when the language changes (one reactive scope instead of one
    /// per string keeps the wasm small).
    pub fn t(self) -> &'static i18n::Strings {
        self.lang.get_untracked().t()
    }

    /// Switches language without moving focus to the screen's heading.
    pub fn switch_language(self) {
        self.focus_heading.set_value(false);
        self.lang.update(|l| *l = l.other());
    }

    /// Where checkout's routing sends this shopper for this link.
    pub fn route(self) -> Route {
        let session = self.session.get_value();
        let shopper = Shopper {
            env: session.env,
            openid: session.openid,
            buyer_id: session.buyer_id,
        };
        let channel = self
            .link
            .with_untracked(|l| l.as_ref().and_then(|l| l.channel));
        routing::route(&shopper, channel)
    }

    fn next_generation(self) -> u64 {
        self.session.update_value(|s| s.generation += 1);
        self.session.with_value(|s| s.generation)
    }

    fn is_current(self, generation: u64) -> bool {
        self.session.with_value(|s| s.generation == generation)
    }
}

/// Fetches the link and shows its screen (or resumes watching an order).
pub fn load(ctx: Ctx) {
    ctx.screen.set(Screen::Loading);
    let Some(token) = ctx.session.with_value(|s| s.token.clone()) else {
        ctx.screen.set(Screen::Invalid);
        return;
    };
    let resume = ctx.session.with_value(|s| s.resume.clone());
    spawn_local(async move {
        match api::checkout(&token).await {
            Ok(link) => {
                ctx.link.set(Some(link.clone()));
                match resume {
                    Some(code) => confirm(ctx, code, None),
                    None => show_link(ctx, &link),
                }
            }
            Err(e) => match (e.problem(), resume) {
                (Problem::LinkExpired, Some(code)) => confirm(ctx, code, None),
                (Problem::InvalidLink, _) => ctx.screen.set(Screen::Invalid),
                (Problem::LinkExpired, None) => ctx.screen.set(Screen::Expired),
                _ => ctx.screen.set(Screen::LoadFailed(e)),
            },
        }
    });
}

fn show_link(ctx: Ctx, link: &CheckoutView) {
    ctx.screen.set(match link.state {
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
    if ctx.busy.get_untracked() {
        return;
    }
    let Route::Pay(method) = ctx.route() else {
        ctx.screen.set(Screen::OpenInBrowser);
        return;
    };
    let Some(token) = ctx.session.with_value(|s| s.token.clone()) else {
        ctx.screen.set(Screen::Invalid);
        return;
    };
    ctx.busy.set(true);
    ctx.pay_error.set(None);
    let generation = ctx.next_generation();
    let (openid, buyer_id) = ctx.session.with_value(|s| match method {
        PayMethod::WechatJsapi => (s.openid.clone(), None),
        PayMethod::AlipayJsapi => (None, s.buyer_id.clone()),
        _ => (None, None),
    });
    let request = PayRequest {
        token,
        method,
        openid,
        buyer_id,
        buyer_logon_id: None,
    };
    spawn_local(async move {
        let result = api::pay(&request).await;
        if ctx.is_current(generation) {
            match result {
                Ok(response) => act(ctx, response.charge_code, response.action).await,
                Err(e) => pay_failed(ctx, e),
            }
        }
        ctx.busy.set(false);
    });
}

fn pay_failed(ctx: Ctx, error: Error) {
    match error.problem() {
        Problem::AlreadyPaid => load(ctx),
        Problem::LinkExpired => ctx.screen.set(Screen::Expired),
        Problem::InvalidLink => ctx.screen.set(Screen::Invalid),
        _ => {
            ctx.pay_error.set(Some(error));
            ctx.screen.set(Screen::Ready);
        }
    }
}

/// Does what the Worker said to do with a new attempt.
async fn act(ctx: Ctx, charge_code: String, action: PayAction) {
    match action {
        PayAction::Qr { content } => match checkout::qr::svg(&content) {
            Some(svg) => {
                ctx.screen.set(Screen::Qr {
                    charge_code: charge_code.clone(),
                    svg,
                });
                watch(ctx, charge_code);
            }
            None => pay_failed(ctx, Error::QrTooLong),
        },
        // The Worker refuses unsafe redirects already; checked again here,
        // with the same function, right before `location` is set.
        PayAction::Redirect { url } if !checkout::guard::is_safe_redirect(&url) => {
            pay_failed(ctx, Error::UnsafeRedirect)
        }
        PayAction::Redirect { url } => {
            js::remember_charge_code(&charge_code);
            ctx.screen.set(Screen::Redirecting {
                charge_code: charge_code.clone(),
                url: url.clone(),
            });
            watch(ctx, charge_code);
            js::navigate(&url);
        }
        PayAction::WechatJsapi { params } => {
            ctx.screen.set(Screen::Wallet(Wallet::WeChat));
            match bridge::wechat_pay(&params).await {
                Ok(outcome) => confirm(ctx, charge_code, Some(outcome)),
                Err(e) => pay_failed(ctx, e),
            }
        }
        PayAction::AlipayTradePay { trade_no } => {
            ctx.screen.set(Screen::Wallet(Wallet::Alipay));
            match bridge::alipay_trade_pay(&trade_no).await {
                Ok(outcome) => confirm(ctx, charge_code, Some(outcome)),
                Err(e) => pay_failed(ctx, e),
            }
        }
    }
}

fn confirm(ctx: Ctx, charge_code: String, outcome: Option<BridgeOutcome>) {
    ctx.screen.set(Screen::Confirm {
        charge_code: charge_code.clone(),
        outcome,
    });
    watch(ctx, charge_code);
}

/// Polls the order with back-off until the Worker gives a final state,
/// another attempt starts, or [`poll::MAX_POLLS`] is reached.
pub fn watch(ctx: Ctx, charge_code: String) {
    let generation = ctx.next_generation();
    ctx.poll.set(PollState::default());
    // Every page has a token (without one it shows "invalid" and never watches).
    let token = ctx
        .session
        .with_value(|s| s.token.clone())
        .unwrap_or_default();
    spawn_local(async move {
        let mut attempt = 0;
        loop {
            let result = api::order(&charge_code, &token).await;
            if !ctx.is_current(generation) {
                return;
            }
            match result {
                Ok(order) => {
                    ctx.poll.update(|p| p.trouble = None);
                    if Verdict::of(order.state).is_final() {
                        ctx.screen.set(Screen::Done(order));
                        return;
                    }
                }
                Err(e) if e.problem() == Problem::NotFound => {
                    ctx.pay_error.set(Some(e));
                    match ctx.link.get_untracked() {
                        Some(link) => show_link(ctx, &link),
                        None => ctx.screen.set(Screen::Invalid),
                    }
                    return;
                }
                Err(e) => ctx.poll.update(|p| p.trouble = Some(e)),
            }
            if attempt >= poll::MAX_POLLS {
                ctx.poll.update(|p| p.gave_up = true);
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
