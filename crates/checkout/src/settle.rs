//! What the gateway's word does to our books: the money decisions.
//!
//! The invariant these functions exist for: **after any interleaving of
//! shopper taps, late, duplicate or forged notifications, gateway faults,
//! merchant actions and cron runs, the Worker's record of every attempt and
//! every link equals what the gateway holds.** In particular the merchant
//! never sees "paid" without the money, a link is paid by at most one kept
//! payment, and every other payment of it is refunded in full, once.
//!
//! Every decision that can move money or a recorded state is here, pure and
//! table-tested; the Worker only reads the store, calls the gateway and
//! writes what these functions say. The rules:
//!
//! 1. **A refusal is only what the gateway says it refused.** A non-success
//!    `RESULT.CODE` is either a final refusal (the request did nothing) or
//!    says nothing about the outcome ([`classify`]). Faults (timeouts, 5xx,
//!    garbage, an unencrypted answer where 3DES was asked) are unknown too.
//!    Unknown never fails an attempt: it stays pending and `query` settles it.
//! 2. **Evidence of money must name the attempt.** A paid state from
//!    `query`, `preOrder` or a notification counts only when `CHARGE_CODE`,
//!    `BUSI_ID` (when the message carries one) and `AMT` match the attempt
//!    ([`evidence`]); a missing amount is not a match.
//! 3. **Money wins over our own belief.** A paid report for an attempt we
//!    recorded `closed` or `failed` is applied (see `state::can_transition`):
//!    the gateway holds the money, so the books must say so. `revoked` is
//!    different: it is only ever recorded from the gateway's word that the
//!    money went back, so a later "paid" is a stale retry.
//! 4. **One kept payment per link** ([`kept_payment`], [`on_money`]): of a
//!    link's attempts holding money and not refunded as duplicates, the one
//!    whose money arrived first is kept; any other is a duplicate, refunded
//!    in full under one refund number. A revoked payment holds no money, so
//!    a link paid and then revoked can be paid again.
//! 5. **We never revoke money we did not mean to.** Superseded attempts are
//!    not cancelled (a real-time `cancelTrade` is a revocation that returns a
//!    payment that lands meanwhile); a late payment of one is a duplicate.
//!    Only an explicit merchant cancel, or a POS charge still unpaid after
//!    its polling window, revokes — and the result is recorded as the
//!    gateway reports it, then re-checked by the reconciler for a while
//!    ([`reconcile_action`]).

use soushou::types::OrderState;
use soushou::Fen;

// What the gateway's answers say is read in the gateway room; these
// decisions and the Worker keep naming them here.
use crate::gateway::status_of;
pub use crate::gateway::{
    cancel_evidence, classify, refund_evidence, CancelEvidence, ListedRefund, RefundEvidence,
    Verdict,
};
use crate::state::Transition;
use crate::vocab::{LinkKind, OrderStatus, RefundState};

/// Whether a state means the shopper's money is held (paid, possibly
/// refunded since): the states that make a link paid.
pub fn holds_money(status: OrderStatus) -> bool {
    matches!(
        status,
        OrderStatus::Paid | OrderStatus::PartiallyRefunded | OrderStatus::Refunded
    )
}

/// The attempt a gateway message must be about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expected<'a> {
    /// Our `CHARGE_CODE`.
    pub charge_code: &'a str,
    /// The merchant's `BUSI_ID`.
    pub busi_id: &'a str,
    /// The attempt's amount.
    pub amount: Fen,
}

/// What a gateway message (query answer, preOrder answer, notification)
/// reports about an attempt; absent fields are `None`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Report<'a> {
    /// `CHARGE_CODE`.
    pub charge_code: Option<&'a str>,
    /// `BUSI_ID` (preOrder answers carry none).
    pub busi_id: Option<&'a str>,
    /// `AMT`, fen.
    pub amount: Option<Fen>,
    /// `STATE` (appendix 4).
    pub state: Option<&'a OrderState>,
}

/// Why a report was not trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// `CHARGE_CODE` absent or another attempt's.
    ChargeCode,
    /// `BUSI_ID` another merchant's.
    BusiId,
    /// `AMT` absent where money is claimed.
    MissingAmount,
    /// `AMT` differs from the attempt's amount.
    Amount {
        /// The attempt's amount.
        expected: Fen,
        /// The reported amount.
        reported: Fen,
    },
}

impl Mismatch {
    /// A short name for logs.
    pub fn name(&self) -> &'static str {
        match self {
            Mismatch::ChargeCode => "charge_code_mismatch",
            Mismatch::BusiId => "busi_id_mismatch",
            Mismatch::MissingAmount => "amount_missing",
            Mismatch::Amount { .. } => "amount_mismatch",
        }
    }
}

/// What a report does to the attempt it is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Evidence {
    /// Apply this event (through `state::apply`, which keeps it monotone).
    Apply(OrderStatus),
    /// The report says nothing definite (no state, a transitional state such
    /// as 3 "revocation applied", or an unknown one): change nothing.
    Silent,
    /// The report does not match the attempt: change nothing, log it.
    Distrust(Mismatch),
}

