//! Every sample message of the gateway document (sections 2–11) round-trips:
//! parse → typed → serialise → parse gives the same value, in JSON and XML,
//! and each hand-written XML fixture decodes to the same value as its JSON.

use std::fmt::Debug;

use serde::de::DeserializeOwned;
use serde::Serialize;
use soushou::codec::{self, Format, Message};
use soushou::model::*;
use soushou::types::*;
use soushou::Fen;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

/// Request bodies are bare JSON objects.
fn request_round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(name: &str) -> T {
    let raw = fixture(name);
    let typed: T = codec::decode_body(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again: T = codec::decode_body(&codec::encode_body(&typed)).unwrap();
    assert_eq!(typed, again, "{name} JSON round trip");
    typed
}

/// Responses/notifications: JSON and XML fixture agree, and both formats round-trip.
fn message_round_trip<M: Message + PartialEq + Debug>(stem: &str) -> M {
    let from_json: M = codec::decode(&fixture(&format!("{stem}.json")))
        .unwrap_or_else(|e| panic!("{stem}.json: {e}"));
    let from_xml: M = codec::decode(&fixture(&format!("{stem}.xml")))
        .unwrap_or_else(|e| panic!("{stem}.xml: {e}"));
    assert_eq!(from_json, from_xml, "{stem}: XML and JSON forms differ");
    for format in [Format::Json, Format::Xml] {
        let bytes = codec::encode(&from_json, format);
        let again: M = codec::decode(&bytes).unwrap_or_else(|e| {
            panic!(
                "{stem} {format:?}: {e}\n{}",
                String::from_utf8_lossy(&bytes)
            )
        });
        assert_eq!(from_json, again, "{stem} {format:?} round trip");
    }
    from_json
}

fn goods_sample(g: &GoodsItem) {
    assert_eq!(g.price, Fen::from_fen(200));
    assert_eq!(g.quantity, 5);
    assert_eq!(g.show_url.as_deref(), Some("WWW.****.COM"));
}

#[test]
fn s02_preorder() {
    let r: PreOrderRequest = request_round_trip("s02_preorder_request.json");
    assert_eq!(r.amt, Fen::from_fen(1));
    assert_eq!(r.channel_type, ChannelType::Auto);
    assert_eq!(r.dynamic_id_type, DynamicIdType::Barcode);
    assert_eq!(r.common.register_id.as_deref(), Some("02016"));
    assert_eq!(r.goods_detail.len(), 2);
    goods_sample(&r.goods_detail[0]);
    r.validate().unwrap();

    let resp: OrderResp = message_round_trip("s02_preorder_resp");
    assert_eq!(resp.result.code, ResultCode::Success);
    assert_eq!(resp.channel_type, Some(ChannelType::WeChat));
    assert_eq!(resp.amt, Some(Fen::from_fen(1)));
    assert_eq!(
        resp.charge_third_code.as_deref(),
        Some("2088110245121545154")
    );
    assert_eq!(
        resp.fund_bill_list,
        vec![FundBill {
            fund_channel: FundChannel::WeChat,
            amount: Fen::from_fen(1)
        }]
    );
    assert!(resp.extra.is_empty(), "unmodelled: {:?}", resp.extra);
}

#[test]
fn s03_order() {
    let r: OrderRequest = request_round_trip("s03_order_request.json");
    assert_eq!(r.amt, Fen::from_fen(10));
    assert_eq!(r.channel_type, ChannelType::WeChat);
    assert_eq!(
        r.common.merchant_para.as_deref(),
        Some("111111111111111111111111")
    );
    r.validate().unwrap();

    let resp: OrderResp = message_round_trip("s03_order_resp");
    assert_eq!(
        resp.prepay_id.as_deref(),
        Some("wx201510141632085a42660ad90294184506")
    );
    assert_eq!(
        resp.bar_code.as_deref(),
        Some("weixin://wxpay/bizpayurl?pr=59tFp8e")
    );
    assert!(resp.extra.is_empty(), "unmodelled: {:?}", resp.extra);
}

#[test]
fn s04_order_jsapi() {
    let r: OrderRequest = request_round_trip("s04_order_jsapi_request.json");
    assert_eq!(r.trade_type, Some(TradeType::Jsapi));
    assert_eq!(r.sub_appid.as_deref(), Some("wxb1c959c78e070e58"));
    assert_eq!(
        r.sub_openid.as_deref(),
        Some("oa58kwTYbuSGryFQKk8SOu-VMi-M")
    );
    r.validate().unwrap();
    let mut missing = r.clone();
    missing.sub_openid = None;
    assert_eq!(
        missing.validate(),
        Err(soushou::Error::MissingField("subOpenid"))
    );

    let resp: OrderResp = message_round_trip("s04_order_jsapi_resp");
    assert_eq!(resp.app_id.as_deref(), Some("wx77a451e8627239de"));
    assert_eq!(resp.time_stamp.as_deref(), Some("1465698073386"));
    assert_eq!(
        resp.nonce_str.as_deref(),
        Some("53f02f8bdb8942c382787e7ec0d09ab6")
    );
    assert_eq!(
        resp.package_data.as_deref(),
        Some("prepay_id=wx2016061210212283e40a2ca90319983999")
    );
    assert_eq!(resp.sign_type.as_deref(), Some("MD5"));
    assert_eq!(
        resp.sign.as_deref(),
        Some("1C082A5DD99475AEED5938887F8AAC4D")
    );
    assert_eq!(resp.result.info, " Request was successful!");
    assert!(resp.extra.is_empty(), "unmodelled: {:?}", resp.extra);
}

#[test]
fn s05_creatorder() {
    let r: CreatOrderRequest = request_round_trip("s05_creatorder_request.json");
    assert_eq!(r.buyer_logon_id.as_deref(), Some("123********@qq.com"));
    assert_eq!(r.buyer_id.as_deref(), Some("2088*************1"));
    assert_eq!(r.goods_detail[0].name, "商品名称");
    r.validate().unwrap();
    let mut short = r.clone();
    short.time_expire = Some(119);
    assert!(matches!(
        short.validate(),
        Err(soushou::Error::InvalidField {
            field: "TIME_EXPIRE",
            ..
        })
    ));

    let resp: OrderResp = message_round_trip("s05_creatorder_resp");
    assert_eq!(resp.begin_time.as_deref(), Some(""));
    assert_eq!(resp.result.info, "请求成功!");
    assert_eq!(
        resp.charge_third_code.as_deref(),
        Some("2017051521001004510220799315")
    );
}

#[test]
fn s06_waporder() {
    // The document's sample is invalid JSON (unescaped quotes inside the
    // SCENE_INFO string); the fixture is corrected, the original must fail
    // cleanly.
    let original = fixture("s06_waporder_request.original.txt");
    assert!(matches!(
        codec::decode_body::<WapOrderRequest>(&original),
        Err(soushou::Error::Decode(_))
    ));
    let r: WapOrderRequest = request_round_trip("s06_waporder_request.json");
    assert_eq!(
        r.scene_info,
        SceneInfo::Wap {
            wap_url: "https://pay.qq.com".into(),
            wap_name: "腾讯充值".into()
        }
    );
    assert_eq!(
        r.return_url.as_deref(),
        Some("http://221.12.11.172:8081/SOSOPAYWEB/SOSOPAYTEST")
    );
    // The sample omits the mandatory SPBILL_CREATE_IP.
    assert_eq!(
        r.validate(),
        Err(soushou::Error::MissingField("SPBILL_CREATE_IP"))
    );
    // SCENE_INFO is written as a JSON string holding the h5_info object.
    let body: serde_json::Value = serde_json::from_slice(&codec::encode_body(&r)).unwrap();
    let scene: serde_json::Value =
        serde_json::from_str(body["SCENE_INFO"].as_str().unwrap()).unwrap();
    assert_eq!(scene["h5_info"]["type"], "Wap");

    let resp: OrderResp = message_round_trip("s06_waporder_resp");
    assert_eq!(
        resp.bar_code.as_deref(),
        Some("weixin://wxpay/bizpayurl?pr=59tFp8e")
    );
}

#[test]
fn s07_pay_nodify() {
    let n: PayNotify = message_round_trip("s07_pay_nodify");
    assert_eq!(n.amt, Fen::from_fen(1));
    assert_eq!(n.state, OrderState::Paid);
    assert_eq!(n.channel_type, ChannelType::Alipay);
    assert_eq!(n.pay_subject, "SOSO  product 1");
    assert_eq!(n.fund_bill_list[0].fund_channel, FundChannel::AlipayBalance);
    assert_eq!(n.charge_third_code, None);
    assert!(n.extra.is_empty(), "unmodelled: {:?}", n.extra);
}

#[test]
fn s08_refund() {
    let r: RefundRequest = request_round_trip("s08_refund_request.json");
    assert_eq!(r.charge_refund_fee, Fen::from_fen(1));
    assert_eq!(
        r.out_refund_no.as_deref(),
        Some("BBB10898-4D12-4109-8AFD-D0EB1C37C998")
    );
    r.validate().unwrap();

    let resp: RefundResp = message_round_trip("s08_refund_resp");
    assert_eq!(resp.channel_type, Some(ChannelType::Alipay));
    assert_eq!(resp.fund_bill_list.len(), 1);
    assert!(resp.extra.is_empty(), "unmodelled: {:?}", resp.extra);
}

#[test]
fn s09_query() {
    let q: QueryResp = message_round_trip("s09_query_resp");
    assert_eq!(q.amt, Some(Fen::from_fen(1)));
    assert_eq!(q.real_amt, Some(Fen::from_fen(1)));
    assert_eq!(q.state, Some(OrderState::Paid));
    assert_eq!(q.goods_detail.len(), 2);
    goods_sample(&q.goods_detail[1]);
    assert_eq!(q.dynamic_id.as_deref(), Some("130730865806264036"));
    assert_eq!(
        q.extra.keys().collect::<Vec<_>>(),
        vec!["dynamic_ID_TYPE_STR"],
        "only the undocumented field is unmodelled"
    );
}

#[test]
fn s10_refund_query() {
    let q: RefundQueryResp = message_round_trip("s10_refund_query_resp");
    assert_eq!(q.amt, Some(Fen::from_fen(5)));
    assert_eq!(q.refund_amt, Some(Fen::from_fen(3)));
    assert_eq!(q.refund_count, Some(3));
    assert_eq!(q.state, Some(OrderState::PartiallyRefunded));
    assert_eq!(q.result.info, "查询成功");
    assert_eq!(q.refund_trade_list.len(), 3);
    let t = &q.refund_trade_list[2];
    assert_eq!(t.state, Some(OrderState::RefundSucceeded));
    assert_eq!(t.refund_amt, Some(Fen::from_fen(1)));
    assert_eq!(t.refund_code.as_deref(), Some("20170622100000235527"));
    assert_eq!(t.refund_bill_list[0].amount, Fen::from_fen(1));
    assert!(q.extra.is_empty() && t.extra.is_empty());
}

#[test]
fn s11_canceltrade() {
    let c: CancelTradeResp = message_round_trip("s11_canceltrade_resp");
    assert_eq!(c.result.info, "Revocation is successful");
}

#[test]
fn list_shapes_and_spellings_are_tolerated() {
    // One TRADEFUNDBILL object instead of an array, SUCESS, numbers as strings,
    // charge_THIRD_CODE, GOODS_DETAIL as one object.
    let json = br#"{"QUERY_RESP":{"RESULT":{"CODE":"SUCESS","INFO":"ok"},
        "AMT":"15800","realAMT":"158.00","CHANNEL_TYPE":"1","STATE":"1",
        "FUND_BILL_LIST":{"TRADEFUNDBILL":{"AMOUNT":158,"FUND_CHANNEL":10}},
        "GOODS_DETAIL":{"GOOD_ID":"1","GOOD_NAME":"n","GOOD_CLASS":"c","GOOD_PRICE":"158",
                        "GOOD_SUBJECT":"s","GOOD_QUANTITY":"1"},
        "NEW_FIELD":{"X":[1,2]}}}"#;
    let q: QueryResp = codec::decode(json).unwrap();
    assert_eq!(q.result.code, ResultCode::Success);
    assert_eq!(q.amt, Some(Fen::from_fen(15800)));
    assert_eq!(q.real_amt, Some(Fen::from_fen(15800)));
    assert_eq!(q.fund_bill_list[0].amount, Fen::from_fen(15800));
    assert_eq!(q.goods_detail.len(), 1);
    assert_eq!(q.extra["NEW_FIELD"], serde_json::json!({"X":[1,2]}));
    // Written back as the canonical spelling.
    let out = String::from_utf8(codec::encode(&q, Format::Json)).unwrap();
    assert!(out.contains("\"CODE\":\"SUCCESS\""), "{out}");
    assert!(out.contains("\"TRADEFUNDBILL\":[{"), "{out}");

    let o: OrderResp =
        codec::decode(br#"{"ORDER_RESP":{"RESULT":{"CODE":"SUCCESS"},"charge_THIRD_CODE":"42"}}"#)
            .unwrap();
    assert_eq!(o.charge_third_code.as_deref(), Some("42"));
    // Both spellings at once: the canonical one wins, the other is kept.
    let both: PayNotify = codec::decode(
        br#"{"PAY_NODIFY":{"AMT":1,"CHANNEL_TYPE":2,"STATE":1,"CHARGE_CODE":"c",
            "CHARGE_THIRD_CODE":"A","charge_THIRD_CODE":"B"}}"#,
    )
    .unwrap();
    assert_eq!(both.charge_third_code.as_deref(), Some("A"));
    assert_eq!(both.extra["charge_THIRD_CODE"], "B");
    let again: PayNotify = codec::decode(&codec::encode(&both, Format::Xml)).unwrap();
    assert_eq!(again, both);

    // Two bills in XML are repeated elements.
    let xml = br#"<REFUND_RESP><RESULT><CODE>SUCCESS</CODE><INFO/></RESULT>
        <FUND_BILL_LIST><TRADEFUNDBILL><AMOUNT>1.5</AMOUNT><FUND_CHANNEL>00</FUND_CHANNEL></TRADEFUNDBILL>
        <TRADEFUNDBILL><AMOUNT>0.25</AMOUNT><FUND_CHANNEL>9001</FUND_CHANNEL></TRADEFUNDBILL></FUND_BILL_LIST>
        </REFUND_RESP>"#;
    let r: RefundResp = codec::decode(xml).unwrap();
    assert_eq!(
        r.fund_bill_list,
        vec![
            FundBill {
                fund_channel: FundChannel::AlipayBonus,
                amount: Fen::from_fen(150)
            },
            FundBill {
                fund_channel: FundChannel::BankCard,
                amount: Fen::from_fen(25)
            },
        ]
    );
    let x = String::from_utf8(codec::encode(&r, Format::Xml)).unwrap();
    assert!(
        x.contains("<FUND_BILL_LIST><TRADEFUNDBILL><AMOUNT>1.50</AMOUNT><FUND_CHANNEL>00</FUND_CHANNEL></TRADEFUNDBILL><TRADEFUNDBILL>"),
        "{x}"
    );
}

