//! The JSON edges of every route: reading a capped JSON body, answering
//! JSON with the API's headers.

use serde::de::DeserializeOwned;
use serde::Serialize;
use worker::{Request, Response};

use crate::error::{ApiError, ApiResult};
use crate::guard;

/// Reads a JSON request body of at most 64 KiB (413 `PAYLOAD_TOO_LARGE`
/// above, before parsing); anything unusable is `INVALID_REQUEST`.
pub async fn read_json<T: DeserializeOwned>(req: &mut Request) -> ApiResult<T> {
    let bytes = guard::read_body(req).await?;
    serde_json::from_slice(&bytes).map_err(|e| ApiError::InvalidRequest(format!("body: {e}")))
}

/// A JSON response with the API's headers.
pub fn json<T: Serialize>(status: u16, value: &T) -> ApiResult<Response> {
    let resp = Response::from_json(value)?.with_status(status);
    resp.headers().set("Cache-Control", "no-store")?;
    Ok(resp)
}

/// A handler's result as a 200 JSON answer (errors pass through).
pub fn ok<T: Serialize>(value: ApiResult<T>) -> ApiResult<Response> {
    json(200, &value?)
}
