//! The 易支付 (epay) merchant interface, pure: its MD5 signature, the
//! parsing of `submit.php` / `mapi.php` / `api.php` parameters, the mapping
//! of `type` and `device` to our page, the decision on an `out_trade_no`
//! seen before, and the signed result parameters (notification and return).
//!
//! Why here: self-hosted shops, subscriptions and API resellers (NewAPI,
//! dujiaoka, v2board/Xboard, Cloudreve, …) speak only this protocol. The
//! Worker's `/epay/*` routes are thin adapters over these functions.
//!
//! Invariants (money and what the app is told):
//! - An epay trade is one fixed link of ours; `out_trade_no` is unique per
//!   `pid`. The same `out_trade_no` with the same money and name is the same
//!   trade (an app's retry); with other money or name it is refused
//!   ([`reuse`]): never a second charge.
//! - `money` is yuan with at most two decimals, parsed once into [`Fen`] by
//!   [`crate::amount::parse_api_amount`] (no floating point).
//! - A signed parameter set never carries an empty value ([`result_params`]),
//!   because clients that sign every field they receive would fail on it.

use std::collections::BTreeMap;

use md5::{Digest, Md5};
use serde::Serialize;
use soushou::types::ChannelType;
use soushou::Fen;
use subtle::ConstantTimeEq;

use crate::amount::parse_api_amount;
use crate::error::Error;
use crate::link::{self, http_url};
use crate::vocab::LinkChannel;

/// Decoded request parameters, by name. When a name repeats, the last value
/// wins, as PHP's `$_GET`/`$_POST` (the reference implementation) reads it.
pub type Params = BTreeMap<String, String>;

/// Longest `out_trade_no`, in bytes (the epay table's `varchar(64)`).
pub const MAX_OUT_TRADE_NO: usize = 64;
/// Longest `param` (echoed back), in characters.
pub const MAX_PARAM_CHARS: usize = 512;

/// Collects decoded pairs (`soushou::envelope::parse_query` of a query
/// string or a form body) into [`Params`].
pub fn params<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Params {
    pairs.into_iter().collect()
}

/// The string that is signed: every parameter but `sign` and `sign_type`
/// with a non-empty value, sorted by name (ASCII), as `k=v` joined by `&`,
/// the values as received (no URL encoding).
pub fn signing_string(params: &Params) -> String {
    params
        .iter()
        .filter(|(k, v)| k.as_str() != "sign" && k.as_str() != "sign_type" && !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `sign`: lowercase hex MD5 of [`signing_string`] with the key appended.
pub fn sign(params: &Params, key: &str) -> String {
    let mut h = Md5::new();
    h.update(signing_string(params).as_bytes());
    h.update(key.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `params`' own `sign` is the signature under `key`, compared in
/// constant time. The hex is compared as sent lowercase; an uppercase
/// `sign` (some hand-written clients) is accepted too.
pub fn verify(params: &Params, key: &str) -> bool {
    let Some(given) = params.get("sign") else {
        return false;
    };
    let want = sign(params, key);
    bool::from(want.as_bytes().ct_eq(given.to_ascii_lowercase().as_bytes()))
}

/// One app's credentials: `EPAY_PID` and `EPAY_KEY`.
#[derive(Clone, PartialEq, Eq)]
pub struct Merchant {
    /// The merchant id the app sends as `pid`.
    pub pid: String,
    /// The shared MD5 key.
    pub key: String,
}

impl std::fmt::Debug for Merchant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Merchant {{ pid: {:?}, key: **** }}", self.pid)
    }
}

/// The configured apps: `EPAY_PID` and `EPAY_KEY`, each comma-separated,
/// paired by position (several apps, one `pid` each). `Ok(None)` when
/// `EPAY_PID` is unset: the interface is off.
pub fn merchants(pids: Option<&str>, keys: Option<&str>) -> Result<Option<Vec<Merchant>>, Error> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let pids = split(pids.unwrap_or(""));
    if pids.is_empty() {
        return Ok(None);
    }
    let keys = split(keys.unwrap_or(""));
    let bad = |reason| Error::InvalidRequest {
        field: "EPAY_KEY",
        reason,
    };
    if keys.len() != pids.len() {
        return Err(bad("needs one key per EPAY_PID entry"));
    }
    if keys.iter().any(|k| k.len() < 16) {
        return Err(bad("each key needs at least 16 characters"));
    }
    Ok(Some(
        pids.into_iter()
            .zip(keys)
            .map(|(pid, key)| Merchant { pid, key })
            .collect(),
    ))
}

/// The app sending `params`, once its `pid` is known and its `sign`
/// verifies; `sign_type`, when given, must be `MD5`.
pub fn authenticate<'m>(params: &Params, merchants: &'m [Merchant]) -> Result<&'m Merchant, Error> {
    let pid = required(params, "pid")?;
    let merchant = merchants
        .iter()
        .find(|m| m.pid == pid)
        .ok_or(Error::InvalidRequest {
            field: "pid",
            reason: "unknown merchant",
        })?;
    if let Some(t) = params.get("sign_type").filter(|t| !t.is_empty()) {
        if !t.eq_ignore_ascii_case("MD5") {
            return Err(Error::InvalidRequest {
                field: "sign_type",
                reason: "only MD5 is supported",
            });
        }
    }
    required(params, "sign")?;
    if !verify(params, &merchant.key) {
        return Err(Error::InvalidSignature {
            reason: "sign does not match",
        });
    }
    Ok(merchant)
}

