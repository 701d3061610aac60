//! A refund: the merchant's, a duplicate payment's, and the cron's retry
//! of one left pending by a gateway fault — all under one number, one
//! refund, however often it is sent.
//!
//! A new number is checked (`state::check_refund`) and reserved (a claim:
//! one conditional insert, so concurrent refunds can neither overdraw nor
//! reuse a number) before the gateway's `refund` is sent. A success
//! settles it and then moves the attempt to the state its refunded total
//! implies (read back after the settlement, so two refunds settling at once
//! both count); a refusal marks it failed; any other fault leaves it
//! pending for the cron, which asks `refundQuery` (`gateway::refund_evidence`)
//! and sends it again only if the gateway does not list it.
//!
//! A number seen before resumes its refund instead ([`resume`]): done →
//! its result again; pending → `refundQuery`; another amount or a refusal →
//! a clear refusal.

use serde_json::json;
use soushou::model::{RefundQueryResp, RefundRequest, RefundResp};
use soushou::Fen;

use super::{
    finish_refund, refunded, reserved, transition, Attempt, Call, Fault, Level, Log, Plan, Reply,
    Write,
};
use crate::gateway::{self, RefundEvidence};
use crate::settle::{self, DuplicateRefundPolicy};
use crate::state;
use crate::vocab::{EventSource, OrderStatus, RefundState};

/// What the refund flow needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Who sends the `refund` request.
    pub merchant: gateway::Merchant,
    /// The duplicate refunds' tries (to say when the last one was refused).
    pub duplicates: DuplicateRefundPolicy,
    /// A pending refund last touched this long ago is retried by the cron
    /// (`REFUND_RETRY_AFTER_SECS`).
    pub retry_after_secs: u64,
}

/// The refund asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `OUT_REFUND_NO`: one number, one refund.
    pub out_refund_no: String,
    /// The amount.
    pub amount: Fen,
    /// `REFUND_SUBJECT`.
    pub reason: String,
}

/// What the flow reads: the attempt, its refunds, and whether the number
/// asked for belongs to another attempt's refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The attempt (`None`: no such charge code).
    pub attempt: Option<Attempt>,
    /// Its refunds, oldest first.
    pub refunds: Vec<super::Refund>,
    /// The number is another attempt's refund.
    pub number_elsewhere: bool,
}

impl Snapshot {
    fn refund(&self, out_refund_no: &str) -> Option<&super::Refund> {
        self.refunds
            .iter()
            .find(|r| r.out_refund_no == out_refund_no)
    }
}

/// One step of a refund.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Refund this (the merchant's route, a duplicate's refund).
    Request(Request),
    /// The cron: retry this pending refund if it is due.
    Retry {
        /// `OUT_REFUND_NO`.
        out_refund_no: String,
    },
    /// The answer to the `refund` sent for this number.
    Sent(String, Box<Reply<RefundResp>>),
    /// The answer to the `refundQuery` asked for this number.
    Listed(String, Box<Reply<RefundQueryResp>>),
}

/// A refund the gateway confirmed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Confirmed {
    /// The attempt's refunded total after it.
    pub total: Fen,
    /// The attempt's state after it.
    pub state: OrderStatus,
    /// The gateway's answer (none when a retry found the refund done).
    pub gateway: Option<Box<RefundResp>>,
}

/// Why a refund did not complete.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No such attempt.
    NotFound,
    /// The domain refuses it (state, amount): nothing was sent.
    Domain(crate::Error),
    /// The number is another attempt's refund.
    NumberElsewhere,
    /// The number was used for another amount.
    OtherAmount,
    /// The number's refund was refused before (with its code, if any).
    RefusedBefore(Option<String>),
    /// The gateway lists the refund as failed.
    ListedFailed,
    /// The gateway lists it, not (yet) final or with another amount.
    Unsettled,
    /// The gateway call failed: refused (the refund is failed) or
    /// unknown (it stays pending for the cron).
    Gateway(Fault),
    /// The cron's retry is not due (or another run claimed it).
    NotDue,
    /// The gateway confirmed a refund the store holds failed.
    Inconsistent,
}

