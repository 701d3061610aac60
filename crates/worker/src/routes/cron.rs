//! The cron trigger (every minute): the reconciler's sweep, the retry of
//! pending refunds, missed duplicate refunds, the daily statements, the purges of idempotency
//! keys, sign-in states and audit entries past 400 days, and the re-enqueue of webhook events; one log
//! line for the run.

use worker::Env;

use crate::flows::{
    access, duplicate, follow_up, idempotency, reconcile, refund, signin, statement, webhook,
};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, random_hex, RequestLog};
use crate::store;

/// One cron run.
pub async fn handle(env: Env) {
    let cx = Cx::new(
        env,
        RequestLog::new(random_hex(8), "cron", "-", "reconcile"),
    );
    let log = &cx.log;
    let swept = match reconcile::sweep(&cx).await {
        Ok((changed, after)) => {
            follow_up::now(&cx, after).await;
            Ok(changed)
        }
        Err(e) => Err(e),
    };
    // Refund retries run even when the sweep failed part-way.
    let retried = refund::retry_pending_refunds(&cx).await;
    // Duplicates whose background refund was lost before it reserved a row.
    let missed = duplicate::refund_missed_duplicates(&cx).await;
    // Statements of the ended days, after this run settled what it could.
    note(
        &cx,
        "statements_stored",
        "statements_error",
        statement::run(&cx).await,
    );
    housekeeping(&cx).await;
    let outcome = swept.and_then(|n| retried.and_then(|r| missed.map(|m| (n, r, m))));
    // The Settings screen's "cron's last run".
    let recorded = match cx.db() {
        Ok(db) => store::health::record_cron_run(db, now_secs(), outcome.is_ok()).await,
        Err(e) => Err(e),
    };
    if let Err(e) = recorded {
        log.set("cron_run_record_error", e.code().as_str());
    }
    match outcome {
        Ok((n, r, m)) => {
            log.set("outcome", "swept");
            log.set("reconciled", n);
            log.set("refunds_settled", r);
            log.set("duplicate_refunds_missed", m);
            log.finish(200, None);
        }
        Err(e) => {
            let (status, code) = (e.status(), e.code().as_str());
            if let ApiError::Storage(detail) | ApiError::Internal(detail) = &e {
                log.set("reason", detail.as_str());
            }
            log.finish(status, Some(code));
        }
    }
}

/// The purges and the webhook catch-up; each failure is logged and retried
/// next minute.
async fn housekeeping(cx: &Cx) {
    // Idempotency keys live 24 h.
    note(
        cx,
        "idempotency_keys_purged",
        "idempotency_purge_error",
        idempotency::purge(cx).await,
    );
    // Sign-in states are kept a day past expiry, so a late replay still
    // reads "already used" rather than "unknown".
    note(
        cx,
        "oauth_states_purged",
        "oauth_purge_error",
        signin::purge(cx).await,
    );
    // Audit entries past 400 days, old failure counts and sign-in links.
    note(
        cx,
        "audit_entries_purged",
        "audit_purge_error",
        access::purge(cx).await,
    );
    // Webhook events never enqueued or overdue (a lost enqueue) go again.
    note(
        cx,
        "webhooks_enqueued",
        "webhooks_enqueue_error",
        webhook::reenqueue(cx).await,
    );
}

/// Logs a count under `done`, or the error's code under `failed`.
fn note(cx: &Cx, done: &str, failed: &str, result: ApiResult<usize>) {
    match result {
        Ok(n) => cx.log.set(done, n),
        Err(e) => cx.log.set(failed, e.code().as_str()),
    }
}
