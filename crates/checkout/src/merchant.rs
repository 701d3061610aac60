//! The merchant API's input rules, decided without I/O: what a subject, a
//! refund reason and a refund number must look like, the bearer check, and
//! what a POS charge's `channel` and `dynamic_id_type` mean to the gateway.

use serde::{Deserialize, Serialize};
use soushou::types::{ChannelType, DynamicIdType};
use subtle::ConstantTimeEq;

use crate::error::Error;

/// Longest refund reason (`REFUND_SUBJECT`), in characters.
pub const MAX_REASON_CHARS: usize = 128;
/// Longest `out_refund_no`, in bytes (ASCII only).
pub const MAX_REFUND_NO_BYTES: usize = 64;

/// Whether an `Authorization` header carries `Bearer {expected}`,
/// compared in constant time (the length is not secret).
pub fn bearer_matches(authorization: Option<&str>, expected: &str) -> bool {
    let given = authorization
        .and_then(|h| h.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim();
    !expected.is_empty() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// The trimmed subject of a merchant order: the gateway needs a `PAY_SUBJECT`.
pub fn subject(subject: &str) -> Result<String, Error> {
    let subject = subject.trim();
    if subject.is_empty() {
        return Err(Error::InvalidRequest {
            field: "subject",
            reason: "is required",
        });
    }
    Ok(subject.to_owned())
}

/// The trimmed refund reason, 1 to [`MAX_REASON_CHARS`] characters.
pub fn refund_reason(reason: &str) -> Result<&str, Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(Error::InvalidRequest {
            field: "reason",
            reason: "must be 1-128 characters",
        });
    }
    Ok(reason)
}

/// The merchant's own `out_refund_no`, if given: 1 to
/// [`MAX_REFUND_NO_BYTES`] of `[A-Za-z0-9_-]`, not starting with `dup-`
/// (any case): those numbers are the Worker's refunds of duplicate payments
/// (`settle::duplicate_refund_no`), and a merchant refund under one would
/// be taken for one. `None` (absent or blank) means the Worker picks one.
pub fn out_refund_no(given: Option<&str>) -> Result<Option<String>, Error> {
    match given.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) if s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("dup-")) => {
            Err(Error::InvalidRequest {
                field: "out_refund_no",
                reason: "must not start with dup- (reserved for refunds of duplicate payments)",
            })
        }
        Some(s)
            if s.len() <= MAX_REFUND_NO_BYTES
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Ok(Some(s.to_owned()))
        }
        Some(_) => Err(Error::InvalidRequest {
            field: "out_refund_no",
            reason: "must be 1-64 of [A-Za-z0-9_-]",
        }),
    }
}

/// Which app a POS charge is for (`channel`); `auto` lets the gateway tell
/// from the scanned code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PosChannel {
    /// `CHANNEL_TYPE` 0: the gateway decides.
    #[default]
    Auto,
    /// Alipay.
    Alipay,
    /// WeChat Pay.
    Wechat,
}

impl From<PosChannel> for ChannelType {
    fn from(c: PosChannel) -> Self {
        match c {
            PosChannel::Auto => ChannelType::Auto,
            PosChannel::Alipay => ChannelType::Alipay,
            PosChannel::Wechat => ChannelType::WeChat,
        }
    }
}

/// What the cashier scanned (`dynamic_id_type`: 1, 2 or 3 in the JSON).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub enum ScanKind {
    /// 1: a barcode or QR code.
    #[default]
    Barcode,
    /// 2: a sound wave.
    Sonic,
    /// 3: NFC.
    Nfc,
}

impl TryFrom<u8> for ScanKind {
    type Error = &'static str;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        match n {
            1 => Ok(ScanKind::Barcode),
            2 => Ok(ScanKind::Sonic),
            3 => Ok(ScanKind::Nfc),
            _ => Err("dynamic_id_type must be 1, 2 or 3"),
        }
    }
}

impl From<ScanKind> for u8 {
    fn from(k: ScanKind) -> u8 {
        match k {
            ScanKind::Barcode => 1,
            ScanKind::Sonic => 2,
            ScanKind::Nfc => 3,
        }
    }
}

impl From<ScanKind> for DynamicIdType {
    fn from(k: ScanKind) -> Self {
        match k {
            ScanKind::Barcode => DynamicIdType::Barcode,
            ScanKind::Sonic => DynamicIdType::Sonic,
            ScanKind::Nfc => DynamicIdType::Nfc,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bearer_tokens_match_exactly() {
        let cases = [
            (Some("Bearer s3cret"), "s3cret", true),
            (Some("Bearer  s3cret "), "s3cret", true),
            (Some("Bearer s3cre"), "s3cret", false),
            (Some("Bearer s3cretx"), "s3cret", false),
            (Some("bearer s3cret"), "s3cret", false),
            (Some("s3cret"), "s3cret", false),
            (None, "s3cret", false),
            (Some("Bearer "), "", false),
        ];
        for (header, expected, ok) in cases {
            assert_eq!(bearer_matches(header, expected), ok, "{header:?}");
        }
    }

    #[test]
    fn merchant_text_fields() {
        assert_eq!(subject("  Tea "), Ok("Tea".to_owned()));
        assert!(subject("  ").is_err());
        assert_eq!(refund_reason(" broken "), Ok("broken"));
        assert!(refund_reason("").is_err());
        assert!(refund_reason(&"x".repeat(129)).is_err());
        assert!(refund_reason(&"退".repeat(128)).is_ok());
        assert_eq!(out_refund_no(None), Ok(None));
        assert_eq!(out_refund_no(Some(" ")), Ok(None));
        assert_eq!(out_refund_no(Some("R-1_a")), Ok(Some("R-1_a".into())));
        assert!(out_refund_no(Some("R 1")).is_err());
        assert!(out_refund_no(Some(&"a".repeat(65))).is_err());
        assert!(out_refund_no(Some(&"a".repeat(64))).is_ok());
        assert!(out_refund_no(Some("dup-C1")).is_err());
        assert!(out_refund_no(Some("DUP-C1")).is_err());
        assert_eq!(out_refund_no(Some("dupe-1")), Ok(Some("dupe-1".into())));
    }

    #[test]
    fn pos_fields_read_as_documented() {
        let channels = [
            ("auto", PosChannel::Auto, ChannelType::Auto),
            ("alipay", PosChannel::Alipay, ChannelType::Alipay),
            ("wechat", PosChannel::Wechat, ChannelType::WeChat),
        ];
        for (wire, c, gateway) in channels {
            assert_eq!(
                serde_json::from_value::<PosChannel>(json!(wire)).unwrap(),
                c
            );
            assert_eq!(ChannelType::from(c), gateway);
        }
        assert!(serde_json::from_value::<PosChannel>(json!("unionpay")).is_err());
        let kinds = [
            (1, ScanKind::Barcode, DynamicIdType::Barcode),
            (2, ScanKind::Sonic, DynamicIdType::Sonic),
            (3, ScanKind::Nfc, DynamicIdType::Nfc),
        ];
        for (n, k, gateway) in kinds {
            assert_eq!(serde_json::from_value::<ScanKind>(json!(n)).unwrap(), k);
            assert_eq!(serde_json::to_value(k).unwrap(), json!(n));
            assert_eq!(DynamicIdType::from(k), gateway);
        }
        let err = serde_json::from_value::<ScanKind>(json!(4)).unwrap_err();
        assert!(err.to_string().contains("must be 1, 2 or 3"), "{err}");
    }
}
