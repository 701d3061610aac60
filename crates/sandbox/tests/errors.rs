//! Every result code the gateway reports, provoked over HTTP against the real binary.

mod common;

use common::*;
use serde_json::{json, Value};
use soushou::codec::Format;
use soushou::model::{CancelTradeRequest, OrderResp, RefundResp};
use soushou::types::{CancelMode, SerType};

fn body_of<T: serde::Serialize>(req: &T) -> Value {
    serde_json::from_slice(&soushou::codec::encode_body(req)).unwrap()
}

async fn order_code(sb: &Sandbox, iface: &str, body: &Value, encrypt: bool) -> (String, String) {
    let r: OrderResp = post_raw(sb, iface, BUSI_CODE, body, encrypt, None).await;
    (r.result.code.code().to_owned(), r.result.info)
}

#[tokio::test]
async fn invalid_sign() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    let body = body_of(&order(&cfg, &code("sig"), 1, None));
    for encrypt in [false, true] {
        // A well-formed sign that does not match.
        let r: OrderResp = post_raw(
            &sb,
            "order",
            BUSI_CODE,
            &body,
            encrypt,
            Some(&format!("04391a005ac27298bbe09a0d83f0769a:{}", now_secs())),
        )
        .await;
        assert_eq!(r.result.code.code(), "INVALID_SIGN");
        // Garbage in the sign parameter.
        let r: OrderResp =
            post_raw(&sb, "order", BUSI_CODE, &body, encrypt, Some("nonsense")).await;
        assert_eq!(r.result.code.code(), "INVALID_SIGN");
        let log = sb.last_request().await;
        assert_eq!(log["result_code"], "INVALID_SIGN");
        assert!(log["reason"].as_str().unwrap().contains("sign"), "{log}");
        // The logged body is the decrypted JSON, whatever the sign.
        assert_eq!(log["body"]["BUSI_ID"], BUSI_ID);
    }
    // No sign at all.
    let r = http()
        .post(format!(
            "{}order?_type=json&busiCode={BUSI_CODE}",
            sb.gateway()
        ))
        .body(serde_json::to_vec(&body).unwrap())
        .send()
        .await
        .unwrap();
    let resp: OrderResp = soushou::codec::decode(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(resp.result.code.code(), "INVALID_SIGN");
    // Signed and encrypted with another key: cannot be decrypted. The answer is
    // encrypted with the merchant's real key, so open it with that one.
    let mut other = sb.client(true, Format::Json);
    other.key = soushou::MerchantKey::new("ANOTHERKEY0123456789ABCDEFGH");
    let real = sb.client(true, Format::Json);
    let req =
        soushou::envelope::build(&other, &order(&other, &code("wrongkey"), 1, None), now_ms())
            .unwrap();
    let (status, answer) = send_raw(&req, &other.gateway_url).await;
    let r = soushou::envelope::decode_response::<soushou::model::OrderRequest>(
        &real, &req, status, &answer,
    );
    assert_eq!(rejected(r).0, "INVALID_SIGN");
    // cancelTrade checks its own sign rule.
    let req = soushou::envelope::build(
        &other,
        &cancel_req(&code("x"), CancelMode::RealTime),
        now_secs(),
    )
    .unwrap();
    let (status, answer) = send_raw(&req, &other.gateway_url).await;
    let r = soushou::envelope::decode_response::<CancelTradeRequest>(&real, &req, status, &answer);
    assert_eq!(rejected(r).0, "INVALID_SIGN");
}

