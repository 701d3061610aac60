//! Webhook delivery: outbox rows → Cloudflare Queue → the merchant's
//! `MERCHANT_WEBHOOK_URL`, signed per Standard Webhooks (`checkout::webhook`).
//!
//! The path of an event: written in its change's batch (`store::events`); handed
//! to the `WEBHOOKS` queue when the request ends ([`flush`]) or by the cron
//! ([`reenqueue`]: never enqueued, or overdue); the consumer ([`consume`])
//! claims it, POSTs it (`WEBHOOK_TIMEOUT_MS`, 10 s), records the attempt, and either marks it
//! delivered (2xx) or asks the queue to bring it back after
//! `checkout::events::RetryPolicy`'s delay; once the policy gives up the
//! message goes to the `WEBHOOKS_DLQ` queue, whose consumer marks the event
//! `failed` (redeliverable through the events API).
//!
//! At least once, in order per order: an event waits while an older event
//! of its order is still pending, and each finished event enqueues the next
//! one of its order. Receivers dedupe on the stable `webhook-id`.

use std::time::Duration;

use checkout::events::{self, AfterAttempt};
use checkout::webhook;
use futures_util::future::{join_all, select, Either};
use serde::{Deserialize, Serialize};
use worker::{
    AbortController, Delay, Fetch, Headers, Message, MessageBatch, MessageExt,
    QueueRetryOptionsBuilder, Request, RequestInit,
};

use crate::platform::config::Settings;
use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::log::{now_ms, now_secs, random_hex, Level, RequestLog};
use crate::store::events::{self as outbox, Attempt};

/// The queue binding events are delivered through.
pub const QUEUE: &str = "WEBHOOKS";
/// The dead-letter queue binding.
pub const DEAD_LETTERS: &str = "WEBHOOKS_DLQ";
/// How much longer a claim on an event lasts than the merchant has to
/// answer (`WEBHOOK_TIMEOUT_MS`), so a second consumer never sends an
/// event that is being sent.
const CLAIM_MARGIN_SECS: u64 = 20;
/// Events handed to the queue per flush or cron run.
const BATCH: u64 = 100;

/// A queue message: which outbox row to deliver.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Delivery {
    /// `webhook_events.seq`.
    pub seq: u64,
}

/// Sends rows to the delivery queue.
async fn enqueue(cx: &Cx, seqs: &[u64]) -> ApiResult<()> {
    if seqs.is_empty() {
        return Ok(());
    }
    let queue = cx.settings.env().queue(QUEUE)?;
    let batch: Vec<Delivery> = seqs.iter().map(|&seq| Delivery { seq }).collect();
    queue.send_batch(batch).await?;
    Ok(())
}

/// After a request that wrote events: hands the never-enqueued ones to the
/// queue. Failures are logged; the cron retries them. Without
/// `MERCHANT_WEBHOOK_URL` nothing is sent: events wait in the outbox.
pub async fn flush(settings: Settings) {
    if settings.webhook_url().is_err() {
        return;
    }
    let cx = Cx::with_settings(
        settings,
        RequestLog::new(random_hex(8), "webhooks", "-", "flush"),
    );
    let result = async {
        let seqs = outbox::claim_for_queue(cx.db()?, now_secs(), None, BATCH).await?;
        enqueue(&cx, &seqs).await
    }
    .await;
    if let Err(e) = result {
        cx.log.event(
            Level::Warn,
            "webhook_enqueue_failed",
            serde_json::json!({"error": e.code().as_str(), "detail": e.to_string()}),
        );
    }
}

/// The cron's catch-up: events never enqueued, or pending well past their
/// due time (a lost enqueue, a consumer that died), go to the queue again.
/// Returns how many.
pub async fn reenqueue(cx: &Cx) -> ApiResult<usize> {
    // Without an endpoint events wait in the outbox (and the events API).
    if cx.settings.webhook_url().is_err() {
        return Ok(0);
    }
    let now = now_secs();
    let overdue_before = now.saturating_sub(cx.settings.webhook_overdue_secs()?);
    let seqs = outbox::claim_for_queue(cx.db()?, now, Some(overdue_before), BATCH).await?;
    enqueue(cx, &seqs).await?;
    Ok(seqs.len())
}

/// Marks an event pending again and enqueues it (`POST /v1/events/{id}/redeliver`):
/// a new round of the retry schedule, delivered or dead-lettered alike.
pub async fn redeliver(cx: &Cx, seq: u64) -> ApiResult<bool> {
    let now = now_secs();
    if !outbox::mark_pending(cx.db()?, seq, now).await? {
        return Ok(false);
    }
    enqueue(cx, &[seq]).await?;
    Ok(true)
}

/// What to do with a queue message after handling it.
enum Outcome {
    /// Done with it (delivered, not pending any more, or waiting behind an
    /// older event of its order, which enqueues it when it finishes).
    Ack,
    /// Bring it back after this many seconds.
    Retry(u64),
    /// The retry schedule is spent: to the dead-letter queue.
    DeadLetter,
}

