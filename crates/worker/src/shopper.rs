//! Shopper-facing routes (no auth; the page calls these):
//! `GET /api/checkout/{token}`, `POST /api/pay`, `GET /api/orders/{code}`.

use checkout::api::{
    CheckoutView, LinkState, OrderStatus, OrderView, PayAction, PayMethod, PayRequest, PayResponse,
};
use checkout::link::{self, LinkPayload};
use checkout::oauth::{self, ShopperId, Wallet};
use checkout::routing::{self, Route, Shopper};
use checkout::settle;
use checkout::vocab::{EventSource, OrderKind};
use soushou::model::{CreatOrderRequest, OrderRequest, OrderResp, SceneInfo, WapOrderRequest};
use soushou::types::{ChannelType, TradeType};
use soushou::Fen;
use worker::Request;

use crate::attempt::{self, new_charge_code};
use crate::context::Cx;
use crate::error::{ApiError, ApiResult};
use crate::http::read_json;
use crate::log::now_secs;
use crate::repo::{self, NewLink, NewOrder, OrderRow};
use crate::{gateway, orders};

/// `TIME_EXPIRE` of `creatOrder` (the document's minimum is 120 s).
const ALIPAY_JSAPI_EXPIRE_SECS: u32 = 900;
/// `TIME_EXPIRE` of `wapOrder` (the document's minimum is 300 s).
const WAP_EXPIRE_SECS: u32 = 900;

/// The charge code of the link's kept payment, if the link is paid
/// (`checkout::settle::kept_payment`: a revoked payment or a refunded
/// duplicate does not pay a link).
fn kept_payment(attempts: &[OrderRow]) -> ApiResult<Option<String>> {
    let view = repo::link_view(attempts);
    Ok(settle::kept_payment(&view).map(|a| a.charge_code.to_owned()))
}

/// `GET /api/checkout/{token}`.
pub async fn checkout_view(cx: &Cx, token: &str) -> ApiResult<CheckoutView> {
    let payload = cx.settings.link_keys()?.verify_ignoring_expiry(token)?;
    let attempts = repo::link_attempts(cx.db()?, &link::link_id(token)).await?;
    let paid = kept_payment(&attempts)?;
    let now = now_secs();
    if paid.is_none() && payload.is_expired(now) {
        return Err(checkout::Error::LinkExpired.into());
    }
    let charge_code = paid.clone().or_else(|| {
        attempts
            .iter()
            .find(|a| a.state == OrderStatus::Pending)
            .map(|a| a.charge_code.clone())
    });
    if let Some(code) = &charge_code {
        cx.log.set("charge_code", code.as_str());
    }
    let state = payload.state(now, paid.is_some());
    cx.log.set(
        "outcome",
        match state {
            LinkState::Open => "open",
            LinkState::Paid => "paid",
            LinkState::Expired => "expired",
        },
    );
    let attempt_amount = charge_code
        .as_deref()
        .and_then(|code| attempts.iter().find(|a| a.charge_code == code))
        .map(|a| Fen::from_fen(a.amount_fen));
    let mut view = CheckoutView::from_link(
        cx.settings.merchant_name(),
        &payload,
        state,
        charge_code,
        attempt_amount,
    );
    // A paid link's way back carries the trusted-return signature too.
    if let Some(order) = paid
        .as_deref()
        .and_then(|code| attempts.iter().find(|a| a.charge_code == code))
    {
        view.return_url = crate::events::signed_return_url(cx, order, Some(&payload)).await?;
    }
    Ok(view)
}

/// The shopper's IP for `SPBILL_CREATE_IP`.
fn client_ip(req: &Request) -> String {
    req.headers()
        .get("CF-Connecting-IP")
        .ok()
        .flatten()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "127.0.0.1".to_owned())
}

