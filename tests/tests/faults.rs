//! Gateway faults injected in the sandbox: the page gets the documented
//! error and nothing is ever marked paid; lost notifications are recovered
//! by the reconciler (`query`) from polling and from the cron trigger.
//! Every test clears the sandbox's faults on exit (a Drop guard).

use e2e::{history, E2e, UA_DESKTOP};
use serde_json::json;

/// With `mode` on `order`, `/api/pay` fails with (status, code), and the
/// link stays unpaid.
fn pay_fails(e: &E2e, mode: &str, status: u16, code: &str) {
    let token = e.create_link("2.50", &format!("fault {mode}"));
    {
        let _guard = e.fault("order", mode);
        let (s, body) = e.pay(&token, "native", UA_DESKTOP, json!({}));
        assert_eq!(s, status, "{mode}: {body}");
        assert_eq!(body["error"]["code"], code, "{mode}: {body}");
        assert!(body["error"]["message"].is_string());
    }
    let (s, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(s, 200, "{view}");
    assert_eq!(view["state"], "open", "{mode}: {view}");
    if let Some(attempt) = view["charge_code"].as_str() {
        assert_ne!(e.order_state(attempt), "paid", "{mode}");
    }
}

/// One test per `order` fault mode: `name: mode => status, code;`.
macro_rules! pay_fails_tests {
    ($($name:ident: $mode:literal => $status:literal, $code:literal;)*) => {$(
        #[test]
        fn $name() {
            pay_fails(&E2e::from_env(), $mode, $status, $code);
        }
    )*};
}

pay_fails_tests! {
    gateway_timeout_is_504_and_not_paid: "timeout" => 504, "GATEWAY_TIMEOUT";
    gateway_500_is_502_and_not_paid: "http500" => 502, "GATEWAY_UNAVAILABLE";
    gateway_garbage_is_502_and_not_paid: "garbage" => 502, "GATEWAY_UNAVAILABLE";
    gateway_html_is_502_and_not_paid: "html" => 502, "GATEWAY_UNAVAILABLE";
    gateway_truncated_is_502_and_not_paid: "truncated" => 502, "GATEWAY_UNAVAILABLE";
}

#[test]
fn after_a_fault_the_link_can_be_paid() {
    let e = E2e::from_env();
    let token = e.create_link("2.50", "retry after fault");
    {
        let _guard = e.fault("order", "http500");
        assert_eq!(e.pay(&token, "native", UA_DESKTOP, json!({})).0, 502);
    }
    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    e.sandbox_pay_and_wait(&code, "paid after the fault cleared");
}

#[test]
fn forged_notifications_from_the_gateway_side_are_refused() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("3.00");
    let _guard = e.fault("notify", "bad_sign");
    // Query would otherwise rescue the order: fail it so only notifications count.
    let _query = e.fault("query", "http500");
    e.sandbox_pay(&code);
    e.eventually("the sandbox delivered badly signed notifications", || {
        e.sandbox_notifications().iter().any(|n| {
            n["charge_code"] == code.as_str() && n["status"].as_u64().is_some_and(|s| s >= 400)
        })
    });
    let (_, order) = e.get(&format!("/api/orders/{code}"));
    assert_eq!(order["state"], "pending", "{order}");
}

#[test]
fn dropped_notifications_are_recovered_by_polling() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("4.40");
    let _guard = e.fault("notify", "drop");
    e.sandbox_pay_and_wait(&code, "the poll's query marks the order paid");
    let order = e.merchant_order(&code);
    assert!(
        history(&order).contains(&("pending".into(), "paid".into(), "poll".into())),
        "{order:?}"
    );
    assert!(order.notifications.is_empty(), "{order:?}");
}

#[test]
fn dropped_notifications_are_recovered_by_the_cron_sweep() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("4.41");
    let _guard = e.fault("notify", "drop");
    e.sandbox_pay(&code);
    // Only the cron trigger runs here (no shopper poll): wrangler dev's
    // --test-scheduled endpoint fires the Worker's scheduled handler.
    e.eventually("the cron sweep marks the order paid", || {
        e.run_cron();
        let order = e.merchant_order_stored(&code);
        history(&order).contains(&("pending".into(), "paid".into(), "cron".into()))
    });
}

#[test]
fn gateway_duplicates_apply_once() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("6.10");
    let _guard = e.fault("notify", "duplicate:20");
    e.sandbox_pay(&code);
    e.eventually("the sandbox delivered 20 concurrent copies", || {
        e.sandbox_notifications()
            .iter()
            .any(|n| n["charge_code"] == code.as_str() && n["copies"] == 20 && n["status"] == 200)
    });
    let order = e.merchant_order_stored(&code);
    assert_eq!(order.order.state.as_str(), "paid");
    let paid: Vec<_> = history(&order)
        .into_iter()
        .filter(|(_, to, _)| to == "paid")
        .collect();
    assert_eq!(paid.len(), 1, "{order:?}");
    // Copies can be lost in transit (wrangler dev's proxy under a burst), but
    // every copy that reached the Worker was counted, and it applied once.
    let received = order.notifications.first().map_or(0, |n| n.received);
    assert!((2..=20).contains(&received), "{order:?}");
    assert_eq!(order.notifications[0].outcome, "applied");
}

#[test]
fn an_out_of_order_pending_notification_does_not_unpay() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("6.20");
    let _guard = e.fault("notify", "out_of_order");
    e.sandbox_pay(&code);
    e.eventually("the stale STATE=0 notification arrived", || {
        let order = e.merchant_order_stored(&code);
        order.notifications.iter().any(|x| x.gateway_state == "0")
    });
    assert_eq!(e.order_state(&code), "paid");
}

#[test]
fn an_attempt_whose_call_timed_out_still_becomes_paid() {
    let e = E2e::from_env();
    let token = e.create_link("2.60", "timeout then paid");
    let code = {
        let _guard = e.fault("order", "timeout");
        let (s, body) = e.pay(&token, "native", UA_DESKTOP, json!({}));
        assert_eq!(s, 504, "{body}");
        let (_, view) = e.get(&format!("/api/checkout/{token}"));
        view["charge_code"]
            .as_str()
            .expect("the timed-out attempt is kept pending")
            .to_owned()
    };
    // The sandbox processed the order although it never answered; the
    // shopper pays it, and the notification settles the kept attempt.
    e.sandbox_pay_and_wait(&code, "the timed-out attempt becomes paid");
}
