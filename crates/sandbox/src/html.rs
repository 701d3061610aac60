//! HTML building blocks shared by the sandbox's pages (the shopper's cashier page and the
//! order index), so escaping and the look of the pages live in one place.
//!
//! Plain HTML and inline CSS only: no JavaScript, no external assets, so the pages work
//! offline, behind a tunnel and in a headless browser alike.

/// Percent-encodes one URL path segment or query value (RFC 3986
/// unreserved characters pass through, every other byte is `%XX`).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes text for HTML content and for double- or single-quoted attribute
/// values: the five characters that can end a text run or an attribute
/// (`&`, `<`, `>`, `"`, `'`) become character references. The sandbox keeps
/// its own rather than the Worker's, so it stays independent of our checkout
/// code.
pub fn escape(text: &str) -> String {
    text.chars()
        .fold(String::with_capacity(text.len()), |mut out, c| {
            let reference = match c {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ => {
                    out.push(c);
                    return out;
                }
            };
            out.push_str(reference);
            out
        })
}

/// The text with its first letter upper-cased ("paid" → "Paid"), for headings.
pub fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// How wide a page's card is: the cashier is phone-sized, the order index a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// A narrow, centred card (the shopper's cashier page).
    Card,
    /// A wide, left-aligned card for tables (the order index).
    Wide,
}

/// A complete page: `title` (escaped here), a small grey `label` line (escaped here) and
/// `main`, which must already be HTML (its dynamic parts escaped with [`escape`]).
pub fn page(title: &str, label: &str, layout: Layout, main: &str) -> String {
    let class = match layout {
        Layout::Card => "",
        Layout::Wide => " class=\"wide\"",
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title><style>\
         body{{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:2rem 1rem}}\
         main{{max-width:24rem;margin:auto;background:#fff;border-radius:12px;padding:1.5rem;\
         box-shadow:0 1px 4px #0002;text-align:center}}\
         main.wide{{max-width:64rem;text-align:left;overflow-x:auto}}\
         .amount{{font-size:2.2rem;font-weight:700;margin:.5rem 0}}\
         .meta{{color:#666;font-size:.85rem;word-break:break-all}}\
         button{{width:100%;padding:.8rem;font-size:1rem;border-radius:8px;border:0;margin-top:.8rem;cursor:pointer}}\
         .pay{{background:#1aad19;color:#fff}}.cancel{{background:#e5e5e5}}\
         .state{{font-size:1.3rem;font-weight:600}}\
         table{{border-collapse:collapse;width:100%;font-size:.9rem}}\
         th,td{{padding:.45rem .6rem;border-bottom:1px solid #eee;text-align:left;white-space:nowrap}}\
         th{{color:#666;font-weight:600}}td.num{{text-align:right;font-variant-numeric:tabular-nums}}\
         a.pay{{display:inline-block;padding:.3rem .7rem;border-radius:6px;text-decoration:none}}\
         </style></head>\
         <body><main{class}><p class=\"meta\">{label}</p>{main}</main></body></html>\n",
        title = escape(title),
        label = escape(label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_escapes() {
        assert_eq!(encode_segment("AB-12_x.~"), "AB-12_x.~");
        assert_eq!(encode_segment("a b/c"), "a%20b%2Fc");
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(escape("plain 文字 é"), "plain 文字 é");
        assert_eq!(escape("&amp;"), "&amp;amp;");
        assert_eq!(capitalised("paid"), "Paid");
    }

    #[test]
    fn page_escapes_title_and_label() {
        let p = page("<t>", "a&b", Layout::Wide, "<p>x</p>");
        assert!(p.contains("<title>&lt;t&gt;</title>"));
        assert!(p.contains("<main class=\"wide\"><p class=\"meta\">a&amp;b</p><p>x</p></main>"));
        assert!(page("t", "l", Layout::Card, "").contains("<main><p class=\"meta\">l</p>"));
    }
}
