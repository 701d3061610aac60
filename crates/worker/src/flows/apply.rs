//! Applying the gateway's word to a stored attempt: a state event
//! (re-read and decided again when a concurrent writer won the conditional
//! update) and the creating call's answer.

use checkout::state::{self, Transition};
use checkout::vocab::{EventSource, OrderStatus};
use soushou::model::OrderResp;

use crate::platform::context::Cx;
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::Level;
use crate::store;

/// Applies `event` to the order idempotently; returns what happened.
pub async fn apply_event(
    db: &Db,
    charge_code: &str,
    event: OrderStatus,
    source: EventSource,
    now: u64,
) -> ApiResult<Transition> {
    // A lost race re-reads the new state and decides again; the state order
    // is finite and monotone, so this ends within a few rounds.
    for _ in 0..8 {
        let current = store::attempts::get_order(db, charge_code)
            .await?
            .ok_or(ApiError::NotFound("order"))?
            .state;
        let transition = state::apply(current, event);
        match transition {
            Transition::Applied { from, to } => {
                if store::attempts::transition(db, charge_code, (from, to), source, now).await? {
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

/// Passes a creating call's result (`order`, `creatOrder`, `wapOrder`,
/// `preOrder`) through, first settling the attempt it was for: a final
/// refusal fails it; any other failure (a timeout, a fault, an
/// outcome-unknown code) may have created it, so it stays pending for
/// `query` to settle.
async fn fail_if_refused<T>(
    cx: &Cx,
    charge_code: &str,
    now: u64,
    result: ApiResult<T>,
) -> ApiResult<T> {
    if let Err(e) = &result {
        if e.is_refusal() {
            apply_event(
                cx.db()?,
                charge_code,
                OrderStatus::Failed,
                EventSource::Pay,
                now,
            )
            .await?;
        } else {
            cx.log.event(
                Level::Warn,
                "outcome_unknown",
                serde_json::json!({"charge_code": charge_code, "error": e.code().as_str(),
                    "gateway_code": e.gateway_result().map(|c| c.as_str().to_owned())}),
            );
        }
    }
    result
}

/// [`fail_if_refused`], then, on an answer, stores the gateway's and the
/// channel's serial numbers so later queries, refunds and notifications
/// can name the payment.
pub async fn settle_pay(
    cx: &Cx,
    charge_code: &str,
    now: u64,
    result: ApiResult<OrderResp>,
) -> ApiResult<OrderResp> {
    let resp = fail_if_refused(cx, charge_code, now, result).await?;
    let (down, third) = (
        resp.charge_down_code.as_deref(),
        resp.charge_third_code.as_deref(),
    );
    store::attempts::set_gateway_codes(cx.db()?, charge_code, down, third).await?;
    Ok(resp)
}
