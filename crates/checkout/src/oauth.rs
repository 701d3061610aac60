//! Wallet sign-in, pure: WeChat web authorization (`snsapi_base`) and Alipay
//! user authorization (`auth_base`), so a checkout link opened inside either
//! app learns the shopper's `openid` / `buyerId` without a merchant server.
//!
//! The Worker owns the I/O (redirects, the code exchange, WebCrypto RSA, D1);
//! everything decidable is here, with the clock and nonces injected:
//! - [`sign_in`]: whether `GET /c/{token}` goes to the wallet first.
//! - [`authorize_url`]: where it goes.
//! - [`new_state`] / [`StateParts`]: the `state` parameter, HMAC-signed with
//!   the link secret, bound to the link and the wallet, short-lived; the
//!   Worker also records its nonce so that it is used once.
//! - [`sign_id`] / [`read_id`]: the shopper id handed back to the page as
//!   `?openid=` / `?buyer_id=`, encrypted, signed and bound to the link, so
//!   the Worker can tell a verified id from one merely typed into the URL
//!   and the URL never shows it (the page then removes it from the address bar).
//! - WeChat's `sns/oauth2/access_token` URL and answer; Alipay's
//!   `alipay.system.oauth.token` request parameters, sign content (RSA2 is
//!   signed over it) and answer, whose signature covers the raw JSON text of
//!   the response node.
//!
//! This module is the wallets' translation room, as `crate::gateway` is
//! SOUSHOU's: every request to WeChat's and Alipay's sign-in endpoints is
//! built here and every answer read here (the Worker adds only the fetch
//! and WebCrypto's RSA2), each with its table test:
//!
//! | exchange | builder | answer mapping |
//! |---|---|---|
//! | WeChat authorize page | [`authorize_url`] ([`redirect_uri`], [`new_state`]) | callback: [`StateParts`] (`code` in [`Wallet::code_param`]) |
//! | WeChat `sns/oauth2/access_token` | [`wechat_token_url`] | [`wechat_openid`] → openid or [`Error::SignInFailed`] |
//! | Alipay authorize page | [`authorize_url`] ([`redirect_uri`], [`new_state`]) | callback: [`StateParts`] (`auth_code`) |
//! | Alipay `alipay.system.oauth.token` | [`alipay_token_params`] → [`sign_content`] (RSA2 by the Worker) → [`form_body`] | [`alipay_answer`] → [`AlipaySigned`] (verify [`AlipaySigned::content`], then [`AlipaySigned::buyer_id`]) |
//! | the keys of both | [`key_der`] (PEM or bare base64) | — |
//! | back to the page | [`sign_id`] | [`read_id`] → [`ShopperId`] |

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::api::LinkChannel;
use crate::error::Error;
use crate::link::LinkKeys;
use crate::routing::Environment;

/// How long a `state` may wait for the shopper at the wallet, seconds.
pub const STATE_TTL_SECS: u64 = 600;
/// How long a signed shopper id stays usable on its link, seconds: long
/// enough to pay after a pause, short enough that a leaked page URL soon
/// stops naming the shopper.
pub const ID_TTL_SECS: u64 = 2 * 3600;
/// `?signin=skip`: this visit does not sign in (the shopper declined, or
/// chose another way to pay after a failure), so no redirect loop is possible.
pub const SKIP_PARAM: (&str, &str) = ("signin", "skip");

/// How many sign-ins may start per [`STATE_TTL_SECS`] window (issue 24,
/// defect 2): every start records one `oauth_states` row, so a script
/// opening a printed counter code inside a wallet User-Agent must not be
/// able to fill D1. Past a limit the page is served without sign-in (the
/// shopper can still pay by QR or in the browser); nothing is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartLimit {
    /// Starts per link per window, from all clients together.
    pub per_link: u64,
    /// Starts per client ([`crate::guard::client_id`] of its IP) per
    /// window, all links together.
    pub per_client: u64,
}

/// The limits the Worker applies: a shopper needs one or two starts per
/// visit; a counter code at rush hour sees a few dozen shoppers per ten
/// minutes, some behind one carrier NAT. At most `per_link` rows per link
/// per window whatever the flood, and one IP alone reaches only
/// `per_client`.
pub const START_LIMIT: StartLimit = StartLimit {
    per_link: 100,
    per_client: 30,
};

/// Rows the cron's purge deletes per run: bounded, so one run never holds
/// D1 for long; a minute's cron at this size outpaces any creation rate
/// [`START_LIMIT`] allows.
pub const PURGE_BATCH: u64 = 1000;

/// Starts counted for a limit at `now`: those recorded after this.
pub fn window_start(now: u64) -> u64 {
    now.saturating_sub(STATE_TTL_SECS)
}

/// The cookie that binds a sign-in to the browser that started it (issue
/// 24, defect 3): set with the redirect to the wallet, checked at the
/// callback, so a captured callback URL opened in another browser signs
/// nobody in. `Path=/oauth`, `HttpOnly`, `SameSite=Lax` (the wallet sends
/// the shopper back with a top-level GET, which carries Lax cookies).
pub const BROWSER_COOKIE: &str = "signin";

/// The cookie's value for the state with `nonce`: the link secret's MAC of
/// the nonce. The nonce travels in the callback URL; the MAC does not, and
/// only the Worker can make it, so knowing the URL is not enough.
fn browser_proof(keys: &LinkKeys, nonce: &str) -> Vec<u8> {
    keys.mac(&format!("oauth-browser\n{nonce}"), 16)
}

