//! The link's details: merchant, subject, amount, goods and expiry.

use leptos::prelude::*;

use crate::ctx::Ctx;
use crate::format::{goods_price, link_amount, time_left, yuan};
use crate::js;

/// The summary card of the loaded link (nothing before it loads).
/// `compact` (result and waiting screens, which show the amount themselves)
/// drops the big amount and the expiry, which no longer matter there.
#[component]
pub fn Summary(#[prop(optional)] compact: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    ctx.with(|s| s.link.clone()).map(|link| {
            // The compact screens show the amount being paid, also the
            // shopper's own for an open-amount link.
            let amount = if compact {
                yuan(link.money.fen())
            } else {
                link_amount(&link)
            };
            let expires_at = link.expires_at;
            let goods = (!link.goods.is_empty()).then(|| {
                let lines = link
                    .goods
                    .iter()
                    .map(|g| {
                        let price = goods_price(&g.price);
                        view! {
                            <li>
                                <span class="name">{g.name.clone()}</span>
                                <span class="qty">"×" {g.quantity.to_string()}</span>
                                <span class="price">{price}</span>
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <h2 class="sub">{t.goods}</h2>
                    <ul class="goods">{lines}</ul>
                }
            });
            view! {
                <section class="card summary" id="summary">
                    <p class="merchant">
                        <span class="label">{t.merchant}</span>
                        <span id="merchant">{link.merchant.clone()}</span>
                    </p>
                    <p class="subject" id="subject">{link.subject.clone()}</p>
                    <p class=if compact { "amount small" } else { "amount" }>
                        <span class="visually-hidden">{t.amount}</span>
                        <span id="amount">{amount}</span>
                    </p>
                    {goods}
                    {(!compact).then(|| view! {
                        <p class="expiry" id="expiry">
                            <span>{t.pay_within(time_left(expires_at, js::now_secs())).unwrap_or_default()}</span>
                            <span class="muted">
                                {t.expires_at}
                                " "
                                <time>{js::local_datetime(expires_at, ctx.with(|s| s.lang))}</time>
                            </span>
                        </p>
                    })}
                </section>
            }
        })
}
