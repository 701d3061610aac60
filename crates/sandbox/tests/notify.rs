//! Asynchronous notifications, observed by a tiny merchant endpoint.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;
use soushou::codec::Format;
use soushou::envelope::{open_notification, parse_query};
use soushou::model::PayNotify;
use soushou::types::OrderState;
use soushou::{Fen, MerchantKey};

fn open(r: &Received) -> Result<PayNotify, soushou::Error> {
    open_notification(&parse_query(&r.query), &r.body, &MerchantKey::new(KEY)).map(|(n, _)| n)
}

async fn attempts(sb: &Sandbox, charge_code: &str) -> Vec<Value> {
    let all = sb.get_json("/sandbox/notifications").await;
    all.as_array()
        .unwrap()
        .iter()
        .filter(|n| n["charge_code"] == charge_code)
        .cloned()
        .collect()
}

/// Creates an order notifying `url` and pays it through the control API.
async fn paid_order(sb: &Sandbox, url: &str, fen: u64) -> String {
    let cfg = sb.client(false, Format::Json);
    let code = code("notify");
    call(&cfg, &order(&cfg, &code, fen, Some(url)))
        .await
        .expect("order");
    sb.pay(&code).await;
    code
}

#[tokio::test]
async fn paid_order_is_notified_as_documented() {
    let sb = Sandbox::start(&[]);
    let (rx, url) = Receiver::start().await;
    let code = paid_order(&sb, &format!("{url}?_type=json"), 1234).await;
    let got = eventually("one notification", || async {
        let r = rx.received();
        (!r.is_empty()).then_some(r)
    })
    .await;
    let n = open(&got[0]).expect("valid signed notification");
    assert!(
        got[0].query.starts_with("_type=json&sign="),
        "{}",
        got[0].query
    );
    assert!(got[0].body.starts_with(b"{\"PAY_NODIFY\""));
    assert_eq!(n.charge_code, code);
    assert_eq!(n.state, OrderState::Paid);
    // AMT is integer fen on the wire; FUND_BILL_LIST carries yuan.
    assert_eq!(n.amt, Fen::from_fen(1234));
    let raw: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(raw["PAY_NODIFY"]["AMT"], 1234);
    assert_eq!(n.fund_bill_list[0].amount, Fen::from_fen(1234));
    assert_eq!(n.charge_third_code.as_ref().map(String::len), Some(28));
    assert_eq!(n.busi_id, BUSI_ID);
    assert_eq!(n.merchant_para.as_deref(), Some("MTExMTEx"));
    let log = eventually("attempt logged", || async {
        let a = attempts(&sb, &code).await;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(log[0]["attempt"], 1);
    assert_eq!(log[0]["status"], 200);
    assert_eq!(log[0]["state"], 1);
}

#[tokio::test]
async fn encrypted_xml_notification_follows_the_url() {
    let sb = Sandbox::start(&[]);
    let (rx, url) = Receiver::start().await;
    let code = paid_order(&sb, &format!("{url}?encrypt=3DES"), 1).await;
    let got = rx.first().await;
    assert!(got.query.starts_with("encrypt=3DES&sign="), "{}", got.query);
    // Base64 on the wire, XML inside.
    let plain = soushou::tdes::decrypt(&got.body, &MerchantKey::new(KEY)).unwrap();
    let xml = String::from_utf8(plain).unwrap();
    assert!(
        xml.contains("<PAY_NODIFY>") && xml.contains("<AMT>1</AMT>"),
        "{xml}"
    );
    assert_eq!(open(&got).unwrap().charge_code, code);
}

#[tokio::test]
async fn retries_until_http_200() {
    let sb = Sandbox::start(&[]);
    let (rx, url) = Receiver::start().await;
    *rx.fail_first.lock().unwrap() = 3;
    let code = paid_order(&sb, &url, 1).await;
    let log = eventually("accepted attempt", || async {
        let a = attempts(&sb, &code).await;
        a.iter().any(|n| n["status"] == 200).then_some(a)
    })
    .await;
    let statuses: Vec<u64> = log.iter().map(|n| n["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, [500, 500, 500, 200]);
    let numbers: Vec<u64> = log.iter().map(|n| n["attempt"].as_u64().unwrap()).collect();
    assert_eq!(numbers, [1, 2, 3, 4]);
    assert_eq!(rx.received().len(), 4);
    // Every attempt is signed afresh and verifies.
    for r in rx.received() {
        open(&r).unwrap();
    }
}

#[tokio::test]
async fn stops_after_the_configured_attempts() {
    let sb = Sandbox::start(&["--notify-attempts", "3", "--notify-interval-ms", "20"]);
    let (rx, url) = Receiver::start().await;
    *rx.always.lock().unwrap() = Some(503);
    let code = paid_order(&sb, &url, 1).await;
    eventually("three attempts", || async {
        (attempts(&sb, &code).await.len() == 3).then_some(())
    })
    .await;
    // Give a fourth attempt ample opportunity (25 intervals) to show up: it must not.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(attempts(&sb, &code).await.len(), 3);
    assert_eq!(rx.received().len(), 3);
}

#[tokio::test]
async fn unreachable_receiver_is_recorded() {
    let sb = Sandbox::start(&["--notify-attempts", "2"]);
    // Port 9 (discard) on 127.0.0.1: nothing listens there.
    let code = paid_order(&sb, "http://127.0.0.1:9/notify", 1).await;
    let log = eventually("two attempts", || async {
        let a = attempts(&sb, &code).await;
        (a.len() == 2).then_some(a)
    })
    .await;
    assert!(log
        .iter()
        .all(|n| n["status"].is_null() && n["error"].is_string()));
}

#[tokio::test]
async fn duplicate_fault_sends_each_attempt_n_times() {
    let sb = Sandbox::start(&["--fault", "notify=duplicate:3"]);
    let (rx, url) = Receiver::start().await;
    let code = paid_order(&sb, &url, 1).await;
    let got = rx.wait_for(3, "three copies").await;
    for r in &got {
        assert_eq!(open(r).unwrap().charge_code, code);
        assert_eq!(r.body, got[0].body);
    }
    // The attempt is logged once all copies were answered, which can be just after the
    // receiver saw the third one.
    let log = eventually("the attempt in the log", || async {
        let a = attempts(&sb, &code).await;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["copies"], 3);
    assert_eq!(log[0]["fault"], "duplicate:3");
}

#[tokio::test]
async fn bad_sign_fault_delivers_a_notification_that_does_not_verify() {
    let sb = Sandbox::start(&[]);
    sb.set_fault("notify", "bad_sign").await;
    let (rx, url) = Receiver::start().await;
    let code = paid_order(&sb, &format!("{url}?_type=json"), 1).await;
    let got = rx.first().await;
    assert_eq!(open(&got).unwrap_err(), soushou::Error::SignMismatch);
    // The content itself is intact.
    let n: PayNotify = soushou::codec::decode(&got.body).unwrap();
    assert_eq!(n.charge_code, code);
    // Removing the fault makes later notifications verify again.
    sb.clear_fault("notify").await;
    let (rx2, url2) = Receiver::start().await;
    paid_order(&sb, &url2, 1).await;
    let got = rx2.first().await;
    open(&got).expect("verifies without the fault");
}

#[tokio::test]
async fn out_of_order_fault_sends_a_stale_pending_notification_after_the_paid_one() {
    let sb = Sandbox::start(&["--fault", "notify=out_of_order"]);
    let (rx, url) = Receiver::start().await;
    let code = paid_order(&sb, &url, 1).await;
    let got = rx.wait_for(2, "two notifications").await;
    let states: Vec<OrderState> = got.iter().map(|r| open(r).unwrap().state).collect();
    assert_eq!(states, [OrderState::Paid, OrderState::Pending]);
    assert!(open(&got[1]).unwrap().fund_bill_list.is_empty());
    assert_eq!(open(&got[1]).unwrap().charge_code, code);
}

#[tokio::test]
async fn drop_fault_never_sends() {
    let sb = Sandbox::start(&["--fault", "notify=drop"]);
    let (rx, url) = Receiver::start().await;
    let code = paid_order(&sb, &url, 1).await;
    let log = eventually("drop recorded", || async {
        let a = attempts(&sb, &code).await;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(log[0]["copies"], 0);
    assert_eq!(log[0]["fault"], "drop");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(rx.received().is_empty());
    // The merchant has to query to learn the outcome.
    let cfg = sb.client(false, Format::Json);
    let q = query_by_code(&cfg, &code).await;
    assert_eq!(q.state, Some(OrderState::Paid));
}

#[tokio::test]
async fn latency_fault_delays_notifications() {
    let sb = Sandbox::start(&["--fault", "notify=latency:400"]);
    let (rx, url) = Receiver::start().await;
    let cfg = sb.client(false, Format::Json);
    let code = code("late");
    call(&cfg, &order(&cfg, &code, 1, Some(&url)))
        .await
        .unwrap();
    let paid_at = std::time::Instant::now();
    sb.pay(&code).await;
    rx.first().await;
    // A lower bound only: the delay cannot be shorter than the injected latency.
    assert!(paid_at.elapsed() >= Duration::from_millis(400));
    println!("notification arrived {:?} after payment", paid_at.elapsed());
}

/// `POST /sandbox/notify/{code}` with `body` (none when `Null`).
async fn notify_now(sb: &Sandbox, code: &str, body: Value) -> (u16, Value) {
    let path = format!("/sandbox/notify/{code}");
    if body.is_null() {
        sb.post_json(&path).await
    } else {
        sb.send_json(reqwest::Method::POST, &path, &body).await
    }
}

#[tokio::test]
async fn manual_notifications_are_sent_only_when_asked() {
    let sb = Sandbox::start(&["--notify-mode", "manual"]);
    assert_eq!(
        sb.get_json("/sandbox/settings").await["notify_mode"],
        "manual"
    );
    let (rx, url) = Receiver::start().await;
    let code = paid_order(&sb, &format!("{url}?_type=json"), 1250).await;

    // Default: one copy, the order's current state (1).
    let (status, v) = notify_now(&sb, &code, Value::Null).await;
    assert_eq!(
        (status, &v),
        (200, &serde_json::json!({ "statuses": [200] }))
    );
    let got = rx.wait_for(1, "the manual notification").await;
    let n = open(&got[0]).expect("verifies");
    assert_eq!((n.state, n.amt), (OrderState::Paid, Fen::from_fen(1250)));
    assert_eq!(n.fund_bill_list[0].amount, Fen::from_fen(1250));

    // Three concurrent identical copies.
    let (status, v) = notify_now(&sb, &code, serde_json::json!({ "copies": 3 })).await;
    assert_eq!(
        (status, &v),
        (200, &serde_json::json!({ "statuses": [200, 200, 200] }))
    );
    let got = rx.wait_for(4, "three more copies").await;
    assert!(got[1..]
        .iter()
        .all(|r| r.body == got[1].body && r.query == got[1].query));

    // A stale pending notification after the paid one: STATE 0, no payment details.
    let (status, _) = notify_now(&sb, &code, serde_json::json!({ "state": 0 })).await;
    assert_eq!(status, 200);
    let got = rx.wait_for(5, "the stale one").await;
    let stale = open(&got[4]).expect("verifies");
    assert_eq!(stale.state, OrderState::Pending);
    assert!(stale.fund_bill_list.is_empty() && stale.charge_third_code.is_none());

    // A forged one: the receiver's answer (here 401) is reported per copy.
    *rx.always.lock().unwrap() = Some(401);
    let (status, v) = notify_now(
        &sb,
        &code,
        serde_json::json!({ "bad_sign": true, "copies": 2, "state": 1 }),
    )
    .await;
    assert_eq!(
        (status, &v),
        (200, &serde_json::json!({ "statuses": [401, 401] }))
    );
    let got = rx.wait_for(7, "the forged copies").await;
    assert_eq!(open(&got[6]).unwrap_err(), soushou::Error::SignMismatch);
    *rx.always.lock().unwrap() = None;

    // Every manual attempt is in the notification log, and nothing was sent automatically.
    let log = attempts(&sb, &code).await;
    let seen: Vec<(u64, u64, bool)> = log
        .iter()
        .map(|n| {
            (
                n["state"].as_u64().unwrap(),
                n["copies"].as_u64().unwrap(),
                n["manual"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [(1, 1, true), (1, 3, true), (0, 1, true), (1, 2, true)]
    );
    assert_eq!(log[3]["fault"], "bad_sign");
    assert_eq!(log[3]["status"], 401);
    assert_eq!(rx.received().len(), 7);

    // Unknown order 404; no NODIFY_URL 409; nonsense 400.
    assert_eq!(notify_now(&sb, "no-such-order", Value::Null).await.0, 404);
    let cfg = sb.client(false, Format::Json);
    let silent = common::code("silent");
    call(&cfg, &order(&cfg, &silent, 1, None)).await.unwrap();
    assert_eq!(notify_now(&sb, &silent, Value::Null).await.0, 409);
    for bad in [
        serde_json::json!({ "copies": 0 }),
        serde_json::json!({ "copies": 101 }),
        serde_json::json!({ "state": 42 }),
        serde_json::json!({ "colour": "red" }),
    ] {
        assert_eq!(notify_now(&sb, &code, bad.clone()).await.0, 400, "{bad}");
    }

    // An unreachable receiver: an error string instead of a status.
    let gone = paid_order(&sb, "http://127.0.0.1:9/notify", 1).await;
    let (status, v) = notify_now(&sb, &gone, Value::Null).await;
    assert_eq!(status, 200);
    assert!(v["statuses"][0].is_string(), "{v}");

    // Back to automatic: the next payment is notified by the sandbox itself.
    sb.settings(serde_json::json!({ "notify_mode": "auto" }))
        .await;
    let (rx2, url2) = Receiver::start().await;
    let auto = paid_order(&sb, &url2, 1).await;
    assert_eq!(open(&rx2.first().await).unwrap().charge_code, auto);
    let log = eventually("the automatic attempt", || async {
        let a = attempts(&sb, &auto).await;
        (!a.is_empty()).then_some(a)
    })
    .await;
    assert_eq!(log[0]["manual"], false);
}

#[tokio::test]
async fn limited_notify_faults_count_delivery_attempts() {
    let sb = Sandbox::start(&[]);
    sb.set_fault_times("notify", "duplicate:3", 1).await;
    let (rx, url) = Receiver::start().await;
    let first = paid_order(&sb, &url, 1).await;
    rx.wait_for(3, "three copies of the first").await;
    let second = paid_order(&sb, &url, 1).await;
    rx.wait_for(4, "one copy of the second").await;
    for (c, copies) in [(&first, 3), (&second, 1)] {
        let log = eventually("the attempt in the log", || async {
            let a = attempts(&sb, c).await;
            (!a.is_empty()).then_some(a)
        })
        .await;
        assert_eq!(log[0]["copies"], copies);
    }
    assert_eq!(sb.get_json("/sandbox/faults").await, serde_json::json!({}));
}
