//! The POS charge (`preOrder`) driven to a final state before the cashier
//! is answered: the I/O around `checkout::pos::next`, which decides every
//! step (see there for why).

use std::time::Duration;

use checkout::api::OrderStatus;
use checkout::pos::{self, Observed, PosStep};
use checkout::settle::Report;
use soushou::model::{OrderResp, PreOrderRequest};
use soushou::types::{CancelMode, OrderState, ResultCode};
use worker::{D1Database, Delay};

use crate::config::Settings;
use crate::error::{ApiError, ApiResult};
use crate::gateway;
use crate::log::{now_ms, now_secs, Level, RequestLog};
use crate::orders::{self, Applied};
use crate::repo;

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

/// The report a `preOrder` answer makes. It has no `STATE`: a `SUCCESS`
/// with fund bills is the gateway saying the money was taken; one without
/// (the shopper still typing a password) says nothing yet.
fn pre_order_report(resp: &OrderResp) -> Report<'_> {
    const PAID: &OrderState = &OrderState::Paid;
    Report {
        charge_code: resp.charge_code.as_deref(),
        busi_id: None,
        amount: resp.amt,
        state: (!resp.fund_bill_list.is_empty()).then_some(PAID),
    }
}

/// Sends `req` (its attempt already stored as pending) and follows
/// [`checkout::pos::next`] until the charge is settled or revoked. A final
/// refusal of the `preOrder` itself is returned as an error (nothing was
/// charged; the attempt is failed).
pub async fn charge(
    settings: &Settings,
    db: &D1Database,
    req: &PreOrderRequest,
    log: &RequestLog,
) -> ApiResult<Charged> {
    let cfg = settings.gateway()?;
    let code = req.charge_code.as_str();
    let timeout = Duration::from_millis(settings.pos_gateway_timeout_ms()?);
    let now = now_secs();
    let result = gateway::call_within(&cfg, req, log, timeout).await;
    let answer = orders::settle_pay(db, code, now, result, log, |r: &OrderResp| {
        (
            r.charge_down_code.as_deref(),
            r.charge_third_code.as_deref(),
        )
    })
    .await;
    let (answer, seen) = match answer {
        Ok(resp) => {
            let order = stored(db, code).await?;
            let applied = orders::apply_report(
                db,
                &orders::expected(&cfg, &order),
                &pre_order_report(&resp),
                "pay",
                now,
                log,
            )
            .await?;
            let seen = match applied {
                Applied::Event(t) => Observed::State(t.state()),
                Applied::Silent | Applied::Distrusted(_) => Observed::Unknown,
            };
            (Some(resp), seen)
        }
        Err(e) if e.is_refusal() => return Err(e),
        Err(_) => (None, Observed::Unknown),
    };

    settle(settings, db, code, seen, answer, log).await
}

/// A charge sent before whose answer the merchant did not get (its retry
/// with the same `Idempotency-Key`): never a second `preOrder`; settled
/// from the stored state, polling and revoking as [`charge`] does.
pub async fn resume(
    settings: &Settings,
    db: &D1Database,
    code: &str,
    log: &RequestLog,
) -> ApiResult<Charged> {
    let seen = match stored(db, code).await?.status()? {
        OrderStatus::Pending => Observed::Unknown,
        settled => Observed::State(settled),
    };
    settle(settings, db, code, seen, None, log).await
}

/// Follows [`checkout::pos::next`] from the first observation until the
/// charge is settled or revoked.
async fn settle(
    settings: &Settings,
    db: &D1Database,
    code: &str,
    mut seen: Observed,
    answer: Option<OrderResp>,
    log: &RequestLog,
) -> ApiResult<Charged> {
    let cfg = settings.gateway()?;
    let policy = settings.pos_policy()?;
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
                let order = stored(db, code).await?;
                seen = match orders::query_and_apply(settings, &cfg, &order, "pos", log).await {
                    Ok(_) => Observed::State(stored(db, code).await?.status()?),
                    Err(_) => Observed::Unknown,
                };
            }
            PosStep::Cancel => {
                let state = cancel(settings, db, code, log).await?;
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
async fn cancel(
    settings: &Settings,
    db: &D1Database,
    code: &str,
    log: &RequestLog,
) -> ApiResult<OrderStatus> {
    let order = stored(db, code).await?;
    let outcome = orders::revoke(settings, db, &order, CancelMode::RealTime, "pos", log).await;
    log.event(
        Level::Warn,
        "pos_charge_revoked",
        serde_json::json!({"charge_code": code,
            "outcome": outcome.as_ref().map_or_else(|e| e.status_and_code().1, |s| s.as_str())}),
    );
    match outcome {
        Ok(state) => Ok(state),
        Err(e) if e.gateway_code() == Some(&ResultCode::ChargeNonexistent) => Ok(
            orders::apply_event(db, code, OrderStatus::Failed, "pos", now_secs())
                .await?
                .state(),
        ),
        // Already revoked (the gateway's own 80 s limit) is recorded by
        // `revoke`; anything else is unknown and under re-check. Either way
        // the stored state is the answer.
        Err(_) => stored(db, code).await?.status(),
    }
}

async fn stored(db: &D1Database, code: &str) -> ApiResult<repo::OrderRow> {
    repo::get_order(db, code)
        .await?
        .ok_or(ApiError::NotFound("order"))
}
