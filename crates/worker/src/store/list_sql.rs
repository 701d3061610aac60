//! The SQL of the merchant lists, as text and parameters: one statement
//! per page, through the index `checkout::list` chose (`INDEXED BY`, so
//! SQLite cannot fall back to a scan of the table), ordered by the keyset
//! `(created_at, id)` descending, starting below the cursor row's key.
//!
//! Free of the runtime on purpose: the e2e crate includes this file
//! (`tests/tests/list_plans.rs`) and runs `EXPLAIN QUERY PLAN` on every
//! statement it can build, against the migrations, to show that no filter
//! combination scans the table.

use checkout::events::EventQuery;
use checkout::list::{prefix_upper, Created, LinkPlan, OrderIndex, OrderPlan, RefundPlan};
use checkout::vocab::Spelled;

/// A bound parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Param {
    /// TEXT.
    Text(String),
    /// INTEGER.
    Int(u64),
}

/// A statement and its parameters (`?1`, `?2`, ... in order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// The SQL.
    pub sql: String,
    /// Its parameters.
    pub params: Vec<Param>,
}

/// The columns of an order in a list or an export.
pub const ORDER_ITEM_COLUMNS: &str = "charge_code, link_id, merchant_ref, subject, kind, method, \
    channel_type, state, amount_fen, refunded_fen, created_at, paid_at, duplicate_of";

/// The columns of a link in a list.
pub const LINK_ITEM_COLUMNS: &str = "link_id, kind, active, subject, merchant_ref, amount_fen, \
    expires_at, created_at, deactivated_at, token";

/// The columns of a refund in a list or an export.
pub const REFUND_ITEM_COLUMNS: &str =
    "out_refund_no, charge_code, amount_fen, reason, state, created_at, updated_at";

/// The stored columns of an event besides its payload snapshot
/// (`store::events::EventRow`).
pub const EVENT_COLUMNS: &str = "seq, kind, charge_code, link_id, merchant_ref, amount_fen, \
    refunded_fen, state, out_refund_no, refund_fen, created_at, delivery, attempt_count, \
    round_failures, data";

/// A WHERE clause under construction.
struct Where {
    terms: Vec<String>,
    params: Vec<Param>,
}

impl Where {
    fn new() -> Self {
        Where {
            terms: Vec::new(),
            params: Vec::new(),
        }
    }

    /// The placeholder of a new parameter.
    fn bind(&mut self, p: Param) -> String {
        self.params.push(p);
        format!("?{}", self.params.len())
    }

    fn eq(&mut self, column: &str, v: Option<&str>) {
        if let Some(v) = v {
            let p = self.bind(Param::Text(v.to_owned()));
            self.terms.push(format!("{column} = {p}"));
        }
    }

    fn created(&mut self, c: &Created) {
        if let Some(gte) = c.gte {
            let p = self.bind(Param::Int(gte));
            self.terms.push(format!("created_at >= {p}"));
        }
        if let Some(lt) = c.lt {
            let p = self.bind(Param::Int(lt));
            self.terms.push(format!("created_at < {p}"));
        }
    }

    /// `column` starts with `prefix`, as an index range.
    fn prefix(&mut self, column: &str, prefix: &str) -> String {
        let lo = self.bind(Param::Text(prefix.to_owned()));
        match prefix_upper(prefix) {
            Some(up) => {
                let hi = self.bind(Param::Text(up));
                format!("({column} >= {lo} AND {column} < {hi})")
            }
            None => format!("{column} >= {lo}"),
        }
    }

    /// Rows below the cursor row's key; none if the cursor row does not
    /// exist (the caller reads whether it does in the same batch).
    fn after(&mut self, table: &str, id: &str, cursor: Option<&str>) {
        if let Some(c) = cursor {
            let p = self.bind(Param::Text(c.to_owned()));
            self.terms.push(format!(
                "(created_at, {id}) < (SELECT created_at, {id} FROM {table} WHERE {id} = {p})"
            ));
        }
    }

    /// Rows below a known key (an export's next chunk: the key of its
    /// last row, which stays a valid position even if that row is deleted
    /// meanwhile, as an unsent attempt may be).
    fn below(&mut self, id: &str, key: (u64, &str)) {
        let at = self.bind(Param::Int(key.0));
        let code = self.bind(Param::Text(key.1.to_owned()));
        self.terms
            .push(format!("(created_at, {id}) < ({at}, {code})"));
    }

    /// The finished statement.
    fn select(mut self, head: String, id: &str, limit: u32) -> Query {
        let mut sql = head;
        if !self.terms.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.terms.join(" AND "));
        }
        let p = self.bind(Param::Int(u64::from(limit)));
        sql.push_str(&format!(" ORDER BY created_at DESC, {id} DESC LIMIT {p}"));
        Query {
            sql,
            params: self.params,
        }
    }
}

