//! The gateway's wire: notification and request envelopes (signature,
//! 3DES, query strings), response decoding, and the JSON/XML codecs.
//!
//! Most of these inputs are only worth fuzzing past the signature check,
//! which a fuzzer cannot forge. So each envelope target reads its input two
//! ways: as received (a query line and a body, any bytes), and as a
//! plaintext that the target itself signs and encrypts the way a peer
//! would; the second must open to exactly what decoding the plaintext
//! gives. The document's sample files (`crates/soushou/tests/fixtures`) are
//! therefore seeds as they are.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;
use soushou::codec::{self as sc, Format, Message};
use soushou::envelope::{self, Config, GatewayRequest, HttpRequest, Interface};
use soushou::model::{
    CancelTradeRequest, CancelTradeResp, CreatOrderRequest, OrderResp, PayNotify, PreOrderRequest,
    QueryRequest, QueryResp, RefundQueryRequest, RefundQueryResp, RefundRequest, RefundResp,
    WapOrderRequest,
};
use soushou::types::{CancelMode, SerType};
use soushou::{sign, tdes, Error, MerchantKey};

use crate::{split_line, text, MERCHANT_KEY, SIGN_TS};

fn key() -> MerchantKey {
    MerchantKey::new(MERCHANT_KEY)
}

/// A merchant configuration like the Worker's (the document's sample ids).
fn config(encrypt: bool) -> Config {
    Config {
        gateway_url: "http://127.0.0.1:7300/openGateway/openService/".into(),
        busi_code: "01000001".into(),
        busi_id: "0010000001".into(),
        key: key(),
        encrypt,
        format: Format::Json,
        oper_id: "TEST1".into(),
        dev_id: "QQQQ".into(),
        register_id: None,
    }
}

/// The query a peer sends with `plain`: its signature, `_type=json`, and
/// `encrypt=3DES` when the body is encrypted.
fn signed_query(plain: &[u8], encrypt: bool) -> Vec<(String, String)> {
    let mut q = vec![
        ("sign".to_owned(), sign::sign(plain, &key(), SIGN_TS)),
        ("_type".to_owned(), "json".to_owned()),
    ];
    if encrypt {
        q.push(("encrypt".to_owned(), "3DES".to_owned()));
    }
    q
}

/// The body a peer sends for `plain`: 3DES + base64 when `encrypt`.
fn sent_body(plain: &[u8], encrypt: bool) -> Vec<u8> {
    if encrypt {
        tdes::encrypt(plain, &key()).into_bytes()
    } else {
        plain.to_vec()
    }
}

/// Which forms of a self-signed envelope to try: in clear always, 3DES
/// only when the plaintext is a message of the type at hand. 3DES costs
/// ~20 times the rest of an execution, and what it must preserve is a
/// decodable message; garbage under 3DES is what `crypto_tdes` and the
/// "as received" calls cover.
fn encryptions(decodes: bool) -> &'static [bool] {
    if decodes {
        &[false, true]
    } else {
        &[false]
    }
}

/// The query pairs of a URL, as the receiving side parses them.
fn url_query(url: &str) -> Vec<(String, String)> {
    envelope::parse_query(url.split_once('?').map_or("", |(_, q)| q))
}

/// `m` after one trip through `format`: what the receiving side decodes.
fn normalised<M: Message + Debug>(m: &M, format: Format) -> M {
    sc::decode(&sc::encode(m, format))
        .unwrap_or_else(|e| panic!("{format:?} encoding of {m:?} does not decode: {e}"))
}

/// `open_notification`, the Worker's `/notify`.
///
/// As received: the first line is the URL's query, the rest the body. As
/// sent by the gateway: the whole input is the plaintext, signed, in clear
/// and encrypted. A decoded notification re-sent by `build_notification`
/// (the sandbox's side) opens to the same value.
pub fn notification(data: &[u8]) {
    let key = key();
    let (q, body) = split_line(data);
    let _ = envelope::open_notification(&envelope::parse_query(&text(q)), body, &key);

    let expected = sc::decode::<PayNotify>(data).ok();
    for &encrypt in encryptions(expected.is_some()) {
        let opened = envelope::open_notification(
            &signed_query(data, encrypt),
            &sent_body(data, encrypt),
            &key,
        );
        if let Ok((_, v)) = &opened {
            assert_eq!(v.ts, SIGN_TS);
        }
        assert_eq!(
            opened.ok().map(|(n, _)| n),
            expected,
            "encrypt={encrypt}: the envelope changed the notification"
        );
    }

    let Some(n) = expected else { return };
    for (url, format) in [
        (
            "https://shop.example/notify?_type=json&encrypt=3DES",
            Format::Json,
        ),
        ("https://shop.example/notify?encrypt=3DES", Format::Xml),
        ("https://shop.example/notify?_type=json", Format::Json),
    ] {
        let sent = envelope::build_notification(url, &n, &key, SIGN_TS)
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        let (again, _) = envelope::open_notification(&url_query(&sent.url), &sent.body, &key)
            .unwrap_or_else(|e| panic!("{url}: a built notification does not open: {e}"));
        assert_eq!(again, normalised(&n, format), "{url}");
    }
}

