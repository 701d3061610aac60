//! The money flows as plans: `decide(snapshot, input, now, policy) -> Plan`.
//!
//! Why: a money flow used to bounce between the Worker, the store and the
//! decisions (`settle`, `state`), so what it did was only visible by reading
//! the Worker, which has no host tests. Here each flow is one pure function
//! per flow module ([`pay`], [`notify`], [`reconcile`] (the page's poll,
//! the merchant's query, the cron sweep), [`refund`] (the merchant's, the
//! cron's retry), [`duplicate`], [`cancel`], [`pos`], [`webhook`]
//! delivery); it composes the decisions of [`crate::settle`] and
//! [`crate::state`], and the gateway room's builders and answer mappings
//! ([`crate::gateway`]), into a [`Plan`] — plain data the Worker executes
//! mechanically, and the interleavings search executes against an
//! in-memory store (`tests/interleavings.rs`), so a schedule runs exactly
//! what the Worker runs.
//!
//! # The executor's contract
//!
//! For one flow run with an input:
//!
//! 1. **Load the snapshot** the flow's `decide` takes (its doc says which
//!    rows), and call `decide(snapshot, input, now, policy)`. Two flows
//!    save a round trip by writing before they read: [`notify`] and a link
//!    attempt's [`pay`] decide first with no snapshot, and their batch
//!    reads the rows after its writes (in the same transaction); that read
//!    is the snapshot of their next decision. A webhook delivery's load is
//!    its claim ([`webhook`]).
//! 2. **Write [`Plan::writes`] as one D1 batch**, in order (D1 runs a batch
//!    as one transaction). Every write is conditional, as its SQL is (see
//!    [`Write`]): a write whose condition no longer holds changes nothing,
//!    so a plan decided from a snapshot another writer has since changed
//!    never moves a state backwards, overdraws a refund or reuses a number.
//!    The merchant's events ([`Write::Event`]) are in the same batch as the
//!    change they report (the transactional outbox): an event exists if and
//!    only if its change committed.
//! 3. **If a claim lost** (a write for which [`Write::is_claim`] holds
//!    changed no row: a concurrent request got there first), skip step 4
//!    and go back to 1 with the same input (at most [`MAX_ROUNDS`] rounds
//!    without a call, then a storage error): the fresh snapshot shows what
//!    the winner did, and `decide` answers from it.
//! 4. **Follow [`Plan::next`]**: [`Next::Call`] — send the request (already
//!    built; [`Next::CallAfter`]: after the pause), then go back to 1 with
//!    the answer (or the fault: a timeout, garbage, an outcome-unknown
//!    code: [`Fault`]) as the flow's input for that call's answer (e.g.
//!    [`refund::Input::Sent`] for [`Call::Refund`]; [`pos::Input::answered`]
//!    carries a POS charge's progress); [`Next::Again`] — go back to 1 with
//!    the same input; [`Next::Done`] — give the answer to the caller.
//! 5. **Log** [`Plan::log`] at every round (fields on the request's log
//!    line, events as their own lines).
//! 6. **After the answer**, run each of [`Plan::after`] as a flow of its
//!    own (a fresh run from step 1): in the background (`wait_until`) where
//!    the answer must not wait, e.g. a notification's duplicate check. A
//!    follow-up's failure is logged, never surfaced: the cron's catch-ups
//!    (pending refunds, missed duplicates, the re-check window) redo it.
//!
//! Why this order is crash-safe: the batch commits before the gateway is
//! called, so whatever the gateway may do is already reserved in the store
//! (a refund is `pending` under its number, a revocation has its re-check
//! window, a query slot is claimed). If the Worker dies between the call and
//! the next batch, the gateway's effect is unknown to the store but never
//! lost: the reconciler (`query` inside the window), the pending-refund
//! retry (`refundQuery` under the same number) and the duplicate catch-up
//! find every such row and run the same flows from their snapshot. A
//! repeated round is harmless: every write is idempotent under its
//! condition, and every follow-up `decide` reads the store afresh.
//!
//! # Crash windows
//!
//! `cargo xtask chaos --crash` (issue 24) kills the Worker's runtime with
//! SIGKILL inside each of these windows at seeded moments, starts it again
//! on the same local D1 and checks the books against the gateway's ledger
//! and every event against what the merchant's endpoint received:
//!
//! - **Pay: between the gateway call and the store write of its answer.**
//!   The attempt was inserted `pending` (with its link's guard) in the
//!   batch before the call; the gateway has the order. Lost: the answer
//!   (the QR, the wallet parameters) and the shopper's response. Safe: the
//!   attempt is pending in the store, so the reconciler's `query` (the
//!   page's poll, the cron sweep, the merchant's live view) books whatever
//!   the gateway holds — a payment made on it later is new money checked
//!   for being a duplicate, as for any attempt.
//! - **Inside `/notify`.** The notification's writes are one batch: the
//!   crash lands before it (nothing written, no 200 answered: the gateway
//!   sends it again, and the sweep's `query` finds the payment anyway) or
//!   after it (the state, its history entry and its event committed
//!   together; a repeat is a no-op under the state rule). The batch also
//!   hands the attempt's events to the queue ([`Write::EnqueueEvents`])
//!   and reads the duplicate check's rows after its writes, so only a
//!   check that acts runs after the answer ([`notify`]'s invariants). A
//!   queue send lost with the runtime after the batch leaves the events
//!   enqueued and overdue: the cron re-enqueues them. A duplicate check
//!   lost likewise is redone by the cron's duplicate catch-up.
//! - **Refund: between the gateway call and the store write.** The refund
//!   was reserved `pending` under its `OUT_REFUND_NO` before the call; the
//!   cron's pending-refund retry settles it from `refundQuery` under the
//!   same number (sending it again under that number only if the gateway
//!   never got it), so the money moves at most once and the books learn it.
//!   The settlement and the order's new state (`partially_refunded`,
//!   `refunded`) are one batch: only pending refunds are retried, so a
//!   state written in a later batch would stay behind for good after a
//!   crash between the two (chaos `--crash` seed 1 found it).
//! - **Webhook delivery: between the POST and its record.** The event was
//!   claimed with a deadline (`CLAIM_MARGIN_SECS` after the merchant's
//!   timeout) and stays `pending`; the queue message may be lost with the
//!   runtime, so the cron sends events overdue by `WEBHOOK_OVERDUE_SECS`
//!   again under the same `webhook-id`. The merchant may receive it twice (at least once):
//!   receivers dedupe on `webhook-id`.

