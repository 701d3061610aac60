//! A POS charge driven to a final state before the cashier is answered:
//! after the `preOrder` (created by [`super::pay`]), [`crate::pos::next`]
//! decides every step — poll `query` (the [`super::reconcile`] flow's
//! evidence), or revoke (the [`super::cancel`] flow) once the polling
//! window is over. The gateway not knowing a charge it is asked to revoke
//! means the `preOrder` never arrived: nothing was charged, it is failed.
//!
//! Time here is milliseconds (`now_ms`): the polling window is seconds long.

use serde_json::json;
use soushou::model::{CancelTradeResp, OrderResp, QueryResp};
use soushou::types::CancelMode;

use super::{
    cancel, log_distrust, log_stale, reconcile, transition, Attempt, Call, Fault, Level, Log, Next,
    Plan, Reply,
};
use crate::gateway;
use crate::pos::{self as polling, Observed, PosPolicy, PosStep};
use crate::settle::{self, Evidence, Report};
use crate::state;
use crate::vocab::{EventSource, OrderStatus};

/// The POS flow's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// The polling discipline (`POS_POLL_INTERVAL_MS`, `POS_POLL_FOR_MS`).
    pub polling: PosPolicy,
    /// How a poll's answer is booked.
    pub reconcile: reconcile::Policy,
    /// How a revocation is re-checked.
    pub cancel: cancel::Policy,
}

/// Where the charge's polling stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// When the `preOrder` answer came (or the resumed request), ms.
    pub started_ms: u64,
    /// `query` calls so far.
    pub polls: u32,
}

/// One step of a POS charge; the answer to each call carries the
/// progress of the input that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// The `preOrder`'s answer (its creating flow already failed a refused
    /// one and stored the serials).
    PreOrdered(Progress, Box<Reply<OrderResp>>),
    /// A retry with the same `Idempotency-Key`: never a second `preOrder`;
    /// settled from the stored state.
    Resume(Progress),
    /// A poll's `query` answer.
    Polled(Progress, Box<Reply<QueryResp>>),
    /// The revocation's answer.
    Revoked(Progress, Box<Reply<CancelTradeResp>>),
}

/// The answer to a call this flow made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answered {
    /// To a poll's `query`.
    Query(Box<Reply<QueryResp>>),
    /// To the revocation's `cancelTrade`.
    Cancel(Reply<CancelTradeResp>),
}

impl Input {
    /// Where the charge stands.
    pub fn progress(&self) -> Progress {
        match self {
            Input::PreOrdered(p, _)
            | Input::Resume(p)
            | Input::Polled(p, _)
            | Input::Revoked(p, _) => *p,
        }
    }

    /// The input an answer to this input's call makes (a poll counts once
    /// answered).
    pub fn answered(&self, answer: Answered) -> Input {
        let progress = self.progress();
        match answer {
            Answered::Query(reply) => Input::Polled(
                Progress {
                    polls: progress.polls + 1,
                    ..progress
                },
                reply,
            ),
            Answered::Cancel(reply) => Input::Revoked(progress, Box::new(reply)),
        }
    }
}

/// How a charge ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Charged {
    /// The final state (`pending` only if even the revocation's outcome is
    /// unknown; the re-check window's queries then settle it).
    pub state: OrderStatus,
    /// `query` calls it took.
    pub polls: u32,
}

/// The cashier's answer; a refused `preOrder` is its fault.
pub type Answer = Result<Charged, Fault>;

