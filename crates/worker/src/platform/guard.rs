//! Defences against bad input, the I/O half (decisions: `checkout::guard`):
//! capped body reads, the per-link rate limit of `POST /api/pay`, the
//! redirect check of its answer and the link check of
//! `GET /api/orders/{code}`.

use checkout::guard::{self, Declared, MAX_BODY_BYTES};
use futures_util::StreamExt;
use worker::Request;

use crate::platform::error::{ApiError, ApiResult};

/// How much of an oversized chunked body is still read, and discarded,
/// after the cap: like Go's `net/http` (256 KiB), so that a client that is
/// still sending can read the 413 instead of a reset connection (wrangler
/// dev's proxy fails the next request otherwise). Beyond that, the rest is
/// cancelled unread.
const DRAIN_BYTES: usize = 256 * 1024;

/// Reads a request body of at most [`MAX_BODY_BYTES`], before anything
/// decrypts or parses it: a larger `Content-Length` is refused without
/// reading, a smaller one read whole, and a body without one (chunked) is
/// kept only until it passes the cap. Both refusals are 413
/// `PAYLOAD_TOO_LARGE`.
pub async fn read_body(req: &mut Request) -> ApiResult<Vec<u8>> {
    let length = req.headers().get("Content-Length").ok().flatten();
    match guard::declared(length.as_deref()) {
        Declared::TooLarge => return Err(ApiError::PayloadTooLarge),
        Declared::Fits => {
            return req
                .bytes()
                .await
                .map_err(|_| ApiError::InvalidRequest("unreadable body".into()))
        }
        Declared::Unknown => {}
    }
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req
        .stream()
        .map_err(|_| ApiError::InvalidRequest("unreadable body".into()))?;
    let mut body = Vec::new();
    let mut seen = 0;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::InvalidRequest("unreadable body".into()))?;
        seen += chunk.len();
        if seen > MAX_BODY_BYTES + DRAIN_BYTES {
            break;
        }
        if seen <= MAX_BODY_BYTES {
            body.extend_from_slice(&chunk);
        }
    }
    if seen > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body)
}

/// The body of a request that a handler will read again: read from a copy
/// (the runtime tees the stream), so the handler itself stays untouched.
pub async fn peek_body(req: &Request) -> ApiResult<Vec<u8>> {
    read_body(&mut req.clone()?).await
}
