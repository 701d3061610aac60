//! Daily statements (contract v1.1 "Statements and exports"), pure: the
//! Beijing day, which days are due, a statement's figures from the day's
//! money movements, and when a later build is a new revision.
//!
//! **What a day holds** (the money the merchant's bank settles):
//! - a *payment*: an order whose money arrived in the day (`paid_at`) and
//!   was not given back by a revocation (state paid, partially refunded
//!   or refunded; a revoked order's money never reached the merchant);
//!   duplicate payments included — the money did arrive;
//! - a *refund*: a refund that succeeded in the day (its settlement time),
//!   the merchant's own;
//! - a *duplicate refund*: the Worker's refund of a duplicate payment
//!   (`settle::duplicate_refund_try`), apart so the merchant sees it.
//!
//! `net_fen = payments − refunds − duplicate_refunds` (signed: a day of
//! refunds only is negative), per channel and in total.
//!
//! **Invariants**, held by [`figures`] and its property test: each total
//! equals the sum of its channel rows, and each channel row equals the sum
//! of the movements of that channel; nothing is counted twice or lost.
//!
//! **Never rewritten silently**: a statement is stored by revision; a build
//! whose figures equal the latest revision's writes nothing, one that
//! differs is revision n+1 with a reason naming what changed
//! ([`revise`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use soushou::Fen;

use crate::format::{civil, BEIJING_OFFSET_SECS};
use crate::list::Channel;
use crate::vocab::OrderStatus;
use soushou::types::OrderState;

/// The time zone every statement is in.
pub const TIMEZONE: &str = "Asia/Shanghai";

const DAY_SECS: u64 = 86_400;

/// A Beijing calendar day, as days since 1970-01-01 (Beijing).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(u64);

impl Day {
    /// The day an instant falls in.
    pub fn of(unix: u64) -> Day {
        Day((unix + BEIJING_OFFSET_SECS) / DAY_SECS)
    }

    /// Its first second (00:00 Beijing) in unix seconds.
    pub fn start(self) -> u64 {
        (self.0 * DAY_SECS).saturating_sub(BEIJING_OFFSET_SECS)
    }

    /// The first second after it.
    pub fn end(self) -> u64 {
        self.start() + DAY_SECS
    }

    /// The day before.
    pub fn prev(self) -> Day {
        Day(self.0.saturating_sub(1))
    }

    /// `YYYY-MM-DD` (from 1970-01-02 on: the first day has no start in
    /// unix seconds).
    pub fn parse(s: &str) -> Option<Day> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u64> {
            let t = &s[r];
            t.bytes()
                .all(|c| c.is_ascii_digit())
                .then(|| t.parse().ok())?
        };
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if !(1970..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
            return None;
        }
        // Howard Hinnant's days_from_civil (inverse of format::civil).
        let (yy, mm) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era = yy / 400;
        let yoe = yy - era * 400;
        let doy = (153 * mm + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let day = Day((era * 146_097 + doe).checked_sub(719_468)?);
        // Refuses 2026-02-30: it would format as another date.
        (day.to_string() == s && day.0 > 0).then_some(day)
    }
}

impl std::fmt::Display for Day {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = civil(self.0 * DAY_SECS, 0);
        write!(f, "{:04}-{:02}-{:02}", c.year, c.month, c.day)
    }
}

/// The days a cron run at `now` looks at: the `back` latest days that
/// ended at least `delay` seconds ago (negative in tests: the current
/// day counts as ended), oldest first.
pub fn due_days(now: u64, delay: i64, back: u32) -> Vec<Day> {
    let ended_before = (now as i64).saturating_sub(delay).max(0) as u64;
    // The last day whose end is at or before `ended_before`.
    let last = Day::of(ended_before).prev();
    let mut days: Vec<Day> = (0..u64::from(back))
        .filter_map(|i| last.0.checked_sub(i).map(Day))
        .filter(|d| d.0 > 0)
        .collect();
    days.reverse();
    days
}

