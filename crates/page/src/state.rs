//! The page's screen logic as a pure reducer: [`step`] takes the page's
//! state and one [`Event`] (something the shopper did, or an answer from
//! the Worker, a wallet bridge or a timer) and says which [`Effect`] the
//! browser shell must run next. Nothing here touches the browser, so every
//! transition is table-tested on the host; `app` only runs effects and
//! feeds their answers back, and `screens` only draw the [`Page`].

use checkout::api::{
    CheckoutView, LinkState, Money, OrderView, PayAction, PayMethod, PayRequest, PayResponse,
    WechatPayParams,
};
use checkout::routing::{self, Route, Shopper};

use crate::error::Problem;
use crate::i18n::Lang;
use crate::location::{safe_return_url, PageParams};
use crate::outcome::BridgeOutcome;
use crate::poll::{self, Verdict};
use crate::Error;

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
    /// The merchant deactivated the code.
    Inactive,
    /// The link was paid already.
    AlreadyPaid,
    /// An Alipay-only link in WeChat.
    OpenInBrowser,
    /// Summary and the pay button (pay errors live in [`Page::pay_error`]).
    Ready,
    /// Waiting for a wallet's payment sheet.
    Wallet {
        /// Whose sheet.
        wallet: Wallet,
        /// The attempt the sheet pays, watched once the sheet answers.
        charge_code: String,
    },
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
            Screen::Inactive => ("inactive", ""),
            Screen::AlreadyPaid => ("already-paid", ""),
            Screen::OpenInBrowser => ("open-in-browser", ""),
            Screen::Ready => ("ready", ""),
            Screen::Wallet { .. } => ("wallet", ""),
            Screen::Redirecting { .. } => ("redirecting", ""),
            Screen::Qr { .. } => ("qr", ""),
            Screen::Confirm { .. } => ("confirm", ""),
            Screen::Done(order) => ("done", order.state.as_str()),
        }
    }

    /// The attempt a waiting screen watches: the ones with a poll line.
    fn watched(&self) -> Option<&str> {
        match self {
            Screen::Qr { charge_code, .. }
            | Screen::Confirm { charge_code, .. }
            | Screen::Redirecting { charge_code, .. } => Some(charge_code),
            _ => None,
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

/// Things fixed once the page has read its address.
struct Session {
    token: Option<String>,
    openid: Option<String>,
    buyer_id: Option<String>,
    resume: Option<String>,
    env: routing::Environment,
    /// Bumped by every new pay or watch; an answer to an older one is
    /// stale and changes nothing.
    generation: u64,
}

/// Everything the page knows.
pub struct Page {
    /// Current language.
    pub lang: Lang,
    /// Current screen.
    pub screen: Screen,
    /// The link, once loaded.
    pub link: Option<CheckoutView>,
    /// A pay request (or the wallet sheet it opened) is in flight: pay
    /// buttons are disabled.
    pub busy: bool,
    /// Why the last pay attempt did not start.
    pub pay_error: Option<Error>,
    /// What the shopper typed as the amount of an open-amount link.
    pub typed_amount: String,
    /// Polling status.
    pub poll: PollState,
    session: Session,
}

/// One poll of one attempt, handed from [`Effect`] to [`Event`] and back,
/// so the answer of a poll loop that a newer pay or watch replaced is
/// recognised as stale.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    /// The attempt.
    pub charge_code: String,
    /// The page's token (`GET /api/orders/{code}?token=`).
    pub token: String,
    /// The watch this poll belongs to.
    generation: u64,
    /// Polls of this watch before this one.
    attempt: u32,
}

/// What happens to the page.
#[derive(Debug)]
pub enum Event {
    /// The page opened, or the shopper asked to load the link again; with
    /// the link's answer the Worker embedded in the page, if still there.
    Load(Option<CheckoutView>),
    /// `GET /api/checkout/{token}` answered.
    CheckoutAnswered(Result<CheckoutView, Error>),
    /// The language switch was tapped.
    SwitchLanguage,
    /// The shopper typed into the amount field.
    TypeAmount(String),
    /// The pay button (or Enter in the amount field).
    PayTapped,
    /// `POST /api/pay` answered the pay request of `generation`.
    PayAnswered {
        /// From [`Effect::Pay`].
        generation: u64,
        /// The answer.
        result: Result<PayResponse, Error>,
    },
    /// The wallet's sheet closed (or the bridge could not be used).
    WalletAnswered(Result<BridgeOutcome, Error>),
    /// The shopper came back to the page, or tapped "Check again": ask the
    /// Worker now instead of at the next (backed-off, or given-up) poll.
    Recheck,
    /// `GET /api/orders/{code}` answered.
    OrderAnswered {
        /// From [`Effect::Poll`].
        watch: Watch,
        /// The answer.
        result: Result<OrderView, Error>,
    },
    /// The wait between two polls is over.
    PollDue(Watch),
}

/// What the browser shell must do next (and feed back as an [`Event`]).
#[derive(Debug, PartialEq)]
pub enum Effect {
    /// Nothing.
    None,
    /// Set `<html lang>` and the title.
    SetLanguage(Lang),
    /// `GET /api/checkout/{token}` → [`Event::CheckoutAnswered`].
    FetchCheckout {
        /// The link token.
        token: String,
    },
    /// `POST /api/pay` → [`Event::PayAnswered`].
    Pay {
        /// Echoed in the answer.
        generation: u64,
        /// The body.
        request: PayRequest,
    },
    /// Open WeChat's payment sheet → [`Event::WalletAnswered`].
    WechatPay(WechatPayParams),
    /// Open Alipay's payment sheet → [`Event::WalletAnswered`].
    AlipayPay {
        /// The trade to pay.
        trade_no: String,
    },
    /// Put the attempt into the address (so coming back resumes it), go to
    /// the payment app's `url`, then poll as [`Effect::Poll`].
    Redirect {
        /// A URL `checkout::guard::is_safe_redirect` accepted.
        url: String,
        /// The first poll.
        watch: Watch,
    },
    /// Open `/c/{token}` again without the shopper's id: inside a wallet
    /// whose sign-in is configured the Worker signs the shopper in first
    /// (a pay refused `SIGNIN_INVALID`, issue 24 defect 3). Needs a tap
    /// each time, so it cannot loop by itself.
    SignIn {
        /// The link token.
        token: String,
    },
    /// `GET /api/orders/{code}` → [`Event::OrderAnswered`].
    Poll(Watch),
    /// Sleep `ms`, then [`Event::PollDue`].
    Wait {
        /// How long.
        ms: u32,
        /// The next poll.
        watch: Watch,
    },
}

/// The result of one [`step`].
#[derive(Debug, PartialEq)]
pub struct Step {
    /// What to run next.
    pub effect: Effect,
    /// Whether anything drawn changed: a keystroke or a poll that learned
    /// nothing new does not redraw the page.
    pub redraw: bool,
}

impl Step {
    fn shown(effect: Effect) -> Step {
        Step {
            effect,
            redraw: true,
        }
    }

    fn quiet(effect: Effect) -> Step {
        Step {
            effect,
            redraw: false,
        }
    }
}

impl Page {
    /// The page before anything is loaded.
    pub fn new(lang: Lang, params: PageParams, env: routing::Environment) -> Page {
        Page {
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
                env,
                generation: 0,
            },
        }
    }

    /// Where checkout's routing sends this shopper for this link.
    pub fn route(&self) -> Route {
        let shopper = Shopper {
            env: self.session.env,
            openid: self.session.openid.clone(),
            buyer_id: self.session.buyer_id.clone(),
        };
        routing::route(&shopper, self.link.as_ref().and_then(|l| l.channel))
    }

    /// The merchant's return link, offered only once the payment is
    /// settled as paid (the result says paid, or the link was paid
    /// already), and only if it is an http(s) URL.
    pub fn return_url(&self) -> Option<&str> {
        let link = self.link.as_ref().and_then(|l| l.return_url.as_deref());
        safe_return_url(match &self.screen {
            Screen::Done(order) if Verdict::of(order.state) == Verdict::Paid => {
                order.return_url.as_deref().or(link)
            }
            Screen::AlreadyPaid => link,
            _ => None,
        })
    }

    fn load(&mut self, embedded: Option<CheckoutView>) -> Effect {
        self.screen = Screen::Loading;
        let Some(token) = self.session.token.clone() else {
            self.screen = Screen::Invalid;
            return Effect::None;
        };
        match embedded {
            Some(link) => self.loaded(link),
            None => Effect::FetchCheckout { token },
        }
    }

    fn load_failed(&mut self, error: Error) -> Effect {
        match (error.problem(), self.session.resume.clone()) {
            (Problem::LinkExpired | Problem::LinkInactive, Some(code)) => {
                return self.confirm(code, None)
            }
            (Problem::LinkInactive, None) => self.screen = Screen::Inactive,
            (Problem::InvalidLink, _) => self.screen = Screen::Invalid,
            (Problem::LinkExpired, None) => self.screen = Screen::Expired,
            _ => self.screen = Screen::LoadFailed(error),
        }
        Effect::None
    }

    /// The link is known: resume watching the attempt in the address, or show it.
    fn loaded(&mut self, link: CheckoutView) -> Effect {
        self.link = Some(link);
        match self.session.resume.clone() {
            Some(code) => self.confirm(code, None),
            None => {
                self.show_link();
                Effect::None
            }
        }
    }

    fn show_link(&mut self) {
        self.screen = match self.link.as_ref().map(|l| l.state) {
            None => Screen::Invalid,
            Some(LinkState::Paid) => Screen::AlreadyPaid,
            Some(LinkState::Expired) => Screen::Expired,
            Some(LinkState::Open) => match self.route() {
                Route::OpenInBrowser => Screen::OpenInBrowser,
                Route::Pay(_) => Screen::Ready,
            },
        };
    }

    /// Starts a payment attempt with the routed method. Ignored while
    /// another is in flight, so a double tap creates one order.
    fn pay(&mut self) -> Step {
        if self.busy {
            return Step::quiet(Effect::None);
        }
        let Route::Pay(method) = self.route() else {
            self.screen = Screen::OpenInBrowser;
            return Step::shown(Effect::None);
        };
        let Some(token) = self.session.token.clone() else {
            self.screen = Screen::Invalid;
            return Step::shown(Effect::None);
        };
        let amount = match self.typed_amount() {
            Ok(amount) => amount,
            Err(e) => {
                self.pay_error = Some(Error::Amount(e));
                return Step::shown(Effect::None);
            }
        };
        self.busy = true;
        self.pay_error = None;
        self.session.generation += 1;
        let (openid, buyer_id) = match method {
            PayMethod::WechatJsapi => (self.session.openid.clone(), None),
            PayMethod::AlipayJsapi => (None, self.session.buyer_id.clone()),
            _ => (None, None),
        };
        Step::shown(Effect::Pay {
            generation: self.session.generation,
            request: PayRequest {
                token,
                method,
                openid,
                buyer_id,
                buyer_logon_id: None,
                amount,
            },
        })
    }

    /// The amount to send for an open-amount link (`None` for a fixed
    /// link), checked with the Worker's own rule so the shopper hears at
    /// once; the Worker checks again and decides. An accepted amount
    /// becomes the amount the next screens show.
    fn typed_amount(&mut self) -> Result<Option<String>, checkout::Error> {
        let Some(link) = &mut self.link else {
            return Ok(None);
        };
        let Some(bounds) = &link.open_amount else {
            return Ok(None);
        };
        let fen = bounds.parse(&self.typed_amount)?;
        link.money = Money::from(fen);
        Ok(Some(fen.to_yuan()))
    }

    fn pay_answered(&mut self, generation: u64, result: Result<PayResponse, Error>) -> Effect {
        let effect = if generation != self.session.generation {
            Effect::None
        } else {
            match result {
                Ok(response) => self.act(response.charge_code, response.action),
                Err(e) => self.pay_failed(e),
            }
        };
        // The pay button stays disabled while a wallet's sheet is open.
        self.busy = matches!(effect, Effect::WechatPay(_) | Effect::AlipayPay { .. });
        effect
    }

    /// Does what the Worker said to do with a new attempt.
    fn act(&mut self, charge_code: String, action: PayAction) -> Effect {
        match action {
            // The Worker draws the QR (`checkout::qr::svg`), so the page carries no encoder.
            PayAction::Qr { svg: Some(svg), .. } => {
                self.screen = Screen::Qr {
                    charge_code: charge_code.clone(),
                    svg,
                };
                Effect::Poll(self.watch(charge_code))
            }
            PayAction::Qr { svg: None, .. } => self.pay_failed(Error::QrTooLong),
            // The Worker refuses unsafe redirects already; checked again
            // here, with the same function, before the shell follows it.
            PayAction::Redirect { url } if !checkout::guard::is_safe_redirect(&url) => {
                self.pay_failed(Error::UnsafeRedirect)
            }
            PayAction::Redirect { url } => {
                self.screen = Screen::Redirecting {
                    charge_code: charge_code.clone(),
                    url: url.clone(),
                };
                Effect::Redirect {
                    url,
                    watch: self.watch(charge_code),
                }
            }
            PayAction::WechatJsapi { params } => {
                self.screen = Screen::Wallet {
                    wallet: Wallet::WeChat,
                    charge_code,
                };
                Effect::WechatPay(params)
            }
            PayAction::AlipayTradePay { trade_no } => {
                self.screen = Screen::Wallet {
                    wallet: Wallet::Alipay,
                    charge_code,
                };
                Effect::AlipayPay { trade_no }
            }
        }
    }

    fn pay_failed(&mut self, error: Error) -> Effect {
        match error.problem() {
            Problem::AlreadyPaid => return self.load(None),
            Problem::SignIn => {
                if let Some(token) = self.session.token.clone() {
                    self.screen = Screen::Loading;
                    return Effect::SignIn { token };
                }
                self.screen = Screen::Invalid;
            }
            Problem::LinkExpired => self.screen = Screen::Expired,
            Problem::LinkInactive => self.screen = Screen::Inactive,
            Problem::InvalidLink => self.screen = Screen::Invalid,
            _ => {
                self.pay_error = Some(error);
                self.screen = Screen::Ready;
            }
        }
        Effect::None
    }

    fn wallet_answered(&mut self, result: Result<BridgeOutcome, Error>) -> Step {
        let Screen::Wallet { charge_code, .. } = &self.screen else {
            return Step::quiet(Effect::None);
        };
        let charge_code = charge_code.clone();
        self.busy = false;
        Step::shown(match result {
            Ok(outcome) => self.confirm(charge_code, Some(outcome)),
            Err(e) => self.pay_failed(e),
        })
    }

    fn confirm(&mut self, charge_code: String, outcome: Option<BridgeOutcome>) -> Effect {
        self.screen = Screen::Confirm {
            charge_code: charge_code.clone(),
            outcome,
        };
        Effect::Poll(self.watch(charge_code))
    }

    /// Starts polling the order (and stops any earlier poll loop).
    fn watch(&mut self, charge_code: String) -> Watch {
        self.session.generation += 1;
        self.poll = PollState::default();
        Watch {
            charge_code,
            // Every page that watches has a token (without one it shows
            // "invalid" and never watches).
            token: self.session.token.clone().unwrap_or_default(),
            generation: self.session.generation,
            attempt: 0,
        }
    }

    /// Polls the order with back-off until the Worker gives a final state,
    /// another attempt starts, or [`poll::MAX_POLLS`] is reached.
    fn order_answered(&mut self, watch: Watch, result: Result<OrderView, Error>) -> Step {
        if watch.generation != self.session.generation {
            return Step::quiet(Effect::None);
        }
        let redraw = match result {
            Ok(order) if Verdict::of(order.state).is_final() => {
                self.poll.trouble = None;
                self.screen = Screen::Done(order);
                return Step::shown(Effect::None);
            }
            // A poll that answers again clears the trouble line.
            Ok(_) => self.poll.trouble.take().is_some(),
            Err(e) if e.problem() == Problem::NotFound => {
                self.pay_error = Some(e);
                self.show_link();
                return Step::shown(Effect::None);
            }
            Err(e) => {
                self.poll.trouble = Some(e);
                true
            }
        };
        if watch.attempt >= poll::MAX_POLLS {
            self.poll.gave_up = true;
            return Step::shown(Effect::None);
        }
        Step {
            effect: Effect::Wait {
                ms: poll::delay_ms(watch.attempt),
                watch: Watch {
                    attempt: watch.attempt + 1,
                    ..watch
                },
            },
            redraw,
        }
    }
}

