//! Merchant events (the transactional outbox of webhooks): which event a
//! state change makes, its stable id, the exact JSON that is signed and
//! sent, the retry schedule, and the events API's JSON.
//!
//! The invariant the Worker keeps with these: an event row is written in
//! the same D1 batch as the transition it reports (so it exists if and only
//! if the change committed), its id never changes (receivers dedupe on it),
//! its body is rebuilt from the stored row byte for byte on every delivery
//! (so every attempt carries the same signed payload), and delivery is
//! at least once, in order per order.

use serde::{Deserialize, Serialize};
use soushou::Fen;

use crate::api::OrderStatus;
use crate::error::Error;
use crate::list;
use crate::settle::duplicate_refund_try;
use crate::statement::Statement;
use crate::vocab::{RefundState, Spelled};

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    /// An attempt was paid.
    OrderPaid,
    /// Part of a paid attempt was refunded.
    OrderPartiallyRefunded,
    /// A paid attempt was refunded in full.
    OrderRefunded,
    /// An attempt was revoked (money, if any, returned).
    OrderRevoked,
    /// An attempt closed unpaid.
    OrderClosed,
    /// The gateway refused or never created an attempt.
    OrderFailed,
    /// A refund the merchant asked for went through.
    RefundSucceeded,
    /// A refund was refused by the gateway.
    RefundFailed,
    /// A payment that is not its link's kept payment (a second payment of
    /// a paid link) arrived: it is refunded, never `order.paid`.
    PaymentDuplicate,
    /// A second payment of a paid link was refunded to the shopper.
    PaymentDuplicateRefunded,
    /// A day's statement was stored: its first revision, or a correction
    /// ([`statement_ready`]). Once per revision.
    StatementReady,
    /// An epay trade was paid: the app hears of it at its `notify_url`
    /// (`checkout::epay`), not at the merchant's webhook endpoint. Not part
    /// of the webhook contract ([`ALL`]), but an outbox row like the others.
    EpayNotify,
    /// A test event the merchant asked for (`POST /v1/events/test`), to
    /// see the endpoint take one: about no order, never a state change.
    /// Not part of the webhook contract's changes ([`ALL`]), but delivered,
    /// signed and retried like them.
    TestPing,
}

/// Every event type (the webhook contract, in documentation order).
pub const ALL: [EventType; 11] = [
    EventType::OrderPaid,
    EventType::OrderPartiallyRefunded,
    EventType::OrderRefunded,
    EventType::OrderRevoked,
    EventType::OrderClosed,
    EventType::OrderFailed,
    EventType::RefundSucceeded,
    EventType::RefundFailed,
    EventType::PaymentDuplicate,
    EventType::PaymentDuplicateRefunded,
    EventType::StatementReady,
];

impl EventType {
    /// The wire name (`"order.paid"`), also the D1 column value.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::OrderPaid => "order.paid",
            EventType::OrderPartiallyRefunded => "order.partially_refunded",
            EventType::OrderRefunded => "order.refunded",
            EventType::OrderRevoked => "order.revoked",
            EventType::OrderClosed => "order.closed",
            EventType::OrderFailed => "order.failed",
            EventType::RefundSucceeded => "refund.succeeded",
            EventType::RefundFailed => "refund.failed",
            EventType::PaymentDuplicate => "payment.duplicate",
            EventType::PaymentDuplicateRefunded => "payment.duplicate_refunded",
            EventType::StatementReady => "statement.ready",
            EventType::EpayNotify => "epay.notify",
            EventType::TestPing => "test.ping",
        }
    }

    /// The event type spelled `wire` (a stored `kind`); `None` for a name
    /// this build does not know.
    pub fn parse(wire: &str) -> Option<EventType> {
        ALL.into_iter()
            .chain([EventType::EpayNotify, EventType::TestPing])
            .find(|e| e.as_str() == wire)
    }

    /// Whether the event goes to an epay app's `notify_url` (its own
    /// delivery stream, never blocked by the merchant's webhooks).
    pub fn is_epay(self) -> bool {
        self == EventType::EpayNotify
    }

    /// Whether the event reports a refund (its row carries the refund's
    /// state and amount) rather than an order's transition.
    pub fn is_refund(self) -> bool {
        matches!(
            self,
            EventType::RefundSucceeded
                | EventType::RefundFailed
                | EventType::PaymentDuplicateRefunded
        )
    }

    /// The event an order transition into `to` makes: one per state an
    /// order can enter (`pending` is where it starts, so none).
    pub fn for_transition(to: OrderStatus) -> Option<EventType> {
        match to {
            OrderStatus::Pending => None,
            OrderStatus::Paid => Some(EventType::OrderPaid),
            OrderStatus::PartiallyRefunded => Some(EventType::OrderPartiallyRefunded),
            OrderStatus::Refunded => Some(EventType::OrderRefunded),
            OrderStatus::Revoked => Some(EventType::OrderRevoked),
            OrderStatus::Closed => Some(EventType::OrderClosed),
            OrderStatus::Failed => Some(EventType::OrderFailed),
        }
    }

    /// Whether the event reports a day's statement (its row carries the
    /// statement in `data`, not an order).
    pub fn is_statement(self) -> bool {
        self == EventType::StatementReady
    }

    /// The event a settled refund makes: the refund of a duplicate payment
    /// (any try numbered by `settle::duplicate_refund_no`) that succeeded is
    /// news of its own.
    pub fn for_refund(succeeded: bool, out_refund_no: &str, charge_code: &str) -> EventType {
        let duplicate = duplicate_refund_try(charge_code, out_refund_no).is_some();
        match (succeeded, duplicate) {
            (false, _) => EventType::RefundFailed,
            (true, true) => EventType::PaymentDuplicateRefunded,
            (true, false) => EventType::RefundSucceeded,
        }
    }
}

