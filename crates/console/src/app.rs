//! The console's shell (wasm only): the session, the language, the
//! address as the current screen, the top bar and the navigation.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::ctx::{Ctx, Session};
use crate::i18n::{detect, t};
use crate::js;
use crate::nav;
use crate::route::{query_value, Route};
use crate::screens::Screen;

/// The current address's screen.
fn current_route() -> Route {
    let (path, search) = js::location();
    Route::parse(&path, &search)
}

/// The whole console.
#[component]
pub fn App() -> impl IntoView {
    let (_, search) = js::location();
    let ctx = Ctx {
        route: RwSignal::new(current_route()),
        lang: RwSignal::new(detect(
            query_value(search.trim_start_matches('?'), "lang").as_deref(),
            &js::browser_languages(),
        )),
        session: RwSignal::new(Session::Checking),
    };
    provide_context(ctx);
    js::on_popstate(move || ctx.route.set(current_route()));
    js::intercept_links(move |href| {
        let (path, query) = href.split_once('?').unwrap_or((&href, ""));
        ctx.go(Route::parse(path, query));
    });
    ctx.refresh_session();
    // The title names the screen; a new screen's heading takes focus so
    // screen readers announce it (after it is mounted, hence a task).
    Effect::new(move |_| {
        let lang = ctx.lang.get();
        let t = t(lang);
        let route = ctx.route.get();
        js::set_title(lang.tag(), &format!("{} · {}", t.screen(&route), t.title));
        spawn_local(async { js::focus_heading() });
    });
    view! {
        <Bar/>
        <main id="main" class="main">
            <Screen/>
        </main>
        <Nav/>
    }
}

/// The top bar: the console's name, who is signed in, the language switch
/// (labelled in the language it switches to) and sign out.
#[component]
fn Bar() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let sign_out = move |_| {
        spawn_local(async move {
            let _ =
                api::send::<()>("DELETE", "/v1/session", None::<&()>, api::Extra::default()).await;
            js::replace(&Route::SignIn.href());
            ctx.session.set(Session::Out { ended: false });
            ctx.route.set(Route::SignIn);
        });
    };
    view! {
        <header class="bar">
            <span class="brand">{move || ctx.t().title}</span>
            {move || {
                let t = ctx.t();
                ctx.session
                    .with(|s| match s {
                        Session::In(me) => Some((me.name.clone(), me.role)),
                        _ => None,
                    })
                    .map(|(name, role)| {
                        view! {
                            <span class="who" id="who" data-role=role.map(|r| r.as_str())>
                                {name}
                                " · "
                                {role.map(|r| t.role(r))}
                            </span>
                            <button type="button" id="sign-out" class="quiet" on:click=sign_out>
                                {t.sign_out}
                            </button>
                        }
                    })
            }}
            <button
                type="button"
                id="lang"
                class="quiet"
                lang=move || ctx.lang.get().other().tag()
                title=move || ctx.t().switch_label
                on:click=move |_| ctx.lang.update(|l| *l = l.other())
            >
                {move || t(ctx.lang.get().other()).own_name}
            </button>
        </header>
    }
}

/// The navigation: only the screens the role may use.
#[component]
fn Nav() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    move || {
        let role = ctx.role()?;
        let t = ctx.t();
        let here = ctx.route.get().name();
        let items = nav::for_role(role)
            .into_iter()
            .map(|entry| {
                let name = entry.route.name();
                let current =
                    (name == here || (here == "order" && name == "orders")).then_some("page");
                view! {
                    <li>
                        <a href=entry.route.href() id=format!("nav-{name}") aria-current=current>
                            {t.screen(&entry.route)}
                        </a>
                    </li>
                }
            })
            .collect_view();
        Some(view! {
            <nav class="nav" aria-label=t.nav_label>
                <ul>{items}</ul>
            </nav>
        })
    }
}
