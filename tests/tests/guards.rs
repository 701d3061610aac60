//! Retries and bad input against the real Worker: `Idempotency-Key` on the
//! merchant POSTs (replay, reuse, in use, 5xx release, refund numbers), the
//! 64 KiB body cap, the per-link rate limit of `/api/pay`, redirects only
//! to safe addresses, attempts shown only to their own link, the backslash
//! signature fallback and the security headers of HTML answers.

use std::sync::{Arc, Barrier};

use e2e::{header, now_ms, E2e, UA_DESKTOP, UA_MOBILE};
use serde_json::{json, Value};
use soushou::codec::{self, Format};
use soushou::sign;
use soushou::types::OrderState;

/// A key no other test or run uses.
fn fresh_key(what: &str) -> String {
    format!("e2e-{what}-{}", now_ms())
}

/// Gateway requests of `interface` whose body names `subject`.
fn gateway_calls(e: &E2e, interface: &str, subject: &str) -> usize {
    e.sandbox_requests()
        .iter()
        .filter(|r| r["interface"] == interface && r["body"]["PAY_SUBJECT"] == subject)
        .count()
}

/// Status, `Idempotent-Replayed` header and body text of a response.
fn raw(resp: reqwest::blocking::Response) -> (u16, bool, String) {
    let status = resp.status().as_u16();
    let replayed = resp.headers().get("Idempotent-Replayed").is_some();
    (status, replayed, resp.text().expect("body"))
}