/// The app calling `api.php`: `pid` with its `key` as the protocol's
/// queries send it (compared in constant time), or else `pid` with a valid
/// `sign` ([`authenticate`]).
pub fn authenticate_api<'m>(
    params: &Params,
    merchants: &'m [Merchant],
) -> Result<&'m Merchant, Error> {
    let Some(key) = optional(params, "key") else {
        return authenticate(params, merchants);
    };
    let pid = required(params, "pid")?;
    merchants
        .iter()
        .find(|m| m.pid == pid && bool::from(m.key.as_bytes().ct_eq(key.as_bytes())))
        .ok_or(Error::InvalidSignature {
            reason: "pid and key do not match",
        })
}

fn required<'p>(params: &'p Params, field: &'static str) -> Result<&'p str, Error> {
    params
        .get(field)
        .map(String::as_str)
        .filter(|v| !v.trim().is_empty())
        .ok_or(Error::InvalidRequest {
            field,
            reason: "is required",
        })
}

fn optional<'p>(params: &'p Params, field: &str) -> Option<&'p str> {
    params
        .get(field)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

/// `type`: the wallet the app asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayType {
    /// `alipay`.
    Alipay,
    /// `wxpay` (WeChat Pay).
    Wxpay,
}

impl PayType {
    /// The protocol spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PayType::Alipay => "alipay",
            PayType::Wxpay => "wxpay",
        }
    }

    /// `None` for an absent or empty `type` (the page's own routing);
    /// types we cannot take (`qqpay`, `usdt`, `bank`, …) are refused.
    pub fn parse(s: Option<&str>) -> Result<Option<PayType>, Error> {
        match s.map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some("alipay") => Ok(Some(PayType::Alipay)),
            Some("wxpay") => Ok(Some(PayType::Wxpay)),
            Some(_) => Err(Error::InvalidRequest {
                field: "type",
                reason: "payment type not supported (use alipay or wxpay)",
            }),
        }
    }

    /// The link restriction that steers our page to this wallet.
    pub fn channel(self) -> LinkChannel {
        match self {
            PayType::Alipay => LinkChannel::Alipay,
            PayType::Wxpay => LinkChannel::Wechat,
        }
    }

    /// The type the app is told of: the wallet that paid (the gateway
    /// channel of the paying attempt), else the one asked for, else Alipay.
    pub fn paid(asked: Option<PayType>, channel: &ChannelType) -> PayType {
        match channel {
            ChannelType::Alipay => PayType::Alipay,
            ChannelType::WeChat => PayType::Wxpay,
            _ => asked.unwrap_or(PayType::Alipay),
        }
    }

    /// The spelling as stored and sent; `None` for anything else.
    pub fn parse_stored(s: &str) -> Option<PayType> {
        PayType::parse(Some(s)).ok().flatten()
    }

    /// The type a link restriction stands for.
    pub fn of_channel(c: LinkChannel) -> PayType {
        match c {
            LinkChannel::Alipay => PayType::Alipay,
            LinkChannel::Wechat => PayType::Wxpay,
        }
    }
}

/// `device` of `mapi.php`; an unknown or absent one is `pc`, as the
/// reference implementation reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Device {
    /// A desktop browser.
    Pc,
    /// A phone's browser.
    Mobile,
    /// Inside QQ.
    Qq,
    /// Inside WeChat.
    Wechat,
    /// Inside Alipay.
    Alipay,
    /// The app only wants an address to send the browser to.
    Jump,
}

