//! The daily statements, built by the cron (`routes::cron`): for each due
//! Beijing day (`checkout::statement::due_days`), the day's pending
//! orders are settled first with `query` (the reconcile flow; pending
//! refunds were just retried by `refund::retry_pending_refunds`, which
//! runs `refundQuery`), then the day is read again and summed; a summary
//! that differs from the latest revision is stored as the next revision
//! (with its reason), never over it.

use checkout::statement::{self, Day, Difference, Statement};
use checkout::vocab::EventSource;

use super::{follow_up, reconcile};
use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::log::{now_secs, Level};
use crate::store;

/// How many ended days each run looks back on (a day missed while the
/// Worker was down is built on the next run, a late change is noticed
/// for two days).
const DAYS_BACK: u32 = 2;

/// Builds every due day whose statement is missing or changed; returns
/// how many revisions were stored.
pub async fn run(cx: &Cx) -> ApiResult<usize> {
    let now = now_secs();
    let delay = cx.settings.statement_delay_secs()?;
    let mut stored = 0;
    for day in statement::due_days(now, delay, DAYS_BACK) {
        if let Some(s) = build(cx, day, now).await? {
            cx.log.event(
                Level::Info,
                "statement_revised",
                serde_json::json!({"date": s.date, "revision": s.revision, "reason": s.reason}),
            );
            stored += 1;
        }
    }
    Ok(stored)
}

/// Settles `day`'s pending orders, then stores its statement if it is new
/// or changed.
async fn build(cx: &Cx, day: Day, now: u64) -> ApiResult<Option<Statement>> {
    let db = cx.db()?;
    let mut read = store::statements::read_day(db, day).await?;
    let mut differences: Vec<Difference> = Vec::new();
    if !read.pending.is_empty() {
        for p in &read.pending {
            let (answer, after) =
                reconcile::query(cx, &p.charge_code, EventSource::Cron, None).await;
            follow_up::now(cx, after).await;
            let ours = store::attempts::get_order(db, &p.charge_code)
                .await?
                .map_or(p.state, |o| o.state);
            let code = answer.as_ref().err().map(|e| e.code().as_str());
            let gateway = match (&answer, code) {
                (Ok(resp), _) => Ok(resp.state.clone()),
                (Err(_), Some(code)) => Err(code),
                (Err(_), None) => Err("UNKNOWN"),
            };
            differences.extend(statement::difference(&p.charge_code, ours, gateway));
        }
        // What the queries applied is part of the day.
        read = store::statements::read_day(db, day).await?;
    }
    for r in &read.pending_refunds {
        differences.push(Difference {
            charge_code: r.charge_code.clone(),
            ours: format!("refund {} pending", r.out_refund_no),
            gateway: "unknown (refundQuery did not settle it)".into(),
        });
    }
    let summary = statement::figures(&read.groups, differences);
    let Some((revision, reason)) = statement::revise(read.latest.as_ref(), &summary) else {
        return Ok(None);
    };
    let s = Statement {
        date: day.to_string(),
        timezone: statement::TIMEZONE.into(),
        revision,
        reason,
        summary,
        created_at: now,
    };
    Ok(store::statements::insert(db, &s).await?.then_some(s))
}
