//! The events API and printable links (merchant routes, bearer
//! `ADMIN_TOKEN`): `GET /v1/events?after=&limit=&order=&delivery=`, `GET /v1/events/{id}`,
//! `POST /v1/events/{id}/redeliver`, `POST /v1/events/test`,
//! `GET /v1/links/{id}/qr.svg`.
//!
//! A merchant whose endpoint was down catches up from its last seen id:
//! ids are ordered like the outbox rows and rows commit in that order
//! (D1 serialises writes), so paging with `after` has no gaps.

use checkout::events::{self, AttemptView, EventList, EventView};
use worker::{Request, Response};

use crate::flows::{link, webhook};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::svg;
use crate::store::events::{self as outbox, EventRow};
use crate::store::links;

/// The API view of a stored event.
fn view(row: &EventRow, attempts: Option<Vec<AttemptView>>) -> ApiResult<EventView> {
    let body = events::body(&row.record);
    Ok(EventView {
        id: events::event_id(row.record.seq),
        kind: row.record.kind.as_str().to_owned(),
        created_at: row.record.created_at,
        delivery: row.delivery.as_str().to_owned(),
        attempt_count: row.attempt_count,
        payload: serde_json::from_str(&body)
            .map_err(|e| ApiError::Storage(format!("event body: {e}")))?,
        attempts,
    })
}

/// An `evt_…` id from the path; anything else is not found.
fn seq_of(id: &str) -> ApiResult<u64> {
    events::parse_event_id(id).ok_or(ApiError::NotFound("event"))
}

/// `GET /v1/events?after=evt_…&limit=N&order=<code>&delivery=<state>`:
/// oldest first (`checkout::events::list_query` reads the query).
pub async fn list(cx: &Cx, req: &Request) -> ApiResult<EventList> {
    let url = req.url()?;
    let q = events::list_query(url.query_pairs())?;
    let mut rows = outbox::list(cx.db()?, &q, q.limit + 1).await?;
    let has_more = rows.len() as u64 > q.limit;
    rows.truncate(q.limit as usize);
    cx.log.set("events", rows.len());
    let data = rows
        .iter()
        .map(|r| view(r, None))
        .collect::<ApiResult<Vec<_>>>()?;
    let next_after = data
        .last()
        .map(|e| e.id.clone())
        .or_else(|| (q.after > 0).then(|| events::event_id(q.after)));
    Ok(EventList {
        data,
        has_more,
        next_after,
    })
}

/// `GET /v1/events/{id}`, with every delivery attempt.
pub async fn get(cx: &Cx, id: &str) -> ApiResult<EventView> {
    let seq = seq_of(id)?;
    let db = cx.db()?;
    let row = outbox::get(db, seq)
        .await?
        .ok_or(ApiError::NotFound("event"))?;
    let attempts = outbox::attempts(db, seq).await?;
    view(&row, Some(attempts))
}

/// `POST /v1/events/{id}/redeliver`: pending again, a new round of retries.
pub async fn redeliver(cx: &Cx, id: &str) -> ApiResult<EventView> {
    let seq = seq_of(id)?;
    if !webhook::redeliver(cx, seq).await? {
        return Err(ApiError::NotFound("event"));
    }
    cx.log.set("outcome", "redelivery_queued");
    get(cx, id).await
}

/// `POST /v1/events/test`: a `test.ping` event through the outbox; the
/// answer is the event as `GET /v1/events/{id}` shows it (its deliveries
/// follow there).
pub async fn send_test(cx: &Cx) -> ApiResult<EventView> {
    let seq = webhook::send_test(cx).await?;
    cx.log.set("outcome", "test_event_written");
    get(cx, &events::event_id(seq)).await
}

/// `GET /v1/links/{id}/qr.svg`: the link's checkout URL as a printable QR
/// (`checkout::qr::svg`), one code every wallet's scanner opens.
pub async fn link_qr(cx: &Cx, link_id: &str) -> ApiResult<Response> {
    let token = links::token(cx.db()?, link_id)
        .await?
        .ok_or(ApiError::NotFound("link"))?;
    // Links issued before the token was stored cannot be drawn.
    let token = token.ok_or(ApiError::NotFound("link token"))?;
    svg(link::qr_svg(cx, &token)?, "no-store")
}
