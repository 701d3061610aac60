//! The checkout domain, pure: signed checkout links, the order state machine,
//! channel routing and the JSON types of the Worker's HTTP API.
//!
//! Why a separate crate: everything here can be decided without a network, a
//! store, a clock or a browser, so it is unit-tested on the host and compiled
//! unchanged into both the Cloudflare Worker and the Leptos page (wasm32).
//! Callers inject everything impure: `now` (unix seconds), nonces, secrets.
//!
//! Money is [`soushou::Fen`] (integer fen) from the first parse to the last
//! format; the yuan string exists only at the API boundary ([`amount`]).
#![deny(missing_docs)]

pub mod access;
pub mod amount;
pub mod api;
pub mod csv;
pub mod epay;
pub mod error;
pub mod events;
pub mod flow;
pub mod format;
pub mod gateway;
pub mod guard;
pub mod health;
pub mod idempotency;
pub mod link;
pub mod list;
pub mod merchant;
pub mod oauth;
pub mod pos;
pub mod qr;
pub mod routing;
pub mod secret;
pub mod settle;
pub mod shell;
pub mod state;
pub mod statement;
pub mod sweep;
pub mod vocab;
pub mod webhook;

pub use error::Error;
