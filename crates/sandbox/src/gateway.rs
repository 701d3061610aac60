//! The gateway interfaces under `/openGateway/openService/`.
//!
//! Each request goes: merchant lookup (`UNREGISTERED_BUSI`) → `soushou` opens the
//! envelope (sign, 3DES; `INVALID_SIGN`) → the document's required fields and amount
//! formats (`ILLEGAL_PARAMETER`, `AMT_ERROR`) → typed model + its `validate()` →
//! the store (state machine) → a `soushou` response in the asked format, encrypted
//! when the request was → response faults → request log. Rejections are HTTP 200
//! with `RESULT.CODE`, as on the real gateway; the `reject:CODE` fault is one,
//! made just before the store would be touched. Each request takes its fault once,
//! when it arrives, so a fault limited to N uses applies to exactly N requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::de::DeserializeOwned;
use serde_json::Value;
use soushou::codec::{Format, Message};
use soushou::envelope::{self, Interface};
use soushou::model::{
    CancelTradeResp, CreatOrderRequest, OrderRequest, OrderResp, PreOrderRequest, QueryResp,
    RefundQueryResp, RefundRequest, RefundResp, RefundTrade, ResultInfo, WapOrderRequest,
};
use soushou::sign::Verified;
use soushou::types::{CancelMode, ChannelType, OrderState, ResultCode, SerType, TradeType};
use soushou::{Fen, MerchantKey};

use crate::clock::Stamp;
use crate::error::Error;
use crate::faults::{self, FaultMode, FaultTarget};
use crate::log::{self, RequestRecord};
use crate::state::{self, NewOrder, Order, RefundInput};
use crate::wallet::Wallet;
use crate::{ids, App, Merchant};

/// Where the gateway interfaces live.
const BASE: &str = "/openGateway/openService";

/// Routes of the eight gateway interfaces.
pub fn routes() -> Router<Arc<App>> {
    let mut router = Router::new();
    for iface in [
        Interface::PreOrder,
        Interface::Order,
        Interface::CreatOrder,
        Interface::WapOrder,
        Interface::Refund,
    ] {
        router = router.route(
            &format!("{BASE}/{}", iface.path_name()),
            post(
                move |State(app): State<Arc<App>>, RawQuery(q): RawQuery, body: Bytes| {
                    post_interface(app, iface, q, body)
                },
            ),
        );
    }
    router
        .merge(get_route(Interface::Query, handle_query))
        .merge(get_route(Interface::RefundQuery, handle_refund_query))
        .route(
            &get_path(Interface::CancelTrade),
            get(
                |State(app): State<Arc<App>>,
                 Path(ids): Path<(String, String)>,
                 RawQuery(q): RawQuery| cancel_interface(app, ids, q),
            ),
        )
}

/// The route pattern of a GET interface: `{iface}/{code}/{busi}`.
fn get_path(iface: Interface) -> String {
    format!("{BASE}/{}/{{code}}/{{busi}}", iface.path_name())
}

/// The route of a GET interface served by [`get_interface`].
fn get_route<M: Answer + 'static>(iface: Interface, handle: GetHandler<M>) -> Router<Arc<App>> {
    Router::new().route(
        &get_path(iface),
        get(
            move |State(app): State<Arc<App>>,
                  Path(ids): Path<(String, String)>,
                  RawQuery(q): RawQuery| get_interface(app, iface, ids, q, handle),
        ),
    )
}

/// A response message the sandbox can answer a rejection with.
trait Answer: Message + Default {
    fn set_result(&mut self, result: ResultInfo);
}

macro_rules! answer {
    ($($t:ty),*) => {$(
        impl Answer for $t {
            fn set_result(&mut self, result: ResultInfo) {
                self.result = result;
            }
        }
    )*};
}
answer!(
    OrderResp,
    RefundResp,
    QueryResp,
    RefundQueryResp,
    CancelTradeResp
);

fn result(code: ResultCode, info: &str) -> ResultInfo {
    ResultInfo {
        code,
        info: info.to_owned(),
    }
}