use serde_json::Value;
use soushou::model::{
    CancelTradeRequest, PreOrderRequest, QueryRequest, RefundQueryRequest, RefundRequest,
};
use soushou::types::{OrderState, ResultCode};
use soushou::Fen;

use crate::events::{self, EventType};
use crate::gateway;
use crate::settle;
use crate::vocab::{EventSource, OrderMethod, OrderStatus, RefundState};

pub mod cancel;
pub mod duplicate;
pub mod notify;
pub mod pay;
pub mod pos;
pub mod reconcile;
pub mod refund;
pub mod webhook;

/// How many rounds in a row without a call (a lost claim, [`Next::Again`])
/// a flow run may take before the executor gives up with a storage error:
/// every flow needs a handful at most between two calls (a lost claim, a
/// write then its follow-up); more means the store is not what the plan
/// thinks. (A POS charge's polls are calls: they do not count.)
pub const MAX_ROUNDS: usize = 8;

/// What the executor does with one decision. `A` is the flow's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan<A> {
    /// One D1 batch, in this order.
    pub writes: Vec<Write>,
    /// What to do once the batch committed.
    pub next: Next<A>,
    /// What to log.
    pub log: Vec<Log>,
    /// Flows to run after the answer, each as its own run.
    pub after: Vec<FollowUp>,
}

impl<A> Plan<A> {
    /// A plan that writes nothing and answers `answer`.
    pub fn done(answer: A) -> Self {
        Plan::with_next(Next::Done(answer))
    }

    /// A plan that writes nothing and sends `call`.
    pub fn call(call: Call) -> Self {
        Plan::with_next(Next::Call(call))
    }

    fn with_next(next: Next<A>) -> Self {
        Plan {
            writes: Vec::new(),
            next,
            log: Vec::new(),
            after: Vec::new(),
        }
    }

    /// The same plan writing `writes` first.
    pub fn writing(mut self, writes: Vec<Write>) -> Self {
        self.writes = writes;
        self
    }