/// The answer.
pub type Answer = Result<Confirmed, Failure>;

/// Decides one step of a refund of `snapshot.attempt`.
pub fn decide(snapshot: &Snapshot, input: &Input, now: u64, policy: &Policy) -> Plan<Answer> {
    let Some(attempt) = &snapshot.attempt else {
        return Plan::done(Err(Failure::NotFound));
    };
    match input {
        Input::Request(r) => request(attempt, snapshot, r, now, policy),
        Input::Retry { out_refund_no } => match snapshot.refund(out_refund_no) {
            Some(r)
                if r.state == RefundState::Pending
                    && r.updated_at <= now.saturating_sub(policy.retry_after_secs) =>
            {
                let claim = Write::ClaimRefundRetry {
                    out_refund_no: out_refund_no.clone(),
                    now,
                    cutoff: now.saturating_sub(policy.retry_after_secs),
                };
                Plan::call(Call::RefundQuery(gateway::refund_query(
                    &attempt.charge_code,
                )))
                .writing(vec![claim])
            }
            _ => Plan::done(Err(Failure::NotDue)),
        },
        Input::Sent(no, reply) => match &**reply {
            Ok(resp) => confirmed(attempt, snapshot, no, Some(resp), now),
            Err(fault) => sent_fault(&attempt.charge_code, no, fault, now, policy),
        },
        Input::Listed(no, reply) => match (&**reply, snapshot.refund(no)) {
            (Err(fault), _) => Plan::done(Err(Failure::Gateway(fault.clone()))),
            (Ok(_), None) => Plan::done(Err(Failure::NotFound)),
            (Ok(listed), Some(refund)) => {
                listed_refund(attempt, snapshot, refund, listed, now, policy)
            }
        },
    }
}

/// A `refund` that failed: a refusal fails it; anything else leaves it
/// pending for the cron ([`gateway::refund_after`]).
fn sent_fault(code: &str, no: &str, fault: &Fault, now: u64, policy: &Policy) -> Plan<Answer> {
    let mut plan = Plan::done(Err(Failure::Gateway(fault.clone())));
    if gateway::refund_after(Err(fault.code())) == Some(RefundState::Failed) {
        plan = plan.writing(finish_refund(code, no, Err(fault.code().cloned()), now));
        plan.log.extend(abandoned(code, no, policy));
    }
    plan
}

/// A refund asked for: resumed if its number is known, else checked,
/// reserved and sent.
fn request(
    attempt: &Attempt,
    snapshot: &Snapshot,
    r: &Request,
    now: u64,
    policy: &Policy,
) -> Plan<Answer> {
    let plan = match snapshot.refund(&r.out_refund_no) {
        Some(existing) => resume(attempt, snapshot, existing, r, now),
        None => {
            let reserved = reserved(&snapshot.refunds).min(attempt.amount);
            match state::check_refund(attempt.state, attempt.amount, reserved, r.amount) {
                Err(e) => Plan::done(Err(Failure::Domain(e))),
                Ok(_) if snapshot.number_elsewhere => Plan::done(Err(Failure::NumberElsewhere)),
                Ok(_) => {
                    Plan::call(Call::Refund(refund_request(attempt, r, policy))).writing(vec![
                        Write::ReserveRefund {
                            out_refund_no: r.out_refund_no.clone(),
                            charge_code: attempt.charge_code.clone(),
                            amount: r.amount,
                            reason: r.reason.clone(),
                            now,
                        },
                    ])
                }
            }
        }
    };
    plan.logging(Log::field("out_refund_no", r.out_refund_no.as_str()))
}

/// A refund number seen before: its answer, without a second refund.
fn resume(
    attempt: &Attempt,
    snapshot: &Snapshot,
    existing: &super::Refund,
    r: &Request,
    now: u64,
) -> Plan<Answer> {
    if existing.amount != r.amount {
        return Plan::done(Err(Failure::OtherAmount));
    }
    match existing.state {
        // Through `confirmed`, so an order whose state lags its settled
        // refunds (an older run's crash) is moved on by the merchant's retry.
        RefundState::Succeeded => confirmed(attempt, snapshot, &existing.out_refund_no, None, now),
        RefundState::Pending => Plan::call(Call::RefundQuery(gateway::refund_query(
            &attempt.charge_code,
        ))),
        RefundState::Failed => {
            Plan::done(Err(Failure::RefusedBefore(existing.gateway_code.clone())))
        }
    }
}

