//! The page's HTML shell with the link filled in, so a slow phone shows the
//! merchant and the amount at first paint, before any script runs, and the
//! page needs no `/api/checkout` round trip.
//!
//! The Worker serves `/c/{token}` from the page's `index.html`, which holds
//! two markers: [`SUMMARY_MARKER`] (inside the boot skeleton) becomes the
//! link's summary card, with the same classes and ids the app renders so the
//! hand-over is seamless; [`DATA_MARKER`] becomes the link's
//! `GET /api/checkout` answer as a `<script type="application/json">` data
//! block. A data block is never executed, so the strict CSP (no inline
//! script) stays as it is. The labels are bilingual, like the skeleton's
//! "正在加载… · Loading…": the shopper's language is the app's decision.
//!
//! Every value is escaped here: merchant names, subjects and goods come
//! from the merchant, so they are text, never markup.

use std::fmt::Write as _;

use crate::api::{CheckoutView, LinkState};
use crate::format::{goods_price, link_amount, time_left, TimeLeft};

/// Where the summary card goes (inside `<main id="boot">`).
pub const SUMMARY_MARKER: &str = "<!--link-summary-->";
/// Where the data block goes (end of `<body>`).
pub const DATA_MARKER: &str = "<!--checkout-data-->";
/// The id of the data block, which the page reads instead of fetching.
pub const DATA_ID: &str = "checkout-data";

/// The page's Content-Security-Policy for the HTML document `html`: only
/// our own scripts and wasm, no framing, no third-party connections, and
/// styles from our origin plus the document's inline `<style>` block,
/// allowed by its SHA-256 (the build inlines the page's CSS so the first
/// paint needs no second round trip on a slow network). Inline scripts stay
/// forbidden; a document without a style block gets no hash.
pub fn content_security_policy(html: &str) -> String {
    let style = html
        .split_once("<style>")
        .and_then(|(_, rest)| rest.split_once("</style>"))
        .map(|(css, _)| {
            use base64::Engine as _;
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(css.as_bytes());
            format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            )
        })
        .unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'{style}; \
         img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// The document's `<link rel="preload">` and `<link rel="modulepreload">`
/// elements as one HTTP `Link` header (RFC 8288), or `None` when it has
/// none. A browser acts on the header when the response's headers arrive,
/// before it has parsed the head (on Slow 4G with a throttled CPU that is
/// ~0.2 s earlier, and the wasm's download is the page's critical path); the
/// edge also turns such headers into 103 Early Hints. The same elements stay
/// in the HTML, and a browser fetches each URL once.
pub fn preload_header(html: &str) -> Option<String> {
    let links: Vec<String> = html
        .split("<link ")
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(attrs, _)| attrs))
        .filter_map(preload_link)
        .collect();
    (!links.is_empty()).then(|| links.join(", "))
}

/// One `Link` header value for a `<link>` element's attributes, if it is a
/// preload with an `href`.
fn preload_link(attrs: &str) -> Option<String> {
    let rel = attribute(attrs, "rel")?;
    if rel != "preload" && rel != "modulepreload" {
        return None;
    }
    let mut link = format!("<{}>; rel={rel}", attribute(attrs, "href")?);
    for name in ["as", "type"] {
        if let Some(value) = attribute(attrs, name) {
            let _ = write!(link, "; {name}=\"{value}\"");
        }
    }
    if has_flag(attrs, "crossorigin") {
        link.push_str("; crossorigin");
    }
    Some(link)
}

/// The value of `name="…"` in an element's attributes (our own build's
/// HTML: double-quoted, no `"` inside a value).
fn attribute<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    attrs
        .split_ascii_whitespace()
        .find_map(|a| a.strip_prefix(name)?.strip_prefix("=\""))
        .and_then(|rest| rest.split_once('"'))
        .map(|(value, _)| value)
}

/// Whether a bare attribute such as `crossorigin` is present.
fn has_flag(attrs: &str, name: &str) -> bool {
    attrs
        .split_ascii_whitespace()
        .any(|a| a.trim_end_matches('/') == name)
}

/// `template` with the link's summary and data block in place of the
/// markers; a template without a marker is left as it is there.
pub fn fill(template: &str, view: &CheckoutView, now: u64) -> String {
    template
        .replacen(SUMMARY_MARKER, &summary(view, now), 1)
        .replacen(DATA_MARKER, &data_block(view), 1)
}

