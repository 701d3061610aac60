//! The page's root component: creates the shell ([`crate::ctx::Ctx`]),
//! loads the link and renders the screen the state names.

use std::cell::Cell;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ctx::Ctx;
use crate::js;
use crate::screens::{Body, Header};
use crate::state::Event;

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);
    // Back from the wallet app: ask the Worker now.
    js::on_visible(move || ctx.dispatch(Event::Recheck));
    ctx.load();
    let shown = Cell::new("");
    move || {
        // The one reactive view: any change redraws it all, and tachys
        // updates the DOM in place while the screen stays the same (focus
        // and the amount field's caret stay where they are).
        let screen = ctx.track(|s| s.screen.clone());
        let (name, _) = screen.name();
        if shown.replace(name) != name {
            // A new screen: its heading takes focus so screen readers
            // announce the change (after it is mounted, hence a task).
            spawn_local(async { js::focus_heading() });
        }
        view! {
            <Header/>
            <main id="main" class="main">
                <Body screen/>
            </main>
        }
    }
}
