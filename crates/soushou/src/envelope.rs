//! HTTP envelopes around the bodies, without doing any HTTP.
//!
//! Client side (the Worker): [`build`] turns a typed request into method,
//! path, query and body (validated, signed, optionally encrypted);
//! [`decode_response`] turns status and body back into a typed response.
//! Server side (the sandbox): [`parse_query`], [`open_request`],
//! [`encode_response`]. Notifications: [`build_notification`] and
//! [`open_notification`]. Timestamps are passed in: no clock here.

use std::borrow::Cow;

use serde::de::DeserializeOwned;

use crate::codec::{self, Format, Message};
use crate::error::{DecryptError, Error};
use crate::key::MerchantKey;
use crate::model::{
    self, CancelTradeRequest, CreatOrderRequest, OrderRequest, PreOrderRequest, QueryRequest,
    RefundQueryRequest, RefundRequest, ResultInfo, WapOrderRequest,
};
use crate::sign::{self, Verified};
use crate::tdes;
use crate::types::{CancelMode, ResultCode, SerType};

/// Everything a merchant integration needs to talk to one gateway.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL, e.g. `http://uat.sssyin.cn:9000/openGateway/openService/`.
    pub gateway_url: String,
    /// `busiCode` query parameter / path segment (merchant code).
    pub busi_code: String,
    /// `BUSI_ID` body field (merchant ID).
    pub busi_id: String,
    /// The merchant key for signing and 3DES.
    pub key: MerchantKey,
    /// Whether to send `encrypt=3DES` (request and response bodies encrypted).
    pub encrypt: bool,
    /// Requested response format (`_type=json` for JSON).
    pub format: Format,
    /// `OPER_ID` used in bodies.
    pub oper_id: String,
    /// `DEV_ID` used in bodies.
    pub dev_id: String,
    /// `REGISTER_ID` (store code) used in bodies.
    pub register_id: Option<String>,
}

impl Config {
    /// The [`model::Common`] block for this merchant (no `MERCHANTPARA`).
    pub fn common(&self) -> model::Common {
        model::Common {
            busi_id: self.busi_id.clone(),
            oper_id: self.oper_id.clone(),
            dev_id: self.dev_id.clone(),
            register_id: self.register_id.clone(),
            merchant_para: None,
        }
    }
}

/// HTTP method of an interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET (query, refundQuery, cancelTrade).
    Get,
    /// POST (the order interfaces and refund).
    Post,
}

impl Method {
    /// `"GET"` or `"POST"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// The gateway's interfaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Interface {
    /// `preOrder`: merchant scans the customer's code.
    PreOrder,
    /// `order`: customer scans the merchant's code; WeChat JSAPI.
    Order,
    /// `creatOrder` (sic): Alipay pre-created order.
    CreatOrder,
    /// `wapOrder`: mobile H5 payment.
    WapOrder,
    /// `refund`.
    Refund,
    /// `query`.
    Query,
    /// `refundQuery`.
    RefundQuery,
    /// `cancelTrade`.
    CancelTrade,
}

impl Interface {
    /// Every interface, for routing tables.
    pub const ALL: [Interface; 8] = [
        Interface::PreOrder,
        Interface::Order,
        Interface::CreatOrder,
        Interface::WapOrder,
        Interface::Refund,
        Interface::Query,
        Interface::RefundQuery,
        Interface::CancelTrade,
    ];

    /// The path segment after the gateway base URL.
    pub fn path_name(&self) -> &'static str {
        match self {
            Interface::PreOrder => "preOrder",
            Interface::Order => "order",
            Interface::CreatOrder => "creatOrder",
            Interface::WapOrder => "wapOrder",
            Interface::Refund => "refund",
            Interface::Query => "query",
            Interface::RefundQuery => "refundQuery",
            Interface::CancelTrade => "cancelTrade",
        }
    }

    /// The HTTP method the gateway expects.
    pub fn method(&self) -> Method {
        match self {
            Interface::Query | Interface::RefundQuery | Interface::CancelTrade => Method::Get,
            _ => Method::Post,
        }
    }

    /// The root key of this interface's response.
    pub fn response_root(&self) -> &'static str {
        match self {
            Interface::PreOrder
            | Interface::Order
            | Interface::CreatOrder
            | Interface::WapOrder => "ORDER_RESP",
            Interface::Refund => "REFUND_RESP",
            Interface::Query => "QUERY_RESP",
            Interface::RefundQuery => "REFUND_QUERY_RESP",
            Interface::CancelTrade => "CANCELTRADE_RESP",
        }
    }
}