/// Text as HTML character data or a quoted attribute value.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The view as a JSON data block. `<`, `>` and `&` only ever occur inside
/// JSON strings, where `\u003c`-style escapes mean the same characters, so
/// no value can close the element (`</script>`) or open a comment.
pub fn data_block(view: &CheckoutView) -> String {
    // Serialising plain structs of strings and integers cannot fail.
    let json = serde_json::to_string(view).unwrap_or_else(|_| "null".to_owned());
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    format!(r#"<script type="application/json" id="{DATA_ID}">{json}</script>"#)
}

/// Time left, in both languages ("剩余 15分钟 · 15 min left"); `None`
/// once expired.
fn time_left_text(left: TimeLeft) -> Option<String> {
    let (zh, en) = match left {
        TimeLeft::Expired => return None,
        TimeLeft::Minutes(m) => (format!("{m}分钟"), format!("{m} min")),
        TimeLeft::Hours(h, m) => (format!("{h}小时{m}分钟"), format!("{h} h {m} min")),
        TimeLeft::Days(d, h) => (format!("{d}天{h}小时"), format!("{d} d {h} h")),
    };
    Some(format!("剩余 {zh} · {en} left"))
}

/// The summary card: merchant, subject, amount, goods, and the link's
/// state (time left while open, "paid" or "expired" otherwise).
pub fn summary(view: &CheckoutView, now: u64) -> String {
    let mut html = String::from(r#"<section class="card summary" id="summary">"#);
    let _ = write!(
        html,
        r#"<p class="merchant"><span class="label">收款方 · Payee</span> <span id="merchant">{}</span></p><p class="subject" id="subject">{}</p><p class="amount"><span class="visually-hidden">金额 · Amount</span><span id="amount">{}</span></p>"#,
        escape(&view.merchant),
        escape(&view.subject),
        link_amount(view),
    );
    if !view.goods.is_empty() {
        html.push_str(r#"<h2 class="sub">商品明细 · Items</h2><ul class="goods">"#);
        for g in &view.goods {
            let _ = write!(
                html,
                r#"<li><span class="name">{}</span><span class="qty">×{}</span><span class="price">{}</span></li>"#,
                escape(&g.name),
                g.quantity,
                escape(&goods_price(&g.price)),
            );
        }
        html.push_str("</ul>");
    }
    let state = match (view.state, time_left_text(time_left(view.expires_at, now))) {
        (LinkState::Paid, _) => "已支付 · Already paid".to_owned(),
        (LinkState::Expired, _) | (LinkState::Open, None) => "已过期 · Expired".to_owned(),
        (LinkState::Open, Some(left)) => left,
    };
    let _ = write!(
        html,
        r#"<p class="expiry" id="link-state"><span>{state}</span></p></section>"#
    );
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{GoodsLine, Money};
    use soushou::Fen;

    fn view(state: LinkState) -> CheckoutView {
        CheckoutView {
            merchant: "Tea & <Co>".into(),
            subject: "Green \"tea\" </script><!--".into(),
            money: Money::from(Fen::from_fen(1250)),
            currency: "CNY".into(),
            expires_at: 1_000 + 15 * 60,
            state,
            charge_code: None,
            return_url: Some("https://shop.example/?a=1&b=<2>".into()),
            goods: vec![GoodsLine {
                id: "g1".into(),
                name: "Oolong 'first flush'".into(),
                price: "6.25".into(),
                quantity: 2,
            }],
            channel: None,
            open_amount: None,
        }
    }

    #[test]
    fn escape_covers_every_markup_character() {
        let cases = [
            ("plain", "plain"),
            ("a&b", "a&amp;b"),
            ("<b>", "&lt;b&gt;"),
            ("\"q\" 'a'", "&quot;q&quot; &#39;a&#39;"),
            ("收款方 ¥", "收款方 ¥"),
        ];
        for (input, want) in cases {
            assert_eq!(escape(input), want, "{input}");
        }
    }

    #[test]
    fn summary_shows_the_link_with_every_value_escaped() {
        let html = summary(&view(LinkState::Open), 1_000);
        for want in [
            r#"<span id="merchant">Tea &amp; &lt;Co&gt;</span>"#,
            r#"<p class="subject" id="subject">Green &quot;tea&quot; &lt;/script&gt;&lt;!--</p>"#,
            r#"<span id="amount">¥12.50</span>"#,
            r#"<span class="name">Oolong &#39;first flush&#39;</span><span class="qty">×2</span><span class="price">¥6.25</span>"#,
            "剩余 15分钟 · 15 min left",
        ] {
            assert!(html.contains(want), "{want} not in {html}");
        }
        assert!(
            !html.contains("<script") && !html.contains("<Co>"),
            "{html}"
        );
    }

    #[test]
    fn summary_states() {
        let cases = [
            (LinkState::Open, 1_000, "15 min left"),
            (LinkState::Open, 1_000 + 15 * 60, "已过期 · Expired"),
            (LinkState::Expired, 1_000, "已过期 · Expired"),
            (LinkState::Paid, 1_000, "已支付 · Already paid"),
            (LinkState::Paid, 9_999, "已支付 · Already paid"),
        ];
        for (state, now, want) in cases {
            let html = summary(&view(state), now);
            assert!(html.contains(want), "{state:?} at {now}: {html}");
        }
        for (secs, want) in [
            (4_500, "剩余 1小时15分钟 · 1 h 15 min left"),
            (2 * 86_400 + 3_600, "剩余 2天1小时 · 2 d 1 h left"),
        ] {
            let mut long = view(LinkState::Open);
            long.expires_at = 1_000 + secs;
            let html = summary(&long, 1_000);
            assert!(html.contains(want), "{want} not in {html}");
        }
        let mut bare = view(LinkState::Open);
        bare.goods.clear();
        assert!(!summary(&bare, 1_000).contains("goods"));
    }

    #[test]
    fn an_open_amount_link_shows_its_bounds_until_paid() {
        let open = |state| CheckoutView {
            open_amount: Some(crate::api::AmountBounds {
                min_amount: "1.00".into(),
                min_amount_fen: 100,
                max_amount: "500.00".into(),
                max_amount_fen: 50_000,
            }),
            ..view(state)
        };
        let cases = [
            (LinkState::Open, "¥1.00 – ¥500.00"),
            // Paid: the kept attempt's amount (the view's `amount`).
            (LinkState::Paid, "¥12.50"),
            (LinkState::Expired, "¥1.00 – ¥500.00"),
        ];
        for (state, want) in cases {
            let html = summary(&open(state), 1_000);
            let want = format!(r#"<span id="amount">{want}</span>"#);
            assert!(html.contains(&want), "{state:?}: {html}");
        }
    }

    #[test]
    fn data_block_cannot_be_closed_and_reads_back_as_the_view() {
        let v = view(LinkState::Open);
        let block = data_block(&v);
        let inner = block
            .strip_prefix(r#"<script type="application/json" id="checkout-data">"#)
            .and_then(|b| b.strip_suffix("</script>"))
            .expect("one data element");
        assert!(!inner.contains('<') && !inner.contains('>') && !inner.contains('&'));
        let back: CheckoutView = serde_json::from_str(inner).expect("JSON");
        assert_eq!(back, v);
    }

    #[test]
    fn the_policy_allows_the_inline_style_by_its_hash_only() {
        // printf 'body{margin:0}' | openssl dgst -sha256 -binary | base64
        let html = "<head><style>body{margin:0}</style></head>";
        let csp = content_security_policy(html);
        assert!(
            csp.contains("style-src 'self' 'sha256-IAdwN3biDCQ3brrgp1m8kBEsPQYyqfREKOEfeoREopc=';"),
            "{csp}"
        );
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        // No style block: our origin only.
        let bare = content_security_policy("<head></head>");
        assert!(bare.contains("style-src 'self';"), "{bare}");
        // Another style's hash differs.
        assert_ne!(
            content_security_policy("<style>body{margin:1px}</style>"),
            csp
        );
    }

    #[test]
    fn fill_replaces_each_marker_once_and_tolerates_missing_ones() {
        let template = format!("<main>{SUMMARY_MARKER}</main><p>{DATA_MARKER}</p>");
        let html = fill(&template, &view(LinkState::Open), 1_000);
        assert!(!html.contains(SUMMARY_MARKER) && !html.contains(DATA_MARKER));
        assert!(html.starts_with(r#"<main><section class="card summary""#));
        assert!(html.contains(r#"id="checkout-data""#));
        assert_eq!(
            fill("<p>no markers</p>", &view(LinkState::Open), 0),
            "<p>no markers</p>"
        );
    }

    #[test]
    fn preloads_become_one_link_header() {
        let html = concat!(
            r#"<link rel="icon" href="data:,"><style>p{}</style>"#,
            r#"<link rel="modulepreload" href="/a/1f/checkout_page.js">"#,
            "\n",
            r#"<link rel="preload" href="/a/1f/checkout_page_bg.wasm" as="fetch" type="application/wasm" crossorigin>"#,
            r#"<script type="module" src="/a/1f/boot.js"></script>"#,
        );
        assert_eq!(
            preload_header(html).as_deref(),
            Some(concat!(
                "</a/1f/checkout_page.js>; rel=modulepreload, ",
                r#"</a/1f/checkout_page_bg.wasm>; rel=preload; as="fetch"; type="application/wasm"; crossorigin"#,
            ))
        );
        for none in [
            "",
            r#"<link rel="stylesheet" href="/app.css">"#,
            r#"<link rel="preload" as="fetch">"#,
            "<p>no links</p>",
        ] {
            assert_eq!(preload_header(none), None, "{none}");
        }
    }

    #[test]
    fn the_built_page_preloads_its_code() {
        // The template the Worker serves: the header must name what it preloads.
        let html = include_str!("../../../www/index.html");
        let header = preload_header(html).unwrap_or_default();
        assert!(
            header.contains("rel=modulepreload") && header.contains(r#"as="fetch""#),
            "{header}"
        );
    }
}
