//! Refunds: the merchant's refund (and its resumption under a number used
//! before), the refund of a duplicate payment, and the cron's retry of
//! refunds a gateway fault left pending — all `checkout::flow::refund`,
//! run by the plan executor ([`super::exec`]) from the snapshot
//! `store::snapshots::refund` reads.

use checkout::flow::refund::{self, Confirmed, Failure, Input, Request};
use checkout::flow::Plan;
use checkout::gateway;
use checkout::settle::DuplicateRefundPolicy;

use super::exec::{self, Answered, Flow};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, Level};
use crate::store;

/// The refund flow of one attempt.
struct Refund {
    charge_code: String,
    policy: refund::Policy,
}

impl Flow for Refund {
    type Snapshot = refund::Snapshot;
    type Input = Input;
    type Answer = refund::Answer;

    async fn load(&self, cx: &Cx, input: &Input) -> ApiResult<refund::Snapshot> {
        let number = match input {
            Input::Request(r) => Some(r.out_refund_no.as_str()),
            _ => None,
        };
        store::snapshots::refund(cx.db()?, &self.charge_code, number).await
    }

    fn decide(&self, snapshot: &refund::Snapshot, input: &Input, now: u64) -> Plan<refund::Answer> {
        refund::decide(snapshot, input, now, &self.policy)
    }

    fn answered(&self, input: &Input, reply: Answered) -> ApiResult<Input> {
        let no = number(input).to_owned();
        match reply {
            Answered::Refund(r) => Ok(Input::Sent(no, Box::new(r))),
            Answered::RefundQuery(r) => Ok(Input::Listed(no, Box::new(r))),
            _ => Err(exec::out_of_turn("refund")),
        }
    }
}

/// The refund number an input is about.
fn number(input: &Input) -> &str {
    match input {
        Input::Request(r) => &r.out_refund_no,
        Input::Retry { out_refund_no }
        | Input::Sent(out_refund_no, _)
        | Input::Listed(out_refund_no, _) => out_refund_no,
    }
}

/// The refund policy from the settings.
fn policy(cx: &Cx) -> ApiResult<refund::Policy> {
    let retry_after_secs = cx.settings.refund_retry_after_secs()?;
    Ok(refund::Policy {
        merchant: gateway::Merchant::from(&cx.settings.gateway()?),
        duplicates: DuplicateRefundPolicy::new(retry_after_secs),
        retry_after_secs,
    })
}

/// Runs the refund flow of `charge_code` from `input`: its answer, and the
/// error of its last failed gateway call.
async fn run(
    cx: &Cx,
    charge_code: &str,
    input: Input,
) -> ApiResult<(refund::Answer, Option<ApiError>)> {
    let flow = Refund {
        charge_code: charge_code.to_owned(),
        policy: policy(cx)?,
    };
    // A refund has no follow-ups (`refund::decide` asks for none).
    let done = exec::run(cx, &flow, input).await?;
    Ok((done.answer, done.fault))
}

/// Refunds `request.amount` of a paid attempt under `request.out_refund_no`
/// (`refund::decide`: the domain check, the reservation, the gateway's
/// `refund`, the stored total and state; a number used before resumes
/// that refund). The merchant's refund route and the refund of a
/// duplicate payment both go through here.
pub async fn refund(cx: &Cx, charge_code: &str, request: Request) -> ApiResult<Confirmed> {
    let no = request.out_refund_no.clone();
    let (answer, last_error) = run(cx, charge_code, Input::Request(request)).await?;
    answer.map_err(|f| failure(f, &no, last_error))
}

/// A flow's failure as the merchant API reports it; a gateway fault as
/// the call failed (`last_error`).
fn failure(f: Failure, no: &str, last_error: Option<ApiError>) -> ApiError {
    match f {
        Failure::NotFound => ApiError::NotFound("order"),
        Failure::Domain(e) => e.into(),
        Failure::NumberElsewhere => {
            ApiError::InvalidRequest(format!("out_refund_no {no} is used by another order"))
        }
        Failure::OtherAmount => {
            ApiError::InvalidRequest(format!("out_refund_no {no} was used for another amount"))
        }
        Failure::RefusedBefore(code) => ApiError::InvalidRequest(format!(
            "refund {no} was refused by the gateway ({}); use a new out_refund_no",
            code.as_deref().unwrap_or("no code")
        )),
        Failure::ListedFailed => {
            ApiError::InvalidRequest(format!("the gateway lists refund {no} as failed"))
        }
        Failure::Unsettled => ApiError::GatewayIncomplete("a final REFUND_TRADE state"),
        Failure::Gateway(fault) => exec::fault_error(fault, last_error),
        Failure::NotDue => ApiError::Internal(format!("refund {no} is not due for a retry")),
        Failure::Inconsistent => {
            ApiError::Internal(format!("refund {no} is stored failed, the gateway did it"))
        }
    }
}

/// The cron sweep's retry of refunds left pending by a gateway fault, the
/// merchant's and duplicate-payment ones alike (`refund::Input::Retry`:
/// claimed, then `refundQuery`, then settled or sent again under the same
/// `OUT_REFUND_NO`). Returns how many were settled.
pub async fn retry_pending_refunds(cx: &Cx) -> ApiResult<usize> {
    let cutoff = now_secs().saturating_sub(cx.settings.refund_retry_after_secs()?);
    let mut settled = 0;
    for pending in store::refunds::pending_refunds_before(cx.db()?, cutoff, 10).await? {
        let no = pending.out_refund_no;
        let retry = Input::Retry {
            out_refund_no: no.clone(),
        };
        let name = match run(cx, &pending.charge_code, retry).await {
            Ok((Ok(_), _)) => {
                settled += 1;
                "succeeded"
            }
            // Another cron run claimed it first.
            Ok((Err(Failure::NotDue), _)) => continue,
            Ok((Err(f), last_error)) => failure(f, &no, last_error).code().as_str(),
            Err(e) => e.code().as_str(),
        };
        cx.log.event(
            Level::Warn,
            "refund_retried",
            serde_json::json!({"charge_code": pending.charge_code,
                "out_refund_no": no, "outcome": name}),
        );
    }
    Ok(settled)
}