/// A page of orders, with one row more than the page (it says whether
/// more follow).
pub fn orders_page(plan: &OrderPlan) -> Query {
    orders_rows(plan, plan.page.limit + 1, None)
}

/// Up to `rows` orders of the plan's filter below `key` (an export's
/// chunks), or below its cursor.
pub fn orders_rows(plan: &OrderPlan, rows: u32, key: Option<(u64, &str)>) -> Query {
    let f = &plan.filter;
    let mut w = Where::new();
    w.created(&f.created);
    w.eq("state", f.state.map(|s| s.as_str()));
    w.eq("method", f.method.map(|m| m.as_str()));
    if let Some(c) = f.channel {
        let codes: Vec<String> = c
            .codes()
            .iter()
            .map(|code| w.bind(Param::Text((*code).to_owned())))
            .collect();
        w.terms
            .push(format!("channel_type IN ({})", codes.join(", ")));
    }
    w.eq("link_id", f.link.as_deref());
    w.eq("merchant_ref", f.reference.as_deref());
    if let Some(q) = &f.q {
        let terms = ["charge_code", "merchant_ref", "subject"].map(|c| w.prefix(c, q));
        w.terms.push(format!("({})", terms.join(" OR ")));
    }
    match key {
        Some(key) => w.below("charge_code", key),
        None => w.after("orders", "charge_code", plan.page.starting_after.as_deref()),
    }
    let indexed = match plan.index.name() {
        Some(name) => format!(" INDEXED BY {name}"),
        None => String::new(),
    };
    debug_assert_eq!(plan.index == OrderIndex::Prefix, indexed.is_empty());
    w.select(
        format!("SELECT {ORDER_ITEM_COLUMNS} FROM orders{indexed}"),
        "charge_code",
        rows,
    )
}

/// A page of links, with one row more than the page.
pub fn links_page(plan: &LinkPlan) -> Query {
    let f = &plan.filter;
    let mut w = Where::new();
    w.eq("kind", f.kind.map(|k| k.spelling()));
    if let Some(active) = f.active {
        let p = w.bind(Param::Int(u64::from(active)));
        w.terms.push(format!("active = {p}"));
    }
    w.eq("merchant_ref", f.reference.as_deref());
    w.after("links", "link_id", plan.page.starting_after.as_deref());
    w.select(
        format!(
            "SELECT {LINK_ITEM_COLUMNS} FROM links INDEXED BY {}",
            plan.index.name()
        ),
        "link_id",
        plan.page.limit + 1,
    )
}

/// A page of refunds, with one row more than the page.
pub fn refunds_page(plan: &RefundPlan) -> Query {
    let f = &plan.filter;
    let mut w = Where::new();
    w.created(&f.created);
    w.eq("state", f.state.map(|s| s.as_str()));
    w.eq("charge_code", f.order.as_deref());
    w.after(
        "refunds",
        "out_refund_no",
        plan.page.starting_after.as_deref(),
    );
    w.select(
        format!(
            "SELECT {REFUND_ITEM_COLUMNS} FROM refunds INDEXED BY {}",
            plan.index.name()
        ),
        "out_refund_no",
        plan.page.limit + 1,
    )
}

/// A page of events (`GET /v1/events`): after the cursor's row number,
/// oldest first, at most `rows`, through the index `q.index` names. Not a
/// keyset on `created_at` like the other lists: events are paged by row
/// number, which orders them as they committed (`routes::events`).
pub fn events_page(q: &EventQuery, rows: u64) -> Query {
    let mut w = Where::new();
    w.eq("charge_code", q.order.as_deref());
    w.eq("delivery", q.delivery.map(|d| d.as_str()));
    let after = w.bind(Param::Int(q.after));
    w.terms.push(format!("seq > {after}"));
    let limit = w.bind(Param::Int(rows));
    let indexed = q
        .index
        .name()
        .map(|name| format!(" INDEXED BY {name}"))
        .unwrap_or_default();
    Query {
        sql: format!(
            "SELECT {EVENT_COLUMNS} FROM webhook_events{indexed} WHERE {} ORDER BY seq LIMIT {limit}",
            w.terms.join(" AND ")
        ),
        params: w.params,
    }
}

/// Whether the row a cursor names exists (read in the page's batch: an
/// unknown cursor is a 400, not an empty page).
pub fn cursor_exists(table: &str, id: &str) -> String {
    format!("SELECT COUNT(*) AS found FROM {table} WHERE {id} = ?1")
}
