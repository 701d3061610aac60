//! `POST /notify`: the gateway's asynchronous payment notification.
//!
//! Decrypt and verify (soushou), check the timestamp window, check the
//! message against the stored attempt (`checkout::settle::evidence`:
//! `BUSI_ID` and `AMT` must match), apply the state idempotently,
//! record the notification (in the transition's own D1 batch when one
//! applies: two round trips, the read and the write), and only then answer
//! 200 `SUCCESS`. Every refusal is a 4xx with nothing changed and a log
//! line saying why; a storage failure is a 5xx so the gateway retries. A
//! payment that paid a link a second time is refunded after the answer
//! (`ctx.wait_until`), so the refund can neither delay nor fail the
//! notification.

use checkout::api::ErrorCode;
use checkout::settle::{self, Mismatch, Report};
use checkout::state::Transition;
use checkout::vocab::EventSource;
use soushou::envelope;
use worker::{Context, Request};

use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::log::{now_secs, RequestLog};
use crate::orders;
use crate::repo;

fn reject(code: ErrorCode, reason: impl Into<String>) -> ApiError {
    ApiError::NotifyRejected {
        code,
        reason: reason.into(),
    }
}

/// The rejection of a notification that does not match its attempt.
fn mismatch(m: Mismatch, order: &repo::OrderRow) -> ApiError {
    match m {
        Mismatch::BusiId => reject(ErrorCode::BusiIdMismatch, "BUSI_ID is not this merchant's"),
        Mismatch::Amount { reported, .. } => reject(
            ErrorCode::AmountMismatch,
            format!(
                "AMT {} fen differs from the attempt's {} fen",
                reported.fen(),
                order.amount_fen
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
pub async fn handle(cx: &Cx, mut req: Request, ctx: &Context) -> ApiResult<()> {
    let (settings, log) = (&cx.settings, &cx.log);
    let url = req.url()?;
    let query = envelope::parse_query(url.query().unwrap_or(""));
    let body = crate::guard::read_body(&mut req).await?;
    let key = settings.merchant_key()?;
    let cfg = settings.gateway()?;

    let (notify, verified) = envelope::open_notification(&query, &body, &key).map_err(|e| {
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
    let db = cx.db()?;
    let order = repo::get_order(db, &notify.charge_code)
        .await?
        .ok_or_else(|| reject(ErrorCode::NotFound, "unknown CHARGE_CODE"))?;
    let report = Report {
        charge_code: Some(&notify.charge_code),
        busi_id: Some(&notify.busi_id),
        amount: Some(notify.amt),
        state: Some(&notify.state),
    };
    let expected = orders::expected(&cfg, &order);
    let notified = repo::Notified {
        charge_code: &notify.charge_code,
        gateway_state: notify.state.code(),
        amount_fen: notify.amt.fen(),
    };
    // The row was read just now: its state spares apply a second read, and
    // a transition records the notification in its own batch.
    let applied = orders::apply_report(
        cx,
        (&expected, &report),
        EventSource::Notify,
        Some(order.state),
        Some(&notified),
        now,
    )
    .await?;
    // An applied transition recorded the notification in its batch.
    let (outcome, new_money, recorded) = match applied {
        orders::Applied::Event(t) => (
            t.name(),
            settle::is_new_money(&t),
            matches!(t, Transition::Applied { .. }),
        ),
        orders::Applied::Silent => ("ignored", false, false),
        orders::Applied::Distrusted(m) => return Err(mismatch(m, &order)),
    };
    if !recorded {
        repo::record_notification(db, &notified, outcome, now).await?;
    }
    log.set("outcome", outcome);
    if new_money {
        let settings = settings.clone();
        let charge_code = notify.charge_code.clone();
        let request_id = log.request_id().to_owned();
        ctx.wait_until(async move {
            let log = RequestLog::new(request_id, "duplicate_check", "-", "-");
            orders::refund_if_duplicate(&Cx::with_settings(settings, log), &charge_code).await;
        });
    }
    Ok(())
}
