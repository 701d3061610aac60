//! Success paths of every interface against the real binary, in XML and JSON,
//! plain and 3DES, signed with second and millisecond timestamps.

mod common;

use common::*;
use soushou::codec::Format;
use soushou::types::{CancelMode, ChannelType, OrderState, SerType};
use soushou::Fen;

/// Every combination of format and encryption the gateway supports.
const SHAPES: [(bool, Format); 4] = [
    (false, Format::Xml),
    (false, Format::Json),
    (true, Format::Xml),
    (true, Format::Json),
];

#[tokio::test]
async fn pre_order_completes_at_once_in_every_shape() {
    let sb = Sandbox::start(&[]);
    for (i, (encrypt, format)) in SHAPES.into_iter().enumerate() {
        let cfg = sb.client(encrypt, format);
        let code = code("pre");
        // Alternate second and millisecond timestamps.
        let ts = if i % 2 == 0 { now_secs() } else { now_ms() };
        let resp = call_at(&cfg, &pre_order(&cfg, &code, 158), ts)
            .await
            .expect("preOrder");
        assert_eq!(resp.charge_code.as_deref(), Some(code.as_str()));
        let down = resp.charge_down_code.clone().unwrap();
        assert_eq!(down.len(), 20, "{down}");
        // DYNAMIC_ID 13… is a WeChat code: channel 0 resolves to WeChat.
        assert_eq!(resp.channel_type, Some(ChannelType::WeChat));
        assert_eq!(resp.amt, Some(Fen::from_fen(158)));
        let third = resp.charge_third_code.clone().unwrap();
        assert_eq!(third.len(), 28);
        assert_eq!(resp.fund_bill_list.len(), 1);
        assert_eq!(resp.fund_bill_list[0].amount, Fen::from_fen(158));
        assert_eq!(resp.fund_bill_list[0].fund_channel.code(), "11");
        assert_eq!(resp.merchant_para.as_deref(), Some("MTExMTEx"));
        assert!(resp.begin_time.is_some());

        let q = query_by_code(&cfg, &code).await;
        assert_eq!(q.state, Some(OrderState::Paid));
        assert_eq!(q.amt, Some(Fen::from_fen(158)));
        assert_eq!(q.real_amt, Some(Fen::from_fen(158)));
        assert_eq!(q.goods_detail.len(), 1);
        assert_eq!(q.goods_detail[0].price, Fen::from_fen(200));
        // serType=1 looks the same order up by the gateway's serial.
        let q1 = call(&cfg, &query_req(&down, SerType::Gateway))
            .await
            .unwrap();
        assert_eq!(q1.charge_code.as_deref(), Some(code.as_str()));

        let log = sb.last_request().await;
        assert_eq!(log["interface"], "query");
        assert_eq!(log["encrypted"], encrypt);
    }
    // The request log recorded the timestamp units it verified.
    let all = sb.get_json("/sandbox/requests").await;
    let units: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["interface"] == "preOrder")
        .map(|r| r["sign_ts"].as_str().unwrap())
        .collect();
    assert_eq!(
        units,
        ["seconds", "milliseconds", "seconds", "milliseconds"]
    );
}

#[tokio::test]
async fn native_order_waits_for_the_shopper() {
    let sb = Sandbox::start(&[]);
    for (encrypt, format) in SHAPES {
        let cfg = sb.client(encrypt, format);
        let code = code("native");
        let resp = call(&cfg, &order(&cfg, &code, 10, None))
            .await
            .expect("order");
        let bar = resp.bar_code.clone().expect("BAR_CODE");
        assert_eq!(bar, format!("{}/sandbox/shopper/{code}", sb.url));
        assert!(resp.prepay_id.as_deref().unwrap().starts_with("wx"));
        let q = query_by_code(&cfg, &code).await;
        assert_eq!(q.state, Some(OrderState::Pending));
        assert!(q.fund_bill_list.is_empty());

        let paid = sb.pay(&code).await;
        assert_eq!(paid["state"], 1);
        let q = query_by_code(&cfg, &code).await;
        assert_eq!(q.state, Some(OrderState::Paid));
        assert_eq!(q.fund_bill_list[0].amount, Fen::from_fen(10));
        assert!(q.end_time.is_some());
    }
}