/// Applies `event` to `page`: the one place the page decides anything.
pub fn step(page: &mut Page, event: Event) -> Step {
    match event {
        Event::Load(embedded) => Step::shown(page.load(embedded)),
        Event::CheckoutAnswered(Ok(link)) => Step::shown(page.loaded(link)),
        Event::CheckoutAnswered(Err(e)) => Step::shown(page.load_failed(e)),
        Event::SwitchLanguage => {
            page.lang = page.lang.other();
            Step::shown(Effect::SetLanguage(page.lang))
        }
        Event::TypeAmount(text) => {
            page.typed_amount = text;
            Step::quiet(Effect::None)
        }
        Event::PayTapped => page.pay(),
        Event::PayAnswered { generation, result } => {
            Step::shown(page.pay_answered(generation, result))
        }
        Event::WalletAnswered(result) => page.wallet_answered(result),
        Event::Recheck => match page.screen.watched() {
            Some(code) => {
                let code = code.to_owned();
                Step::shown(Effect::Poll(page.watch(code)))
            }
            None => Step::quiet(Effect::None),
        },
        Event::OrderAnswered { watch, result } => page.order_answered(watch, result),
        Event::PollDue(watch) if watch.generation == page.session.generation => {
            Step::quiet(Effect::Poll(watch))
        }
        Event::PollDue(_) => Step::quiet(Effect::None),
    }
}

