//! The queue consumer of both webhook queues (`WEBHOOKS`, `WEBHOOKS_DLQ`):
//! `flows::webhook::consume`.

use worker::{Env, MessageBatch};

use crate::flows::webhook::{self, Delivery};
use crate::platform::config::Settings;

/// One batch of either queue.
pub async fn handle(batch: MessageBatch<Delivery>, env: Env) -> worker::Result<()> {
    webhook::consume(Settings::new(env), batch).await
}
