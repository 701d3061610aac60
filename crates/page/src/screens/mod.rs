//! One file per screen (like leptos' hackernews `routes/`), plus the small
//! pieces several screens share.

mod amount;
mod done;
mod loading;
mod notice;
mod qr;
mod ready;
mod summary;
mod waiting;

use checkout::api::PayMethod;
use checkout::routing::Route;
use leptos::prelude::*;

use crate::ctx::Ctx;
use crate::i18n::Strings;
use crate::state::{Event, Screen};
use crate::Error;

pub use amount::AmountInput;
pub use summary::Summary;

/// The top bar: page name and the language switch (labelled in the
/// language it switches to).
#[component]
pub fn Header() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let other = ctx.with(|s| s.lang).other();
    view! {
        <header class="bar">
            <span class="brand">{t.title}</span>
            <button
                type="button"
                id="lang"
                class="lang"
                lang=other.tag()
                title=t.switch_label
                on:click=click(ctx, Action::SwitchLanguage)
            >
                {other.t().own_name}
            </button>
        </header>
    }
}

/// The current screen, wrapped in an element that names it (`data-screen`,
/// and `data-state` for results) for the browser tests.
#[component]
pub fn Body(screen: Screen) -> impl IntoView {
    let (name, state) = screen.name();
    let content = match screen {
        Screen::Loading => view! { <loading::Loading/> }.into_any(),
        Screen::LoadFailed(error) => view! { <notice::LoadFailed error/> }.into_any(),
        Screen::Invalid => view! { <notice::Invalid/> }.into_any(),
        Screen::Expired => view! { <notice::Expired/> }.into_any(),
        Screen::Inactive => view! { <notice::Expired inactive=true/> }.into_any(),
        Screen::AlreadyPaid => view! { <notice::AlreadyPaid/> }.into_any(),
        Screen::OpenInBrowser => view! { <notice::OpenInBrowser/> }.into_any(),
        Screen::Ready => view! { <ready::Ready/> }.into_any(),
        Screen::Wallet { wallet, .. } => view! { <waiting::WalletOpening wallet/> }.into_any(),
        Screen::Redirecting { charge_code, url } => {
            view! { <waiting::Redirecting charge_code url/> }.into_any()
        }
        Screen::Qr { charge_code, svg } => view! { <qr::QrScreen charge_code svg/> }.into_any(),
        Screen::Confirm {
            charge_code,
            outcome,
        } => view! { <waiting::Confirm charge_code outcome/> }.into_any(),
        Screen::Done(order) => view! { <done::Done order/> }.into_any(),
    };
    view! { <div class="screen" data-screen=name data-state=state>{content}</div> }
}

/// What a button does.
#[derive(Clone, Copy)]
enum Action {
    SwitchLanguage,
    Pay,
    /// Load the link again.
    Reload,
    /// Ask the Worker about the watched attempt again.
    Recheck,
}

/// The click handler of every button: one closure type for them all, as
/// each distinct handler closure is its own event-listener code in the wasm.
fn click(ctx: Ctx, action: Action) -> impl Fn(leptos::ev::MouseEvent) + 'static {
    move |_| match action {
        Action::SwitchLanguage => ctx.dispatch(Event::SwitchLanguage),
        Action::Pay => ctx.dispatch(Event::PayTapped),
        Action::Reload => ctx.load(),
        Action::Recheck => ctx.dispatch(Event::Recheck),
    }
}

/// The screen's heading; `tabindex="-1"` lets it take focus when a new
/// screen appears ([`crate::js::focus_heading`]).
#[component]
fn Title(text: &'static str) -> impl IntoView {
    view! { <h1 tabindex="-1">{text}</h1> }
}

/// The head of a screen that explains something: an icon, the title and
/// a sentence (one component for them all: one set of rendering code).
#[component]
fn Notice(
    class: &'static str,
    icon: &'static str,
    title: &'static str,
    body: &'static str,
) -> impl IntoView {
    view! {
        <div class=class>
            <div class="icon" aria-hidden="true">{icon}</div>
            <Title text=title/>
            <p>{body}</p>
        </div>
    }
}

/// A busy indicator (decorative: the text next to it says what is happening).
#[component]
fn Spinner() -> impl IntoView {
    view! { <span class="spinner" aria-hidden="true"></span> }
}

/// An error sentence chosen by the API's stable code.
#[component]
fn ErrorBox(error: Error) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let problem = error.problem();
    view! {
        <div class="alert" role="alert" id="error">
            <p>{t.problem(&problem)}</p>
        </div>
    }
}

fn method_label(t: &'static Strings, route: Route) -> &'static str {
    match route {
        Route::Pay(PayMethod::WechatJsapi) => t.pay_wechat,
        Route::Pay(PayMethod::AlipayJsapi) => t.pay_alipay,
        Route::Pay(PayMethod::Native) => t.pay_native,
        Route::Pay(PayMethod::Wap) | Route::OpenInBrowser => t.pay_wap,
    }
}

/// The pay button: disabled while a request is in flight, so a double tap
/// makes one order. `again` labels it "Pay again".
#[component]
fn PayButton(#[prop(optional)] again: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let (busy, label) = ctx.with(|s| {
        let label = if s.busy {
            t.creating
        } else if again {
            t.pay_again
        } else if s.pay_error.is_some() {
            t.retry
        } else {
            method_label(t, s.route())
        };
        (s.busy, label)
    });
    view! {
        <button
            type="button"
            id="pay"
            class="btn primary"
            disabled=busy
            aria-busy=if busy { "true" } else { "false" }
            on:click=click(ctx, Action::Pay)
        >
            {busy.then(|| view! { <Spinner/> })}
            <span>{label}</span>
        </button>
    }
}

/// The order number, so the shopper can quote it.
#[component]
fn OrderNo(charge_code: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <p class="order-no">
            {t.order_no}
            " "
            <span id="charge-code" class="mono">{charge_code}</span>
        </p>
    }
}

/// The live polling status line, with "Check again" after polling gave up.
#[component]
fn PollLine() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let (gave_up, trouble) = ctx.with(|s| (s.poll.gave_up, s.poll.trouble.is_some()));
    let line = if gave_up {
        view! {
            <span>{t.gave_up}</span>
            " "
            <button
                type="button"
                class="btn link"
                id="check-again"
                on:click=click(ctx, Action::Recheck)
            >
                {t.check_again}
            </button>
        }
        .into_any()
    } else if trouble {
        view! {
            <Spinner/>
            <span class="warn">{t.poll_trouble}</span>
        }
        .into_any()
    } else {
        view! {
            <Spinner/>
            <span>{t.waiting}</span>
        }
        .into_any()
    };
    view! {
        <p class="status" id="poll-status" role="status" aria-live="polite">
            {line}
        </p>
    }
}
