//! The money flows the routes call, one module each: [`pay`] (a new
//! attempt at the gateway), [`notify`], [`refund`], [`duplicate`]
//! (refunding a second payment of a link), [`reconcile`] (polling and the
//! cron sweep), [`pos`] (a POS charge), [`cancel`] and [`webhook`]
//! (delivery), each `checkout::flow`'s decisions run by [`exec`] (the
//! plan executor) with their follow-ups ([`follow_up`]); plus [`link`]
//! (what a link shows), [`signin`] (the wallets' sign-in exchanges),
//! [`idempotency`] (`Idempotency-Key` around `/v1` POSTs) and [`access`]
//! (the merchant API's caller and audit entry).
//!
//! A flow loads its snapshot (`crate::store`), asks `checkout` what to do
//! and has the executor do it; `cargo xtask house` counts, per flow, its
//! call sites into both.

pub mod access;
pub mod cancel;
pub mod duplicate;
pub mod epay;
pub mod exec;
pub mod follow_up;
pub mod idempotency;
pub mod link;
pub mod notify;
pub mod pay;
pub mod pos;
pub mod reconcile;
pub mod refund;
pub mod signin;
pub mod statement;
pub mod webhook;