#[tokio::test]
async fn unregistered_busi() {
    let sb = Sandbox::start(&[]);
    let mut cfg = sb.client(false, Format::Xml);
    cfg.busi_code = "09999999".into();
    let (c, info) = rejected(call(&cfg, &order(&cfg, &code("u"), 1, None)).await);
    assert_eq!(c, "UNREGISTERED_BUSI");
    assert!(info.contains("09999999"));
    let (c, _) = rejected(call(&cfg, &query_req("x", SerType::Merchant)).await);
    assert_eq!(c, "UNREGISTERED_BUSI");
    let (c, _) = rejected(call(&cfg, &refund_query_req("x", SerType::Merchant)).await);
    assert_eq!(c, "UNREGISTERED_BUSI");
    let (c, _) = rejected(call(&cfg, &cancel_req("x", CancelMode::Apply)).await);
    assert_eq!(c, "UNREGISTERED_BUSI");
    // Missing busiCode altogether.
    let r = http()
        .post(format!("{}refund?_type=json", sb.gateway()))
        .body("{}")
        .send()
        .await
        .unwrap();
    let resp: RefundResp = soushou::codec::decode(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(resp.result.code.code(), "UNREGISTERED_BUSI");
}

#[tokio::test]
async fn illegal_parameter_names_the_field() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    let drop_field = |mut v: Value, f: &str| {
        v.as_object_mut().unwrap().remove(f);
        v
    };
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "preOrder",
            drop_field(body_of(&pre_order(&cfg, &code("i"), 1)), "DYNAMIC_ID"),
            "DYNAMIC_ID",
        ),
        (
            "preOrder",
            drop_field(body_of(&pre_order(&cfg, &code("i"), 1)), "OPER_ID"),
            "OPER_ID",
        ),
        (
            "order",
            drop_field(body_of(&order(&cfg, &code("i"), 1, None)), "PAY_SUBJECT"),
            "PAY_SUBJECT",
        ),
        (
            "order",
            drop_field(body_of(&order(&cfg, &code("i"), 1, None)), "CHARGE_CODE"),
            "CHARGE_CODE",
        ),
        (
            "order",
            drop_field(body_of(&jsapi_order(&cfg, &code("i"), 1)), "subOpenid"),
            "subOpenid",
        ),
        (
            "creatOrder",
            drop_field(body_of(&creat_order(&cfg, &code("i"), 1)), "buyerLogonId"),
            "buyer",
        ),
        (
            "creatOrder",
            {
                let mut v = body_of(&creat_order(&cfg, &code("i"), 1));
                v["TIME_EXPIRE"] = json!(60);
                v
            },
            "TIME_EXPIRE",
        ),
        (
            "wapOrder",
            {
                let mut v = body_of(&wap_order(&cfg, &code("i"), 1, None));
                v["TIME_EXPIRE"] = json!(120);
                v
            },
            "TIME_EXPIRE",
        ),
        (
            "wapOrder",
            drop_field(
                body_of(&wap_order(&cfg, &code("i"), 1, None)),
                "SPBILL_CREATE_IP",
            ),
            "SPBILL_CREATE_IP",
        ),
        (
            "wapOrder",
            drop_field(body_of(&wap_order(&cfg, &code("i"), 1, None)), "SCENE_INFO"),
            "SCENE_INFO",
        ),
        (
            "order",
            {
                let mut v = body_of(&order(&cfg, &code("i"), 1, None));
                v["GOODS_DETAIL"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("GOOD_NAME");
                v
            },
            "GOOD_NAME",
        ),
        (
            "order",
            {
                let mut v = body_of(&order(&cfg, &code("i"), 1, None));
                v["BUSI_ID"] = json!("0099999999");
                v
            },
            "BUSI_ID",
        ),
        (
            "refund",
            drop_field(body_of(&refund(&cfg, "c", 1, None)), "REFUND_SUBJECT"),
            "REFUND_SUBJECT",
        ),
    ];
    for (iface, body, field) in cases {
        let (c, info) = if iface == "refund" {
            let r: RefundResp = post_raw(&sb, iface, BUSI_CODE, &body, true, None).await;
            (r.result.code.code().to_owned(), r.result.info)
        } else {
            order_code(&sb, iface, &body, true).await
        };
        assert_eq!(c, "ILLEGAL_PARAMETER", "{iface} without {field}: {info}");
        assert!(
            info.contains(field),
            "{iface}: {info:?} should name {field}"
        );
        let log = sb.last_request().await;
        assert!(log["reason"].as_str().unwrap().contains(field));
    }
    // A body that is not JSON at all.
    let (c, _) = order_code(&sb, "order", &json!("just a string"), false).await;
    assert_eq!(c, "ILLEGAL_PARAMETER");
}

#[tokio::test]
async fn amt_error_for_malformed_amounts_and_over_refunds() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    for bad in [
        json!("abc"),
        json!("1.234"),
        json!("-1.00"),
        json!("0"),
        json!("1e2"),
        json!(""),
    ] {
        let mut v = body_of(&order(&cfg, &code("amt"), 1, None));
        v["AMT"] = bad.clone();
        let (c, info) = order_code(&sb, "order", &v, false).await;
        // An empty AMT is a missing field; everything else is an amount error.
        let want = if bad == json!("") {
            "ILLEGAL_PARAMETER"
        } else {
            "AMT_ERROR"
        };
        assert_eq!(c, want, "AMT {bad}: {info}");
    }
    let mut v = body_of(&pre_order(&cfg, &code("amt"), 1));
    v["GOODS_DETAIL"][0]["GOOD_PRICE"] = json!("two");
    assert_eq!(order_code(&sb, "preOrder", &v, false).await.0, "AMT_ERROR");
    // Numbers are accepted as amounts (the gateway takes both).
    let mut v = body_of(&pre_order(&cfg, &code("amtnum"), 1));
    v["AMT"] = json!(0.5);
    assert_eq!(order_code(&sb, "preOrder", &v, false).await.0, "SUCCESS");

    // Refunds beyond what was paid.
    let paid = code("over");
    call(&cfg, &pre_order(&cfg, &paid, 100)).await.unwrap();
    let (c, info) = rejected(call(&cfg, &refund(&cfg, &paid, 101, None)).await);
    assert_eq!(c, "AMT_ERROR");
    assert!(info.contains("1.00"), "{info}");
    call(&cfg, &refund(&cfg, &paid, 60, None)).await.unwrap();
    let (c, _) = rejected(call(&cfg, &refund(&cfg, &paid, 41, None)).await);
    assert_eq!(c, "AMT_ERROR");
    call(&cfg, &refund(&cfg, &paid, 40, None)).await.unwrap();
    let (c, _) = rejected(call(&cfg, &refund(&cfg, &paid, 1, None)).await);
    assert_eq!(c, "AMT_ERROR", "nothing left after a full refund");
    let mut v = body_of(&refund(&cfg, &paid, 1, None));
    v["CHARGE_REFUND_FEE"] = json!("1.001");
    let r: RefundResp = post_raw(&sb, "refund", BUSI_CODE, &v, false, None).await;
    assert_eq!(r.result.code.code(), "AMT_ERROR");
}

