//! `POST /notify` after the envelope is opened and its signature verified:
//! the replay window, then one D1 batch that reads the attempt and writes
//! what the notification proves, then the outcome from what the batch read.
//!
//! Two decisions, one round trip: the first (`snapshot` `None`) decides the
//! writes before the attempt is read (`settle::notify_plan`: every write is
//! conditional in SQL on the attempt holding the notified amount, the
//! transition also on its state); the executor runs them in one batch that
//! starts with the read of the attempt, and decides again with what it
//! read and whether the transition changed the row (`settle::notify_outcome`).
//! Only then is the gateway answered `SUCCESS`. Whether new money is its
//! link's kept payment is judged by the transition itself, in the batch
//! ([`Write::Transition`]), so the batch's event is `order.paid` or
//! `payment.duplicate` as judged.
//!
//! # One round trip, nothing left behind (issue 25)
//!
//! Invariants, each proved by the interleavings search
//! (`tests/interleavings.rs`) and the chaos run's `--crash`:
//!
//! 1. **The batch is the whole notification.** Besides the count, the
//!    transition and its event, it hands the attempt's new events to the
//!    queue ([`Write::EnqueueEvents`], when anything goes out:
//!    [`Policy::outgoing`]) and ends with the duplicate check's snapshot
//!    read after its writes ([`Batch::check`]), so a first paid
//!    notification costs one D1 round trip, a repeated one too, and
//!    nothing runs after the answer in the common case.
//! 2. **Whatever is deferred is redone if lost.** The duplicate check is
//!    decided here on that snapshot ([`duplicate::decide`], the check's
//!    own decision, on rows of the same transaction); only when it would
//!    act (mark, refund, log) does it run after the answer
//!    ([`FollowUp::DuplicateCheck`]), which reads afresh, and a lost one
//!    is found by the cron's duplicate catch-up (`rival_payments`), as
//!    before. The queue send after the commit is the only other deferred
//!    step: a lost send leaves the events enqueued and overdue, and the
//!    cron's re-enqueue sends them (the same as a flush that died after
//!    its claim).
//! 3. **A crash before the commit changes nothing** and the gateway
//!    sends the notification again (no `SUCCESS` was answered); the repeat
//!    finds the state moved or not, and judges from what it finds.

use soushou::types::OrderState;
use soushou::Fen;

use super::{duplicate, log_distrust, log_stale, transition, FollowUp, Log, Outgoing, Plan, Write};
use crate::api::ErrorCode;
use crate::settle::{
    self, DuplicateRefundPolicy, Expected, Mismatch, Notice, NotifyOutcome, NotifyPlan,
    StoredAttempt,
};
use crate::vocab::{EventSource, OrderStatus};

/// What the notify flow needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Our `BUSI_ID`.
    pub busi_id: String,
    /// How far from now a notification's signing time may be
    /// (`REPLAY_WINDOW_SECS`).
    pub replay_window_secs: u64,
    /// Which events go to the queue (handed to it in the batch).
    pub outgoing: Outgoing,
    /// The duplicate check's policy, decided from the batch's read.
    pub duplicates: DuplicateRefundPolicy,
}

/// A verified notification (the envelope requires every field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// `CHARGE_CODE`.
    pub charge_code: String,
    /// `BUSI_ID`.
    pub busi_id: String,
    /// `AMT`.
    pub amount: Fen,
    /// `STATE`.
    pub state: OrderState,
    /// Unix seconds it was signed.
    pub signed_at: u64,
}

impl Input {
    /// The notice the settle decisions read.
    pub fn notice(&self) -> Notice<'_> {
        Notice {
            charge_code: &self.charge_code,
            busi_id: &self.busi_id,
            amount: self.amount,
            state: &self.state,
        }
    }
}

/// What the notification's batch returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// The attempt as its first statement read it (`None`: no such code).
    pub stored: Option<StoredAttempt>,
    /// Whether the [`Write::Transition`] changed the row.
    pub updated: bool,
    /// The duplicate check's snapshot, read by the batch's last statements
    /// after its writes (`None`: no such attempt).
    pub check: Option<duplicate::Snapshot>,
}

