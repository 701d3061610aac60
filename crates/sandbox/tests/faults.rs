//! Every gateway fault mode, observed from a client using the `soushou` crate.

mod common;

use std::time::{Duration, Instant};

use common::*;
use soushou::codec::Format;
use soushou::envelope;
use soushou::model::OrderRequest;
use soushou::types::{CancelMode, OrderState, ResultCode, SerType};

/// Sends an order and returns (status, body, decode result).
async fn order_through(
    sb: &Sandbox,
    encrypt: bool,
    code: &str,
) -> (
    u16,
    Vec<u8>,
    Result<soushou::model::OrderResp, soushou::Error>,
) {
    let cfg = sb.client(encrypt, Format::Json);
    let req = envelope::build(&cfg, &order(&cfg, code, 1, None), now_ms()).unwrap();
    let (status, body) = send_raw(&req, &cfg.gateway_url).await;
    let decoded = envelope::decode_response::<OrderRequest>(&cfg, &req, status, &body);
    (status, body, decoded)
}

#[tokio::test]
async fn http5xx_faults() {
    let sb = Sandbox::start(&["--fault", "order=http500"]);
    let c = code("f500");
    let (status, _, r) = order_through(&sb, false, &c).await;
    assert_eq!(status, 500);
    assert_eq!(r.unwrap_err(), soushou::Error::Http { status: 500 });
    // The request was processed before the answer was lost: the order exists.
    assert_eq!(sb.state_of(&c).await, Some(OrderState::Pending));
    sb.set_fault("order", "http5xx:503").await;
    let (status, _, _) = order_through(&sb, false, &code("f503")).await;
    assert_eq!(status, 503);
    // Other interfaces are unaffected, and removing the fault restores answers.
    sb.clear_fault("order").await;
    order_through(&sb, false, &code("ok"))
        .await
        .2
        .expect("no fault any more");
    let log = sb.get_json("/sandbox/requests").await;
    let faulted: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["fault"].as_str())
        .collect();
    assert_eq!(faulted, ["http500", "http5xx:503"]);
}

#[tokio::test]
async fn html_error_page() {
    let sb = Sandbox::start(&[]);
    sb.set_fault("order", "html").await;
    let (status, body, r) = order_through(&sb, false, &code("html")).await;
    assert_eq!(status, 502);
    assert!(String::from_utf8_lossy(&body).contains("<h1>502 Bad Gateway</h1>"));
    assert_eq!(r.unwrap_err(), soushou::Error::Http { status: 502 });
    // The same page with HTTP 200: only the body tells it is not a gateway message.
    sb.set_fault("order", "html:200").await;
    for encrypt in [false, true] {
        let (status, _, r) = order_through(&sb, encrypt, &code("html200")).await;
        assert_eq!(status, 200);
        assert_eq!(r.unwrap_err(), soushou::Error::NotGatewayMessage);
    }
}

#[tokio::test]
async fn truncated_body() {
    let sb = Sandbox::start(&["--fault", "order=truncated"]);
    for encrypt in [false, true] {
        let c = code("trunc");
        let (status, body, r) = order_through(&sb, encrypt, &c).await;
        assert_eq!(status, 200);
        assert!(!body.is_empty());
        let err = r.unwrap_err();
        assert!(!matches!(err, soushou::Error::Gateway { .. }), "{err:?}");
        assert_eq!(sb.state_of(&c).await, Some(OrderState::Pending));
    }
}

#[tokio::test]
async fn garbage_body() {
    let sb = Sandbox::start(&["--fault", "query=garbage"]);
    let cfg = sb.client(false, Format::Xml);
    let r = call(&cfg, &query_req("x", SerType::Merchant)).await;
    assert_eq!(r.unwrap_err(), soushou::Error::NotGatewayMessage);
    let cfg = sb.client(true, Format::Json);
    let r = call(&cfg, &query_req("x", SerType::Merchant)).await;
    assert_eq!(r.unwrap_err(), soushou::Error::NotGatewayMessage);
}

#[tokio::test]
async fn timeout_never_answers() {
    let sb = Sandbox::start(&["--fault", "order=timeout"]);
    let cfg = sb.client(false, Format::Json);
    let c = code("timeout");
    let req = envelope::build(&cfg, &order(&cfg, &c, 1, None), now_ms()).unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let err = client
        .post(req.url(&cfg.gateway_url))
        .header("Content-Type", req.content_type())
        .body(req.body.clone())
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err}");
    // Processed all the same: the merchant must query to find the order.
    assert_eq!(sb.state_of(&c).await, Some(OrderState::Pending));
    let log = sb.get_json("/sandbox/requests").await;
    let first = &log.as_array().unwrap()[0];
    assert_eq!(first["fault"], "timeout");
    assert!(first["http_status"].is_null());
}

