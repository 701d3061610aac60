//! The reconciler: the polling path ([`confirm_if_due`]: a page asks about
//! a pending attempt), the merchant's live query and a POS charge's or a
//! revocation's query ([`query`]), and the cron sweep ([`sweep`]), all
//! running `checkout::flow::reconcile` through the executor. Each hands
//! its follow-ups back for the caller to run (`flows::follow_up`: this
//! module runs none, so the follow-ups may run queries).

use checkout::flow::reconcile::{self, Answer, Input};
use checkout::flow::{Attempt, FollowUp, Plan};
use checkout::vocab::EventSource;
use soushou::model::QueryResp;

use super::exec::{self, Answered, Flow};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, Level};
use crate::store::{self, attempts::OrderRow};

/// The reconcile flow of one attempt (its snapshot: the attempt's row).
struct Reconcile<'a> {
    charge_code: &'a str,
    policy: reconcile::Policy,
}

impl<'a> Reconcile<'a> {
    fn new(cx: &Cx, charge_code: &'a str) -> ApiResult<Self> {
        let settings = &cx.settings;
        let policy = reconcile::Policy {
            busi_id: settings.gateway()?.busi_id,
            pacing: settings.reconcile_policy()?,
            unknown_attempt_fails_after_secs: settings.unknown_attempt_fail_after_secs()?,
        };
        Ok(Reconcile {
            charge_code,
            policy,
        })
    }
}

impl Flow for Reconcile<'_> {
    type Snapshot = Attempt;
    type Input = Input;
    type Answer = Answer;

    async fn load(&self, cx: &Cx, _input: &Input) -> ApiResult<Attempt> {
        let order = store::attempts::get_order(cx.db()?, self.charge_code).await?;
        Ok(order.ok_or(ApiError::NotFound("order"))?.attempt())
    }

    fn decide(&self, attempt: &Attempt, input: &Input, now: u64) -> Plan<Answer> {
        reconcile::decide(attempt, input, now, &self.policy)
    }

    fn answered(&self, input: &Input, answer: Answered) -> ApiResult<Input> {
        match (input, answer) {
            (Input::IfDue(s) | Input::Query(s), Answered::Query(reply)) => {
                Ok(Input::Answered(*s, Box::new(reply)))
            }
            _ => Err(ApiError::Internal("a query answered out of turn".into())),
        }
    }
}

/// Asks the gateway about an attempt now and applies what it proves.
/// `source` names the caller in the state history (`merchant_query`,
/// `pos`, …); `order`: its row, if already read. Returns the gateway's
/// answer, or the call's (or the store's) error, and the follow-ups (new
/// money's duplicate check) for the caller to run (`flows::follow_up`).
pub async fn query(
    cx: &Cx,
    charge_code: &str,
    source: EventSource,
    order: Option<&OrderRow>,
) -> (ApiResult<QueryResp>, Vec<FollowUp>) {
    let input = Input::Query(source);
    let run = async {
        let flow = Reconcile::new(cx, charge_code)?;
        match order {
            Some(order) => exec::run_from(cx, &flow, input, order.attempt()).await,
            None => exec::run(cx, &flow, input).await,
        }
    };
    let done = match run.await {
        Ok(done) => done,
        Err(e) => return (Err(e), Vec::new()),
    };
    let answer = match done.answer {
        Answer::Queried { resp, .. } => Ok(*resp),
        Answer::Failed(_) | Answer::NotDue => Err(done
            .fault
            .unwrap_or_else(|| ApiError::Internal("a query ended unanswered".into()))),
    };
    (answer, done.after)
}

/// The polling path: confirms an attempt with `query` when the reconciler's
/// rule says so (pending long enough, or inside a re-check window), at
/// most once per interval per attempt (a claim). Gateway trouble is
/// logged, not surfaced: the poll still answers with the stored state.
/// Returns the attempt as stored after, and the follow-ups.
pub async fn confirm_if_due(
    cx: &Cx,
    order: OrderRow,
    source: EventSource,
) -> ApiResult<(OrderRow, Vec<FollowUp>)> {
    let flow = Reconcile::new(cx, &order.charge_code)?;
    let input = Input::IfDue(source);
    let done = exec::run_from(cx, &flow, input, order.attempt()).await?;
    if done.answer == Answer::NotDue {
        return Ok((order, done.after));
    }
    let after = store::attempts::get_order(cx.db()?, &order.charge_code).await?;
    Ok((after.unwrap_or(order), done.after))
}

/// The cron sweep: confirms attempts pending for longer than
/// `RECONCILE_AFTER_SECS` whose next sweep is due, the youngest first
/// (`checkout::sweep`: what can still change first), and re-checks
/// attempts inside a re-check window (least recently queried first);
/// bounded per run. Returns how many changed state, and the follow-ups.
pub async fn sweep(cx: &Cx) -> ApiResult<(usize, Vec<FollowUp>)> {
    let db = cx.db()?;
    let now = now_secs();
    let cutoff = now.saturating_sub(cx.settings.reconcile_after_secs()?);
    let mut due = store::attempts::pending_due(db, cutoff, now, 25).await?;
    due.extend(store::attempts::recheck_due(db, now, 25).await?);
    let (mut changed, mut follow_ups) = (0, Vec::new());
    for order in due {
        let (code, before) = (order.charge_code.clone(), order.state);
        let (after, more) = confirm_if_due(cx, order, EventSource::Cron).await?;
        follow_ups.extend(more);
        if after.state != before {
            changed += 1;
            cx.log.event(
                Level::Info,
                "reconciled",
                serde_json::json!({"charge_code": code, "from": before, "state": after.state}),
            );
        }
    }
    Ok((changed, follow_ups))
}
