//! One file per screen (like leptos' hackernews `routes/`), plus the small
//! pieces several screens share.

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

use crate::i18n::Strings;
use crate::state::{pay, watch, Ctx, Screen};
use crate::Error;

pub use summary::Summary;

/// The top bar: page name and the language switch (labelled in the
/// language it switches to).
#[component]
pub fn Header() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let other = ctx.lang.get_untracked().other();
    view! {
        <header class="bar">
            <span class="brand">{t.title}</span>
            <button
                type="button"
                id="lang"
                class="lang"
                lang=other.tag()
                title=t.switch_label
                on:click=move |_| ctx.switch_language()
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
    let (name, state) = match &screen {
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
    };
    let content = match screen {
        Screen::Loading => view! { <loading::Loading/> }.into_any(),
        Screen::LoadFailed(error) => view! { <notice::LoadFailed error/> }.into_any(),
        Screen::Invalid => view! { <notice::Invalid/> }.into_any(),
        Screen::Expired => view! { <notice::Expired/> }.into_any(),
        Screen::AlreadyPaid => view! { <notice::AlreadyPaid/> }.into_any(),
        Screen::OpenInBrowser => view! { <notice::OpenInBrowser/> }.into_any(),
        Screen::Ready => view! { <ready::Ready/> }.into_any(),
        Screen::Wallet(wallet) => view! { <waiting::WalletOpening wallet/> }.into_any(),
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

/// The screen's heading; takes focus when a new screen appears so screen
/// readers announce the change (but not after a language switch, which
/// leaves focus on the switch).
#[component]
fn Title(children: Children) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let node = NodeRef::<leptos::html::H1>::new();
    node.on_load(move |el| {
        if ctx.focus_heading.get_value() {
            let _ = el.focus();
        } else {
            ctx.focus_heading.set_value(true);
            if let Some(lang) = crate::js::document().get_element_by_id("lang") {
                if let Some(lang) = wasm_bindgen::JsCast::dyn_ref::<web_sys::HtmlElement>(&lang) {
                    let _ = lang.focus();
                }
            }
        }
    });
    view! { <h1 node_ref=node tabindex="-1">{children()}</h1> }
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
    let label = move || {
        if ctx.busy.get() {
            t.creating
        } else if again {
            t.pay_again
        } else if ctx.pay_error.with(Option::is_some) {
            t.retry
        } else {
            method_label(t, ctx.route())
        }
    };
    view! {
        <button
            type="button"
            id="pay"
            class="btn primary"
            disabled=move || ctx.busy.get()
            aria-busy=move || if ctx.busy.get() { "true" } else { "false" }
            on:click=move |_| pay(ctx)
        >
            <Show when=move || ctx.busy.get()>
                <Spinner/>
            </Show>
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
fn PollLine(charge_code: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <p class="status" id="poll-status" role="status" aria-live="polite">
            {move || {
                let poll = ctx.poll.get();
                if poll.gave_up {
                    let code = charge_code.clone();
                    view! {
                        <span>{t.gave_up}</span>
                        " "
                        <button
                            type="button"
                            class="btn link"
                            id="check-again"
                            on:click=move |_| watch(ctx, code.clone())
                        >
                            {t.check_again}
                        </button>
                    }
                        .into_any()
                } else if poll.trouble.is_some() {
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
                }
            }}
        </p>
    }
}
