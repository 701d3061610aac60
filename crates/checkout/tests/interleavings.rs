//! A seeded search over interleavings of the money flows.
//!
//! The invariant comes first: **after any interleaving of shopper taps,
//! late, duplicate and dropped notifications, gateway faults (lost answers,
//! outcome-unknown codes, requests that never arrive), merchant cancels and
//! refunds, POS charges (paid at once, while polled, or revoked), lost
//! background tasks and reconciler runs, once everything is
//! delivered and reconciled the books equal the gateway's ledger**:
//! 1. every attempt's stored state equals the gateway's;
//! 2. a link is paid ⇔ the gateway holds exactly one payment of it that is
//!    not refunded as a duplicate, and that one is the link's kept payment;
//! 3. every other payment of a link is refunded in full, once — however
//!    often the gateway refuses that refund first — unless the gateway
//!    refused it `max_tries` times, when it is left to the merchant;
//! 4. the money the gateway holds (captured − returned − refunded) equals
//!    what the books say;
//! 5. every state an attempt is in, and every settled refund, has its
//!    merchant event in the outbox;
//! 6. a cashier is told the state the books hold (or `pending`, when even
//!    the revocation's outcome is unknown);
//! 7. the merchant heard `order.paid` exactly once per kept payment, and
//!    never for money refunded as a duplicate (that one is
//!    `payment.duplicate`, then `payment.duplicate_refunded`);
//! 8. every payment of a counter code is kept (never a duplicate), each of
//!    its attempts is bound to the device that made it (no other shopper
//!    may see, resume or poll it), and a deactivated link takes no payment
//!    (refused before the gateway).
//!
//! The world is a model of the gateway (the ledger) and an in-memory store
//! (the Worker's rows, typed as `checkout::flow` reads them). Every step
//! runs the real flows: [`World::run`] is the executor of the contract in
//! `checkout::flow` — load the snapshot, `decide`, apply the plan's writes
//! as the SQL does (each under its condition), send its call to the ledger
//! model, decide again with the answer, then run the follow-ups — so a
//! schedule exercises exactly what the Worker does.
//!
//! Each schedule is a sequence of random steps from a seed; a failing seed
//! prints itself and replays exactly (`INTERLEAVINGS_SEED=N cargo test -p
//! checkout --test interleavings`). `INTERLEAVINGS_RUNS` sets how many
//! schedules to try (20,000 by default; the release run:
//! `INTERLEAVINGS_RUNS=200000 cargo test --release -p checkout --test
//! interleavings`).

use std::collections::{BTreeMap, BTreeSet};

use checkout::events;
use checkout::flow::{
    self, cancel, duplicate, notify, reconcile, refund, Attempt, Call, EventOf, Fault, FollowUp,
    Next, Plan, Refund, Write,
};
use checkout::gateway;
use checkout::settle::{self, DuplicateRefundPolicy, DuplicateRefundStep};
use checkout::vocab::{
    EventSource, LinkKind, OrderKind, OrderMethod, OrderStatus as S, RefundState as R,
};
use soushou::model::{
    CancelTradeResp, FundBill, OrderResp, QueryResp, RefundQueryResp, RefundResp, RefundTrade,
};
use soushou::types::{CancelMode, ChannelType, FundChannel, OrderState as G, ResultCode};
use soushou::Fen;

/// splitmix64: small, seedable, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const BUSI: &str = "B1";
const AMOUNT: u64 = 1000;
/// Short waits and few tries, so schedules reach the give-up too.
const DUP_POLICY: DuplicateRefundPolicy = DuplicateRefundPolicy {
    retry_after_secs: 2,
    max_tries: 3,
};

/// The flows' settings, as the Worker's config would give them.
struct Policies {
    notify: notify::Policy,
    reconcile: reconcile::Policy,
    refund: refund::Policy,
    cancel: cancel::Policy,
}

fn policies() -> Policies {
    Policies {
        notify: notify::Policy {
            busi_id: BUSI.into(),
            replay_window_secs: 300,
            outgoing: flow::Outgoing::Every,
            duplicates: DUP_POLICY,
        },
        reconcile: reconcile::Policy {
            busi_id: BUSI.into(),
            pacing: settle::ReconcilePolicy {
                after_secs: 0,
                min_interval_secs: 0,
            },
            unknown_attempt_fails_after_secs: 600,
        },
        refund: refund::Policy {
            merchant: checkout::gateway::Merchant {
                busi_id: BUSI.into(),
                oper_id: "O1".into(),
                dev_id: "D1".into(),
                register_id: None,
            },
            duplicates: DUP_POLICY,
            retry_after_secs: DUP_POLICY.retry_after_secs,
        },
        // Long enough to outlast every schedule: the re-check always settles.
        cancel: cancel::Policy {
            recheck_window_secs: 1_000_000,
        },
    }
}

/// The gateway's record of one order.
#[derive(Clone, Debug)]
struct GwOrder {
    state: G,
    captured: u64,
    returned: u64,
    /// out_refund_no → amount (every refund the gateway made).
    refunds: BTreeMap<String, u64>,
}

impl GwOrder {
    fn refunded(&self) -> u64 {
        self.refunds.values().sum()
    }
    fn net(&self) -> u64 {
        self.captured - self.returned - self.refunded()
    }
}

/// The Worker's rows, as D1 holds them.
#[derive(Default)]
struct Store {
    attempts: BTreeMap<String, Attempt>,
    /// Oldest first; numbers are unique.
    refunds: Vec<Refund>,
    /// The outbox's dedupe keys.
    events: BTreeSet<String>,
    /// What the merchant heard, in outbox order: (event type, charge code).
    heard: Vec<(events::EventType, String)>,
    /// The links' rows: kind, and the deactivated ones.
    link_kinds: BTreeMap<String, LinkKind>,
    inactive: BTreeSet<String>,
    /// (charge code, gateway state) → (first outcome, received).
    notifications: BTreeMap<(String, String), (&'static str, u32)>,
    next_seq: u64,
    /// Events never handed to the queue: (charge code, dedupe key). The
    /// request-end flush and the cron hand these over; a notification
    /// hands its attempt's over in its own batch (`EnqueueEvents`).
    unqueued: BTreeSet<(String, String)>,
}

impl Store {
    fn refunds_of(&self, code: &str) -> Vec<Refund> {
        self.refunds
            .iter()
            .filter(|r| r.charge_code == code)
            .cloned()
            .collect()
    }

    /// The kind of the attempt's link, as its row says (`fixed` for none:
    /// the judge finds no other attempt then anyway).
    fn kind_of(&self, a: &Attempt) -> LinkKind {
        a.link_id
            .as_ref()
            .and_then(|l| self.link_kinds.get(l).copied())
            .unwrap_or(LinkKind::Fixed)
    }

    fn refund_mut(&mut self, no: &str) -> Option<&mut Refund> {
        self.refunds.iter_mut().find(|r| r.out_refund_no == no)
    }

    /// Runs a plan's writes as one batch, each under its condition as its
    /// SQL has it; returns whether each changed a row.
    fn batch(&mut self, writes: &[Write]) -> Vec<bool> {
        let mut changed = Vec::with_capacity(writes.len());
        for w in writes {
            let last = changed.last().copied().unwrap_or(false);
            changed.push(self.write(w, last));
        }
        changed
    }

