//! Webhook delivery: outbox rows → Cloudflare Queue → the merchant's
//! `MERCHANT_WEBHOOK_URL`, signed per Standard Webhooks (`checkout::webhook`).
//!
//! The path of an event: written in its change's batch (`store::events`); handed
//! to the `WEBHOOKS` queue when the request ends ([`flush`]) or by the cron
//! ([`reenqueue`]: never enqueued, or overdue); the consumer ([`consume`])
//! runs `checkout::flow::webhook` through the plan executor
//! ([`super::exec`]): claims it, POSTs it (`platform::webhook`, `WEBHOOK_TIMEOUT_MS`,
//! 10 s), records the attempt, and either marks it delivered (2xx) or asks
//! the queue to bring it back after `checkout::events::RetryPolicy`'s
//! delay; once the policy gives up the message goes to the `WEBHOOKS_DLQ`
//! queue, whose consumer marks the event `failed` (redeliverable through
//! the events API).
//!
//! At least once, in order per order: an event waits while an older event
//! of its order is still pending, and each finished event enqueues the next
//! one of its order. Receivers dedupe on the stable `webhook-id`.

use checkout::epay::Merchant;
use checkout::flow::webhook::{self as delivery, Answer, Event, Input};
use checkout::flow::{Outgoing, Plan};
use checkout::webhook::Key;
use futures_util::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};
use worker::{Context, Message, MessageBatch, MessageExt, QueueRetryOptionsBuilder};

use super::exec::{self, Answered, Flow};
use crate::platform::config::Settings;
use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::log::{now_secs, random_hex, Level, RequestLog};
use crate::store::{self, events as outbox};

/// The queue binding events are delivered through.
pub const QUEUE: &str = "WEBHOOKS";
/// The dead-letter queue binding.
pub const DEAD_LETTERS: &str = "WEBHOOKS_DLQ";
/// How much longer a claim on an event lasts than the merchant has to
/// answer (`WEBHOOK_TIMEOUT_MS`), so a second consumer never sends an
/// event that is being sent.
const CLAIM_MARGIN_SECS: u64 = 20;
/// Deliveries one consumer invocation runs at once. Cloudflare lets an
/// invocation hold 6 simultaneous outgoing connections and queues the
/// rest; 50 deliveries started together (a batch) waited in that queue
/// past `WEBHOOK_TIMEOUT_MS` and were retried as failures that never
/// reached the merchant (issue 24, defect 7). Four leave room for the
/// invocation's other subrequests.
const CONCURRENT_DELIVERIES: usize = 4;
const _: () = assert!(
    CONCURRENT_DELIVERIES < 6,
    "below the platform's 6 connections"
);

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

/// Whether merchant events go out (`MERCHANT_WEBHOOK_URL` set), and
/// whether anything goes out at all (that, or epay apps configured).
fn destinations(settings: &Settings) -> (bool, bool) {
    let merchant = settings.webhook_url().is_ok();
    let epay = matches!(settings.epay_merchants(), Ok(Some(_)));
    (merchant, merchant || epay)
}

/// [`destinations`] as a flow's policy reads them.
pub fn outgoing(settings: &Settings) -> Outgoing {
    match destinations(settings) {
        (true, _) => Outgoing::Every,
        (false, true) => Outgoing::EpayOnly,
        (false, false) => Outgoing::Nothing,
    }
}

/// After the answer: sends the events a batch handed to the queue
/// (`Write::EnqueueEvents`). A failed or lost send leaves them enqueued
/// and overdue for the cron's [`reenqueue`], as a [`flush`] that died
/// after its claim does.
pub fn send_later(cx: &Cx, ctx: &Context, seqs: Vec<u64>) {
    if seqs.is_empty() {
        return;
    }
    let cx = Cx::with_settings(
        cx.settings.clone(),
        RequestLog::new(cx.log.request_id().to_owned(), "webhooks", "-", "enqueue"),
    );
    ctx.wait_until(async move {
        if let Err(e) = enqueue(&cx, &seqs).await {
            cx.log.event(
                Level::Warn,
                "webhook_enqueue_failed",
                serde_json::json!({"error": e.code().as_str(), "detail": e.to_string()}),
            );
        }
    });
}

