//! The merchant's lists (`GET /v1/orders`, `GET /v1/links`,
//! `GET /v1/refunds`, and the order filters of `GET /v1/orders.csv`), pure: the query string parsed
//! and checked (a clear 400 for anything it cannot mean), the page size,
//! the cursor, which index answers the page, and the list objects.
//!
//! Stripe's conventions where contract v1.1 is silent: `{"data",
//! "has_more"}`, newest first, `limit` 1–100 (default 20),
//! `starting_after` = the id of the last object of the previous page, an
//! unknown parameter is refused rather than ignored (a typo in a filter
//! must not silently list everything).
//!
//! **Invariant (no gaps, no repeats while rows are added):** the order is
//! the key `(created_at, id)` descending, unique per row and never changed
//! after insert, and a page is "the `limit` rows whose key is below the
//! cursor row's key" — a keyset, not an offset. A row inserted while a
//! merchant pages has a key above every key already seen (or, with an
//! equal `created_at`, is placed by its id) and so is either on a page not
//! yet read or on one already passed, never both, and never pushes an
//! unseen row back onto a seen page as `OFFSET` would. The store turns
//! [`OrderPlan`] / [`LinkPlan`] / [`RefundPlan`] into one SQL statement; a test of the
//! e2e crate runs `EXPLAIN QUERY PLAN` on every plan this module can
//! produce.

use serde::Serialize;
use soushou::types::ChannelType;
use soushou::Fen;

use crate::error::Error;
use crate::link::{LinkAmount, LinkPayload, NEVER};
use crate::vocab::{LinkKind, OrderKind, OrderMethod, OrderStatus, RefundState, Spelled};

/// Page size when `limit` is absent.
pub const DEFAULT_LIMIT: u32 = 20;
/// Largest `limit`.
pub const MAX_LIMIT: u32 = 100;
/// Longest text filter (`link`, `ref`, `q`, `order`, `starting_after`), in bytes.
pub const MAX_TEXT: usize = 128;

/// Which rows a page starts after, and how many it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page {
    /// 1..=[`MAX_LIMIT`].
    pub limit: u32,
    /// The id of the last row of the previous page.
    pub starting_after: Option<String>,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            limit: DEFAULT_LIMIT,
            starting_after: None,
        }
    }
}

/// A `[created_gte, created_lt)` window in unix seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Created {
    /// Inclusive lower bound.
    pub gte: Option<u64>,
    /// Exclusive upper bound.
    pub lt: Option<u64>,
}

/// A payment channel as the merchant names it: the wallet, whatever the
/// gateway code it was paid through (`1` Alipay and `34` Alipay WAP are
/// both `alipay`). The order object's `channel`, the `channel` filter and
/// a statement's `by_channel` key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// Not chosen yet (a POS charge before the gateway names the wallet).
    Auto,
    /// Alipay (codes 1, 34).
    Alipay,
    /// WeChat Pay (2).
    Wechat,
    /// China Merchants Bank (3).
    Cmb,
    /// China Construction Bank (5).
    Ccb,
    /// Agricultural Bank of China (9).
    Abc,
    /// Shanghai Pudong Development Bank (10).
    Spdb,
    /// Baidu Wallet (24).
    BaiduWallet,
    /// Best Pay (27).
    BestPay,
    /// QQ Wallet (31).
    QqWallet,
    /// UnionPay (32).
    UnionPay,
    /// A code this build does not know.
    Other,
}

impl Channel {
    /// Every channel, for the filter's spellings.
    pub const ALL: [Channel; 12] = [
        Channel::Auto,
        Channel::Alipay,
        Channel::Wechat,
        Channel::Cmb,
        Channel::Ccb,
        Channel::Abc,
        Channel::Spdb,
        Channel::BaiduWallet,
        Channel::BestPay,
        Channel::QqWallet,
        Channel::UnionPay,
        Channel::Other,
    ];