    /// The same plan logging `log` too.
    pub fn logging(mut self, log: Log) -> Self {
        self.log.push(log);
        self
    }

    /// The same plan running `flow` after its answer.
    pub fn then(mut self, flow: FollowUp) -> Self {
        self.after.push(flow);
        self
    }

    /// A plan that writes `writes`, then decides again.
    pub fn again(writes: Vec<Write>) -> Self {
        Plan::with_next(Next::Again).writing(writes)
    }

    /// The same plan for a flow with another answer, while it is not done
    /// (`Err` with the answer when it is): a flow that starts another
    /// flow's step as its own.
    pub fn retyped<B>(self) -> Result<Plan<B>, A> {
        let next = match self.next {
            Next::Call(call) => Next::Call(call),
            Next::CallAfter(ms, call) => Next::CallAfter(ms, call),
            Next::Again => Next::Again,
            Next::Done(answer) => return Err(answer),
        };
        Ok(Plan {
            writes: self.writes,
            next,
            log: self.log,
            after: self.after,
        })
    }

    /// This plan's writes, logs and follow-ups, then `then`'s: a flow
    /// that composes another flow's decision with its own next step.
    pub fn followed_by<B>(self, then: Plan<B>) -> Plan<B> {
        Plan {
            writes: [self.writes, then.writes].concat(),
            next: then.next,
            log: [self.log, then.log].concat(),
            after: [self.after, then.after].concat(),
        }
    }
}

/// What follows a plan's batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Next<A> {
    /// Send this request; its answer is the next input.
    Call(Call),
    /// Wait this many milliseconds, then send this request (a POS
    /// charge's polling).
    CallAfter(u64, Call),
    /// Decide again, same input, fresh snapshot (the batch changed what
    /// the next step depends on).
    Again,
    /// The flow is over: answer the caller.
    Done(A),
}

/// A gateway request, built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Call {
    /// `query`.
    Query(QueryRequest),
    /// `refund`.
    Refund(RefundRequest),
    /// `refundQuery`.
    RefundQuery(RefundQueryRequest),
    /// `cancelTrade`.
    Cancel(CancelTradeRequest),
    /// `order`, `creatOrder` or `wapOrder` (answered with `ORDER_RESP`).
    Create(Box<gateway::CreateRequest>),
    /// `preOrder` (answered with `ORDER_RESP`).
    PreOrder(Box<PreOrderRequest>),
    /// The signed POST of a merchant event (not the gateway: the
    /// merchant's endpoint; answered with an HTTP status or none).
    Webhook(webhook::Post),
    /// The signed GET of an epay notification to the app's `notify_url`
    /// (answered with an HTTP status or none; an answer other than
    /// `success` comes back as an error).
    EpayNotify(String),
}

/// The gateway's answer to a call: its decoded success, or the fault.
pub type Reply<T> = Result<T, Fault>;

/// A gateway call that did not succeed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The gateway answered with a non-success `RESULT.CODE`.
    Code(ResultCode),
    /// No usable answer: a timeout, an unreachable gateway, HTTP 5xx,
    /// garbage, bad encryption. Says nothing about the outcome.
    NoAnswer,
}

impl Fault {
    /// Whether the gateway refused the request, which did nothing
    /// ([`gateway::verdict`]); every other fault may have taken effect.
    pub fn is_refusal(&self) -> bool {
        gateway::verdict(self.code()) == gateway::Verdict::Refused
    }

    /// The `RESULT.CODE`, if the gateway gave one.
    pub fn code(&self) -> Option<&ResultCode> {
        match self {
            Fault::Code(c) => Some(c),
            Fault::NoAnswer => None,
        }
    }
}

/// A reply as the gateway room's mappings read it ([`gateway::Outcome`]).
pub fn outcome<T>(reply: &Reply<T>) -> gateway::Outcome<'_> {
    reply.as_ref().map(|_| ()).map_err(Fault::code)
}

/// A flow to run after an answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FollowUp {
    /// [`duplicate::decide`] for this attempt (money was just recorded on it).
    DuplicateCheck {
        /// The attempt.
        charge_code: String,
    },
    /// [`reconcile::decide`] with [`reconcile::Input::Query`] now.
    Query {
        /// The attempt.
        charge_code: String,
        /// Who asks (the state history's source).
        source: EventSource,
    },
    /// [`refund::decide`] with [`refund::Input::Request`].
    Refund {
        /// The refunded attempt.
        charge_code: String,
        /// The refund.
        request: refund::Request,
    },
}

