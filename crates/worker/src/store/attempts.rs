//! Payment attempts (`orders`), their state history (`order_events`) and
//! processed notifications (`notifications`).
//!
//! State changes are conditional updates run in one batch with the history
//! insert and the merchant's event (the outbox, [`super::events`]).

use checkout::api::{NotificationRecord, OrderEvent, OrderView};
use checkout::flow::pay::{LinkSnapshot, NewAttempt};
use checkout::flow::Attempt;
use checkout::guard::Client;
use checkout::settle::{self, LinkAttempt, StoredAttempt};
use checkout::state;
use checkout::vocab::{EventSource, LinkKind, OrderKind, OrderMethod, OrderStatus, Spelled};
use serde::Deserialize;
use soushou::types::{ChannelType, OrderState};
use soushou::Fen;
use worker::wasm_bindgen::JsValue;

use super::{all, n, ot, prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::ApiResult;

/// One payment attempt (one `CHARGE_CODE`). A stored state or kind this
/// build does not know fails the read (a storage error), never a panic.
#[derive(Clone, Debug, Deserialize)]
pub struct OrderRow {
    /// The attempt's `CHARGE_CODE` (ours, unique).
    pub charge_code: String,
    /// The link this attempt pays, if any.
    pub link_id: Option<String>,
    /// What created the attempt.
    pub kind: OrderKind,
    /// Payment method.
    pub method: OrderMethod,
    /// Gateway `CHANNEL_TYPE` (stored as its code).
    pub channel_type: ChannelType,
    /// The amount.
    #[serde(rename = "amount_fen", deserialize_with = "super::fen")]
    pub amount: Fen,
    /// Sum of succeeded refunds.
    #[serde(rename = "refunded_fen", deserialize_with = "super::fen")]
    pub refunded: Fen,
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
    /// `checkout::guard::Client::ip` of who started it (link attempts).
    #[serde(default)]
    pub client_ip: Option<String>,
    /// `checkout::guard::Client::device` of who started it.
    #[serde(default)]
    pub client_device: Option<String>,
    /// The device that made it (an attempt of a counter code).
    pub device: Option<String>,
}

impl OrderRow {
    /// The shopper's view of the attempt (`GET /api/orders/{code}`, and
    /// inside the merchant's order).
    pub fn view(&self) -> ApiResult<OrderView> {
        Ok(OrderView {
            charge_code: self.charge_code.clone(),
            state: self.state,
            money: self.amount.into(),
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

    /// The attempt as the flows read it.
    pub fn attempt(&self) -> Attempt {
        Attempt {
            charge_code: self.charge_code.clone(),
            link_id: self.link_id.clone(),
            method: self.method,
            amount: self.amount,
            refunded: self.refunded,
            state: self.state,
            charge_down_code: self.charge_down_code.clone(),
            created_at: self.created_at,
            last_query_at: self.last_query_at,
            paid_seq: self.paid_seq,
            duplicate_of: self.duplicate_of.clone(),
            recheck_until: self.recheck_until,
            client: match (&self.client_ip, &self.client_device) {
                (Some(ip), Some(device)) => Some(Client {
                    ip: ip.clone(),
                    device: device.clone(),
                }),
                _ => None,
            },
            device: self.device.clone(),
        }
    }
}

/// The attempts of a link as the link decisions see them.
pub fn link_view(attempts: &[OrderRow]) -> Vec<LinkAttempt<'_>> {
    attempts.iter().map(OrderRow::link_attempt).collect()
}

pub(crate) const ORDER_COLUMNS: &str =
    "charge_code, link_id, kind, method, channel_type, amount_fen, \
    refunded_fen, subject, state, return_url, charge_down_code, charge_third_code, created_at, \
    updated_at, paid_at, last_query_at, paid_seq, duplicate_of, recheck_until, client_ip, \
    client_device, device";

/// The INSERT of a new pending attempt, with its link's merchant
/// reference copied (the lists filter orders by it without a join).
pub(super) fn insert_attempt_statement<'d>(
    db: &'d Db,
    o: &NewAttempt,
    now: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "INSERT INTO orders (charge_code, link_id, kind, method, channel_type, amount_fen, \
         subject, state, return_url, created_at, updated_at, merchant_ref, client_ip, \
         client_device, device) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8, ?9, ?9, \
         (SELECT merchant_ref FROM links WHERE link_id = ?2), ?10, ?11, ?12)",
        &[
            t(&o.charge_code),
            ot(o.link.as_ref().map(|l| l.link_id.as_str())),
            t(o.kind.as_str()),
            t(o.method.as_str()),
            t(o.channel_type.code()),
            n(o.amount.fen()),
            t(&o.subject),
            ot(o.return_url.as_deref()),
            n(now),
            ot(o.client.as_ref().map(|c| c.ip.as_str())),
            ot(o.client.as_ref().map(|c| c.device.as_str())),
            ot(o.device.as_deref()),
        ],
    )
}

/// Deletes an attempt that was stored but never sent to the gateway (its
/// link refused it): only while it is still pending with no gateway serial.
pub(super) fn delete_unsent_statement<'d>(db: &'d Db, charge_code: &str) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "DELETE FROM orders WHERE charge_code = ?1 AND state = 'pending' \
         AND charge_down_code IS NULL",
        &[t(charge_code)],
    )
}

