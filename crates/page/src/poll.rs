//! The order-status polling policy, as pure functions.
//!
//! The page asks `GET /api/orders/{code}` quickly at first (a wallet result
//! usually arrives within seconds of the notification), then backs off so a
//! shopper who leaves a QR code open does not hammer the Worker.

use checkout::api::OrderStatus;

/// Delays between polls, in milliseconds; the last one repeats.
const SCHEDULE_MS: [u32; 7] = [1_000, 1_000, 1_500, 2_000, 3_000, 4_000, 5_000];

/// How many polls before the page stops on its own and offers "Check again"
/// (about 15 minutes at the capped delay).
pub const MAX_POLLS: u32 = 180;

/// Delay before poll number `attempt + 1` (attempt 0 is the first wait).
pub fn delay_ms(attempt: u32) -> u32 {
    let last = SCHEDULE_MS.len() - 1;
    SCHEDULE_MS[(attempt as usize).min(last)]
}

/// What the shopper should see for an order state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Not decided yet: keep polling.
    Waiting,
    /// Paid (possibly refunded later, see the state).
    Paid,
    /// Paid, then refunded fully or partly.
    Refunded,
    /// The gateway said it failed.
    Failed,
    /// Closed or revoked before being paid.
    Closed,
}

impl Verdict {
    /// The verdict of an order state from the Worker.
    pub fn of(state: OrderStatus) -> Verdict {
        match state {
            OrderStatus::Pending => Verdict::Waiting,
            OrderStatus::Paid => Verdict::Paid,
            OrderStatus::Refunded | OrderStatus::PartiallyRefunded => Verdict::Refunded,
            OrderStatus::Failed => Verdict::Failed,
            OrderStatus::Closed | OrderStatus::Revoked => Verdict::Closed,
        }
    }

    /// Whether polling stops here.
    pub fn is_final(self) -> bool {
        self != Verdict::Waiting
    }

    /// Whether the shopper may start a new attempt from this screen.
    pub fn offers_pay_again(self) -> bool {
        matches!(self, Verdict::Failed | Verdict::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_backs_off_and_caps() {
        let delays: Vec<u32> = (0..10).map(delay_ms).collect();
        assert_eq!(delays[0], 1_000);
        assert!(delays.windows(2).all(|w| w[0] <= w[1]), "{delays:?}");
        assert_eq!(delay_ms(6), 5_000);
        assert_eq!(delay_ms(u32::MAX), 5_000);
        let total: u64 = (0..MAX_POLLS).map(|a| u64::from(delay_ms(a))).sum();
        assert!((10 * 60_000..=20 * 60_000).contains(&total), "{total}");
    }

    #[test]
    fn verdicts() {
        assert_eq!(Verdict::of(OrderStatus::Pending), Verdict::Waiting);
        assert!(!Verdict::Waiting.is_final());
        assert_eq!(Verdict::of(OrderStatus::Paid), Verdict::Paid);
        assert_eq!(Verdict::of(OrderStatus::Refunded), Verdict::Refunded);
        assert_eq!(
            Verdict::of(OrderStatus::PartiallyRefunded),
            Verdict::Refunded
        );
        assert_eq!(Verdict::of(OrderStatus::Failed), Verdict::Failed);
        assert_eq!(Verdict::of(OrderStatus::Closed), Verdict::Closed);
        assert_eq!(Verdict::of(OrderStatus::Revoked), Verdict::Closed);
        assert!(Verdict::Failed.offers_pay_again() && Verdict::Closed.offers_pay_again());
        assert!(!Verdict::Paid.offers_pay_again() && !Verdict::Refunded.offers_pay_again());
    }
}