/// Decides one step of the charge of `attempt`.
pub fn decide(attempt: &Attempt, input: &Input, now_ms: u64, policy: &Policy) -> Plan<Answer> {
    let code = &attempt.charge_code;
    match input {
        Input::PreOrdered(progress, reply) => match &**reply {
            Err(fault) if fault.is_refusal() => Plan::done(Err(fault.clone())),
            Err(_) => step(attempt, Observed::Unknown, *progress, now_ms, policy),
            Ok(resp) => {
                let (seen, booked) = pre_order_evidence(attempt, resp, &policy.reconcile.busi_id);
                booked.followed_by(step(attempt, seen, *progress, now_ms, policy))
            }
        },
        Input::Resume(progress) => {
            let seen = match attempt.state {
                OrderStatus::Pending => Observed::Unknown,
                settled => Observed::State(settled),
            };
            step(attempt, seen, *progress, now_ms, policy)
        }
        Input::Polled(progress, reply) => {
            let answered = reconcile::Input::Answered(EventSource::Pos, reply.clone());
            let booked = reconcile::decide(attempt, &answered, now_ms / 1000, &policy.reconcile);
            let seen = match &booked.next {
                Next::Done(reconcile::Answer::Queried { state, .. }) => Observed::State(*state),
                _ => Observed::Unknown,
            };
            booked.followed_by(step(attempt, seen, *progress, now_ms, policy))
        }
        Input::Revoked(progress, reply) => {
            let answered =
                cancel::Input::Answered(CancelMode::RealTime, EventSource::Pos, (**reply).clone());
            let booked = cancel::decide(attempt, &answered, now_ms / 1000, &policy.cancel);
            let (state, extra) = match &booked.next {
                Next::Done(Ok(state)) => (*state, Vec::new()),
                Next::Done(Err(fault)) if gateway::never_heard_of(fault.code()) => {
                    let t = state::apply(attempt.state, OrderStatus::Failed);
                    let writes = match t {
                        state::Transition::Applied { to, .. } => {
                            transition(code, to, EventSource::Pos, None)
                        }
                        _ => Vec::new(),
                    };
                    (t.state(), writes)
                }
                // Already revoked (the gateway's own 80 s limit) is
                // queried by the cancel flow's follow-up; anything else is
                // unknown and under re-check. Either way the stored state
                // is the answer.
                _ => (attempt.state, Vec::new()),
            };
            let outcome = match &**reply {
                Ok(_) => state.as_str().to_owned(),
                Err(f) => f.code().map_or("no_answer", |c| c.as_str()).to_owned(),
            };
            booked.followed_by(
                Plan::done(Ok(Charged {
                    state,
                    polls: progress.polls,
                }))
                .writing(extra)
                .logging(Log::event(
                    Level::Warn,
                    "pos_charge_revoked",
                    json!({"charge_code": code, "outcome": outcome}),
                )),
            )
        }
    }
}

/// What the `preOrder` answer proves (`Report::of_pre_order`), booked.
fn pre_order_evidence(attempt: &Attempt, resp: &OrderResp, busi_id: &str) -> (Observed, Plan<()>) {
    let code = &attempt.charge_code;
    let expected = attempt.expected(busi_id);
    let report = Report::of_pre_order(resp);
    let mut booked = Plan::done(());
    let seen = match settle::evidence(&expected, &report) {
        Evidence::Apply(event) => {
            let t = state::apply(attempt.state, event);
            if let state::Transition::Applied { to, .. } = t {
                booked = booked.writing(transition(code, to, EventSource::Pay, None));
            }
            booked.log.extend(log_stale(code, EventSource::Pay, &t));
            Observed::State(t.state())
        }
        Evidence::Silent => Observed::Unknown,
        Evidence::Distrust(m) => {
            booked = booked.logging(log_distrust(&expected, &report, EventSource::Pay, m));
            Observed::Unknown
        }
    };
    (seen, booked)
}

