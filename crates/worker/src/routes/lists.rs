//! The merchant's lists (bearer `ADMIN_TOKEN`): `GET /v1/orders`,
//! `GET /v1/refunds` (contract v1.1 "Lists"; parameters and plans in
//! `checkout::list`, SQL in `store::lists`).

use checkout::list::{self, List, OrderItem, RefundItem};
use worker::Request;

use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::store::lists;

/// `GET /v1/orders?limit&starting_after&created_gte&created_lt&state&method&channel&link&ref&q`.
pub async fn orders(cx: &Cx, req: &Request) -> ApiResult<List<OrderItem>> {
    let plan = list::orders(req.url()?.query_pairs(), true)?;
    cx.log.set("index", format!("{:?}", plan.index));
    let page = lists::orders(cx.db()?, &plan).await?;
    cx.log.set("rows", page.data.len());
    Ok(page)
}

/// `GET /v1/refunds?limit&starting_after&created_gte&created_lt&state&order`.
pub async fn refunds(cx: &Cx, req: &Request) -> ApiResult<List<RefundItem>> {
    let plan = list::refunds(req.url()?.query_pairs())?;
    let page = lists::refunds(cx.db()?, &plan).await?;
    cx.log.set("rows", page.data.len());
    Ok(page)
}
