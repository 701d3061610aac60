//! The amount field of an open-amount link (a shop's counter code): the
//! shopper types what to pay, within the bounds the summary shows.

use leptos::prelude::*;

use crate::state::Ctx;

/// A decimal-keypad field bound to `Ctx::typed_amount`; nothing for a
/// fixed-amount link. Enter pays, like the button.
#[component]
pub fn AmountInput() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let bounds = ctx
        .link
        .with_untracked(|l| l.as_ref().and_then(|l| l.open_amount.clone()))?;
    Some(view! {
        <p class="card open-amount">
            <label for="amount-input">{t.amount_to_pay}</label>
            <input
                id="amount-input"
                type="text"
                inputmode="decimal"
                autocomplete="off"
                placeholder=bounds.min_amount
                prop:value=move || ctx.typed_amount.get()
                on:input=move |ev| ctx.typed_amount.set(event_target_value(&ev))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" {
                        crate::state::pay(ctx);
                    }
                }
            />
        </p>
    })
}