fn code_of(text: &str) -> String {
    let v: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    v["error"]["code"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn same_key_and_body_replays_the_answer_without_a_second_gateway_call() {
    let e = E2e::from_env();
    let subject = format!("idem replay {}", now_ms());
    let key = fresh_key("replay");
    let body = json!({"amount": "6.60", "subject": subject, "channel": "wechat"});
    let (s1, r1, first) = raw(e.merchant_post("/v1/qr-orders", &body, Some(&key)));
    assert_eq!(s1, 200, "{first}");
    assert!(!r1, "the first answer is not a replay");
    let (s2, r2, second) = raw(e.merchant_post("/v1/qr-orders", &body, Some(&key)));
    assert_eq!(
        (s2, second.as_str()),
        (200, first.as_str()),
        "byte for byte"
    );
    assert!(r2, "the retry is marked Idempotent-Replayed");
    assert_eq!(gateway_calls(&e, "order", &subject), 1, "one gateway order");
    // Without a key, the same body is a new order.
    let (s3, _, third) = raw(e.merchant_post("/v1/qr-orders", &body, None));
    assert_eq!(s3, 200);
    assert_ne!(third, first);
    assert_eq!(gateway_calls(&e, "order", &subject), 2);
}

#[test]
fn errors_below_500_are_replayed_too() {
    let e = E2e::from_env();
    let key = fresh_key("error");
    let body = json!({"amount": "-1", "subject": "bad"});
    let (s1, _, first) = raw(e.merchant_post("/v1/links", &body, Some(&key)));
    assert_eq!(
        (s1, code_of(&first).as_str()),
        (400, "INVALID_AMOUNT"),
        "{first}"
    );
    let (s2, r2, second) = raw(e.merchant_post("/v1/links", &body, Some(&key)));
    assert_eq!((s2, second.as_str(), r2), (400, first.as_str(), true));
}

#[test]
fn same_key_with_another_body_or_route_is_409_reused() {
    let e = E2e::from_env();
    let key = fresh_key("reuse");
    let (s, _, first) = raw(e.merchant_post(
        "/v1/links",
        &json!({"amount": "1.00", "subject": "reuse"}),
        Some(&key),
    ));
    assert_eq!(s, 200, "{first}");
    let (s, _, other_body) = raw(e.merchant_post(
        "/v1/links",
        &json!({"amount": "2.00", "subject": "reuse"}),
        Some(&key),
    ));
    assert_eq!(
        (s, code_of(&other_body).as_str()),
        (409, "IDEMPOTENCY_KEY_REUSED")
    );
    let (s, _, other_route) = raw(e.merchant_post(
        "/v1/qr-orders",
        &json!({"amount": "1.00", "subject": "reuse"}),
        Some(&key),
    ));
    assert_eq!(
        (s, code_of(&other_route).as_str()),
        (409, "IDEMPOTENCY_KEY_REUSED")
    );
    // The first answer is still there.
    let (s, replayed, again) = raw(e.merchant_post(
        "/v1/links",
        &json!({"amount": "1.00", "subject": "reuse"}),
        Some(&key),
    ));
    assert_eq!((s, replayed, again.as_str()), (200, true, first.as_str()));
}

#[test]
fn invalid_keys_are_400() {
    let e = E2e::from_env();
    let body = json!({"amount": "1.00", "subject": "bad key"});
    for key in ["x".repeat(256), "ключ".to_owned()] {
        let resp = e
            .http()
            .post(format!("{}/v1/links", e.worker))
            .bearer_auth(&e.admin_token)
            .header("Idempotency-Key", key.as_bytes())
            .json(&body)
            .send()
            .expect("worker reachable");
        let (s, _, text) = raw(resp);
        assert_eq!(
            (s, code_of(&text).as_str()),
            (400, "INVALID_REQUEST"),
            "{text}"
        );
        assert!(text.contains("Idempotency-Key"), "{text}");
    }
}

#[test]
fn concurrent_requests_with_one_key_run_once() {
    let e = E2e::from_env();
    let subject = format!("idem concurrent {}", now_ms());
    let key = fresh_key("concurrent");
    let body = json!({"amount": "7.70", "subject": subject, "channel": "alipay"});
    // A slow gateway keeps the first request in progress while the second arrives.
    let _slow = e.fault("order", "latency:2500");
    let barrier = Arc::new(Barrier::new(2));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (e, key, body, barrier) = (e.clone(), key.clone(), body.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                raw(e.merchant_post("/v1/qr-orders", &body, Some(&key)))
            })
        })
        .collect();
    let mut results: Vec<(u16, bool, String)> = runs
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    results.sort_by_key(|r| r.0);
    assert_eq!(results[0].0, 200, "{results:?}");
    assert_eq!(results[1].0, 409, "{results:?}");
    assert_eq!(code_of(&results[1].2), "IDEMPOTENCY_KEY_IN_USE");
    assert_eq!(gateway_calls(&e, "order", &subject), 1, "one gateway order");
    // Once the first has finished, the key replays its answer.
    let (s, replayed, text) = raw(e.merchant_post("/v1/qr-orders", &body, Some(&key)));
    assert_eq!(
        (s, replayed, text.as_str()),
        (200, true, results[0].2.as_str())
    );
}

/// A paid attempt of a fresh link.
fn paid_attempt(e: &E2e, amount: &str) -> String {
    let (_, code) = e.pending_attempt(amount);
    e.sandbox_pay_and_wait(&code, "the attempt is paid");
    code
}

#[test]
fn a_refund_retried_with_its_key_refunds_once_under_one_number() {
    let e = E2e::from_env();
    let code = paid_attempt(&e, "5.00");
    let path = format!("/v1/orders/{code}/refunds");
    let key = fresh_key("refund");
    let body = json!({"amount": "1.00", "reason": "one cup short"});
    let (s, _, first) = raw(e.merchant_post(&path, &body, Some(&key)));
    assert_eq!(s, 200, "{first}");
    let first: Value = serde_json::from_str(&first).expect("JSON");
    let number = first["out_refund_no"]
        .as_str()
        .expect("out_refund_no")
        .to_owned();
    assert!(number.starts_with('K'), "derived from the key: {number}");
    let (s, replayed, _) = raw(e.merchant_post(&path, &body, Some(&key)));
    assert_eq!((s, replayed), (200, true));
    let sent = e
        .requests_for(&code)
        .into_iter()
        .filter(|r| r["interface"] == "refund")
        .count();
    assert_eq!(sent, 1, "one refund reached the gateway");
    assert_eq!(e.merchant_order_stored(&code).refunded_fen, 100);
}

