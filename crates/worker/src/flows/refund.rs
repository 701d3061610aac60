//! Refunds: the merchant's refund, its resumption under a number used
//! before, and the cron's retry of refunds a gateway fault left pending
//! (`refundQuery`). The refund of a duplicate payment goes through here too.

use checkout::settle::{self, ListedRefund, RefundEvidence};
use checkout::state::{self};
use checkout::vocab::{EventSource, OrderStatus, RefundState};
use soushou::model::{RefundQueryRequest, RefundRequest, RefundResp};
use soushou::types::{ResultCode, SerType};
use soushou::Fen;

use super::apply::apply_event;
use crate::platform::context::Cx;
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway;
use crate::platform::log::{now_secs, Level};
use crate::store::attempts::OrderRow;
use crate::store::refunds::{NewRefund, RefundEnd, RefundRow};
use crate::store::{self};

/// A refund the gateway confirmed.
pub struct Refunded {
    /// Sum of the order's succeeded refunds after this one.
    pub total: Fen,
    /// The order's state after it.
    pub state: OrderStatus,
    /// The gateway's answer (none when a retry found the refund already done).
    pub gateway: Option<RefundResp>,
}

/// One refund to make: the attempt, its number, amount and reason.
pub struct RefundOrder<'a> {
    /// The refunded attempt.
    pub order: &'a OrderRow,
    /// `OUT_REFUND_NO`: one number, one refund, however often it is sent.
    pub out_refund_no: &'a str,
    /// The amount.
    pub amount: Fen,
    /// `REFUND_SUBJECT`.
    pub reason: &'a str,
}

/// Refunds `amount` of a paid attempt under `out_refund_no`: the domain
/// check, the reservation (one conditional INSERT, so concurrent or repeated
/// refunds can neither overdraw nor reuse a number), the gateway's `refund`,
/// then the stored total and state. A refusal marks the refund failed; a
/// fault leaves it pending (reserved) for the cron. The merchant's refund
/// route and the refund of a duplicate payment both go through here.
///
/// A retry under a number already used resumes that refund instead of being
/// counted against the refundable amount: done → its result again; pending
/// → asks `refundQuery` and sends it again if the gateway never got it;
/// a different amount or a failed refund → a clear refusal.
pub async fn refund(cx: &Cx, r: &RefundOrder<'_>) -> ApiResult<Refunded> {
    let db = cx.db()?;
    let charge_code = r.order.charge_code.as_str();
    cx.log.set("out_refund_no", r.out_refund_no);
    if let Some(existing) = store::refunds::refunds(db, charge_code)
        .await?
        .into_iter()
        .find(|x| x.out_refund_no == r.out_refund_no)
    {
        return resume_refund(cx, r, &existing).await;
    }
    let paid = r.order.amount;
    let left = store::refunds::refundable(db, charge_code).await?;
    let reserved = Fen::from_fen(paid.fen() - left.min(paid).fen());
    // The domain check (state, amount) first; then the atomic reservation,
    // which also stops two concurrent refunds from overdrawing.
    state::check_refund(r.order.state, paid, reserved, r.amount)?;
    let now = now_secs();
    let reservation = NewRefund {
        out_refund_no: r.out_refund_no,
        charge_code,
        amount: r.amount,
        reason: r.reason,
    };
    if !store::refunds::reserve_refund(db, &reservation, now).await? {
        if store::refunds::refund_number_taken(db, r.out_refund_no).await? {
            return Err(ApiError::InvalidRequest(format!(
                "out_refund_no {} is used by another order",
                r.out_refund_no
            )));
        }
        let left = store::refunds::refundable(db, charge_code).await?;
        return Err(checkout::Error::RefundExceeds { refundable: left }.into());
    }
    send_refund(cx, r).await
}

/// A refund number seen before: answer for it without a second refund.
async fn resume_refund(cx: &Cx, r: &RefundOrder<'_>, existing: &RefundRow) -> ApiResult<Refunded> {
    if existing.amount != r.amount {
        return Err(ApiError::InvalidRequest(format!(
            "out_refund_no {} was used for another amount",
            r.out_refund_no
        )));
    }
    match existing.state {
        RefundState::Succeeded => {
            let order = store::attempts::get_order(cx.db()?, &r.order.charge_code)
                .await?
                .ok_or(ApiError::NotFound("order"))?;
            Ok(Refunded {
                total: order.refunded,
                state: order.state,
                gateway: None,
            })
        }
        RefundState::Pending => retry_refund(cx, existing).await,
        RefundState::Failed => Err(ApiError::InvalidRequest(format!(
            "refund {} was refused by the gateway ({}); use a new out_refund_no",
            r.out_refund_no,
            existing.gateway_code.as_deref().unwrap_or("no code")
        ))),
    }
}

