//! The merchant's webhook endpoint: one signed POST of an event (the
//! executor's `Call::Webhook`, built by `checkout::flow::webhook`) under
//! `WEBHOOK_TIMEOUT_MS`, with the Standard Webhooks headers; and an epay
//! app's `notify_url`: one signed GET (`Call::EpayNotify`), same deadline.

use std::time::Duration;

use checkout::flow::webhook::{Post, Posted};
use futures_util::future::{select, Either};
use worker::{AbortController, Delay, Fetch, Headers, Request, RequestInit, RequestRedirect};

use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::log::now_ms;

/// POSTs one signed event: the HTTP status, or why there was none, and
/// how long it took.
pub async fn post(cx: &Cx, event: &Post) -> ApiResult<Posted> {
    let timeout = Duration::from_millis(cx.settings.webhook_timeout_ms()?);
    let started = now_ms();
    let sent = send(event, timeout).await;
    let latency_ms = now_ms().saturating_sub(started);
    Ok(match sent {
        Ok((status, body)) => Posted {
            status: Some(status),
            error: None,
            latency_ms,
            answer: checkout::webhook::answer_start(&body),
        },
        Err(e) => Posted {
            status: None,
            error: Some(e.to_owned()),
            latency_ms,
            answer: None,
        },
    })
}

/// GETs an epay notification: the HTTP status, and as the error anything
/// but an acknowledgement (`checkout::epay::acknowledged`: a body of
/// `success`), so the flow retries it.
pub async fn epay_notify(cx: &Cx, url: &str) -> ApiResult<Posted> {
    let timeout = Duration::from_millis(cx.settings.webhook_timeout_ms()?);
    let started = now_ms();
    let sent = get(url, timeout).await;
    let (status, error, answer) = match sent {
        Ok((status, body)) if checkout::epay::acknowledged(Some(status), &body) => (
            Some(status),
            None,
            checkout::webhook::answer_start(body.as_bytes()),
        ),
        Ok((status, body)) => {
            let shown: String = body.trim().chars().take(40).collect();
            let answer = checkout::webhook::answer_start(body.as_bytes());
            (Some(status), Some(format!("answered {shown:?}")), answer)
        }
        Err(e) => (None, Some(e.to_owned()), None),
    };
    Ok(Posted {
        status,
        error,
        latency_ms: now_ms().saturating_sub(started),
        answer,
    })
}

/// Sends the GET; the status and the body's text.
async fn get(url: &str, timeout: Duration) -> Result<(u16, String), &'static str> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async move {
        let headers = Headers::new();
        headers
            .set("User-Agent", "soushou-checkout-epay/1")
            .map_err(|_| "bad header")?;
        let mut init = RequestInit::new();
        init.with_method(worker::Method::Get).with_headers(headers);
        let request = Request::new_with_init(url, &init).map_err(|_| "bad url")?;
        let mut response = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|_| "unreachable")?;
        let body = response.text().await.unwrap_or_default();
        Ok((response.status_code(), body))
    };
    match select(Box::pin(exchange), Box::pin(Delay::from(timeout))).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            controller.abort();
            Err("timeout")
        }
    }
}

/// Sends the POST with the Standard Webhooks headers; the status and the
/// answer's body.
async fn send(event: &Post, timeout: Duration) -> Result<(u16, Vec<u8>), &'static str> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async move {
        let headers = Headers::new();
        for (name, value) in [
            ("Content-Type", "application/json"),
            ("User-Agent", "soushou-checkout-webhooks/1"),
            ("webhook-id", &event.id),
            ("webhook-timestamp", &event.timestamp.to_string()),
            ("webhook-signature", &event.signature),
        ] {
            headers.set(name, value).map_err(|_| "bad header")?;
        }
        // A redirect is not followed: its 3xx is the answer, a failed
        // attempt retried on schedule. A signed event goes only where the
        // merchant configured, never where an answer points (issue 24).
        let mut init = RequestInit::new();
        init.with_method(worker::Method::Post)
            .with_headers(headers)
            .with_redirect(RequestRedirect::Manual)
            .with_body(Some(event.body.as_str().into()));
        let request = Request::new_with_init(&event.url, &init).map_err(|_| "bad url")?;
        let mut response = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|_| "unreachable")?;
        // Read the answer (its start is kept) so the connection is released.
        let body = response.bytes().await.unwrap_or_default();
        Ok((response.status_code(), body))
    };
    match select(Box::pin(exchange), Box::pin(Delay::from(timeout))).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            controller.abort();
            Err("timeout")
        }
    }
}
