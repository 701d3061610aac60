//! Pay: creating a payment attempt at the gateway — a link payment
//! ([`pay_link`], `POST /api/pay`), a POS charge and a QR order
//! ([`create`]).
//!
//! The attempt is stored as pending before the gateway hears of it, so a
//! fast notification or a timed-out call can always be matched and
//! reconciled; the creating call's answer then settles it
//! (`apply::settle_pay`: a final refusal fails it, anything else unclear
//! leaves it pending for `query`).
//!
//! Earlier attempts of a link are left as they are, on purpose: a
//! real-time `cancelTrade` is a revocation, and a payment landing between
//! our read of the attempts and the cancel would be handed back while the
//! shopper sees "paid". A superseded attempt that is paid late is a
//! duplicate payment, refunded in full (`duplicate::refund_if_duplicate`);
//! one never paid stays pending until it expires at the gateway.

use std::future::Future;

use checkout::api::{PayAction, PayMethod, PayRequest, PayResponse};
use checkout::flow::pay::{NewAttempt, NewLink};
use checkout::guard;
use checkout::link::{self, LinkPayload};
use checkout::oauth::{self, ShopperId, Wallet};
use checkout::routing::{self, Route, Shopper};
use checkout::vocab::OrderKind;
use soushou::envelope;
use soushou::model::{CreatOrderRequest, OrderRequest, OrderResp, SceneInfo, WapOrderRequest};
use soushou::types::{ChannelType, TradeType};
use soushou::Fen;

use super::apply;
use super::link::kept_payment;
use crate::platform::config::Settings;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway;
use crate::platform::log::{now_secs, random_hex};
use crate::store::attempts::{self, OrderRow};

/// What the route read of a `POST /api/pay`.
pub struct PayInput {
    /// The JSON body.
    pub body: PayRequest,
    /// `User-Agent` (which wallet the shopper is in).
    pub user_agent: String,
    /// The shopper's IP for `SPBILL_CREATE_IP`.
    pub client_ip: String,
}

/// `POST /api/pay`: a new attempt of the link, created at the gateway.
pub async fn pay_link(cx: &Cx, input: PayInput) -> ApiResult<PayResponse> {
    let PayInput {
        body,
        user_agent,
        client_ip,
    } = input;
    let now = now_secs();
    let payload = cx.settings.link_keys()?.verify(&body.token, now)?;
    // Fixed here, before any I/O: a refused amount never reaches the gateway.
    let amount = payload.amount.charge(body.amount.as_deref())?;
    let link_id = link::link_id(&body.token);
    let ids = ShopperIds::read(&cx.settings, &body, &link_id, now)?;
    let buyer_id = ids.buyer_id.clone();
    let (method, shopper) = choose_method(&user_agent, &body, &payload, ids)?;
    cx.log.set("pay_method", method.as_str());
    let charge_code = new_charge_code();
    let attempt = Attempt {
        charge_code: &charge_code,
        link_id: &link_id,
        method,
        channel: routing::channel_type(method, payload.channel),
        payload: &payload,
        amount,
        token: &body.token,
        shopper: &shopper,
        buyer_id,
        buyer_logon_id: non_empty(&body.buyer_logon_id),
        client_ip,
    };
    let resp = store_and_send(cx, &attempt, now).await?;
    let action = PayAction::from_gateway(method, &resp).map_err(ApiError::GatewayIncomplete)?;
    cx.log.set("outcome", "attempt_created");
    Ok(PayResponse {
        charge_code,
        method,
        action,
    })
}

/// Stores the link and the attempt, judges the link's other attempts
/// (the rate limit, already paid) and sends the attempt to the gateway
/// ([`create_for_link`]).
async fn store_and_send(cx: &Cx, a: &Attempt<'_>, now: u64) -> ApiResult<OrderResp> {
    let link = NewLink::of(a.link_id, a.token, a.payload);
    let order = NewAttempt {
        charge_code: a.charge_code.to_owned(),
        link: Some(link.clone()),
        kind: OrderKind::Link,
        method: a.method.into(),
        channel_type: a.channel.clone(),
        amount: a.amount,
        subject: a.payload.subject.clone(),
        return_url: a.payload.return_url.clone(),
    };
    // The link's other attempts serve the rate limit and the already-paid
    // check; they are read in the round trip that stores this attempt.
    let admit = |others: &[OrderRow]| {
        limit_pay(cx, others, now)?;
        if let Some(paid) = kept_payment(others)? {
            cx.log.set("charge_code", paid.as_str());
            return Err(ApiError::AlreadyPaid);
        }
        Ok(())
    };
    create_for_link(cx, &link, &order, now, admit, create_at_gateway(cx, a)).await
}

