//! The page's static files (the `ASSETS` binding, `dist/page/`).
//!
//! `GET /c/{token}` is the page's `index.html` with a strict CSP; any other
//! GET that is not a route is served from the assets as they are.

use worker::{Headers, Request, Response};

use crate::config::Settings;
use crate::error::ApiResult;

/// The page's Content-Security-Policy: only our own scripts, styles and
/// wasm, no framing, no third-party connections.
const CSP: &str = "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
    img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
    form-action 'self'; frame-ancestors 'none'";

/// `GET /c/{token}`: the checkout page.
pub async fn page(settings: &Settings, req: &Request) -> ApiResult<Response> {
    let mut url = req.url()?;
    // Asset serving canonicalises `/index.html` to `/`; ask for `/` directly.
    url.set_path("/");
    url.set_query(None);
    let mut upstream = settings
        .env()
        .assets("ASSETS")?
        .fetch(url.to_string(), None)
        .await?;
    let status = upstream.status_code();
    let body = upstream.bytes().await?;
    let headers = Headers::new();
    headers.set("Content-Type", "text/html; charset=utf-8")?;
    headers.set("Content-Security-Policy", CSP)?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("X-Frame-Options", "DENY")?;
    Ok(Response::from_bytes(body)?
        .with_status(status)
        .with_headers(headers))
}

/// Any other GET: straight from the assets (404 when there is no such file).
pub async fn static_file(settings: &Settings, req: Request) -> ApiResult<Response> {
    Ok(settings.env().assets("ASSETS")?.fetch_request(req).await?)
}