/// One request in flight: what we know so far, for the answer and the log.
struct Exchange {
    rec: RequestRecord,
    started: Instant,
    now: Stamp,
    format: Format,
    encrypt: bool,
    key: Option<MerchantKey>,
    /// The interface's fault for this request, taken once when it arrived.
    fault: Option<FaultMode>,
}

impl Exchange {
    fn new(
        app: &App,
        iface: Interface,
        method: &str,
        path: String,
        query: &[(String, String)],
    ) -> Exchange {
        let now = Stamp::now();
        let (format, encrypt) = envelope::reply_shape(query);
        let fault = app.take_fault(FaultTarget::Gateway(iface));
        Exchange {
            rec: RequestRecord {
                time: now.gateway_time(),
                interface: iface.path_name().to_owned(),
                method: method.to_owned(),
                path,
                query: log::mask_query(query),
                encrypted: encrypt,
                format: match format {
                    Format::Json => "json",
                    Format::Xml => "xml",
                }
                .to_owned(),
                fault: fault.as_ref().map(FaultMode::to_string),
                ..RequestRecord::default()
            },
            started: Instant::now(),
            now,
            format,
            encrypt,
            key: None,
            fault,
        }
    }

    /// Finds the merchant (`UNREGISTERED_BUSI` otherwise) and remembers its key for the answer.
    fn merchant<'a>(
        &mut self,
        app: &'a App,
        busi_code: Option<&str>,
    ) -> Result<&'a Merchant, Error> {
        self.rec.busi_code = busi_code.map(str::to_owned);
        let code = busi_code
            .filter(|c| !c.is_empty())
            .ok_or_else(|| Error::rejected(ResultCode::UnregisteredBusi, "busiCode is missing"))?;
        let m = app.merchant(code).ok_or_else(|| {
            Error::rejected(
                ResultCode::UnregisteredBusi,
                format!("busiCode {code} is not registered"),
            )
        })?;
        self.key = Some(m.key.clone());
        Ok(m)
    }

    /// Logs how the request's signature verified: the timestamp's unit and the rule that matched.
    fn record_signature(&mut self, verified: &Verified) {
        self.rec.sign_ts = Some(
            if verified.unix_seconds() == verified.ts {
                "seconds"
            } else {
                "milliseconds"
            }
            .into(),
        );
        self.rec.sign_rule = Some(format!("{:?}", verified.rule));
    }

    /// Encodes the outcome as the interface's response message. Under the
    /// `processed:CODE` fault a success (the request was acted on) is answered CODE.
    fn answer<M: Answer>(&mut self, outcome: Result<M, Error>) -> Vec<u8> {
        let outcome = match (outcome, &self.fault) {
            (Ok(_), Some(FaultMode::Processed(code))) => Err(Error::rejected(
                code.clone(),
                "processed, but the sandbox's processed fault answers this code instead \
                 of SUCCESS; query to learn the outcome",
            )),
            (outcome, _) => outcome,
        };
        let msg = match outcome {
            Ok(m) => {
                self.rec.result_code = ResultCode::Success.as_str().to_owned();
                m
            }
            Err(e) => {
                let (code, info) = match e {
                    Error::Rejected { code, info } => (code, info),
                    other => (ResultCode::Exception, other.to_string()),
                };
                self.rec.result_code = code.as_str().to_owned();
                self.rec.reason = Some(info.clone());
                let mut m = M::default();
                m.set_result(ResultInfo { code, info });
                m
            }
        };
        match &self.key {
            Some(key) => envelope::encode_response(&msg, self.format, self.encrypt, key),
            // Unknown merchant: there is no key to encrypt with, so answer in clear.
            None => envelope::encode_response(&msg, self.format, false, &MerchantKey::new("")),
        }
    }
}

