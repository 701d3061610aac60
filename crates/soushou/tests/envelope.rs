//! Client and server envelopes against each other: what `build` produces,
//! `open_request` accepts; what `encode_response` produces, `decode_response`
//! accepts; notifications likewise. Signatures are checked against the
//! shared vectors' rule via `sign::verify`.

use soushou::codec::{self, Format};
use soushou::envelope::{self, Config, HttpRequest, Interface, Method};
use soushou::error::DecryptError;
use soushou::model::*;
use soushou::sign::{self, SignRule};
use soushou::types::*;
use soushou::{tdes, Error, Fen, MerchantKey};

const KEY: &str = "98SDKFUO432HNODS098EEE07U9DUOIUE";
const TS_MS: u64 = 1_764_028_800_123;

fn cfg(encrypt: bool, format: Format) -> Config {
    Config {
        gateway_url: "http://127.0.0.1:9000/openGateway/openService".into(),
        busi_code: "01000001".into(),
        busi_id: "0010000001".into(),
        key: MerchantKey::new(KEY),
        encrypt,
        format,
        oper_id: "oper01".into(),
        dev_id: "dev01".into(),
        register_id: Some("02016".into()),
    }
}

fn order(cfg: &Config) -> OrderRequest {
    OrderRequest {
        common: cfg.common(),
        amt: Fen::parse_yuan("158.00").unwrap(),
        channel_type: ChannelType::WeChat,
        trade_type: Some(TradeType::Native),
        sub_appid: None,
        sub_openid: None,
        charge_code: "D3820833 F310/4658".into(),
        nodify_url: Some("http://127.0.0.1:8787/notify?_type=json".into()),
        pay_subject: "嗖嗖 product".into(),
        goods_detail: vec![GoodsItem {
            id: "g1".into(),
            name: "n".into(),
            class: "c".into(),
            price: Fen::from_fen(15800),
            subject: "s".into(),
            quantity: 1,
            show_url: None,
        }],
    }
}

fn q(req: &HttpRequest, k: &str) -> Option<String> {
    req.query
        .iter()
        .find(|(n, _)| n == k)
        .map(|(_, v)| v.clone())
}

#[test]
fn post_request_is_signed_then_encrypted_and_opens_on_the_server() {
    for (encrypt, format) in [
        (false, Format::Json),
        (true, Format::Json),
        (true, Format::Xml),
    ] {
        let cfg = cfg(encrypt, format);
        let req = order(&cfg);
        let http = envelope::build(&cfg, &req, TS_MS).unwrap();
        assert_eq!(http.method, Method::Post);
        assert_eq!(http.path, "order");
        assert_eq!(http.encrypted, encrypt);
        assert_eq!(q(&http, "busiCode").as_deref(), Some("01000001"));
        assert_eq!(
            q(&http, "_type").as_deref(),
            (format == Format::Json).then_some("json")
        );
        assert_eq!(q(&http, "encrypt").as_deref(), encrypt.then_some("3DES"));
        let plain = if encrypt {
            tdes::decrypt(&http.body, &cfg.key).unwrap()
        } else {
            http.body.clone()
        };
        let body: serde_json::Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(body["AMT"], "158.00");
        assert_eq!(body["CHANNEL_TYPE"], "2");
        assert_eq!(body["GOODS_DETAIL"][0]["GOOD_PRICE"], "158.00");
        // The sign covers the plaintext and is the documented md5 rule.
        assert_eq!(
            q(&http, "sign").unwrap(),
            sign::sign(&plain, &cfg.key, TS_MS)
        );

        // Server side: from the URL the client would send.
        let url = http.url(&cfg.gateway_url);
        assert!(url.starts_with("http://127.0.0.1:9000/openGateway/openService/order?sign="));
        let query = envelope::parse_query(url.split_once('?').unwrap().1);
        let (got, verified): (OrderRequest, _) =
            envelope::open_request(&query, &http.body, &cfg.key).unwrap();
        assert_eq!(got, req);
        assert_eq!(verified.ts, TS_MS);
        assert_eq!(verified.unix_seconds(), 1_764_028_800);
        assert_eq!(verified.rule, SignRule::JavaWhitespace);
        assert_eq!(envelope::reply_shape(&query), (format, encrypt));
        assert_eq!(envelope::route(&url).unwrap().interface, Interface::Order);

        // Server answers, client decodes.
        let resp = OrderResp {
            charge_code: Some(req.charge_code.clone()),
            bar_code: Some("weixin://wxpay/bizpayurl?pr=59tFp8e".into()),
            amt: Some(req.amt),
            ..Default::default()
        };
        let wire = envelope::encode_response(&resp, format, encrypt, &cfg.key);
        let back = envelope::decode_response::<OrderRequest>(&cfg, &http, 200, &wire).unwrap();
        assert_eq!(back, resp);
    }
}

