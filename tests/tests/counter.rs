//! Link kinds (issue 21, contract v1.1 "Links: kinds, deactivation"):
//! counter codes take many payments, each its own order and each kept;
//! a counter code's attempt is bound to the device that made it; any link
//! can be deactivated, and is then refused.

use e2e::{E2e, UA_DESKTOP};
use reqwest::Method;
use serde_json::{json, Value};

/// A counter code for 1.00–500.00 yuan: the merchant API's answer.
fn counter_link(e: &E2e) -> Value {
    let (status, body) = e.admin(
        Method::POST,
        "/v1/links",
        Some(
            &json!({"kind": "counter", "min_amount": "1", "max_amount": "500.00",
            "subject": "Counter e2e", "ref": "counter-e2e"}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    body
}

/// A device id as the Worker mints them.
fn device(n: u8) -> String {
    format!("{n:032x}")
}

/// `POST /api/pay` from `device` (none: no cookie): (status, answer, the
/// device cookie the Worker set, if any).
fn pay_from(
    e: &E2e,
    device: Option<&str>,
    token: &str,
    amount: &str,
) -> (u16, Value, Option<String>) {
    let mut req = e
        .pay_request(UA_DESKTOP)
        .json(&json!({"token": token, "method": "native", "amount": amount}));
    if let Some(d) = device {
        req = req.header("Cookie", format!("soushou_device={d}"));
    }
    let resp = req.send().expect("worker reachable");
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null), set)
}

/// `GET /api/orders/{code}?token=` from `device`: the status.
fn poll_from(e: &E2e, device: Option<&str>, code: &str, token: &str) -> u16 {
    let mut req = e
        .http()
        .get(format!("{}/api/orders/{code}?token={token}", e.worker));
    if let Some(d) = device {
        req = req.header("Cookie", format!("soushou_device={d}"));
    }
    req.send().expect("worker reachable").status().as_u16()
}

#[test]
fn a_counter_code_keeps_every_payment_each_bound_to_its_device() {
    let e = E2e::from_env();
    let link = counter_link(&e);
    assert_eq!(link["kind"], "counter", "{link}");
    assert_eq!(link["active"], true, "{link}");
    assert_eq!(
        link["expires_at"],
        Value::Null,
        "no expiry unless asked: {link}"
    );
    assert_eq!(link["id"], link["link_id"], "{link}");
    let token = link["token"].as_str().expect("token").to_owned();

    let amounts = [("1.11", 111), ("22.22", 2222), ("333.33", 33_333)];
    let mut codes = Vec::new();
    for (i, (amount, _)) in amounts.iter().enumerate() {
        let d = device(i as u8 + 1);
        let (status, body, set) = pay_from(&e, Some(&d), &token, amount);
        assert_eq!(status, 200, "{body}");
        assert_eq!(set, None, "a shopper with a device keeps it");
        codes.push(
            body["charge_code"]
                .as_str()
                .expect("charge_code")
                .to_owned(),
        );
    }
    // A shopper without one is given one with the answer.
    let (status, body, set) = pay_from(&e, None, &token, "9.99");
    assert_eq!(status, 200, "{body}");
    let set = set.expect("a device cookie is set");
    assert!(
        set.starts_with("soushou_device=") && set.contains("HttpOnly"),
        "{set}"
    );

    // Each attempt is its own device's alone; the link shows none.
    let (status, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["state"].clone(), view["charge_code"].clone()),
        (json!("open"), Value::Null)
    );
    assert_eq!(poll_from(&e, Some(&device(1)), &codes[0], &token), 200);
    assert_eq!(poll_from(&e, Some(&device(2)), &codes[0], &token), 404);
    assert_eq!(poll_from(&e, None, &codes[0], &token), 404);

    for code in &codes {
        e.sandbox_pay(code);
    }
    for ((_, fen), code) in amounts.iter().zip(&codes) {
        e.eventually("every payment of the counter code is paid", || {
            e.merchant_order_stored(code).order.state.as_str() == "paid"
        });
        let order = e.merchant_order_stored(code);
        assert_eq!(order.order.money.amount_fen, *fen, "{order:?}");
        assert!(order.refunds.is_empty(), "kept, never refunded: {order:?}");
        assert_eq!(e.heard(code), ["order.paid"], "{code}");
    }
    // More payments, and the code is never paid.
    let (_, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(view["state"], "open", "{view}");
    let (status, body, _) = pay_from(&e, Some(&device(1)), &token, "4.00");
    assert_eq!(status, 200, "the code takes the next payment: {body}");
}

#[test]
fn a_deactivated_link_is_refused() {
    let e = E2e::from_env();
    let counter = counter_link(&e);
    let id = counter["id"].as_str().expect("id").to_owned();
    let token = counter["token"].as_str().expect("token").to_owned();
    let path = format!("/v1/links/{id}/deactivate");
    let (status, off) = e.admin(Method::POST, &path, None);
    assert_eq!(status, 200, "{off}");
    assert_eq!(
        (off["active"].clone(), off["kind"].clone()),
        (json!(false), json!("counter"))
    );
    // Again: the same answer.
    let (status, again) = e.admin(Method::POST, &path, None);
    assert_eq!(
        (status, again["active"].clone()),
        (200, json!(false)),
        "{again}"
    );
    let (status, body) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (410, json!("LINK_INACTIVE")),
        "{body}"
    );
    let (status, body, _) = pay_from(&e, Some(&device(7)), &token, "5.00");
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (410, json!("LINK_INACTIVE")),
        "{body}"
    );

    // A fixed link too; an unknown id is not found.
    let fixed = e.create_link("3.00", "deactivated fixed");
    let fixed_id = checkout::link::link_id(&fixed);
    let (status, off) = e.admin(
        Method::POST,
        &format!("/v1/links/{fixed_id}/deactivate"),
        None,
    );
    assert_eq!(
        (status, off["kind"].clone()),
        (200, json!("fixed")),
        "{off}"
    );
    let (status, body) = e.pay(&fixed, "native", UA_DESKTOP, json!({}));
    assert_eq!(
        (status, body["error"]["code"].clone()),
        (410, json!("LINK_INACTIVE")),
        "{body}"
    );
    let (status, _) = e.admin(Method::POST, "/v1/links/nope/deactivate", None);
    assert_eq!(status, 404);
}