impl Device {
    /// Tolerant reader: anything unknown is `pc`.
    pub fn parse(s: Option<&str>) -> Device {
        match s.map(str::trim).unwrap_or("") {
            "mobile" => Device::Mobile,
            "qq" => Device::Qq,
            "wechat" => Device::Wechat,
            "alipay" => Device::Alipay,
            "jump" => Device::Jump,
            _ => Device::Pc,
        }
    }
}

/// Which field of `mapi.php`'s answer carries the way to pay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayAnswer {
    /// `payurl`: an address the app sends the browser to.
    PayUrl,
    /// `qrcode`: content the app draws as a QR code for a phone to scan.
    QrCode,
}

/// What `mapi.php` answers for `device`: on a desktop a QR code to scan
/// with the phone (its content is our page's address, which the wallet
/// opens and pays like any link); anywhere else the page's address, which
/// does the wallet hand-off itself (JSAPI in WeChat, the Alipay bridge,
/// WAP in a phone's browser). `urlscheme` is never answered: the page, not
/// the app, opens the wallet, so no app has to handle a wallet scheme.
pub fn pay_answer(device: Device) -> PayAnswer {
    match device {
        Device::Pc => PayAnswer::QrCode,
        Device::Mobile | Device::Qq | Device::Wechat | Device::Alipay | Device::Jump => {
            PayAnswer::PayUrl
        }
    }
}

/// A payment request of `submit.php` or `mapi.php`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayRequest {
    /// The app's merchant id.
    pub pid: String,
    /// The wallet asked for; `None`: the page's own routing.
    pub pay_type: Option<PayType>,
    /// The app's order number, unique per `pid`.
    pub out_trade_no: String,
    /// Where the app hears of the payment (http or https).
    pub notify_url: String,
    /// Where the shopper goes back to (http or https), if given.
    pub return_url: Option<String>,
    /// What is paid for, as received.
    pub name: String,
    /// The amount.
    pub money: Fen,
    /// The app's own data, echoed back; empty is absent.
    pub param: Option<String>,
    /// The shopper's IP as the app saw it, kept.
    pub clientip: Option<String>,
    /// Where the shopper is (`mapi.php`).
    pub device: Device,
}

/// Validates a signed payment request (after [`authenticate`]).
pub fn pay_request(params: &Params, pid: &str) -> Result<PayRequest, Error> {
    let pay_type = PayType::parse(params.get("type").map(String::as_str))?;
    let out_trade_no = required(params, "out_trade_no")?;
    if out_trade_no.len() > MAX_OUT_TRADE_NO || !out_trade_no.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Error::InvalidRequest {
            field: "out_trade_no",
            reason: "at most 64 printable ASCII characters",
        });
    }
    let notify_url = http_url("notify_url", required(params, "notify_url")?)?;
    let return_url = optional(params, "return_url")
        .map(|u| http_url("return_url", u))
        .transpose()?;
    let name = required(params, "name")?;
    if name.chars().count() > link::MAX_SUBJECT_CHARS || name.chars().any(char::is_control) {
        return Err(Error::InvalidRequest {
            field: "name",
            reason: "at most 128 characters, no control characters",
        });
    }
    let money = parse_api_amount(required(params, "money")?)?;
    let param = optional(params, "param").map(str::to_owned);
    if param
        .as_deref()
        .is_some_and(|p| p.chars().count() > MAX_PARAM_CHARS)
    {
        return Err(Error::InvalidRequest {
            field: "param",
            reason: "too long",
        });
    }
    Ok(PayRequest {
        pid: pid.to_owned(),
        pay_type,
        out_trade_no: out_trade_no.to_owned(),
        notify_url,
        return_url,
        name: name.to_owned(),
        money,
        param,
        clientip: optional(params, "clientip").map(str::to_owned),
        device: Device::parse(params.get("device").map(String::as_str)),
    })
}

/// What to do with a payment request whose `out_trade_no` may have been
/// seen before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Not seen: a new trade (one new link).
    New,
    /// The same trade again (an app's retry): answer with the stored one.
    Same,
    /// The number names another trade: refused, nothing is charged.
    Conflict,
}

/// The idempotency decision on `out_trade_no` (unique per `pid`): `stored`
/// is the money and name of the trade already under that number.
pub fn reuse(stored: Option<(Fen, &str)>, req: &PayRequest) -> Reuse {
    match stored {
        None => Reuse::New,
        Some((money, name)) if money == req.money && name == req.name => Reuse::Same,
        Some(_) => Reuse::Conflict,
    }
}

