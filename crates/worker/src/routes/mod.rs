//! HTTP ↔ flow: one module per surface, and the router table (here, the
//! only place that names them all). A route reads the request, calls a
//! flow (or reads the store for a plain view) and shapes the answer; it
//! never imports another route (`cargo xtask house` fails on that), so
//! what two routes share lives in a flow or in `platform`.
//!
//! | route | module |
//! |---|---|
//! | `GET /healthz` | [`healthz`] |
//! | `GET /c/{token}`, other GETs (static files) | [`page`] (after [`oauth::entry`]) |
//! | `GET /oauth/wechat`, `GET /oauth/alipay` | [`oauth`] |
//! | `GET /api/checkout/{token}`, `POST /api/pay`, `GET /api/orders/{code}` | [`shopper`] |
//! | `POST /notify` | [`notify`] |
//! | `/v1/...` (bearer `ADMIN_TOKEN`, `Idempotency-Key`) | [`merchant`] |
//! | `GET /v1/events`, `GET /v1/events/{id}`, `POST /v1/events/{id}/redeliver`, `GET /v1/links/{id}/qr.svg` | [`events`] |
//! | cron trigger | [`cron`] |
//! | queue consumer (`WEBHOOKS`, `WEBHOOKS_DLQ`) | [`queue`] |

pub mod cron;
pub mod events;
pub mod healthz;
pub mod merchant;
pub mod notify;
pub mod oauth;
pub mod page;
pub mod queue;
pub mod shopper;

use checkout::oauth::Wallet;
use worker::{Context, Env, Method, Request, Response};

use crate::flows::{idempotency, webhook};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{json, ok};
use crate::platform::log::{loggable_path, random_hex, RequestLog};
use crate::store::events::take_written;

/// One HTTP request: dispatched, its error mapped to the API's answer,
/// its log line written; events it committed go to the queue after it.
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let request_id = req
        .headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .unwrap_or_else(|| random_hex(8));
    let method = req.method();
    let path = req.path();
    let log = RequestLog::new(request_id, "http", method.as_ref(), &loggable_path(&path));
    let cx = Cx::new(env, log);
    let result = route(&cx, req, &ctx, &method, &path).await;
    // Events this request committed go to the queue after the answer.
    if take_written() {
        ctx.wait_until(webhook::flush(cx.settings.clone()));
    }
    let (mut resp, code) = match result {
        Ok(resp) => (resp, None),
        Err(e) => (error_response(&cx, &e)?, Some(e.code().as_str())),
    };
    // Asset responses may carry immutable headers; the id is best effort there.
    let _ = resp.headers_mut().set("X-Request-Id", cx.log.request_id());
    cx.log.finish(resp.status_code(), code);
    Ok(resp)
}

/// The API's answer for an error, its reason in the log line.
fn error_response(cx: &Cx, e: &ApiError) -> worker::Result<Response> {
    let (status, code) = (e.status(), e.code().as_str());
    match e {
        ApiError::NotifyRejected { reason, .. } => cx.log.set("reason", reason.as_str()),
        ApiError::Storage(detail) | ApiError::Internal(detail) => {
            cx.log.set("reason", detail.as_str())
        }
        ApiError::Gateway(inner) => cx.log.set("reason", inner.to_string()),
        _ => {}
    }
    let resp = json(status, &e.body()).or_else(|_| Response::error(code, status))?;
    if let ApiError::RateLimited { retry_after } = e {
        resp.headers()
            .set("Retry-After", &retry_after.to_string())?;
    }
    Ok(resp)
}

/// Dispatches one request.
async fn route(
    cx: &Cx,
    req: Request,
    ctx: &Context,
    method: &Method,
    path: &str,
) -> ApiResult<Response> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["healthz"]) => healthz::handle(),
        (Method::Get, ["c", token]) => match oauth::entry(cx, &req, token).await? {
            Some(to_wallet) => Ok(to_wallet),
            None => page::page(cx, &req, token).await,
        },
        (Method::Get, ["oauth", "wechat"]) => oauth::callback(cx, &req, Wallet::Wechat).await,
        (Method::Get, ["oauth", "alipay"]) => oauth::callback(cx, &req, Wallet::Alipay).await,
        (Method::Get, ["api", "checkout", token]) => ok(shopper::checkout_view(cx, token).await),
        (Method::Post, ["api", "pay"]) => shopper::pay(cx, req).await,
        (Method::Get, ["api", "orders", code]) => ok(shopper::order_view(cx, code, &req).await),
        (Method::Post, ["notify"]) => notify::handle(cx, req, ctx).await,
        (_, ["v1", ..]) => {
            merchant::authorize(&cx.settings, &req)?;
            let claim = match idempotency::begin(cx, &req, method, path).await? {
                idempotency::Begin::Untracked => None,
                idempotency::Begin::Replay(resp) => return Ok(resp),
                idempotency::Begin::Claimed(claim) => Some(claim),
            };
            let result = merchant_route(cx, req, method, &segments[1..]).await;
            match claim {
                Some(claim) => claim.finish(cx, result).await,
                None => result,
            }
        }
        (Method::Get | Method::Head, _) if segments.first().is_none_or(|s| *s != "api") => {
            page::static_file(&cx.settings, req).await
        }
        _ => Err(ApiError::NotFound("route")),
    }
}

/// Dispatches `/v1/...` after authorisation.
async fn merchant_route(
    cx: &Cx,
    req: Request,
    method: &Method,
    rest: &[&str],
) -> ApiResult<Response> {
    match (method, rest) {
        (Method::Post, ["links"]) => ok(merchant::create_link(cx, req).await),
        (Method::Post, ["links", id, "deactivate"]) => ok(merchant::deactivate_link(cx, id).await),
        (Method::Get, ["orders", code]) => ok(merchant::get_order(cx, code, &req).await),
        (Method::Post, ["orders", code, "refunds"]) => ok(merchant::refund(cx, code, req).await),
        (Method::Get, ["orders", code, "refunds"]) => ok(merchant::refunds(cx, code).await),
        (Method::Post, ["orders", code, "cancel"]) => ok(merchant::cancel(cx, code, req).await),
        (Method::Post, ["pos", "charges"]) => ok(merchant::pos_charge(cx, req).await),
        (Method::Post, ["qr-orders"]) => ok(merchant::qr_order(cx, req).await),
        (Method::Get, ["events"]) => ok(events::list(cx, &req).await),
        (Method::Get, ["events", id]) => ok(events::get(cx, id).await),
        (Method::Post, ["events", id, "redeliver"]) => ok(events::redeliver(cx, id).await),
        (Method::Get, ["links", id, "qr.svg"]) => events::link_qr(cx, id).await,
        _ => Err(ApiError::NotFound("route")),
    }
}
