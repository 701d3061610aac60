//! Revoking an attempt with `cancelTrade` (the merchant's cancel, a POS
//! charge unpaid after its polling window) and booking what the gateway
//! says.
//!
//! The attempt is put under re-check first, in the batch before the call,
//! so whatever happens next — a slow revocation, a lost answer, the Worker
//! evicted — the reconciler queries it until the window ends and books the
//! gateway's final state. What the answer proves is
//! `settle::cancel_evidence`: a real-time `SUCCESS` is booked `revoked`; an
//! `AREADY_REVOKED` is a refusal, booked only as a `query` then reports the
//! attempt (a [`FollowUp::Query`]); anything else books nothing now.

use soushou::model::CancelTradeResp;
use soushou::types::CancelMode;

use super::{outcome, transition, Attempt, Call, Fault, FollowUp, Log, Plan, Reply, Write};
use crate::gateway::{self, CancelEvidence};
use crate::state;
use crate::vocab::{EventSource, OrderStatus};

/// How long the reconciler re-checks a revoked attempt
/// (`RECHECK_WINDOW_SECS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Seconds.
    pub recheck_window_secs: u64,
}

/// One step of a revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Revoke (`RealTime`, or apply for it: `opType=ACO`); `source` names
    /// the caller in the history (`cancel`, `pos`).
    Request(CancelMode, EventSource),
    /// The answer to the `cancelTrade`.
    Answered(CancelMode, EventSource, Reply<CancelTradeResp>),
}

/// The attempt's state after the call as the books hold it, or the
/// gateway's fault (the state then is whatever the re-check finds).
pub type Answer = Result<OrderStatus, Fault>;

/// Decides one step of the revocation of `attempt`.
pub fn decide(attempt: &Attempt, input: &Input, now: u64, policy: &Policy) -> Plan<Answer> {
    let code = &attempt.charge_code;
    match input {
        Input::Request(mode, _) => Plan::call(Call::Cancel(gateway::cancel_trade(code, *mode)))
            .writing(vec![Write::SetRecheck {
                charge_code: code.clone(),
                until: now.saturating_add(policy.recheck_window_secs),
            }]),
        Input::Answered(mode, source, answer) => {
            let applied_for = *mode == CancelMode::Apply;
            let result = outcome(answer);
            let name = match mode {
                CancelMode::Apply => "revocation_applied",
                CancelMode::RealTime => "revoked",
            };
            let plan = match gateway::cancel_evidence(applied_for, result) {
                CancelEvidence::Revoked => {
                    let t = state::apply(attempt.state, OrderStatus::Revoked);
                    let mut plan = Plan::done(Ok(t.state()));
                    if let state::Transition::Applied { to, .. } = t {
                        plan = plan.writing(transition(code, to, *source, None));
                    }
                    plan
                }
                CancelEvidence::AskQuery => {
                    Plan::done(answer.clone().map(|_| attempt.state)).then(FollowUp::Query {
                        charge_code: code.clone(),
                        source: *source,
                    })
                }
                CancelEvidence::Nothing => Plan::done(answer.clone().map(|_| attempt.state)),
            };
            plan.logging(Log::field("outcome", name))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::attempt;
    use soushou::model::CancelTradeRequest;
    use soushou::types::ResultCode;
    use OrderStatus::*;

    const POLICY: Policy = Policy {
        recheck_window_secs: 900,
    };

    #[test]
    fn the_request() {
        for mode in [CancelMode::RealTime, CancelMode::Apply] {
            let want = Plan::call(Call::Cancel(CancelTradeRequest {
                charge_code: "C1".into(),
                mode,
            }))
            .writing(vec![Write::SetRecheck {
                charge_code: "C1".into(),
                until: 1900,
            }]);
            let input = Input::Request(mode, EventSource::Cancel);
            assert_eq!(decide(&attempt("C1", Paid), &input, 1000, &POLICY), want);
        }
    }

    #[test]
    fn what_the_answer_books() {
        let rt = CancelMode::RealTime;
        let src = EventSource::Cancel;
        let ok = || Ok(CancelTradeResp::default());
        let code = |c| Err(Fault::Code(c));
        let revoked = Log::field("outcome", "revoked");
        let query = FollowUp::Query {
            charge_code: "C1".into(),
            source: src,
        };
        type Case = (
            &'static str,
            OrderStatus,
            CancelMode,
            Reply<CancelTradeResp>,
            Plan<Answer>,
        );
        let cases: Vec<Case> = vec![
            (
                "real-time success: revoked",
                Paid,
                rt,
                ok(),
                Plan::done(Ok(Revoked))
                    .writing(transition("C1", Revoked, src, None))
                    .logging(revoked.clone()),
            ),
            (
                "real-time success on a pending attempt",
                Pending,
                rt,
                ok(),
                Plan::done(Ok(Revoked))
                    .writing(transition("C1", Revoked, src, None))
                    .logging(revoked.clone()),
            ),
            (
                "already booked revoked",
                Revoked,
                rt,
                ok(),
                Plan::done(Ok(Revoked)).logging(revoked.clone()),
            ),
            (
                "applied for: the re-check settles it",
                Paid,
                CancelMode::Apply,
                ok(),
                Plan::done(Ok(Paid)).logging(Log::field("outcome", "revocation_applied")),
            ),
            (
                "AREADY_REVOKED: never booked on its word; query",
                Paid,
                rt,
                code(ResultCode::AreadyRevoked),
                Plan::done(Err(Fault::Code(ResultCode::AreadyRevoked)))
                    .then(query)
                    .logging(revoked.clone()),
            ),
            (
                "refused",
                Paid,
                rt,
                code(ResultCode::Fail),
                Plan::done(Err(Fault::Code(ResultCode::Fail))).logging(revoked.clone()),
            ),
            (
                "no answer",
                Paid,
                rt,
                Err(Fault::NoAnswer),
                Plan::done(Err(Fault::NoAnswer)).logging(revoked),
            ),
        ];
        for (name, state, mode, answer, want) in cases {
            let input = Input::Answered(mode, src, answer);
            assert_eq!(
                decide(&attempt("C1", state), &input, 1000, &POLICY),
                want,
                "{name}"
            );
        }
    }
}
