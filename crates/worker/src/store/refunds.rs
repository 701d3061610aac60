//! Refunds (`refunds`): reserved before the gateway hears of them, settled
//! with the order's refunded total and the merchant's event in one batch.

use checkout::api::RefundRecord;
use checkout::vocab::RefundState;
use serde::Deserialize;
use soushou::Fen;

use super::attempts::get_order;

/// One refund as stored. A stored state this build does not know fails the
/// read (a storage error).
#[derive(Clone, Debug, Deserialize)]
pub struct RefundRow {
    /// `OUT_REFUND_NO` (unique).
    pub out_refund_no: String,
    /// The refunded attempt.
    pub charge_code: String,
    /// The amount.
    #[serde(rename = "amount_fen", deserialize_with = "super::fen")]
    pub amount: Fen,
    /// `REFUND_SUBJECT`.
    pub reason: String,
    /// Pending (reserved), succeeded or failed.
    pub state: RefundState,
    /// The gateway's refusal code, when it gave one.
    pub gateway_code: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds (the cron's retry claim stamps it too).
    pub updated_at: u64,
}

impl RefundRow {
    /// The refund as the merchant API shows it.
    pub fn record(&self) -> RefundRecord {
        RefundRecord {
            out_refund_no: self.out_refund_no.clone(),
            charge_code: self.charge_code.clone(),
            amount_fen: self.amount.fen(),
            reason: self.reason.clone(),
            state: self.state,
            gateway_code: self.gateway_code.clone(),
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}
use super::{all, changes, events as outbox, n, ot, prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::ApiResult;

/// A refund to reserve.
pub struct NewRefund<'a> {
    /// `OUT_REFUND_NO`.
    pub out_refund_no: &'a str,
    /// The refunded attempt.
    pub charge_code: &'a str,
    /// The amount.
    pub amount: Fen,
    /// `REFUND_SUBJECT`.
    pub reason: &'a str,
}

/// Reserves a refund: inserts it as pending only if the paid amount minus
/// every non-failed refund still covers it (one atomic statement, so two
/// concurrent refunds cannot overdraw). Returns false when it does not fit.
pub async fn reserve_refund(db: &Db, r: &NewRefund<'_>, now: u64) -> ApiResult<bool> {
    let result = reserve_statement(db, r, now)?.run().await.stored()?;
    Ok(changes(&result)? == 1)
}

/// The statement of [`reserve_refund`].
pub(super) fn reserve_statement<'d>(
    db: &'d Db,
    r: &NewRefund<'_>,
    now: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "INSERT OR IGNORE INTO refunds (out_refund_no, charge_code, amount_fen, reason, state, \
         created_at, updated_at) \
         SELECT ?1, ?2, ?3, ?4, 'pending', ?5, ?5 FROM orders o WHERE o.charge_code = ?2 \
         AND o.amount_fen - (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r \
                             WHERE r.charge_code = ?2 AND r.state != 'failed') >= ?3",
        &[
            t(r.out_refund_no),
            t(r.charge_code),
            n(r.amount.fen()),
            t(r.reason),
            n(now),
        ],
    )
}

/// Whether a refund number is taken, by any order (numbers are unique).
pub async fn refund_number_taken(db: &Db, out_refund_no: &str) -> ApiResult<bool> {
    #[derive(Deserialize)]
    struct Row {
        n: u64,
    }
    let row = prepare(
        db,
        "SELECT COUNT(*) AS n FROM refunds WHERE out_refund_no = ?1",
        &[t(out_refund_no)],
    )?
    .first::<Row>()
    .await
    .stored()?;
    Ok(row.is_some_and(|r| r.n > 0))
}

/// What is still refundable: paid amount minus non-failed refunds (zero
/// for an unknown attempt).
pub async fn refundable(db: &Db, charge_code: &str) -> ApiResult<Fen> {
    #[derive(Deserialize)]
    struct Row {
        remaining: i64,
    }
    let row = prepare(
        db,
        "SELECT o.amount_fen - (SELECT COALESCE(SUM(r.amount_fen), 0) FROM refunds r \
         WHERE r.charge_code = ?1 AND r.state != 'failed') AS remaining FROM orders o \
         WHERE o.charge_code = ?1",
        &[t(charge_code)],
    )?
    .first::<Row>()
    .await
    .stored()?;
    Ok(Fen::from_fen(row.map_or(0, |r| r.remaining.max(0) as u64)))
}

/// How the gateway ended a reserved refund.
pub enum RefundEnd<'a> {
    /// Done: the money went back.
    Succeeded,
    /// Refused, with the gateway's code when it gave one.
    Failed(Option<&'a str>),
}

/// Settles a reserved refund and, when it succeeded, the order's refunded
/// total; returns that total.
pub async fn finish_refund(
    db: &Db,
    out_refund_no: &str,
    charge_code: &str,
    end: RefundEnd<'_>,
    now: u64,
) -> ApiResult<Fen> {
    let (state, gateway_code) = match end {
        RefundEnd::Succeeded => (RefundState::Succeeded, None),
        RefundEnd::Failed(code) => (RefundState::Failed, code),
    };
    let mut statements =
        finish_statements(db, (out_refund_no, charge_code), state, gateway_code, now)?;
    // The merchant's event, in the same transaction (transactional outbox).
    statements.push(outbox::refund_event(
        db,
        out_refund_no,
        charge_code,
        state == RefundState::Succeeded,
        now,
    )?);
    let results = db.batch(statements).await.stored()?;
    outbox::note_written(results.get(2));
    Ok(get_order(db, charge_code)
        .await?
        .map_or(Fen::ZERO, |o| o.refunded))
}

/// Settles a pending refund (only if still pending; the first statement's
/// changes say whether it did), then stores the attempt's refunded total.
pub(super) fn finish_statements<'d>(
    db: &'d Db,
    (out_refund_no, charge_code): (&str, &str),
    state: RefundState,
    gateway_code: Option<&str>,
    now: u64,
) -> ApiResult<Vec<Stmt<'d>>> {
    let settle = prepare(
        db,
        "UPDATE refunds SET state = ?2, gateway_code = ?3, updated_at = ?4 \
         WHERE out_refund_no = ?1 AND state = 'pending'",
        &[
            t(out_refund_no),
            t(state.as_str()),
            ot(gateway_code),
            n(now),
        ],
    )?;
    let total = prepare(
        db,
        "UPDATE orders SET refunded_fen = (SELECT COALESCE(SUM(amount_fen), 0) FROM refunds \
         WHERE charge_code = ?1 AND state = 'succeeded'), updated_at = ?2 WHERE charge_code = ?1",
        &[t(charge_code), n(now)],
    )?;
    Ok(vec![settle, total])
}

