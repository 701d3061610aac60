//! The Worker's shopper API (`shared/design/API.md`), typed with
//! `checkout::api` so the page and the Worker agree by construction.

use checkout::api::{CheckoutView, ErrorBody, OrderView, PayRequest, PayResponse};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use crate::js::{describe, window};
use crate::Error;

/// `GET /api/checkout/{token}`.
pub async fn checkout(token: &str) -> Result<CheckoutView, Error> {
    call("GET", &format!("/api/checkout/{}", encode(token)), None).await
}

/// `POST /api/pay`.
pub async fn pay(request: &PayRequest) -> Result<PayResponse, Error> {
    call("POST", "/api/pay", Some(to_json(request)?)).await
}

/// `GET /api/orders/{charge_code}`.
pub async fn order(charge_code: &str) -> Result<OrderView, Error> {
    call("GET", &format!("/api/orders/{}", encode(charge_code)), None).await
}

fn encode(segment: &str) -> String {
    js_sys::encode_uri_component(segment).into()
}

/// Serialises with serde-wasm-bindgen in its JSON-compatible mode and lets
/// the browser's `JSON.stringify` write the text (no JSON library in the bundle).
fn to_json<T: Serialize>(value: &T) -> Result<String, Error> {
    let js = value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| Error::Decode(e.to_string()))?;
    js_sys::JSON::stringify(&js)
        .map(String::from)
        .map_err(|e| Error::Decode(describe(&e)))
}

async fn call<T: DeserializeOwned>(method: &str, path: &str, body: Option<String>) -> Result<T, Error> {
    let json = fetch_json(method, path, body).await?;
    serde_wasm_bindgen::from_value(json).map_err(|e| Error::Decode(e.to_string()))
}

/// The request itself, not generic so the fetch code exists once in the wasm.
async fn fetch_json(method: &str, path: &str, body: Option<String>) -> Result<JsValue, Error> {
    let headers = Headers::new().map_err(|e| Error::Network(describe(&e)))?;
    let _ = headers.set("Accept", "application/json");
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let request =
        Request::new_with_str_and_init(path, &init).map_err(|e| Error::Network(describe(&e)))?;
    let response: Response = JsFuture::from(window().fetch_with_request(&request))
        .await
        .map_err(|e| Error::Network(describe(&e)))?
        .unchecked_into();
    let status = response.status();
    let json = match response.json() {
        Ok(promise) => JsFuture::from(promise).await.ok(),
        Err(_) => None,
    };
    if response.ok() {
        json.ok_or_else(|| Error::Decode(format!("HTTP {status}: not JSON")))
    } else {
        match json.and_then(|v| serde_wasm_bindgen::from_value::<ErrorBody>(v).ok()) {
            Some(body) => Err(Error::Api { status, detail: body.error }),
            None => Err(Error::Http(status)),
        }
    }
}