#[tokio::test]
async fn latency_delays_answers() {
    let sb = Sandbox::start(&[]);
    sb.set_fault("preOrder", "latency:300").await;
    let cfg = sb.client(false, Format::Json);
    let started = Instant::now();
    call(&cfg, &pre_order(&cfg, &code("lat"), 1))
        .await
        .expect("still answers");
    let took = started.elapsed();
    // A lower bound only (the answer cannot come before the injected delay).
    assert!(took >= Duration::from_millis(300), "{took:?}");
    println!("preOrder with latency:300 answered in {took:?}");
    assert!(sb.last_request().await["duration_ms"].as_u64().unwrap() >= 300);
}

#[tokio::test]
async fn reject_refuses_without_acting() {
    let sb = Sandbox::start(&["--fault", "cancelTrade=reject:FAIL"]);
    assert_eq!(
        sb.get_json("/sandbox/faults").await,
        serde_json::json!({ "cancelTrade": "reject:FAIL" })
    );
    let plain_xml = sb.client(false, Format::Xml);
    let des_json = sb.client(true, Format::Json);
    let pending = code("rej-pending");
    let paid = code("rej-paid");
    for c in [&pending, &paid] {
        call(&plain_xml, &order(&plain_xml, c, 1, None))
            .await
            .expect("order");
    }
    sb.pay(&paid).await;
    // A proper gateway answer (HTTP 200, in the asked format, encrypted when asked, decoded by
    // `soushou`) saying FAIL, in every shape and cancel mode...
    for cfg in [&plain_xml, &des_json] {
        for mode in [CancelMode::RealTime, CancelMode::Apply] {
            for c in [&pending, &paid] {
                let (code, info) = rejected(call(cfg, &cancel_req(c, mode)).await);
                assert_eq!(code, "FAIL", "{c} {mode:?}");
                assert!(info.contains("not processed"), "{info}");
            }
        }
    }
    let last = sb.last_request().await;
    assert_eq!(last["interface"], "cancelTrade");
    assert_eq!(last["fault"], "reject:FAIL");
    assert_eq!(last["result_code"], "FAIL");
    assert_eq!(last["http_status"], 200);
    assert_eq!(last["encrypted"], true);
    // ...and nothing happened: the pending order is still payable, the paid one not revoked.
    assert_eq!(sb.state_of(&pending).await, Some(OrderState::Pending));
    assert_eq!(sb.state_of(&paid).await, Some(OrderState::Paid));
    // The gateway's own checks still come first: a bad sign is INVALID_SIGN.
    let forged = soushou::envelope::Config {
        key: soushou::MerchantKey::new("0123456789ABCDEF0123456789ABCDEF"),
        ..sb.client(false, Format::Xml)
    };
    let r = call(&forged, &cancel_req(&pending, CancelMode::RealTime)).await;
    assert_eq!(rejected(r).0, "INVALID_SIGN");

    // Set through the control API on another interface: the refund is refused, none recorded.
    sb.set_fault("refund", "reject:SERVICE_UNAVAILABLE").await;
    let r = call(
        &des_json,
        &refund(&des_json, &paid, 1, Some(&code("rej-r"))),
    )
    .await;
    assert_eq!(rejected(r).0, "SERVICE_UNAVAILABLE");
    assert_eq!(sb.order_view(&paid).await["refunds"], serde_json::json!([]));
    assert_eq!(sb.state_of(&paid).await, Some(OrderState::Paid));

    // Cleared, the same cancel goes through.
    sb.clear_fault("cancelTrade").await;
    call(&des_json, &cancel_req(&pending, CancelMode::RealTime))
        .await
        .expect("cancel once the fault is gone");
    assert_eq!(sb.state_of(&pending).await, Some(OrderState::Revoked));
}

