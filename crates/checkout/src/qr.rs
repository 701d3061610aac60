//! QR codes as SVG: encoded by the `qrcodegen` crate (Project Nayuki's
//! reference encoder, small in wasm), drawn here as one SVG path — no canvas,
//! no third-party script, nothing a strict CSP blocks (`fill` attributes,
//! never `style`). Here, not in the page, so the page (desktop NATIVE path)
//! and the Worker (printable link codes) draw the same picture.

use std::fmt::Write;

use qrcodegen::{QrCode, QrCodeEcc};

/// Quiet zone around the code, in modules (the standard asks for 4).
const BORDER: i32 = 4;
/// The smallest on-screen size, in CSS pixels; modules stay whole pixels.
const MIN_PX: i32 = 240;

/// The SVG markup of a QR code for `content` (error correction M, with its
/// quiet zone), at least 240 CSS pixels wide with whole-pixel modules so it
/// scans off a screen. `None` when `content` is too long for any QR version
/// (the encoder's only failure).
pub fn svg(content: &str) -> Option<String> {
    let code = QrCode::encode_text(content, QrCodeEcc::Medium).ok()?;
    let size = code.size();
    let dim = size + 2 * BORDER;
    let px = dim * ((MIN_PX + dim - 1) / dim);
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {dim} {dim}" width="{px}" height="{px}" shape-rendering="crispEdges"><rect width="{dim}" height="{dim}" fill="#fff"/><path fill="#000" d=""##
    );
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if code.get_module(x, y) {
                let start = x;
                while x < size && code.get_module(x, y) {
                    x += 1;
                }
                let _ = write!(
                    svg,
                    "M{} {}h{}v1H{}z",
                    start + BORDER,
                    y + BORDER,
                    x - start,
                    start + BORDER
                );
            } else {
                x += 1;
            }
        }
    }
    svg.push_str(r#""/></svg>"#);
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_is_inline_markup_without_styles() {
        let s = svg("weixin://wxpay/bizpayurl?pr=abc123").unwrap();
        assert!(s.starts_with("<svg "), "{s}");
        assert!(s.ends_with("</svg>"));
        assert!(!s.contains("style"));
        assert!(s.contains("viewBox"));
        // Deterministic: same content, same picture.
        assert_eq!(s, svg("weixin://wxpay/bizpayurl?pr=abc123").unwrap());
        assert_ne!(s, svg("weixin://wxpay/bizpayurl?pr=abc124").unwrap());
    }

    #[test]
    fn modules_are_whole_pixels_and_at_least_240px() {
        let s =
            svg("http://127.0.0.1:7300/sandbox/shopper/0123456789abcdef0123456789abcdef").unwrap();
        let after = |key: &str| &s[s.find(key).unwrap() + key.len()..];
        let px: i32 = after("width=\"")
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        let dim: i32 = after("viewBox=\"0 0 ")
            .split(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(px >= 240, "{px}");
        assert_eq!(px % dim, 0, "{px} px for {dim} modules");
    }

    #[test]
    fn too_long_content_is_an_error() {
        let long = "x".repeat(5000);
        assert!(svg(&long).is_none());
    }
}
