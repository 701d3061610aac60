//! Refunds (`refunds`): reserved before the gateway hears of them, settled
//! with the order's refunded total and the merchant's event in one batch.

use checkout::api::RefundRecord;
use checkout::vocab::RefundState;
use serde::Deserialize;
use soushou::Fen;

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
use super::{all, n, ot, prepare, t};
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

/// The refunds of an order (`?1`), oldest first.
pub(crate) const REFUNDS_OF: &str = "SELECT out_refund_no, charge_code, amount_fen, reason, \
    state, gateway_code, created_at, updated_at FROM refunds WHERE charge_code = ?1 \
    ORDER BY created_at, rowid";

/// The refunds of an order, oldest first.
pub async fn refunds(db: &Db, charge_code: &str) -> ApiResult<Vec<RefundRow>> {
    all(db, REFUNDS_OF, &[t(charge_code)]).await
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
