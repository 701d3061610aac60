//! The reconciler: the polling path ([`confirm_if_due`]: a page or the
//! merchant asks about a pending attempt) and the cron sweep ([`sweep`]),
//! both settling attempts from the gateway's `query`
//! (`checkout::settle::reconcile_action` decides when).

use checkout::settle::{self, Report};
use checkout::vocab::{EventSource, OrderStatus};
use soushou::envelope;
use soushou::model::{QueryRequest, QueryResp};
use soushou::types::{ResultCode, SerType};

use super::apply::{apply_event, Applied};
use super::apply::{apply_report, expected};
use super::duplicate::refund_if_duplicate;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway;
use crate::platform::log::{now_secs, Level};
use crate::store::{self, attempts::OrderRow};

/// Asks the gateway about an order and applies what it proves (see
/// [`apply_report`]); a new payment is checked for being a duplicate of its
/// link at once. `source` names the caller in the state history (`poll`,
/// `cron`, `merchant_query`, `pos`). Returns the gateway's answer.
pub async fn query_and_apply(
    cx: &Cx,
    cfg: &envelope::Config,
    order: &OrderRow,
    source: EventSource,
) -> ApiResult<QueryResp> {
    let log = &cx.log;
    let req = QueryRequest {
        code: order.charge_code.clone(),
        ser_type: SerType::Merchant,
    };
    let now = now_secs();
    let resp = match gateway::call(cx, cfg, &req).await {
        Ok(resp) => resp,
        Err(ApiError::Gateway(soushou::Error::Gateway {
            code: ResultCode::ChargeNonexistent,
            info,
        })) => {
            if order.state == OrderStatus::Pending
                && now.saturating_sub(order.created_at)
                    >= cx.settings.unknown_attempt_fail_after_secs()?
            {
                let t = apply_event(
                    cx.db()?,
                    &order.charge_code,
                    OrderStatus::Failed,
                    source,
                    now,
                )
                .await?;
                log.event(
                    Level::Warn,
                    "attempt_unknown_to_gateway",
                    serde_json::json!({"charge_code": order.charge_code, "outcome": t.name()}),
                );
            }
            return Err(ApiError::Gateway(soushou::Error::Gateway {
                code: ResultCode::ChargeNonexistent,
                info,
            }));
        }
        Err(e) => return Err(e),
    };
    let report = Report::of_query(&resp);
    let applied = apply_report(cx, (&expected(cfg, order), &report), source, now).await?;
    if let Applied::Event(t) = &applied {
        log.set("reconcile", t.name());
        if settle::is_new_money(t) {
            refund_if_duplicate(cx, &order.charge_code).await;
        }
    }
    Ok(resp)
}

/// The polling path: confirms an attempt with `query` when the reconciler's
/// rule says so ([`settle::reconcile_action`]: pending long enough, or
/// inside a re-check window), at most once per interval per attempt (an
/// atomic claim). Gateway trouble is logged, not surfaced: the poll still
/// answers with the stored state.
pub async fn confirm_if_due(cx: &Cx, order: OrderRow, source: EventSource) -> ApiResult<OrderRow> {
    let now = now_secs();
    let policy = cx.settings.reconcile_policy()?;
    if !settle::reconcile_action(&policy, &order.reconcile_input(now)) {
        return Ok(order);
    }
    let db = cx.db()?;
    if !store::attempts::claim_query_slot(db, &order.charge_code, now, policy.min_interval_secs)
        .await?
    {
        return Ok(order);
    }
    let cfg = cx.settings.gateway()?;
    if let Err(e) = query_and_apply(cx, &cfg, &order, source).await {
        cx.log.event(
            Level::Warn,
            "reconcile_failed",
            serde_json::json!({"charge_code": order.charge_code, "error": e.code().as_str()}),
        );
    }
    Ok(store::attempts::get_order(db, &order.charge_code)
        .await?
        .unwrap_or(order))
}

/// The cron sweep: confirms attempts pending for longer than
/// `RECONCILE_AFTER_SECS` and re-checks attempts inside a re-check window
/// (least recently queried first, bounded per run). Returns how many
/// changed state.
pub async fn sweep(cx: &Cx) -> ApiResult<usize> {
    let db = cx.db()?;
    let now = now_secs();
    let cutoff = now.saturating_sub(cx.settings.reconcile_after_secs()?);
    let mut due = store::attempts::pending_before(db, cutoff, 25).await?;
    due.extend(store::attempts::recheck_due(db, now, 25).await?);
    let mut changed = 0;
    for order in due {
        let (code, before) = (order.charge_code.clone(), order.state);
        let after = confirm_if_due(cx, order, EventSource::Cron).await?;
        if after.state != before {
            changed += 1;
            cx.log.event(
                Level::Info,
                "reconciled",
                serde_json::json!({"charge_code": code, "from": before, "state": after.state}),
            );
        }
    }
    Ok(changed)
}
