//! One order: its state, amounts, state history, refunds, the gateway's
//! notifications and live view (`GET /v1/orders/{code}` asks the gateway
//! each time); its events and each event's deliveries (status, latency,
//! the start of the answer; `GET /v1/events?order=`), redeliver, refund
//! and cancel for the roles that may.
//!
//! A refund is confirmed on a second step that names the amount; the
//! `Idempotency-Key` is made once per confirmation step, so a double tap
//! or a retry is one refund. Whatever the answer (none at all included),
//! the order is read again, so the page never leaves a doubt.

use checkout::access::Permission;
use checkout::api::{CancelRequest, LiveQuery, MerchantOrder, RefundRequest};
use checkout::vocab::OrderStatus;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::webhooks::EventItem;
use super::{fetch, show, ErrorNote, Heading, Loading};
use crate::api::{self, Extra};
use crate::ctx::Ctx;
use crate::desk::{check_refund, refundable, yuan};
use crate::error::Error;
use crate::i18n::Strings;
use crate::js;
use crate::model::Events;
use crate::route::encode;
use crate::screen_text::text;

/// Where the refund form is.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    /// Filling it in.
    Form,
    /// Asked to confirm this amount and reason, with the key to send.
    Confirm {
        fen: u64,
        reason: String,
        key: String,
    },
    /// Sent; waiting for the answer.
    Sending,
}

