//! Property tests: signatures verify, 3DES round-trips, amounts round-trip,
//! typed messages survive JSON and XML, and nothing panics on hostile input.

use proptest::prelude::*;
use soushou::codec::{self, Format};
use soushou::envelope::{self, Config};
use soushou::model::*;
use soushou::sign::{self, SignRule};
use soushou::types::*;
use soushou::{tdes, xml, Fen, MerchantKey};

fn ts() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..10_000_000_000,                     // Unix seconds
        1_000_000_000_000u64..10_000_000_000_000, // Unix milliseconds
    ]
}

fn cfg(encrypt: bool) -> Config {
    Config {
        gateway_url: "http://127.0.0.1:1/".into(),
        busi_code: "01000001".into(),
        busi_id: "0010000001".into(),
        key: MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE"),
        encrypt,
        format: Format::Json,
        oper_id: "o".into(),
        dev_id: "d".into(),
        register_id: None,
    }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ a-zA-Z0-9<>&\"'/\\\\\r\n\t.:-]{0,20}"]
}

fn notify() -> impl Strategy<Value = PayNotify> {
    (
        (text(), text(), text(), any::<u64>(), 0u32..40, text()),
        (
            text(),
            proptest::option::of(text()),
            text(),
            0u32..13,
            proptest::option::of(text()),
        ),
        proptest::collection::vec((0u32..10_000, any::<u64>()), 0..4),
    )
        .prop_map(
            |((b, o, d, amt, ch, cc), (cdc, ctc, ps, st, mp), bills)| PayNotify {
                busi_id: b,
                oper_id: o,
                dev_id: d,
                amt: Fen::from_fen(amt),
                channel_type: ChannelType::from_number(ch),
                charge_code: cc,
                charge_down_code: cdc,
                charge_third_code: ctc,
                pay_subject: ps,
                goods_detail: Vec::new(),
                state: OrderState::from_number(st),
                merchant_para: mp,
                fund_bill_list: bills
                    .into_iter()
                    .map(|(c, a)| FundBill {
                        fund_channel: FundChannel::from_code(&c.to_string()),
                        amount: Fen::from_fen(a),
                    })
                    .collect(),
                extra: Default::default(),
            },
        )
}

/// Strings in which the Java whitespace rule and plain text both matter.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[ \t\n\x0B\x0C\r{}\":,a-z0-9\\\\/嗖]{0,200}".prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sign_then_verify(body in body(), key in any::<String>(), ts in ts()) {
        let key = MerchantKey::new(key);
        let s = sign::sign(&body, &key, ts);
        let v = sign::verify(&s, &body, &key).unwrap();
        prop_assert_eq!(v.ts, ts);
        prop_assert_eq!(v.rule, SignRule::JavaWhitespace);
        prop_assert!(v.unix_seconds() <= 10_000_000_000);
        // Whitespace added anywhere does not change the signature.
        let mut spaced = body.clone();
        spaced.insert(body.len() / 2, b' ');
        prop_assert!(sign::verify(&s, &spaced, &key).is_ok());
        // Upper-case hex verifies too.
        prop_assert!(sign::verify(&s.to_uppercase(), &body, &key).is_ok());
    }

    #[test]
    fn encrypt_then_decrypt(plain in proptest::collection::vec(any::<u8>(), 0..600), key in any::<String>()) {
        let key = MerchantKey::new(key);
        let c = tdes::encrypt(&plain, &key);
        prop_assert_eq!(c.len() % 4, 0);
        prop_assert_eq!(tdes::decrypt(c.as_bytes(), &key).unwrap(), plain);
    }

    #[test]
    fn fen_round_trip(f in any::<u64>()) {
        let y = Fen::from_fen(f).to_yuan();
        prop_assert_eq!(Fen::parse_yuan(&y).unwrap(), Fen::from_fen(f));
        prop_assert_eq!(y, Fen::from_fen(f).to_string());
    }

    #[test]
    fn yuan_strings_parse_exactly(int in "[0-9]{1,15}", frac in "[0-9]{0,2}") {
        let s = if frac.is_empty() { int.clone() } else { format!("{int}.{frac}") };
        let fen = Fen::parse_yuan(&s).unwrap();
        let cents: u64 = format!("{frac:0<2}").parse().unwrap();
        prop_assert_eq!(fen.fen(), int.parse::<u64>().unwrap() * 100 + cents);
        prop_assert_eq!(Fen::parse_yuan(&fen.to_yuan()).unwrap(), fen);
    }

    #[test]
    fn fen_parser_never_panics(s in any::<String>()) {
        if let Ok(f) = Fen::parse_yuan(&s) {
            // Anything accepted is digits with at most two decimals.
            prop_assert!(s.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
            prop_assert_eq!(Fen::parse_yuan(&f.to_yuan()).unwrap(), f);
        }
    }

    #[test]
    fn messages_survive_json_and_xml(n in notify()) {
        for format in [Format::Json, Format::Xml] {
            let bytes = codec::encode(&n, format);
            let back: PayNotify = codec::decode(&bytes)
                .map_err(|e| TestCaseError::fail(format!("{format:?}: {e}: {}", String::from_utf8_lossy(&bytes))))?;
            prop_assert_eq!(&back, &n);
        }
    }

    #[test]
    fn notifications_round_trip(n in notify(), json in any::<bool>(), enc in any::<bool>(), ts in ts()) {
        let key = MerchantKey::new("SHORTKEY0123456");
        let mut url = String::from("http://127.0.0.1:8787/notify?x=1");
        if json { url.push_str("&_type=json"); }
        if enc { url.push_str("&encrypt=3DES"); }
        let out = envelope::build_notification(&url, &n, &key, ts).unwrap();
        let query = envelope::parse_query(out.url.split_once('?').unwrap().1);
        let (got, v) = envelope::open_notification(&query, &out.body, &key).unwrap();
        prop_assert_eq!(got, n);
        prop_assert_eq!(v.ts, ts);
    }

    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        exercise(&bytes);
    }

    #[test]
    fn text_like_inputs_never_panic(s in "[<>/{}\\[\\]\":,=&%?;!#A-Z_a-z0-9 \\-\\.\n]{0,400}") {
        exercise(s.as_bytes());
    }

    #[test]
    fn truncated_messages_never_panic(cut in 0usize..2000, which in 0usize..4, enc in any::<bool>()) {
        let key = MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE");
        let q = QueryResp {
            busi_id: Some("0010000001".into()),
            goods_detail: vec![GoodsItem { id: "1".into(), name: "n".into(), class: "c".into(),
                price: Fen::from_fen(200), subject: "s".into(), quantity: 5, show_url: None }],
            fund_bill_list: vec![FundBill { fund_channel: FundChannel::WeChat, amount: Fen::from_fen(1) }],
            ..Default::default()
        };
        let full = match which {
            0 => envelope::encode_response(&q, Format::Json, enc, &key),
            1 => envelope::encode_response(&q, Format::Xml, enc, &key),
            2 => codec::encode_body(&QueryResp::default()),
            _ => tdes::encrypt(&codec::encode(&q, Format::Xml), &key).into_bytes(),
        };
        let cut = cut.min(full.len());
        exercise(&full[..cut]);
        let r = envelope::decode_response::<QueryRequest>(&cfg(enc), &query_req(enc), 200, &full[..cut]);
        if cut == full.len() && which < 2 {
            prop_assert!(r.is_ok(), "{:?}", r);
        }
    }
}

