-- The cron sweep under a backlog (issue 24, defect 12; the rule is
-- checkout::sweep). Each attempt keeps when the sweep should next ask the
-- gateway about it (unix seconds, set when a query slot is claimed; NULL
-- before any query: due once RECONCILE_AFTER_SECS old). The sweep walks
-- pending attempts from the youngest and takes the due ones: the index
-- holds all three columns so the walk reads no row it skips.
ALTER TABLE orders ADD COLUMN sweep_at INTEGER;
DROP INDEX IF EXISTS orders_pending;  -- 0007 dropped it already
CREATE INDEX orders_sweep ON orders (state, created_at, sweep_at);
