//! The transactional outbox: the statement that writes a merchant event,
//! for `repo` to run in the same D1 batch as the change it reports.
//!
//! Why in the batch: an event must exist if and only if its change
//! committed. The insert copies the order as the transaction left it, only
//! if the order is now in the target state (a refund: settled as said), and
//! is keyed by `checkout::events::dedupe_key_*`, so a writer that lost the
//! race, or a repeated settlement, adds nothing.
//!
//! Enqueueing happens after the commit: [`note_written`] marks that this
//! isolate wrote an event, and the request that wrote it hands new events
//! to the queue when it ends (`webhooks::flush`). If that is lost, the cron
//! re-enqueues (`webhooks::reenqueue`), so an event is never lost.

use std::sync::atomic::{AtomicBool, Ordering};

use checkout::api::OrderStatus;
use checkout::events::{self, EventType};
use worker::wasm_bindgen::JsValue;
use worker::D1Result;

use crate::db::{Db, Stmt};

use crate::error::{ApiError, ApiResult};

/// A statement with its parameters (texts and integers, as `repo` binds
/// them; kept here so `repo` → `outbox` is the only direction).
fn prepare<'d>(db: &'d Db, sql: &str, params: &[Param<'_>]) -> ApiResult<Stmt<'d>> {
    let values: Vec<JsValue> = params
        .iter()
        .map(|p| match p {
            Param::Text(s) => JsValue::from_str(s),
            Param::Int(v) => JsValue::from_f64(*v as f64),
        })
        .collect();
    db.prepare(sql)
        .bind(&values)
        .map_err(|e| ApiError::Storage(e.to_string()))
}

/// A parameter of an outbox statement.
enum Param<'a> {
    Text(&'a str),
    Int(u64),
}
use Param::{Int, Text};

/// Whether an event was written since the last [`take_written`]: set after
/// the commit, cleared before the read that enqueues, so no event written
/// by this isolate waits for the cron.
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// The columns every event insert fills; the order's snapshot comes from
/// `orders` joined with its link.
const INSERT: &str = "INSERT OR IGNORE INTO webhook_events (dedupe_key, kind, charge_code, \
    link_id, merchant_ref, amount_fen, refunded_fen, state, out_refund_no, refund_fen, \
    created_at, next_attempt_at)";

/// The event of `charge_code` entering `to` (none for `pending`: a no-op
/// statement keeps the batch shape). `after_update`: only if the statement
/// just before it in the batch (the transition's update) changed a row, for
/// a batch whose update may find nothing to do.
pub fn transition_event<'d>(
    db: &'d Db,
    charge_code: &str,
    to: OrderStatus,
    after_update: bool,
    now: u64,
) -> ApiResult<Stmt<'d>> {
    let Some(kind) = EventType::for_transition(to) else {
        return prepare(db, "SELECT 0 WHERE 0", &[]);
    };
    prepare(
        db,
        &format!(
            "{INSERT} SELECT ?1, ?2, o.charge_code, o.link_id, l.merchant_ref, o.amount_fen, \
             o.refunded_fen, o.state, NULL, NULL, ?4, ?4 \
             FROM orders o LEFT JOIN links l ON l.link_id = o.link_id \
             WHERE o.charge_code = ?3 AND o.state = ?5{}",
            if after_update {
                " AND changes() = 1"
            } else {
                ""
            }
        ),
        &[
            Text(&events::dedupe_key_transition(charge_code, to)),
            Text(kind.as_str()),
            Text(charge_code),
            Int(now),
            Text(to.as_str()),
        ],
    )
}

/// The event of a refund settling (`succeeded` or not), carrying the
/// refund's state and the order's refunded total after it.
pub fn refund_event<'d>(
    db: &'d Db,
    out_refund_no: &str,
    charge_code: &str,
    succeeded: bool,
    now: u64,
) -> ApiResult<Stmt<'d>> {
    let kind = EventType::for_refund(succeeded, out_refund_no, charge_code);
    let state = if succeeded { "succeeded" } else { "failed" };
    prepare(
        db,
        &format!(
            "{INSERT} SELECT ?1, ?2, o.charge_code, o.link_id, l.merchant_ref, o.amount_fen, \
             o.refunded_fen, r.state, r.out_refund_no, r.amount_fen, ?4, ?4 \
             FROM refunds r JOIN orders o ON o.charge_code = r.charge_code \
             LEFT JOIN links l ON l.link_id = o.link_id \
             WHERE r.out_refund_no = ?3 AND r.state = ?5"
        ),
        &[
            Text(&events::dedupe_key_refund(out_refund_no)),
            Text(kind.as_str()),
            Text(out_refund_no),
            Int(now),
            Text(state),
        ],
    )
}

/// Records that the batch's event statement inserted a row.
pub fn note_written(result: Option<&D1Result>) {
    let inserted = result
        .and_then(|r| r.meta().ok().flatten())
        .and_then(|m| m.changes)
        .unwrap_or(0);
    if inserted > 0 {
        WRITTEN.store(true, Ordering::SeqCst);
    }
}

/// Whether events were written since the last call (and clears the mark).
pub fn take_written() -> bool {
    WRITTEN.swap(false, Ordering::SeqCst)
}