/// `PAY_RATE_LIMIT` / `PAY_RATE_WINDOW_SECS` for `POST /api/pay`: refuses
/// with 429 `RATE_LIMITED` (and `Retry-After`) once the link already has
/// that many attempts in the window. Counted from the stored attempts
/// (`attempts`, the link's attempts `pay` reads anyway: no round trip of its
/// own), so it holds across Worker instances; two requests racing at the
/// limit may both pass (a soft limit: it bounds abuse, not money).
pub fn limit_pay(cx: &Cx, attempts: &[OrderRow], now: u64) -> ApiResult<()> {
    let limit = cx.settings.pay_rate_limit()?;
    let times: Vec<u64> = attempts.iter().map(|a| a.created_at).collect();
    limit.check(&times, now).map_err(|retry_after| {
        cx.log.set("rate_limited_attempts", times.len());
        ApiError::RateLimited { retry_after }
    })
}

/// Refuses to hand the page a redirect the page must not follow
/// (`checkout::guard::is_safe_redirect`): 502 `GATEWAY_UNSAFE_REDIRECT`.
/// The attempt stays pending and is settled like any other.
pub fn safe_pay_response(resp: PayResponse) -> ApiResult<PayResponse> {
    match &resp.action {
        PayAction::Redirect { url } if !guard::is_safe_redirect(url) => {
            Err(ApiError::UnsafeRedirect)
        }
        _ => Ok(resp),
    }
}

