//! The cold-start floor (`cargo xtask bench`): the least a workers-rs
//! Worker does, one fixed answer, built by the same toolchain and wasm-opt
//! pipeline as the checkout's Worker, so the difference between their cold
//! starts is what the Worker's own size and start-up add.

use worker::{event, Context, Env, Request, Response, Result};

/// Every request: `ok`.
#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Response::ok("ok")
}