/// The order page.
#[component]
pub fn Order(code: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let path = format!("/v1/orders/{}", encode(&code));
    let order = RwSignal::new(None::<Result<MerchantOrder, Error>>);
    let read = {
        let path = path.clone();
        Callback::new(move |_: ()| {
            let path = path.clone();
            spawn_local(async move {
                let got = api::get::<MerchantOrder>(&path)
                    .await
                    .map_err(|e| ctx.check(e));
                order.set(Some(got));
            });
        })
    };
    read.run(());
    // What the last action said: done, or the network dropped.
    let outcome = RwSignal::new(None::<Result<&'static str, Error>>);
    view! {
        <Heading text=Signal::derive(move || t().order.to_owned())/>
        <p><code id="code">{code.clone()}</code></p>
        {move || outcome.get().map(|o| match o {
            Ok(text) => view! { <p class="notice" role="status" id="outcome">{text}</p> }.into_any(),
            Err(error) => view! { <ErrorNote error id="action-error"/> }.into_any(),
        })}
        {move || match order.get() {
            None => view! { <Loading/> }.into_any(),
            Some(Err(error)) => view! { <ErrorNote error/> }.into_any(),
            Some(Ok(o)) => {
                let act = Act { path: path.clone(), read, outcome };
                // Read again with the order: a refund's event shows at once.
                let code = o.order.charge_code.clone();
                view! { <Details order=o.clone()/> <Actions order=o act/> <OrderEvents code/> }.into_any()
            }
        }}
    }
}

/// The order's facts, history, refunds, notifications and live view.
#[component]
fn Details(order: MerchantOrder) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let state = order.order.state.as_str();
    let time = move |secs: u64| checkout_page::js::local_datetime(secs, ctx.lang.get());
    view! {
        <dl class="card facts" id="facts">
            <dt>{move || t().state}</dt>
            <dd id="state" data-state=state>{move || t().order_state(state).to_owned()}</dd>
            <dt>{move || t().amount}</dt>
            <dd id="amount">"¥" {order.order.money.amount.clone()}</dd>
            <dt>{move || t().refunded}</dt>
            <dd id="refunded" data-fen=order.refunded_fen>"¥" {yuan(order.refunded_fen as i64)}</dd>
            <dt>{move || t().subject}</dt>
            <dd>{order.subject.clone()}</dd>
            <dt>{move || t().method}</dt>
            <dd>{order.method.as_str()} " · " {order.channel_type.clone()}</dd>
            <dt>{move || t().created}</dt>
            <dd>{move || time(order.created_at)}</dd>
            {order.order.paid_at.map(|at| view! {
                <dt>{move || t().paid_at}</dt>
                <dd>{move || time(at)}</dd>
            })}
        </dl>
        <h2>{move || t().history}</h2>
        <table id="history">
            <tbody>
                {order.history.iter().map(|e| {
                    let (from, to, at) = (e.from_state.as_str(), e.to_state.as_str(), e.at);
                    view! {
                        <tr>
                            <td>{move || time(at)}</td>
                            <td>{move || format!("{} → {}", t().order_state(from), t().order_state(to))}</td>
                            <td>{e.source.as_str()}</td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        {titled(|t| t.refunds, "refunds", order.refunds.iter().map(|r| view! {
            <tr data-refund=r.out_refund_no.clone() data-state=r.state.as_str()>
                <td class="num">"¥" {yuan(r.amount_fen as i64)}</td>
                <td>{r.state.as_str()}</td>
                <td>{r.reason.clone()}</td>
                <td><code>{r.out_refund_no.clone()}</code></td>
            </tr>
        }.into_any()).collect())}
        {titled(|t| t.notifications, "notifications", order.notifications.iter().map(|n| view! {
            <tr>
                <td>{n.gateway_state.clone()}</td>
                <td class="num">"¥" {yuan(n.amount_fen as i64)} " × " {n.received}</td>
                <td>{n.outcome.clone()}</td>
            </tr>
        }.into_any()).collect())}
        <h2>{move || t().gateway_view}</h2>
        {match order.gateway.clone() {
            Some(LiveQuery::Answered(g)) => view! {
                <dl class="card facts" id="gateway">
                    <dt>{move || t().state}</dt><dd>{g.state.unwrap_or_default()}</dd>
                    <dt>{move || t().amount}</dt><dd>{g.amount.unwrap_or_default()}</dd>
                    <dt>{move || t().channel}</dt><dd>{g.channel_type.unwrap_or_default()}</dd>
                </dl>
            }.into_any(),
            Some(LiveQuery::Failed { error }) => view! {
                <p class="notice" id="gateway" data-code=error.code.as_str()>{move || t().gateway_failed} " (" {error.code.as_str()} ")"</p>
            }.into_any(),
            None => ().into_any(),
        }}
    }
}

/// A titled table of `rows`, left out when there are none.
fn titled(
    title: fn(&Strings) -> &'static str,
    id: &'static str,
    rows: Vec<AnyView>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    (!rows.is_empty()).then(|| {
        view! {
            <h2>{move || title(ctx.t())}</h2>
            <table id=id><tbody>{rows}</tbody></table>
        }
    })
}

/// What an action on the order needs: the order's API path, how to read
/// the order again, where to say how it went.
#[derive(Clone)]
struct Act {
    path: String,
    read: Callback<()>,
    outcome: RwSignal<Option<Result<&'static str, Error>>>,
}

impl Act {
    /// `POST {order}/{action}` with `body` (and `key` as its
    /// `Idempotency-Key`), then says how it went and reads the order
    /// again whatever the answer; no answer at all says that the order's
    /// own state tells (`unknown`). `then` runs once it is over.
    fn post<B: serde::Serialize + 'static>(
        &self,
        action: &str,
        body: B,
        key: Option<String>,
        (done, unknown): (&'static str, &'static str),
        then: impl FnOnce() + 'static,
    ) {
        let ctx = expect_context::<Ctx>();
        let (outcome, read) = (self.outcome, self.read);
        let path = format!("{}/{action}", self.path);
        outcome.set(None);
        spawn_local(async move {
            let extra = Extra {
                idempotency_key: key.as_deref(),
                ..Extra::default()
            };
            let sent = api::send::<()>("POST", &path, Some(&body), extra).await;
            outcome.set(Some(match sent {
                Ok(_) => Ok(done),
                Err(Error::Network(_)) => Ok(unknown),
                Err(e) => Err(ctx.check(e)),
            }));
            then();
            read.run(());
        });
    }
}

/// Refund and cancel, for the roles that may (a cashier sees neither).
#[component]
fn Actions(order: MerchantOrder, act: Act) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    if !ctx.can(Permission::Refund) {
        return ().into_any();
    }
    let refundable_now = refundable(&order);
    let can_refund = matches!(
        order.order.state,
        OrderStatus::Paid | OrderStatus::PartiallyRefunded
    ) && refundable_now.fen() > 0;
    let can_cancel = order.order.state == OrderStatus::Pending;
    view! {
        {can_refund.then(|| view! { <RefundForm order=order.clone() act=act.clone()/> })}
        {can_cancel.then(|| view! { <CancelButton act=act.clone()/> })}
    }
    .into_any()
}

/// The refund form and its confirmation step.
#[component]
fn RefundForm(order: MerchantOrder, act: Act) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let max = refundable(&order);
    let amount = RwSignal::new(max.to_yuan());
    let reason = RwSignal::new(String::new());
    let step = RwSignal::new(Step::Form);
    let invalid = RwSignal::new(None::<checkout::Error>);
    let order = StoredValue::new(order);
    let review = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let checked =
            order.with_value(|o| check_refund(o, &amount.get_untracked(), &reason.get_untracked()));
        match checked {
            Ok((fen, reason)) => {
                invalid.set(None);
                step.set(Step::Confirm {
                    fen: fen.fen(),
                    reason,
                    // One key per confirmation: a double tap resends it.
                    key: js::random_id(),
                });
            }
            Err(e) => invalid.set(Some(e)),
        }
    };
    let act = StoredValue::new(act);
    let confirm = Callback::new(move |_: ()| {
        let Step::Confirm { fen, reason, key } = step.get_untracked() else {
            return;
        };
        step.set(Step::Sending);
        let body = RefundRequest {
            amount: soushou::Fen::from_fen(fen).to_yuan(),
            reason,
            out_refund_no: None,
        };
        let t = ctx.t();
        act.with_value(|a| {
            a.post(
                "refunds",
                body,
                Some(key),
                (t.refund_done, t.action_unknown),
                move || step.set(Step::Form),
            )
        });
    });
    let field_error = move || invalid.get().map(|e| (e.clone(), t().invalid(&e)));
    view! {
        <section class="card" aria-labelledby="refund-title">
            <h2 id="refund-title">{move || t().refund}</h2>
            {move || match step.get() {
                Step::Form => view! {
                    <form class="form" id="refund-form" on:submit=review novalidate>
                        <label for="refund-amount">{move || t().refund_amount}</label>
                        <input id="refund-amount" name="amount" inputmode="decimal" autocomplete="off"
                            aria-describedby="refund-max refund-error"
                            aria-invalid=move || field_error().filter(|(e, _)| !matches!(e, checkout::Error::InvalidRequest { .. })).map(|_| "true")
                            prop:value=move || amount.get()
                            on:input=move |ev| amount.set(event_target_value(&ev))/>
                        <p class="hint" id="refund-max">{move || t().refundable} ": ¥" {max.to_yuan()}</p>
                        <label for="refund-reason">{move || t().reason}</label>
                        <input id="refund-reason" name="reason" maxlength="128" autocomplete="off"
                            aria-describedby="refund-error"
                            aria-invalid=move || field_error().filter(|(e, _)| matches!(e, checkout::Error::InvalidRequest { .. })).map(|_| "true")
                            prop:value=move || reason.get()
                            on:input=move |ev| reason.set(event_target_value(&ev))/>
                        {move || field_error().map(|(_, text)| view! { <p class="alert" role="alert" id="refund-error">{text}</p> })}
                        <button type="submit" class="danger" id="refund">{move || t().refund}</button>
                    </form>
                }.into_any(),
                Step::Confirm { fen, .. } => view! {
                    <div role="alertdialog" aria-labelledby="refund-question" class="form">
                        <p id="refund-question"><strong>{move || confirm_text(t(), fen)}</strong></p>
                        <div class="actions">
                            <button type="button" class="danger" id="refund-confirm" on:click=move |_| confirm.run(())>{move || t().confirm}</button>
                            <button type="button" id="refund-back" on:click=move |_| step.set(Step::Form)>{move || t().back}</button>
                        </div>
                    </div>
                }.into_any(),
                Step::Sending => view! { <Loading/> }.into_any(),
            }}
        </section>
    }
}

