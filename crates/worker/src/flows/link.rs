//! What a link shows: its checkout view (`GET /api/checkout/{token}`, and
//! the page `GET /c/{token}` arrives with), its kept payment, and the
//! signed way back to the merchant (`return_url`).

use checkout::api::{CheckoutView, LinkState, OrderStatus};
use checkout::link::{self, LinkPayload};
use checkout::settle;
use checkout::webhook::ReturnParams;

use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::platform::log::now_secs;
use crate::store::attempts::{self, OrderRow};
use crate::store::links;

/// The charge code of the link's kept payment, if the link is paid
/// (`checkout::settle::kept_payment`: a revoked payment or a refunded
/// duplicate does not pay a link).
pub fn kept_payment(attempts: &[OrderRow]) -> ApiResult<Option<String>> {
    let view = attempts::link_view(attempts);
    Ok(settle::kept_payment(&view).map(|a| a.charge_code.to_owned()))
}

/// `GET /api/checkout/{token}`.
pub async fn checkout_view(cx: &Cx, token: &str) -> ApiResult<CheckoutView> {
    let payload = cx.settings.link_keys()?.verify_ignoring_expiry(token)?;
    let attempts = shown_attempts(cx, token, &payload).await?;
    let paid = kept_payment(&attempts)?;
    let now = now_secs();
    if paid.is_none() && payload.is_expired(now) {
        return Err(checkout::Error::LinkExpired.into());
    }
    let pending = attempts
        .iter()
        .find(|a| a.state == OrderStatus::Pending)
        .map(|a| a.charge_code.as_str());
    // A counter code shows no attempt: each is its own shopper's.
    let charge_code = payload
        .shown_attempt(paid.as_deref(), pending)
        .map(str::to_owned);
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
        .map(|a| a.amount);
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
        view.return_url = signed_return_url(cx, order, Some(&payload)).await?;
    }
    Ok(view)
}

/// The QR code of the link `token`: its page's URL, one code every
/// wallet's scanner opens (`checkout::qr::svg`).
pub fn qr_svg(cx: &Cx, token: &str) -> ApiResult<String> {
    let url = link::url(&cx.settings.public_base_url()?, token);
    checkout::qr::svg(&url).ok_or_else(|| {
        crate::platform::error::ApiError::InvalidRequest(
            "the link is too long for a QR code".into(),
        )
    })
}

/// The public QR code of a link (`GET /c/{token}/qr.svg`): only of a link
/// a shopper could still pay — genuine (`INVALID_LINK`), unexpired
/// (`LINK_EXPIRED`) and not deactivated (`LINK_INACTIVE`). It shows
/// nothing the token does not already: the token is the link's URL.
pub async fn public_qr(cx: &Cx, token: &str) -> ApiResult<String> {
    cx.settings.link_keys()?.verify(token, now_secs())?;
    let (active, _) = attempts::link_view_rows(cx.db()?, &link::link_id(token), false).await?;
    if !active {
        return Err(checkout::Error::LinkInactive.into());
    }
    qr_svg(cx, token)
}

/// The attempts a link's view is made of: 410 `LINK_INACTIVE` for a
/// deactivated link; none for a counter code, whose attempts are each their
/// own shopper's (its view names none and is never paid).
async fn shown_attempts(cx: &Cx, token: &str, payload: &LinkPayload) -> ApiResult<Vec<OrderRow>> {
    let counter = payload.kind().keeps_every_payment();
    let (active, attempts) =
        attempts::link_view_rows(cx.db()?, &link::link_id(token), !counter).await?;
    if !active {
        return Err(checkout::Error::LinkInactive.into());
    }
    Ok(attempts)
}

/// The order's `return_url` with the trusted-return parameters appended
/// (`checkout::webhook::ReturnParams`), once the attempt is settled and a
/// webhook secret is configured; otherwise as stored. `link`: the verified
/// payload of the order's link when the caller has it; its `merchant_ref`
/// is the stored one (the link row is written from it), so no D1 read.
pub async fn signed_return_url(
    cx: &Cx,
    order: &OrderRow,
    link: Option<&LinkPayload>,
) -> ApiResult<Option<String>> {
    let Some(url) = order.return_url.as_deref() else {
        return Ok(None);
    };
    let Ok(keys) = cx.settings.webhook_keys() else {
        return Ok(Some(url.to_owned()));
    };
    if order.state == checkout::api::OrderStatus::Pending {
        return Ok(Some(url.to_owned()));
    }
    let merchant_ref = match (link, order.link_id.as_deref()) {
        (Some(link), _) => link.merchant_ref.clone(),
        (None, Some(link_id)) => links::merchant_ref(cx.db()?, link_id).await?,
        (None, None) => None,
    };
    let params = ReturnParams {
        charge_code: &order.charge_code,
        merchant_ref: merchant_ref.as_deref().unwrap_or(""),
        state: checkout::webhook::return_state(order.state, order.duplicate_of.is_some()),
        amount_fen: order.amount.fen(),
        ts: now_secs(),
    };
    Ok(Some(params.append_to(url, keys.all())))
}
