//! Realistic-looking identifiers the gateway and the channels hand out.

use md5::{Digest, Md5};
use rand::Rng;
use soushou::types::ChannelType;

use crate::clock::Stamp;

fn digits(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(b'0' + rng.random_range(0..10u8)))
        .collect()
}

/// `n` random lowercase hex digits.
pub fn hex(n: usize) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| char::from(HEX[rng.random_range(0..16usize)]))
        .collect()
}

/// Alipay trade number: 28 digits starting with the date (`2015042321001004720200028594`).
pub fn alipay_trade_no(now: Stamp) -> String {
    format!("{}2100100{}", now.date8(), digits(13))
}

/// The channel's serial for a payment (`CHARGE_THIRD_CODE`), shaped like the channel's own.
pub fn third_code(channel: &ChannelType, now: Stamp) -> String {
    match channel {
        // WeChat transaction_id: 28 digits, "4200000…" then the date.
        ChannelType::WeChat => format!("420000{}{}{}", digits(4), now.date8(), digits(10)),
        ChannelType::Alipay | ChannelType::AlipayWap | ChannelType::Auto => alipay_trade_no(now),
        _ => format!("{}{}", now.date8(), digits(12)),
    }
}

/// WeChat prepay id: `wx` + local date-time + 20 hex digits.
pub fn prepay_id(now: Stamp) -> String {
    format!("wx{}{}", now.datetime14(), hex(20))
}

/// The six parameters of WeChat's `getBrandWCPayRequest` as the gateway returns them for JSAPI.
#[derive(Clone, Debug)]
pub struct Jsapi {
    /// `appId`: `wx` + 16 hex digits.
    pub app_id: String,
    /// `timeStamp`: Unix milliseconds, as in the document's sample.
    pub time_stamp: String,
    /// `nonceStr`: 32 hex digits.
    pub nonce_str: String,
    /// `packageData`: `prepay_id=wx…`.
    pub package_data: String,
    /// `signType`: always `MD5`.
    pub sign_type: String,
    /// `sign`: WeChat's paySign, upper-case MD5 hex.
    pub sign: String,
}

/// JSAPI parameters, `sign` computed the way WeChat does (sorted `k=v&…&key=`), with the
/// sandbox's own per-process WeChat key `pay_key` standing in for the sub-merchant's.
pub fn jsapi(app_id: &str, now: Stamp, pay_key: &str) -> Jsapi {
    let time_stamp = now.unix_ms.to_string();
    let nonce_str = hex(32);
    let package_data = format!("prepay_id={}", prepay_id(now));
    let plain = format!(
        "appId={app_id}&nonceStr={nonce_str}&package={package_data}&signType=MD5&timeStamp={time_stamp}&key={pay_key}"
    );
    let sign = Md5::digest(plain.as_bytes())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    Jsapi {
        app_id: app_id.to_owned(),
        time_stamp,
        nonce_str,
        package_data,
        sign_type: "MD5".into(),
        sign,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let now = Stamp {
            unix_ms: 1_444_768_994_000,
        };
        let a = alipay_trade_no(now);
        assert_eq!(a.len(), 28);
        assert!(a.starts_with("20151014"));
        let w = third_code(&ChannelType::WeChat, now);
        assert_eq!(w.len(), 28);
        assert!(w.bytes().all(|b| b.is_ascii_digit()));
        let p = prepay_id(now);
        assert!(p.starts_with("wx20151014044314") && p.len() == 36);
        let j = jsapi("wx0123456789abcdef", now, "k");
        assert_eq!(j.sign.len(), 32);
        assert!(j
            .sign
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
        assert!(j.package_data.starts_with("prepay_id=wx"));
    }
}
