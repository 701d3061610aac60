//! Amounts as the merchant API writes them: yuan strings.
//!
//! API.md: "`amount` is a yuan string with at most two decimals; anything
//! else (negative, zero, more decimals, exponent, > 10,000,000.00) is a 400
//! `INVALID_AMOUNT`." This parser is deliberately stricter than the
//! gateway's tolerant wire reader in `soushou`: merchants' input is validated
//! once, here, and turned into integer [`Fen`] before anything else sees it.
//! No floating point is involved at any step.

use soushou::Fen;

use crate::error::Error;

/// The largest amount the API accepts: 10,000,000.00 yuan.
pub const MAX_AMOUNT: Fen = Fen::from_fen(10_000_000 * 100);

/// Parse an API amount (`"12.50"`, `"12.5"`, `"12"`) into [`Fen`].
///
/// Accepted: ASCII digits, optionally followed by `.` and one or two digits;
/// the value must be above zero and at most [`MAX_AMOUNT`]. Everything else
/// (sign, exponent, whitespace, separators, `.5`, `5.`, `NaN`, full-width
/// digits) is [`Error::InvalidAmount`] with a reason the merchant can act on.
pub fn parse_api_amount(s: &str) -> Result<Fen, Error> {
    let invalid = |reason| Err(Error::InvalidAmount { reason });
    if s.is_empty() {
        return invalid("empty");
    }
    if s.starts_with('-') {
        return invalid("negative");
    }
    if s.contains(['e', 'E']) {
        return invalid("exponent notation is not allowed");
    }
    let (int, frac) = match s.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (s, None),
    };
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return invalid("not a yuan amount like 12.50");
    }
    let frac_fen = match frac {
        None => 0,
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return invalid("not a yuan amount like 12.50");
        }
        Some(f) if f.len() > 2 => return invalid("more than two decimals"),
        Some(f) => {
            // "5" means 50 fen, "05" means 5 fen.
            let digits: u64 = f.parse().map_err(|_| Error::InvalidAmount {
                reason: "not a yuan amount like 12.50",
            })?;
            if f.len() == 1 {
                digits * 10
            } else {
                digits
            }
        }
    };
    // Leading zeros are harmless ("007.50" is 7.50); strip them so the
    // length check below bounds the magnitude, not the spelling.
    let int = int.trim_start_matches('0');
    if int.len() > 8 {
        return invalid("above the maximum of 10000000.00");
    }
    let yuan: u64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| Error::InvalidAmount {
            reason: "not a yuan amount like 12.50",
        })?
    };
    let fen = Fen::from_fen(yuan * 100 + frac_fen);
    if fen == Fen::ZERO {
        return invalid("zero");
    }
    if fen > MAX_AMOUNT {
        return invalid("above the maximum of 10000000.00");
    }
    Ok(fen)
}

/// Parse a shopper's amount for an open-amount link: an API amount
/// ([`parse_api_amount`]: > 0, at most two decimals, no garbage) within
/// `[min, max]`. The Worker decides with it; the page calls it too, only to
/// tell the shopper before a round trip.
pub fn parse_in_range(s: &str, min: Fen, max: Fen) -> Result<Fen, Error> {
    let fen = parse_api_amount(s.trim())?;
    if fen < min || fen > max {
        return Err(Error::AmountOutOfRange { min, max });
    }
    Ok(fen)
}