/// The statements `GET /v1/statements?from&to` lists: both days
/// inclusive; `to` defaults to the day before `now`'s, `from` to 30 days
/// before `to`; at most 366 days.
pub fn range(from: Option<&str>, to: Option<&str>, now: u64) -> Result<(Day, Day), crate::Error> {
    let bad = |field: &'static str| crate::Error::InvalidRequest {
        field,
        reason: "must be a date YYYY-MM-DD",
    };
    let to = match to {
        Some(s) => Day::parse(s).ok_or(bad("to"))?,
        None => Day::of(now).prev(),
    };
    let from = match from {
        Some(s) => Day::parse(s).ok_or(bad("from"))?,
        None => Day(to.0.saturating_sub(30).max(1)),
    };
    if from > to {
        return Err(crate::Error::InvalidRequest {
            field: "from",
            reason: "must not be after to",
        });
    }
    if to.0 - from.0 >= 366 {
        return Err(crate::Error::InvalidRequest {
            field: "from",
            reason: "at most 366 days from to",
        });
    }
    Ok((from, to))
}

/// What a refund is in a statement: a duplicate payment's refund, or the
/// merchant's.
pub fn refund_movement(charge_code: &str, out_refund_no: &str) -> Movement {
    match crate::settle::duplicate_refund_try(charge_code, out_refund_no) {
        Some(_) => Movement::DuplicateRefund,
        None => Movement::Refund,
    }
}

/// What a money movement is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Movement {
    /// Money in.
    Payment,
    /// The merchant's refund.
    Refund,
    /// The refund of a duplicate payment.
    DuplicateRefund,
}

/// Movements of one kind and channel: one movement (`count` 1), or a
/// group the store summed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Group {
    /// What moved.
    pub movement: Movement,
    /// Through which wallet.
    pub channel: Channel,
    /// How many.
    pub count: u64,
    /// How much, in total.
    pub amount: Fen,
}

/// A count and a sum.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    /// How many.
    pub count: u64,
    /// In fen.
    pub amount_fen: u64,
}

impl Totals {
    fn add(&mut self, count: u64, fen: u64) {
        self.count += count;
        self.amount_fen += fen;
    }
}

/// The figures of one channel, or of the day.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Figures {
    /// Money in.
    pub payments: Totals,
    /// The merchant's refunds.
    pub refunds: Totals,
    /// Refunds of duplicate payments.
    pub duplicate_refunds: Totals,
    /// `payments − refunds − duplicate_refunds`, in fen.
    pub net_fen: i64,
}

impl Figures {
    fn add(&mut self, g: &Group) {
        let fen = g.amount.fen();
        match g.movement {
            Movement::Payment => self.payments.add(g.count, fen),
            Movement::Refund => self.refunds.add(g.count, fen),
            Movement::DuplicateRefund => self.duplicate_refunds.add(g.count, fen),
        }
        self.net_fen = self.payments.amount_fen as i64
            - self.refunds.amount_fen as i64
            - self.duplicate_refunds.amount_fen as i64;
    }
}

/// An order whose state the Worker and the gateway still disagree on
/// after settling (a query that failed, or an answer it could not apply).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Difference {
    /// The order.
    pub charge_code: String,
    /// The Worker's state.
    pub ours: String,
    /// The gateway's, or why it is not known.
    pub gateway: String,
}

/// Whether an order of the day that was pending when the build began
/// still disagrees with the gateway after the build queried it: `ours` is
/// its state after the query, `gateway` the state the query answered, or
/// the error code of a query that failed. An order pending on both sides
/// (a shopper who never paid) agrees: it moved no money.
pub fn difference(
    charge_code: &str,
    ours: OrderStatus,
    gateway: Result<Option<OrderState>, &str>,
) -> Option<Difference> {
    let gateway = match gateway {
        // Settled meanwhile (the query's answer applied, or a notification).
        _ if ours != OrderStatus::Pending => return None,
        Ok(Some(OrderState::Pending)) => return None,
        Ok(Some(state)) => format!("state {}", state.code()),
        Ok(None) => "no state".to_owned(),
        Err(code) => format!("unknown ({code})"),
    };
    Some(Difference {
        charge_code: charge_code.to_owned(),
        ours: ours.as_str().to_owned(),
        gateway,
    })
}

