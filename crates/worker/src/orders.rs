//! Applying state events to stored orders, and confirming pending orders
//! with the gateway's `query` (the reconciler: polling and the cron sweep).
//!
//! The decision (is this event news, a duplicate, or stale?) is
//! `checkout::state::apply`; this module only re-reads and retries when a
//! concurrent writer won the conditional update.

use checkout::api::OrderStatus;
use checkout::state::{self, Transition};
use soushou::envelope;
use soushou::model::{QueryRequest, QueryResp, RefundQueryRequest, RefundRequest, RefundResp};
use soushou::types::{ResultCode, SerType};
use soushou::Fen;
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
    if is_new_payment(&t) {
        refund_if_duplicate(settings, &order.charge_code, log).await;
    }
    Ok(resp)
}

/// Whether a transition is the one that recorded an attempt as paid (the
/// moment a second payment of the same link must be noticed).
pub fn is_new_payment(t: &Transition) -> bool {
    matches!(
        t,
        Transition::Applied {
            to: OrderStatus::Paid,
            ..
        }
    )
}

/// A refund the gateway confirmed.
pub struct Refunded {
    /// Sum of the order's succeeded refunds after this one, fen.
    pub total_fen: u64,
    /// The order's state after it.
    pub state: OrderStatus,
    /// The gateway's answer (none when a retry found the refund already done).
    pub gateway: Option<RefundResp>,
}

/// Refunds `amount` of a paid attempt under `out_refund_no`: the domain
/// check, the reservation (one conditional INSERT, so concurrent or repeated
/// refunds can neither overdraw nor reuse a number), the gateway's `refund`,
/// then the stored total and state. A refusal marks the refund failed; a
/// fault leaves it pending (reserved). The merchant's refund route and the
/// refund of a duplicate payment both go through here.
pub async fn refund(
    settings: &Settings,
    db: &D1Database,
    order: &OrderRow,
    out_refund_no: &str,
    amount: Fen,
    reason: &str,
    log: &RequestLog,
) -> ApiResult<Refunded> {
    let charge_code = order.charge_code.as_str();
    let paid = Fen::from_fen(order.amount_fen);
    let reserved = Fen::from_fen(
        order.amount_fen
            - repo::refundable(db, charge_code)
                .await?
                .min(order.amount_fen),
    );
    // The domain check (state, amount) first; then the atomic reservation,
    // which also stops two concurrent refunds from overdrawing.
    state::check_refund(order.status()?, paid, reserved, amount)?;
    let now = now_secs();
    if !repo::reserve_refund(db, out_refund_no, charge_code, amount.fen(), reason, now).await? {
        let left = Fen::from_fen(repo::refundable(db, charge_code).await?);
        return Err(checkout::Error::RefundExceeds { refundable: left }.into());
    }
    log.set("out_refund_no", out_refund_no);
    send_refund(settings, db, order, out_refund_no, amount, reason, log).await
}

/// Sends a reserved refund to the gateway and settles it: a refusal marks
/// it failed; a fault leaves it pending (reserved) for a retry.
async fn send_refund(
    settings: &Settings,
    db: &D1Database,
    order: &OrderRow,
    out_refund_no: &str,
    amount: Fen,
    reason: &str,
    log: &RequestLog,
) -> ApiResult<Refunded> {
    let charge_code = order.charge_code.as_str();
    let now = now_secs();
    let cfg = settings.gateway()?;
    let gw = RefundRequest {
        busi_id: cfg.busi_id.clone(),
        oper_id: cfg.oper_id.clone(),
        dev_id: cfg.dev_id.clone(),
        charge_refund_fee: amount,
        refund_subject: reason.to_owned(),
        charge_code: charge_code.to_owned(),
        charge_down_code: order.charge_down_code.clone(),
        out_refund_no: Some(out_refund_no.to_owned()),
    };
    let resp = match gateway::call(settings, &cfg, &gw, log).await {
        Ok(resp) => resp,
        Err(e) => {
            // Only a refusal is known not to have happened; after a fault the
            // refund stays pending (reserved) until the refund query says more.
            if let Some(code) = e.gateway_code() {
                repo::finish_refund(
                    db,
                    out_refund_no,
                    charge_code,
                    false,
                    Some(code.as_str()),
                    now,
                )
                .await?;
            }
            return Err(e);
        }
    };
    let (total_fen, state) = settle_refund(db, order, out_refund_no, now).await?;
    Ok(Refunded {
        total_fen,
        state,
        gateway: Some(resp),
    })
}

/// Marks a refund the gateway confirmed as succeeded; moves the order to
/// the state its refunded total implies. Returns (total, state).
async fn settle_refund(
    db: &D1Database,
    order: &OrderRow,
    out_refund_no: &str,
    now: u64,
) -> ApiResult<(u64, OrderStatus)> {
    let charge_code = order.charge_code.as_str();
    let total = repo::finish_refund(db, out_refund_no, charge_code, true, None, now).await?;
    let target = state::after_refund(Fen::from_fen(order.amount_fen), Fen::from_fen(total));
    let t = apply_event(db, charge_code, target, "refund", now).await?;
    Ok((total, t.state()))
}

/// How long a duplicate-payment refund must have been pending before the
/// cron sweep retries it (so it never races the first attempt's call).
const DUPLICATE_REFUND_RETRY_AFTER_SECS: u64 = 60;