    fn write(&mut self, w: &Write, last_changed: bool) -> bool {
        match w {
            Write::InsertLink { link, .. } => {
                self.link_kinds
                    .entry(link.link_id.clone())
                    .or_insert(link.kind);
                true
            }
            Write::RecordWebhookAttempt { .. }
            | Write::SetDelivery { .. }
            | Write::MarkEventFailed { .. } => panic!("the model delivers no webhooks"),
            Write::InsertAttempt { attempt, now } => {
                let a = Attempt {
                    charge_code: attempt.charge_code.clone(),
                    link_id: attempt.link.as_ref().map(|l| l.link_id.clone()),
                    method: attempt.method,
                    amount: attempt.amount,
                    refunded: Fen::ZERO,
                    state: S::Pending,
                    charge_down_code: None,
                    created_at: *now,
                    last_query_at: None,
                    paid_seq: None,
                    duplicate_of: None,
                    recheck_until: None,
                    client: attempt.client.clone(),
                    device: attempt.device.clone(),
                };
                let fresh = !self.attempts.contains_key(&a.charge_code);
                assert!(fresh, "a charge code inserted twice fails the batch");
                self.attempts.insert(a.charge_code.clone(), a);
                true
            }
            Write::DeleteUnsentAttempt { charge_code } => {
                let unsent = self
                    .attempts
                    .get(charge_code)
                    .is_some_and(|a| a.state == S::Pending && a.charge_down_code.is_none());
                unsent && self.attempts.remove(charge_code).is_some()
            }
            Write::SetGatewayCodes {
                charge_code,
                charge_down_code,
                ..
            } => match self.attempts.get_mut(charge_code) {
                Some(a) => {
                    if charge_down_code.is_some() {
                        a.charge_down_code = charge_down_code.clone();
                    }
                    true
                }
                None => false,
            },
            Write::Transition {
                charge_code,
                to,
                amount,
                ..
            } => {
                let Some(a) = self.attempts.get(charge_code) else {
                    return false;
                };
                let allowed = checkout::state::sources(*to).any(|s| s == a.state);
                if !allowed || amount.is_some_and(|amt| amt != a.amount) {
                    return false;
                }
                let first_money = settle::holds_money(*to) && a.paid_seq.is_none();
                // The judge runs in the same update, on the link's other
                // attempts as the transaction sees them.
                let others: Vec<_> = self
                    .attempts
                    .values()
                    .filter(|o| {
                        o.link_id.is_some()
                            && o.link_id == a.link_id
                            && o.charge_code != a.charge_code
                    })
                    .map(Attempt::link_attempt)
                    .collect();
                let kind = self.kind_of(a);
                let judged = settle::duplicate_on_arrival(kind, &others).map(str::to_owned);
                let a = self.attempts.get_mut(charge_code).expect("read above");
                a.state = *to;
                if first_money {
                    self.next_seq += 1;
                    a.paid_seq = Some(self.next_seq);
                    if a.duplicate_of.is_none() {
                        a.duplicate_of = judged;
                    }
                }
                true
            }
            Write::Event(e) => {
                let mut e = e.clone();
                let holds = match &e.of {
                    EventOf::Transition { state, if_changed } => {
                        self.attempts
                            .get(&e.charge_code)
                            .is_some_and(|a| a.state == *state)
                            && (!if_changed || last_changed)
                    }
                    EventOf::Payment { if_changed } => match self.attempts.get(&e.charge_code) {
                        Some(a) if a.state == S::Paid && (!if_changed || last_changed) => {
                            let duplicate = a.duplicate_of.is_some();
                            (e.kind, e.dedupe_key) =
                                events::payment_event(&e.charge_code, duplicate);
                            true
                        }
                        _ => false,
                    },
                    EventOf::Refund {
                        out_refund_no,
                        state,
                    } => self
                        .refunds
                        .iter()
                        .any(|r| &r.out_refund_no == out_refund_no && r.state == *state),
                };
                let written = holds && self.events.insert(e.dedupe_key.clone());
                if written {
                    self.heard.push((e.kind, e.charge_code.clone()));
                    self.unqueued.insert((e.charge_code.clone(), e.dedupe_key));
                }
                written
            }
            Write::EnqueueEvents { charge_code, .. } => {
                let before = self.unqueued.len();
                self.unqueued.retain(|(code, _)| code != charge_code);
                self.unqueued.len() < before
            }
            Write::CountNotification {
                charge_code,
                gateway_state,
                amount,
                outcomes,
            } => {
                let Some(a) = self
                    .attempts
                    .get(charge_code)
                    .filter(|a| a.amount == *amount)
                else {
                    return false;
                };
                let label = outcomes
                    .iter()
                    .find(|(s, _)| *s == a.state)
                    .map(|(_, l)| *l)
                    .expect("a state without a label fails the batch");
                let key = (charge_code.clone(), gateway_state.code().to_owned());
                self.notifications.entry(key).or_insert((label, 0)).1 += 1;
                true
            }
            Write::MarkDuplicate { charge_code, kept } => {
                match self.attempts.get_mut(charge_code) {
                    Some(a) if a.duplicate_of.is_none() => {
                        a.duplicate_of = Some(kept.clone());
                        true
                    }
                    _ => false,
                }
            }
            Write::SetRecheck { charge_code, until } => {
                let Some(a) = self.attempts.get_mut(charge_code) else {
                    return false;
                };
                a.recheck_until = Some(a.recheck_until.unwrap_or(0).max(*until));
                true
            }
            Write::ClaimQuerySlot {
                charge_code,
                now,
                min_interval_secs,
                ..
            } => match self.attempts.get_mut(charge_code) {
                Some(a)
                    if a.last_query_at
                        .is_none_or(|at| at <= now.saturating_sub(*min_interval_secs)) =>
                {
                    a.last_query_at = Some(*now);
                    true
                }
                _ => false,
            },
            Write::ReserveRefund {
                out_refund_no,
                charge_code,
                amount,
                reason,
                now,
            } => {
                let Some(a) = self.attempts.get(charge_code) else {
                    return false;
                };
                let reserved = flow::reserved(&self.refunds_of(charge_code));
                let fits = a.amount.fen() - reserved.fen().min(a.amount.fen()) >= amount.fen();
                let free = !self
                    .refunds
                    .iter()
                    .any(|r| &r.out_refund_no == out_refund_no);
                if !(fits && free) {
                    return false;
                }
                self.refunds.push(Refund {
                    out_refund_no: out_refund_no.clone(),
                    charge_code: charge_code.clone(),
                    amount: *amount,
                    reason: reason.clone(),
                    state: R::Pending,
                    gateway_code: None,
                    updated_at: *now,
                });
                true
            }
            Write::ClaimRefundRetry {
                out_refund_no,
                now,
                cutoff,
            } => match self.refund_mut(out_refund_no) {
                Some(r) if r.state == R::Pending && r.updated_at <= *cutoff => {
                    r.updated_at = *now;
                    true
                }
                _ => false,
            },
            Write::FinishRefund {
                out_refund_no,
                charge_code,
                state,
                gateway_code,
                now,
            } => {
                let settled = match self.refund_mut(out_refund_no) {
                    Some(r) if r.state == R::Pending => {
                        r.state = *state;
                        r.gateway_code = gateway_code.as_ref().map(|c| c.as_str().to_owned());
                        r.updated_at = *now;
                        true
                    }
                    _ => false,
                };
                let total = flow::refunded(&self.refunds_of(charge_code));
                if let Some(a) = self.attempts.get_mut(charge_code) {
                    a.refunded = total;
                }
                settled
            }
        }
    }
}

/// A gateway answer, to whichever call was sent.
enum Answer {
    Created(flow::Reply<OrderResp>),
    Query(flow::Reply<QueryResp>),
    Refund(flow::Reply<RefundResp>),
    RefundQuery(flow::Reply<RefundQueryResp>),
    Cancel(flow::Reply<CancelTradeResp>),
}

/// What the gateway does with a creating call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum PayMode {
    /// Creates it and answers.
    #[default]
    Created,
    /// Creates it; the answer is lost.
    Lost,
    /// Creates it; answers an outcome-unknown code.
    Unknown,
    /// Refuses it without acting.
    Refused,
    /// Never gets the request.
    NeverArrives,
}

