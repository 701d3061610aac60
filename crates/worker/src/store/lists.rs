//! The merchant lists and exports: pages of orders, links and refunds (the SQL in
//! [`super::list_sql`], the decisions in `checkout::list`), each in one D1
//! round trip (with a cursor, the page and the cursor's existence in one
//! batch).

use checkout::list::{
    self, Channel, LinkPlan, List, OrderItem, OrderPlan, RefundItem, RefundPlan, StoredLink,
};
use checkout::vocab::{LinkKind, OrderKind, OrderMethod, OrderStatus, RefundState};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use soushou::types::ChannelType;
use soushou::Fen;
use worker::wasm_bindgen::JsValue;

use super::list_sql::{self, Param, Query};
use super::{n, prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::{ApiError, ApiResult};

/// An order as the list query reads it.
#[derive(Deserialize)]
struct OrderItemRow {
    charge_code: String,
    link_id: Option<String>,
    merchant_ref: Option<String>,
    subject: String,
    kind: OrderKind,
    method: OrderMethod,
    channel_type: ChannelType,
    state: OrderStatus,
    #[serde(deserialize_with = "super::fen")]
    amount_fen: Fen,
    #[serde(deserialize_with = "super::fen")]
    refunded_fen: Fen,
    created_at: u64,
    paid_at: Option<u64>,
    duplicate_of: Option<String>,
}

impl From<OrderItemRow> for OrderItem {
    fn from(r: OrderItemRow) -> Self {
        let (amount, amount_fen) = list::money(r.amount_fen);
        OrderItem {
            charge_code: r.charge_code,
            link_id: r.link_id,
            reference: r.merchant_ref,
            subject: r.subject,
            kind: r.kind,
            method: r.method,
            channel: Channel::of(&r.channel_type).as_str(),
            state: r.state,
            amount,
            amount_fen,
            refunded_fen: r.refunded_fen.fen(),
            created_at: r.created_at,
            paid_at: r.paid_at,
            duplicate_of: r.duplicate_of,
        }
    }
}

/// A refund as the list query reads it.
#[derive(Deserialize)]
struct RefundItemRow {
    out_refund_no: String,
    charge_code: String,
    #[serde(deserialize_with = "super::fen")]
    amount_fen: Fen,
    reason: String,
    state: RefundState,
    created_at: u64,
    updated_at: u64,
}

impl From<RefundItemRow> for RefundItem {
    fn from(r: RefundItemRow) -> Self {
        let (amount, amount_fen) = list::money(r.amount_fen);
        RefundItem {
            id: r.out_refund_no,
            charge_code: r.charge_code,
            amount,
            amount_fen,
            reason: r.reason,
            state: r.state,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A link as the list query reads it.
#[derive(Deserialize)]
struct LinkItemRow {
    link_id: String,
    kind: LinkKind,
    active: u8,
    subject: String,
    merchant_ref: Option<String>,
    #[serde(deserialize_with = "super::fen")]
    amount_fen: Fen,
    expires_at: u64,
    created_at: u64,
    deactivated_at: Option<u64>,
    token: Option<String>,
}

impl From<LinkItemRow> for StoredLink {
    fn from(r: LinkItemRow) -> Self {
        StoredLink {
            id: r.link_id,
            kind: r.kind,
            active: r.active != 0,
            subject: r.subject,
            reference: r.merchant_ref,
            amount: r.amount_fen,
            expires_at: r.expires_at,
            created_at: r.created_at,
            deactivated_at: r.deactivated_at,
            token: r.token,
        }
    }
}

/// A built query, prepared (the events list's too).
pub(super) fn statement<'d>(db: &'d Db, q: &Query) -> ApiResult<Stmt<'d>> {
    let params: Vec<JsValue> = q
        .params
        .iter()
        .map(|p| match p {
            Param::Text(s) => t(s),
            Param::Int(v) => n(*v),
        })
        .collect();
    prepare(db, &q.sql, &params)
}

#[derive(Deserialize)]
struct Found {
    found: u64,
}

/// The rows of `q`; with a cursor, read in one batch with whether the
/// cursor's row exists (an unknown `starting_after` is a 400, as Stripe
/// answers, rather than an empty page that looks like the end).
async fn rows<R: DeserializeOwned>(
    db: &Db,
    q: &Query,
    cursor: Option<(&str, &str, &str)>,
) -> ApiResult<Vec<R>> {
    let Some((table, id, cursor)) = cursor else {
        return statement(db, q)?
            .all()
            .await
            .stored()?
            .results::<R>()
            .stored();
    };
    let exists = prepare(db, &list_sql::cursor_exists(table, id), &[t(cursor)])?;
    let results = db.batch(vec![statement(db, q)?, exists]).await.stored()?;
    let [page, found] = results.as_slice() else {
        return Err(ApiError::Storage(
            "a list batch of two answered otherwise".into(),
        ));
    };
    let found = found.results::<Found>().stored()?;
    if found.first().is_none_or(|f| f.found == 0) {
        return Err(ApiError::InvalidRequest(
            "starting_after: no such object".into(),
        ));
    }
    page.results::<R>().stored()
}

/// `GET /v1/orders`: one page.
pub async fn orders(db: &Db, plan: &OrderPlan) -> ApiResult<List<OrderItem>> {
    let cursor = plan
        .page
        .starting_after
        .as_deref()
        .map(|c| ("orders", "charge_code", c));
    let rows: Vec<OrderItemRow> = rows(db, &list_sql::orders_page(plan), cursor).await?;
    let items = rows.into_iter().map(OrderItem::from).collect();
    Ok(List::from_rows(items, plan.page.limit))
}

/// Up to `chunk` orders of the plan's filter below `key`, the key of the
/// previous chunk's last row (an export's next chunk).
pub async fn orders_chunk(
    db: &Db,
    plan: &OrderPlan,
    chunk: u32,
    key: Option<(u64, &str)>,
) -> ApiResult<Vec<OrderItem>> {
    let q = list_sql::orders_rows(plan, chunk, key);
    let rows: Vec<OrderItemRow> = rows(db, &q, None).await?;
    Ok(rows.into_iter().map(OrderItem::from).collect())
}

/// `GET /v1/links`: one page of stored links (the route adds what their
/// tokens say).
pub async fn links(db: &Db, plan: &LinkPlan) -> ApiResult<List<StoredLink>> {
    let cursor = plan
        .page
        .starting_after
        .as_deref()
        .map(|c| ("links", "link_id", c));
    let rows: Vec<LinkItemRow> = rows(db, &list_sql::links_page(plan), cursor).await?;
    let items = rows.into_iter().map(StoredLink::from).collect();
    Ok(List::from_rows(items, plan.page.limit))
}

/// `GET /v1/refunds`: one page.
pub async fn refunds(db: &Db, plan: &RefundPlan) -> ApiResult<List<RefundItem>> {
    let cursor = plan
        .page
        .starting_after
        .as_deref()
        .map(|c| ("refunds", "out_refund_no", c));
    let rows: Vec<RefundItemRow> = rows(db, &list_sql::refunds_page(plan), cursor).await?;
    let items = rows.into_iter().map(RefundItem::from).collect();
    Ok(List::from_rows(items, plan.page.limit))
}
