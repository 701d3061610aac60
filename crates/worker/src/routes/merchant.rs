//! Merchant-facing routes (a key, a session or `ADMIN_TOKEN`: `routes`' table): links,
//! order query, refunds, refund query, cancel, POS charges, NATIVE QR orders.

use checkout::amount::parse_api_amount;
use checkout::api::{
    CancelRequest, CancelResponse, CreateLinkRequest, CreateLinkResponse, GatewayOrder,
    GatewayRefund, LiveQuery, MerchantOrder, PayMethod, PosChargeRequest, PosChargeResponse,
    QrOrderRequest, QrOrderResponse, RefundList, RefundRecord, RefundRequest, RefundResponse,
};
use checkout::flow::pay::{Create, NewAttempt, NewLink};
use checkout::flow::pos::Charged;
use checkout::gateway::{self as room, CreateRequest, Merchant};
use checkout::link;
use checkout::merchant;
use checkout::vocab::{EventSource, OrderKind, OrderMethod, RefundState};
use soushou::types::{CancelMode, ChannelType};
use soushou::Fen;
use worker::Request;

use crate::flows::pay::{self, new_charge_code};
use crate::flows::{cancel, follow_up, idempotency, pos, reconcile, refund};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway;
use crate::platform::http::read_json;
use crate::platform::log::{now_secs, random_hex};
use crate::store::attempts::{NotificationRow, OrderRow};
use crate::store::refunds::RefundRow;
use crate::store::{self};

async fn load_order(cx: &Cx, charge_code: &str) -> ApiResult<OrderRow> {
    cx.log.set("charge_code", charge_code);
    store::attempts::get_order(cx.db()?, charge_code)
        .await?
        .ok_or(ApiError::NotFound("order"))
}

/// A merchant attempt (`pos` or `qr`: no link, no return page) to store.
fn merchant_order(
    charge_code: &str,
    kind: OrderKind,
    method: OrderMethod,
    channel: &ChannelType,
    amount: Fen,
    subject: &str,
) -> NewAttempt {
    NewAttempt {
        charge_code: charge_code.to_owned(),
        link: None,
        kind,
        method,
        channel_type: channel.clone(),
        amount,
        subject: subject.to_owned(),
        return_url: None,
        client: None,
        device: None,
    }
}

/// `POST /v1/links`.
pub async fn create_link(cx: &Cx, mut req: Request) -> ApiResult<CreateLinkResponse> {
    let body: CreateLinkRequest = read_json(&mut req).await?;
    let now = now_secs();
    let payload = body.to_payload(now, random_hex(8))?;
    let keys = cx.settings.link_keys()?;
    let base = cx.settings.public_base_url()?;
    let token = keys.issue(&payload);
    let link_id = link::link_id(&token);
    let link = NewLink::of(&link_id, &token, &payload);
    store::links::insert_link(cx.db()?, &link, now).await?;
    cx.log.set("outcome", "link_created");
    let url = link::url(&base, &token);
    Ok(CreateLinkResponse::of(&payload, token, url, true))
}

/// `POST /v1/links/{id}/deactivate`: the link takes no more payments (any
/// kind; once and for all; again is the same answer). Unknown id → 404.
pub async fn deactivate_link(cx: &Cx, id: &str) -> ApiResult<CreateLinkResponse> {
    let db = cx.db()?;
    let token = store::links::deactivate(db, id, now_secs())
        .await?
        .ok_or(ApiError::NotFound("link"))?;
    let payload = cx.settings.link_keys()?.verify_ignoring_expiry(&token)?;
    cx.log.set("link_id", id);
    cx.log.set("outcome", "link_deactivated");
    let url = link::url(&cx.settings.public_base_url()?, &token);
    Ok(CreateLinkResponse::of(&payload, token, url, false))
}

/// The stored record of an order: state, money, history, notifications,
/// refunds; `gateway` is the live view, if any.
async fn stored(cx: &Cx, order: &OrderRow, gateway: Option<LiveQuery>) -> ApiResult<MerchantOrder> {
    let db = cx.db()?;
    Ok(MerchantOrder {
        order: order.view()?,
        kind: order.kind,
        method: order.method,
        channel_type: order.channel_type.code().to_owned(),
        subject: order.subject.clone(),
        refunded: order.refunded.to_yuan(),
        refunded_fen: order.refunded.fen(),
        charge_down_code: order.charge_down_code.clone(),
        charge_third_code: order.charge_third_code.clone(),
        created_at: order.created_at,
        updated_at: order.updated_at,
        history: store::attempts::events(db, &order.charge_code).await?,
        notifications: store::attempts::notifications(db, &order.charge_code)
            .await?
            .iter()
            .map(NotificationRow::record)
            .collect(),
        refunds: records(store::refunds::refunds(db, &order.charge_code).await?),
        gateway,
    })
}

