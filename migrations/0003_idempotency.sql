-- Idempotency keys of the merchant API (crates/worker/src/idempotency.rs,
-- decisions in checkout::idempotency). One row per key, claimed by one
-- conditional INSERT before the request runs; the answer (status < 500) is
-- stored when it ends, a 5xx deletes the row. The cron deletes rows older
-- than 24 h.
CREATE TABLE idempotency_keys (
    key_id      TEXT PRIMARY KEY,           -- hex SHA-256 of the Idempotency-Key header
    fingerprint TEXT NOT NULL,              -- hex SHA-256 of method, route and body
    status      INTEGER,                    -- NULL while the first request runs
    body        TEXT,                       -- the JSON answer exactly as first sent
    created_at  INTEGER NOT NULL,           -- unix seconds of the claim (24 h expiry)
    locked_at   INTEGER NOT NULL            -- unix seconds of the current run's claim
);
CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);