/// One write of a plan's batch. Each is conditional as described: a write
/// whose condition fails changes nothing, and the batch goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Record a link, if new (the token is the link).
    InsertLink {
        /// The link.
        link: Box<pay::NewLink>,
        /// Unix seconds.
        now: u64,
    },
    /// Insert a new attempt, `pending`, created `now`.
    InsertAttempt {
        /// The attempt.
        attempt: Box<pay::NewAttempt>,
        /// Unix seconds.
        now: u64,
    },
    /// Delete an attempt its link refused, only while it is still pending
    /// with no gateway serial (it was never sent).
    DeleteUnsentAttempt {
        /// The attempt.
        charge_code: String,
    },
    /// Store the gateway's and the channel's serial numbers of an attempt
    /// (each only if given; never erased).
    SetGatewayCodes {
        /// The attempt.
        charge_code: String,
        /// `CHARGE_DOWN_CODE`.
        charge_down_code: Option<String>,
        /// `CHARGE_THIRD_CODE`.
        charge_third_code: Option<String>,
    },
    /// Move the attempt to `to` from whichever state it is in, if
    /// `state::sources(to)` holds it (and, with `amount`, only if it holds
    /// that amount): the history row (from the state found, before the
    /// update), then the update (stamping `paid_at` and, on the first
    /// money, the store's next `paid_seq` and, for an attempt of a link,
    /// `duplicate_of` = `settle::duplicate_on_arrival` of the link's other
    /// attempts as this transaction sees them). Monotone by its condition,
    /// so a stale snapshot cannot move a state backwards.
    Transition {
        /// The attempt.
        charge_code: String,
        /// The new state.
        to: OrderStatus,
        /// What caused it (the history's source).
        source: EventSource,
        /// Only if the attempt's amount is this (a notification's `AMT`).
        amount: Option<Fen>,
    },
    /// A merchant event into the outbox, a snapshot of the order (and
    /// refund) as the transaction left it; keyed by `dedupe_key`, so a
    /// repeat adds nothing.
    Event(OutboxEvent),
    /// Count a notification per (attempt, gateway state): first recorded
    /// with the label `outcomes` gives for the state the attempt is found
    /// in (a state with no label fails the batch), then counted up. Only
    /// if the attempt holds `amount`.
    CountNotification {
        /// The attempt.
        charge_code: String,
        /// The notified `STATE`.
        gateway_state: OrderState,
        /// The notified `AMT`.
        amount: Fen,
        /// The outcome label per state found (`settle::notify_count_outcome`).
        outcomes: Vec<(OrderStatus, &'static str)>,
    },
    /// Claim: mark the attempt a duplicate payment of `kept`, if it is not
    /// marked yet.
    MarkDuplicate {
        /// The attempt.
        charge_code: String,
        /// The kept payment of its link.
        kept: String,
    },
    /// Re-check the attempt until `until` whatever its state (extends,
    /// never shortens).
    SetRecheck {
        /// The attempt.
        charge_code: String,
        /// Unix seconds.
        until: u64,
    },
    /// Claim: the right to `query` the attempt, if its last query is at
    /// least `min_interval_secs` old (stamps `last_query_at = now` and when
    /// the cron sweep should ask next, `sweep_at`).
    ClaimQuerySlot {
        /// The attempt.
        charge_code: String,
        /// Unix seconds.
        now: u64,
        /// The reconciler's rest between queries.
        min_interval_secs: u64,
        /// Unix seconds: `checkout::sweep::next_sweep_at`.
        sweep_at: u64,
    },
    /// Claim: insert the refund as `pending`, only if the number is free
    /// and the attempt's amount minus its non-failed refunds covers it.
    ReserveRefund {
        /// `OUT_REFUND_NO`.
        out_refund_no: String,
        /// The attempt.
        charge_code: String,
        /// The amount.
        amount: Fen,
        /// `REFUND_SUBJECT`.
        reason: String,
        /// Unix seconds.
        now: u64,
    },
    /// Claim: the right to retry a pending refund, if it was last touched
    /// at or before `cutoff` (stamps it `now`).
    ClaimRefundRetry {
        /// `OUT_REFUND_NO`.
        out_refund_no: String,
        /// Unix seconds.
        now: u64,
        /// Unix seconds.
        cutoff: u64,
    },
    /// Settle a pending refund (only if still pending), then store the
    /// attempt's refunded total (the sum of its succeeded refunds).
    FinishRefund {
        /// `OUT_REFUND_NO`.
        out_refund_no: String,
        /// The attempt.
        charge_code: String,
        /// `Succeeded` or `Failed`.
        state: RefundState,
        /// The refusal's `RESULT.CODE`, when the gateway gave one.
        gateway_code: Option<ResultCode>,
        /// Unix seconds.
        now: u64,
    },
    /// Record one delivery attempt of a merchant event.
    RecordWebhookAttempt {
        /// The event's row.
        seq: u64,
        /// Unix seconds.
        at: u64,
        /// The HTTP status (`None`: no answer).
        status: Option<u16>,
        /// How long it took.
        latency_ms: u64,
        /// Why there was no answer.
        error: Option<String>,
        /// The start of the answer's body (`checkout::webhook::answer_start`).
        answer: Option<String>,
    },
    /// After an attempt: count it, release the claim, set when it is due
    /// again, and (with `delivered_at`) mark it delivered.
    SetDelivery {
        /// The event's row.
        seq: u64,
        /// Failed attempts of the round after this one.
        round_failures: u64,
        /// Unix seconds.
        next_attempt_at: u64,
        /// Unix seconds, if delivered.
        delivered_at: Option<u64>,
    },
    /// Hand the attempt's merchant events that were never handed to the
    /// queue (the ones this batch wrote among them) to it: stamps them
    /// enqueued, due now, and returns their rows, which the executor sends
    /// to the queue after the batch committed (no round trip of its own:
    /// the request-end flush's claim, moved into the batch that wrote
    /// them). Only pending events; merchant events only with
    /// `merchant_events` (without an endpoint they wait in the outbox).
    /// If the send is lost (a crash after the commit), the cron's
    /// re-enqueue finds them overdue (`WEBHOOK_OVERDUE_SECS`), exactly as
    /// it finds events whose flush claimed them and then died. Not a
    /// claim: changing nothing (no event written, or already queued) is
    /// no race lost.
    EnqueueEvents {
        /// The attempt.
        charge_code: String,
        /// Merchant events too, not only `epay.notify`.
        merchant_events: bool,
    },
    /// Mark a dead-lettered event failed, and release its claim: only
    /// while it is pending in the round that gave up (at least
    /// `gave_up_after` failures since created or redelivered), so a
    /// redelivery made at the same moment (a new round, failures back at
    /// 0) is never undone (issue 24, defect 7).
    MarkEventFailed {
        /// The event's row.
        seq: u64,
        /// The retry policy's `max_attempts`: the failures of a spent round.
        gave_up_after: u64,
    },
}