/// Checks a report against the attempt and says what it proves.
///
/// Every present identity field must match; a report that claims money
/// (a state that [`holds_money`]) must also carry the charge code and the
/// amount. A refund state reported by `query` proves the payment, not the
/// refund (refund records come from our own refund calls and `refundQuery`),
/// so it is applied as `Paid`.
pub fn evidence(expected: &Expected<'_>, report: &Report<'_>) -> Evidence {
    if report
        .charge_code
        .is_some_and(|c| c != expected.charge_code)
    {
        return Evidence::Distrust(Mismatch::ChargeCode);
    }
    if report.busi_id.is_some_and(|b| b != expected.busi_id) {
        return Evidence::Distrust(Mismatch::BusiId);
    }
    if let Some(reported) = report.amount {
        if reported != expected.amount {
            return Evidence::Distrust(Mismatch::Amount {
                expected: expected.amount,
                reported,
            });
        }
    }
    let Some(status) = report.state.and_then(status_of) else {
        return Evidence::Silent;
    };
    if holds_money(status) {
        if report.charge_code.is_none() {
            return Evidence::Distrust(Mismatch::ChargeCode);
        }
        if report.amount.is_none() {
            return Evidence::Distrust(Mismatch::MissingAmount);
        }
        return Evidence::Apply(OrderStatus::Paid);
    }
    Evidence::Apply(status)
}

/// One attempt of a link, as the link decisions see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkAttempt<'a> {
    /// `CHARGE_CODE`.
    pub charge_code: &'a str,
    /// Stored state.
    pub status: OrderStatus,
    /// Order in which money first arrived on attempts (smaller = earlier;
    /// `None` if it never did). Assigned once, atomically, by the store.
    pub paid_seq: Option<u64>,
    /// Whether this attempt was judged a duplicate payment of its link.
    pub duplicate: bool,
}

/// The link's kept payment: of the attempts holding money and not judged
/// duplicates, the one whose money arrived first (ties, which the store
/// never produces, go to the smaller charge code). `None`: the link is not
/// paid.
pub fn kept_payment<'a, 'b>(attempts: &'b [LinkAttempt<'a>]) -> Option<&'b LinkAttempt<'a>> {
    attempts
        .iter()
        .filter(|a| holds_money(a.status) && !a.duplicate)
        .min_by_key(|a| (a.paid_seq.unwrap_or(u64::MAX), a.charge_code))
}

/// What to do about an attempt of a link once money is recorded on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoneyDecision {
    /// It is the link's kept payment (or holds no money, or was already
    /// judged a duplicate): nothing to do.
    Keep,
    /// Another payment of the link is kept: mark this attempt a duplicate
    /// and refund it in full.
    RefundDuplicate {
        /// The kept attempt's charge code.
        kept: String,
    },
}

/// Decides whether `me` (an attempt of the link whose attempts are
/// `attempts`, `me` among them) is a duplicate payment. Deterministic in
/// the stored facts, so two concurrent callers deciding about two payments
/// of one link agree on which one is kept.
pub fn on_money(attempts: &[LinkAttempt<'_>], me: &str) -> MoneyDecision {
    let Some(mine) = attempts.iter().find(|a| a.charge_code == me) else {
        return MoneyDecision::Keep;
    };
    if !holds_money(mine.status) || mine.duplicate {
        return MoneyDecision::Keep;
    }
    match kept_payment(attempts) {
        Some(kept) if kept.charge_code != me => MoneyDecision::RefundDuplicate {
            kept: kept.charge_code.to_owned(),
        },
        _ => MoneyDecision::Keep,
    }
}

/// Who money arriving now on an attempt of a link of `kind` is a duplicate
/// of, given the link's other attempts (`others`, the attempt itself not
/// among them): their kept payment ([`kept_payment`]); `None` — the payment
/// is kept — when none of them holds money that is not a duplicate's, or
/// when the link keeps every payment (a counter code).
///
/// Why at arrival: the merchant's event is written in the transaction that
/// records the money (the outbox), so that transaction must already know
/// whether the payment is kept (`order.paid`) or not (`payment.duplicate`).
/// The store evaluates this inside the transition's conditional update, on
/// the rows as that transaction sees them: of two payments arriving
/// together the one committed first is kept and the other judged against
/// it, whichever the gateway reported first. The answer never changes once
/// given (money arrives on an attempt once, a mark is never erased), and
/// [`on_money`] agrees with it afterwards.
pub fn duplicate_on_arrival<'a>(kind: LinkKind, others: &[LinkAttempt<'a>]) -> Option<&'a str> {
    if kind.keeps_every_payment() {
        return None;
    }
    kept_payment(others).map(|kept| kept.charge_code)
}

/// The reconciler's pacing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconcilePolicy {
    /// A pending attempt younger than this is left to its notification.
    pub after_secs: u64,
    /// At most one `query` per attempt per this many seconds.
    pub min_interval_secs: u64,
}

/// What the reconciler knows about one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReconcileInput {
    /// Stored state.
    pub status: OrderStatus,
    /// Unix seconds the attempt was created.
    pub created_at: u64,
    /// Unix seconds of the last `query`.
    pub last_query_at: Option<u64>,
    /// Until when (unix seconds) the attempt must be re-checked whatever its
    /// state: set when a revocation of it was asked for, whose effect the
    /// gateway may apply later than it answers (or not at all).
    pub recheck_until: Option<u64>,
    /// Now, unix seconds.
    pub now: u64,
}

/// Whether the reconciler should `query` the attempt now.
///
/// Pending attempts are queried once they are older than `after_secs`;
/// attempts of any state inside their re-check window are queried too (a
/// paid attempt whose revocation was in flight may have been revoked since).
/// Both at most once per `min_interval_secs` (the store enforces the same
/// interval atomically, so concurrent pollers do not both call).
pub fn reconcile_action(policy: &ReconcilePolicy, a: &ReconcileInput) -> bool {
    let due = match a.status {
        OrderStatus::Pending => a.now.saturating_sub(a.created_at) >= policy.after_secs,
        _ => a.recheck_until.is_some_and(|until| a.now <= until),
    };
    let rested = a
        .last_query_at
        .is_none_or(|at| a.now.saturating_sub(at) >= policy.min_interval_secs);
    due && rested
}