#[tokio::test]
async fn jsapi_order_answers_wechat_parameters() {
    let sb = Sandbox::start(&[]);
    for (encrypt, format) in SHAPES {
        let cfg = sb.client(encrypt, format);
        let code = code("jsapi");
        let r = call(&cfg, &jsapi_order(&cfg, &code, 1))
            .await
            .expect("JSAPI order");
        let app_id = r.app_id.unwrap();
        assert!(app_id.starts_with("wx") && app_id.len() == 18, "{app_id}");
        assert!(r.time_stamp.unwrap().parse::<u64>().is_ok());
        assert_eq!(r.nonce_str.unwrap().len(), 32);
        assert!(r.package_data.unwrap().starts_with("prepay_id=wx"));
        assert_eq!(r.sign_type.as_deref(), Some("MD5"));
        let sign = r.sign.unwrap();
        assert_eq!(sign.len(), 32);
        assert_eq!(sign, sign.to_uppercase());
        assert!(r.bar_code.is_none());
        let view = sb.order_view(&code).await;
        assert_eq!(view["trade_type"], "JSAPI");
        assert_eq!(view["state"], 0);
    }
}

#[tokio::test]
async fn creat_order_answers_an_alipay_trade_number() {
    let sb = Sandbox::start(&[]);
    for (encrypt, format) in SHAPES {
        let cfg = sb.client(encrypt, format);
        let code = code("creat");
        let r = call(&cfg, &creat_order(&cfg, &code, 1))
            .await
            .expect("creatOrder");
        let third = r.charge_third_code.unwrap();
        assert_eq!(third.len(), 28);
        assert!(third.bytes().all(|b| b.is_ascii_digit()));
        // Starts with the (China) date of the gateway serial.
        assert_eq!(&third[..8], &r.charge_down_code.unwrap()[..8]);
        // The shopper pays; the Alipay trade number stays the same.
        sb.pay(&code).await;
        let view = sb.order_view(&code).await;
        assert_eq!(view["charge_third_code"], third.as_str());
        assert_eq!(view["state"], 1);
    }
}

#[tokio::test]
async fn wap_order_links_to_the_shopper_page() {
    let sb = Sandbox::start(&["--public-url", "http://127.0.0.1:9/pub/"]);
    for (encrypt, format) in SHAPES {
        let cfg = sb.client(encrypt, format);
        let code = code("wap");
        let r = call(
            &cfg,
            &wap_order(&cfg, &code, 1, Some("http://127.0.0.1:9/back")),
        )
        .await
        .expect("wapOrder");
        // --public-url (trailing slash dropped) builds the link.
        assert_eq!(
            r.bar_code.unwrap(),
            format!("http://127.0.0.1:9/pub/sandbox/shopper/{code}")
        );
        assert_eq!(r.merchant_para.as_deref(), Some("MTExMTEx"));
        assert_eq!(
            sb.order_view(&code).await["return_url"],
            "http://127.0.0.1:9/back"
        );
    }
}

#[tokio::test]
async fn refunds_and_refund_query() {
    let sb = Sandbox::start(&[]);
    for (encrypt, format) in SHAPES {
        let cfg = sb.client(encrypt, format);
        let code = code("refund");
        call(&cfg, &pre_order(&cfg, &code, 500)).await.unwrap();
        let r = call(&cfg, &refund(&cfg, &code, 200, Some(&format!("{code}-R1"))))
            .await
            .expect("refund 1");
        assert_eq!(r.fund_bill_list[0].amount, Fen::from_fen(200));
        assert_eq!(r.channel_type, Some(ChannelType::WeChat));
        let q = query_by_code(&cfg, &code).await;
        assert_eq!(q.state, Some(OrderState::PartiallyRefunded));
        // Second refund without OUT_REFUND_NO: REFUND_CODE is the gateway serial.
        call(&cfg, &refund(&cfg, &code, 300, None))
            .await
            .expect("refund 2");
        let rq = call(&cfg, &refund_query_req(&code, SerType::Merchant))
            .await
            .unwrap();
        assert_eq!(rq.state, Some(OrderState::Refunded));
        assert_eq!(rq.amt, Some(Fen::from_fen(500)));
        assert_eq!(rq.refund_amt, Some(Fen::from_fen(500)));
        assert_eq!(rq.refund_count, Some(2));
        assert_eq!(rq.refund_trade_list.len(), 2);
        let first = &rq.refund_trade_list[0];
        assert_eq!(
            first.refund_code.as_deref(),
            Some(format!("{code}-R1").as_str())
        );
        assert_eq!(first.refund_amt, Some(Fen::from_fen(200)));
        assert_eq!(first.state, Some(OrderState::RefundSucceeded));
        assert_eq!(first.refund_bill_list[0].amount, Fen::from_fen(200));
        let second = &rq.refund_trade_list[1];
        assert_eq!(second.refund_code, second.refund_down_code);
    }
}