impl Write {
    /// Whether the flow depends on this write having changed a row (see
    /// the contract, step 3).
    pub fn is_claim(&self) -> bool {
        matches!(
            self,
            Write::MarkDuplicate { .. }
                | Write::ClaimQuerySlot { .. }
                | Write::ReserveRefund { .. }
                | Write::ClaimRefundRetry { .. }
        )
    }
}

/// Which merchant events go out through the delivery queue, as the
/// Worker is configured: all (`MERCHANT_WEBHOOK_URL` set), only epay
/// apps' `epay.notify` (no merchant endpoint, epay apps configured), or
/// none (both wait in the outbox).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// Nothing is sent.
    Nothing,
    /// Only `epay.notify`.
    EpayOnly,
    /// Every event.
    Every,
}

impl Outgoing {
    /// The write handing `charge_code`'s never-queued events to the queue
    /// in the batch that wrote them (`None`: nothing goes out).
    pub fn enqueue(self, charge_code: &str) -> Option<Write> {
        let merchant_events = match self {
            Outgoing::Nothing => return None,
            Outgoing::EpayOnly => false,
            Outgoing::Every => true,
        };
        Some(Write::EnqueueEvents {
            charge_code: charge_code.to_owned(),
            merchant_events,
        })
    }
}

/// A merchant event to write into the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEvent {
    /// The event's type.
    pub kind: EventType,
    /// `events::dedupe_key_*`.
    pub dedupe_key: String,
    /// The attempt.
    pub charge_code: String,
    /// What the event reports; it is written only if that is what the
    /// transaction left.
    pub of: EventOf,
}

