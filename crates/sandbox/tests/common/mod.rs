//! Test helpers: start the real `soushou-sandbox` binary on a free port, talk to it
//! with the `soushou` crate over HTTP, and receive its notifications.
#![allow(dead_code)] // each test binary uses a different subset

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use serde_json::Value;
use soushou::codec::{Format, Message};
use soushou::envelope::{self, Config, GatewayRequest, HttpRequest};
use soushou::model::{
    CancelTradeRequest, Common, CreatOrderRequest, GoodsItem, OrderRequest, PreOrderRequest,
    QueryRequest, QueryResp, RefundQueryRequest, RefundRequest, SceneInfo, WapOrderRequest,
};
use soushou::types::{CancelMode, ChannelType, DynamicIdType, OrderState, SerType, TradeType};
use soushou::{Fen, MerchantKey};

/// The default merchant every sandbox registers when started without `--merchant`.
pub const BUSI_CODE: &str = "01000001";
pub const BUSI_ID: &str = "0010000001";
pub const KEY: &str = "98SDKFUO432HNODS098EEE07U9DUOIUE";

/// A running sandbox process, killed on drop.
pub struct Sandbox {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Every stdout line after the first.
    pub lines: Arc<Mutex<Vec<String>>>,
}

impl Sandbox {
    /// Starts the binary with `--listen 127.0.0.1:0` plus `args` (fast notifications unless overridden).
    pub fn start(args: &[&str]) -> Sandbox {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_soushou-sandbox"));
        cmd.args(["--listen", "127.0.0.1:0"]);
        if !args.contains(&"--notify-interval-ms") {
            cmd.args(["--notify-interval-ms", "50"]);
        }
        let mut child = cmd
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn soushou-sandbox");
        let mut out = BufReader::new(child.stdout.take().expect("stdout"));
        let mut first = String::new();
        out.read_line(&mut first).expect("read first line");
        let url = first
            .trim()
            .strip_prefix("soushou-sandbox listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_owned();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        // Keep draining stdout so the sandbox never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in out.lines() {
                match line {
                    Ok(l) => sink.lock().unwrap().push(l),
                    Err(_) => break,
                }
            }
        });
        Sandbox { child, url, lines }
    }

    /// The gateway base URL.
    pub fn gateway(&self) -> String {
        format!("{}/openGateway/openService/", self.url)
    }

    /// A client configuration for the default merchant.
    pub fn client(&self, encrypt: bool, format: Format) -> Config {
        Config {
            gateway_url: self.gateway(),
            busi_code: BUSI_CODE.into(),
            busi_id: BUSI_ID.into(),
            key: MerchantKey::new(KEY),
            encrypt,
            format,
            oper_id: "oper01".into(),
            dev_id: "dev01".into(),
            register_id: Some("02016".into()),
        }
    }

    /// GET a control-API path, parsed as JSON.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = http()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("GET");
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.expect("JSON")
    }

    /// POST to a control-API path; returns status and JSON.
    pub async fn post_json(&self, path: &str) -> (u16, Value) {
        let r = http()
            .post(format!("{}{path}", self.url))
            .send()
            .await
            .expect("POST");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Sends a JSON body to a control-API path; returns status and JSON.
    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (u16, Value) {
        let r = http()
            .request(method, format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .expect("send JSON");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// `PUT /sandbox/faults/{target}`.
    pub async fn set_fault(&self, target: &str, mode: &str) {
        self.set_fault_body(target, serde_json::json!({ "mode": mode }))
            .await;
    }

    /// `PUT /sandbox/faults/{target}` for the next `times` requests only.
    pub async fn set_fault_times(&self, target: &str, mode: &str, times: u32) {
        self.set_fault_body(target, serde_json::json!({ "mode": mode, "times": times }))
            .await;
    }

    async fn set_fault_body(&self, target: &str, body: Value) {
        let path = format!("/sandbox/faults/{target}");
        let (status, v) = self.send_json(reqwest::Method::PUT, &path, &body).await;
        assert_eq!(status, 200, "set fault {target} {body}: {v}");
    }

    /// `PUT /sandbox/settings` with `patch`; returns the settings now in force.
    pub async fn settings(&self, patch: Value) -> Value {
        let (status, v) = self
            .send_json(reqwest::Method::PUT, "/sandbox/settings", &patch)
            .await;
        assert_eq!(status, 200, "settings {patch}: {v}");
        v
    }

    /// `GET /sandbox/ledger`.
    pub async fn ledger(&self) -> Value {
        self.get_json("/sandbox/ledger").await
    }

    /// The ledger entry of one order.
    pub async fn ledger_of(&self, charge_code: &str) -> Value {
        let ledger = self.ledger().await;
        ledger["orders"]
            .as_array()
            .and_then(|orders| orders.iter().find(|o| o["charge_code"] == charge_code))
            .cloned()
            .unwrap_or_else(|| panic!("{charge_code} not in the ledger: {ledger}"))
    }

    /// `DELETE /sandbox/faults/{target}`.
    pub async fn clear_fault(&self, target: &str) {
        let r = http()
            .delete(format!("{}/sandbox/faults/{target}", self.url))
            .send()
            .await
            .expect("DELETE fault");
        assert!(r.status().is_success());
    }

    /// Pays an order as the shopper would (control API).
    pub async fn pay(&self, charge_code: &str) -> Value {
        let (status, v) = self.post_json(&format!("/sandbox/pay/{charge_code}")).await;
        assert_eq!(status, 200, "pay {charge_code}: {v}");
        v
    }

    /// The last request-log entry.
    pub async fn last_request(&self) -> Value {
        let v = self.get_json("/sandbox/requests").await;
        v.as_array()
            .and_then(|a| a.last())
            .cloned()
            .expect("a logged request")
    }

    /// The order's state as `query` (by merchant code) reports it; panics on a rejection.
    pub async fn state_of(&self, charge_code: &str) -> Option<OrderState> {
        let cfg = self.client(false, Format::Json);
        query_by_code(&cfg, charge_code).await.state
    }

    /// The sandbox's own view of an order (control API).
    pub async fn order_view(&self, charge_code: &str) -> Value {
        self.get_json(&format!("/sandbox/orders/{charge_code}"))
            .await
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that never uses a proxy (only 127.0.0.1 is contacted).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Unix time in seconds.
pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// A fresh unique CHARGE_CODE.
pub fn code(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        now_ms(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sends a request built by `soushou`; returns the raw answer.
pub async fn send_raw(req: &HttpRequest, base: &str) -> (u16, Vec<u8>) {
    let client = http();
    let url = req.url(base);
    let builder = match req.method {
        envelope::Method::Get => client.get(url),
        envelope::Method::Post => client
            .post(url)
            .header("Content-Type", req.content_type())
            .body(req.body.clone()),
    };
    let r = builder.send().await.expect("send");
    let status = r.status().as_u16();
    (status, r.bytes().await.expect("body").to_vec())
}

/// Builds `req` with `soushou` (timestamp `ts`), sends it and decodes the answer.
pub async fn call_at<R: GatewayRequest>(
    cfg: &Config,
    req: &R,
    ts: u64,
) -> Result<R::Response, soushou::Error> {
    let http_req = envelope::build(cfg, req, ts).expect("build request");
    let (status, body) = send_raw(&http_req, &cfg.gateway_url).await;
    envelope::decode_response::<R>(cfg, &http_req, status, &body)
}

/// [`call_at`] with a millisecond timestamp (the SDK's default).
pub async fn call<R: GatewayRequest>(cfg: &Config, req: &R) -> Result<R::Response, soushou::Error> {
    call_at(cfg, req, now_ms()).await
}

/// The gateway's result code of a failed call.
pub fn rejected<T: std::fmt::Debug>(r: Result<T, soushou::Error>) -> (String, String) {
    match r {
        Err(soushou::Error::Gateway { code, info }) => (code.code().to_owned(), info),
        other => panic!("expected a gateway rejection, got {other:?}"),
    }
}

/// POSTs a hand-made JSON body to `iface`, signed (unless `sign` is given) and
/// encrypted as asked; decodes the answer as `M`.
pub async fn post_raw<M: Message>(
    sb: &Sandbox,
    iface: &str,
    busi_code: &str,
    body: &Value,
    encrypt: bool,
    sign: Option<&str>,
) -> M {
    let key = MerchantKey::new(KEY);
    let plain = serde_json::to_vec_pretty(body).unwrap();
    let signature = sign
        .map(str::to_owned)
        .unwrap_or_else(|| soushou::sign::sign(&plain, &key, now_secs()));
    let mut query = vec![
        ("sign", signature),
        ("_type", "json".into()),
        ("busiCode", busi_code.into()),
    ];
    if encrypt {
        query.push(("encrypt", "3DES".into()));
    }
    let sent = if encrypt {
        soushou::tdes::encrypt(&plain, &key).into_bytes()
    } else {
        plain
    };
    let r = http()
        .post(format!("{}{iface}", sb.gateway()))
        .query(&query)
        .header("Content-Type", "application/json;charset=UTF-8")
        .body(sent)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let bytes = r.bytes().await.unwrap();
    let plain = if encrypt && soushou::codec::sniff(&bytes).is_none() {
        soushou::tdes::decrypt(&bytes, &key).expect("decrypt answer")
    } else {
        bytes.to_vec()
    };
    soushou::codec::decode::<M>(&plain).expect("decode answer")
}

pub fn goods() -> Vec<GoodsItem> {
    vec![GoodsItem {
        id: "SKU-1".into(),
        name: "Green tea".into(),
        class: "Drinks".into(),
        price: Fen::from_fen(200),
        subject: "Green tea 500ml".into(),
        quantity: 5,
        show_url: Some("http://127.0.0.1/tea".into()),
    }]
}

fn common(cfg: &Config) -> Common {
    Common {
        merchant_para: Some("MTExMTEx".into()),
        ..cfg.common()
    }
}

pub fn pre_order(cfg: &Config, charge_code: &str, fen: u64) -> PreOrderRequest {
    PreOrderRequest {
        common: common(cfg),
        amt: Fen::from_fen(fen),
        channel_type: ChannelType::Auto,
        dynamic_id_type: DynamicIdType::Barcode,
        dynamic_id: "130730865806264036".into(),
        charge_code: charge_code.into(),
        pay_subject: "SOUSHOU product 2".into(),
        goods_detail: goods(),
    }
}

pub fn order(cfg: &Config, charge_code: &str, fen: u64, nodify_url: Option<&str>) -> OrderRequest {
    OrderRequest {
        common: common(cfg),
        amt: Fen::from_fen(fen),
        channel_type: ChannelType::WeChat,
        trade_type: Some(TradeType::Native),
        sub_appid: None,
        sub_openid: None,
        charge_code: charge_code.into(),
        nodify_url: nodify_url.map(Into::into),
        pay_subject: "SOUSHOU product 1".into(),
        goods_detail: goods(),
    }
}

pub fn jsapi_order(cfg: &Config, charge_code: &str, fen: u64) -> OrderRequest {
    OrderRequest {
        trade_type: Some(TradeType::Jsapi),
        sub_appid: Some("wxb1c959c78e070e58".into()),
        sub_openid: Some("oa58kwTYbuSGryFQKk8SOu-VMi-M".into()),
        ..order(cfg, charge_code, fen, None)
    }
}

pub fn creat_order(cfg: &Config, charge_code: &str, fen: u64) -> CreatOrderRequest {
    CreatOrderRequest {
        common: common(cfg),
        amt: Fen::from_fen(fen),
        channel_type: ChannelType::Alipay,
        time_expire: Some(120),
        buyer_logon_id: Some("buyer@example.com".into()),
        buyer_id: None,
        charge_code: charge_code.into(),
        nodify_url: None,
        pay_subject: "SOUSHOU product".into(),
        goods_detail: goods(),
    }
}

pub fn wap_order(
    cfg: &Config,
    charge_code: &str,
    fen: u64,
    return_url: Option<&str>,
) -> WapOrderRequest {
    WapOrderRequest {
        common: common(cfg),
        amt: Fen::from_fen(fen),
        channel_type: ChannelType::WeChat,
        time_expire: Some(300),
        charge_code: charge_code.into(),
        scene_info: SceneInfo::Wap {
            wap_url: "http://127.0.0.1/shop".into(),
            wap_name: "Test shop".into(),
        },
        nodify_url: None,
        return_url: return_url.map(Into::into),
        spbill_create_ip: "127.0.0.1".into(),
        pay_subject: "SOUSHOU product 1".into(),
        goods_detail: goods(),
    }
}

pub fn refund(
    cfg: &Config,
    charge_code: &str,
    fen: u64,
    out_refund_no: Option<&str>,
) -> RefundRequest {
    RefundRequest {
        busi_id: cfg.busi_id.clone(),
        oper_id: "oper01".into(),
        dev_id: "dev01".into(),
        charge_refund_fee: Fen::from_fen(fen),
        refund_subject: "Refund".into(),
        charge_code: charge_code.into(),
        charge_down_code: None,
        out_refund_no: out_refund_no.map(Into::into),
    }
}

/// `query` for `code`, read as `ser_type` says.
pub fn query_req(code: &str, ser_type: SerType) -> QueryRequest {
    QueryRequest {
        code: code.into(),
        ser_type,
    }
}

/// `query` by the merchant's `CHARGE_CODE`, which must succeed.
pub async fn query_by_code(cfg: &Config, code: &str) -> QueryResp {
    call(cfg, &query_req(code, SerType::Merchant))
        .await
        .expect("query")
}

/// `refundQuery` for `code`, read as `ser_type` says.
pub fn refund_query_req(code: &str, ser_type: SerType) -> RefundQueryRequest {
    RefundQueryRequest {
        code: code.into(),
        ser_type,
    }
}

/// `cancelTrade` of `charge_code` in `mode`.
pub fn cancel_req(charge_code: &str, mode: CancelMode) -> CancelTradeRequest {
    CancelTradeRequest {
        charge_code: charge_code.into(),
        mode,
    }
}

/// Polls `f` until it returns `Some`, for up to 20 s (generous: this is not a timing assertion).
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One notification as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Received {
    pub query: String,
    pub body: Vec<u8>,
}

/// A tiny merchant endpoint: answers `fail_first` requests with 500, then 200 (or always
/// `status_forever` when set), recording everything.
#[derive(Clone, Default)]
pub struct Receiver {
    pub got: Arc<Mutex<Vec<Received>>>,
    pub fail_first: Arc<Mutex<u32>>,
    pub always: Arc<Mutex<Option<u16>>>,
}

impl Receiver {
    /// Starts listening; returns the receiver and its URL (`http://127.0.0.1:PORT/notify`).
    pub async fn start() -> (Receiver, String) {
        let rx = Receiver::default();
        let app = axum::Router::new()
            .route("/notify", axum::routing::post(receive))
            .with_state(rx.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/notify", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (rx, url)
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits for the first notification.
    pub async fn first(&self) -> Received {
        eventually("notification", || async {
            self.received().first().cloned()
        })
        .await
    }

    /// Waits until exactly `n` notifications arrived (panics naming `what`
    /// if that never happens); returns them.
    pub async fn wait_for(&self, n: usize, what: &str) -> Vec<Received> {
        eventually(what, || async {
            let r = self.received();
            (r.len() == n).then_some(r)
        })
        .await
    }
}

async fn receive(State(rx): State<Receiver>, RawQuery(q): RawQuery, body: Bytes) -> StatusCode {
    rx.got.lock().unwrap().push(Received {
        query: q.unwrap_or_default(),
        body: body.to_vec(),
    });
    if let Some(s) = *rx.always.lock().unwrap() {
        return StatusCode::from_u16(s).unwrap();
    }
    let mut left = rx.fail_first.lock().unwrap();
    if *left > 0 {
        *left -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}