/// The refusal of a [`Reuse::Conflict`].
pub fn conflict() -> Error {
    Error::InvalidRequest {
        field: "out_trade_no",
        reason: "already used for another amount or name",
    }
}

/// A trade as the app is told of it (notification, return, `act=order`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trade<'a> {
    /// The app's merchant id.
    pub pid: &'a str,
    /// Our trade number.
    pub trade_no: &'a str,
    /// The app's order number.
    pub out_trade_no: &'a str,
    /// The wallet that paid (or was asked for).
    pub pay_type: PayType,
    /// What was paid for, as received.
    pub name: &'a str,
    /// The amount.
    pub money: Fen,
    /// The app's own data, if it sent any.
    pub param: Option<&'a str>,
}

/// The signed result of a paid trade: GET `notify_url` with these, and the
/// shopper's way back to `return_url` with the same. No empty field is ever
/// included (`param` only when the app sent one).
pub fn result_params(trade: &Trade<'_>, key: &str) -> Params {
    let mut p = Params::new();
    for (k, v) in [
        ("pid", trade.pid),
        ("trade_no", trade.trade_no),
        ("out_trade_no", trade.out_trade_no),
        ("type", trade.pay_type.as_str()),
        ("name", trade.name),
        ("money", &trade.money.to_yuan()),
        ("trade_status", "TRADE_SUCCESS"),
        ("param", trade.param.unwrap_or("")),
    ] {
        if !v.is_empty() {
            p.insert(k.to_owned(), v.to_owned());
        }
    }
    let s = sign(&p, key);
    p.insert("sign".into(), s);
    p.insert("sign_type".into(), "MD5".into());
    p
}

/// `url` with `params` appended to its query (before any `#fragment`),
/// values percent-encoded.
pub fn with_query(url: &str, params: &Params) -> String {
    crate::webhook::append_query(url, params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// Whether the app's answer to a notification acknowledges it: the body is
/// `success` (surrounding whitespace, a BOM and case aside, as PHP apps
/// print it with a newline or as `SUCCESS`). Anything else — `fail`, an
/// error page, an empty body — means try again.
pub fn acknowledged(status: Option<u16>, body: &str) -> bool {
    status.is_some_and(|s| (200..300).contains(&s))
        && body
            .trim_start_matches('\u{feff}')
            .trim()
            .eq_ignore_ascii_case("success")
}

/// A JSON answer of `mapi.php` / `api.php`: `code` 1 with the fields of
/// the call, or `code` -1 with the reason in `msg` (what epay clients
/// read; the HTTP status is 200 either way).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Answer<T: Serialize> {
    /// 1 on success, -1 on a refusal.
    pub code: i32,
    /// `success`, or why not.
    pub msg: String,
    /// The call's fields (none for a refusal).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub body: Option<T>,
}

impl<T: Serialize> Answer<T> {
    /// `code` 1 with `body`.
    pub fn ok(body: T) -> Self {
        Answer {
            code: 1,
            msg: "success".into(),
            body: Some(body),
        }
    }

    /// `code` -1 with the reason.
    pub fn refused(msg: String) -> Self {
        Answer {
            code: -1,
            msg,
            body: None,
        }
    }
}

/// `mapi.php`'s fields: the trade and the way to pay it ([`pay_answer`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mapi {
    /// Our trade number.
    pub trade_no: String,
    /// For a phone: the page's address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payurl: Option<String>,
    /// For a desktop: QR content (the page's address).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qrcode: Option<String>,
}

impl Mapi {
    /// The answer for `device`, pointing at `page`.
    pub fn new(trade_no: String, device: Device, page: String) -> Mapi {
        let (payurl, qrcode) = match pay_answer(device) {
            PayAnswer::PayUrl => (Some(page), None),
            PayAnswer::QrCode => (None, Some(page)),
        };
        Mapi {
            trade_no,
            payurl,
            qrcode,
        }
    }
}

/// `api.php`'s fields, by `act`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Api {
    /// `act=query`: the credentials work.
    Query {
        /// The app's merchant id.
        pid: String,
        /// Always 1.
        active: u8,
    },
    /// `act=order`.
    Order(OrderView),
    /// `act=refund`.
    Refund {
        /// Our trade number.
        trade_no: String,
        /// The app's order number.
        out_trade_no: String,
        /// This refund, yuan.
        money: String,
        /// Refunded so far, yuan.
        refunded: String,
    },
}

