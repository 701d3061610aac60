//! Applying state events to stored orders, and confirming pending orders
//! with the gateway's `query` (the reconciler: polling and the cron sweep).
//!
//! The decision (is this event news, a duplicate, or stale?) is
//! `checkout::state::apply`; this module only re-reads and retries when a
//! concurrent writer won the conditional update.

use checkout::api::OrderStatus;
use checkout::state::{self, Transition};
use soushou::envelope;
use soushou::model::{QueryRequest, QueryResp};
use soushou::types::{ResultCode, SerType};
use worker::D1Database;

use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::gateway;
use crate::log::{now_secs, Level, RequestLog};
use crate::repo::{self, OrderRow};

/// How long an attempt the gateway has never heard of may stay pending
/// before the reconciler marks it failed (the `pay` call that should have
/// created it timed out or never arrived).
const UNKNOWN_ATTEMPT_FAILS_AFTER_SECS: u64 = 600;

/// Applies `event` to the order idempotently; returns what happened.
pub async fn apply_event(
    db: &D1Database,
    charge_code: &str,
    event: OrderStatus,
    source: &str,
    now: u64,
) -> ApiResult<Transition> {
    // A lost race re-reads the new state and decides again; the state order
    // is finite and monotone, so this ends within a few rounds.
    for _ in 0..8 {
        let order = repo::get_order(db, charge_code)
            .await?
            .ok_or(ApiError::NotFound("order"))?;
        let transition = state::apply(order.status()?, event);
        match transition {
            Transition::Applied { from, to } => {
                if repo::transition(db, charge_code, from, to, source, now).await? {
                    return Ok(transition);
                }
            }
            Transition::Duplicate(_) | Transition::Stale { .. } => return Ok(transition),
        }
    }
    Err(ApiError::Storage(
        "state transition kept losing races".into(),
    ))
}

/// Passes a `pay` call's result through, first settling the attempt it was
/// for: a refusal is definitive and fails it; a fault (timeout, 5xx,
/// garbage) leaves it pending for the reconciler to settle with `query`.
pub async fn fail_if_refused<T>(
    db: &D1Database,
    charge_code: &str,
    now: u64,
    result: ApiResult<T>,
) -> ApiResult<T> {
    if let Err(e) = &result {
        if e.gateway_code().is_some() {
            apply_event(db, charge_code, OrderStatus::Failed, "pay", now).await?;
        }
    }
    result
}

/// [`fail_if_refused`], then, on an answer, stores the gateway's and the
/// channel's serial numbers (`codes` picks them out of the answer) so later
/// queries, refunds and notifications can name the payment.
pub async fn settle_pay<T>(
    db: &D1Database,
    charge_code: &str,
    now: u64,
    result: ApiResult<T>,
    codes: impl FnOnce(&T) -> (Option<&str>, Option<&str>),
) -> ApiResult<T> {
    let resp = fail_if_refused(db, charge_code, now, result).await?;
    let (down, third) = codes(&resp);
    repo::set_gateway_codes(db, charge_code, down, third).await?;
    Ok(resp)
}

/// A short name of a transition for logs and stored notification outcomes.
pub fn outcome_name(t: &Transition) -> &'static str {
    match t {
        Transition::Applied { .. } => "applied",
        Transition::Duplicate(_) => "duplicate",
        Transition::Stale { .. } => "stale",
    }
}

