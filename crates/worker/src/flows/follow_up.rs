//! Running a flow's follow-ups (`checkout::flow::FollowUp`) after its
//! answer, each as a flow of its own: [`now`] (the caller waits) or
//! [`later`] (`ctx.wait_until`: the answer must not wait, e.g. a
//! notification's duplicate check). A follow-up's failure is logged,
//! never surfaced: the cron's catch-ups redo it.

use std::future::Future;
use std::pin::Pin;

use checkout::flow::FollowUp;
use worker::Context;

use super::{duplicate, reconcile, refund};
use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::log::{Level, RequestLog};

/// Runs `after` in the background, each with its own log line.
pub fn later(cx: &Cx, ctx: &Context, after: Vec<FollowUp>) {
    if after.is_empty() {
        return;
    }
    let settings = cx.settings.clone();
    let request_id = cx.log.request_id().to_owned();
    ctx.wait_until(async move {
        for f in after {
            let log = RequestLog::new(request_id.clone(), kind(&f), "-", "-");
            logged(&Cx::with_settings(settings.clone(), log), f).await;
        }
    });
}

/// Runs `after` now, in this request.
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
    let flow = kind(&f);
    if let Err(e) = run(cx, f).await {
        cx.log.event(
            Level::Warn,
            "follow_up_failed",
            serde_json::json!({"flow": flow, "error": e.code().as_str()}),
        );
    }
}

/// One follow-up's flow (boxed: its own follow-ups run inside it).
fn run(cx: &Cx, f: FollowUp) -> Pin<Box<dyn Future<Output = ApiResult<()>> + '_>> {
    Box::pin(async move {
        match f {
            FollowUp::DuplicateCheck { charge_code } => {
                duplicate::refund_if_duplicate(cx, &charge_code).await;
                Ok(())
            }
            FollowUp::Query {
                charge_code,
                source,
            } => {
                let (queried, after) = reconcile::query(cx, &charge_code, source, None).await;
                now(cx, after).await;
                queried.map(drop)
            }
            FollowUp::Refund {
                charge_code,
                request,
            } => refund::refund(cx, &charge_code, request).await.map(drop),
        }
    })
}
