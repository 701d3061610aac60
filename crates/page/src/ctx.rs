//! The page's browser shell: holds the [`Page`] behind one signal, feeds
//! it events through [`crate::state::step`], runs the effects that step
//! asks for (fetches, wallet sheets, the app jump, timers) and feeds their
//! answers back. It decides nothing itself. Its own module, apart from the
//! root component ([`crate::app`]), because the screens dispatch through
//! it while the root component draws the screens.

use checkout::routing;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::state::{self, Effect, Event, Page};
use crate::{api, bridge, decode, i18n, js};

/// The page state behind one signal (a `Copy` handle). One signal and one
/// reactive view over it, redrawn as a whole (tachys updates the DOM in
/// place where the screen stays the same), instead of a signal and a
/// reactive closure per detail: each of those is its own set of generic
/// reactive and rendering functions in the wasm (issue 12).
#[derive(Clone, Copy)]
pub struct Ctx {
    state: RwSignal<Page>,
}

impl Ctx {
    pub(crate) fn new() -> Ctx {
        let params = js::page_params();
        let lang = i18n::detect(params.lang.as_deref(), &js::browser_languages());
        js::set_language(lang);
        let env = routing::detect_with(&js::user_agent(), js::environment_flags());
        Ctx {
            state: RwSignal::new(Page::new(lang, params, env)),
        }
    }

    /// Reads the state and redraws when it changes (the page's one view).
    pub fn track<R>(self, f: impl FnOnce(&Page) -> R) -> R {
        self.state.with(f)
    }

    /// Reads the state without subscribing: the screens are drawn inside
    /// the one view that [`Ctx::track`]s it.
    pub fn with<R>(self, f: impl FnOnce(&Page) -> R) -> R {
        self.state.with_untracked(f)
    }

    /// The current language's strings.
    pub fn t(self) -> &'static i18n::Strings {
        self.with(|s| s.lang.t())
    }

    /// Applies `event` (redrawing if step says so) and runs what follows.
    pub fn dispatch(self, event: Event) {
        let effect = self.state.try_maybe_update(|page| {
            let step = state::step(page, event);
            (step.redraw, step.effect)
        });
        match effect {
            None | Some(Effect::None) => {}
            Some(effect) => spawn_local(async move {
                if let Some(event) = run(effect).await {
                    self.dispatch(event);
                }
            }),
        }
    }

    /// Loads the link: from the answer the Worker embedded in the page on
    /// the first load, fetched otherwise.
    pub fn load(self) {
        let embedded = js::take_embedded_checkout().and_then(|v| decode::checkout_view(&v).ok());
        self.dispatch(Event::Load(embedded));
    }
}

/// Runs one effect; its answer, if it has one, is the next event.
async fn run(effect: Effect) -> Option<Event> {
    Some(match effect {
        Effect::None => return None,
        Effect::SetLanguage(lang) => {
            js::set_language(lang);
            return None;
        }
        Effect::FetchCheckout { token } => Event::CheckoutAnswered(api::checkout(&token).await),
        Effect::Pay {
            generation,
            request,
        } => Event::PayAnswered {
            generation,
            result: api::pay(&request).await,
        },
        Effect::WechatPay(params) => Event::WalletAnswered(bridge::wechat_pay(&params).await),
        Effect::AlipayPay { trade_no } => {
            Event::WalletAnswered(bridge::alipay_trade_pay(&trade_no).await)
        }
        Effect::Redirect { url, watch } => {
            js::remember_charge_code(&watch.charge_code);
            js::navigate(&url);
            poll(watch).await
        }
        Effect::SignIn { token } => {
            js::navigate(&format!("/c/{token}"));
            return None;
        }
        Effect::Poll(watch) => poll(watch).await,
        Effect::Wait { ms, watch } => {
            js::sleep(ms).await;
            Event::PollDue(watch)
        }
    })
}

async fn poll(watch: state::Watch) -> Event {
    let result = api::order(&watch.charge_code, &watch.token).await;
    Event::OrderAnswered { watch, result }
}
