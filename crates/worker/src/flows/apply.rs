//! Applying the gateway's word to a stored attempt: a state event
//! (re-read and decided again when a concurrent writer won the conditional
//! update), the evidence of `query` / `preOrder` / a notification checked
//! against the attempt (`checkout::settle::evidence`), the creating call's
//! answer, and the log lines of stale or distrusted reports. Every other
//! flow settles attempts through here.

use checkout::settle::{self, Evidence, Expected, Report};
use checkout::state::{self, Transition};
use checkout::vocab::{EventSource, OrderStatus};
use soushou::envelope;

use crate::platform::context::Cx;
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::Level;
use crate::store::{self, attempts::OrderRow};

/// Applies `event` to the order idempotently; returns what happened.
pub async fn apply_event(
    db: &Db,
    charge_code: &str,
    event: OrderStatus,
    source: EventSource,
    now: u64,
) -> ApiResult<Transition> {
    // A lost race re-reads the new state and decides again; the state order
    // is finite and monotone, so this ends within a few rounds.
    for _ in 0..8 {
        let current = store::attempts::get_order(db, charge_code)
            .await?
            .ok_or(ApiError::NotFound("order"))?
            .state;
        let transition = state::apply(current, event);
        match transition {
            Transition::Applied { from, to } => {
                if store::attempts::transition(db, charge_code, (from, to), source, now).await? {
                    return Ok(transition);
                }
            }
            Transition::Duplicate(_) | Transition::Stale { .. } => return Ok(transition),
        }
    }
    Err(ApiError::Storage(
        "state transition kept losing races".into(),
    ))
}

/// What the gateway's message must match for `order`.
pub fn expected<'a>(cfg: &'a envelope::Config, order: &'a OrderRow) -> Expected<'a> {
    Expected {
        charge_code: &order.charge_code,
        busi_id: &cfg.busi_id,
        amount: order.amount,
    }
}

/// What applying a report did.
pub enum Applied {
    /// The report proved this event, with this result.
    Event(Transition),
    /// The report said nothing definite.
    Silent,
    /// The report did not match the attempt.
    Distrusted,
}

/// Checks a report against the attempt ([`settle::evidence`]) and applies
/// what it proves ([`apply_event`]). A stale or distrusted report is logged.
pub async fn apply_report(
    cx: &Cx,
    (expected, report): (&Expected<'_>, &Report<'_>),
    source: EventSource,
    now: u64,
) -> ApiResult<Applied> {
    Ok(match settle::evidence(expected, report) {
        Evidence::Apply(status) => {
            let db = cx.db()?;
            let t = apply_event(db, expected.charge_code, status, source, now).await?;
            log_stale(cx, expected.charge_code, source, &t);
            Applied::Event(t)
        }
        Evidence::Silent => Applied::Silent,
        Evidence::Distrust(m) => {
            log_distrust(cx, (expected, report), source, m);
            Applied::Distrusted
        }
    })
}

/// Logs a report older than the stored state (nothing changed).
pub fn log_stale(cx: &Cx, charge_code: &str, source: EventSource, t: &Transition) {
    if let Transition::Stale { current, event } = t {
        cx.log.event(
            Level::Info,
            "stale_report",
            serde_json::json!({"charge_code": charge_code, "source": source,
                "current": current.as_str(), "event": event.as_str()}),
        );
    }
}

/// Logs a report that does not match its attempt (nothing changed).
pub fn log_distrust(
    cx: &Cx,
    (expected, report): (&Expected<'_>, &Report<'_>),
    source: EventSource,
    m: settle::Mismatch,
) {
    cx.log.event(
        Level::Warn,
        m.name(),
        serde_json::json!({"charge_code": expected.charge_code, "source": source,
            "expected_fen": expected.amount.fen(),
            "reported_fen": report.amount.map(|a| a.fen()),
            "reported_charge_code": report.charge_code}),
    );
}
