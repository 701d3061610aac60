//! Money safety (issue 9): each defect that let the Worker's books differ
//! from the gateway's ledger, reproduced end to end against the real Worker
//! and the real sandbox, with the ledger (`GET /sandbox/ledger`) as the
//! ground truth. Each test failed on the code before the fix.

use std::thread;
use std::time::Duration;

use checkout::api::{OrderStatus, PosChargeResponse};
use e2e::{history, typed, E2e, UA_DESKTOP};
use serde_json::{json, Value};

/// The charge code of the link's pending attempt, as the page learns it.
fn pending_attempt_of(e: &E2e, token: &str) -> String {
    let (status, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(status, 200, "{view}");
    view["charge_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no pending attempt: {view}"))
        .to_owned()
}

fn link_state(e: &E2e, token: &str) -> Value {
    let (status, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(status, 200, "{view}");
    view
}

fn calls(e: &E2e, code: &str, interface: &str) -> usize {
    e.requests_for(code)
        .iter()
        .filter(|r| r["interface"] == interface)
        .count()
}

/// Defect 1: the shopper pays attempt A while the page creates attempt B
/// (the gateway is slow to answer B's `order`). Before, the Worker then
/// revoked A in real time — handing the money back — while keeping A
/// `paid`. Now superseded attempts are never revoked: A stays paid at the
/// gateway and in the books, and the link is paid by A.
#[test]
fn a_payment_landing_while_its_attempt_is_superseded_is_kept() {
    let e = E2e::from_env();
    let token = e.create_link("12.50", "superseded while paying");
    let (_, a) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    let b = {
        let _slow = e.fault_times("order", "latency:1500", 1);
        let pay_b = {
            let e = e.clone();
            let token = token.clone();
            thread::spawn(move || e.pay_ok(&token, "native", UA_DESKTOP, json!({})).1)
        };
        thread::sleep(Duration::from_millis(300));
        e.sandbox_pay_and_wait(&a, "A is paid while B is being created");
        pay_b.join().expect("pay B")
    };
    assert_ne!(a, b);
    // Give any background work of B's pay time to run.
    thread::sleep(Duration::from_millis(1500));
    assert_eq!(calls(&e, &a, "cancelTrade"), 0, "A was never revoked");
    let gw = e.ledger(&a);
    assert_eq!(gw["state"], 1, "{gw}");
    assert_eq!(gw["net_fen"], 1250, "{gw}");
    assert_eq!(e.order_state(&a), "paid");
    let view = link_state(&e, &token);
    assert_eq!(view["state"], "paid", "{view}");
    assert_eq!(view["charge_code"], a.as_str(), "{view}");
    // B paid as well (from its QR): a duplicate, refunded in full once.
    e.sandbox_pay(&b);
    e.eventually("B is refunded as a duplicate", || {
        e.order_state(&b) == "refunded"
    });
    let gw = e.ledger(&b);
    assert_eq!(gw["net_fen"], 0, "{gw}");
    assert_eq!(
        gw["refunds"][0]["out_refund_no"],
        format!("dup-{b}"),
        "{gw}"
    );
    assert_eq!(link_state(&e, &token)["charge_code"], a.as_str());
}

/// Defect 1 (second half): a merchant's real-time cancel of a paid attempt
/// whose answer is lost (the gateway revokes, then the connection hangs).
/// Before, the attempt stayed `paid` forever (the sweep only queried pending
/// attempts). Now it is under re-check, and the cron records `revoked`.
#[test]
fn a_revocation_whose_answer_is_lost_is_found_by_the_reconciler() {
    let e = E2e::from_env();
    let token = e.create_link("4.20", "cancel answer lost");
    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    e.sandbox_pay_and_wait(&code, "paid");
    {
        let _lost = e.fault_times("cancelTrade", "timeout", 1);
        let (status, body) = e.admin(
            reqwest::Method::POST,
            &format!("/v1/orders/{code}/cancel"),
            Some(&json!({"apply": false})),
        );
        assert_eq!(status, 504, "{body}");
    }
    assert_eq!(e.ledger(&code)["state"], 2, "the gateway revoked it");
    assert_eq!(e.merchant_order_stored(&code).order.state.as_str(), "paid");
    e.eventually("the reconciler records the revocation", || {
        e.run_cron();
        e.merchant_order_stored(&code).order.state.as_str() == "revoked"
    });
    let gw = e.ledger(&code);
    assert_eq!(gw["returned_fen"], 420, "{gw}");
    assert_eq!(gw["net_fen"], 0, "{gw}");
    // A link paid, then revoked, is payable again, and its next payment is
    // not mistaken for a duplicate.
    assert_eq!(link_state(&e, &token)["state"], "open");
    let (_, again) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    e.sandbox_pay_and_wait(&again, "the second payment is kept");
    thread::sleep(Duration::from_millis(1000));
    assert_eq!(e.order_state(&again), "paid");
    assert_eq!(
        calls(&e, &again, "refund"),
        0,
        "not refunded as a duplicate"
    );
    assert_eq!(link_state(&e, &token)["charge_code"], again.as_str());
}

/// Defect 2: an outcome-unknown code (`EXCEPTION`) after the gateway did
/// create the order. Before, the attempt was marked `failed` and the
/// shopper's later payment only logged. Now it stays pending and the
/// payment is recorded.
#[test]
fn an_outcome_unknown_answer_leaves_the_attempt_pending_and_its_payment_counts() {
    let e = E2e::from_env();
    let token = e.create_link("7.77", "exception after creating");
    {
        let _exc = e.fault_times("order", "processed:EXCEPTION", 1);
        let (status, body) = e.pay(&token, "native", UA_DESKTOP, json!({}));
        assert_eq!(status, 502, "{body}");
        assert_eq!(body["error"]["code"], "GATEWAY_UNAVAILABLE", "{body}");
        assert_eq!(body["error"]["gateway_code"], "EXCEPTION", "{body}");
    }
    let code = pending_attempt_of(&e, &token);
    assert_eq!(e.ledger(&code)["state"], 0, "the gateway holds it");
    assert_eq!(
        e.merchant_order_stored(&code).order.state.as_str(),
        "pending"
    );
    e.sandbox_pay_and_wait(&code, "the payment is recorded");
    assert_eq!(link_state(&e, &token)["state"], "paid");
    // A final refusal is still a failure.
    let token = e.create_link("7.78", "refused");
    let _refused = e.fault_times("order", "reject:ILLEGAL_PARAMETER", 1);
    let (status, body) = e.pay(&token, "native", UA_DESKTOP, json!({}));
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "GATEWAY_REJECTED", "{body}");
    let (_, view) = e.get(&format!("/api/checkout/{token}"));
    assert!(view["charge_code"].is_null(), "no pending attempt: {view}");
}

