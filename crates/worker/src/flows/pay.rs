//! Pay: creating a payment attempt at the gateway — a link payment
//! ([`pay_link`], `POST /api/pay`), a POS charge and a QR order
//! ([`create`]) — by running `checkout::flow::pay` through the executor.
//!
//! The attempt is stored as pending before the gateway hears of it, so a
//! fast notification or a timed-out call can always be matched and
//! reconciled; the creating call's answer then settles it (a final refusal
//! fails it, anything unclear leaves it pending for `query`). A link
//! attempt is stored with its link in the batch that reads the link's
//! attempts (one round trip): the flow then admits it (the rate limit, the
//! link not already paid) or deletes it unsent.
//!
//! Earlier attempts of a link are left as they are, on purpose: a
//! real-time `cancelTrade` is a revocation, and a payment landing between
//! our read of the attempts and the cancel would be handed back while the
//! shopper sees "paid". A superseded attempt that is paid late is a
//! duplicate payment, refunded in full (the duplicate check); one never
//! paid stays pending until it expires at the gateway.

use checkout::api::{PayAction, PayMethod, PayRequest, PayResponse};
use checkout::flow::pay::{self, Create, Failure, Input, NewAttempt, NewLink};
use checkout::flow::{Next, Plan, Write};
use checkout::gateway::{self as room, Charge, Merchant, Payer, Site};
use checkout::guard::{self, Client};
use checkout::link::{self, LinkPayload};
use checkout::oauth::{self, Wallet};
use checkout::routing::{self, Route, Shopper};
use checkout::vocab::OrderKind;
use soushou::model::OrderResp;
use soushou::Fen;

use super::exec::{self, Answered, Flow};
use crate::platform::config::Settings;
use crate::platform::context::Cx;
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, random_hex};
use crate::store::attempts;
use crate::store::plan::{Ran, Read};

/// What the route read of a `POST /api/pay`.
pub struct PayInput {
    /// The JSON body.
    pub body: PayRequest,
    /// `User-Agent` (which wallet the shopper is in).
    pub user_agent: String,
    /// The shopper's IP for `SPBILL_CREATE_IP`.
    pub client_ip: String,
    /// The device id in the shopper's cookie (`guard::device_of`).
    pub device: Option<String>,
}