/// `act=order`: a trade as epay clients read it (`status` 1 once paid;
/// empty strings, not nulls, where there is nothing, as they expect).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderView {
    /// Our trade number.
    pub trade_no: String,
    /// The app's order number.
    pub out_trade_no: String,
    /// Our `charge_code` of the payment, or empty.
    pub api_trade_no: String,
    /// `alipay` / `wxpay`.
    #[serde(rename = "type")]
    pub pay_type: &'static str,
    /// The app's merchant id.
    pub pid: String,
    /// [`time`] of the trade.
    pub addtime: String,
    /// [`time`] of the payment, or empty.
    pub endtime: String,
    /// As received.
    pub name: String,
    /// Yuan.
    pub money: String,
    /// The app's own data, or empty.
    pub param: String,
    /// Never known here: empty.
    pub buyer: String,
    /// The shopper's IP as the app sent it, or empty.
    pub clientip: String,
    /// 1 paid, 0 not.
    pub status: u8,
}

/// The interface's pages, under the configured prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `submit.php`: the page-jump payment.
    Submit,
    /// `mapi.php`: the API payment.
    Mapi,
    /// `api.php`: queries and refunds.
    Api,
    /// `return`: the shopper's way back to the app (ours, not the protocol's).
    Return,
}

/// Which page `path` is, under `prefix` (without slashes). The app's API
/// URL works with and without its trailing slash: `{prefix}submit.php` (an
/// app that glued the two) is `submit.php` too.
pub fn endpoint(prefix: &str, path: &str) -> Option<Endpoint> {
    let rest = path.trim_start_matches('/').strip_prefix(prefix)?;
    match rest.trim_start_matches('/') {
        "submit.php" => Some(Endpoint::Submit),
        "mapi.php" => Some(Endpoint::Mapi),
        "api.php" => Some(Endpoint::Api),
        "return" => Some(Endpoint::Return),
        _ => None,
    }
}

