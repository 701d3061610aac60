-- The epay (易支付) interface (issue 23): one row per epay trade, and the
-- app's notification written into the same outbox as merchant webhooks.
-- Decisions in checkout::epay, I/O in crates/worker/src/store/epay.rs.

-- An epay trade is one fixed link of ours: its trade_no is the link's id.
-- (pid, out_trade_no) is unique, so an app's retry finds its trade and a
-- reused number never makes a second one.
CREATE TABLE epay_trades (
    trade_no     TEXT PRIMARY KEY,          -- = links.link_id
    pid          TEXT NOT NULL,
    out_trade_no TEXT NOT NULL,
    token        TEXT NOT NULL,             -- the link's token (the page's address)
    pay_type     TEXT,                      -- 'alipay' | 'wxpay' | NULL: the page's routing
    name         TEXT NOT NULL,             -- as received
    money_fen    INTEGER NOT NULL CHECK (money_fen > 0),
    notify_url   TEXT NOT NULL,
    return_url   TEXT,
    param        TEXT,
    clientip     TEXT,
    created_at   INTEGER NOT NULL,
    UNIQUE (pid, out_trade_no)
);

-- The app's notification exists if and only if the trade's first payment
-- committed: written by the same transaction as that payment's order.paid
-- outbox row (store::events), once per trade ('epay:' || trade_no; a
-- duplicate payment of the link adds nothing). Delivered by the webhook
-- queue's consumer as a signed GET to notify_url (flows::webhook).
CREATE TRIGGER epay_trade_paid AFTER INSERT ON webhook_events
WHEN NEW.kind = 'order.paid' AND NEW.link_id IS NOT NULL
BEGIN
    INSERT OR IGNORE INTO webhook_events (dedupe_key, kind, charge_code, link_id,
        merchant_ref, amount_fen, refunded_fen, state, out_refund_no, refund_fen,
        created_at, next_attempt_at)
    SELECT 'epay:' || t.trade_no, 'epay.notify', NEW.charge_code, NEW.link_id,
        NEW.merchant_ref, NEW.amount_fen, NEW.refunded_fen, NEW.state, NULL, NULL,
        NEW.created_at, NEW.next_attempt_at
    FROM epay_trades t WHERE t.trade_no = NEW.link_id;
END;