/// The model's link ids.
fn link_id(link: usize) -> String {
    format!("L{link}")
}

#[derive(Default)]
struct World {
    gw: BTreeMap<String, GwOrder>,
    store: Store,
    /// Notifications in flight: (charge code, state), any order.
    inbox: Vec<(String, G)>,
    next_code: u64,
    links: usize,
    /// The links that are counter codes.
    counters: BTreeSet<usize>,
    /// Payments refused because their link was deactivated.
    refused_inactive: usize,
    /// The clock, unix seconds: one per step.
    now: u64,
    /// How many of the next refunds the gateway refuses (a fault, e.g. a
    /// channel outage or `AMT_ERROR`), whatever they are.
    refuse_next: u32,
    /// The next call's answer is lost (the gateway acted).
    lose_next: bool,
    /// The next `cancelTrade` is answered with a false `AREADY_REVOKED`.
    lie_next: bool,
    /// The next run's follow-ups are lost (the Worker evicted).
    drop_after: bool,
    /// Attempts whose `pay` never reached the gateway.
    never_reached: BTreeSet<String>,
    /// What the gateway does with the next creating call.
    pay_mode: PayMode,
    /// Milliseconds the current step has paused (a POS charge's polls).
    pause_ms: u64,
    /// POS charges the shopper confirms at the `n`th query.
    confirms_at_query: BTreeMap<String, u32>,
    /// POS charges by what the cashier was told, and how many polls.
    pos_told: BTreeMap<&'static str, usize>,
    pos_polls: usize,
    log: Vec<String>,
}

impl World {
    /// The executor: the contract of `checkout::flow`, step by step.
    fn run<I, A>(
        &mut self,
        mut input: I,
        decide: impl Fn(&World, &I) -> Plan<A>,
        answered: impl Fn(&I, Answer) -> I,
    ) -> A {
        let mut idle = 0;
        while idle < flow::MAX_ROUNDS {
            idle += 1;
            let plan = decide(self, &input);
            let changed = self.store.batch(&plan.writes);
            let lost_claim = plan
                .writes
                .iter()
                .zip(&changed)
                .any(|(w, changed)| w.is_claim() && !changed);
            if lost_claim {
                continue;
            }
            match plan.next {
                Next::Call(call) => {
                    idle = 0;
                    let answer = self.gateway(&call);
                    input = answered(&input, answer);
                }
                Next::CallAfter(ms, call) => {
                    idle = 0;
                    self.pause_ms += ms;
                    let answer = self.gateway(&call);
                    input = answered(&input, answer);
                }
                Next::Again => {}
                Next::Done(answer) => {
                    self.follow_up(plan.after);
                    return answer;
                }
            }
        }
        panic!("a flow made {} rounds without a call", flow::MAX_ROUNDS)
    }

    fn follow_up(&mut self, after: Vec<FollowUp>) {
        if std::mem::take(&mut self.drop_after) && !after.is_empty() {
            self.log.push(format!("follow-ups lost: {after:?}"));
            return;
        }
        for f in after {
            match f {
                FollowUp::DuplicateCheck { charge_code } => self.duplicate_check(&charge_code),
                FollowUp::Query {
                    charge_code,
                    source,
                } => {
                    self.query(&charge_code, reconcile::Input::Query(source));
                }
                FollowUp::Refund {
                    charge_code,
                    request,
                } => {
                    let no = request.out_refund_no.clone();
                    let answer = self.refund(&charge_code, refund::Input::Request(request));
                    self.log
                        .push(format!("  refund {no} of {charge_code} → {answer:?}"));
                }
            }
        }
    }

    fn attempt(&self, code: &str) -> Attempt {
        self.store.attempts[code].clone()
    }

    /// `/notify` after the envelope: the flow's two decisions around its
    /// one batch, which reads the attempt before its writes.
    fn notify(&mut self, code: &str, state: &G, amount: u64) -> notify::Answer {
        let input = notify::Input {
            charge_code: code.into(),
            busi_id: BUSI.into(),
            amount: Fen::from_fen(amount),
            state: state.clone(),
            signed_at: self.now,
        };
        let p = policies().notify;
        let plan = notify::decide(None, &input, self.now, &p);
        assert_eq!(plan.next, Next::Again, "{code}: fresh notices are batched");
        let stored = self
            .store
            .attempts
            .get(code)
            .map(|a| settle::StoredAttempt {
                state: a.state,
                amount: a.amount,
            });
        let outbox = self.store.events.clone();
        let changed = self.store.batch(&plan.writes);
        let updated = plan
            .writes
            .iter()
            .zip(&changed)
            .any(|(w, c)| matches!(w, Write::Transition { .. }) && *c);
        // The batch's last statements: the duplicate check's snapshot,
        // after its writes.
        let check = self
            .store
            .attempts
            .contains_key(code)
            .then(|| self.dup_snapshot(code));
        let batch = notify::Batch {
            stored,
            updated,
            check,
        };
        // Whatever the notification wrote went to the queue in its batch.
        let left = (self.store.events.difference(&outbox))
            .filter(|key| self.store.unqueued.iter().any(|(_, k)| k == *key))
            .count();
        assert_eq!(
            left, 0,
            "{code}: a notification's events were left for the flush"
        );
        let plan = notify::decide(Some(&batch), &input, self.now, &p);
        let Next::Done(answer) = plan.next else {
            panic!("{code}: a notification is answered after its batch");
        };
        self.follow_up(plan.after);
        answer
    }

    /// A query of `code` ([`reconcile::decide`]).
    fn query(&mut self, code: &str, input: reconcile::Input) -> reconcile::Answer {
        let p = policies().reconcile;
        let code = code.to_owned();
        self.run(
            input,
            |w, i| reconcile::decide(&w.attempt(&code), i, w.now, &p),
            |i, a| match (i, a) {
                (reconcile::Input::IfDue(s) | reconcile::Input::Query(s), Answer::Query(r)) => {
                    reconcile::Input::Answered(*s, Box::new(r))
                }
                _ => panic!("query answered out of turn"),
            },
        )
    }

