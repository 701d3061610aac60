//! Shopper and merchant flows against the real Worker and the sandbox:
//! links, the four payment methods (checked in the sandbox's request log),
//! notification → paid, 409 on a second pay, refunds, refund query, cancel,
//! POS preOrder, NATIVE QR orders, auth and validation errors.

use checkout::api::{CancelResponse, OrderStatus, PosChargeResponse, RefundResponse, RefundState};
use checkout::oauth::Wallet;
use e2e::{history, typed, E2e, UA_ALIPAY, UA_DESKTOP, UA_MOBILE, UA_WECHAT};
use reqwest::Method;
use serde_json::{json, Value};

/// A wire field as text, whether it came as a string or a number.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The one request of `interface` the sandbox logged for `code`.
fn gateway_request(e: &E2e, code: &str, interface: &str) -> Value {
    let reqs: Vec<Value> = e
        .requests_for(code)
        .into_iter()
        .filter(|r| r["interface"] == interface)
        .collect();
    assert_eq!(reqs.len(), 1, "{interface} requests for {code}: {reqs:?}");
    reqs.into_iter().next().unwrap()
}

/// Sandbox pays, the notification arrives, the shopper's poll says paid.
fn pay_and_wait(e: &E2e, code: &str) {
    e.sandbox_pay_and_wait(code, &format!("{code} paid"));
}

#[test]
fn healthz_answers() {
    let e = E2e::from_env();
    let (status, body) = e.get("/healthz");
    assert_eq!(status, 200);
    assert_eq!(body["ok"], true);
    assert!(body["version"].is_string());
}

#[test]
fn checkout_view_of_a_new_link() {
    let e = E2e::from_env();
    let token = e.create_link("12.50", "Green tea");
    let (status, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["amount"], "12.50");
    assert_eq!(view["amount_fen"], 1250);
    assert_eq!(view["subject"], "Green tea");
    assert_eq!(view["currency"], "CNY");
    assert_eq!(view["state"], "open");
    assert_eq!(view["charge_code"], Value::Null);

    let mut tampered = token.clone();
    tampered.insert(3, 'x');
    let (status, body) = e.get(&format!("/api/checkout/{tampered}"));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_LINK");
}