/// What an outbox event reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventOf {
    /// The attempt entered `state` (written only if the attempt is in it,
    /// and, with `if_changed`, only if the write just before changed it).
    Transition {
        /// The state entered.
        state: OrderStatus,
        /// Only if the preceding transition changed the row.
        if_changed: bool,
    },
    /// Money arrived: the attempt entered `paid` (written only if it is
    /// in it, and, with `if_changed`, only if the write just before changed
    /// it). Kept or not is what that transaction judged
    /// ([`Write::Transition`]): the event is `events::payment_event` of the
    /// mark it left — the [`OutboxEvent`]'s own kind and key (`order.paid`)
    /// for a kept payment, `payment.duplicate` for a duplicate.
    Payment {
        /// Only if the preceding transition changed the row.
        if_changed: bool,
    },
    /// A refund settled (written only if it is in `state`).
    Refund {
        /// `OUT_REFUND_NO`.
        out_refund_no: String,
        /// `Succeeded` or `Failed`.
        state: RefundState,
    },
}

/// The transition to `to` and its merchant event (none for `pending`;
/// into `paid`, the payment's: `order.paid` or `payment.duplicate`, as the
/// transition judged it, [`EventOf::Payment`]).
pub fn transition(
    charge_code: &str,
    to: OrderStatus,
    source: EventSource,
    amount: Option<Fen>,
) -> Vec<Write> {
    let mut writes = vec![Write::Transition {
        charge_code: charge_code.to_owned(),
        to,
        source,
        amount,
    }];
    let if_changed = amount.is_some();
    if to == OrderStatus::Paid {
        let (kind, dedupe_key) = events::payment_event(charge_code, false);
        writes.push(Write::Event(OutboxEvent {
            kind,
            dedupe_key,
            charge_code: charge_code.to_owned(),
            of: EventOf::Payment { if_changed },
        }));
    } else if let Some(kind) = EventType::for_transition(to) {
        writes.push(Write::Event(OutboxEvent {
            kind,
            dedupe_key: events::dedupe_key_transition(charge_code, to),
            charge_code: charge_code.to_owned(),
            of: EventOf::Transition {
                state: to,
                if_changed,
            },
        }));
    }
    writes
}

/// A refund's settlement and its merchant event.
pub fn finish_refund(
    charge_code: &str,
    out_refund_no: &str,
    end: Result<(), Option<ResultCode>>,
    now: u64,
) -> Vec<Write> {
    let (state, gateway_code) = match end {
        Ok(()) => (RefundState::Succeeded, None),
        Err(code) => (RefundState::Failed, code),
    };
    let succeeded = state == RefundState::Succeeded;
    vec![
        Write::FinishRefund {
            out_refund_no: out_refund_no.to_owned(),
            charge_code: charge_code.to_owned(),
            state,
            gateway_code,
            now,
        },
        Write::Event(OutboxEvent {
            kind: EventType::for_refund(succeeded, out_refund_no, charge_code),
            dedupe_key: events::dedupe_key_refund(out_refund_no),
            charge_code: charge_code.to_owned(),
            of: EventOf::Refund {
                out_refund_no: out_refund_no.to_owned(),
                state,
            },
        }),
    ]
}

/// A log line's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Normal, worth a line.
    Info,
    /// Unusual; the books stay right.
    Warn,
    /// A person must look.
    Error,
}

/// What a plan logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Log {
    /// A field of the request's log line.
    Field(&'static str, Value),
    /// A log line of its own.
    Event {
        /// Its level.
        level: Level,
        /// Its name.
        name: &'static str,
        /// Its fields (a JSON object).
        fields: Value,
    },
}

impl Log {
    /// A field of the request's line.
    pub fn field(key: &'static str, value: impl Into<Value>) -> Log {
        Log::Field(key, value.into())
    }

