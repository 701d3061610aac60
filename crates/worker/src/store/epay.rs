//! Epay trades (`epay_trades`, migration `0010`): one per `(pid,
//! out_trade_no)`, each one fixed link of ours (`trade_no` is the link's
//! id). The app's notification is an outbox row (`epay.notify`) written by
//! the migration's trigger in the transaction of the trade's first
//! `order.paid` row, so it exists if and only if that payment committed.

use checkout::epay::PayType;
use checkout::flow::pay::NewLink;
use checkout::flow::webhook::EpayTrade;
use serde::Deserialize;
use soushou::types::ChannelType;
use soushou::Fen;

use super::links::insert_link_statement;
use super::{n, ot, prepare, t, Stored};
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};

const COLUMNS: &str = "trade_no, pid, out_trade_no, token, pay_type, name, money_fen, \
    notify_url, return_url, param, clientip, created_at";

/// A stored epay trade.
#[derive(Clone, Debug, Deserialize)]
pub struct TradeRow {
    /// Our trade number (the link's id).
    pub trade_no: String,
    /// The app's merchant id.
    pub pid: String,
    /// The app's order number.
    pub out_trade_no: String,
    /// The link's token.
    pub token: String,
    /// `alipay`, `wxpay` or none (read through [`TradeRow::pay_type`]).
    pay_type: Option<String>,
    /// What is paid for, as received.
    pub name: String,
    /// The amount.
    #[serde(deserialize_with = "super::fen", rename = "money_fen")]
    pub money: Fen,
    /// Where the app hears of the payment.
    pub notify_url: String,
    /// Where the shopper goes back to.
    pub return_url: Option<String>,
    /// The app's own data.
    pub param: Option<String>,
    /// The shopper's IP as the app saw it.
    pub clientip: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
}

impl TradeRow {
    /// The wallet the app asked for; an unknown stored spelling is a
    /// storage error.
    pub fn pay_type(&self) -> ApiResult<Option<PayType>> {
        match self.pay_type.as_deref() {
            None => Ok(None),
            Some(s) => PayType::parse_stored(s)
                .map(Some)
                .ok_or_else(|| ApiError::Storage(format!("epay trade: unknown type {s:?}"))),
        }
    }

    /// The trade as the delivery flow tells it, paid through `channel`.
    pub fn notice(&self, channel: &ChannelType) -> ApiResult<EpayTrade> {
        Ok(EpayTrade {
            pid: self.pid.clone(),
            trade_no: self.trade_no.clone(),
            out_trade_no: self.out_trade_no.clone(),
            pay_type: PayType::paid(self.pay_type()?, channel),
            name: self.name.clone(),
            money: self.money,
            param: self.param.clone(),
            notify_url: self.notify_url.clone(),
        })
    }
}

/// A trade to record, with its link.
pub struct NewTrade<'a> {
    /// The app's merchant id.
    pub pid: &'a str,
    /// The app's order number.
    pub out_trade_no: &'a str,
    /// The wallet asked for.
    pub pay_type: Option<PayType>,
    /// As received.
    pub name: &'a str,
    /// The amount.
    pub money: Fen,
    /// Where the app hears of it.
    pub notify_url: &'a str,
    /// Where the shopper goes back to.
    pub return_url: Option<&'a str>,
    /// The app's own data.
    pub param: Option<&'a str>,
    /// The shopper's IP.
    pub clientip: Option<&'a str>,
    /// The trade's link (its id is the trade number).
    pub link: &'a NewLink,
}

/// Records a trade and its link in one batch, unless `(pid, out_trade_no)`
/// is taken, and returns the trade now stored under that number: ours, or
/// the one a concurrent request recorded first (whose token is the one
/// handed out; the loser's link row is recorded but its token never leaves
/// the Worker, so it is never paid).
pub async fn insert(db: &Db, trade: &NewTrade<'_>, now: u64) -> ApiResult<TradeRow> {
    let l = trade.link;
    let insert = prepare(
        db,
        &format!(
            "INSERT OR IGNORE INTO epay_trades ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        ),
        &[
            t(&l.link_id),
            t(trade.pid),
            t(trade.out_trade_no),
            t(&l.token),
            ot(trade.pay_type.map(PayType::as_str)),
            t(trade.name),
            n(trade.money.fen()),
            t(trade.notify_url),
            ot(trade.return_url),
            ot(trade.param),
            ot(trade.clientip),
            n(now),
        ],
    )?;
    let link = insert_link_statement(db, l, now)?;
    let read = by_number_statement(db, trade.pid, trade.out_trade_no)?;
    let results = db.batch(vec![insert, link, read]).await.stored()?;
    let row = results
        .get(2)
        .ok_or_else(|| ApiError::Storage("batch result missing".into()))?
        .results::<TradeRow>()
        .stored()?;
    row.into_iter()
        .next()
        .ok_or_else(|| ApiError::Storage("epay trade missing after insert".into()))
}

fn by_number_statement<'d>(
    db: &'d Db,
    pid: &str,
    out_trade_no: &str,
) -> ApiResult<crate::platform::db::Stmt<'d>> {
    prepare(
        db,
        &format!("SELECT {COLUMNS} FROM epay_trades WHERE pid = ?1 AND out_trade_no = ?2"),
        &[t(pid), t(out_trade_no)],
    )
}

/// The app's trade under its own number.
pub async fn by_out_trade_no(
    db: &Db,
    pid: &str,
    out_trade_no: &str,
) -> ApiResult<Option<TradeRow>> {
    by_number_statement(db, pid, out_trade_no)?
        .first::<TradeRow>()
        .await
        .stored()
}

/// The trade under our number.
pub async fn by_trade_no(db: &Db, trade_no: &str) -> ApiResult<Option<TradeRow>> {
    prepare(
        db,
        &format!("SELECT {COLUMNS} FROM epay_trades WHERE trade_no = ?1"),
        &[t(trade_no)],
    )?
    .first::<TradeRow>()
    .await
    .stored()
}
