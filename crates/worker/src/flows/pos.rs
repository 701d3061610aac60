//! The POS charge (`preOrder`) driven to a final state before the cashier
//! is answered: the I/O around `checkout::pos::next`, which decides every
//! step (see there for why).

use std::time::Duration;

use checkout::pos::{self, Observed, PosStep};
use checkout::settle::Report;
use checkout::vocab::{EventSource, OrderStatus};
use soushou::model::OrderResp;
use soushou::types::{CancelMode, ResultCode};
use worker::Delay;

use super::apply::{self, Applied};
use super::{cancel, follow_up, reconcile};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_ms, now_secs, Level};
use crate::store;

/// How a POS charge ended.
pub struct Charged {
    /// The attempt's final state (`pending` only if even the revocation's
    /// outcome is unknown; the reconciler then keeps querying it).
    pub state: OrderStatus,
    /// The `preOrder` answer, when one arrived.
    pub answer: Option<OrderResp>,
    /// How many `query` calls it took.
    pub polls: u32,
}

/// Follows [`checkout::pos::next`] from the `preOrder`'s `answer` (the
/// attempt already created and settled by `pay::create`) until the
/// charge is settled or revoked. A final refusal of the `preOrder` itself
/// is returned as an error (nothing was charged; the attempt is failed).
pub async fn charge(
    cx: &Cx,
    code: &str,
    now: u64,
    answer: ApiResult<OrderResp>,
) -> ApiResult<Charged> {
    let (answer, seen) = match answer {
        Ok(resp) => {
            let cfg = cx.settings.gateway()?;
            let order = stored(cx, code).await?;
            let expected = apply::expected(&cfg, &order);
            let report = Report::of_pre_order(&resp);
            let seen =
                match apply::apply_report(cx, (&expected, &report), EventSource::Pay, now).await? {
                    Applied::Event(t) => Observed::State(t.state()),
                    Applied::Silent | Applied::Distrusted => Observed::Unknown,
                };
            (Some(resp), seen)
        }
        Err(e) if e.is_refusal() => return Err(e),
        Err(_) => (None, Observed::Unknown),
    };
    settle(cx, code, seen, answer).await
}

/// A charge sent before whose answer the merchant did not get (its retry
/// with the same `Idempotency-Key`): never a second `preOrder`; settled
/// from the stored state, polling and revoking as [`charge`] does.
pub async fn resume(cx: &Cx, code: &str) -> ApiResult<Charged> {
    let seen = match stored(cx, code).await?.state {
        OrderStatus::Pending => Observed::Unknown,
        settled => Observed::State(settled),
    };
    settle(cx, code, seen, None).await
}

/// Follows [`checkout::pos::next`] from the first observation until the
/// charge is settled or revoked.
async fn settle(
    cx: &Cx,
    code: &str,
    mut seen: Observed,
    answer: Option<OrderResp>,
) -> ApiResult<Charged> {
    let policy = cx.settings.pos_policy()?;
    let started = now_ms();
    let mut polls = 0;
    loop {
        match pos::next(&policy, seen, now_ms().saturating_sub(started)) {
            PosStep::Done(state) => {
                return Ok(Charged {
                    state,
                    answer,
                    polls,
                })
            }
            PosStep::Poll { after_ms } => {
                Delay::from(Duration::from_millis(after_ms)).await;
                polls += 1;
                let order = stored(cx, code).await?;
                let (queried, after) =
                    reconcile::query(cx, code, EventSource::Pos, Some(&order)).await;
                follow_up::now(cx, after).await;
                seen = match queried {
                    Ok(_) => Observed::State(stored(cx, code).await?.state),
                    Err(_) => Observed::Unknown,
                };
            }
            PosStep::Cancel => {
                let state = cancel(cx, code).await?;
                return Ok(Charged {
                    state,
                    answer,
                    polls,
                });
            }
        }
    }
}

/// Revokes a charge still open after the polling window. The gateway not
/// knowing it means the `preOrder` never arrived: nothing was charged.
async fn cancel(cx: &Cx, code: &str) -> ApiResult<OrderStatus> {
    let order = stored(cx, code).await?;
    let outcome = cancel::revoke(cx, &order, CancelMode::RealTime, EventSource::Pos).await;
    cx.log.event(
        Level::Warn,
        "pos_charge_revoked",
        serde_json::json!({"charge_code": code,
            "outcome": outcome.as_ref().map_or_else(|e| e.code().as_str(), |s| s.as_str())}),
    );
    match outcome {
        Ok(state) => Ok(state),
        Err(e) if e.gateway_result() == Some(&ResultCode::ChargeNonexistent) => {
            Ok(apply::apply_event(
                cx.db()?,
                code,
                OrderStatus::Failed,
                EventSource::Pos,
                now_secs(),
            )
            .await?
            .state())
        }
        // Already revoked (the gateway's own 80 s limit) is recorded by
        // `revoke`; anything else is unknown and under re-check. Either way
        // the stored state is the answer.
        Err(_) => Ok(stored(cx, code).await?.state),
    }
}

async fn stored(cx: &Cx, code: &str) -> ApiResult<store::attempts::OrderRow> {
    store::attempts::get_order(cx.db()?, code)
        .await?
        .ok_or(ApiError::NotFound("order"))
}