/// A non-empty trimmed optional string.
fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `POST /api/pay`: a new attempt of the link, created at the gateway.
///
/// Earlier attempts of this link are left as they are, on purpose: a
/// real-time `cancelTrade` is a revocation, and a payment landing between
/// our read of the attempts and the cancel would be handed back while the
/// shopper sees "paid". A superseded attempt that is paid late is a
/// duplicate payment, refunded in full (`orders::refund_if_duplicate`); one
/// never paid stays pending until it expires at the gateway.
pub async fn pay(cx: &Cx, mut req: Request) -> ApiResult<PayResponse> {
    let body: PayRequest = read_json(&mut req).await?;
    let now = now_secs();
    let payload = cx.settings.link_keys()?.verify(&body.token, now)?;
    // Fixed here, before any I/O: a refused amount never reaches the gateway.
    let amount = payload.amount.charge(body.amount.as_deref())?;
    let link_id = link::link_id(&body.token);
    let ids = ShopperIds::read(&cx.settings, &body, &link_id, now)?;
    let buyer_id = ids.buyer_id.clone();
    let (method, shopper) = choose_method(&req, &body, &payload, ids)?;
    cx.log.set("pay_method", method.as_str());
    let charge_code = new_charge_code();
    let attempt = Attempt {
        charge_code: &charge_code,
        method,
        channel: routing::channel_type(method, payload.channel),
        payload: &payload,
        amount,
        token: &body.token,
        shopper: &shopper,
        buyer_id,
        buyer_logon_id: non_empty(&body.buyer_logon_id),
        client_ip: client_ip(&req),
    };

    let link = NewLink {
        link_id: &link_id,
        token: &body.token,
        payload: &payload,
    };
    let order = NewOrder {
        charge_code: &charge_code,
        link_id: Some(&link_id),
        kind: OrderKind::Link,
        method: method.into(),
        channel_type: attempt.channel.code(),
        amount_fen: amount.fen(),
        subject: &payload.subject,
        return_url: payload.return_url.as_deref(),
    };
    // The link's other attempts serve the rate limit and the already-paid
    // check; they are read in the round trip that stores this attempt.
    let admit = |others: &[OrderRow]| {
        crate::guard::limit_pay(cx, others, now)?;
        if let Some(paid) = kept_payment(others)? {
            cx.log.set("charge_code", paid.as_str());
            return Err(ApiError::AlreadyPaid);
        }
        Ok(())
    };
    let resp = attempt::create_for_link(
        cx,
        &link,
        &order,
        now,
        admit,
        create_at_gateway(cx, &attempt),
    )
    .await?;
    let action = PayAction::from_gateway(method, &resp).map_err(ApiError::GatewayIncomplete)?;
    cx.log.set("outcome", "attempt_created");
    Ok(PayResponse {
        charge_code,
        method,
        action,
    })
}

/// The shopper's wallet ids as the page sent them.
struct ShopperIds {
    openid: Option<String>,
    buyer_id: Option<String>,
}

impl ShopperIds {
    /// A signed id (after the Worker's sign-in) must be this link's and
    /// fresh (`SIGNIN_INVALID` otherwise); an unsigned one is taken as is.
    fn read(
        settings: &crate::config::Settings,
        body: &PayRequest,
        link_id: &str,
        now: u64,
    ) -> ApiResult<Self> {
        let keys = settings.link_keys()?;
        let id = |value: &Option<String>, wallet| -> ApiResult<Option<String>> {
            Ok(non_empty(value)
                .map(|v| oauth::read_id(&keys, &v, wallet, link_id, now))
                .transpose()?
                .map(ShopperId::into_inner))
        };
        Ok(ShopperIds {
            openid: id(&body.openid, Wallet::Wechat)?,
            buyer_id: id(&body.buyer_id, Wallet::Alipay)?,
        })
    }
}

/// The payment method for this shopper and link (`checkout::routing`).
fn choose_method(
    req: &Request,
    body: &PayRequest,
    payload: &LinkPayload,
    ids: ShopperIds,
) -> ApiResult<(PayMethod, Shopper)> {
    let ua = req
        .headers()
        .get("User-Agent")
        .ok()
        .flatten()
        .unwrap_or_default();
    let shopper = Shopper {
        env: routing::detect(&ua),
        openid: ids.openid,
        buyer_id: ids.buyer_id.or_else(|| non_empty(&body.buyer_logon_id)),
    };
    match routing::resolve(body.method, &shopper, payload.channel) {
        Route::Pay(m) => Ok((m, shopper)),
        Route::OpenInBrowser => Err(ApiError::InvalidRequest(
            "this link cannot be paid in this app; open it in the system browser".into(),
        )),
    }
}

