//! Cancel: revoking an attempt with `cancelTrade`
//! (`POST /v1/orders/{code}/cancel`, and a POS charge's own cancel).

use checkout::settle::{self, CancelEvidence};
use checkout::vocab::{EventSource, OrderStatus};
use soushou::model::CancelTradeRequest;
use soushou::types::CancelMode;

use super::apply::apply_event;
use super::follow_up;
use super::reconcile::query;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway;
use crate::platform::log::{now_secs, Level};
use crate::store::{self, attempts::OrderRow};

/// Revokes an attempt with `cancelTrade` (`mode`: real time, or applied for
/// with `opType=ACO`) and records what the gateway says.
///
/// The attempt is put under re-check first, so whatever happens next — a
/// slow revocation, a lost answer, this Worker evicted — the reconciler
/// queries it until the window ends and records the gateway's final state.
/// What the answer proves is [`settle::cancel_evidence`]'s decision: a
/// real-time `SUCCESS` is booked `revoked` (never `closed`); an
/// `AREADY_REVOKED` is booked only as `query` then reports the attempt (and
/// is still returned as the refusal it is). Returns the stored state after
/// the call.
pub async fn revoke(
    cx: &Cx,
    order: &OrderRow,
    mode: CancelMode,
    source: EventSource,
) -> ApiResult<OrderStatus> {
    let cfg = cx.settings.gateway()?;
    let db = cx.db()?;
    let now = now_secs();
    let until = now + cx.settings.recheck_window_secs()?;
    store::attempts::set_recheck(db, &order.charge_code, until).await?;
    let apply = mode == CancelMode::Apply;
    let req = CancelTradeRequest {
        charge_code: order.charge_code.clone(),
        mode,
    };
    let answer = gateway::call(cx, &cfg, &req).await;
    let result = answer
        .as_ref()
        .map(|_| ())
        .map_err(ApiError::gateway_result);
    let state = match settle::cancel_evidence(apply, result) {
        CancelEvidence::Revoked => {
            apply_event(db, &order.charge_code, OrderStatus::Revoked, source, now)
                .await?
                .state()
        }
        CancelEvidence::AskQuery => {
            // A failed query leaves it to the re-check window.
            let (queried, after) = query(cx, &order.charge_code, source, Some(order)).await;
            follow_up::now(cx, after).await;
            if let Err(e) = queried {
                cx.log.event(
                    Level::Warn,
                    "reconcile_failed",
                    serde_json::json!({"charge_code": order.charge_code,
                        "error": e.code().as_str()}),
                );
            }
            order.state
        }
        CancelEvidence::Nothing => order.state,
    };
    answer.map(|_| state)
}