/// The `Set-Cookie` value for a sign-in started with `nonce`; `secure`
/// when the Worker is served over https (`PUBLIC_BASE_URL`).
pub fn browser_cookie(keys: &LinkKeys, nonce: &str, secure: bool) -> String {
    format!(
        "{BROWSER_COOKIE}={}; Path=/oauth; Max-Age={STATE_TTL_SECS}; HttpOnly; SameSite=Lax{}",
        hex(&browser_proof(keys, nonce)),
        if secure { "; Secure" } else { "" }
    )
}

/// Whether the callback's `Cookie` header carries the proof for `nonce`
/// (under any link key, so a secret rotation mid-sign-in does not fail it).
pub fn same_browser(keys: &LinkKeys, cookie_header: Option<&str>, nonce: &str) -> bool {
    cookie_header
        .unwrap_or_default()
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .filter(|(name, _)| *name == BROWSER_COOKIE)
        .filter_map(|(_, value)| unhex(value))
        .any(|mac| keys.mac_matches(&format!("oauth-browser\n{nonce}"), &mac))
}

/// Bytes of the nonce in a `state` (hex in the parameter).
const NONCE_BYTES: usize = 12;
/// Bytes of HMAC kept in a `state` (hex): WeChat allows 128 characters of
/// `[a-zA-Z0-9]`, and 128 bits is plenty for a value that lives ten minutes.
const STATE_MAC_BYTES: usize = 16;
/// Prefix of a signed shopper id; raw openids and Alipay ids never contain `.`.
const SIGNED_ID_PREFIX: &str = "s2.";

/// The wallet whose sign-in this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wallet {
    /// WeChat: the id is the `openid` for `WECHAT_APPID` (JSAPI `subOpenid`).
    Wechat,
    /// Alipay: the id is the `user_id` / `open_id` (`creatOrder` `buyerId`).
    Alipay,
}

impl Wallet {
    /// The callback path segment: `/oauth/{wallet}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Wallet::Wechat => "wechat",
            Wallet::Alipay => "alipay",
        }
    }

    /// The page's query parameter that carries this wallet's shopper id.
    pub fn id_param(self) -> &'static str {
        match self {
            Wallet::Wechat => "openid",
            Wallet::Alipay => "buyer_id",
        }
    }

    /// The callback's query parameter with the authorization code.
    pub fn code_param(self) -> &'static str {
        match self {
            Wallet::Wechat => "code",
            Wallet::Alipay => "auth_code",
        }
    }
}

/// What the Worker knows about one `GET /c/{token}` visit.
#[derive(Clone, Copy, Debug)]
pub struct Visit {
    /// The app the page is opened in (`routing::detect` of the User-Agent).
    pub env: Environment,
    /// The link's restriction to one payment app.
    pub channel: Option<LinkChannel>,
    /// Whether WeChat sign-in is configured (`WECHAT_APPID` and secret).
    pub wechat: bool,
    /// Whether Alipay sign-in is configured (app id and both keys).
    pub alipay: bool,
    /// Whether the URL already carries a usable id for the wallet of `env`
    /// ([`accept_id`]: signed for this link and unexpired; an unsigned one
    /// only counts while that wallet's sign-in is not configured, and then
    /// no sign-in starts anyway).
    pub has_id: bool,
    /// `?signin=skip`, or a wap return (`?charge_code=`): no sign-in now.
    pub skip: bool,
}

/// The wallet to sign in with before serving the page, if any: only inside
/// that wallet, only when it is configured, only when the link can be paid
/// with it and only once per visit.
pub fn sign_in(v: &Visit) -> Option<Wallet> {
    if v.has_id || v.skip {
        return None;
    }
    match v.env {
        Environment::WeChat if v.wechat && v.channel != Some(LinkChannel::Alipay) => {
            Some(Wallet::Wechat)
        }
        Environment::Alipay if v.alipay && v.channel != Some(LinkChannel::Wechat) => {
            Some(Wallet::Alipay)
        }
        _ => None,
    }
}

/// `{PUBLIC_BASE_URL}/oauth/{wallet}`: where the wallet sends the shopper back.
pub fn redirect_uri(public_base_url: &str, wallet: Wallet) -> String {
    format!(
        "{}/oauth/{}",
        public_base_url.trim_end_matches('/'),
        wallet.as_str()
    )
}

/// The wallet's authorization page. WeChat's parameters must come in its
/// documented order and end with `#wechat_redirect`; `oauth_base` is
/// `WECHAT_OAUTH_BASE` (default `https://open.weixin.qq.com`) or
/// `ALIPAY_OAUTH_BASE` (default `https://openauth.alipay.com`).
pub fn authorize_url(
    wallet: Wallet,
    oauth_base: &str,
    app_id: &str,
    redirect_uri: &str,
    state: &str,
) -> String {
    let base = oauth_base.trim_end_matches('/');
    let (app_id, redirect_uri) = (encode(app_id), encode(redirect_uri));
    match wallet {
        Wallet::Wechat => format!(
            "{base}/connect/oauth2/authorize?appid={app_id}&redirect_uri={redirect_uri}\
             &response_type=code&scope=snsapi_base&state={state}#wechat_redirect"
        ),
        Wallet::Alipay => format!(
            "{base}/oauth2/publicAppAuthorize.htm?app_id={app_id}&scope=auth_base\
             &redirect_uri={redirect_uri}&state={state}"
        ),
    }
}

