//! The JSON edges of every route: reading a capped JSON body, answering
//! JSON with the API's headers.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Headers, Request, Response};

use crate::platform::error::{ApiError, ApiResult};
use crate::platform::guard;

/// Reads a JSON request body of at most 64 KiB (413 `PAYLOAD_TOO_LARGE`
/// above, before parsing); anything unusable is `INVALID_REQUEST`.
pub async fn read_json<T: DeserializeOwned>(req: &mut Request) -> ApiResult<T> {
    let bytes = guard::read_body(req).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidRequest(format!("body: {e}")))
}

/// A JSON response with the API's headers.
pub fn json<T: Serialize>(status: u16, value: &T) -> ApiResult<Response> {
    let resp = Response::from_json(value)?.with_status(status);
    resp.headers().set("Cache-Control", "no-store")?;
    Ok(resp)
}

/// A handler's result as a 200 JSON answer (errors pass through).
pub fn ok<T: Serialize>(value: ApiResult<T>) -> ApiResult<Response> {
    json(200, &value?)
}

/// Security headers of every HTML answer: the strict CSP for `html`
/// (`checkout::shell::content_security_policy`; framing refused twice,
/// `X-Frame-Options` for old browsers), no MIME sniffing, no referrer (the
/// path holds the link token), HTTPS only for a year (ignored by browsers
/// over plain-http localhost), and no powerful features. The document's
/// preloads also go out as a `Link` header (`checkout::shell::preload_header`),
/// so the wasm's download starts when the headers arrive.
pub fn set_html_headers(headers: &Headers, html: &str) -> worker::Result<()> {
    if let Some(link) = checkout::shell::preload_header(html) {
        headers.set("Link", &link)?;
    }
    headers.set(
        "Content-Security-Policy",
        &checkout::shell::content_security_policy(html),
    )?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("X-Frame-Options", "DENY")?;
    headers.set("Strict-Transport-Security", "max-age=31536000")?;
    headers.set(
        "Permissions-Policy",
        "camera=(), microphone=(), geolocation=(), usb=()",
    )
}

/// The client's IP (`CF-Connecting-IP`, set by Cloudflare's edge): the
/// shopper's for `SPBILL_CREATE_IP`, and who the pay and sign-in limits
/// count (`checkout::guard::Client`).
pub fn client_ip(req: &Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}