/// Stores the gateway's serial numbers of an attempt once known (each
/// only if given; never erased).
pub(super) fn gateway_codes_statement<'d>(
    db: &'d Db,
    charge_code: &str,
    down: Option<&str>,
    third: Option<&str>,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "UPDATE orders SET charge_down_code = COALESCE(?2, charge_down_code), \
         charge_third_code = COALESCE(?3, charge_third_code) WHERE charge_code = ?1",
        &[t(charge_code), ot(down), ot(third)],
    )
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

/// A link's view in one round trip: whether it takes payments (`false`
/// only when its row says it was deactivated) and, with `attempts`, its
/// attempts newest first.
pub async fn link_view_rows(
    db: &Db,
    link_id: &str,
    attempts: bool,
) -> ApiResult<(bool, Vec<OrderRow>)> {
    #[derive(Deserialize)]
    struct Active {
        active: u8,
    }
    let mut batch = vec![prepare(
        db,
        "SELECT active FROM links WHERE link_id = ?1",
        &[t(link_id)],
    )?];
    if attempts {
        batch.push(prepare(db, &link_attempts_sql(), &[t(link_id)])?);
    }
    let results = db.batch(batch).await.stored()?;
    let active = match results.first() {
        Some(r) => r
            .results::<Active>()
            .stored()?
            .first()
            .is_none_or(|a| a.active != 0),
        None => true,
    };
    let rows = match results.get(1) {
        Some(r) => r.results::<OrderRow>().stored()?,
        None => Vec::new(),
    };
    Ok((active, rows))
}

/// The read of a link (its attempts, newest first, each row carrying
/// whether the link is active) for a batch: a link attempt's, after its
/// writes, so the admission sees the link as the insert's transaction
/// left it.
pub fn link_snapshot_read<'d>(db: &'d Db, link_id: &str) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS}, (SELECT active FROM links WHERE link_id = ?1) AS link_active \
             FROM orders WHERE link_id = ?1 ORDER BY created_at DESC, rowid DESC"
        ),
        &[t(link_id)],
    )
}

/// The link [`link_snapshot_read`] read, as the pay flow reads it (a link
/// without a row, which the batch has just inserted, is active).
pub fn read_link_snapshot(read: &worker::D1Result) -> ApiResult<LinkSnapshot> {
    #[derive(Deserialize)]
    struct Active {
        link_active: Option<u8>,
    }
    let rows = read.results::<OrderRow>().stored()?;
    let active = read.results::<Active>().stored()?;
    Ok(LinkSnapshot {
        attempts: rows.iter().map(OrderRow::attempt).collect(),
        active: active.first().and_then(|r| r.link_active) != Some(0),
    })
}

/// A link's attempts, newest first (an epay trade's payment).
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

/// Attempts pending since before `cutoff` (unix seconds) whose `sweep_at`
/// has come (`now`; never asked: due), the youngest first: the SQL of
/// `checkout::sweep::pick`, so a backlog of old attempts the gateway keeps
/// calling pending cannot hide a young one's lost payment. The index
/// `orders_sweep` (state, created_at, sweep_at) serves the walk from the
/// youngest and the due test without reading the rows it skips.
pub async fn pending_due(db: &Db, cutoff: u64, now: u64, limit: u64) -> ApiResult<Vec<OrderRow>> {
    all(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS} FROM orders INDEXED BY orders_sweep \
             WHERE state = 'pending' AND created_at <= ?1 \
             AND COALESCE(sweep_at, created_at) <= ?2 \
             ORDER BY created_at DESC LIMIT ?3"
        ),
        &[n(cutoff), n(now), n(limit)],
    )
    .await
}

