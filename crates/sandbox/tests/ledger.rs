//! The gateway's books (`GET /sandbox/ledger`) and the revocations that take time,
//! driven over HTTP like a chaos run does.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use soushou::codec::Format;
use soushou::types::{CancelMode, OrderState};

/// The money figures of a ledger entry (an order or the totals):
/// captured, returned, refunded, net.
fn money(v: &Value) -> [u64; 4] {
    ["captured_fen", "returned_fen", "refunded_fen", "net_fen"]
        .map(|k| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}")))
}

/// Creates a NATIVE order of `fen` for the default merchant; pays it when asked.
async fn native(sb: &Sandbox, prefix: &str, fen: u64, paid: bool) -> String {
    let cfg = sb.client(false, Format::Json);
    let c = code(prefix);
    call(&cfg, &order(&cfg, &c, fen, None))
        .await
        .expect("order");
    if paid {
        sb.pay(&c).await;
    }
    c
}

#[tokio::test]
async fn ledger_follows_payments_refunds_and_revocations() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(true, Format::Xml);
    let empty = sb.ledger().await;
    assert_eq!(empty["orders"], json!([]));
    assert_eq!(empty["totals"]["orders"], 0);
    assert_eq!(money(&empty["totals"]), [0, 0, 0, 0]);

    // Untouched: nothing captured.
    let pending = native(&sb, "l-pending", 100, false).await;
    // Paid, then partly refunded twice (once without OUT_REFUND_NO).
    let refunded = native(&sb, "l-refunded", 1250, true).await;
    let no = code("l-r1");
    call(&cfg, &refund(&cfg, &refunded, 500, Some(&no)))
        .await
        .expect("refund");
    call(&cfg, &refund(&cfg, &refunded, 250, None))
        .await
        .expect("refund");
    // Paid, then revoked in real time: the money goes back.
    let revoked = native(&sb, "l-revoked", 300, true).await;
    call(&cfg, &cancel_req(&revoked, CancelMode::RealTime))
        .await
        .expect("cancel");
    // Paid, then ACO without a revoke delay: applied (3), the money still held.
    let applied = native(&sb, "l-applied", 400, true).await;
    call(&cfg, &cancel_req(&applied, CancelMode::Apply))
        .await
        .expect("ACO");
    // preOrder paid at once.
    let pos = code("l-pos");
    call(&cfg, &pre_order(&cfg, &pos, 99))
        .await
        .expect("preOrder");

    let e = sb.ledger_of(&pending).await;
    assert_eq!(
        (
            &e["busi_code"],
            &e["interface"],
            &e["amount_fen"],
            &e["state"],
            &e["state_name"]
        ),
        (
            &json!(BUSI_CODE),
            &json!("order/NATIVE"),
            &json!(100),
            &json!(0),
            &json!("pending payment")
        )
    );
    assert_eq!(money(&e), [0, 0, 0, 0]);

    let e = sb.ledger_of(&refunded).await;
    assert_eq!(
        (&e["state"], &e["state_name"]),
        (&json!(4), &json!("partially refunded"))
    );
    assert_eq!(money(&e), [1250, 0, 750, 500]);
    assert_eq!(
        e["refunds"],
        json!([
            { "out_refund_no": no, "amount_fen": 500, "state": 11 },
            { "out_refund_no": null, "amount_fen": 250, "state": 11 },
        ])
    );

    let e = sb.ledger_of(&revoked).await;
    assert_eq!(
        (&e["state"], &e["state_name"]),
        (&json!(2), &json!("revoked"))
    );
    assert_eq!(money(&e), [300, 300, 0, 0]);

    let e = sb.ledger_of(&applied).await;
    assert_eq!(e["state"], 3);
    assert_eq!(money(&e), [400, 0, 0, 400]);

    let e = sb.ledger_of(&pos).await;
    assert_eq!(
        (&e["interface"], &e["state"]),
        (&json!("preOrder"), &json!(1))
    );
    assert_eq!(money(&e), [99, 0, 0, 99]);

    // Orders in creation order, and the totals add up.
    let ledger = sb.ledger().await;
    let codes: Vec<&str> = ledger["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["charge_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, [&pending, &refunded, &revoked, &applied, &pos]);
    assert_eq!(ledger["totals"]["orders"], 5);
    assert_eq!(
        money(&ledger["totals"]),
        [1250 + 300 + 400 + 99, 300, 750, 500 + 400 + 99]
    );

    // A real-time revocation of the partly refunded order returns what is left.
    call(&cfg, &cancel_req(&refunded, CancelMode::RealTime))
        .await
        .expect("cancel");
    assert_eq!(money(&sb.ledger_of(&refunded).await), [1250, 500, 750, 0]);
}