    /// The channel a gateway code belongs to.
    pub fn of(code: &ChannelType) -> Channel {
        match code {
            ChannelType::Auto => Channel::Auto,
            ChannelType::Alipay | ChannelType::AlipayWap => Channel::Alipay,
            ChannelType::WeChat => Channel::Wechat,
            ChannelType::Cmb => Channel::Cmb,
            ChannelType::Ccb => Channel::Ccb,
            ChannelType::Abc => Channel::Abc,
            ChannelType::Spdb => Channel::Spdb,
            ChannelType::BaiduWallet => Channel::BaiduWallet,
            ChannelType::BestPay => Channel::BestPay,
            ChannelType::QqWallet => Channel::QqWallet,
            ChannelType::UnionPay => Channel::UnionPay,
            ChannelType::Unknown(_) => Channel::Other,
        }
    }

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Auto => "auto",
            Channel::Alipay => "alipay",
            Channel::Wechat => "wechat",
            Channel::Cmb => "cmb",
            Channel::Ccb => "ccb",
            Channel::Abc => "abc",
            Channel::Spdb => "spdb",
            Channel::BaiduWallet => "baidu_wallet",
            Channel::BestPay => "best_pay",
            Channel::QqWallet => "qq_wallet",
            Channel::UnionPay => "unionpay",
            Channel::Other => "other",
        }
    }

    /// The stored gateway codes (`orders.channel_type`) of this channel,
    /// for the filter. [`Channel::Other`] has none a filter can name.
    pub fn codes(self) -> &'static [&'static str] {
        match self {
            Channel::Auto => &["0"],
            Channel::Alipay => &["1", "34"],
            Channel::Wechat => &["2"],
            Channel::Cmb => &["3"],
            Channel::Ccb => &["5"],
            Channel::Abc => &["9"],
            Channel::Spdb => &["10"],
            Channel::BaiduWallet => &["24"],
            Channel::BestPay => &["27"],
            Channel::QqWallet => &["31"],
            Channel::UnionPay => &["32"],
            Channel::Other => &[],
        }
    }
}

/// The filters of `GET /v1/orders` (and `GET /v1/orders.csv`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFilter {
    /// `created_gte` / `created_lt`.
    pub created: Created,
    /// `state`.
    pub state: Option<OrderStatus>,
    /// `method`.
    pub method: Option<OrderMethod>,
    /// `channel`.
    pub channel: Option<Channel>,
    /// `link`: a link id.
    pub link: Option<String>,
    /// `ref`: the merchant's reference, exactly.
    pub reference: Option<String>,
    /// `q`: a prefix of the charge code, the ref or the subject.
    pub q: Option<String>,
}

/// The filters of `GET /v1/refunds`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RefundFilter {
    /// `created_gte` / `created_lt`.
    pub created: Created,
    /// `state`.
    pub state: Option<RefundState>,
    /// `order`: a charge code.
    pub order: Option<String>,
}

/// The filters of `GET /v1/links`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkFilter {
    /// `kind`.
    pub kind: Option<LinkKind>,
    /// `active`: `true` (still takes payments) or `false` (deactivated).
    pub active: Option<bool>,
    /// `ref`: the merchant's reference, exactly.
    pub reference: Option<String>,
}

/// The index a page of orders is read through: the most selective filter
/// given, else the creation order. Every index ends in `(created_at,
/// charge_code)`, so the page comes out of it already sorted (except
/// [`OrderIndex::Channel`] with several codes and [`OrderIndex::Prefix`],
/// which sort their matches).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrderIndex {
    /// `orders_by_link (link_id, created_at, charge_code)`.
    Link,
    /// `orders_by_ref (ref, created_at, charge_code)`.
    Ref,
    /// `q`: three ranges, on the primary key, `orders_by_ref` and
    /// `orders_by_subject`, merged (SQLite's OR optimisation).
    Prefix,
    /// `orders_by_state (state, created_at, charge_code)`.
    State,
    /// `orders_by_method (method, created_at, charge_code)`.
    Method,
    /// `orders_by_channel (channel_type, created_at, charge_code)`.
    Channel,
    /// `orders_by_created (created_at, charge_code)`.
    Created,
}

impl OrderIndex {
    /// The SQLite index name (`INDEXED BY`); `None` for the OR of three.
    pub fn name(self) -> Option<&'static str> {
        match self {
            OrderIndex::Link => Some("orders_by_link_created"),
            OrderIndex::Ref => Some("orders_by_ref"),
            OrderIndex::Prefix => None,
            OrderIndex::State => Some("orders_by_state"),
            OrderIndex::Method => Some("orders_by_method"),
            OrderIndex::Channel => Some("orders_by_channel"),
            OrderIndex::Created => Some("orders_by_created"),
        }
    }
}

