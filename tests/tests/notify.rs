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

/// What each notification did, as the merchant's `notifications[]` and
/// `history[]` record it: a closed attempt is paid by money (money wins),
/// redelivered money is a duplicate, a late pending is stale, a
/// transitional state (3, revocation applied for) is counted as ignored, a
/// revocation is applied and money after it is stale (revoked is final), and
/// a wrong amount is refused without being counted or changing anything.
#[test]
fn every_outcome_is_counted_and_only_allowed_transitions_apply() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("5.00");
    let send = |amt: u64, state: OrderState| {
        let n = e.signed_now(&e.pay_notify(&code, amt, state), "_type=json");
        e.send_notification(&n)
    };
    let steps = [
        (OrderState::Closed, "closed"),
        (OrderState::Paid, "paid"),
        (OrderState::Paid, "paid"),
        (OrderState::Pending, "paid"),
        (OrderState::RevocationApplied, "paid"),
        (OrderState::Revoked, "revoked"),
        (OrderState::Paid, "revoked"),
    ];
    for (state, after) in steps {
        let (status, body) = send(500, state.clone());
        assert_eq!(status, 200, "{state:?}: {body}");
        assert_eq!(e.order_state(&code), after, "after {state:?}");
        let (status, body) = send(499, OrderState::Refunded);
        assert_eq!(status, 400, "{body}");
        assert!(body.contains("AMOUNT_MISMATCH"), "{body}");
    }
    let order = e.merchant_order(&code);
    let transitions: Vec<(String, String, String)> = history(&order);
    let notify = |from: &str, to: &str| (from.to_owned(), to.to_owned(), "notify".to_owned());
    assert_eq!(
        transitions,
        vec![
            notify("pending", "closed"),
            notify("closed", "paid"),
            notify("paid", "revoked")
        ],
        "{order:?}"
    );
    let mut counted: Vec<(String, String, u64, u64)> = order
        .notifications
        .iter()
        .map(|n| {
            (
                n.gateway_state.clone(),
                n.outcome.clone(),
                n.received,
                n.amount_fen,
            )
        })
        .collect();
    counted.sort();
    let mut expected = vec![
        (OrderState::Closed, "applied", 1),
        (OrderState::Paid, "applied", 3),
        (OrderState::Pending, "stale", 1),
        (OrderState::RevocationApplied, "ignored", 1),
        (OrderState::Revoked, "applied", 1),
    ]
    .into_iter()
    .map(|(s, o, r)| (s.code().to_owned(), o.to_owned(), r, 500))
    .collect::<Vec<_>>();
    expected.sort();
    assert_eq!(counted, expected, "{order:?}");
    assert!(order.order.paid_at.is_some(), "{order:?}");
    // One merchant event per applied transition, none for the others.
    let mut events = Vec::new();
    let mut after = String::new();
    loop {
        let (status, page) = e.admin(
            reqwest::Method::GET,
            &format!("/v1/events?limit=200{after}"),
            None,
        );
        assert_eq!(status, 200, "{page}");
        for event in page["data"].as_array().expect("data") {
            if event["payload"].to_string().contains(code.as_str()) {
                events.push(event["type"].as_str().unwrap_or_default().to_owned());
            }
        }
        if page["has_more"] != true {
            break;
        }
        after = format!(
            "&after={}",
            page["next_after"].as_str().expect("next_after")
        );
    }
    assert_eq!(events, ["order.closed", "order.paid", "order.revoked"]);
}
