//! Asking the gateway about an attempt (`query`) and booking what it
//! proves: the page's polling, the merchant's order view, the cron sweep
//! (pending attempts and re-check windows), a POS charge's polling and a
//! revocation's `AREADY_REVOKED` all run this flow.
//!
//! Due or not is `settle::reconcile_action` (a due query is claimed, one
//! caller per interval); the answer is checked with `settle::evidence` and
//! applied by `state::apply`'s rule; new money is checked for being a
//! duplicate of its link after the answer. A `CHARGE_NONEXISTENT` for an
//! attempt pending longer than [`Policy::unknown_attempt_fails_after_secs`]
//! fails it: the `pay` call that should have created it never arrived.

use serde_json::json;
use soushou::model::QueryResp;
use soushou::types::ResultCode;

use super::{
    log_distrust, log_stale, transition, Attempt, Call, Fault, FollowUp, Level, Log, Plan, Reply,
    Write,
};
use crate::gateway;
use crate::settle::{self, Evidence, ReconcilePolicy, Report};
use crate::state;
use crate::sweep;
use crate::vocab::{EventSource, OrderStatus};

/// The reconciler's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Our `BUSI_ID`.
    pub busi_id: String,
    /// When a query is due.
    pub pacing: ReconcilePolicy,
    /// How long an attempt the gateway never heard of may stay pending
    /// before a `CHARGE_NONEXISTENT` fails it: long enough that a `pay`
    /// call still in flight (its timeout, the gateway's own processing) has
    /// surely arrived if it ever will.
    pub unknown_attempt_fails_after_secs: u64,
}

/// What to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Query if the reconciler's rule says it is due (the page's poll, the
    /// cron sweep), claiming the query slot first.
    IfDue(EventSource),
    /// Query now (the merchant asks, a POS charge polls, a revocation was
    /// answered `AREADY_REVOKED`).
    Query(EventSource),
    /// The answer to the `query`.
    Answered(EventSource, Box<Reply<QueryResp>>),
}

/// What the flow found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Not due, or another caller holds the slot: nothing asked.
    NotDue,
    /// The gateway answered; `state` is the attempt's state after it.
    Queried {
        /// The attempt's state as the books now hold it.
        state: OrderStatus,
        /// The gateway's answer.
        resp: Box<QueryResp>,
    },
    /// The gateway did not answer usefully (the state is unchanged, except
    /// for an attempt it never heard of, failed as the policy says).
    Failed(Fault),
}

/// Decides one step of a query of `attempt` (the snapshot: its row).
pub fn decide(attempt: &Attempt, input: &Input, now: u64, policy: &Policy) -> Plan<Answer> {
    let code = &attempt.charge_code;
    match input {
        Input::IfDue(_) => {
            let due = settle::ReconcileInput {
                status: attempt.state,
                created_at: attempt.created_at,
                last_query_at: attempt.last_query_at,
                recheck_until: attempt.recheck_until,
                now,
            };
            if !settle::reconcile_action(&policy.pacing, &due) {
                return Plan::done(Answer::NotDue);
            }
            Plan::call(Call::Query(gateway::query(code))).writing(vec![Write::ClaimQuerySlot {
                charge_code: code.clone(),
                now,
                min_interval_secs: policy.pacing.min_interval_secs,
                sweep_at: sweep::next_sweep_at(
                    &policy.pacing,
                    attempt.method,
                    attempt.created_at,
                    now,
                ),
            }])
        }
        Input::Query(_) => Plan::call(Call::Query(gateway::query(code))),
        Input::Answered(source, reply) => match &**reply {
            Ok(resp) => answered(attempt, *source, resp, policy),
            Err(fault) => failed(attempt, *source, fault, now, policy),
        },
    }
}

/// The answer's evidence, applied.
fn answered(
    attempt: &Attempt,
    source: EventSource,
    resp: &QueryResp,
    policy: &Policy,
) -> Plan<Answer> {
    let code = &attempt.charge_code;
    let expected = attempt.expected(&policy.busi_id);
    let report = Report::of_query(resp);
    let queried = |state| Answer::Queried {
        state,
        resp: Box::new(resp.clone()),
    };
    match settle::evidence(&expected, &report) {
        Evidence::Apply(event) => {
            let t = state::apply(attempt.state, event);
            let mut plan = Plan::done(queried(t.state()));
            if let state::Transition::Applied { to, .. } = t {
                plan = plan.writing(transition(code, to, source, None));
            }
            plan.log.extend(log_stale(code, source, &t));
            if settle::is_new_money(&t) {
                plan = plan.then(FollowUp::DuplicateCheck {
                    charge_code: code.clone(),
                });
            }
            plan.logging(Log::field("reconcile", t.name()))
        }
        Evidence::Silent => Plan::done(queried(attempt.state)),
        Evidence::Distrust(m) => {
            Plan::done(queried(attempt.state)).logging(log_distrust(&expected, &report, source, m))
        }
    }
}

