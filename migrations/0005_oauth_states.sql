-- Wallet sign-ins in flight (crates/worker/src/oauth.rs, decisions in
-- checkout::oauth). One row per `state` handed to WeChat or Alipay: its
-- nonce, the link it started from and until when it may come back. The
-- callback claims the row once (a replayed state finds it used) and erases
-- the token; the cron deletes rows a day after they expired.
CREATE TABLE oauth_states (
    nonce       TEXT PRIMARY KEY,           -- the state's 24 hex nonce
    wallet      TEXT NOT NULL,              -- 'wechat' | 'alipay'
    link_id     TEXT NOT NULL,              -- checkout::link::link_id of the token
    token       TEXT,                       -- the link token to return to; NULL once used
    expires_at  INTEGER NOT NULL,           -- unix seconds
    used_at     INTEGER                     -- unix seconds of the callback, NULL before
);
CREATE INDEX oauth_states_by_expiry ON oauth_states (expires_at);
