//! Merchant events (`webhook_events`, `webhook_attempts`): the
//! transactional outbox — the statement that writes an event, for
//! [`super::attempts`] and [`super::refunds`] to run in the same D1 batch as the change it reports.
//!
//! Why in the batch: an event must exist if and only if its change
//! committed. The insert copies the order as the transaction left it, only
//! if the order is now in the target state (a refund: settled as said), and
//! is keyed by `checkout::events::dedupe_key_*`, so a writer that lost the
//! race, or a repeated settlement, adds nothing.
//!
//! Enqueueing happens after the commit: [`note_written`] marks that this
//! isolate wrote an event, and the request that wrote it hands new events
//! to the queue when it ends (`flows::webhook::flush`). If that is lost, the cron
//! re-enqueues (`flows::webhook::reenqueue`), so an event is never lost.

use std::sync::atomic::{AtomicBool, Ordering};

pub use checkout::events::DeliveryState;
use checkout::events::{
    self, AttemptView, EventQuery, EventRecord, EventState, EventType, StatementEvent,
};
use checkout::flow::{EventOf, OutboxEvent};
use checkout::vocab::OrderStatus;
use serde::Deserialize;
use soushou::Fen;
use worker::wasm_bindgen::JsValue;
use worker::D1Result;

use super::{all, changes, n, prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::{ApiError, ApiResult};

/// Whether an event was written since the last [`take_written`]: set after
/// the commit, cleared before the read that enqueues, so no event written
/// by this isolate waits for the cron.
static WRITTEN: AtomicBool = AtomicBool::new(false);

/// The columns every event insert fills; the order's snapshot comes from
/// `orders` joined with its link.
const INSERT: &str = "INSERT OR IGNORE INTO webhook_events (dedupe_key, kind, charge_code, \
    link_id, merchant_ref, amount_fen, refunded_fen, state, out_refund_no, refund_fen, \
    created_at, next_attempt_at)";

/// The statement writing `e` into the outbox (a snapshot of the order,
/// and refund, as the transaction left it), only if the order or refund
/// is in the state `e.of` names; with `if_changed`, only if the statement
/// just before it in the batch (the transition's update) changed a row.
pub fn event_statement<'d>(db: &'d Db, e: &OutboxEvent, now: u64) -> ApiResult<Stmt<'d>> {
    let head = [t(&e.dedupe_key), t(e.kind.as_str())];
    match &e.of {
        EventOf::Transition { state, if_changed } => {
            let same = (e.kind, e.dedupe_key.clone());
            order_event(db, e, (*state, *if_changed), same, now)
        }
        EventOf::Payment { if_changed } => {
            let duplicate = events::payment_event(&e.charge_code, true);
            order_event(db, e, (OrderStatus::Paid, *if_changed), duplicate, now)
        }
        EventOf::Refund {
            out_refund_no,
            state,
        } => prepare(
            db,
            &format!(
                "{INSERT} SELECT ?1, ?2, o.charge_code, o.link_id, l.merchant_ref, o.amount_fen, \
                 o.refunded_fen, r.state, r.out_refund_no, r.amount_fen, ?4, ?4 \
                 FROM refunds r JOIN orders o ON o.charge_code = r.charge_code \
                 LEFT JOIN links l ON l.link_id = o.link_id \
                 WHERE r.out_refund_no = ?3 AND r.state = ?5"
            ),
            &[
                head[0].clone(),
                head[1].clone(),
                t(out_refund_no),
                n(now),
                t(state.as_str()),
            ],
        ),
    }
}

/// [`event_statement`] of an order's event: `e` where the transaction
/// left the attempt unmarked, `duplicate` (kind, key) where it left it a
/// duplicate payment (`duplicate_of`); only if it is in `state` (and with
/// `if_changed`, only if the statement before changed a row).
fn order_event<'d>(
    db: &'d Db,
    e: &OutboxEvent,
    (state, if_changed): (OrderStatus, bool),
    duplicate: (EventType, String),
    now: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        &format!(
            "{INSERT} SELECT CASE WHEN o.duplicate_of IS NULL THEN ?1 ELSE ?6 END, \
             CASE WHEN o.duplicate_of IS NULL THEN ?2 ELSE ?7 END, o.charge_code, o.link_id, \
             l.merchant_ref, o.amount_fen, o.refunded_fen, o.state, NULL, NULL, ?4, ?4 \
             FROM orders o LEFT JOIN links l ON l.link_id = o.link_id \
             WHERE o.charge_code = ?3 AND o.state = ?5{}",
            if if_changed { " AND changes() = 1" } else { "" }
        ),
        &[
            t(&e.dedupe_key),
            t(e.kind.as_str()),
            t(&e.charge_code),
            n(now),
            t(state.as_str()),
            t(&duplicate.1),
            t(duplicate.0.as_str()),
        ],
    )
}

