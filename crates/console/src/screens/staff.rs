//! Staff (owner only): API keys (create, shown once; roll with an overlap;
//! revoke), console sessions (revoke), sign-in links shown as a QR code
//! another phone scans (drawn here by `checkout::qr`, the Worker's own
//! encoder), and the audit log.

use checkout::access::{AuditRecord, KeyView, NewKey, Page, Role, SessionView, SignInLink};
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::json;

use super::{fetch, show, ErrorNote, Heading};
use crate::api::{self, Extra};
use crate::ctx::Ctx;
use crate::error::Error;
use crate::screen_text::{text, Text};

fn tx(ctx: &Ctx) -> &'static Text {
    text(ctx.lang.get())
}

/// Every role, in the order the forms offer them.
const ROLES: [Role; 5] = [
    Role::Cashier,
    Role::Manager,
    Role::Accountant,
    Role::Viewer,
    Role::Owner,
];

/// A role from its spelling (the form's `<select>`).
fn role_of(s: &str) -> Role {
    ROLES
        .into_iter()
        .find(|r| r.as_str() == s)
        .unwrap_or(Role::Cashier)
}

/// The staff screen.
#[component]
pub fn Staff() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let keys = fetch::<Page<KeyView>>(|| "/v1/keys".to_owned());
    let sessions = fetch::<Page<SessionView>>(|| "/v1/sessions".to_owned());
    let audit = fetch::<Page<AuditRecord>>(|| "/v1/audit?limit=20".to_owned());
    let refresh = move || {
        keys.refetch();
        sessions.refetch();
        audit.refetch();
    };
    view! {
        <Heading text=Signal::derive(move || ctx.t().staff.to_owned())/>
        <SignInLinks refresh/>
        <NewKeyForm refresh/>
        <section aria-labelledby="keys-heading">
            <h2 id="keys-heading">{move || tx(&ctx).keys}</h2>
            {show(keys, move |page: Page<KeyView>| view! {
                <ul class="rows" id="keys">
                    {page.data.into_iter().map(|k| view! { <KeyRow k refresh/> }).collect_view()}
                </ul>
            })}
        </section>
        <section aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">{move || tx(&ctx).sessions}</h2>
            {show(sessions, move |page: Page<SessionView>| view! {
                <ul class="rows" id="sessions">
                    {page.data.into_iter().map(|s| view! { <SessionRow s refresh/> }).collect_view()}
                </ul>
            })}
        </section>
        <section aria-labelledby="audit-heading">
            <h2 id="audit-heading">{move || tx(&ctx).audit}</h2>
            {show(audit, move |page: Page<AuditRecord>| view! {
                <table class="audit" id="audit">
                    <thead>
                        <tr>
                            <th scope="col">{move || tx(&ctx).when}</th>
                            <th scope="col">{move || tx(&ctx).who}</th>
                            <th scope="col">{move || tx(&ctx).action}</th>
                            <th scope="col">{move || tx(&ctx).outcome}</th>
                        </tr>
                    </thead>
                    <tbody>
                        {page.data.into_iter().map(|r| {
                            let at = r.entry.at;
                            let outcome = r.outcome.as_str();
                            let action = match &r.entry.object {
                                Some(o) => format!("{} · {o}", r.entry.action),
                                None => r.entry.action.clone(),
                            };
                            view! {
                                <tr class="audit-entry">
                                    <td>{move || checkout_page::js::local_datetime(at, ctx.lang.get())}</td>
                                    <td>{r.entry.actor.name.clone()}</td>
                                    <td><code>{action}</code></td>
                                    <td>{outcome}</td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

/// A name and role field pair (`{prefix}-name`, `{prefix}-role`).
fn name_and_role(
    ctx: Ctx,
    prefix: &'static str,
    name: RwSignal<String>,
    role: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label for=format!("{prefix}-name")>{move || tx(&ctx).name}</label>
        <input
            id=format!("{prefix}-name")
            type="text"
            autocomplete="off"
            prop:value=move || name.get()
            on:input=move |ev| name.set(event_target_value(&ev))
        />
        <label for=format!("{prefix}-role")>{move || tx(&ctx).role}</label>
        <select id=format!("{prefix}-role") on:change=move |ev| role.set(event_target_value(&ev))>
            {ROLES.into_iter().map(|r| view! {
                <option value={r.as_str()} selected={move || role.get() == r.as_str()}>{move || ctx.t().role(r)}</option>
            }).collect_view()}
        </select>
    }
}

/// A sign-in link for another phone: created, then shown as a QR code.
#[component]
fn SignInLinks(refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Cashier.as_str().to_owned());
    let made = RwSignal::new(None::<SignInLink>);
    let error = RwSignal::new(None::<Error>);
    let busy = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let body =
            json!({"name": name.get_untracked().trim(), "role": role_of(&role.get_untracked())});
        spawn_local(async move {
            let answer =
                api::send::<SignInLink>("POST", "/v1/sign-in-links", Some(&body), Extra::default())
                    .await;
            busy.set(false);
            match answer {
                Ok(link) => {
                    error.set(None);
                    made.set(Some(link));
                    refresh();
                }
                Err(e) => error.set(Some(ctx.check(e))),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="signin-heading">
            <h2 id="signin-heading">{move || tx(&ctx).signin_link}</h2>
            <form class="form" on:submit=submit novalidate>
                {name_and_role(ctx, "signin", name, role)}
                {move || error.get().map(|error| view! { <ErrorNote error id="signin-error"/> })}
                <button type="submit" id="create-signin" class="primary" disabled=move || busy.get()>
                    {move || tx(&ctx).signin_create}
                </button>
            </form>
            {move || made.get().map(|link| {
                // The QR drawn in the browser: the URL carries the link's
                // secret, so it is never sent to be drawn elsewhere.
                let svg = checkout::qr::svg(&link.url).unwrap_or_default();
                view! {
                    <div class="signin-qr" id="signin-qr" role="img" aria-label=move || tx(&ctx).signin_scan inner_html=svg></div>
                    <p class="hint">{move || tx(&ctx).signin_scan}</p>
                    <input id="signin-url" type="text" readonly aria-label=move || tx(&ctx).url prop:value=link.url.clone()/>
                }
            })}
        </section>
    }
}

/// A new API key: shown once.
#[component]
fn NewKeyForm(refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(Role::Cashier.as_str().to_owned());
    let made = RwSignal::new(None::<NewKey>);
    let error = RwSignal::new(None::<Error>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body =
            json!({"name": name.get_untracked().trim(), "role": role_of(&role.get_untracked())});
        spawn_local(async move {
            match api::send::<NewKey>("POST", "/v1/keys", Some(&body), Extra::default()).await {
                Ok(key) => {
                    error.set(None);
                    made.set(Some(key));
                    refresh();
                }
                Err(e) => error.set(Some(ctx.check(e))),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="new-key-heading">
            <h2 id="new-key-heading">{move || tx(&ctx).new_key}</h2>
            <form class="form" on:submit=submit novalidate>
                {name_and_role(ctx, "key", name, role)}
                {move || error.get().map(|error| view! { <ErrorNote error id="key-error"/> })}
                <button type="submit" id="create-key" class="primary">{move || tx(&ctx).create}</button>
            </form>
            {move || made.get().map(|k| view! { <ShownOnce key=k.key/> })}
        </section>
    }
}

/// A new key's secret, with the warning that it is shown only now.
#[component]
fn ShownOnce(key: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    view! {
        <p class="notice" role="status">{move || tx(&ctx).key_once}</p>
        <input class="new-key" type="text" readonly aria-label=move || tx(&ctx).new_key prop:value=key/>
    }
}

/// One key: roll (the old one works one more hour) or revoke.
#[component]
fn KeyRow(k: KeyView, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let error = RwSignal::new(None::<Error>);
    let rolled = RwSignal::new(None::<NewKey>);
    let live = k.revoked_at.is_none();
    let id = k.id.clone();
    let roll = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            spawn_local(async move {
                let body = json!({"expires_in": 3600});
                match api::send::<NewKey>(
                    "POST",
                    &format!("/v1/keys/{id}/roll"),
                    Some(&body),
                    Extra::default(),
                )
                .await
                {
                    Ok(key) => rolled.set(Some(key)),
                    Err(e) => error.set(Some(ctx.check(e))),
                }
            });
        }
    };
    let revoke = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            spawn_local(async move {
                match api::send::<()>(
                    "DELETE",
                    &format!("/v1/keys/{id}"),
                    None::<&()>,
                    Extra::default(),
                )
                .await
                {
                    Ok(_) => refresh(),
                    Err(e) => error.set(Some(ctx.check(e))),
                }
            });
        }
    };
    let role = k.role;
    view! {
        <li class="key-row" data-id=id.clone()>
            <div class="link-line">
                <strong>{k.name.clone()}</strong>
                <span>{move || ctx.t().role(role)}</span>
                <code>{format!("{}…", k.prefix)}</code>
                <span class={if live { "badge on" } else { "badge off" }}>
                    {move || if live { tx(&ctx).active } else { tx(&ctx).revoked }}
                </span>
            </div>
            {live.then(|| view! {
                <div class="actions">
                    <button type="button" class="roll" on:click=roll.clone()>{move || tx(&ctx).roll}</button>
                    <button type="button" class="revoke danger" on:click=revoke.clone()>{move || tx(&ctx).revoke}</button>
                </div>
            })}
            {move || rolled.get().map(|k| view! { <ShownOnce key=k.key/> })}
            {move || error.get().map(|error| view! { <ErrorNote error/> })}
        </li>
    }
}

/// One console session: revoke.
#[component]
fn SessionRow(s: SessionView, refresh: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let error = RwSignal::new(None::<Error>);
    let live = s.revoked_at.is_none();
    let id = s.id.clone();
    let revoke = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            spawn_local(async move {
                match api::send::<()>(
                    "DELETE",
                    &format!("/v1/sessions/{id}"),
                    None::<&()>,
                    Extra::default(),
                )
                .await
                {
                    Ok(_) => refresh(),
                    Err(e) => error.set(Some(ctx.check(e))),
                }
            });
        }
    };
    let (role, seen) = (s.role, s.last_seen_at);
    view! {
        <li class="session-row" data-id=id.clone()>
            <div class="link-line">
                <strong>{s.name.clone()}</strong>
                <span>{move || ctx.t().role(role)}</span>
                <span class="muted">{move || checkout_page::js::local_datetime(seen, ctx.lang.get())}</span>
                <span class={if live { "badge on" } else { "badge off" }}>
                    {move || if live { tx(&ctx).active } else { tx(&ctx).revoked }}
                </span>
            </div>
            {live.then(|| view! {
                <button type="button" class="revoke danger" on:click=revoke.clone()>{move || tx(&ctx).revoke}</button>
            })}
            {move || error.get().map(|error| view! { <ErrorNote error/> })}
        </li>
    }
}
