//! While `GET /api/checkout/{token}` is in flight.

use leptos::prelude::*;

use super::Spinner;
use crate::ctx::Ctx;

/// The loading screen.
#[component]
pub fn Loading() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = ctx.t();
    view! {
        <div class="center" role="status" aria-live="polite">
            <Spinner/>
            <p>{t.loading}</p>
        </div>
    }
}
