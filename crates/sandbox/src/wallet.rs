//! The two wallets' sign-in rules as the providers document them, pure: the
//! sandbox's own reading of WeChat web authorization (`snsapi_base`) and of
//! Alipay user authorization (`auth_base` + `alipay.system.oauth.token`).
//!
//! Written from the providers' pages, not from our client (`checkout::oauth`,
//! which the Worker uses): the sandbox is the counterparty, and a rule it
//! shared with the client would agree with the client's mistakes.
//!
//! - WeChat, "网页授权" (Official Accounts): the authorize link's parameters
//!   `appid, redirect_uri, response_type=code, scope, state` must come in
//!   that order (WeChat matches the link strictly and refuses another
//!   order); `state` is at most 128 bytes of `a-zA-Z0-9`. Allowed, the
//!   shopper returns to `redirect_uri?code=CODE&state=STATE`; denied, with
//!   `state` only. `sns/oauth2/access_token` answers `errcode`/`errmsg` on
//!   failure (global return codes: 40013 invalid appid, 40125 invalid
//!   appsecret, 40002 invalid grant type, 40029 invalid code, 40163 code
//!   used, 42003 code expired; a code lives five minutes and is used once).
//! - Alipay, "用户信息授权" and "自行实现签名": `publicAppAuthorize.htm`
//!   takes `app_id`, `scope`, `redirect_uri` (and an optional `state`) and
//!   returns `redirect_uri?app_id=…&source=alipay_wallet&scope=auth_base&
//!   auth_code=…&state=…`. A request's sign content is every parameter but
//!   `sign` whose value is not empty — `sign_type` included, unlike the
//!   asynchronous notifications' — sorted by name in ASCII order, as
//!   `name=value` joined by `&`, values as sent (not URL-encoded). Missing
//!   public parameters answer `40001 Missing Required Arguments`, invalid
//!   ones `40002 Invalid Arguments`, each with its `isv.*` sub code. The
//!   answer signs the exact JSON text of its response node.

use crate::html::encode_segment as encode;

/// Alipay's code exchange: the only `method` the sandbox's `gateway.do` serves.
pub const TOKEN_METHOD: &str = "alipay.system.oauth.token";

/// The longest WeChat `state`, bytes.
const WECHAT_STATE_MAX: usize = 128;

/// The wallet a sign-in is simulated for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wallet {
    /// WeChat web authorization; the id is an `openid` of the app.
    Wechat,
    /// Alipay user authorization; the id is a `2088…` user id.
    Alipay,
}

impl Wallet {
    /// The name in the sandbox's own URLs and control API.
    pub fn name(self) -> &'static str {
        match self {
            Wallet::Wechat => "wechat",
            Wallet::Alipay => "alipay",
        }
    }

    /// The wallet called `name` (as [`Wallet::name`] spells it).
    pub fn named(name: &str) -> Option<Wallet> {
        [Wallet::Wechat, Wallet::Alipay]
            .into_iter()
            .find(|w| w.name() == name)
    }

    /// The wallet's own name, for the pages.
    pub fn title(self) -> &'static str {
        match self {
            Wallet::Wechat => "WeChat",
            Wallet::Alipay => "Alipay",
        }
    }
}

/// An authorize request that follows its wallet's rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorize {
    /// The app asking who the shopper is.
    pub app_id: String,
    /// Where the shopper goes back to (absolute http(s) URL).
    pub redirect_uri: String,
    /// Returned untouched to the merchant (empty when not sent).
    pub state: String,
}

fn absolute(redirect_uri: &str) -> Result<(), &'static str> {
    if redirect_uri.starts_with("http://") || redirect_uri.starts_with("https://") {
        Ok(())
    } else {
        Err("redirect_uri must be an http(s) URL")
    }
}

