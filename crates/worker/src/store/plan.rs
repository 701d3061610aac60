//! A plan's writes (`checkout::flow::Write`) as one D1 batch: each write
//! becomes the statement(s) the table family's module holds, with the
//! conditions the flow's contract names (the in-memory store of
//! `checkout/tests/interleavings.rs` models the same ones), and the batch
//! reports per write whether it changed a row (a claim lost when not).
//!
//! A write-then-read flow (`notify`, a link's `pay`) adds its read to the
//! same batch ([`Read`]): before the writes, it sees the rows they act on;
//! after them, the rows they left (`/notify` both: [`Read::Around`]). One
//! round trip either way.

use checkout::flow::Write;
use worker::D1Result;

use super::refunds::NewRefund;
use super::{attempts, changes, events, links, refunds, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::{ApiError, ApiResult};

/// A read carried by a plan's batch.
pub enum Read<'d> {
    /// No read.
    None,
    /// This statement, after the writes.
    After(Stmt<'d>),
    /// This statement before the writes, and these after them (`/notify`:
    /// the attempt as found, then the duplicate check's rows as left).
    Around(Stmt<'d>, Vec<Stmt<'d>>),
}

/// What a batch did.
#[derive(Default)]
pub struct Ran {
    /// Per write, in order: whether it changed a row.
    pub changed: Vec<bool>,
    /// What the batch's read returned (of [`Read::Around`], the first).
    pub read: Option<D1Result>,
    /// What the reads after the writes of [`Read::Around`] returned.
    pub after: Vec<D1Result>,
    /// The events the batch handed to the queue ([`Write::EnqueueEvents`]):
    /// the caller sends them once the batch committed.
    pub enqueued: Vec<u64>,
}

/// Runs `writes` (and `read`) as one batch, one round trip, one
/// transaction; `now` stamps the writes that carry no time of their own.
/// Nothing to write and nothing to read is no round trip.
pub async fn run(db: &Db, writes: &[Write], read: Read<'_>, now: u64) -> ApiResult<Ran> {
    let mut batch = Vec::new();
    let before = matches!(read, Read::Around(..));
    let (mut after, mut trailing) = (None, Vec::new());
    match read {
        Read::None => {}
        Read::After(stmt) => after = Some(stmt),
        Read::Around(stmt, then) => {
            batch.push(stmt);
            trailing = then;
        }
    }
    // Per write: the index of the statement whose changes are its own.
    let mut marks = Vec::with_capacity(writes.len());
    for w in writes {
        let (statements, mark) = statements(db, w, now)?;
        marks.push(mark.map(|m| batch.len() + m));
        batch.extend(statements);
    }
    let read_at = if before {
        Some(0)
    } else {
        after.as_ref().map(|_| batch.len())
    };
    batch.extend(after);
    let trailing_at = batch.len();
    batch.extend(trailing);
    if batch.is_empty() {
        return Ok(Ran::default());
    }
    // A plan that writes records a change: its batch carries the
    // request's audit entry (`Db::change`); a read alone does not.
    let mut results = if writes.is_empty() {
        db.batch(batch).await.stored()?
    } else {
        db.change(batch).await.stored()?
    };
    let (changed, enqueued) = per_write(writes, &marks, &results)?;
    let after = results.split_off(trailing_at.min(results.len()));
    let read = match read_at {
        Some(i) if i < results.len() => Some(results.swap_remove(i)),
        Some(_) => {
            return Err(ApiError::Storage(
                "the batch returned no result for its read".into(),
            ))
        }
        None => None,
    };
    Ok(Ran {
        changed,
        read,
        after,
        enqueued,
    })
}

/// Per write, whether it changed a row (its statement at `marks`), and
/// the events the batch handed to the queue.
fn per_write(
    writes: &[Write],
    marks: &[Option<usize>],
    results: &[D1Result],
) -> ApiResult<(Vec<bool>, Vec<u64>)> {
    // A batch that hands its events to the queue leaves nothing for the
    // request-end flush.
    let enqueues = writes
        .iter()
        .any(|w| matches!(w, Write::EnqueueEvents { .. }));
    let (mut changed, mut enqueued) = (Vec::with_capacity(writes.len()), Vec::new());
    for (w, mark) in writes.iter().zip(marks) {
        let result = mark.and_then(|m| results.get(m));
        let did = match result {
            Some(r) => changes(r)? > 0,
            None => false,
        };
        match w {
            Write::Event(_) if !enqueues => events::note_written(result),
            Write::EnqueueEvents { .. } => enqueued.extend(events::enqueued(result)?),
            _ => {}
        }
        changed.push(did);
    }
    Ok((changed, enqueued))
}

/// A write's statements, and which of them (by index) says whether it
/// changed a row (`None`: it has none, e.g. a transition no state may take).
type Statements<'d> = (Vec<Stmt<'d>>, Option<usize>);

