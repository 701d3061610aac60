//! The epay (易支付) interface's flows: a payment request becomes one
//! fixed link of ours, or finds the trade already under its `out_trade_no`
//! (`checkout::epay::reuse`: the same money and name is the same trade,
//! anything else is refused — never a second charge); a trade's paid
//! state is its link's kept payment; a refund is our refund of that
//! payment, under a number derived from the request
//! (`checkout::epay::refund_no`), so a retried call is the same refund.

use checkout::api::CreateLinkRequest;
use checkout::epay::{self, Merchant, Params, PayRequest, Reuse, Trade};
use checkout::flow::pay::NewLink;
use checkout::link;
use checkout::vocab::LinkKind;
use soushou::Fen;

use super::link::kept_payment;
use super::refund;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, random_hex};
use crate::store::attempts::{self, OrderRow};
use crate::store::epay::{self as trades, NewTrade, TradeRow};

/// The trade of a payment request: the one already under its
/// `out_trade_no` (an app's retry), or a new one with its link.
pub async fn open(cx: &Cx, req: &PayRequest) -> ApiResult<TradeRow> {
    let db = cx.db()?;
    let stored = trades::by_out_trade_no(db, &req.pid, &req.out_trade_no).await?;
    if let Some(trade) = decided(stored, req)? {
        cx.log.set("outcome", "epay_trade_again");
        return Ok(trade);
    }
    let base = cx.settings.public_base_url()?;
    let mut back = Params::new();
    back.insert("pid".into(), req.pid.clone());
    back.insert("out_trade_no".into(), req.out_trade_no.clone());
    let return_url = epay::with_query(
        &format!("{base}/{}/return", cx.settings.epay_prefix()),
        &back,
    );
    let now = now_secs();
    let payload = CreateLinkRequest {
        kind: Some(LinkKind::Fixed),
        amount: Some(req.money.to_yuan()),
        min_amount: None,
        max_amount: None,
        subject: req.name.clone(),
        r#ref: Some(req.out_trade_no.clone()),
        expires_in: None,
        return_url: Some(return_url),
        goods: Vec::new(),
        channel: req.pay_type.map(epay::PayType::channel),
    }
    .to_payload(now, random_hex(8))?;
    let token = cx.settings.link_keys()?.issue(&payload);
    let link = NewLink::of(&link::link_id(&token), &token, &payload);
    let new = NewTrade {
        pid: &req.pid,
        out_trade_no: &req.out_trade_no,
        pay_type: req.pay_type,
        name: &req.name,
        money: req.money,
        notify_url: &req.notify_url,
        return_url: req.return_url.as_deref(),
        param: req.param.as_deref(),
        clientip: req.clientip.as_deref(),
        link: &link,
    };
    let stored = trades::insert(db, &new, now).await?;
    // A concurrent request may have recorded the number first: judged
    // like any earlier trade.
    let trade = decided(Some(stored), req)?.ok_or(ApiError::Storage(
        "epay trade neither new nor stored".into(),
    ))?;
    cx.log.set("charge_code", trade.trade_no.as_str());
    cx.log.set("outcome", "epay_trade_opened");
    Ok(trade)
}

/// `checkout::epay::reuse` of a stored trade: `Some` the same trade,
/// `None` a new one, an error for a number used otherwise.
fn decided(stored: Option<TradeRow>, req: &PayRequest) -> ApiResult<Option<TradeRow>> {
    match epay::reuse(stored.as_ref().map(|t| (t.money, t.name.as_str())), req) {
        Reuse::New => Ok(None),
        Reuse::Same => Ok(stored),
        Reuse::Conflict => Err(epay::conflict().into()),
    }
}

/// The app's trade named by `trade_no` or `out_trade_no` (in that order).
pub async fn find(cx: &Cx, app: &Merchant, params: &Params) -> ApiResult<TradeRow> {
    let db = cx.db()?;
    let given = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let trade = match (given("trade_no"), given("out_trade_no")) {
        (Some(no), _) => trades::by_trade_no(db, no).await?,
        (None, Some(no)) => trades::by_out_trade_no(db, &app.pid, no).await?,
        (None, None) => {
            return Err(checkout::Error::InvalidRequest {
                field: "trade_no",
                reason: "give trade_no or out_trade_no",
            }
            .into())
        }
    };
    trade
        .filter(|t| t.pid == app.pid)
        .ok_or(ApiError::NotFound("order"))
}

/// The attempt that paid the trade's link, if it is paid.
pub async fn payment(cx: &Cx, trade: &TradeRow) -> ApiResult<Option<OrderRow>> {
    let attempts = attempts::link_attempts(cx.db()?, &trade.trade_no).await?;
    let kept = kept_payment(&attempts)?;
    Ok(attempts
        .into_iter()
        .find(|a| Some(&a.charge_code) == kept.as_ref()))
}

/// The signed result parameters of a paid trade (notification and return).
pub fn result(trade: &TradeRow, paid: &OrderRow, key: &str) -> ApiResult<Params> {
    let notice = trade.notice(&paid.channel_type)?;
    Ok(epay::result_params(
        &Trade {
            pid: &notice.pid,
            trade_no: &notice.trade_no,
            out_trade_no: &notice.out_trade_no,
            pay_type: notice.pay_type,
            name: &notice.name,
            money: notice.money,
            param: notice.param.as_deref(),
        },
        key,
    ))
}

/// Refunds `money` of the trade's payment (`act=refund`); the amount
/// refunded so far.
pub async fn refund(
    cx: &Cx,
    trade: &TradeRow,
    money: Fen,
    out_refund_no: Option<&str>,
) -> ApiResult<Fen> {
    let paid = payment(cx, trade)
        .await?
        .ok_or(checkout::Error::NotRefundable {
            status: checkout::api::OrderStatus::Pending,
        })?;
    let request = checkout::flow::refund::Request {
        out_refund_no: epay::refund_no(&trade.trade_no, out_refund_no, money)?,
        amount: money,
        reason: "epay refund".into(),
    };
    cx.log.set("charge_code", paid.charge_code.as_str());
    Ok(refund::refund(cx, &paid.charge_code, request).await?.total)
}
