//! The gateway client: build with `soushou::envelope::build`, send with the
//! Workers Fetch API under a timeout, decode with
//! `soushou::envelope::decode_response`. No wire logic lives here.

use std::time::Duration;

use futures_util::future::{select, Either};
use soushou::envelope::{self, GatewayRequest, Method};
use worker::{AbortController, Delay, Fetch, Headers, Request, RequestInit};

use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::now_ms;

/// What went wrong at the transport level, before the protocol layer sees a body.
pub(crate) enum Transport {
    /// The deadline passed (connect, headers or body).
    Timeout,
    /// Fetch itself failed (refused connection, DNS, TLS, aborted body).
    Failed,
}

/// Calls one gateway interface and returns its decoded, successful answer.
///
/// Timeouts map to `GATEWAY_TIMEOUT`; unreachable to `GATEWAY_UNAVAILABLE`;
/// everything the protocol layer refuses (HTTP 5xx, HTML, garbage, bad
/// encryption, `RESULT.CODE` other than success) to [`ApiError::Gateway`].
pub async fn call<R: GatewayRequest>(
    cx: &Cx,
    cfg: &envelope::Config,
    req: &R,
) -> ApiResult<R::Response> {
    let timeout = Duration::from_millis(cx.settings.gateway_timeout_ms()?);
    call_within(cx, cfg, req, timeout).await
}

/// [`call`] under an explicit deadline instead of `GATEWAY_TIMEOUT_MS`
/// (`preOrder` waits for the shopper longer than any other call).
pub async fn call_within<R: GatewayRequest>(
    cx: &Cx,
    cfg: &envelope::Config,
    req: &R,
    timeout: Duration,
) -> ApiResult<R::Response> {
    let log = &cx.log;
    let http = envelope::build(cfg, req, now_ms())?;
    let interface = http.interface.path_name();
    let started = now_ms();
    let sent = send(&http, &cfg.gateway_url, timeout).await;
    let ms = now_ms().saturating_sub(started);
    let (status, body) = match sent {
        Ok(answer) => answer,
        Err(Transport::Timeout) => {
            log.gateway_call(interface, "timeout", ms);
            return Err(ApiError::GatewayTimeout);
        }
        Err(Transport::Failed) => {
            log.gateway_call(interface, "unreachable", ms);
            return Err(ApiError::GatewayUnreachable);
        }
    };
    let decoded = envelope::decode_response::<R>(cfg, &http, status, &body);
    let result = match &decoded {
        Ok(_) => format!("http {status} ok"),
        Err(soushou::Error::Gateway { code, .. }) => format!("http {status} {}", code.as_str()),
        Err(e) => format!("http {status} {e}"),
    };
    log.gateway_call(interface, &result, ms);
    Ok(decoded?)
}

/// Sends the request and reads the whole body, all under one deadline.
async fn send(
    http: &envelope::HttpRequest,
    base: &str,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), Transport> {
    let mut init = RequestInit::new();
    match http.method {
        Method::Get => {
            init.with_method(worker::Method::Get);
        }
        Method::Post => {
            // Bodies are JSON or base64 text: always UTF-8.
            let body = String::from_utf8_lossy(&http.body).into_owned();
            post_init(&mut init, http.content_type(), body)?;
        }
    }
    fetch_within(&http.url(base), init, timeout).await
}

/// Makes `init` a POST of `body` with `content_type`.
pub(crate) fn post_init(
    init: &mut RequestInit,
    content_type: &str,
    body: String,
) -> Result<(), Transport> {
    let headers = Headers::new();
    headers
        .set("Content-Type", content_type)
        .map_err(|_| Transport::Failed)?;
    init.with_method(worker::Method::Post)
        .with_headers(headers)
        .with_body(Some(body.into()));
    Ok(())
}

/// Fetches `url` and reads the whole body, all under one deadline (also
/// the wallets' sign-in calls, `oauth`).
pub(crate) async fn fetch_within(
    url: &str,
    init: RequestInit,
    timeout: Duration,
) -> Result<(u16, Vec<u8>), Transport> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async move {
        let request = Request::new_with_init(url, &init).map_err(|_| Transport::Failed)?;
        let mut response = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|_| Transport::Failed)?;
        let status = response.status_code();
        let body = response.bytes().await.map_err(|_| Transport::Failed)?;
        Ok((status, body))
    };
    let exchange = Box::pin(exchange);
    let deadline = Box::pin(Delay::from(timeout));
    match select(exchange, deadline).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            controller.abort();
            Err(Transport::Timeout)
        }
    }
}