fn state_message(wallet: Wallet, link_id: &str, exp: u64, nonce: &str) -> String {
    format!(
        "oauth-state\n{}\n{link_id}\n{exp}\n{nonce}",
        wallet.as_str()
    )
}

/// A new `state` for a sign-in with `wallet` on the link `link_id`:
/// `{expiry: 8 hex}{nonce: 24 hex}{mac: 32 hex}`, only `[0-9a-f]` as WeChat
/// requires. `nonce_hex` is 24 random hex digits from the caller.
pub fn new_state(
    keys: &LinkKeys,
    wallet: Wallet,
    link_id: &str,
    nonce_hex: &str,
    now: u64,
) -> String {
    let exp = now + STATE_TTL_SECS;
    let mac = keys.mac(
        &state_message(wallet, link_id, exp, nonce_hex),
        STATE_MAC_BYTES,
    );
    format!("{exp:08x}{nonce_hex}{}", hex(&mac))
}

/// A callback's `state`, split but not yet trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateParts {
    exp: u64,
    /// The nonce: the Worker's key for the link this sign-in started from.
    pub nonce: String,
    mac: Vec<u8>,
}

impl StateParts {
    /// Splits a `state`; anything not shaped like [`new_state`]'s output is forged.
    pub fn parse(state: &str) -> Result<StateParts, Error> {
        let forged = Error::SignInInvalid { reason: "forged" };
        let exp_len = 8;
        let nonce_len = NONCE_BYTES * 2;
        if state.len() != exp_len + nonce_len + STATE_MAC_BYTES * 2
            || !state
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(forged);
        }
        let exp = u64::from_str_radix(&state[..exp_len], 16).map_err(|_| forged.clone())?;
        let mac = unhex(&state[exp_len + nonce_len..]).ok_or(forged)?;
        Ok(StateParts {
            exp,
            nonce: state[exp_len..exp_len + nonce_len].to_owned(),
            mac,
        })
    }

    /// Expired at `now`? Checked before the store is asked: an expired
    /// state is refused whether or not it is authentic.
    pub fn check_fresh(&self, now: u64) -> Result<(), Error> {
        if now >= self.exp {
            return Err(Error::SignInInvalid { reason: "expired" });
        }
        Ok(())
    }

    /// Whether the MAC binds this state to `wallet` and `link_id` (the link
    /// the Worker recorded under the nonce).
    pub fn check_bound(&self, keys: &LinkKeys, wallet: Wallet, link_id: &str) -> Result<(), Error> {
        let message = state_message(wallet, link_id, self.exp, &self.nonce);
        if keys.mac_matches(&message, &self.mac) {
            Ok(())
        } else {
            Err(Error::SignInInvalid { reason: "forged" })
        }
    }
}

fn id_message(wallet: Wallet, link_id: &str, exp: u64, nonce: &str, sealed: &str) -> String {
    format!(
        "oauth-id2\n{}\n{link_id}\n{exp}\n{nonce}\n{sealed}",
        wallet.as_str()
    )
}

/// `id` XOR a keystream of HMAC-SHA256 blocks under key `index` over the
/// nonce and the block number: encryption and decryption alike. The nonce
/// is fresh per signed id, so no two ids share a keystream.
fn keystream_xor(keys: &LinkKeys, index: usize, nonce: &str, data: &[u8]) -> Vec<u8> {
    data.chunks(32)
        .enumerate()
        .flat_map(|(block, chunk)| {
            let stream = keys.mac_with(index, &format!("oauth-id-stream\n{nonce}\n{block}"));
            chunk
                .iter()
                .zip(stream)
                .map(|(b, s)| b ^ s)
                .collect::<Vec<u8>>()
        })
        .collect()
}

/// The verified shopper id as the page carries it:
/// `s2.{nonce}.{sealed}.{exp}.{mac}`, the id encrypted (`sealed`, base64url
/// of the id XOR an HMAC keystream of the link secret) and the whole MACed
/// (encrypt-then-MAC): usable on `link_id` only, for [`ID_TTL_SECS`], and
/// unreadable in the URL, the platform's request log and anything a share
/// sends on (issue 24, defect 4). `nonce_hex`: 16 random hex digits from
/// the caller.
pub fn sign_id(
    keys: &LinkKeys,
    wallet: Wallet,
    link_id: &str,
    id: &str,
    now: u64,
    nonce_hex: &str,
) -> String {
    let exp = now + ID_TTL_SECS;
    let sealed = URL_SAFE_NO_PAD.encode(keystream_xor(keys, 0, nonce_hex, id.as_bytes()));
    let mac = keys.mac(&id_message(wallet, link_id, exp, nonce_hex, &sealed), 32);
    format!(
        "{SIGNED_ID_PREFIX}{nonce_hex}.{sealed}.{exp}.{}",
        URL_SAFE_NO_PAD.encode(mac)
    )
}

/// A shopper id the page sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShopperId {
    /// Signed by the Worker after a sign-in on this link.
    Verified(String),
    /// Typed into the URL by someone (a merchant's own sign-in's
    /// `?openid=` / `?buyer_id=`): accepted only while this wallet's
    /// sign-in is not configured ([`accept_id`]), the gateway then the judge.
    Unsigned(String),
}