/// The outbox key that makes writing an event idempotent: an order enters
/// each state at most once, a refund settles once.
pub fn dedupe_key_transition(charge_code: &str, to: OrderStatus) -> String {
    format!("order:{charge_code}:{}", to.as_str())
}

/// The event money arriving on an attempt makes, by whether the
/// transaction that recorded it judged it a duplicate
/// (`settle::duplicate_on_arrival`): `order.paid` for a kept payment,
/// `payment.duplicate` for one that is refunded — never both, since a
/// payment is judged once. With its outbox key.
pub fn payment_event(charge_code: &str, duplicate: bool) -> (EventType, String) {
    if duplicate {
        (
            EventType::PaymentDuplicate,
            format!("payment:{charge_code}:duplicate"),
        )
    } else {
        (
            EventType::OrderPaid,
            dedupe_key_transition(charge_code, OrderStatus::Paid),
        )
    }
}

/// A `statement.ready` event to write into the outbox
/// ([`statement_ready`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementEvent {
    /// `statement:{date}:{revision}`: once per revision.
    pub dedupe_key: String,
    /// `statement:{date}`, stored where an order event has its charge
    /// code: the delivery order's stream, so a day's revisions reach the
    /// merchant in order and never wait behind an order's events.
    pub stream: String,
    /// The revision as stored and served (the event's `data`).
    pub statement: Statement,
}

/// The `statement.ready` event a stored revision makes: keyed by the day
/// and revision, so each revision is announced once (the store writes it
/// in the batch that inserts the revision, only if that insert stored
/// it), and a build that stores nothing (`statement::revise` is `None`) announces
/// nothing. Its data is the revision as `GET /v1/statements/{date}`
/// serves it.
pub fn statement_ready(s: &Statement) -> StatementEvent {
    StatementEvent {
        dedupe_key: format!("statement:{}:{}", s.date, s.revision),
        stream: format!("statement:{}", s.date),
        statement: s.clone(),
    }
}

/// The outbox key and the stand-in charge code of a test event made with
/// `nonce` (fresh randomness): every test is its own event, and its own
/// "order", so a test the endpoint refuses holds up no later one.
pub fn test_event(nonce: &str) -> (String, String) {
    (format!("test:{nonce}"), format!("test_{nonce}"))
}

/// [`dedupe_key_transition`] for a settled refund.
pub fn dedupe_key_refund(out_refund_no: &str) -> String {
    format!("refund:{out_refund_no}")
}

/// The public id of the outbox row numbered `seq` (`evt_42`): stable, and
/// ordered like the rows, so it doubles as the events API's cursor.
pub fn event_id(seq: u64) -> String {
    format!("evt_{seq}")
}

/// The row number in an event id; `None` for anything else.
pub fn parse_event_id(id: &str) -> Option<u64> {
    let digits = id.strip_prefix("evt_")?;
    if digits.is_empty() || digits.len() > 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&n| n > 0)
}

/// The `state` an event carries: an order event the order's state after
/// the change, a refund event the refund's (`succeeded`/`failed`). The
/// spellings overlap (`failed`, `pending`), so which one a stored value is
/// follows from the event's kind ([`EventState::parse`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventState {
    /// The order's state (order events).
    Order(OrderStatus),
    /// The refund's state (refund events).
    Refund(RefundState),
    /// A statement event's: its revision is stored (`ready`).
    Ready,
}

impl EventState {
    /// The stored and webhook spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventState::Order(s) => s.as_str(),
            EventState::Refund(s) => s.as_str(),
            EventState::Ready => "ready",
        }
    }

    /// The stored `state` of an event of `kind`; `None` for a spelling
    /// that is not a state of that kind of event.
    pub fn parse(kind: EventType, wire: &str) -> Option<EventState> {
        if kind.is_statement() {
            (wire == "ready").then_some(EventState::Ready)
        } else if kind.is_refund() {
            [
                RefundState::Pending,
                RefundState::Succeeded,
                RefundState::Failed,
            ]
            .into_iter()
            .find(|s| s.as_str() == wire)
            .map(EventState::Refund)
        } else {
            OrderStatus::ALL
                .into_iter()
                .find(|s| s.as_str() == wire)
                .map(EventState::Order)
        }
    }
}

/// An outbox row as stored (`migrations/0004_webhook_events.sql`): a
/// snapshot of the order taken in the transaction of the change. Typed:
/// the Worker's store parses the stored spellings ([`EventType::parse`],
/// [`EventState::parse`]) and refuses a row it does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRecord {
    /// Row number (the id is [`event_id`] of it).
    pub seq: u64,
    /// What happened.
    pub kind: EventType,
    /// The attempt.
    pub charge_code: String,
    /// The link paid by the attempt, if any.
    pub link_id: Option<String>,
    /// The link's `ref`, the merchant's own reference.
    pub merchant_ref: Option<String>,
    /// The attempt's amount.
    pub amount: Fen,
    /// Refunded so far.
    pub refunded: Fen,
    /// The order's state after the change, or the refund's.
    pub state: EventState,
    /// For refund events: the refund's number.
    pub out_refund_no: Option<String>,
    /// For refund events: the refund's amount.
    pub refund: Option<Fen>,
    /// When the change committed, unix seconds.
    pub created_at: u64,
    /// For a statement event: the revision it announces (its row's
    /// `charge_code` is then [`StatementEvent::stream`], its amounts 0).
    pub statement: Option<Statement>,
}