/// What a statement says: the figures, per channel, and the differences.
/// Compared whole to tell whether a build is a new revision.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The day's totals.
    #[serde(flatten)]
    pub total: Figures,
    /// Per channel ([`Channel::as_str`]).
    pub by_channel: BTreeMap<String, Figures>,
    /// What still disagrees.
    pub differences: Vec<Difference>,
}

/// The summary of a day's movements and differences.
pub fn figures(groups: &[Group], mut differences: Vec<Difference>) -> Summary {
    let mut s = Summary::default();
    for g in groups {
        s.total.add(g);
        s.by_channel
            .entry(g.channel.as_str().to_owned())
            .or_default()
            .add(g);
    }
    differences.sort();
    s.differences = differences;
    s
}

/// `GET /v1/statements/{date}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// [`TIMEZONE`].
    pub timezone: String,
    /// 1, then one more per correction.
    pub revision: u32,
    /// Why this revision replaced the previous one (`None` for the first).
    pub reason: Option<String>,
    /// The figures.
    #[serde(flatten)]
    pub summary: Summary,
    /// Unix seconds of this revision.
    pub created_at: u64,
}

/// The revision a build makes, if any: the first, or the next with what
/// changed; `None` when the figures equal the latest revision's.
pub fn revise(latest: Option<&Statement>, new: &Summary) -> Option<(u32, Option<String>)> {
    match latest {
        None => Some((1, None)),
        Some(old) if old.summary == *new => None,
        Some(old) => Some((old.revision + 1, Some(reason(&old.summary, new)))),
    }
}

