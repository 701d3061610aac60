//! D1 persistence: links, attempts (orders), state history, processed
//! notifications and refunds. Schema in `migrations/`.
//!
//! State changes are conditional updates (`... WHERE state = ?from`, or for
//! a notification `... WHERE state IN (?from, …)` with the read in the same
//! batch) run in a batch (one transaction) with the history insert, so two
//! concurrent notifications cannot both apply a transition, and a caller
//! learns whether its write was the one that applied.

use crate::db::{Db, Stmt};
use checkout::api::{NotificationRecord, OrderEvent, OrderView, RefundRecord};
use checkout::link::LinkPayload;
use checkout::settle::{self, LinkAttempt, Notice, NotifyPlan, ReconcileInput, StoredAttempt};
use checkout::state;
use checkout::vocab::{EventSource, OrderKind, OrderMethod, OrderStatus, RefundState};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use soushou::Fen;
use worker::wasm_bindgen::JsValue;

use crate::error::{ApiError, ApiResult};
use crate::outbox;

/// A text parameter.
pub(crate) fn t(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// An integer parameter (D1 numbers are f64: exact below 2^53, far above any fen or time here).
pub(crate) fn n(v: u64) -> JsValue {
    JsValue::from_f64(v as f64)
}

/// An optional text parameter.
fn ot(s: Option<&str>) -> JsValue {
    s.map(t).unwrap_or(JsValue::NULL)
}

/// D1's failures are storage errors (the caller may retry), unlike the
/// runtime's other failures (`From<worker::Error>` in `error`).
pub(crate) trait Stored<T> {
    /// The result, a failure as [`ApiError::Storage`].
    fn stored(self) -> ApiResult<T>;
}

impl<T> Stored<T> for worker::Result<T> {
    fn stored(self) -> ApiResult<T> {
        self.map_err(|e| ApiError::Storage(e.to_string()))
    }
}

pub(crate) fn prepare<'d>(db: &'d Db, sql: &str, params: &[JsValue]) -> ApiResult<Stmt<'d>> {
    db.prepare(sql).bind(params).stored()
}

/// Every row a query returns.
pub(crate) async fn all<T: DeserializeOwned>(
    db: &Db,
    sql: &str,
    params: &[JsValue],
) -> ApiResult<Vec<T>> {
    prepare(db, sql, params)?
        .all()
        .await
        .stored()?
        .results::<T>()
        .stored()
}

/// Rows changed by a write, from the result metadata.
pub(crate) fn changes(result: &worker::D1Result) -> ApiResult<usize> {
    Ok(result.meta().stored()?.and_then(|m| m.changes).unwrap_or(0))
}

/// One payment attempt (one `CHARGE_CODE`).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub struct OrderRow {
    /// The attempt's `CHARGE_CODE` (ours, unique).
    pub charge_code: String,
    /// The link this attempt pays, if any.
    pub link_id: Option<String>,
    /// What created the attempt.
    pub kind: OrderKind,
    /// Payment method.
    pub method: OrderMethod,
    /// Gateway `CHANNEL_TYPE` code.
    pub channel_type: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Sum of succeeded refunds, fen.
    pub refunded_fen: u64,
    /// `PAY_SUBJECT`.
    pub subject: String,
    /// Current state.
    pub state: OrderStatus,
    /// Where the page sends the shopper after payment.
    pub return_url: Option<String>,
    /// The gateway's serial number.
    pub charge_down_code: Option<String>,
    /// The payment channel's serial number.
    pub charge_third_code: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub updated_at: u64,
    /// Unix seconds, when paid.
    pub paid_at: Option<u64>,
    /// Unix seconds of the last reconciliation `query`.
    pub last_query_at: Option<u64>,
    /// Order in which money first arrived on attempts (`None`: it never did).
    pub paid_seq: Option<u64>,
    /// The kept attempt this one is a duplicate payment of.
    pub duplicate_of: Option<String>,
    /// Until when the reconciler re-checks this attempt whatever its state.
    pub recheck_until: Option<u64>,
}