/// The statement writing a `statement.ready` event (`e`) into the outbox,
/// only if the statement just before it in the batch (the revision's
/// `INSERT OR IGNORE`) stored a row: a revision another build stored
/// first is announced by that build's batch, never twice.
pub fn statement_event<'d>(db: &'d Db, e: &StatementEvent, now: u64) -> ApiResult<Stmt<'d>> {
    let data =
        serde_json::to_string(&e.statement).map_err(|err| ApiError::Internal(err.to_string()))?;
    prepare(
        db,
        "INSERT OR IGNORE INTO webhook_events (dedupe_key, kind, charge_code, amount_fen, \
         refunded_fen, state, created_at, next_attempt_at, data) \
         SELECT ?1, ?2, ?3, 0, 0, ?4, ?5, ?5, ?6 WHERE changes() = 1",
        &[
            t(&e.dedupe_key),
            t(EventType::StatementReady.as_str()),
            t(&e.stream),
            t(EventState::Ready.as_str()),
            n(now),
            t(&data),
        ],
    )
}

/// Writes a test event (`checkout::events::test_event`'s key and stand-in
/// charge code) into the outbox, due now, and answers its row number; the
/// request's end hands it to the queue like any other event.
pub async fn insert_test(db: &Db, (key, code): (&str, &str), now: u64) -> ApiResult<u64> {
    #[derive(Deserialize)]
    struct Row {
        seq: u64,
    }
    let row = prepare(
        db,
        &format!(
            "{INSERT} VALUES (?1, ?2, ?3, NULL, NULL, 0, 0, ?4, NULL, NULL, ?5, ?5) \
             RETURNING seq"
        ),
        &[
            t(key),
            t(EventType::TestPing.as_str()),
            t(code),
            t(OrderStatus::Pending.as_str()),
            n(now),
        ],
    )?
    .first::<Row>()
    .await
    .stored()?
    .ok_or_else(|| crate::platform::error::ApiError::Storage("test event not written".into()))?;
    WRITTEN.store(true, Ordering::SeqCst);
    Ok(row.seq)
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

// ------------------------------------------------------- delivery state
// The outbox rows' delivery columns and their attempts
// (`webhook_attempts`), for `flows::webhook` and the events API.

/// The stored columns of an event besides its payload snapshot (with the
/// lists' SQL, which pages events too).
pub use super::list_sql::EVENT_COLUMNS;

/// An outbox row with its delivery state. Read through [`StoredEvent`]: a
/// kind or state this build does not know fails the read (a storage
/// error), never a panic.
#[derive(Debug, Deserialize)]
#[serde(try_from = "StoredEvent")]
pub struct EventRow {
    /// The payload snapshot.
    pub record: EventRecord,
    /// Where its delivery stands.
    pub delivery: DeliveryState,
    /// Attempts so far.
    pub attempt_count: u64,
    /// Failed attempts since created or redelivered.
    pub round_failures: u64,
}

/// An outbox row as D1 hands it ([`EVENT_COLUMNS`]): the kind and state
/// as their spellings (which state enum a `state` is follows from the
/// kind), money through [`super::fen`].
#[derive(Deserialize)]
struct StoredEvent {
    seq: u64,
    kind: String,
    charge_code: String,
    link_id: Option<String>,
    merchant_ref: Option<String>,
    #[serde(deserialize_with = "super::fen")]
    amount_fen: Fen,
    #[serde(deserialize_with = "super::fen")]
    refunded_fen: Fen,
    state: String,
    out_refund_no: Option<String>,
    #[serde(deserialize_with = "super::opt_fen")]
    refund_fen: Option<Fen>,
    created_at: u64,
    delivery: DeliveryState,
    attempt_count: u64,
    round_failures: u64,
    /// A statement event's payload (`0012`).
    data: Option<String>,
}

impl TryFrom<StoredEvent> for EventRow {
    type Error = String;

    fn try_from(r: StoredEvent) -> Result<Self, String> {
        let kind = EventType::parse(&r.kind)
            .ok_or_else(|| format!("event {}: unknown kind {:?}", r.seq, r.kind))?;
        let state = EventState::parse(kind, &r.state).ok_or_else(|| {
            format!(
                "event {}: unknown state {:?} of {:?}",
                r.seq, r.state, r.kind
            )
        })?;
        let statement = match (kind.is_statement(), &r.data) {
            (false, _) => None,
            (true, Some(data)) => Some(
                serde_json::from_str(data)
                    .map_err(|e| format!("event {}: statement data: {e}", r.seq))?,
            ),
            (true, None) => return Err(format!("event {}: a statement event without data", r.seq)),
        };
        Ok(EventRow {
            record: EventRecord {
                seq: r.seq,
                kind,
                charge_code: r.charge_code,
                link_id: r.link_id,
                merchant_ref: r.merchant_ref,
                amount: r.amount_fen,
                refunded: r.refunded_fen,
                state,
                out_refund_no: r.out_refund_no,
                refund: r.refund_fen,
                created_at: r.created_at,
                statement,
            },
            delivery: r.delivery,
            attempt_count: r.attempt_count,
            round_failures: r.round_failures,
        })
    }
}

/// One event by row number.
pub async fn get(db: &Db, seq: u64) -> ApiResult<Option<EventRow>> {
    prepare(
        db,
        &format!("SELECT {EVENT_COLUMNS} FROM webhook_events WHERE seq = ?1"),
        &[n(seq)],
    )?
    .first::<EventRow>()
    .await
    .stored()
}

/// Claims up to `batch` pending events for the queue (one atomic UPDATE,
/// so concurrent flushers hand out disjoint sets): the never-enqueued ones,
/// and with `overdue_before` also those due before it; without
/// `merchant_events` (no `MERCHANT_WEBHOOK_URL`) only epay notifications.
/// Returns their rows.
pub async fn claim_for_queue(
    db: &Db,
    now: u64,
    overdue_before: Option<u64>,
    batch: u64,
    merchant_events: bool,
) -> ApiResult<Vec<u64>> {
    #[derive(Deserialize)]
    struct Row {
        seq: u64,
    }
    let overdue = match overdue_before {
        Some(_) => "OR (next_attempt_at <= ?2 AND COALESCE(locked_until, 0) < ?1)",
        None => "",
    };
    let rows: Vec<Row> = all(
        db,
        &format!(
            "UPDATE webhook_events SET enqueued_at = ?1, next_attempt_at = ?1 WHERE seq IN \
             (SELECT seq FROM webhook_events WHERE delivery = 'pending' \
              AND (enqueued_at IS NULL {overdue}) AND (?4 = 1 OR kind = '{EPAY}') \
              ORDER BY seq LIMIT ?3) RETURNING seq"
        ),
        &[
            n(now),
            n(overdue_before.unwrap_or(0)),
            n(batch),
            n(u64::from(merchant_events)),
        ],
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.seq).collect())
}

