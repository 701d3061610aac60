-- Bounded sign-in state (issue 24, defects 2 and 11). The old oauth_states
-- row held the whole link token (up to kilobytes with goods) and nothing
-- limited how many a script could create. Its rows are now fixed-size: the
-- callback reads the token from `links` (recorded when the sign-in starts),
-- and each row names the client it is counted against, so the Worker's
-- one-statement conditional insert allows at most
-- checkout::oauth::START_LIMIT starts per link and per client per window.
-- Sign-ins in flight at deploy time (at most ten minutes old) are dropped:
-- their callback shows "start again from the link".
DROP TABLE oauth_states;
CREATE TABLE oauth_states (
    nonce       TEXT PRIMARY KEY,           -- the state's 24 hex nonce
    wallet      TEXT NOT NULL,              -- 'wechat' | 'alipay'
    link_id     TEXT NOT NULL,              -- checkout::link::link_id of the token
    client      TEXT NOT NULL,              -- checkout::guard::client_id of the IP
    created_at  INTEGER NOT NULL,           -- unix seconds
    expires_at  INTEGER NOT NULL,           -- unix seconds
    used_at     INTEGER                     -- unix seconds of the callback, NULL before
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
CREATE INDEX oauth_states_by_link ON oauth_states (link_id, created_at);
CREATE INDEX oauth_states_by_client ON oauth_states (client, created_at);

-- Who started each payment attempt (issue 24, defect 8), so one device or
-- IP spending a link's allowance does not lock other shoppers out
-- (checkout::guard::check_attempt). Keyed hashes, never an IP; NULL on
-- attempts stored before this migration and on merchant orders.
ALTER TABLE orders ADD COLUMN client_ip TEXT;
ALTER TABLE orders ADD COLUMN client_device TEXT;