    /// A line of its own.
    pub fn event(level: Level, name: &'static str, fields: Value) -> Log {
        Log::Event {
            level,
            name,
            fields,
        }
    }
}

/// One payment attempt, as stored (the `orders` row, typed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attempt {
    /// `CHARGE_CODE`.
    pub charge_code: String,
    /// The link it pays, if any.
    pub link_id: Option<String>,
    /// How it is paid (how long the gateway may still take its payment:
    /// `checkout::sweep`).
    pub method: OrderMethod,
    /// Its amount.
    pub amount: Fen,
    /// The sum of its succeeded refunds.
    pub refunded: Fen,
    /// Its state.
    pub state: OrderStatus,
    /// The gateway's serial number.
    pub charge_down_code: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last reconciliation `query`.
    pub last_query_at: Option<u64>,
    /// Order in which money first arrived on attempts.
    pub paid_seq: Option<u64>,
    /// The kept payment this one is a duplicate of.
    pub duplicate_of: Option<String>,
    /// Until when the reconciler re-checks it whatever its state.
    pub recheck_until: Option<u64>,
    /// Who started it (a link attempt; `None` for merchant orders and
    /// attempts stored before clients were recorded): the pay limits count
    /// per device and per IP (`guard::check_attempt`).
    pub client: Option<crate::guard::Client>,
    /// The device that made it (an attempt of a counter code: only it may
    /// resume or poll the attempt).
    pub device: Option<String>,
}

impl Attempt {
    /// The attempt as the link decisions see it.
    pub fn link_attempt(&self) -> settle::LinkAttempt<'_> {
        settle::LinkAttempt {
            charge_code: &self.charge_code,
            status: self.state,
            paid_seq: self.paid_seq,
            duplicate: self.duplicate_of.is_some(),
        }
    }

    /// What the gateway's messages about it must match.
    pub fn expected<'a>(&'a self, busi_id: &'a str) -> settle::Expected<'a> {
        settle::Expected {
            charge_code: &self.charge_code,
            busi_id,
            amount: self.amount,
        }
    }
}

/// One refund, as stored (the `refunds` row, typed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refund {
    /// `OUT_REFUND_NO`.
    pub out_refund_no: String,
    /// The refunded attempt.
    pub charge_code: String,
    /// The amount.
    pub amount: Fen,
    /// `REFUND_SUBJECT`.
    pub reason: String,
    /// Where it stands.
    pub state: RefundState,
    /// The refusal's code, for a failed one.
    pub gateway_code: Option<String>,
    /// Unix seconds it last changed.
    pub updated_at: u64,
}

/// What is reserved of an attempt: the sum of its refunds not failed.
pub fn reserved(refunds: &[Refund]) -> Fen {
    sum(refunds.iter().filter(|r| r.state != RefundState::Failed))
}

/// What is refunded of an attempt: the sum of its succeeded refunds.
pub fn refunded(refunds: &[Refund]) -> Fen {
    sum(refunds.iter().filter(|r| r.state == RefundState::Succeeded))
}

fn sum<'a>(refunds: impl Iterator<Item = &'a Refund>) -> Fen {
    refunds.fold(Fen::ZERO, |total, r| {
        total.checked_add(r.amount).unwrap_or(total)
    })
}

/// Logs a report older than the stored state (nothing changed).
fn log_stale(charge_code: &str, source: EventSource, t: &crate::state::Transition) -> Option<Log> {
    let crate::state::Transition::Stale { current, event } = t else {
        return None;
    };
    Some(Log::event(
        Level::Info,
        "stale_report",
        serde_json::json!({"charge_code": charge_code, "source": source.as_str(),
            "current": current.as_str(), "event": event.as_str()}),
    ))
}

/// Logs a report that does not match its attempt (nothing changed).
fn log_distrust(
    expected: &settle::Expected<'_>,
    report: &settle::Report<'_>,
    source: EventSource,
    m: settle::Mismatch,
) -> Log {
    Log::event(
        Level::Warn,
        m.name(),
        serde_json::json!({"charge_code": expected.charge_code, "source": source.as_str(),
            "expected_fen": expected.amount.fen(),
            "reported_fen": report.amount.map(|a| a.fen()),
            "reported_charge_code": report.charge_code}),
    )
}

#[cfg(test)]
pub(crate) mod testing;
