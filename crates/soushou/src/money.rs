//! Money as integer fen.
//!
//! The gateway mixes units: request amounts are yuan strings, response and
//! notification `AMT`/`REFUND_AMT` are integer fen, fund-bill `AMOUNT` and
//! `realAMT` are yuan again. [`Fen`] is the one in-memory unit; the
//! [`serde_yuan`] and [`serde_fen`] modules pick the wire unit per field.

use std::fmt;

use crate::error::{snippet, Error};

/// An amount of money in fen (1/100 yuan). Never a float.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(u64);

impl Fen {
    /// Zero fen.
    pub const ZERO: Fen = Fen(0);

    /// Wraps an amount already counted in fen.
    pub const fn from_fen(fen: u64) -> Fen {
        Fen(fen)
    }

    /// The amount in fen.
    pub const fn fen(self) -> u64 {
        self.0
    }

    /// Parses an exact yuan string: ASCII digits, optionally `.` and one or
    /// two more digits (`"12"`, `"12.5"`, `"0.01"`). Signs, exponents,
    /// whitespace and a third decimal are rejected rather than rounded,
    /// because a rounded amount is a wrong amount.
    pub fn parse_yuan(s: &str) -> Result<Fen, Error> {
        let bad = |reason| Error::InvalidAmount {
            input: snippet(s),
            reason,
        };
        let (int, frac) = match s.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (s, None),
        };
        if int.is_empty() {
            return Err(bad("no digits before the decimal point"));
        }
        if !int.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("only ASCII digits and one '.' are allowed"));
        }
        let mut fen: u64 = 0;
        for b in int.bytes() {
            fen = fen
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(|| bad("amount too large"))?;
        }
        fen = fen
            .checked_mul(100)
            .ok_or_else(|| bad("amount too large"))?;
        if let Some(frac) = frac {
            if frac.is_empty() {
                return Err(bad("no digits after the decimal point"));
            }
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad("only ASCII digits and one '.' are allowed"));
            }
            if frac.len() > 2 {
                return Err(bad("more than two decimals"));
            }
            let mut cents = frac.bytes().fold(0u64, |a, b| a * 10 + u64::from(b - b'0'));
            if frac.len() == 1 {
                cents *= 10;
            }
            fen = fen
                .checked_add(cents)
                .ok_or_else(|| bad("amount too large"))?;
        }
        Ok(Fen(fen))
    }

    /// Formats as yuan with exactly two decimals (`"12.50"`), the form the
    /// gateway expects in requests.
    pub fn to_yuan(self) -> String {
        format!("{}.{:02}", self.0 / 100, self.0 % 100)
    }

    /// Adds, or `None` on overflow.
    pub fn checked_add(self, o: Fen) -> Option<Fen> {
        self.0.checked_add(o.0).map(Fen)
    }

    /// Subtracts, or `None` when the result would be negative.
    pub fn checked_sub(self, o: Fen) -> Option<Fen> {
        self.0.checked_sub(o.0).map(Fen)
    }

    /// Multiplies by a count (e.g. quantity), or `None` on overflow.
    pub fn checked_mul(self, n: u64) -> Option<Fen> {
        self.0.checked_mul(n).map(Fen)
    }
}

impl fmt::Display for Fen {
    /// Yuan with two decimals.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl std::str::FromStr for Fen {
    type Err = Error;
    /// Same as [`Fen::parse_yuan`].
    fn from_str(s: &str) -> Result<Fen, Error> {
        Fen::parse_yuan(s)
    }
}

/// A wire amount as it arrived: a string or a JSON number.
enum Raw {
    Str(String),
    U64(u64),
    I64(i64),
    F64(f64),
}

impl<'de> serde::Deserialize<'de> for Raw {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an amount as a string or a number")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Str(v.to_owned()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Raw, E> {
                Ok(Raw::U64(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::I64(v))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::F64(v))
            }
        }
        d.deserialize_any(V)
    }
}

impl Raw {
    /// Interprets the value as yuan. A JSON number like `0.01` is read via
    /// its shortest decimal representation (what the sender wrote), never
    /// by float arithmetic.
    fn yuan(self) -> Result<Fen, Error> {
        match self {
            Raw::Str(s) => Fen::parse_yuan(s.trim()),
            Raw::U64(v) => v.checked_mul(100).map(Fen).ok_or(Error::InvalidAmount {
                input: v.to_string(),
                reason: "amount too large",
            }),
            Raw::I64(v) => Err(Error::InvalidAmount {
                input: v.to_string(),
                reason: "negative amount",
            }),
            Raw::F64(v) => {
                if v.is_sign_negative() {
                    return Err(Error::InvalidAmount {
                        input: v.to_string(),
                        reason: "negative amount",
                    });
                }
                // Beyond 2^53 a JSON number no longer holds the sender's digits.
                if v >= 9_007_199_254_740_992.0 {
                    return Err(Error::InvalidAmount {
                        input: v.to_string(),
                        reason: "number too large to be exact",
                    });
                }
                Fen::parse_yuan(&v.to_string())
            }
        }
    }