#[test]
fn tampering_and_wrong_keys_are_rejected() {
    let cfg = cfg(false, Format::Json);
    let http = envelope::build(&cfg, &order(&cfg), 1473431447).unwrap();
    let query = http.query.clone();
    let mut body = http.body.clone();
    body[10] ^= 1;
    assert_eq!(
        envelope::open_request::<OrderRequest>(&query, &body, &cfg.key).unwrap_err(),
        Error::SignMismatch
    );
    let unsigned: Vec<_> = query.iter().filter(|(k, _)| k != "sign").cloned().collect();
    assert_eq!(
        envelope::open_request::<OrderRequest>(&unsigned, &http.body, &cfg.key).unwrap_err(),
        Error::MissingSign
    );
    let inc = envelope::open_incoming::<OrderRequest>(&unsigned, &http.body, &cfg.key).unwrap();
    assert_eq!(inc.verified, None);

    let enc = self::cfg(true, Format::Json);
    let http = envelope::build(&enc, &order(&enc), 1).unwrap();
    let other = MerchantKey::new("0123456789abcdef01234567");
    let err = envelope::open_request::<OrderRequest>(&http.query, &http.body, &other).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Decrypt(DecryptError::Padding | DecryptError::WrongKey)
        ),
        "{err:?}"
    );
}

#[test]
fn get_interfaces() {
    let cfg = cfg(true, Format::Json);
    let query = QueryRequest {
        code: "A/B C".into(),
        ser_type: SerType::Gateway,
    };
    let http = envelope::build(&cfg, &query, 1).unwrap();
    assert_eq!(http.method, Method::Get);
    assert_eq!(http.path, "query/A%2FB%20C/01000001");
    assert!(http.body.is_empty());
    assert_eq!(q(&http, "sign"), None);
    assert_eq!(q(&http, "serType").as_deref(), Some("1"));
    assert_eq!(
        http.url("http://h/x/"),
        "http://h/x/query/A%2FB%20C/01000001?_type=json&encrypt=3DES&serType=1"
    );
    let r = envelope::route(&http.url("http://h/openGateway/openService")).unwrap();
    assert_eq!(r.interface, Interface::Query);
    assert_eq!(r.args, vec!["A/B C".to_string(), "01000001".to_string()]);

    let rq = RefundQueryRequest {
        code: "X".into(),
        ser_type: SerType::Merchant,
    };
    let http = envelope::build(&cfg, &rq, 1).unwrap();
    assert_eq!(http.path, "refundQuery/X/01000001");
    assert_eq!(q(&http, "serType").as_deref(), Some("0"));

    let cancel = CancelTradeRequest {
        charge_code: "D3820833-F310-4658-BF98-52959454FCA0".into(),
        mode: CancelMode::Apply,
    };
    let http = envelope::build(&cfg, &cancel, 1473431447).unwrap();
    assert_eq!(
        http.path,
        "cancelTrade/D3820833-F310-4658-BF98-52959454FCA0/01000001"
    );
    assert_eq!(q(&http, "opType").as_deref(), Some("ACO"));
    let s = q(&http, "sign").unwrap();
    assert_eq!(
        s,
        sign::sign(
            b"chargeCode=D3820833-F310-4658-BF98-52959454FCA0&busiCode=01000001",
            &cfg.key,
            1473431447
        )
    );
    let (mode, v) =
        envelope::open_cancel(&http.query, &cancel.charge_code, "01000001", &cfg.key).unwrap();
    assert_eq!((mode, v.ts), (CancelMode::Apply, 1473431447));
    let real = CancelTradeRequest {
        mode: CancelMode::RealTime,
        ..cancel
    };
    assert_eq!(q(&envelope::build(&cfg, &real, 1).unwrap(), "opType"), None);
}

