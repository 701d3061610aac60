//! Cancel: revoking an attempt with `cancelTrade`
//! (`POST /v1/orders/{code}/cancel`): `checkout::flow::cancel`, run by the
//! plan executor ([`super::exec`]).

use checkout::flow::{cancel, Attempt, Plan};
use checkout::vocab::{EventSource, OrderStatus};
use soushou::types::CancelMode;

use super::exec::{self, Answered, Flow};
use super::follow_up;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::store;

/// The revocation of one attempt.
struct Cancel {
    charge_code: String,
    policy: cancel::Policy,
}

impl Flow for Cancel {
    type Snapshot = Attempt;
    type Input = cancel::Input;
    type Answer = cancel::Answer;

    async fn load(&self, cx: &Cx, _: &cancel::Input) -> ApiResult<Attempt> {
        store::snapshots::attempt(cx.db()?, &self.charge_code)
            .await?
            .ok_or(ApiError::NotFound("order"))
    }

    fn decide(&self, attempt: &Attempt, input: &cancel::Input, now: u64) -> Plan<cancel::Answer> {
        cancel::decide(attempt, input, now, &self.policy)
    }

    fn answered(&self, input: &cancel::Input, reply: Answered) -> ApiResult<cancel::Input> {
        match (input, reply) {
            (cancel::Input::Request(mode, source), Answered::Cancel(r)) => {
                Ok(cancel::Input::Answered(*mode, *source, r))
            }
            _ => Err(exec::out_of_turn("cancel")),
        }
    }
}

/// Revokes an attempt with `cancelTrade` (`mode`: real time, or applied for
/// with `opType=ACO`; `cancel::decide`: under re-check first, then what the
/// answer proves is booked; an `AREADY_REVOKED` is booked by the `query`
/// that follows, and still returned as the refusal it is). Returns the
/// stored state after the call.
pub async fn revoke(
    cx: &Cx,
    charge_code: &str,
    mode: CancelMode,
    source: EventSource,
) -> ApiResult<OrderStatus> {
    let flow = Cancel {
        charge_code: charge_code.to_owned(),
        policy: cancel::Policy {
            recheck_window_secs: cx.settings.recheck_window_secs()?,
        },
    };
    let input = cancel::Input::Request(mode, source);
    let done = exec::run(cx, &flow, input).await?;
    // The `query` after an `AREADY_REVOKED` books it before the answer.
    follow_up::now(cx, done.after).await;
    done.answer
        .map_err(|fault| exec::fault_error(fault, done.fault))
}