/// Whether a transition is the one that recorded money on an attempt
/// (from pending, closed or failed): the moment a second payment of the
/// same link must be noticed.
pub fn is_new_money(t: &Transition) -> bool {
    matches!(t, Transition::Applied { from, to }
        if !holds_money(*from) && holds_money(*to))
}

/// A verified notification: what it reports, every field present (the
/// envelope requires them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Notice<'a> {
    /// `CHARGE_CODE`: the attempt it is about.
    pub charge_code: &'a str,
    /// `BUSI_ID`.
    pub busi_id: &'a str,
    /// `AMT`.
    pub amount: Fen,
    /// `STATE`.
    pub state: &'a OrderState,
}

impl<'a> Notice<'a> {
    /// The report the notification makes.
    pub fn report(&self) -> Report<'a> {
        Report {
            charge_code: Some(self.charge_code),
            busi_id: Some(self.busi_id),
            amount: Some(self.amount),
            state: Some(self.state),
        }
    }
}

/// What a notification's one D1 batch writes, decided before the attempt
/// is read.
///
/// Of everything [`evidence`] checks, only the attempt's amount is in the
/// store (the charge code names the row; `BUSI_ID` is ours): so the plan is
/// the evidence the notice would be were the stored amount the notified
/// one, and every write is conditional in SQL on the attempt existing with
/// `amount_fen = AMT`. A notice that fails the other checks writes nothing;
/// one whose amount differs finds every condition false.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyPlan {
    /// Apply the event: the update from any of `state::sources(event)`, its
    /// history row and outbox event, and count the notification under
    /// [`notify_count_outcome`] of the state found.
    Apply(OrderStatus),
    /// It says nothing definite: count it (`ignored`).
    Count,
    /// Write nothing; the read tells an unknown attempt from a distrusted
    /// notice.
    Nothing,
}

/// The writes a notification asks for (see [`NotifyPlan`]).
pub fn notify_plan(busi_id: &str, notice: &Notice<'_>) -> NotifyPlan {
    let assumed = Expected {
        charge_code: notice.charge_code,
        busi_id,
        amount: notice.amount,
    };
    match evidence(&assumed, &notice.report()) {
        Evidence::Apply(event) => NotifyPlan::Apply(event),
        Evidence::Silent => NotifyPlan::Count,
        Evidence::Distrust(_) => NotifyPlan::Nothing,
    }
}

/// The outcome a notification is counted under, given the state its batch
/// finds the attempt in: what applying its event does there, or `ignored`.
/// The Worker writes it as a `CASE state WHEN …` built from this function
/// over every state, so the stored record says what [`notify_outcome`]
/// decides.
pub fn notify_count_outcome(plan: NotifyPlan, found: OrderStatus) -> Option<&'static str> {
    match plan {
        NotifyPlan::Apply(event) => Some(crate::state::apply(found, event).name()),
        NotifyPlan::Count => Some(NotifyOutcome::Ignored.name()),
        NotifyPlan::Nothing => None,
    }
}

/// An attempt as a notification's batch read it, before its writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredAttempt {
    /// The state.
    pub state: OrderStatus,
    /// The amount.
    pub amount: Fen,
}

/// What a notification did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyOutcome {
    /// No attempt has its `CHARGE_CODE`: nothing written.
    Unknown,
    /// It does not match its attempt: nothing written, not counted.
    Distrusted(Mismatch),
    /// It says nothing definite: counted, nothing else.
    Ignored,
    /// Its event: applied (with history, outbox event and count), or a
    /// duplicate or stale one (counted, nothing else).
    Event(Transition),
}

impl NotifyOutcome {
    /// The name logged and counted (`applied`, `duplicate`, `stale`,
    /// `ignored`; the refusals are named by their error).
    pub fn name(&self) -> &'static str {
        match self {
            NotifyOutcome::Unknown => "unknown",
            NotifyOutcome::Distrusted(m) => m.name(),
            NotifyOutcome::Ignored => "ignored",
            NotifyOutcome::Event(t) => t.name(),
        }
    }
}

/// The batch's results contradict the rules: the read says the update
/// should (not) have applied and D1 says otherwise. Never expected (the
/// batch is one transaction); a storage fault, so the gateway retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inconsistent;

/// Decides what a notification's batch did from what D1 returned: `stored`,
/// the attempt read in the batch's transaction before its writes (`None`:
/// no such charge code), and `updated`, whether its conditional update
/// changed the row.
///
/// The decision is [`evidence`] against the row read, then
/// `state::apply` — the same as reading first and writing after — and the
/// update's result must agree with it: the update ran in the same
/// transaction under the same rule (`state::sources`, `amount_fen = AMT`),
/// so a disagreement means the store is not what we think, not a race.
pub fn notify_outcome(
    busi_id: &str,
    notice: &Notice<'_>,
    stored: Option<StoredAttempt>,
    updated: bool,
) -> Result<NotifyOutcome, Inconsistent> {
    let outcome = match stored {
        None => NotifyOutcome::Unknown,
        Some(row) => {
            let expected = Expected {
                charge_code: notice.charge_code,
                busi_id,
                amount: row.amount,
            };
            match evidence(&expected, &notice.report()) {
                Evidence::Apply(event) => {
                    NotifyOutcome::Event(crate::state::apply(row.state, event))
                }
                Evidence::Silent => NotifyOutcome::Ignored,
                Evidence::Distrust(m) => NotifyOutcome::Distrusted(m),
            }
        }
    };
    let applied = matches!(outcome, NotifyOutcome::Event(Transition::Applied { .. }));
    if applied != updated {
        return Err(Inconsistent);
    }
    Ok(outcome)
}

