//! One file per screen, plus the small pieces several screens share
//! ([`Heading`], [`ErrorNote`], [`Loading`], [`fetch`]). [`Screen`] picks
//! the screen the address names; a screen the role may not use at all
//! says so instead.

mod links;
mod order;
mod orders;
mod settings;
mod sign_in;
mod staff;
mod statements;
mod today;
mod webhooks;

use crate::decode::FromJson;
use leptos::prelude::*;

use crate::api;
use crate::ctx::{Ctx, Session};
use crate::error::Error;
use crate::i18n::Strings;
use crate::nav::may_open;
use crate::route::Route;

/// The screen the address names, in a `<div data-screen=…>` (the browser
/// tests' handle).
#[component]
pub fn Screen() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    move || {
        let route = ctx.route.get();
        let session = ctx.session.get();
        let (name, content) = match session {
            Session::Checking => ("loading", view! { <Loading/> }.into_any()),
            Session::Out { ended } => ("sign-in", view! { <sign_in::SignIn ended/> }.into_any()),
            Session::In(me) => {
                let role = me.role.unwrap_or(checkout::access::Role::Viewer);
                let route = match route {
                    // Signed in already: the sign-in address shows Today.
                    Route::SignIn => Route::Today,
                    other => other,
                };
                let content = if may_open(role, &route) {
                    body(&route)
                } else {
                    view! { <Notice text=|t| t.not_allowed/> }.into_any()
                };
                (route.name(), content)
            }
        };
        view! { <div class="screen" data-screen=name>{content}</div> }
    }
}

/// A signed-in screen's content.
fn body(route: &Route) -> AnyView {
    match route.clone() {
        Route::Today => view! { <today::Today/> }.into_any(),
        Route::Orders { query } => view! { <orders::Orders query/> }.into_any(),
        Route::Order(code) => view! { <order::Order code/> }.into_any(),
        Route::Statements => view! { <statements::Statements/> }.into_any(),
        Route::Links => view! { <links::Links/> }.into_any(),
        Route::NewLink { kind } => view! { <links::NewLink kind/> }.into_any(),
        Route::Webhooks { failed } => view! { <webhooks::Webhooks failed/> }.into_any(),
        Route::Staff => view! { <staff::Staff/> }.into_any(),
        Route::Settings => view! { <settings::Settings/> }.into_any(),
        Route::SignIn | Route::NotFound => view! { <Notice text=|t| t.not_found/> }.into_any(),
    }
}

/// The screen's heading: focused when the screen opens (`tabindex="-1"`,
/// [`crate::js::focus_heading`]).
#[component]
pub fn Heading(#[prop(into)] text: Signal<String>) -> impl IntoView {
    view! { <h1 tabindex="-1">{text}</h1> }
}

/// A screen with only a heading.
#[component]
fn Notice(text: fn(&Strings) -> &'static str) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! { <Heading text=Signal::derive(move || text(ctx.t()).to_owned())/> }
}

/// A spinner and "Loading…".
#[component]
pub fn Loading() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <p class="loading" role="status">
            <span class="spinner" aria-hidden="true"></span>
            {move || ctx.t().loading}
        </p>
    }
}

/// An API error in the merchant's language, with the request id to quote;
/// placed next to the control that caused it (`id` names it for tests
/// and `aria-describedby`).
#[component]
pub fn ErrorNote(error: Error, #[prop(optional)] id: &'static str) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let request_id = error.request_id().map(str::to_owned);
    let code = error.code().map(|c| c.as_str());
    view! {
        <p class="alert" role="alert" id=(!id.is_empty()).then_some(id) data-code=code>
            {move || ctx.t().error(&error)}
            {request_id.map(|r| view! {
                " "
                <span class="rid">{move || ctx.t().request_id} ": " <code>{r}</code></span>
            })}
        </p>
    }
}

/// A read of the API as a resource: refetched when the signals `path`
/// reads change (and by `refetch()`); a 401 sends the app to sign-in.
pub fn fetch<T>(path: impl Fn() -> String + 'static) -> LocalResource<Result<T, Error>>
where
    T: FromJson + 'static,
{
    let ctx = expect_context::<Ctx>();
    LocalResource::new(move || {
        let path = path();
        async move { api::get::<T>(&path).await.map_err(|e| ctx.check(e)) }
    })
}

/// What a resource shows: loading, its error, or `ok` of its value.
pub fn show<T, V>(
    resource: LocalResource<Result<T, Error>>,
    ok: impl Fn(T) -> V + Clone + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => view! { <Loading/> }.into_any(),
        Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
        Some(Ok(value)) => ok(value).into_any(),
    }
}