#[test]
fn a_5xx_releases_the_key_and_the_retry_reuses_the_refund_number() {
    let e = E2e::from_env();
    let code = paid_attempt(&e, "5.00");
    let path = format!("/v1/orders/{code}/refunds");
    let key = fresh_key("refund-5xx");
    let body = json!({"amount": "2.00", "reason": "retry after a fault"});
    {
        // The gateway refunds, but its answer is lost: the Worker says 502.
        let _fault = e.fault("refund", "http500");
        let (s, _, text) = raw(e.merchant_post(&path, &body, Some(&key)));
        assert_eq!(s, 502, "{text}");
    }
    // Not stored: the retry runs again (no replay of the 502).
    let (s, replayed, text) = raw(e.merchant_post(&path, &body, Some(&key)));
    assert!(!replayed, "a 5xx is never replayed ({s}: {text})");
    // Both runs used the one number derived from the key: one refund, not two.
    let stored = e.merchant_order_stored(&code);
    let refunds = &stored.refunds;
    assert_eq!(refunds.len(), 1, "{stored:?}");
    assert!(refunds[0].out_refund_no.starts_with('K'), "{stored:?}");
    let numbers: Vec<Value> = e
        .requests_for(&code)
        .into_iter()
        .filter(|r| r["interface"] == "refund")
        .map(|r| r["body"]["OUT_REFUND_NO"].clone())
        .collect();
    assert!(
        numbers
            .iter()
            .all(|n| *n == refunds[0].out_refund_no.as_str()),
        "{numbers:?}"
    );
}

/// A valid link body of more than `bytes` bytes (JSON allows whitespace).
fn big_json(bytes: usize) -> String {
    format!(
        r#"{{"amount":"1.00",{}"subject":"big"}}"#,
        " ".repeat(bytes)
    )
}

#[test]
fn bodies_over_64_kib_are_413_before_parsing() {
    let e = E2e::from_env();
    // Just under the cap the body is read and judged on its content.
    let (s, _, text) = raw(e
        .http()
        .post(format!("{}/v1/links", e.worker))
        .bearer_auth(&e.admin_token)
        .header("Content-Type", "application/json")
        .body(big_json(60 * 1024))
        .send()
        .expect("worker reachable"));
    assert_eq!(s, 200, "{text}");
    // The Worker answers before the client has sent everything; a fresh
    // connection per request keeps wrangler dev's proxy from reusing one
    // with unread bytes on it.
    let http = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client");
    let post = |route: &str, body: reqwest::blocking::Body| {
        raw(http
            .post(format!("{}{route}", e.worker))
            .bearer_auth(&e.admin_token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .expect("worker reachable"))
    };
    let big = big_json(70 * 1024);
    for route in ["/v1/links", "/api/pay", "/notify?_type=json&encrypt=3DES"] {
        let (s, _, text) = post(route, big.clone().into());
        assert_eq!(
            (s, code_of(&text).as_str()),
            (413, "PAYLOAD_TOO_LARGE"),
            "{route}: {text}"
        );
    }
    // Without Content-Length (chunked), the bytes actually read are capped.
    let chunked = reqwest::blocking::Body::new(std::io::Cursor::new(big.into_bytes()));
    let (s, _, text) = post("/v1/links", chunked);
    assert_eq!(
        (s, code_of(&text).as_str()),
        (413, "PAYLOAD_TOO_LARGE"),
        "chunked: {text}"
    );
}

#[test]
fn a_link_starts_at_most_ten_attempts_per_window() {
    let e = E2e::from_env();
    let subject = format!("rate limited {}", now_ms());
    let token = e.create_link("1.10", &subject);
    for _ in 0..10 {
        e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    }
    let resp = e
        .pay_request(UA_DESKTOP)
        .json(&json!({"token": token, "method": "native"}))
        .send()
        .expect("worker reachable");
    let retry_after: u64 = resp
        .headers()
        .get("Retry-After")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After seconds");
    let (s, _, text) = raw(resp);
    assert_eq!(
        (s, code_of(&text).as_str()),
        (429, "RATE_LIMITED"),
        "{text}"
    );
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    assert_eq!(
        gateway_calls(&e, "order", &subject),
        10,
        "the 11th never reached the gateway"
    );
    // Another link is not affected.
    e.pending_attempt("1.10");
}

/// Issue 24 defect 8: the limit used to be per link only, so anyone holding
/// a link (a counter code many shoppers share) could spend its attempts
/// and lock every real shopper out. The limit is per client IP on a link:
/// one IP past it gets 429, a shopper on another IP still pays.
#[test]
fn one_client_cannot_lock_a_link_for_everybody() {
    let e = E2e::from_env();
    let subject = format!("shared counter {}", now_ms());
    let token = e.create_link("1.12", &subject);
    let pay_from = |ip: &str| {
        e.pay_request(UA_DESKTOP)
            .header("CF-Connecting-IP", ip)
            .json(&json!({"token": token, "method": "native"}))
            .send()
            .expect("worker reachable")
            .status()
            .as_u16()
    };
    let script = format!("198.51.100.{}", now_ms() % 250);
    let statuses: Vec<u16> = (0..12).map(|_| pay_from(&script)).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses[10..], [429, 429], "{statuses:?}");
    let shopper = format!("192.0.2.{}", now_ms() % 250);
    assert_eq!(
        pay_from(&shopper),
        200,
        "a real shopper on another device still pays"
    );
    assert_eq!(gateway_calls(&e, "order", &subject), 11);
}