/// The gateway's `refund` for `r`.
fn refund_request(attempt: &Attempt, r: &Request, policy: &Policy) -> RefundRequest {
    let refund = gateway::Refund {
        charge_code: &attempt.charge_code,
        charge_down_code: attempt.charge_down_code.as_deref(),
        out_refund_no: &r.out_refund_no,
        amount: r.amount,
        reason: &r.reason,
    };
    gateway::refund(&policy.merchant, &refund)
}

/// The gateway confirmed refund `no` (its answer, or `refundQuery` listing
/// it done): settle it, then (deciding again on the settled snapshot) move
/// the attempt to the state its refunded total implies, and answer.
fn confirmed(
    attempt: &Attempt,
    snapshot: &Snapshot,
    no: &str,
    resp: Option<&RefundResp>,
    now: u64,
) -> Plan<Answer> {
    let code = &attempt.charge_code;
    match snapshot.refund(no).map(|r| r.state) {
        None => Plan::done(Err(Failure::NotFound)),
        Some(RefundState::Pending) => Plan::again(settle_and_move(attempt, snapshot, no, now)),
        Some(RefundState::Failed) => Plan::done(Err(Failure::Inconsistent)),
        Some(RefundState::Succeeded) => {
            let total = refunded(&snapshot.refunds);
            let target = state::after_refund(attempt.amount, total);
            let t = state::apply(attempt.state, target);
            let mut plan = Plan::done(Ok(Confirmed {
                total,
                state: t.state(),
                gateway: resp.map(|r| Box::new(r.clone())),
            }));
            if let state::Transition::Applied { to, .. } = t {
                plan = plan.writing(transition(code, to, EventSource::Refund, None));
            }
            if settle::duplicate_refund_try(code, no).is_some() {
                plan = plan.logging(Log::event(
                    Level::Info,
                    "duplicate_refunded",
                    json!({"charge_code": code, "out_refund_no": no,
                        "order_state": t.state().as_str()}),
                ));
            }
            plan
        }
    }
}

/// The batch that settles pending refund `no` as succeeded *and* moves the
/// order to the state its refunded total then implies. One batch, because
/// only pending refunds are ever retried: had the state moved in a later
/// batch, a crash between the two would leave the money refunded and the
/// order `paid` for good (chaos `--crash`, seed 1). The move is written
/// "if changed" (an order a concurrent refund already moved emits nothing);
/// the flow still decides again on the settled snapshot, which moves on an
/// order two concurrent partial refunds brought to its full amount.
fn settle_and_move(attempt: &Attempt, snapshot: &Snapshot, no: &str, now: u64) -> Vec<Write> {
    let code = &attempt.charge_code;
    let mut writes = finish_refund(code, no, Ok(()), now);
    let this = snapshot.refund(no).map_or(Fen::ZERO, |r| r.amount);
    let total = refunded(&snapshot.refunds)
        .checked_add(this)
        .unwrap_or(attempt.amount);
    let target = state::after_refund(attempt.amount, total);
    if let state::Transition::Applied { to, .. } = state::apply(attempt.state, target) {
        writes.extend(transition(
            code,
            to,
            EventSource::Refund,
            Some(attempt.amount),
        ));
    }
    writes
}