#[cfg(test)]
mod tests {
    use checkout::api::{AmountBounds, ErrorCode, ErrorDetail, LinkChannel, OrderStatus};
    use checkout::routing::Environment;
    use soushou::money::Fen;

    use super::*;

    const TOKEN: &str = "tok.en";

    fn page_with(env: Environment, openid: Option<&str>, buyer_id: Option<&str>) -> Page {
        Page::new(
            Lang::En,
            PageParams {
                token: Some(TOKEN.into()),
                openid: openid.map(Into::into),
                buyer_id: buyer_id.map(Into::into),
                charge_code: None,
                lang: None,
            },
            env,
        )
    }

    fn desktop() -> Page {
        page_with(Environment::Desktop, None, None)
    }

    /// A page opened from the app jump's return address (`?charge_code=`).
    fn resumed(code: &str) -> Page {
        let mut page = desktop();
        page.session.resume = Some(code.into());
        page
    }

    fn link(state: LinkState) -> CheckoutView {
        CheckoutView {
            merchant: "Shop".into(),
            subject: "Tea".into(),
            money: Money::from(Fen::from_fen(1250)),
            currency: "CNY".into(),
            expires_at: 2_000_000_000,
            state,
            charge_code: None,
            return_url: Some("https://shop.example/back".into()),
            goods: Vec::new(),
            channel: None,
            open_amount: None,
        }
    }

