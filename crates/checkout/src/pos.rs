//! A POS charge (`preOrder`: the cashier scans the shopper's code) must end
//! in a known state before the cashier is answered, or the cashier charges
//! again.
//!
//! The gateway waits up to 80 s for the shopper to confirm (password,
//! limits) and then revokes an unpaid order on its own. The discipline is
//! the one WeChat Pay documents for its own scan-to-pay (micropay): call
//! with a timeout above the gateway's; on any unknown outcome (a timeout, an
//! outcome-unknown code, a pending state) poll `query` every few seconds for
//! up to about a minute; if the charge is still not settled, revoke it
//! (`cancelTrade`, real time) so no charge is left unknown; answer with the
//! charge code and the final state. [`next`] is the whole decision.

use crate::vocab::OrderStatus;

/// The polling discipline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PosPolicy {
    /// Pause between two `query` calls, ms.
    pub poll_interval_ms: u64,
    /// How long after the `preOrder` answer to keep polling, ms.
    pub poll_for_ms: u64,
}

impl Default for PosPolicy {
    /// 5 s apart for 60 s, as WeChat Pay advises for micropay.
    fn default() -> Self {
        PosPolicy {
            poll_interval_ms: 5_000,
            poll_for_ms: 60_000,
        }
    }
}

/// What the last call said about the charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Observed {
    /// A trusted state (from the `preOrder` answer or a `query`).
    State(OrderStatus),
    /// Nothing trustworthy: a fault, an outcome-unknown code, a silent or
    /// distrusted answer.
    Unknown,
}

/// The next step of a POS charge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PosStep {
    /// Settled: answer the cashier with this state.
    Done(OrderStatus),
    /// Wait this long, then `query`.
    Poll {
        /// Pause before the query, ms.
        after_ms: u64,
    },
    /// The polling window is over and the charge is still open: revoke it.
    Cancel,
}

/// Decides the next step from the last observation and the time spent
/// polling so far (`elapsed_ms` since the `preOrder` call returned).
pub fn next(policy: &PosPolicy, observed: Observed, elapsed_ms: u64) -> PosStep {
    match observed {
        Observed::State(OrderStatus::Pending) | Observed::Unknown => {
            if elapsed_ms.saturating_add(policy.poll_interval_ms) <= policy.poll_for_ms {
                PosStep::Poll {
                    after_ms: policy.poll_interval_ms,
                }
            } else {
                PosStep::Cancel
            }
        }
        Observed::State(settled) => PosStep::Done(settled),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OrderStatus::*;

    #[test]
    fn steps() {
        let p = PosPolicy::default();
        let poll = PosStep::Poll { after_ms: 5_000 };
        let cases = [
            (Observed::State(Paid), 0, PosStep::Done(Paid)),
            (Observed::State(Paid), 999_999, PosStep::Done(Paid)),
            (Observed::State(Revoked), 10, PosStep::Done(Revoked)),
            (Observed::State(Closed), 10, PosStep::Done(Closed)),
            (Observed::State(Failed), 10, PosStep::Done(Failed)),
            (Observed::State(Pending), 0, poll),
            (Observed::Unknown, 0, poll),
            (Observed::Unknown, 55_000, poll),
            (Observed::Unknown, 55_001, PosStep::Cancel),
            (Observed::State(Pending), 60_000, PosStep::Cancel),
        ];
        for (o, elapsed, want) in cases {
            assert_eq!(next(&p, o, elapsed), want, "{o:?} at {elapsed}");
        }
    }

    /// However the answers go, the charge ends settled or cancelled within
    /// the window plus one interval: never an endless poll.
    #[test]
    fn always_ends() {
        let p = PosPolicy {
            poll_interval_ms: 700,
            poll_for_ms: 6_000,
        };
        let mut elapsed = 0;
        let mut polls = 0;
        while let PosStep::Poll { after_ms } = next(&p, Observed::Unknown, elapsed) {
            elapsed += after_ms;
            polls += 1;
        }
        assert_eq!(next(&p, Observed::Unknown, elapsed), PosStep::Cancel);
        assert_eq!(polls, 6_000 / 700);
        assert!(elapsed <= p.poll_for_ms);
    }
}
