//! Sign in: an API key typed once (`POST /v1/sessions` with it as the
//! bearer opens a console session in the cookie; the key itself is kept
//! nowhere), or the sign-in link the owner sent, which the Worker lands
//! (`GET /console/sign-in?t=…`) before the app starts. Afterwards the app
//! returns to the screen the address's `next` names.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{ErrorNote, Heading};
use crate::api::{self, Extra};
use crate::ctx::{Ctx, Session};
use crate::error::Error;
use crate::js;
use crate::route::next_after_sign_in;

/// The sign-in screen; `ended`: a session ended under the merchant.
#[component]
pub fn SignIn(ended: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let key = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<Error>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        let typed = key.get_untracked().trim().to_owned();
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let opened = api::send::<()>(
                "POST",
                "/v1/sessions",
                None::<&()>,
                Extra {
                    bearer: Some(&typed),
                    ..Extra::default()
                },
            )
            .await;
            let signed_in = match opened {
                Ok(_) => api::me().await,
                Err(e) => Err(e),
            };
            busy.set(false);
            match signed_in {
                Ok(me) => {
                    key.set(String::new());
                    let (_, search) = js::location();
                    let next = next_after_sign_in(&search);
                    js::replace(&next.href());
                    ctx.route.set(next);
                    ctx.session.set(Session::In(me));
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <Heading text=Signal::derive(move || ctx.t().sign_in.to_owned())/>
        {ended.then(|| view! { <p class="notice" role="status" id="session-ended">{move || ctx.t().session_ended}</p> })}
        <p>{move || ctx.t().sign_in_intro}</p>
        <form class="card form" on:submit=submit novalidate>
            <label for="key">{move || ctx.t().key_label}</label>
            <input
                id="key"
                name="key"
                type="password"
                autocomplete="off"
                spellcheck="false"
                required
                aria-describedby="key-hint sign-in-error"
                aria-invalid=move || error.with(|e| e.is_some()).then_some("true")
                prop:value=move || key.get()
                on:input=move |ev| key.set(event_target_value(&ev))
            />
            <p class="hint" id="key-hint">{move || ctx.t().key_hint}</p>
            {move || error.get().map(|error| view! { <ErrorNote error id="sign-in-error"/> })}
            <button type="submit" id="sign-in" class="primary" disabled=move || busy.get()>
                {move || if busy.get() { ctx.t().signing_in } else { ctx.t().sign_in_button }}
            </button>
        </form>
    }
}
