//! The merchant API client (wasm only): `fetch` on the console's own
//! origin, so the session cookie goes with every request; request bodies
//! written with serde, answers parsed by the browser (`JSON.parse`) and
//! read by [`crate::decode`] (`checkout::api`'s types where the contract
//! has them); an error answer becomes a typed [`Error`] carrying its
//! `X-Request-Id`.

use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestCredentials, RequestInit, Response};

use crate::decode::FromJson;
use crate::error::{from_answer, Error};
use crate::js::{describe, window};

/// Who the caller is (`GET /v1/session`): `checkout::access::Actor`.
pub use checkout::access::Actor as Me;

/// One request's extras.
#[derive(Default)]
pub struct Extra<'a> {
    /// `Authorization: Bearer …` (signing in with a key, once).
    pub bearer: Option<&'a str>,
    /// `Idempotency-Key` (one per confirmation: a double tap or a retry
    /// after a dropped answer is the same request).
    pub idempotency_key: Option<&'a str>,
}

/// `GET path` as `T`.
pub async fn get<T: FromJson>(path: &str) -> Result<T, Error> {
    decode(&call("GET", path, None, Extra::default()).await?)
}

/// `method path` with a JSON `body` (or none), as `T`.
pub async fn send<T: FromJson>(
    method: &str,
    path: &str,
    body: Option<&impl Serialize>,
    extra: Extra<'_>,
) -> Result<T, Error> {
    let body = body
        .map(serde_json::to_string)
        .transpose()
        .map_err(|e| Error::Decode(e.to_string()))?;
    decode(&call(method, path, body, extra).await?)
}

/// `GET /v1/session`.
pub async fn me() -> Result<Me, Error> {
    get("/v1/session").await
}

fn decode<T: FromJson>(text: &str) -> Result<T, Error> {
    T::from_json(&parse(text).ok_or_else(|| Error::Decode("not JSON".into()))?)
}

/// The browser's `JSON.parse` (no JSON reader in the bundle).
fn parse(text: &str) -> Option<JsValue> {
    js_sys::JSON::parse(text).ok()
}

/// Sends one request and returns a 2xx answer's text; anything else is
/// an [`Error`] (no answer: [`Error::Network`]).
async fn call(
    method: &str,
    path: &str,
    body: Option<String>,
    extra: Extra<'_>,
) -> Result<String, Error> {
    let network = |e: JsValue| Error::Network(describe(&e));
    let headers = Headers::new().map_err(network)?;
    let _ = headers.set("Accept", "application/json");
    if let Some(key) = extra.bearer {
        let _ = headers.set("Authorization", &format!("Bearer {key}"));
    }
    if let Some(key) = extra.idempotency_key {
        let _ = headers.set("Idempotency-Key", key);
    }
    let init = RequestInit::new();
    init.set_method(method);
    init.set_credentials(RequestCredentials::SameOrigin);
    if let Some(body) = body {
        let _ = headers.set("Content-Type", "application/json");
        init.set_body(&JsValue::from_str(&body));
    }
    init.set_headers(&headers);
    let request = Request::new_with_str_and_init(path, &init).map_err(network)?;
    let response: Response = JsFuture::from(window().fetch_with_request(&request))
        .await
        .map_err(network)?
        .unchecked_into();
    let status = response.status();
    let request_id = response.headers().get("X-Request-Id").ok().flatten();
    let text = match response.text() {
        Ok(promise) => JsFuture::from(promise)
            .await
            .map_err(network)?
            .as_string()
            .unwrap_or_default(),
        Err(e) => return Err(network(e)),
    };
    if response.ok() {
        Ok(text)
    } else {
        Err(from_answer(status, parse(&text).as_ref(), request_id))
    }
}