/// The index a page of refunds is read through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RefundIndex {
    /// `refunds_by_order (charge_code, created_at, out_refund_no)`.
    Order,
    /// `refunds_by_state (state, created_at, out_refund_no)`.
    State,
    /// `refunds_by_created (created_at, out_refund_no)`.
    Created,
}

impl RefundIndex {
    /// The SQLite index name (`INDEXED BY`).
    pub fn name(self) -> &'static str {
        match self {
            RefundIndex::Order => "refunds_by_order",
            RefundIndex::State => "refunds_by_state",
            RefundIndex::Created => "refunds_by_created",
        }
    }
}

/// The index a page of links is read through (migration 0014): each ends
/// in `(created_at, link_id)`, so a page comes out of it in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkIndex {
    /// `links_by_ref (merchant_ref, created_at, link_id)`.
    Ref,
    /// `links_by_kind (kind, created_at, link_id)`.
    Kind,
    /// `links_by_active (active, created_at, link_id)`.
    Active,
    /// `links_by_created (created_at, link_id)`.
    Created,
}

impl LinkIndex {
    /// The SQLite index name (`INDEXED BY`).
    pub fn name(self) -> &'static str {
        match self {
            LinkIndex::Ref => "links_by_ref",
            LinkIndex::Kind => "links_by_kind",
            LinkIndex::Active => "links_by_active",
            LinkIndex::Created => "links_by_created",
        }
    }
}

/// One list request: its filter, its page and the index that answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan<F, I> {
    /// What the rows must match.
    pub filter: F,
    /// Which rows and how many.
    pub page: Page,
    /// Through which index.
    pub index: I,
}

/// A page of orders to read.
pub type OrderPlan = Plan<OrderFilter, OrderIndex>;
/// A page of links to read.
pub type LinkPlan = Plan<LinkFilter, LinkIndex>;
/// A page of refunds to read.
pub type RefundPlan = Plan<RefundFilter, RefundIndex>;

/// The index for an order filter. Equality on a near-unique column first
/// (a link, a ref), then a prefix, then the coarse equalities; SQLite
/// checks the other filters on the rows that index yields.
pub fn order_index(f: &OrderFilter) -> OrderIndex {
    if f.link.is_some() {
        OrderIndex::Link
    } else if f.reference.is_some() {
        OrderIndex::Ref
    } else if f.q.is_some() {
        OrderIndex::Prefix
    } else if f.state.is_some() {
        OrderIndex::State
    } else if f.method.is_some() {
        OrderIndex::Method
    } else if f.channel.is_some() {
        OrderIndex::Channel
    } else {
        OrderIndex::Created
    }
}

/// The index for a link filter: a ref is near-unique; a kind (a shop has
/// few counter codes among many one-off links) is more selective than
/// `active`, which most links are.
pub fn link_index(f: &LinkFilter) -> LinkIndex {
    if f.reference.is_some() {
        LinkIndex::Ref
    } else if f.kind.is_some() {
        LinkIndex::Kind
    } else if f.active.is_some() {
        LinkIndex::Active
    } else {
        LinkIndex::Created
    }
}

/// The index for a refund filter.
pub fn refund_index(f: &RefundFilter) -> RefundIndex {
    if f.order.is_some() {
        RefundIndex::Order
    } else if f.state.is_some() {
        RefundIndex::State
    } else {
        RefundIndex::Created
    }
}

