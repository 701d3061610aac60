//! The merchant's CSV exports (bearer `ADMIN_TOKEN`): `GET
//! /v1/orders.csv?<order filters>` (a statement's CSV is in
//! [`super::statements`]). Cells encoded by `checkout::csv`; the body is
//! streamed, read from D1 in chunks of [`CHUNK`] rows by the keyset of
//! the lists (`store::lists`), so neither the Worker's memory nor one D1
//! answer grows with the export.

use checkout::csv;
use checkout::list::{self, OrderPlan};
use worker::{Request, Response};

use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::http::csv_download;
use crate::platform::log::RequestLog;
use crate::store::lists;

/// Rows per D1 read of an export.
pub const CHUNK: u32 = 1000;

/// Where an order export stands between chunks.
struct OrderExport {
    /// Its own context: the stream outlives the request's handler.
    cx: Cx,
    plan: OrderPlan,
    /// The key of the last row written.
    last: Option<(u64, String)>,
    rows: u64,
}

/// `GET /v1/orders.csv?created_gte&created_lt&state&method&channel&link&ref&q`:
/// the filtered orders, newest first.
pub async fn orders_csv(cx: &Cx, req: &Request) -> ApiResult<Response> {
    let plan = list::orders(req.url()?.query_pairs(), false)?;
    let log = RequestLog::new(
        cx.log.request_id().to_owned(),
        "export",
        "GET",
        "/v1/orders.csv",
    );
    let export = OrderExport {
        cx: Cx::with_settings(cx.settings.clone(), log),
        plan,
        last: None,
        rows: 0,
    };
    let head = format!("{}{}", csv::BOM, csv::header(&csv::ORDER_COLUMNS));
    csv_download("orders.csv", head, export, |mut e| async move {
        let key = e.last.as_ref().map(|(at, code)| (*at, code.as_str()));
        let chunk = match lists::orders_chunk(e.cx.db()?, &e.plan, CHUNK, key).await {
            Ok(chunk) => chunk,
            Err(err) => {
                e.cx.log.set("rows", e.rows);
                e.cx.log.finish(500, Some(err.code().as_str()));
                return Err(err);
            }
        };
        let Some(last) = chunk.last() else {
            e.cx.log.set("rows", e.rows);
            e.cx.log.finish(200, None);
            return Ok(None);
        };
        e.last = Some((last.created_at, last.charge_code.clone()));
        e.rows += chunk.len() as u64;
        let text: String = chunk.iter().map(csv::order_row).collect();
        Ok(Some((text, e)))
    })
}
