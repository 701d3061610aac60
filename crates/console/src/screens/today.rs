//! Today: the Beijing day's payments and refunds (count, amount, by
//! channel), the latest payments arriving live (read again every few
//! seconds, no reload), statement differences and webhook events whose
//! delivery failed (`GET /v1/events?delivery=failed`, linking to the
//! webhooks screen showing them) as warnings; and the
//! cashier's way to a counter code (Today → new counter code → its QR).

use checkout::access::Permission;
use checkout::statement::{Figures, Statement, Summary};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{fetch, ErrorNote, Heading};
use crate::api;
use crate::ctx::Ctx;
use crate::decode::FromJson;
use crate::desk::{figures, today, yuan};
use crate::error::Error;
use crate::js;
use crate::model::Events;
use crate::model::{OrderRow, Page, RefundRow};
use crate::route::Route;

/// How often Today reads the day again, in milliseconds.
const POLL_MS: u32 = 5_000;

/// The most pages of 100 Today reads per list (10,000 rows a day): a
/// shop beyond that reads its day in the orders list.
const MAX_PAGES: usize = 100;

/// The day so far.
#[derive(Clone, Debug, PartialEq)]
struct Day {
    summary: Summary,
    latest: Vec<OrderRow>,
}

/// Every row of a list since `start` (`path` without its query), newest
/// first, page by page.
async fn since<T>(path: &str, start: u64, id: fn(&T) -> &str) -> Result<Vec<T>, Error>
where
    T: FromJson,
{
    let mut rows: Vec<T> = Vec::new();
    for _ in 0..MAX_PAGES {
        let after = rows
            .last()
            .map(|r| format!("&starting_after={}", id(r)))
            .unwrap_or_default();
        let page: Page<T> =
            api::get(&format!("{path}?created_gte={start}&limit=100{after}")).await?;
        rows.extend(page.data);
        if !page.has_more {
            break;
        }
    }
    Ok(rows)
}

/// Reads the day: its orders and refunds, summed.
async fn read_day() -> Result<Day, Error> {
    let day = today(js::now_secs());
    let orders = since::<OrderRow>("/v1/orders", day.0, |o| &o.charge_code).await?;
    let refunds = since::<RefundRow>("/v1/refunds", day.0, |r| &r.id).await?;
    let summary = figures(&orders, &refunds, day);
    let mut latest: Vec<OrderRow> = orders.into_iter().filter(|o| o.paid_at.is_some()).collect();
    latest.sort_by_key(|o| std::cmp::Reverse(o.paid_at));
    latest.truncate(10);
    Ok(Day { summary, latest })
}

/// The home screen.
#[component]
pub fn Today() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let day = RwSignal::new(None::<Result<Day, Error>>);
    // Polling stops when the screen goes (a plain flag: the screen's
    // signals are gone by then and must not be read).
    let alive = Arc::new(AtomicBool::new(true));
    let flag = alive.clone();
    on_cleanup(move || flag.store(false, Ordering::Relaxed));
    spawn_local(async move {
        while alive.load(Ordering::Relaxed) {
            let read = read_day().await.map_err(|e| ctx.check(e));
            if !alive.load(Ordering::Relaxed) {
                break;
            }
            // A failed poll keeps the figures shown; only a first failure shows.
            if read.is_ok() || day.with_untracked(|d| d.is_none()) {
                day.set(Some(read));
            }
            js::sleep(POLL_MS).await;
        }
    });
    let statements = ctx
        .can(Permission::Statements)
        .then(|| fetch::<Page<Statement>>(|| "/v1/statements".to_owned()));
    // Every role reads events; 200 is the API's largest page ("200+").
    let failed = fetch::<Events>(|| "/v1/events?delivery=failed&limit=200".to_owned());
    let counter = Route::NewLink {
        kind: Some("counter".into()),
    };
    view! {
        <Heading text=Signal::derive(move || ctx.t().today.to_owned())/>
        {move || ctx.can(Permission::Charge).then(|| view! {
            <a class="button primary big" id="new-counter" href=counter.href()>
                {ctx.t().new_counter_code}
            </a>
        })}
        {statements.map(|list| move || {
            let differing: Vec<String> = list
                .get()
                .and_then(Result::ok)
                .map(|p| p.data.into_iter().filter(|s| !s.summary.differences.is_empty()).map(|s| s.date).collect())
                .unwrap_or_default();
            (!differing.is_empty()).then(|| view! {
                <p class="notice" role="status" id="differences-warning">
                    {ctx.t().differences_warning} " "
                    <a href=Route::Statements.href()>{differing.join(", ")}</a>
                </p>
            })
        })}
        {move || failed.get().and_then(Result::ok).filter(|p| !p.data.is_empty()).map(|p| {
            let count = format!("{}{}", p.data.len(), if p.has_more { "+" } else { "" });
            view! {
                <p class="notice" role="status" id="failed-webhooks-warning">
                    {ctx.t().failed_webhooks_warning} " "
                    <strong id="failed-webhooks-count">{count}</strong> " · "
                    <a href=Route::Webhooks { failed: true }.href()>{ctx.t().failed_webhooks_link}</a>
                </p>
            }
        })}
        {move || match day.get() {
            None => view! { <super::Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
            Some(Ok(d)) => view! { <DayView day=d/> }.into_any(),
        }}
    }
}