#[tokio::test]
async fn serial_repeat() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(true, Format::Xml);
    let c1 = code("dup");
    call(&cfg, &order(&cfg, &c1, 1, None)).await.unwrap();
    for r in [
        call(&cfg, &order(&cfg, &c1, 1, None)).await,
        call(&cfg, &pre_order(&cfg, &c1, 1)).await,
        call(&cfg, &wap_order(&cfg, &c1, 1, None)).await,
    ] {
        assert_eq!(rejected(r).0, "SERIAL_REPEAT");
    }
    let paid = code("dupref");
    call(&cfg, &pre_order(&cfg, &paid, 100)).await.unwrap();
    call(&cfg, &refund(&cfg, &paid, 10, Some("R-1")))
        .await
        .unwrap();
    assert_eq!(
        rejected(call(&cfg, &refund(&cfg, &paid, 10, Some("R-1"))).await).0,
        "SERIAL_REPEAT"
    );
}

#[tokio::test]
async fn charge_nonexistent() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Xml);
    let missing = code("ghost");
    assert_eq!(
        rejected(call(&cfg, &query_req(&missing, SerType::Merchant)).await).0,
        "CHARGE_NONEXISTENT"
    );
    assert_eq!(
        rejected(call(&cfg, &query_req(&missing, SerType::Gateway)).await).0,
        "CHARGE_NONEXISTENT"
    );
    assert_eq!(
        rejected(call(&cfg, &refund_query_req(&missing, SerType::Merchant)).await).0,
        "CHARGE_NONEXISTENT"
    );
    assert_eq!(
        rejected(call(&cfg, &refund(&cfg, &missing, 1, None)).await).0,
        "CHARGE_NONEXISTENT"
    );
    assert_eq!(
        rejected(call(&cfg, &cancel_req(&missing, CancelMode::RealTime)).await).0,
        "CHARGE_NONEXISTENT"
    );
}

#[tokio::test]
async fn aready_revoked_and_fail() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    let c1 = code("rev");
    call(&cfg, &pre_order(&cfg, &c1, 100)).await.unwrap();
    call(&cfg, &cancel_req(&c1, CancelMode::RealTime))
        .await
        .unwrap();
    for mode in [CancelMode::RealTime, CancelMode::Apply] {
        let (c, _) = rejected(call(&cfg, &cancel_req(&c1, mode)).await);
        assert_eq!(c, "AREADY_REVOKED");
    }
    assert_eq!(
        rejected(call(&cfg, &refund(&cfg, &c1, 1, None)).await).0,
        "AREADY_REVOKED"
    );
    // ACO twice: the second is already revoked (applied).
    let c2 = code("aco");
    call(&cfg, &pre_order(&cfg, &c2, 100)).await.unwrap();
    call(&cfg, &cancel_req(&c2, CancelMode::Apply))
        .await
        .unwrap();
    assert_eq!(
        rejected(call(&cfg, &cancel_req(&c2, CancelMode::Apply)).await).0,
        "AREADY_REVOKED"
    );
    // Refund of an unpaid order: FAIL. Cancel of a closed order: FAIL.
    let c3 = code("unpaid");
    call(&cfg, &order(&cfg, &c3, 100, None)).await.unwrap();
    let (c, info) = rejected(call(&cfg, &refund(&cfg, &c3, 1, None)).await);
    assert_eq!(c, "FAIL");
    assert!(info.contains("state 0"), "{info}");
    let (status, v) = sb.post_json(&format!("/sandbox/close/{c3}")).await;
    assert_eq!((status, v["state"].as_u64()), (200, Some(6)));
    assert_eq!(
        rejected(call(&cfg, &cancel_req(&c3, CancelMode::RealTime)).await).0,
        "FAIL"
    );
}