/// Sends a reserved refund to the gateway and settles it: a final refusal
/// marks it failed; anything else that is not a success leaves it pending
/// (reserved) for `refundQuery` to settle.
async fn send_refund(cx: &Cx, r: &RefundOrder<'_>) -> ApiResult<Refunded> {
    let db = cx.db()?;
    let charge_code = r.order.charge_code.as_str();
    let now = now_secs();
    let cfg = cx.settings.gateway()?;
    let gw = RefundRequest {
        busi_id: cfg.busi_id.clone(),
        oper_id: cfg.oper_id.clone(),
        dev_id: cfg.dev_id.clone(),
        charge_refund_fee: r.amount,
        refund_subject: r.reason.to_owned(),
        charge_code: charge_code.to_owned(),
        charge_down_code: r.order.charge_down_code.clone(),
        out_refund_no: Some(r.out_refund_no.to_owned()),
    };
    let resp = match gateway::call(cx, &cfg, &gw).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.is_refusal() {
                let code = e.gateway_result().map(ResultCode::as_str);
                let end = RefundEnd::Failed(code);
                store::refunds::finish_refund(db, r.out_refund_no, charge_code, end, now).await?;
            }
            return Err(e);
        }
    };
    let (total, state) = settle_refund(db, r.order, r.out_refund_no, now).await?;
    Ok(Refunded {
        total,
        state,
        gateway: Some(resp),
    })
}

/// Marks a refund the gateway confirmed as succeeded; moves the order to
/// the state its refunded total implies. Returns (total, state).
async fn settle_refund(
    db: &Db,
    order: &OrderRow,
    out_refund_no: &str,
    now: u64,
) -> ApiResult<(Fen, OrderStatus)> {
    let charge_code = order.charge_code.as_str();
    let total =
        store::refunds::finish_refund(db, out_refund_no, charge_code, RefundEnd::Succeeded, now)
            .await?;
    let target = state::after_refund(order.amount, total);
    let t = apply_event(db, charge_code, target, EventSource::Refund, now).await?;
    Ok((total, t.state()))
}

/// The cron sweep's retry of refunds left pending by a gateway fault, the
/// merchant's and duplicate-payment ones alike: asks `refundQuery` what
/// became of each (settles it if done), else sends it again under the same
/// `OUT_REFUND_NO`. One caller per refund per retry interval (a conditional
/// claim). Returns how many were settled.
pub async fn retry_pending_refunds(cx: &Cx) -> ApiResult<usize> {
    let db = cx.db()?;
    let now = now_secs();
    let cutoff = now.saturating_sub(cx.settings.refund_retry_after_secs()?);
    let mut settled = 0;
    for refund in store::refunds::pending_refunds_before(db, cutoff, 10).await? {
        if !store::refunds::claim_refund_retry(db, &refund.out_refund_no, now, cutoff).await? {
            continue;
        }
        let outcome = retry_refund(cx, &refund).await;
        let name = match &outcome {
            Ok(_) => {
                settled += 1;
                "succeeded"
            }
            Err(e) => e.code().as_str(),
        };
        cx.log.event(
            Level::Warn,
            "refund_retried",
            serde_json::json!({"charge_code": refund.charge_code,
                "out_refund_no": refund.out_refund_no, "outcome": name}),
        );
    }
    Ok(settled)
}

/// Settles a pending refund from `refundQuery`'s list
/// ([`settle::refund_evidence`]), sending it again only if the gateway
/// does not list it.
async fn retry_refund(cx: &Cx, refund: &RefundRow) -> ApiResult<Refunded> {
    let db = cx.db()?;
    let order = store::attempts::get_order(db, &refund.charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let cfg = cx.settings.gateway()?;
    let query = RefundQueryRequest {
        code: refund.charge_code.clone(),
        ser_type: SerType::Merchant,
    };
    let listed = gateway::call(cx, &cfg, &query).await?;
    let trades: Vec<ListedRefund<'_>> = listed
        .refund_trade_list
        .iter()
        .map(|r| ListedRefund {
            refund_code: r.refund_code.as_deref(),
            amount: r.refund_amt,
            state: r.state.as_ref(),
        })
        .collect();
    let amount = refund.amount;
    let now = now_secs();
    match settle::refund_evidence(&refund.out_refund_no, amount, &trades) {
        RefundEvidence::Done => {
            let (total, state) = settle_refund(db, &order, &refund.out_refund_no, now).await?;
            Ok(Refunded {
                total,
                state,
                gateway: None,
            })
        }
        RefundEvidence::Absent => {
            let r = RefundOrder {
                order: &order,
                out_refund_no: &refund.out_refund_no,
                amount,
                reason: &refund.reason,
            };
            send_refund(cx, &r).await
        }
        RefundEvidence::Failed => {
            let end = RefundEnd::Failed(None);
            store::refunds::finish_refund(db, &refund.out_refund_no, &order.charge_code, end, now)
                .await?;
            Err(ApiError::InvalidRequest(format!(
                "the gateway lists refund {} as failed",
                refund.out_refund_no
            )))
        }
        RefundEvidence::InProgress | RefundEvidence::Distrust => {
            cx.log.event(
                Level::Warn,
                "refund_unsettled",
                serde_json::json!({"charge_code": order.charge_code,
                    "out_refund_no": refund.out_refund_no}),
            );
            Err(ApiError::GatewayIncomplete("a final REFUND_TRADE state"))
        }
    }
}
