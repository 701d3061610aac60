//! The Worker's shopper API (`shared/design/API.md`), typed with the shared
//! `checkout::api` structs: requests are encoded by [`crate::encode`],
//! answers decoded into them by [`crate::decode`] (both checked against the
//! types' serde derive in the host tests).

use checkout::api::{CheckoutView, OrderView, PayRequest, PayResponse};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit, Response};

use crate::decode;
use crate::encode;
use crate::js::{self, describe, window};
use crate::Error;

/// `GET /api/checkout/{token}`.
pub async fn checkout(token: &str) -> Result<CheckoutView, Error> {
    decode::checkout_view(
        &fetch_json("GET", &format!("/api/checkout/{}", encode(token)), None).await?,
    )
}

/// `POST /api/pay`.
pub async fn pay(request: &PayRequest) -> Result<PayResponse, Error> {
    decode::pay_response(
        &fetch_json(
            "POST",
            "/api/pay",
            Some(to_json(&encode::pay_request(request))?),
        )
        .await?,
    )
}

/// `GET /api/orders/{charge_code}?token={token}`: with the page's own
/// token, an attempt of another link answers "not found", so a
/// `?charge_code=` of someone else's order never shows its receipt here.
pub async fn order(charge_code: &str, token: &str) -> Result<OrderView, Error> {
    let path = format!(
        "/api/orders/{}?token={}",
        encode(charge_code),
        encode(token)
    );
    decode::order_view(&fetch_json("GET", &path, None).await?)
}

fn encode(segment: &str) -> String {
    js_sys::encode_uri_component(segment).into()
}

/// Lets the browser's `JSON.stringify` write the text (no JSON library in the bundle).
fn to_json(members: &encode::Members<'_>) -> Result<String, Error> {
    js_sys::JSON::stringify(&js::object(members))
        .map(String::from)
        .map_err(|e| Error::Decode(describe(&e)))
}

/// Sends the request and returns the parsed JSON of a 2xx answer; error
/// answers become [`Error::Api`] (the documented body) or [`Error::Http`].
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
        match json.as_ref().and_then(decode::error_body) {
            Some(body) => Err(Error::Api {
                status,
                detail: body.error,
            }),
            None => Err(Error::Http(status)),
        }
    }
}