/// Why a notification is not acknowledged (a 4xx; nothing was changed),
/// or a storage fault (a 5xx, so the gateway retries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Refused, with the API's code and the reason logged.
    Rejected {
        /// The error code.
        code: ErrorCode,
        /// Why.
        reason: String,
    },
    /// The batch's results contradict its read.
    Inconsistent,
}

fn reject(code: ErrorCode, reason: impl Into<String>) -> Refusal {
    Refusal::Rejected {
        code,
        reason: reason.into(),
    }
}

/// The answer: `Ok` is "answer 200 `SUCCESS`".
pub type Answer = Result<(), Refusal>;

/// Decides a notification: `None` before its batch (the writes), then
/// `Some` of what the batch returned (the outcome).
pub fn decide(snapshot: Option<&Batch>, input: &Input, now: u64, policy: &Policy) -> Plan<Answer> {
    match snapshot {
        None => before(input, now, policy),
        Some(batch) => after(batch, input, now, policy),
    }
}

/// The replay window, then the batch's writes.
fn before(input: &Input, now: u64, policy: &Policy) -> Plan<Answer> {
    let window = policy.replay_window_secs;
    if input.signed_at.abs_diff(now) > window {
        return Plan::done(Err(reject(
            ErrorCode::StaleNotification,
            format!(
                "sign timestamp {} is outside the {window}s window around {now}",
                input.signed_at
            ),
        )));
    }
    let code = &input.charge_code;
    let plan = settle::notify_plan(&policy.busi_id, &input.notice());
    let mut writes = Vec::new();
    if plan != NotifyPlan::Nothing {
        // The count goes first: it labels the state before the update.
        writes.push(Write::CountNotification {
            charge_code: code.clone(),
            gateway_state: input.state.clone(),
            amount: input.amount,
            outcomes: OrderStatus::ALL
                .into_iter()
                .filter_map(|s| Some((s, settle::notify_count_outcome(plan, s)?)))
                .collect(),
        });
    }
    if let NotifyPlan::Apply(event) = plan {
        if crate::state::sources(event).next().is_some() {
            let amount = Some(input.amount);
            writes.extend(transition(code, event, EventSource::Notify, amount));
        }
    }
    // The events go to the queue from the batch that wrote them.
    if writes.iter().any(|w| matches!(w, Write::Event(_))) {
        writes.extend(policy.outgoing.enqueue(code));
    }
    Plan::again(writes)
}

/// The outcome, from what the batch read and did.
fn after(batch: &Batch, input: &Input, now: u64, policy: &Policy) -> Plan<Answer> {
    let notice = input.notice();
    let outcome =
        match settle::notify_outcome(&policy.busi_id, &notice, batch.stored, batch.updated) {
            Ok(outcome) => outcome,
            Err(settle::Inconsistent) => return Plan::done(Err(Refusal::Inconsistent)),
        };
    let code = &input.charge_code;
    match outcome {
        NotifyOutcome::Unknown => {
            Plan::done(Err(reject(ErrorCode::NotFound, "unknown CHARGE_CODE")))
        }
        NotifyOutcome::Distrusted(m) => {
            let expected = Expected {
                charge_code: code,
                busi_id: &policy.busi_id,
                amount: batch.stored.map_or(input.amount, |s| s.amount),
            };
            Plan::done(Err(mismatch(m))).logging(log_distrust(
                &expected,
                &notice.report(),
                EventSource::Notify,
                m,
            ))
        }
        NotifyOutcome::Ignored | NotifyOutcome::Event(_) => {
            let mut plan = Plan::done(Ok(()));
            if let NotifyOutcome::Event(t) = outcome {
                plan.log.extend(log_stale(code, EventSource::Notify, &t));
                if settle::is_new_money(&t) && check_acts(batch, now, policy) {
                    plan = plan.then(FollowUp::DuplicateCheck {
                        charge_code: code.clone(),
                    });
                }
            }
            plan.logging(Log::field("outcome", outcome.name()))
        }
    }
}

/// Whether the duplicate check of new money would do anything (write,
/// log, refund) on the snapshot the batch read after its writes: only
/// then does it run after the answer (it reads afresh there). A kept
/// payment, a counter code's payment or an attempt without a link
/// decides `Plan::done(())`: nothing to defer, nothing to lose. No
/// snapshot (the batch read none): the check runs, as it always did.
fn check_acts(batch: &Batch, now: u64, policy: &Policy) -> bool {
    batch
        .check
        .as_ref()
        .is_none_or(|s| duplicate::decide(s, now, &policy.duplicates) != Plan::done(()))
}

