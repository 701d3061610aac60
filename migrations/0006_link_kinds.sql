-- Link kinds and deactivation (issue 21, contract v1.1 "Links: kinds,
-- deactivation"): a link is `fixed` (one payment of the merchant's amount),
-- `open` (one payment of the shopper's amount within bounds) or `counter` (a
-- shop's printed code: many payments, each its own order, never paid).
-- The token says which (checkout::link::LinkPayload::kind); the row says it
-- too, so lists can filter and the transition's judge (store::attempts) can
-- keep every payment of a counter code inside its own UPDATE.
ALTER TABLE links ADD COLUMN kind TEXT NOT NULL DEFAULT 'fixed'
    CHECK (kind IN ('fixed', 'open', 'counter'));
-- 1 while the link accepts payments; 0 once the merchant deactivated it
-- (POST /v1/links/{id}/deactivate), never back.
ALTER TABLE links ADD COLUMN active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1));
ALTER TABLE links ADD COLUMN deactivated_at INTEGER;
-- The device (a random id in the shopper's cookie) that made an attempt of a
-- counter code: only that device may resume or poll it.
ALTER TABLE orders ADD COLUMN device TEXT;

-- Existing rows: an open-amount token's payload starts with {"lo": (its
-- bounds come first, checkout::link::OPEN_TOKEN_PREFIX is its base64url
-- spelling, tested there); every other stored token is a fixed link's.
UPDATE links SET kind = 'open' WHERE token LIKE 'eyJsbyI6%';
