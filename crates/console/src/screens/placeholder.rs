//! The screens console-b builds (links, a new link, webhooks, staff,
//! settings): their heading until then, so the navigation and the role
//! rules are in place. Each becomes its own file in `screens/`.

use leptos::prelude::*;

use super::Heading;
use crate::app::Ctx;
use crate::route::Route;

/// A screen not built yet.
#[component]
pub fn Placeholder(route: Route) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <Heading text=Signal::derive(move || ctx.t().screen(&route).to_owned())/>
        <p class="muted">{move || ctx.t().coming}</p>
    }
}