#[tokio::test]
async fn fault_control_api() {
    let sb = Sandbox::start(&["--fault", "refund=html", "--fault", "notify=duplicate:2"]);
    let listed = sb.get_json("/sandbox/faults").await;
    assert_eq!(
        listed,
        serde_json::json!({ "refund": "html", "notify": "duplicate:2" })
    );
    // Modes that do not apply, unknown modes and unknown interfaces are refused.
    for (target, mode) in [
        ("notify", "http500"),
        ("order", "drop"),
        ("order", "teapot"),
        ("notify", "reject:FAIL"),
        ("cancelTrade", "reject:SUCCESS"),
        ("cancelTrade", "reject:NO_SUCH_CODE"),
        ("nope", "timeout"),
    ] {
        let r = http()
            .put(format!("{}/sandbox/faults/{target}", sb.url))
            .json(&serde_json::json!({ "mode": mode }))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 400, "{target}={mode}");
    }
    let r = http()
        .delete(format!("{}/sandbox/faults", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(sb.get_json("/sandbox/faults").await, serde_json::json!({}));
}

#[tokio::test]
async fn reject_with_every_appendix_5_code_changes_nothing() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(true, Format::Json);
    let paid = code("rej-all-paid");
    call(&cfg, &order(&cfg, &paid, 500, None))
        .await
        .expect("order");
    sb.pay(&paid).await;
    let before = sb.ledger().await;
    for code_name in ResultCode::APPENDIX_5.iter().map(ResultCode::as_str) {
        let fresh = code("rej-all-new");
        // Each fault refuses exactly one request, then clears itself.
        sb.set_fault_times("order", &format!("reject:{code_name}"), 1)
            .await;
        let r = call(&cfg, &order(&cfg, &fresh, 1, None)).await;
        assert_eq!(rejected(r).0, code_name);
        sb.set_fault_times("preOrder", &format!("reject:{code_name}"), 1)
            .await;
        let r = call(&cfg, &pre_order(&cfg, &fresh, 1)).await;
        assert_eq!(rejected(r).0, code_name);
        sb.set_fault_times("refund", &format!("reject:{code_name}"), 1)
            .await;
        let r = call(&cfg, &refund(&cfg, &paid, 100, Some(&fresh))).await;
        assert_eq!(rejected(r).0, code_name);
        sb.set_fault_times("cancelTrade", &format!("reject:{code_name}"), 1)
            .await;
        let r = call(&cfg, &cancel_req(&paid, CancelMode::RealTime)).await;
        assert_eq!(rejected(r).0, code_name);
        let last = sb.last_request().await;
        assert_eq!(
            (&last["fault"], &last["result_code"]),
            (
                &serde_json::json!(format!("reject:{code_name}")),
                &serde_json::json!(code_name)
            )
        );
    }
    // Nothing happened: no order created, no refund, no revocation, no fault left.
    assert_eq!(sb.ledger().await, before);
    assert_eq!(sb.get_json("/sandbox/faults").await, serde_json::json!({}));
}