/// What a transition into `?2` sets besides the state (`?3`: now, `?4`: 1
/// if the new state holds money). The first transition into a state holding
/// money stamps when (paid_at) and in which order (paid_seq, one more than
/// any before: SQLite runs the statement alone, so the numbers are unique)
/// the money arrived, and judges it against the link's other attempts
/// (`duplicate_of`, [`judge`]); later ones keep all three.
fn transition_set() -> String {
    format!(
        "SET state = ?2, updated_at = ?3, \
         paid_at = CASE WHEN ?4 = 1 THEN COALESCE(paid_at, ?3) ELSE paid_at END, \
         duplicate_of = CASE WHEN ?4 = 1 AND paid_seq IS NULL \
           THEN COALESCE(duplicate_of, {JUDGE}) ELSE duplicate_of END, \
         paid_seq = CASE WHEN ?4 = 1 THEN COALESCE(paid_seq, \
           (SELECT COALESCE(MAX(paid_seq), 0) + 1 FROM orders)) ELSE paid_seq END",
        JUDGE = judge()
    )
}

/// `settle::duplicate_on_arrival` in SQL, inside the update of the attempt
/// money arrives on (its columns are `orders.*`, as before the update): for
/// a link that keeps every payment (a counter code, by its row's `kind`)
/// NULL; otherwise the kept payment of its link among the others — holding money
/// (`settle::holds_money`), not a duplicate, the first money
/// (`settle::kept_payment`'s order: `paid_seq`, never-paid last, then the
/// code) — or NULL. The update runs alone in its transaction, so two
/// payments arriving together are judged one after the other.
fn judge() -> String {
    let money: Vec<String> = OrderStatus::ALL
        .into_iter()
        .filter(|s| settle::holds_money(*s))
        .map(|s| format!("'{}'", s.as_str()))
        .collect();
    let keep_every: Vec<String> = LinkKind::ALL
        .iter()
        .filter(|k| k.keeps_every_payment())
        .map(|k| format!("'{}'", k.spelling()))
        .collect();
    format!(
        "(SELECT k.charge_code FROM orders k WHERE k.link_id = orders.link_id \
         AND k.charge_code != orders.charge_code AND k.duplicate_of IS NULL \
         AND k.state IN ({}) AND NOT EXISTS (SELECT 1 FROM links c \
           WHERE c.link_id = orders.link_id AND c.kind IN ({})) \
         ORDER BY k.paid_seq IS NULL, k.paid_seq, k.charge_code LIMIT 1)",
        money.join(", "),
        keep_every.join(", ")
    )
}

/// The parameters `?1`–`?4` of [`transition_set`]'s update of `charge_code`.
fn transition_params(charge_code: &str, to: OrderStatus, now: u64) -> Vec<JsValue> {
    let money = if settle::holds_money(to) { 1 } else { 0 };
    vec![t(charge_code), t(to.as_str()), n(now), n(money)]
}

/// The statement of [`mark_duplicate`].
pub(super) fn mark_duplicate_statement<'d>(
    db: &'d Db,
    charge_code: &str,
    kept: &str,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "UPDATE orders SET duplicate_of = ?2 WHERE charge_code = ?1 AND duplicate_of IS NULL",
        &[t(charge_code), t(kept)],
    )
}

/// The statement of [`set_recheck`].
pub(super) fn recheck_statement<'d>(
    db: &'d Db,
    charge_code: &str,
    until: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "UPDATE orders SET recheck_until = MAX(COALESCE(recheck_until, 0), ?2) \
         WHERE charge_code = ?1",
        &[t(charge_code), n(until)],
    )
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
    #[serde(deserialize_with = "super::fen")]
    amount_fen: Fen,
}

/// A notification's read of its attempt, first in its batch (the state
/// and amount before the writes).
pub fn notify_read<'d>(db: &'d Db, charge_code: &str) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "SELECT state, amount_fen FROM orders WHERE charge_code = ?1",
        &[t(charge_code)],
    )
}

/// What [`notify_read`] read (`None`: no such charge code).
pub fn notify_stored(read: &worker::D1Result) -> ApiResult<Option<StoredAttempt>> {
    let rows = read.results::<StoredRow>().stored()?;
    Ok(rows.into_iter().next().map(|r| StoredAttempt {
        state: r.state,
        amount: r.amount_fen,
    }))
}

