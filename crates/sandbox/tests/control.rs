//! The shopper page, the control API, the request log and the command line.

mod common;

use std::process::Command;

use common::*;
use serde_json::Value;
use soushou::codec::Format;
use soushou::envelope::Config;
use soushou::types::OrderState;

async fn page(url: &str) -> (u16, String) {
    let r = http().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Presses the page's button that says `label`: posts its form as a browser would.
async fn press(sb: &Sandbox, html: &str, label: &str) -> reqwest::Response {
    // What a browser sends for a plain <form method="post"> without fields.
    http()
        .post(format!("{}{}", sb.url, form_action(html, label)))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .unwrap()
}

/// A new NATIVE order of 0.10 yuan: the URL of its shopper page.
async fn qr_page(cfg: &Config, charge_code: &str) -> String {
    call(cfg, &order(cfg, charge_code, 10, None))
        .await
        .unwrap()
        .bar_code
        .unwrap()
}

/// The `action` of the form whose button says `label`.
fn form_action(html: &str, label: &str) -> String {
    let button = html
        .find(label)
        .unwrap_or_else(|| panic!("no {label:?} in {html}"));
    let start = html[..button].rfind("action=\"").unwrap() + "action=\"".len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end].to_owned()
}

#[tokio::test]
async fn shopper_confirms_on_the_page_and_returns_to_the_merchant() {
    let sb = Sandbox::start(&[]);
    let (rx, notify_url) = Receiver::start().await;
    let cfg = sb.client(false, Format::Json);
    let code = code("shop");
    let mut req = wap_order(&cfg, &code, 1999, Some("http://127.0.0.1:9/thanks?o=1"));
    req.nodify_url = Some(notify_url);
    req.pay_subject = "Tea & <biscuits>".into();
    let bar = call(&cfg, &req).await.unwrap().bar_code.unwrap();
    let (status, html) = page(&bar).await;
    assert_eq!(status, 200);
    assert!(html.contains("¥19.99"), "{html}");
    assert!(html.contains("Tea &amp; &lt;biscuits&gt;"));
    assert!(html.contains("Cancel"));
    let r = press(&sb, &html, "Confirm payment").await;
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(r.headers()["location"], "http://127.0.0.1:9/thanks?o=1");
    let q = query_by_code(&cfg, &code).await;
    assert_eq!(q.state, Some(OrderState::Paid));
    rx.first().await;
    // Afterwards the page shows the state instead of buttons.
    let (_, html) = page(&bar).await;
    assert!(html.contains("Paid") && !html.contains("Confirm payment"));
}

