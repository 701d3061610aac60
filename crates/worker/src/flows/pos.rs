//! The POS charge (`preOrder`) driven to a final state before the cashier
//! is answered: `checkout::flow::pos` (polling `query`, revoking once the
//! polling window is over), run by the plan executor ([`super::exec`]),
//! whose `CallAfter` pauses between polls.

use checkout::flow::pos::{self, Charged, Input, Progress};
use checkout::flow::{cancel, reconcile, Attempt, Plan};
use soushou::model::OrderResp;

use super::exec::{self, Answered, Flow};
use super::follow_up;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::now_ms;
use crate::store;

/// The charge of one attempt. Its time is milliseconds.
struct Pos {
    charge_code: String,
    policy: pos::Policy,
}

impl Flow for Pos {
    type Snapshot = Attempt;
    type Input = Input;
    type Answer = pos::Answer;

    async fn load(&self, cx: &Cx, _: &Input) -> ApiResult<Attempt> {
        store::snapshots::attempt(cx.db()?, &self.charge_code)
            .await?
            .ok_or(ApiError::NotFound("order"))
    }

    fn decide(&self, attempt: &Attempt, input: &Input, _: u64) -> Plan<pos::Answer> {
        pos::decide(attempt, input, now_ms(), &self.policy)
    }

    fn answered(&self, input: &Input, reply: Answered) -> ApiResult<Input> {
        match reply {
            Answered::Query(r) => Ok(input.answered(pos::Answered::Query(Box::new(r)))),
            Answered::Cancel(r) => Ok(input.answered(pos::Answered::Cancel(r))),
            _ => Err(exec::out_of_turn("POS charge")),
        }
    }
}

/// Follows the POS flow from the `preOrder`'s `answer` (the attempt
/// already created and settled by `pay::create`) until the charge is
/// settled or revoked. A final refusal of the `preOrder` itself is
/// returned as the error it was (nothing was charged; the attempt is
/// failed).
pub async fn charge(cx: &Cx, code: &str, answer: ApiResult<OrderResp>) -> ApiResult<Charged> {
    let (reply, error) = exec::split(answer)?;
    let first = |progress| Input::PreOrdered(progress, Box::new(reply));
    run(cx, code, first, error).await
}

/// A charge sent before whose answer the merchant did not get (its retry
/// with the same `Idempotency-Key`): never a second `preOrder`; settled
/// from the stored state, polling and revoking as [`charge`] does.
pub async fn resume(cx: &Cx, code: &str) -> ApiResult<Charged> {
    run(cx, code, Input::Resume, None).await
}

/// Runs the POS flow of `code` from the input `first` makes of its start;
/// `error`: how the `preOrder` failed, if it did.
async fn run(
    cx: &Cx,
    code: &str,
    first: impl FnOnce(Progress) -> Input,
    error: Option<ApiError>,
) -> ApiResult<Charged> {
    let flow = Pos {
        charge_code: code.to_owned(),
        policy: pos::Policy {
            polling: cx.settings.pos_policy()?,
            reconcile: reconcile_policy(cx)?,
            cancel: cancel::Policy {
                recheck_window_secs: cx.settings.recheck_window_secs()?,
            },
        },
    };
    let progress = Progress {
        started_ms: now_ms(),
        polls: 0,
    };
    let done = exec::run(cx, &flow, first(progress)).await?;
    follow_up::now(cx, done.after).await;
    done.answer
        .map_err(|fault| exec::fault_error(fault, done.fault.or(error)))
}

/// The reconciler's policy the POS flow books its polls with.
fn reconcile_policy(cx: &Cx) -> ApiResult<reconcile::Policy> {
    Ok(reconcile::Policy {
        busi_id: cx.settings.gateway()?.busi_id,
        pacing: cx.settings.reconcile_policy()?,
        unknown_attempt_fails_after_secs: cx.settings.unknown_attempt_fail_after_secs()?,
    })
}