    fn open_amount_link() -> CheckoutView {
        CheckoutView {
            open_amount: Some(AmountBounds {
                min_amount: "1.00".into(),
                min_amount_fen: 100,
                max_amount: "100.00".into(),
                max_amount_fen: 10_000,
            }),
            money: Money::from(Fen::from_fen(100)),
            ..link(LinkState::Open)
        }
    }

    fn api(status: u16, code: ErrorCode) -> Error {
        Error::Api {
            status,
            detail: ErrorDetail {
                code,
                message: "m".into(),
                gateway_code: None,
                permission: None,
                reason: None,
            },
        }
    }

    fn order(state: OrderStatus) -> OrderView {
        OrderView {
            charge_code: "C1".into(),
            state,
            money: Money::from(Fen::from_fen(1250)),
            paid_at: None,
            return_url: None,
        }
    }

    fn qr() -> PayAction {
        PayAction::Qr {
            content: "weixin://wxpay/x".into(),
            svg: Some("<svg/>".into()),
        }
    }

    fn wechat_params() -> WechatPayParams {
        WechatPayParams {
            app_id: "wx1".into(),
            time_stamp: "1".into(),
            nonce_str: "n".into(),
            package: "prepay_id=p".into(),
            sign_type: "RSA".into(),
            pay_sign: "s".into(),
        }
    }

    /// WeChat's payment sheet.
    fn sheet() -> PayAction {
        PayAction::WechatJsapi {
            params: wechat_params(),
        }
    }

    /// `page` after loading `link` from the page itself (no fetch).
    fn loaded(mut page: Page, link: CheckoutView) -> Page {
        step(&mut page, Event::Load(Some(link)));
        page
    }

    /// An open link in WeChat, signed in: paid with the WeChat sheet.
    fn in_wechat() -> Page {
        loaded(
            page_with(Environment::WeChat, Some("o1"), None),
            link(LinkState::Open),
        )
    }

    fn ready() -> Page {
        let page = loaded(desktop(), link(LinkState::Open));
        assert_eq!(page.screen, Screen::Ready);
        page
    }

    /// Taps pay and returns the request's generation and body.
    fn tap(page: &mut Page) -> (u64, PayRequest) {
        let step = step(page, Event::PayTapped);
        assert!(step.redraw);
        match step.effect {
            Effect::Pay {
                generation,
                request,
            } => (generation, request),
            other => panic!("no pay request: {other:?}"),
        }
    }

    fn answer(page: &mut Page, generation: u64, result: Result<PayAction, Error>) -> Effect {
        let result = result.map(|action| PayResponse {
            charge_code: "C1".into(),
            method: PayMethod::Native,
            action,
        });
        step(page, Event::PayAnswered { generation, result }).effect
    }

    /// Taps pay and answers with `action`.
    fn paid_with(page: &mut Page, action: PayAction) -> Effect {
        let (generation, _) = tap(page);
        answer(page, generation, Ok(action))
    }

    fn polled(effect: Effect) -> Watch {
        match effect {
            Effect::Poll(watch) | Effect::Redirect { watch, .. } => watch,
            other => panic!("not polling: {other:?}"),
        }
    }

    /// The attempt C1 on the QR screen, its first poll due.
    fn on_qr() -> (Page, Watch) {
        let mut page = ready();
        let watch = polled(paid_with(&mut page, qr()));
        (page, watch)
    }

