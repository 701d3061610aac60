//! `GET /healthz`: the Worker answers, with its version (no binding read,
//! so it works without D1).

use worker::Response;

use crate::platform::error::ApiResult;
use crate::platform::http::json;

/// `GET /healthz`.
pub fn handle() -> ApiResult<Response> {
    json(
        200,
        &checkout::api::HealthResponse {
            ok: true,
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
    )
}