#[tokio::test]
async fn refund_by_gateway_serial_and_refund_query_by_serial() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    let code = code("bydown");
    let down = call(&cfg, &pre_order(&cfg, &code, 100))
        .await
        .unwrap()
        .charge_down_code
        .unwrap();
    let mut req = refund(&cfg, "some-other-code", 100, None);
    req.charge_down_code = Some(down.clone());
    call(&cfg, &req)
        .await
        .expect("refund by CHARGE_DOWN_CODE takes priority");
    let rq = call(&cfg, &refund_query_req(&down, SerType::Gateway))
        .await
        .unwrap();
    assert_eq!(rq.charge_code.as_deref(), Some(code.as_str()));
    assert_eq!(rq.state, Some(OrderState::Refunded));
}

#[tokio::test]
async fn cancel_trade_real_time_and_apply() {
    let sb = Sandbox::start(&[]);
    for (i, (encrypt, format)) in SHAPES.into_iter().enumerate() {
        let cfg = sb.client(encrypt, format);
        let ts = if i % 2 == 0 { now_secs() } else { now_ms() };
        // Real-time revocation of a paid order: state 2.
        let paid = code("cancel-rt");
        call(&cfg, &pre_order(&cfg, &paid, 100)).await.unwrap();
        call_at(&cfg, &cancel_req(&paid, CancelMode::RealTime), ts)
            .await
            .expect("cancelTrade");
        let q = query_by_code(&cfg, &paid).await;
        assert_eq!(q.state, Some(OrderState::Revoked));
        // opType=ACO on a pending order: state 3 (revocation applied).
        let pending = code("cancel-aco");
        call(&cfg, &order(&cfg, &pending, 100, None)).await.unwrap();
        call_at(&cfg, &cancel_req(&pending, CancelMode::Apply), ts)
            .await
            .expect("cancelTrade ACO");
        let q = query_by_code(&cfg, &pending).await;
        assert_eq!(q.state, Some(OrderState::RevocationApplied));
    }
}

#[tokio::test]
async fn pre_order_can_stay_pending() {
    let sb = Sandbox::start(&["--pre-order-pending"]);
    let cfg = sb.client(false, Format::Json);
    let code = code("pending");
    let r = call(&cfg, &pre_order(&cfg, &code, 100)).await.unwrap();
    assert!(r.charge_third_code.is_none());
    let q = query_by_code(&cfg, &code).await;
    assert_eq!(q.state, Some(OrderState::Pending));
    sb.pay(&code).await;
    let q = query_by_code(&cfg, &code).await;
    assert_eq!(q.state, Some(OrderState::Paid));

    // And back to immediate completion through the control API.
    let r = http()
        .put(format!("{}/sandbox/settings", sb.url))
        .json(&serde_json::json!({ "pre_order_pending": false }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let code2 = common::code("immediate");
    let r = call(&cfg, &pre_order(&cfg, &code2, 100)).await.unwrap();
    assert!(r.charge_third_code.is_some());
}

#[tokio::test]
async fn multiple_merchants_with_their_own_keys() {
    let sb = Sandbox::start(&[
        "--merchant",
        "02000002=ANOTHERKEY0123456789ABCDEFGH,0020000002",
        "--merchant",
        &format!("{BUSI_CODE}={KEY}"),
    ]);
    let mut cfg = sb.client(true, Format::Json);
    cfg.busi_code = "02000002".into();
    cfg.busi_id = "0020000002".into();
    cfg.key = soushou::MerchantKey::new("ANOTHERKEY0123456789ABCDEFGH");
    let code = code("m2");
    call(&cfg, &pre_order(&cfg, &code, 1))
        .await
        .expect("second merchant");
    // The order belongs to 02000002: the first merchant cannot see it.
    let cfg1 = sb.client(false, Format::Json);
    let (c, _) = rejected(call(&cfg1, &query_req(&code, SerType::Merchant)).await);
    assert_eq!(c, "CHARGE_NONEXISTENT");
    // Startup log masks the --merchant keys.
    let text = sb.lines.lock().unwrap().join("\n");
    assert!(!text.contains("ANOTHERKEY"), "key leaked into stdout");
}