/// Issue 24 defect 9: two pays racing at the limit never both pass. Each
/// attempt is stored first and the decision reads the link's attempts after
/// the write, so of two racing attempts each sees the other: at most one is
/// admitted (possibly neither; the shopper's retry after `Retry-After`
/// passes), and the gateway never hears of more than the limit.
#[test]
fn two_pays_racing_at_the_limit_never_both_pass() {
    let e = E2e::from_env();
    let subject = format!("racing at the limit {}", now_ms());
    let token = e.create_link("1.13", &subject);
    for _ in 0..9 {
        e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    }
    let race = || {
        e.pay_request(UA_DESKTOP)
            .json(&json!({"token": token, "method": "native"}))
            .send()
            .expect("worker reachable")
            .status()
            .as_u16()
    };
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(race);
        let b = s.spawn(race);
        (a.join().expect("a"), b.join().expect("b"))
    });
    let passed = [a, b].iter().filter(|&&s| s == 200).count();
    assert!(passed <= 1, "both racing pays passed: {a} {b}");
    assert!([a, b].iter().all(|s| [200, 429].contains(s)), "{a} {b}");
    assert_eq!(gateway_calls(&e, "order", &subject), 9 + passed);
}

#[test]
fn an_unsafe_redirect_from_the_gateway_is_never_handed_out() {
    let e = E2e::from_env();
    for url in ["javascript:alert(1)", "http://pay.example/cashier"] {
        let token = e.create_link("4.40", "unsafe redirect");
        let _fault = e.fault("wapOrder", &format!("bar_code:{url}"));
        let (s, body) = e.pay(&token, "wap", UA_MOBILE, json!({}));
        assert_eq!(s, 502, "{url}: {body}");
        assert_eq!(body["error"]["code"], "GATEWAY_UNSAFE_REDIRECT", "{url}");
        assert!(!body.to_string().contains(url), "{body}");
    }
    // The local sandbox's plain-http pay page is allowed: loopback only.
    let token = e.create_link("4.40", "loopback redirect");
    let (body, _) = e.pay_ok(&token, "wap", UA_MOBILE, json!({}));
    assert_eq!(body["action"]["type"], "redirect", "{body}");
    let url = body["action"]["url"].as_str().expect("redirect url");
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
}

