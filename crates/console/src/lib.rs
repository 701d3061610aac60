//! The merchant console: a Leptos client-side-rendered app served by the
//! Worker at `/console`, its own bundle (the checkout page's first load
//! does not carry it). It talks only to the public merchant API (`/v1/*`,
//! API.md): anything the console does, an API user can do.
//!
//! Layout, like the page's: pure modules with host tests ([`route`]: the
//! screens as addresses; [`nav`]: what each role sees; [`i18n`]; [`error`]),
//! and the browser-only parts (`api`: the API client; `js`: browser
//! wrappers; `app`: the shell, session and navigation; `screens/`: one
//! file per screen) compiled for `wasm32` only. A new screen is a
//! [`route::Route`] variant and a file in `screens/`.

#![warn(missing_docs)]
// The one `Error` carries an API error's whole body and request id (what
// the screen shows beside the control); the decoders return it too.
// Boxing it would add code to every call for nothing measurable: no
// result is on a hot path.
#![allow(clippy::result_large_err)]

pub mod decode;
pub mod desk;
pub mod error;
pub mod i18n;
pub mod link_form;
pub mod model;
pub mod nav;
pub mod route;
pub mod screen_text;

pub use error::Error;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod ctx;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod screens;

/// Entry point, run by `init()` in `boot.js`.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen(start)]
pub fn start() {
    if let Some(el) = js::document().get_element_by_id("boot") {
        el.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