#[test]
fn wrong_root_html_and_garbage_are_typed_errors() {
    assert!(matches!(
        codec::decode::<OrderResp>(br#"{"QUERY_RESP":{}}"#),
        Err(soushou::Error::UnexpectedRoot {
            expected: "ORDER_RESP",
            ..
        })
    ));
    assert_eq!(
        codec::decode::<OrderResp>(b"<!DOCTYPE html><html><body>502</body></html>"),
        Err(soushou::Error::NotGatewayMessage)
    );
    assert_eq!(
        codec::decode::<OrderResp>(b"<html><body>502</body></html>"),
        Err(soushou::Error::NotGatewayMessage)
    );
    assert_eq!(
        codec::decode::<OrderResp>(b"Bad Gateway"),
        Err(soushou::Error::NotGatewayMessage)
    );
    assert!(matches!(
        codec::decode::<OrderResp>(br#"{"ORDER_RESP":{"RESULT":{"CODE":"SUCCESS"},"AMT":-1}}"#),
        Err(soushou::Error::Decode(_))
    ));
}

/// Issue 24 defect 10: a yuan JSON number with more than 15 significant
/// digits does not survive serde_json's f64: `0.0100000000000000001` (not a
/// valid amount: more than two decimals) became `0.01`, one fen, and
/// `1234567890123.456789` lost its last digits. Such a number is refused,
/// never rounded; exact ones (integers, up to 15 significant digits) and
/// strings are read as before.
#[test]
fn yuan_numbers_beyond_fifteen_digits_are_refused_not_rounded() {
    let refund = |amount: &str| {
        let body = format!(
            r#"{{"REFUND_RESP":{{"RESULT":{{"CODE":"SUCCESS"}},
            "FUND_BILL_LIST":{{"TRADEFUNDBILL":{{"AMOUNT":{amount},"FUND_CHANNEL":"00"}}}}}}}}"#
        );
        codec::decode::<RefundResp>(body.as_bytes())
            .map(|r| r.fund_bill_list.first().map(|b| b.amount))
    };
    for rounded in [
        "0.0100000000000000001",
        "1234567890123.456789",
        "12.5000000000000000001",
        "1e-20",
    ] {
        let read = refund(rounded);
        assert!(
            read.is_err(),
            "{rounded} must be refused, was read as {read:?}"
        );
    }
    for (exact, fen) in [
        ("1.5", 150),
        ("0.25", 25),
        ("158", 15_800),
        ("\"0.01\"", 1),
        ("123456789012.34", 12_345_678_901_234),
    ] {
        assert_eq!(refund(exact).unwrap(), Some(Fen::from_fen(fen)), "{exact}");
    }
}