/// Sends the answer, applying the interface's fault, and logs the exchange.
async fn finish(app: Arc<App>, mut ex: Exchange, body: Vec<u8>) -> Response {
    let fault = ex.fault.take();
    let content_type = ex.format.content_type();
    let response = match fault {
        Some(FaultMode::Latency(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(FaultMode::Timeout) => {
            ex.rec.reason = Some(format!(
                "{} (answer withheld by the timeout fault)",
                ex.rec.reason.take().unwrap_or_else(|| "processed".into())
            ));
            ex.rec.duration_ms = ex.started.elapsed().as_millis() as u64;
            app.record_request(ex.rec);
            tokio::time::sleep(app.timeout_hold).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(mode) => faults::distort(&mode, content_type, &body).map(|d| {
            (
                StatusCode::from_u16(d.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [(header::CONTENT_TYPE, d.content_type)],
                d.body,
            )
                .into_response()
        }),
        None => None,
    };
    let response = response.unwrap_or_else(|| {
        (StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response()
    });
    ex.rec.http_status = Some(response.status().as_u16());
    ex.rec.duration_ms = ex.started.elapsed().as_millis() as u64;
    app.record_request(ex.rec);
    response
}

// ---------------------------------------------------------------- POST interfaces

async fn post_interface(
    app: Arc<App>,
    iface: Interface,
    raw_query: Option<String>,
    body: Bytes,
) -> Response {
    let query = envelope::parse_query(raw_query.as_deref().unwrap_or(""));
    let path = format!("{BASE}/{}", iface.path_name());
    let mut ex = Exchange::new(&app, iface, "POST", path, &query);
    let answer = if iface == Interface::Refund {
        let outcome = handle_refund(&app, &query, &body, &mut ex);
        ex.answer(outcome)
    } else {
        let outcome = handle_order(&app, iface, &query, &body, &mut ex);
        ex.answer(outcome)
    };
    finish(app, ex, answer).await
}

/// The `reject:CODE` fault: refuses a request that passed the gateway's checks
/// (merchant, sign, fields) before it reaches the store, so nothing changes.
/// Called by every handler right before its store call.
fn refuse_if_faulted(ex: &Exchange) -> Result<(), Error> {
    match &ex.fault {
        Some(FaultMode::Reject(code)) => Err(Error::rejected(
            code.clone(),
            "refused by the sandbox's reject fault; the request was not processed",
        )),
        _ => Ok(()),
    }
}

/// Verifies and decrypts the body with `soushou`, recording what arrived.
fn open_body(
    query: &[(String, String)],
    body: &[u8],
    m: &Merchant,
    ex: &mut Exchange,
) -> Result<Value, Error> {
    match envelope::open_request::<Value>(query, body, &m.key) {
        Ok((value, verified)) => {
            ex.rec.body = value.clone();
            ex.record_signature(&verified);
            Ok(value)
        }
        Err(e) => {
            // Show what we can of the body: decrypted when possible, raw otherwise.
            let shown = if ex.encrypt {
                soushou::tdes::decrypt(body, &m.key).unwrap_or_else(|_| body.to_vec())
            } else {
                body.to_vec()
            };
            ex.rec.body = log::body_value(&shown);
            Err(open_error(e))
        }
    }
}

/// Maps a `soushou` envelope error to the gateway's result code.
fn open_error(e: soushou::Error) -> Error {
    let code = match &e {
        // A body that opens but is not a usable message is a parameter problem...
        soushou::Error::NotGatewayMessage
        | soushou::Error::Decode(_)
        | soushou::Error::UnexpectedRoot { .. } => ResultCode::IllegalParameter,
        // ...while a missing/wrong sign or an undecryptable body is a signature problem.
        _ => ResultCode::InvalidSign,
    };
    Error::rejected(code, e.to_string())
}

/// The wire fields each interface's table marks "Can be empty? No".
fn required_fields(iface: Interface) -> &'static [&'static str] {
    match iface {
        Interface::PreOrder => &[
            "BUSI_ID",
            "OPER_ID",
            "DEV_ID",
            "AMT",
            "CHANNEL_TYPE",
            "DYNAMIC_ID_TYPE",
            "DYNAMIC_ID",
            "CHARGE_CODE",
            "PAY_SUBJECT",
        ],
        Interface::Order | Interface::CreatOrder => &[
            "BUSI_ID",
            "OPER_ID",
            "DEV_ID",
            "AMT",
            "CHANNEL_TYPE",
            "CHARGE_CODE",
            "PAY_SUBJECT",
        ],
        Interface::WapOrder => &[
            "BUSI_ID",
            "OPER_ID",
            "DEV_ID",
            "AMT",
            "CHANNEL_TYPE",
            "CHARGE_CODE",
            "SCENE_INFO",
            "SPBILL_CREATE_IP",
            "PAY_SUBJECT",
        ],
        Interface::Refund => &[
            "BUSI_ID",
            "OPER_ID",
            "DEV_ID",
            "CHARGE_REFUND_FEE",
            "REFUND_SUBJECT",
            "CHARGE_CODE",
        ],
        Interface::Query | Interface::RefundQuery | Interface::CancelTrade => &[],
    }
}

/// Appendix 1: required fields of each GOODS_DETAIL item.
const GOODS_FIELDS: [&str; 6] = [
    "GOOD_ID",
    "GOOD_NAME",
    "GOOD_CLASS",
    "GOOD_PRICE",
    "GOOD_SUBJECT",
    "GOOD_QUANTITY",
];

fn is_present(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(_) => true,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A yuan amount field: `AMT_ERROR` unless it is a well-formed yuan amount.
fn amount(obj: &serde_json::Map<String, Value>, field: &str) -> Result<Fen, Error> {
    let v = obj.get(field).unwrap_or(&Value::Null);
    scalar_text(v)
        .and_then(|s| Fen::parse_yuan(&s).ok())
        .ok_or_else(|| {
            Error::rejected(
                ResultCode::AmtError,
                format!("{field} {v} is not a valid yuan amount"),
            )
        })
}

/// The document's table checks, before typed parsing: required fields, then amounts.
fn check_fields(iface: Interface, body: &Value) -> Result<(), Error> {
    let obj = body.as_object().ok_or_else(|| {
        Error::rejected(
            ResultCode::IllegalParameter,
            "the body is not a JSON object",
        )
    })?;
    for f in required_fields(iface) {
        if !is_present(obj.get(*f)) {
            return Err(Error::rejected(
                ResultCode::IllegalParameter,
                format!("{f} is required"),
            ));
        }
    }
    let goods: Vec<&serde_json::Map<String, Value>> = match obj.get("GOODS_DETAIL") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        Some(Value::Object(item)) => vec![item],
        Some(_) => {
            return Err(Error::rejected(
                ResultCode::IllegalParameter,
                "GOODS_DETAIL must be a list",
            ));
        }
    };
    for item in &goods {
        for f in GOODS_FIELDS {
            if !is_present(item.get(f)) {
                return Err(Error::rejected(
                    ResultCode::IllegalParameter,
                    format!("GOODS_DETAIL.{f} is required"),
                ));
            }
        }
    }
    let main_amount = if iface == Interface::Refund {
        "CHARGE_REFUND_FEE"
    } else {
        "AMT"
    };
    let amt = amount(obj, main_amount)?;
    if amt == Fen::ZERO {
        return Err(Error::rejected(
            ResultCode::AmtError,
            format!("{main_amount} must be greater than 0"),
        ));
    }
    for item in &goods {
        amount(item, "GOOD_PRICE")?;
    }
    Ok(())
}

/// Typed model from the checked body (`ILLEGAL_PARAMETER` on a shape the model refuses).
fn typed<T: DeserializeOwned>(body: Value) -> Result<T, Error> {
    serde_json::from_value(body)
        .map_err(|e| Error::rejected(ResultCode::IllegalParameter, e.to_string()))
}

/// Maps a model's `validate()` failure to the gateway's code.
fn validation(e: soushou::Error) -> Error {
    let amount_field = |f: &str| matches!(f, "AMT" | "CHARGE_REFUND_FEE" | "GOOD_PRICE");
    let code = match &e {
        soushou::Error::InvalidField { field, .. } if amount_field(field) => ResultCode::AmtError,
        _ => ResultCode::IllegalParameter,
    };
    Error::rejected(code, e.to_string())
}

fn check_busi_id(busi_id: &str, m: &Merchant) -> Result<(), Error> {
    if busi_id == m.busi_id {
        Ok(())
    } else {
        Err(Error::rejected(
            ResultCode::IllegalParameter,
            format!(
                "BUSI_ID {busi_id} does not belong to busiCode {}",
                m.busi_code
            ),
        ))
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// What every POST interface does first: finds the merchant (`busiCode`),
/// opens the body (sign, 3DES), notes its charge code for the log, and checks
/// the document's required fields and amount formats.
fn open_post<'a>(
    app: &'a App,
    iface: Interface,
    query: &[(String, String)],
    body: &[u8],
    ex: &mut Exchange,
) -> Result<(&'a Merchant, Value), Error> {
    let m = ex.merchant(app, envelope::query_param(query, "busiCode"))?;
    let value = open_body(query, body, m, ex)?;
    ex.rec.charge_code = value.get("CHARGE_CODE").and_then(scalar_text);
    check_fields(iface, &value)?;
    Ok((m, value))
}

fn handle_order(
    app: &App,
    iface: Interface,
    query: &[(String, String)],
    body: &[u8],
    ex: &mut Exchange,
) -> Result<OrderResp, Error> {
    let (m, value) = open_post(app, iface, query, body, ex)?;
    let now = ex.now;
    // The typed request of an order interface, valid for `soushou` and for this merchant.
    macro_rules! accept {
        ($t:ty) => {{
            let req: $t = typed(value)?;
            req.validate().map_err(validation)?;
            check_busi_id(&req.common.busi_id, m)?;
            refuse_if_faulted(ex)?;
            req
        }};
    }
    // The store's order from the fields every order request has; the arms add the rest.
    macro_rules! new_order {
        ($req:ident, $channel_type:expr) => {
            NewOrder {
                interface: iface,
                jsapi: false,
                busi_code: m.busi_code.clone(),
                busi_id: $req.common.busi_id,
                oper_id: $req.common.oper_id,
                dev_id: $req.common.dev_id,
                register_id: non_empty($req.common.register_id),
                merchant_para: non_empty($req.common.merchant_para),
                charge_code: $req.charge_code,
                amt: $req.amt,
                channel_type: $channel_type,
                pay_subject: $req.pay_subject,
                goods_detail: $req.goods_detail,
                dynamic_id: None,
                nodify_url: None,
                return_url: None,
                charge_third_code: None,
                expires_after_ms: None,
            }
        };
    }
    match iface {
        Interface::PreOrder => {
            let req = accept!(PreOrderRequest);
            let channel = state::resolve_channel(req.channel_type.clone(), &req.dynamic_id);
            let settings = app.settings();
            let pending = settings.pre_order_pending;
            let mut new = new_order!(req, channel.clone());
            new.dynamic_id = Some(req.dynamic_id);
            new.expires_after_ms = pending.then_some(settings.pre_order_auto_revoke_ms);
            let mut store = app.store();
            let code = store.create(new, now)?.charge_code().to_owned();
            let order = if pending {
                store.get(&code).cloned().expect("just created")
            } else {
                store
                    .pay(&code, ids::third_code(&channel, now), now)?
                    .clone()
            };
            drop(store);
            let mut resp = order_resp(
                &order,
                if pending {
                    "Waiting for the shopper to confirm the payment"
                } else {
                    "Requesting payment is successful!"
                },
            );
            resp.channel_type = Some(order.new.channel_type.clone());
            resp.charge_third_code = order.charge_third_code.clone();
            resp.fund_bill_list = order.fund_bill_list.clone();
            resp.oper_id = Some(order.new.oper_id.clone());
            resp.dev_id = Some(order.new.dev_id.clone());
            resp.begin_time = Some(order.begin_time.clone());
            resp.amt = Some(order.new.amt);
            Ok(resp)
        }
        Interface::Order => {
            let req = accept!(OrderRequest);
            let jsapi = req.trade_type == Some(TradeType::Jsapi);
            let app_id = if jsapi {
                wechat_payer_app(app, &req)?
            } else {
                app.wechat_app_id.clone()
            };
            let mut new = new_order!(req, req.channel_type);
            new.jsapi = jsapi;
            new.nodify_url = non_empty(req.nodify_url);
            let order = app.store().create(new, now)?.clone();
            let mut resp = order_resp(&order, "Request was successful!");
            if jsapi {
                let j = ids::jsapi(&app_id, now, &app.wechat_key);
                resp.app_id = Some(j.app_id);
                resp.time_stamp = Some(j.time_stamp);
                resp.nonce_str = Some(j.nonce_str);
                resp.package_data = Some(j.package_data);
                resp.sign_type = Some(j.sign_type);
                resp.sign = Some(j.sign);
            } else {
                resp.bar_code = Some(app.shopper_url(order.charge_code()));
                if order.new.channel_type == ChannelType::WeChat {
                    resp.prepay_id = Some(ids::prepay_id(now));
                }
            }
            Ok(resp)
        }
        Interface::CreatOrder => {
            let req = accept!(CreatOrderRequest);
            check_alipay_buyer(app, &req)?;
            let mut new = new_order!(req, req.channel_type);
            new.nodify_url = non_empty(req.nodify_url);
            new.charge_third_code = Some(ids::alipay_trade_no(now));
            new.expires_after_ms = req.time_expire.map(|secs| u64::from(secs) * 1000);
            let order = app.store().create(new, now)?.clone();
            let mut resp = order_resp(&order, "Request was successful!");
            resp.charge_third_code = order.charge_third_code.clone();
            // The document's sample answers empty times here.
            resp.begin_time = Some(String::new());
            resp.end_time = Some(String::new());
            Ok(resp)
        }
        Interface::WapOrder => {
            let req = accept!(WapOrderRequest);
            let mut new = new_order!(req, req.channel_type);
            new.nodify_url = non_empty(req.nodify_url);
            new.return_url = non_empty(req.return_url);
            new.expires_after_ms = req.time_expire.map(|secs| u64::from(secs) * 1000);
            let order = app.store().create(new, now)?.clone();
            let mut resp = order_resp(&order, "Request was successful!");
            resp.bar_code = Some(match &ex.fault {
                Some(FaultMode::BarCode(url)) => url.clone(),
                _ => app.shopper_url(order.charge_code()),
            });
            Ok(resp)
        }
        _ => Err(Error::rejected(
            ResultCode::Exception,
            "not an order interface",
        )),
    }
}

/// The fields every order-creating answer carries.
fn order_resp(order: &Order, info: &str) -> OrderResp {
    OrderResp {
        result: result(ResultCode::Success, info),
        charge_code: Some(order.charge_code().to_owned()),
        charge_down_code: Some(order.charge_down_code.clone()),
        merchant_para: order.new.merchant_para.clone(),
        ..OrderResp::default()
    }
}

fn handle_refund(
    app: &App,
    query: &[(String, String)],
    body: &[u8],
    ex: &mut Exchange,
) -> Result<RefundResp, Error> {
    let (m, value) = open_post(app, Interface::Refund, query, body, ex)?;
    let req: RefundRequest = typed(value)?;
    req.validate().map_err(validation)?;
    check_busi_id(&req.busi_id, m)?;
    refuse_if_faulted(ex)?;
    let input = RefundInput {
        busi_code: m.busi_code.clone(),
        charge_code: req.charge_code,
        charge_down_code: non_empty(req.charge_down_code),
        out_refund_no: non_empty(req.out_refund_no),
        amount: req.charge_refund_fee,
        oper_id: req.oper_id,
        dev_id: req.dev_id,
    };
    let mut store = app.store();
    let order = store.refund(input, ex.now)?;
    let last = order.refunds.last().expect("refund recorded");
    Ok(RefundResp {
        result: result(ResultCode::Success, "Refund is successful!"),
        fund_bill_list: last.bills.clone(),
        channel_type: Some(order.new.channel_type.clone()),
        ..RefundResp::default()
    })
}

// ---------------------------------------------------------------- GET interfaces

/// What a GET interface's path and query name: `{iface}/{code}/{busi}?...`.
struct GetCall {
    /// The order's code (`CHARGE_CODE`, or `CHARGE_DOWN_CODE` with `serType=1`).
    code: String,
    /// The merchant's `busiCode`.
    busi: String,
    /// The decoded query string (signature, timestamp, reply shape).
    query: Vec<(String, String)>,
}

impl GetCall {
    /// `serType=1`: the code is the gateway's `CHARGE_DOWN_CODE`; otherwise the merchant's `CHARGE_CODE`.
    fn ser_type(&self) -> SerType {
        SerType::from_code(envelope::query_param(&self.query, "serType"))
    }
}

/// A GET interface's decision, once its merchant is known.
type GetHandler<M> = fn(&App, &mut Exchange, &Merchant, &GetCall) -> Result<M, Error>;

/// Starts a GET exchange: the call the path and query name, and its record.
fn begin_get(
    app: &App,
    iface: Interface,
    (code, busi): (String, String),
    raw_query: Option<String>,
) -> (GetCall, Exchange) {
    let call = GetCall {
        query: envelope::parse_query(raw_query.as_deref().unwrap_or("")),
        code,
        busi,
    };
    let path = format!("{BASE}/{}/{}/{}", iface.path_name(), call.code, call.busi);
    let mut ex = Exchange::new(app, iface, "GET", path, &call.query);
    ex.rec.charge_code = Some(call.code.clone());
    (call, ex)
}

/// Serves a GET interface: records the exchange, finds the merchant the path
/// names (`UNREGISTERED_BUSI` otherwise), lets `handle` decide, and answers
/// through [`finish`].
async fn get_interface<M: Answer>(
    app: Arc<App>,
    iface: Interface,
    ids: (String, String),
    raw_query: Option<String>,
    handle: GetHandler<M>,
) -> Response {
    let (call, mut ex) = begin_get(&app, iface, ids, raw_query);
    let outcome = ex
        .merchant(&app, Some(&call.busi))
        .and_then(|m| handle(&app, &mut ex, m, &call));
    let body = ex.answer(outcome);
    finish(app, ex, body).await
}

/// A `query`-family answer about `$o`: what `query` and `refundQuery` both
/// report about an order, plus each interface's own fields.
macro_rules! order_answer {
    ($resp:ident, $o:expr, { $($field:ident: $value:expr),* $(,)? }) => {{
        let o: &Order = $o;
        $resp {
            result: result(ResultCode::Success, "The query was successful"),
            busi_id: Some(o.new.busi_id.clone()),
            oper_id: Some(o.new.oper_id.clone()),
            dev_id: Some(o.new.dev_id.clone()),
            amt: Some(o.new.amt),
            channel_type: Some(o.new.channel_type.clone()),
            charge_code: Some(o.charge_code().to_owned()),
            charge_down_code: Some(o.charge_down_code.clone()),
            state: Some(o.state.clone()),
            begin_time: Some(o.begin_time.clone()),
            end_time: o.end_time.clone(),
            register_id: o.new.register_id.clone(),
            $($field: $value,)*
            ..$resp::default()
        }
    }};
}

fn handle_query(
    app: &App,
    ex: &mut Exchange,
    _: &Merchant,
    call: &GetCall,
) -> Result<QueryResp, Error> {
    refuse_if_faulted(ex)?;
    let mut store = app.store();
    let o = store.lookup(&call.code, call.ser_type(), &call.busi, ex.now)?;
    let paid = !o.fund_bill_list.is_empty();
    Ok(order_answer!(QueryResp, o, {
        merchant_para: o.new.merchant_para.clone(),
        real_amt: paid.then_some(o.new.amt),
        pay_subject: Some(o.new.pay_subject.clone()),
        goods_detail: o.new.goods_detail.clone(),
        dynamic_id: o.new.dynamic_id.clone(),
        fund_bill_list: o.fund_bill_list.clone(),
    }))
}

fn handle_refund_query(
    app: &App,
    ex: &mut Exchange,
    _: &Merchant,
    call: &GetCall,
) -> Result<RefundQueryResp, Error> {
    refuse_if_faulted(ex)?;
    let mut store = app.store();
    let o = store.lookup(&call.code, call.ser_type(), &call.busi, ex.now)?;
    Ok(order_answer!(RefundQueryResp, o, {
        refund_amt: Some(o.refunded()),
        refund_count: Some(o.refunds.len() as u32),
        refund_trade_list: o
            .refunds
            .iter()
            .map(|r| RefundTrade {
                refund_code: Some(r.refund_code.clone()),
                refund_down_code: Some(r.refund_down_code.clone()),
                oper_id: Some(r.oper_id.clone()),
                dev_id: Some(r.dev_id.clone()),
                refund_amt: Some(r.amt),
                state: Some(r.state.clone()),
                begin_time: Some(r.time.clone()),
                end_time: Some(r.time.clone()),
                refund_bill_list: r.bills.clone(),
                ..RefundTrade::default()
            })
            .collect(),
    }))
}

/// Serves cancelTrade like [`get_interface`], except that an accepted real-time
/// revocation is held `revoke_delay_ms` and decided at the end of the hold, against
/// the order's state then: a payment that landed meanwhile is revoked (money returned).
async fn cancel_interface(
    app: Arc<App>,
    ids: (String, String),
    raw_query: Option<String>,
) -> Response {
    let (call, mut ex) = begin_get(&app, Interface::CancelTrade, ids, raw_query);
    let accepted = ex
        .merchant(&app, Some(&call.busi))
        .and_then(|m| open_cancel(&mut ex, m, &call));
    let outcome = match accepted {
        Ok(mode) => {
            let delay_ms = app.settings().revoke_delay_ms;
            if mode == CancelMode::RealTime && delay_ms > 0 {
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                ex.now = Stamp::now();
            }
            revoke(&app, &ex, &call, mode, delay_ms)
        }
        Err(e) => Err(e),
    };
    let body = ex.answer(outcome);
    finish(app, ex, body).await
}

/// cancelTrade's checks: its own signature (`INVALID_SIGN`), then the `reject` fault.
fn open_cancel(ex: &mut Exchange, m: &Merchant, call: &GetCall) -> Result<CancelMode, Error> {
    let (code, busi) = (call.code.as_str(), call.busi.as_str());
    ex.rec.body = Value::String(soushou::sign::cancel_payload(code, busi));
    let (mode, verified) = envelope::open_cancel(&call.query, code, busi, &m.key)
        .map_err(|e| Error::rejected(ResultCode::InvalidSign, e.to_string()))?;
    ex.record_signature(&verified);
    refuse_if_faulted(ex)?;
    Ok(mode)
}

/// The revocation itself; an applied one (`opType=ACO`) completes `delay_ms` later.
fn revoke(
    app: &App,
    ex: &Exchange,
    call: &GetCall,
    mode: CancelMode,
    delay_ms: u64,
) -> Result<CancelTradeResp, Error> {
    let mut store = app.store();
    let o = store.cancel(&call.code, &call.busi, mode, delay_ms, ex.now)?;
    Ok(CancelTradeResp {
        result: result(
            ResultCode::Success,
            if o.state == OrderState::RevocationApplied {
                "Revocation has been applied"
            } else {
                "Revocation is successful"
            },
        ),
        ..CancelTradeResp::default()
    })
}

/// The WeChat app a JSAPI order pays in: its `subAppid`, else the one the
/// sandbox's sign-in simulates, else the sandbox's own. With sign-in
/// simulated, `subOpenid` must be an openid issued for that app, as WeChat
/// refuses an openid of another app.
fn wechat_payer_app(app: &App, req: &OrderRequest) -> Result<String, Error> {
    let sub_appid = req.sub_appid.as_deref().filter(|s| !s.is_empty());
    if !app.oauth.enabled(Wallet::Wechat) {
        return Ok(sub_appid.unwrap_or(&app.wechat_app_id).to_owned());
    }
    let app_id = sub_appid
        .or(app.oauth.sole_wechat_app())
        .ok_or_else(|| Error::rejected(ResultCode::IllegalParameter, "subAppid is missing"))?;
    let openid = req.sub_openid.as_deref().unwrap_or("");
    if !crate::lock(&app.oauth_store).issued(Wallet::Wechat, openid, Some(app_id)) {
        return Err(Error::rejected(
            ResultCode::IllegalParameter,
            format!("subOpenid was not issued for appid {app_id}"),
        ));
    }
    Ok(app_id.to_owned())
}

/// With Alipay sign-in simulated, a `buyerId` must come from it.
fn check_alipay_buyer(app: &App, req: &CreatOrderRequest) -> Result<(), Error> {
    let Some(buyer) = req.buyer_id.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    if app.oauth.enabled(Wallet::Alipay)
        && !crate::lock(&app.oauth_store).issued(Wallet::Alipay, buyer, None)
    {
        return Err(Error::rejected(
            ResultCode::IllegalParameter,
            "buyerId did not sign in with this Alipay",
        ));
    }
    Ok(())
}