    fn poll_answer(page: &mut Page, watch: &Watch, result: Result<OrderView, Error>) -> Step {
        let watch = watch.clone();
        step(page, Event::OrderAnswered { watch, result })
    }

    #[test]
    fn loading_the_link() {
        let mut page = desktop();
        page.session.token = None;
        assert_eq!(
            step(&mut page, Event::Load(None)),
            Step::shown(Effect::None)
        );
        assert_eq!(page.screen, Screen::Invalid);

        let mut page = desktop();
        let step1 = step(&mut page, Event::Load(None));
        assert_eq!(page.screen, Screen::Loading);
        assert_eq!(
            step1.effect,
            Effect::FetchCheckout {
                token: TOKEN.into()
            }
        );
        step(
            &mut page,
            Event::CheckoutAnswered(Ok(link(LinkState::Open))),
        );
        assert_eq!(page.screen, Screen::Ready);
        assert_eq!(page.link, Some(link(LinkState::Open)));

        // The link the Worker embedded in the page needs no fetch.
        let mut page = desktop();
        let effect = step(&mut page, Event::Load(Some(link(LinkState::Open)))).effect;
        assert_eq!((page.screen, effect), (Screen::Ready, Effect::None));
    }

    #[test]
    fn link_states_and_routes_pick_the_screen() {
        let alipay_only = CheckoutView {
            channel: Some(LinkChannel::Alipay),
            ..link(LinkState::Open)
        };
        let table = [
            (desktop(), link(LinkState::Open), Screen::Ready),
            (desktop(), link(LinkState::Paid), Screen::AlreadyPaid),
            (desktop(), link(LinkState::Expired), Screen::Expired),
            (
                page_with(Environment::WeChat, Some("o1"), None),
                alipay_only.clone(),
                Screen::OpenInBrowser,
            ),
            (desktop(), alipay_only, Screen::Ready),
        ];
        for (page, link, screen) in table {
            let what = format!("{:?}/{:?}", link.state, link.channel);
            assert_eq!(loaded(page, link).screen, screen, "{what}");
        }
    }

    #[test]
    fn load_errors() {
        let table = [
            (api(400, ErrorCode::InvalidLink), Screen::Invalid),
            (api(410, ErrorCode::LinkExpired), Screen::Expired),
            (api(410, ErrorCode::LinkInactive), Screen::Inactive),
            (
                api(429, ErrorCode::RateLimited),
                Screen::LoadFailed(api(429, ErrorCode::RateLimited)),
            ),
            (
                Error::Network("offline".into()),
                Screen::LoadFailed(Error::Network("offline".into())),
            ),
            (Error::Http(502), Screen::LoadFailed(Error::Http(502))),
        ];
        for (error, screen) in table {
            let mut page = desktop();
            step(&mut page, Event::Load(None));
            let step = step(&mut page, Event::CheckoutAnswered(Err(error)));
            assert_eq!((&page.screen, step), (&screen, Step::shown(Effect::None)));
        }
        // "Retry" loads again.
        let mut page = desktop();
        step(&mut page, Event::CheckoutAnswered(Err(Error::Http(502))));
        let effect = step(&mut page, Event::Load(None)).effect;
        assert_eq!(page.screen, Screen::Loading);
        assert!(matches!(effect, Effect::FetchCheckout { .. }));
    }

    #[test]
    fn coming_back_from_the_app_jump_resumes_the_attempt() {
        let mut page = resumed("C9");
        let watch = polled(step(&mut page, Event::Load(Some(link(LinkState::Open)))).effect);
        assert_eq!(
            page.screen,
            Screen::Confirm {
                charge_code: "C9".into(),
                outcome: None
            }
        );
        assert_eq!(
            (watch.charge_code.as_str(), watch.token.as_str()),
            ("C9", TOKEN)
        );
        // Even when the link has expired since: the attempt may be paid.
        let mut page = resumed("C9");
        let effect = step(
            &mut page,
            Event::CheckoutAnswered(Err(api(410, ErrorCode::LinkExpired))),
        )
        .effect;
        assert_eq!(polled(effect).charge_code, "C9");
        // The attempt is not this link's: nothing to show but "invalid".
        let watch = polled_again(&mut page);
        let step = poll_answer(&mut page, &watch, Err(api(404, ErrorCode::NotFound)));
        assert_eq!((page.screen, step.effect), (Screen::Invalid, Effect::None));
    }

    fn polled_again(page: &mut Page) -> Watch {
        polled(step(page, Event::Recheck).effect)
    }

    #[test]
    fn the_request_follows_the_route() {
        let table = [
            (desktop(), PayMethod::Native, None, None),
            (
                page_with(Environment::WeChat, Some("o1"), None),
                PayMethod::WechatJsapi,
                Some("o1"),
                None,
            ),
            // Not signed in to WeChat: scan a QR instead.
            (
                page_with(Environment::WeChat, None, None),
                PayMethod::Native,
                None,
                None,
            ),
            (
                page_with(Environment::Alipay, None, Some("2088")),
                PayMethod::AlipayJsapi,
                None,
                Some("2088"),
            ),
            (
                page_with(Environment::Alipay, None, None),
                PayMethod::Wap,
                None,
                None,
            ),
            (
                page_with(Environment::MobileBrowser, Some("o1"), None),
                PayMethod::Wap,
                None,
                None,
            ),
        ];
        for (page, method, openid, buyer_id) in table {
            let mut page = loaded(page, link(LinkState::Open));
            let (generation, request) = tap(&mut page);
            assert!(page.busy && page.pay_error.is_none());
            assert_eq!(generation, page.session.generation);
            assert_eq!(
                request,
                PayRequest {
                    token: TOKEN.into(),
                    method,
                    openid: openid.map(Into::into),
                    buyer_id: buyer_id.map(Into::into),
                    buyer_logon_id: None,
                    amount: None,
                }
            );
        }
    }

