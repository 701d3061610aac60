//! The shopper's checkout page: a Leptos client-side-rendered app compiled
//! to wasm and served by the Worker at `/c/{token}`.
//!
//! Pure logic (the screen logic as a reducer in [`state`], the polling
//! schedule, wallet result mapping, error wording, address parsing) lives
//! in plain modules with host unit tests; the browser-only parts (`api`,
//! `bridge`, `js`, `app`, `screens`) compile for `wasm32` only and decide
//! nothing: `app` runs the effects [`state::step`] asks for, `screens`
//! draw its [`state::Page`]. Method selection is `checkout::routing`'s,
//! never the page's own.

#![warn(missing_docs)]

pub mod decode;
pub mod encode;
pub mod error;
/// Money and time-left formatting, shared with the Worker's HTML shell.
pub use checkout::format;
pub mod i18n;
pub mod location;
pub mod outcome;
pub mod poll;
pub mod state;

pub use error::Error;

#[cfg(all(target_arch = "wasm32", not(feature = "library")))]
mod api;
#[cfg(all(target_arch = "wasm32", not(feature = "library")))]
mod app;
#[cfg(all(target_arch = "wasm32", not(feature = "library")))]
mod bridge;
#[cfg(all(target_arch = "wasm32", not(feature = "library")))]
mod ctx;
#[cfg(all(target_arch = "wasm32", not(feature = "library")))]
mod js;
/// Browser wrappers, shared with the merchant console (`library`).
#[cfg(all(target_arch = "wasm32", feature = "library"))]
pub mod js;
#[cfg(target_arch = "wasm32")]
mod js_json;
#[cfg(all(target_arch = "wasm32", not(feature = "library")))]
mod screens;

/// Entry point, run by `init()` in `boot.js`: swaps the static skeleton for the app.
#[cfg(all(target_arch = "wasm32", not(feature = "library")))]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    js::remove_boot_skeleton();
    leptos::mount::mount_to_body(app::App);
}