/// The refund an event is about.
#[derive(Serialize)]
struct RefundData<'a> {
    out_refund_no: &'a str,
    amount: String,
    amount_fen: u64,
}

#[derive(Serialize)]
struct Data<'a> {
    charge_code: &'a str,
    #[serde(rename = "ref")]
    merchant_ref: Option<&'a str>,
    link_id: Option<&'a str>,
    state: &'a str,
    amount: String,
    amount_fen: u64,
    refunded: String,
    refunded_fen: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refund: Option<RefundData<'a>>,
    created_at: u64,
}

#[derive(Serialize)]
struct Payload<'a, D> {
    id: String,
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: D,
}

/// The webhook body of an event: Standard Webhooks' `{type, timestamp,
/// data}` (plus the id), amounts in yuan strings and fen. Deterministic: the
/// same row gives the same bytes, so every delivery carries the same
/// signed payload. A statement event's data is its revision as `GET
/// /v1/statements/{date}` serves it.
pub fn body(e: &EventRecord) -> String {
    if let Some(s) = &e.statement {
        let payload = Payload {
            id: event_id(e.seq),
            kind: e.kind.as_str(),
            timestamp: rfc3339(e.created_at),
            data: s,
        };
        // A struct of strings, integers and maps of them always serialises.
        return serde_json::to_string(&payload).unwrap_or_default();
    }
    if e.kind == EventType::TestPing {
        return test_body(e);
    }
    let payload = Payload {
        id: event_id(e.seq),
        kind: e.kind.as_str(),
        timestamp: rfc3339(e.created_at),
        data: Data {
            charge_code: &e.charge_code,
            merchant_ref: e.merchant_ref.as_deref(),
            link_id: e.link_id.as_deref(),
            state: e.state.as_str(),
            amount: e.amount.to_yuan(),
            amount_fen: e.amount.fen(),
            refunded: e.refunded.to_yuan(),
            refunded_fen: e.refunded.fen(),
            refund: e.out_refund_no.as_deref().map(|no| {
                let fen = e.refund.unwrap_or(Fen::ZERO);
                RefundData {
                    out_refund_no: no,
                    amount: fen.to_yuan(),
                    amount_fen: fen.fen(),
                }
            }),
            created_at: e.created_at,
        },
    };
    // Plain structs of strings and integers always serialise.
    serde_json::to_string(&payload).unwrap_or_default()
}

/// A test event's body: `{"id", "type": "test.ping", "timestamp",
/// "data": {"test": true, "created_at"}}` — nothing a receiver could
/// mistake for an order.
fn test_body(e: &EventRecord) -> String {
    let payload = serde_json::json!({
        "id": event_id(e.seq),
        "type": e.kind.as_str(),
        "timestamp": rfc3339(e.created_at),
        "data": {"test": true, "created_at": e.created_at},
    });
    payload.to_string()
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC), the spec's timestamp form.
pub fn rfc3339(secs: u64) -> String {
    let c = crate::format::civil(secs, 0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// When delivery is retried and when it gives up.
///
/// Exponential: after the `n`th failed attempt the next one waits
/// `base * factor^(n-1)` seconds, capped (a Cloudflare Queue delays a
/// message by at most 12 h); after `max_attempts` attempts the event is
/// dead-lettered. The default adds up to about three days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Wait after the first failure, seconds.
    pub base_secs: u64,
    /// Growth per failure.
    pub factor: u64,
    /// Longest wait, seconds.
    pub cap_secs: u64,
    /// Attempts before the event is dead-lettered.
    pub max_attempts: u64,
}

impl Default for RetryPolicy {
    /// 5 s, 30 s, 3 min, 18 min, 1.8 h, 10.8 h, then 12 h: 12 attempts over ≈ 3 days.
    fn default() -> Self {
        RetryPolicy {
            base_secs: 5,
            factor: 6,
            cap_secs: 43_200,
            max_attempts: 12,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `failed` failed attempts, or
    /// `None` when the event must be dead-lettered.
    pub fn next_delay(&self, failed: u64) -> Option<u64> {
        if failed == 0 {
            return Some(0);
        }
        if failed >= self.max_attempts {
            return None;
        }
        let mut delay = self.base_secs;
        for _ in 1..failed {
            delay = delay.saturating_mul(self.factor);
            if delay >= self.cap_secs {
                break;
            }
        }
        Some(delay.min(self.cap_secs))
    }

    /// From the first attempt to the last, seconds (what the docs promise).
    pub fn span_secs(&self) -> u64 {
        (1..self.max_attempts)
            .filter_map(|n| self.next_delay(n))
            .sum()
    }
}

/// Whether an HTTP answer acknowledges a webhook: any 2xx (within the
/// timeout; no answer is `None`).
pub fn acknowledged(status: Option<u16>) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
}

/// What one delivery attempt decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterAttempt {
    /// Acknowledged: the event is delivered.
    Delivered,
    /// Not acknowledged: try again after this many seconds; the round has
    /// `failures` failed attempts now.
    Retry {
        /// Seconds until the next attempt.
        in_secs: u64,
        /// Failed attempts of the round so far.
        failures: u64,
    },
    /// Not acknowledged and the schedule is spent: to the dead-letter queue.
    DeadLetter {
        /// Failed attempts of the round so far.
        failures: u64,
    },
}

impl AfterAttempt {
    /// Decides from the answer (`None`: no answer) and the round's earlier failures.
    pub fn decide(policy: &RetryPolicy, earlier_failures: u64, status: Option<u16>) -> Self {
        if acknowledged(status) {
            return AfterAttempt::Delivered;
        }
        let failures = earlier_failures + 1;
        match policy.next_delay(failures) {
            Some(in_secs) => AfterAttempt::Retry { in_secs, failures },
            None => AfterAttempt::DeadLetter { failures },
        }
    }

    /// Failed attempts of the round after this one (`earlier` when delivered).
    pub fn failures(&self, earlier: u64) -> u64 {
        match *self {
            AfterAttempt::Delivered => earlier,
            AfterAttempt::Retry { failures, .. } | AfterAttempt::DeadLetter { failures } => {
                failures
            }
        }
    }

    /// Seconds until the event is due again (0 when nothing is due).
    pub fn due_in(&self) -> u64 {
        match *self {
            AfterAttempt::Retry { in_secs, .. } => in_secs,
            AfterAttempt::Delivered | AfterAttempt::DeadLetter { .. } => 0,
        }
    }
}

/// One delivery attempt as the events API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptView {
    /// When it was sent, unix seconds.
    pub at: u64,
    /// The HTTP status, `null` when no answer came (timeout, refused).
    pub status: Option<u16>,
    /// From sending to the answer (or giving up), milliseconds.
    pub latency_ms: u64,
    /// Why it did not get an answer.
    pub error: Option<String>,
    /// The start of the merchant's answer (at most
    /// [`crate::webhook::ANSWER_START_CHARS`] characters), when it answered;
    /// `null` for attempts recorded before it was kept.
    #[serde(default)]
    pub answer: Option<String>,
}