/// WeChat's authorize link, from its query pairs in the order sent: exactly
/// `appid, redirect_uri, response_type, scope` and optionally `state`.
pub fn wechat_authorize(pairs: &[(String, String)]) -> Result<Authorize, &'static str> {
    const ORDER: [&str; 5] = ["appid", "redirect_uri", "response_type", "scope", "state"];
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    if names != ORDER[..4] && names != ORDER {
        return Err(
            "parameters must be appid, redirect_uri, response_type, scope, state in this order",
        );
    }
    if pairs[2].1 != "code" || pairs[3].1 != "snsapi_base" {
        return Err("response_type=code and scope=snsapi_base expected");
    }
    let state = pairs.get(4).map(|(_, v)| v.clone()).unwrap_or_default();
    if state.len() > WECHAT_STATE_MAX || !state.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err("state must be at most 128 characters of a-zA-Z0-9");
    }
    absolute(&pairs[1].1)?;
    Ok(Authorize {
        app_id: pairs[0].1.clone(),
        redirect_uri: pairs[1].1.clone(),
        state,
    })
}

/// The first value of `name` among `pairs`.
pub fn value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Alipay's authorize link: `app_id`, `scope=auth_base`, `redirect_uri`,
/// optionally `state`, in any order.
pub fn alipay_authorize(pairs: &[(String, String)]) -> Result<Authorize, &'static str> {
    if value(pairs, "scope") != Some("auth_base") {
        return Err("scope=auth_base expected");
    }
    let (Some(app_id), Some(redirect_uri)) = (value(pairs, "app_id"), value(pairs, "redirect_uri"))
    else {
        return Err("app_id and redirect_uri are required");
    };
    absolute(redirect_uri)?;
    Ok(Authorize {
        app_id: app_id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        state: value(pairs, "state").unwrap_or("").to_owned(),
    })
}

/// Where the shopper's choice sends them back: with a code when allowed
/// (`Some`), with the `state` only when denied.
pub fn callback(wallet: Wallet, asked: &Authorize, code: Option<&str>) -> String {
    let sep = if asked.redirect_uri.contains('?') {
        '&'
    } else {
        '?'
    };
    let state = encode(&asked.state);
    let query = match (wallet, code) {
        (_, None) => format!("state={state}"),
        (Wallet::Wechat, Some(code)) => format!("code={}&state={state}", encode(code)),
        (Wallet::Alipay, Some(code)) => format!(
            "app_id={}&source=alipay_wallet&scope=auth_base&auth_code={}&state={state}",
            encode(&asked.app_id),
            encode(code)
        ),
    };
    format!("{}{sep}{query}", asked.redirect_uri)
}

/// Why a code exchange fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeError {
    /// Never issued, or issued to another app or wallet.
    Unknown,
    /// Exchanged before.
    Used,
    /// Older than five minutes.
    Expired,
}

/// What WeChat's `sns/oauth2/access_token` is asked.
#[derive(Clone, Copy, Debug)]
pub struct WechatToken<'a> {
    /// `appid`.
    pub app_id: &'a str,
    /// `secret`.
    pub secret: &'a str,
    /// `grant_type`.
    pub grant_type: &'a str,
}

/// WeChat's `errcode` and `errmsg` for a request it refuses before looking
/// at the code: an unknown app (`secret_of` has no secret for it), a wrong
/// secret, a grant type other than `authorization_code`.
pub fn wechat_refusal(
    req: WechatToken<'_>,
    secret_of: impl Fn(&str) -> Option<String>,
) -> Option<(i64, &'static str)> {
    match secret_of(req.app_id) {
        None => Some((40013, "invalid appid")),
        Some(secret) if secret != req.secret => Some((40125, "invalid appsecret")),
        Some(_) if req.grant_type != "authorization_code" => Some((40002, "invalid grant_type")),
        Some(_) => None,
    }
}

/// WeChat's `errcode` and `errmsg` for a code it does not exchange.
pub fn wechat_code_error(e: CodeError) -> (i64, &'static str) {
    match e {
        CodeError::Unknown => (40029, "invalid code"),
        CodeError::Used => (40163, "code been used"),
        CodeError::Expired => (42003, "code expired"),
    }
}