/// An outgoing request of `iface`, as far as `decode_response` looks at it.
fn http_request(iface: Interface, encrypted: bool) -> HttpRequest {
    HttpRequest {
        interface: iface,
        method: iface.method(),
        path: iface.path_name().to_owned(),
        query: Vec::new(),
        body: Vec::new(),
        encrypted,
    }
}

/// `decode_response` for one request type (one response type).
fn response_as<R: GatewayRequest>(data: &[u8])
where
    R::Response: PartialEq + Debug,
{
    let cfg = config(false);
    let (clear, encrypted) = (
        http_request(R::INTERFACE, false),
        http_request(R::INTERFACE, true),
    );
    let plain = envelope::decode_response::<R>(&cfg, &clear, 200, data);
    let _ = envelope::decode_response::<R>(&cfg, &encrypted, 200, data);
    if let Ok(resp) = &plain {
        if let Some(r) = resp.result() {
            assert!(r.code.is_success(), "a refusal decoded as a value: {r:?}");
        }
    }
    // 3DES only for answers of this interface (a value or a refusal): see
    // `encryptions`.
    if matches!(plain, Ok(_) | Err(Error::Gateway { .. })) {
        let wire = tdes::encrypt(data, &cfg.key);
        let opened = envelope::decode_response::<R>(&cfg, &encrypted, 200, wire.as_bytes());
        assert_eq!(opened, plain, "encryption changed the answer");
    }
    assert_eq!(
        envelope::decode_response::<R>(&cfg, &clear, 502, data),
        Err(Error::Http { status: 502 })
    );
}

/// `decode_response`, the Worker's reading of every gateway answer, for
/// each response type: any body, in clear or expected encrypted. A success
/// is never an error and a refusal never a value; the same plaintext
/// encrypted decodes the same.
pub fn response(data: &[u8]) {
    response_as::<PreOrderRequest>(data);
    response_as::<RefundRequest>(data);
    response_as::<QueryRequest>(data);
    response_as::<RefundQueryRequest>(data);
    response_as::<CancelTradeRequest>(data);
}

/// The sandbox's side of one POST interface.
fn request_as<R>(query: &[(String, String)], body: &[u8], data: &[u8])
where
    R: GatewayRequest + Serialize + DeserializeOwned + PartialEq + Debug,
{
    let key = key();
    let _ = envelope::open_request::<R>(query, body, &key);
    let _ = envelope::open_incoming::<R>(query, body, &key);

    let expected = sc::decode_body::<R>(data).ok();
    for &encrypt in encryptions(expected.is_some()) {
        let opened = envelope::open_request::<R>(
            &signed_query(data, encrypt),
            &sent_body(data, encrypt),
            &key,
        );
        assert_eq!(
            opened.ok().map(|(r, _)| r),
            expected,
            "encrypt={encrypt}: the envelope changed the request"
        );
    }

    // A request that passes the client's validation is built and sent, and
    // the gateway side opens it back.
    let Some(req) = expected else { return };
    for encrypt in [false, true] {
        let cfg = config(encrypt);
        let Ok(http) = envelope::build(&cfg, &req, SIGN_TS) else {
            continue;
        };
        let url = http.url(&cfg.gateway_url);
        let route = envelope::route(&url).expect("a built URL names its interface");
        assert_eq!(route.interface, R::INTERFACE);
        let (again, v) = envelope::open_request::<R>(&url_query(&url), &http.body, &cfg.key)
            .unwrap_or_else(|e| panic!("{url}: a built request does not open: {e}"));
        assert_eq!(v.ts, SIGN_TS);
        let sent = sc::decode_body::<R>(&sc::encode_body(&req)).expect("an encoded body decodes");
        assert_eq!(again, sent, "{url}");
    }
}

/// The gateway side (the sandbox): query parsing (and its round trip
/// through a client's URL), routing, `open_request`, `open_incoming` and
/// `open_cancel` on any request line and body, and the client → gateway
/// round trip of every interface.
///
/// As received: the first line is the request target (path and query), the
/// rest the body. As sent by a client: the first line is also a serial
/// number in a `query` and a `cancelTrade` path, and the whole input is the
/// plaintext body of every POST interface.
pub fn request(data: &[u8]) {
    let (head, body) = split_line(data);
    let head = text(head);
    let query = url_query(&head);
    // What the sandbox parsed, a client would send as it was parsed.
    let resent = HttpRequest {
        query: query.clone(),
        ..http_request(Interface::Query, false)
    };
    assert_eq!(
        url_query(&resent.url("http://127.0.0.1/")),
        query,
        "query round trip"
    );
    if let Some(route) = envelope::route(&head) {
        if let [code, busi, ..] = &route.args[..] {
            let _ = envelope::open_cancel(&query, code, busi, &key());
        }
    }
    path_round_trip(&head);
    request_as::<PreOrderRequest>(&query, body, data);
    request_as::<soushou::model::OrderRequest>(&query, body, data);
    request_as::<CreatOrderRequest>(&query, body, data);
    request_as::<WapOrderRequest>(&query, body, data);
    request_as::<RefundRequest>(&query, body, data);
}