/// The id a pay may name its shopper by, or whether a page visit already
/// has one (issue 24, defect 3). Once the wallet's sign-in is configured
/// the Worker itself learns who the shopper is, so an unsigned id can only
/// be somebody's guess or copy: it is refused ([`Error::SignInInvalid`]
/// `unsigned`; the page answers by signing in, `GET /c/{token}` starts the
/// sign-in instead of serving it). Without sign-in configured the unsigned
/// id is all there is (a merchant's own sign-in put it there) and is taken
/// as before. The User-Agent is the client's own word, so the rule does not
/// depend on it: `configured` is the wallet's setting only.
pub fn accept_id(id: ShopperId, configured: bool) -> Result<String, Error> {
    match id {
        ShopperId::Verified(id) => Ok(id),
        ShopperId::Unsigned(_) if configured => Err(Error::SignInInvalid { reason: "unsigned" }),
        ShopperId::Unsigned(id) => Ok(id),
    }
}

/// Reads a shopper id: a signed one must be this wallet's, this link's and
/// unexpired ([`Error::SignInInvalid`] otherwise); anything else is
/// unsigned. The readable `s1.` ids of before are refused as expired (they
/// lived two hours; the shopper signs in again).
pub fn read_id(
    keys: &LinkKeys,
    value: &str,
    wallet: Wallet,
    link_id: &str,
    now: u64,
) -> Result<ShopperId, Error> {
    if value.starts_with("s1.") {
        return Err(Error::SignInInvalid { reason: "expired" });
    }
    let Some(rest) = value.strip_prefix(SIGNED_ID_PREFIX) else {
        return Ok(ShopperId::Unsigned(value.to_owned()));
    };
    let forged = Error::SignInInvalid { reason: "forged" };
    let mut parts = rest.split('.');
    let (Some(nonce), Some(sealed), Some(exp), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(forged);
    };
    let exp: u64 = exp.parse().map_err(|_| forged.clone())?;
    let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| forged.clone())?;
    let key = keys
        .key_of(&id_message(wallet, link_id, exp, nonce, sealed), &mac)
        .ok_or(forged.clone())?;
    if now >= exp {
        return Err(Error::SignInInvalid { reason: "expired" });
    }
    let sealed = URL_SAFE_NO_PAD.decode(sealed).map_err(|_| forged.clone())?;
    let id = String::from_utf8(keystream_xor(keys, key, nonce, &sealed)).map_err(|_| forged)?;
    Ok(ShopperId::Verified(id))
}

/// WeChat's code exchange: `GET {WECHAT_API_BASE}/sns/oauth2/access_token`.
/// The URL holds the app secret: it is fetched, never logged.
pub fn wechat_token_url(api_base: &str, app_id: &str, secret: &str, code: &str) -> String {
    format!(
        "{}/sns/oauth2/access_token?appid={}&secret={}&code={}&grant_type=authorization_code",
        api_base.trim_end_matches('/'),
        encode(app_id),
        encode(secret),
        encode(code)
    )
}

/// The openid from WeChat's answer; `errcode` answers name what went wrong.
pub fn wechat_openid(body: &[u8]) -> Result<String, Error> {
    #[derive(Deserialize)]
    struct Answer {
        openid: Option<String>,
        errcode: Option<i64>,
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|_| Error::SignInFailed {
        reason: "unreadable answer",
    })?;
    let reason = match answer.errcode {
        None | Some(0) => {
            return answer
                .openid
                .filter(|s| !s.is_empty())
                .ok_or(Error::SignInFailed {
                    reason: "answer without openid",
                })
        }
        Some(40029) => "code invalid",
        Some(40163) => "code already used",
        Some(42003) => "code expired",
        Some(_) => "provider error",
    };
    Err(Error::SignInFailed { reason })
}

/// Alipay's `timestamp`: `yyyy-MM-dd HH:mm:ss`, China time (UTC+8).
pub fn alipay_timestamp(unix_secs: u64) -> String {
    let c = crate::format::civil(unix_secs, 8 * 3600);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The parameters of `alipay.system.oauth.token`, unsigned.
pub fn alipay_token_params(app_id: &str, auth_code: &str, now: u64) -> Vec<(&'static str, String)> {
    vec![
        ("app_id", app_id.to_owned()),
        ("method", "alipay.system.oauth.token".to_owned()),
        ("format", "JSON".to_owned()),
        ("charset", "utf-8".to_owned()),
        ("sign_type", "RSA2".to_owned()),
        ("timestamp", alipay_timestamp(now)),
        ("version", "1.0".to_owned()),
        ("grant_type", "authorization_code".to_owned()),
        ("code", auth_code.to_owned()),
    ]
}

/// Alipay's sign content: every parameter but `sign` with a non-empty
/// value, sorted by name, as `name=value` joined by `&`, values raw (not
/// URL-encoded). RSA2 signs its UTF-8 bytes, on both sides.
pub fn sign_content<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, v)| *k != "sign" && !v.is_empty())
        .collect();
    pairs.sort_unstable();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// An `application/x-www-form-urlencoded` body of `params`.
pub fn form_body<K: AsRef<str>, V: AsRef<str>>(params: &[(K, V)]) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k.as_ref()), encode(v.as_ref())))
        .collect::<Vec<_>>()
        .join("&")
}

/// A successful Alipay answer whose signature is still to be checked.
#[derive(Debug, PartialEq, Eq)]
pub struct AlipaySigned {
    /// The exact JSON text of `alipay_system_oauth_token_response`: what
    /// Alipay signed.
    pub content: String,
    /// The base64 RSA2 signature.
    pub signature: Vec<u8>,
    buyer_id: String,
}

