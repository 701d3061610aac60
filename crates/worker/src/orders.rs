//! Applying the gateway's word to stored attempts: state events, evidence
//! from `query` / `preOrder` / notifications, duplicate payments, refunds,
//! revocations, and the reconciler (polling and the cron sweep).
//!
//! Every decision is `checkout::settle` / `checkout::state` (pure, table
//! tested); this module reads the store, calls the gateway, writes what
//! those functions say, and re-reads when a concurrent writer won a
//! conditional update.

use checkout::api::RefundRecord;
use checkout::settle::{
    self, DuplicateRefundPolicy, DuplicateRefundStep, DuplicateRefundTry, Evidence, Expected,
    ListedRefund, MoneyDecision, RefundEvidence, Report,
};
use checkout::state::{self, Transition};
use checkout::vocab::{EventSource, OrderStatus, RefundState};
use soushou::envelope;
use soushou::model::{
    CancelTradeRequest, OrderResp, QueryRequest, QueryResp, RefundQueryRequest, RefundRequest,
    RefundResp,
};
use soushou::types::{CancelMode, ResultCode, SerType};
use soushou::Fen;

use crate::context::Cx;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::gateway;
use crate::log::{now_secs, Level};
use crate::repo::{self, NewRefund, OrderRow, RefundEnd};