    /// Interprets the value as an integer count of fen.
    fn fen(self) -> Result<Fen, Error> {
        match self {
            Raw::Str(s) => {
                let t = s.trim();
                if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Error::InvalidAmount {
                        input: snippet(&s),
                        reason: "fen must be a non-negative integer",
                    });
                }
                t.parse().map(Fen).map_err(|_| Error::InvalidAmount {
                    input: snippet(&s),
                    reason: "amount too large",
                })
            }
            Raw::U64(v) => Ok(Fen(v)),
            Raw::I64(v) => Err(Error::InvalidAmount {
                input: v.to_string(),
                reason: "negative amount",
            }),
            Raw::F64(v) => Err(Error::InvalidAmount {
                input: v.to_string(),
                reason: "fen must be a non-negative integer",
            }),
        }
    }
}

/// Deserializes an optional amount; absent, `null` and `""` (an empty XML
/// element) are `None`.
fn opt_raw<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Raw>, D::Error> {
    use serde::Deserialize;
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Str(s)) if s.trim().is_empty() => None,
        other => other,
    })
}

/// Defines the `option` submodule of an amount helper: the parent's wire
/// form for `Option<Fen>`, read with `$read`.
macro_rules! optional_amount {
    ($read:path) => {
        /// The same for `Option<Fen>`; absent, `null` and `""` are `None`.
        pub mod option {
            use super::*;

            /// Writes `Some` as the parent module does (pair with `skip_serializing_if`).
            pub fn serialize<S: Serializer>(v: &Option<Fen>, s: S) -> Result<S::Ok, S::Error> {
                match v {
                    Some(f) => super::serialize(f, s),
                    None => s.serialize_none(),
                }
            }

            /// Reads an optional amount in the parent module's wire form.
            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
                opt_raw(d)?.map($read).transpose().map_err(D::Error::custom)
            }
        }
    };
}

/// Serde helper for yuan wire fields (`AMT` in requests, `GOOD_PRICE`,
/// `CHARGE_REFUND_FEE`, `AMOUNT`, `realAMT`): writes `"12.50"`, reads a
/// string or a number. Use `#[serde(with = "soushou::money::serde_yuan")]`.
pub mod serde_yuan {
    use super::{opt_raw, Fen, Raw};
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Writes the amount as a two-decimal yuan string.
    pub fn serialize<S: Serializer>(v: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_yuan())
    }

    /// Reads a yuan amount from a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        Raw::deserialize(d)?.yuan().map_err(D::Error::custom)
    }

    optional_amount!(Raw::yuan);
}

/// Serde helper for integer-fen wire fields (`AMT` and `REFUND_AMT` in
/// responses and notifications): writes a JSON integer, reads a string or a
/// number. Use `#[serde(with = "soushou::money::serde_fen")]`.
pub mod serde_fen {
    use super::{opt_raw, Fen, Raw};
    use serde::{de::Error as _, Deserialize, Deserializer, Serializer};

    /// Writes the amount as an integer number of fen.
    pub fn serialize<S: Serializer>(v: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(v.fen())
    }

    /// Reads an integer fen amount from a string or a number.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        Raw::deserialize(d)?.fen().map_err(D::Error::custom)
    }

    optional_amount!(Raw::fen);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_yuan() {
        assert_eq!(Fen::parse_yuan("12.5").unwrap(), Fen(1250));
        assert_eq!(Fen::parse_yuan("12.50").unwrap(), Fen(1250));
        assert_eq!(Fen::parse_yuan("0.01").unwrap(), Fen(1));
        assert_eq!(Fen::parse_yuan("158").unwrap(), Fen(15800));
        assert_eq!(Fen::parse_yuan("007.00").unwrap(), Fen(700));
        for bad in [
            "",
            ".5",
            "1.",
            "-1",
            "+1",
            "1e2",
            " 1",
            "1 ",
            "1.234",
            "1,00",
            "1.2.3",
            "NaN",
            "١",
            "184467440737095516.16",
        ] {
            assert!(Fen::parse_yuan(bad).is_err(), "{bad:?} must be rejected");
        }
        assert_eq!(
            Fen::parse_yuan("184467440737095516.15").unwrap(),
            Fen(u64::MAX)
        );
    }

    #[test]
    fn formats_two_decimals() {
        assert_eq!(Fen(1250).to_yuan(), "12.50");
        assert_eq!(Fen(1).to_string(), "0.01");
        assert_eq!(Fen::ZERO.to_yuan(), "0.00");
    }

    #[test]
    fn wire_numbers() {
        #[derive(serde::Deserialize)]
        struct W {
            #[serde(with = "serde_yuan")]
            y: Fen,
        }
        let y = |s: &str| serde_json::from_str::<W>(s).map(|w| w.y);
        assert_eq!(y(r#"{"y":0.01}"#).unwrap(), Fen(1));
        assert_eq!(y(r#"{"y":2}"#).unwrap(), Fen(200));
        assert_eq!(y(r#"{"y":158.0}"#).unwrap(), Fen(15800));
        assert_eq!(y(r#"{"y":" 2.5 "}"#).unwrap(), Fen(250));
        assert!(y(r#"{"y":0.001}"#).is_err());
        assert!(y(r#"{"y":-1}"#).is_err());
        assert!(y(r#"{"y":1e300}"#).is_err());
        assert!(y(r#"{"y":12345678901234567890.5}"#).is_err());
    }

    #[test]
    fn checked_arithmetic() {
        assert_eq!(Fen(5).checked_sub(Fen(6)), None);
        assert_eq!(Fen(u64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(200).checked_mul(5), Some(Fen(1000)));
    }
}