/// A ready-to-send HTTP request (the caller does the I/O).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpRequest {
    /// Which interface this calls.
    pub interface: Interface,
    /// GET or POST.
    pub method: Method,
    /// Path relative to the base URL, e.g. `order` or `query/CODE/BUSI`
    /// (segments percent-encoded).
    pub path: String,
    /// Query parameters, unencoded, in the document's order.
    pub query: Vec<(String, String)>,
    /// Body as sent (base64 text when encrypted; empty for GET).
    pub body: Vec<u8>,
    /// Whether `encrypt=3DES` was requested (the response is then encrypted).
    pub encrypted: bool,
}

impl HttpRequest {
    /// The full URL: `base` (a `/` is added if missing) + path + `?` + query.
    pub fn url(&self, base: &str) -> String {
        let mut u = base.to_owned();
        if !u.ends_with('/') {
            u.push('/');
        }
        u.push_str(&self.path);
        if !self.query.is_empty() {
            u.push('?');
            u.push_str(&encode_query(&self.query));
        }
        u
    }

    /// The `Content-Type` to send; unchanged by encryption, as the gateway expects.
    pub fn content_type(&self) -> &'static str {
        Format::Json.content_type()
    }
}

/// Internals of [`GatewayRequest`], sealed so the request set stays closed.
mod private {
    use super::Config;
    use crate::error::Error;

    /// What a request contributes to its envelope.
    pub struct Plan {
        /// Path segments after the interface name (unencoded).
        pub path_args: Vec<String>,
        /// Plain JSON body (POST only).
        pub body: Option<Vec<u8>>,
        /// The bytes to sign, if the interface is signed.
        pub signed: Option<Vec<u8>>,
        /// Interface-specific query parameters, after sign/_type/encrypt.
        pub params: Vec<(&'static str, String)>,
    }

