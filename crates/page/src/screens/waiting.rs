//! Screens shown while something outside the page decides: a wallet's
//! sheet, the payment app after a jump, the Worker confirming.

use leptos::prelude::*;

use super::{OrderNo, PayButton, PollLine, Spinner, Summary, Title};
use crate::ctx::Ctx;
use crate::outcome::BridgeOutcome;
use crate::state::Wallet;

/// The head of a waiting screen: a spinner and the title, announced politely.
#[component]
fn Busy(title: &'static str) -> impl IntoView {
    view! {
        <div class="notice" role="status" aria-live="polite">
            <Spinner/>
            <Title text=title/>
        </div>
    }
}

/// Waiting for WeChat's or Alipay's payment sheet.
#[component]
pub fn WalletOpening(wallet: Wallet) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let text = match wallet {
        Wallet::WeChat => t.opening_wechat,
        Wallet::Alipay => t.opening_alipay,
    };
    view! {
        <Busy title=text/>
        <Summary/>
    }
}

/// The page sent the shopper to the payment app.
#[component]
pub fn Redirecting(charge_code: String, url: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <Busy title=t.redirecting/>
        <a class="btn secondary" id="redirect-link" href=url>{t.redirect_link}</a>
        <PollLine/>
        <OrderNo charge_code/>
    }
}

/// A wallet answered, or the shopper came back: the Worker has the truth.
#[component]
pub fn Confirm(charge_code: String, outcome: Option<BridgeOutcome>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let retry = outcome.as_ref().is_some_and(BridgeOutcome::offers_retry);
    let cancelled = outcome == Some(BridgeOutcome::Cancelled);
    let title = match &outcome {
        Some(o) => t.after_wallet(o),
        None => t.confirming,
    };
    view! {
        <div class=if retry { "notice bad" } else { "notice" }>
            <Title text=title/>
            {cancelled.then_some(view! { <p>{t.cancelled_body}</p> })}
        </div>
        <Summary compact=true/>
        {retry.then(|| view! { <PayButton again=true/> })}
        <PollLine/>
        <OrderNo charge_code/>
    }
}