#[tokio::test]
async fn processed_acts_then_answers_the_code() {
    let sb = Sandbox::start(&[]);
    let plain_xml = sb.client(false, Format::Xml);
    let des_json = sb.client(true, Format::Json);
    for code_name in ResultCode::APPENDIX_5.iter().map(ResultCode::as_str) {
        sb.set_fault_times("order", &format!("processed:{code_name}"), 1)
            .await;
        let c = code("proc");
        let r = call(&des_json, &order(&des_json, &c, 10, None)).await;
        let (got, info) = rejected(r);
        assert_eq!(got, code_name);
        assert!(info.contains("processed"), "{info}");
        // The order exists all the same: query shows it.
        assert_eq!(sb.state_of(&c).await, Some(OrderState::Pending));
    }
    for cfg in [&plain_xml, &des_json] {
        // preOrder: the shopper is charged although the answer says EXCEPTION.
        sb.set_fault("preOrder", "processed:EXCEPTION").await;
        let pos = code("proc-pos");
        let r = call(cfg, &pre_order(cfg, &pos, 700)).await;
        assert_eq!(rejected(r).0, "EXCEPTION");
        assert_eq!(sb.state_of(&pos).await, Some(OrderState::Paid));
        assert_eq!(sb.ledger_of(&pos).await["captured_fen"], 700);
        sb.clear_fault("preOrder").await;

        // refund: made although the answer says DATABASE_ERROR.
        sb.set_fault_times("refund", "processed:DATABASE_ERROR", 1)
            .await;
        let no = code("proc-r");
        let r = call(cfg, &refund(cfg, &pos, 200, Some(&no))).await;
        assert_eq!(rejected(r).0, "DATABASE_ERROR");
        assert_eq!(
            sb.ledger_of(&pos).await["refunds"],
            serde_json::json!([{ "out_refund_no": no, "amount_fen": 200, "state": 11 }])
        );
        assert_eq!(sb.state_of(&pos).await, Some(OrderState::PartiallyRefunded));

        // cancelTrade: revoked (the rest of the money returned) although it says SERVICE_UNAVAILABLE.
        sb.set_fault_times("cancelTrade", "processed:SERVICE_UNAVAILABLE", 1)
            .await;
        let r = call(cfg, &cancel_req(&pos, CancelMode::RealTime)).await;
        assert_eq!(rejected(r).0, "SERVICE_UNAVAILABLE");
        assert_eq!(sb.state_of(&pos).await, Some(OrderState::Revoked));
        assert_eq!(sb.ledger_of(&pos).await["returned_fen"], 500);
    }
    let log = sb.get_json("/sandbox/requests").await;
    let last = log
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|r| r["interface"] == "cancelTrade")
        .unwrap();
    assert_eq!(last["fault"], "processed:SERVICE_UNAVAILABLE");
    assert_eq!(last["result_code"], "SERVICE_UNAVAILABLE");
    assert_eq!(last["http_status"], 200);
    assert_eq!(last["encrypted"], true);

    // The gateway's own refusals still win: nothing was processed, so they are answered.
    sb.set_fault_times("cancelTrade", "processed:EXCEPTION", 1)
        .await;
    let r = call(
        &des_json,
        &cancel_req("no-such-order", CancelMode::RealTime),
    )
    .await;
    assert_eq!(rejected(r).0, "CHARGE_NONEXISTENT");
    // query: nothing to act on; the answer carries the code.
    sb.set_fault_times("query", "processed:IO_EXCEPTION", 1)
        .await;
    let r = call(&des_json, &query_req("anything", SerType::Merchant)).await;
    assert_eq!(rejected(r).0, "CHARGE_NONEXISTENT");
    let pos = code("proc-q");
    call(&des_json, &pre_order(&des_json, &pos, 1))
        .await
        .expect("preOrder");
    sb.set_fault_times("query", "processed:IO_EXCEPTION", 1)
        .await;
    let r = call(&des_json, &query_req(&pos, SerType::Merchant)).await;
    assert_eq!(rejected(r).0, "IO_EXCEPTION");
    assert_eq!(sb.state_of(&pos).await, Some(OrderState::Paid));
}

#[tokio::test]
async fn limited_faults_clear_themselves() {
    let sb = Sandbox::start(&[]);
    sb.set_fault_times("order", "http500", 2).await;
    assert_eq!(
        sb.get_json("/sandbox/faults").await,
        serde_json::json!({ "order": "http500" })
    );
    for _ in 0..2 {
        let (status, _, _) = order_through(&sb, false, &code("t500")).await;
        assert_eq!(status, 500);
    }
    // Used up: the third request is answered normally and the fault is gone.
    order_through(&sb, false, &code("t-ok"))
        .await
        .2
        .expect("no fault any more");
    assert_eq!(sb.get_json("/sandbox/faults").await, serde_json::json!({}));

    // Latency for exactly one call, combined with times.
    let (status, _) = sb
        .send_json(
            reqwest::Method::PUT,
            "/sandbox/faults/preOrder",
            &serde_json::json!({ "mode": "latency:300", "times": 1 }),
        )
        .await;
    assert_eq!(status, 200);
    let cfg = sb.client(false, Format::Json);
    for _ in 0..2 {
        call(&cfg, &pre_order(&cfg, &code("tlat"), 1))
            .await
            .expect("answers");
    }
    let log = sb.get_json("/sandbox/requests").await;
    let log = log.as_array().unwrap();
    let (first, second) = (&log[log.len() - 2], &log[log.len() - 1]);
    assert_eq!(first["fault"], "latency:300");
    assert!(first["duration_ms"].as_u64().unwrap() >= 300);
    assert!(second["fault"].is_null());

    // A limited fault on one interface does not count other interfaces' requests.
    sb.set_fault_times("query", "garbage", 1).await;
    order_through(&sb, false, &code("other"))
        .await
        .2
        .expect("order unaffected");
    let r = call(&cfg, &query_req("x", SerType::Merchant)).await;
    assert_eq!(r.unwrap_err(), soushou::Error::NotGatewayMessage);
    let r = call(&cfg, &query_req("x", SerType::Merchant)).await;
    assert_eq!(rejected(r).0, "CHARGE_NONEXISTENT");

    // times must be at least 1.
    let (status, _) = sb
        .send_json(
            reqwest::Method::PUT,
            "/sandbox/faults/order",
            &serde_json::json!({ "mode": "http500", "times": 0 }),
        )
        .await;
    assert_eq!(status, 400);
}