fn query_req(enc: bool) -> envelope::HttpRequest {
    envelope::build(
        &cfg(enc),
        &QueryRequest {
            code: "c".into(),
            ser_type: SerType::Merchant,
        },
        1,
    )
    .unwrap()
}

/// Feeds one input to every parser, decoder and verifier; they may fail, never panic.
fn exercise(bytes: &[u8]) {
    let key = MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE");
    let text = String::from_utf8_lossy(bytes);
    let _ = codec::decode::<OrderResp>(bytes);
    let _ = codec::decode::<RefundResp>(bytes);
    let _ = codec::decode::<QueryResp>(bytes);
    let _ = codec::decode::<RefundQueryResp>(bytes);
    let _ = codec::decode::<CancelTradeResp>(bytes);
    let _ = codec::decode::<PayNotify>(bytes);
    let _ = codec::decode_body::<OrderRequest>(bytes);
    let _ = codec::decode_body::<WapOrderRequest>(bytes);
    let _ = codec::decode_body::<serde_json::Value>(bytes);
    let _ = xml::to_json(bytes);
    let _ = tdes::decrypt(bytes, &key);
    let _ = sign::verify(&text, bytes, &key);
    let _ = Fen::parse_yuan(&text);
    let query = envelope::parse_query(&text);
    let _ = envelope::route(&text);
    let _ = envelope::open_request::<RefundRequest>(&query, bytes, &key);
    let _ = envelope::open_incoming::<PreOrderRequest>(&query, bytes, &key);
    let _ = envelope::open_notification(&query, bytes, &key);
    let _ = envelope::open_cancel(&query, &text, &text, &key);
    for enc in [false, true] {
        let _ = envelope::decode_response::<QueryRequest>(&cfg(enc), &query_req(enc), 200, bytes);
        let _ =
            envelope::decode_response::<CancelTradeRequest>(&cfg(enc), &query_req(enc), 200, bytes);
    }
}

#[test]
fn oversized_and_deep_inputs_are_rejected_not_crashed() {
    let deep_json = "[".repeat(100_000);
    exercise(deep_json.as_bytes());
    let deep_obj = "{\"ORDER_RESP\":".repeat(50_000);
    exercise(deep_obj.as_bytes());
    let deep_xml = "<A>".repeat(100_000);
    exercise(deep_xml.as_bytes());
    let wide = format!(
        "{{\"QUERY_RESP\":{{\"RESULT\":{{\"CODE\":\"SUCCESS\"}},\"PAY_SUBJECT\":\"{}\"}}}}",
        "x".repeat(5_000_000)
    );
    let q: QueryResp = codec::decode(wide.as_bytes()).unwrap();
    assert_eq!(q.pay_subject.map(|s| s.len()), Some(5_000_000));
    let huge_amount =
        br#"{"QUERY_RESP":{"RESULT":{"CODE":"SUCCESS"},"AMT":"99999999999999999999999"}}"#;
    assert!(codec::decode::<QueryResp>(huge_amount).is_err());
    exercise(&[0xff; 100_000]);
}