/// "Refund ¥12.50?" in the merchant's language.
fn confirm_text(t: &Strings, fen: u64) -> String {
    format!("{} ¥{}?", t.refund_confirm, yuan(fen as i64))
}

/// Cancel a pending order, after a confirmation.
#[component]
fn CancelButton(act: Act) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let t = move || ctx.t();
    let asking = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let act = StoredValue::new(act);
    let cancel = Callback::new(move |_: ()| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        let t = ctx.t();
        act.with_value(|a| {
            a.post(
                "cancel",
                CancelRequest { apply: false },
                None,
                (t.cancel_done, t.action_unknown),
                move || {
                    busy.set(false);
                    asking.set(false);
                },
            )
        });
    });
    view! {
        <section class="card">
            {move || if asking.get() {
                view! {
                    <div role="alertdialog" aria-labelledby="cancel-question" class="form">
                        <p id="cancel-question"><strong>{t().cancel_confirm}</strong></p>
                        <div class="actions">
                            <button type="button" class="danger" id="cancel-confirm" disabled=move || busy.get() on:click=move |_| cancel.run(())>{t().confirm}</button>
                            <button type="button" id="cancel-back" on:click=move |_| asking.set(false)>{t().back}</button>
                        </div>
                    </div>
                }.into_any()
            } else {
                view! { <button type="button" id="cancel" on:click=move |_| asking.set(true)>{t().cancel_order}</button> }.into_any()
            }}
        </section>
    }
}

/// The order's events (`GET /v1/events?order=`, oldest first) and each
/// one's deliveries, with redelivery for the roles that may: the webhooks
/// screen's [`EventItem`], opened.
#[component]
fn OrderEvents(code: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let path = format!("/v1/events?order={}&limit=200", encode(&code));
    let events = fetch::<Events>(move || path.clone());
    view! {
        <section id="order-events" aria-labelledby="order-events-heading">
            <h2 id="order-events-heading">{move || text(ctx.lang.get()).order_events}</h2>
            {show(events, move |page: Events| if page.data.is_empty() {
                view! { <p class="muted" id="order-events-none">{move || text(ctx.lang.get()).no_events}</p> }.into_any()
            } else {
                view! {
                    <ul class="rows events">
                        {page.data.into_iter().map(|event| view! { <EventItem event open=true/> }).collect_view()}
                    </ul>
                }.into_any()
            })}
        </section>
    }
}