/// `code` as a serial number in a path: a client's `query` and
/// `cancelTrade` URLs route back to exactly that code and the merchant's
/// `busiCode` (whatever `/`, `?`, `%` or `&` it holds), and the cancel's
/// signature verifies on the gateway side.
fn path_round_trip(code: &str) {
    let cfg = config(false);
    let query = QueryRequest {
        code: code.to_owned(),
        ser_type: SerType::Gateway,
    };
    if let Ok(http) = envelope::build(&cfg, &query, SIGN_TS) {
        let route = envelope::route(&http.url(&cfg.gateway_url)).expect("a query URL routes");
        assert_eq!(route.interface, Interface::Query);
        assert_eq!(route.args, [code, &cfg.busi_code]);
    }
    for mode in [CancelMode::Apply, CancelMode::RealTime] {
        let cancel = CancelTradeRequest {
            charge_code: code.to_owned(),
            mode,
        };
        let Ok(http) = envelope::build(&cfg, &cancel, SIGN_TS) else {
            continue;
        };
        let url = http.url(&cfg.gateway_url);
        let route = envelope::route(&url).expect("a cancel URL routes");
        assert_eq!(route.interface, Interface::CancelTrade);
        assert_eq!(route.args, [code, &cfg.busi_code]);
        let opened = envelope::open_cancel(&url_query(&url), code, &cfg.busi_code, &cfg.key)
            .unwrap_or_else(|e| panic!("{url}: a built cancel does not verify: {e}"));
        assert_eq!(opened.0, mode);
    }
}

/// One message type: JSON keeps every value; XML turns leaves into text
/// and drops keys that are not element names, so one pass normalises and
/// the normalised value must then survive XML unchanged. What the crate
/// models (`modelled` drops the rest, `extra`) means the same in both
/// formats: an amount or a state cannot depend on the format the gateway
/// happened to answer in.
fn message<M: Message + PartialEq + Debug>(data: &[u8], modelled: fn(M) -> M) {
    let Ok(m) = sc::decode::<M>(data) else { return };
    assert_eq!(normalised(&m, Format::Json), m, "JSON round trip");
    let once = normalised(&m, Format::Xml);
    assert_eq!(normalised(&once, Format::Xml), once, "XML round trip");
    assert_eq!(modelled(once), modelled(m), "XML and JSON disagree");
}

/// Drops the unmodelled fields of a message.
macro_rules! without_extra {
    ($($nested:ident)?) => {
        |mut m| {
            m.extra.clear();
            $(m.$nested.iter_mut().for_each(|t| t.extra.clear());)?
            m
        }
    };
}

/// One request body type: decode → encode → decode is the identity.
fn request_body<T: Serialize + DeserializeOwned + PartialEq + Debug>(data: &[u8]) {
    let Ok(t) = sc::decode_body::<T>(data) else {
        return;
    };
    assert_eq!(
        sc::decode_body::<T>(&sc::encode_body(&t)),
        Ok(t),
        "request body round trip"
    );
}

/// `codec::decode` of every response and the notification, `decode_body`
/// of every request body, in either format, with their round trips.
pub fn codec(data: &[u8]) {
    message::<OrderResp>(data, without_extra!());
    message::<RefundResp>(data, without_extra!());
    message::<QueryResp>(data, without_extra!());
    message::<RefundQueryResp>(data, without_extra!(refund_trade_list));
    message::<CancelTradeResp>(data, without_extra!());
    message::<PayNotify>(data, without_extra!());
    request_body::<PreOrderRequest>(data);
    request_body::<soushou::model::OrderRequest>(data);
    request_body::<CreatOrderRequest>(data);
    request_body::<WapOrderRequest>(data);
    request_body::<RefundRequest>(data);
}

/// `xml::to_json` on any bytes. What it reads, `from_json` writes back as a
/// document that reads again (unless the root name cannot be an element),
/// and after that one pass the tree is a fixpoint.
pub fn xml(data: &[u8]) {
    use soushou::xml::{from_json, to_json};
    let Ok((root, v)) = to_json(data) else { return };
    let written = from_json(&root, &v);
    let Ok(once) = to_json(written.as_bytes()) else {
        // Only a root that cannot be an element name writes nothing but
        // the declaration, which reads as "no root element".
        let declaration_only = from_json(&root, &serde_json::Value::Null);
        assert_eq!(
            written, declaration_only,
            "the writer produced unreadable XML"
        );
        return;
    };
    let again = to_json(from_json(&once.0, &once.1).as_bytes());
    assert_eq!(again.as_ref(), Ok(&once), "XML round trip");
}
