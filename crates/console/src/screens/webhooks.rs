//! Webhooks: the endpoint's status (`GET /v1/settings`), send a test event
//! (`POST /v1/events/test`), the events (`GET /v1/events`, oldest first,
//! paged by `after`), each event's deliveries (`GET /v1/events/{id}`:
//! status, latency, the start of the answer) and redelivery; with
//! `?delivery=failed` (Today's warning links there) only the events whose
//! delivery failed. The order page lists its order's events with the same
//! [`EventItem`].

use checkout::access::Permission;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{fetch, show, ErrorNote, Heading, Loading};
use crate::api::{self, Extra};
use crate::ctx::Ctx;
use crate::error::Error;
use crate::model::{Attempt, Event, Events, Health};
use crate::route::Route;
use crate::screen_text::{text, Text};

fn tx(ctx: &Ctx) -> &'static Text {
    text(ctx.lang.get())
}

/// The webhooks screen.
#[component]
pub fn Webhooks(failed: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let health = fetch::<Health>(|| "/v1/settings".to_owned());
    let events = RwSignal::new(Vec::<Event>::new());
    let next = RwSignal::new(None::<String>);
    let has_more = RwSignal::new(false);
    let loading = RwSignal::new(false);
    let error = RwSignal::new(None::<Error>);
    let filter = if failed { "&delivery=failed" } else { "" };
    let load = move |after: Option<String>| {
        let path = match &after {
            Some(a) => format!("/v1/events?limit=50{filter}&after={a}"),
            None => format!("/v1/events?limit=50{filter}"),
        };
        loading.set(true);
        spawn_local(async move {
            let answer = api::get::<Events>(&path).await;
            loading.set(false);
            match answer {
                Ok(page) => {
                    if after.is_none() {
                        events.set(page.data);
                    } else {
                        events.update(|e| e.extend(page.data));
                    }
                    has_more.set(page.has_more);
                    next.set(page.next_after);
                    error.set(None);
                }
                Err(e) => error.set(Some(ctx.check(e))),
            }
        });
    };
    load(None);
    let sending = RwSignal::new(false);
    let sent = RwSignal::new(None::<Event>);
    let send_error = RwSignal::new(None::<Error>);
    let send_test = move |_| {
        sending.set(true);
        send_error.set(None);
        spawn_local(async move {
            let answer =
                api::send::<Event>("POST", "/v1/events/test", None::<&()>, Extra::default()).await;
            sending.set(false);
            match answer {
                Ok(event) => sent.set(Some(event)),
                Err(e) => send_error.set(Some(ctx.check(e))),
            }
        });
    };
    view! {
        <Heading text=Signal::derive(move || ctx.t().webhooks.to_owned())/>
        <section class="card" id="endpoint" aria-labelledby="endpoint-heading">
            <h2 id="endpoint-heading">{move || tx(&ctx).endpoint}</h2>
            {show(health, move |h: Health| {
                let signing = h.webhook.signing;
                view! {
                    <p id="endpoint-url">
                        {move || h.webhook.url.clone().unwrap_or_else(|| tx(&ctx).not_configured.to_owned())}
                    </p>
                    <p class="muted">
                        {move || format!("{}: {}", tx(&ctx).signing, if signing { tx(&ctx).yes } else { tx(&ctx).no })}
                    </p>
                }
            })}
            {move || ctx.can(Permission::Events).then(|| view! {
                <button type="button" id="send-test" class="primary" disabled=move || sending.get() on:click=send_test>
                    {move || if sending.get() { tx(&ctx).sending } else { tx(&ctx).send_test }}
                </button>
            })}
            {move || send_error.get().map(|error| view! { <ErrorNote error id="send-test-error"/> })}
            {move || sent.get().map(|event| view! {
                <p class="notice" role="status" id="test-sent">{tx(&ctx).test_sent}</p>
                <ul class="rows"><EventItem event open=true/></ul>
            })}
        </section>
        <h2>{move || if failed { tx(&ctx).failed_events } else { tx(&ctx).events }}</h2>
        {failed.then(|| view! {
            <p class="notice" id="failed-only">
                {move || tx(&ctx).failed_only} " "
                <a href=Route::Webhooks { failed: false }.href() id="all-events">{move || tx(&ctx).all_events}</a>
            </p>
        })}
        {move || error.get().map(|error| view! { <ErrorNote error id="events-error"/> })}
        <ul class="rows events" id="events">
            <For each=move || events.get() key=|e| e.id.clone() children=move |event| view! { <EventItem event open=false/> }/>
        </ul>
        {move || (events.with(Vec::is_empty) && !loading.get()).then(|| view! { <p class="muted">{tx(&ctx).no_events}</p> })}
        {move || loading.get().then(|| view! { <Loading/> })}
        {move || (has_more.get() && !loading.get()).then(|| view! {
            <button type="button" id="events-more" on:click=move |_| load(next.get_untracked())>{tx(&ctx).more}</button>
        })}
    }
}