/// The statement of `Write::EnqueueEvents`: [`claim_for_queue`]'s claim
/// for one attempt's never-enqueued pending events (by the
/// `webhook_events_by_order` index), run in the batch that wrote them, so
/// the rows come back with the batch and go to the queue with no round
/// trip of their own. Its rows: [`enqueued`].
pub(super) fn enqueue_statement<'d>(
    db: &'d Db,
    charge_code: &str,
    merchant_events: bool,
    now: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        &format!(
            "UPDATE webhook_events SET enqueued_at = ?2, next_attempt_at = ?2 \
             WHERE charge_code = ?1 AND delivery = 'pending' AND enqueued_at IS NULL \
             AND (?3 = 1 OR kind = '{EPAY}') RETURNING seq"
        ),
        &[t(charge_code), n(now), n(u64::from(merchant_events))],
    )
}

/// The rows [`enqueue_statement`] handed to the queue.
pub(super) fn enqueued(result: Option<&D1Result>) -> ApiResult<Vec<u64>> {
    #[derive(Deserialize)]
    struct Row {
        seq: u64,
    }
    let Some(result) = result else {
        return Ok(Vec::new());
    };
    let rows: Vec<Row> = result.results().stored()?;
    Ok(rows.into_iter().map(|r| r.seq).collect())
}

/// Marks an event pending again for a new round of the retry schedule;
/// false when there is no such event.
pub async fn mark_pending(db: &Db, seq: u64, now: u64) -> ApiResult<bool> {
    let result = prepare(
        db,
        "UPDATE webhook_events SET delivery = 'pending', round_failures = 0, enqueued_at = ?2, \
         next_attempt_at = ?2, locked_until = NULL WHERE seq = ?1",
        &[n(seq), n(now)],
    )?;
    let results = db.change(vec![result]).await.stored()?;
    Ok(match results.first() {
        Some(r) => changes(r)? > 0,
        None => false,
    })
}