/// The queue consumer of both queues.
pub async fn consume(settings: Settings, batch: MessageBatch<Delivery>) -> worker::Result<()> {
    let dead_letters = batch.queue().ends_with("-dlq");
    let messages = batch.messages()?;
    let cx = Cx::with_settings(
        settings,
        RequestLog::new(random_hex(8), "queue", "-", &batch.queue()),
    );
    cx.log.set("messages", messages.len());
    join_all(messages.iter().map(|m| handle(&cx, m, dead_letters))).await;
    cx.log.finish(200, None);
    Ok(())
}

async fn handle(cx: &Cx, msg: &Message<Delivery>, dead: bool) {
    let seq = msg.body().seq;
    let outcome = if dead {
        mark_failed(cx, seq).await.map(|_| Outcome::Ack)
    } else {
        deliver(cx, seq).await
    };
    match outcome {
        Ok(Outcome::Ack) => msg.ack(),
        Ok(Outcome::Retry(secs)) => msg.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(u32::try_from(secs).unwrap_or(u32::MAX))
                .build(),
        ),
        Ok(Outcome::DeadLetter) => {
            let sent = match cx.settings.env().queue(DEAD_LETTERS) {
                Ok(q) => q.send(Delivery { seq }).await,
                Err(e) => Err(e),
            };
            match sent {
                Ok(()) => msg.ack(),
                // The queue's own max_retries dead-letters it in the end.
                Err(_) => msg.retry(),
            }
        }
        Err(e) => {
            cx.log.event(
                Level::Warn,
                "webhook_consume_failed",
                serde_json::json!({"seq": seq, "error": e.code().as_str(),
                    "detail": e.to_string()}),
            );
            msg.retry_with_options(
                &QueueRetryOptionsBuilder::new()
                    .with_delay_seconds(5)
                    .build(),
            );
        }
    }
}

/// A dead-lettered event: `failed`, then the next event of its order may
/// go (read in the same batch, so one round trip).
async fn mark_failed(cx: &Cx, seq: u64) -> ApiResult<()> {
    let next = outbox::mark_failed(cx.db()?, seq).await?;
    enqueue(cx, &next).await
}

/// One delivery attempt of event `seq`.
async fn deliver(cx: &Cx, seq: u64) -> ApiResult<Outcome> {
    let db = cx.db()?;
    let now = now_secs();
    let timeout = Duration::from_millis(cx.settings.webhook_timeout_ms()?);
    let claim_secs = timeout.as_secs().saturating_add(CLAIM_MARGIN_SECS);
    let Some(event) = outbox::claim(db, seq, now, claim_secs).await? else {
        return Ok(Outcome::Ack);
    };
    let url = cx.settings.webhook_url()?;
    let body = events::body(&event.record);
    let id = events::event_id(seq);
    let signature = webhook::sign(cx.settings.webhook_keys()?.all(), &id, now, body.as_bytes());
    let started = now_ms();
    let sent = post(&url, (&id, now, &signature), &body, timeout).await;
    let answer = Attempt {
        status: sent.ok(),
        error: sent.err(),
        latency_ms: now_ms().saturating_sub(started),
    };
    let after = AfterAttempt::decide(
        &cx.settings.webhook_retry_policy()?,
        event.round_failures,
        answer.status,
    );
    let next = outbox::record(db, seq, now, &answer, &after, event.round_failures).await?;
    Ok(match after {
        AfterAttempt::Delivered => {
            enqueue(cx, &next).await?;
            Outcome::Ack
        }
        AfterAttempt::Retry { in_secs, .. } => Outcome::Retry(in_secs),
        AfterAttempt::DeadLetter { .. } => Outcome::DeadLetter,
    })
}

/// POSTs one signed event; the HTTP status, or why there was none.
/// `(id, timestamp, signature)`: the Standard Webhooks headers.
async fn post(
    url: &str,
    (id, timestamp, signature): (&str, u64, &str),
    body: &str,
    timeout: Duration,
) -> Result<u16, &'static str> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let exchange = async move {
        let headers = Headers::new();
        for (name, value) in [
            ("Content-Type", "application/json"),
            ("User-Agent", "soushou-checkout-webhooks/1"),
            ("webhook-id", id),
            ("webhook-timestamp", &timestamp.to_string()),
            ("webhook-signature", signature),
        ] {
            headers.set(name, value).map_err(|_| "bad header")?;
        }
        let mut init = RequestInit::new();
        init.with_method(worker::Method::Post)
            .with_headers(headers)
            .with_body(Some(body.into()));
        let request = Request::new_with_init(url, &init).map_err(|_| "bad url")?;
        let mut response = Fetch::Request(request)
            .send_with_signal(&signal)
            .await
            .map_err(|_| "unreachable")?;
        // Read (and drop) the answer so the connection is released.
        let _ = response.bytes().await;
        Ok(response.status_code())
    };
    match select(Box::pin(exchange), Box::pin(Delay::from(timeout))).await {
        Either::Left((result, _)) => result,
        Either::Right(((), _)) => {
            controller.abort();
            Err("timeout")
        }
    }
}