/// Asks the gateway about an order and applies what it says (amount
/// checked against the stored attempt). `source` names the caller in the
/// state history (`poll`, `cron`, `merchant_query`). Returns the gateway's answer.
pub async fn query_and_apply(
    settings: &Settings,
    cfg: &envelope::Config,
    order: &OrderRow,
    source: &str,
    log: &RequestLog,
) -> ApiResult<QueryResp> {
    let db = settings.env().d1("DB")?;
    let req = QueryRequest {
        code: order.charge_code.clone(),
        ser_type: SerType::Merchant,
    };
    let now = now_secs();
    let resp = match gateway::call(settings, cfg, &req, log).await {
        Ok(resp) => resp,
        Err(ApiError::Gateway(soushou::Error::Gateway {
            code: ResultCode::ChargeNonexistent,
            info,
        })) => {
            if order.state == OrderStatus::Pending.as_str()
                && now.saturating_sub(order.created_at) >= UNKNOWN_ATTEMPT_FAILS_AFTER_SECS
            {
                let t =
                    apply_event(&db, &order.charge_code, OrderStatus::Failed, source, now).await?;
                log.event(
                    Level::Warn,
                    "attempt_unknown_to_gateway",
                    serde_json::json!({"charge_code": order.charge_code, "outcome": outcome_name(&t)}),
                );
            }
            return Err(ApiError::Gateway(soushou::Error::Gateway {
                code: ResultCode::ChargeNonexistent,
                info,
            }));
        }
        Err(e) => return Err(e),
    };
    let Some(status) = resp.state.as_ref().and_then(state::from_gateway) else {
        return Ok(resp);
    };
    if let Some(amt) = resp.amt {
        if amt.fen() != order.amount_fen {
            log.event(
                Level::Warn,
                "query_amount_mismatch",
                serde_json::json!({"charge_code": order.charge_code,
                    "stored_fen": order.amount_fen, "gateway_fen": amt.fen()}),
            );
            return Ok(resp);
        }
    }
    // Refund states come from our own refund records (the gateway's totals
    // may lag); the query only settles the payment itself, so a refunded
    // answer says "it was paid".
    let status = match status {
        OrderStatus::PartiallyRefunded | OrderStatus::Refunded => OrderStatus::Paid,
        other => other,
    };
    let t = apply_event(&db, &order.charge_code, status, source, now).await?;
    log.set("reconcile", outcome_name(&t));
    Ok(resp)
}

/// The polling path: confirms a pending order with `query` once it has
/// been pending for `RECONCILE_AFTER_SECS`, at most once per
/// `RECONCILE_MIN_INTERVAL_SECS` per order. Gateway trouble is logged, not
/// surfaced: the poll still answers with the stored state.
pub async fn confirm_if_due(
    settings: &Settings,
    order: OrderRow,
    source: &str,
    log: &RequestLog,
) -> ApiResult<OrderRow> {
    if order.state != OrderStatus::Pending.as_str() {
        return Ok(order);
    }
    let now = now_secs();
    if now.saturating_sub(order.created_at) < settings.reconcile_after_secs()? {
        return Ok(order);
    }
    let db = settings.env().d1("DB")?;
    let interval = settings.reconcile_min_interval_secs()?;
    if !repo::claim_query_slot(&db, &order.charge_code, now, interval).await? {
        return Ok(order);
    }
    let cfg = settings.gateway()?;
    if let Err(e) = query_and_apply(settings, &cfg, &order, source, log).await {
        log.event(
            Level::Warn,
            "reconcile_failed",
            serde_json::json!({"charge_code": order.charge_code, "error": e.status_and_code().1}),
        );
    }
    Ok(repo::get_order(&db, &order.charge_code)
        .await?
        .unwrap_or(order))
}

/// The cron sweep: confirms every attempt pending for longer than
/// `RECONCILE_AFTER_SECS` (oldest first, bounded per run).
pub async fn sweep(settings: &Settings, log: &RequestLog) -> ApiResult<usize> {
    let db = settings.env().d1("DB")?;
    let now = now_secs();
    let cutoff = now.saturating_sub(settings.reconcile_after_secs()?);
    let pending = repo::pending_before(&db, cutoff, 25).await?;
    let mut confirmed = 0;
    for order in pending {
        let code = order.charge_code.clone();
        let after = confirm_if_due(settings, order, "cron", log).await?;
        if after.state != OrderStatus::Pending.as_str() {
            confirmed += 1;
            log.event(
                Level::Info,
                "reconciled",
                serde_json::json!({"charge_code": code, "state": after.state}),
            );
        }
    }
    Ok(confirmed)
}
