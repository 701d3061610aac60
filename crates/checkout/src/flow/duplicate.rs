//! The check after money was recorded on an attempt: if it is marked a
//! duplicate (the transition that recorded the money judged it,
//! `settle::duplicate_on_arrival`), it is refunded; if it is unmarked and
//! not its link's kept payment (`settle::on_money`: money recorded before
//! the judge existed), it is marked a duplicate first (a
//! claim: once, so a concurrent decider stops short of a second mark) and
//! refunded in full under the try number `settle::duplicate_refund_step`
//! gives — after a refusal, a new number once its wait is over, until
//! `max_tries`. Run after a notification or query that recorded new money,
//! and by the cron's catch-up for checks that were lost or refused.

use serde_json::json;

use super::refund::Request;
use super::{reserved, Attempt, FollowUp, Level, Log, Plan, Refund, Write};
use crate::settle::{
    self, DuplicateRefundPolicy, DuplicateRefundStep, DuplicateRefundTry, MoneyDecision,
};
use crate::vocab::{LinkKind, RefundState};

/// What the check reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The attempt that received money.
    pub attempt: Attempt,
    /// Every attempt of its link, itself included (none without a link;
    /// the store reads none for a link that keeps every payment, which
    /// [`decide`] answers without them).
    pub link: Vec<Attempt>,
    /// Its link's kind (`None`: no link).
    pub kind: Option<LinkKind>,
    /// Its refunds.
    pub refunds: Vec<Refund>,
}

/// The check is over (what it did is logged, and the refund, if any, is
/// a flow of its own).
pub type Answer = ();

/// An attempt's refunds as `settle::duplicate_refund_step` reads them.
pub fn tries(refunds: &[Refund]) -> Vec<DuplicateRefundTry<'_>> {
    refunds
        .iter()
        .map(|r| DuplicateRefundTry {
            out_refund_no: &r.out_refund_no,
            state: r.state,
            updated_at: r.updated_at,
        })
        .collect()
}

