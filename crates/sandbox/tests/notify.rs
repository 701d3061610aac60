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