/// The refusal of a notification that does not match its attempt.
fn mismatch(m: Mismatch) -> Refusal {
    match m {
        Mismatch::BusiId => reject(ErrorCode::BusiIdMismatch, "BUSI_ID is not this merchant's"),
        Mismatch::Amount { reported, expected } => reject(
            ErrorCode::AmountMismatch,
            format!(
                "AMT {} fen differs from the attempt's {} fen",
                reported.fen(),
                expected.fen()
            ),
        ),
        Mismatch::ChargeCode | Mismatch::MissingAmount => {
            reject(ErrorCode::MalformedNotification, m.name())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventType;
    use crate::flow::{EventOf, Level, Next, OutboxEvent};
    use serde_json::json;
    use OrderStatus::*;

    fn policy() -> Policy {
        Policy {
            busi_id: "B1".into(),
            replay_window_secs: 300,
            outgoing: Outgoing::Every,
            duplicates: DuplicateRefundPolicy::new(60),
        }
    }

    fn enqueue(merchant_events: bool) -> Write {
        Write::EnqueueEvents {
            charge_code: "C1".into(),
            merchant_events,
        }
    }

    fn input(busi: &str, amt: u64, state: OrderState) -> Input {
        Input {
            charge_code: "C1".into(),
            busi_id: busi.into(),
            amount: Fen::from_fen(amt),
            state,
            signed_at: 1000,
        }
    }

    fn labels(f: impl Fn(OrderStatus) -> Option<&'static str>) -> Vec<(OrderStatus, &'static str)> {
        OrderStatus::ALL
            .into_iter()
            .filter_map(|s| Some((s, f(s)?)))
            .collect()
    }

    fn count(state: OrderState, amt: u64, plan: NotifyPlan) -> Write {
        Write::CountNotification {
            charge_code: "C1".into(),
            gateway_state: state,
            amount: Fen::from_fen(amt),
            outcomes: labels(|s| settle::notify_count_outcome(plan, s)),
        }
    }

    fn moved(to: OrderStatus, kind: EventType, amt: u64) -> Vec<Write> {
        vec![
            Write::Transition {
                charge_code: "C1".into(),
                to,
                source: EventSource::Notify,
                amount: Some(Fen::from_fen(amt)),
            },
            Write::Event(OutboxEvent {
                kind,
                dedupe_key: format!("order:C1:{}", to.as_str()),
                charge_code: "C1".into(),
                // Money's event is the payment's, kept or a duplicate as
                // the transition judged it.
                of: match to {
                    Paid => EventOf::Payment { if_changed: true },
                    _ => EventOf::Transition {
                        state: to,
                        if_changed: true,
                    },
                },
            }),
        ]
    }

    #[test]
    fn before_the_batch() {
        use OrderState as G;
        let again = |writes| Plan::again(writes);
        let cases: Vec<(&str, Input, u64, Plan<Answer>)> = vec![
            (
                "paid: count, transition, event",
                input("B1", 1250, G::Paid),
                1000,
                again(
                    [
                        vec![count(G::Paid, 1250, NotifyPlan::Apply(Paid))],
                        moved(Paid, EventType::OrderPaid, 1250),
                        vec![enqueue(true)],
                    ]
                    .concat(),
                ),
            ),
            (
                "a refund state proves the payment",
                input("B1", 1250, G::Refunded),
                1000,
                again(
                    [
                        vec![count(G::Refunded, 1250, NotifyPlan::Apply(Paid))],
                        moved(Paid, EventType::OrderPaid, 1250),
                        vec![enqueue(true)],
                    ]
                    .concat(),
                ),
            ),
            (
                "closed",
                input("B1", 1250, G::Closed),
                1000,
                again(
                    [
                        vec![count(G::Closed, 1250, NotifyPlan::Apply(Closed))],
                        moved(Closed, EventType::OrderClosed, 1250),
                        vec![enqueue(true)],
                    ]
                    .concat(),
                ),
            ),
            (
                "pending: counted; nothing may move to it but it is news to none",
                input("B1", 1250, G::Pending),
                1000,
                again(vec![count(G::Pending, 1250, NotifyPlan::Apply(Pending))]),
            ),
            (
                "silent state: counted only",
                input("B1", 1250, G::Refunding),
                1000,
                again(vec![count(G::Refunding, 1250, NotifyPlan::Count)]),
            ),
            (
                "another merchant: nothing written",
                input("B2", 1250, G::Paid),
                1000,
                again(vec![]),
            ),
            (
                "signed too long ago",
                input("B1", 1250, G::Paid),
                1301,
                Plan::done(Err(reject(
                    ErrorCode::StaleNotification,
                    "sign timestamp 1000 is outside the 300s window around 1301",
                ))),
            ),
            (
                "signed in the future, inside the window",
                input("B1", 1250, G::Refunding),
                700,
                again(vec![count(G::Refunding, 1250, NotifyPlan::Count)]),
            ),
        ];
        for (name, input, now, want) in cases {
            assert_eq!(decide(None, &input, now, &policy()), want, "{name}");
        }
    }

    #[test]
    fn events_go_to_the_queue_as_configured() {
        use OrderState as G;
        let paid = |outgoing| {
            let p = Policy {
                outgoing,
                ..policy()
            };
            decide(None, &input("B1", 1250, G::Paid), 1000, &p).writes
        };
        let written = [
            vec![count(G::Paid, 1250, NotifyPlan::Apply(Paid))],
            moved(Paid, EventType::OrderPaid, 1250),
        ]
        .concat();
        let cases = [
            ("every event", Outgoing::Every, Some(enqueue(true))),
            ("only epay's", Outgoing::EpayOnly, Some(enqueue(false))),
            ("nothing goes out: they wait", Outgoing::Nothing, None),
        ];
        for (name, outgoing, last) in cases {
            let want: Vec<Write> = written.iter().cloned().chain(last).collect();
            assert_eq!(paid(outgoing), want, "{name}");
        }
        // No event written, nothing handed over.
        let silent = decide(None, &input("B1", 1250, G::Refunding), 1000, &policy());
        assert!(!silent
            .writes
            .iter()
            .any(|w| matches!(w, Write::EnqueueEvents { .. })));
    }

    #[test]
    fn after_the_batch() {
        use OrderState as G;
        let batch = |state: Option<OrderStatus>, updated| Batch {
            stored: state.map(|state| StoredAttempt {
                state,
                amount: Fen::from_fen(1250),
            }),
            updated,
            check: None,
        };
        let ok = |outcome: &'static str| Plan::done(Ok(())).logging(Log::field("outcome", outcome));
        let dup = FollowUp::DuplicateCheck {
            charge_code: "C1".into(),
        };
        let cases: Vec<(&str, Input, Batch, Plan<Answer>)> = vec![
            (
                "new money: acknowledged, then the duplicate check",
                input("B1", 1250, G::Paid),
                batch(Some(Pending), true),
                Plan::done(Ok(()))
                    .then(dup.clone())
                    .logging(Log::field("outcome", "applied")),
            ),
            (
                "money wins over closed",
                input("B1", 1250, G::Paid),
                batch(Some(Closed), true),
                Plan::done(Ok(()))
                    .then(dup)
                    .logging(Log::field("outcome", "applied")),
            ),
            (
                "closed: applied, no money",
                input("B1", 1250, G::Closed),
                batch(Some(Pending), true),
                ok("applied"),
            ),
            (
                "redelivered",
                input("B1", 1250, G::Paid),
                batch(Some(Paid), false),
                ok("duplicate"),
            ),
            (
                "stale: logged",
                input("B1", 1250, G::Paid),
                batch(Some(Revoked), false),
                Plan::done(Ok(()))
                    .logging(Log::event(
                        Level::Info,
                        "stale_report",
                        json!({"charge_code": "C1", "source": "notify",
                            "current": "revoked", "event": "paid"}),
                    ))
                    .logging(Log::field("outcome", "stale")),
            ),
            (
                "silent",
                input("B1", 1250, G::Refunding),
                batch(Some(Paid), false),
                ok("ignored"),
            ),
            (
                "unknown charge code",
                input("B1", 1250, G::Paid),
                batch(None, false),
                Plan::done(Err(reject(ErrorCode::NotFound, "unknown CHARGE_CODE"))),
            ),
            (
                "amount differs",
                input("B1", 1, G::Paid),
                batch(Some(Pending), false),
                Plan::done(Err(reject(
                    ErrorCode::AmountMismatch,
                    "AMT 1 fen differs from the attempt's 1250 fen",
                )))
                .logging(Log::event(
                    Level::Warn,
                    "amount_mismatch",
                    json!({"charge_code": "C1", "source": "notify", "expected_fen": 1250,
                        "reported_fen": 1, "reported_charge_code": "C1"}),
                )),
            ),
            (
                "another merchant",
                input("B2", 1250, G::Paid),
                batch(Some(Pending), false),
                Plan::done(Err(reject(
                    ErrorCode::BusiIdMismatch,
                    "BUSI_ID is not this merchant's",
                )))
                .logging(Log::event(
                    Level::Warn,
                    "busi_id_mismatch",
                    json!({"charge_code": "C1", "source": "notify", "expected_fen": 1250,
                        "reported_fen": 1250, "reported_charge_code": "C1"}),
                )),
            ),
            (
                "the update contradicts the read",
                input("B1", 1250, G::Paid),
                batch(Some(Pending), false),
                Plan::done(Err(Refusal::Inconsistent)),
            ),
        ];
        for (name, input, batch, want) in cases {
            let plan = decide(Some(&batch), &input, 1000, &policy());
            assert_eq!(plan, want, "{name}");
            assert!(matches!(plan.next, Next::Done(_)), "{name}");
        }
    }

    /// New money's duplicate check runs after the answer only when, on the
    /// rows the batch read after its writes, it would do something.
    #[test]
    fn the_duplicate_check_only_when_it_acts() {
        use crate::flow::testing::attempt;
        use crate::flow::Attempt;
        use crate::vocab::LinkKind;
        let of_link = |code: &str, seq: u64, dup: Option<&str>| Attempt {
            link_id: Some("L1".into()),
            paid_seq: Some(seq),
            duplicate_of: dup.map(Into::into),
            ..attempt(code, Paid)
        };
        let snap = |me: Attempt, others: Vec<Attempt>, kind| duplicate::Snapshot {
            link: [vec![me.clone()], others].concat(),
            attempt: me,
            kind,
            refunds: Vec::new(),
        };
        let kept = of_link("C1", 1, None);
        let judged = of_link("C1", 2, Some("C0"));
        // Money recorded before the judge existed: unmarked, not the first.
        let unjudged = of_link("C1", 2, None);
        let cases: Vec<(&str, Option<duplicate::Snapshot>, bool)> = vec![
            ("no snapshot: as before", None, true),
            (
                "the link's kept payment",
                Some(snap(kept, vec![], Some(LinkKind::Fixed))),
                false,
            ),
            (
                "judged a duplicate in the batch: refunded after the answer",
                Some(snap(
                    judged,
                    vec![of_link("C0", 1, None)],
                    Some(LinkKind::Fixed),
                )),
                true,
            ),
            (
                "unmarked, not the kept one: marked after the answer",
                Some(snap(
                    unjudged,
                    vec![of_link("C0", 1, None)],
                    Some(LinkKind::Fixed),
                )),
                true,
            ),
            (
                "a counter code keeps every payment",
                Some(snap(
                    of_link("C1", 2, None),
                    vec![of_link("C0", 1, None)],
                    Some(LinkKind::Counter),
                )),
                false,
            ),
            (
                "no link",
                Some(snap(attempt("C1", Paid), vec![], None)),
                false,
            ),
        ];
        for (name, check, acts) in cases {
            let batch = Batch {
                stored: Some(StoredAttempt {
                    state: Pending,
                    amount: Fen::from_fen(1250),
                }),
                updated: true,
                check,
            };
            let plan = decide(
                Some(&batch),
                &input("B1", 1250, OrderState::Paid),
                1000,
                &policy(),
            );
            let checks = plan
                .after
                .iter()
                .any(|f| matches!(f, FollowUp::DuplicateCheck { .. }));
            assert_eq!(checks, acts, "{name}");
            assert_eq!(plan.next, Next::Done(Ok(())), "{name}");
        }
    }
}