/// The figures and the latest payments.
#[component]
fn DayView(day: Day) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let total = day.summary.total.clone();
    let channels: Vec<(String, Figures)> = day.summary.by_channel.into_iter().collect();
    view! {
        <section class="figures" id="figures" aria-label=move || t().today>
            <Figure id="payments" label=move || t().payments count=total.payments.count fen=total.payments.amount_fen as i64/>
            <Figure id="refunds" label=move || t().refunds count=total.refunds.count fen=total.refunds.amount_fen as i64/>
            <Figure id="net" label=move || t().net count=None fen=total.net_fen/>
        </section>
        {(!channels.is_empty()).then(|| view! {
            <h2>{move || t().by_channel}</h2>
            <table id="by-channel">
                <thead><tr>
                    <th scope="col">{move || t().channel}</th>
                    <th scope="col" class="num">{move || t().payments}</th>
                    <th scope="col" class="num">{move || t().refunds}</th>
                </tr></thead>
                <tbody>
                    {channels.into_iter().map(|(name, f)| {
                        let key = name.clone();
                        view! {
                        <tr data-channel=key>
                            <th scope="row">{name}</th>
                            <td class="num">{f.payments.count} " · ¥" {yuan(f.payments.amount_fen as i64)}</td>
                            <td class="num">{f.refunds.count} " · ¥" {yuan(f.refunds.amount_fen as i64)}</td>
                        </tr>
                    }}).collect_view()}
                </tbody>
            </table>
        })}
        <h2>{move || t().latest}</h2>
        <p class="hint">{move || t().live_note}</p>
        {if day.latest.is_empty() {
            view! { <p id="latest-none">{move || t().no_payments}</p> }.into_any()
        } else {
            view! {
                <ul class="rows" id="latest">
                    {day.latest.into_iter().map(|o| {
                        let href = Route::Order(o.charge_code.clone()).href();
                let code = o.charge_code.clone();
                        view! {
                        <li data-code=code>
                            <a href=href>
                                <strong>"¥" {yuan(o.amount_fen as i64)}</strong>
                                <span>{o.subject}</span>
                                <span class="muted">{o.channel}</span>
                                <code>{o.charge_code}</code>
                            </a>
                        </li>
                    }}).collect_view()}
                </ul>
            }.into_any()
        }}
    }
}

/// One figure: its label, count and amount.
#[component]
fn Figure(
    id: &'static str,
    label: impl Fn() -> &'static str + Send + Sync + 'static,
    #[prop(into)] count: Option<u64>,
    fen: i64,
) -> impl IntoView {
    view! {
        <div class="card figure" id=id data-fen=fen data-count=count>
            <span>{label}</span>
            <strong>"¥" {yuan(fen)}</strong>
            {count.map(|c| view! { <span class="muted">{c}</span> })}
        </div>
    }
}