/// An event in the events API: the exact payload the webhook carries,
/// plus its delivery state.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    /// `evt_…`, the `webhook-id` of its deliveries.
    pub id: String,
    /// `order.paid`, ...
    #[serde(rename = "type")]
    pub kind: String,
    /// When the change committed, unix seconds.
    pub created_at: u64,
    /// `pending` (being delivered or retried), `delivered` or `failed` (dead-lettered).
    pub delivery: String,
    /// Delivery attempts so far.
    pub attempt_count: u64,
    /// The webhook body, parsed.
    pub payload: serde_json::Value,
    /// Every attempt, oldest first (`GET /v1/events/{id}` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<Vec<AttemptView>>,
}

/// `GET /v1/events?after=&limit=` → 200.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EventList {
    /// Oldest first, after the cursor.
    pub data: Vec<EventView>,
    /// Whether more events follow the last one.
    pub has_more: bool,
    /// The cursor for the next page (the last id here; the same cursor again when empty).
    pub next_after: Option<String>,
}

/// Page size of the events API: `limit` defaults to 50 and is clamped to 1..=200.
pub fn page_limit(limit: Option<u64>) -> u64 {
    limit.unwrap_or(50).clamp(1, 200)
}

/// Where an event's delivery stands (`webhook_events.delivery`, the
/// event's `delivery` and the `delivery` filter); a stored value this
/// build does not know fails the read (a storage error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not delivered yet; retried.
    Pending,
    /// The merchant answered 2xx.
    Delivered,
    /// The retry schedule gave up (dead-lettered); redeliverable.
    Failed,
}

impl DeliveryState {
    /// The stored and API spelling.
    pub fn as_str(self) -> &'static str {
        self.spelling()
    }
}

impl Spelled for DeliveryState {
    const ALL: &'static [Self] = &[
        DeliveryState::Pending,
        DeliveryState::Delivered,
        DeliveryState::Failed,
    ];
    fn spelling(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Failed => "failed",
        }
    }
}

/// A page of `GET /v1/events`: events after `after` (a row number, 0 from
/// the start), oldest first, at most `limit`, of one order and/or one
/// delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventQuery {
    /// The row number of the cursor event (`after=evt_…`), 0 without one.
    pub after: u64,
    /// 1..=200 ([`page_limit`]).
    pub limit: u64,
    /// `order=<charge code>`: only that order's events (a statement's
    /// events are found by their stream, `statement:YYYY-MM-DD`).
    pub order: Option<String>,
    /// `delivery=pending|delivered|failed`: only events whose delivery
    /// stands there (`failed`: the ones a merchant must look at).
    pub delivery: Option<DeliveryState>,
    /// Through which index the store reads the page.
    pub index: EventIndex,
}

/// The index a page of events is read through, in row order (`seq`), so
/// a page never sorts and paging by `after` has no gaps (module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventIndex {
    /// The row number itself (no filter).
    Seq,
    /// `webhook_events_by_order (charge_code, seq)`: an order has a
    /// handful of events, so with a delivery filter too this is the
    /// narrower one.
    Order,
    /// `webhook_events_by_delivery (delivery, seq)` (migration `0015`).
    Delivery,
}