/// The `OUT_REFUND_NO` of try `n` (from 1) of the refund of a duplicate
/// payment: `dup-{charge code}`, then `dup-{charge code}-{n}` after a
/// refusal. One number per try, so however often the duplicate is noticed
/// each try is made once, and the gateway's ledger tells the tries apart.
pub fn duplicate_refund_no(charge_code: &str, n: u32) -> String {
    match n {
        0 | 1 => format!("dup-{charge_code}"),
        n => format!("dup-{charge_code}-{n}"),
    }
}

/// Which try of `charge_code`'s duplicate refund `out_refund_no` is (the
/// inverse of [`duplicate_refund_no`]); `None` for any other number.
pub fn duplicate_refund_try(charge_code: &str, out_refund_no: &str) -> Option<u32> {
    let rest = out_refund_no
        .strip_prefix("dup-")?
        .strip_prefix(charge_code)?;
    if rest.is_empty() {
        return Some(1);
    }
    let n: u32 = rest.strip_prefix('-')?.parse().ok()?;
    (n >= 2 && rest == format!("-{n}")).then_some(n)
}

/// How often, and how patiently, a refused duplicate refund is tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuplicateRefundPolicy {
    /// The wait after the first refusal; it doubles after each further one
    /// (`REFUND_RETRY_AFTER_SECS`).
    pub retry_after_secs: u64,
    /// Tries in all before the duplicate is left to the merchant.
    pub max_tries: u32,
}

impl DuplicateRefundPolicy {
    /// Eight tries: with the production minute that is about four hours of
    /// doubling waits, long enough to outlast a gateway or channel outage
    /// and short enough that the merchant hears of a stuck one the same day.
    pub fn new(retry_after_secs: u64) -> Self {
        DuplicateRefundPolicy {
            retry_after_secs,
            max_tries: 8,
        }
    }
}

/// One earlier try of a duplicate payment's refund, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DuplicateRefundTry<'a> {
    /// Its `OUT_REFUND_NO`.
    pub out_refund_no: &'a str,
    /// Where it stands.
    pub state: RefundState,
    /// Unix seconds it last changed (for a refused one: when it was refused).
    pub updated_at: u64,
}

/// What to do next about the refund of a payment judged a duplicate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DuplicateRefundStep {
    /// A try succeeded, or one is pending (the pending-refund retry settles
    /// it under its own number): nothing to send.
    Nothing,
    /// Send a try under this number (the first, or the next after a refusal
    /// once its wait is over).
    Send {
        /// The try's `OUT_REFUND_NO`.
        out_refund_no: String,
    },
    /// The last try was refused; the next may go at this unix second.
    Wait {
        /// Unix seconds.
        until: u64,
    },
    /// Refused `max_tries` times: stop, and leave it to the merchant, who
    /// heard of every refusal (`refund.failed`).
    GiveUp,
}