impl AlipaySigned {
    /// The buyer id, once the caller has verified [`AlipaySigned::signature`]
    /// over [`AlipaySigned::content`] with `ALIPAY_PUBLIC_KEY`.
    pub fn buyer_id(self, signature_valid: bool) -> Result<String, Error> {
        if signature_valid {
            Ok(self.buyer_id)
        } else {
            Err(Error::SignInFailed {
                reason: "answer signature invalid",
            })
        }
    }
}

/// Reads `alipay.system.oauth.token`'s answer: `error_response` (or a
/// response node with a `code` other than `10000`) is a provider error; a
/// success must carry a signature and `user_id` or `open_id`.
pub fn alipay_answer(body: &str) -> Result<AlipaySigned, Error> {
    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        alipay_system_oauth_token_response: Option<&'a RawValue>,
        #[serde(borrow)]
        error_response: Option<&'a RawValue>,
        sign: Option<String>,
    }
    #[derive(Deserialize)]
    struct Node {
        code: Option<String>,
        sub_code: Option<String>,
        user_id: Option<String>,
        open_id: Option<String>,
    }
    let failed = |reason| Error::SignInFailed { reason };
    let env: Envelope = serde_json::from_str(body).map_err(|_| failed("unreadable answer"))?;
    let raw = match (env.alipay_system_oauth_token_response, env.error_response) {
        (Some(raw), None) => raw,
        (_, Some(err)) => {
            let node: Node =
                serde_json::from_str(err.get()).map_err(|_| failed("provider error"))?;
            return Err(failed(match node.sub_code.as_deref() {
                Some("isv.code-invalid") => "code invalid",
                Some("isv.invalid-signature") => "request signature refused",
                _ => "provider error",
            }));
        }
        (None, None) => return Err(failed("unreadable answer")),
    };
    let node: Node = serde_json::from_str(raw.get()).map_err(|_| failed("unreadable answer"))?;
    if node.code.as_deref().is_some_and(|c| c != "10000") {
        return Err(failed("provider error"));
    }
    let buyer_id = node
        .user_id
        .or(node.open_id)
        .filter(|s| !s.is_empty())
        .ok_or(failed("answer without user id"))?;
    let signature = env
        .sign
        .and_then(|s| STANDARD.decode(s.trim()).ok())
        .ok_or(failed("answer signature missing"))?;
    Ok(AlipaySigned {
        content: raw.get().to_owned(),
        signature,
        buyer_id,
    })
}

/// The DER bytes of a key given as PEM (`-----BEGIN ...-----` lines) or as
/// the bare base64 Alipay's console shows; `\n` escapes from a one-line
/// secret are tolerated. `None` when it is not base64.
pub fn key_der(key: &str) -> Option<Vec<u8>> {
    let body: String = key
        .replace("\\n", "\n")
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty())
}