/// `2024-01-02 03:04:05` (UTC), the reference implementation's time format.
pub fn time(secs: u64) -> String {
    let c = crate::format::civil(secs, 0);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The out_refund_no of an `act=refund`: the app's own `out_refund_no` when
/// it sends one (`E` + it, so it never collides with ours), else derived
/// from the trade and the amount, so a retried call is the same refund —
/// two refunds of the same amount on one trade need distinct
/// `out_refund_no`s.
pub fn refund_no(trade_no: &str, out_refund_no: Option<&str>, money: Fen) -> Result<String, Error> {
    let no = match out_refund_no.map(str::trim).filter(|s| !s.is_empty()) {
        Some(n) => format!("E{n}"),
        None => format!("E{trade_no}-{}", money.fen()),
    };
    crate::merchant::out_refund_no(Some(&no))?.ok_or(Error::InvalidRequest {
        field: "out_refund_no",
        reason: "is required",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        params(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    const KEY: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

    fn merchants_1() -> Vec<Merchant> {
        vec![Merchant {
            pid: "1001".into(),
            key: KEY.into(),
        }]
    }

    fn signed(pairs: &[(&str, &str)]) -> Params {
        let mut ps = p(pairs);
        let s = sign(&ps, KEY);
        ps.insert("sign".into(), s);
        ps.insert("sign_type".into(), "MD5".into());
        ps
    }

    /// The worked example of the MD5 `k=v&…`+key scheme as the payment
    /// documentation writes it (sorted, key appended, lowercase hex), and
    /// an epay submit signed by Python's hashlib, independently.
    #[test]
    fn documentation_examples() {
        let doc = p(&[("uid", "1000"), ("timestamp", "1548047628")]);
        assert_eq!(signing_string(&doc), "timestamp=1548047628&uid=1000");
        assert_eq!(
            sign(&doc, "58b31d465652be856d7ed80977aa4ce4"),
            "15540d3398e5ed2a37533e3fc032e1a0"
        );
        // python3 -c 'import hashlib;print(hashlib.md5(("money=1.00&name=VIP会员&notify_url=http://shop.test/notify.php&out_trade_no=20240101123456&pid=1001&return_url=http://shop.test/return.php&sitename=测试站&type=alipay"+KEY).encode()).hexdigest())'
        let submit = p(&[
            ("pid", "1001"),
            ("type", "alipay"),
            ("out_trade_no", "20240101123456"),
            ("notify_url", "http://shop.test/notify.php"),
            ("return_url", "http://shop.test/return.php"),
            ("name", "VIP会员"),
            ("money", "1.00"),
            ("sitename", "测试站"),
            ("param", ""),
            ("sign", "ignored"),
            ("sign_type", "MD5"),
        ]);
        assert_eq!(
            signing_string(&submit),
            "money=1.00&name=VIP会员&notify_url=http://shop.test/notify.php&\
             out_trade_no=20240101123456&pid=1001&return_url=http://shop.test/return.php&\
             sitename=测试站&type=alipay"
        );
        assert_eq!(sign(&submit, KEY), "78d58dcf9d82529213520cfdb58b61e1");
    }

    #[test]
    fn verification() {
        let good = signed(&[("pid", "1001"), ("money", "1"), ("name", "a b+c")]);
        let upper = {
            let mut u = good.clone();
            let s = u["sign"].to_ascii_uppercase();
            u.insert("sign".into(), s);
            u
        };
        let tampered = {
            let mut t = good.clone();
            t.insert("money".into(), "2".into());
            t
        };
        let with_empty = {
            let mut t = good.clone();
            t.insert("param".into(), String::new());
            t
        };
        let m = merchants_1();
        let cases: Vec<(&str, Params, Result<(), Error>)> = vec![
            ("signed", good.clone(), Ok(())),
            ("uppercase hex", upper, Ok(())),
            ("an empty field is not signed", with_empty, Ok(())),
            (
                "tampered",
                tampered,
                Err(Error::InvalidSignature {
                    reason: "sign does not match",
                }),
            ),
            (
                "unknown pid",
                signed(&[("pid", "9"), ("money", "1")]),
                Err(Error::InvalidRequest {
                    field: "pid",
                    reason: "unknown merchant",
                }),
            ),
            (
                "no sign",
                p(&[("pid", "1001")]),
                Err(Error::InvalidRequest {
                    field: "sign",
                    reason: "is required",
                }),
            ),
            (
                "no pid",
                p(&[("sign", "x")]),
                Err(Error::InvalidRequest {
                    field: "pid",
                    reason: "is required",
                }),
            ),
            (
                "RSA",
                {
                    let mut r = good.clone();
                    r.insert("sign_type".into(), "RSA".into());
                    r
                },
                Err(Error::InvalidRequest {
                    field: "sign_type",
                    reason: "only MD5 is supported",
                }),
            ),
        ];
        for (name, ps, want) in cases {
            assert_eq!(authenticate(&ps, &m).map(|_| ()), want, "{name}");
        }
    }

    #[test]
    fn api_authentication() {
        let m = merchants_1();
        let ok = p(&[("pid", "1001"), ("key", KEY), ("act", "order")]);
        assert!(authenticate_api(&ok, &m).is_ok());
        let wrong = p(&[("pid", "1001"), ("key", "x"), ("act", "order")]);
        assert!(authenticate_api(&wrong, &m).is_err());
        let other_pid = p(&[("pid", "1002"), ("key", KEY)]);
        assert!(authenticate_api(&other_pid, &m).is_err());
        let signed_query = signed(&[("pid", "1001"), ("act", "order")]);
        assert!(authenticate_api(&signed_query, &m).is_ok());
        assert!(authenticate_api(&p(&[("pid", "1001")]), &m).is_err());
    }

    #[test]
    fn configuration() {
        let k = "k".repeat(16);
        let two = format!("{k},{k}");
        assert_eq!(merchants(None, Some(&k)), Ok(None));
        assert_eq!(merchants(Some(" "), None), Ok(None));
        assert_eq!(
            merchants(Some("1001,1002"), Some(&two))
                .unwrap()
                .unwrap()
                .len(),
            2
        );
        assert!(merchants(Some("1001,1002"), Some(&k)).is_err());
        assert!(merchants(Some("1001"), None).is_err());
        assert!(merchants(Some("1001"), Some("short")).is_err());
        let m = &merchants(Some("1001"), Some(&k)).unwrap().unwrap()[0];
        assert!(!format!("{m:?}").contains(&k));
    }

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("pid", "1001"),
            ("type", "wxpay"),
            ("out_trade_no", "A1"),
            ("notify_url", "https://shop.test/n"),
            ("return_url", "https://shop.test/r"),
            ("name", "Plan"),
            ("money", "12.5"),
        ]
    }

    fn with(field: &'static str, value: &'static str) -> Params {
        let mut ps = p(&base());
        ps.insert(field.into(), value.into());
        ps
    }

    #[test]
    fn pay_requests() {
        let ok = pay_request(&p(&base()), "1001").unwrap();
        assert_eq!(ok.money, Fen::from_fen(1250));
        assert_eq!(ok.pay_type, Some(PayType::Wxpay));
        assert_eq!(ok.param, None);
        assert_eq!(ok.device, Device::Pc);
        let kept = pay_request(
            &{
                let mut ps = with("param", "uid=7&x=1");
                ps.insert("clientip".into(), "1.2.3.4".into());
                ps.insert("device".into(), "mobile".into());
                ps
            },
            "1001",
        )
        .unwrap();
        assert_eq!(kept.param.as_deref(), Some("uid=7&x=1"));
        assert_eq!(kept.clientip.as_deref(), Some("1.2.3.4"));
        assert_eq!(kept.device, Device::Mobile);
        assert_eq!(
            pay_request(&with("type", ""), "1001").unwrap().pay_type,
            None
        );
        let field_of = |e: Error| match e {
            Error::InvalidRequest { field, .. } => field,
            Error::InvalidAmount { .. } => "money",
            _ => "?",
        };
        let bad: Vec<(&str, Params, &str)> = vec![
            ("qqpay", with("type", "qqpay"), "type"),
            ("usdt", with("type", "usdt"), "type"),
            ("zero", with("money", "0"), "money"),
            ("negative", with("money", "-1"), "money"),
            ("three decimals", with("money", "1.005"), "money"),
            ("exponent", with("money", "1e2"), "money"),
            (
                "ftp notify",
                with("notify_url", "ftp://shop.test/n"),
                "notify_url",
            ),
            (
                "js return",
                with("return_url", "javascript:alert(1)"),
                "return_url",
            ),
            ("no name", with("name", ""), "name"),
            (
                "space in number",
                with("out_trade_no", "A 1"),
                "out_trade_no",
            ),
            (
                "long number",
                with(
                    "out_trade_no",
                    "0123456789012345678901234567890123456789012345678901234567890123456789",
                ),
                "out_trade_no",
            ),
        ];
        for (name, ps, field) in bad {
            let e = pay_request(&ps, "1001").expect_err(name);
            assert_eq!(field_of(e), field, "{name}");
        }
        let missing = {
            let mut ps = p(&base());
            ps.remove("notify_url");
            ps
        };
        assert_eq!(
            field_of(pay_request(&missing, "1001").unwrap_err()),
            "notify_url"
        );
    }

    #[test]
    fn type_and_device() {
        assert_eq!(PayType::Wxpay.channel(), LinkChannel::Wechat);
        assert_eq!(PayType::of_channel(LinkChannel::Alipay), PayType::Alipay);
        let asked = Some(PayType::Wxpay);
        assert_eq!(PayType::paid(asked, &ChannelType::Alipay), PayType::Alipay);
        assert_eq!(PayType::paid(None, &ChannelType::WeChat), PayType::Wxpay);
        assert_eq!(PayType::paid(asked, &ChannelType::Auto), PayType::Wxpay);
        assert_eq!(PayType::paid(None, &ChannelType::Auto), PayType::Alipay);
        assert_eq!(PayType::parse_stored("wxpay"), Some(PayType::Wxpay));
        assert_eq!(PayType::parse_stored("usdt"), None);
        let cases = [
            (None, PayAnswer::QrCode),
            (Some("pc"), PayAnswer::QrCode),
            (Some("tv"), PayAnswer::QrCode),
            (Some("mobile"), PayAnswer::PayUrl),
            (Some("qq"), PayAnswer::PayUrl),
            (Some("wechat"), PayAnswer::PayUrl),
            (Some("alipay"), PayAnswer::PayUrl),
            (Some("jump"), PayAnswer::PayUrl),
        ];
        for (device, want) in cases {
            assert_eq!(pay_answer(Device::parse(device)), want, "{device:?}");
        }
    }

    #[test]
    fn same_number_same_trade_never_a_second_charge() {
        let req = pay_request(&p(&base()), "1001").unwrap();
        let cases = [
            (None, Reuse::New),
            (Some((Fen::from_fen(1250), "Plan")), Reuse::Same),
            (Some((Fen::from_fen(1251), "Plan")), Reuse::Conflict),
            (Some((Fen::from_fen(1250), "Other")), Reuse::Conflict),
        ];
        for (stored, want) in cases {
            assert_eq!(reuse(stored, &req), want, "{stored:?}");
        }
    }

    #[test]
    fn results_carry_no_empty_field_and_verify() {
        let trade = Trade {
            pid: "1001",
            trade_no: "T1",
            out_trade_no: "A1",
            pay_type: PayType::Alipay,
            name: "VIP 会员",
            money: Fen::from_fen(100),
            param: None,
        };
        let r = result_params(&trade, KEY);
        assert!(!r.contains_key("param"));
        assert!(r.values().all(|v| !v.is_empty()));
        assert_eq!(r["money"], "1.00");
        assert_eq!(r["trade_status"], "TRADE_SUCCESS");
        assert!(verify(&r, KEY));
        let with_param = result_params(
            &Trade {
                param: Some("a=1&b=2"),
                ..trade.clone()
            },
            KEY,
        );
        assert_eq!(with_param["param"], "a=1&b=2");
        let url = with_query("https://shop.test/r?x=1#top", &with_param);
        assert!(url.starts_with("https://shop.test/r?x=1&"), "{url}");
        assert!(url.contains("param=a%3D1%26b%3D2"), "{url}");
        assert!(url.contains("name=VIP%20%E4%BC%9A%E5%91%98"), "{url}");
        assert!(url.ends_with("#top"), "{url}");
        // What the app decodes verifies.
        let query = url.split_once('?').unwrap().1.trim_end_matches("#top");
        let decoded = params(
            soushou::envelope::parse_query(query)
                .into_iter()
                .filter(|(k, _)| k != "x"),
        );
        assert_eq!(decoded, with_param);
        assert!(verify(&decoded, KEY));
    }

    #[test]
    fn acknowledgements() {
        let cases = [
            (Some(200), "success", true),
            (Some(200), "success\n", true),
            (Some(200), "\u{feff}SUCCESS", true),
            (Some(200), "fail", false),
            (Some(200), "", false),
            (Some(200), "successful", false),
            (Some(500), "success", false),
            (None, "", false),
        ];
        for (status, body, want) in cases {
            assert_eq!(acknowledged(status, body), want, "{status:?} {body:?}");
        }
    }

    #[test]
    fn answers_as_clients_read_them() {
        let mapi = |device| {
            serde_json::to_value(Answer::ok(Mapi::new(
                "T1".into(),
                device,
                "https://p/c/x".into(),
            )))
            .unwrap()
        };
        assert_eq!(
            mapi(Device::Pc),
            serde_json::json!({"code": 1, "msg": "success", "trade_no": "T1", "qrcode": "https://p/c/x"})
        );
        assert_eq!(
            mapi(Device::Mobile),
            serde_json::json!({"code": 1, "msg": "success", "trade_no": "T1", "payurl": "https://p/c/x"})
        );
        let refused = Answer::<Api>::refused("no".into());
        assert_eq!(
            serde_json::to_value(refused).unwrap(),
            serde_json::json!({"code": -1, "msg": "no"})
        );
        let query = Answer::ok(Api::Query {
            pid: "1001".into(),
            active: 1,
        });
        assert_eq!(
            serde_json::to_value(query).unwrap(),
            serde_json::json!({"code": 1, "msg": "success", "pid": "1001", "active": 1})
        );
    }

    #[test]
    fn endpoints() {
        let cases = [
            ("/epay/submit.php", Some(Endpoint::Submit)),
            ("/epay//mapi.php", Some(Endpoint::Mapi)),
            ("/epayapi.php", Some(Endpoint::Api)),
            ("/epay/return", Some(Endpoint::Return)),
            ("/epay/", None),
            ("/epay/other.php", None),
            ("/c/epay", None),
            ("/api/pay", None),
        ];
        for (path, want) in cases {
            assert_eq!(endpoint("epay", path), want, "{path}");
        }
        assert_eq!(
            endpoint("pay/epay", "/pay/epay/submit.php"),
            Some(Endpoint::Submit)
        );
        assert_eq!(time(0), "1970-01-01 00:00:00");
    }

    #[test]
    fn refund_numbers() {
        let f = Fen::from_fen(100);
        assert_eq!(refund_no("T1", None, f).unwrap(), "ET1-100");
        assert_eq!(refund_no("T1", Some(""), f).unwrap(), "ET1-100");
        assert_eq!(refund_no("T1", Some("R9"), f).unwrap(), "ER9");
        assert!(refund_no("T1", Some("bad no"), f).is_err());
    }
}