/// One write's statements, by table family (this match is exhaustive: a
/// new write does not compile until it has its statements).
fn statements<'d>(db: &'d Db, w: &Write, now: u64) -> ApiResult<Statements<'d>> {
    match w {
        Write::InsertLink { .. }
        | Write::InsertAttempt { .. }
        | Write::DeleteUnsentAttempt { .. }
        | Write::SetGatewayCodes { .. }
        | Write::CountNotification { .. } => rows(db, w, now),
        Write::Transition { .. }
        | Write::MarkDuplicate { .. }
        | Write::SetRecheck { .. }
        | Write::ClaimQuerySlot { .. } => states(db, w, now),
        Write::ReserveRefund { .. }
        | Write::ClaimRefundRetry { .. }
        | Write::FinishRefund { .. } => money(db, w),
        Write::Event(_)
        | Write::RecordWebhookAttempt { .. }
        | Write::SetDelivery { .. }
        | Write::MarkEventFailed { .. }
        | Write::EnqueueEvents { .. } => outbox(db, w, now),
    }
}

/// A write [`statements`] sent to the wrong family.
fn misrouted<T>(w: &Write) -> ApiResult<T> {
    Err(ApiError::Internal(format!("no statements for {w:?} here")))
}

fn one(s: Stmt<'_>) -> Statements<'_> {
    (vec![s], Some(0))
}

/// Links, new attempts and their notification counts.
fn rows<'d>(db: &'d Db, w: &Write, now: u64) -> ApiResult<Statements<'d>> {
    Ok(one(match w {
        Write::InsertLink { link, now } => links::insert_link_statement(db, link, *now)?,
        Write::InsertAttempt { attempt, now } => {
            attempts::insert_attempt_statement(db, attempt, *now)?
        }
        Write::DeleteUnsentAttempt { charge_code } => {
            attempts::delete_unsent_statement(db, charge_code)?
        }
        Write::SetGatewayCodes {
            charge_code: code,
            charge_down_code: down,
            charge_third_code: third,
        } => attempts::gateway_codes_statement(db, code, down.as_deref(), third.as_deref())?,
        Write::CountNotification {
            charge_code: code,
            gateway_state: state,
            amount,
            outcomes,
        } => attempts::notification_count(db, (code, state, *amount), outcomes, now)?,
        _ => return misrouted(w),
    }))
}

/// An attempt's state and its marks (duplicate, re-check, query slot).
fn states<'d>(db: &'d Db, w: &Write, now: u64) -> ApiResult<Statements<'d>> {
    Ok(one(match w {
        Write::Transition {
            charge_code,
            to,
            source,
            amount,
        } => {
            let s = attempts::transition_from_any(db, (charge_code, *to), *source, *amount, now)?;
            let mark = s.len().checked_sub(1);
            return Ok((s, mark));
        }
        Write::MarkDuplicate { charge_code, kept } => {
            attempts::mark_duplicate_statement(db, charge_code, kept)?
        }
        Write::SetRecheck { charge_code, until } => {
            attempts::recheck_statement(db, charge_code, *until)?
        }
        Write::ClaimQuerySlot {
            charge_code: code,
            now,
            min_interval_secs: rest,
            sweep_at,
        } => attempts::query_slot_statement(db, code, *now, *rest, *sweep_at)?,
        _ => return misrouted(w),
    }))
}

/// Refunds: reserved, claimed for a retry, settled.
fn money<'d>(db: &'d Db, w: &Write) -> ApiResult<Statements<'d>> {
    Ok(one(match w {
        Write::ReserveRefund {
            out_refund_no,
            charge_code,
            amount,
            reason,
            now,
        } => {
            let r = NewRefund {
                out_refund_no,
                charge_code,
                amount: *amount,
                reason,
            };
            refunds::reserve_statement(db, &r, *now)?
        }
        Write::ClaimRefundRetry {
            out_refund_no: no,
            now,
            cutoff,
        } => refunds::retry_claim_statement(db, no, *now, *cutoff)?,
        Write::FinishRefund {
            out_refund_no: no,
            charge_code: code,
            state,
            gateway_code,
            now,
        } => {
            let code_given = gateway_code.as_ref().map(|c| c.as_str());
            let s = refunds::finish_statements(db, (no, code), *state, code_given, *now)?;
            return Ok((s, Some(0)));
        }
        _ => return misrouted(w),
    }))
}

/// The merchant's events and their delivery.
fn outbox<'d>(db: &'d Db, w: &Write, now: u64) -> ApiResult<Statements<'d>> {
    Ok(one(match w {
        Write::Event(e) => events::event_statement(db, e, now)?,
        Write::RecordWebhookAttempt {
            seq,
            at,
            status,
            latency_ms: ms,
            error,
            answer,
        } => events::attempt_statement(
            db,
            (*seq, *at),
            (*status, answer.as_deref()),
            *ms,
            error.as_deref(),
        )?,
        Write::SetDelivery {
            seq,
            round_failures: failures,
            next_attempt_at: next,
            delivered_at: delivered,
        } => events::delivery_statement(db, *seq, *failures, *next, *delivered)?,
        Write::MarkEventFailed { seq, gave_up_after } => {
            events::failed_statement(db, *seq, *gave_up_after)?
        }
        Write::EnqueueEvents {
            charge_code,
            merchant_events,
        } => events::enqueue_statement(db, charge_code, *merchant_events, now)?,
        _ => return misrouted(w),
    }))
}
