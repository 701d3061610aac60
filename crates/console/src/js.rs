//! The console's own browser wrappers (wasm only): the address bar as the
//! app's navigation. The ones the checkout page has already are its
//! (`checkout_page::js`).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

pub use checkout_page::js::{
    browser_languages, describe, document, focus_heading, now_secs, sleep, window,
};

/// The address's path and query (with its `?`).
pub fn location() -> (String, String) {
    let l = window().location();
    (
        l.pathname().unwrap_or_default(),
        l.search().unwrap_or_default(),
    )
}

/// A new history entry for `href` (an app navigation, no reload).
pub fn push(href: &str) {
    if let Ok(history) = window().history() {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
    }
}

/// Replaces the current history entry's address (a redirect inside the app).
pub fn replace(href: &str) {
    if let Ok(history) = window().history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
    }
}

/// Runs `f` on back / forward.
pub fn on_popstate(f: impl Fn() + 'static) {
    let handler = Closure::<dyn Fn()>::new(f);
    let _ = window().add_event_listener_with_callback("popstate", handler.as_ref().unchecked_ref());
    // The app lives as long as the document.
    handler.forget();
}

/// Turns plain clicks on the console's own links (`<a href="/console…">`)
/// into app navigations: `go` gets the address and the page does not
/// reload. A click with a modifier (new tab), a download or another
/// site's link is left to the browser.
pub fn intercept_links(go: impl Fn(String) + 'static) {
    let handler = Closure::<dyn Fn(web_sys::MouseEvent)>::new(move |ev: web_sys::MouseEvent| {
        if ev.default_prevented()
            || ev.button() != 0
            || ev.ctrl_key()
            || ev.meta_key()
            || ev.shift_key()
            || ev.alt_key()
        {
            return;
        }
        let anchor = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            .and_then(|el| el.closest("a[href]").ok().flatten())
            .and_then(|el| el.dyn_into::<web_sys::HtmlAnchorElement>().ok());
        let Some(a) = anchor else { return };
        let href = a.get_attribute("href").unwrap_or_default();
        let own = href == crate::route::BASE || href.starts_with("/console/");
        if !own || a.has_attribute("download") || !a.target().is_empty() {
            return;
        }
        ev.prevent_default();
        go(href);
    });
    let _ = document().add_event_listener_with_callback("click", handler.as_ref().unchecked_ref());
    handler.forget();
}

/// A fresh random id, 128 bits in hex (an `Idempotency-Key`: one per
/// confirmation). `getRandomValues` works outside secure contexts too.
pub fn random_id() -> String {
    let mut bytes = [0u8; 16];
    // Every browser has `crypto`; a key of zeros would merge two refunds.
    window()
        .crypto()
        .and_then(|c| c.get_random_values_with_u8_array(&mut bytes))
        .expect("the browser's crypto.getRandomValues");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sets `<html lang>` and the document title.
pub fn set_title(lang_tag: &str, title: &str) {
    let doc = document();
    if let Some(root) = doc.document_element() {
        let _ = root.set_attribute("lang", lang_tag);
    }
    doc.set_title(title);
}
