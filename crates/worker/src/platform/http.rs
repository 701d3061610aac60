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

/// An SVG image (a link's QR code) with its caching policy; `nosniff`
/// and a policy that runs nothing, should the image be opened as a page.
pub fn svg(body: String, cache_control: &str) -> ApiResult<Response> {
    let resp = Response::ok(body)?;
    let h = resp.headers();
    h.set("Content-Type", "image/svg+xml")?;
    h.set("Cache-Control", cache_control)?;
    h.set("X-Content-Type-Options", "nosniff")?;
    h.set(
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'",
    )?;
    Ok(resp)
}

/// The client's IP (`CF-Connecting-IP`): the shopper's for
/// `SPBILL_CREATE_IP`, the key of the failed-authentication limit.
pub fn client_ip(req: &Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

/// A handler's result as a 201 JSON answer (a created thing).
pub fn created<T: Serialize>(value: ApiResult<T>) -> ApiResult<Response> {
    json(201, &value?)
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

/// A CSV download streamed as it is read (`Response::from_stream`, a
/// `ReadableStream`): `head` (the BOM and the header row) first, then each
/// chunk `next` makes of its state, until it answers `None`. Memory stays
/// at one chunk whatever the export's size. A failure after the head has
/// gone out can only cut the body short (the status is sent): it is logged
/// by `next`'s caller and the stream ends with an error, so the client
/// sees a broken download, never a silently short file that looks whole.
pub fn csv_download<S, F, Fut>(
    filename: &str,
    head: String,
    state: S,
    mut next: F,
) -> ApiResult<Response>
where
    S: 'static,
    F: FnMut(S) -> Fut + 'static,
    Fut: std::future::Future<Output = ApiResult<Option<(String, S)>>> + 'static,
{
    enum Step<S> {
        Head(S),
        Body(S),
        Done,
    }
    let body = futures_util::stream::unfold(Step::Head(state), move |step| {
        let fut = match step {
            Step::Head(s) => Either::Head(Some((head.clone(), s))),
            Step::Body(s) => Either::Body(next(s)),
            Step::Done => Either::Head(None),
        };
        async move {
            let item = match fut {
                Either::Head(item) => Ok(item),
                Either::Body(fut) => fut.await,
            };
            match item {
                Ok(Some((chunk, s))) => Some((Ok(chunk.into_bytes()), Step::Body(s))),
                Ok(None) => None,
                Err(e) => Some((Err(worker::Error::RustError(e.to_string())), Step::Done)),
            }
        }
    });
    enum Either<S, Fut> {
        Head(Option<(String, S)>),
        Body(Fut),
    }
    let resp = Response::from_stream(body)?;
    let headers = resp.headers();
    headers.set("Content-Type", "text/csv; charset=utf-8")?;
    headers.set(
        "Content-Disposition",
        &format!("attachment; filename=\"{filename}\""),
    )?;
    headers.set("Cache-Control", "no-store")?;
    Ok(resp)
}
