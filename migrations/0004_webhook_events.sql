-- Merchant events (issue 11): the transactional outbox of webhooks, and each
-- delivery attempt. Decisions in checkout::events / checkout::webhook, I/O in
-- crates/worker/src/outbox.rs (the insert, in the transition's own batch) and
-- crates/worker/src/webhooks.rs (queue, consumer, cron, events API).

-- One row per state change of an order or settled refund, inserted in the same
-- D1 batch as the change, so an event exists if and only if the change
-- committed. `seq` orders events (its id is 'evt_' || seq); `dedupe_key`
-- ('order:{code}:{state}' or 'refund:{no}') makes the insert idempotent.
-- The payload is a snapshot taken in that transaction, rebuilt byte for byte
-- on every delivery.
CREATE TABLE webhook_events (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key      TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,           -- order.paid, refund.succeeded, ...
    charge_code     TEXT NOT NULL,
    link_id         TEXT,
    merchant_ref    TEXT,
    amount_fen      INTEGER NOT NULL,
    refunded_fen    INTEGER NOT NULL,
    state           TEXT NOT NULL,           -- order state; the refund's for refund events
    out_refund_no   TEXT,
    refund_fen      INTEGER,
    created_at      INTEGER NOT NULL,        -- unix seconds of the change
    delivery        TEXT NOT NULL DEFAULT 'pending'
                    CHECK (delivery IN ('pending', 'delivered', 'failed')),
    attempt_count   INTEGER NOT NULL DEFAULT 0,
    round_failures  INTEGER NOT NULL DEFAULT 0,  -- failures since created / redelivered (backoff)
    enqueued_at     INTEGER,                 -- NULL: never handed to the queue
    next_attempt_at INTEGER NOT NULL,        -- when the queue should bring it; the cron re-enqueues late ones
    locked_until    INTEGER,                 -- a consumer is sending it until then
    delivered_at    INTEGER
);
CREATE INDEX webhook_events_due ON webhook_events (delivery, next_attempt_at);
CREATE INDEX webhook_events_unqueued ON webhook_events (enqueued_at) WHERE enqueued_at IS NULL;
CREATE INDEX webhook_events_by_order ON webhook_events (charge_code, seq);

-- One row per delivery attempt: when, the HTTP status (NULL: no answer), how long.
CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_seq   INTEGER NOT NULL REFERENCES webhook_events (seq),
    at          INTEGER NOT NULL,
    status      INTEGER,
    latency_ms  INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX webhook_attempts_by_event ON webhook_attempts (event_seq, id);

-- The link token, so GET /v1/links/{id}/qr.svg can draw the link (NULL for
-- links issued before this migration).
ALTER TABLE links ADD COLUMN token TEXT;
