//! The amount field of an open-amount link (a shop's counter code): the
//! shopper types what to pay, within the bounds the summary shows.

use leptos::prelude::*;

use crate::ctx::Ctx;
use crate::state::Event;

/// A decimal-keypad field bound to `Page::typed_amount`; nothing for a
/// fixed-amount link. Enter pays, like the button.
#[component]
pub fn AmountInput() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    let bounds = ctx.with(|s| s.link.as_ref().and_then(|l| l.open_amount.clone()))?;
    Some(view! {
        <p class="card open-amount">
            <label for="amount-input">{t.amount_to_pay}</label>
            <input
                id="amount-input"
                type="text"
                inputmode="decimal"
                autocomplete="off"
                placeholder=bounds.min_amount
                // The attribute (the field's initial value), not the
                // property: a new field shows what was typed before, and a
                // redraw in place never overwrites what is being typed
                // (and needs no property-setting code in the wasm).
                value=ctx.with(|s| s.typed_amount.clone())
                on:input=move |ev| ctx.dispatch(Event::TypeAmount(event_target_value(&ev)))
                on:keydown=move |ev| {
                    if ev.key() == "Enter" {
                        ctx.dispatch(Event::PayTapped);
                    }
                }
            />
        </p>
    })
}
