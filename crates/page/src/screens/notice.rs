//! Screens that explain why there is nothing to pay (or not here).

use leptos::prelude::*;

use super::{click, Action, ErrorBox, Notice, OrderNo, Summary, Title};
use crate::ctx::Ctx;
use crate::Error;

/// The token does not verify (tampered, truncated, not a link at all).
#[component]
pub fn Invalid() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <Notice class="notice bad" icon="!" title=t.invalid_title body=t.invalid_body/>
    }
}

/// The link's expiry has passed, or (`inactive`) the merchant deactivated
/// the code: either way it takes no more payments.
#[component]
pub fn Expired(#[prop(optional)] inactive: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let title = if inactive {
        t.inactive_title
    } else {
        t.expired_title
    };
    view! {
        <Notice class="notice bad" icon="⏱" title=title body=t.expired_body/>
        <Summary/>
    }
}

/// The link was paid already: say so, and offer the way back.
#[component]
pub fn AlreadyPaid() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let link = ctx.with(|s| s.link.clone());
    let code = link.as_ref().and_then(|l| l.charge_code.clone());
    let back = ctx.with(|s| s.return_url().map(str::to_owned));
    view! {
        <Notice class="notice good" icon="✓" title=t.already_paid_title body=t.already_paid_body/>
        <Summary compact=true/>
        {code.map(|charge_code| view! { <OrderNo charge_code/> })}
        {back.map(|href| view! {
            <a class="btn primary" id="return" href=href>{t.return_merchant}</a>
        })}
    }
}

/// An Alipay-only link opened inside WeChat.
#[component]
pub fn OpenInBrowser() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <Notice class="notice" icon="↗" title=t.browser_title body=t.browser_body/>
        <Summary/>
    }
}

/// The link could not be loaded (network or server): say why, offer retry.
#[component]
pub fn LoadFailed(error: Error) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <div class="notice">
            <Title text=t.error_title/>
        </div>
        <ErrorBox error/>
        <button type="button" class="btn primary" id="retry" on:click=click(ctx, Action::Reload)>
            {t.retry}
        </button>
    }
}