/// The refunds of an order, oldest first.
pub async fn refunds(db: &Db, charge_code: &str) -> ApiResult<Vec<RefundRow>> {
    all(
        db,
        "SELECT out_refund_no, charge_code, amount_fen, reason, state, gateway_code, created_at, updated_at \
         FROM refunds WHERE charge_code = ?1 ORDER BY created_at, rowid",
        &[t(charge_code)],
    )
    .await
}

/// Refunds still pending (reserved, outcome unknown after a gateway fault),
/// the merchant's and duplicate-payment ones alike, last touched before
/// `cutoff`, oldest first.
pub async fn pending_refunds_before(db: &Db, cutoff: u64, limit: u64) -> ApiResult<Vec<RefundRow>> {
    all(
        db,
        "SELECT out_refund_no, charge_code, amount_fen, reason, state, gateway_code, created_at, updated_at \
         FROM refunds WHERE state = 'pending' AND updated_at <= ?1 ORDER BY updated_at LIMIT ?2",
        &[n(cutoff), n(limit)],
    )
    .await
}

/// Claims the right to retry a pending refund: succeeds for one caller
/// until the refund is touched again (it is stamped `now`).
pub async fn claim_refund_retry(
    db: &Db,
    out_refund_no: &str,
    now: u64,
    cutoff: u64,
) -> ApiResult<bool> {
    let result = retry_claim_statement(db, out_refund_no, now, cutoff)?
        .run()
        .await
        .stored()?;
    Ok(changes(&result)? == 1)
}

/// The statement of [`claim_refund_retry`].
pub(super) fn retry_claim_statement<'d>(
    db: &'d Db,
    out_refund_no: &str,
    now: u64,
    cutoff: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "UPDATE refunds SET updated_at = ?2 WHERE out_refund_no = ?1 AND state = 'pending' \
         AND updated_at <= ?3",
        &[t(out_refund_no), n(now), n(cutoff)],
    )
}
