//! The D1 handle every query goes through: [`Db`] wraps the binding and
//! counts each round trip (a statement's `run`/`all`/`first`, or one
//! `batch`) and its time into the request's [`Tally`] (kept by `log`),
//! which the request log line reports as `"d1": {"calls", "ms"}` next to
//! the gateway calls.
//!
//! Why a wrapper and not a counter at each call site: `Cx::db()` hands out
//! only a [`Db`], and a [`Stmt`] can only be run through its own methods,
//! so no query can reach D1 without being counted.
//!
//! The handle also carries the request's *rider*: one statement (the audit
//! entry of a mutating merchant request, `flows::access`) that must commit
//! in the same transaction as the request's first change. A write that
//! records a merchant's change runs through [`Db::change`], which adds the
//! rider to its batch the first time; whoever ends the request writes a
//! rider no change carried ([`Db::rider`]).

use std::cell::RefCell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result};

use crate::platform::log::{now_ms, Tally};

/// The `DB` binding, counted.
pub struct Db {
    inner: D1Database,
    tally: Rc<Tally>,
    rider: RefCell<Rider>,
}

/// The rider statement of a request (module doc): its SQL and parameters,
/// and whether a change's batch has committed it.
#[derive(Clone, Debug, Default)]
pub enum Rider {
    /// None set.
    #[default]
    None,
    /// Set, not yet written.
    Pending(String, Vec<JsValue>),
    /// Written by a change's batch.
    Carried,
}

impl Db {
    /// Wraps the binding; round trips go into `tally`.
    pub fn new(inner: D1Database, tally: Rc<Tally>) -> Self {
        Db {
            inner,
            tally,
            rider: RefCell::new(Rider::None),
        }
    }

    /// Sets the statement the request's first change carries.
    pub fn set_rider(&self, sql: String, params: Vec<JsValue>) {
        *self.rider.borrow_mut() = Rider::Pending(sql, params);
    }

    /// The rider's state.
    pub fn rider(&self) -> Rider {
        self.rider.borrow().clone()
    }

    /// Runs the statements of a merchant's change as one batch, with the
    /// rider if it is still pending (after them): the change and its audit
    /// entry commit together or not at all.
    pub async fn change(&self, mut statements: Vec<Stmt<'_>>) -> worker::Result<Vec<D1Result>> {
        let pending = match &*self.rider.borrow() {
            Rider::Pending(sql, params) => Some(self.prepare(sql).bind(params)?),
            _ => None,
        };
        let carries = pending.is_some();
        statements.extend(pending);
        let results = self.batch(statements).await?;
        if carries {
            *self.rider.borrow_mut() = Rider::Carried;
        }
        Ok(results)
    }

    /// A statement (no round trip until it runs).
    pub fn prepare(&self, sql: &str) -> Stmt<'_> {
        Stmt {
            inner: self.inner.prepare(sql),
            db: self,
        }
    }

    /// Runs `statements` in one round trip, as one transaction.
    pub async fn batch(&self, statements: Vec<Stmt<'_>>) -> worker::Result<Vec<D1Result>> {
        let started = now_ms();
        let result = self
            .inner
            .batch(statements.into_iter().map(|s| s.inner).collect())
            .await;
        self.tally.add(now_ms().saturating_sub(started));
        result
    }
}

/// A prepared statement of a [`Db`]; running it is one counted round trip.
pub struct Stmt<'a> {
    inner: D1PreparedStatement,
    db: &'a Db,
}

impl<'a> Stmt<'a> {
    /// Binds the parameters (`?1`, `?2`, ...).
    pub fn bind(self, params: &[JsValue]) -> worker::Result<Self> {
        Ok(Stmt {
            inner: self.inner.bind(params)?,
            db: self.db,
        })
    }

    /// Runs a write.
    pub async fn run(self) -> worker::Result<D1Result> {
        let started = now_ms();
        let result = self.inner.run().await;
        self.db.tally.add(now_ms().saturating_sub(started));
        result
    }

    /// Every row.
    pub async fn all(self) -> worker::Result<D1Result> {
        let started = now_ms();
        let result = self.inner.all().await;
        self.db.tally.add(now_ms().saturating_sub(started));
        result
    }

    /// The first row, if any.
    pub async fn first<T: DeserializeOwned>(self) -> worker::Result<Option<T>> {
        let started = now_ms();
        let result = self.inner.first::<T>(None).await;
        self.db.tally.add(now_ms().saturating_sub(started));
        result
    }
}
