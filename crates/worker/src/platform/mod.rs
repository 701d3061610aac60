//! What every layer stands on, with no money logic: settings ([`config`]),
//! the per-request context ([`context`]), the counted D1 handle ([`db`]),
//! JSON log lines ([`log`]), the one error enum and its HTTP mapping
//! ([`error`]), Fetch with a timeout around `soushou::envelope`
//! ([`gateway`]), the JSON and HTML edges of a response ([`http`]), capped
//! body reads ([`guard`]), WebCrypto ([`crypto`]) and the merchant's
//! webhook endpoint ([`webhook`]).

pub mod config;
pub mod context;
pub mod crypto;
pub mod db;
pub mod error;
pub mod gateway;
pub mod guard;
pub mod http;
pub mod log;
pub mod webhook;
