//! The link is open: summary and the pay button.

use leptos::prelude::*;

use super::{ErrorBox, PayButton, Summary};
use crate::state::Ctx;

/// The main checkout screen.
#[component]
pub fn Ready() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <h1 class="visually-hidden">{t.title}</h1>
        <Summary/>
        {move || ctx.pay_error.get().map(|error| view! { <ErrorBox error/> })}
        <PayButton/>
    }
}
