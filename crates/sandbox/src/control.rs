//! The control API under `/sandbox/` (JSON, no auth: a dev/test tool), the shopper page
//! and the human order index (`GET /sandbox/`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::clock::Stamp;
use crate::error::Error;
use crate::faults::{FaultMode, FaultTarget};
use crate::state::{state_code, Figures, Order};
use crate::{ids, index, lock, notifier, shopper, App, Settings};

/// Routes of the control API and the shopper page.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/sandbox/", get(order_index))
        .route(
            "/sandbox",
            get(|| async { Redirect::permanent("/sandbox/") }),
        )
        .route("/sandbox/health", get(health))
        .route("/sandbox/orders", get(list_orders))
        .route("/sandbox/orders/{code}", get(get_order))
        .route("/sandbox/pay/{code}", post(pay))
        .route("/sandbox/close/{code}", post(close))
        .route("/sandbox/shopper/{code}", get(shopper_page))
        .route("/sandbox/requests", get(requests).delete(clear_requests))
        .route(
            "/sandbox/notifications",
            get(notifications).delete(clear_notifications),
        )
        .route("/sandbox/faults", get(list_faults).delete(clear_faults))
        .route(
            "/sandbox/faults/{target}",
            put(set_fault).delete(clear_fault),
        )
        .route("/sandbox/settings", get(get_settings).put(put_settings))
        .route("/sandbox/ledger", get(ledger))
        .route("/sandbox/notify/{code}", post(notify))
}