/// What `refundQuery` says about a refund we hold.
fn listed_refund(
    attempt: &Attempt,
    snapshot: &Snapshot,
    refund: &super::Refund,
    listed: &RefundQueryResp,
    now: u64,
    policy: &Policy,
) -> Plan<Answer> {
    let code = &attempt.charge_code;
    let no = &refund.out_refund_no;
    match refund.state {
        RefundState::Succeeded => return confirmed(attempt, snapshot, no, None, now),
        // Settled by another run meanwhile: never sent again.
        RefundState::Failed => {
            return Plan::done(Err(Failure::RefusedBefore(refund.gateway_code.clone())))
        }
        RefundState::Pending => {}
    }
    let trades = gateway::listed_refunds(listed);
    match gateway::refund_evidence(no, refund.amount, &trades) {
        RefundEvidence::Done => confirmed(attempt, snapshot, no, None, now),
        RefundEvidence::Absent => {
            let again = Request {
                out_refund_no: no.clone(),
                amount: refund.amount,
                reason: refund.reason.clone(),
            };
            Plan::call(Call::Refund(refund_request(attempt, &again, policy)))
        }
        RefundEvidence::Failed => {
            let mut plan = Plan::done(Err(Failure::ListedFailed)).writing(finish_refund(
                code,
                no,
                Err(None),
                now,
            ));
            plan.log.extend(abandoned(code, no, policy));
            plan
        }
        RefundEvidence::InProgress | RefundEvidence::Distrust => {
            Plan::done(Err(Failure::Unsettled)).logging(Log::event(
                Level::Warn,
                "refund_unsettled",
                json!({"charge_code": code, "out_refund_no": no}),
            ))
        }
    }
}