    #[test]
    fn a_second_tap_while_pending_sends_nothing() {
        let mut page = ready();
        tap(&mut page);
        assert_eq!(step(&mut page, Event::PayTapped), Step::quiet(Effect::None));
        // Nor while a wallet's sheet is open.
        let mut page = in_wechat();
        paid_with(&mut page, sheet());
        assert!(page.busy);
        assert_eq!(step(&mut page, Event::PayTapped), Step::quiet(Effect::None));
    }

    #[test]
    fn an_alipay_only_link_in_wechat_is_never_paid_here() {
        let alipay_only = CheckoutView {
            channel: Some(LinkChannel::Alipay),
            ..link(LinkState::Open)
        };
        let mut page = loaded(
            page_with(Environment::WeChat, Some("o1"), None),
            alipay_only,
        );
        let step = step(&mut page, Event::PayTapped);
        assert_eq!(
            (&page.screen, step),
            (&Screen::OpenInBrowser, Step::shown(Effect::None))
        );
        assert!(!page.busy);
    }

    #[test]
    fn open_amounts_are_checked_before_asking() {
        let mut page = loaded(desktop(), open_amount_link());
        for typed in ["", "abc", "0.50", "100.01", "1.234"] {
            assert_eq!(
                step(&mut page, Event::TypeAmount(typed.into())),
                Step::quiet(Effect::None),
                "typing redraws nothing"
            );
            let step = step(&mut page, Event::PayTapped);
            assert_eq!(step, Step::shown(Effect::None), "{typed:?}");
            assert!(
                matches!(page.pay_error, Some(Error::Amount(_))),
                "{typed:?}: {:?}",
                page.pay_error
            );
            assert!(!page.busy);
        }
        step(&mut page, Event::TypeAmount("12.5".into()));
        let (_, request) = tap(&mut page);
        assert_eq!(request.amount.as_deref(), Some("12.50"));
        assert_eq!(page.pay_error, None);
        // The next screens show the shopper's amount.
        assert_eq!(
            page.link.as_ref().map(|l| l.money.fen()),
            Some(Fen::from_fen(1250))
        );
        // A fixed link sends no amount, whatever was typed.
        let mut page = ready();
        step(&mut page, Event::TypeAmount("99".into()));
        assert_eq!(tap(&mut page).1.amount, None);
    }

    #[test]
    fn what_the_worker_says_to_do() {
        // QR: shown, watched at once.
        let (page, watch) = on_qr();
        assert_eq!(
            page.screen,
            Screen::Qr {
                charge_code: "C1".into(),
                svg: "<svg/>".into()
            }
        );
        assert!(!page.busy);
        assert_eq!((watch.charge_code.as_str(), watch.attempt), ("C1", 0));

        // App jump: remembered, followed, watched.
        let mut page = ready();
        let url = "https://wallet.example/pay?x=1";
        let effect = paid_with(&mut page, PayAction::Redirect { url: url.into() });
        assert_eq!(
            page.screen,
            Screen::Redirecting {
                charge_code: "C1".into(),
                url: url.into()
            }
        );
        assert!(matches!(&effect, Effect::Redirect { url: u, .. } if u == url));
        assert_eq!(polled(effect).charge_code, "C1");
        assert!(!page.busy);

        // Wallets: the sheet opens; the button stays disabled meanwhile.
        let mut page = in_wechat();
        let effect = paid_with(&mut page, sheet());
        assert_eq!(effect, Effect::WechatPay(wechat_params()));
        assert_eq!(
            page.screen,
            Screen::Wallet {
                wallet: Wallet::WeChat,
                charge_code: "C1".into()
            }
        );
        assert!(page.busy);
        let mut page = loaded(
            page_with(Environment::Alipay, None, Some("2088")),
            link(LinkState::Open),
        );
        let effect = paid_with(
            &mut page,
            PayAction::AlipayTradePay {
                trade_no: "T1".into(),
            },
        );
        assert_eq!(
            effect,
            Effect::AlipayPay {
                trade_no: "T1".into()
            }
        );
        assert!(matches!(
            page.screen,
            Screen::Wallet {
                wallet: Wallet::Alipay,
                ..
            }
        ));
        assert!(page.busy);
    }

    #[test]
    fn answers_the_page_cannot_follow() {
        let table = [
            (
                PayAction::Qr {
                    content: "x".repeat(5000),
                    svg: None,
                },
                Error::QrTooLong,
            ),
            (
                PayAction::Redirect {
                    url: "javascript:alert(1)".into(),
                },
                Error::UnsafeRedirect,
            ),
            (
                PayAction::Redirect {
                    url: "http://wallet.example/pay".into(),
                },
                Error::UnsafeRedirect,
            ),
        ];
        for (action, error) in table {
            let mut page = ready();
            let effect = paid_with(&mut page, action);
            assert_eq!(effect, Effect::None);
            assert_eq!(
                (&page.screen, &page.pay_error),
                (&Screen::Ready, &Some(error))
            );
            assert!(!page.busy);
        }
    }