/// Defect 2 (money on a failed attempt): the gateway creates the order but
/// answers a refusal code, so the Worker fails the attempt; the shopper
/// pays it anyway. Before, the payment was acknowledged and ignored (the
/// gateway held money the books did not). Now it is recorded and, the link
/// having no other payment, kept.
#[test]
fn money_on_a_failed_attempt_is_recorded_and_kept_when_alone() {
    let e = E2e::from_env();
    let token = e.create_link("2.22", "paid after failing");
    let before: Vec<String> = e
        .sandbox_requests()
        .iter()
        .filter_map(|r| r["charge_code"].as_str().map(str::to_owned))
        .collect();
    {
        let _lie = e.fault_times("order", "processed:FAIL", 1);
        let (status, body) = e.pay(&token, "native", UA_DESKTOP, json!({}));
        assert_eq!(status, 502, "{body}");
    }
    let code = e
        .sandbox_requests()
        .iter()
        .rev()
        .find(|r| r["interface"] == "order")
        .and_then(|r| r["charge_code"].as_str())
        .map(str::to_owned)
        .expect("the order request");
    assert!(!before.contains(&code));
    assert_eq!(
        e.merchant_order_stored(&code).order.state.as_str(),
        "failed"
    );
    e.sandbox_pay(&code);
    e.eventually("the payment on the failed attempt is recorded", || {
        e.order_state(&code) == "paid"
    });
    let order = e.merchant_order_stored(&code);
    assert!(
        history(&order).contains(&("failed".into(), "paid".into(), "notify".into())),
        "{order:?}"
    );
    assert_eq!(link_state(&e, &token)["charge_code"], code.as_str());
    assert_eq!(e.ledger(&code)["net_fen"], 222);
}

