-- GET /v1/events?delivery=failed (issue 22: the console's failed-webhook
-- warning and the webhooks screen's failed events): the events of one
-- delivery state in row order, so a page of them is read in order without
-- a scan or a sort (the query: crates/worker/src/store/list_sql.rs
-- events_page; the choice: checkout::events::list_query; the proof:
-- tests/tests/list_plans.rs). `order=<code>` is read through
-- webhook_events_by_order (0004).
CREATE INDEX webhook_events_by_delivery ON webhook_events (delivery, seq);
