//! The page's root component: creates the state ([`crate::state::Ctx`]),
//! loads the link and renders the screen the state names.

use leptos::prelude::*;

use crate::js;
use crate::screens::{Body, Header};
use crate::state::{load, watch, Ctx, Screen};

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);
    Effect::new(move |_| js::set_language(ctx.lang.get()));
    // Back from the wallet app: ask the Worker now instead of at the next
    // (possibly backed-off, possibly given-up) poll.
    js::on_visible(move || {
        if let Screen::Qr { charge_code, .. }
        | Screen::Confirm { charge_code, .. }
        | Screen::Redirecting { charge_code, .. } = ctx.screen.get_untracked()
        {
            watch(ctx, charge_code);
        }
    });
    load(ctx);
    move || {
        // Rebuild everything when the language or the screen changes.
        let _ = ctx.lang.get();
        let screen = ctx.screen.get();
        view! {
            <Header/>
            <main id="main" class="main">
                <Body screen/>
            </main>
        }
    }
}
