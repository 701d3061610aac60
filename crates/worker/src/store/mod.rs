//! All SQL of the Worker, one module per table family (schema in
//! `migrations/`): [`links`], [`attempts`] (orders, their state history and
//! processed notifications), [`refunds`], [`idempotency`] (keys),
//! [`signin`] (`oauth_states`), [`statements`] (daily statements), [`lists`] (the merchant's lists and
//! exports, their SQL built in [`list_sql`]), [`events`] (the webhook outbox, its
//! delivery state and attempts) and [`staff`] (keys, sessions, sign-in
//! links, the audit log) and [`health`] (the cron's last run, the
//! migrations applied). `cargo xtask house` fails on SQL
//! anywhere else.
//!
//! Rows are typed at this boundary: money is `soushou::Fen`, states and
//! channels are enums; a stored value the enum does not know is a storage
//! error (serde refuses the row), never a panic.
//!
//! State changes are conditional updates (`... WHERE state = ?from`, or for
//! a notification `... WHERE state IN (?from, …)` with the read in the same
//! batch) run in a batch (one transaction) with the history insert, so two
//! concurrent notifications cannot both apply a transition, and a caller
//! learns whether its write was the one that applied.

pub mod attempts;
pub mod epay;
pub mod events;
pub mod health;
pub mod idempotency;
pub mod links;
pub mod list_sql;
pub mod lists;
pub mod plan;
pub mod refunds;
pub mod signin;
pub mod snapshots;
pub mod staff;
pub mod statements;

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;

use crate::platform::db::{Db, Stmt};
use crate::platform::error::{ApiError, ApiResult};

/// Reads a stored integer fen amount. Not `soushou::money::serde_fen`: D1
/// rows arrive through `serde_wasm_bindgen`, which hands every safe integer
/// to `visit_i64`, and the wire reader refuses a signed amount; `u64`'s own
/// reader takes a non-negative one and refuses the rest (a storage error).
pub(crate) fn fen<'de, D: serde::Deserializer<'de>>(d: D) -> Result<soushou::Fen, D::Error> {
    use serde::Deserialize;
    u64::deserialize(d).map(soushou::Fen::from_fen)
}

/// [`fen`] of a nullable column.
pub(crate) fn opt_fen<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<soushou::Fen>, D::Error> {
    use serde::Deserialize;
    Option::<u64>::deserialize(d).map(|o| o.map(soushou::Fen::from_fen))
}

/// A text parameter.
pub(crate) fn t(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// An integer parameter (D1 numbers are f64: exact below 2^53, far above any fen or time here).
pub(crate) fn n(v: u64) -> JsValue {
    JsValue::from_f64(v as f64)
}

/// An optional text parameter.
pub(crate) fn ot(s: Option<&str>) -> JsValue {
    s.map(t).unwrap_or(JsValue::NULL)
}

/// D1's failures are storage errors (the caller may retry), unlike the
/// runtime's other failures (`From<worker::Error>` in `error`).
pub(crate) trait Stored<T> {
    /// The result, a failure as [`ApiError::Storage`].
    fn stored(self) -> ApiResult<T>;
}

impl<T> Stored<T> for worker::Result<T> {
    fn stored(self) -> ApiResult<T> {
        self.map_err(|e| ApiError::Storage(e.to_string()))
    }
}

pub(crate) fn prepare<'d>(db: &'d Db, sql: &str, params: &[JsValue]) -> ApiResult<Stmt<'d>> {
    db.prepare(sql).bind(params).stored()
}

/// Every row a query returns.
pub(crate) async fn all<T: DeserializeOwned>(
    db: &Db,
    sql: &str,
    params: &[JsValue],
) -> ApiResult<Vec<T>> {
    prepare(db, sql, params)?
        .all()
        .await
        .stored()?
        .results::<T>()
        .stored()
}

/// Rows changed by a write, from the result metadata.
pub(crate) fn changes(result: &worker::D1Result) -> ApiResult<usize> {
    Ok(result.meta().stored()?.and_then(|m| m.changes).unwrap_or(0))
}