/// The stored refunds as the merchant API shows them.
fn records(rows: Vec<RefundRow>) -> Vec<RefundRecord> {
    rows.iter().map(RefundRow::record).collect()
}

/// `GET /v1/orders/{charge_code}`: the stored order plus the gateway's live
/// `query` (whose state is applied, amount-checked, like the reconciler's);
/// `?live=false` skips the gateway and shows only what is stored.
pub async fn get_order(cx: &Cx, charge_code: &str, req: &Request) -> ApiResult<MerchantOrder> {
    let order = load_order(cx, charge_code).await?;
    let live = req
        .url()?
        .query_pairs()
        .all(|(k, v)| k != "live" || v != "false");
    let live = if live {
        let source = EventSource::MerchantQuery;
        let (queried, after) = reconcile::query(cx, charge_code, source, Some(&order)).await;
        follow_up::now(cx, after).await;
        match queried {
            Ok(resp) => Some(LiveQuery::Answered(GatewayOrder::from(&resp))),
            Err(e) => Some(LiveQuery::Failed {
                error: e.body().error,
            }),
        }
    } else {
        None
    };
    let order = load_order(cx, charge_code).await?;
    cx.log.set("outcome", order.state.as_str());
    stored(cx, &order, live).await
}

/// `POST /v1/orders/{charge_code}/refunds`; `claim`: its `Idempotency-Key`.
pub async fn refund(
    cx: &Cx,
    charge_code: &str,
    mut req: Request,
    claim: Option<&idempotency::Claim>,
) -> ApiResult<RefundResponse> {
    let body: RefundRequest = read_json(&mut req).await?;
    let amount = parse_api_amount(&body.amount)?;
    let reason = merchant::refund_reason(&body.reason)?;
    let out_refund_no = match merchant::out_refund_no(body.out_refund_no.as_deref())? {
        Some(given) => given,
        None => claim.map_or_else(
            || format!("R{}", random_hex(15)),
            idempotency::Claim::refund_no,
        ),
    };
    cx.log.set("charge_code", charge_code);
    let request = checkout::flow::refund::Request {
        out_refund_no: out_refund_no.clone(),
        amount,
        reason: reason.to_owned(),
    };
    let done = refund::refund(cx, charge_code, request).await?;
    cx.log.set("outcome", "refunded");
    Ok(RefundResponse {
        out_refund_no,
        charge_code: charge_code.to_owned(),
        amount: amount.to_yuan(),
        amount_fen: amount.fen(),
        state: RefundState::Succeeded,
        order_state: done.state,
        refunded: done.total.to_yuan(),
        refunded_fen: done.total.fen(),
        gateway: done.gateway.as_deref().map(GatewayRefund::from),
    })
}

/// `GET /v1/orders/{charge_code}/refunds`: stored refunds plus the gateway's `refundQuery`.
pub async fn refunds(cx: &Cx, charge_code: &str) -> ApiResult<RefundList> {
    let order = load_order(cx, charge_code).await?;
    let cfg = cx.settings.gateway()?;
    let resp = gateway::call(cx, &cfg, &room::refund_query(charge_code)).await?;
    let gateway_refunds = room::refund_lines(&resp);
    cx.log.set("outcome", "listed");
    Ok(RefundList {
        charge_code: charge_code.to_owned(),
        amount: order.amount.to_yuan(),
        amount_fen: order.amount.fen(),
        refunded: order.refunded.to_yuan(),
        refunded_fen: order.refunded.fen(),
        refunds: records(store::refunds::refunds(cx.db()?, charge_code).await?),
        gateway_refund_count: resp.refund_count,
        gateway_refunds,
    })
}

/// `POST /v1/orders/{charge_code}/cancel` (`apply`: opType=ACO, else real time).
pub async fn cancel(cx: &Cx, charge_code: &str, mut req: Request) -> ApiResult<CancelResponse> {
    let body: CancelRequest = read_json(&mut req).await?;
    cx.log.set("charge_code", charge_code);
    let mode = if body.apply {
        CancelMode::Apply
    } else {
        CancelMode::RealTime
    };
    // A real-time revocation is recorded when the gateway says it is done;
    // an applied-for one (gateway state 3) is settled by the re-check.
    let state = cancel::revoke(cx, charge_code, mode, EventSource::Cancel).await?;
    Ok(CancelResponse {
        charge_code: charge_code.to_owned(),
        mode: if body.apply { "apply" } else { "real_time" }.to_owned(),
        state,
    })
}

