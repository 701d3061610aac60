//! Shopper-facing routes (no auth; the page calls these):
//! `GET /api/checkout/{token}`, `POST /api/pay`, `GET /api/orders/{code}`;
//! and a link's public QR code, `GET /c/{token}/qr.svg` (what a merchant's
//! own page embeds as an `<img>`).

use checkout::api::{CheckoutView, OrderView, PayRequest};
use checkout::guard;
use checkout::vocab::EventSource;
use worker::{Request, Response};

use crate::flows::pay::{self, PayInput};
use crate::flows::{follow_up, link, reconcile};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{client_ip, json, read_json, svg};
use crate::store::attempts::{self, OrderRow};

/// `GET /api/checkout/{token}`.
pub async fn checkout_view(cx: &Cx, token: &str) -> ApiResult<CheckoutView> {
    link::checkout_view(cx, token).await
}

/// How long a public QR code may be cached: a deactivated link's code
/// stops being served within this time.
const QR_CACHE: &str = "public, max-age=300";

/// `GET /c/{token}/qr.svg`: the link's QR code, cacheable by anyone (it
/// holds only the link's URL); a forged, expired or deactivated link is
/// the API's error answer (400 `INVALID_LINK`, 410 `LINK_EXPIRED`,
/// 410 `LINK_INACTIVE`).
pub async fn link_qr(cx: &Cx, token: &str) -> ApiResult<Response> {
    svg(link::public_qr(cx, token).await?, QR_CACHE)
}

/// `POST /api/pay` (`flows::pay::pay_link`); a redirect the page must not
/// follow is refused (`GATEWAY_UNSAFE_REDIRECT`). A counter code's shopper
/// without a device cookie is given one with the answer.
pub async fn pay(cx: &Cx, mut req: Request) -> ApiResult<Response> {
    let body: PayRequest = read_json(&mut req).await?;
    let user_agent = req
        .headers()
        .get("User-Agent")
        .ok()
        .flatten()
        .unwrap_or_default();
    let input = PayInput {
        body,
        user_agent,
        client_ip: client_ip(&req),
        device: device(&req),
    };
    let (paid, minted) = pay::pay_link(cx, input).await?;
    let resp = json(200, &pay::safe_pay_response(paid)?)?;
    if let Some(id) = minted {
        let https = cx.settings.public_base_url()?.starts_with("https://");
        resp.headers()
            .set("Set-Cookie", &guard::device_cookie(&id, https))?;
    }
    Ok(resp)
}

/// The device id of the request's cookie (`guard::device_of`).
fn device(req: &Request) -> Option<String> {
    let cookie = req.headers().get("Cookie").ok().flatten();
    guard::device_of(cookie.as_deref()).map(str::to_owned)
}

/// `GET /api/orders/{charge_code}[?token=]` (with the page's token, an
/// attempt of another link is not found: [`check_link`]; a POS charge or
/// QR order is never shown here: `checkout::guard::shown_to_shoppers`).
pub async fn order_view(cx: &Cx, charge_code: &str, req: &Request) -> ApiResult<OrderView> {
    let order = attempts::get_order(cx.db()?, charge_code)
        .await?
        .filter(|o| guard::shown_to_shoppers(o.kind))
        .ok_or(ApiError::NotFound("order"))?;
    let token = check_link(req, &order)?;
    // A counter code's attempt is its device's: to any other, not found.
    if !guard::may_watch(order.device.as_deref(), device(req).as_deref()) {
        return Err(ApiError::NotFound("order"));
    }
    cx.log.set("charge_code", charge_code);
    let (order, after) = reconcile::confirm_if_due(cx, order, EventSource::Poll).await?;
    follow_up::now(cx, after).await;
    cx.log.set("outcome", order.state.as_str());
    let mut seen = order.view()?;
    // The page's own token, verified, names the link's merchant_ref.
    let link = match token {
        Some(token) => cx.settings.link_keys()?.verify_ignoring_expiry(&token).ok(),
        None => None,
    };
    seen.return_url = link::signed_return_url(cx, &order, link.as_ref()).await?;
    Ok(seen)
}

/// With `?token=`, an attempt of another link is "not found" (the page
/// always asks with its own token, so `?charge_code=` of another link's
/// order cannot show that order's receipt). Without a token the route
/// answers as before. Returns the token when it is the order's link's.
pub fn check_link(req: &Request, order: &OrderRow) -> ApiResult<Option<String>> {
    let url = req.url()?;
    match url.query_pairs().find(|(k, _)| k == "token") {
        Some((_, token)) if guard::attempt_of_link(order.link_id.as_deref(), &token) => {
            Ok(Some(token.into_owned()))
        }
        Some(_) => Err(ApiError::NotFound("order")),
        None => Ok(None),
    }
}
