//! Duplicate payments: a link paid twice keeps its first payment and
//! refunds every other in full (`checkout::settle::on_money`,
//! `duplicate_refund_step`), right after the money is recorded and, for
//! anything lost on the way, from the cron.

use checkout::settle::{
    self, DuplicateRefundPolicy, DuplicateRefundStep, DuplicateRefundTry, MoneyDecision,
};
use soushou::Fen;

use super::refund::{refund, RefundOrder};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, Level};
use crate::store::attempts::{self, OrderRow};
use crate::store::refunds;

/// The cron sweep's catch-up for duplicate payments nobody dealt with: the
/// check after `/notify` runs in a `ctx.wait_until` task, and if that task
/// is lost (Worker evicted, storage error) before it marked the duplicate
/// or reserved its refund, nothing else would notice; and a refund of a
/// duplicate the gateway refused must be tried again. Finds such attempts
/// ([`attempts::rival_payments`]) whose money is at least
/// `REFUND_RETRY_AFTER_SECS` old (so it does not race the background task)
/// and runs [`refund_if_duplicate`] on each, a bounded batch per run.
/// Returns how many were examined.
pub async fn refund_missed_duplicates(cx: &Cx) -> ApiResult<usize> {
    let policy = DuplicateRefundPolicy::new(cx.settings.refund_retry_after_secs()?);
    let cutoff = now_secs().saturating_sub(policy.retry_after_secs);
    let rivals = attempts::rival_payments(cx.db()?, cutoff, policy.max_tries, 20).await?;
    for order in &rivals {
        cx.log.event(
            Level::Warn,
            "duplicate_refund_missed",
            serde_json::json!({"charge_code": order.charge_code}),
        );
        refund_if_duplicate(cx, &order.charge_code).await;
    }
    Ok(rivals.len())
}

/// Called once money was recorded on an attempt: if it is not its link's
/// kept payment ([`settle::on_money`]: the link was paid twice, e.g. a
/// superseded attempt paid late, or money arrived on an attempt we thought
/// closed or failed), marks it a duplicate and refunds it in full. The
/// payment itself stays recorded; the refund shows in the order's refunds
/// and moves it to `refunded`. Never fails: every outcome is logged; a try
/// that did not complete stays reserved for the cron's pending-refund
/// retry, and a refused one is tried again by the cron under a new number
/// ([`settle::duplicate_refund_step`]).
pub async fn refund_if_duplicate(cx: &Cx, charge_code: &str) {
    if let Err(e) = try_refund_duplicate(cx, charge_code).await {
        cx.log.event(
            Level::Warn,
            "duplicate_refund_failed",
            serde_json::json!({"charge_code": charge_code,
                "error": e.code().as_str(), "detail": e.to_string()}),
        );
    }
}

async fn try_refund_duplicate(cx: &Cx, charge_code: &str) -> ApiResult<()> {
    let db = cx.db()?;
    let order = attempts::get_order(db, charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let Some(kept) = judge(cx, &order).await? else {
        return Ok(());
    };
    let policy = DuplicateRefundPolicy::new(cx.settings.refund_retry_after_secs()?);
    let Some(out_refund_no) = next_try(cx, &policy, charge_code).await? else {
        return Ok(());
    };
    cx.log.event(
        Level::Warn,
        "duplicate_payment",
        serde_json::json!({"charge_code": charge_code, "kept": kept,
            "out_refund_no": out_refund_no}),
    );
    // In full: whatever the merchant has not refunded of it already.
    let amount = refunds::refundable(db, charge_code).await?;
    if amount == Fen::ZERO {
        return Ok(());
    }
    let reason = format!("duplicate payment; link already paid by {kept}");
    let sent = refund(
        cx,
        &RefundOrder {
            order: &order,
            out_refund_no: &out_refund_no,
            amount,
            reason: &reason,
        },
    )
    .await;
    let last = settle::duplicate_refund_try(charge_code, &out_refund_no) == Some(policy.max_tries);
    if last && sent.as_ref().is_err_and(ApiError::is_refusal) {
        // The merchant heard of each refusal (`refund.failed`); from here
        // on the shopper's money waits for a person.
        cx.log.event(
            Level::Error,
            "duplicate_refund_abandoned",
            serde_json::json!({"charge_code": charge_code, "kept": kept,
                "tries": policy.max_tries}),
        );
    }
    let done = sent?;
    cx.log.event(
        Level::Info,
        "duplicate_refunded",
        serde_json::json!({"charge_code": charge_code, "out_refund_no": out_refund_no,
            "order_state": done.state.as_str()}),
    );
    Ok(())
}

/// The kept payment `order` duplicates, if it does: judged before (its
/// refund may never have been reserved, or the gateway refused it), or
/// judged now from its link's attempts (`settle::on_money`) and marked.
async fn judge(cx: &Cx, order: &OrderRow) -> ApiResult<Option<String>> {
    let Some(link_id) = order.link_id.as_deref() else {
        return Ok(None);
    };
    if let Some(kept) = &order.duplicate_of {
        return Ok(Some(kept.clone()));
    }
    let db = cx.db()?;
    let link_attempts = attempts::link_attempts(db, link_id).await?;
    let view = attempts::link_view(&link_attempts);
    let MoneyDecision::RefundDuplicate { kept } = settle::on_money(&view, &order.charge_code)
    else {
        return Ok(None);
    };
    // Marked once, before the refund is reserved: from here on the
    // attempt never makes its link paid, and a concurrent decider stops
    // here.
    if !attempts::mark_duplicate(db, &order.charge_code, &kept).await? {
        return Ok(None);
    }
    Ok(Some(kept))
}

/// The number of the next refund try of a duplicate
/// (`settle::duplicate_refund_step`), if one is due now.
async fn next_try(
    cx: &Cx,
    policy: &DuplicateRefundPolicy,
    charge_code: &str,
) -> ApiResult<Option<String>> {
    let tries = refunds::refunds(cx.db()?, charge_code).await?;
    let tries: Vec<DuplicateRefundTry<'_>> = tries
        .iter()
        .map(|r| DuplicateRefundTry {
            out_refund_no: &r.out_refund_no,
            state: r.state,
            updated_at: r.updated_at,
        })
        .collect();
    Ok(
        match settle::duplicate_refund_step(policy, charge_code, &tries, now_secs()) {
            DuplicateRefundStep::Send { out_refund_no } => Some(out_refund_no),
            // A try is pending (the pending-refund retry settles it) or done,
            // or the last refusal's wait is not over.
            DuplicateRefundStep::Nothing | DuplicateRefundStep::Wait { .. } => None,
            // Logged when the last try was refused (in the caller).
            DuplicateRefundStep::GiveUp => None,
        },
    )
}