fn json_error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn error_status(e: &Error) -> StatusCode {
    match e {
        Error::UnknownOrder(_) => StatusCode::NOT_FOUND,
        Error::InvalidTransition { .. } | Error::NoNotifyUrl(_) => StatusCode::CONFLICT,
        Error::Config(_) | Error::Fault(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A refund as the control API shows it.
#[derive(Debug, Serialize)]
pub struct RefundView {
    /// `REFUND_CODE`.
    pub refund_code: String,
    /// `REFUND_DOWN_CODE`.
    pub refund_down_code: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Appendix-4 state code (11).
    pub state: u32,
    /// When.
    pub time: String,
}

/// An order as the control API shows it.
#[derive(Debug, Serialize)]
pub struct OrderView {
    /// `CHARGE_CODE`.
    pub charge_code: String,
    /// `CHARGE_DOWN_CODE`.
    pub charge_down_code: String,
    /// `CHARGE_THIRD_CODE`, once known.
    pub charge_third_code: Option<String>,
    /// Merchant code.
    pub busi_code: String,
    /// `BUSI_ID`.
    pub busi_id: String,
    /// Creating interface.
    pub interface: String,
    /// `JSAPI` for JSAPI orders.
    pub trade_type: Option<String>,
    /// `CHANNEL_TYPE` code.
    pub channel_type: serde_json::Value,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Sum of refunds in fen.
    pub refunded_fen: u64,
    /// Appendix-4 state code.
    pub state: u32,
    /// Its name.
    pub state_name: String,
    /// `PAY_SUBJECT`.
    pub pay_subject: String,
    /// `NODIFY_URL`.
    pub nodify_url: Option<String>,
    /// `RETURN_URL`.
    pub return_url: Option<String>,
    /// `BEGIN_TIME`.
    pub begin_time: String,
    /// `END_TIME`.
    pub end_time: Option<String>,
    /// The shopper's cashier page.
    pub shopper_url: String,
    /// Refunds, oldest first.
    pub refunds: Vec<RefundView>,
}

fn view(app: &App, o: &Order) -> OrderView {
    OrderView {
        charge_code: o.charge_code().to_owned(),
        charge_down_code: o.charge_down_code.clone(),
        charge_third_code: o.charge_third_code.clone(),
        busi_code: o.new.busi_code.clone(),
        busi_id: o.new.busi_id.clone(),
        interface: o.new.interface.path_name().to_owned(),
        trade_type: o.new.jsapi.then(|| "JSAPI".to_owned()),
        channel_type: serde_json::to_value(&o.new.channel_type).unwrap_or_default(),
        amount_fen: o.new.amt.fen(),
        refunded_fen: o.refunded().fen(),
        state: state_code(&o.state),
        state_name: shopper::state_name(&o.state).to_owned(),
        pay_subject: o.new.pay_subject.clone(),
        nodify_url: o.new.nodify_url.clone(),
        return_url: o.new.return_url.clone(),
        begin_time: o.begin_time.clone(),
        end_time: o.end_time.clone(),
        shopper_url: app.shopper_url(o.charge_code()),
        refunds: o
            .refunds
            .iter()
            .map(|r| RefundView {
                refund_code: r.refund_code.clone(),
                refund_down_code: r.refund_down_code.clone(),
                amount_fen: r.amt.fen(),
                state: state_code(&r.state),
                time: r.time.clone(),
            })
            .collect(),
    }
}

async fn health(State(app): State<Arc<App>>) -> Response {
    let mut merchants: Vec<&str> = app.merchants.keys().map(String::as_str).collect();
    merchants.sort_unstable();
    Json(json!({ "status": "ok", "merchants": merchants })).into_response()
}

async fn list_orders(State(app): State<Arc<App>>) -> Response {
    let mut store = app.store();
    store.expire(Stamp::now());
    let mut orders: Vec<OrderView> = store.all().map(|o| view(&app, o)).collect();
    orders.sort_by(|a, b| a.charge_down_code.cmp(&b.charge_down_code));
    Json(orders).into_response()
}

/// The human order index (see [`crate::index`]).
async fn order_index(State(app): State<Arc<App>>) -> Response {
    let gateway_url = format!("{}/openGateway/openService/", app.public_url);
    let mut store = app.store();
    store.expire(Stamp::now());
    Html(index::index_page(store.all(), &gateway_url)).into_response()
}

async fn get_order(State(app): State<Arc<App>>, Path(code): Path<String>) -> Response {
    let mut store = app.store();
    store.expire(Stamp::now());
    match store.get(&code) {
        Some(o) => Json(view(&app, o)).into_response(),
        None => json_error(StatusCode::NOT_FOUND, Error::UnknownOrder(code).to_string()),
    }
}

/// Whether the request came from the shopper page's HTML form.
fn from_form(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"))
}

/// The shopper pays: 0 → 1, then the notification is scheduled.
pub fn pay_order(app: &Arc<App>, code: &str) -> Result<Order, Error> {
    let now = Stamp::now();
    let order = {
        let mut store = app.store();
        let channel = store
            .get(code)
            .map(|o| o.new.channel_type.clone())
            .ok_or_else(|| Error::UnknownOrder(code.to_owned()))?;
        store
            .pay(code, ids::third_code(&channel, now), now)?
            .clone()
    };
    notifier::schedule(app, &order);
    Ok(order)
}

async fn pay(
    State(app): State<Arc<App>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    let outcome = pay_order(&app, &code);
    shopper_or_json(&app, outcome, from_form(&headers), true)
}

async fn close(
    State(app): State<Arc<App>>,
    Path(code): Path<String>,
    headers: HeaderMap,
) -> Response {
    let outcome = app.store().close(&code, Stamp::now()).cloned();
    shopper_or_json(&app, outcome, from_form(&headers), false)
}

fn shopper_or_json(app: &App, outcome: Result<Order, Error>, form: bool, paid: bool) -> Response {
    match (outcome, form) {
        (Ok(o), false) => Json(view(app, &o)).into_response(),
        (Err(e), false) => json_error(error_status(&e), e.to_string()),
        (Ok(o), true) => match (&o.new.return_url, paid) {
            (Some(url), true) => Redirect::to(url).into_response(),
            _ => Html(shopper::outcome_page(&o)).into_response(),
        },
        (Err(e), true) => {
            (error_status(&e), Html(shopper::error_page(&e.to_string()))).into_response()
        }
    }
}

async fn shopper_page(State(app): State<Arc<App>>, Path(code): Path<String>) -> Response {
    let mut store = app.store();
    store.expire(Stamp::now());
    match store.get(&code) {
        Some(o) => Html(shopper::order_page(o)).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Html(shopper::error_page(&Error::UnknownOrder(code).to_string())),
        )
            .into_response(),
    }
}

async fn requests(State(app): State<Arc<App>>) -> Response {
    Json(lock(&app.requests).to_vec()).into_response()
}

async fn clear_requests(State(app): State<Arc<App>>) -> StatusCode {
    lock(&app.requests).clear();
    StatusCode::NO_CONTENT
}

async fn notifications(State(app): State<Arc<App>>) -> Response {
    Json(lock(&app.notifications).to_vec()).into_response()
}

async fn clear_notifications(State(app): State<Arc<App>>) -> StatusCode {
    lock(&app.notifications).clear();
    StatusCode::NO_CONTENT
}

async fn list_faults(State(app): State<Arc<App>>) -> Response {
    Json(lock(&app.faults).snapshot()).into_response()
}

async fn clear_faults(State(app): State<Arc<App>>) -> StatusCode {
    lock(&app.faults).clear_all();
    StatusCode::NO_CONTENT
}

/// Body of `PUT /sandbox/faults/{interface}`.
#[derive(Debug, Deserialize)]
pub struct FaultBody {
    /// Mode string, as for `--fault`.
    pub mode: String,
    /// Apply to the next N requests only, then clear itself (absent: until removed).
    pub times: Option<u32>,
}

async fn set_fault(
    State(app): State<Arc<App>>,
    Path(target): Path<String>,
    Json(body): Json<FaultBody>,
) -> Response {
    let parsed = target
        .parse::<FaultTarget>()
        .and_then(|t| body.mode.parse::<FaultMode>().map(|m| (t, m)))
        .and_then(|(t, m)| lock(&app.faults).set(t, m, body.times));
    match parsed {
        Ok(()) => Json(lock(&app.faults).snapshot()).into_response(),
        Err(e) => json_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn clear_fault(State(app): State<Arc<App>>, Path(target): Path<String>) -> Response {
    match target.parse::<FaultTarget>() {
        Ok(t) => {
            lock(&app.faults).clear(t);
            Json(lock(&app.faults).snapshot()).into_response()
        }
        Err(e) => json_error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn get_settings(State(app): State<Arc<App>>) -> Response {
    Json(app.settings()).into_response()
}

/// Body of `PUT /sandbox/settings`: any subset of the settings.
#[derive(Debug, Deserialize)]
pub struct SettingsPatch {
    /// See [`Settings::pre_order_pending`].
    pub pre_order_pending: Option<bool>,
    /// See [`Settings::notify_interval_ms`].
    pub notify_interval_ms: Option<u64>,
    /// See [`Settings::notify_attempts`].
    pub notify_attempts: Option<u32>,
    /// See [`Settings::revoke_delay_ms`].
    pub revoke_delay_ms: Option<u64>,
    /// See [`Settings::notify_mode`].
    pub notify_mode: Option<notifier::NotifyMode>,
    /// See [`Settings::pre_order_auto_revoke_ms`].
    pub pre_order_auto_revoke_ms: Option<u64>,
}

async fn put_settings(State(app): State<Arc<App>>, Json(patch): Json<SettingsPatch>) -> Response {
    if patch.notify_attempts == Some(0) {
        return json_error(
            StatusCode::BAD_REQUEST,
            "notify_attempts must be at least 1".into(),
        );
    }
    let mut s = lock(&app.settings);
    let next = Settings {
        pre_order_pending: patch.pre_order_pending.unwrap_or(s.pre_order_pending),
        notify_interval_ms: patch.notify_interval_ms.unwrap_or(s.notify_interval_ms),
        notify_attempts: patch.notify_attempts.unwrap_or(s.notify_attempts),
        revoke_delay_ms: patch.revoke_delay_ms.unwrap_or(s.revoke_delay_ms),
        notify_mode: patch.notify_mode.unwrap_or(s.notify_mode),
        pre_order_auto_revoke_ms: patch
            .pre_order_auto_revoke_ms
            .unwrap_or(s.pre_order_auto_revoke_ms),
    };
    *s = next;
    Json(next).into_response()
}

/// Money figures in fen, as the ledger shows them for an order and in total.
#[derive(Debug, Serialize)]
pub struct FiguresView {
    /// The amount if the shopper's money was ever taken, else 0.
    pub captured_fen: u64,
    /// Given back by a revocation.
    pub returned_fen: u64,
    /// Given back by succeeded refunds.
    pub refunded_fen: u64,
    /// `captured - returned - refunded`: what the gateway holds for the merchant.
    pub net_fen: u64,
}

impl From<Figures> for FiguresView {
    fn from(f: Figures) -> Self {
        FiguresView {
            captured_fen: f.captured.fen(),
            returned_fen: f.returned.fen(),
            refunded_fen: f.refunded.fen(),
            net_fen: f.net().fen(),
        }
    }
}

/// A refund in the ledger.
#[derive(Debug, Serialize)]
pub struct LedgerRefund {
    /// The merchant's `OUT_REFUND_NO`, `null` when it sent none.
    pub out_refund_no: Option<String>,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Appendix-4 state of the refund record (11: succeeded).
    pub state: u32,
}

/// An order in the ledger.
#[derive(Debug, Serialize)]
pub struct LedgerOrder {
    /// `CHARGE_CODE`.
    pub charge_code: String,
    /// Merchant code.
    pub busi_code: String,
    /// Creating interface, `order` split by trade type (`order/NATIVE`, `preOrder`, ...).
    pub interface: String,
    /// Amount in fen.
    pub amount_fen: u64,
    /// Appendix-4 state code.
    pub state: u32,
    /// Its name.
    pub state_name: String,
    /// What happened to the money.
    #[serde(flatten)]
    pub figures: FiguresView,
    /// Refunds, oldest first.
    pub refunds: Vec<LedgerRefund>,
}

/// Totals of the ledger.
#[derive(Debug, Serialize)]
pub struct LedgerTotals {
    /// How many orders the sandbox holds.
    pub orders: usize,
    /// Sums over every order.
    #[serde(flatten)]
    pub figures: FiguresView,
}

/// `GET /sandbox/ledger`: the gateway's books, the ground truth a chaos run compares the
/// merchant's records with. Orders in creation order.
#[derive(Debug, Serialize)]
pub struct Ledger {
    /// Every order.
    pub orders: Vec<LedgerOrder>,
    /// Their sums.
    pub totals: LedgerTotals,
}

async fn ledger(State(app): State<Arc<App>>) -> Response {
    let mut store = app.store();
    store.expire(Stamp::now());
    let mut orders: Vec<&Order> = store.all().collect();
    orders.sort_by(|a, b| a.charge_down_code.cmp(&b.charge_down_code));
    let ledger = Ledger {
        totals: LedgerTotals {
            orders: orders.len(),
            figures: Figures::total(orders.iter().copied()).into(),
        },
        orders: orders
            .iter()
            .map(|o| LedgerOrder {
                charge_code: o.charge_code().to_owned(),
                busi_code: o.new.busi_code.clone(),
                interface: index::interface_label(o).to_owned(),
                amount_fen: o.new.amt.fen(),
                state: state_code(&o.state),
                state_name: shopper::state_name(&o.state).to_owned(),
                figures: o.figures().into(),
                refunds: o
                    .refunds
                    .iter()
                    .map(|r| LedgerRefund {
                        out_refund_no: r.out_refund_no.clone(),
                        amount_fen: r.amt.fen(),
                        state: state_code(&r.state),
                    })
                    .collect(),
            })
            .collect(),
    };
    Json(ledger).into_response()
}

/// `POST /sandbox/notify/{code}`, optional body [`notifier::ManualRequest`]: one
/// notification attempt now; answers `{"statuses":[...]}`, the receiver's HTTP status
/// for each copy (an error string when it could not be reached).
async fn notify(State(app): State<Arc<App>>, Path(code): Path<String>, body: Bytes) -> Response {
    let req: notifier::ManualRequest = if body.iter().all(u8::is_ascii_whitespace) {
        notifier::ManualRequest::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(r) => r,
            Err(e) => return json_error(StatusCode::BAD_REQUEST, format!("bad body: {e}")),
        }
    };
    let order = {
        let mut store = app.store();
        store.expire(Stamp::now());
        store.get(&code).cloned()
    };
    let Some(order) = order else {
        return json_error(StatusCode::NOT_FOUND, Error::UnknownOrder(code).to_string());
    };
    match notifier::send_manual(&app, &order, req).await {
        Ok(outcomes) => {
            let statuses: Vec<serde_json::Value> = outcomes
                .into_iter()
                .map(|o| match o {
                    Ok(status) => json!(status),
                    Err(e) => json!(e),
                })
                .collect();
            Json(json!({ "statuses": statuses })).into_response()
        }
        Err(e) => json_error(error_status(&e), e.to_string()),
    }
}