/// Marks a dead-lettered event failed and releases its claim, only while
/// it is pending in a spent round (`round_failures >= gave_up_after`): a
/// redelivery that reset the round meanwhile is left alone. A message the
/// queue dead-letters on its own before the schedule is spent (a consumer
/// failing 20 times) also leaves the event pending: the cron re-enqueues it.
pub(super) fn failed_statement<'d>(
    db: &'d Db,
    seq: u64,
    gave_up_after: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "UPDATE webhook_events SET delivery = 'failed', locked_until = NULL \
         WHERE seq = ?1 AND delivery = 'pending' AND round_failures >= ?2",
        &[n(seq), n(gave_up_after)],
    )
}

/// The `kind` of epay notifications: their own stream per order, so an
/// app's notification never waits behind the merchant's webhooks (nor the
/// other way round).
const EPAY: &str = "epay.notify";

/// The oldest pending event of the same order and stream after `seq` (none
/// or one row of `seq`): put last in the batch that finishes `seq`, it
/// reads the state that batch leaves.
pub(crate) fn next_of_order<'d>(db: &'d Db, seq: u64) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        &format!(
            "SELECT n.seq FROM webhook_events e JOIN webhook_events n ON n.charge_code = e.charge_code \
             AND (n.kind = '{EPAY}') = (e.kind = '{EPAY}') \
             WHERE e.seq = ?1 AND n.seq > ?1 AND n.delivery = 'pending' ORDER BY n.seq LIMIT 1"
        ),
        &[n(seq)],
    )
}

/// Claims event `seq` for one attempt and returns it: only while it is
/// pending, not claimed, and no older event of its order (and stream:
/// merchant webhooks or epay notifications) is pending
/// (per-order order; that one enqueues it when it is done). One round trip:
/// the claim returns the row it claimed.
pub async fn claim(db: &Db, seq: u64, now: u64, claim_secs: u64) -> ApiResult<Option<EventRow>> {
    prepare(
        db,
        &format!(
            "UPDATE webhook_events SET locked_until = ?2 WHERE seq = ?1 AND delivery = 'pending' \
             AND COALESCE(locked_until, 0) < ?3 AND NOT EXISTS (SELECT 1 FROM webhook_events o \
             WHERE o.charge_code = webhook_events.charge_code AND o.seq < ?1 \
             AND (o.kind = '{EPAY}') = (webhook_events.kind = '{EPAY}') \
             AND o.delivery = 'pending') RETURNING {EVENT_COLUMNS}"
        ),
        &[n(seq), n(now + claim_secs), n(now)],
    )?
    .first::<EventRow>()
    .await
    .stored()
}

/// The row of one delivery attempt of event `seq` at `at`.
pub(super) fn attempt_statement<'d>(
    db: &'d Db,
    (seq, at): (u64, u64),
    (status, answer): (Option<u16>, Option<&str>),
    latency_ms: u64,
    error: Option<&str>,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "INSERT INTO webhook_attempts (event_seq, at, status, latency_ms, error, answer) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            n(seq),
            n(at),
            status.map_or(JsValue::NULL, |s| n(u64::from(s))),
            n(latency_ms),
            error.map_or(JsValue::NULL, t),
            answer.map_or(JsValue::NULL, t),
        ],
    )
}

/// After an attempt: counts it, releases the claim, sets when it is due
/// again and, with `delivered_at`, marks it delivered.
pub(super) fn delivery_statement<'d>(
    db: &'d Db,
    seq: u64,
    round_failures: u64,
    next_attempt_at: u64,
    delivered_at: Option<u64>,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "UPDATE webhook_events SET attempt_count = attempt_count + 1, round_failures = ?2, \
         locked_until = NULL, next_attempt_at = ?3, \
         delivery = CASE WHEN ?4 = 1 THEN 'delivered' ELSE delivery END, \
         delivered_at = CASE WHEN ?4 = 1 THEN ?5 ELSE delivered_at END WHERE seq = ?1",
        &[
            n(seq),
            n(round_failures),
            n(next_attempt_at),
            n(u64::from(delivered_at.is_some())),
            n(delivered_at.unwrap_or(0)),
        ],
    )
}

/// The events of `q` after its cursor, oldest first, at most `rows`
/// (`super::list_sql::events_page`).
pub async fn list(db: &Db, q: &EventQuery, rows: u64) -> ApiResult<Vec<EventRow>> {
    super::lists::statement(db, &super::list_sql::events_page(q, rows))?
        .all()
        .await
        .stored()?
        .results::<EventRow>()
        .stored()
}

/// Every delivery attempt of an event, oldest first.
pub async fn attempts(db: &Db, seq: u64) -> ApiResult<Vec<AttemptView>> {
    all(
        db,
        "SELECT at, status, latency_ms, error, answer FROM webhook_attempts \
         WHERE event_seq = ?1 \
         ORDER BY id",
        &[n(seq)],
    )
    .await
}
