//! The merchant's lists (a key, a console session or `ADMIN_TOKEN`):
//! `GET /v1/orders`, `GET /v1/links`, `GET /v1/refunds` (contract v1.1 "Lists"; parameters and plans in
//! `checkout::list`, SQL in `store::lists`).

use checkout::list::{self, LinkItem, List, OrderItem, RefundItem};
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

/// `GET /v1/links?limit&starting_after&kind&active&ref`: each entry with
/// its page's URL and, for an open or counter link, the bounds its token
/// carries (verified, as a token read back is never trusted unread).
pub async fn links(cx: &Cx, req: &Request) -> ApiResult<List<LinkItem>> {
    let plan = list::links(req.url()?.query_pairs())?;
    cx.log.set("index", format!("{:?}", plan.index));
    let page = lists::links(cx.db()?, &plan).await?;
    let keys = cx.settings.link_keys()?;
    let base = cx.settings.public_base_url()?;
    let data: Vec<LinkItem> = page
        .data
        .into_iter()
        .map(|row| {
            let payload = row
                .token
                .as_deref()
                .and_then(|t| keys.verify_ignoring_expiry(t).ok());
            let url = row.token.as_deref().map(|t| checkout::link::url(&base, t));
            LinkItem::of(row, url, payload.as_ref())
        })
        .collect();
    cx.log.set("rows", data.len());
    Ok(List {
        data,
        has_more: page.has_more,
    })
}

/// `GET /v1/refunds?limit&starting_after&created_gte&created_lt&state&order`.
pub async fn refunds(cx: &Cx, req: &Request) -> ApiResult<List<RefundItem>> {
    let plan = list::refunds(req.url()?.query_pairs())?;
    let page = lists::refunds(cx.db()?, &plan).await?;
    cx.log.set("rows", page.data.len());
    Ok(page)
}