/// The smallest string above every string that starts with `prefix`, for
/// a prefix as an index range `[prefix, upper)`; `None` when no string is
/// (the prefix is all `char::MAX`), and the range is then open above.
///
/// SQLite compares TEXT with BINARY (bytewise UTF-8, which orders like
/// code points), so incrementing the last code point that can be
/// incremented, and dropping what follows it, gives the bound.
pub fn prefix_upper(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        // The next scalar value (skipping the surrogate gap).
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            c => char::from_u32(c + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// Reads the query string of a list: the page (unless `paged` is false:
/// an export takes the filters only) and each filter by `filter`, which
/// answers whether it knew the name.
fn parse<K, V, F>(
    pairs: impl IntoIterator<Item = (K, V)>,
    paged: bool,
    mut filter: F,
) -> Result<Page, Error>
where
    K: AsRef<str>,
    V: AsRef<str>,
    F: FnMut(&str, &str) -> Result<bool, Error>,
{
    let mut page = Page::default();
    let mut seen: Vec<String> = Vec::new();
    for (k, v) in pairs {
        let (k, v) = (k.as_ref(), v.as_ref());
        if seen.iter().any(|s| s == k) {
            return Err(invalid(field_name(k), "given more than once"));
        }
        seen.push(k.to_owned());
        match k {
            "limit" if paged => page.limit = limit(v)?,
            "starting_after" if paged => page.starting_after = Some(text("starting_after", v)?),
            _ => {
                if !filter(k, v)? {
                    return Err(invalid(field_name(k), "unknown parameter"));
                }
            }
        }
    }
    Ok(page)
}

/// `GET /v1/orders?...` (`paged`) or `GET /v1/orders.csv?...` (not).
pub fn orders<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
    paged: bool,
) -> Result<OrderPlan, Error> {
    let mut f = OrderFilter::default();
    let page = parse(pairs, paged, |k, v| {
        match k {
            "created_gte" => f.created.gte = Some(time("created_gte", v)?),
            "created_lt" => f.created.lt = Some(time("created_lt", v)?),
            "state" => f.state = Some(spelled("state", v, "not an order state")?),
            "method" => f.method = Some(spelled("method", v, "not a payment method")?),
            "channel" => f.channel = Some(channel(v)?),
            "link" => f.link = Some(text("link", v)?),
            "ref" => f.reference = Some(text("ref", v)?),
            "q" => f.q = Some(text("q", v)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    check_window(&f.created)?;
    let index = order_index(&f);
    Ok(Plan {
        filter: f,
        page,
        index,
    })
}

/// `GET /v1/refunds?...`.
pub fn refunds<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Result<RefundPlan, Error> {
    let mut f = RefundFilter::default();
    let page = parse(pairs, true, |k, v| {
        match k {
            "created_gte" => f.created.gte = Some(time("created_gte", v)?),
            "created_lt" => f.created.lt = Some(time("created_lt", v)?),
            "state" => f.state = Some(spelled("state", v, "not a refund state")?),
            "order" => f.order = Some(text("order", v)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    check_window(&f.created)?;
    let index = refund_index(&f);
    Ok(Plan {
        filter: f,
        page,
        index,
    })
}

/// `GET /v1/links?...`.
pub fn links<K: AsRef<str>, V: AsRef<str>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Result<LinkPlan, Error> {
    let mut f = LinkFilter::default();
    let page = parse(pairs, true, |k, v| {
        match k {
            "kind" => f.kind = Some(spelled("kind", v, "not a link kind")?),
            "active" => {
                f.active = Some(match v {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid("active", "must be true or false")),
                })
            }
            "ref" => f.reference = Some(text("ref", v)?),
            _ => return Ok(false),
        }
        Ok(true)
    })?;
    let index = link_index(&f);
    Ok(Plan {
        filter: f,
        page,
        index,
    })
}

/// The error for a parameter.
fn invalid(field: &'static str, reason: &'static str) -> Error {
    Error::InvalidRequest { field, reason }
}

/// A known parameter's static name (the error names it; an unknown one is
/// named as a whole).
fn field_name(k: &str) -> &'static str {
    const KNOWN: [&str; 13] = [
        "limit",
        "starting_after",
        "created_gte",
        "created_lt",
        "state",
        "method",
        "channel",
        "link",
        "ref",
        "q",
        "order",
        "kind",
        "active",
    ];
    KNOWN
        .into_iter()
        .find(|n| *n == k)
        .unwrap_or("query parameter")
}

/// `limit`: a whole number 1..=100 (refused outside it, as Stripe does).
fn limit(v: &str) -> Result<u32, Error> {
    match v.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(invalid("limit", "must be a whole number from 1 to 100")),
    }
}

/// Unix seconds (digits only; at most 2^53 so D1 keeps it exact).
fn time(field: &'static str, v: &str) -> Result<u64, Error> {
    match v.parse::<u64>() {
        Ok(n) if !v.starts_with('+') && n < (1 << 53) => Ok(n),
        _ => Err(invalid(field, "must be unix seconds (a whole number)")),
    }
}

/// A non-empty text filter of at most [`MAX_TEXT`] bytes (the events
/// list's `order` too).
pub(crate) fn text(field: &'static str, v: &str) -> Result<String, Error> {
    if v.is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if v.len() > MAX_TEXT {
        return Err(invalid(field, "longer than 128 bytes"));
    }
    Ok(v.to_owned())
}

/// A spelled enum's value.
fn spelled<T: Spelled>(field: &'static str, v: &str, reason: &'static str) -> Result<T, Error> {
    T::from_spelling(v).ok_or(invalid(field, reason))
}

/// `channel`: a [`Channel`] spelling other than `other`.
fn channel(v: &str) -> Result<Channel, Error> {
    Channel::ALL
        .into_iter()
        .find(|c| c.as_str() == v && !c.codes().is_empty())
        .ok_or(invalid("channel", "not a payment channel"))
}

/// `created_gte` below `created_lt` when both are given.
fn check_window(c: &Created) -> Result<(), Error> {
    match (c.gte, c.lt) {
        (Some(gte), Some(lt)) if gte >= lt => {
            Err(invalid("created_lt", "must be after created_gte"))
        }
        _ => Ok(()),
    }
}

/// `{"data": [...], "has_more"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct List<T> {
    /// The page, newest first.
    pub data: Vec<T>,
    /// Whether rows follow the last one.
    pub has_more: bool,
}

impl<T> List<T> {
    /// The page from up to `limit + 1` rows read (the extra one only says
    /// that more follow).
    pub fn from_rows(mut rows: Vec<T>, limit: u32) -> List<T> {
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        List {
            data: rows,
            has_more,
        }
    }
}

/// An order in a list (and in a CSV row).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderItem {
    /// The attempt's `CHARGE_CODE` (the list id).
    pub charge_code: String,
    /// The link it pays, if any.
    pub link_id: Option<String>,
    /// The merchant's reference of that link.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// `PAY_SUBJECT`.
    pub subject: String,
    /// What created it.
    pub kind: OrderKind,
    /// How it was paid.
    pub method: OrderMethod,
    /// The wallet ([`Channel::as_str`]).
    pub channel: &'static str,
    /// Its state.
    pub state: OrderStatus,
    /// The amount in yuan (`"12.30"`).
    pub amount: String,
    /// The amount in fen.
    pub amount_fen: u64,
    /// Succeeded refunds in fen.
    pub refunded_fen: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, once paid.
    pub paid_at: Option<u64>,
    /// The kept payment this one duplicates (refunded as such).
    pub duplicate_of: Option<String>,
}

/// A refund in a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RefundItem {
    /// `out_refund_no` (the list id).
    pub id: String,
    /// The refunded order's charge code.
    pub charge_code: String,
    /// The amount in yuan.
    pub amount: String,
    /// The amount in fen.
    pub amount_fen: u64,
    /// The merchant's reason.
    pub reason: String,
    /// Its state.
    pub state: RefundState,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds of the last change.
    pub updated_at: u64,
}

/// A link as the list query reads it (the `links` row).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredLink {
    /// `link_id`.
    pub id: String,
    /// Its kind.
    pub kind: LinkKind,
    /// Whether it still takes payments.
    pub active: bool,
    /// What is paid for.
    pub subject: String,
    /// The merchant's reference.
    pub reference: Option<String>,
    /// A fixed link's amount; an open one's upper bound.
    pub amount: Fen,
    /// Unix seconds ([`NEVER`] for a counter code without expiry).
    pub expires_at: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, once deactivated.
    pub deactivated_at: Option<u64>,
    /// The signed token (`None` for links stored before migration 0004).
    pub token: Option<String>,
}

/// A link in a list: contract v1.1's `id`, `kind`, `url`, `active`, and
/// what the merchant needs to tell links apart (subject, ref, amount or
/// bounds, expiry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkItem {
    /// The link's id (the list id).
    pub id: String,
    /// Its kind.
    pub kind: LinkKind,
    /// The checkout page's URL; `null` for a link stored without its token.
    pub url: Option<String>,
    /// The signed token; `null` likewise.
    pub token: Option<String>,
    /// Whether it still takes payments.
    pub active: bool,
    /// What is paid for.
    pub subject: String,
    /// The merchant's reference.
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// A fixed link's amount in yuan (`null` for open and counter links).
    pub amount: Option<String>,
    /// The same in fen.
    pub amount_fen: Option<u64>,
    /// The shopper's smallest amount (open and counter links whose token
    /// was read), yuan.
    pub min_amount: Option<String>,
    /// The shopper's largest amount (open and counter links), yuan.
    pub max_amount: Option<String>,
    /// Unix seconds from which it can no longer be paid; `null` for a
    /// counter code without expiry.
    pub expires_at: Option<u64>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, once deactivated.
    pub deactivated_at: Option<u64>,
}

impl LinkItem {
    /// The list entry of a stored link; `url` is its page's address and
    /// `payload` its verified token (the bounds of an open or counter
    /// link live only there), each `None` where there is no token.
    pub fn of(row: StoredLink, url: Option<String>, payload: Option<&LinkPayload>) -> LinkItem {
        let fixed = row.kind == LinkKind::Fixed;
        let bounds = match payload.map(|p| p.amount) {
            Some(LinkAmount::Open { min, max }) => (Some(min.to_yuan()), Some(max.to_yuan())),
            _ if !fixed => (None, Some(row.amount.to_yuan())),
            _ => (None, None),
        };
        LinkItem {
            id: row.id,
            kind: row.kind,
            url,
            token: row.token,
            active: row.active,
            subject: row.subject,
            reference: row.reference,
            amount: fixed.then(|| row.amount.to_yuan()),
            amount_fen: fixed.then(|| row.amount.fen()),
            min_amount: bounds.0,
            max_amount: bounds.1,
            expires_at: (row.expires_at != NEVER).then_some(row.expires_at),
            created_at: row.created_at,
            deactivated_at: row.deactivated_at,
        }
    }
}

/// Yuan and fen of an amount, as the list objects carry both.
pub fn money(f: Fen) -> (String, u64) {
    (f.to_yuan(), f.fen())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Vec<(String, String)> {
        s.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn order_parameters() {
        let p = orders(q(""), true).unwrap();
        assert_eq!(p.page, Page::default());
        assert_eq!(p.index, OrderIndex::Created);
        let p = orders(
            q(
                "limit=5&starting_after=C1&created_gte=10&created_lt=20&state=paid&method=wap\
               &channel=alipay&link=L&ref=R&q=ab",
            ),
            true,
        )
        .unwrap();
        assert_eq!(p.page.limit, 5);
        assert_eq!(p.page.starting_after.as_deref(), Some("C1"));
        assert_eq!(
            p.filter,
            OrderFilter {
                created: Created {
                    gte: Some(10),
                    lt: Some(20)
                },
                state: Some(OrderStatus::Paid),
                method: Some(OrderMethod::Wap),
                channel: Some(Channel::Alipay),
                link: Some("L".into()),
                reference: Some("R".into()),
                q: Some("ab".into()),
            }
        );
        assert_eq!(p.index, OrderIndex::Link);
    }

    #[test]
    fn refused_parameters_name_the_field() {
        for (query, field, reason) in [
            ("limit=0", "limit", "must be a whole number from 1 to 100"),
            ("limit=101", "limit", "must be a whole number from 1 to 100"),
            ("limit=ten", "limit", "must be a whole number from 1 to 100"),
            ("limit=-1", "limit", "must be a whole number from 1 to 100"),
            (
                "created_gte=yesterday",
                "created_gte",
                "must be unix seconds (a whole number)",
            ),
            (
                "created_lt=+5",
                "created_lt",
                "must be unix seconds (a whole number)",
            ),
            (
                "created_lt=99999999999999999999",
                "created_lt",
                "must be unix seconds (a whole number)",
            ),
            (
                "created_gte=20&created_lt=20",
                "created_lt",
                "must be after created_gte",
            ),
            ("state=settled", "state", "not an order state"),
            ("method=cash", "method", "not a payment method"),
            ("channel=other", "channel", "not a payment channel"),
            ("channel=2", "channel", "not a payment channel"),
            ("link=", "link", "must not be empty"),
            ("state=paid&state=closed", "state", "given more than once"),
            ("sate=paid", "query parameter", "unknown parameter"),
            ("order=C1", "order", "unknown parameter"),
        ] {
            assert_eq!(
                orders(q(query), true),
                Err(Error::InvalidRequest { field, reason }),
                "{query}"
            );
        }
        let long = format!("q={}", "x".repeat(129));
        assert!(orders(q(&long), true).is_err());
        // An export has no pages.
        assert_eq!(
            orders(q("limit=5"), false),
            Err(Error::InvalidRequest {
                field: "limit",
                reason: "unknown parameter"
            })
        );
        assert!(orders(q("state=paid&q=x"), false).is_ok());
    }

    #[test]
    fn refund_parameters() {
        let p = refunds(q("state=succeeded&created_lt=9")).unwrap();
        assert_eq!(p.filter.state, Some(RefundState::Succeeded));
        assert_eq!(p.index, RefundIndex::State);
        assert_eq!(refunds(q("order=C")).unwrap().index, RefundIndex::Order);
        assert_eq!(refunds(q("")).unwrap().index, RefundIndex::Created);
        assert_eq!(
            refunds(q("state=paid")),
            Err(Error::InvalidRequest {
                field: "state",
                reason: "not a refund state"
            })
        );
        assert!(refunds(q("method=wap")).is_err());
    }

    #[test]
    fn link_parameters() {
        let p = links(q("")).unwrap();
        assert_eq!((p.page, p.index), (Page::default(), LinkIndex::Created));
        let p = links(q(
            "kind=counter&active=true&ref=R&limit=3&starting_after=L1",
        ))
        .unwrap();
        assert_eq!(
            p.filter,
            LinkFilter {
                kind: Some(LinkKind::Counter),
                active: Some(true),
                reference: Some("R".into()),
            }
        );
        assert_eq!((p.page.limit, p.index), (3, LinkIndex::Ref));
        assert_eq!(
            links(q("kind=open&active=false")).unwrap().index,
            LinkIndex::Kind
        );
        assert_eq!(links(q("active=false")).unwrap().filter.active, Some(false));
        assert_eq!(links(q("active=false")).unwrap().index, LinkIndex::Active);
        for (query, field, reason) in [
            ("kind=qr", "kind", "not a link kind"),
            ("active=1", "active", "must be true or false"),
            ("active=", "active", "must be true or false"),
            ("ref=", "ref", "must not be empty"),
            ("state=paid", "state", "unknown parameter"),
            ("kind=open&kind=fixed", "kind", "given more than once"),
            ("limit=0", "limit", "must be a whole number from 1 to 100"),
        ] {
            assert_eq!(
                links(q(query)),
                Err(Error::InvalidRequest { field, reason }),
                "{query}"
            );
        }
        // The link filters are not the orders' own.
        assert!(orders(q("kind=open"), true).is_err());
    }

    #[test]
    fn link_items_carry_amount_or_bounds() {
        let row = |kind, amount| StoredLink {
            id: "L".into(),
            kind,
            active: true,
            subject: "tea".into(),
            reference: None,
            amount: Fen::from_fen(amount),
            expires_at: NEVER,
            created_at: 5,
            deactivated_at: None,
            token: Some("t".into()),
        };
        let fixed = LinkItem::of(row(LinkKind::Fixed, 1250), Some("u".into()), None);
        assert_eq!(
            (fixed.amount.as_deref(), fixed.amount_fen, &fixed.max_amount),
            (Some("12.50"), Some(1250), &None)
        );
        assert_eq!(fixed.expires_at, None);
        let payload: LinkPayload = serde_json::from_value(serde_json::json!(
            {"lo": 100, "hi": 50000, "s": "tea", "e": 9, "m": true, "n": "x"}
        ))
        .unwrap();
        let counter = LinkItem::of(row(LinkKind::Counter, 50000), None, Some(&payload));
        assert_eq!(counter.amount, None);
        assert_eq!(counter.min_amount.as_deref(), Some("1.00"));
        assert_eq!(counter.max_amount.as_deref(), Some("500.00"));
        // Without its token, the row still gives the upper bound.
        let open = LinkItem::of(row(LinkKind::Open, 900), None, None);
        assert_eq!(
            (open.min_amount, open.max_amount.as_deref()),
            (None, Some("9.00"))
        );
        let v = serde_json::to_value(&counter).unwrap();
        assert_eq!(v["kind"], "counter");
        assert_eq!(v["ref"], serde_json::Value::Null);
    }

    #[test]
    fn link_index_choice_table() {
        let with = |f: LinkFilter| link_index(&f);
        assert_eq!(with(LinkFilter::default()), LinkIndex::Created);
        let active = LinkFilter {
            active: Some(true),
            ..LinkFilter::default()
        };
        assert_eq!(with(active.clone()), LinkIndex::Active);
        let kind = LinkFilter {
            kind: Some(LinkKind::Open),
            ..active
        };
        assert_eq!(with(kind.clone()), LinkIndex::Kind);
        let reference = LinkFilter {
            reference: Some("r".into()),
            ..kind
        };
        assert_eq!(with(reference), LinkIndex::Ref);
    }

    #[test]
    fn index_choice_table() {
        let base = OrderFilter::default();
        let with = |edit: &dyn Fn(&mut OrderFilter)| {
            let mut f = base.clone();
            edit(&mut f);
            order_index(&f)
        };
        assert_eq!(with(&|_| {}), OrderIndex::Created);
        assert_eq!(with(&|f| f.created.gte = Some(1)), OrderIndex::Created);
        assert_eq!(
            with(&|f| f.channel = Some(Channel::Wechat)),
            OrderIndex::Channel
        );
        assert_eq!(
            with(&|f| {
                f.channel = Some(Channel::Wechat);
                f.method = Some(OrderMethod::Wap)
            }),
            OrderIndex::Method
        );
        assert_eq!(
            with(&|f| {
                f.method = Some(OrderMethod::Wap);
                f.state = Some(OrderStatus::Paid)
            }),
            OrderIndex::State
        );
        assert_eq!(
            with(&|f| {
                f.state = Some(OrderStatus::Paid);
                f.q = Some("a".into())
            }),
            OrderIndex::Prefix
        );
        assert_eq!(
            with(&|f| {
                f.q = Some("a".into());
                f.reference = Some("r".into())
            }),
            OrderIndex::Ref
        );
        assert_eq!(
            with(&|f| {
                f.reference = Some("r".into());
                f.link = Some("l".into())
            }),
            OrderIndex::Link
        );
    }

    #[test]
    fn prefix_bounds() {
        assert_eq!(prefix_upper("abc").as_deref(), Some("abd"));
        assert_eq!(prefix_upper("a").as_deref(), Some("b"));
        assert_eq!(prefix_upper("咖啡").as_deref(), Some("咖啢"));
        assert_eq!(prefix_upper("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_upper("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_upper("\u{10FFFF}"), None);
        assert_eq!(prefix_upper(""), None);
        // Every string with the prefix sorts inside [prefix, upper) bytewise.
        for (p, s) in [
            ("ab", "ab"),
            ("ab", "abzzz"),
            ("ab", "ab\u{10FFFF}"),
            ("咖", "咖啡"),
        ] {
            let up = prefix_upper(p).unwrap();
            assert!(
                s.as_bytes() >= p.as_bytes() && s.as_bytes() < up.as_bytes(),
                "{s}"
            );
        }
        for (p, s) in [("ab", "ac"), ("ab", "aa"), ("ab", "b")] {
            let up = prefix_upper(p).unwrap();
            assert!(
                !(s.as_bytes() >= p.as_bytes() && s.as_bytes() < up.as_bytes()),
                "{s}"
            );
        }
    }

    #[test]
    fn channels() {
        assert_eq!(Channel::of(&ChannelType::AlipayWap), Channel::Alipay);
        assert_eq!(Channel::of(&ChannelType::WeChat).as_str(), "wechat");
        assert_eq!(
            Channel::of(&ChannelType::Unknown("77".into())),
            Channel::Other
        );
        // Every code a channel filters on is read back as that channel.
        for c in Channel::ALL {
            for code in c.codes() {
                let ct: ChannelType = serde_json::from_str(&format!("\"{code}\"")).unwrap();
                assert_eq!(Channel::of(&ct), c, "{code}");
            }
        }
    }

    #[test]
    fn pages_from_rows() {
        assert_eq!(
            List::from_rows(vec![1, 2, 3], 2),
            List {
                data: vec![1, 2],
                has_more: true
            }
        );
        assert_eq!(
            List::from_rows(vec![1, 2], 2),
            List {
                data: vec![1, 2],
                has_more: false
            }
        );
    }
}