/// An Alipay gateway error: `error_response`'s four fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlipayError {
    /// `40001` (a parameter is missing) or `40002` (a parameter is wrong).
    pub code: &'static str,
    /// The code's fixed text.
    pub msg: &'static str,
    /// The `isv.*` detail.
    pub sub_code: &'static str,
    /// The detail in words.
    pub sub_msg: String,
}

impl AlipayError {
    fn missing(sub_code: &'static str, what: &str) -> AlipayError {
        AlipayError {
            code: "40001",
            msg: "Missing Required Arguments",
            sub_code,
            sub_msg: format!("{what} is missing"),
        }
    }

    /// A `40002 Invalid Arguments` error.
    pub fn invalid(sub_code: &'static str, sub_msg: impl Into<String>) -> AlipayError {
        AlipayError {
            code: "40002",
            msg: "Invalid Arguments",
            sub_code,
            sub_msg: sub_msg.into(),
        }
    }
}

/// Alipay's sign content of a request: every parameter but `sign` whose
/// value is not empty, sorted by name (ASCII), `name=value` joined by `&`.
pub fn sign_content(pairs: &[(String, String)]) -> String {
    let mut signed: Vec<&(String, String)> = pairs
        .iter()
        .filter(|(k, v)| k != "sign" && !v.is_empty())
        .collect();
    // By name alone: sorting the joined `name=value` text would put `a1=`
    // before `a=` (`1` < `=`).
    signed.sort_by(|a, b| a.0.cmp(&b.0));
    signed
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Whether `s` is `yyyy-MM-dd HH:mm:ss` with fields in range.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let shape = b.len() == 19
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b' ',
            13 | 16 => *c == b':',
            _ => c.is_ascii_digit(),
        });
    let field = |at: usize| s[at..at + 2].parse::<u32>().unwrap_or(99);
    shape
        && (1..=12).contains(&field(5))
        && (1..=31).contains(&field(8))
        && field(11) < 24
        && field(14) < 60
        && field(17) < 60
}

/// The public request parameters' checks, before the signature: each
/// required one present, `charset` UTF-8 (the only one the sandbox reads),
/// `sign_type` RSA2 (the only algorithm it simulates), `timestamp` shaped.
pub fn check_public(pairs: &[(String, String)]) -> Result<(), AlipayError> {
    let required = [
        ("app_id", "isv.missing-app-id"),
        ("method", "isv.missing-method"),
        ("sign", "isv.missing-signature"),
        ("sign_type", "isv.missing-signature-type"),
        ("timestamp", "isv.missing-timestamp"),
        ("version", "isv.missing-version"),
    ];
    for (name, sub_code) in required {
        if value(pairs, name).is_none_or(str::is_empty) {
            return Err(AlipayError::missing(sub_code, name));
        }
    }
    if !value(pairs, "charset").is_some_and(|c| c.eq_ignore_ascii_case("utf-8")) {
        return Err(AlipayError::invalid(
            "isv.invalid-charset",
            "charset must be utf-8",
        ));
    }
    if value(pairs, "sign_type") != Some("RSA2") {
        return Err(AlipayError::invalid(
            "isv.invalid-signature-type",
            "sign_type must be RSA2",
        ));
    }
    if !value(pairs, "timestamp").is_some_and(is_timestamp) {
        return Err(AlipayError::invalid(
            "isv.invalid-timestamp",
            "timestamp must be yyyy-MM-dd HH:mm:ss",
        ));
    }
    Ok(())
}

/// The business checks of `alipay.system.oauth.token` once the signature
/// holds: the method, and `grant_type=authorization_code` (refresh tokens
/// are not simulated).
pub fn check_token_request(pairs: &[(String, String)]) -> Result<(), AlipayError> {
    if value(pairs, "method") != Some(TOKEN_METHOD) {
        return Err(AlipayError::invalid(
            "isv.invalid-method",
            "only alipay.system.oauth.token is simulated",
        ));
    }
    if value(pairs, "grant_type") != Some("authorization_code") {
        return Err(AlipayError::invalid(
            "isv.grant-type-invalid",
            "only grant_type=authorization_code is simulated",
        ));
    }
    Ok(())
}

