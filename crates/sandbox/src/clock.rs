//! Wall-clock stamps in the gateway's own format.
//!
//! The gateway runs in China (UTC+8, no daylight saving) and prints times as
//! `YYYY-MM-DD HH:MM:SS`; its serial numbers start with the local date. The
//! store takes a [`Stamp`] as a parameter so its logic stays pure.

use std::time::{SystemTime, UNIX_EPOCH};

/// The gateway's fixed offset from UTC, in seconds.
const CHINA_OFFSET_SECS: i64 = 8 * 3600;

/// A point in time, in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// Milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

impl Stamp {
    /// The current time.
    pub fn now() -> Stamp {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Stamp { unix_ms }
    }

    /// `YYYY-MM-DD HH:MM:SS` in China time, as in `BEGIN_TIME`.
    pub fn gateway_time(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }

    /// `YYYYMMDD` in China time, the prefix of serial numbers.
    pub fn date8(self) -> String {
        let (y, mo, d, ..) = self.civil();
        format!("{y:04}{mo:02}{d:02}")
    }

    /// `YYYYMMDDHHMMSS` in China time (WeChat prepay ids embed it).
    pub fn datetime14(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
    }

    /// This stamp plus `ms` milliseconds.
    pub fn plus_ms(self, ms: u64) -> Stamp {
        Stamp {
            unix_ms: self.unix_ms.saturating_add(ms),
        }
    }

    fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let secs = (self.unix_ms / 1000) as i64 + CHINA_OFFSET_SECS;
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's days-to-civil algorithm.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = yoe + era * 400 + i64::from(m <= 2);
        (
            y,
            m,
            d,
            (rem / 3600) as u32,
            ((rem % 3600) / 60) as u32,
            (rem % 60) as u32,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_china_time() {
        // 2015-10-14 04:43:14 +08:00 == 2015-10-13T20:43:14Z == 1444768994
        let s = Stamp {
            unix_ms: 1_444_768_994_000,
        };
        assert_eq!(s.gateway_time(), "2015-10-14 04:43:14");
        assert_eq!(s.date8(), "20151014");
        assert_eq!(s.datetime14(), "20151014044314");
        let leap = Stamp {
            unix_ms: 1_709_164_800_000, // 2024-02-29T00:00:00Z
        };
        assert_eq!(leap.gateway_time(), "2024-02-29 08:00:00");
    }
}
