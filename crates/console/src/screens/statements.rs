//! Statements by day (each Beijing day's, made by the cron once the day
//! has ended and settled): totals, the differences from the gateway, the
//! day's CSV.

use checkout::statement::Statement;
use leptos::prelude::*;

use super::{fetch, show, Heading};
use crate::app::Ctx;
use crate::desk::yuan;
use crate::model::Page;

/// The statements screen.
#[component]
pub fn Statements() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let list = fetch::<Page<Statement>>(|| "/v1/statements".to_owned());
    view! {
        <Heading text=Signal::derive(move || t().statements.to_owned())/>
        {show(list, move |page: Page<Statement>| {
            if page.data.is_empty() {
                return view! { <p id="no-statements">{move || t().no_statements}</p> }.into_any();
            }
            view! {
                <ul class="rows" id="statements">
                    {page.data.into_iter().map(|s| view! { <Day statement=s/> }).collect_view()}
                </ul>
            }
            .into_any()
        })}
    }
}

/// One day: its figures, differences and CSV.
#[component]
fn Day(statement: Statement) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let total = statement.summary.total.clone();
    let csv = format!("/v1/statements/{}.csv", statement.date);
    let differences = statement.summary.differences.clone();
    let count = differences.len();
    view! {
        <li class="card" data-date=statement.date.clone() data-differences=count>
            <h2>{statement.date.clone()}</h2>
            <table>
                <tbody>
                    <tr><th scope="row">{move || t().payments}</th><td class="num">{total.payments.count}</td><td class="num">"¥" {yuan(total.payments.amount_fen as i64)}</td></tr>
                    <tr><th scope="row">{move || t().refunds}</th><td class="num">{total.refunds.count}</td><td class="num">"¥" {yuan(total.refunds.amount_fen as i64)}</td></tr>
                    <tr><th scope="row">{move || t().net}</th><td></td><td class="num">"¥" {yuan(total.net_fen)}</td></tr>
                </tbody>
            </table>
            {(!differences.is_empty()).then(|| view! {
                <p class="notice">{move || t().differences}</p>
                <ul>
                    {differences.into_iter().map(|d| view! {
                        <li><code>{d.charge_code}</code> ": " {d.ours} " ≠ " {d.gateway}</li>
                    }).collect_view()}
                </ul>
            })}
            <a class="button" href=csv download>{move || t().csv} " · " {statement.date.clone()}</a>
        </li>
    }
}