impl OrderRow {
    /// The shopper's view of the attempt (`GET /api/orders/{code}`, and
    /// inside the merchant's order).
    pub fn view(&self) -> ApiResult<OrderView> {
        Ok(OrderView {
            charge_code: self.charge_code.clone(),
            state: self.state,
            money: Fen::from_fen(self.amount_fen).into(),
            paid_at: self.paid_at,
            return_url: self.return_url.clone(),
        })
    }

    /// The attempt as the link decisions of `checkout::settle` see it.
    pub fn link_attempt(&self) -> LinkAttempt<'_> {
        LinkAttempt {
            charge_code: &self.charge_code,
            status: self.state,
            paid_seq: self.paid_seq,
            duplicate: self.duplicate_of.is_some(),
        }
    }

    /// What the reconciler knows about the attempt at `now`.
    pub fn reconcile_input(&self, now: u64) -> ReconcileInput {
        ReconcileInput {
            status: self.state,
            created_at: self.created_at,
            last_query_at: self.last_query_at,
            recheck_until: self.recheck_until,
            now,
        }
    }
}

/// The attempts of a link as the link decisions see them.
pub fn link_view(attempts: &[OrderRow]) -> Vec<LinkAttempt<'_>> {
    attempts.iter().map(OrderRow::link_attempt).collect()
}

/// A new attempt to insert (state `pending`).
pub struct NewOrder<'a> {
    /// `CHARGE_CODE`.
    pub charge_code: &'a str,
    /// Link id for link attempts.
    pub link_id: Option<&'a str>,
    /// What creates the attempt.
    pub kind: OrderKind,
    /// Payment method.
    pub method: OrderMethod,
    /// `CHANNEL_TYPE` code.
    pub channel_type: &'a str,
    /// Amount, fen.
    pub amount_fen: u64,
    /// `PAY_SUBJECT`.
    pub subject: &'a str,
    /// Return URL of the link.
    pub return_url: Option<&'a str>,
}

const ORDER_COLUMNS: &str = "charge_code, link_id, kind, method, channel_type, amount_fen, \
    refunded_fen, subject, state, return_url, charge_down_code, charge_third_code, created_at, \
    updated_at, paid_at, last_query_at, paid_seq, duplicate_of, recheck_until";

/// An issued link as stored: its id, token and payload.
pub struct NewLink<'a> {
    /// `checkout::link::link_id` of the token.
    pub link_id: &'a str,
    /// The token (the link itself).
    pub token: &'a str,
    /// What the token says.
    pub payload: &'a LinkPayload,
}

/// The statement recording an issued link (idempotent: the token is the link).
fn insert_link_statement<'d>(db: &'d Db, l: &NewLink<'_>, now: u64) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "INSERT OR IGNORE INTO links (link_id, amount_fen, subject, merchant_ref, return_url, \
         expires_at, created_at, token) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            t(l.link_id),
            n(l.payload.amount.ceiling().fen()),
            t(&l.payload.subject),
            ot(l.payload.merchant_ref.as_deref()),
            ot(l.payload.return_url.as_deref()),
            n(l.payload.expires_at),
            n(now),
            t(l.token),
        ],
    )
}

/// Records an issued link (idempotent: the token is the link).
pub async fn insert_link(db: &Db, link: &NewLink<'_>, now: u64) -> ApiResult<()> {
    insert_link_statement(db, link, now)?.run().await.stored()?;
    Ok(())
}

/// The INSERT of a new pending attempt.
fn insert_attempt_statement<'d>(db: &'d Db, o: &NewOrder<'_>, now: u64) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "INSERT INTO orders (charge_code, link_id, kind, method, channel_type, amount_fen, \
         subject, state, return_url, created_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?9)",
        &[
            t(o.charge_code),
            ot(o.link_id),
            t(o.kind.as_str()),
            t(o.method.as_str()),
            t(o.channel_type),
            n(o.amount_fen),
            t(o.subject),
            ot(o.return_url),
            n(now),
        ],
    )
}

/// Inserts a new pending attempt that pays no link.
pub async fn insert_attempt(db: &Db, o: &NewOrder<'_>, now: u64) -> ApiResult<()> {
    insert_attempt_statement(db, o, now)?.run().await.stored()?;
    Ok(())
}