/// The notification's count (per order and gateway state), first recorded
/// with the label `outcomes` gives for the state the attempt is in
/// (`settle::notify_count_outcome`), only if it holds the notified amount.
pub(super) fn notification_count<'d>(
    db: &'d Db,
    (charge_code, gateway_state, amount): (&str, &OrderState, Fen),
    outcomes: &[(OrderStatus, &str)],
    now: u64,
) -> ApiResult<Stmt<'d>> {
    // One `WHEN` per state, so the label is the pure function's.
    let (mut cases, mut params) = (String::new(), vec![t(charge_code), n(amount.fen()), n(now)]);
    params.push(t(gateway_state.code()));
    for (found, outcome) in outcomes {
        cases.push_str(&format!(
            " WHEN ?{} THEN ?{}",
            params.len() + 1,
            params.len() + 2
        ));
        params.extend([t(found.as_str()), t(outcome)]);
    }
    // A state without a label fails NOT NULL: the batch rolls back, 500.
    prepare(
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
    )
}

/// The history row and update that move `charge_code` to `to` from
/// whichever state it is in, if `state::sources(to)` holds it (and, with
/// `amount`, only if the attempt holds it); none when no state may move to
/// `to`. The history row comes before the update, so it records the state
/// the update moves from; the update is the last statement (its changes
/// say whether the transition applied).
pub(super) fn transition_from_any<'d>(
    db: &'d Db,
    (charge_code, to): (&str, OrderStatus),
    source: EventSource,
    amount: Option<Fen>,
    now: u64,
) -> ApiResult<Vec<Stmt<'d>>> {
    let from: Vec<JsValue> = state::sources(to).map(|s| t(s.as_str())).collect();
    if from.is_empty() {
        return Ok(Vec::new());
    }
    // `?1` the charge code, `?5` the amount (NULL: any), `?6…` the allowed from-states.
    let list: Vec<String> = (6..6 + from.len()).map(|i| format!("?{i}")).collect();
    let condition = format!(
        "charge_code = ?1 AND (?5 IS NULL OR amount_fen = ?5) AND state IN ({})",
        list.join(", ")
    );
    let amount = amount.map_or(JsValue::NULL, |a| n(a.fen()));
    let mut history = vec![t(charge_code), t(to.as_str()), n(now)];
    history.extend([t(source.as_str()), amount.clone()]);
    history.extend(from.iter().cloned());
    let mut update = transition_params(charge_code, to, now);
    update.push(amount);
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
            &format!("UPDATE orders {} WHERE {condition}", transition_set()),
            &update,
        )?,
    ])
}

/// Claims the right to `query` the gateway for a pending order: succeeds for
/// one caller per `min_interval` seconds (the per-order rate limit).
pub(super) fn query_slot_statement<'d>(
    db: &'d Db,
    charge_code: &str,
    now: u64,
    min_interval: u64,
    sweep_at: u64,
) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "UPDATE orders SET last_query_at = ?2, sweep_at = ?4 WHERE charge_code = ?1 \
         AND (last_query_at IS NULL OR last_query_at <= ?3)",
        &[
            t(charge_code),
            n(now),
            n(now.saturating_sub(min_interval)),
            n(sweep_at),
        ],
    )
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

/// One gateway state's notifications of an attempt, as counted.
#[derive(Clone, Debug, Deserialize)]
pub struct NotificationRow {
    /// The gateway's state (appendix 4) the notifications carried; a code
    /// this build does not know is kept as `Unknown`, as the gateway sent it.
    pub gateway_state: OrderState,
    /// The amount they notified (the attempt's: others are refused).
    #[serde(rename = "amount_fen", deserialize_with = "super::fen")]
    pub amount: Fen,
    /// How the first was judged (`settle::notify_count_outcome`'s label).
    pub outcome: String,
    /// How many arrived.
    pub received: u64,
    /// Unix seconds of the first.
    pub first_at: u64,
    /// Unix seconds of the last.
    pub last_at: u64,
}

impl NotificationRow {
    /// The count as the merchant API shows it.
    pub fn record(&self) -> NotificationRecord {
        NotificationRecord {
            gateway_state: self.gateway_state.code().to_owned(),
            amount_fen: self.amount.fen(),
            outcome: self.outcome.clone(),
            received: self.received,
            first_at: self.first_at,
            last_at: self.last_at,
        }
    }
}

/// The processed notifications of an order.
pub async fn notifications(db: &Db, charge_code: &str) -> ApiResult<Vec<NotificationRow>> {
    all(
        db,
        "SELECT gateway_state, amount_fen, outcome, received, first_at, last_at \
         FROM notifications WHERE charge_code = ?1 ORDER BY first_at",
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
/// A counter code's payments are never candidates: each is kept
/// (`LinkKind::keeps_every_payment`), and counted here they filled the
/// limit every run (never tried, they sort first) so a refused duplicate
/// refund of another link was never tried again (chaos seed 3).
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
             AND NOT EXISTS (SELECT 1 FROM links c WHERE c.link_id = o.link_id \
                 AND c.kind = 'counter') \
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