/// The cron sweep's retry of duplicate-payment refunds left pending by a
/// gateway fault: asks `refundQuery` whether the refund happened (settles
/// it if so), else sends it again under the same `OUT_REFUND_NO`. One
/// caller per refund per retry interval (a conditional claim). Returns how
/// many were settled.
pub async fn retry_duplicate_refunds(settings: &Settings, log: &RequestLog) -> ApiResult<usize> {
    let db = settings.env().d1("DB")?;
    let now = now_secs();
    let cutoff = now.saturating_sub(DUPLICATE_REFUND_RETRY_AFTER_SECS);
    let mut settled = 0;
    for refund in repo::pending_refunds_before(&db, DUPLICATE_REFUND_PREFIX, cutoff, 10).await? {
        if !repo::claim_refund_retry(&db, &refund.out_refund_no, now, cutoff).await? {
            continue;
        }
        let outcome = retry_refund(settings, &db, &refund, log).await;
        let name = match &outcome {
            Ok(_) => {
                settled += 1;
                "succeeded"
            }
            Err(e) => e.status_and_code().1,
        };
        log.event(
            Level::Warn,
            "duplicate_refund_retried",
            serde_json::json!({"charge_code": refund.charge_code,
                "out_refund_no": refund.out_refund_no, "outcome": name}),
        );
    }
    Ok(settled)
}

/// The cron sweep's catch-up for duplicate payments nobody refunded: the
/// refund after `/notify` runs in a `ctx.wait_until` task, and if that task
/// is lost (Worker evicted, storage error) before it reserves its refund
/// row, nothing else would notice the duplicate. Finds later-paid attempts
/// of a link without a `dup-` refund, paid at least
/// `DUPLICATE_REFUND_RETRY_AFTER_SECS` ago (so it does not race the
/// background task), and runs [`refund_if_duplicate`] on each, a bounded
/// batch per run. Returns how many were examined.
pub async fn refund_missed_duplicates(settings: &Settings, log: &RequestLog) -> ApiResult<usize> {
    let db = settings.env().d1("DB")?;
    let cutoff = now_secs().saturating_sub(DUPLICATE_REFUND_RETRY_AFTER_SECS);
    let missed = repo::unrefunded_duplicates(&db, DUPLICATE_REFUND_PREFIX, cutoff, 20).await?;
    for charge_code in &missed {
        log.event(
            Level::Warn,
            "duplicate_refund_missed",
            serde_json::json!({"charge_code": charge_code}),
        );
        refund_if_duplicate(settings, charge_code, log).await;
    }
    Ok(missed.len())
}

async fn retry_refund(
    settings: &Settings,
    db: &D1Database,
    refund: &repo::RefundRow,
    log: &RequestLog,
) -> ApiResult<Refunded> {
    let order = repo::get_order(db, &refund.charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let cfg = settings.gateway()?;
    let query = RefundQueryRequest {
        code: refund.charge_code.clone(),
        ser_type: SerType::Merchant,
    };
    let listed = gateway::call(settings, &cfg, &query, log).await?;
    if listed
        .refund_trade_list
        .iter()
        .any(|r| r.refund_code.as_deref() == Some(refund.out_refund_no.as_str()))
    {
        let (total_fen, state) =
            settle_refund(db, &order, &refund.out_refund_no, now_secs()).await?;
        return Ok(Refunded {
            total_fen,
            state,
            gateway: None,
        });
    }
    send_refund(
        settings,
        db,
        &order,
        &refund.out_refund_no,
        Fen::from_fen(refund.amount_fen),
        &refund.reason,
        log,
    )
    .await
}

/// Prefix of the `OUT_REFUND_NO` of duplicate-payment refunds.
const DUPLICATE_REFUND_PREFIX: &str = "dup-";

/// The `OUT_REFUND_NO` of the refund of a duplicate payment: one per
/// attempt, so however often the duplicate is noticed it is refunded once.
fn duplicate_refund_no(charge_code: &str) -> String {
    format!("{DUPLICATE_REFUND_PREFIX}{charge_code}")
}

/// Called once an attempt was recorded paid: if another attempt of the same
/// link was paid before it (the shopper paid the link twice, e.g. because the
/// superseded attempt could not be cancelled), refunds this later attempt in
/// full. The payment itself stays recorded; the refund shows in the order's
/// refunds and moves it to `refunded`. Never fails: every outcome is logged,
/// and a refund that did not complete stays reserved for the cron sweep.
pub async fn refund_if_duplicate(settings: &Settings, charge_code: &str, log: &RequestLog) {
    if let Err(e) = try_refund_duplicate(settings, charge_code, log).await {
        log.event(
            Level::Warn,
            "duplicate_refund_failed",
            serde_json::json!({"charge_code": charge_code,
                "out_refund_no": duplicate_refund_no(charge_code),
                "error": e.status_and_code().1, "detail": e.to_string()}),
        );
    }
}

async fn try_refund_duplicate(
    settings: &Settings,
    charge_code: &str,
    log: &RequestLog,
) -> ApiResult<()> {
    let db = settings.env().d1("DB")?;
    let Some(kept) = repo::earlier_paid_attempt(&db, charge_code).await? else {
        return Ok(());
    };
    let out_refund_no = duplicate_refund_no(charge_code);
    log.event(
        Level::Warn,
        "duplicate_payment",
        serde_json::json!({"charge_code": charge_code, "paid_first": kept,
            "out_refund_no": out_refund_no}),
    );
    let existing = repo::refunds(&db, charge_code).await?;
    if existing.iter().any(|r| r.out_refund_no == out_refund_no) {
        // Already reserved by an earlier run: the cron sweep retries it if pending.
        return Ok(());
    }
    let order = repo::get_order(&db, charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let reason = format!("duplicate payment; link already paid by {kept}");
    let done = refund(
        settings,
        &db,
        &order,
        &out_refund_no,
        Fen::from_fen(order.amount_fen),
        &reason,
        log,
    )
    .await?;
    log.event(
        Level::Info,
        "duplicate_refunded",
        serde_json::json!({"charge_code": charge_code, "out_refund_no": out_refund_no,
            "order_state": done.state.as_str()}),
    );
    Ok(())
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