/// A non-empty trimmed optional string.
fn non_empty(s: &Option<String>) -> Option<String> {
    s.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The shopper's wallet ids as the page sent them.
struct ShopperIds {
    openid: Option<String>,
    buyer_id: Option<String>,
}

impl ShopperIds {
    /// A signed id (after the Worker's sign-in) must be this link's and
    /// fresh (`SIGNIN_INVALID` otherwise); an unsigned one is taken as is.
    fn read(settings: &Settings, body: &PayRequest, link_id: &str, now: u64) -> ApiResult<Self> {
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
    user_agent: &str,
    body: &PayRequest,
    payload: &LinkPayload,
    ids: ShopperIds,
) -> ApiResult<(PayMethod, Shopper)> {
    let shopper = Shopper {
        env: routing::detect(user_agent),
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
    link_id: &'a str,
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

/// `TIME_EXPIRE` of `creatOrder` (the document's minimum is 120 s).
const ALIPAY_JSAPI_EXPIRE_SECS: u32 = 900;
/// `TIME_EXPIRE` of `wapOrder` (the document's minimum is 300 s).
const WAP_EXPIRE_SECS: u32 = 900;

/// Creates the attempt at the gateway with the method's interface:
/// `order` (JSAPI / NATIVE), `creatOrder` (Alipay) or `wapOrder`.
async fn create_at_gateway(cx: &Cx, a: &Attempt<'_>) -> ApiResult<OrderResp> {
    let settings = &cx.settings;
    let cfg = settings.gateway()?;
    let notify_url = settings.notify_url(&cfg)?;
    match a.method {
        PayMethod::WechatJsapi | PayMethod::Native => {
            let r = order_request(settings, &cfg, a, notify_url);
            gateway::call(cx, &cfg, &r).await
        }
        PayMethod::AlipayJsapi => {
            let r = creat_order_request(&cfg, a, notify_url);
            gateway::call(cx, &cfg, &r).await
        }
        PayMethod::Wap => {
            let r = wap_order_request(settings, &cfg, a, notify_url)?;
            gateway::call(cx, &cfg, &r).await
        }
    }
}

/// `order` (WeChat JSAPI with the shopper's `openid`, or NATIVE).
fn order_request(
    settings: &Settings,
    cfg: &envelope::Config,
    a: &Attempt<'_>,
    notify_url: String,
) -> OrderRequest {
    let jsapi = a.method == PayMethod::WechatJsapi;
    OrderRequest {
        common: cfg.common(),
        amt: a.amount,
        channel_type: a.channel.clone(),
        trade_type: Some(if jsapi {
            TradeType::Jsapi
        } else {
            TradeType::Native
        }),
        sub_appid: jsapi.then(|| settings.wechat_sub_appid()).flatten(),
        sub_openid: jsapi.then(|| a.shopper.openid.clone()).flatten(),
        charge_code: a.charge_code.to_owned(),
        nodify_url: Some(notify_url),
        pay_subject: a.payload.subject.clone(),
        goods_detail: a.payload.goods_detail(),
    }
}

/// `creatOrder` (Alipay inside Alipay).
fn creat_order_request(
    cfg: &envelope::Config,
    a: &Attempt<'_>,
    notify_url: String,
) -> CreatOrderRequest {
    CreatOrderRequest {
        common: cfg.common(),
        amt: a.amount,
        channel_type: a.channel.clone(),
        time_expire: Some(ALIPAY_JSAPI_EXPIRE_SECS),
        buyer_logon_id: a.buyer_logon_id.clone(),
        buyer_id: a.buyer_id.clone(),
        charge_code: a.charge_code.to_owned(),
        nodify_url: Some(notify_url),
        pay_subject: a.payload.subject.clone(),
        goods_detail: a.payload.goods_detail(),
    }
}

/// `wapOrder` (a mobile browser); it returns to the checkout page.
fn wap_order_request(
    settings: &Settings,
    cfg: &envelope::Config,
    a: &Attempt<'_>,
    notify_url: String,
) -> ApiResult<WapOrderRequest> {
    let base = settings.public_base_url()?;
    Ok(WapOrderRequest {
        common: cfg.common(),
        amt: a.amount,
        channel_type: a.channel.clone(),
        time_expire: Some(WAP_EXPIRE_SECS),
        scene_info: SceneInfo::Wap {
            wap_url: base.clone(),
            wap_name: settings.merchant_name(),
        },
        nodify_url: Some(notify_url),
        return_url: Some(format!(
            "{base}/c/{}?charge_code={}",
            a.token, a.charge_code
        )),
        spbill_create_ip: a.client_ip.clone(),
        charge_code: a.charge_code.to_owned(),
        pay_subject: a.payload.subject.clone(),
        goods_detail: a.payload.goods_detail(),
    })
}

/// A new `CHARGE_CODE`: 32 hex digits of crypto randomness (unique per
/// attempt: the gateway refuses reused serials).
pub fn new_charge_code() -> String {
    random_hex(16)
}

/// Stores `order` (a POS charge or a QR order) as pending at `now`, then
/// awaits `send` (the creating gateway call for it, not yet started:
/// futures are lazy) and settles the attempt from the answer, which is
/// returned.
pub async fn create(
    cx: &Cx,
    order: &NewAttempt,
    now: u64,
    send: impl Future<Output = ApiResult<OrderResp>>,
) -> ApiResult<OrderResp> {
    cx.log.set("charge_code", order.charge_code.as_str());
    attempts::insert_attempt(cx.db()?, order, now).await?;
    apply::settle_pay(cx, &order.charge_code, now, send.await).await
}

/// [`create`] for an attempt of `link`, in two D1 round trips: the link,
/// the pending attempt and a read of the link's attempts go in one batch;
/// `admit` then judges the link's other attempts (already paid, too many
/// tries). A refusal deletes the attempt again — the gateway never heard of
/// it, so no money can be tied to it — and is returned; otherwise `send`
/// goes out and the answer is stored (the second round trip).
///
/// Inserting before judging, rather than reading first, saves a round trip
/// on every payment and changes no decision: an attempt that is not sent
/// holds no money and no other request acts on a pending attempt this young
/// (the reconciler waits `RECONCILE_AFTER_SECS`).
pub async fn create_for_link(
    cx: &Cx,
    link: &NewLink,
    order: &NewAttempt,
    now: u64,
    admit: impl FnOnce(&[OrderRow]) -> ApiResult<()>,
    send: impl Future<Output = ApiResult<OrderResp>>,
) -> ApiResult<OrderResp> {
    let db = cx.db()?;
    let mut attempts = attempts::insert_link_attempt(db, link, order, now).await?;
    attempts.retain(|a| a.charge_code != order.charge_code);
    if let Err(refused) = admit(&attempts) {
        attempts::delete_unsent_attempt(db, &order.charge_code).await?;
        return Err(refused);
    }
    cx.log.set("charge_code", order.charge_code.as_str());
    apply::settle_pay(cx, &order.charge_code, now, send.await).await
}