    pub trait Sealed {
        fn check(&self) -> Result<(), Error>;
        fn plan(&self, cfg: &Config) -> Plan;
    }
}

use private::Plan;

/// A typed request the gateway accepts; ties it to its interface and response.
pub trait GatewayRequest: private::Sealed {
    /// The interface this request calls.
    const INTERFACE: Interface;
    /// The response type it gets back.
    type Response: Message;
}

fn post_plan<T: serde::Serialize>(req: &T, cfg: &Config) -> Plan {
    let body = codec::encode_body(req);
    Plan {
        path_args: Vec::new(),
        signed: Some(body.clone()),
        body: Some(body),
        params: vec![("busiCode", cfg.busi_code.clone())],
    }
}

/// query and refundQuery: `<code>/<busiCode>` in the path, unsigned.
fn lookup_plan(code: &str, ser_type: SerType, cfg: &Config) -> Plan {
    Plan {
        path_args: vec![code.to_owned(), cfg.busi_code.clone()],
        body: None,
        signed: None,
        params: vec![("serType", ser_type.code().to_owned())],
    }
}

/// cancelTrade: the signature covers `chargeCode=..&busiCode=..`.
fn cancel_plan(req: &CancelTradeRequest, cfg: &Config) -> Plan {
    let payload = sign::cancel_payload(&req.charge_code, &cfg.busi_code);
    Plan {
        path_args: vec![req.charge_code.clone(), cfg.busi_code.clone()],
        body: None,
        signed: Some(payload.into_bytes()),
        params: match req.mode {
            CancelMode::Apply => vec![("opType", "ACO".to_owned())],
            CancelMode::RealTime => Vec::new(),
        },
    }
}

/// Ties each request type to its interface, its response type (in
/// [`model`]) and the function that plans its envelope.
macro_rules! gateway_requests {
    ($($ty:ident: $iface:ident -> $resp:ident, $plan:expr;)*) => {$(
        impl private::Sealed for $ty {
            fn check(&self) -> Result<(), Error> {
                self.validate()
            }
            fn plan(&self, cfg: &Config) -> Plan {
                let plan: fn(&$ty, &Config) -> Plan = $plan;
                plan(self, cfg)
            }
        }
        impl GatewayRequest for $ty {
            const INTERFACE: Interface = Interface::$iface;
            type Response = model::$resp;
        }
    )*};
}

gateway_requests! {
    PreOrderRequest: PreOrder -> OrderResp, post_plan;
    OrderRequest: Order -> OrderResp, post_plan;
    CreatOrderRequest: CreatOrder -> OrderResp, post_plan;
    WapOrderRequest: WapOrder -> OrderResp, post_plan;
    RefundRequest: Refund -> RefundResp, post_plan;
    QueryRequest: Query -> QueryResp, |r, cfg| lookup_plan(&r.code, r.ser_type, cfg);
    RefundQueryRequest: RefundQuery -> RefundQueryResp, |r, cfg| lookup_plan(&r.code, r.ser_type, cfg);
    CancelTradeRequest: CancelTrade -> CancelTradeResp, cancel_plan;
}

/// Builds the HTTP request for `req`: validates it, signs the plaintext
/// body (or the cancel payload) with `ts` (seconds or milliseconds, the
/// caller's choice), then encrypts the body when `cfg.encrypt`.
pub fn build<R: GatewayRequest>(cfg: &Config, req: &R, ts: u64) -> Result<HttpRequest, Error> {
    if cfg.busi_code.trim().is_empty() {
        return Err(Error::MissingField("busiCode"));
    }
    req.check()?;
    let plan = req.plan(cfg);
    let iface = R::INTERFACE;
    let mut path = iface.path_name().to_owned();
    for a in &plan.path_args {
        path.push('/');
        path.push_str(&pct_encode(a));
    }
    let mut query: Vec<(String, String)> = Vec::new();
    if let Some(signed) = &plan.signed {
        query.push(("sign".into(), sign::sign(signed, &cfg.key, ts)));
    }
    if cfg.format == Format::Json {
        query.push(("_type".into(), "json".into()));
    }
    if cfg.encrypt {
        query.push(("encrypt".into(), "3DES".into()));
    }
    query.extend(plan.params.into_iter().map(|(k, v)| (k.to_owned(), v)));
    let body = match plan.body {
        Some(b) if cfg.encrypt => tdes::encrypt(&b, &cfg.key).into_bytes(),
        Some(b) => b,
        None => Vec::new(),
    };
    Ok(HttpRequest {
        interface: iface,
        method: iface.method(),
        path,
        query,
        body,
        encrypted: cfg.encrypt,
    })
}

fn is_base64_text(b: &[u8]) -> bool {
    b.iter().all(|&c| {
        c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') || c.is_ascii_whitespace()
    })
}

/// Returns the plaintext of a possibly encrypted body. A body that already
/// is JSON or XML is accepted as plaintext even when encryption was asked
/// for (gateways answer some errors unencrypted).
fn plaintext<'a>(
    body: &'a [u8],
    encrypted: bool,
    key: &MerchantKey,
) -> Result<Cow<'a, [u8]>, Error> {
    if !encrypted || codec::sniff(body).is_some() {
        return Ok(Cow::Borrowed(body));
    }
    if body.iter().all(u8::is_ascii_whitespace) || !is_base64_text(body) {
        return Err(Error::NotGatewayMessage);
    }
    let plain = tdes::decrypt(body, key)?;
    if codec::sniff(&plain).is_none() {
        return Err(Error::Decrypt(DecryptError::WrongKey));
    }
    Ok(Cow::Owned(plain))
}

/// The plaintext of the gateway's answer to `req`: decrypted when `req`
/// asked for 3DES, passed through when the answer already is JSON or XML
/// (gateways answer some errors unencrypted). For tools that show the
/// answer as it came (`soushou call`); [`decode_response`] types it.
pub fn response_plaintext<'a>(
    req: &HttpRequest,
    body: &'a [u8],
    key: &MerchantKey,
) -> Result<Cow<'a, [u8]>, Error> {
    plaintext(body, req.encrypted, key)
}

/// Interprets the gateway's answer to `req` (built by [`build`] from `cfg`).
///
/// Non-2xx status: [`Error::Http`]. HTML or garbage:
/// [`Error::NotGatewayMessage`]. Undecryptable: [`Error::Decrypt`]. A
/// success answer in clear when 3DES was asked: [`Error::UnencryptedSuccess`].
/// `RESULT.CODE` other than success: [`Error::Gateway`] (checked before the
/// rest of the body is decoded, so a failure is reported even when the other
/// fields are odd).
pub fn decode_response<R: GatewayRequest>(
    cfg: &Config,
    req: &HttpRequest,
    status: u16,
    body: &[u8],
) -> Result<R::Response, Error> {
    if !(200..300).contains(&status) {
        return Err(Error::Http { status });
    }
    let plain = plaintext(body, req.encrypted, &cfg.key)?;
    let (_, content) = codec::root_value::<R::Response>(&plain)?;
    if let Some(result) = content.get("RESULT") {
        if let Ok(r) = serde_json::from_value::<ResultInfo>(result.clone()) {
            if r.code != ResultCode::Success {
                return Err(Error::Gateway {
                    code: r.code,
                    info: r.info,
                });
            }
        }
    }
    if req.encrypted && matches!(plain, Cow::Borrowed(_)) {
        return Err(Error::UnencryptedSuccess);
    }
    codec::from_value(content)
}

