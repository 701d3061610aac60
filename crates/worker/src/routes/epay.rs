//! The epay (易支付) interface under `EPAY_PREFIX` (default `/epay/`):
//! `submit.php`, `mapi.php`, `api.php`, and `return` (the shopper's way
//! back to the app). Own authentication: `pid` with the MD5 `sign`
//! (`checkout::epay::authenticate`), or `pid` with `key` on `api.php` as
//! the protocol does — never the merchant API's bearer token. Off (404)
//! while `EPAY_PID` is unset.
//!
//! Answers are what epay clients expect: `submit.php` a redirect (or a
//! plain-text error page), `mapi.php` and `api.php` JSON with `code` (1 on
//! success) and `msg`, HTTP 200 either way.

use checkout::epay::{self, Answer, Api, Endpoint, Mapi, Merchant, OrderView, Params};
use serde::Serialize;
use worker::{Method, Request, Response};

use crate::flows::epay as trades;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::guard;
use crate::platform::http::json as json_response;
use crate::store::epay::TradeRow;

/// One request to the interface.
pub async fn handle(
    cx: &Cx,
    mut req: Request,
    method: &Method,
    endpoint: Endpoint,
) -> ApiResult<Response> {
    let Some(apps) = cx.settings.epay_merchants()? else {
        return Err(ApiError::NotFound("route"));
    };
    let params = read_params(&mut req, method).await?;
    match endpoint {
        Endpoint::Submit => match submit(cx, &apps, &params).await {
            Ok(url) => redirect(&url),
            Err(e) => text_error(cx, &e),
        },
        Endpoint::Mapi => answer(cx, mapi(cx, &apps, &params).await),
        Endpoint::Api => answer(cx, api(cx, &apps, &params).await),
        Endpoint::Return => match back(cx, &apps, &params).await {
            Ok(url) => redirect(&url),
            Err(e) => text_error(cx, &e),
        },
    }
}

/// A 302 to `url`, never cached (the address carries a signature).
fn redirect(url: &str) -> ApiResult<Response> {
    let resp = Response::empty()?.with_status(302);
    resp.headers().set("Location", url)?;
    resp.headers().set("Cache-Control", "no-store")?;
    resp.headers().set("Referrer-Policy", "no-referrer")?;
    Ok(resp)
}

/// The query's parameters and, for a POST, the form body's (which win).
async fn read_params(req: &mut Request, method: &Method) -> ApiResult<Params> {
    let url = req.url()?;
    let mut pairs = soushou::envelope::parse_query(url.query().unwrap_or(""));
    if *method == Method::Post {
        let body = guard::read_body(req).await?;
        pairs.extend(soushou::envelope::parse_query(&String::from_utf8_lossy(
            &body,
        )));
    }
    Ok(epay::params(pairs))
}

/// A JSON answer in the protocol's shape: `code` 1 and the fields, or
/// `code` -1 with the reason as `msg`; HTTP 200 either way (epay clients
/// read the body, not the status), but a storage or configuration fault
/// stays a 5xx so that it is seen and retried.
fn answer<T: Serialize>(cx: &Cx, result: ApiResult<T>) -> ApiResult<Response> {
    match result {
        Ok(v) => json_response(200, &Answer::ok(v)),
        Err(e @ (ApiError::Storage(_) | ApiError::Misconfigured(_) | ApiError::Internal(_))) => {
            Err(e)
        }
        Err(e) => {
            cx.log.set("epay_error", e.code().as_str());
            json_response(200, &Answer::<T>::refused(e.to_string()))
        }
    }
}

/// `submit.php`'s refusal: a page the shopper can read (400).
fn text_error(cx: &Cx, e: &ApiError) -> ApiResult<Response> {
    cx.log.set("epay_error", e.code().as_str());
    let resp =
        Response::ok(format!("支付请求无效 / payment request refused: {e}"))?.with_status(400);
    resp.headers()
        .set("Content-Type", "text/plain; charset=utf-8")?;
    Ok(resp)
}

/// A signed payment request's trade (new or the same again).
async fn pay_trade(cx: &Cx, apps: &[Merchant], params: &Params) -> ApiResult<TradeRow> {
    let app = epay::authenticate(params, apps)?;
    let req = epay::pay_request(params, &app.pid)?;
    trades::open(cx, &req).await
}