/// A fault: logged; an attempt the gateway never heard of fails once old.
fn failed(
    attempt: &Attempt,
    source: EventSource,
    fault: &Fault,
    now: u64,
    policy: &Policy,
) -> Plan<Answer> {
    let code = &attempt.charge_code;
    let mut plan = Plan::done(Answer::Failed(fault.clone()));
    let unknown = gateway::never_heard_of(fault.code())
        && attempt.state == OrderStatus::Pending
        && now.saturating_sub(attempt.created_at) >= policy.unknown_attempt_fails_after_secs;
    if unknown {
        let t = state::apply(attempt.state, OrderStatus::Failed);
        plan = plan
            .writing(transition(code, OrderStatus::Failed, source, None))
            .logging(Log::event(
                Level::Warn,
                "attempt_unknown_to_gateway",
                json!({"charge_code": code, "outcome": t.name()}),
            ));
    }
    plan.logging(Log::event(
        Level::Warn,
        "reconcile_failed",
        json!({"charge_code": code, "gateway_code": fault.code().map(ResultCode::as_str)}),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::attempt;
    use soushou::types::OrderState as G;
    use soushou::Fen;

    fn policy() -> Policy {
        Policy {
            busi_id: "B1".into(),
            pacing: ReconcilePolicy {
                after_secs: 30,
                min_interval_secs: 10,
            },
            unknown_attempt_fails_after_secs: 600,
        }
    }

    fn resp(code: &str, amt: u64, state: G) -> QueryResp {
        QueryResp {
            charge_code: Some(code.into()),
            busi_id: Some("B1".into()),
            amt: Some(Fen::from_fen(amt)),
            state: Some(state),
            ..QueryResp::default()
        }
    }

    fn queried(state: OrderStatus, r: &QueryResp) -> Answer {
        Answer::Queried {
            state,
            resp: Box::new(r.clone()),
        }
    }

    #[test]
    fn when_to_ask() {
        let src = EventSource::Cron;
        let claim = |now| {
            Plan::call(Call::Query(gateway::query("C1"))).writing(vec![Write::ClaimQuerySlot {
                charge_code: "C1".into(),
                now,
                min_interval_secs: 10,
                // A NATIVE attempt 1000 s old: the longest backoff, 300 s.
                sweep_at: now + 300,
            }])
        };
        let mut rested = attempt("C1", OrderStatus::Pending);
        rested.last_query_at = Some(980);
        let mut in_window = attempt("C1", OrderStatus::Paid);
        in_window.recheck_until = Some(2000);
        let cases: Vec<(&str, Attempt, Input, u64, Plan<Answer>)> = vec![
            (
                "pending, old enough",
                attempt("C1", OrderStatus::Pending),
                Input::IfDue(src),
                1000,
                claim(1000),
            ),
            (
                "pending, young",
                attempt("C1", OrderStatus::Pending),
                Input::IfDue(src),
                20,
                Plan::done(Answer::NotDue),
            ),
            (
                "pending, rested",
                rested.clone(),
                Input::IfDue(src),
                1000,
                claim(1000),
            ),
            (
                "pending, just queried",
                rested,
                Input::IfDue(src),
                985,
                Plan::done(Answer::NotDue),
            ),
            (
                "settled",
                attempt("C1", OrderStatus::Paid),
                Input::IfDue(src),
                1000,
                Plan::done(Answer::NotDue),
            ),
            (
                "settled, in its re-check window",
                in_window,
                Input::IfDue(src),
                1000,
                claim(1000),
            ),
            (
                "asked now: no claim",
                attempt("C1", OrderStatus::Paid),
                Input::Query(src),
                1000,
                Plan::call(Call::Query(gateway::query("C1"))),
            ),
        ];
        for (name, a, input, now, want) in cases {
            assert_eq!(decide(&a, &input, now, &policy()), want, "{name}");
        }
    }

    #[test]
    fn what_an_answer_books() {
        use OrderStatus::*;
        let src = EventSource::Poll;
        let paid = resp("C1", 1000, G::Paid);
        let closed = resp("C1", 1000, G::Closed);
        let refunded = resp("C1", 1000, G::PartiallyRefunded);
        let wrong_amt = resp("C1", 999, G::Paid);
        let silent = resp("C1", 1000, G::RevocationApplied);
        let dup = FollowUp::DuplicateCheck {
            charge_code: "C1".into(),
        };
        let field = |name: &'static str| Log::field("reconcile", name);
        let cases: Vec<(&str, OrderStatus, &QueryResp, Plan<Answer>)> = vec![
            (
                "paid: booked, then the duplicate check",
                Pending,
                &paid,
                Plan::done(queried(Paid, &paid))
                    .writing(transition("C1", Paid, src, None))
                    .then(dup.clone())
                    .logging(field("applied")),
            ),
            (
                "money wins over failed",
                Failed,
                &paid,
                Plan::done(queried(Paid, &paid))
                    .writing(transition("C1", Paid, src, None))
                    .then(dup)
                    .logging(field("applied")),
            ),
            (
                "already paid",
                Paid,
                &paid,
                Plan::done(queried(Paid, &paid)).logging(field("duplicate")),
            ),
            (
                "a refund state proves the payment only",
                PartiallyRefunded,
                &refunded,
                Plan::done(queried(PartiallyRefunded, &refunded))
                    .logging(Log::event(
                        Level::Info,
                        "stale_report",
                        json!({"charge_code": "C1", "source": "poll",
                            "current": "partially_refunded", "event": "paid"}),
                    ))
                    .logging(field("stale")),
            ),
            (
                "closed",
                Pending,
                &closed,
                Plan::done(queried(Closed, &closed))
                    .writing(transition("C1", Closed, src, None))
                    .logging(field("applied")),
            ),
            (
                "revocation applied for: nothing",
                Paid,
                &silent,
                Plan::done(queried(Paid, &silent)),
            ),
            (
                "another amount: distrusted",
                Pending,
                &wrong_amt,
                Plan::done(queried(Pending, &wrong_amt)).logging(Log::event(
                    Level::Warn,
                    "amount_mismatch",
                    json!({"charge_code": "C1", "source": "poll", "expected_fen": 1000,
                        "reported_fen": 999, "reported_charge_code": "C1"}),
                )),
            ),
        ];
        for (name, state, r, want) in cases {
            let input = Input::Answered(src, Box::new(Ok(r.clone())));
            assert_eq!(
                decide(&attempt("C1", state), &input, 1000, &policy()),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn what_a_fault_books() {
        use OrderStatus::*;
        let src = EventSource::Cron;
        let nonexistent = Fault::Code(ResultCode::ChargeNonexistent);
        let logged = |fault: &Fault| {
            Log::event(
                Level::Warn,
                "reconcile_failed",
                json!({"charge_code": "C1", "gateway_code": fault.code().map(ResultCode::as_str)}),
            )
        };
        let unknown_failed = Plan::done(Answer::Failed(nonexistent.clone()))
            .writing(transition("C1", Failed, src, None))
            .logging(Log::event(
                Level::Warn,
                "attempt_unknown_to_gateway",
                json!({"charge_code": "C1", "outcome": "applied"}),
            ))
            .logging(logged(&nonexistent));
        let just = |fault: &Fault| Plan::done(Answer::Failed(fault.clone())).logging(logged(fault));
        // `attempt` is created at 0.
        let cases: Vec<(&str, OrderStatus, Fault, u64, Plan<Answer>)> = vec![
            (
                "never heard of, old: failed",
                Pending,
                nonexistent.clone(),
                600,
                unknown_failed,
            ),
            (
                "never heard of, young: wait",
                Pending,
                nonexistent.clone(),
                599,
                just(&nonexistent),
            ),
            (
                "never heard of, settled: nothing",
                Paid,
                nonexistent.clone(),
                5000,
                just(&nonexistent),
            ),
            (
                "outcome unknown",
                Pending,
                Fault::Code(ResultCode::Exception),
                5000,
                just(&Fault::Code(ResultCode::Exception)),
            ),
            (
                "no answer",
                Pending,
                Fault::NoAnswer,
                5000,
                just(&Fault::NoAnswer),
            ),
        ];
        for (name, state, fault, now, want) in cases {
            let input = Input::Answered(src, Box::new(Err(fault)));
            assert_eq!(
                decide(&attempt("C1", state), &input, now, &policy()),
                want,
                "{name}"
            );
        }
    }
}