/// Decides the duplicate check of `snapshot.attempt`.
pub fn decide(snapshot: &Snapshot, now: u64, policy: &DuplicateRefundPolicy) -> Plan<Answer> {
    let me = &snapshot.attempt;
    let code = &me.charge_code;
    // Every payment of a counter code is kept: nothing is a duplicate.
    if me.link_id.is_none() || snapshot.kind.is_none_or(LinkKind::keeps_every_payment) {
        return Plan::done(());
    }
    let Some(kept) = &me.duplicate_of else {
        let view: Vec<_> = snapshot.link.iter().map(Attempt::link_attempt).collect();
        return match settle::on_money(&view, code) {
            MoneyDecision::Keep => Plan::done(()),
            // Marked before its refund is reserved: from here on the
            // attempt never makes its link paid.
            MoneyDecision::RefundDuplicate { kept } => Plan::again(vec![Write::MarkDuplicate {
                charge_code: code.clone(),
                kept,
            }]),
        };
    };
    let tries = tries(&snapshot.refunds);
    let out_refund_no = match settle::duplicate_refund_step(policy, code, &tries, now) {
        DuplicateRefundStep::Send { out_refund_no } => out_refund_no,
        // A try pending (the pending-refund retry settles it) or done, the
        // last refusal's wait not over, or given up (logged when the last
        // try was refused).
        DuplicateRefundStep::Nothing
        | DuplicateRefundStep::Wait { .. }
        | DuplicateRefundStep::GiveUp => return Plan::done(()),
    };
    // In full: whatever the merchant has not refunded of it already. A
    // merchant refund still pending is waited for (the pending-refund retry
    // settles it, and the cron's catch-up comes back here): were it sized
    // against a pending refund that then failed, the rest of the shopper's
    // money would stay held, with the duplicate's refund done.
    if snapshot
        .refunds
        .iter()
        .any(|r| r.state == RefundState::Pending)
    {
        return Plan::done(());
    }
    let left = me
        .amount
        .checked_sub(reserved(&snapshot.refunds))
        .unwrap_or(soushou::Fen::ZERO);
    if left == soushou::Fen::ZERO {
        return Plan::done(());
    }
    Plan::done(())
        .logging(Log::event(
            Level::Warn,
            "duplicate_payment",
            json!({"charge_code": code, "kept": kept, "out_refund_no": out_refund_no}),
        ))
        .then(FollowUp::Refund {
            charge_code: code.clone(),
            request: Request {
                out_refund_no,
                amount: left,
                reason: format!("duplicate payment; link already paid by {kept}"),
            },
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::{attempt, refund};
    use crate::vocab::{OrderStatus::*, RefundState as R};
    use soushou::Fen;

    const POLICY: DuplicateRefundPolicy = DuplicateRefundPolicy {
        retry_after_secs: 60,
        max_tries: 3,
    };

    fn on_link(
        code: &str,
        state: crate::vocab::OrderStatus,
        seq: Option<u64>,
        dup: Option<&str>,
    ) -> Attempt {
        Attempt {
            link_id: Some("L1".into()),
            paid_seq: seq,
            duplicate_of: dup.map(Into::into),
            ..attempt(code, state)
        }
    }

    fn snap(me: Attempt, others: Vec<Attempt>, refunds: Vec<Refund>) -> Snapshot {
        Snapshot {
            kind: me.link_id.as_ref().map(|_| LinkKind::Fixed),
            link: [vec![me.clone()], others].concat(),
            attempt: me,
            refunds,
        }
    }

    fn send(no: &str, amt: u64) -> Plan<Answer> {
        Plan::done(())
            .logging(Log::event(
                Level::Warn,
                "duplicate_payment",
                json!({"charge_code": "C2", "kept": "C1", "out_refund_no": no}),
            ))
            .then(FollowUp::Refund {
                charge_code: "C2".into(),
                request: Request {
                    out_refund_no: no.into(),
                    amount: Fen::from_fen(amt),
                    reason: "duplicate payment; link already paid by C1".into(),
                },
            })
    }

    #[test]
    fn the_duplicate_check() {
        let kept = on_link("C1", Paid, Some(1), None);
        let me = on_link("C2", Paid, Some(2), None);
        let marked = on_link("C2", Paid, Some(2), Some("C1"));
        let cases: Vec<(&str, Snapshot, u64, Plan<Answer>)> = vec![
            (
                "no link",
                snap(attempt("C2", Paid), vec![], vec![]),
                0,
                Plan::done(()),
            ),
            (
                "the kept payment",
                snap(kept.clone(), vec![me.clone()], vec![]),
                0,
                Plan::done(()),
            ),
            (
                "paid second: marked first",
                snap(me, vec![kept.clone()], vec![]),
                0,
                Plan::again(vec![Write::MarkDuplicate {
                    charge_code: "C2".into(),
                    kept: "C1".into(),
                }]),
            ),
            (
                "marked: refunded in full",
                snap(marked.clone(), vec![kept.clone()], vec![]),
                0,
                send("dup-C2", 1000),
            ),
            (
                "marked, partly refunded by the merchant: the rest",
                snap(
                    marked.clone(),
                    vec![kept.clone()],
                    vec![refund("C2", "R1", 300, R::Succeeded)],
                ),
                0,
                send("dup-C2", 700),
            ),
            (
                "a merchant refund pending: waited for",
                snap(
                    marked.clone(),
                    vec![kept.clone()],
                    vec![refund("C2", "R1", 300, R::Pending)],
                ),
                0,
                Plan::done(()),
            ),
            (
                "the merchant refunded it all",
                snap(
                    marked.clone(),
                    vec![kept.clone()],
                    vec![refund("C2", "R1", 1000, R::Pending)],
                ),
                0,
                Plan::done(()),
            ),
            (
                "a try pending",
                snap(
                    marked.clone(),
                    vec![kept.clone()],
                    vec![refund("C2", "dup-C2", 1000, R::Pending)],
                ),
                0,
                Plan::done(()),
            ),
            (
                "refused, waiting",
                snap(
                    marked.clone(),
                    vec![kept.clone()],
                    vec![refund("C2", "dup-C2", 1000, R::Failed)],
                ),
                159,
                Plan::done(()),
            ),
            (
                "refused, wait over: the next try",
                snap(
                    marked.clone(),
                    vec![kept.clone()],
                    vec![refund("C2", "dup-C2", 1000, R::Failed)],
                ),
                160,
                send("dup-C2-2", 1000),
            ),
            (
                "refused max_tries times: given up",
                snap(
                    marked,
                    vec![kept],
                    vec![
                        refund("C2", "dup-C2", 1000, R::Failed),
                        refund("C2", "dup-C2-2", 1000, R::Failed),
                        refund("C2", "dup-C2-3", 1000, R::Failed),
                    ],
                ),
                100_000,
                Plan::done(()),
            ),
        ];
        for (name, s, now, want) in cases {
            assert_eq!(decide(&s, now, &POLICY), want, "{name}");
            // On a counter code nothing is a duplicate, whatever the rows.
            let counter = Snapshot {
                kind: Some(LinkKind::Counter),
                ..s
            };
            assert_eq!(decide(&counter, now, &POLICY), Plan::done(()), "{name}");
        }
    }
}
