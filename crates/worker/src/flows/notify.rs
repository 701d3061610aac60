//! Notify: the gateway's asynchronous payment notification (`POST /notify`).
//!
//! Decrypt and verify (soushou), check the timestamp window, then one D1
//! round trip (`store::plan`: one batch, one transaction) that reads the
//! attempt and writes what the notification proves — the conditional
//! transition (its history and outbox event) and the notification's count,
//! every write conditional on the attempt holding the notified amount —,
//! hands the attempt's new events to the queue (`Write::EnqueueEvents`)
//! and reads the duplicate check's rows after its writes; then decides
//! from what it read and whether the update applied
//! (`checkout::flow::notify`: the message must match the stored attempt,
//! `BUSI_ID` and `AMT`, and the state moves only as `checkout::state`
//! allows). Only then answer 200 `SUCCESS`. Every refusal is a 4xx with
//! nothing changed and a log line saying why; a storage failure is a 5xx
//! so the gateway retries. After the answer (`ctx.wait_until`): the
//! events the batch enqueued go to the queue, and a payment that paid a
//! link a second time is refunded — so neither can delay nor fail the
//! notification, and neither costs the common case a round trip.

use checkout::api::ErrorCode;
use checkout::flow::notify::{self, Batch, Input, Refusal};
use checkout::flow::{Next, Plan, Write};
use checkout::settle::DuplicateRefundPolicy;
use soushou::envelope;
use worker::Context;

use super::exec::{self, Answered, Flow};
use super::{follow_up, webhook};
use crate::platform::context::Cx;
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};
use crate::store::plan::{Ran, Read};
use crate::store::{attempts, snapshots};

fn reject(code: ErrorCode, reason: impl Into<String>) -> ApiError {
    ApiError::NotifyRejected {
        code,
        reason: reason.into(),
    }
}

/// The notify flow (`checkout::flow::notify`): decided before its batch
/// (no snapshot), which reads the attempt first; decided again from that.
struct Notify(notify::Policy);

impl Flow for Notify {
    type Snapshot = Option<Batch>;
    type Input = Input;
    type Answer = notify::Answer;

    async fn load(&self, _cx: &Cx, _input: &Input) -> ApiResult<Option<Batch>> {
        Ok(None)
    }

    fn read<'d>(
        &self,
        db: &'d Db,
        input: &Input,
        next: &Next<notify::Answer>,
    ) -> ApiResult<Read<'d>> {
        Ok(match next {
            Next::Again => Read::Around(
                attempts::notify_read(db, &input.charge_code)?,
                snapshots::duplicate_reads(db, &input.charge_code)?,
            ),
            _ => Read::None,
        })
    }

    fn batch_snapshot(&self, ran: &Ran, writes: &[Write]) -> ApiResult<Option<Option<Batch>>> {
        let Some(read) = &ran.read else {
            return Ok(None);
        };
        let updated = (writes.iter().zip(&ran.changed))
            .any(|(w, changed)| matches!(w, Write::Transition { .. }) && *changed);
        let stored = attempts::notify_stored(read)?;
        let check = snapshots::duplicate_read(&ran.after)?;
        Ok(Some(Some(Batch {
            stored,
            updated,
            check,
        })))
    }

    fn decide(&self, batch: &Option<Batch>, input: &Input, now: u64) -> Plan<notify::Answer> {
        notify::decide(batch.as_ref(), input, now, &self.0)
    }

    fn answered(&self, _input: &Input, _answer: Answered) -> ApiResult<Input> {
        Err(ApiError::Internal("a notification calls nothing".into()))
    }
}

/// Handles one notification; `Ok` means "answer 200 SUCCESS".
///
/// `query`: the request's query string; `body`: its (capped) body.
pub async fn handle(cx: &Cx, query: &str, body: &[u8], ctx: &Context) -> ApiResult<()> {
    let settings = &cx.settings;
    let query = envelope::parse_query(query);
    let key = settings.merchant_key()?;
    let (notify, verified) = envelope::open_notification(&query, body, &key).map_err(|e| {
        use soushou::Error as E;
        match e {
            E::MissingSign | E::MalformedSign(_) | E::SignMismatch => {
                reject(ErrorCode::InvalidSignature, e.to_string())
            }
            other => reject(ErrorCode::MalformedNotification, other.to_string()),
        }
    })?;
    cx.log.set("charge_code", notify.charge_code.as_str());
    cx.log.set("sign_rule", format!("{:?}", verified.rule));
    let policy = notify::Policy {
        busi_id: settings.gateway()?.busi_id,
        replay_window_secs: settings.replay_window_secs()?,
        outgoing: webhook::outgoing(settings),
        duplicates: DuplicateRefundPolicy::new(settings.refund_retry_after_secs()?),
    };
    let input = Input {
        charge_code: notify.charge_code,
        busi_id: notify.busi_id,
        amount: notify.amt,
        state: notify.state,
        signed_at: verified.unix_seconds(),
    };
    let done = exec::run(cx, &Notify(policy), input).await?;
    webhook::send_later(cx, ctx, done.enqueued);
    follow_up::later(cx, ctx, done.after);
    done.answer.map_err(|refusal| match refusal {
        Refusal::Rejected { code, reason } => reject(code, reason),
        Refusal::Inconsistent => {
            ApiError::Storage("notification batch contradicts its read".into())
        }
    })
}