/// One event: its type, what it is about, its delivery state; opened, its
/// deliveries (read fresh) and redelivery.
#[component]
pub(super) fn EventItem(event: Event, open: bool) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let shown = RwSignal::new(open);
    let detail = RwSignal::new(None::<Event>);
    let error = RwSignal::new(None::<Error>);
    let notice = RwSignal::new(false);
    let id = event.id.clone();
    let read = {
        let id = id.clone();
        move || {
            let id = id.clone();
            spawn_local(async move {
                match api::get::<Event>(&format!("/v1/events/{id}")).await {
                    Ok(e) => detail.set(Some(e)),
                    Err(e) => error.set(Some(ctx.check(e))),
                }
            });
        }
    };
    if open {
        read();
    }
    let redeliver = {
        let (id, read) = (id.clone(), read.clone());
        move |_| {
            let (id, read) = (id.clone(), read.clone());
            spawn_local(async move {
                let answer = api::send::<Event>(
                    "POST",
                    &format!("/v1/events/{id}/redeliver"),
                    None::<&()>,
                    Extra::default(),
                )
                .await;
                match answer {
                    Ok(e) => {
                        detail.set(Some(e));
                        notice.set(true);
                        read();
                    }
                    Err(e) => error.set(Some(ctx.check(e))),
                }
            });
        }
    };
    let about = event.about.clone().unwrap_or_default();
    let when = event.created_at;
    let state = event.delivery.clone();
    let badge = format!("badge {state}");
    let count = event.attempt_count;
    let toggle = {
        let read = read.clone();
        move |_| {
            shown.update(|s| *s = !*s);
            if shown.get_untracked() {
                read();
            }
        }
    };
    view! {
        <li class="event" data-id=id.clone() data-type=event.kind.clone()>
            <button type="button" class="event-line" aria-expanded=move || shown.get().to_string() on:click=toggle>
                <code>{id.clone()}</code>
                <strong>{event.kind.clone()}</strong>
                <span>{about}</span>
                <span class="muted">{move || checkout_page::js::local_datetime(when, ctx.lang.get())}</span>
                <span class=badge>
                    {move || {
                        let d = detail.with(|d| d.as_ref().map(|d| (d.delivery.clone(), d.attempt_count)));
                        let (s, n) = d.unwrap_or((state.clone(), count));
                        format!("{} · {n}", tx(&ctx).delivery(&s))
                    }}
                </span>
            </button>
            {move || error.get().map(|error| view! { <ErrorNote error/> })}
            {move || shown.get().then(|| {
                let redeliver = redeliver.clone();
                view! {
                    <div class="deliveries">
                        <h3>{move || tx(&ctx).deliveries}</h3>
                        {move || match detail.get() {
                            None => view! { <Loading/> }.into_any(),
                            Some(d) => attempts(&ctx, d.attempts.unwrap_or_default()).into_any(),
                        }}
                        {move || ctx.can(Permission::Events).then(|| {
                            let redeliver = redeliver.clone();
                            view! {
                                <button type="button" class="redeliver" on:click=redeliver>{tx(&ctx).redeliver}</button>
                            }
                        })}
                        {move || notice.get().then(|| view! { <p class="notice" role="status">{tx(&ctx).redelivered}</p> })}
                    </div>
                }
            })}
        </li>
    }
}

/// The deliveries table.
fn attempts(ctx: &Ctx, rows: Vec<Attempt>) -> impl IntoView {
    let ctx = *ctx;
    if rows.is_empty() {
        return view! { <p class="muted">{move || tx(&ctx).no_deliveries}</p> }.into_any();
    }
    view! {
        <table class="attempts">
            <thead>
                <tr>
                    <th scope="col">{move || tx(&ctx).when}</th>
                    <th scope="col">{move || tx(&ctx).status}</th>
                    <th scope="col" class="num">{move || tx(&ctx).latency}</th>
                    <th scope="col">{move || tx(&ctx).answer}</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|a| {
                        let status = a.status.map(|s| s.to_string());
                        let answer = a.answer.clone().or(a.error.clone()).unwrap_or_default();
                        view! {
                            <tr class="attempt">
                                <td>{move || checkout_page::js::local_datetime(a.at, ctx.lang.get())}</td>
                                <td class="status">{move || status.clone().unwrap_or_else(|| tx(&ctx).no_answer.to_owned())}</td>
                                <td class="num">{format!("{} ms", a.latency_ms)}</td>
                                <td class="answer"><code>{answer}</code></td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}