/// The next step from what was seen: answer, poll after the pause, or
/// revoke.
fn step(
    attempt: &Attempt,
    seen: Observed,
    progress: Progress,
    now_ms: u64,
    policy: &Policy,
) -> Plan<Answer> {
    let code = &attempt.charge_code;
    let elapsed = now_ms.saturating_sub(progress.started_ms);
    match polling::next(&policy.polling, seen, elapsed) {
        PosStep::Done(state) => Plan::done(Ok(Charged {
            state,
            polls: progress.polls,
        })),
        PosStep::Poll { after_ms } => {
            Plan::with_next(Next::CallAfter(after_ms, Call::Query(gateway::query(code))))
        }
        PosStep::Cancel => {
            let request = cancel::Input::Request(CancelMode::RealTime, EventSource::Pos);
            let revoke = cancel::decide(attempt, &request, now_ms / 1000, &policy.cancel);
            // A revocation starts with its call; were it ever to answer
            // at once, the stored state is the cashier's answer.
            revoke.retyped().unwrap_or_else(|_| {
                Plan::done(Ok(Charged {
                    state: attempt.state,
                    polls: progress.polls,
                }))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::attempt;
    use crate::flow::Write;
    use crate::settle::ReconcilePolicy;
    use soushou::model::{CancelTradeRequest, FundBill};
    use soushou::types::{FundChannel, OrderState as G, ResultCode};
    use soushou::Fen;
    use OrderStatus::*;

    fn policy() -> Policy {
        Policy {
            polling: PosPolicy {
                poll_interval_ms: 5_000,
                poll_for_ms: 60_000,
            },
            reconcile: reconcile::Policy {
                busi_id: "B1".into(),
                pacing: ReconcilePolicy {
                    after_secs: 30,
                    min_interval_secs: 10,
                },
                unknown_attempt_fails_after_secs: 600,
            },
            cancel: cancel::Policy {
                recheck_window_secs: 900,
            },
        }
    }

    const AT: Progress = Progress {
        started_ms: 1_000_000,
        polls: 2,
    };

    fn poll() -> Plan<Answer> {
        Plan::with_next(Next::CallAfter(5_000, Call::Query(gateway::query("C1"))))
    }

    fn revoke(now_s: u64) -> Plan<Answer> {
        Plan::with_next(Next::Call(Call::Cancel(CancelTradeRequest {
            charge_code: "C1".into(),
            mode: CancelMode::RealTime,
        })))
        .writing(vec![Write::SetRecheck {
            charge_code: "C1".into(),
            until: now_s + 900,
        }])
    }

    fn charged(state: OrderStatus, polls: u32) -> Plan<Answer> {
        Plan::done(Ok(Charged { state, polls }))
    }

    fn pre_order(amt: u64, paid: bool) -> OrderResp {
        OrderResp {
            charge_code: Some("C1".into()),
            amt: Some(Fen::from_fen(amt)),
            fund_bill_list: if paid {
                vec![FundBill {
                    fund_channel: FundChannel::Unknown("11".into()),
                    amount: Fen::from_fen(amt),
                }]
            } else {
                Vec::new()
            },
            ..OrderResp::default()
        }
    }

    #[test]
    fn after_the_pre_order() {
        let refused = Fault::Code(ResultCode::AmtError);
        let pre = |reply| Input::PreOrdered(AT, Box::new(reply));
        let cases: Vec<(&str, OrderStatus, Input, Plan<Answer>)> = vec![
            (
                "refused: the cashier hears it",
                Failed,
                pre(Err(refused.clone())),
                Plan::done(Err(refused)),
            ),
            (
                "no answer: poll",
                Pending,
                pre(Err(Fault::NoAnswer)),
                poll(),
            ),
            (
                "paid on the spot",
                Pending,
                pre(Ok(pre_order(1000, true))),
                charged(Paid, 2).writing(transition("C1", Paid, EventSource::Pay, None)),
            ),
            (
                "the shopper still typing: poll",
                Pending,
                pre(Ok(pre_order(1000, false))),
                poll(),
            ),
            (
                "another amount: distrusted, poll",
                Pending,
                pre(Ok(pre_order(999, true))),
                poll().logging(Log::event(
                    Level::Warn,
                    "amount_mismatch",
                    json!({"charge_code": "C1", "source": "pay", "expected_fen": 1000,
                        "reported_fen": 999, "reported_charge_code": "C1"}),
                )),
            ),
            ("resumed, pending: poll", Pending, Input::Resume(AT), poll()),
            (
                "resumed, settled",
                Closed,
                Input::Resume(AT),
                charged(Closed, 2),
            ),
        ];
        for (name, state, input, want) in cases {
            let plan = decide(&attempt("C1", state), &input, AT.started_ms, &policy());
            assert_eq!(plan, want, "{name}");
        }
    }

    #[test]
    fn polling() {
        let query = |state: G| {
            Ok(QueryResp {
                charge_code: Some("C1".into()),
                busi_id: Some("B1".into()),
                amt: Some(Fen::from_fen(1000)),
                state: Some(state),
                ..QueryResp::default()
            })
        };
        let failed = |fault: Fault| {
            Plan::<Answer>::done(Ok(Charged {
                state: Pending,
                polls: 0,
            }))
            .logging(Log::event(
                Level::Warn,
                "reconcile_failed",
                json!({"charge_code": "C1", "gateway_code": fault.code().map(ResultCode::as_str)}),
            ))
        };
        let polled = |reply| Input::Polled(AT, Box::new(reply));
        let start = AT.started_ms;
        let cases: Vec<(&str, Input, u64, Plan<Answer>)> = vec![
            (
                "paid",
                polled(query(G::Paid)),
                start + 10_000,
                // New money is checked for a duplicate like any query's
                // (a POS charge pays no link: the check finds nothing).
                charged(Paid, 2)
                    .writing(transition("C1", Paid, EventSource::Pos, None))
                    .then(crate::flow::FollowUp::DuplicateCheck {
                        charge_code: "C1".into(),
                    })
                    .logging(Log::field("reconcile", "applied")),
            ),
            (
                "still pending, inside the window: poll",
                polled(query(G::Pending)),
                start + 55_000,
                poll().logging(Log::field("reconcile", "duplicate")),
            ),
            (
                "still pending, the window over: revoke",
                polled(query(G::Pending)),
                start + 55_001,
                revoke((start + 55_001) / 1000).logging(Log::field("reconcile", "duplicate")),
            ),
            (
                "no answer, the window over: revoke",
                polled(Err(Fault::NoAnswer)),
                start + 60_000,
                failed(Fault::NoAnswer).followed_by(revoke((start + 60_000) / 1000)),
            ),
        ];
        for (name, input, now_ms, want) in cases {
            let plan = decide(&attempt("C1", Pending), &input, now_ms, &policy());
            assert_eq!(plan, want, "{name}");
        }
        // A poll counts once answered; the progress travels with the calls.
        let next = Input::Resume(AT).answered(Answered::Query(Box::new(Err(Fault::NoAnswer))));
        assert_eq!(next.progress(), Progress { polls: 3, ..AT });
        let next = next.answered(Answered::Cancel(Err(Fault::NoAnswer)));
        assert_eq!(next.progress(), Progress { polls: 3, ..AT });
    }

    #[test]
    fn the_revocation() {
        let revoked = |reply| Input::Revoked(AT, Box::new(reply));
        let logged = |outcome: &str| {
            vec![
                Log::field("outcome", "revoked"),
                Log::event(
                    Level::Warn,
                    "pos_charge_revoked",
                    json!({"charge_code": "C1", "outcome": outcome}),
                ),
            ]
        };
        let with = |mut plan: Plan<Answer>, log| {
            plan.log = log;
            plan
        };
        let cases: Vec<(&str, Reply<CancelTradeResp>, Plan<Answer>)> = vec![
            (
                "revoked",
                Ok(CancelTradeResp::default()),
                with(
                    charged(Revoked, 2).writing(transition("C1", Revoked, EventSource::Pos, None)),
                    logged("revoked"),
                ),
            ),
            (
                "never heard of it: nothing was charged",
                Err(Fault::Code(ResultCode::ChargeNonexistent)),
                with(
                    charged(Failed, 2).writing(transition("C1", Failed, EventSource::Pos, None)),
                    logged("CHARGE_NONEXISTENT"),
                ),
            ),
            (
                "already revoked: queried after",
                Err(Fault::Code(ResultCode::AreadyRevoked)),
                with(
                    charged(Pending, 2).then(crate::flow::FollowUp::Query {
                        charge_code: "C1".into(),
                        source: EventSource::Pos,
                    }),
                    logged("AREADY_REVOKED"),
                ),
            ),
            (
                "no answer: the re-check settles it",
                Err(Fault::NoAnswer),
                with(charged(Pending, 2), logged("no_answer")),
            ),
        ];
        for (name, reply, want) in cases {
            let plan = decide(
                &attempt("C1", Pending),
                &revoked(reply),
                AT.started_ms,
                &policy(),
            );
            assert_eq!(plan, want, "{name}");
        }
    }
}