/// Inserts the link (if new) and a new pending attempt of it, and reads the
/// link's attempts (the new one among them, newest first): one round trip,
/// one batch, so the writes happen both or neither.
pub async fn insert_link_attempt(
    db: &Db,
    link: &NewLink<'_>,
    o: &NewOrder<'_>,
    now: u64,
) -> ApiResult<Vec<OrderRow>> {
    let read = prepare(db, &link_attempts_sql(), &[t(link.link_id)])?;
    let results = db
        .batch(vec![
            insert_link_statement(db, link, now)?,
            insert_attempt_statement(db, o, now)?,
            read,
        ])
        .await
        .stored()?;
    results
        .last()
        .ok_or_else(|| ApiError::Storage("the batch returned no result for its read".into()))?
        .results::<OrderRow>()
        .stored()
}

/// Deletes an attempt that was stored but never sent to the gateway (its
/// link refused it): only while it is still pending with no gateway serial.
pub async fn delete_unsent_attempt(db: &Db, charge_code: &str) -> ApiResult<()> {
    prepare(
        db,
        "DELETE FROM orders WHERE charge_code = ?1 AND state = 'pending' \
         AND charge_down_code IS NULL",
        &[t(charge_code)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

/// Stores the gateway's serial numbers of an attempt once known.
pub async fn set_gateway_codes(
    db: &Db,
    charge_code: &str,
    down: Option<&str>,
    third: Option<&str>,
) -> ApiResult<()> {
    prepare(
        db,
        "UPDATE orders SET charge_down_code = COALESCE(?2, charge_down_code), \
         charge_third_code = COALESCE(?3, charge_third_code) WHERE charge_code = ?1",
        &[t(charge_code), ot(down), ot(third)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

/// One attempt by charge code.
pub async fn get_order(db: &Db, charge_code: &str) -> ApiResult<Option<OrderRow>> {
    prepare(
        db,
        &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE charge_code = ?1"),
        &[t(charge_code)],
    )?
    .first::<OrderRow>()
    .await
    .stored()
}

/// All attempts of a link, newest first.
pub async fn link_attempts(db: &Db, link_id: &str) -> ApiResult<Vec<OrderRow>> {
    all(db, &link_attempts_sql(), &[t(link_id)]).await
}

/// A link's attempts (`?1`), newest first.
fn link_attempts_sql() -> String {
    format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE link_id = ?1 \
         ORDER BY created_at DESC, rowid DESC"
    )
}

/// Attempts pending since before `cutoff` (unix seconds), least recently
/// queried first, so attempts the gateway keeps calling pending cannot
/// starve newer ones out of a bounded sweep.
pub async fn pending_before(db: &Db, cutoff: u64, limit: u64) -> ApiResult<Vec<OrderRow>> {
    all(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE state = 'pending' AND created_at <= ?1 \
             ORDER BY COALESCE(last_query_at, 0), created_at LIMIT ?2"
        ),
        &[n(cutoff), n(limit)],
    )
    .await
}

/// What a transition into `?2` sets besides the state (`?3`: now, `?4`: 1
/// if the new state holds money). The first transition into a state holding
/// money stamps when (paid_at) and in which order (paid_seq, one more than
/// any before: SQLite runs the statement alone, so the numbers are unique)
/// the money arrived; later ones keep both.
const TRANSITION_SET: &str = "SET state = ?2, updated_at = ?3, \
    paid_at = CASE WHEN ?4 = 1 THEN COALESCE(paid_at, ?3) ELSE paid_at END, \
    paid_seq = CASE WHEN ?4 = 1 THEN COALESCE(paid_seq, \
      (SELECT COALESCE(MAX(paid_seq), 0) + 1 FROM orders)) ELSE paid_seq END";

/// The parameters `?1`–`?4` of [`TRANSITION_SET`]'s update of `charge_code`.
fn transition_params(charge_code: &str, to: OrderStatus, now: u64) -> Vec<JsValue> {
    let money = if settle::holds_money(to) { 1 } else { 0 };
    vec![t(charge_code), t(to.as_str()), n(now), n(money)]
}

/// Applies `from → to` if and only if the order is still in `from`, and
/// records the transition in the history, in one transaction. Returns
/// whether this call's update applied.
pub async fn transition(
    db: &Db,
    charge_code: &str,
    (from, to): (OrderStatus, OrderStatus),
    source: EventSource,
    now: u64,
) -> ApiResult<bool> {
    let mut params = transition_params(charge_code, to, now);
    params.push(t(from.as_str()));
    let update = prepare(
        db,
        &format!("UPDATE orders {TRANSITION_SET} WHERE charge_code = ?1 AND state = ?5"),
        &params,
    )?;
    let history = prepare(
        db,
        "INSERT OR IGNORE INTO order_events (charge_code, from_state, to_state, source, at) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS \
         (SELECT 1 FROM orders WHERE charge_code = ?1 AND state = ?3)",
        &[
            t(charge_code),
            t(from.as_str()),
            t(to.as_str()),
            t(source.as_str()),
            n(now),
        ],
    )?;
    // The merchant's event, in the same transaction (transactional outbox).
    let event = outbox::transition_event(db, charge_code, to, false, now)?;
    let results = db.batch(vec![update, history, event]).await.stored()?;
    outbox::note_written(results.get(2));
    let first = results
        .first()
        .ok_or_else(|| ApiError::Storage("empty batch result".into()))?;
    Ok(changes(first)? == 1)
}

/// Marks an attempt a duplicate payment of `kept`, once: returns whether
/// this call marked it (a concurrent decider that lost must not refund).
pub async fn mark_duplicate(db: &Db, charge_code: &str, kept: &str) -> ApiResult<bool> {
    let result = prepare(
        db,
        "UPDATE orders SET duplicate_of = ?2 WHERE charge_code = ?1 AND duplicate_of IS NULL",
        &[t(charge_code), t(kept)],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

/// Asks the reconciler to re-check an attempt until `until` (unix seconds),
/// whatever its state (extends, never shortens, a window already set).
pub async fn set_recheck(db: &Db, charge_code: &str, until: u64) -> ApiResult<()> {
    prepare(
        db,
        "UPDATE orders SET recheck_until = MAX(COALESCE(recheck_until, 0), ?2) \
         WHERE charge_code = ?1",
        &[t(charge_code), n(until)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

/// Settled attempts inside their re-check window, least recently queried first.
pub async fn recheck_due(db: &Db, now: u64, limit: u64) -> ApiResult<Vec<OrderRow>> {
    all(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE recheck_until >= ?1 \
             AND state != 'pending' ORDER BY COALESCE(last_query_at, 0) LIMIT ?2"
        ),
        &[n(now), n(limit)],
    )
    .await
}

/// An attempt's state and amount, as a notification's batch reads them.
#[derive(Deserialize)]
struct StoredRow {
    state: OrderStatus,
    amount_fen: u64,
}

/// Runs a notification in one round trip (one D1 batch, one transaction)
/// and returns what it read — the attempt before the writes (`None`: no
/// such charge code) — and whether its conditional update applied, for
/// `settle::notify_outcome` to decide from.
///
/// What `plan` asks for, each write conditional on the attempt holding
/// the notified amount (`amount_fen = AMT`, the evidence the store holds),
/// in this order:
/// 1. the read;
/// 2. the count (per order and gateway state), first recorded with the
///    outcome `settle::notify_count_outcome` gives for the state found;
/// 3. the history row, from the state found, if it is one of
///    `state::sources(event)`;
/// 4. the update, under the same condition as the history row;
/// 5. the merchant's event, only if that update changed the row.
///
/// Reads and writes see one state: D1 runs a batch as one transaction, so
/// no other writer comes between them (no lost race to retry).
pub async fn notify(
    db: &Db,
    notice: &Notice<'_>,
    plan: NotifyPlan,
    now: u64,
) -> ApiResult<(Option<StoredAttempt>, bool)> {
    let code = notice.charge_code;
    let amount = notice.amount.fen();
    let mut statements = vec![prepare(
        db,
        "SELECT state, amount_fen FROM orders WHERE charge_code = ?1",
        &[t(code)],
    )?];
    if plan != NotifyPlan::Nothing {
        // One `WHEN` per state, so the label is the pure function's.
        let (mut cases, mut params) = (String::new(), vec![t(code), n(amount), n(now)]);
        params.push(t(notice.state.code()));
        for found in OrderStatus::ALL {
            if let Some(outcome) = settle::notify_count_outcome(plan, found) {
                cases.push_str(&format!(
                    " WHEN ?{} THEN ?{}",
                    params.len() + 1,
                    params.len() + 2
                ));
                params.extend([t(found.as_str()), t(outcome)]);
            }
        }
        // A state without a label fails NOT NULL: the batch rolls back, 500.
        let count = prepare(
            db,
            &format!(
                "INSERT INTO notifications (charge_code, gateway_state, amount_fen, outcome, \
                 received, first_at, last_at) \
                 SELECT charge_code, ?4, amount_fen, CASE state{cases} END, 1, ?3, ?3 \
                 FROM orders WHERE charge_code = ?1 AND amount_fen = ?2 \
                 ON CONFLICT (charge_code, gateway_state) DO UPDATE SET \
                 received = received + 1, last_at = excluded.last_at"
            ),
            &params,
        )?;
        statements.push(count);
        if let NotifyPlan::Apply(event) = plan {
            // The count goes first: it labels the state before the update.
            statements.extend(transition_from_any(db, code, event, amount, now)?);
        }
    }
    let applies = statements.len() > 2;
    let results = db.batch(statements).await.stored()?;
    let read = results
        .first()
        .ok_or_else(|| ApiError::Storage("empty batch result".into()))?
        .results::<StoredRow>()
        .stored()?;
    let stored = read.into_iter().next().map(|r| StoredAttempt {
        state: r.state,
        amount: Fen::from_fen(r.amount_fen),
    });
    let updated = match results.get(3) {
        Some(update) if applies => changes(update)? == 1,
        _ => false,
    };
    if applies {
        outbox::note_written(results.get(4));
    }
    Ok((stored, updated))
}

/// The history row, update and outbox event that move `charge_code` to `to`
/// from whichever state it is in, if `state::can_transition` allows it and
/// the attempt holds `amount_fen` (none when no state may move to `to`).
/// The history row comes before the update, so it records the state the
/// update moves from; the event is written only if the update changed the row.
fn transition_from_any<'d>(
    db: &'d Db,
    charge_code: &str,
    to: OrderStatus,
    amount_fen: u64,
    now: u64,
) -> ApiResult<Vec<Stmt<'d>>> {
    let from: Vec<JsValue> = state::sources(to).map(|s| t(s.as_str())).collect();
    if from.is_empty() {
        return Ok(Vec::new());
    }
    // `?1` the charge code, `?5` the amount, `?6…` the allowed from-states.
    let list: Vec<String> = (6..6 + from.len()).map(|i| format!("?{i}")).collect();
    let condition = format!(
        "charge_code = ?1 AND amount_fen = ?5 AND state IN ({})",
        list.join(", ")
    );
    let mut history = vec![t(charge_code), t(to.as_str()), n(now)];
    history.extend([t(EventSource::Notify.as_str()), n(amount_fen)]);
    history.extend(from.iter().cloned());
    let mut update = transition_params(charge_code, to, now);
    update.push(n(amount_fen));
    update.extend(from);
    Ok(vec![
        prepare(
            db,
            &format!(
                "INSERT OR IGNORE INTO order_events (charge_code, from_state, to_state, \
                 source, at) SELECT charge_code, state, ?2, ?4, ?3 FROM orders WHERE {condition}"
            ),
            &history,
        )?,
        prepare(
            db,
            &format!("UPDATE orders {TRANSITION_SET} WHERE {condition}"),
            &update,
        )?,
        outbox::transition_event(db, charge_code, to, true, now)?,
    ])
}

/// Claims the right to `query` the gateway for a pending order: succeeds for
/// one caller per `min_interval` seconds (the per-order rate limit).
pub async fn claim_query_slot(
    db: &Db,
    charge_code: &str,
    now: u64,
    min_interval: u64,
) -> ApiResult<bool> {
    let result = prepare(
        db,
        "UPDATE orders SET last_query_at = ?2 WHERE charge_code = ?1 \
         AND (last_query_at IS NULL OR last_query_at <= ?3)",
        &[t(charge_code), n(now), n(now.saturating_sub(min_interval))],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

/// The state history of an order, oldest first.
pub async fn events(db: &Db, charge_code: &str) -> ApiResult<Vec<OrderEvent>> {
    all(
        db,
        "SELECT from_state, to_state, source, at FROM order_events WHERE charge_code = ?1 \
         ORDER BY id",
        &[t(charge_code)],
    )
    .await
}

/// The processed notifications of an order.
pub async fn notifications(db: &Db, charge_code: &str) -> ApiResult<Vec<NotificationRecord>> {
    all(
        db,
        "SELECT gateway_state, amount_fen, outcome, received, first_at, last_at \
         FROM notifications WHERE charge_code = ?1 ORDER BY first_at",
        &[t(charge_code)],
    )
    .await
}

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
    let result = prepare(
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
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
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

/// What is still refundable: paid amount minus non-failed refunds, fen.
pub async fn refundable(db: &Db, charge_code: &str) -> ApiResult<u64> {
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
    Ok(row.map(|r| r.remaining.max(0) as u64).unwrap_or(0))
}

/// How the gateway ended a reserved refund.
pub enum RefundEnd<'a> {
    /// Done: the money went back.
    Succeeded,
    /// Refused, with the gateway's code when it gave one.
    Failed(Option<&'a str>),
}

/// Settles a reserved refund and, when it succeeded, the order's refunded
/// total; returns that total, fen.
pub async fn finish_refund(
    db: &Db,
    out_refund_no: &str,
    charge_code: &str,
    end: RefundEnd<'_>,
    now: u64,
) -> ApiResult<u64> {
    let (state, gateway_code) = match end {
        RefundEnd::Succeeded => (RefundState::Succeeded, None),
        RefundEnd::Failed(code) => (RefundState::Failed, code),
    };
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
    // The merchant's event, in the same transaction (transactional outbox).
    let event = outbox::refund_event(
        db,
        out_refund_no,
        charge_code,
        state == RefundState::Succeeded,
        now,
    )?;
    let results = db.batch(vec![settle, total, event]).await.stored()?;
    outbox::note_written(results.get(2));
    Ok(get_order(db, charge_code)
        .await?
        .map(|o| o.refunded_fen)
        .unwrap_or(0))
}

/// The refunds of an order, oldest first.
pub async fn refunds(db: &Db, charge_code: &str) -> ApiResult<Vec<RefundRecord>> {
    all(
        db,
        "SELECT out_refund_no, charge_code, amount_fen, reason, state, gateway_code, created_at, updated_at \
         FROM refunds WHERE charge_code = ?1 ORDER BY created_at, rowid",
        &[t(charge_code)],
    )
    .await
}

/// Payments of links that may need a duplicate refund, money older than
/// `cutoff`, oldest money first: attempts holding money and not judged
/// duplicates that share their link with another such attempt (a link paid
/// twice where nobody decided yet), and attempts judged duplicates, not yet
/// refunded, none of whose `dup-` tries is pending or succeeded and fewer
/// than `max_tries` refused (the task was lost before the first try, or the
/// gateway refused the last one; `settle::duplicate_refund_step` decides
/// whether its wait is over). Those whose last refusal is oldest come
/// first, so one waiting out a long pause cannot starve the others.
pub async fn rival_payments(
    db: &Db,
    cutoff: u64,
    max_tries: u32,
    limit: u64,
) -> ApiResult<Vec<OrderRow>> {
    all(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS} FROM orders o WHERE o.kind = 'link' \
             AND o.state IN ('paid', 'partially_refunded', 'refunded') AND o.paid_at <= ?1 \
             AND ((o.duplicate_of IS NULL \
                   AND EXISTS (SELECT 1 FROM orders p WHERE p.link_id = o.link_id \
                   AND p.charge_code != o.charge_code AND p.duplicate_of IS NULL \
                   AND p.state IN ('paid', 'partially_refunded', 'refunded'))) \
               OR (o.duplicate_of IS NOT NULL AND o.state != 'refunded' \
                   AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.charge_code = o.charge_code \
                   AND r.out_refund_no LIKE 'dup-%' AND r.state != 'failed') \
                   AND (SELECT COUNT(*) FROM refunds r WHERE r.charge_code = o.charge_code \
                   AND r.out_refund_no LIKE 'dup-%') < ?3)) \
             ORDER BY (SELECT MAX(r.updated_at) FROM refunds r \
                       WHERE r.charge_code = o.charge_code AND r.out_refund_no LIKE 'dup-%'), \
                      o.paid_seq LIMIT ?2"
        ),
        &[n(cutoff), n(limit), n(u64::from(max_tries))],
    )
    .await
}

/// Refunds still pending (reserved, outcome unknown after a gateway fault),
/// the merchant's and duplicate-payment ones alike, last touched before
/// `cutoff`, oldest first.
pub async fn pending_refunds_before(
    db: &Db,
    cutoff: u64,
    limit: u64,
) -> ApiResult<Vec<RefundRecord>> {
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
    let result = prepare(
        db,
        "UPDATE refunds SET updated_at = ?2 WHERE out_refund_no = ?1 AND state = 'pending' \
         AND updated_at <= ?3",
        &[t(out_refund_no), n(now), n(cutoff)],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

// ------------------------------------------------------- idempotency keys
// One row per key (`migrations/0003_idempotency.sql`); decisions in
// `checkout::idempotency`.

/// A stored idempotency key as `checkout::idempotency::decide` reads it.
pub async fn idempotency_record(
    db: &Db,
    key_id: &str,
) -> ApiResult<Option<checkout::idempotency::Record>> {
    #[derive(Deserialize)]
    struct Row {
        fingerprint: String,
        status: Option<u16>,
        body: Option<String>,
        created_at: u64,
        locked_at: u64,
    }
    let row = prepare(
        db,
        "SELECT fingerprint, status, body, created_at, locked_at FROM idempotency_keys \
         WHERE key_id = ?1",
        &[t(key_id)],
    )?
    .first::<Row>()
    .await
    .stored()?;
    Ok(row.map(|r| checkout::idempotency::Record {
        fingerprint: r.fingerprint,
        created_at: r.created_at,
        locked_at: r.locked_at,
        answer: r.status.map(|status| checkout::idempotency::Answer {
            status,
            body: r.body.unwrap_or_default(),
        }),
    }))
}

/// Claims a free key for a request (one atomic INSERT): true when this
/// call created the row, false when the key already exists.
pub async fn claim_idempotency_key(
    db: &Db,
    key_id: &str,
    fingerprint: &str,
    now: u64,
) -> ApiResult<bool> {
    let result = prepare(
        db,
        "INSERT INTO idempotency_keys (key_id, fingerprint, created_at, locked_at) \
         VALUES (?1, ?2, ?3, ?3) ON CONFLICT (key_id) DO NOTHING",
        &[t(key_id), t(fingerprint), n(now)],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

/// Takes over an expired or abandoned key, only if the row is still exactly
/// as `seen` (so of two takers one wins, and an answer stored meanwhile is
/// never wiped). An expired key starts a new 24 h; an abandoned one keeps
/// its first claim's time.
pub async fn take_over_idempotency_key(
    db: &Db,
    key_id: &str,
    fingerprint: &str,
    now: u64,
    seen: &checkout::idempotency::Record,
) -> ApiResult<bool> {
    let seen_status = seen
        .answer
        .as_ref()
        .map_or(JsValue::NULL, |a| n(u64::from(a.status)));
    let result = prepare(
        db,
        "UPDATE idempotency_keys SET fingerprint = ?2, status = NULL, body = NULL, \
         created_at = CASE WHEN created_at <= ?6 THEN ?3 ELSE created_at END, locked_at = ?3 \
         WHERE key_id = ?1 AND created_at = ?4 AND locked_at = ?5 AND status IS ?7",
        &[
            t(key_id),
            t(fingerprint),
            n(now),
            n(seen.created_at),
            n(seen.locked_at),
            n(checkout::idempotency::purge_cutoff(now)),
            seen_status,
        ],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

/// Stores the answer of the run that claimed the key at `locked_at`.
pub async fn store_idempotent_answer(
    db: &Db,
    key_id: &str,
    locked_at: u64,
    status: u16,
    body: &str,
) -> ApiResult<()> {
    prepare(
        db,
        "UPDATE idempotency_keys SET status = ?3, body = ?4 \
         WHERE key_id = ?1 AND locked_at = ?2 AND status IS NULL",
        &[t(key_id), n(locked_at), n(u64::from(status)), t(body)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

/// Releases the key claimed at `locked_at` (a 5xx outcome: the retry runs again).
pub async fn release_idempotency_key(db: &Db, key_id: &str, locked_at: u64) -> ApiResult<()> {
    prepare(
        db,
        "DELETE FROM idempotency_keys WHERE key_id = ?1 AND locked_at = ?2 AND status IS NULL",
        &[t(key_id), n(locked_at)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

/// Deletes keys claimed at or before `cutoff` (the cron); returns how many.
pub async fn purge_idempotency_keys(db: &Db, cutoff: u64) -> ApiResult<usize> {
    let result = prepare(
        db,
        "DELETE FROM idempotency_keys WHERE created_at <= ?1",
        &[n(cutoff)],
    )?
    .run()
    .await
    .stored()?;
    changes(&result)
}

/// Records a sign-in `state` before the shopper goes to the wallet.
pub async fn insert_oauth_state(
    db: &Db,
    nonce: &str,
    wallet: &str,
    link_id: &str,
    token: &str,
    expires_at: u64,
) -> ApiResult<()> {
    prepare(
        db,
        "INSERT INTO oauth_states (nonce, wallet, link_id, token, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[t(nonce), t(wallet), t(link_id), t(token), n(expires_at)],
    )?
    .run()
    .await?;
    Ok(())
}

/// A sign-in state claimed by its callback.
#[derive(Debug, Deserialize)]
pub struct OauthStateRow {
    /// `wechat` | `alipay`.
    pub wallet: String,
    /// The link the sign-in started from.
    pub link_id: String,
    /// Its token (the callback returns there).
    pub token: String,
}

/// What claiming a state found.
pub enum OauthClaim {
    /// First use: the row, its token now erased.
    Claimed(OauthStateRow),
    /// Used before.
    Used,
    /// Never recorded (or purged).
    Unknown,
}

/// Claims a state once, atomically (`UPDATE ... WHERE used_at IS NULL
/// RETURNING`), so two callbacks with one state cannot both proceed.
pub async fn claim_oauth_state(db: &Db, nonce: &str, now: u64) -> ApiResult<OauthClaim> {
    // RETURNING gives the row as updated, so the token is erased by a
    // second statement of the same batch (one transaction).
    let results = db
        .batch(vec![
            prepare(
                db,
                "UPDATE oauth_states SET used_at = ?2 \
                 WHERE nonce = ?1 AND used_at IS NULL RETURNING wallet, link_id, token",
                &[t(nonce), n(now)],
            )?,
            prepare(
                db,
                "UPDATE oauth_states SET token = NULL WHERE nonce = ?1",
                &[t(nonce)],
            )?,
        ])
        .await?;
    let claimed: Vec<OauthStateRow> = match results.first() {
        Some(r) => r.results()?,
        None => Vec::new(),
    };
    if let Some(row) = claimed.into_iter().next() {
        return Ok(OauthClaim::Claimed(row));
    }
    #[derive(Deserialize)]
    struct Count {
        n: u64,
    }
    let seen: Vec<Count> = all(
        db,
        "SELECT COUNT(*) AS n FROM oauth_states WHERE nonce = ?1",
        &[t(nonce)],
    )
    .await?;
    Ok(if seen.first().is_some_and(|c| c.n > 0) {
        OauthClaim::Used
    } else {
        OauthClaim::Unknown
    })
}

/// Deletes sign-in states that expired before `cutoff`; returns how many.
pub async fn purge_oauth_states(db: &Db, cutoff: u64) -> ApiResult<usize> {
    let result = prepare(
        db,
        "DELETE FROM oauth_states WHERE expires_at < ?1",
        &[n(cutoff)],
    )?
    .run()
    .await?;
    changes(&result)
}