    /// A refund of `code` ([`refund::decide`]).
    fn refund(&mut self, code: &str, input: refund::Input) -> refund::Answer {
        let p = policies().refund;
        let code = code.to_owned();
        self.run(
            input,
            |w, i| {
                let number = match i {
                    refund::Input::Request(r) => Some(&r.out_refund_no),
                    _ => None,
                };
                let snapshot = refund::Snapshot {
                    attempt: w.store.attempts.get(&code).cloned(),
                    refunds: w.store.refunds_of(&code),
                    number_elsewhere: w
                        .store
                        .refunds
                        .iter()
                        .any(|r| Some(&r.out_refund_no) == number && r.charge_code != code),
                };
                refund::decide(&snapshot, i, w.now, &p)
            },
            |i, a| {
                let no = match i {
                    refund::Input::Request(r) => r.out_refund_no.clone(),
                    refund::Input::Retry { out_refund_no }
                    | refund::Input::Sent(out_refund_no, _)
                    | refund::Input::Listed(out_refund_no, _) => out_refund_no.clone(),
                };
                match a {
                    Answer::Refund(r) => refund::Input::Sent(no, Box::new(r)),
                    Answer::RefundQuery(r) => refund::Input::Listed(no, Box::new(r)),
                    _ => panic!("refund answered out of turn"),
                }
            },
        )
    }

    /// The duplicate check of `code` ([`duplicate::decide`]).
    fn duplicate_check(&mut self, code: &str) {
        let code = code.to_owned();
        self.run(
            (),
            |w, ()| duplicate::decide(&w.dup_snapshot(&code), w.now, &DUP_POLICY),
            |(), _| panic!("the duplicate check calls nobody"),
        );
    }

    /// What the duplicate check of `code` reads.
    fn dup_snapshot(&self, code: &str) -> duplicate::Snapshot {
        let attempt = self.attempt(code);
        let link = self
            .store
            .attempts
            .values()
            .filter(|a| a.link_id.is_some() && a.link_id == attempt.link_id)
            .cloned()
            .collect();
        duplicate::Snapshot {
            kind: attempt
                .link_id
                .as_ref()
                .map(|_| self.store.kind_of(&attempt)),
            attempt,
            link,
            refunds: self.store.refunds_of(code),
        }
    }

    /// A merchant's real-time revocation ([`cancel::decide`]).
    fn cancel(&mut self, code: &str) -> cancel::Answer {
        let p = policies().cancel;
        let code = code.to_owned();
        self.run(
            cancel::Input::Request(CancelMode::RealTime, EventSource::Cancel),
            |w, i| cancel::decide(&w.attempt(&code), i, w.now, &p),
            |i, a| match (i, a) {
                (cancel::Input::Request(mode, source), Answer::Cancel(r)) => {
                    cancel::Input::Answered(*mode, *source, r)
                }
                _ => panic!("cancel answered out of turn"),
            },
        )
    }

    /// The gateway: acts on a call as its ledger says, and answers (or
    /// loses the answer).
    fn gateway(&mut self, call: &Call) -> Answer {
        let lose = std::mem::take(&mut self.lose_next);
        let lost = |a: Answer| -> Answer {
            if !lose {
                return a;
            }
            match a {
                Answer::Query(_) => Answer::Query(Err(Fault::NoAnswer)),
                Answer::Refund(_) => Answer::Refund(Err(Fault::NoAnswer)),
                Answer::RefundQuery(_) => Answer::RefundQuery(Err(Fault::NoAnswer)),
                Answer::Cancel(_) => Answer::Cancel(Err(Fault::NoAnswer)),
                Answer::Created(_) => Answer::Created(Err(Fault::NoAnswer)),
            }
        };
        let unknown = Fault::Code(ResultCode::ChargeNonexistent);
        lost(match call {
            Call::Query(q) => Answer::Query({
                self.confirm_on_query(&q.code);
                match self.gw.get(&q.code) {
                    None => Err(unknown),
                    Some(gw) => Ok(QueryResp {
                        charge_code: Some(q.code.clone()),
                        busi_id: Some(BUSI.into()),
                        amt: Some(Fen::from_fen(AMOUNT)),
                        state: Some(gw.state.clone()),
                        ..QueryResp::default()
                    }),
                }
            }),
            Call::RefundQuery(q) => Answer::RefundQuery(match self.gw.get(&q.code) {
                None => Err(unknown),
                Some(gw) => Ok(RefundQueryResp {
                    refund_trade_list: gw
                        .refunds
                        .iter()
                        .map(|(no, amt)| RefundTrade {
                            refund_code: Some(no.clone()),
                            refund_amt: Some(Fen::from_fen(*amt)),
                            state: Some(G::RefundSucceeded),
                            ..RefundTrade::default()
                        })
                        .collect(),
                    ..RefundQueryResp::default()
                }),
            }),
            Call::Refund(r) => Answer::Refund(self.gw_refund(r)),
            Call::Cancel(c) => Answer::Cancel(self.gw_cancel(&c.charge_code)),
            Call::Create(create) => match &**create {
                gateway::CreateRequest::Order(r) => Answer::Created(self.gw_create(&r.charge_code)),
                _ => panic!("the model pays by NATIVE order"),
            },
            Call::PreOrder(r) => Answer::Created(self.gw_create(&r.charge_code)),
            Call::Webhook(_) | Call::EpayNotify(_) => panic!("the model delivers no webhooks"),
        })
    }