// ------------------------------------------------------------ server side

/// A request as received by a gateway implementation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming<T> {
    /// The decoded body.
    pub body: T,
    /// The verified signature, or `None` when the request carried no `sign`
    /// (the caller decides whether that is acceptable).
    pub verified: Option<Verified>,
    /// The response format the caller asked for (`_type`).
    pub format: Format,
    /// Whether the caller sent `encrypt=3DES` (body was, response must be, encrypted).
    pub encrypted: bool,
}

/// Percent-encodes everything except RFC 3986 unreserved characters.
fn pct_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` and `+`; invalid escapes are kept literally, invalid UTF-8
/// is replaced, so decoding never fails.
fn pct_decode(s: &str) -> String {
    fn hex(c: u8) -> Option<u8> {
        (c as char).to_digit(16).map(|d| d as u8)
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h << 4 | l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Query values keep `:` literal (allowed in a query by RFC 3986) so that
/// `sign=<md5>:<ts>` reads as in the gateway document.
fn encode_query(q: &[(String, String)]) -> String {
    q.iter()
        .map(|(k, v)| format!("{}={}", pct_encode(k), pct_encode(v).replace("%3A", ":")))
        .collect::<Vec<_>>()
        .join("&")
}

/// Parses a query string (with or without the leading `?`) into decoded
/// pairs. Keys are trimmed (the document writes `? _type=json`).
pub fn parse_query(q: &str) -> Vec<(String, String)> {
    let q = q.strip_prefix('?').unwrap_or(q);
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (pct_decode(k).trim().to_owned(), pct_decode(v)),
            None => (pct_decode(p).trim().to_owned(), String::new()),
        })
        .collect()
}

/// The first value of `name` in parsed query pairs.
pub fn query_param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Whether the query asks for 3DES (`encrypt=3DES`, any case).
fn wants_encryption(query: &[(String, String)]) -> bool {
    query_param(query, "encrypt").is_some_and(|v| v.trim().eq_ignore_ascii_case("3DES"))
}

/// The response format and encryption a request's query asks for
/// (`_type`, `encrypt`): what [`encode_response`] should be called with.
pub fn reply_shape(query: &[(String, String)]) -> (Format, bool) {
    (
        Format::from_type_param(query_param(query, "_type")),
        wants_encryption(query),
    )
}

/// Opens a POSTed request on the gateway side: decrypts when
/// `encrypt=3DES`, verifies the mandatory `sign` over the plaintext, then
/// decodes the body. Signature freshness is left to the caller.
///
/// Errors, for mapping to gateway result codes:
/// - no `sign` parameter: [`Error::MissingSign`];
/// - `sign` not `<hex>:<ts>`: [`Error::MalformedSign`];
/// - signature does not match: [`Error::SignMismatch`];
/// - encrypted body not base64 / bad length / bad padding / decrypts to
///   garbage: [`Error::Decrypt`] (or [`Error::NotGatewayMessage`] when the
///   body is not even base64 text);
/// - plaintext not JSON/XML: [`Error::NotGatewayMessage`]; JSON/XML whose
///   fields do not fit the request type: [`Error::Decode`].
///
/// Field rules (amounts, required fields) are not checked here: call the
/// request's `validate()` and map its `MissingField`/`InvalidField`/
/// `InvalidAmount` errors as the gateway would (`ILLEGAL_PARAMETER`).
pub fn open_request<T: DeserializeOwned>(
    query: &[(String, String)],
    body: &[u8],
    key: &MerchantKey,
) -> Result<(T, Verified), Error> {
    let (plain, verified) = open_signed(query, body, key)?;
    Ok((codec::decode_body(&plain)?, verified))
}

/// Decrypts when the query says `encrypt=3DES`, then verifies the mandatory
/// `sign` over the plaintext: the common part of every signed POST.
fn open_signed<'a>(
    query: &[(String, String)],
    body: &'a [u8],
    key: &MerchantKey,
) -> Result<(Cow<'a, [u8]>, Verified), Error> {
    let sign_param = query_param(query, "sign").ok_or(Error::MissingSign)?;
    let plain = plaintext(body, wants_encryption(query), key)?;
    let verified = sign::verify(sign_param, &plain, key)?;
    Ok((plain, verified))
}

/// Like [`open_request`], but `sign` is optional (verified when present)
/// and the requested response format and encryption are returned too.
pub fn open_incoming<T: DeserializeOwned>(
    query: &[(String, String)],
    body: &[u8],
    key: &MerchantKey,
) -> Result<Incoming<T>, Error> {
    let (format, encrypted) = reply_shape(query);
    let plain = plaintext(body, encrypted, key)?;
    let verified = match query_param(query, "sign") {
        Some(s) => Some(sign::verify(s, &plain, key)?),
        None => None,
    };
    Ok(Incoming {
        body: codec::decode_body(&plain)?,
        verified,
        format,
        encrypted,
    })
}

/// A parsed request path: which interface, and the segments after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// The interface named in the path.
    pub interface: Interface,
    /// The decoded segments after the interface name (e.g. code and busiCode).
    pub args: Vec<String>,
}

/// Finds the interface in a request path such as
/// `/openGateway/openService/query/CODE/BUSI?x=y`, for gateway routing.
pub fn route(path: &str) -> Option<Route> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segs.iter().enumerate().find_map(|(i, s)| {
        Interface::ALL
            .iter()
            .find(|iface| iface.path_name() == *s)
            .map(|iface| Route {
                interface: *iface,
                args: segs[i + 1..].iter().map(|a| pct_decode(a)).collect(),
            })
    })
}

/// Verifies a `cancelTrade` call on the gateway side: the `sign` must cover
/// `chargeCode=..&busiCode=..` from the path. Returns the requested mode.
pub fn open_cancel(
    query: &[(String, String)],
    charge_code: &str,
    busi_code: &str,
    key: &MerchantKey,
) -> Result<(CancelMode, Verified), Error> {
    let sign_param = query_param(query, "sign").ok_or(Error::MissingSign)?;
    let payload = sign::cancel_payload(charge_code, busi_code);
    let verified = sign::verify(sign_param, payload.as_bytes(), key)?;
    Ok((
        CancelMode::from_op_type(query_param(query, "opType")),
        verified,
    ))
}

/// Encodes a response the way the caller asked (`_type`, `encrypt`).
pub fn encode_response<M: Message>(
    msg: &M,
    format: Format,
    encrypt: bool,
    key: &MerchantKey,
) -> Vec<u8> {
    let plain = codec::encode(msg, format);
    if encrypt {
        tdes::encrypt(&plain, key).into_bytes()
    } else {
        plain
    }
}

// ---------------------------------------------------------- notifications

/// A payment notification ready to POST.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// `NODIFY_URL` with `sign=...` appended to its query string.
    pub url: String,
    /// The body (base64 text when the URL asks for `encrypt=3DES`).
    pub body: Vec<u8>,
    /// The `Content-Type` of the plaintext format.
    pub content_type: &'static str,
}

/// Builds the notification the gateway POSTs to `nodify_url`: format and
/// encryption follow the URL's own `_type` and `encrypt` parameters; the
/// signature (over the plaintext, with `ts`) is appended as `sign=`.
pub fn build_notification(
    nodify_url: &str,
    notify: &model::PayNotify,
    key: &MerchantKey,
    ts: u64,
) -> Result<Notification, Error> {
    let url = nodify_url.trim();
    model::check_http_url("NODIFY_URL", url)?;
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let query = base
        .split_once('?')
        .map(|(_, q)| parse_query(q))
        .unwrap_or_default();
    let (format, encrypt) = reply_shape(&query);
    let plain = codec::encode(notify, format);
    let signature = sign::sign(&plain, key, ts);
    let mut out = base.to_owned();
    if !out.contains('?') {
        out.push('?');
    } else if !out.ends_with('?') && !out.ends_with('&') {
        out.push('&');
    }
    out.push_str("sign=");
    out.push_str(&signature);
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    let body = if encrypt {
        tdes::encrypt(&plain, key).into_bytes()
    } else {
        plain
    };
    Ok(Notification {
        url: out,
        body,
        content_type: format.content_type(),
    })
}

/// Opens a notification on the merchant side: `query` is the parsed query
/// of the URL it arrived on. Decrypts when `encrypt=3DES`, verifies the
/// mandatory `sign` over the plaintext, then decodes JSON or XML.
/// Notifications repeat: deduplicate on `CHARGE_CODE` after this.
pub fn open_notification(
    query: &[(String, String)],
    body: &[u8],
    key: &MerchantKey,
) -> Result<(model::PayNotify, Verified), Error> {
    let (plain, verified) = open_signed(query, body, key)?;
    Ok((codec::decode(&plain)?, verified))
}