/// After a request that wrote events: hands the never-enqueued ones to the
/// queue. Failures are logged; the cron retries them. Without
/// `MERCHANT_WEBHOOK_URL` merchant events are not sent: they wait in the
/// outbox (epay notifications still go to their apps).
pub async fn flush(settings: Settings) {
    let (merchant, any) = destinations(&settings);
    if !any {
        return;
    }
    let cx = Cx::with_settings(
        settings,
        RequestLog::new(random_hex(8), "webhooks", "-", "flush"),
    );
    let result = async {
        let seqs = outbox::claim_for_queue(cx.db()?, now_secs(), None, BATCH, merchant).await?;
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
    let (merchant, any) = destinations(&cx.settings);
    if !any {
        return Ok(0);
    }
    let now = now_secs();
    let overdue_before = now.saturating_sub(cx.settings.webhook_overdue_secs()?);
    let db = cx.db()?;
    let seqs = outbox::claim_for_queue(db, now, Some(overdue_before), BATCH, merchant).await?;
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

/// Writes a test event (`POST /v1/events/test`): into the outbox, so it
/// is delivered, retried and listed like every event; the request's end
/// enqueues it ([`flush`]). Its row number.
pub async fn send_test(cx: &Cx) -> ApiResult<u64> {
    let (key, code) = checkout::events::test_event(&random_hex(8));
    outbox::insert_test(cx.db()?, (&key, &code), now_secs()).await
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
    stream::iter(messages.iter().map(|m| handle(&cx, m, dead_letters)))
        .buffer_unordered(CONCURRENT_DELIVERIES)
        .collect::<Vec<()>>()
        .await;
    cx.log.finish(200, None);
    Ok(())
}

async fn handle(cx: &Cx, msg: &Message<Delivery>, dead: bool) {
    let seq = msg.body().seq;
    let input = if dead {
        Input::DeadLettered(seq)
    } else {
        Input::Deliver(seq)
    };
    match deliver(cx, input).await {
        Ok(Answer::Ack { .. }) => msg.ack(),
        Ok(Answer::Retry(secs)) => msg.retry_with_options(
            &QueueRetryOptionsBuilder::new()
                .with_delay_seconds(u32::try_from(secs).unwrap_or(u32::MAX))
                .build(),
        ),
        Ok(Answer::DeadLetter) => match dead_letter(cx, seq).await {
            Ok(()) => msg.ack(),
            // The queue's own max_retries dead-letters it in the end.
            Err(_) => msg.retry(),
        },
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

/// Sends event `seq` to the dead-letter queue.
async fn dead_letter(cx: &Cx, seq: u64) -> worker::Result<()> {
    cx.settings
        .env()
        .queue(DEAD_LETTERS)?
        .send(Delivery { seq })
        .await
}

/// The delivery flow of one event.
struct Deliver {
    url: Option<String>,
    keys: Vec<Key>,
    epay: Vec<Merchant>,
    retry: checkout::events::RetryPolicy,
    claim_secs: u64,
}

impl Flow for Deliver {
    type Snapshot = Option<Event>;
    type Input = Input;
    type Answer = Answer;

    async fn load(&self, cx: &Cx, input: &Input) -> ApiResult<Option<Event>> {
        let db = cx.db()?;
        let event = match input {
            Input::Deliver(seq) => {
                store::snapshots::claim_event(db, *seq, now_secs(), self.claim_secs).await?
            }
            Input::Posted(seq, _) => store::snapshots::event(db, *seq).await?,
            Input::DeadLettered(_) => None,
        };
        // Only sending needs the trade; the answer is judged on the row.
        match (event, input) {
            (Some(e), Input::Deliver(_)) if e.record.kind.is_epay() => {
                Ok(Some(epay_trade(cx, e).await?))
            }
            (other, _) => Ok(other),
        }
    }

    fn decide(&self, event: &Option<Event>, input: &Input, now: u64) -> Plan<Answer> {
        let policy = delivery::Policy {
            url: self.url.as_deref(),
            keys: &self.keys,
            retry: self.retry,
            epay: &self.epay,
        };
        delivery::decide(event.as_ref(), input, now, &policy)
    }

    fn answered(&self, input: &Input, reply: Answered) -> ApiResult<Input> {
        match (input, reply) {
            (Input::Deliver(seq), Answered::Webhook(posted)) => Ok(Input::Posted(*seq, posted)),
            _ => Err(exec::out_of_turn("webhook delivery")),
        }
    }
}

/// An `epay.notify` event with its trade and the wallet that paid it
/// (`None` trade: gone, the flow dead-letters it).
async fn epay_trade(cx: &Cx, mut event: Event) -> ApiResult<Event> {
    let db = cx.db()?;
    let link_id = event.record.link_id.as_deref().unwrap_or_default();
    let trade = store::epay::by_trade_no(db, link_id).await?;
    let order = store::attempts::get_order(db, &event.record.charge_code).await?;
    event.epay = match (trade, order) {
        (Some(trade), Some(order)) => Some(trade.notice(&order.channel_type)?),
        _ => None,
    };
    Ok(event)
}

/// One delivery attempt of an event, or a dead-lettered one marked
/// failed; either way, once it is finished, the next event of its order
/// goes to the queue.
async fn deliver(cx: &Cx, input: Input) -> ApiResult<Answer> {
    let dead = matches!(input, Input::DeadLettered(_));
    // A dead letter needs neither the endpoints nor the keys; without
    // MERCHANT_WEBHOOK_URL only epay notifications are sent.
    let (url, keys, epay) = if dead {
        (None, Vec::new(), Vec::new())
    } else {
        let url = cx.settings.webhook_url().ok();
        let keys = match url {
            Some(_) => cx.settings.webhook_keys()?.all().to_vec(),
            None => Vec::new(),
        };
        // A misconfigured EPAY_KEY must not stop merchant webhooks; epay
        // notifications then find no key and dead-letter (redeliverable).
        let epay = cx.settings.epay_merchants().ok().flatten();
        (url, keys, epay.unwrap_or_default())
    };
    let timeout_secs = cx.settings.webhook_timeout_ms()? / 1000;
    let flow = Deliver {
        url,
        keys,
        epay,
        retry: cx.settings.webhook_retry_policy()?,
        claim_secs: timeout_secs.saturating_add(CLAIM_MARGIN_SECS),
    };
    let answer = exec::run(cx, &flow, input).await?.answer;
    if let Answer::Ack {
        next_of_order: Some(seq),
    } = answer
    {
        let next = store::snapshots::next_event_of_order(cx.db()?, seq).await?;
        enqueue(cx, next.as_slice()).await?;
    }
    Ok(answer)
}
