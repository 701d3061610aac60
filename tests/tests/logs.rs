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

#[test]
fn each_request_logs_one_json_line_with_id_charge_code_and_outcome() {
    let e = E2e::from_env();
    let token = e.create_link("1.11", "logged");
    let resp = e
        .pay_request(UA_DESKTOP)
        .json(&json!({"token": token, "method": "native"}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body: Value = resp.json().unwrap();
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
