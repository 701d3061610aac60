//! Duplicate payments: a link paid twice keeps its first payment and
//! refunds every other in full (`checkout::flow::duplicate`), right after
//! the money is recorded and, for anything lost on the way, from the cron.

use checkout::flow::{duplicate, FollowUp, Plan};
use checkout::settle::DuplicateRefundPolicy;

use super::exec::{self, Answered, Flow};
use super::refund;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, Level};
use crate::store::{self, attempts};

/// The duplicate check of one attempt.
struct Duplicate {
    charge_code: String,
    policy: DuplicateRefundPolicy,
}

impl Flow for Duplicate {
    type Snapshot = duplicate::Snapshot;
    type Input = ();
    type Answer = duplicate::Answer;

    async fn load(&self, cx: &Cx, (): &()) -> ApiResult<duplicate::Snapshot> {
        store::snapshots::duplicate(cx.db()?, &self.charge_code)
            .await?
            .ok_or(ApiError::NotFound("order"))
    }

    fn decide(&self, snapshot: &duplicate::Snapshot, (): &(), now: u64) -> Plan<()> {
        duplicate::decide(snapshot, now, &self.policy)
    }

    fn answered(&self, (): &(), _: Answered) -> ApiResult<()> {
        Err(exec::out_of_turn("duplicate check"))
    }
}

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
/// kept payment, `duplicate::decide` marks it a duplicate and its refund
/// in full follows ([`super::refund::refund`], the check's follow-up). The payment itself stays recorded; the refund shows in the
/// order's refunds and moves it to `refunded`. Never fails: every outcome
/// is logged; a try that did not complete stays reserved for the cron's
/// pending-refund retry, and a refused one is tried again by the cron
/// under a new number.
pub async fn refund_if_duplicate(cx: &Cx, charge_code: &str) {
    if let Err(e) = check(cx, charge_code).await {
        cx.log.event(
            Level::Warn,
            "duplicate_refund_failed",
            serde_json::json!({"charge_code": charge_code,
                "error": e.code().as_str(), "detail": e.to_string()}),
        );
    }
}

/// The check, then its refund (the plan's follow-up), whose failure is
/// the check's.
async fn check(cx: &Cx, charge_code: &str) -> ApiResult<()> {
    let flow = Duplicate {
        charge_code: charge_code.to_owned(),
        policy: DuplicateRefundPolicy::new(cx.settings.refund_retry_after_secs()?),
    };
    for f in exec::run(cx, &flow, ()).await?.after {
        if let FollowUp::Refund {
            charge_code,
            request,
        } = f
        {
            refund::refund(cx, &charge_code, request).await?;
        }
    }
    Ok(())
}