#[tokio::test]
async fn shopper_without_return_url_sees_paid_and_can_cancel_others() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    let c1 = code("native");
    let bar = qr_page(&cfg, &c1).await;
    let (_, html) = page(&bar).await;
    let r = press(&sb, &html, "Confirm payment").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("Paid"));
    // Paying twice is refused.
    let r = press(&sb, &html, "Confirm payment").await;
    assert_eq!(r.status().as_u16(), 409);

    let c2 = code("cancel");
    let bar = qr_page(&cfg, &c2).await;
    let (_, html) = page(&bar).await;
    let r = press(&sb, &html, "Cancel").await;
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("Closed"));
    let q = query_by_code(&cfg, &c2).await;
    assert_eq!(q.state, Some(OrderState::Closed));

    let (status, _) = page(&format!("{}/sandbox/shopper/nope", sb.url)).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn control_api_orders_pay_close() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(false, Format::Json);
    let c = code("ctl");
    call(&cfg, &order(&cfg, &c, 250, Some("http://127.0.0.1:9/n")))
        .await
        .unwrap();
    let v = sb.order_view(&c).await;
    assert_eq!(v["amount_fen"], 250);
    assert_eq!(v["state"], 0);
    assert_eq!(v["nodify_url"], "http://127.0.0.1:9/n");
    assert_eq!(v["interface"], "order");
    assert_eq!(v["refunds"], Value::Array(vec![]));
    let v = sb.pay(&c).await;
    assert_eq!(v["state"], 1);
    assert_eq!(v["charge_third_code"].as_str().map(str::len), Some(28));
    call(&cfg, &refund(&cfg, &c, 50, Some("ctl-r")))
        .await
        .unwrap();
    let v = sb.order_view(&c).await;
    assert_eq!(v["state"], 4);
    assert_eq!(v["refunded_fen"], 50);
    assert_eq!(v["refunds"][0]["refund_code"], "ctl-r");
    assert_eq!(v["refunds"][0]["state"], 11);
    // Wrong transitions and unknown orders.
    assert_eq!(sb.post_json(&format!("/sandbox/close/{c}")).await.0, 409);
    assert_eq!(sb.post_json("/sandbox/pay/none").await.0, 404);
    let r = http()
        .get(format!("{}/sandbox/orders/none", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let all = sb.get_json("/sandbox/orders").await;
    assert_eq!(all.as_array().unwrap().len(), 1);
    let health = sb.get_json("/sandbox/health").await;
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn request_log_shows_what_arrived_and_why() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(true, Format::Xml);
    let c = code("log");
    call(&cfg, &pre_order(&cfg, &c, 1)).await.unwrap();
    let mut bad = cfg.clone();
    bad.busi_code = "07777777".into();
    let _ = call(&bad, &pre_order(&bad, &code("x"), 1)).await;
    let log = sb.get_json("/sandbox/requests").await;
    let entries = log.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let ok = &entries[0];
    assert_eq!(ok["interface"], "preOrder");
    assert_eq!(ok["result_code"], "SUCCESS");
    assert_eq!(ok["encrypted"], true);
    assert_eq!(ok["format"], "xml");
    assert_eq!(ok["charge_code"], c.as_str());
    // The body is shown decrypted.
    assert_eq!(ok["body"]["CHARGE_CODE"], c.as_str());
    // The sign is masked: 6 hex digits and the timestamp.
    let sign = ok["query"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p[0] == "sign")
        .unwrap()[1]
        .as_str()
        .unwrap();
    assert!(sign.contains('…') && sign.len() < 40, "{sign}");
    let rejected = &entries[1];
    assert_eq!(rejected["result_code"], "UNREGISTERED_BUSI");
    assert!(rejected["reason"].as_str().unwrap().contains("07777777"));
    assert!(entries[1]["id"].as_u64() > entries[0]["id"].as_u64());
    // stdout: one JSON line per request (after the start-up line), never the full sign.
    let lines = eventually("two request lines", || async {
        let l = sb.lines.lock().unwrap().clone();
        (l.iter()
            .filter(|l| l.contains("\"kind\":\"request\""))
            .count()
            == 2)
            .then_some(l)
    })
    .await;
    let first: Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["kind"], "startup");
    assert_eq!(
        first["merchants"][0]["key"], KEY,
        "the public demo key is printed for the demo"
    );
    for l in &lines[1..] {
        let v: Value = serde_json::from_str(l).expect("JSON line");
        assert_eq!(v["kind"], "request");
    }
    let r = http()
        .delete(format!("{}/sandbox/requests", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    assert_eq!(sb.get_json("/sandbox/requests").await, Value::Array(vec![]));
}

#[test]
fn bad_command_lines_are_refused() {
    for args in [
        vec!["--merchant", "nokey"],
        vec!["--fault", "order=drop"],
        vec!["--fault", "bogus"],
        vec!["--notify-attempts", "0"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_soushou-sandbox"))
            .args(["--listen", "127.0.0.1:0"])
            .args(&args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?} accepted");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty());
    }
    let out = Command::new(env!("CARGO_BIN_EXE_soushou-sandbox"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in [
        "--listen",
        "--merchant",
        "--notify-interval-ms",
        "--notify-attempts",
        "--fault",
        "--public-url",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}