    /// A POS shopper confirming on the gateway's screen while we poll.
    fn confirm_on_query(&mut self, code: &str) {
        let Some(n) = self.confirms_at_query.get_mut(code) else {
            return;
        };
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.confirms_at_query.remove(code);
            if let Some(gw) = self.gw.get_mut(code).filter(|g| g.state == G::Pending) {
                gw.state = G::Paid;
                gw.captured = AMOUNT;
                self.log.push(format!("the shopper confirms {code}"));
            }
        }
    }

    fn gw_create(&mut self, code: &str) -> flow::Reply<OrderResp> {
        let mode = self.pay_mode;
        if matches!(mode, PayMode::Refused | PayMode::NeverArrives) {
            return Err(match mode {
                PayMode::Refused => Fault::Code(ResultCode::IllegalParameter),
                _ => Fault::NoAnswer,
            });
        }
        let order = GwOrder {
            state: G::Pending,
            captured: 0,
            returned: 0,
            refunds: BTreeMap::new(),
        };
        self.gw.insert(code.to_owned(), order);
        // A POS shopper who confirms at once: paid in the answer.
        let pos_paid = code.starts_with('P') && !self.confirms_at_query.contains_key(code);
        if pos_paid {
            let gw = self.gw.get_mut(code).expect("just created");
            gw.state = G::Paid;
            gw.captured = AMOUNT;
        }
        match mode {
            PayMode::Unknown => Err(Fault::Code(ResultCode::Exception)),
            PayMode::Lost => Err(Fault::NoAnswer),
            _ => Ok(OrderResp {
                charge_code: Some(code.to_owned()),
                charge_down_code: Some(format!("down-{code}")),
                amt: Some(Fen::from_fen(AMOUNT)),
                fund_bill_list: if pos_paid {
                    vec![FundBill {
                        fund_channel: FundChannel::Unknown("11".into()),
                        amount: Fen::from_fen(AMOUNT),
                    }]
                } else {
                    Vec::new()
                },
                ..OrderResp::default()
            }),
        }
    }

    fn gw_refund(&mut self, r: &soushou::model::RefundRequest) -> flow::Reply<RefundResp> {
        let fault = self.refuse_next > 0;
        self.refuse_next = self.refuse_next.saturating_sub(1);
        let no = r.out_refund_no.clone().expect("our refunds are numbered");
        let amount = r.charge_refund_fee.fen();
        let Some(gw) = self.gw.get_mut(&r.charge_code) else {
            return Err(Fault::Code(ResultCode::ChargeNonexistent));
        };
        let ok = !fault
            && matches!(gw.state, G::Paid | G::PartiallyRefunded)
            && gw.refunded() + amount <= gw.captured - gw.returned
            && !gw.refunds.contains_key(&no);
        if !ok {
            // A refusal (FAIL / AREADY_REVOKED / AMT_ERROR).
            let code = if gw.state == G::Revoked {
                ResultCode::AreadyRevoked
            } else if fault {
                ResultCode::AmtError
            } else {
                ResultCode::Fail
            };
            self.log.push(format!("gateway refuses refund {no}"));
            return Err(Fault::Code(code));
        }
        gw.refunds.insert(no, amount);
        gw.state = if gw.refunded() == gw.captured {
            G::Refunded
        } else {
            G::PartiallyRefunded
        };
        Ok(RefundResp::default())
    }

    fn gw_cancel(&mut self, code: &str) -> flow::Reply<CancelTradeResp> {
        let lie = std::mem::take(&mut self.lie_next);
        let Some(gw) = self.gw.get_mut(code) else {
            return Err(Fault::Code(ResultCode::ChargeNonexistent));
        };
        let refusal = if lie {
            Some(ResultCode::AreadyRevoked)
        } else {
            match gw.state {
                G::Pending => None,
                G::Paid | G::PartiallyRefunded => {
                    gw.returned = gw.captured - gw.refunded();
                    None
                }
                G::Revoked => Some(ResultCode::AreadyRevoked),
                _ => Some(ResultCode::Fail),
            }
        };
        match refusal {
            None => {
                gw.state = G::Revoked;
                Ok(CancelTradeResp::default())
            }
            Some(c) => Err(Fault::Code(c)),
        }
    }

    /// A link's attempts as the link decisions see them.
    fn link_paid_by(&self, link: usize) -> Option<String> {
        let view: Vec<_> = self
            .store
            .attempts
            .values()
            .filter(|a| a.link_id == Some(link_id(link)))
            .map(Attempt::link_attempt)
            .collect();
        settle::kept_payment(&view).map(|a| a.charge_code.to_owned())
    }

    fn duplicate_step(&self, code: &str) -> DuplicateRefundStep {
        let refunds = self.store.refunds_of(code);
        let tries = duplicate::tries(&refunds);
        settle::duplicate_refund_step(&DUP_POLICY, code, &tries, self.now)
    }

    /// The shopper taps pay on a link: the pay flow stores the attempt,
    /// judges it against the link's others, and sends it; the gateway
    /// creates it (answer ok, lost, or an outcome-unknown code), refuses
    /// it without acting, or never gets the request.
    fn pay(&mut self, rng: &mut Rng) {
        let link = rng.below(self.links);
        let kind = match self.counters.contains(&link) {
            true => LinkKind::Counter,
            false => LinkKind::Fixed,
        };
        // Shoppers of a counter code pay from one of three devices.
        let device = format!("d{}", rng.below(3));
        if rng.chance(2) && self.store.inactive.insert(link_id(link)) {
            self.log.push(format!("merchant deactivates link {link}"));
        }
        self.next_code += 1;
        let code = format!("C{}", self.next_code);
        self.pay_mode = match rng.below(10) {
            0 => PayMode::Refused,
            1 => PayMode::NeverArrives,
            2 => PayMode::Unknown,
            3 => PayMode::Lost,
            _ => PayMode::Created,
        };
        let new = flow::pay::NewAttempt {
            charge_code: code.clone(),
            link: Some(flow::pay::NewLink {
                link_id: link_id(link),
                token: format!("token-{link}"),
                amount: Fen::from_fen(AMOUNT),
                subject: "tea".into(),
                merchant_ref: None,
                return_url: None,
                expires_at: u64::MAX,
                kind,
            }),
            kind: OrderKind::Link,
            method: OrderMethod::Native,
            channel_type: ChannelType::WeChat,
            amount: Fen::from_fen(AMOUNT),
            subject: "tea".into(),
            return_url: None,
            client: None,
            device: kind.keeps_every_payment().then_some(device),
        };
        let charge = gateway::Charge {
            charge_code: &code,
            amount: Fen::from_fen(AMOUNT),
            channel: ChannelType::WeChat,
            subject: "tea",
            goods: &[],
        };
        let merchant = policies().refund.merchant;
        let request = gateway::order_native(&merchant, &charge, "https://checkout.test/notify");
        let input = flow::pay::Input::Create(
            Box::new(new),
            Box::new(flow::pay::Create::Order(gateway::CreateRequest::Order(
                request,
            ))),
        );
        let p = flow::pay::Policy {
            rate_limit: checkout::guard::RateLimit {
                limit: 3,
                window_secs: 10,
            },
        };
        let answer = self.run(
            input,
            |w, i| {
                let snapshot =
                    w.store
                        .attempts
                        .contains_key(&code)
                        .then(|| flow::pay::LinkSnapshot {
                            attempts: w
                                .store
                                .attempts
                                .values()
                                .filter(|a| a.link_id == Some(link_id(link)))
                                .cloned()
                                .collect(),
                            active: !w.store.inactive.contains(&link_id(link)),
                        });
                flow::pay::decide(&snapshot, &code, i, w.now, &p)
            },
            |_, a| match a {
                Answer::Created(r) => flow::pay::Input::Created(Box::new(r)),
                _ => panic!("pay answered out of turn"),
            },
        );
        if self.store.inactive.contains(&link_id(link)) {
            // A deactivated link takes no payment: refused, never sent.
            assert_eq!(answer, Err(flow::pay::Failure::LinkInactive), "{code}");
            assert!(!self.store.attempts.contains_key(&code), "{code} kept");
            self.refused_inactive += 1;
        }
        if self.pay_mode == PayMode::NeverArrives && self.store.attempts.contains_key(&code) {
            self.never_reached.insert(code.clone());
        }
        self.log.push(format!(
            "pay {code} link {link} ({:?}): {:?}",
            self.pay_mode,
            answer.as_ref().map(|_| "created")
        ));
    }

    /// The cashier scans a shopper's code: the pay flow stores the attempt
    /// and sends the `preOrder` (the shopper confirms at once, at the
    /// `n`th query, or never), then the POS flow polls and revokes until
    /// the charge is settled; the cashier is told what the books hold.
    fn pos_charge(&mut self, rng: &mut Rng) {
        self.next_code += 1;
        let code = format!("P{}", self.next_code);
        self.pay_mode = match rng.below(10) {
            0 => PayMode::Refused,
            1 => PayMode::NeverArrives,
            2 => PayMode::Unknown,
            3 => PayMode::Lost,
            _ => PayMode::Created,
        };
        if !rng.chance(40) {
            // Up to 15 queries: some after the polling window.
            let n = 1 + rng.below(15) as u32;
            self.confirms_at_query.insert(code.clone(), n);
        }
        let new = flow::pay::NewAttempt {
            charge_code: code.clone(),
            link: None,
            kind: OrderKind::Pos,
            method: OrderMethod::Pos,
            channel_type: ChannelType::WeChat,
            amount: Fen::from_fen(AMOUNT),
            subject: "tea".into(),
            return_url: None,
            client: None,
            device: None,
        };
        let charge = gateway::Charge {
            charge_code: &code,
            amount: Fen::from_fen(AMOUNT),
            channel: ChannelType::WeChat,
            subject: "tea",
            goods: &[],
        };
        let merchant = policies().refund.merchant;
        let scan = checkout::merchant::ScanKind::Barcode;
        let request = gateway::pre_order(&merchant, &charge, scan, "134567890123456789");
        let input = flow::pay::Input::Create(
            Box::new(new),
            Box::new(flow::pay::Create::PreOrder(request)),
        );
        let p = flow::pay::Policy {
            rate_limit: checkout::guard::RateLimit::default(),
        };
        let created = self.run(
            input,
            |w, i| flow::pay::decide(&None, &code, i, w.now, &p),
            |_, a| match a {
                Answer::Created(r) => flow::pay::Input::Created(Box::new(r)),
                _ => panic!("preOrder answered out of turn"),
            },
        );
        let reply = match created {
            Ok(resp) => Ok(*resp),
            Err(flow::pay::Failure::Gateway(fault)) => Err(fault),
            Err(other) => panic!("{code}: {other:?}"),
        };
        if matches!(&reply, Err(f) if f.is_refusal()) {
            self.log.push(format!("pos {code}: refused"));
            return;
        }
        if self.pay_mode == PayMode::NeverArrives {
            self.never_reached.insert(code.clone());
        }
        self.pause_ms = 0;
        let progress = flow::pos::Progress {
            started_ms: self.now * 1000,
            polls: 0,
        };
        let p = flow::pos::Policy {
            polling: checkout::pos::PosPolicy::default(),
            reconcile: policies().reconcile,
            cancel: policies().cancel,
        };
        let answer = self.run(
            flow::pos::Input::PreOrdered(progress, Box::new(reply)),
            |w, i| flow::pos::decide(&w.attempt(&code), i, w.now * 1000 + w.pause_ms, &p),
            |i, a| match a {
                Answer::Query(r) => i.answered(flow::pos::Answered::Query(Box::new(r))),
                Answer::Cancel(r) => i.answered(flow::pos::Answered::Cancel(r)),
                _ => panic!("pos answered out of turn"),
            },
        );
        self.pause_ms = 0;
        let books = self.store.attempts[&code].state;
        self.log.push(format!(
            "pos {code} ({:?}): {answer:?}, books {books:?}",
            self.pay_mode
        ));
        let charged = answer.expect("only a refused preOrder is an error");
        let told = charged.state;
        *self.pos_told.entry(told.as_str()).or_default() += 1;
        self.pos_polls += charged.polls as usize;
        // Told pending only when even the revocation's outcome is unknown
        // (the re-check settles it).
        assert!(
            told == books || told == S::Pending,
            "{code}: told {told:?}, books {books:?}"
        );
    }

    /// One random step (a step whose preconditions do not hold does nothing).
    fn step(&mut self, rng: &mut Rng) {
        self.now += 1;
        let codes: Vec<String> = self.store.attempts.keys().cloned().collect();
        let pick = |rng: &mut Rng| -> Option<String> {
            (!codes.is_empty()).then(|| codes[rng.below(codes.len())].clone())
        };
        match rng.below(12) {
            0 | 1 => self.pay(rng),
            11 => self.pos_charge(rng),
            // The shopper pays an attempt in the wallet.
            2 | 3 => {
                let Some(code) = pick(rng) else { return };
                if let Some(gw) = self.gw.get_mut(&code) {
                    if gw.state == G::Pending {
                        gw.state = G::Paid;
                        gw.captured = AMOUNT;
                        self.inbox.push((code.clone(), G::Paid));
                        self.log.push(format!("wallet pays {code}"));
                    }
                }
            }
            // A notification is delivered (maybe again later, maybe with
            // its background duplicate check lost), or dropped, or a stale
            // one (pending) or a forged one arrives.
            4 => {
                if self.inbox.is_empty() {
                    return;
                }
                let i = rng.below(self.inbox.len());
                let (code, st) = self.inbox[i].clone();
                self.drop_after = rng.chance(10);
                let answer = match rng.below(5) {
                    0 => {
                        self.inbox.swap_remove(i);
                        self.log.push(format!("notify {code} dropped"));
                        Ok(())
                    }
                    1 => {
                        self.log.push(format!("notify {code} stale pending"));
                        self.notify(&code, &G::Pending, AMOUNT)
                    }
                    2 => {
                        self.log
                            .push(format!("notify {code} delivered, kept for a retry"));
                        self.notify(&code, &st, AMOUNT)
                    }
                    3 => {
                        self.log.push(format!("notify {code} forged amount"));
                        let answer = self.notify(&code, &st, AMOUNT + 1);
                        assert!(
                            matches!(&answer, Err(notify::Refusal::Rejected { code, .. })
                                if *code == checkout::api::ErrorCode::AmountMismatch),
                            "{answer:?}"
                        );
                        Ok(())
                    }
                    _ => {
                        self.inbox.swap_remove(i);
                        self.log.push(format!("notify {code} delivered"));
                        self.notify(&code, &st, AMOUNT)
                    }
                };
                self.drop_after = false;
                assert_eq!(answer, Ok(()), "{code}");
            }
            // The reconciler queries an attempt if it is due.
            5 => {
                let Some(code) = pick(rng) else { return };
                self.log.push(format!("query {code}"));
                self.query(&code, reconcile::Input::IfDue(EventSource::Cron));
            }
            // The shopper's wallet gives up: the gateway closes it.
            6 => {
                let Some(code) = pick(rng) else { return };
                if let Some(gw) = self.gw.get_mut(&code) {
                    if gw.state == G::Pending {
                        gw.state = G::Closed;
                        self.log.push(format!("gateway closes {code}"));
                    }
                }
            }
            // A merchant revokes an attempt in real time; the answer may be
            // lost, or be a false AREADY_REVOKED (a gateway fault: nothing
            // was revoked).
            7 => {
                let Some(code) = pick(rng) else { return };
                self.lose_next = rng.chance(50);
                self.lie_next = rng.chance(15);
                self.log.push(format!(
                    "merchant revokes {code} (false AREADY_REVOKED: {}, answer lost: {})",
                    self.lie_next, self.lose_next
                ));
                let answer = self.cancel(&code);
                self.log.push(format!("  → {answer:?}"));
            }
            // A merchant refunds part of an attempt; the answer may be lost.
            8 => {
                let Some(code) = pick(rng) else { return };
                let no = format!("m-{code}-{}", rng.below(3));
                self.lose_next = rng.chance(30);
                self.log.push(format!(
                    "merchant refunds 300 of {code} as {no} (lost: {})",
                    self.lose_next
                ));
                let request = refund::Request {
                    out_refund_no: no,
                    amount: Fen::from_fen(300),
                    reason: "merchant".into(),
                };
                let answer = self.refund(&code, refund::Input::Request(request));
                self.log.push(format!("  → {answer:?}"));
            }
            // The gateway will refuse the next one to three refunds.
            9 => {
                self.refuse_next = 1 + rng.below(3) as u32;
                self.log.push(format!(
                    "gateway refuses the next {} refunds",
                    self.refuse_next
                ));
            }
            // The cron: pending refunds retried, missed duplicates caught,
            // refused duplicate refunds tried again.
            _ => {
                self.log.push("cron".into());
                self.cron();
            }
        }
        // A step's loss flags never outlive it.
        self.lose_next = false;
        self.lie_next = false;
    }

    /// The cron's `retry_pending_refunds` and `refund_missed_duplicates`.
    fn cron(&mut self) {
        let pending: Vec<(String, String)> = self
            .store
            .refunds
            .iter()
            .filter(|r| r.state == R::Pending)
            .map(|r| (r.charge_code.clone(), r.out_refund_no.clone()))
            .collect();
        for (code, no) in pending {
            let answer = self.refund(
                &code,
                refund::Input::Retry {
                    out_refund_no: no.clone(),
                },
            );
            self.log.push(format!("  retry {no} → {answer:?}"));
        }
        let money: Vec<String> = self
            .store
            .attempts
            .values()
            .filter(|a| settle::holds_money(a.state))
            .map(|a| a.charge_code.clone())
            .collect();
        for code in money {
            self.duplicate_check(&code);
        }
    }

    /// Delivers everything and reconciles until nothing changes.
    fn settle_all(&mut self) {
        self.refuse_next = 0;
        for (code, st) in std::mem::take(&mut self.inbox) {
            assert_eq!(self.notify(&code, &st, AMOUNT), Ok(()), "{code}");
        }
        for _ in 0..4 {
            // Cron runs far enough apart that every refusal's wait is over.
            self.now += 1000;
            let codes: Vec<String> = self.store.attempts.keys().cloned().collect();
            for code in &codes {
                self.query(code, reconcile::Input::IfDue(EventSource::Cron));
            }
            self.cron();
        }
    }

    fn check(&self) -> Result<(), String> {
        let mut gw_money = 0;
        let mut books_money = 0;
        for (code, row) in &self.store.attempts {
            let want = match self.gw.get(code) {
                None => S::Failed,
                Some(gw) => match gw.state {
                    G::Pending => S::Pending,
                    G::Paid => S::Paid,
                    G::Revoked => S::Revoked,
                    G::Closed => S::Closed,
                    G::PartiallyRefunded => S::PartiallyRefunded,
                    G::Refunded => S::Refunded,
                    ref other => return Err(format!("{code}: gateway state {other:?}")),
                },
            };
            if row.state != want {
                return Err(format!("{code}: books {:?}, gateway {want:?}", row.state));
            }
            let refunds = self.store.refunds_of(code);
            // Paid, the payment's event: kept or a duplicate.
            let key = match row.state {
                S::Paid => events::payment_event(code, row.duplicate_of.is_some()).1,
                state => events::dedupe_key_transition(code, state),
            };
            if row.state != S::Pending && !self.store.events.contains(&key) {
                return Err(format!("{code}: no event for {:?}", row.state));
            }
            if let Some(r) = refunds.iter().find(|r| r.state != R::Pending).filter(|r| {
                !self
                    .store
                    .events
                    .contains(&events::dedupe_key_refund(&r.out_refund_no))
            }) {
                return Err(format!("{code}: no event for refund {}", r.out_refund_no));
            }
            if let Some(gw) = self.gw.get(code) {
                gw_money += gw.net();
                let refunded = flow::refunded(&refunds).fen();
                if refunded != gw.refunded() || row.refunded.fen() != refunded {
                    return Err(format!(
                        "{code}: books refunded {refunded} (row {}), gateway {}",
                        row.refunded.fen(),
                        gw.refunded()
                    ));
                }
                if refunds.iter().any(|r| r.state == R::Pending) {
                    return Err(format!("{code}: a refund still pending"));
                }
                if settle::holds_money(row.state) {
                    books_money += AMOUNT - refunded;
                }
            }
        }
        if gw_money != books_money {
            return Err(format!("money: gateway {gw_money}, books {books_money}"));
        }
        self.check_heard()?;
        for link in 0..self.links {
            let paid: Vec<&String> = self
                .store
                .attempts
                .keys()
                .filter(|c| {
                    self.store.attempts[*c].link_id == Some(link_id(link))
                        && self
                            .gw
                            .get(*c)
                            .is_some_and(|g| g.captured > 0 && g.returned == 0)
                })
                .collect();
            let dup_refunds = |c: &str| -> Vec<u64> {
                self.gw[c]
                    .refunds
                    .iter()
                    .filter(|(no, _)| settle::duplicate_refund_try(c, no).is_some())
                    .map(|(_, a)| *a)
                    .collect()
            };
            let dups: Vec<&&String> = paid.iter().filter(|c| !dup_refunds(c).is_empty()).collect();
            if self.counters.contains(&link) {
                // 8. Every payment of a counter code is kept: none is marked
                //    a duplicate, none refunded as one, and the link is
                //    never paid.
                let marked = self
                    .store
                    .attempts
                    .values()
                    .find(|a| a.link_id == Some(link_id(link)) && a.duplicate_of.is_some());
                if !dups.is_empty() || marked.is_some() {
                    return Err(format!(
                        "counter link {link}: duplicates {dups:?}, marked {marked:?}"
                    ));
                }
                // Nothing about one shopper's attempt leaks to another:
                // each attempt carries the device that made it, and only
                // that device may see, resume or poll it.
                for (code, a) in &self.store.attempts {
                    if a.link_id != Some(link_id(link)) {
                        continue;
                    }
                    let Some(made_by) = a.device.as_deref() else {
                        return Err(format!(
                            "counter link {link}: {code} carries no device, so any shopper may watch it"
                        ));
                    };
                    for d in ["d0", "d1", "d2"] {
                        if checkout::guard::may_watch(Some(made_by), Some(d)) != (d == made_by) {
                            return Err(format!(
                                "counter link {link}: {code} of {made_by} watchable by {d}"
                            ));
                        }
                    }
                    if checkout::guard::may_watch(Some(made_by), None) {
                        return Err(format!(
                            "counter link {link}: {code} watchable without a device"
                        ));
                    }
                }
                continue;
            }
            // Duplicates whose refund the gateway refused max_tries times:
            // the Worker stopped, and the merchant heard of every refusal.
            let abandoned: Vec<&&String> = paid
                .iter()
                .filter(|c| {
                    self.store.attempts[**c].duplicate_of.is_some()
                        && dup_refunds(c).is_empty()
                        && self.duplicate_step(c) == DuplicateRefundStep::GiveUp
                })
                .collect();
            let kept = self.link_paid_by(link);
            let held = paid.len() - dups.len() - abandoned.len();
            if held > 1 {
                return Err(format!("link {link}: {held} payments kept"));
            }
            if kept.is_some() != (held == 1) {
                return Err(format!("link {link}: books say paid by {kept:?}; gateway payments {paid:?}, duplicates {dups:?}, abandoned {abandoned:?}"));
            }
            for d in &dups {
                // One duplicate refund, of what the merchant's refunds left.
                let merchant: u64 = self.gw[**d]
                    .refunds
                    .iter()
                    .filter(|(no, _)| settle::duplicate_refund_try(d, no).is_none())
                    .map(|(_, a)| a)
                    .sum();
                if dup_refunds(d) != [AMOUNT - merchant] {
                    return Err(format!(
                        "{d}: duplicate refunds {:?}, not one refund of what was left",
                        dup_refunds(d)
                    ));
                }
                if Some((**d).clone()) == kept {
                    return Err(format!("{d}: the kept payment was refunded as a duplicate"));
                }
            }
        }
        Ok(())
    }
}

