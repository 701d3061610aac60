-- Staff without the master key (API.md v1.1, "Credentials and roles";
-- decisions in checkout::access, SQL in crates/worker/src/store/staff.rs).
-- Every row carries merchant_id (one merchant today, 'default'), so serving
-- many merchants from one Worker later needs no data migration.

-- API keys: only the SHA-256 of the key is stored; the key itself is shown
-- once. A roll sets the old key's expires_at to the end of the overlap.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,          -- key_<16 hex>, not secret
    merchant_id  TEXT NOT NULL DEFAULT 'default',
    key_hash     TEXT NOT NULL UNIQUE,      -- hex SHA-256 of the key
    prefix       TEXT NOT NULL,             -- sk_ + 8 hex: shown in lists and logs
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier', 'accountant', 'viewer')),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,                   -- NULL: never
    revoked_at   INTEGER,
    last_used_at INTEGER,                   -- rewritten at most once a minute
    rolled_from  TEXT                       -- the key this one replaced
);

-- Console sessions: the cookie carries the secret, the row its SHA-256.
CREATE TABLE console_sessions (
    id           TEXT PRIMARY KEY,          -- ses_<16 hex>, not secret
    merchant_id  TEXT NOT NULL DEFAULT 'default',
    secret_hash  TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier', 'accountant', 'viewer')),
    via          TEXT NOT NULL,             -- 'signin_link' | 'api_key' | 'admin_token'
    via_id       TEXT NOT NULL,             -- the link's or key's id
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,          -- rewritten at most once a minute
    revoked_at   INTEGER
);
CREATE INDEX console_sessions_by_created ON console_sessions (merchant_id, created_at);

-- Sign-in links: one use, 15 minutes; the URL carries the secret.
CREATE TABLE signin_links (
    id           TEXT PRIMARY KEY,          -- sil_<16 hex>
    merchant_id  TEXT NOT NULL DEFAULT 'default',
    secret_hash  TEXT NOT NULL UNIQUE,
    name         TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier', 'accountant', 'viewer')),
    created_by   TEXT NOT NULL,             -- the owner's key or session id
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    used_at      INTEGER
);

-- The audit log: one entry per mutating merchant request (denied ones
-- included), written in the batch of the change it records. Kept 400 days
-- (the cron purges older entries in bounded batches).
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    merchant_id  TEXT NOT NULL DEFAULT 'default',
    at           INTEGER NOT NULL,
    actor_type   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    actor_name   TEXT NOT NULL,
    actor_role   TEXT,
    ip           TEXT NOT NULL,
    action       TEXT NOT NULL,             -- e.g. 'POST /v1/orders/{code}/refunds'
    object       TEXT,                      -- the path's ids, e.g. the charge code
    outcome      TEXT NOT NULL CHECK (outcome IN ('ok', 'denied', 'error')),
    status       INTEGER,                   -- the HTTP status answered
    request_id   TEXT NOT NULL
);
CREATE INDEX audit_log_by_merchant ON audit_log (merchant_id, id);
CREATE INDEX audit_log_by_time ON audit_log (at);

-- Failed authentications per client IP and fixed window.
CREATE TABLE auth_failures (
    ip           TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    failures     INTEGER NOT NULL,
    PRIMARY KEY (ip, window_start)
);

ALTER TABLE orders ADD COLUMN merchant_id TEXT NOT NULL DEFAULT 'default';
ALTER TABLE links ADD COLUMN merchant_id TEXT NOT NULL DEFAULT 'default';
