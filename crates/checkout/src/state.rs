//! The order (payment attempt) state machine.
//!
//! The gateway tells us about an order many times and in any order: the
//! same notification arrives up to 30 times, concurrently and late, and the
//! Worker also polls `query`. So applying an event must be monotone (never
//! move an order backwards) and idempotent (applying it again changes
//! nothing), and must say which of the two happened so the Worker knows
//! whether to write to the store.
//!
//! States form a partial order; an event is applied only if it is strictly
//! above the current state:
//!
//! ```text
//! pending ─► closed / failed ─► paid ─► partially_refunded ─► refunded
//!                                  │              │
//!                                  └──► revoked ◄─┘
//! ```
//!
//! plus the transitive edges (`pending → refunded` when the paid
//! notification was missed, for example). `revoked` and `refunded` are
//! terminal. `closed` and `failed` are not: they are our belief that no
//! money came, and evidence of money (a verified paid notification or
//! query) overrides it, because the books must hold what the gateway holds
//! (`crate::settle` rule 3). `revoked` is only recorded on the gateway's
//! word that the money went back, so a paid report after it is stale.

use soushou::Fen;

use crate::error::Error;
use crate::vocab::OrderStatus;

/// What applying an event to the stored state did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// The state moved forward: persist `to`.
    Applied {
        /// The state before.
        from: OrderStatus,
        /// The new state.
        to: OrderStatus,
    },
    /// The event repeats the current state (a redelivered notification):
    /// nothing to write, but the sender may be acknowledged.
    Duplicate(OrderStatus),
    /// The event is older than, or contradicts, the current state (e.g.
    /// `pending` after `paid`, `paid` after `closed`): nothing changes.
    Stale {
        /// The stored state, which stays.
        current: OrderStatus,
        /// The event that was ignored.
        event: OrderStatus,
    },
}

impl Transition {
    /// The state after the event (the stored state unless `Applied`).
    pub fn state(&self) -> OrderStatus {
        match *self {
            Transition::Applied { to, .. } => to,
            Transition::Duplicate(s) => s,
            Transition::Stale { current, .. } => current,
        }
    }
}

/// Whether `to` is strictly above `from` in the state order, i.e. whether an
/// order may move from `from` to `to`.
pub fn can_transition(from: OrderStatus, to: OrderStatus) -> bool {
    use OrderStatus::*;
    match from {
        // Anything the gateway reports about a pending order is news.
        Pending => to != Pending,
        // Money (or its revocation) reported for an attempt we believed dead.
        Closed | Failed => matches!(to, Paid | PartiallyRefunded | Refunded | Revoked),
        Paid => matches!(to, PartiallyRefunded | Refunded | Revoked),
        // The gateway revokes a partly refunded order too (returning the rest).
        PartiallyRefunded => matches!(to, Refunded | Revoked),
        Revoked | Refunded => false,
    }
}

/// The states an order may move to `to` from (those `can_transition`
/// allows), for a write that applies `to` in one conditional statement
/// (`UPDATE … WHERE state IN (…)`): the list comes from this table, so the
/// SQL never restates the rules.
pub fn sources(to: OrderStatus) -> impl Iterator<Item = OrderStatus> {
    OrderStatus::ALL
        .into_iter()
        .filter(move |&from| can_transition(from, to))
}

/// Apply an event to the stored state; monotone and idempotent.
pub fn apply(current: OrderStatus, event: OrderStatus) -> Transition {
    if current == event {
        Transition::Duplicate(current)
    } else if can_transition(current, event) {
        Transition::Applied {
            from: current,
            to: event,
        }
    } else {
        Transition::Stale { current, event }
    }
}

/// The status of a paid order given how much of it has been refunded:
/// `Paid` with nothing refunded, `Refunded` once the total reaches the paid
/// amount, `PartiallyRefunded` in between.
pub fn after_refund(paid: Fen, refunded_total: Fen) -> OrderStatus {
    if refunded_total == Fen::ZERO {
        OrderStatus::Paid
    } else if refunded_total >= paid {
        OrderStatus::Refunded
    } else {
        OrderStatus::PartiallyRefunded
    }
}