#[tokio::test]
async fn applied_revocations_complete_after_the_revoke_delay() {
    let sb = Sandbox::start(&["--revoke-delay-ms", "400"]);
    assert_eq!(
        sb.get_json("/sandbox/settings").await["revoke_delay_ms"],
        400
    );
    let cfg = sb.client(false, Format::Json);
    let paid = native(&sb, "aco-paid", 800, true).await;
    let pending = native(&sb, "aco-pending", 800, false).await;
    for c in [&paid, &pending] {
        call(&cfg, &cancel_req(c, CancelMode::Apply))
            .await
            .expect("ACO answers at once");
        // Applied first (unless this machine was slower than the delay).
        let state = sb.state_of(c).await;
        assert!(
            matches!(
                state,
                Some(OrderState::RevocationApplied | OrderState::Revoked)
            ),
            "{state:?}"
        );
    }
    for c in [&paid, &pending] {
        eventually("the revocation completes", || async {
            (sb.state_of(c).await == Some(OrderState::Revoked)).then_some(())
        })
        .await;
    }
    assert_eq!(money(&sb.ledger_of(&paid).await), [800, 800, 0, 0]);
    assert_eq!(money(&sb.ledger_of(&pending).await), [0, 0, 0, 0]);
    // A completed revocation is final: a second ACO or cancel is AREADY_REVOKED.
    let r = call(&cfg, &cancel_req(&paid, CancelMode::Apply)).await;
    assert_eq!(rejected(r).0, "AREADY_REVOKED");
}

#[tokio::test]
async fn a_payment_landing_during_a_slow_revocation_is_returned() {
    let sb = Sandbox::start(&[]);
    // Set at run time; long enough that the payment below surely lands inside it.
    let hold_ms = 3000;
    assert_eq!(
        sb.settings(json!({ "revoke_delay_ms": hold_ms })).await["revoke_delay_ms"],
        hold_ms
    );
    let cfg = sb.client(true, Format::Json);
    let c = native(&sb, "slow", 1250, false).await;

    let cancel = tokio::spawn({
        let (cfg, c) = (cfg.clone(), c.clone());
        async move { call(&cfg, &cancel_req(&c, CancelMode::RealTime)).await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    // The order is still pending while the revocation is held: the shopper can pay.
    assert_eq!(sb.order_view(&c).await["state"], 0);
    sb.pay(&c).await;
    assert!(
        !cancel.is_finished(),
        "the cancel must still be held when the payment lands"
    );
    cancel
        .await
        .unwrap()
        .expect("the revocation succeeds at the end of the hold");

    // Decided against the state at the end of the hold: the payment is revoked, returned.
    let e = sb.ledger_of(&c).await;
    assert_eq!(e["state"], 2);
    assert_eq!(money(&e), [1250, 1250, 0, 0]);
    let held = sb.last_request().await;
    assert_eq!(held["interface"], "cancelTrade");
    assert_eq!(held["result_code"], "SUCCESS");
    assert!(held["duration_ms"].as_u64().unwrap() >= hold_ms);

    // A pending order revoked slowly ends 2 with nothing captured.
    let untouched = native(&sb, "slow-pending", 500, false).await;
    call(&cfg, &cancel_req(&untouched, CancelMode::RealTime))
        .await
        .expect("cancel");
    let e = sb.ledger_of(&untouched).await;
    assert_eq!(e["state"], 2);
    assert_eq!(money(&e), [0, 0, 0, 0]);
}

#[tokio::test]
async fn dead_trades_cannot_be_paid() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    let revoked = native(&sb, "dead-revoked", 100, false).await;
    call(&cfg, &cancel_req(&revoked, CancelMode::RealTime))
        .await
        .expect("cancel");
    let applied = native(&sb, "dead-applied", 100, false).await;
    call(&cfg, &cancel_req(&applied, CancelMode::Apply))
        .await
        .expect("ACO");
    let closed = native(&sb, "dead-closed", 100, false).await;
    let (status, _) = sb.post_json(&format!("/sandbox/close/{closed}")).await;
    assert_eq!(status, 200);
    for (c, state) in [(&revoked, 2), (&applied, 3), (&closed, 6)] {
        let (status, body) = sb.post_json(&format!("/sandbox/pay/{c}")).await;
        assert_eq!(status, 409, "pay {c}: {body}");
        assert!(
            body["error"]
                .as_str()
                .unwrap()
                .contains(&format!("state {state}")),
            "{body}"
        );
        assert_eq!(sb.ledger_of(c).await["state"], state);
        assert_eq!(money(&sb.ledger_of(c).await), [0, 0, 0, 0]);
    }
    let (status, _) = sb.post_json("/sandbox/pay/no-such-order").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn pending_pre_orders_are_revoked_after_the_configured_time() {
    let sb = Sandbox::start(&["--pre-order-pending", "--pre-order-auto-revoke-ms", "60000"]);
    let settings = sb
        .settings(json!({ "pre_order_auto_revoke_ms": 300 }))
        .await;
    assert_eq!(
        (
            &settings["pre_order_pending"],
            &settings["pre_order_auto_revoke_ms"]
        ),
        (&json!(true), &json!(300))
    );
    let cfg = sb.client(false, Format::Json);
    let c = code("pos-wait");
    call(&cfg, &pre_order(&cfg, &c, 700))
        .await
        .expect("preOrder");
    eventually("the pending preOrder is revoked", || async {
        (sb.state_of(&c).await == Some(OrderState::Revoked)).then_some(())
    })
    .await;
    assert_eq!(money(&sb.ledger_of(&c).await), [0, 0, 0, 0]);
    let (status, _) = sb.post_json(&format!("/sandbox/pay/{c}")).await;
    assert_eq!(status, 409);
}
