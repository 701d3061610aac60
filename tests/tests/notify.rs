//! `/notify` against the real Worker: notifications are built with
//! `soushou::envelope::build_notification` (the real wire format) and posted
//! by the test, so every variant and every forgery can be exercised.

use std::thread;

use e2e::{history, now_ms, send_notification, E2e};
use soushou::types::OrderState;
use soushou::MerchantKey;

/// A state of an order that must not have changed: still pending, no
/// history, no recorded notification.
fn assert_untouched(e: &E2e, code: &str) {
    let order = e.merchant_order(code);
    assert_eq!(order.order.state.as_str(), "pending", "{order:?}");
    assert!(history(&order).is_empty(), "{order:?}");
    assert!(order.notifications.is_empty(), "{order:?}");
}

#[test]
fn fifty_concurrent_duplicates_apply_once() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("5.00");
    let notify = e.pay_notify(&code, 500, OrderState::Paid);
    let n = e.signed_now(&notify, "_type=json&encrypt=3DES");
    let statuses: Vec<u16> = thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|_| {
                let http = e.http().clone();
                let n = n.clone();
                s.spawn(move || send_notification(&http, &n).0)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let order = e.merchant_order(&code);
    assert_eq!(order.order.state.as_str(), "paid");
    let paid: Vec<_> = history(&order)
        .into_iter()
        .filter(|(_, to, _)| to == "paid")
        .collect();
    assert_eq!(
        paid,
        vec![("pending".to_owned(), "paid".to_owned(), "notify".to_owned())]
    );
    let notes = &order.notifications;
    assert_eq!(notes.len(), 1, "{order:?}");
    // Every 200 above is a counted delivery; a resend after a reset
    // connection may add one the first try already delivered.
    let received = notes[0].received;
    assert!((50..=150).contains(&received), "{order:?}");
    assert_eq!(notes[0].outcome, "applied");
}

#[test]
fn a_signed_notification_with_a_wrong_amount_changes_nothing() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("5.00");
    for amt in [499, 501, 50_000] {
        let n = e.signed_now(
            &e.pay_notify(&code, amt, OrderState::Paid),
            "_type=json&encrypt=3DES",
        );
        let (status, body) = e.send_notification(&n);
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("AMOUNT_MISMATCH"), "{body}");
    }
    assert_untouched(&e, &code);
}

#[test]
fn a_wrong_signature_is_rejected() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("5.00");
    let notify = e.pay_notify(&code, 500, OrderState::Paid);
    // Signed (and encrypted) with another merchant's key.
    let other = MerchantKey::new("ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ");
    let n = e.notification(&notify, "_type=json", &other, now_ms());
    let (status, body) = e.send_notification(&n);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("INVALID_SIGNATURE"), "{body}");
    // Right key, but the body changed after signing.
    let mut n = e.signed_now(&notify, "_type=json");
    let tampered = String::from_utf8(n.body.clone())
        .unwrap()
        .replace("500", "5");
    n.body = tampered.into_bytes();
    let (status, body) = e.send_notification(&n);
    assert!((400..500).contains(&status), "{status} {body}");
    // No sign at all.
    let mut n = e.signed_now(&notify, "_type=json");
    n.url = n.url.split("&sign=").next().unwrap().to_owned();
    let (status, _) = e.send_notification(&n);
    assert_eq!(status, 401);
    // An unknown order.
    let n = e.signed_now(
        &e.pay_notify("00000000000000000000000000000000", 500, OrderState::Paid),
        "_type=json",
    );
    assert_eq!(e.send_notification(&n).0, 404);
    assert_untouched(&e, &code);
}

#[test]
fn a_stale_timestamp_is_rejected() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("5.00");
    let notify = e.pay_notify(&code, 500, OrderState::Paid);
    let sixteen_min_ms = 16 * 60 * 1000;
    for ts in [
        now_ms() - sixteen_min_ms,
        (now_ms() - sixteen_min_ms) / 1000,
        now_ms() + sixteen_min_ms,
    ] {
        let n = e.notification(&notify, "_type=json&encrypt=3DES", &e.key, ts);
        let (status, body) = e.send_notification(&n);
        assert_eq!(status, 400, "ts {ts}: {body}");
        assert!(body.contains("STALE_NOTIFICATION"), "{body}");
    }
    assert_untouched(&e, &code);
}

#[test]
fn wrong_busi_id_is_rejected() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("5.00");
    let mut notify = e.pay_notify(&code, 500, OrderState::Paid);
    notify.busi_id = "0099999999".into();
    let n = e.signed_now(&notify, "_type=json");
    let (status, body) = e.send_notification(&n);
    assert_eq!(status, 400, "{body}");
    assert_untouched(&e, &code);
}

#[test]
fn xml_json_encrypted_plain_seconds_and_ms_are_all_accepted() {
    let e = E2e::from_env();
    for query in [
        "_type=json&encrypt=3DES",
        "_type=json",
        "encrypt=3DES",
        "_type=xml",
    ] {
        for seconds in [false, true] {
            let (_, code) = e.pending_attempt("7.77");
            let ts = if seconds { now_ms() / 1000 } else { now_ms() };
            let n = e.notification(
                &e.pay_notify(&code, 777, OrderState::Paid),
                query,
                &e.key,
                ts,
            );
            let (status, body) = e.send_notification(&n);
            assert_eq!(status, 200, "{query} seconds={seconds}: {body}");
            assert_eq!(body, "SUCCESS");
            assert_eq!(e.order_state(&code), "paid", "{query} seconds={seconds}");
        }
    }
}

#[test]
fn a_late_pending_notification_never_moves_a_paid_order_back() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("5.00");
    let paid = e.signed_now(&e.pay_notify(&code, 500, OrderState::Paid), "_type=json");
    assert_eq!(e.send_notification(&paid).0, 200);
    let pending = e.signed_now(&e.pay_notify(&code, 500, OrderState::Pending), "_type=json");
    assert_eq!(e.send_notification(&pending).0, 200);
    assert_eq!(e.order_state(&code), "paid");
}
