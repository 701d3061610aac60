-- Lists and statements (issue 21): the merchant's reference on each order,
-- an index behind every list filter, and the daily statements. The list
-- queries are built in crates/worker/src/store/list_sql.rs (decisions in
-- checkout::list); every index here ends in the list order
-- (created_at, id), so a page is read in order, never sorted whole.

-- The merchant's reference of the order's link, copied at insert (a link's
-- ref never changes), so `ref` and `q` filter orders without a join.
ALTER TABLE orders ADD COLUMN merchant_ref TEXT;
UPDATE orders SET merchant_ref = (
    SELECT l.merchant_ref FROM links l WHERE l.link_id = orders.link_id)
WHERE link_id IS NOT NULL;

-- GET /v1/orders: no filter, created_gte/created_lt.
CREATE INDEX orders_by_created ON orders (created_at, charge_code);
-- link=, ref=, state=, method=, channel=.
CREATE INDEX orders_by_link_created ON orders (link_id, created_at, charge_code);
CREATE INDEX orders_by_ref ON orders (merchant_ref, created_at, charge_code);
CREATE INDEX orders_by_method ON orders (method, created_at, charge_code);
CREATE INDEX orders_by_channel ON orders (channel_type, created_at, charge_code);
-- state= (and the reconciler's pending scan, which orders_pending served:
-- this index is a superset of it).
DROP INDEX IF EXISTS orders_pending;
CREATE INDEX orders_by_state ON orders (state, created_at, charge_code);
-- q= (a prefix of the charge code: the primary key; of the ref:
-- orders_by_ref; of the subject: this one).
CREATE INDEX orders_by_subject ON orders (subject);
-- The statement of a day: the payments whose money arrived in it.
CREATE INDEX orders_by_paid ON orders (paid_at, charge_code) WHERE paid_at IS NOT NULL;

-- GET /v1/refunds: no filter, state=, order= (a superset of the old
-- refunds_by_order (charge_code)).
CREATE INDEX refunds_by_created ON refunds (created_at, out_refund_no);
CREATE INDEX refunds_by_state ON refunds (state, created_at, out_refund_no);
DROP INDEX IF EXISTS refunds_by_order;
CREATE INDEX refunds_by_order ON refunds (charge_code, created_at, out_refund_no);
-- The statement of a day: the refunds that settled in it (a refund's
-- updated_at is its settlement once it is no longer pending).
CREATE INDEX refunds_by_settled ON refunds (state, updated_at, out_refund_no);

-- Daily statements (Beijing days). Never rewritten: a later build whose
-- figures differ is a new revision with its reason; GET answers the
-- latest revision.
CREATE TABLE statements (
    date        TEXT NOT NULL,              -- YYYY-MM-DD, Asia/Shanghai
    revision    INTEGER NOT NULL CHECK (revision >= 1),
    reason      TEXT,                       -- NULL for revision 1
    digest      TEXT NOT NULL,              -- checkout::statement::digest of the figures
    body        TEXT NOT NULL,              -- the statement JSON as served
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (date, revision)
);
