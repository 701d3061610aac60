-- D1 schema of the checkout Worker. Money is integer fen; times are unix seconds.

-- Checkout links the merchant API issued (the token itself is self-contained and
-- HMAC-signed; this row is the merchant's record of it).
CREATE TABLE links (
    link_id      TEXT PRIMARY KEY,          -- checkout::link::link_id(token)
    amount_fen   INTEGER NOT NULL CHECK (amount_fen > 0),
    subject      TEXT NOT NULL,
    merchant_ref TEXT,
    return_url   TEXT,
    expires_at   INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);

-- One row per payment attempt (CHARGE_CODE): link attempts, merchant QR orders, POS charges.
CREATE TABLE orders (
    charge_code       TEXT PRIMARY KEY,
    link_id           TEXT,                 -- NULL for QR / POS orders
    kind              TEXT NOT NULL CHECK (kind IN ('link', 'qr', 'pos')),
    method            TEXT NOT NULL,        -- wechat_jsapi | alipay_jsapi | wap | native | pos
    channel_type      TEXT NOT NULL,        -- gateway CHANNEL_TYPE code
    amount_fen        INTEGER NOT NULL CHECK (amount_fen > 0),
    refunded_fen      INTEGER NOT NULL DEFAULT 0 CHECK (refunded_fen >= 0),
    subject           TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('pending', 'paid', 'closed', 'revoked',
                                  'refunded', 'partially_refunded', 'failed')),
    return_url        TEXT,
    charge_down_code  TEXT,
    charge_third_code TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    paid_at           INTEGER,
    last_query_at     INTEGER               -- reconciler's per-order rate limit
);
CREATE INDEX orders_by_link ON orders (link_id, state);
CREATE INDEX orders_pending ON orders (state, created_at);

-- State history: one row per applied transition. Transitions are monotone, so an
-- order reaches each state at most once; the unique key makes recording idempotent.
CREATE TABLE order_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    charge_code TEXT NOT NULL REFERENCES orders (charge_code),
    from_state  TEXT NOT NULL,
    to_state    TEXT NOT NULL,
    source      TEXT NOT NULL,              -- pay | notify | poll | cron | merchant_query | refund | cancel
    at          INTEGER NOT NULL,
    UNIQUE (charge_code, to_state)
);

-- Processed (verified, accepted) notifications, counted per order and gateway state.
CREATE TABLE notifications (
    charge_code   TEXT NOT NULL REFERENCES orders (charge_code),
    gateway_state TEXT NOT NULL,
    amount_fen    INTEGER NOT NULL,
    outcome       TEXT NOT NULL,            -- first outcome: applied | duplicate | stale
    received      INTEGER NOT NULL DEFAULT 1,
    first_at      INTEGER NOT NULL,
    last_at       INTEGER NOT NULL,
    PRIMARY KEY (charge_code, gateway_state)
);

-- Refunds. A row is inserted as 'pending' before the gateway is called, only if
-- the remaining refundable amount covers it (one conditional INSERT).
CREATE TABLE refunds (
    out_refund_no TEXT PRIMARY KEY,
    charge_code   TEXT NOT NULL REFERENCES orders (charge_code),
    amount_fen    INTEGER NOT NULL CHECK (amount_fen > 0),
    reason        TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    gateway_code  TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX refunds_by_order ON refunds (charge_code);
