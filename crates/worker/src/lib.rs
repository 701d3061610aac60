//! The Cloudflare Worker of the checkout: HTTP routes (API.md), D1
//! persistence, gateway calls, `/notify`, the merchant API, the cron
//! reconciler and the page's static assets.
//!
//! Thin by design: protocol decisions live in `soushou`, domain decisions in
//! `checkout`; this crate moves bytes between the network, D1 and those two.
//! Four layers, each importing only the ones below it:
//!
//! | layer | what | modules |
//! |---|---|---|
//! | [`routes`] | HTTP ↔ flow; the router table; cron and queue entries. A route never imports another route | `healthz`, `page`, `oauth`, `shopper`, `notify`, `merchant`, `events`, `staff`, `cron`, `queue` |
//! | [`flows`] | the money flows: read the store, ask `checkout`, call the gateway, write | `pay`, `notify`, `refund`, `duplicate`, `reconcile`, `pos`, `cancel`, `webhook`; shared: `apply`, `link`, `signin`, `idempotency`, `access` |
//! | [`store`] | all SQL, one module per table family; rows typed (`Fen`, enums) | `links`, `attempts`, `refunds`, `idempotency`, `signin`, `events`, `staff` |
//! | [`platform`] | settings, the per-request context, the counted D1 handle, log, the error enum, Fetch with a timeout, HTTP edges, WebCrypto | `config`, `context`, `db`, `log`, `error`, `gateway`, `http`, `guard`, `crypto` |
//!
//! `cargo xtask house` enforces the two rules a compiler does not: no route
//! imports a route, and no SQL outside `store`.

mod flows;
mod platform;
mod routes;
mod store;

use worker::{
    event, Context, Env, MessageBatch, Request, Response, ScheduleContext, ScheduledEvent,
};

/// Every HTTP request: `routes::fetch`.
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    routes::fetch(req, env, ctx).await
}

/// The cron trigger: `routes::cron`.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    routes::cron::handle(env).await
}

/// Both webhook queues (`WEBHOOKS`, `WEBHOOKS_DLQ`): `routes::queue`.
#[event(queue)]
async fn queue(
    batch: MessageBatch<flows::webhook::Delivery>,
    env: Env,
    _ctx: Context,
) -> worker::Result<()> {
    routes::queue::handle(batch, env).await
}
