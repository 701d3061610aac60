//! `POST /notify`: the gateway's notification in (`flows::notify`), 200
//! `SUCCESS` out; every refusal is the error's status.

use worker::{Context, Request, Response};

use crate::flows::notify;
use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::guard::read_body;

/// `POST /notify`.
pub async fn handle(cx: &Cx, mut req: Request, ctx: &Context) -> ApiResult<Response> {
    let url = req.url()?;
    let body = read_body(&mut req).await?;
    notify::handle(cx, url.query().unwrap_or(""), &body, ctx).await?;
    let resp = Response::ok("SUCCESS")?;
    resp.headers()
        .set("Content-Type", "text/plain; charset=utf-8")?;
    Ok(resp)
}