impl World {
    /// 7. The merchant heard `order.paid` exactly once per kept payment
    ///    (an attempt money arrived on that was not judged a duplicate),
    ///    and never for money refunded as a duplicate: that one is
    ///    `payment.duplicate` once, then `payment.duplicate_refunded` once
    ///    its refund went through.
    fn check_heard(&self) -> Result<(), String> {
        use events::EventType as E;
        let heard = |kind: E, code: &str| {
            self.store
                .heard
                .iter()
                .filter(|(k, c)| *k == kind && c == code)
                .count()
        };
        for (code, a) in &self.store.attempts {
            let paid = heard(E::OrderPaid, code);
            let duplicate = heard(E::PaymentDuplicate, code);
            let kept = a.paid_seq.is_some() && a.duplicate_of.is_none();
            let want = (usize::from(kept), usize::from(a.duplicate_of.is_some()));
            if (paid, duplicate) != want {
                return Err(format!(
                    "{code}: heard order.paid {paid}×, payment.duplicate {duplicate}×; \
                     kept {kept}, duplicate of {:?}",
                    a.duplicate_of
                ));
            }
            let dup_refunded = self.gw.get(code).is_some_and(|g| {
                g.refunds
                    .keys()
                    .any(|no| settle::duplicate_refund_try(code, no).is_some())
            });
            if dup_refunded && paid > 0 {
                return Err(format!(
                    "{code}: order.paid for money refunded as a duplicate"
                ));
            }
            if usize::from(dup_refunded) != heard(E::PaymentDuplicateRefunded, code) {
                return Err(format!(
                    "{code}: refunded as a duplicate {dup_refunded}, \
                     heard payment.duplicate_refunded {}×",
                    heard(E::PaymentDuplicateRefunded, code)
                ));
            }
            if duplicate > 0 {
                let first = |kind: E| {
                    self.store
                        .heard
                        .iter()
                        .position(|(k, c)| *k == kind && c == code)
                };
                if first(E::PaymentDuplicateRefunded)
                    .is_some_and(|r| first(E::PaymentDuplicate) > Some(r))
                {
                    return Err(format!(
                        "{code}: payment.duplicate_refunded before payment.duplicate"
                    ));
                }
            }
        }
        Ok(())
    }
}