#[test]
fn an_attempt_is_shown_only_with_its_own_link() {
    let e = E2e::from_env();
    let (token_a, _) = e.pending_attempt("2.20");
    let (token_b, code_b) = e.pending_attempt("2.30");
    e.sandbox_pay_and_wait(&code_b, "link B is paid");
    let (s, body) = e.get(&format!("/api/orders/{code_b}?token={token_b}"));
    assert_eq!((s, body["state"].as_str()), (200, Some("paid")), "{body}");
    for token in [token_a.as_str(), "not-a-token"] {
        let (s, body) = e.get(&format!("/api/orders/{code_b}?token={token}"));
        assert_eq!(s, 404, "{body}");
        assert_eq!(
            body["error"]["code"], "NOT_FOUND",
            "same as an unknown order"
        );
        assert!(body.get("state").is_none(), "{body}");
    }
}

/// Issue 24 defect 5: the shopper route answers link attempts only. A POS
/// charge's or QR order's code derives from the merchant's request (a POS
/// code from its `Idempotency-Key`), so the no-auth route must not tell
/// anyone its state: 404 as for an unknown order; the merchant API still
/// answers.
#[test]
fn the_shopper_route_does_not_answer_merchant_orders() {
    let e = E2e::from_env();
    let (status, qr) = e.admin(
        reqwest::Method::POST,
        "/v1/qr-orders",
        Some(&json!({"amount": "2.50", "subject": "QR at the counter", "channel": "wechat"})),
    );
    assert_eq!(status, 200, "{qr}");
    let code = qr["charge_code"].as_str().expect("charge code");
    let (s, body) = e.get(&format!("/api/orders/{code}"));
    assert_eq!(s, 404, "{body}");
    assert_eq!(body["error"]["code"], "NOT_FOUND", "{body}");
    assert!(body.get("state").is_none(), "{body}");
    assert_eq!(e.merchant_order_stored(code).order.charge_code, code);
}

#[test]
fn a_backslash_forgery_that_changes_the_message_is_refused() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("3.30");
    let notify = e.pay_notify(&code, 330, OrderState::Paid);
    let plain = String::from_utf8(codec::encode(&notify, Format::Json)).expect("UTF-8");
    // As received, the subject is "X"; with backslashes stripped it reads
    // "u0058": a signature over the stripped form vouches for another message.
    let plain = plain.replace(
        &format!(r#""PAY_SUBJECT":"{}""#, notify.pay_subject),
        r#""PAY_SUBJECT":"\u0058""#,
    );
    assert!(plain.contains(r"\u0058"));
    let stripped: String = plain.chars().filter(|c| *c != '\\').collect();
    let signature = sign::sign(stripped.as_bytes(), &e.key, now_ms());
    let resp = e
        .http()
        .post(format!("{}/notify?_type=json&sign={signature}", e.worker))
        .header("Content-Type", "application/json")
        .body(plain)
        .send()
        .expect("worker reachable");
    let (s, _, text) = raw(resp);
    assert_eq!(
        (s, code_of(&text).as_str()),
        (401, "INVALID_SIGNATURE"),
        "{text}"
    );
    assert_eq!(e.order_state(&code), "pending");
}

#[test]
fn html_answers_carry_the_security_headers() {
    let e = E2e::from_env();
    let token = e.create_link("1.00", "headers");
    for path in [format!("/c/{token}"), "/".to_owned()] {
        let resp = e.browse(&path);
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let get = |name: &str| header(&resp, name);
        assert!(get("Content-Type").starts_with("text/html"), "{path}");
        assert_eq!(get("X-Content-Type-Options"), "nosniff", "{path}");
        assert_eq!(get("Referrer-Policy"), "no-referrer", "{path}");
        assert_eq!(get("X-Frame-Options"), "DENY", "{path}");
        assert_eq!(
            get("Strict-Transport-Security"),
            "max-age=31536000",
            "{path}"
        );
        assert!(get("Permissions-Policy").contains("camera=()"), "{path}");
        let csp = get("Content-Security-Policy");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
    }
}
