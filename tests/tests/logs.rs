//! The Worker's logs, read from the wrangler log of this run
//! (`$E2E_RUN_DIR/wrangler.log`, written by `cargo xtask test`): one JSON
//! line per request with the request id, the charge code and the outcome,
//! and never a secret.

use std::path::PathBuf;

use e2e::{E2e, UA_DESKTOP};
use serde_json::{json, Value};

fn log_text() -> String {
    let dir = std::env::var("E2E_RUN_DIR").unwrap_or_else(|_| {
        panic!(
            "E2E_RUN_DIR is not set: run with `cargo xtask test`, which keeps wrangler.log there"
        )
    });
    let path = PathBuf::from(dir).join("wrangler.log");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every JSON object logged on its own line (wrangler may add colour codes around error lines).
fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter_map(|l| {
            let start = l.find('{')?;
            let end = l.rfind('}')?;
            serde_json::from_str(l.get(start..=end)?).ok()
        })
        .collect()
}

/// A desktop NATIVE pay of `token`: (status, the answer's `x-request-id`, body).
fn pay_native(e: &E2e, token: &str) -> (u16, String, Value) {
    let resp = e
        .pay_request(UA_DESKTOP)
        .json(&json!({"token": token, "method": "native"}))
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    (status, id, resp.json().unwrap())
}

#[test]
fn each_request_logs_one_json_line_with_id_charge_code_and_outcome() {
    let e = E2e::from_env();
    let token = e.create_link("1.11", "logged");
    let (status, request_id, body) = pay_native(&e, &token);
    assert_eq!(status, 200);
    let code = body["charge_code"].as_str().unwrap().to_owned();

    let mut line = None;
    e.eventually("the /api/pay log line is written", || {
        line = json_lines(&log_text())
            .into_iter()
            .find(|l| l["request_id"] == request_id.as_str() && l["path"] == "/api/pay");
        line.is_some()
    });
    let line = line.unwrap();
    assert_eq!(line["charge_code"], code.as_str(), "{line}");
    assert_eq!(line["outcome"], "attempt_created", "{line}");
    assert_eq!(line["status"], 200, "{line}");
    assert_eq!(line["gateway"][0]["interface"], "order", "{line}");
    // The link token is a bearer capability: logged paths carry the link id instead.
    assert!(!log_text().contains(&format!("\"path\":\"/api/checkout/{token}")));
}

#[test]
fn secrets_never_reach_the_log() {
    let e = E2e::from_env();
    // Exercise the paths that touch every secret: merchant auth (good and
    // bad token), link signing, gateway signing/encryption, notification checks.
    let (_, code) = e.pending_attempt("1.12");
    let _ = e
        .http()
        .get(format!("{}/v1/orders/{code}", e.worker))
        .bearer_auth("wrong-token")
        .send();
    let _ = e.merchant_order(&code);
    let n = e.signed_now(
        &e.pay_notify(&code, 112, soushou::types::OrderState::Paid),
        "_type=json&encrypt=3DES",
    );
    assert_eq!(e.send_notification(&n).0, 200);
    e.eventually("the notification's log line is written", || {
        json_lines(&log_text())
            .iter()
            .any(|l| l["path"] == "/notify" && l["charge_code"] == code.as_str())
    });
    let text = log_text();
    for (name, secret) in [
        ("ADMIN_TOKEN", e.admin_token.as_str()),
        ("LINK_SECRET", e.link_secret.as_str()),
        ("SOUSHOU_MERCHANT_KEY", e.key.expose()),
    ] {
        assert!(!text.contains(secret), "{name} appears in wrangler.log");
    }
}

/// The request line of `path` that `pick` selects, once written.
fn request_line(e: &E2e, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    let mut line = None;
    e.eventually(what, || {
        line = json_lines(&log_text()).into_iter().find(|l| pick(l));
        line.is_some()
    });
    line.unwrap()
}

/// Every request line counts its D1 round trips (`"d1": {"calls", "ms"}`,
/// from the counted handle every query goes through), and the shopper's
/// routes and `/notify` stay within issue 12's round trips: pay 2 (link,
/// attempt and the link's attempts in one batch; the gateway's serials), a
/// pay refused as already paid 2 (that batch; the unsent attempt deleted),
/// a checkout view 1, a notification 1 whatever it does (the attempt read
/// and the conditional transition, its history, its event and the count in
/// one batch): one that applies, a duplicate, and one with a wrong amount
/// (refused, not counted).
#[test]
fn each_request_logs_its_d1_round_trips() {
    let e = E2e::from_env();
    let token = e.create_link("1.13", "d1 counted");
    let (status, pay_id, body) = pay_native(&e, &token);
    assert_eq!(status, 200);
    let code = body["charge_code"].as_str().unwrap().to_owned();
    let resp = e
        .http()
        .get(format!("{}/api/checkout/{token}", e.worker))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let view_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let n = e.signed_now(
        &e.pay_notify(&code, 113, soushou::types::OrderState::Paid),
        "_type=json&encrypt=3DES",
    );
    assert_eq!(e.send_notification(&n).0, 200);
    assert_eq!(e.send_notification(&n).0, 200, "the duplicate");
    let forged = e.signed_now(
        &e.pay_notify(&code, 114, soushou::types::OrderState::Paid),
        "_type=json&encrypt=3DES",
    );
    let (status, body) = e.send_notification(&forged);
    assert_eq!(status, 400, "{body}");

    let pay = request_line(&e, "the pay line", |l| l["request_id"] == pay_id.as_str());
    assert_eq!(pay["d1"]["calls"], 2, "{pay}");
    assert!(pay["d1"]["ms"].as_u64().is_some(), "{pay}");
    let view = request_line(&e, "the view line", |l| l["request_id"] == view_id.as_str());
    assert_eq!(view["d1"]["calls"], 1, "{view}");
    let notify = |outcome: &'static str| {
        request_line(&e, outcome, |l| {
            l["path"] == "/notify" && l["charge_code"] == code.as_str() && l["outcome"] == outcome
        })
    };
    let applied = notify("applied");
    assert_eq!(applied["d1"]["calls"], 1, "{applied}");
    let duplicate = notify("duplicate");
    assert_eq!(duplicate["d1"]["calls"], 1, "{duplicate}");
    let mismatch = request_line(&e, "the wrong amount", |l| {
        l["path"] == "/notify"
            && l["charge_code"] == code.as_str()
            && l["error_code"] == "AMOUNT_MISMATCH"
    });
    assert_eq!(mismatch["d1"]["calls"], 1, "{mismatch}");
    let (status, refused_id, _) = pay_native(&e, &token);
    assert_eq!(status, 409);
    let refused = request_line(&e, "the refused pay line", |l| {
        l["request_id"] == refused_id.as_str()
    });
    assert_eq!(refused["error_code"], "ALREADY_PAID", "{refused}");
    assert_eq!(refused["charge_code"], code.as_str(), "{refused}");
    assert_eq!(refused["d1"]["calls"], 2, "{refused}");
    // Counted once each, the first as the transition that paid the order.
    let order = e.merchant_order(&code);
    assert_eq!(order.order.state, checkout::api::OrderStatus::Paid);
    assert_eq!(order.notifications.len(), 1, "{:?}", order.notifications);
    assert_eq!(order.notifications[0].received, 2);
    assert_eq!(order.notifications[0].outcome, "applied");
}