/// Check a refund request before calling the gateway (API.md: "refunds above
/// the paid amount → 400 `REFUND_EXCEEDS` without calling the gateway") and
/// return the status the order will have once the refund succeeds.
///
/// `refunded_total` is what has been refunded already; `amount` comes from
/// [`crate::amount::parse_api_amount`], so it is above zero.
pub fn check_refund(
    current: OrderStatus,
    paid: Fen,
    refunded_total: Fen,
    amount: Fen,
) -> Result<OrderStatus, Error> {
    if !matches!(current, OrderStatus::Paid | OrderStatus::PartiallyRefunded) {
        return Err(Error::NotRefundable { status: current });
    }
    let refundable = paid.checked_sub(refunded_total).unwrap_or(Fen::ZERO);
    if amount > refundable {
        return Err(Error::RefundExceeds { refundable });
    }
    // amount <= refundable <= paid - refunded_total, so this cannot overflow.
    let total = refunded_total.checked_add(amount).unwrap_or(paid);
    Ok(after_refund(paid, total))
}

impl Transition {
    /// A short name for logs and stored notification outcomes.
    pub fn name(&self) -> &'static str {
        match self {
            Transition::Applied { .. } => "applied",
            Transition::Duplicate(_) => "duplicate",
            Transition::Stale { .. } => "stale",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_are_named_for_logs() {
        use OrderStatus::*;
        assert_eq!(apply(Pending, Paid).name(), "applied");
        assert_eq!(apply(Paid, Paid).name(), "duplicate");
        assert_eq!(apply(Paid, Pending).name(), "stale");
    }
    use OrderStatus::*;

    const ALL: [OrderStatus; 7] = [
        Pending,
        Paid,
        Closed,
        Revoked,
        Refunded,
        PartiallyRefunded,
        Failed,
    ];

    /// The allowed edges, written out by hand (not derived from the code).
    const ALLOWED: &[(OrderStatus, OrderStatus)] = &[
        (Pending, Paid),
        (Pending, Closed),
        (Pending, Revoked),
        (Pending, Failed),
        (Pending, PartiallyRefunded),
        (Pending, Refunded),
        (Paid, PartiallyRefunded),
        (Paid, Refunded),
        (Paid, Revoked),
        (PartiallyRefunded, Refunded),
        (PartiallyRefunded, Revoked),
        (Closed, Paid),
        (Closed, PartiallyRefunded),
        (Closed, Refunded),
        (Closed, Revoked),
        (Failed, Paid),
        (Failed, PartiallyRefunded),
        (Failed, Refunded),
        (Failed, Revoked),
    ];

    #[test]
    fn full_transition_table() {
        let mut applied = 0;
        for from in ALL {
            for to in ALL {
                let t = apply(from, to);
                let expected = if from == to {
                    Transition::Duplicate(from)
                } else if ALLOWED.contains(&(from, to)) {
                    applied += 1;
                    Transition::Applied { from, to }
                } else {
                    Transition::Stale {
                        current: from,
                        event: to,
                    }
                };
                assert_eq!(t, expected, "{from:?} + {to:?}");
                let changed = matches!(t, Transition::Applied { .. });
                assert_eq!(t.state(), if changed { to } else { from });
            }
        }
        assert_eq!(applied, ALLOWED.len());
    }

    /// The from-states of a one-statement transition are exactly the
    /// hand-written edges into the target, and every state is listed once.
    #[test]
    fn sources_are_the_edges_into_a_state() {
        assert_eq!(OrderStatus::ALL.len(), ALL.len());
        for s in ALL {
            assert!(OrderStatus::ALL.contains(&s), "{s:?}");
        }
        for to in ALL {
            let mut expected: Vec<_> = ALLOWED
                .iter()
                .filter(|(_, t)| *t == to)
                .map(|(from, _)| *from)
                .collect();
            let mut got: Vec<_> = sources(to).collect();
            expected.sort_by_key(|s| s.as_str());
            got.sort_by_key(|s| s.as_str());
            assert_eq!(got, expected, "{to:?}");
        }
        assert_eq!(sources(Pending).count(), 0);
        assert_eq!(sources(Paid).collect::<Vec<_>>(), [Pending, Closed, Failed]);
    }

    #[test]
    fn duplicates_change_nothing() {
        for s in ALL {
            let t = apply(s, s);
            assert_eq!(t, Transition::Duplicate(s));
            assert_eq!(t.state(), s);
        }
    }

    #[test]
    fn only_revoked_and_refunded_are_terminal() {
        for s in ALL {
            let has_exit = ALL.iter().any(|&to| can_transition(s, to));
            assert_eq!(!has_exit, matches!(s, Revoked | Refunded), "{s:?}");
        }
    }

    /// The order is a strict partial order: irreflexive, antisymmetric and
    /// transitive, so no sequence of events can cycle or go backwards.
    #[test]
    fn order_is_a_strict_partial_order() {
        for a in ALL {
            assert!(!can_transition(a, a));
            for b in ALL {
                assert!(
                    !(can_transition(a, b) && can_transition(b, a)),
                    "{a:?} {b:?}"
                );
                for c in ALL {
                    if can_transition(a, b) && can_transition(b, c) {
                        assert!(can_transition(a, c), "{a:?} -> {b:?} -> {c:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn out_of_order_delivery_converges() {
        // A late "pending" query answer and a redelivered "paid" notification
        // after a refund leave the refund in place.
        let mut s = Pending;
        for event in [
            Paid,
            Pending,
            Paid,
            PartiallyRefunded,
            Paid,
            Pending,
            Refunded,
            PartiallyRefunded,
        ] {
            s = apply(s, event).state();
        }
        assert_eq!(s, Refunded);
        // Any permutation of the same events ends in the same (highest) state.
        let events = [Paid, PartiallyRefunded, Refunded, Pending];
        let mut perm = events;
        for i in 0..24usize {
            // Walk all 24 permutations by Heap-free index decoding.
            let mut pool: Vec<_> = events.to_vec();
            let mut k = i;
            for (slot, n) in perm.iter_mut().zip((1..=4).rev()) {
                *slot = pool.remove(k % n);
                k /= n;
            }
            let end = perm.iter().fold(Pending, |s, &e| apply(s, e).state());
            assert_eq!(end, Refunded, "{perm:?}");
        }
        // A paid order never closes or fails; money on a closed or failed
        // attempt is recorded; a revoked one is never paid again.
        assert_eq!(apply(Paid, Closed).state(), Paid);
        assert_eq!(apply(Paid, Failed).state(), Paid);
        assert_eq!(apply(Closed, Paid).state(), Paid);
        assert_eq!(apply(Failed, Paid).state(), Paid);
        assert_eq!(apply(Revoked, Paid).state(), Revoked);
        assert_eq!(apply(PartiallyRefunded, Revoked).state(), Revoked);
        assert_eq!(apply(Refunded, Revoked).state(), Refunded);
    }

    #[test]
    fn refund_totals() {
        let paid = Fen::from_fen(1000);
        assert_eq!(after_refund(paid, Fen::ZERO), Paid);
        assert_eq!(after_refund(paid, Fen::from_fen(1)), PartiallyRefunded);
        assert_eq!(after_refund(paid, Fen::from_fen(999)), PartiallyRefunded);
        assert_eq!(after_refund(paid, Fen::from_fen(1000)), Refunded);
        assert_eq!(after_refund(paid, Fen::from_fen(1001)), Refunded);
    }

    #[test]
    fn refund_checks() {
        let paid = Fen::from_fen(1000);
        let f = Fen::from_fen;
        assert_eq!(check_refund(Paid, paid, f(0), f(1)), Ok(PartiallyRefunded));
        assert_eq!(check_refund(Paid, paid, f(0), f(1000)), Ok(Refunded));
        assert_eq!(
            check_refund(PartiallyRefunded, paid, f(400), f(600)),
            Ok(Refunded)
        );
        assert_eq!(
            check_refund(PartiallyRefunded, paid, f(400), f(599)),
            Ok(PartiallyRefunded)
        );
        assert_eq!(
            check_refund(PartiallyRefunded, paid, f(400), f(601)),
            Err(Error::RefundExceeds { refundable: f(600) })
        );
        assert_eq!(
            check_refund(Paid, paid, f(0), f(1001)),
            Err(Error::RefundExceeds {
                refundable: f(1000)
            })
        );
        // Inconsistent store (refunded more than paid) refuses, never underflows.
        assert_eq!(
            check_refund(PartiallyRefunded, paid, f(2000), f(1)),
            Err(Error::RefundExceeds { refundable: f(0) })
        );
        for s in [Pending, Closed, Revoked, Refunded, Failed] {
            assert_eq!(
                check_refund(s, paid, f(0), f(1)),
                Err(Error::NotRefundable { status: s })
            );
        }
    }
}