#[test]
fn native_qr_pay_notify_paid_then_second_pay_is_409() {
    let e = E2e::from_env();
    let token = e.create_link("12.50", "QR tea");
    let (body, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    assert_eq!(body["method"], "native");
    assert_eq!(body["action"]["type"], "qr");
    assert!(!body["action"]["content"].as_str().unwrap().is_empty());

    let req = gateway_request(&e, &code, "order");
    assert_eq!(text(&req["body"]["TRADE_TYPE"]), "NATIVE");
    assert_eq!(text(&req["body"]["AMT"]), "12.50");
    assert_eq!(text(&req["body"]["BUSI_ID"]), e.busi_id);
    assert_eq!(text(&req["body"]["PAY_SUBJECT"]), "QR tea");
    assert!(text(&req["body"]["NODIFY_URL"]).ends_with("/notify?_type=json&encrypt=3DES"));
    assert_eq!(req["encrypted"], true);
    assert_eq!(e.order_state(&code), "pending");

    pay_and_wait(&e, &code);
    let (_, order) = e.get(&format!("/api/orders/{code}"));
    assert_eq!(order["amount_fen"], 1250);
    assert!(order["paid_at"].as_u64().is_some());
    let (_, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(view["state"], "paid");
    assert_eq!(view["charge_code"], code.as_str());

    let (status, body) = e.pay(&token, "native", UA_DESKTOP, json!({}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "ALREADY_PAID");
}

#[test]
fn wechat_jsapi_uses_order_jsapi_with_openid() {
    let e = E2e::from_env();
    let token = e.create_link("8.80", "WeChat tea");
    // The stack configures WeChat sign-in: only the Worker's signed id
    // names the shopper (issue 24, defect 3).
    let (signed, openid) = e.signed_in(&token, Wallet::Wechat);
    let (body, code) = e.pay_ok(
        &token,
        "wechat_jsapi",
        UA_WECHAT,
        json!({ "openid": signed }),
    );
    assert_eq!(body["method"], "wechat_jsapi");
    let params = &body["action"]["params"];
    assert_eq!(body["action"]["type"], "wechat_jsapi");
    for k in [
        "appId",
        "timeStamp",
        "nonceStr",
        "package",
        "signType",
        "paySign",
    ] {
        assert!(
            params[k].as_str().is_some_and(|s| !s.is_empty()),
            "{k} in {params}"
        );
    }
    let req = gateway_request(&e, &code, "order");
    assert_eq!(text(&req["body"]["TRADE_TYPE"]), "JSAPI");
    assert_eq!(text(&req["body"]["CHANNEL_TYPE"]), "2");
    assert_eq!(text(&req["body"]["subOpenid"]), openid);
    pay_and_wait(&e, &code);
}

#[test]
fn wechat_jsapi_without_openid_falls_back_to_qr() {
    let e = E2e::from_env();
    let token = e.create_link("1.00", "Fallback");
    let (status, body) = e.pay(&token, "wechat_jsapi", UA_WECHAT, json!({}));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["method"], "native");
    assert_eq!(body["action"]["type"], "qr");
}

#[test]
fn alipay_jsapi_uses_creat_order_with_buyer_id() {
    let e = E2e::from_env();
    let token = e.create_link("6.66", "Alipay tea");
    let (signed, buyer_id) = e.signed_in(&token, Wallet::Alipay);
    let (body, code) = e.pay_ok(
        &token,
        "alipay_jsapi",
        UA_ALIPAY,
        json!({ "buyer_id": signed }),
    );
    assert_eq!(body["method"], "alipay_jsapi");
    assert_eq!(body["action"]["type"], "alipay_trade_pay");
    assert!(body["action"]["trade_no"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    let req = gateway_request(&e, &code, "creatOrder");
    assert_eq!(text(&req["body"]["CHANNEL_TYPE"]), "1");
    assert_eq!(text(&req["body"]["buyerId"]), buyer_id);
    let expire: u64 = text(&req["body"]["TIME_EXPIRE"])
        .parse()
        .expect("TIME_EXPIRE");
    assert!(expire >= 120, "TIME_EXPIRE {expire}");
    pay_and_wait(&e, &code);
}

#[test]
fn wap_uses_wap_order_with_scene_info_and_return_url() {
    let e = E2e::from_env();
    let token = e.create_link("3.21", "WAP tea");
    let resp = e
        .pay_request(UA_MOBILE)
        .header("CF-Connecting-IP", "203.0.113.7")
        .json(&json!({"token": token, "method": "wap"}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().unwrap();
    assert_eq!(body["method"], "wap");
    assert_eq!(body["action"]["type"], "redirect");
    assert!(body["action"]["url"]
        .as_str()
        .is_some_and(|s| !s.is_empty()));
    let code = body["charge_code"].as_str().unwrap().to_owned();
    let req = gateway_request(&e, &code, "wapOrder");
    let b = &req["body"];
    let expire: u64 = text(&b["TIME_EXPIRE"]).parse().expect("TIME_EXPIRE");
    assert!(expire >= 300, "TIME_EXPIRE {expire}");
    let scene = text(&b["SCENE_INFO"]);
    assert!(
        scene.contains("wap_url") && scene.contains(&e.worker),
        "SCENE_INFO {scene}"
    );
    assert_eq!(
        text(&b["RETURN_URL"]),
        format!("{}/c/{token}?charge_code={code}", e.worker)
    );
    // wrangler dev forwards the client's CF-Connecting-IP or sets its own
    // loopback address; either way the field carries an IP, never empty.
    assert!(!text(&b["SPBILL_CREATE_IP"]).is_empty());
    pay_and_wait(&e, &code);
}

#[test]
fn retry_while_pending_creates_a_new_attempt_and_leaves_the_old() {
    let e = E2e::from_env();
    let (token, first) = e.pending_attempt("2.00");
    let (_, second) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    assert_ne!(first, second);
    pay_and_wait(&e, &second);
    // The superseded attempt is never revoked (a revocation would hand back
    // a payment landing meanwhile); it stays pending at both ends.
    assert!(!e
        .requests_for(&first)
        .iter()
        .any(|r| r["interface"] == "cancelTrade"));
    assert_eq!(e.order_state(&first), "pending");
}

#[test]
fn refunds_partial_full_exceeding_and_refund_query() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("10.00");
    pay_and_wait(&e, &code);
    let path = format!("/v1/orders/{code}/refunds");

    let (status, r) = e.admin(
        Method::POST,
        &path,
        Some(&json!({"amount": "3.00", "reason": "partial"})),
    );
    assert_eq!(status, 200, "{r}");
    let r: RefundResponse = typed(&r);
    assert_eq!(r.order_state, OrderStatus::PartiallyRefunded);
    assert_eq!(r.refunded_fen, 300);
    assert_eq!(r.state, RefundState::Succeeded);
    let refund = gateway_request(&e, &code, "refund");
    assert_eq!(text(&refund["body"]["CHARGE_REFUND_FEE"]), "3.00");

    let (status, r) = e.admin(
        Method::POST,
        &path,
        Some(&json!({"amount": "7.01", "reason": "too much"})),
    );
    assert_eq!(status, 400, "{r}");
    assert_eq!(r["error"]["code"], "REFUND_EXCEEDS");
    let refunds_sent = e
        .requests_for(&code)
        .iter()
        .filter(|r| r["interface"] == "refund")
        .count();
    assert_eq!(
        refunds_sent, 1,
        "an exceeding refund never reaches the gateway"
    );

    let (status, r) = e.admin(
        Method::POST,
        &path,
        Some(&json!({"amount": "7.00", "reason": "rest"})),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["order_state"], "refunded");
    assert_eq!(r["refunded_fen"], 1000);
    assert_eq!(e.order_state(&code), "refunded");

    let (status, list) = e.admin(Method::GET, &path, None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["refunds"].as_array().unwrap().len(), 2);
    assert_eq!(list["gateway_refunds"].as_array().unwrap().len(), 2);
    assert!(e
        .requests_for(&code)
        .iter()
        .any(|r| r["interface"] == "refundQuery"));

    let (status, r) = e.admin(
        Method::POST,
        &path,
        Some(&json!({"amount": "0.01", "reason": "more"})),
    );
    assert_eq!(status, 409, "{r}");
    let order = e.merchant_order(&code);
    let h = history(&order);
    assert!(
        h.contains(&("paid".into(), "partially_refunded".into(), "refund".into())),
        "{h:?}"
    );
    assert!(
        h.contains(&(
            "partially_refunded".into(),
            "refunded".into(),
            "refund".into()
        )),
        "{h:?}"
    );
}

#[test]
fn refund_of_an_unpaid_order_is_refused() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("1.00");
    let (status, r) = e.admin(
        Method::POST,
        &format!("/v1/orders/{code}/refunds"),
        Some(&json!({"amount": "1.00", "reason": "x"})),
    );
    assert_eq!(status, 409, "{r}");
    assert!(!e
        .requests_for(&code)
        .iter()
        .any(|r| r["interface"] == "refund"));
}

#[test]
fn cancel_real_time_and_apply() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("4.00");
    let (status, r) = e.admin(
        Method::POST,
        &format!("/v1/orders/{code}/cancel"),
        Some(&json!({"apply": false})),
    );
    assert_eq!(status, 200, "{r}");
    let r: CancelResponse = typed(&r);
    assert_eq!(
        (r.state, r.mode.as_str()),
        (OrderStatus::Revoked, "real_time")
    );
    assert_eq!(e.order_state(&code), "revoked");
    let req = gateway_request(&e, &code, "cancelTrade");
    assert!(req["query"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p[0] == "sign"));
    // A refusal keeps the gateway's code: revoking twice is AREADY_REVOKED.
    let (status, r) = e.admin(
        Method::POST,
        &format!("/v1/orders/{code}/cancel"),
        Some(&json!({"apply": false})),
    );
    assert_eq!(status, 502, "{r}");
    assert_eq!(r["error"]["code"], "GATEWAY_REJECTED");
    assert_eq!(r["error"]["gateway_code"], "AREADY_REVOKED");
    assert_eq!(e.order_state(&code), "revoked");

    let (_, code2) = e.pending_attempt("4.00");
    pay_and_wait(&e, &code2);
    let (status, r) = e.admin(
        Method::POST,
        &format!("/v1/orders/{code2}/cancel"),
        Some(&json!({"apply": true})),
    );
    assert_eq!(status, 200, "{r}");
    assert_eq!(typed::<CancelResponse>(&r).mode, "apply");
    let req = gateway_request(&e, &code2, "cancelTrade");
    assert!(
        req["query"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p[0] == "opType" && p[1] == "ACO"),
        "{req}"
    );
}

#[test]
fn pos_pre_order_charges_the_shoppers_code() {
    let e = E2e::from_env();
    let (status, r) = e.admin(
        Method::POST,
        "/v1/pos/charges",
        Some(&json!({"dynamic_id": "134567890123456789", "amount": "15.80", "subject": "Counter"})),
    );
    assert_eq!(status, 200, "{r}");
    let r: PosChargeResponse = typed(&r);
    assert_eq!(r.state, OrderStatus::Paid);
    assert_eq!(r.amount_fen, 1580);
    assert!(r.gateway.is_some(), "{r:?}");
    let code = r.charge_code;
    let req = gateway_request(&e, &code, "preOrder");
    assert_eq!(text(&req["body"]["DYNAMIC_ID"]), "134567890123456789");
    assert_eq!(text(&req["body"]["DYNAMIC_ID_TYPE"]), "1");
    assert_eq!(text(&req["body"]["CHANNEL_TYPE"]), "0");
    assert_eq!(text(&req["body"]["AMT"]), "15.80");
    // The merchant's view: the shopper route answers link attempts only.
    assert_eq!(
        e.merchant_order_stored(&code).order.state,
        OrderStatus::Paid
    );
}

#[test]
fn native_qr_order_for_the_merchant() {
    let e = E2e::from_env();
    let (status, r) = e.admin(
        Method::POST,
        "/v1/qr-orders",
        Some(&json!({"amount": "9.90", "subject": "Counter QR", "channel": "alipay"})),
    );
    assert_eq!(status, 200, "{r}");
    let code = r["charge_code"].as_str().unwrap().to_owned();
    assert!(r["qr"].as_str().is_some_and(|s| !s.is_empty()));
    let req = gateway_request(&e, &code, "order");
    assert_eq!(text(&req["body"]["TRADE_TYPE"]), "NATIVE");
    assert_eq!(text(&req["body"]["CHANNEL_TYPE"]), "1");
    // Paid as the merchant sees it: the shopper route answers link
    // attempts only (issue 24).
    e.sandbox_pay(&code);
    e.eventually(&format!("{code} paid"), || {
        e.merchant_order_stored(&code).order.state == OrderStatus::Paid
    });
}

#[test]
fn merchant_api_needs_the_bearer_token() {
    let e = E2e::from_env();
    for auth in [None, Some("Bearer wrong-token"), Some("Basic abc")] {
        let mut req = e
            .http()
            .post(format!("{}/v1/links", e.worker))
            .json(&json!({"amount": "1.00", "subject": "x"}));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().unwrap();
        assert_eq!(resp.status().as_u16(), 401, "{auth:?}");
        let body: Value = resp.json().unwrap();
        assert_eq!(body["error"]["code"], "UNAUTHORIZED");
        assert!(!body.to_string().contains(&e.admin_token));
    }
}

#[test]
fn validation_errors_have_stable_codes() {
    let e = E2e::from_env();
    for amount in ["0", "-1.00", "1.234", "1e3", "10000000.01", "abc"] {
        let (status, r) = e.admin(
            Method::POST,
            "/v1/links",
            Some(&json!({"amount": amount, "subject": "x"})),
        );
        assert_eq!(status, 400, "{amount}: {r}");
        assert_eq!(r["error"]["code"], "INVALID_AMOUNT", "{amount}");
    }
    let (status, r) = e.get("/api/orders/does-not-exist");
    assert_eq!(status, 404);
    assert_eq!(r["error"]["code"], "NOT_FOUND");
    let (status, r) = e.post(
        "/api/pay",
        UA_DESKTOP,
        &json!({"token": "nope", "method": "native"}),
    );
    assert_eq!(status, 400);
    assert_eq!(r["error"]["code"], "INVALID_LINK");
    let (status, r) = e.post("/api/pay", UA_DESKTOP, &json!({"method": "native"}));
    assert_eq!(status, 400);
    assert_eq!(r["error"]["code"], "INVALID_REQUEST");
}

#[test]
fn checkout_page_is_served_with_a_strict_csp() {
    let e = E2e::from_env();
    let token = e.create_link("1.00", "Page");
    let resp = e
        .http()
        .get(format!("{}/c/{token}", e.worker))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let h = resp.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert_eq!(h["cache-control"], "no-store");
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[test]
fn expired_and_foreign_links_are_refused() {
    use checkout::link::{issue, LinkAmount, LinkPayload};
    let e = E2e::from_env();
    let now = e2e::now_ms() / 1000;
    let payload = |expires_at: u64| LinkPayload {
        amount: LinkAmount::Fixed {
            amount: soushou::Fen::from_fen(100),
        },
        subject: "minted by the test".into(),
        merchant_ref: None,
        expires_at,
        return_url: None,
        goods: Vec::new(),
        channel: None,
        many: false,
        nonce: format!("{}", e2e::now_ms()),
    };
    // Signed with the Worker's secret: accepted while valid, 410 once expired.
    let valid = issue(&payload(now + 600), e.link_secret.as_bytes());
    assert_eq!(e.get(&format!("/api/checkout/{valid}")).0, 200);
    let expired = issue(&payload(now - 1), e.link_secret.as_bytes());
    let (status, body) = e.get(&format!("/api/checkout/{expired}"));
    assert_eq!(status, 410, "{body}");
    assert_eq!(body["error"]["code"], "LINK_EXPIRED");
    let (status, body) = e.pay(&expired, "native", UA_DESKTOP, json!({}));
    assert_eq!(status, 410, "{body}");
    // Signed with another secret: not a link of this merchant.
    let foreign = issue(&payload(now + 600), b"some-other-merchant-secret");
    let (status, body) = e.pay(&foreign, "native", UA_DESKTOP, json!({}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_LINK");
}

#[test]
fn concurrent_refunds_cannot_overdraw() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("10.00");
    pay_and_wait(&e, &code);
    let path = format!("/v1/orders/{code}/refunds");
    let results: Vec<(u16, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let e = e.clone();
                let path = path.clone();
                s.spawn(move || {
                    e.admin(
                        Method::POST,
                        &path,
                        Some(&json!({"amount": "6.00", "reason": format!("race {i}")})),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(ok, 1, "{results:?}");
    for (s, body) in results.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*s, 400, "{body}");
        assert_eq!(body["error"]["code"], "REFUND_EXCEEDS");
    }
    let sent = e
        .requests_for(&code)
        .iter()
        .filter(|r| r["interface"] == "refund")
        .count();
    assert_eq!(sent, 1);
    let order = e.merchant_order(&code);
    assert_eq!(order.refunded_fen, 600);
    assert_eq!(order.order.state.as_str(), "partially_refunded");
}
