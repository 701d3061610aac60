//! Open-amount links (issue 11): the store counter code whose shopper types
//! the amount. Against the real Worker and the real sandbox: the attempt's
//! amount is the shopper's, fixed at creation, sent to the gateway, checked
//! in notifications and carried by events; bad amounts never reach the
//! gateway.

use e2e::{E2e, UA_DESKTOP};
use reqwest::Method;
use serde_json::{json, Value};
use soushou::types::OrderState;

/// `POST /v1/links` with `body`: (status, answer).
fn create(e: &E2e, body: Value) -> (u16, Value) {
    e.admin(Method::POST, "/v1/links", Some(&body))
}

/// A counter code for 1.00–500.00 yuan; returns its token.
fn counter_link(e: &E2e, subject: &str) -> String {
    let (status, body) = create(
        e,
        json!({"min_amount": "1", "max_amount": "500.00", "subject": subject, "ref": "counter",
            "return_url": "https://shop.example/thanks"}),
    );
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn an_open_amount_link_is_paid_with_the_shoppers_amount() {
    let e = E2e::from_env();
    let token = counter_link(&e, "Counter 88.88");
    let (status, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["state"], "open");
    assert_eq!(
        view["open_amount"],
        json!({"min_amount": "1.00", "min_amount_fen": 100,
            "max_amount": "500.00", "max_amount_fen": 50_000})
    );

    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({"amount": "88.88"}));
    let orders: Vec<Value> = e
        .requests_for(&code)
        .into_iter()
        .filter(|r| r["interface"] == "order")
        .collect();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(text(&orders[0]["body"]["AMT"]), "88.88");

    // Notifications are checked against the attempt's amount, not the
    // link's bounds.
    for amt in [100, 50_000, 8_887] {
        let n = e.signed_now(
            &e.pay_notify(&code, amt, OrderState::Paid),
            "_type=json&encrypt=3DES",
        );
        let (status, body) = e.send_notification(&n);
        assert_eq!(status, 400, "{amt}: {body}");
        assert!(body.contains("AMOUNT_MISMATCH"), "{body}");
    }
    assert_eq!(e.order_state(&code), "pending");

    e.sandbox_pay_and_wait(&code, "the counter payment is paid");
    let order = e.merchant_order_stored(&code);
    assert_eq!(order.order.money.amount_fen, 8888);
    assert_eq!(order.order.money.amount, "88.88");
    assert!(
        order.notifications.iter().any(|n| n.outcome == "applied"),
        "{:?}",
        order.notifications
    );
    // Books = ledger.
    let gw = e.ledger(&code);
    assert_eq!(gw["net_fen"], 8888, "{gw}");
    assert_eq!(gw["state"], 1, "{gw}");

    let (_, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(view["state"], "paid", "{view}");
    assert_eq!(view["amount_fen"], 8888, "{view}");
    let (_, seen) = e.get(&format!("/api/orders/{code}"));
    assert_eq!(seen["amount"], "88.88", "{seen}");
    // The trusted return URL signs the attempt's amount.
    assert!(
        text(&seen["return_url"]).contains("amount_fen=8888"),
        "{seen}"
    );

    // The webhook event (its body is the event's `payload`) carries the
    // attempt's amount.
    let paid: Vec<Value> = e
        .all_events()
        .into_iter()
        .map(|ev| ev["payload"].clone())
        .filter(|p| p["type"] == "order.paid" && p["data"]["charge_code"] == code.as_str())
        .collect();
    assert_eq!(paid.len(), 1, "{paid:?}");
    assert_eq!(paid[0]["data"]["amount_fen"], 8888);
    assert_eq!(paid[0]["data"]["amount"], "88.88");
    assert_eq!(paid[0]["data"]["ref"], "counter");

    // Single payment, like a fixed link (see crates/worker/README.md).
    let (status, body) = e.pay(&token, "native", UA_DESKTOP, json!({"amount": "5"}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "ALREADY_PAID");

    // The printable QR of the counter code.
    let link_id = checkout::link::link_id(&token);
    let res = e
        .admin_request(Method::GET, &format!("/v1/links/{link_id}/qr.svg"))
        .send()
        .expect("worker reachable");
    assert_eq!(res.status().as_u16(), 200);
    assert!(res.text().expect("svg").contains("<svg"));
}

#[test]
fn bad_shopper_amounts_are_refused_before_the_gateway() {
    let e = E2e::from_env();
    let token = counter_link(&e, "Counter refusals");
    let before = e.sandbox_requests().len();
    for extra in [
        json!({"amount": "0.99"}),
        json!({"amount": "500.01"}),
        json!({"amount": "1.234"}),
        json!({"amount": "0"}),
        json!({"amount": "abc"}),
        json!({"amount": "-5"}),
        json!({"amount": ""}),
        json!({}),
    ] {
        let (status, body) = e.pay(&token, "native", UA_DESKTOP, extra.clone());
        assert_eq!(status, 400, "{extra}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_AMOUNT", "{extra}: {body}");
        assert!(!text(&body["error"]["message"]).is_empty());
    }
    let (_, body) = e.pay(&token, "native", UA_DESKTOP, json!({"amount": "0.99"}));
    assert!(
        text(&body["error"]["message"]).contains("between 1.00 and 500.00"),
        "{body}"
    );
    assert_eq!(e.sandbox_requests().len(), before, "no gateway call");
    let (_, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(view["charge_code"], Value::Null, "no attempt: {view}");

    // A fixed link refuses another amount, and accepts its own.
    let fixed = e.create_link("12.50", "fixed");
    let (status, body) = e.pay(&fixed, "native", UA_DESKTOP, json!({"amount": "1"}));
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_AMOUNT");
    e.pay_ok(&fixed, "native", UA_DESKTOP, json!({"amount": "12.50"}));
}

#[test]
fn open_amount_links_need_sound_bounds() {
    let e = E2e::from_env();
    for body in [
        json!({"min_amount": "9", "max_amount": "1", "subject": "s"}),
        json!({"min_amount": "0", "max_amount": "1", "subject": "s"}),
        json!({"min_amount": "1", "max_amount": "10000000.01", "subject": "s"}),
        json!({"min_amount": "1.001", "max_amount": "2", "subject": "s"}),
        json!({"min_amount": "1", "subject": "s"}),
        json!({"amount": "5", "min_amount": "1", "max_amount": "9", "subject": "s"}),
        json!({"subject": "s"}),
    ] {
        let (status, answer) = create(&e, body.clone());
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(
            answer["error"]["code"], "INVALID_AMOUNT",
            "{body}: {answer}"
        );
    }
}