/// `submit.php`: the checkout page's address for the trade.
async fn submit(cx: &Cx, apps: &[Merchant], params: &Params) -> ApiResult<String> {
    let trade = pay_trade(cx, apps, params).await?;
    Ok(checkout::link::url(
        &cx.settings.public_base_url()?,
        &trade.token,
    ))
}

/// `mapi.php`: the trade and the way to pay it, by `device`.
async fn mapi(cx: &Cx, apps: &[Merchant], params: &Params) -> ApiResult<Mapi> {
    let trade = pay_trade(cx, apps, params).await?;
    let device = epay::Device::parse(params.get("device").map(String::as_str));
    let page = checkout::link::url(&cx.settings.public_base_url()?, &trade.token);
    Ok(Mapi::new(trade.trade_no, device, page))
}

/// `api.php`: `act=query`, `act=order`, `act=refund`.
async fn api(cx: &Cx, apps: &[Merchant], params: &Params) -> ApiResult<Api> {
    let app = epay::authenticate_api(params, apps)?;
    let act = params.get("act").map(String::as_str).unwrap_or("");
    cx.log.set("epay_act", act);
    match act {
        "query" => Ok(Api::Query {
            pid: app.pid.clone(),
            active: 1,
        }),
        "order" => Ok(Api::Order(order(cx, app, params).await?)),
        "refund" => {
            let trade = trades::find(cx, app, params).await?;
            let given = params.get("money").map(String::as_str).unwrap_or("");
            let money = checkout::amount::parse_api_amount(given)?;
            let no = params.get("out_refund_no").map(String::as_str);
            let total = trades::refund(cx, &trade, money, no).await?;
            Ok(Api::Refund {
                trade_no: trade.trade_no,
                out_trade_no: trade.out_trade_no,
                money: money.to_yuan(),
                refunded: total.to_yuan(),
            })
        }
        _ => Err(checkout::Error::InvalidRequest {
            field: "act",
            reason: "not supported (use query, order or refund)",
        }
        .into()),
    }
}

/// `act=order`: the trade, `status` 1 once paid.
async fn order(cx: &Cx, app: &Merchant, params: &Params) -> ApiResult<OrderView> {
    let trade = trades::find(cx, app, params).await?;
    let paid = trades::payment(cx, &trade).await?;
    let pay_type = match &paid {
        Some(p) => trade.notice(&p.channel_type)?.pay_type,
        None => trade.pay_type()?.unwrap_or(epay::PayType::Alipay),
    };
    Ok(OrderView {
        api_trade_no: paid
            .as_ref()
            .map(|p| p.charge_code.clone())
            .unwrap_or_default(),
        pay_type: pay_type.as_str(),
        addtime: epay::time(trade.created_at),
        endtime: paid
            .as_ref()
            .and_then(|p| p.paid_at)
            .map(epay::time)
            .unwrap_or_default(),
        money: trade.money.to_yuan(),
        param: trade.param.unwrap_or_default(),
        buyer: String::new(),
        clientip: trade.clientip.unwrap_or_default(),
        status: u8::from(paid.is_some()),
        trade_no: trade.trade_no,
        out_trade_no: trade.out_trade_no,
        pid: trade.pid,
        name: trade.name,
    })
}

/// `return`: once paid, the app's `return_url` with the signed result
/// parameters; before (or without a `return_url`), our page for the trade.
async fn back(cx: &Cx, apps: &[Merchant], params: &Params) -> ApiResult<String> {
    let pid = params.get("pid").map(String::as_str).unwrap_or("");
    let app = apps
        .iter()
        .find(|m| m.pid == pid)
        .ok_or(ApiError::NotFound("order"))?;
    let trade = trades::find(cx, app, params).await?;
    let page = checkout::link::url(&cx.settings.public_base_url()?, &trade.token);
    let paid = trades::payment(cx, &trade).await?;
    Ok(match (paid, trade.return_url.as_deref()) {
        (Some(paid), Some(url)) => epay::with_query(url, &trades::result(&trade, &paid, &app.key)?),
        _ => page,
    })
}