/// What a schedule reached, summed over the search so the output shows the
/// refusal paths were exercised.
#[derive(Default)]
struct Reached {
    /// Duplicates refunded by a try after the first (the first was refused).
    retried: usize,
    /// Duplicates left to the merchant after `max_tries` refusals.
    abandoned: usize,
    /// Attempts the gateway never heard of, failed by the reconciler.
    unknown_failed: usize,
    /// POS charges by what the cashier was told.
    pos_told: BTreeMap<&'static str, usize>,
    /// Their polls.
    pos_polls: usize,
    /// What the merchant heard: `order.paid`, `payment.duplicate`.
    heard_paid: usize,
    heard_duplicate: usize,
    /// Payments of counter codes (each kept), and payments refused by a
    /// deactivated link.
    counter_payments: usize,
    refused_inactive: usize,
}

fn run(seed: u64, steps: usize, reached: &mut Reached) -> Result<(), (String, Vec<String>)> {
    let mut rng = Rng(seed);
    let mut w = World {
        links: 1 + rng.below(3),
        ..World::default()
    };
    w.counters = (0..w.links).filter(|_| rng.chance(30)).collect();
    for _ in 0..steps {
        w.step(&mut rng);
    }
    w.settle_all();
    w.check().map_err(|e| (e, w.log.clone()))?;
    for (code, a) in &w.store.attempts {
        reached.retried += w
            .store
            .refunds_of(code)
            .iter()
            .filter(|r| {
                r.state == R::Succeeded
                    && settle::duplicate_refund_try(code, &r.out_refund_no) > Some(1)
            })
            .count();
        if a.duplicate_of.is_some() && w.duplicate_step(code) == DuplicateRefundStep::GiveUp {
            reached.abandoned += 1;
        }
    }
    // `check` proved each of them failed.
    reached.unknown_failed += w.never_reached.len();
    for (state, n) in &w.pos_told {
        *reached.pos_told.entry(state).or_default() += n;
    }
    reached.pos_polls += w.pos_polls;
    reached.refused_inactive += w.refused_inactive;
    reached.counter_payments += w
        .store
        .attempts
        .values()
        .filter(|a| {
            a.paid_seq.is_some()
                && a.link_id
                    .as_ref()
                    .is_some_and(|l| w.store.link_kinds.get(l) == Some(&LinkKind::Counter))
        })
        .count();
    for (kind, _) in &w.store.heard {
        match kind {
            events::EventType::OrderPaid => reached.heard_paid += 1,
            events::EventType::PaymentDuplicate => reached.heard_duplicate += 1,
            _ => {}
        }
    }
    Ok(())
}

