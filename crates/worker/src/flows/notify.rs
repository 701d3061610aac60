//! Notify: the gateway's asynchronous payment notification (`POST /notify`).
//!
//! Decrypt and verify (soushou), check the timestamp window, then one D1
//! round trip (`store::attempts::notify`: one batch, one transaction) that reads the
//! attempt and writes what the notification proves — the conditional
//! transition (its history and outbox event) and the notification's count,
//! every write conditional on the attempt holding the notified amount — and
//! decide from what it read and whether the update applied
//! (`checkout::settle::notify_outcome`: the message must match the stored
//! attempt, `BUSI_ID` and `AMT`, and the state moves only as
//! `checkout::state` allows). Only then answer 200 `SUCCESS`. Every
//! refusal is a 4xx with nothing changed and a log line saying why; a
//! storage failure is a 5xx so the gateway retries. A payment that paid a
//! link a second time is refunded after the answer (`ctx.wait_until`), so
//! the refund can neither delay nor fail the notification.

use checkout::api::ErrorCode;
use checkout::settle::{self, Expected, Mismatch, Notice, NotifyOutcome};
use checkout::vocab::EventSource;
use soushou::envelope;
use worker::Context;

use super::{apply, duplicate};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, RequestLog};
use crate::store::attempts;

fn reject(code: ErrorCode, reason: impl Into<String>) -> ApiError {
    ApiError::NotifyRejected {
        code,
        reason: reason.into(),
    }
}

/// The rejection of a notification that does not match its attempt.
fn mismatch(m: Mismatch) -> ApiError {
    match m {
        Mismatch::BusiId => reject(ErrorCode::BusiIdMismatch, "BUSI_ID is not this merchant's"),
        Mismatch::Amount { reported, expected } => reject(
            ErrorCode::AmountMismatch,
            format!(
                "AMT {} fen differs from the attempt's {} fen",
                reported.fen(),
                expected.fen()
            ),
        ),
        Mismatch::ChargeCode | Mismatch::MissingAmount => {
            reject(ErrorCode::MalformedNotification, m.name())
        }
    }
}

/// Refuses a notification signed outside the replay window around `now`: a
/// captured notification replayed later must not move an order again.
fn fresh(signed_at: u64, now: u64, window: u64) -> ApiResult<()> {
    if signed_at.abs_diff(now) > window {
        return Err(reject(
            ErrorCode::StaleNotification,
            format!("sign timestamp {signed_at} is outside the {window}s window around {now}"),
        ));
    }
    Ok(())
}

/// Handles one notification; `Ok` means "answer 200 SUCCESS".
///
/// `query`: the request's query string; `body`: its (capped) body.
pub async fn handle(cx: &Cx, query: &str, body: &[u8], ctx: &Context) -> ApiResult<()> {
    let (settings, log) = (&cx.settings, &cx.log);
    let query = envelope::parse_query(query);
    let key = settings.merchant_key()?;
    let cfg = settings.gateway()?;

    let (notify, verified) = envelope::open_notification(&query, body, &key).map_err(|e| {
        use soushou::Error as E;
        match e {
            E::MissingSign | E::MalformedSign(_) | E::SignMismatch => {
                reject(ErrorCode::InvalidSignature, e.to_string())
            }
            other => reject(ErrorCode::MalformedNotification, other.to_string()),
        }
    })?;
    log.set("charge_code", notify.charge_code.as_str());
    log.set("sign_rule", format!("{:?}", verified.rule));

    let now = now_secs();
    fresh(verified.unix_seconds(), now, settings.replay_window_secs()?)?;
    let notice = Notice {
        charge_code: &notify.charge_code,
        busi_id: &notify.busi_id,
        amount: notify.amt,
        state: &notify.state,
    };
    let plan = settle::notify_plan(&cfg.busi_id, &notice);
    let (stored, updated) = attempts::notify(cx.db()?, &notice, plan, now).await?;
    let outcome = settle::notify_outcome(&cfg.busi_id, &notice, stored, updated)
        .map_err(|_| ApiError::Storage("notification batch contradicts its read".into()))?;
    let new_money = match outcome {
        NotifyOutcome::Unknown => return Err(reject(ErrorCode::NotFound, "unknown CHARGE_CODE")),
        NotifyOutcome::Distrusted(m) => {
            let expected = Expected {
                charge_code: &notify.charge_code,
                busi_id: &cfg.busi_id,
                amount: stored.map_or(notify.amt, |s| s.amount),
            };
            apply::log_distrust(cx, (&expected, &notice.report()), EventSource::Notify, m);
            return Err(mismatch(m));
        }
        NotifyOutcome::Ignored => false,
        NotifyOutcome::Event(t) => {
            apply::log_stale(cx, &notify.charge_code, EventSource::Notify, &t);
            settle::is_new_money(&t)
        }
    };
    let outcome = outcome.name();
    log.set("outcome", outcome);
    if new_money {
        check_duplicate_after(cx, ctx, &notify.charge_code);
    }
    Ok(())
}

/// New money on an attempt: after the answer (`ctx.wait_until`), checks
/// whether it paid its link a second time (`duplicate::refund_if_duplicate`),
/// so the refund can neither delay nor fail the notification.
fn check_duplicate_after(cx: &Cx, ctx: &Context, charge_code: &str) {
    let settings = cx.settings.clone();
    let charge_code = charge_code.to_owned();
    let request_id = cx.log.request_id().to_owned();
    ctx.wait_until(async move {
        let log = RequestLog::new(request_id, "duplicate_check", "-", "-");
        duplicate::refund_if_duplicate(&Cx::with_settings(settings, log), &charge_code).await;
    });
}