/// The refusal of a duplicate's last try: from here on the shopper's money
/// waits for a person (the merchant heard of every refusal).
fn abandoned(code: &str, no: &str, policy: &Policy) -> Option<Log> {
    let max = policy.duplicates.max_tries;
    (settle::duplicate_refund_try(code, no) == Some(max)).then(|| {
        Log::event(
            Level::Error,
            "duplicate_refund_abandoned",
            json!({"charge_code": code, "tries": max}),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::{attempt, refund};
    use soushou::model::RefundTrade;
    use soushou::types::{OrderState as G, ResultCode};
    use OrderStatus::*;
    use RefundState as R;

    fn policy() -> Policy {
        Policy {
            merchant: gateway::Merchant {
                busi_id: "B1".into(),
                oper_id: "O1".into(),
                dev_id: "D1".into(),
                register_id: None,
            },
            duplicates: DuplicateRefundPolicy {
                retry_after_secs: 60,
                max_tries: 3,
            },
            retry_after_secs: 60,
        }
    }

    fn f(n: u64) -> Fen {
        Fen::from_fen(n)
    }

    fn snap(state: OrderStatus, refunds: Vec<super::super::Refund>) -> Snapshot {
        Snapshot {
            attempt: Some(attempt("C1", state)),
            refunds,
            number_elsewhere: false,
        }
    }

    fn ask(no: &str, amt: u64) -> Request {
        Request {
            out_refund_no: no.into(),
            amount: f(amt),
            reason: "why".into(),
        }
    }

    fn gw(no: &str, amt: u64) -> RefundRequest {
        RefundRequest {
            busi_id: "B1".into(),
            oper_id: "O1".into(),
            dev_id: "D1".into(),
            charge_refund_fee: f(amt),
            refund_subject: "why".into(),
            charge_code: "C1".into(),
            charge_down_code: None,
            out_refund_no: Some(no.into()),
        }
    }

    fn settled(no: &str) -> Vec<Write> {
        finish_refund("C1", no, Ok(()), 500)
    }

    /// [`settled`] with the order moved to `to` in the same batch.
    fn settled_moving(no: &str, to: OrderStatus) -> Vec<Write> {
        let mut w = settled(no);
        w.extend(transition("C1", to, EventSource::Refund, Some(f(1000))));
        w
    }

    fn moved(to: OrderStatus) -> Vec<Write> {
        transition("C1", to, EventSource::Refund, None)
    }

    fn rf(no: &str, amt: u64, state: RefundState) -> Refund {
        refund("C1", no, amt, state)
    }

    fn field(no: &str) -> Log {
        Log::field("out_refund_no", no)
    }

    #[test]
    fn a_refund_asked_for() {
        let reserve = |no: &str, amt| {
            Plan::call(Call::Refund(gw(no, amt)))
                .writing(vec![Write::ReserveRefund {
                    out_refund_no: no.into(),
                    charge_code: "C1".into(),
                    amount: f(amt),
                    reason: "why".into(),
                    now: 500,
                }])
                .logging(field(no))
        };
        let fail = |e| Plan::done(Err(e)).logging(field("R1"));
        let mut elsewhere = snap(Paid, vec![]);
        elsewhere.number_elsewhere = true;
        let cases: Vec<(&str, Snapshot, Request, Plan<Answer>)> = vec![
            (
                "new: reserved, then sent",
                snap(Paid, vec![]),
                ask("R1", 300),
                reserve("R1", 300),
            ),
            (
                "what failed refunds left is refundable",
                snap(
                    PartiallyRefunded,
                    vec![rf("R0", 300, R::Succeeded), rf("RX", 700, R::Failed)],
                ),
                ask("R1", 700),
                reserve("R1", 700),
            ),
            (
                "exceeds what pending and done refunds left",
                snap(
                    PartiallyRefunded,
                    vec![rf("R0", 300, R::Succeeded), rf("RP", 400, R::Pending)],
                ),
                ask("R1", 301),
                fail(Failure::Domain(crate::Error::RefundExceeds {
                    refundable: f(300),
                })),
            ),
            (
                "not paid",
                snap(Pending, vec![]),
                ask("R1", 300),
                fail(Failure::Domain(crate::Error::NotRefundable {
                    status: Pending,
                })),
            ),
            (
                "the number is another attempt's",
                elsewhere,
                ask("R1", 300),
                fail(Failure::NumberElsewhere),
            ),
            (
                "known number, done: its result again",
                snap(PartiallyRefunded, vec![rf("R1", 300, R::Succeeded)]),
                ask("R1", 300),
                Plan::done(Ok(Confirmed {
                    total: f(300),
                    state: PartiallyRefunded,
                    gateway: None,
                }))
                .logging(field("R1")),
            ),
            (
                "known number, done, the order's state behind (a crash): moved on",
                snap(Paid, vec![rf("R1", 1000, R::Succeeded)]),
                ask("R1", 1000),
                Plan::done(Ok(Confirmed {
                    total: f(1000),
                    state: Refunded,
                    gateway: None,
                }))
                .writing(moved(Refunded))
                .logging(field("R1")),
            ),
            (
                "known number, pending: ask refundQuery",
                snap(Paid, vec![rf("R1", 300, R::Pending)]),
                ask("R1", 300),
                Plan::call(Call::RefundQuery(gateway::refund_query("C1"))).logging(field("R1")),
            ),
            (
                "known number, refused",
                snap(
                    Paid,
                    vec![Refund {
                        gateway_code: Some("FAIL".into()),
                        ..rf("R1", 300, R::Failed)
                    }],
                ),
                ask("R1", 300),
                fail(Failure::RefusedBefore(Some("FAIL".into()))),
            ),
            (
                "known number, another amount",
                snap(Paid, vec![rf("R1", 200, R::Pending)]),
                ask("R1", 300),
                fail(Failure::OtherAmount),
            ),
            (
                "no such attempt",
                Snapshot {
                    attempt: None,
                    refunds: vec![],
                    number_elsewhere: false,
                },
                ask("R1", 300),
                Plan::done(Err(Failure::NotFound)),
            ),
        ];
        for (name, s, r, want) in cases {
            assert_eq!(
                decide(&s, &Input::Request(r), 500, &policy()),
                want,
                "{name}"
            );
        }
    }

    use super::super::Refund;

    const FAIL: Result<(), Option<ResultCode>> = Err(Some(ResultCode::Fail));

    #[test]
    fn the_refund_answered() {
        let resp = RefundResp::default();
        let ok = Input::Sent("R1".into(), Box::new(Ok(resp.clone())));
        let done = |total, state| Confirmed {
            total: f(total),
            state,
            gateway: Some(Box::new(resp.clone())),
        };
        let refusal = Fault::Code(ResultCode::Fail);
        let unknown = Fault::Code(ResultCode::Exception);
        let cases: Vec<(&str, Snapshot, Input, Plan<Answer>)> = vec![
            (
                "success: settle first",
                snap(Paid, vec![rf("R1", 300, R::Pending)]),
                ok.clone(),
                Plan::again(settled_moving("R1", PartiallyRefunded)),
            ),
            (
                "success of the rest: settled and refunded in one batch",
                snap(
                    PartiallyRefunded,
                    vec![rf("R0", 300, R::Succeeded), rf("R1", 700, R::Pending)],
                ),
                ok.clone(),
                Plan::again(settled_moving("R1", Refunded)),
            ),
            (
                "success with a concurrent refund's move already made: settle only",
                Snapshot {
                    attempt: Some(attempt("C1", Refunded)),
                    refunds: vec![rf("R0", 300, R::Succeeded), rf("R1", 700, R::Pending)],
                    number_elsewhere: false,
                },
                ok.clone(),
                Plan::again(settled("R1")),
            ),
            (
                "settled: the state its total implies",
                snap(Paid, vec![rf("R1", 300, R::Succeeded)]),
                ok.clone(),
                Plan::done(Ok(done(300, PartiallyRefunded))).writing(moved(PartiallyRefunded)),
            ),
            (
                "settled, with another refund settled meanwhile: refunded",
                snap(
                    PartiallyRefunded,
                    vec![rf("R0", 700, R::Succeeded), rf("R1", 300, R::Succeeded)],
                ),
                ok.clone(),
                Plan::done(Ok(done(1000, Refunded))).writing(moved(Refunded)),
            ),
            (
                "settled, revoked meanwhile: the state stays",
                snap(Revoked, vec![rf("R1", 300, R::Succeeded)]),
                ok.clone(),
                Plan::done(Ok(done(300, Revoked))),
            ),
            (
                "success for a refund held failed",
                snap(Paid, vec![rf("R1", 300, R::Failed)]),
                ok,
                Plan::done(Err(Failure::Inconsistent)),
            ),
            (
                "refused: failed",
                snap(Paid, vec![rf("R1", 300, R::Pending)]),
                Input::Sent("R1".into(), Box::new(Err(refusal.clone()))),
                Plan::done(Err(Failure::Gateway(refusal.clone())))
                    .writing(finish_refund("C1", "R1", FAIL, 500)),
            ),
            (
                "outcome unknown: stays pending",
                snap(Paid, vec![rf("R1", 300, R::Pending)]),
                Input::Sent("R1".into(), Box::new(Err(unknown.clone()))),
                Plan::done(Err(Failure::Gateway(unknown))),
            ),
            (
                "no answer: stays pending",
                snap(Paid, vec![rf("R1", 300, R::Pending)]),
                Input::Sent("R1".into(), Box::new(Err(Fault::NoAnswer))),
                Plan::done(Err(Failure::Gateway(Fault::NoAnswer))),
            ),
            (
                "a duplicate's last try refused: left to a person",
                snap(Paid, vec![rf("dup-C1-3", 1000, R::Pending)]),
                Input::Sent("dup-C1-3".into(), Box::new(Err(refusal.clone()))),
                Plan::done(Err(Failure::Gateway(refusal.clone())))
                    .writing(finish_refund("C1", "dup-C1-3", FAIL, 500))
                    .logging(Log::event(
                        Level::Error,
                        "duplicate_refund_abandoned",
                        json!({"charge_code": "C1", "tries": 3}),
                    )),
            ),
            (
                "a duplicate's refund done",
                snap(Paid, vec![rf("dup-C1", 1000, R::Succeeded)]),
                Input::Sent("dup-C1".into(), Box::new(Ok(resp.clone()))),
                Plan::done(Ok(done(1000, Refunded)))
                    .writing(moved(Refunded))
                    .logging(Log::event(
                        Level::Info,
                        "duplicate_refunded",
                        json!({"charge_code": "C1", "out_refund_no": "dup-C1",
                            "order_state": "refunded"}),
                    )),
            ),
        ];
        for (name, s, input, want) in cases {
            assert_eq!(decide(&s, &input, 500, &policy()), want, "{name}");
        }
    }

    #[test]
    fn the_cron_retry_and_refund_query() {
        let listed = |trades: Vec<(&str, u64, G)>| RefundQueryResp {
            refund_trade_list: trades
                .into_iter()
                .map(|(no, amt, state)| RefundTrade {
                    refund_code: Some(no.into()),
                    refund_amt: Some(f(amt)),
                    state: Some(state),
                    ..RefundTrade::default()
                })
                .collect(),
            ..RefundQueryResp::default()
        };
        let pending = || snap(Paid, vec![rf("R1", 300, R::Pending)]); // touched at 100
        let retry = Input::Retry {
            out_refund_no: "R1".into(),
        };
        let l = |trades| Input::Listed("R1".into(), Box::new(Ok(listed(trades))));
        let cases: Vec<(&str, Snapshot, Input, u64, Plan<Answer>)> = vec![
            (
                "due: claimed, then refundQuery",
                pending(),
                retry.clone(),
                160,
                Plan::call(Call::RefundQuery(gateway::refund_query("C1"))).writing(vec![
                    Write::ClaimRefundRetry {
                        out_refund_no: "R1".into(),
                        now: 160,
                        cutoff: 100,
                    },
                ]),
            ),
            (
                "touched too recently",
                pending(),
                retry.clone(),
                159,
                Plan::done(Err(Failure::NotDue)),
            ),
            (
                "settled meanwhile",
                snap(Paid, vec![rf("R1", 300, R::Succeeded)]),
                retry,
                1000,
                Plan::done(Err(Failure::NotDue)),
            ),
            (
                "listed done: settle",
                pending(),
                l(vec![("R1", 300, G::RefundSucceeded)]),
                500,
                Plan::again(settled_moving("R1", PartiallyRefunded)),
            ),
            (
                "listed done, settled: the state",
                snap(Paid, vec![rf("R1", 300, R::Succeeded)]),
                l(vec![("R1", 300, G::RefundSucceeded)]),
                500,
                Plan::done(Ok(Confirmed {
                    total: f(300),
                    state: PartiallyRefunded,
                    gateway: None,
                }))
                .writing(transition(
                    "C1",
                    PartiallyRefunded,
                    EventSource::Refund,
                    None,
                )),
            ),
            (
                "not listed: sent again, same number",
                pending(),
                l(vec![("R9", 300, G::RefundSucceeded)]),
                500,
                Plan::call(Call::Refund(gw("R1", 300))),
            ),
            (
                "listed failed",
                pending(),
                l(vec![("R1", 300, G::RefundFailed)]),
                500,
                Plan::done(Err(Failure::ListedFailed)).writing(finish_refund(
                    "C1",
                    "R1",
                    Err(None),
                    500,
                )),
            ),
            (
                "listed in progress",
                pending(),
                l(vec![("R1", 300, G::RefundPending)]),
                500,
                Plan::done(Err(Failure::Unsettled)).logging(Log::event(
                    Level::Warn,
                    "refund_unsettled",
                    json!({"charge_code": "C1", "out_refund_no": "R1"}),
                )),
            ),
            (
                "listed with another amount",
                pending(),
                l(vec![("R1", 299, G::RefundSucceeded)]),
                500,
                Plan::done(Err(Failure::Unsettled)).logging(Log::event(
                    Level::Warn,
                    "refund_unsettled",
                    json!({"charge_code": "C1", "out_refund_no": "R1"}),
                )),
            ),
            (
                "refused meanwhile: never sent again",
                snap(Paid, vec![rf("R1", 300, R::Failed)]),
                l(vec![]),
                500,
                Plan::done(Err(Failure::RefusedBefore(None))),
            ),
            (
                "refundQuery failed",
                pending(),
                Input::Listed("R1".into(), Box::new(Err(Fault::NoAnswer))),
                500,
                Plan::done(Err(Failure::Gateway(Fault::NoAnswer))),
            ),
        ];
        for (name, s, input, now, want) in cases {
            assert_eq!(decide(&s, &input, now, &policy()), want, "{name}");
        }
    }
}