/// Decides the next step of a duplicate payment's refund from its earlier
/// tries (`refunds` may hold the attempt's other refunds too; only its
/// `dup-` numbers count).
///
/// A refusal is the gateway's word that that try did nothing, so a new try
/// under a new number can never refund twice; the money of a duplicate is
/// the shopper's, so a refusal is never the end of it until the merchant is
/// told. A pending try blocks a new one: its outcome is unknown, and a
/// second try could refund the same money twice.
pub fn duplicate_refund_step(
    policy: &DuplicateRefundPolicy,
    charge_code: &str,
    refunds: &[DuplicateRefundTry<'_>],
    now: u64,
) -> DuplicateRefundStep {
    let tries: Vec<(u32, &DuplicateRefundTry<'_>)> = refunds
        .iter()
        .filter_map(|r| Some((duplicate_refund_try(charge_code, r.out_refund_no)?, r)))
        .collect();
    if tries.iter().any(|(_, r)| r.state != RefundState::Failed) {
        return DuplicateRefundStep::Nothing;
    }
    let Some((last, last_try)) = tries.iter().max_by_key(|(n, _)| *n) else {
        return DuplicateRefundStep::Send {
            out_refund_no: duplicate_refund_no(charge_code, 1),
        };
    };
    let refused = tries.len() as u32;
    if refused >= policy.max_tries {
        return DuplicateRefundStep::GiveUp;
    }
    let wait = policy
        .retry_after_secs
        .saturating_mul(1u64 << (refused - 1).min(32));
    let until = last_try.updated_at.saturating_add(wait);
    if now < until {
        return DuplicateRefundStep::Wait { until };
    }
    DuplicateRefundStep::Send {
        out_refund_no: duplicate_refund_no(charge_code, last + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_money_is_the_first_transition_into_holding_money() {
        use OrderStatus::*;
        let t = |from, to| Transition::Applied { from, to };
        assert!(is_new_money(&t(Pending, Paid)));
        assert!(is_new_money(&t(Closed, Paid)));
        assert!(is_new_money(&t(Failed, PartiallyRefunded)));
        assert!(!is_new_money(&t(Paid, PartiallyRefunded)));
        assert!(!is_new_money(&t(Pending, Closed)));
        assert!(!is_new_money(&Transition::Duplicate(Paid)));
        assert!(!is_new_money(&Transition::Stale {
            current: Paid,
            event: Pending
        }));
    }

    #[test]
    fn duplicate_refund_numbers_round_trip() {
        let cases = [
            ("abc", 1, "dup-abc"),
            ("abc", 2, "dup-abc-2"),
            ("abc", 8, "dup-abc-8"),
            ("a-1", 3, "dup-a-1-3"),
        ];
        for (code, n, no) in cases {
            assert_eq!(duplicate_refund_no(code, n), no);
            assert_eq!(duplicate_refund_try(code, no), Some(n), "{no}");
        }
        // Not this attempt's tries: another attempt, a merchant number,
        // a try number that is not canonical.
        let others = [
            ("abc", "dup-abd"),
            ("abc", "dup-abcd"),
            ("abc", "dup-abc-"),
            ("abc", "dup-abc-1"),
            ("abc", "dup-abc-02"),
            ("abc", "dup-abc-x"),
            ("abc", "dup-abc-2-2"),
            ("abc", "R-abc"),
            ("a", "dup-a-1-3"),
        ];
        for (code, no) in others {
            assert_eq!(duplicate_refund_try(code, no), None, "{code} {no}");
        }
    }

    #[test]
    fn duplicate_refund_steps() {
        use DuplicateRefundStep::*;
        use RefundState::{Failed, Pending, Succeeded};
        let policy = DuplicateRefundPolicy {
            retry_after_secs: 60,
            max_tries: 4,
        };
        let t = |no: &'static str, state, updated_at| DuplicateRefundTry {
            out_refund_no: no,
            state,
            updated_at,
        };
        let send = |no: &str| Send {
            out_refund_no: no.into(),
        };
        let cases: Vec<(&str, Vec<DuplicateRefundTry<'_>>, u64, DuplicateRefundStep)> = vec![
            ("never tried", vec![], 1000, send("dup-C")),
            (
                "a merchant refund is not a try",
                vec![t("R-1", Failed, 10)],
                1000,
                send("dup-C"),
            ),
            ("pending", vec![t("dup-C", Pending, 10)], 1000, Nothing),
            ("done", vec![t("dup-C", Succeeded, 10)], 1000, Nothing),
            (
                "refused once, waiting",
                vec![t("dup-C", Failed, 1000)],
                1059,
                Wait { until: 1060 },
            ),
            (
                "refused once, wait over",
                vec![t("dup-C", Failed, 1000)],
                1060,
                send("dup-C-2"),
            ),
            (
                "refused twice: the wait doubles",
                vec![t("dup-C", Failed, 900), t("dup-C-2", Failed, 1000)],
                1119,
                Wait { until: 1120 },
            ),
            (
                "refused twice, then succeeded",
                vec![
                    t("dup-C", Failed, 900),
                    t("dup-C-2", Failed, 950),
                    t("dup-C-3", Succeeded, 1000),
                ],
                5000,
                Nothing,
            ),
            (
                "a retry in flight blocks the next",
                vec![t("dup-C", Failed, 900), t("dup-C-2", Pending, 950)],
                5000,
                Nothing,
            ),
            (
                "refused three times: waits four times as long",
                vec![
                    t("dup-C", Failed, 100),
                    t("dup-C-2", Failed, 200),
                    t("dup-C-3", Failed, 1000),
                ],
                1240,
                send("dup-C-4"),
            ),
            (
                "refused max_tries times",
                vec![
                    t("dup-C", Failed, 100),
                    t("dup-C-2", Failed, 200),
                    t("dup-C-3", Failed, 300),
                    t("dup-C-4", Failed, 400),
                ],
                1_000_000,
                GiveUp,
            ),
            (
                "another attempt's tries do not count",
                vec![t("dup-D", Pending, 10), t("dup-C", Failed, 10)],
                1000,
                send("dup-C-2"),
            ),
        ];
        for (name, tries, now, want) in cases {
            assert_eq!(
                duplicate_refund_step(&policy, "C", &tries, now),
                want,
                "{name}"
            );
        }
        assert_eq!(DuplicateRefundPolicy::new(60).max_tries, 8);
    }

    use OrderStatus::*;

    fn f(n: u64) -> Fen {
        Fen::from_fen(n)
    }

    const EXP: Expected<'static> = Expected {
        charge_code: "C1",
        busi_id: "B1",
        amount: Fen::from_fen(1250),
    };

    fn report(
        code: Option<&'static str>,
        busi: Option<&'static str>,
        amt: Option<u64>,
        state: Option<&'static OrderState>,
    ) -> Report<'static> {
        Report {
            charge_code: code,
            busi_id: busi,
            amount: amt.map(f),
            state,
        }
    }

    #[test]
    fn evidence_table() {
        use OrderState as S;
        let paid = &S::Paid;
        let cases: &[(Report<'static>, Evidence)] = &[
            // The full match: paid.
            (
                report(Some("C1"), Some("B1"), Some(1250), Some(paid)),
                Evidence::Apply(Paid),
            ),
            // preOrder answers carry no BUSI_ID: still paid.
            (
                report(Some("C1"), None, Some(1250), Some(paid)),
                Evidence::Apply(Paid),
            ),
            // Money claimed without the amount or the charge code: distrusted.
            (
                report(Some("C1"), Some("B1"), None, Some(paid)),
                Evidence::Distrust(Mismatch::MissingAmount),
            ),
            (
                report(None, Some("B1"), Some(1250), Some(paid)),
                Evidence::Distrust(Mismatch::ChargeCode),
            ),
            // Wrong identity or amount: distrusted whatever the state.
            (
                report(Some("C2"), Some("B1"), Some(1250), Some(paid)),
                Evidence::Distrust(Mismatch::ChargeCode),
            ),
            (
                report(Some("C1"), Some("B2"), Some(1250), Some(paid)),
                Evidence::Distrust(Mismatch::BusiId),
            ),
            (
                report(Some("C1"), Some("B1"), Some(1), Some(paid)),
                Evidence::Distrust(Mismatch::Amount {
                    expected: f(1250),
                    reported: f(1),
                }),
            ),
            (
                report(Some("C2"), None, None, Some(&S::Closed)),
                Evidence::Distrust(Mismatch::ChargeCode),
            ),
            // Refund states prove the payment.
            (
                report(Some("C1"), Some("B1"), Some(1250), Some(&S::Refunded)),
                Evidence::Apply(Paid),
            ),
            (
                report(
                    Some("C1"),
                    Some("B1"),
                    Some(1250),
                    Some(&S::PartiallyRefunded),
                ),
                Evidence::Apply(Paid),
            ),
            (
                report(Some("C1"), None, None, Some(&S::Refunded)),
                Evidence::Distrust(Mismatch::MissingAmount),
            ),
            // States without money need no amount.
            (
                report(Some("C1"), None, None, Some(&S::Pending)),
                Evidence::Apply(Pending),
            ),
            (
                report(None, None, None, Some(&S::Closed)),
                Evidence::Apply(Closed),
            ),
            (
                report(Some("C1"), Some("B1"), Some(1250), Some(&S::Revoked)),
                Evidence::Apply(Revoked),
            ),
            // Nothing definite.
            (
                report(
                    Some("C1"),
                    Some("B1"),
                    Some(1250),
                    Some(&S::RevocationApplied),
                ),
                Evidence::Silent,
            ),
            (
                report(Some("C1"), Some("B1"), Some(1250), None),
                Evidence::Silent,
            ),
            (
                report(Some("C1"), Some("B1"), Some(1250), Some(&S::Refunding)),
                Evidence::Silent,
            ),
        ];
        for (r, want) in cases {
            assert_eq!(evidence(&EXP, r), *want, "{r:?}");
        }
    }

    fn att(
        code: &'static str,
        status: OrderStatus,
        seq: Option<u64>,
        dup: bool,
    ) -> LinkAttempt<'static> {
        LinkAttempt {
            charge_code: code,
            status,
            paid_seq: seq,
            duplicate: dup,
        }
    }

    #[test]
    fn kept_payment_table() {
        let cases: &[(&[LinkAttempt<'static>], Option<&str>)] = &[
            (&[], None),
            (&[att("A", Pending, None, false)], None),
            (&[att("A", Paid, Some(1), false)], Some("A")),
            // The first money wins, whatever the list order.
            (
                &[
                    att("B", Paid, Some(2), false),
                    att("A", Paid, Some(1), false),
                ],
                Some("A"),
            ),
            // A merchant refund keeps the link paid.
            (&[att("A", Refunded, Some(1), false)], Some("A")),
            (&[att("A", PartiallyRefunded, Some(1), false)], Some("A")),
            // Revoked money is gone: the later payment is the link's.
            (
                &[
                    att("A", Revoked, Some(1), false),
                    att("B", Paid, Some(2), false),
                ],
                Some("B"),
            ),
            // A duplicate is never kept, even if the kept one is gone since.
            (
                &[
                    att("A", Revoked, Some(1), false),
                    att("B", Refunded, Some(2), true),
                ],
                None,
            ),
            (
                &[att("A", Closed, None, false), att("B", Failed, None, false)],
                None,
            ),
        ];
        for (attempts, want) in cases {
            assert_eq!(
                kept_payment(attempts).map(|a| a.charge_code),
                *want,
                "{attempts:?}"
            );
        }
    }

    #[test]
    fn duplicate_on_arrival_table() {
        let cases: &[(&[LinkAttempt<'static>], Option<&str>)] = &[
            // The first payment of a link is kept.
            (&[], None),
            (&[att("A", Pending, None, false)], None),
            (&[att("A", Closed, None, false)], None),
            // Money already on the link: a duplicate of it.
            (&[att("A", Paid, Some(1), false)], Some("A")),
            (&[att("A", Refunded, Some(1), false)], Some("A")),
            // Of the kept one, not of an earlier duplicate.
            (
                &[
                    att("B", Refunded, Some(2), true),
                    att("A", PartiallyRefunded, Some(1), false),
                ],
                Some("A"),
            ),
            // Revoked money is gone, and a duplicate is never kept.
            (&[att("A", Revoked, Some(1), false)], None),
            (
                &[
                    att("A", Revoked, Some(1), false),
                    att("B", Refunded, Some(2), true),
                ],
                None,
            ),
        ];
        for (others, want) in cases {
            for kind in [LinkKind::Fixed, LinkKind::Open] {
                assert_eq!(duplicate_on_arrival(kind, others), *want, "{others:?}");
            }
            // A counter code keeps every payment.
            assert_eq!(duplicate_on_arrival(LinkKind::Counter, others), None);
        }
        // It agrees with the later check: the judged payment is refunded,
        // the kept one kept.
        let a = att("A", Paid, Some(1), false);
        let b = att("B", Paid, Some(2), false);
        assert_eq!(duplicate_on_arrival(LinkKind::Fixed, &[a]), Some("A"));
        assert_eq!(
            on_money(&[a, b], "B"),
            MoneyDecision::RefundDuplicate { kept: "A".into() }
        );
    }

    #[test]
    fn on_money_table() {
        let a = att("A", Paid, Some(1), false);
        let b = att("B", Paid, Some(2), false);
        let dup = |kept: &str| MoneyDecision::RefundDuplicate { kept: kept.into() };
        assert_eq!(on_money(&[a, b], "A"), MoneyDecision::Keep);
        assert_eq!(on_money(&[a, b], "B"), dup("A"));
        // Already judged: nothing more.
        assert_eq!(
            on_money(&[a, att("B", Paid, Some(2), true)], "B"),
            MoneyDecision::Keep
        );
        // Late money on a closed or failed attempt (now paid) is a duplicate too.
        assert_eq!(
            on_money(
                &[
                    a,
                    att("B", Paid, Some(3), false),
                    att("C", Closed, None, false)
                ],
                "B"
            ),
            dup("A")
        );
        // Paid, then revoked: the next payment is kept.
        assert_eq!(
            on_money(&[att("A", Revoked, Some(1), false), b], "B"),
            MoneyDecision::Keep
        );
        // No money on me, or not one of the link's: nothing to do.
        assert_eq!(
            on_money(&[a, att("B", Pending, None, false)], "B"),
            MoneyDecision::Keep
        );
        assert_eq!(on_money(&[a], "Z"), MoneyDecision::Keep);
        // Two concurrent deciders agree: exactly one of two payments is refunded.
        for (x, y) in [(a, b), (b, a)] {
            let refunded = ["A", "B"]
                .iter()
                .filter(|me| on_money(&[x, y], me) != MoneyDecision::Keep)
                .count();
            assert_eq!(refunded, 1);
        }
    }

    #[test]
    fn reconcile_table() {
        let p = ReconcilePolicy {
            after_secs: 30,
            min_interval_secs: 10,
        };
        let input = |status, created_at, last, recheck| ReconcileInput {
            status,
            created_at,
            last_query_at: last,
            recheck_until: recheck,
            now: 1000,
        };
        let cases = [
            // Pending: only once old enough, and rested.
            (input(Pending, 990, None, None), false),
            (input(Pending, 970, None, None), true),
            (input(Pending, 970, Some(995), None), false),
            (input(Pending, 970, Some(990), None), true),
            // Settled attempts: only inside a re-check window.
            (input(Paid, 0, None, None), false),
            (input(Paid, 0, None, Some(1000)), true),
            (input(Paid, 0, None, Some(999)), false),
            (input(Paid, 0, Some(995), Some(2000)), false),
            (input(Revoked, 0, Some(980), Some(2000)), true),
            (input(Closed, 0, None, None), false),
            (input(Failed, 0, None, None), false),
        ];
        for (i, want) in cases {
            assert_eq!(reconcile_action(&p, &i), want, "{i:?}");
        }
    }

    fn notice(busi: &'static str, amt: u64, state: &'static OrderState) -> Notice<'static> {
        Notice {
            charge_code: "C1",
            busi_id: busi,
            amount: f(amt),
            state,
        }
    }

    fn stored(state: OrderStatus, amt: u64) -> Option<StoredAttempt> {
        Some(StoredAttempt {
            state,
            amount: f(amt),
        })
    }

    #[test]
    fn notify_outcome_table() {
        use NotifyOutcome as O;
        use OrderState as G;
        let applied = |from, to| O::Event(Transition::Applied { from, to });
        type Case = (
            &'static str,
            Notice<'static>,
            Option<StoredAttempt>,
            bool,
            Result<NotifyOutcome, Inconsistent>,
        );
        let cases: &[Case] = &[
            (
                "unknown charge code",
                notice("B1", 1250, &G::Paid),
                None,
                false,
                Ok(O::Unknown),
            ),
            (
                "paid",
                notice("B1", 1250, &G::Paid),
                stored(Pending, 1250),
                true,
                Ok(applied(Pending, Paid)),
            ),
            (
                "money wins over closed",
                notice("B1", 1250, &G::Paid),
                stored(Closed, 1250),
                true,
                Ok(applied(Closed, Paid)),
            ),
            (
                "money wins over failed",
                notice("B1", 1250, &G::Paid),
                stored(Failed, 1250),
                true,
                Ok(applied(Failed, Paid)),
            ),
            (
                "redelivered",
                notice("B1", 1250, &G::Paid),
                stored(Paid, 1250),
                false,
                Ok(O::Event(Transition::Duplicate(Paid))),
            ),
            (
                "revoked is final",
                notice("B1", 1250, &G::Paid),
                stored(Revoked, 1250),
                false,
                Ok(O::Event(Transition::Stale {
                    current: Revoked,
                    event: Paid,
                })),
            ),
            (
                "a refund state proves the payment only",
                notice("B1", 1250, &G::Refunded),
                stored(PartiallyRefunded, 1250),
                false,
                Ok(O::Event(Transition::Stale {
                    current: PartiallyRefunded,
                    event: Paid,
                })),
            ),
            (
                "late pending",
                notice("B1", 1250, &G::Pending),
                stored(Paid, 1250),
                false,
                Ok(O::Event(Transition::Stale {
                    current: Paid,
                    event: Pending,
                })),
            ),
            (
                "closed",
                notice("B1", 1250, &G::Closed),
                stored(Pending, 1250),
                true,
                Ok(applied(Pending, Closed)),
            ),
            (
                "revocation applied for: silent",
                notice("B1", 1250, &G::RevocationApplied),
                stored(Paid, 1250),
                false,
                Ok(O::Ignored),
            ),
            (
                "amount differs",
                notice("B1", 1, &G::Paid),
                stored(Pending, 1250),
                false,
                Ok(O::Distrusted(Mismatch::Amount {
                    expected: f(1250),
                    reported: f(1),
                })),
            ),
            (
                "amount differs, silent state",
                notice("B1", 1, &G::Refunding),
                stored(Pending, 1250),
                false,
                Ok(O::Distrusted(Mismatch::Amount {
                    expected: f(1250),
                    reported: f(1),
                })),
            ),
            (
                "another merchant",
                notice("B2", 1250, &G::Paid),
                stored(Pending, 1250),
                false,
                Ok(O::Distrusted(Mismatch::BusiId)),
            ),
            (
                "another merchant, unknown attempt",
                notice("B2", 1250, &G::Paid),
                None,
                false,
                Ok(O::Unknown),
            ),
            // The update and the read disagree: never trusted.
            (
                "updated a missing row",
                notice("B1", 1250, &G::Paid),
                None,
                true,
                Err(Inconsistent),
            ),
            (
                "did not update a pending row",
                notice("B1", 1250, &G::Paid),
                stored(Pending, 1250),
                false,
                Err(Inconsistent),
            ),
            (
                "updated a paid row",
                notice("B1", 1250, &G::Paid),
                stored(Paid, 1250),
                true,
                Err(Inconsistent),
            ),
            (
                "updated despite the amount",
                notice("B1", 1, &G::Paid),
                stored(Pending, 1250),
                true,
                Err(Inconsistent),
            ),
        ];
        for (name, n, row, updated, want) in cases {
            assert_eq!(notify_outcome("B1", n, *row, *updated), *want, "{name}");
        }
    }

    #[test]
    fn notify_plans() {
        use OrderState as G;
        let plan = |busi, state| notify_plan("B1", &notice(busi, 1250, state));
        assert_eq!(plan("B1", &G::Paid), NotifyPlan::Apply(Paid));
        assert_eq!(plan("B1", &G::Refunded), NotifyPlan::Apply(Paid));
        assert_eq!(plan("B1", &G::Closed), NotifyPlan::Apply(Closed));
        assert_eq!(plan("B1", &G::Pending), NotifyPlan::Apply(Pending));
        assert_eq!(plan("B1", &G::Refunding), NotifyPlan::Count);
        assert_eq!(plan("B2", &G::Paid), NotifyPlan::Nothing);
        assert_eq!(plan("B2", &G::Refunding), NotifyPlan::Nothing);
        assert_eq!(
            notify_count_outcome(NotifyPlan::Apply(Paid), Pending),
            Some("applied")
        );
        assert_eq!(
            notify_count_outcome(NotifyPlan::Apply(Paid), Paid),
            Some("duplicate")
        );
        assert_eq!(
            notify_count_outcome(NotifyPlan::Apply(Paid), Revoked),
            Some("stale")
        );
        assert_eq!(
            notify_count_outcome(NotifyPlan::Count, Paid),
            Some("ignored")
        );
        assert_eq!(notify_count_outcome(NotifyPlan::Nothing, Paid), None);
    }

    /// The one-batch notification decides exactly as reading first and
    /// writing after did (`evidence` on the row, then `state::apply`), for
    /// every stored state, notified state, amount, merchant and missing row:
    /// the batch is modelled as its SQL is written (every write conditional
    /// on the row with `amount_fen = AMT`; the update also on
    /// `state IN sources(event)`; the count labelled by
    /// `notify_count_outcome` of the state found), and what it wrote must
    /// be what the decision says.
    #[test]
    fn one_batch_decides_as_read_then_write() {
        use OrderState as G;
        const GATEWAY: [G; 12] = [
            G::Pending,
            G::Paid,
            G::RevocationApplied,
            G::Revoked,
            G::PartiallyRefunded,
            G::Refunded,
            G::Closed,
            G::Reserved,
            G::Refunding,
            G::RefundFailed,
            G::RefundPending,
            G::RefundSucceeded,
        ];
        for g in &GATEWAY {
            for busi in ["B1", "B2"] {
                for amt in [1250, 1249] {
                    let n = notice(busi, amt, g);
                    let plan = notify_plan("B1", &n);
                    let rows = OrderStatus::ALL.map(|s| stored(s, 1250));
                    for row in rows.into_iter().chain([None]) {
                        // The batch, as SQL runs it.
                        let matched = row.filter(|r| r.amount == n.amount);
                        let updated = match (plan, matched) {
                            (NotifyPlan::Apply(e), Some(r)) => {
                                crate::state::sources(e).any(|s| s == r.state)
                            }
                            _ => false,
                        };
                        let counted = matched.and_then(|r| notify_count_outcome(plan, r.state));
                        // Reading first, then writing (the old way).
                        let old = match row {
                            None => NotifyOutcome::Unknown,
                            Some(r) => {
                                let exp = Expected {
                                    charge_code: "C1",
                                    busi_id: "B1",
                                    amount: r.amount,
                                };
                                match evidence(&exp, &n.report()) {
                                    Evidence::Apply(e) => {
                                        NotifyOutcome::Event(crate::state::apply(r.state, e))
                                    }
                                    Evidence::Silent => NotifyOutcome::Ignored,
                                    Evidence::Distrust(m) => NotifyOutcome::Distrusted(m),
                                }
                            }
                        };
                        let case = format!("{g:?} {busi} {amt} {row:?}");
                        assert_eq!(notify_outcome("B1", &n, row, updated), Ok(old), "{case}");
                        let recorded =
                            matches!(old, NotifyOutcome::Ignored | NotifyOutcome::Event(_));
                        assert_eq!(counted, recorded.then(|| old.name()), "{case}");
                    }
                }
            }
        }
    }
}
