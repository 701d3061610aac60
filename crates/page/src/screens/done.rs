//! The Worker's final word on an attempt: paid, failed, closed, refunded.

use checkout::api::OrderView;
use leptos::prelude::*;

use super::{OrderNo, PayButton, Summary, Title};
use crate::ctx::Ctx;
use crate::format::yuan;
use crate::js;
use crate::poll::Verdict;

/// The result screen.
#[component]
pub fn Done(order: OrderView) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let verdict = Verdict::of(order.state);
    let amount = yuan(order.money.fen());
    let back = ctx.with(|s| s.return_url().map(str::to_owned));
    let (icon, class) = match verdict {
        Verdict::Paid => ("✓", "notice good"),
        Verdict::Refunded => ("↺", "notice"),
        _ => ("✕", "notice bad"),
    };
    let title = {
        match verdict {
            Verdict::Paid | Verdict::Waiting => t.paid_title,
            Verdict::Refunded => t.refunded_title,
            Verdict::Failed => t.failed_title,
            Verdict::Closed => t.closed_title,
        }
    };
    let body = {
        match verdict {
            Verdict::Paid | Verdict::Waiting => "",
            Verdict::Refunded => t.refunded_body,
            Verdict::Failed => t.failed_body,
            Verdict::Closed => t.closed_body,
        }
    };
    let paid_at = order.paid_at;
    view! {
        <div class=class>
            <div class="icon" aria-hidden="true">{icon}</div>
            <Title text=title/>
            <p class="amount" id="result-amount">{amount}</p>
            <p>{body}</p>
            {paid_at.map(|at| view! {
                <p class="muted" id="paid-at">
                    {t.paid_at} " "
                    <time>{js::local_datetime(at, ctx.with(|s| s.lang))}</time>
                </p>
            })}
            <OrderNo charge_code=order.charge_code.clone()/>
        </div>
        {back.map(|href| view! {
            <a class="btn primary" id="return" href=href>{t.return_merchant}</a>
        })}
        {verdict.offers_pay_again().then(|| view! { <PayButton again=true/> })}
        <Summary compact=true/>
    }
}
