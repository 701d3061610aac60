//! Orders: the list with the contract's filters (a Beijing date range,
//! state, method, channel, link, search), cursor paging ("load more"
//! reads the page after the last row shown), and the same filters' CSV.
//! The filters live in the address (`/console/orders?state=paid&…`), so a
//! reload, the back button or a shared address keeps them.

use checkout::access::Permission;
use checkout::vocab::{OrderMethod, OrderStatus, Spelled};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{ErrorNote, Heading};
use crate::api;
use crate::app::Ctx;
use crate::desk::{orders_query, yuan, ORDER_FILTERS};
use crate::error::Error;
use crate::model::{OrderRow, Page};
use crate::route::{encode, query_value, Route};

/// The channels the filter offers (the wallets a shop meets; the API
/// knows more, `checkout::list::Channel`).
const CHANNELS: [&str; 4] = ["wechat", "alipay", "unionpay", "auto"];

/// The orders list; `query`: the filters from the address.
#[component]
pub fn Orders(query: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let rows = RwSignal::new(Vec::<OrderRow>::new());
    let has_more = RwSignal::new(false);
    let error = RwSignal::new(None::<Error>);
    let busy = RwSignal::new(true);
    let api_query = orders_query(&query);
    let load = {
        let api_query = api_query.clone();
        Callback::new(move |after: Option<String>| {
            let Ok(q) = api_query.clone() else { return };
            busy.set(true);
            spawn_local(async move {
                let mut path = "/v1/orders?limit=50".to_owned();
                if !q.is_empty() {
                    path.push('&');
                    path.push_str(&q);
                }
                if let Some(after) = after {
                    path.push_str(&format!("&starting_after={}", encode(&after)));
                }
                match api::get::<Page<OrderRow>>(&path).await {
                    Ok(page) => {
                        rows.update(|r| r.extend(page.data));
                        has_more.set(page.has_more);
                        error.set(None);
                    }
                    Err(e) => error.set(Some(ctx.check(e))),
                }
                busy.set(false);
            });
        })
    };
    load.run(None);
    let more = move |_| {
        let after = rows.with_untracked(|r| r.last().map(|o| o.charge_code.clone()));
        load.run(after);
    };
    let value = |name: &str| query_value(&query, name).unwrap_or_default();
    let csv = api_query
        .as_ref()
        .ok()
        .filter(|_| ctx.can(Permission::Statements))
        .map(|q| {
            if q.is_empty() {
                "/v1/orders.csv".to_owned()
            } else {
                format!("/v1/orders.csv?{q}")
            }
        });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let form = event_target::<web_sys::HtmlFormElement>(&ev);
        let data = web_sys::FormData::new_with_form(&form).ok();
        let query: Vec<String> = ORDER_FILTERS
            .iter()
            .filter_map(|name| {
                let v = data.as_ref()?.get(name).as_string()?;
                let v = v.trim().to_owned();
                (!v.is_empty()).then(|| format!("{name}={}", encode(&v)))
            })
            .collect();
        ctx.go(Route::Orders {
            query: query.join("&"),
        });
    };
    let select = move |name: &'static str,
                       id: &'static str,
                       label: fn(&'static crate::i18n::Strings) -> &'static str,
                       options: Vec<&'static str>,
                       chosen: String| {
        view! {
            <label for=id>{move || label(t())}
                <select id=id name=name>
                    <option value="">{move || t().any}</option>
                    {options.into_iter().map(|o| {
                        let selected = o == chosen;
                        view! { <option value=o selected=selected>{move || if name == "state" { t().order_state(o) } else { o }}</option> }
                    }).collect_view()}
                </select>
            </label>
        }
    };
    view! {
        <Heading text=Signal::derive(move || t().orders.to_owned())/>
        <form class="card filters" id="filters" on:submit=submit role="search" aria-label=move || t().filters>
            <label for="f-from">{move || t().from}
                <input id="f-from" name="from" type="date" value=value("from")/>
            </label>
            <label for="f-to">{move || t().to}
                <input id="f-to" name="to" type="date" value=value("to")/>
            </label>
            {select("state", "f-state", |t| t.state, spellings(&OrderStatus::ALL), value("state"))}
            {select("method", "f-method", |t| t.method, spellings(<OrderMethod as Spelled>::ALL), value("method"))}
            {select("channel", "f-channel", |t| t.channel, CHANNELS.to_vec(), value("channel"))}
            <label for="f-link">{move || t().link}
                <input id="f-link" name="link" value=value("link") autocomplete="off"/>
            </label>
            <label for="f-q">{move || t().search}
                <input id="f-q" name="q" type="search" value=value("q") autocomplete="off"/>
            </label>
            <div class="actions">
                <button type="submit" class="primary" id="apply">{move || t().apply}</button>
                <a class="button" id="clear" href=Route::Orders { query: String::new() }.href()>{move || t().clear}</a>
                {csv.map(|href| view! { <a class="button" id="orders-csv" href=href download>{move || t().csv}</a> })}
            </div>
        </form>
        {api_query.err().map(|_| view! { <p class="alert" role="alert" id="filters-error">{move || t().e_day}</p> })}
        {move || error.get().map(|error| view! { <ErrorNote error/> })}
        <ul class="rows" id="orders" aria-busy=move || busy.get().then_some("true")>
            {move || rows.get().into_iter().map(|o| {
                let href = Route::Order(o.charge_code.clone()).href();
                let code = o.charge_code.clone();
                view! {
                <li data-code=code data-state=o.state.clone()>
                    <a href=href>
                        <strong>"¥" {yuan(o.amount_fen as i64)}</strong>
                        <span>{t().order_state(&o.state).to_owned()}</span>
                        <span>{o.subject}</span>
                        <span class="muted">{o.channel} " · " {o.method}</span>
                        <code>{o.charge_code}</code>
                    </a>
                </li>
            }}).collect_view()}
        </ul>
        {move || (!busy.get() && error.with(Option::is_none) && rows.with(Vec::is_empty)).then(|| view! {
            <p id="no-orders">{t().no_orders}</p>
        })}
        {move || busy.get().then(|| view! { <super::Loading/> })}
        {move || (has_more.get() && !busy.get()).then(|| view! {
            <button type="button" id="more" on:click=more>{t().more}</button>
        })}
    }
}

/// The API spellings of an enum's values.
fn spellings<T: Spelled>(all: &[T]) -> Vec<&'static str> {
    all.iter().map(|v| v.spelling()).collect()
}