/// Defect 3: a POS charge the shopper has not confirmed yet (the gateway
/// leaves it pending). Before, `preOrder`'s SUCCESS was taken as "paid".
/// Now the Worker polls `query`, and revokes the charge when the window
/// ends: the cashier gets the charge code and a final state.
#[test]
fn a_pos_charge_never_confirmed_is_revoked_and_answered() {
    let e = E2e::from_env();
    let _pending = e.sandbox_settings(json!({"pre_order_pending": true}));
    let (status, body) = e.admin(
        reqwest::Method::POST,
        "/v1/pos/charges",
        Some(
            &json!({"dynamic_id": "130730865806264036", "amount": "3.00",
            "subject": "Coffee"}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let charge: PosChargeResponse = typed(&body);
    let code = charge.charge_code;
    assert_eq!(charge.state, OrderStatus::Revoked, "{body}");
    assert!(calls(&e, &code, "query") >= 2, "it polled");
    assert_eq!(calls(&e, &code, "cancelTrade"), 1);
    let gw = e.ledger(&code);
    assert_eq!(gw["state"], 2, "{gw}");
    assert_eq!(gw["captured_fen"], 0, "{gw}");
}

/// Defect 3: the shopper confirms while the Worker polls.
#[test]
fn a_pos_charge_confirmed_while_polling_is_paid() {
    let e = E2e::from_env();
    let _pending = e.sandbox_settings(json!({"pre_order_pending": true}));
    let payer = {
        let e = e.clone();
        thread::spawn(move || {
            // Pay the first pending preOrder that shows up.
            for _ in 0..40 {
                thread::sleep(Duration::from_millis(100));
                if let Some(code) = e
                    .sandbox_requests()
                    .iter()
                    .rev()
                    .find(|r| r["interface"] == "preOrder")
                    .and_then(|r| r["charge_code"].as_str())
                {
                    if e.ledger(code)["state"] == 0 {
                        thread::sleep(Duration::from_millis(700));
                        e.sandbox_pay(code);
                        return code.to_owned();
                    }
                }
            }
            panic!("no pending preOrder appeared");
        })
    };
    let (status, body) = e.admin(
        reqwest::Method::POST,
        "/v1/pos/charges",
        Some(
            &json!({"dynamic_id": "130730865806264037", "amount": "3.10",
            "subject": "Tea"}),
        ),
    );
    let paid = payer.join().expect("payer");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["charge_code"], paid.as_str(), "{body}");
    assert_eq!(body["state"], "paid", "{body}");
    // Paid because a query saw the shopper's payment, not because preOrder
    // answered SUCCESS while the shopper was still typing a password.
    assert!(calls(&e, &paid, "query") >= 1, "it polled");
    let order = e.merchant_order_stored(&paid);
    assert!(
        history(&order).contains(&("pending".into(), "paid".into(), "pos".into())),
        "{order:?}"
    );
    assert_eq!(calls(&e, &paid, "cancelTrade"), 0);
    assert_eq!(e.ledger(&paid)["net_fen"], 310);
}

/// Defect 3: `preOrder`'s answer is lost (the gateway charged, the
/// connection hangs past our timeout). Before: 504 with no charge code, and
/// the cashier charged again. Now: the query finds the payment; 200 paid.
#[test]
fn a_pos_charge_whose_answer_is_lost_is_confirmed_by_query() {
    let e = E2e::from_env();
    let _lost = e.fault_times("preOrder", "timeout", 1);
    let (status, body) = e.admin(
        reqwest::Method::POST,
        "/v1/pos/charges",
        Some(
            &json!({"dynamic_id": "280730865806264038", "amount": "5.50",
            "subject": "Cake"}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let code = body["charge_code"].as_str().expect("charge code");
    assert_eq!(body["state"], "paid", "{body}");
    assert_eq!(e.ledger(code)["net_fen"], 550);
    // And an outcome-unknown code after charging: the same.
    let _unknown = e.fault_times("preOrder", "processed:SERVICE_UNAVAILABLE", 1);
    let (status, body) = e.admin(
        reqwest::Method::POST,
        "/v1/pos/charges",
        Some(
            &json!({"dynamic_id": "280730865806264039", "amount": "5.60",
            "subject": "Cake"}),
        ),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["state"], "paid", "{body}");
}

/// Defect 5: a merchant refund left pending by a fault is reconciled by the
/// cron (before, only `dup-` refunds were), and a retry under the same
/// `out_refund_no` resumes it (before: `REFUND_EXCEEDS`).
#[test]
fn a_merchant_refund_left_pending_is_resumed_and_reconciled() {
    let e = E2e::from_env();
    let token = e.create_link("9.00", "refund after a fault");
    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    e.sandbox_pay_and_wait(&code, "paid");
    let refund = |no: &str, amount: &str| {
        e.admin(
            reqwest::Method::POST,
            &format!("/v1/orders/{code}/refunds"),
            Some(&json!({"amount": amount, "reason": "test", "out_refund_no": no})),
        )
    };
    let no = format!("R-{}", &code[..12]);
    {
        let _fault = e.fault_times("refund", "http500", 1);
        let (status, body) = refund(&no, "9.00");
        assert_eq!(status, 502, "{body}");
    }
    // The same number again: resumed (refundQuery finds it done), not refused.
    let (status, body) = refund(&no, "9.00");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["order_state"], "refunded", "{body}");
    assert_eq!(calls(&e, &code, "refund"), 1, "refunded once");
    // A different amount under a used number is refused.
    let (status, body) = refund(&no, "1.00");
    assert_eq!(status, 400, "{body}");

    // The cron settles a pending merchant refund on its own.
    let token = e.create_link("9.10", "refund settled by cron");
    let (_, code2) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    e.sandbox_pay_and_wait(&code2, "paid");
    {
        let _fault = e.fault_times("refund", "http500", 1);
        let (status, body) = e.admin(
            reqwest::Method::POST,
            &format!("/v1/orders/{code2}/refunds"),
            Some(&json!({"amount": "1.10", "reason": "test"})),
        );
        assert_eq!(status, 502, "{body}");
    }
    let stored = e.merchant_order_stored(&code2);
    assert_eq!(stored.refunds[0].state.as_str(), "pending", "{stored:?}");
    e.eventually("the cron settles the merchant refund", || {
        e.run_cron();
        e.merchant_order_stored(&code2).refunds[0].state.as_str() == "succeeded"
    });
    assert_eq!(
        e.merchant_order_stored(&code2).order.state.as_str(),
        "partially_refunded"
    );
    assert_eq!(calls(&e, &code2, "refund"), 1);
    assert_eq!(e.ledger(&code2)["net_fen"], 800);
    // A number another order used is refused clearly, not as REFUND_EXCEEDS.
    let (status, body) = e.admin(
        reqwest::Method::POST,
        &format!("/v1/orders/{code2}/refunds"),
        Some(&json!({"amount": "1.00", "reason": "test", "out_refund_no": no})),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_REQUEST", "{body}");
    // `dup-` numbers are the Worker's refunds of duplicate payments.
    let (status, body) = e.admin(
        reqwest::Method::POST,
        &format!("/v1/orders/{code2}/refunds"),
        Some(
            &json!({"amount": "1.00", "reason": "test", "out_refund_no": format!("dup-{code2}-2")}),
        ),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_REQUEST", "{body}");
    assert_eq!(calls(&e, &code2, "refund"), 1);
}

/// Defects 3 + 4: a POS charge retried with its `Idempotency-Key` after an
/// error answer (a 5xx releases the key) finds its own attempt — the charge
/// code is derived from the key — and is settled without a second
/// `preOrder`. Before, the retry made a new charge code and charged again.
#[test]
fn a_pos_charge_retried_with_its_key_is_never_sent_twice() {
    let e = E2e::from_env();
    let key = format!("pos-retry-{}", e2e::now_ms());
    let subject = format!("Noodles {key}");
    let body = json!({"dynamic_id": "130730865806264040", "amount": "6.60", "subject": subject});
    let pre_orders = || {
        e.sandbox_requests()
            .iter()
            .filter(|r| {
                r["interface"] == "preOrder" && r["body"]["PAY_SUBJECT"] == subject.as_str()
            })
            .count()
    };
    let first = {
        let _refused = e.fault_times("preOrder", "reject:FAIL", 1);
        e.merchant_post("/v1/pos/charges", &body, Some(&key))
    };
    assert_eq!(first.status().as_u16(), 502);
    let retry = e.merchant_post("/v1/pos/charges", &body, Some(&key));
    assert_eq!(retry.status().as_u16(), 200);
    let retry: Value = retry.json().expect("JSON");
    let code = retry["charge_code"].as_str().expect("charge code");
    assert_eq!(retry["state"], "failed", "{retry}");
    assert_eq!(calls(&e, code, "preOrder"), 1);
    assert_eq!(pre_orders(), 1, "one preOrder for one key");
    // The same key with another amount is refused, not charged.
    let other = json!({"dynamic_id": "130730865806264040", "amount": "6.70", "subject": subject});
    let resp = e.merchant_post("/v1/pos/charges", &other, Some(&key));
    assert!(resp.status().is_client_error(), "{}", resp.status());
    assert_eq!(pre_orders(), 1);
}

/// Issue 24 defect 1: an id derived from an `Idempotency-Key` must not
/// outlive the key's claim. After a 5xx released the key, the same key on
/// another charge (a till whose keys repeat: the next customer) used to run
/// again, find the first charge under the same derived code and answer its
/// state with no `preOrder` sent. A released key now keeps its claim (its
/// generation): the same request resumes, another is refused with 409
/// `IDEMPOTENCY_KEY_REUSED`; after 24 h a new claim derives new codes.
#[test]
fn a_released_key_does_not_answer_another_charge_with_the_first_ones_state() {
    let e = E2e::from_env();
    let key = format!("pos-till-{}", e2e::now_ms());
    let subject = format!("Dumplings {key}");
    let first = json!({"dynamic_id": "130730865806264051", "amount": "4.40", "subject": subject});
    let refused = {
        let _refused = e.fault_times("preOrder", "reject:FAIL", 1);
        e.merchant_post("/v1/pos/charges", &first, Some(&key))
    };
    assert_eq!(refused.status().as_u16(), 502);
    let next = json!({"dynamic_id": "130730865806264052", "amount": "4.40", "subject": subject});
    let resp = e.merchant_post("/v1/pos/charges", &next, Some(&key));
    let status = resp.status().as_u16();
    let body: Value = resp.json().expect("JSON");
    assert_eq!(status, 409, "another charge under a released key: {body}");
    assert_eq!(body["error"]["code"], "IDEMPOTENCY_KEY_REUSED", "{body}");
}

/// A cancel answered `AREADY_REVOKED` by a gateway that revoked nothing
/// (the sandbox's `reject` fault: a refusal that did not act) is not booked
/// on its word: the Worker asks `query`, which reports the payment still
/// held, so the order and its link stay paid, as in the ledger, and the
/// merchant gets the refusal with its code. (Before, the order was booked
/// `revoked` while the gateway kept the money: chaos seed 271764461.)
#[test]
fn a_false_already_revoked_is_checked_against_the_ledger() {
    let e = E2e::from_env();
    let token = e.create_link("7.70", "cancel refused in error");
    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    e.sandbox_pay_and_wait(&code, "paid");
    let queries = calls(&e, &code, "query");
    let (status, body) = {
        let _lie = e.fault_times("cancelTrade", "reject:AREADY_REVOKED", 1);
        e.admin(
            reqwest::Method::POST,
            &format!("/v1/orders/{code}/cancel"),
            Some(&json!({"apply": false})),
        )
    };
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "GATEWAY_REJECTED", "{body}");
    assert_eq!(body["error"]["gateway_code"], "AREADY_REVOKED", "{body}");
    assert!(calls(&e, &code, "query") > queries, "the ledger was asked");
    let stored = e.merchant_order_stored(&code);
    assert_eq!(stored.order.state, OrderStatus::Paid, "{stored:?}");
    assert!(
        !history(&stored).iter().any(|(_, to, _)| to == "revoked"),
        "{stored:?}"
    );
    let (_, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(view["state"], "paid", "{view}");
    assert_eq!(e.ledger(&code)["net_fen"], 770);
}