/// The bounds of an open-amount link from the merchant's `min_amount` and
/// `max_amount`: both API amounts, `min <= max`.
pub fn parse_bounds(min: &str, max: &str) -> Result<(Fen, Fen), Error> {
    let (min, max) = (parse_api_amount(min)?, parse_api_amount(max)?);
    if min > max {
        return Err(Error::InvalidAmount {
            reason: "min_amount is above max_amount",
        });
    }
    Ok((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> u64 {
        parse_api_amount(s)
            .unwrap_or_else(|e| panic!("{s:?} rejected: {e}"))
            .fen()
    }

    fn reason(s: &str) -> &'static str {
        match parse_api_amount(s) {
            Err(Error::InvalidAmount { reason }) => reason,
            other => panic!("{s:?} gave {other:?}"),
        }
    }

    #[test]
    fn accepts_yuan_with_up_to_two_decimals() {
        assert_eq!(ok("12.50"), 1250);
        assert_eq!(ok("12.5"), 1250);
        assert_eq!(ok("12"), 1200);
        assert_eq!(ok("0.01"), 1);
        assert_eq!(ok("0.1"), 10);
        assert_eq!(ok("0.10"), 10);
        assert_eq!(ok("1.05"), 105);
        assert_eq!(ok("007.50"), 750);
        assert_eq!(ok("10000000.00"), 10_000_000 * 100);
        assert_eq!(ok("10000000"), 10_000_000 * 100);
        assert_eq!(ok("9999999.99"), 999_999_999);
        assert_eq!(ok("0000000000000000000000001.00"), 100);
    }

    #[test]
    fn rejects_zero_and_negative() {
        assert_eq!(reason("0"), "zero");
        assert_eq!(reason("0.00"), "zero");
        assert_eq!(reason("0.0"), "zero");
        assert_eq!(reason("000"), "zero");
        assert_eq!(reason("-1"), "negative");
        assert_eq!(reason("-0.01"), "negative");
        assert_eq!(reason("-0"), "negative");
    }

    #[test]
    fn rejects_more_decimals_and_exponents() {
        assert_eq!(reason("1.001"), "more than two decimals");
        assert_eq!(reason("0.005"), "more than two decimals");
        assert_eq!(reason("12.500"), "more than two decimals");
        assert_eq!(reason("1e3"), "exponent notation is not allowed");
        assert_eq!(reason("1E3"), "exponent notation is not allowed");
        assert_eq!(reason("1.5e-1"), "exponent notation is not allowed");
    }

    #[test]
    fn rejects_above_maximum_without_overflow() {
        assert_eq!(reason("10000000.01"), "above the maximum of 10000000.00");
        assert_eq!(reason("10000001"), "above the maximum of 10000000.00");
        assert_eq!(reason("99999999.99"), "above the maximum of 10000000.00");
        assert_eq!(
            reason("18446744073709551616"),
            "above the maximum of 10000000.00"
        );
        assert_eq!(reason(&"9".repeat(400)), "above the maximum of 10000000.00");
    }

    #[test]
    fn rejects_everything_else() {
        for s in [
            "", " ", " 1", "1 ", "+1", "1.", ".5", "1..2", "1.2.3", "1,00", "1_000", "NaN", "inf",
            "Infinity", "0x10", "¥1", "1元", "１２", "1.-5", "1.+5", "--1", "1.5 ", "\u{0}",
        ] {
            assert!(
                matches!(parse_api_amount(s), Err(Error::InvalidAmount { .. })),
                "{s:?} accepted"
            );
        }
        assert_eq!(reason(""), "empty");
    }

    #[test]
    fn max_amount_is_ten_million_yuan() {
        assert_eq!(MAX_AMOUNT.fen(), 1_000_000_000);
        assert_eq!(MAX_AMOUNT.to_yuan(), "10000000.00");
    }

    proptest::proptest! {
        #[test]
        fn formatted_fen_parses_back(fen in 1u64..=1_000_000_000) {
            let f = Fen::from_fen(fen);
            proptest::prop_assert_eq!(parse_api_amount(&f.to_yuan()), Ok(f));
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = parse_api_amount(&s);
        }

        #[test]
        fn accepted_amounts_are_in_range(s in "[0-9]{0,10}(\\.[0-9]{0,3})?") {
            if let Ok(f) = parse_api_amount(&s) {
                proptest::prop_assert!(f > Fen::ZERO && f <= MAX_AMOUNT);
            }
        }
    }

    #[test]
    fn shopper_amount_within_bounds() {
        let (min, max) = (Fen::from_fen(100), Fen::from_fen(50_000));
        let out = Err(Error::AmountOutOfRange { min, max });
        let cases: &[(&str, Result<u64, Error>)] = &[
            ("1", Ok(100)),
            ("1.00", Ok(100)),
            ("500", Ok(50_000)),
            ("499.99", Ok(49_999)),
            ("12.5", Ok(1250)),
            (" 12.34 ", Ok(1234)),
            ("0.99", out.clone()),
            ("500.01", out.clone()),
            ("9999999", out.clone()),
            ("0", Err(Error::InvalidAmount { reason: "zero" })),
            (
                "1.234",
                Err(Error::InvalidAmount {
                    reason: "more than two decimals",
                }),
            ),
            (
                "abc",
                Err(Error::InvalidAmount {
                    reason: "not a yuan amount like 12.50",
                }),
            ),
            ("", Err(Error::InvalidAmount { reason: "empty" })),
            ("-5", Err(Error::InvalidAmount { reason: "negative" })),
        ];
        for (s, want) in cases {
            let got = parse_in_range(s, min, max).map(Fen::fen);
            assert_eq!(&got, want, "{s:?}");
        }
    }

    #[test]
    fn bounds_need_min_at_most_max() {
        assert_eq!(
            parse_bounds("1", "500"),
            Ok((Fen::from_fen(100), Fen::from_fen(50_000)))
        );
        assert_eq!(
            parse_bounds("5", "5"),
            Ok((Fen::from_fen(500), Fen::from_fen(500)))
        );
        assert_eq!(
            parse_bounds("5.01", "5"),
            Err(Error::InvalidAmount {
                reason: "min_amount is above max_amount"
            })
        );
        assert_eq!(
            parse_bounds("0", "5"),
            Err(Error::InvalidAmount { reason: "zero" })
        );
        assert_eq!(
            parse_bounds("1", "10000000.01"),
            Err(Error::InvalidAmount {
                reason: "above the maximum of 10000000.00"
            })
        );
        assert_eq!(
            parse_bounds("1", "2.001"),
            Err(Error::InvalidAmount {
                reason: "more than two decimals"
            })
        );
    }
}
