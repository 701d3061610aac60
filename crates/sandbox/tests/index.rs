//! The human order index `GET /sandbox/`: lists orders newest first with a working link to
//! the shopper page of each pending one.

mod common;

use common::*;
use soushou::codec::Format;

async fn get(url: &str) -> (u16, String, String) {
    let r = http().get(url).send().await.unwrap();
    let ctype = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), ctype, r.text().await.unwrap())
}

/// The table row (`<tr class="order">…</tr>`) whose charge-code cell is `code`.
fn row<'a>(html: &'a str, code: &str) -> &'a str {
    let cell = format!("<td class=\"code\">{code}</td>");
    html.split("<tr class=\"order\">")
        .skip(1)
        .find(|r| r.starts_with(&cell))
        .map(|r| &r[..r.find("</tr>").expect("row end")])
        .unwrap_or_else(|| panic!("no row for {code} in {html}"))
}

/// The `href` of the first link in `html`, if any.
fn link(html: &str) -> Option<&str> {
    let start = html.find("href=\"")? + "href=\"".len();
    let end = start + html[start..].find('"')?;
    Some(&html[start..end])
}

#[tokio::test]
async fn index_lists_orders_with_shopper_links_until_paid() {
    let sb = Sandbox::start(&[]);
    let index = format!("{}/sandbox/", sb.url);

    let (status, ctype, html) = get(&index).await;
    assert_eq!(status, 200);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(html.contains("No orders yet"), "{html}");
    assert!(
        html.contains(&sb.gateway()),
        "empty state names the gateway: {html}"
    );
    assert!(!html.contains("<script"), "no JavaScript");

    let cfg = sb.client(false, Format::Json);
    let older = code("idx-old");
    call(&cfg, &jsapi_order(&cfg, &older, 7)).await.unwrap();
    let c = code("idx");
    let bar = call(&cfg, &order(&cfg, &c, 12_345, None))
        .await
        .unwrap()
        .bar_code
        .expect("NATIVE order has a BAR_CODE");

    let (_, _, html) = get(&index).await;
    assert!(!html.contains("No orders yet"));
    let newest = html.find(&format!(">{c}<")).expect("new order listed");
    let oldest = html.find(&format!(">{older}<")).expect("old order listed");
    assert!(newest < oldest, "newest first: {html}");

    let r = row(&html, &c);
    assert!(r.contains(&format!("<td>{BUSI_CODE}</td>")), "{r}");
    assert!(r.contains("<td>order/NATIVE</td>"), "{r}");
    assert!(r.contains("¥123.45"), "amount in yuan: {r}");
    assert!(r.contains("pending payment (0)"), "{r}");
    let href = link(r).expect("pending order links to its shopper page");
    assert_eq!(href, format!("/sandbox/shopper/{c}"));
    assert_eq!(
        format!("{}{href}", sb.url),
        bar,
        "same page as the BAR_CODE"
    );
    assert!(row(&html, &older).contains("<td>order/JSAPI</td>"));
    assert!(row(&html, &older).contains("¥0.07"));

    // The link works: it is the cashier page of that order.
    let (status, _, shopper) = get(&format!("{}{href}", sb.url)).await;
    assert_eq!(status, 200);
    assert!(shopper.contains("Confirm payment"), "{shopper}");
    assert!(shopper.contains(&c) && shopper.contains("¥123.45"));

    sb.pay(&c).await;
    let (_, _, html) = get(&index).await;
    let r = row(&html, &c);
    assert!(r.contains("paid (1)"), "{r}");
    assert!(!r.contains("pending"), "{r}");
    assert_eq!(link(r), None, "no pay link once paid: {r}");
    // The other order is still pending and still linked.
    assert!(link(row(&html, &older)).is_some());

    // `/sandbox` without the slash leads to the index.
    let r = http()
        .get(format!("{}/sandbox", sb.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 308);
    assert_eq!(r.headers()["location"], "/sandbox/");
}

#[tokio::test]
async fn index_escapes_charge_codes_and_encodes_links() {
    let sb = Sandbox::start(&[]);
    let cfg = sb.client(true, Format::Xml);
    let c = format!("{}<&\"x y>", code("esc"));
    call(&cfg, &order(&cfg, &c, 100, None)).await.unwrap();
    let (_, _, html) = get(&format!("{}/sandbox/", sb.url)).await;
    assert!(!html.contains(&c), "raw code must not appear: {html}");
    let escaped = c
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let r = row(&html, &escaped);
    let href = link(r).expect("shopper link");
    assert!(href.ends_with("%3C%26%22x%20y%3E"), "{href}");
    let (status, _, shopper) = get(&format!("{}{href}", sb.url)).await;
    assert_eq!(status, 200);
    assert!(shopper.contains(&escaped), "{shopper}");
}
