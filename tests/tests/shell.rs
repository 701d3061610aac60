//! The page's HTML shell (issue 12): `/c/{token}` carries the link's
//! summary and its `/api/checkout` answer as a JSON data block, under the
//! same strict CSP; the page's assets live under content-hashed names
//! served `immutable`.

use e2e::{header, E2e, UA_DESKTOP};
use serde_json::Value;

/// Status, a header and the body of a page GET on the Worker.
fn get(e: &E2e, path: &str, name: &str) -> (u16, String, String) {
    let resp = e.browse(path);
    let value = header(&resp, name);
    (resp.status().as_u16(), value, resp.text().expect("body"))
}

/// The JSON of the page's data block, if it has one.
fn data_block(html: &str) -> Option<Value> {
    let open = r#"<script type="application/json" id="checkout-data">"#;
    let start = html.find(open)? + open.len();
    let end = start + html[start..].find("</script>")?;
    Some(serde_json::from_str(&html[start..end]).expect("data block is JSON"))
}

#[test]
fn the_page_carries_the_summary_and_the_checkout_answer() {
    let e = E2e::from_env();
    let token = e.create_link("12.50", "Tea </script><b>bold</b> & co");
    let (status, csp, html) = get(&e, &format!("/c/{token}"), "Content-Security-Policy");
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"<span id="amount">¥12.50</span>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<span id="merchant">Merchant</span>"#),
        "{html}"
    );
    assert!(
        html.contains("Tea &lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; &amp; co"),
        "the subject is text, never markup: {html}"
    );
    assert!(html.contains(" left</span>"), "time left: {html}");
    // The data block is the /api/checkout answer, byte for byte as JSON.
    let (status, api) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(status, 200, "{api}");
    assert_eq!(data_block(&html), Some(api));
    // Strict CSP as before: no inline script may run.
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    // The CSS is inlined (no stylesheet round trip before the first paint)
    // and allowed by the SHA-256 of exactly that block.
    assert!(!html.contains(r#"rel="stylesheet""#), "{html}");
    assert_eq!(html.matches("<style>").count(), 1, "{html}");
    let css = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| css)
        .expect("a style block");
    assert!(css.contains(".spinner"), "the page's own CSS: {css}");
    let hash = {
        use base64::Engine as _;
        use sha2::{Digest, Sha256};
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(css.as_bytes()))
    };
    assert!(
        csp.contains(&format!("style-src 'self' 'sha256-{hash}';")),
        "{csp}"
    );
    assert_eq!(
        html.matches("<script").count(),
        2,
        "one module script (src) and one data block, nothing inline to execute: {html}"
    );
}

#[test]
fn a_paid_link_says_so_in_the_page() {
    let e = E2e::from_env();
    let token = e.create_link("3.00", "shell paid");
    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, serde_json::json!({}));
    e.sandbox_pay_and_wait(&code, "paid");
    let (_, _, html) = get(&e, &format!("/c/{token}"), "Cache-Control");
    assert!(html.contains("已支付 · Already paid"), "{html}");
    let block = data_block(&html).expect("data block");
    assert_eq!(block["state"], "paid");
    assert_eq!(block["charge_code"], code.as_str());
}

#[test]
fn a_link_that_is_not_genuine_gets_the_bare_page() {
    let e = E2e::from_env();
    let token = e.create_link("1.00", "shell forged");
    let forged = format!("{}x", &token[..token.len() - 1]);
    let (status, cache, html) = get(&e, &format!("/c/{forged}"), "Cache-Control");
    assert_eq!(status, 200);
    assert_eq!(cache, "no-store");
    assert!(data_block(&html).is_none(), "{html}");
    assert!(!html.contains(r#"id="amount""#), "{html}");
}

#[test]
fn assets_have_content_hashed_names_served_immutable() {
    let e = E2e::from_env();
    let token = e.create_link("1.00", "shell assets");
    let (_, _, html) = get(&e, &format!("/c/{token}"), "Cache-Control");
    let assets: Vec<&str> = html.split('"').filter(|s| s.starts_with("/a/")).collect();
    let names: Vec<&str> = assets.iter().filter_map(|a| a.rsplit('/').next()).collect();
    for want in ["checkout_page.js", "checkout_page_bg.wasm", "boot.js"] {
        assert!(names.contains(&want), "{want} not referenced: {assets:?}");
    }
    for path in assets {
        let (status, cache, _) = get(&e, path, "Cache-Control");
        assert_eq!(status, 200, "{path}");
        assert_eq!(cache, "public, max-age=31536000, immutable", "{path}");
    }
    let (status, _, _) = get(&e, "/a/0000/boot.js", "Cache-Control");
    assert_eq!(status, 404);
}

#[test]
fn the_page_names_its_code_in_a_link_header() {
    let e = E2e::from_env();
    let token = e.create_link("1.00", "shell preload");
    let (status, link, html) = get(&e, &format!("/c/{token}"), "Link");
    assert_eq!(status, 200);
    // The same content-hashed files the HTML preloads, so the download
    // starts when the headers arrive and each file is fetched once.
    let wasm = html
        .split('"')
        .find(|s| s.starts_with("/a/") && s.ends_with("_bg.wasm"))
        .expect("the HTML preloads the wasm");
    let js = html
        .split('"')
        .find(|s| s.starts_with("/a/") && s.ends_with("checkout_page.js"))
        .expect("the HTML preloads the glue");
    assert_eq!(
        link,
        format!(
            r#"<{js}>; rel=modulepreload, <{wasm}>; rel=preload; as="fetch"; type="application/wasm"; crossorigin"#
        )
    );
}