    #[test]
    fn pay_errors() {
        let retry = |e: Error| (e.clone(), Screen::Ready, Some(e), Effect::None);
        let table = [
            retry(api(429, ErrorCode::RateLimited)),
            retry(api(504, ErrorCode::GatewayTimeout)),
            retry(Error::Network("offline".into())),
            (
                api(410, ErrorCode::LinkExpired),
                Screen::Expired,
                None,
                Effect::None,
            ),
            (
                api(410, ErrorCode::LinkInactive),
                Screen::Inactive,
                None,
                Effect::None,
            ),
            (
                api(400, ErrorCode::InvalidLink),
                Screen::Invalid,
                None,
                Effect::None,
            ),
            // Paid meanwhile (another tab): load the link again to say so.
            (
                api(409, ErrorCode::AlreadyPaid),
                Screen::Loading,
                None,
                Effect::FetchCheckout {
                    token: TOKEN.into(),
                },
            ),
            // Issue 24, defect 3: the id the page holds is unsigned (sign-in
            // is configured), expired or another link's: sign in again
            // rather than show an error the shopper cannot fix.
            (
                api(400, ErrorCode::SigninInvalid),
                Screen::Loading,
                None,
                Effect::SignIn {
                    token: TOKEN.into(),
                },
            ),
        ];
        for (error, screen, pay_error, effect) in table {
            let what = format!("{error}");
            let mut page = ready();
            let (generation, _) = tap(&mut page);
            assert_eq!(answer(&mut page, generation, Err(error)), effect, "{what}");
            assert_eq!(
                (&page.screen, &page.pay_error),
                (&screen, &pay_error),
                "{what}"
            );
            assert!(!page.busy, "{what}");
        }
        // A refused attempt can be tried again.
        let mut page = ready();
        let (generation, _) = tap(&mut page);
        answer(&mut page, generation, Err(api(429, ErrorCode::RateLimited)));
        tap(&mut page);
        assert_eq!(page.pay_error, None);
    }

    #[test]
    fn wallet_answers() {
        let wechat = || {
            let mut page = in_wechat();
            paid_with(&mut page, sheet());
            page
        };
        for outcome in [
            BridgeOutcome::Ok,
            BridgeOutcome::Processing,
            BridgeOutcome::Cancelled,
            BridgeOutcome::NetworkError,
            BridgeOutcome::Failed("get_brand_wcpay_request:fail".into()),
        ] {
            let mut page = wechat();
            let step = step(&mut page, Event::WalletAnswered(Ok(outcome.clone())));
            // Whatever the wallet says, the Worker is asked.
            assert_eq!(polled(step.effect).charge_code, "C1");
            assert_eq!(
                page.screen,
                Screen::Confirm {
                    charge_code: "C1".into(),
                    outcome: Some(outcome)
                }
            );
            assert!(!page.busy);
        }
        // The bridge could not be used: say so on the pay screen.
        let mut page = wechat();
        let error = Error::Bridge("WeixinJSBridge is not available".into());
        let failed = step(&mut page, Event::WalletAnswered(Err(error.clone())));
        assert_eq!(failed, Step::shown(Effect::None));
        assert_eq!(
            (page.screen, page.pay_error, page.busy),
            (Screen::Ready, Some(error), false)
        );
        // An answer with no sheet open changes nothing.
        let mut page = ready();
        assert_eq!(
            step(&mut page, Event::WalletAnswered(Ok(BridgeOutcome::Ok))),
            Step::quiet(Effect::None)
        );
        assert_eq!(page.screen, Screen::Ready);
    }

    #[test]
    fn cancel_then_pay_again_while_an_old_poll_says_paid() {
        let mut page = in_wechat();
        paid_with(&mut page, sheet());
        let old = polled(
            step(
                &mut page,
                Event::WalletAnswered(Ok(BridgeOutcome::Cancelled)),
            )
            .effect,
        );
        // "Pay again" from the cancelled screen: a second sheet opens.
        paid_with(&mut page, sheet());
        assert!(matches!(page.screen, Screen::Wallet { .. }));
        // The first attempt's poll answers while the sheet is still open:
        // stale, it neither closes the sheet nor shows a receipt.
        let step1 = poll_answer(&mut page, &old, Ok(order(OrderStatus::Paid)));
        assert_eq!(step1, Step::quiet(Effect::None));
        assert!(matches!(page.screen, Screen::Wallet { .. }) && page.busy);
        let stale_tick = step(&mut page, Event::PollDue(old));
        assert_eq!(stale_tick, Step::quiet(Effect::None));
        // The sheet answers; the Worker's word on the new watch decides.
        let new = polled(step(&mut page, Event::WalletAnswered(Ok(BridgeOutcome::Ok))).effect);
        poll_answer(&mut page, &new, Ok(order(OrderStatus::Paid)));
        assert_eq!(page.screen, Screen::Done(order(OrderStatus::Paid)));
    }

    #[test]
    fn a_recheck_during_pay_again_makes_its_answer_stale() {
        // Today's behaviour, kept: the watch the recheck starts replaces
        // the pending pay request, whose answer is then dropped.
        let mut page = in_wechat();
        paid_with(&mut page, sheet());
        step(
            &mut page,
            Event::WalletAnswered(Ok(BridgeOutcome::Cancelled)),
        );
        // "Pay again" on the cancelled screen; the shopper switches apps
        // and back before the Worker answers.
        let (generation, _) = tap(&mut page);
        polled_again(&mut page);
        assert_eq!(answer(&mut page, generation, Ok(sheet())), Effect::None);
        assert!(!page.busy);
        assert!(matches!(page.screen, Screen::Confirm { .. }));
    }

