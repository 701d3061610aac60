//! Pure formatting of what the shopper reads: money and time left.
//!
//! Money stays integer fen until this last step; the yuan string comes from
//! `soushou::Fen::to_yuan`, so the page shows exactly what the Worker charges.

use soushou::Fen;

use crate::api::{CheckoutView, LinkState};

/// An amount in fen as the page shows it: `¥` and two decimals (`1250` → `¥12.50`).
pub fn yuan(fen: Fen) -> String {
    format!("¥{}", fen.to_yuan())
}

/// A goods line's unit price. The API gives it as a yuan string; it is
/// re-read as fen (so `"2"` shows as `¥2.00`) and shown as given if the
/// Worker ever sent something that is not an amount.
pub fn goods_price(price: &str) -> String {
    match crate::amount::parse_api_amount(price) {
        Ok(fen) => yuan(fen),
        Err(_) => format!("¥{price}"),
    }
}

/// How long a link stays payable, coarse enough to read at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeLeft {
    /// The expiry has passed.
    Expired,
    /// Less than an hour: whole minutes, at least 1.
    Minutes(u64),
    /// Less than a day: hours and minutes.
    Hours(u64, u64),
    /// A day or more: days and hours.
    Days(u64, u64),
}

/// Time left until `expires_at` at `now` (both unix seconds).
pub fn time_left(expires_at: u64, now: u64) -> TimeLeft {
    if expires_at <= now {
        return TimeLeft::Expired;
    }
    let secs = expires_at - now;
    let minutes = secs.div_ceil(60);
    match minutes {
        0..60 => TimeLeft::Minutes(minutes.max(1)),
        60..1440 => TimeLeft::Hours(minutes / 60, minutes % 60),
        _ => TimeLeft::Days(minutes / 1440, (minutes % 1440) / 60),
    }
}

/// The big amount of a link's summary: an open-amount link not paid shows
/// its bounds (`¥1.00 – ¥500.00`; the shopper types the amount), a paid one
/// its kept attempt's amount; a fixed link its amount.
pub fn link_amount(view: &CheckoutView) -> String {
    match &view.open_amount {
        Some(b) if view.state != LinkState::Paid => format!(
            "{} – {}",
            yuan(Fen::from_fen(b.min_amount_fen)),
            yuan(Fen::from_fen(b.max_amount_fen))
        ),
        _ => yuan(view.money.fen()),
    }
}

/// Beijing time's offset east of UTC (China has one zone, no summer
/// time): the CSV exports' times and the statements' days.
pub const BEIJING_OFFSET_SECS: u64 = 8 * 3600;

/// A calendar date and time of day (proleptic Gregorian, no leap seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    /// Year, e.g. 2026.
    pub year: u64,
    /// Month, 1–12.
    pub month: u64,
    /// Day of the month, 1–31.
    pub day: u64,
    /// Hour, 0–23.
    pub hour: u64,
    /// Minute, 0–59.
    pub minute: u64,
    /// Second, 0–59.
    pub second: u64,
}

/// Unix seconds as a calendar date and time in the zone `offset_secs` east
/// of UTC. One implementation for every timestamp the crate writes (Standard
/// Webhooks' RFC 3339 in UTC, Alipay's China time), so none drifts.
pub fn civil(unix_secs: u64, offset_secs: u64) -> Civil {
    let secs = unix_secs + offset_secs;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days for days since 1970-01-01, unsigned:
    // no date before the epoch reaches here.
    let z = days + 719_468;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    Civil {
        year: yoe + era * 400 + u64::from(month <= 2),
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_is_exact_with_two_decimals() {
        assert_eq!(yuan(Fen::from_fen(1250)), "¥12.50");
        assert_eq!(yuan(Fen::from_fen(1)), "¥0.01");
        assert_eq!(yuan(Fen::from_fen(100)), "¥1.00");
        assert_eq!(yuan(Fen::from_fen(1_000_000_000)), "¥10000000.00");
        // Values that are not representable in binary floating point stay exact.
        assert_eq!(yuan(Fen::from_fen(1999)), "¥19.99");
    }

    #[test]
    fn goods_price_is_normalised() {
        assert_eq!(goods_price("2"), "¥2.00");
        assert_eq!(goods_price("2.5"), "¥2.50");
        assert_eq!(goods_price("0.01"), "¥0.01");
    }

    #[test]
    fn time_left_buckets() {
        assert_eq!(time_left(100, 100), TimeLeft::Expired);
        assert_eq!(time_left(100, 200), TimeLeft::Expired);
        assert_eq!(time_left(101, 100), TimeLeft::Minutes(1));
        assert_eq!(time_left(100 + 59 * 60, 100), TimeLeft::Minutes(59));
        assert_eq!(time_left(100 + 3600, 100), TimeLeft::Hours(1, 0));
        assert_eq!(time_left(100 + 86_399, 100), TimeLeft::Days(1, 0));
        assert_eq!(time_left(100 + 86_340, 100), TimeLeft::Hours(23, 59));
        assert_eq!(
            time_left(100 + 2 * 86_400 + 3 * 3600, 100),
            TimeLeft::Days(2, 3)
        );
    }
}
