-- Money safety (issue 9): which payment of a link is kept, which are duplicates,
-- and which attempts the reconciler must re-check after a revocation was asked for.

-- Order in which money first arrived on attempts (set once, atomically, by the
-- transition that first records a paid state): the first payment of a link is kept.
ALTER TABLE orders ADD COLUMN paid_seq INTEGER;
-- The kept attempt this one duplicates (set once, before its full refund is
-- reserved); a duplicate never makes its link paid.
ALTER TABLE orders ADD COLUMN duplicate_of TEXT;
-- Until when (unix seconds) the reconciler queries this attempt whatever its state:
-- a revocation of it was asked for, and the gateway may apply it after answering.
ALTER TABLE orders ADD COLUMN recheck_until INTEGER;

CREATE UNIQUE INDEX orders_paid_seq ON orders (paid_seq);
CREATE INDEX orders_recheck ON orders (recheck_until);

-- Attempts that held money before this migration: number them in the order their
-- money arrived (the first paid history row), so the kept payment stays the same.
UPDATE orders SET paid_seq = (
    SELECT MIN(e.id) FROM order_events e
    WHERE e.charge_code = orders.charge_code
      AND e.to_state IN ('paid', 'partially_refunded', 'refunded'))
WHERE state IN ('paid', 'partially_refunded', 'refunded', 'revoked');

-- Attempts already refunded as duplicates: of the link's first payment.
UPDATE orders SET duplicate_of = (
    SELECT p.charge_code FROM orders p
    WHERE p.link_id = orders.link_id AND p.charge_code != orders.charge_code
      AND p.paid_seq IS NOT NULL
    ORDER BY p.paid_seq LIMIT 1)
WHERE EXISTS (
    SELECT 1 FROM refunds r WHERE r.charge_code = orders.charge_code
      AND r.out_refund_no = 'dup-' || orders.charge_code);