    #[test]
    fn polling_until_the_worker_decides() {
        let (mut page, watch) = on_qr();
        // Pending: wait, quietly, then poll again.
        let step1 = poll_answer(&mut page, &watch, Ok(order(OrderStatus::Pending)));
        let Effect::Wait { ms, watch: next } = step1.effect else {
            panic!("{step1:?}")
        };
        assert_eq!(
            (ms, next.attempt, step1.redraw),
            (poll::delay_ms(0), 1, false)
        );
        assert_eq!(
            step(&mut page, Event::PollDue(next.clone())),
            Step::quiet(Effect::Poll(next.clone()))
        );
        // A failed poll is shown and polling goes on; the next answer clears it.
        let step2 = poll_answer(&mut page, &next, Err(Error::Network("offline".into())));
        assert!(step2.redraw && matches!(step2.effect, Effect::Wait { .. }));
        assert_eq!(page.poll.trouble, Some(Error::Network("offline".into())));
        let step3 = poll_answer(&mut page, &next, Ok(order(OrderStatus::Pending)));
        assert!(step3.redraw && page.poll.trouble.is_none());
        // Final states end it with the receipt.
        for state in [
            OrderStatus::Paid,
            OrderStatus::Failed,
            OrderStatus::Closed,
            OrderStatus::Revoked,
            OrderStatus::Refunded,
            OrderStatus::PartiallyRefunded,
        ] {
            let (mut page, watch) = on_qr();
            let step = poll_answer(&mut page, &watch, Ok(order(state)));
            assert_eq!(step, Step::shown(Effect::None), "{state:?}");
            assert_eq!(page.screen, Screen::Done(order(state)));
        }
        // Not this link's attempt (or unknown): back to the link, saying so.
        let (mut page, watch) = on_qr();
        let step = poll_answer(&mut page, &watch, Err(api(404, ErrorCode::NotFound)));
        assert_eq!(step, Step::shown(Effect::None));
        assert_eq!(page.screen, Screen::Ready);
        assert_eq!(page.pay_error, Some(api(404, ErrorCode::NotFound)));
    }

    #[test]
    fn polling_gives_up_and_check_again_restarts_it() {
        let (mut page, mut watch) = on_qr();
        for attempt in 0..poll::MAX_POLLS {
            let step = poll_answer(&mut page, &watch, Ok(order(OrderStatus::Pending)));
            let Effect::Wait { ms, watch: next } = step.effect else {
                panic!("attempt {attempt}: {step:?}")
            };
            assert_eq!(ms, poll::delay_ms(attempt));
            watch = polled(super::step(&mut page, Event::PollDue(next)).effect);
        }
        assert_eq!(watch.attempt, poll::MAX_POLLS);
        let step = poll_answer(&mut page, &watch, Ok(order(OrderStatus::Pending)));
        assert_eq!(step, Step::shown(Effect::None));
        assert!(page.poll.gave_up);
        let again = polled_again(&mut page);
        assert_eq!((again.attempt, page.poll.gave_up), (0, false));
        // The old loop is over: its late answers change nothing.
        assert_eq!(
            poll_answer(&mut page, &watch, Ok(order(OrderStatus::Paid))),
            Step::quiet(Effect::None)
        );
        assert!(matches!(page.screen, Screen::Qr { .. }));
    }

    #[test]
    fn recheck_only_where_an_attempt_is_watched() {
        let (mut page, _) = on_qr();
        assert_eq!(polled_again(&mut page).charge_code, "C1");
        let mut page = in_wechat();
        assert_eq!(step(&mut page, Event::Recheck), Step::quiet(Effect::None));
        paid_with(&mut page, sheet());
        // The sheet answers first; the Worker is asked after.
        assert_eq!(step(&mut page, Event::Recheck), Step::quiet(Effect::None));
        let mut page = ready();
        let url = "https://wallet.example/pay".into();
        paid_with(&mut page, PayAction::Redirect { url });
        assert_eq!(polled_again(&mut page).charge_code, "C1");
        let mut page = loaded(desktop(), link(LinkState::Paid));
        assert_eq!(step(&mut page, Event::Recheck), Step::quiet(Effect::None));
    }

    #[test]
    fn the_return_link_only_once_paid() {
        let done = |state: OrderStatus, return_url: Option<&str>| {
            let (mut page, watch) = on_qr();
            let order = OrderView {
                return_url: return_url.map(Into::into),
                ..order(state)
            };
            poll_answer(&mut page, &watch, Ok(order));
            page.return_url().map(str::to_owned)
        };
        let link_url = Some("https://shop.example/back".to_owned());
        assert_eq!(done(OrderStatus::Paid, None), link_url);
        assert_eq!(
            done(OrderStatus::Paid, Some("https://shop.example/o/1")),
            Some("https://shop.example/o/1".into())
        );
        assert_eq!(done(OrderStatus::Paid, Some("javascript:alert(1)")), None);
        for state in [
            OrderStatus::Failed,
            OrderStatus::Closed,
            OrderStatus::Refunded,
        ] {
            assert_eq!(
                done(state, Some("https://shop.example/o/1")),
                None,
                "{state:?}"
            );
        }
        // Not while waiting, nor before paying.
        assert_eq!(on_qr().0.return_url(), None);
        assert_eq!(ready().return_url(), None);
        // The link was paid already.
        assert_eq!(
            loaded(desktop(), link(LinkState::Paid)).return_url(),
            Some("https://shop.example/back")
        );
    }

    #[test]
    fn a_failed_attempt_can_be_paid_again() {
        let (mut page, watch) = on_qr();
        poll_answer(&mut page, &watch, Ok(order(OrderStatus::Failed)));
        let (generation, _) = tap(&mut page);
        assert_eq!(generation, page.session.generation);
        assert!(polled(answer(&mut page, generation, Ok(qr()))).generation > watch.generation);
    }

    #[test]
    fn switching_language() {
        let mut page = ready();
        assert_eq!(
            step(&mut page, Event::SwitchLanguage),
            Step::shown(Effect::SetLanguage(Lang::ZhCn))
        );
        assert_eq!((page.lang, page.screen), (Lang::ZhCn, Screen::Ready));
    }
}
