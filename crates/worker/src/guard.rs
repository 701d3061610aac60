//! Defences against bad input, the I/O half (decisions: `checkout::guard`):
//! capped body reads, the per-link rate limit of `POST /api/pay`, the
//! redirect check of its answer and the link check of
//! `GET /api/orders/{code}`.

use checkout::api::{PayAction, PayResponse};
use checkout::guard::{self, Declared, MAX_BODY_BYTES};
use futures_util::StreamExt;
use worker::Request;

use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::repo::OrderRow;

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

/// `PAY_RATE_LIMIT` / `PAY_RATE_WINDOW_SECS` for `POST /api/pay`: refuses
/// with 429 `RATE_LIMITED` (and `Retry-After`) once the link already has
/// that many attempts in the window. Counted from the stored attempts
/// (`attempts`, the link's attempts `pay` reads anyway: no round trip of its
/// own), so it holds across Worker instances; two requests racing at the
/// limit may both pass (a soft limit: it bounds abuse, not money).
pub fn limit_pay(cx: &Cx, attempts: &[OrderRow], now: u64) -> ApiResult<()> {
    let limit = cx.settings.pay_rate_limit()?;
    let times: Vec<u64> = attempts.iter().map(|a| a.created_at).collect();
    limit.check(&times, now).map_err(|retry_after| {
        cx.log.set("rate_limited_attempts", times.len());
        ApiError::RateLimited { retry_after }
    })
}

/// Refuses to hand the page a redirect the page must not follow
/// (`checkout::guard::is_safe_redirect`): 502 `GATEWAY_UNSAFE_REDIRECT`.
/// The attempt stays pending and is settled like any other.
pub fn safe_pay_response(resp: PayResponse) -> ApiResult<PayResponse> {
    match &resp.action {
        PayAction::Redirect { url } if !guard::is_safe_redirect(url) => {
            Err(ApiError::UnsafeRedirect)
        }
        _ => Ok(resp),
    }
}

/// With `?token=`, an attempt of another link is "not found" (the page
/// always asks with its own token, so `?charge_code=` of another link's
/// order cannot show that order's receipt). Without a token the route
/// answers as before. Returns the token when it is the order's link's.
pub fn check_link(req: &Request, order: &OrderRow) -> ApiResult<Option<String>> {
    let url = req.url()?;
    match url.query_pairs().find(|(k, _)| k == "token") {
        Some((_, token)) if guard::attempt_of_link(order.link_id.as_deref(), &token) => {
            Ok(Some(token.into_owned()))
        }
        Some(_) => Err(ApiError::NotFound("order")),
        None => Ok(None),
    }
}