/// `POST /v1/pos/charges`: the merchant scans the shopper's code
/// (`preOrder`); `claim`: its `Idempotency-Key`.
pub async fn pos_charge(
    cx: &Cx,
    mut req: Request,
    claim: Option<&idempotency::Claim>,
) -> ApiResult<PosChargeResponse> {
    let body: PosChargeRequest = read_json(&mut req).await?;
    let amount = parse_api_amount(&body.amount)?;
    let subject = merchant::subject(&body.subject)?;
    let channel = ChannelType::from(body.channel.unwrap_or_default());
    let cfg = cx.settings.gateway()?;
    // With an Idempotency-Key the charge code comes from the key's claim: a
    // retry whose first answer was lost (a 5xx, the Worker evicted mid-poll)
    // finds the attempt and settles it, and never sends a second preOrder.
    let charge_code = claim.map_or_else(new_charge_code, idempotency::Claim::charge_code);
    if let Some(existing) = store::attempts::get_order(cx.db()?, &charge_code).await? {
        if existing.kind != OrderKind::Pos || existing.amount != amount {
            return Err(ApiError::InvalidRequest(
                "this Idempotency-Key was used for another charge".into(),
            ));
        }
        cx.log.set("charge_code", charge_code.as_str());
        let charged = pos::resume(cx, &charge_code).await?;
        return pos_answer(cx, &charge_code, amount, charged, None);
    }
    let order = merchant_order(
        &charge_code,
        OrderKind::Pos,
        OrderMethod::Pos,
        &channel,
        amount,
        &subject,
    );
    let gw = room::pre_order(
        &Merchant::from(&cfg),
        &room::Charge {
            charge_code: &charge_code,
            amount,
            channel: channel.clone(),
            subject: &subject,
            goods: &[],
        },
        body.dynamic_id_type.unwrap_or_default(),
        &body.dynamic_id,
    );
    let sent = pay::create(cx, order, Create::PreOrder(gw)).await;
    let gateway = sent.as_ref().ok().map(GatewayOrder::from);
    let charged = pos::charge(cx, &charge_code, sent).await?;
    pos_answer(cx, &charge_code, amount, charged, gateway)
}

/// The cashier's answer: the charge code and its final state; `gateway`:
/// the `preOrder`'s answer, when one arrived.
fn pos_answer(
    cx: &Cx,
    charge_code: &str,
    amount: Fen,
    charged: Charged,
    gateway: Option<GatewayOrder>,
) -> ApiResult<PosChargeResponse> {
    cx.log.set("outcome", charged.state.as_str());
    cx.log.set("pos_polls", charged.polls);
    let seen = gateway.clone().unwrap_or_default();
    Ok(PosChargeResponse {
        charge_code: charge_code.to_owned(),
        state: charged.state,
        amount: amount.to_yuan(),
        amount_fen: amount.fen(),
        channel_type: seen.channel_type,
        charge_down_code: seen.charge_down_code,
        charge_third_code: seen.charge_third_code,
        gateway,
    })
}

/// `POST /v1/qr-orders`: a NATIVE `order` whose QR the merchant shows.
pub async fn qr_order(cx: &Cx, mut req: Request) -> ApiResult<QrOrderResponse> {
    let body: QrOrderRequest = read_json(&mut req).await?;
    let amount = parse_api_amount(&body.amount)?;
    let subject = merchant::subject(&body.subject)?;
    let channel = checkout::routing::channel_type(PayMethod::Native, Some(body.channel));
    let cfg = cx.settings.gateway()?;
    let nodify_url = cx.settings.notify_url(&cfg)?;
    let charge_code = new_charge_code();
    let order = merchant_order(
        &charge_code,
        OrderKind::Qr,
        OrderMethod::Native,
        &channel,
        amount,
        &subject,
    );
    let charge = room::Charge {
        charge_code: &charge_code,
        amount,
        channel: channel.clone(),
        subject: &subject,
        goods: &[],
    };
    let gw = room::order_native(&Merchant::from(&cfg), &charge, &nodify_url);
    let resp = pay::create(cx, order, Create::Order(CreateRequest::Order(gw))).await?;
    let qr = resp
        .bar_code
        .filter(|s| !s.is_empty())
        .ok_or(ApiError::GatewayIncomplete("BAR_CODE"))?;
    cx.log.set("outcome", "qr_created");
    Ok(QrOrderResponse { charge_code, qr })
}
