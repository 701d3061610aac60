//! The link is open: summary and the pay button.

use leptos::prelude::*;

use super::{AmountInput, ErrorBox, PayButton, Summary};
use crate::ctx::Ctx;

/// The main checkout screen.
#[component]
pub fn Ready() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <h1 class="visually-hidden">{t.title}</h1>
        <Summary/>
        <AmountInput/>
        {ctx.with(|s| s.pay_error.clone()).map(|error| view! { <ErrorBox error/> })}
        <PayButton/>
    }
}