/// One link attempt, as the gateway must hear of it.
struct Attempt<'a> {
    charge_code: &'a str,
    method: PayMethod,
    channel: ChannelType,
    payload: &'a LinkPayload,
    /// This attempt's amount (`LinkAmount::charge`), as stored on its row.
    amount: Fen,
    /// The link token (the wap return page is the checkout page again).
    token: &'a str,
    shopper: &'a Shopper,
    /// Alipay's `buyerId` and `buyerLogonId`, as the page sent them.
    buyer_id: Option<String>,
    buyer_logon_id: Option<String>,
    client_ip: String,
}

/// Creates the attempt at the gateway with the method's interface:
/// `order` (JSAPI / NATIVE), `creatOrder` (Alipay) or `wapOrder`.
async fn create_at_gateway(cx: &Cx, a: &Attempt<'_>) -> ApiResult<OrderResp> {
    let settings = &cx.settings;
    let cfg = settings.gateway()?;
    let nodify_url = Some(settings.notify_url(&cfg)?);
    let (common, amt, channel_type) = (cfg.common(), a.amount, a.channel.clone());
    let charge_code = a.charge_code.to_owned();
    let pay_subject = a.payload.subject.clone();
    let goods_detail = a.payload.goods_detail();
    match a.method {
        PayMethod::WechatJsapi | PayMethod::Native => {
            let jsapi = a.method == PayMethod::WechatJsapi;
            let r = OrderRequest {
                common,
                amt,
                channel_type,
                trade_type: Some(if jsapi {
                    TradeType::Jsapi
                } else {
                    TradeType::Native
                }),
                sub_appid: jsapi.then(|| settings.wechat_sub_appid()).flatten(),
                sub_openid: jsapi.then(|| a.shopper.openid.clone()).flatten(),
                charge_code,
                nodify_url,
                pay_subject,
                goods_detail,
            };
            gateway::call(cx, &cfg, &r).await
        }
        PayMethod::AlipayJsapi => {
            let r = CreatOrderRequest {
                common,
                amt,
                channel_type,
                time_expire: Some(ALIPAY_JSAPI_EXPIRE_SECS),
                buyer_logon_id: a.buyer_logon_id.clone(),
                buyer_id: a.buyer_id.clone(),
                charge_code,
                nodify_url,
                pay_subject,
                goods_detail,
            };
            gateway::call(cx, &cfg, &r).await
        }
        PayMethod::Wap => {
            let base = settings.public_base_url()?;
            let r = WapOrderRequest {
                common,
                amt,
                channel_type,
                time_expire: Some(WAP_EXPIRE_SECS),
                scene_info: SceneInfo::Wap {
                    wap_url: base.clone(),
                    wap_name: settings.merchant_name(),
                },
                nodify_url,
                return_url: Some(format!(
                    "{base}/c/{}?charge_code={}",
                    a.token, a.charge_code
                )),
                spbill_create_ip: a.client_ip.clone(),
                charge_code,
                pay_subject,
                goods_detail,
            };
            gateway::call(cx, &cfg, &r).await
        }
    }
}

/// `GET /api/orders/{charge_code}[?token=]` (with the page's token, an
/// attempt of another link is not found: `guard::check_link`).
pub async fn order_view(cx: &Cx, charge_code: &str, req: &Request) -> ApiResult<OrderView> {
    let order = repo::get_order(cx.db()?, charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))?;
    let token = crate::guard::check_link(req, &order)?;
    cx.log.set("charge_code", charge_code);
    let order = orders::confirm_if_due(cx, order, EventSource::Poll).await?;
    cx.log.set("outcome", order.state.as_str());
    let mut seen = order.view()?;
    // The page's own token, verified, names the link's merchant_ref.
    let link = match token {
        Some(token) => cx.settings.link_keys()?.verify_ignoring_expiry(&token).ok(),
        None => None,
    };
    seen.return_url = crate::events::signed_return_url(cx, &order, link.as_ref()).await?;
    Ok(seen)
}