/// Percent-encodes a query component: only RFC 3986 unreserved bytes stay.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> LinkKeys {
        LinkKeys::from_config(None, Some("k".repeat(32).as_str())).unwrap()
    }

    #[test]
    fn a_sign_in_belongs_to_the_browser_that_started_it() {
        let k = keys();
        let set = browser_cookie(&k, NONCE, false);
        assert!(set.starts_with("signin="), "{set}");
        assert!(
            set.contains("; Path=/oauth;") && set.contains("HttpOnly"),
            "{set}"
        );
        assert!(
            set.contains("SameSite=Lax") && !set.contains("Secure"),
            "{set}"
        );
        assert!(browser_cookie(&k, NONCE, true).ends_with("; Secure"));
        let pair = set.split(';').next().unwrap();
        let other_nonce = "ffffffffffffffffffffffff";
        let cases = [
            ("its own browser", Some(pair.to_owned()), NONCE, true),
            (
                "among other cookies",
                Some(format!("a=1; {pair}; b=2")),
                NONCE,
                true,
            ),
            ("no cookie: another browser", None, NONCE, false),
            (
                "another sign-in's cookie",
                Some(pair.to_owned()),
                other_nonce,
                false,
            ),
            (
                "a made-up value",
                Some("signin=00112233".to_owned()),
                NONCE,
                false,
            ),
            (
                "the nonce itself",
                Some(format!("signin={NONCE}")),
                NONCE,
                false,
            ),
        ];
        for (name, cookie, nonce, same) in cases {
            assert_eq!(same_browser(&k, cookie.as_deref(), nonce), same, "{name}");
        }
    }

    #[test]
    fn sign_in_starts_are_counted_per_link_and_per_client() {
        assert_eq!((START_LIMIT.per_client, START_LIMIT.per_link), (30, 100));
        assert_eq!(window_start(1_000), 400);
        assert_eq!(window_start(5), 0);
    }

    const NONCE: &str = "0123456789abcdef01234567";
    const NONCE16: &str = "0123456789abcdef";

    #[test]
    fn sign_in_only_inside_a_configured_wallet_once() {
        use Environment::*;
        let v = |env, channel, has_id, skip| Visit {
            env,
            channel,
            wechat: true,
            alipay: true,
            has_id,
            skip,
        };
        let cases = [
            (v(WeChat, None, false, false), Some(Wallet::Wechat)),
            (v(Alipay, None, false, false), Some(Wallet::Alipay)),
            (
                v(WeChat, Some(LinkChannel::Wechat), false, false),
                Some(Wallet::Wechat),
            ),
            (v(WeChat, Some(LinkChannel::Alipay), false, false), None),
            (v(Alipay, Some(LinkChannel::Wechat), false, false), None),
            (v(WeChat, None, true, false), None),
            (v(Alipay, None, false, true), None),
            (v(MobileBrowser, None, false, false), None),
            (v(Desktop, None, false, false), None),
            (
                Visit {
                    wechat: false,
                    ..v(WeChat, None, false, false)
                },
                None,
            ),
            (
                Visit {
                    alipay: false,
                    ..v(Alipay, None, false, false)
                },
                None,
            ),
            (
                Visit {
                    wechat: false,
                    ..v(Alipay, None, false, false)
                },
                Some(Wallet::Alipay),
            ),
        ];
        for (visit, want) in cases {
            assert_eq!(sign_in(&visit), want, "{visit:?}");
        }
    }

    #[test]
    fn authorize_urls_follow_the_providers_documents() {
        let redirect = redirect_uri("https://pay.example.com/", Wallet::Wechat);
        assert_eq!(redirect, "https://pay.example.com/oauth/wechat");
        assert_eq!(
            authorize_url(
                Wallet::Wechat,
                "https://open.weixin.qq.com",
                "wx520c15f417810387",
                &redirect,
                "ab12"
            ),
            "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx520c15f417810387\
             &redirect_uri=https%3A%2F%2Fpay.example.com%2Foauth%2Fwechat&response_type=code\
             &scope=snsapi_base&state=ab12#wechat_redirect"
        );
        assert_eq!(
            authorize_url(
                Wallet::Alipay,
                "https://openauth.alipay.com/",
                "2021000000000000",
                &redirect_uri("https://pay.example.com", Wallet::Alipay),
                "cd34"
            ),
            "https://openauth.alipay.com/oauth2/publicAppAuthorize.htm?app_id=2021000000000000\
             &scope=auth_base&redirect_uri=https%3A%2F%2Fpay.example.com%2Foauth%2Falipay&state=cd34"
        );
    }

    #[test]
    fn state_is_short_hex_bound_and_expiring() {
        let k = keys();
        let s = new_state(&k, Wallet::Wechat, "link1", NONCE, 1_000);
        assert_eq!(s.len(), 64);
        assert!(s.bytes().all(|b| b.is_ascii_hexdigit()));
        let p = StateParts::parse(&s).unwrap();
        assert_eq!(p.nonce, NONCE);
        assert_eq!(p.check_fresh(1_000 + STATE_TTL_SECS - 1), Ok(()));
        assert_eq!(p.check_bound(&k, Wallet::Wechat, "link1"), Ok(()));
        let expired = Err(Error::SignInInvalid { reason: "expired" });
        let forged = Err(Error::SignInInvalid { reason: "forged" });
        assert_eq!(p.check_fresh(1_000 + STATE_TTL_SECS), expired);
        assert_eq!(p.check_bound(&k, Wallet::Alipay, "link1"), forged);
        assert_eq!(p.check_bound(&k, Wallet::Wechat, "link2"), forged);
        let other = LinkKeys::from_config(None, Some("o".repeat(32).as_str())).unwrap();
        assert_eq!(p.check_bound(&other, Wallet::Wechat, "link1"), forged);
        // A pushed-back expiry breaks the MAC.
        let later = format!("{:08x}{}", 1_000 + 10 * STATE_TTL_SECS, &s[8..]);
        assert_eq!(
            StateParts::parse(&later)
                .unwrap()
                .check_bound(&k, Wallet::Wechat, "link1"),
            forged
        );
        // Rotation: a state signed with the old key still verifies.
        let rotated = LinkKeys::from_config(
            Some(&format!("{},{}", "n".repeat(32), "k".repeat(32))),
            None,
        )
        .unwrap();
        assert_eq!(p.check_bound(&rotated, Wallet::Wechat, "link1"), Ok(()));
        for bad in [
            "",
            "zz",
            &s[..63],
            &format!("{s}0"),
            &s.to_uppercase(),
            &s.replace(&s[40..41], "g"),
        ] {
            assert_eq!(
                StateParts::parse(bad).map(|_| ()),
                forged.clone(),
                "{bad:?}"
            );
        }
    }

    /// Issue 24 defect 4: the signed id travels in the page's URL (the
    /// callback's redirect, which the platform's request log records, and
    /// WeChat's share): no part of it may decode to the shopper's id.
    #[test]
    fn a_signed_id_does_not_show_the_id() {
        let id = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o";
        let v = sign_id(&keys(), Wallet::Wechat, "link1", id, 1_000, NONCE16);
        let other = sign_id(
            &keys(),
            Wallet::Wechat,
            "link1",
            id,
            1_000,
            "fedcba9876543210",
        );
        assert_ne!(
            v.split('.').nth(2),
            other.split('.').nth(2),
            "a fresh keystream"
        );
        for part in v.split('.') {
            let decoded = URL_SAFE_NO_PAD.decode(part).unwrap_or_default();
            assert!(
                !String::from_utf8_lossy(&decoded).contains(id) && !part.contains(id),
                "{v}: {part} shows the id"
            );
        }
    }

    #[test]
    fn signed_ids_are_bound_to_link_wallet_and_time() {
        let k = keys();
        let v = sign_id(
            &k,
            Wallet::Wechat,
            "link1",
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            1_000,
            NONCE16,
        );
        assert!(v.starts_with("s2."));
        let ok = Ok(ShopperId::Verified("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o".into()));
        let forged = Err(Error::SignInInvalid { reason: "forged" });
        assert_eq!(read_id(&k, &v, Wallet::Wechat, "link1", 1_000), ok);
        assert_eq!(read_id(&k, &v, Wallet::Wechat, "link2", 1_000), forged);
        assert_eq!(read_id(&k, &v, Wallet::Alipay, "link1", 1_000), forged);
        assert_eq!(
            read_id(&k, &v, Wallet::Wechat, "link1", 1_000 + ID_TTL_SECS),
            Err(Error::SignInInvalid { reason: "expired" })
        );
        let sealed = v.split('.').nth(2).unwrap();
        let mut flipped = URL_SAFE_NO_PAD.decode(sealed).unwrap();
        flipped[0] ^= 1;
        let swapped = v.replacen(sealed, &URL_SAFE_NO_PAD.encode(flipped), 1);
        assert_eq!(
            read_id(&k, &swapped, Wallet::Wechat, "link1", 1_000),
            forged
        );
        // Signed before a rotation: still read (and decrypted) with the old key.
        let rotated = LinkKeys::from_config(
            Some(&format!("{},{}", "n".repeat(32), "k".repeat(32))),
            None,
        )
        .unwrap();
        assert_eq!(read_id(&rotated, &v, Wallet::Wechat, "link1", 1_000), ok);
        // The readable ids of before: sign in again.
        assert_eq!(
            read_id(&k, "s1.b1g.8200.AAAA", Wallet::Wechat, "link1", 1_000),
            Err(Error::SignInInvalid { reason: "expired" })
        );
        for bad in [
            "s2.",
            "s2.a.b",
            "s2.a.b.1.c.d",
            "s2.n.!!.1.AAAA",
            "s2.n.AAAA.x.AAAA",
        ] {
            assert_eq!(
                read_id(&k, bad, Wallet::Wechat, "link1", 1_000),
                forged,
                "{bad}"
            );
        }
        assert_eq!(
            read_id(&k, "2088102146225135", Wallet::Alipay, "link1", 1_000),
            Ok(ShopperId::Unsigned("2088102146225135".into()))
        );
    }

    /// Issue 24, defect 3: once a wallet's sign-in is configured, only the
    /// Worker's signed id names its shopper; an id typed into the URL is
    /// refused (the page then signs in), whatever the User-Agent claims.
    #[test]
    fn an_unsigned_id_is_refused_once_sign_in_is_configured() {
        let unsigned = || ShopperId::Unsigned("oRaw".into());
        let verified = || ShopperId::Verified("oSigned".into());
        let refused = Err(Error::SignInInvalid { reason: "unsigned" });
        let cases = [
            (
                "signed, sign-in configured",
                verified(),
                true,
                Ok("oSigned"),
            ),
            ("signed, not configured", verified(), false, Ok("oSigned")),
            (
                "unsigned, not configured: as before",
                unsigned(),
                false,
                Ok("oRaw"),
            ),
            (
                "unsigned, sign-in configured",
                unsigned(),
                true,
                refused.clone(),
            ),
        ];
        for (name, id, configured, expected) in cases {
            assert_eq!(
                accept_id(id, configured),
                expected.map(str::to_owned),
                "{name}"
            );
        }
    }

    #[test]
    fn wechat_answers() {
        let cases: [(&str, Result<&str, &str>); 9] = [
            (
                r#"{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"oX1","scope":"snsapi_base"}"#,
                Ok("oX1"),
            ),
            (
                r#"{"errcode":40029,"errmsg":"invalid code"}"#,
                Err("code invalid"),
            ),
            (
                r#"{"errcode":40163,"errmsg":"code been used"}"#,
                Err("code already used"),
            ),
            (
                r#"{"errcode":42003,"errmsg":"code expired"}"#,
                Err("code expired"),
            ),
            (
                r#"{"errcode":-1,"errmsg":"system error"}"#,
                Err("provider error"),
            ),
            (r#"{"access_token":"AT"}"#, Err("answer without openid")),
            (r#"{"errcode":0,"errmsg":"ok","openid":"oX2"}"#, Ok("oX2")),
            (r#"{"openid":""}"#, Err("answer without openid")),
            ("<html>", Err("unreadable answer")),
        ];
        for (body, want) in cases {
            let got = wechat_openid(body.as_bytes());
            let want = want
                .map(str::to_owned)
                .map_err(|reason| Error::SignInFailed { reason });
            assert_eq!(got, want, "{body}");
        }
        assert_eq!(
            wechat_token_url("https://api.weixin.qq.com/", "wx1", "s&cret", "c 1"),
            "https://api.weixin.qq.com/sns/oauth2/access_token?appid=wx1&secret=s%26cret&code=c%201\
             &grant_type=authorization_code"
        );
    }

    #[test]
    fn alipay_timestamps_are_china_time() {
        for (unix, want) in [
            (0, "1970-01-01 08:00:00"),
            (1_444_768_994, "2015-10-14 04:43:14"),
            (951_782_400 - 8 * 3600, "2000-02-29 00:00:00"),
            (1_798_761_599 - 8 * 3600, "2026-12-31 23:59:59"),
        ] {
            assert_eq!(alipay_timestamp(unix), want, "{unix}");
        }
    }

    #[test]
    fn sign_content_sorts_and_drops_sign_and_empty() {
        let params = [
            ("method", "alipay.system.oauth.token"),
            ("app_id", "2021"),
            ("sign", "XXX"),
            ("empty", ""),
            ("code", "a b&c"),
        ];
        assert_eq!(
            sign_content(&params),
            "app_id=2021&code=a b&c&method=alipay.system.oauth.token"
        );
        assert_eq!(
            form_body(&params[..2]),
            "method=alipay.system.oauth.token&app_id=2021"
        );
        let request = alipay_token_params("2021", "CODE", 1_444_768_994);
        assert_eq!(
            sign_content(&request),
            "app_id=2021&charset=utf-8&code=CODE&format=JSON&grant_type=authorization_code\
             &method=alipay.system.oauth.token&sign_type=RSA2&timestamp=2015-10-14 04:43:14&version=1.0"
        );
    }

    /// The token request exactly as it goes on the wire: the documented
    /// parameters in order, then `sign`, form-encoded.
    #[test]
    fn alipay_token_request() {
        let mut params = alipay_token_params("2021", "CODE+1", 1_444_768_994);
        let want: Vec<(&str, String)> = [
            ("app_id", "2021"),
            ("method", "alipay.system.oauth.token"),
            ("format", "JSON"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
            ("timestamp", "2015-10-14 04:43:14"),
            ("version", "1.0"),
            ("grant_type", "authorization_code"),
            ("code", "CODE+1"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
        assert_eq!(params, want);
        params.push(("sign", "c2ln/+=".to_owned()));
        assert_eq!(
            form_body(&params),
            "app_id=2021&method=alipay.system.oauth.token&format=JSON&charset=utf-8\
             &sign_type=RSA2&timestamp=2015-10-14%2004%3A43%3A14&version=1.0\
             &grant_type=authorization_code&code=CODE%2B1&sign=c2ln%2F%2B%3D"
        );
        // The signature never signs itself.
        assert!(!sign_content(&params).contains("sign="));
    }

    #[test]
    fn alipay_answers() {
        let node = r#"{"access_token":"AT","alipay_user_id":"X","expires_in":1296000,"user_id":"2088102150477652"}"#;
        let body = format!(r#"{{"alipay_system_oauth_token_response":{node},"sign":"AAEC"}}"#);
        let signed = alipay_answer(&body).unwrap();
        assert_eq!(
            signed.content, node,
            "the signed text is the node exactly as sent"
        );
        assert_eq!(signed.signature, vec![0, 1, 2]);
        let signed = alipay_answer(&body).unwrap();
        assert_eq!(
            signed.buyer_id(false),
            Err(Error::SignInFailed {
                reason: "answer signature invalid"
            })
        );
        assert_eq!(
            alipay_answer(&body).unwrap().buyer_id(true).as_deref(),
            Ok("2088102150477652")
        );
        let code_10000 = r#"{"alipay_system_oauth_token_response":{"code":"10000","user_id":"2088"},"sign":"AAEC"}"#;
        assert_eq!(
            alipay_answer(code_10000).unwrap().buyer_id(true).as_deref(),
            Ok("2088")
        );
        let open_id =
            r#"{"alipay_system_oauth_token_response":{"open_id":"074a1CcTG1"},"sign":"AAEC"}"#;
        assert_eq!(
            alipay_answer(open_id).unwrap().buyer_id(true).as_deref(),
            Ok("074a1CcTG1")
        );
        let failures = [
            (
                r#"{"error_response":{"code":"40002","msg":"Invalid Arguments","sub_code":"isv.code-invalid"},"sign":"AA"}"#,
                "code invalid",
            ),
            (
                r#"{"error_response":{"code":"40002","sub_code":"isv.invalid-signature"}}"#,
                "request signature refused",
            ),
            (r#"{"error_response":{"code":"20000"}}"#, "provider error"),
            (
                r#"{"alipay_system_oauth_token_response":{"code":"40004","user_id":"2088"},"sign":"AA"}"#,
                "provider error",
            ),
            (
                r#"{"alipay_system_oauth_token_response":{"user_id":"2088"}}"#,
                "answer signature missing",
            ),
            (
                r#"{"alipay_system_oauth_token_response":{"user_id":"2088"},"sign":"%%"}"#,
                "answer signature missing",
            ),
            (
                r#"{"alipay_system_oauth_token_response":{"access_token":"AT"},"sign":"AA"}"#,
                "answer without user id",
            ),
            (r#"{"sign":"AA"}"#, "unreadable answer"),
            ("gateway busy", "unreadable answer"),
        ];
        for (body, reason) in failures {
            assert_eq!(
                alipay_answer(body).map(|_| ()),
                Err(Error::SignInFailed { reason }),
                "{body}"
            );
        }
    }

    #[test]
    fn keys_from_pem_or_bare_base64() {
        let pem = "-----BEGIN PUBLIC KEY-----\nAAEC\nAwQ=\n-----END PUBLIC KEY-----\n";
        assert_eq!(key_der(pem), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(key_der("AAECAwQ="), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(
            key_der("-----BEGIN X-----\\nAAECAwQ=\\n-----END X-----"),
            Some(vec![0, 1, 2, 3, 4])
        );
        assert_eq!(key_der("not base64!"), None);
        assert_eq!(key_der(""), None);
    }
}