/// How long an attempt the gateway has never heard of may stay pending
/// before the reconciler marks it failed (the `pay` call that should have
/// created it timed out or never arrived).
const UNKNOWN_ATTEMPT_FAILS_AFTER_SECS: u64 = 600;

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
        let current = repo::get_order(db, charge_code)
            .await?
            .ok_or(ApiError::NotFound("order"))?
            .state;
        let transition = state::apply(current, event);
        match transition {
            Transition::Applied { from, to } => {
                if repo::transition(db, charge_code, (from, to), source, now).await? {
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

/// Passes a creating call's result (`order`, `creatOrder`, `wapOrder`,
/// `preOrder`) through, first settling the attempt it was for: a final
/// refusal fails it; any other failure (a timeout, a fault, an
/// outcome-unknown code) may have created it, so it stays pending for
/// `query` to settle.
async fn fail_if_refused<T>(
    cx: &Cx,
    charge_code: &str,
    now: u64,
    result: ApiResult<T>,
) -> ApiResult<T> {
    if let Err(e) = &result {
        if e.is_refusal() {
            apply_event(
                cx.db()?,
                charge_code,
                OrderStatus::Failed,
                EventSource::Pay,
                now,
            )
            .await?;
        } else {
            cx.log.event(
                Level::Warn,
                "outcome_unknown",
                serde_json::json!({"charge_code": charge_code, "error": e.code().as_str(),
                    "gateway_code": e.gateway_result().map(|c| c.as_str().to_owned())}),
            );
        }
    }
    result
}

/// [`fail_if_refused`], then, on an answer, stores the gateway's and the
/// channel's serial numbers so later queries, refunds and notifications
/// can name the payment.
pub async fn settle_pay(
    cx: &Cx,
    charge_code: &str,
    now: u64,
    result: ApiResult<OrderResp>,
) -> ApiResult<OrderResp> {
    let resp = fail_if_refused(cx, charge_code, now, result).await?;
    let (down, third) = (
        resp.charge_down_code.as_deref(),
        resp.charge_third_code.as_deref(),
    );
    repo::set_gateway_codes(cx.db()?, charge_code, down, third).await?;
    Ok(resp)
}

/// What the gateway's message must match for `order`.
pub fn expected<'a>(cfg: &'a envelope::Config, order: &'a OrderRow) -> Expected<'a> {
    Expected {
        charge_code: &order.charge_code,
        busi_id: &cfg.busi_id,
        amount: Fen::from_fen(order.amount_fen),
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

/// Asks the gateway about an order and applies what it proves (see
/// [`apply_report`]); a new payment is checked for being a duplicate of its
/// link at once. `source` names the caller in the state history (`poll`,
/// `cron`, `merchant_query`, `pos`). Returns the gateway's answer.
pub async fn query_and_apply(
    cx: &Cx,
    cfg: &envelope::Config,
    order: &OrderRow,
    source: EventSource,
) -> ApiResult<QueryResp> {
    let log = &cx.log;
    let req = QueryRequest {
        code: order.charge_code.clone(),
        ser_type: SerType::Merchant,
    };
    let now = now_secs();
    let resp = match gateway::call(cx, cfg, &req).await {
        Ok(resp) => resp,
        Err(ApiError::Gateway(soushou::Error::Gateway {
            code: ResultCode::ChargeNonexistent,
            info,
        })) => {
            if order.state == OrderStatus::Pending
                && now.saturating_sub(order.created_at) >= UNKNOWN_ATTEMPT_FAILS_AFTER_SECS
            {
                let t = apply_event(
                    cx.db()?,
                    &order.charge_code,
                    OrderStatus::Failed,
                    source,
                    now,
                )
                .await?;
                log.event(
                    Level::Warn,
                    "attempt_unknown_to_gateway",
                    serde_json::json!({"charge_code": order.charge_code, "outcome": t.name()}),
                );
            }
            return Err(ApiError::Gateway(soushou::Error::Gateway {
                code: ResultCode::ChargeNonexistent,
                info,
            }));
        }
        Err(e) => return Err(e),
    };
    let report = Report::of_query(&resp);
    let applied = apply_report(cx, (&expected(cfg, order), &report), source, now).await?;
    if let Applied::Event(t) = &applied {
        log.set("reconcile", t.name());
        if settle::is_new_money(t) {
            refund_if_duplicate(cx, &order.charge_code).await;
        }
    }
    Ok(resp)
}

/// Revokes an attempt with `cancelTrade` (`mode`: real time, or applied for
/// with `opType=ACO`) and records what the gateway says.
///
/// The attempt is put under re-check first, so whatever happens next — a
/// slow revocation, a lost answer, this Worker evicted — the reconciler
/// queries it until the window ends and records the gateway's final state.
/// A real-time `SUCCESS` and `AREADY_REVOKED` are the gateway's word that
/// the money (if any) went back: `revoked`, never `closed` (the latter is
/// still returned as the refusal it is). Returns the stored state after the
/// call.
pub async fn revoke(
    cx: &Cx,
    order: &OrderRow,
    mode: CancelMode,
    source: EventSource,
) -> ApiResult<OrderStatus> {
    let cfg = cx.settings.gateway()?;
    let db = cx.db()?;
    let now = now_secs();
    let until = now + cx.settings.recheck_window_secs()?;
    repo::set_recheck(db, &order.charge_code, until).await?;
    let apply = mode == CancelMode::Apply;
    let req = CancelTradeRequest {
        charge_code: order.charge_code.clone(),
        mode,
    };
    match gateway::call(cx, &cfg, &req).await {
        // Applied for: gateway state 3 says nothing yet; the re-check settles it.
        Ok(_) if apply => Ok(order.state),
        Ok(_) => Ok(
            apply_event(db, &order.charge_code, OrderStatus::Revoked, source, now)
                .await?
                .state(),
        ),
        Err(e) => {
            // Still the gateway's word that the money went back: record it,
            // and keep the refusal's code for the caller.
            if e.gateway_result() == Some(&ResultCode::AreadyRevoked) {
                apply_event(db, &order.charge_code, OrderStatus::Revoked, source, now).await?;
            }
            Err(e)
        }
    }
}

/// A refund the gateway confirmed.
pub struct Refunded {
    /// Sum of the order's succeeded refunds after this one, fen.
    pub total_fen: u64,
    /// The order's state after it.
    pub state: OrderStatus,
    /// The gateway's answer (none when a retry found the refund already done).
    pub gateway: Option<RefundResp>,
}

/// One refund to make: the attempt, its number, amount and reason.
pub struct RefundOrder<'a> {
    /// The refunded attempt.
    pub order: &'a OrderRow,
    /// `OUT_REFUND_NO`: one number, one refund, however often it is sent.
    pub out_refund_no: &'a str,
    /// The amount.
    pub amount: Fen,
    /// `REFUND_SUBJECT`.
    pub reason: &'a str,
}

/// Refunds `amount` of a paid attempt under `out_refund_no`: the domain
/// check, the reservation (one conditional INSERT, so concurrent or repeated
/// refunds can neither overdraw nor reuse a number), the gateway's `refund`,
/// then the stored total and state. A refusal marks the refund failed; a
/// fault leaves it pending (reserved) for the cron. The merchant's refund
/// route and the refund of a duplicate payment both go through here.
///
/// A retry under a number already used resumes that refund instead of being
/// counted against the refundable amount: done → its result again; pending
/// → asks `refundQuery` and sends it again if the gateway never got it;
/// a different amount or a failed refund → a clear refusal.
pub async fn refund(cx: &Cx, r: &RefundOrder<'_>) -> ApiResult<Refunded> {
    let db = cx.db()?;
    let charge_code = r.order.charge_code.as_str();
    cx.log.set("out_refund_no", r.out_refund_no);
    if let Some(existing) = repo::refunds(db, charge_code)
        .await?
        .into_iter()
        .find(|x| x.out_refund_no == r.out_refund_no)
    {
        return resume_refund(cx, r, &existing).await;
    }
    let paid = Fen::from_fen(r.order.amount_fen);
    let reserved = Fen::from_fen(
        r.order.amount_fen
            - repo::refundable(db, charge_code)
                .await?
                .min(r.order.amount_fen),
    );
    // The domain check (state, amount) first; then the atomic reservation,
    // which also stops two concurrent refunds from overdrawing.
    state::check_refund(r.order.state, paid, reserved, r.amount)?;
    let now = now_secs();
    let reservation = NewRefund {
        out_refund_no: r.out_refund_no,
        charge_code,
        amount: r.amount,
        reason: r.reason,
    };
    if !repo::reserve_refund(db, &reservation, now).await? {
        if repo::refund_number_taken(db, r.out_refund_no).await? {
            return Err(ApiError::InvalidRequest(format!(
                "out_refund_no {} is used by another order",
                r.out_refund_no
            )));
        }
        let left = Fen::from_fen(repo::refundable(db, charge_code).await?);
        return Err(checkout::Error::RefundExceeds { refundable: left }.into());
    }
    send_refund(cx, r).await
}

/// A refund number seen before: answer for it without a second refund.
async fn resume_refund(
    cx: &Cx,
    r: &RefundOrder<'_>,
    existing: &RefundRecord,
) -> ApiResult<Refunded> {
    if existing.amount_fen != r.amount.fen() {
        return Err(ApiError::InvalidRequest(format!(
            "out_refund_no {} was used for another amount",
            r.out_refund_no
        )));
    }
    match existing.state {
        RefundState::Succeeded => {
            let order = repo::get_order(cx.db()?, &r.order.charge_code)
                .await?
                .ok_or(ApiError::NotFound("order"))?;
            Ok(Refunded {
                total_fen: order.refunded_fen,
                state: order.state,
                gateway: None,
            })
        }
        RefundState::Pending => retry_refund(cx, existing).await,
        RefundState::Failed => Err(ApiError::InvalidRequest(format!(
            "refund {} was refused by the gateway ({}); use a new out_refund_no",
            r.out_refund_no,
            existing.gateway_code.as_deref().unwrap_or("no code")
        ))),
    }
}

/// Sends a reserved refund to the gateway and settles it: a final refusal
/// marks it failed; anything else that is not a success leaves it pending
/// (reserved) for `refundQuery` to settle.
async fn send_refund(cx: &Cx, r: &RefundOrder<'_>) -> ApiResult<Refunded> {
    let db = cx.db()?;
    let charge_code = r.order.charge_code.as_str();
    let now = now_secs();
    let cfg = cx.settings.gateway()?;
    let gw = RefundRequest {
        busi_id: cfg.busi_id.clone(),
        oper_id: cfg.oper_id.clone(),
        dev_id: cfg.dev_id.clone(),
        charge_refund_fee: r.amount,
        refund_subject: r.reason.to_owned(),
        charge_code: charge_code.to_owned(),
        charge_down_code: r.order.charge_down_code.clone(),
        out_refund_no: Some(r.out_refund_no.to_owned()),
    };
    let resp = match gateway::call(cx, &cfg, &gw).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.is_refusal() {
                let code = e.gateway_result().map(ResultCode::as_str);
                let end = RefundEnd::Failed(code);
                repo::finish_refund(db, r.out_refund_no, charge_code, end, now).await?;
            }
            return Err(e);
        }
    };
    let (total_fen, state) = settle_refund(db, r.order, r.out_refund_no, now).await?;
    Ok(Refunded {
        total_fen,
        state,
        gateway: Some(resp),
    })
}

/// Marks a refund the gateway confirmed as succeeded; moves the order to
/// the state its refunded total implies. Returns (total, state).
async fn settle_refund(
    db: &Db,
    order: &OrderRow,
    out_refund_no: &str,
    now: u64,
) -> ApiResult<(u64, OrderStatus)> {
    let charge_code = order.charge_code.as_str();
    let total =
        repo::finish_refund(db, out_refund_no, charge_code, RefundEnd::Succeeded, now).await?;
    let target = state::after_refund(Fen::from_fen(order.amount_fen), Fen::from_fen(total));
    let t = apply_event(db, charge_code, target, EventSource::Refund, now).await?;
    Ok((total, t.state()))
}

/// The cron sweep's retry of refunds left pending by a gateway fault, the
/// merchant's and duplicate-payment ones alike: asks `refundQuery` what
/// became of each (settles it if done), else sends it again under the same
/// `OUT_REFUND_NO`. One caller per refund per retry interval (a conditional
/// claim). Returns how many were settled.
pub async fn retry_pending_refunds(cx: &Cx) -> ApiResult<usize> {
    let db = cx.db()?;
    let now = now_secs();
    let cutoff = now.saturating_sub(cx.settings.refund_retry_after_secs()?);
    let mut settled = 0;
    for refund in repo::pending_refunds_before(db, cutoff, 10).await? {
        if !repo::claim_refund_retry(db, &refund.out_refund_no, now, cutoff).await? {
            continue;
        }
        let outcome = retry_refund(cx, &refund).await;
        let name = match &outcome {
            Ok(_) => {
                settled += 1;
                "succeeded"
            }
            Err(e) => e.code().as_str(),
        };
        cx.log.event(
            Level::Warn,
            "refund_retried",
            serde_json::json!({"charge_code": refund.charge_code,
                "out_refund_no": refund.out_refund_no, "outcome": name}),
        );
    }
    Ok(settled)
}

/// Settles a pending refund from `refundQuery`'s list
/// ([`settle::refund_evidence`]), sending it again only if the gateway
/// does not list it.
async fn retry_refund(cx: &Cx, refund: &RefundRecord) -> ApiResult<Refunded> {
    let db = cx.db()?;
    let order = repo::get_order(db, &refund.charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let cfg = cx.settings.gateway()?;
    let query = RefundQueryRequest {
        code: refund.charge_code.clone(),
        ser_type: SerType::Merchant,
    };
    let listed = gateway::call(cx, &cfg, &query).await?;
    let trades: Vec<ListedRefund<'_>> = listed
        .refund_trade_list
        .iter()
        .map(|r| ListedRefund {
            refund_code: r.refund_code.as_deref(),
            amount: r.refund_amt,
            state: r.state.as_ref(),
        })
        .collect();
    let amount = Fen::from_fen(refund.amount_fen);
    let now = now_secs();
    match settle::refund_evidence(&refund.out_refund_no, amount, &trades) {
        RefundEvidence::Done => {
            let (total_fen, state) = settle_refund(db, &order, &refund.out_refund_no, now).await?;
            Ok(Refunded {
                total_fen,
                state,
                gateway: None,
            })
        }
        RefundEvidence::Absent => {
            let r = RefundOrder {
                order: &order,
                out_refund_no: &refund.out_refund_no,
                amount,
                reason: &refund.reason,
            };
            send_refund(cx, &r).await
        }
        RefundEvidence::Failed => {
            let end = RefundEnd::Failed(None);
            repo::finish_refund(db, &refund.out_refund_no, &order.charge_code, end, now).await?;
            Err(ApiError::InvalidRequest(format!(
                "the gateway lists refund {} as failed",
                refund.out_refund_no
            )))
        }
        RefundEvidence::InProgress | RefundEvidence::Distrust => {
            cx.log.event(
                Level::Warn,
                "refund_unsettled",
                serde_json::json!({"charge_code": order.charge_code,
                    "out_refund_no": refund.out_refund_no}),
            );
            Err(ApiError::GatewayIncomplete("a final REFUND_TRADE state"))
        }
    }
}

/// The cron sweep's catch-up for duplicate payments nobody dealt with: the
/// check after `/notify` runs in a `ctx.wait_until` task, and if that task
/// is lost (Worker evicted, storage error) before it marked the duplicate
/// or reserved its refund, nothing else would notice; and a refund of a
/// duplicate the gateway refused must be tried again. Finds such attempts
/// ([`repo::rival_payments`]) whose money is at least
/// `REFUND_RETRY_AFTER_SECS` old (so it does not race the background task)
/// and runs [`refund_if_duplicate`] on each, a bounded batch per run.
/// Returns how many were examined.
pub async fn refund_missed_duplicates(cx: &Cx) -> ApiResult<usize> {
    let policy = DuplicateRefundPolicy::new(cx.settings.refund_retry_after_secs()?);
    let cutoff = now_secs().saturating_sub(policy.retry_after_secs);
    let rivals = repo::rival_payments(cx.db()?, cutoff, policy.max_tries, 20).await?;
    for order in &rivals {
        cx.log.event(
            Level::Warn,
            "duplicate_refund_missed",
            serde_json::json!({"charge_code": order.charge_code}),
        );
        refund_if_duplicate(cx, &order.charge_code).await;
    }
    Ok(rivals.len())
}

/// Called once money was recorded on an attempt: if it is not its link's
/// kept payment ([`settle::on_money`]: the link was paid twice, e.g. a
/// superseded attempt paid late, or money arrived on an attempt we thought
/// closed or failed), marks it a duplicate and refunds it in full. The
/// payment itself stays recorded; the refund shows in the order's refunds
/// and moves it to `refunded`. Never fails: every outcome is logged; a try
/// that did not complete stays reserved for the cron's pending-refund
/// retry, and a refused one is tried again by the cron under a new number
/// ([`settle::duplicate_refund_step`]).
pub async fn refund_if_duplicate(cx: &Cx, charge_code: &str) {
    if let Err(e) = try_refund_duplicate(cx, charge_code).await {
        cx.log.event(
            Level::Warn,
            "duplicate_refund_failed",
            serde_json::json!({"charge_code": charge_code,
                "error": e.code().as_str(), "detail": e.to_string()}),
        );
    }
}

async fn try_refund_duplicate(cx: &Cx, charge_code: &str) -> ApiResult<()> {
    let db = cx.db()?;
    let order = repo::get_order(db, charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let Some(link_id) = order.link_id.as_deref() else {
        return Ok(());
    };
    let kept = match &order.duplicate_of {
        // Judged before, but its refund may never have been reserved, or
        // the gateway refused it.
        Some(kept) => kept.clone(),
        None => {
            let attempts = repo::link_attempts(db, link_id).await?;
            let view = repo::link_view(&attempts);
            let MoneyDecision::RefundDuplicate { kept } = settle::on_money(&view, charge_code)
            else {
                return Ok(());
            };
            // Marked once, before the refund is reserved: from here on the
            // attempt never makes its link paid, and a concurrent decider
            // stops here.
            if !repo::mark_duplicate(db, charge_code, &kept).await? {
                return Ok(());
            }
            kept
        }
    };
    let policy = DuplicateRefundPolicy::new(cx.settings.refund_retry_after_secs()?);
    let refunds = repo::refunds(db, charge_code).await?;
    let tries: Vec<DuplicateRefundTry<'_>> = refunds
        .iter()
        .map(|r| DuplicateRefundTry {
            out_refund_no: &r.out_refund_no,
            state: r.state,
            updated_at: r.updated_at,
        })
        .collect();
    let out_refund_no =
        match settle::duplicate_refund_step(&policy, charge_code, &tries, now_secs()) {
            DuplicateRefundStep::Send { out_refund_no } => out_refund_no,
            // A try is pending (the pending-refund retry settles it) or done,
            // or the last refusal's wait is not over.
            DuplicateRefundStep::Nothing | DuplicateRefundStep::Wait { .. } => return Ok(()),
            // Logged when the last try was refused (below).
            DuplicateRefundStep::GiveUp => return Ok(()),
        };
    cx.log.event(
        Level::Warn,
        "duplicate_payment",
        serde_json::json!({"charge_code": charge_code, "kept": kept,
            "out_refund_no": out_refund_no}),
    );
    // In full: whatever the merchant has not refunded of it already.
    let amount = Fen::from_fen(repo::refundable(db, charge_code).await?);
    if amount == Fen::ZERO {
        return Ok(());
    }
    let reason = format!("duplicate payment; link already paid by {kept}");
    let sent = refund(
        cx,
        &RefundOrder {
            order: &order,
            out_refund_no: &out_refund_no,
            amount,
            reason: &reason,
        },
    )
    .await;
    let last = settle::duplicate_refund_try(charge_code, &out_refund_no) == Some(policy.max_tries);
    if last && sent.as_ref().is_err_and(ApiError::is_refusal) {
        // The merchant heard of each refusal (`refund.failed`); from here
        // on the shopper's money waits for a person.
        cx.log.event(
            Level::Error,
            "duplicate_refund_abandoned",
            serde_json::json!({"charge_code": charge_code, "kept": kept,
                "tries": policy.max_tries}),
        );
    }
    let done = sent?;
    cx.log.event(
        Level::Info,
        "duplicate_refunded",
        serde_json::json!({"charge_code": charge_code, "out_refund_no": out_refund_no,
            "order_state": done.state.as_str()}),
    );
    Ok(())
}

/// The polling path: confirms an attempt with `query` when the reconciler's
/// rule says so ([`settle::reconcile_action`]: pending long enough, or
/// inside a re-check window), at most once per interval per attempt (an
/// atomic claim). Gateway trouble is logged, not surfaced: the poll still
/// answers with the stored state.
pub async fn confirm_if_due(cx: &Cx, order: OrderRow, source: EventSource) -> ApiResult<OrderRow> {
    let now = now_secs();
    let policy = cx.settings.reconcile_policy()?;
    if !settle::reconcile_action(&policy, &order.reconcile_input(now)) {
        return Ok(order);
    }
    let db = cx.db()?;
    if !repo::claim_query_slot(db, &order.charge_code, now, policy.min_interval_secs).await? {
        return Ok(order);
    }
    let cfg = cx.settings.gateway()?;
    if let Err(e) = query_and_apply(cx, &cfg, &order, source).await {
        cx.log.event(
            Level::Warn,
            "reconcile_failed",
            serde_json::json!({"charge_code": order.charge_code, "error": e.code().as_str()}),
        );
    }
    Ok(repo::get_order(db, &order.charge_code)
        .await?
        .unwrap_or(order))
}

/// The cron sweep: confirms attempts pending for longer than
/// `RECONCILE_AFTER_SECS` and re-checks attempts inside a re-check window
/// (least recently queried first, bounded per run). Returns how many
/// changed state.
pub async fn sweep(cx: &Cx) -> ApiResult<usize> {
    let db = cx.db()?;
    let now = now_secs();
    let cutoff = now.saturating_sub(cx.settings.reconcile_after_secs()?);
    let mut due = repo::pending_before(db, cutoff, 25).await?;
    due.extend(repo::recheck_due(db, now, 25).await?);
    let mut changed = 0;
    for order in due {
        let (code, before) = (order.charge_code.clone(), order.state);
        let after = confirm_if_due(cx, order, EventSource::Cron).await?;
        if after.state != before {
            changed += 1;
            cx.log.event(
                Level::Info,
                "reconciled",
                serde_json::json!({"charge_code": code, "from": before, "state": after.state}),
            );
        }
    }
    Ok(changed)
}