#[test]
fn books_equal_the_ledger_after_any_interleaving() {
    let runs: u64 = std::env::var("INTERLEAVINGS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seeds: Vec<u64> = match std::env::var("INTERLEAVINGS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(seed) => vec![seed],
        None => (0..runs).map(|i| 0x5eed_0000 + i).collect(),
    };
    let schedules = seeds.len();
    let mut steps_total = 0;
    let mut reached = Reached::default();
    for seed in seeds {
        let steps = 10 + (seed % 50) as usize;
        steps_total += steps;
        if let Err((e, log)) = run(seed, steps, &mut reached) {
            panic!(
                "seed {seed}: {e}\nreplay: INTERLEAVINGS_SEED={seed} cargo test -p checkout --test interleavings\nschedule:\n  {}",
                log.join("\n  ")
            );
        }
    }
    println!(
        "interleavings: {schedules} schedules, {steps_total} steps, 0 mismatches; \
         {} duplicate refunds succeeded after a refusal, {} left to the merchant, \
         {} attempts the gateway never heard of failed; POS charges told {:?} after {} polls; \
         the merchant heard {} order.paid and {} payment.duplicate; {} counter-code payments \
         (each kept), {} payments refused by a deactivated link",
        reached.retried,
        reached.abandoned,
        reached.unknown_failed,
        reached.pos_told,
        reached.pos_polls,
        reached.heard_paid,
        reached.heard_duplicate,
        reached.counter_payments,
        reached.refused_inactive
    );
    if schedules >= 1000 {
        assert!(
            reached.retried > 0
                && reached.abandoned > 0
                && reached.unknown_failed > 0
                && reached.pos_told.get("paid") > Some(&0)
                && reached.pos_told.get("revoked") > Some(&0)
                && reached.heard_duplicate > 0
                && reached.counter_payments > 0
                && reached.refused_inactive > 0,
            "the search never reached a refused duplicate refund, an unknown attempt, \
             a POS charge paid or revoked, a duplicate payment, a counter-code payment \
             or a deactivated link"
        );
    }
}
