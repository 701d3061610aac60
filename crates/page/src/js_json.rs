//! The browser's parsed JSON (`response.json()`, `JSON.parse`) as a
//! [`crate::decode::Json`]: the page's answers, and the merchant console's
//! (which reads more than the page, through its own extension of the
//! trait: a method added here made the page's wasm 74 B brotli larger
//! even though the page never calls it).

use wasm_bindgen::JsValue;

use crate::decode::Json;

/// A parsed JSON value as the browser gives it (`response.json()`,
/// `JSON.parse`).
impl Json for JsValue {
    fn field(&self, name: &str) -> Option<Self> {
        if !self.is_object() {
            return None;
        }
        js_sys::Reflect::get(self, &JsValue::from_str(name))
            .ok()
            .filter(|v| !v.is_undefined() && !v.is_null())
    }

    fn string(&self) -> Option<String> {
        self.as_string()
    }

    fn uint(&self) -> Option<u64> {
        // JSON numbers arrive as f64; accept only exact non-negative integers.
        let n = self.as_f64()?;
        (n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0).then_some(n as u64)
    }

    fn items(&self) -> Vec<Self> {
        if js_sys::Array::is_array(self) {
            js_sys::Array::from(self).iter().collect()
        } else {
            Vec::new()
        }
    }
}