/// What changed between two summaries, in words.
fn reason(old: &Summary, new: &Summary) -> String {
    let mut parts = Vec::new();
    let pairs = [
        ("payments", old.total.payments, new.total.payments),
        ("refunds", old.total.refunds, new.total.refunds),
        (
            "duplicate_refunds",
            old.total.duplicate_refunds,
            new.total.duplicate_refunds,
        ),
    ];
    for (name, a, b) in pairs {
        if a != b {
            parts.push(format!(
                "{name} {} ({}) → {} ({})",
                a.count,
                Fen::from_fen(a.amount_fen).to_yuan(),
                b.count,
                Fen::from_fen(b.amount_fen).to_yuan()
            ));
        }
    }
    if old.differences != new.differences {
        parts.push(format!(
            "differences {} → {}",
            old.differences.len(),
            new.differences.len()
        ));
    }
    if parts.is_empty() {
        // Same totals, another split between channels.
        parts.push("figures per channel changed".into());
    }
    format!(
        "late changes after the previous revision: {}",
        parts.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn days() {
        for (s, start) in [
            ("1970-01-02", 57_600),
            ("2025-12-07", 1_765_036_800),
            ("2024-02-29", 1_709_136_000),
            ("2026-12-31", 1_798_646_400),
        ] {
            let d = Day::parse(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(d.start(), start, "{s}");
            assert_eq!(d.to_string(), s);
            assert_eq!(Day::of(start), d);
            assert_eq!(Day::of(start - 1), d.prev());
            assert_eq!(Day::of(d.end() - 1), d);
            assert_eq!(d.end() - d.start(), 86_400);
        }
        for bad in [
            "2025-2-07",
            "2025-02-30",
            "2023-02-29",
            "2025-13-01",
            "2025-00-10",
            "1970-01-01",
            "1969-12-31",
            "20251207",
            "2025-12-07x",
            "+025-12-07",
            "",
        ] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn due_days_table() {
        let d = Day::parse("2025-12-07").unwrap();
        // 00:05 Beijing on the 8th with a 10-minute delay: the 7th is not due yet.
        let now = d.end() + 300;
        assert_eq!(due_days(now, 600, 2), vec![d.prev().prev(), d.prev()]);
        assert_eq!(due_days(now + 300, 600, 2), vec![d.prev(), d]);
        assert_eq!(due_days(now + 300, 600, 1), vec![d]);
        // Tests: a delay of minus a day makes the current day due.
        assert_eq!(due_days(d.start() + 5, -86_400, 1), vec![d]);
        assert_eq!(due_days(100, 600, 3), vec![]);
    }

    fn g(movement: Movement, channel: Channel, count: u64, fen: u64) -> Group {
        Group {
            movement,
            channel,
            count,
            amount: Fen::from_fen(fen),
        }
    }

    #[test]
    fn a_day() {
        use Channel::*;
        use Movement::*;
        let s = figures(
            &[
                g(Payment, Wechat, 1, 1000),
                g(Payment, Alipay, 2, 550),
                g(Refund, Wechat, 1, 300),
                g(DuplicateRefund, Alipay, 1, 250),
                g(Payment, Wechat, 1, 1),
            ],
            vec![],
        );
        assert_eq!(
            s.total.payments,
            Totals {
                count: 4,
                amount_fen: 1551
            }
        );
        assert_eq!(
            s.total.refunds,
            Totals {
                count: 1,
                amount_fen: 300
            }
        );
        assert_eq!(s.total.net_fen, 1551 - 300 - 250);
        assert_eq!(s.by_channel["wechat"].net_fen, 701);
        assert_eq!(s.by_channel["alipay"].net_fen, 300);
        let refunds_only = figures(&[g(Refund, Wechat, 1, 300)], vec![]);
        assert_eq!(refunds_only.total.net_fen, -300);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["payments"]["amount_fen"], 1551);
        assert_eq!(
            json["by_channel"]["alipay"]["duplicate_refunds"]["count"],
            1
        );
        assert_eq!(json["differences"], serde_json::json!([]));
    }

    #[test]
    fn ranges() {
        let now = Day::parse("2025-12-07").unwrap().start() + 3600;
        let day = |s| Day::parse(s).unwrap();
        assert_eq!(
            range(None, None, now),
            Ok((day("2025-11-06"), day("2025-12-06")))
        );
        assert_eq!(
            range(Some("2025-12-01"), Some("2025-12-01"), now),
            Ok((day("2025-12-01"), day("2025-12-01")))
        );
        assert!(range(Some("2025-12-02"), Some("2025-12-01"), now).is_err());
        assert!(range(Some("2024-11-30"), Some("2025-12-01"), now).is_err());
        assert!(range(Some("2024-12-01"), Some("2025-12-01"), now).is_ok());
        assert!(range(Some("yesterday"), None, now).is_err());
        assert_eq!(refund_movement("C1", "dup-C1"), Movement::DuplicateRefund);
        assert_eq!(refund_movement("C1", "dup-C1-2"), Movement::DuplicateRefund);
        assert_eq!(refund_movement("C1", "dup-C2"), Movement::Refund);
        assert_eq!(refund_movement("C1", "R-1"), Movement::Refund);
    }

    #[test]
    fn differences() {
        use OrderStatus as S;
        let d = |ours, gw: Result<Option<OrderState>, &str>| {
            difference("C", ours, gw).map(|d| (d.ours, d.gateway))
        };
        assert_eq!(d(S::Pending, Ok(Some(OrderState::Pending))), None);
        assert_eq!(d(S::Paid, Ok(Some(OrderState::Paid))), None);
        assert_eq!(d(S::Closed, Ok(None)), None);
        assert_eq!(d(S::Paid, Err("GATEWAY_TIMEOUT")), None);
        assert_eq!(
            d(S::Pending, Ok(Some(OrderState::Paid))),
            Some(("pending".into(), "state 1".into()))
        );
        assert_eq!(
            d(S::Pending, Ok(None)),
            Some(("pending".into(), "no state".into()))
        );
        assert_eq!(
            d(S::Pending, Err("GATEWAY_TIMEOUT")),
            Some(("pending".into(), "unknown (GATEWAY_TIMEOUT)".into()))
        );
    }

    #[test]
    fn revisions() {
        let day = figures(&[g(Movement::Payment, Channel::Wechat, 1, 100)], vec![]);
        assert_eq!(revise(None, &day), Some((1, None)));
        let first = Statement {
            date: "2025-12-07".into(),
            timezone: TIMEZONE.into(),
            revision: 1,
            reason: None,
            summary: day.clone(),
            created_at: 1,
        };
        assert_eq!(revise(Some(&first), &day), None);
        let later = figures(
            &[g(Movement::Payment, Channel::Wechat, 2, 300)],
            vec![Difference {
                charge_code: "C".into(),
                ours: "pending".into(),
                gateway: "unknown".into(),
            }],
        );
        assert_eq!(
            revise(Some(&first), &later),
            Some((
                2,
                Some(
                    "late changes after the previous revision: payments 1 (1.00) → 2 (3.00); \
                     differences 0 → 1"
                        .into()
                )
            ))
        );
        let moved = figures(&[g(Movement::Payment, Channel::Alipay, 1, 100)], vec![]);
        assert_eq!(
            revise(Some(&first), &moved).unwrap().1.unwrap(),
            "late changes after the previous revision: figures per channel changed"
        );
        // A statement reads back as stored.
        let back: Statement =
            serde_json::from_str(&serde_json::to_string(&first).unwrap()).unwrap();
        assert_eq!(back, first);
    }

    fn movement() -> impl Strategy<Value = Group> {
        (0..3u8, 0..Channel::ALL.len(), 1..5u64, 1..10_000_000u64).prop_map(|(m, c, n, fen)| {
            let movement = [
                Movement::Payment,
                Movement::Refund,
                Movement::DuplicateRefund,
            ][m as usize];
            g(movement, Channel::ALL[c], n, fen)
        })
    }

    proptest! {
        /// Totals equal the sum of the rows: of the channel rows, and of
        /// the movements; in any order.
        #[test]
        fn totals_are_the_sum_of_the_rows(groups in prop::collection::vec(movement(), 0..200)) {
            let s = figures(&groups, vec![]);
            let mut sum = Figures::default();
            for f in s.by_channel.values() {
                sum.payments.add(f.payments.count, f.payments.amount_fen);
                sum.refunds.add(f.refunds.count, f.refunds.amount_fen);
                sum.duplicate_refunds.add(f.duplicate_refunds.count, f.duplicate_refunds.amount_fen);
                sum.net_fen += f.net_fen;
                prop_assert_eq!(
                    f.net_fen,
                    f.payments.amount_fen as i64 - f.refunds.amount_fen as i64
                        - f.duplicate_refunds.amount_fen as i64
                );
            }
            prop_assert_eq!(&sum, &s.total);
            for m in [Movement::Payment, Movement::Refund, Movement::DuplicateRefund] {
                let of = groups.iter().filter(|g| g.movement == m);
                let t = match m {
                    Movement::Payment => s.total.payments,
                    Movement::Refund => s.total.refunds,
                    Movement::DuplicateRefund => s.total.duplicate_refunds,
                };
                prop_assert_eq!(t.count, of.clone().map(|g| g.count).sum::<u64>());
                prop_assert_eq!(t.amount_fen, of.map(|g| g.amount.fen()).sum::<u64>());
            }
            let mut shuffled = groups.clone();
            shuffled.reverse();
            prop_assert_eq!(figures(&shuffled, vec![]), s);
        }
    }
}