/// `POST /api/pay`: a new attempt of the link, created at the gateway;
/// with the device id the Worker minted for a counter code's shopper who
/// had none (the route sets it as the cookie).
pub async fn pay_link(cx: &Cx, input: PayInput) -> ApiResult<(PayResponse, Option<String>)> {
    let PayInput {
        body,
        user_agent,
        client_ip,
        device,
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
    let buyer_logon_id = non_empty(&body.buyer_logon_id);
    let payer = Payer {
        openid: shopper.openid.as_deref(),
        buyer_id: buyer_id.as_deref(),
        buyer_logon_id: buyer_logon_id.as_deref(),
        client_ip: &client_ip,
    };
    let link = (body.token.as_str(), link_id.as_str(), &payload);
    let (mut attempt, request) =
        link_attempt(&cx.settings, link, (method, &charge_code, amount), &payer)?;
    attempt.client = Some(Client::of(
        &cx.settings.link_keys()?,
        &client_ip,
        &user_agent,
    ));
    // A counter code's attempt is its device's alone (`guard::may_watch`).
    let minted = match (payload.kind().keeps_every_payment(), &device) {
        (true, None) => Some(random_hex(16)),
        _ => None,
    };
    if payload.kind().keeps_every_payment() {
        attempt.device = device.or_else(|| minted.clone());
    }
    let resp = create(cx, attempt, request).await?;
    let action = PayAction::from_gateway(method, &resp).map_err(ApiError::GatewayIncomplete)?;
    let paid = PayResponse {
        charge_code,
        method,
        action,
    };
    Ok((paid, minted))
}

/// The attempt of a link (`token`, its id, what it says) paid with
/// `method`, and its creating request (`checkout::gateway::link_attempt`,
/// with the Worker's settings).
fn link_attempt(
    settings: &Settings,
    (token, link_id, payload): (&str, &str, &LinkPayload),
    (method, charge_code, amount): (PayMethod, &str, Fen),
    payer: &Payer<'_>,
) -> ApiResult<(NewAttempt, Create)> {
    let cfg = settings.gateway()?;
    let (notify_url, base) = (settings.notify_url(&cfg)?, settings.public_base_url()?);
    let (name, sub_appid) = (settings.merchant_name(), settings.wechat_sub_appid());
    let site = Site {
        notify_url: &notify_url,
        public_base_url: &base,
        merchant_name: &name,
        wechat_sub_appid: sub_appid.as_deref(),
    };
    let channel = routing::channel_type(method, payload.channel);
    let goods = payload.goods_detail();
    let charge = Charge {
        charge_code,
        amount,
        channel: channel.clone(),
        subject: &payload.subject,
        goods: &goods,
    };
    let request = room::link_attempt(&Merchant::from(&cfg), &site, method, &charge, token, payer);
    let attempt = NewAttempt {
        charge_code: charge_code.to_owned(),
        link: Some(NewLink::of(link_id, token, payload)),
        kind: OrderKind::Link,
        method: method.into(),
        channel_type: channel,
        amount,
        subject: payload.subject.clone(),
        return_url: payload.return_url.clone(),
        client: None,
        device: None,
    };
    Ok((attempt, Create::Order(request)))
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
    /// fresh; an unsigned one is taken only while that wallet's sign-in is
    /// not configured (`checkout::oauth::accept_id`); `SIGNIN_INVALID`
    /// otherwise, before any gateway call.
    fn read(settings: &Settings, body: &PayRequest, link_id: &str, now: u64) -> ApiResult<Self> {
        let keys = settings.link_keys()?;
        let id = |value: &Option<String>, wallet| -> ApiResult<Option<String>> {
            let Some(value) = non_empty(value) else {
                return Ok(None);
            };
            let read = oauth::read_id(&keys, &value, wallet, link_id, now)?;
            Ok(Some(oauth::accept_id(
                read,
                settings.signin_configured(wallet),
            )?))
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
/// A new `CHARGE_CODE`: 32 hex digits of crypto randomness (unique per
/// attempt: the gateway refuses reused serials).
pub fn new_charge_code() -> String {
    random_hex(16)
}

/// The pay flow of one attempt: a link attempt's batch reads the link's
/// attempts after its writes (the snapshot of its next decision); nothing
/// else is read.
struct Pay {
    charge_code: String,
    link_id: Option<String>,
    policy: pay::Policy,
}

impl Flow for Pay {
    type Snapshot = pay::Snapshot;
    type Input = Input;
    type Answer = pay::Answer;

    async fn load(&self, _cx: &Cx, _input: &Input) -> ApiResult<pay::Snapshot> {
        Ok(None)
    }

    fn read<'d>(
        &self,
        db: &'d Db,
        _input: &Input,
        next: &Next<pay::Answer>,
    ) -> ApiResult<Read<'d>> {
        Ok(match (next, &self.link_id) {
            (Next::Again, Some(link_id)) => Read::After(attempts::link_snapshot_read(db, link_id)?),
            _ => Read::None,
        })
    }

    fn batch_snapshot(&self, ran: &Ran, _writes: &[Write]) -> ApiResult<Option<pay::Snapshot>> {
        match &ran.read {
            Some(read) => Ok(Some(Some(attempts::read_link_snapshot(read)?))),
            None => Ok(None),
        }
    }

    fn decide(&self, snapshot: &pay::Snapshot, input: &Input, now: u64) -> Plan<pay::Answer> {
        pay::decide(snapshot, &self.charge_code, input, now, &self.policy)
    }

    fn answered(&self, _input: &Input, answer: Answered) -> ApiResult<Input> {
        match answer {
            Answered::Created(reply) => Ok(Input::Created(Box::new(reply))),
            _ => Err(ApiError::Internal(
                "a creating call answered out of turn".into(),
            )),
        }
    }
}

/// Stores `attempt` as pending and sends `request` for it (a link
/// attempt only if its link admits it); returns the gateway's answer, or
/// why there is none (the call's own error when it failed).
pub async fn create(cx: &Cx, attempt: NewAttempt, request: Create) -> ApiResult<OrderResp> {
    let flow = Pay {
        charge_code: attempt.charge_code.clone(),
        link_id: attempt.link.as_ref().map(|l| l.link_id.clone()),
        policy: pay::Policy {
            rate_limit: cx.settings.pay_rate_limit()?,
        },
    };
    let input = Input::Create(Box::new(attempt), Box::new(request));
    let done = exec::run(cx, &flow, input).await?;
    match done.answer {
        Ok(resp) => Ok(*resp),
        Err(Failure::AlreadyPaid(paid)) => {
            // The request line names the payment that paid the link.
            cx.log.set("charge_code", paid);
            Err(ApiError::AlreadyPaid)
        }
        Err(Failure::RateLimited(retry_after)) => Err(ApiError::RateLimited { retry_after }),
        Err(Failure::LinkInactive) => Err(checkout::Error::LinkInactive.into()),
        Err(Failure::Gateway(_)) => Err(done
            .fault
            .unwrap_or_else(|| ApiError::Internal("a creating call failed unseen".into()))),
    }
}
