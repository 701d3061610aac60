//! The Cloudflare Worker of the checkout: HTTP routes (API.md), D1
//! persistence, gateway calls, `/notify`, the merchant API, the cron
//! reconciler and the page's static assets.
//!
//! Thin by design: protocol decisions live in `soushou`, domain decisions in
//! `checkout`; this crate moves bytes between the network, D1 and those two.
//!
//! | route | module |
//! |---|---|
//! | `GET /healthz` | here |
//! | `GET /c/{token}`, other GETs (static files) | `assets` (after `oauth::entry`) |
//! | `GET /oauth/wechat`, `GET /oauth/alipay` | `oauth` |
//! | `GET /api/checkout/{token}`, `POST /api/pay`, `GET /api/orders/{code}` | `shopper` |
//! | `POST /notify` | `notify` |
//! | `/v1/...` (bearer `ADMIN_TOKEN`) | `merchant` |
//! | `GET /v1/events`, `GET /v1/events/{id}`, `POST /v1/events/{id}/redeliver`, `GET /v1/links/{id}/qr.svg` | `events` |
//! | cron trigger | `orders::sweep`, `orders::retry_pending_refunds`, `orders::refund_missed_duplicates`, `webhooks::reenqueue` |
//! | queue consumer (`WEBHOOKS`, `WEBHOOKS_DLQ`) | `webhooks::consume` |
//!
//! Everything else: `context` (the per-request [`context::Cx`]: settings,
//! log, D1), `http` (JSON bodies in and out), `attempt` (the one pipeline
//! creating an attempt at the gateway), `config` (vars and secrets),
//! `gateway` (Fetch with a timeout around `soushou::envelope`), `db` (the
//! D1 handle that counts round trips), `repo` (D1 queries), `orders` (state
//! events and reconciliation), `log` (JSON lines), `error` (the one error enum and
//! its HTTP mapping), `guard` (body cap, per-link rate limit, redirect and
//! link checks), `idempotency` (`Idempotency-Key` around `/v1` POSTs) and
//! `outbox` (merchant events written in the batch of each change).

mod assets;
mod attempt;
mod config;
mod context;
mod db;
mod error;
mod events;
mod gateway;
mod guard;
mod http;
mod idempotency;
mod log;
mod merchant;
mod notify;
mod oauth;
mod orders;
mod outbox;
mod pos;
mod repo;
mod shopper;
mod webhooks;

use worker::{
    event, Context, Env, MessageBatch, Method, Request, Response, ScheduleContext, ScheduledEvent,
};

use crate::config::Settings;
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http::{json, ok};
use crate::log::{loggable_path, random_hex, RequestLog};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
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
    let log = &cx.log;

    let result = route(&cx, req, &ctx, &method, &path).await;
    // Events this request committed go to the queue after the answer.
    if outbox::take_written() {
        ctx.wait_until(webhooks::flush(cx.settings.clone()));
    }
    let (mut resp, code) = match result {
        Ok(resp) => (resp, None),
        Err(e) => {
            let (status, code) = (e.status(), e.code().as_str());
            match &e {
                ApiError::NotifyRejected { reason, .. } => log.set("reason", reason.as_str()),
                ApiError::Storage(detail) | ApiError::Internal(detail) => {
                    log.set("reason", detail.as_str())
                }
                ApiError::Gateway(inner) => log.set("reason", inner.to_string()),
                _ => {}
            }
            let resp = json(status, &e.body()).or_else(|_| Response::error(code, status))?;
            if let ApiError::RateLimited { retry_after } = &e {
                resp.headers()
                    .set("Retry-After", &retry_after.to_string())?;
            }
            (resp, Some(code))
        }
    };
    // Asset responses may carry immutable headers; the id is best effort there.
    let _ = resp.headers_mut().set("X-Request-Id", log.request_id());
    log.finish(resp.status_code(), code);
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
        (Method::Get, ["healthz"]) => json(
            200,
            &checkout::api::HealthResponse {
                ok: true,
                version: env!("CARGO_PKG_VERSION").to_owned(),
            },
        ),
        (Method::Get, ["c", token]) => match oauth::entry(cx, &req, token).await? {
            Some(to_wallet) => Ok(to_wallet),
            None => assets::page(cx, &req, token).await,
        },
        (Method::Get, ["oauth", "wechat"]) => {
            oauth::callback(cx, &req, checkout::oauth::Wallet::Wechat).await
        }
        (Method::Get, ["oauth", "alipay"]) => {
            oauth::callback(cx, &req, checkout::oauth::Wallet::Alipay).await
        }
        (Method::Get, ["api", "checkout", token]) => ok(shopper::checkout_view(cx, token).await),
        (Method::Post, ["api", "pay"]) => ok(shopper::pay(cx, req)
            .await
            .and_then(guard::safe_pay_response)),
        (Method::Get, ["api", "orders", code]) => ok(shopper::order_view(cx, code, &req).await),
        (Method::Post, ["notify"]) => {
            notify::handle(cx, req, ctx).await?;
            let resp = Response::ok("SUCCESS")?;
            resp.headers()
                .set("Content-Type", "text/plain; charset=utf-8")?;
            Ok(resp)
        }
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
            assets::static_file(&cx.settings, req).await
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

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    let cx = Cx::new(
        env,
        RequestLog::new(random_hex(8), "cron", "-", "reconcile"),
    );
    let log = &cx.log;
    let swept = orders::sweep(&cx).await;
    // Refund retries run even when the sweep failed part-way.
    let retried = orders::retry_pending_refunds(&cx).await;
    // Duplicates whose background refund was lost before it reserved a row.
    let missed = orders::refund_missed_duplicates(&cx).await;
    // Idempotency keys live 24 h; a failed purge is retried next minute.
    match idempotency::purge(&cx).await {
        Ok(n) => log.set("idempotency_keys_purged", n),
        Err(e) => log.set("idempotency_purge_error", e.code().as_str()),
    }
    // Sign-in states are kept a day past expiry, so a late replay still
    // reads "already used" rather than "unknown".
    match oauth::purge(&cx).await {
        Ok(n) => log.set("oauth_states_purged", n),
        Err(e) => log.set("oauth_purge_error", e.code().as_str()),
    }
    // Webhook events never enqueued or overdue (a lost enqueue) go again.
    match webhooks::reenqueue(&cx).await {
        Ok(n) => log.set("webhooks_enqueued", n),
        Err(e) => log.set("webhooks_enqueue_error", e.code().as_str()),
    }
    match swept.and_then(|n| retried.and_then(|r| missed.map(|m| (n, r, m)))) {
        Ok((n, r, m)) => {
            log.set("outcome", "swept");
            log.set("reconciled", n);
            log.set("refunds_settled", r);
            log.set("duplicate_refunds_missed", m);
            log.finish(200, None);
        }
        Err(e) => {
            let (status, code) = (e.status(), e.code().as_str());
            if let ApiError::Storage(detail) | ApiError::Internal(detail) = &e {
                log.set("reason", detail.as_str());
            }
            log.finish(status, Some(code));
        }
    }
}

/// Both webhook queues (`WEBHOOKS`, `WEBHOOKS_DLQ`): `webhooks::consume`.
#[event(queue)]
async fn queue(
    batch: MessageBatch<webhooks::Delivery>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    webhooks::consume(Settings::new(env), batch).await
}