/// `isv.code-invalid` for a code Alipay does not exchange.
pub fn alipay_code_error(e: CodeError) -> AlipayError {
    AlipayError::invalid(
        "isv.code-invalid",
        match e {
            CodeError::Unknown => "auth_code invalid",
            CodeError::Used => "auth_code used",
            CodeError::Expired => "auth_code expired",
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn wechat_authorize_takes_the_documented_order_only() {
        let ok = pairs(&[
            ("appid", "wx1"),
            ("redirect_uri", "https://m.example/oauth/wechat"),
            ("response_type", "code"),
            ("scope", "snsapi_base"),
            ("state", "abc123"),
        ]);
        assert_eq!(
            wechat_authorize(&ok),
            Ok(Authorize {
                app_id: "wx1".into(),
                redirect_uri: "https://m.example/oauth/wechat".into(),
                state: "abc123".into(),
            })
        );
        assert_eq!(wechat_authorize(&ok[..4]).unwrap().state, "");
        let mut swapped = ok.clone();
        swapped.swap(2, 3);
        assert!(wechat_authorize(&swapped).is_err());
        let mut extra = ok.clone();
        extra.push(("lang".into(), "en".into()));
        assert!(wechat_authorize(&extra).is_err());
        let with = |i: usize, v: &str| {
            let mut p = ok.clone();
            p[i].1 = v.into();
            wechat_authorize(&p)
        };
        assert!(with(2, "token").is_err());
        assert!(with(3, "snsapi_userinfo").is_err());
        assert!(with(1, "/oauth/wechat").is_err());
        assert!(with(4, "a.b").is_err());
        assert!(with(4, &"a".repeat(129)).is_err());
        assert!(with(4, &"a".repeat(128)).is_ok());
    }

    #[test]
    fn alipay_authorize_needs_auth_base_app_and_redirect() {
        let ok = pairs(&[
            ("app_id", "2021"),
            ("scope", "auth_base"),
            ("redirect_uri", "http://127.0.0.1:1/oauth/alipay"),
            ("state", "s"),
        ]);
        assert_eq!(alipay_authorize(&ok).unwrap().app_id, "2021");
        assert!(alipay_authorize(&ok[1..]).is_err());
        assert!(alipay_authorize(&pairs(&[
            ("app_id", "2021"),
            ("scope", "auth_user"),
            ("redirect_uri", "http://x/"),
        ]))
        .is_err());
    }

    #[test]
    fn callbacks_carry_code_and_state_as_each_wallet_documents() {
        let asked = Authorize {
            app_id: "2021 x".into(),
            redirect_uri: "https://m.example/cb".into(),
            state: "s t".into(),
        };
        assert_eq!(
            callback(Wallet::Wechat, &asked, Some("c1")),
            "https://m.example/cb?code=c1&state=s%20t"
        );
        assert_eq!(
            callback(Wallet::Alipay, &asked, Some("c1")),
            "https://m.example/cb?app_id=2021%20x&source=alipay_wallet&scope=auth_base\
             &auth_code=c1&state=s%20t"
        );
        let queried = Authorize {
            redirect_uri: "https://m.example/cb?x=1".into(),
            ..asked
        };
        assert_eq!(
            callback(Wallet::Alipay, &queried, None),
            "https://m.example/cb?x=1&state=s%20t"
        );
    }

    #[test]
    fn wechat_refusals_in_order() {
        let secret_of = |app: &str| (app == "wx1").then(|| "s3cret".to_owned());
        let req = |app_id, secret, grant_type| WechatToken {
            app_id,
            secret,
            grant_type,
        };
        let code = "authorization_code";
        assert_eq!(wechat_refusal(req("wx1", "s3cret", code), secret_of), None);
        assert_eq!(
            wechat_refusal(req("wx2", "s3cret", code), secret_of),
            Some((40013, "invalid appid"))
        );
        assert_eq!(
            wechat_refusal(req("wx1", "wrong", code), secret_of),
            Some((40125, "invalid appsecret"))
        );
        assert_eq!(
            wechat_refusal(req("wx1", "s3cret", "refresh_token"), secret_of),
            Some((40002, "invalid grant_type"))
        );
        assert_eq!(wechat_code_error(CodeError::Used).0, 40163);
        assert_eq!(wechat_code_error(CodeError::Expired).0, 42003);
        assert_eq!(wechat_code_error(CodeError::Unknown).0, 40029);
    }

    /// Alipay's own example of the rule: sorted, `sign` and empty values
    /// left out, `sign_type` kept, values raw.
    #[test]
    fn sign_content_follows_the_request_rule() {
        let p = pairs(&[
            ("timestamp", "2014-07-24 03:07:50"),
            ("sign", "ignored"),
            ("app_id", "2014072300007148"),
            ("biz_content", "{\"a\":\"b c&d\"}"),
            ("sign_type", "RSA2"),
            ("notify_url", ""),
            ("method", "alipay.mobile.public.menu.add"),
            ("charset", "GBK"),
            ("version", "1.0"),
        ]);
        assert_eq!(
            sign_content(&p),
            "app_id=2014072300007148&biz_content={\"a\":\"b c&d\"}&charset=GBK\
             &method=alipay.mobile.public.menu.add&sign_type=RSA2\
             &timestamp=2014-07-24 03:07:50&version=1.0"
        );
        // A name that prefixes another sorts first, whatever follows it.
        let p = pairs(&[("app_id_x", "1"), ("a1", "3"), ("app_id", "2"), ("a", "4")]);
        assert_eq!(sign_content(&p), "a=4&a1=3&app_id=2&app_id_x=1");
    }

    #[test]
    fn public_parameters_are_checked_before_the_signature() {
        let ok = pairs(&[
            ("app_id", "2021"),
            ("method", TOKEN_METHOD),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("sign", "x"),
            ("timestamp", "2015-10-14 04:43:14"),
            ("version", "1.0"),
            ("grant_type", "authorization_code"),
        ]);
        assert_eq!(check_public(&ok), Ok(()));
        assert_eq!(check_token_request(&ok), Ok(()));
        let without = |name: &str| {
            let p: Vec<_> = ok.iter().filter(|(k, _)| k != name).cloned().collect();
            check_public(&p).map_err(|e| (e.code, e.sub_code))
        };
        assert_eq!(without("sign"), Err(("40001", "isv.missing-signature")));
        assert_eq!(without("app_id"), Err(("40001", "isv.missing-app-id")));
        assert_eq!(without("version"), Err(("40001", "isv.missing-version")));
        assert_eq!(without("charset"), Err(("40002", "isv.invalid-charset")));
        let with = |name: &str, v: &str| {
            let mut p = ok.clone();
            p.iter_mut().find(|(k, _)| k == name).unwrap().1 = v.into();
            (check_public(&p).err(), check_token_request(&p).err())
        };
        let sub = |e: Option<AlipayError>| e.map(|e| e.sub_code);
        assert_eq!(
            sub(with("sign_type", "RSA").0),
            Some("isv.invalid-signature-type")
        );
        for bad in [
            "2015-10-14T04:43:14",
            "2015-13-14 04:43:14",
            "2015-10-14 24:00:00",
            "1444768994",
        ] {
            assert_eq!(
                sub(with("timestamp", bad).0),
                Some("isv.invalid-timestamp"),
                "{bad}"
            );
        }
        assert_eq!(
            sub(with("method", "alipay.trade.pay").1),
            Some("isv.invalid-method")
        );
        assert_eq!(
            sub(with("grant_type", "refresh_token").1),
            Some("isv.grant-type-invalid")
        );
        assert_eq!(
            alipay_code_error(CodeError::Used).sub_code,
            "isv.code-invalid"
        );
    }
}
