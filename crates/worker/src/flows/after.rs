//! The follow-ups of a flow's answer (`checkout::flow::Plan::after`),
//! each run as a flow of its own (the executor's contract, step 6): now,
//! in the request (a cancel's `query`, a POS charge's), or after the
//! answer (`ctx.wait_until`: a notification's duplicate check). A
//! failure is logged, never surfaced: the cron's catch-ups redo it.
//!
//! Why not in [`super::exec`]: the follow-ups run other flows, which run
//! the executor; here the module graph stays a tree (the reconciler runs
//! its duplicate checks itself, `duplicate::after_money`).

use checkout::flow::FollowUp;
use worker::Context;

use super::{duplicate, reconcile, refund};
use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::log::{Level, RequestLog};

/// Runs the follow-ups of an answer after it, in the background
/// (`ctx.wait_until`), each with its own log line: the answer does not
/// wait, and a failure is logged, never surfaced (the cron's catch-ups
/// redo it).
pub fn later(cx: &Cx, ctx: &Context, after: Vec<FollowUp>) {
    if after.is_empty() {
        return;
    }
    let settings = cx.settings.clone();
    let request_id = cx.log.request_id().to_owned();
    ctx.wait_until(async move {
        for f in after {
            let log = RequestLog::new(request_id.clone(), kind(&f), "-", "-");
            let cx = Cx::with_settings(settings.clone(), log);
            logged(&cx, f).await;
        }
    });
}

/// Runs the follow-ups now, in this request (the caller waits).
pub async fn now(cx: &Cx, after: Vec<FollowUp>) {
    for f in after {
        logged(cx, f).await;
    }
}

fn kind(f: &FollowUp) -> &'static str {
    match f {
        FollowUp::DuplicateCheck { .. } => "duplicate_check",
        FollowUp::Query { .. } => "query",
        FollowUp::Refund { .. } => "refund",
    }
}

async fn logged(cx: &Cx, f: FollowUp) {
    let kind = kind(&f);
    if let Err(e) = run(cx, f).await {
        cx.log.event(
            Level::Warn,
            "follow_up_failed",
            serde_json::json!({"flow": kind, "error": e.code().as_str()}),
        );
    }
}

/// Runs one follow-up as a flow of its own.
async fn run(cx: &Cx, f: FollowUp) -> ApiResult<()> {
    match f {
        FollowUp::DuplicateCheck { charge_code } => {
            duplicate::refund_if_duplicate(cx, &charge_code).await;
            Ok(())
        }
        FollowUp::Query {
            charge_code,
            source,
        } => reconcile::query(cx, &charge_code, source, None)
            .await
            .map(drop),
        FollowUp::Refund {
            charge_code,
            request,
        } => refund::refund(cx, &charge_code, request).await.map(drop),
    }
}
