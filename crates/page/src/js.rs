//! Thin wrappers over the browser APIs the page uses (wasm only).

use js_sys::{Date, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{UrlSearchParams, Window};

use crate::i18n::Lang;
use crate::location::{present, token_from_path, PageParams};

/// The browser window (the page only ever runs in one).
pub fn window() -> Window {
    web_sys::window().expect("the page runs in a browser window")
}

/// The document.
pub fn document() -> web_sys::Document {
    window().document().expect("a window has a document")
}

/// A JS exception or rejection as text, for error messages.
pub fn describe(value: &JsValue) -> String {
    value
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| value.as_string())
        .unwrap_or_else(|| "unknown error".to_owned())
}

/// A browser object with the given string members ([`crate::encode`]).
pub fn object(members: &crate::encode::Members<'_>) -> JsValue {
    let object = Object::new();
    for (name, value) in members {
        let _ = Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    object.into()
}

/// Waits `ms` milliseconds without blocking the page.
pub async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        let _ = window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
    });
    let _ = JsFuture::from(promise).await;
}

/// Now, unix seconds.
pub fn now_secs() -> u64 {
    (Date::now() / 1000.0) as u64
}

/// A unix time as local date and time in the page's language
/// ([`Lang::datetime`], in the browser's zone at that instant).
pub fn local_datetime(secs: u64, lang: Lang) -> String {
    let date = Date::new(&JsValue::from_f64(secs as f64 * 1000.0));
    // getTimezoneOffset is minutes west of UTC (China: -480).
    let offset_east_secs = -(date.get_timezone_offset() as i64) * 60;
    lang.datetime(secs, offset_east_secs)
}

/// The page's user agent string.
pub fn user_agent() -> String {
    window().navigator().user_agent().unwrap_or_default()
}

/// The browser's preferred languages, most preferred first.
pub fn browser_languages() -> Vec<String> {
    let nav = window().navigator();
    let mut langs: Vec<String> = nav
        .languages()
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    if langs.is_empty() {
        langs.extend(nav.language());
    }
    langs
}

/// Reads token and query parameters from the page's address, then removes
/// the shopper's wallet id from it (issue 24): read once, it lives in the
/// page's state; the address bar, a bookmark or WeChat's share never carry
/// it on.
pub fn page_params() -> PageParams {
    let location = window().location();
    let path = location.pathname().unwrap_or_default();
    let query = UrlSearchParams::new_with_str(&location.search().unwrap_or_default()).ok();
    let get = |name: &str| present(query.as_ref().and_then(|q| q.get(name)));
    let params = PageParams {
        token: token_from_path(&path).map(str::to_owned),
        openid: get("openid"),
        buyer_id: get("buyer_id"),
        charge_code: get("charge_code"),
        lang: get("lang"),
    };
    if params.openid.is_some() || params.buyer_id.is_some() {
        replace_query(|q| {
            q.delete("openid");
            q.delete("buyer_id");
        });
    }
    params
}

/// Puts `?charge_code=` into the current history entry before an app jump,
/// so coming back (back button, reload) resumes watching that order.
pub fn remember_charge_code(code: &str) {
    replace_query(|q| q.set("charge_code", code));
}

/// Edits the current history entry's query in place (no navigation).
fn replace_query(edit: impl FnOnce(&UrlSearchParams)) {
    let href = window().location().href().unwrap_or_default();
    if let Ok(url) = web_sys::Url::new(&href) {
        edit(&url.search_params());
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&url.href()));
        }
    }
}

/// Navigates the whole page (the wap app jump).
pub fn navigate(url: &str) {
    let _ = window().location().set_href(url);
}

/// Sets `<html lang>` and the document title for the chosen language.
pub fn set_language(lang: Lang) {
    let doc = document();
    if let Some(root) = doc.document_element() {
        let _ = root.set_attribute("lang", lang.tag());
    }
    doc.set_title(lang.t().title);
}

/// Focuses the current screen's heading (a `Title`: `tabindex="-1"`), if
/// it has one, so screen readers announce the new screen.
pub fn focus_heading() {
    if let Ok(Some(heading)) = document().query_selector("#main h1[tabindex]") {
        if let Some(heading) = heading.dyn_ref::<web_sys::HtmlElement>() {
            let _ = heading.focus();
        }
    }
}

/// Removes the static loading skeleton of index.html once the app mounts.
pub fn remove_boot_skeleton() {
    if let Some(el) = document().get_element_by_id("boot") {
        el.remove();
    }
}

/// The link's `GET /api/checkout` answer the Worker put into the page
/// (`checkout::shell`), parsed; the element is removed, so only the first
/// load uses it and a reload of the link (retry, "already paid") asks the
/// Worker again. `None` when there is none or it is not JSON.
pub fn take_embedded_checkout() -> Option<JsValue> {
    let el = document().get_element_by_id(checkout::shell::DATA_ID)?;
    let text = el.text_content();
    el.remove();
    js_sys::JSON::parse(&text?).ok()
}

/// What the page can see beyond the user agent (a wallet bridge already
/// injected, a touch screen behind a desktop UA such as iPadOS Safari).
pub fn environment_flags() -> checkout::routing::Flags {
    let w = window();
    let has = |name: &str| {
        Reflect::get(&w, &JsValue::from_str(name)).is_ok_and(|v| !v.is_undefined() && !v.is_null())
    };
    checkout::routing::Flags {
        wechat_bridge: has("WeixinJSBridge"),
        alipay_bridge: has("AlipayJSBridge"),
        touch: w.navigator().max_touch_points() > 1,
    }
}

/// Runs `f` whenever the page becomes visible again (the shopper switched
/// back from a wallet app, or the page came back from the back-forward cache).
pub fn on_visible(f: impl Fn() + 'static) {
    let doc = document();
    let handler = wasm_bindgen::closure::Closure::<dyn Fn()>::new(move || {
        if !document().hidden() {
            f();
        }
    });
    let _ =
        doc.add_event_listener_with_callback("visibilitychange", handler.as_ref().unchecked_ref());
    // The page lives as long as the document: the listener is never removed.
    handler.forget();
}