#[test]
fn decode_response_errors() {
    let cfg = cfg(true, Format::Json);
    let http = envelope::build(&cfg, &order(&cfg), 1).unwrap();
    let dec =
        |status, body: &[u8]| envelope::decode_response::<OrderRequest>(&cfg, &http, status, body);
    assert_eq!(
        dec(502, b"whatever").unwrap_err(),
        Error::Http { status: 502 }
    );
    assert_eq!(
        dec(200, b"<html><body>nginx</body></html>").unwrap_err(),
        Error::NotGatewayMessage
    );
    assert_eq!(dec(200, b"").unwrap_err(), Error::NotGatewayMessage);
    assert_eq!(
        dec(200, "ünïcode!".as_bytes()).unwrap_err(),
        Error::NotGatewayMessage
    );
    assert_eq!(
        dec(200, b"AAAA").unwrap_err(),
        Error::Decrypt(DecryptError::Length)
    );
    // Gateway failure, encrypted XML.
    let fail = OrderResp {
        result: ResultInfo {
            code: ResultCode::SerialRepeat,
            info: "流水号重复".into(),
        },
        ..Default::default()
    };
    let wire = envelope::encode_response(&fail, Format::Xml, true, &cfg.key);
    assert_eq!(
        dec(200, &wire).unwrap_err(),
        Error::Gateway {
            code: ResultCode::SerialRepeat,
            info: "流水号重复".into()
        }
    );
    // Plaintext error bodies are tolerated even though encryption was requested,
    // and the RESULT code wins over odd fields.
    let plain = br#"{"ORDER_RESP":{"RESULT":{"CODE":"INVALID_SIGN","INFO":"bad"},"AMT":"x"}}"#;
    assert_eq!(
        dec(200, plain).unwrap_err(),
        Error::Gateway {
            code: ResultCode::InvalidSign,
            info: "bad".into()
        }
    );
    // A success answer in clear although 3DES was asked: never trusted.
    let clear_ok = envelope::encode_response(&OrderResp::default(), Format::Json, false, &cfg.key);
    assert_eq!(dec(200, &clear_ok).unwrap_err(), Error::UnencryptedSuccess);
    let clear_ok = envelope::encode_response(&OrderResp::default(), Format::Xml, false, &cfg.key);
    assert_eq!(dec(200, &clear_ok).unwrap_err(), Error::UnencryptedSuccess);
    // The same answer encrypted is fine; without 3DES configured, clear is fine.
    let enc_ok = envelope::encode_response(&OrderResp::default(), Format::Json, true, &cfg.key);
    assert!(dec(200, &enc_ok).is_ok());
    let plain_cfg = self::cfg(false, Format::Json);
    let plain_http = envelope::build(&plain_cfg, &order(&plain_cfg), 1).unwrap();
    let clear_ok = envelope::encode_response(&OrderResp::default(), Format::Json, false, &cfg.key);
    assert!(
        envelope::decode_response::<OrderRequest>(&plain_cfg, &plain_http, 200, &clear_ok).is_ok()
    );
    // Encrypted with another key.
    let other = MerchantKey::new("another-merchant-key-000");
    let ok = envelope::encode_response(&OrderResp::default(), Format::Json, true, &other);
    assert!(matches!(dec(200, &ok).unwrap_err(), Error::Decrypt(_)));
}