impl EventIndex {
    /// The index name (`INDEXED BY`); none for the row number.
    pub fn name(self) -> Option<&'static str> {
        match self {
            EventIndex::Seq => None,
            EventIndex::Order => Some("webhook_events_by_order"),
            EventIndex::Delivery => Some("webhook_events_by_delivery"),
        }
    }
}

/// Reads the query string of `GET /v1/events`. Contract v1 ignored
/// parameters it did not know and an empty `after`, and clamped `limit`
/// into 1..=200; that stays (extended, not broken). A filter it does know
/// is checked strictly: a bad value is a 400 naming the field, never a
/// silently unfiltered list. A filter given twice is refused, as on the
/// other lists.
pub fn list_query<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Result<EventQuery, Error> {
    let invalid = |field, reason| Error::InvalidRequest { field, reason };
    let mut after = 0;
    let mut limit = None;
    let mut order: Option<String> = None;
    let mut delivery = None;
    for (k, v) in pairs {
        let (k, v) = (k.as_ref(), v.as_ref());
        match k {
            "after" if !v.is_empty() => {
                after = parse_event_id(v).ok_or(invalid("after", "must be an event id"))?;
            }
            "limit" => {
                limit = Some(
                    v.parse()
                        .map_err(|_| invalid("limit", "must be a whole number"))?,
                );
            }
            "order" => {
                if order.is_some() {
                    return Err(invalid("order", "given more than once"));
                }
                order = Some(list::text("order", v)?);
            }
            "delivery" => {
                if delivery.is_some() {
                    return Err(invalid("delivery", "given more than once"));
                }
                delivery = Some(
                    DeliveryState::from_spelling(v)
                        .ok_or(invalid("delivery", "must be pending, delivered or failed"))?,
                );
            }
            _ => {}
        }
    }
    let index = match (&order, delivery) {
        (Some(_), _) => EventIndex::Order,
        (None, Some(_)) => EventIndex::Delivery,
        (None, None) => EventIndex::Seq,
    };
    Ok(EventQuery {
        after,
        limit: page_limit(limit),
        order,
        delivery,
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entered_state_has_one_event() {
        use OrderStatus::*;
        let cases = [
            (Pending, None),
            (Paid, Some("order.paid")),
            (PartiallyRefunded, Some("order.partially_refunded")),
            (Refunded, Some("order.refunded")),
            (Revoked, Some("order.revoked")),
            (Closed, Some("order.closed")),
            (Failed, Some("order.failed")),
        ];
        for (to, want) in cases {
            assert_eq!(EventType::for_transition(to).map(EventType::as_str), want);
        }
        let names: std::collections::HashSet<_> = ALL.iter().map(|e| e.as_str()).collect();
        assert_eq!(names.len(), ALL.len());
    }

    #[test]
    fn refund_events() {
        let cases = [
            (true, "r-1", "L1", "refund.succeeded"),
            (false, "r-1", "L1", "refund.failed"),
            (true, "dup-L1", "L1", "payment.duplicate_refunded"),
            (false, "dup-L1", "L1", "refund.failed"),
            (true, "dup-L1-2", "L1", "payment.duplicate_refunded"),
            (false, "dup-L1-2", "L1", "refund.failed"),
            // Another attempt's duplicate number is an ordinary refund here.
            (true, "dup-L2", "L1", "refund.succeeded"),
        ];
        for (ok, no, code, want) in cases {
            assert_eq!(EventType::for_refund(ok, no, code).as_str(), want);
        }
    }

    #[test]
    fn ids_round_trip_and_reject_garbage() {
        assert_eq!(event_id(42), "evt_42");
        let cases = [
            ("evt_42", Some(42)),
            ("evt_1", Some(1)),
            ("evt_0", None),
            ("evt_", None),
            ("evt_-1", None),
            ("evt_1a", None),
            ("evt_9999999999999999", None),
            ("42", None),
            ("EVT_42", None),
        ];
        for (id, want) in cases {
            assert_eq!(parse_event_id(id), want, "{id}");
        }
    }

    #[test]
    fn dedupe_keys_are_per_state_and_per_refund() {
        assert_eq!(
            dedupe_key_transition("L1", OrderStatus::PartiallyRefunded),
            "order:L1:partially_refunded"
        );
        assert_eq!(dedupe_key_refund("dup-L1"), "refund:dup-L1");
        // A payment is kept or not: two kinds, two keys, one written.
        assert_eq!(
            payment_event("L1", false),
            (EventType::OrderPaid, "order:L1:paid".to_owned())
        );
        assert_eq!(
            payment_event("L1", true),
            (
                EventType::PaymentDuplicate,
                "payment:L1:duplicate".to_owned()
            )
        );
    }

    fn record() -> EventRecord {
        EventRecord {
            seq: 7,
            kind: EventType::OrderPaid,
            charge_code: "L1abc".into(),
            link_id: Some("lnk".into()),
            merchant_ref: Some("order-42".into()),
            amount: Fen::from_fen(1250),
            refunded: Fen::ZERO,
            state: EventState::Order(OrderStatus::Paid),
            out_refund_no: None,
            refund: None,
            created_at: 1_700_000_000,
            statement: None,
        }
    }

    /// The invariant of `statement.ready`: the merchant hears exactly one
    /// event per stored revision — none for a build that changes
    /// nothing, a new one (with its reason) for each correction, and one
    /// for a revision two concurrent builds both computed. The store's
    /// two `INSERT OR IGNORE`s are modelled here: the revision on
    /// `(date, revision)`, its event on the key, written only when the
    /// revision's insert stored a row.
    #[test]
    fn one_event_per_revision() {
        use crate::list::Channel;
        use crate::statement::{figures, revise, Group, Movement, Summary, TIMEZONE};
        use std::collections::BTreeMap;
        let g = |movement, channel, count, fen| Group {
            movement,
            channel,
            count,
            amount: Fen::from_fen(fen),
        };
        let pay = |n: u64| figures(&[g(Movement::Payment, Channel::Wechat, n, n * 100)], vec![]);
        // Each step: the summaries builds computed from the same latest
        // revision (two: concurrent builds), and the events heard after it.
        // (revision, reason) of each event heard.
        type Heard<'a> = &'a [(u32, Option<&'a str>)];
        let steps: [(&[Summary], Heard); 6] = [
            (&[pay(1)], &[(1, None)]),
            (&[pay(1)], &[]),
            (&[pay(1), pay(1)], &[]),
            (
                &[pay(2)],
                &[(
                    2,
                    Some("late changes after the previous revision: payments 1 (1.00) → 2 (2.00)"),
                )],
            ),
            // Two builds race on revision 3; one of them is stored and
            // announced, the other one's insert is ignored.
            (
                &[pay(3), pay(4)],
                &[(
                    3,
                    Some("late changes after the previous revision: payments 2 (2.00) → 3 (3.00)"),
                )],
            ),
            (&[pay(3)], &[]),
        ];
        let mut stored: BTreeMap<u32, Statement> = BTreeMap::new();
        let mut outbox: BTreeMap<String, StatementEvent> = BTreeMap::new();
        for (i, (builds, want)) in steps.iter().enumerate() {
            let latest = stored.values().last().cloned();
            let before = outbox.len();
            for summary in builds.iter() {
                let Some((revision, reason)) = revise(latest.as_ref(), summary) else {
                    continue;
                };
                let s = Statement {
                    date: "2025-12-07".into(),
                    timezone: TIMEZONE.into(),
                    revision,
                    reason,
                    summary: summary.clone(),
                    created_at: i as u64,
                };
                if stored.contains_key(&revision) {
                    continue; // INSERT OR IGNORE: the revision exists.
                }
                stored.insert(revision, s.clone());
                let e = statement_ready(&s);
                outbox.entry(e.dedupe_key.clone()).or_insert(e);
            }
            let heard: Vec<(u32, Option<&str>)> = outbox
                .values()
                .skip(before)
                .map(|e| (e.statement.revision, e.statement.reason.as_deref()))
                .collect();
            assert_eq!(heard, *want, "step {i}");
        }
        // One event per revision, each carrying that revision as stored.
        assert_eq!(outbox.len(), stored.len());
        for (r, s) in &stored {
            let e = &outbox[&format!("statement:2025-12-07:{r}")];
            assert_eq!(&e.statement, s);
            assert_eq!(e.stream, "statement:2025-12-07");
        }
    }

    #[test]
    fn statement_ready_carries_the_revision() {
        use crate::statement::{figures, Group, Movement, TIMEZONE};
        let s = Statement {
            date: "2025-12-07".into(),
            timezone: TIMEZONE.into(),
            revision: 2,
            reason: Some("late changes".into()),
            summary: figures(
                &[Group {
                    movement: Movement::Payment,
                    channel: crate::list::Channel::Alipay,
                    count: 3,
                    amount: Fen::from_fen(1234),
                }],
                vec![],
            ),
            created_at: 1_700_000_000,
        };
        let e = statement_ready(&s);
        assert_eq!(e.dedupe_key, "statement:2025-12-07:2");
        assert_eq!(e.stream, "statement:2025-12-07");
        let rec = EventRecord {
            kind: EventType::StatementReady,
            charge_code: e.stream.clone(),
            link_id: None,
            merchant_ref: None,
            amount: Fen::ZERO,
            state: EventState::Ready,
            statement: Some(e.statement),
            ..record()
        };
        let v: serde_json::Value = serde_json::from_str(&body(&rec)).unwrap();
        assert_eq!(v["type"], "statement.ready");
        assert_eq!(v["id"], "evt_7");
        // The data is the statement as GET /v1/statements/{date} serves it.
        assert_eq!(v["data"], serde_json::to_value(&s).unwrap());
        assert_eq!(v["data"]["date"], "2025-12-07");
        assert_eq!(v["data"]["revision"], 2);
        assert_eq!(v["data"]["payments"]["amount_fen"], 1234);
        assert_eq!(v["data"]["net_fen"], 1234);
        assert_eq!(v["data"]["by_channel"]["alipay"]["payments"]["count"], 3);
        assert_eq!(
            body(&rec),
            body(&rec.clone()),
            "the same bytes every delivery"
        );
        assert_eq!(
            EventType::parse("statement.ready"),
            Some(EventType::StatementReady)
        );
        assert_eq!(
            EventState::parse(EventType::StatementReady, "ready"),
            Some(EventState::Ready)
        );
        assert_eq!(EventState::parse(EventType::StatementReady, "paid"), None);
        assert_eq!(EventState::parse(EventType::OrderPaid, "ready"), None);
    }

    #[test]
    fn a_test_event_is_about_no_order() {
        let (key, code) = test_event("ab12");
        assert_eq!((key.as_str(), code.as_str()), ("test:ab12", "test_ab12"));
        let ping = EventRecord {
            kind: EventType::TestPing,
            charge_code: code,
            link_id: None,
            merchant_ref: None,
            amount: Fen::ZERO,
            state: EventState::Order(OrderStatus::Pending),
            ..record()
        };
        assert_eq!(
            body(&ping),
            r#"{"data":{"created_at":1700000000,"test":true},"id":"evt_7","timestamp":"2023-11-14T22:13:20Z","type":"test.ping"}"#
        );
        assert_eq!(EventType::parse("test.ping"), Some(EventType::TestPing));
        assert!(!ALL.contains(&EventType::TestPing));
        assert!(!EventType::TestPing.is_epay() && !EventType::TestPing.is_refund());
    }

    #[test]
    fn body_is_the_documented_payload() {
        let body = body(&record());
        assert_eq!(
            body,
            r#"{"id":"evt_7","type":"order.paid","timestamp":"2023-11-14T22:13:20Z","data":{"charge_code":"L1abc","ref":"order-42","link_id":"lnk","state":"paid","amount":"12.50","amount_fen":1250,"refunded":"0.00","refunded_fen":0,"created_at":1700000000}}"#
        );
        let refund = EventRecord {
            kind: EventType::RefundSucceeded,
            state: EventState::Refund(RefundState::Succeeded),
            refunded: Fen::from_fen(300),
            out_refund_no: Some("r-1".into()),
            refund: Some(Fen::from_fen(300)),
            merchant_ref: None,
            ..record()
        };
        let v: serde_json::Value = serde_json::from_str(&super::body(&refund)).unwrap();
        assert_eq!(v["data"]["refund"]["amount"], "3.00");
        assert_eq!(v["data"]["refund"]["out_refund_no"], "r-1");
        assert_eq!(v["data"]["refunded_fen"], 300);
        assert!(v["data"]["ref"].is_null());
    }

    #[test]
    fn each_state_kind_serializes_as_before() {
        // The bytes the untyped row (`state: "failed"`, amounts in u64) gave.
        let order_failed = EventRecord {
            kind: EventType::OrderFailed,
            state: EventState::Order(OrderStatus::Failed),
            ..record()
        };
        assert_eq!(
            body(&order_failed),
            r#"{"id":"evt_7","type":"order.failed","timestamp":"2023-11-14T22:13:20Z","data":{"charge_code":"L1abc","ref":"order-42","link_id":"lnk","state":"failed","amount":"12.50","amount_fen":1250,"refunded":"0.00","refunded_fen":0,"created_at":1700000000}}"#
        );
        let refund_failed = EventRecord {
            kind: EventType::RefundFailed,
            state: EventState::Refund(RefundState::Failed),
            refunded: Fen::from_fen(250),
            out_refund_no: Some("r-2".into()),
            refund: Some(Fen::from_fen(1005)),
            ..record()
        };
        assert_eq!(
            body(&refund_failed),
            r#"{"id":"evt_7","type":"refund.failed","timestamp":"2023-11-14T22:13:20Z","data":{"charge_code":"L1abc","ref":"order-42","link_id":"lnk","state":"failed","amount":"12.50","amount_fen":1250,"refunded":"2.50","refunded_fen":250,"refund":{"out_refund_no":"r-2","amount":"10.05","amount_fen":1005},"created_at":1700000000}}"#
        );
    }

    #[test]
    fn stored_kinds_and_states_parse_by_kind() {
        for kind in ALL {
            assert_eq!(EventType::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventType::parse("order.shipped"), None);
        assert_eq!(EventType::parse("ORDER.PAID"), None);
        let cases = [
            (
                EventType::OrderFailed,
                "failed",
                Some(EventState::Order(OrderStatus::Failed)),
            ),
            (
                EventType::OrderPartiallyRefunded,
                "partially_refunded",
                Some(EventState::Order(OrderStatus::PartiallyRefunded)),
            ),
            (
                EventType::RefundFailed,
                "failed",
                Some(EventState::Refund(RefundState::Failed)),
            ),
            (
                EventType::PaymentDuplicateRefunded,
                "succeeded",
                Some(EventState::Refund(RefundState::Succeeded)),
            ),
            // A refund's state on an order event, and the other way round.
            (EventType::OrderPaid, "succeeded", None),
            (EventType::RefundSucceeded, "paid", None),
            (EventType::OrderPaid, "", None),
        ];
        for (kind, wire, want) in cases {
            let got = EventState::parse(kind, wire);
            assert_eq!(got, want, "{kind:?} {wire}");
            if let Some(state) = got {
                assert_eq!(state.as_str(), wire);
            }
        }
    }

    #[test]
    fn rfc3339_table() {
        let cases = [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_614_265_330, "2021-02-25T15:02:10Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
            (4_107_542_399, "2100-02-28T23:59:59Z"),
            (4_107_542_400, "2100-03-01T00:00:00Z"),
        ];
        for (secs, want) in cases {
            assert_eq!(rfc3339(secs), want);
        }
    }

    #[test]
    fn default_retry_schedule_spans_about_three_days() {
        let p = RetryPolicy::default();
        let delays: Vec<Option<u64>> = (0..=12).map(|n| p.next_delay(n)).collect();
        assert_eq!(
            delays,
            vec![
                Some(0),
                Some(5),
                Some(30),
                Some(180),
                Some(1_080),
                Some(6_480),
                Some(38_880),
                Some(43_200),
                Some(43_200),
                Some(43_200),
                Some(43_200),
                Some(43_200),
                None,
            ]
        );
        let span = p.span_secs();
        assert_eq!(span, 262_655);
        assert!((2 * 86_400..4 * 86_400).contains(&span));
    }

    #[test]
    fn short_policy_for_tests() {
        let p = RetryPolicy {
            base_secs: 1,
            factor: 2,
            cap_secs: 3,
            max_attempts: 4,
        };
        let delays: Vec<Option<u64>> = (1..=4).map(|n| p.next_delay(n)).collect();
        assert_eq!(delays, vec![Some(1), Some(2), Some(3), None]);
        // No overflow with absurd settings.
        let huge = RetryPolicy {
            base_secs: u64::MAX / 2,
            factor: u64::MAX,
            cap_secs: u64::MAX,
            max_attempts: 100,
        };
        assert_eq!(huge.next_delay(99), Some(u64::MAX));
    }

    #[test]
    fn only_2xx_acknowledges() {
        let cases = [
            (Some(200), true),
            (Some(204), true),
            (Some(299), true),
            (Some(300), false),
            (Some(199), false),
            (Some(500), false),
            (Some(410), false),
            (None, false),
        ];
        for (status, want) in cases {
            assert_eq!(acknowledged(status), want, "{status:?}");
        }
    }

    #[test]
    fn after_attempt_table() {
        let p = RetryPolicy {
            base_secs: 1,
            factor: 2,
            cap_secs: 4,
            max_attempts: 3,
        };
        use AfterAttempt::*;
        let cases = [
            (0, Some(204), Delivered, 0),
            (2, Some(200), Delivered, 2),
            (
                0,
                Some(500),
                Retry {
                    in_secs: 1,
                    failures: 1,
                },
                1,
            ),
            (
                0,
                None,
                Retry {
                    in_secs: 1,
                    failures: 1,
                },
                1,
            ),
            (
                1,
                Some(301),
                Retry {
                    in_secs: 2,
                    failures: 2,
                },
                2,
            ),
            (2, None, DeadLetter { failures: 3 }, 3),
            (7, Some(404), DeadLetter { failures: 8 }, 8),
        ];
        for (earlier, status, want, failures) in cases {
            let got = AfterAttempt::decide(&p, earlier, status);
            assert_eq!(got, want, "{earlier} {status:?}");
            assert_eq!(got.failures(earlier), failures);
        }
        assert_eq!(
            Retry {
                in_secs: 4,
                failures: 2
            }
            .due_in(),
            4
        );
        assert_eq!(Delivered.due_in(), 0);
    }

    #[test]
    fn page_limits() {
        assert_eq!(page_limit(None), 50);
        assert_eq!(page_limit(Some(0)), 1);
        assert_eq!(page_limit(Some(10)), 10);
        assert_eq!(page_limit(Some(10_000)), 200);
    }

    #[test]
    fn event_list_filters_are_read_strictly_and_v1_stays_tolerant() {
        let q = |s: &str| {
            list_query(s.split('&').filter(|p| !p.is_empty()).map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            }))
        };
        // v1 as it was: nothing, an empty cursor, unknown names, a clamped limit.
        let all = q("").unwrap();
        assert_eq!((all.after, all.limit, all.index), (0, 50, EventIndex::Seq));
        let v1 = q("after=&colour=red&limit=999").unwrap();
        assert_eq!((v1.after, v1.limit, v1.index), (0, 200, EventIndex::Seq));
        let page = q("after=evt_7&limit=3").unwrap();
        assert_eq!((page.after, page.limit), (7, 3));
        // The filters, and the index each combination is read through.
        let cases = [
            ("order=C1", Some("C1"), None, EventIndex::Order),
            (
                "delivery=failed",
                None,
                Some(DeliveryState::Failed),
                EventIndex::Delivery,
            ),
            (
                "delivery=pending&after=evt_2",
                None,
                Some(DeliveryState::Pending),
                EventIndex::Delivery,
            ),
            (
                "order=C1&delivery=delivered",
                Some("C1"),
                Some(DeliveryState::Delivered),
                EventIndex::Order,
            ),
        ];
        for (query, order, delivery, index) in cases {
            let got = q(query).unwrap();
            assert_eq!(
                (got.order.as_deref(), got.delivery, got.index),
                (order, delivery, index),
                "{query}"
            );
        }
        // Refused, naming the field.
        for (query, field) in [
            ("after=x", "after"),
            ("after=evt_0", "after"),
            ("limit=-1", "limit"),
            ("order=", "order"),
            (&format!("order={}", "C".repeat(129)), "order"),
            ("order=C1&order=C2", "order"),
            ("delivery=failing", "delivery"),
            ("delivery=", "delivery"),
            ("delivery=FAILED", "delivery"),
            ("delivery=failed&delivery=pending", "delivery"),
        ] {
            match q(query) {
                Err(Error::InvalidRequest { field: f, .. }) => assert_eq!(f, field, "{query}"),
                other => panic!("{query}: {other:?}"),
            }
        }
        for d in DeliveryState::ALL {
            assert_eq!(DeliveryState::from_spelling(d.as_str()), Some(*d));
        }
    }
}
