-- The merchant console's Worker side (issue 22).

-- GET /v1/links (contract v1.1 "Lists"): an index behind every filter, each
-- ending in the list order (created_at, link_id) so a page is read in order
-- (the queries: crates/worker/src/store/list_sql.rs; the choice:
-- checkout::list::link_index; the proof: tests/tests/list_plans.rs).
CREATE INDEX links_by_created ON links (created_at, link_id);
CREATE INDEX links_by_kind ON links (kind, created_at, link_id);
CREATE INDEX links_by_active ON links (active, created_at, link_id);
CREATE INDEX links_by_ref ON links (merchant_ref, created_at, link_id);

-- The start of the merchant's answer to a delivery (at most
-- checkout::webhook::ANSWER_START_CHARS characters, control characters
-- replaced), so the console shows why an endpoint refused an event. NULL
-- for attempts before this migration and for attempts without an answer.
ALTER TABLE webhook_attempts ADD COLUMN answer TEXT;

-- The cron's last run, for GET /v1/settings: one row, overwritten each run.
CREATE TABLE cron_runs (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    at      INTEGER NOT NULL,           -- unix seconds the run finished
    ok      INTEGER NOT NULL CHECK (ok IN (0, 1))
);