#[test]
fn validation_happens_in_build() {
    let cfg = cfg(false, Format::Json);
    let mut req = order(&cfg);
    req.amt = Fen::ZERO;
    assert!(matches!(
        envelope::build(&cfg, &req, 1),
        Err(Error::InvalidField { field: "AMT", .. })
    ));
    let mut req = order(&cfg);
    req.common.busi_id.clear();
    assert_eq!(
        envelope::build(&cfg, &req, 1),
        Err(Error::MissingField("BUSI_ID"))
    );
    let mut req = order(&cfg);
    req.nodify_url = Some("ftp://x".into());
    assert!(matches!(
        envelope::build(&cfg, &req, 1),
        Err(Error::InvalidField {
            field: "NODIFY_URL",
            ..
        })
    ));
}

fn notify() -> PayNotify {
    PayNotify {
        busi_id: "0010000001".into(),
        oper_id: "TEST1".into(),
        dev_id: "QQQQ".into(),
        amt: Fen::from_fen(1),
        channel_type: ChannelType::Alipay,
        charge_code: "1C88FADB-75D2-4517-9C38-F273D423FFF3".into(),
        charge_down_code: "20151123100000095182".into(),
        charge_third_code: Some("2088110245121545154".into()),
        pay_subject: "SOSO product 1 http://x/y".into(),
        state: OrderState::Paid,
        fund_bill_list: vec![FundBill {
            fund_channel: FundChannel::AlipayBalance,
            amount: Fen::from_fen(1),
        }],
        ..Default::default()
    }
}

#[test]
fn notifications_follow_the_url() {
    let key = MerchantKey::new(KEY);
    for (url, format, encrypted) in [
        ("http://127.0.0.1:8787/n", Format::Xml, false),
        ("http://127.0.0.1:8787/n?_type=json", Format::Json, false),
        (
            "HTTP://127.0.0.1:8787/n? _type=json&encrypt=3DES",
            Format::Json,
            true,
        ),
        ("https://127.0.0.1/n?encrypt=3DES&", Format::Xml, true),
    ] {
        let n = envelope::build_notification(url, &notify(), &key, TS_MS).unwrap();
        assert_eq!(n.content_type, format.content_type());
        assert!(n.url.contains("sign="), "{}", n.url);
        let query = envelope::parse_query(n.url.split_once('?').unwrap().1);
        let plain = if encrypted {
            tdes::decrypt(&n.body, &key).unwrap()
        } else {
            n.body.clone()
        };
        assert_eq!(codec::sniff(&plain), Some(format));
        let (got, v) = envelope::open_notification(&query, &n.body, &key).unwrap();
        assert_eq!(got, notify());
        assert_eq!(v.ts, TS_MS);
        // A tampered body fails.
        let mut bad = plain.clone();
        let pos = bad.iter().position(|&b| b == b'Q').unwrap();
        bad[pos] = b'R';
        let bad = if encrypted {
            tdes::encrypt(&bad, &key).into_bytes()
        } else {
            bad
        };
        assert_eq!(
            envelope::open_notification(&query, &bad, &key).unwrap_err(),
            Error::SignMismatch
        );
    }
    assert!(matches!(
        envelope::build_notification("javascript:alert(1)", &notify(), &key, 1),
        Err(Error::InvalidField {
            field: "NODIFY_URL",
            ..
        })
    ));
}

#[test]
fn backslash_variant_is_reported() {
    // A merchant whose serializer escaped '/' as '\/' in what it verifies,
    // or a gateway that signed the unescaped form: the fallback accepts it.
    let key = MerchantKey::new(KEY);
    let escaped = br#"{"PAY_NODIFY":{"PAY_SUBJECT":"http:\/\/x"}}"#;
    let s = sign::sign(br#"{"PAY_NODIFY":{"PAY_SUBJECT":"http://x"}}"#, &key, 7);
    assert_eq!(
        sign::verify(&s, escaped, &key).unwrap().rule,
        SignRule::BackslashStripped
    );
}
