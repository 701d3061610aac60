//! The page's static files (the `ASSETS` binding, `dist/page/`).
//!
//! `GET /c/{token}` is the page's `index.html`, `GET /console…` the
//! merchant console's; any other GET that is not a route is served from
//! the assets; the content-hashed assets (`/a/{hash}/…`,
//! `/console/a/{hash}/…`) are served `Cache-Control: immutable`. Every HTML answer carries the security
//! headers ([`set_html_headers`]), every other asset `nosniff`.

use worker::{Headers, Request, Response};

use crate::flows::link;
use crate::platform::config::Settings;
use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::http::set_html_headers;
use crate::platform::log::now_secs;

/// The folders of the page's and the console's content-hashed assets
/// (`cargo xtask build` names them after their contents), served
/// `immutable`.
const HASHED_PREFIXES: [&str; 2] = ["/a/", "/console/a/"];

/// `GET /c/{token}`: the checkout page, with the link's summary and its
/// `GET /api/checkout` answer filled in (`checkout::shell`) so the first
/// paint shows the amount and the page skips that round trip. A link that
/// cannot be shown (not genuine, expired, a storage failure) gets the bare
/// page, which asks `/api/checkout` and shows that answer's error screen.
pub async fn page(cx: &Cx, req: &Request, token: &str) -> ApiResult<Response> {
    let (status, mut body) = index(cx, req, "/").await?;
    if status == 200 {
        if let (Ok(view), Ok(template)) = (
            link::checkout_view(cx, token).await,
            std::str::from_utf8(&body),
        ) {
            body = checkout::shell::fill(template, &view, now_secs()).into_bytes();
        }
    }
    html(status, body)
}

/// `GET /console` and `GET /console/…` (but `/console/a/…`, its hashed
/// assets): the merchant console's `index.html` (`cargo xtask build
/// console` puts it in `console/`), whatever the path, since the app reads
/// its screen from the address. The same headers as the checkout page.
pub async fn console(cx: &Cx, req: &Request) -> ApiResult<Response> {
    let (status, body) = index(cx, req, CONSOLE_INDEX).await?;
    html(status, body)
}

/// Where the console's `index.html` is in the assets.
const CONSOLE_INDEX: &str = "/console/";

/// An `index.html` of the assets, by its folder's path (asset serving
/// canonicalises `…/index.html` to `…/`, so that is asked directly).
async fn index(cx: &Cx, req: &Request, folder: &str) -> ApiResult<(u16, Vec<u8>)> {
    let mut url = req.url()?;
    url.set_path(folder);
    url.set_query(None);
    let mut upstream = cx
        .settings
        .env()
        .assets("ASSETS")?
        .fetch(url.to_string(), None)
        .await?;
    Ok((upstream.status_code(), upstream.bytes().await?))
}

/// An HTML answer: never cached, with the security headers.
fn html(status: u16, body: Vec<u8>) -> ApiResult<Response> {
    let headers = Headers::new();
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set("Cache-Control", "no-store")?;
    set_html_headers(&headers, &String::from_utf8_lossy(&body))?;
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(headers))
}

/// Any other GET: from the assets (404 when there is no such file), with
/// the security headers (the assets' own headers are immutable, so copied).
pub async fn static_file(settings: &Settings, req: Request) -> ApiResult<Response> {
    let path = req.path();
    let hashed = HASHED_PREFIXES.iter().any(|p| path.starts_with(p));
    let mut resp = settings.env().assets("ASSETS")?.fetch_request(req).await?;
    let headers = resp.headers().clone();
    if hashed && resp.status_code() == 200 {
        // A content-hashed name never changes content: cache it for good.
        headers.set("Cache-Control", "public, max-age=31536000, immutable")?;
    }
    let html = headers
        .get("Content-Type")?
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"));
    if html {
        // The policy names the document's inline style: read it (small).
        let status = resp.status_code();
        let text = resp.text().await?;
        set_html_headers(&headers, &text)?;
        return Ok(Response::ok(text)?
            .with_status(status)
            .with_headers(headers));
    }
    headers.set("X-Content-Type-Options", "nosniff")?;
    Ok(resp.with_headers(headers))
}
