//! Helpers of the end-to-end tests: the real Worker under `wrangler dev`
//! (local workerd + local D1) and the real sandbox gateway, both on
//! 127.0.0.1, driven over HTTP.
//!
//! `cargo xtask test` starts both and passes their coordinates in `E2E_*`
//! environment variables. Without them every test panics with a clear
//! message: an end-to-end suite that silently passes without the system
//! under test would prove nothing.

/// The chaos run's seeded generator (SplitMix64), for the other seeded
/// end-to-end runs (the statement test).
#[path = "chaos/rng.rs"]
pub mod rng;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use checkout::api::{MerchantOrder, OrderStatus};
use checkout::link::{link_id, LinkKeys};
use checkout::oauth::{self, ShopperId, Wallet};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{json, Value};
use soushou::envelope::{self, Notification};
use soushou::model::PayNotify;
use soushou::types::{ChannelType, OrderState};
use soushou::{Fen, MerchantKey};

/// A phone in WeChat (JSAPI needs it).
pub const UA_WECHAT: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN";
/// A phone in Alipay (the tradePay bridge needs it).
pub const UA_ALIPAY: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 AlipayClient/10.5.36.6000 Language/zh-Hans";
/// A phone's system browser (WAP).
pub const UA_MOBILE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
/// A desktop browser (QR).
pub const UA_DESKTOP: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// Where everything runs, from the `E2E_*` variables `cargo xtask test` sets.
#[derive(Clone, Debug)]
pub struct E2e {
    /// The Worker's origin, e.g. `http://127.0.0.1:8787`.
    pub worker: String,
    /// The sandbox's origin.
    pub sandbox: String,
    /// Bearer token of the merchant API.
    pub admin_token: String,
    /// HMAC key of checkout links (to mint links the API cannot, e.g. expired ones).
    pub link_secret: String,
    /// The merchant key the Worker and the sandbox share.
    pub key: MerchantKey,
    /// `busiCode`.
    pub busi_code: String,
    /// `BUSI_ID`.
    pub busi_id: String,
    http: Client,
}

fn required(name: &str) -> String {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{name} is not set: the end-to-end tests need the running Worker and sandbox; \
             run them with `cargo xtask test` (it sets E2E_WORKER_URL, E2E_SANDBOX_URL, \
             E2E_ADMIN_TOKEN, E2E_LINK_SECRET, E2E_MERCHANT_KEY, E2E_BUSI_CODE, E2E_BUSI_ID)"
        ),
    }
}

/// `href` of the element with `id` in a sandbox page (HTML-escaped `&amp;`).
pub fn sandbox_href(html: &str, id: &str) -> String {
    let at = html.find(&format!("id=\"{id}\"")).expect("element");
    let start = html[at..].find("href=\"").expect("href") + at + 6;
    let end = html[start..].find('"').expect("end") + start;
    html[start..end].replace("&amp;", "&")
}

/// Unix time in milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as u64
}

impl E2e {
    /// Reads the environment; panics with instructions when it is missing.
    pub fn from_env() -> E2e {
        let trim = |s: String| s.trim_end_matches('/').to_owned();
        E2e {
            worker: trim(required("E2E_WORKER_URL")),
            sandbox: trim(required("E2E_SANDBOX_URL")),
            admin_token: required("E2E_ADMIN_TOKEN"),
            link_secret: required("E2E_LINK_SECRET"),
            key: MerchantKey::new(required("E2E_MERCHANT_KEY")),
            busi_code: required("E2E_BUSI_CODE"),
            busi_id: required("E2E_BUSI_ID"),
            http: Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("HTTP client"),
        }
    }

    /// The HTTP client (no proxy use: every URL is 127.0.0.1).
    pub fn http(&self) -> &Client {
        &self.http
    }

    /// Sends a request; answers its status and its body as JSON (a body
    /// that is not JSON comes back as a JSON string). A transport error is
    /// returned, not a panic, for drivers that must record it and go on.
    pub fn try_send(req: RequestBuilder) -> Result<(u16, Value), reqwest::Error> {
        let resp = req.send()?;
        let status = resp.status().as_u16();
        let text = resp.text()?;
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, value))
    }

    /// [`E2e::try_send`], a transport error being a panic.
    pub fn send(req: RequestBuilder) -> (u16, Value) {
        Self::try_send(req).expect("worker reachable")
    }

    /// `GET` on the Worker.
    pub fn get(&self, path: &str) -> (u16, Value) {
        Self::send(self.http.get(format!("{}{path}", self.worker)))
    }

    /// A page `GET` on the Worker as a phone's browser sends it.
    pub fn browse(&self, path: &str) -> Response {
        self.http
            .get(format!("{}{path}", self.worker))
            .header("User-Agent", UA_MOBILE)
            .send()
            .expect("worker reachable")
    }

    /// A shopper id the sandbox's WeChat (`"wechat"`, for `E2E_WECHAT_APPID`)
    /// or Alipay (`"alipay"`, for `E2E_ALIPAY_APP_ID`) issued, as a
    /// merchant's own sign-in would have obtained it: the sandbox's
    /// `order` / `creatOrder` refuse ids it never issued.
    pub fn wallet_shopper(&self, wallet: &str) -> String {
        let app = required(match wallet {
            "wechat" => "E2E_WECHAT_APPID",
            _ => "E2E_ALIPAY_APP_ID",
        });
        let (status, body) = Self::send(self.http.post(format!(
            "{}/sandbox/oauth/{wallet}/shoppers?app_id={app}",
            self.sandbox
        )));
        assert_eq!(status, 200, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// A whole sign-in with `wallet` on the link `token`, made as the
    /// shopper's browser makes it against the sandbox's simulated wallet
    /// (redirects by hand, the Worker's `signin` cookie carried to the
    /// callback, a client IP of its own so `START_LIMIT` counts it alone):
    /// the signed id the Worker hands back (`s2.…`) and the id itself, read
    /// with the link secret. For pays from inside a wallet whose sign-in is
    /// configured, where an unsigned id is refused (issue 24, defect 3).
    pub fn signed_in(&self, token: &str, wallet: Wallet) -> (String, String) {
        let manual = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        let n = now_ms() ^ (u64::from(std::process::id()) << 24);
        let ip = format!("10.{}.{}.{}", (n >> 16) % 256, (n >> 8) % 256, n % 256);
        let ua = match wallet {
            Wallet::Wechat => UA_WECHAT,
            Wallet::Alipay => UA_ALIPAY,
        };
        let hop = |url: &str, cookie: &str| {
            let resp = manual
                .get(url)
                .header("User-Agent", ua)
                .header("CF-Connecting-IP", &ip)
                .header("Cookie", cookie)
                .send()
                .expect("reachable");
            let header = |name: &str| {
                resp.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned()
            };
            let (location, cookie) = (header("location"), header("set-cookie"));
            let status = resp.status().as_u16();
            (status, location, cookie, resp.text().unwrap_or_default())
        };
        let (status, authorize, set, body) = hop(&format!("{}/c/{token}", self.worker), "");
        assert_eq!(status, 302, "sign-in first: {body}");
        let cookie = set.split(';').next().unwrap_or_default().to_owned();
        let (status, _, _, consent) = hop(&authorize, "");
        assert_eq!(status, 200, "{consent}");
        let allow = format!("{}{}", self.sandbox, sandbox_href(&consent, "allow"));
        let (status, callback, _, body) = hop(&allow, "");
        assert_eq!(status, 303, "{body}");
        let (status, back, _, body) = hop(&callback, &cookie);
        assert_eq!(status, 302, "{body}");
        let back = reqwest::Url::parse(&format!("{}{back}", self.worker)).expect("URL");
        let signed = back
            .query_pairs()
            .find(|(k, _)| k == wallet.id_param())
            .map(|(_, v)| v.into_owned())
            .unwrap_or_else(|| panic!("no signed id in {back}"));
        let keys = LinkKeys::from_config(None, Some(&self.link_secret)).expect("link secret");
        let read = oauth::read_id(&keys, &signed, wallet, &link_id(token), now_ms() / 1000);
        match read {
            Ok(ShopperId::Verified(id)) => (signed, id),
            other => panic!("the Worker's id does not read as signed: {other:?}"),
        }
    }

    /// `POST` JSON to the Worker with a User-Agent.
    pub fn post(&self, path: &str, ua: &str, body: &Value) -> (u16, Value) {
        Self::send(
            self.http
                .post(format!("{}{path}", self.worker))
                .header("User-Agent", ua)
                .json(body),
        )
    }

    /// A merchant API request with the bearer token, not yet sent (to add
    /// headers such as `Idempotency-Key`).
    pub fn admin_request(&self, method: reqwest::Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.worker))
            .bearer_auth(&self.admin_token)
    }

    /// A merchant API request with `credential` (an API key) as the bearer.
    pub fn key_request(
        &self,
        credential: &str,
        method: reqwest::Method,
        path: &str,
    ) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.worker))
            .bearer_auth(credential)
    }

    /// A new API key of `role` (created with the bootstrap token); the key.
    pub fn key_of(&self, role: &str) -> String {
        let (status, body) = self.admin(
            reqwest::Method::POST,
            "/v1/keys",
            Some(&json!({"name": format!("e2e {role} {}", now_ms()), "role": role})),
        );
        assert_eq!(status, 201, "create a {role} key: {body}");
        body["key"].as_str().expect("key").to_owned()
    }

    /// A merchant API call with the bearer token.
    pub fn admin(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self.admin_request(method, path);
        if let Some(b) = body {
            req = req.json(b);
        }
        Self::send(req)
    }

    /// A merchant API `POST` with the bearer token and, when given, an
    /// `Idempotency-Key`; the raw response, for tests of headers and exact bytes.
    pub fn merchant_post(&self, path: &str, body: &Value, key: Option<&str>) -> Response {
        let mut req = self
            .http
            .post(format!("{}{path}", self.worker))
            .bearer_auth(&self.admin_token)
            .json(body);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        req.send().expect("worker reachable")
    }

    /// Creates a checkout link; returns its token.
    pub fn create_link(&self, amount: &str, subject: &str) -> String {
        let (status, body) = self.admin(
            reqwest::Method::POST,
            "/v1/links",
            Some(&json!({"amount": amount, "subject": subject, "ref": "e2e"})),
        );
        assert_eq!(status, 200, "create link: {body}");
        body["token"].as_str().expect("token").to_owned()
    }

    /// A raw `POST /api/pay` from a browser with `ua`, for tests that need
    /// its headers or extra request headers.
    pub fn pay_request(&self, ua: &str) -> RequestBuilder {
        self.http
            .post(format!("{}/api/pay", self.worker))
            .header("User-Agent", ua)
    }

    /// `POST /api/pay`.
    pub fn pay(&self, token: &str, method: &str, ua: &str, extra: Value) -> (u16, Value) {
        let mut body = json!({"token": token, "method": method});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        self.post("/api/pay", ua, &body)
    }

    /// `POST /api/pay` that must succeed: returns the answer and the new
    /// attempt's charge code.
    pub fn pay_ok(&self, token: &str, method: &str, ua: &str, extra: Value) -> (Value, String) {
        let (status, body) = self.pay(token, method, ua, extra);
        assert_eq!(status, 200, "pay: {body}");
        let code = body["charge_code"]
            .as_str()
            .expect("charge_code")
            .to_owned();
        (body, code)
    }

    /// A fresh link paid by QR: returns (token, charge code) of a pending attempt.
    pub fn pending_attempt(&self, amount: &str) -> (String, String) {
        let token = self.create_link(amount, "e2e attempt");
        let (_, code) = self.pay_ok(&token, "native", UA_DESKTOP, json!({}));
        (token, code)
    }

    /// The shopper's view of an order.
    pub fn order_state(&self, code: &str) -> String {
        let (status, body) = self.get(&format!("/api/orders/{code}"));
        assert_eq!(status, 200, "order {code}: {body}");
        body["state"].as_str().expect("state").to_owned()
    }

    /// The merchant's view of an order (history, notifications, refunds, live query).
    pub fn merchant_order(&self, code: &str) -> MerchantOrder {
        self.merchant_view(code, "")
    }

    /// The merchant's stored view of an order, without the live gateway query.
    pub fn merchant_order_stored(&self, code: &str) -> MerchantOrder {
        self.merchant_view(code, "?live=false")
    }

    /// `GET /v1/orders/{code}{query}`, which must answer 200 with the
    /// documented `checkout::api::MerchantOrder`.
    fn merchant_view(&self, code: &str, query: &str) -> MerchantOrder {
        let (status, body) = self.admin(
            reqwest::Method::GET,
            &format!("/v1/orders/{code}{query}"),
            None,
        );
        assert_eq!(status, 200, "merchant order {code}: {body}");
        serde_json::from_value(body.clone()).unwrap_or_else(|e| {
            panic!("merchant order {code} is not a MerchantOrder ({e}): {body}")
        })
    }

    /// Fires the Worker's scheduled handler (the cron sweep) through
    /// wrangler dev's `--test-scheduled` endpoint; it must answer 2xx.
    pub fn run_cron(&self) {
        let resp = self
            .http()
            .get(format!("{}/__scheduled?cron=*+*+*+*+*", self.worker))
            .send()
            .expect("worker reachable");
        assert!(resp.status().is_success(), "cron run: {}", resp.status());
    }

    /// Polls until `check` holds (up to 60 s, for asynchronous deliveries); panics naming `what`.
    pub fn eventually(&self, what: &str, mut check: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if check() {
                return;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        panic!("never happened: {what}");
    }

    /// Sends a request to the sandbox's control API, which must succeed;
    /// `what` names it in the panic.
    fn sandbox_control(&self, req: RequestBuilder, what: &str) {
        let resp = req.send().expect("sandbox reachable");
        assert!(resp.status().is_success(), "{what}: {}", resp.status());
    }

    /// The sandbox shopper pays an order.
    pub fn sandbox_pay(&self, code: &str) {
        self.sandbox_control(
            self.http
                .post(format!("{}/sandbox/pay/{code}", self.sandbox)),
            &format!("sandbox pay {code}"),
        );
    }

    /// The sandbox shopper pays an order; then waits until the shopper's
    /// view says paid (panics naming `what` if it never does).
    pub fn sandbox_pay_and_wait(&self, code: &str, what: &str) {
        self.sandbox_pay(code);
        self.eventually(what, || self.is_paid(code));
    }

    /// Whether an order is paid: a link attempt as its shopper polls it
    /// (the poll may query the gateway), a QR or POS order, which the
    /// shopper route does not answer (issue 24), as the merchant stores it.
    fn is_paid(&self, code: &str) -> bool {
        let (status, body) = self.get(&format!("/api/orders/{code}"));
        match status {
            200 => body["state"] == "paid",
            404 => self.merchant_order_stored(code).order.state == OrderStatus::Paid,
            _ => panic!("order {code}: {status} {body}"),
        }
    }

    /// One of the sandbox's logs (`requests`, `notifications`) as JSON.
    fn sandbox_log(&self, log: &str) -> Vec<Value> {
        self.http
            .get(format!("{}/sandbox/{log}", self.sandbox))
            .send()
            .expect("sandbox reachable")
            .json()
            .unwrap_or_else(|e| panic!("{log} JSON: {e}"))
    }

    /// The sandbox's log of gateway requests it received.
    pub fn sandbox_requests(&self) -> Vec<Value> {
        self.sandbox_log("requests")
    }

    /// The sandbox's log of the notifications it delivered (or tried to).
    pub fn sandbox_notifications(&self) -> Vec<Value> {
        self.sandbox_log("notifications")
    }

    /// The sandbox's requests concerning one charge code.
    pub fn requests_for(&self, code: &str) -> Vec<Value> {
        self.sandbox_requests()
            .into_iter()
            .filter(|r| r["charge_code"] == code)
            .collect()
    }

    /// The types of the merchant's events about `code`, oldest first.
    pub fn heard(&self, code: &str) -> Vec<String> {
        self.all_events()
            .into_iter()
            .filter(|v| v["payload"]["data"]["charge_code"] == code)
            .filter_map(|v| Some(v["type"].as_str()?.to_owned()))
            .collect()
    }

    /// Every event of the events API, oldest first (all pages).
    pub fn all_events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let path = if after.is_empty() {
                "/v1/events?limit=200".to_owned()
            } else {
                format!("/v1/events?limit=200&after={after}")
            };
            let (status, page) = self.admin(reqwest::Method::GET, &path, None);
            assert_eq!(status, 200, "{page}");
            out.extend(page["data"].as_array().expect("data").iter().cloned());
            if page["has_more"] != true {
                return out;
            }
            after = match &page["next_after"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        }
    }

    /// Sets a fault on a sandbox interface (`order`, `query`, `notify`, ...);
    /// the guard clears all faults when dropped, even when the test fails.
    pub fn fault(&self, interface: &str, mode: &str) -> FaultGuard {
        self.sandbox_control(
            self.http
                .put(format!("{}/sandbox/faults/{interface}", self.sandbox))
                .json(&json!({"mode": mode})),
            &format!("set fault {interface}={mode}"),
        );
        FaultGuard {
            sandbox: self.sandbox.clone(),
            http: self.http.clone(),
        }
    }

    /// Sets a fault for the next `times` requests of a sandbox interface
    /// only; the guard clears all faults when dropped.
    pub fn fault_times(&self, interface: &str, mode: &str, times: u32) -> FaultGuard {
        self.sandbox_control(
            self.http
                .put(format!("{}/sandbox/faults/{interface}", self.sandbox))
                .json(&json!({"mode": mode, "times": times})),
            &format!("set fault {interface}={mode} x{times}"),
        );
        FaultGuard {
            sandbox: self.sandbox.clone(),
            http: self.http.clone(),
        }
    }

    /// Changes sandbox settings (`pre_order_pending`, `revoke_delay_ms`, ...);
    /// the guard puts the defaults back when dropped, even when the test fails.
    pub fn sandbox_settings(&self, settings: Value) -> SettingsGuard {
        self.sandbox_control(
            self.http
                .put(format!("{}/sandbox/settings", self.sandbox))
                .json(&settings),
            &format!("sandbox settings {settings}"),
        );
        SettingsGuard {
            sandbox: self.sandbox.clone(),
            http: self.http.clone(),
        }
    }

    /// The sandbox ledger's entry of one order: what the gateway holds
    /// (`state`, `captured_fen`, `returned_fen`, `refunded_fen`, `net_fen`, refunds).
    pub fn ledger(&self, code: &str) -> Value {
        let ledger: Value = self
            .http
            .get(format!("{}/sandbox/ledger", self.sandbox))
            .send()
            .expect("sandbox reachable")
            .json()
            .expect("ledger JSON");
        ledger["orders"]
            .as_array()
            .expect("ledger orders")
            .iter()
            .find(|o| o["charge_code"] == code)
            .cloned()
            .unwrap_or_else(|| panic!("{code} is not in the sandbox ledger"))
    }

    /// A valid `PAY_NODIFY` for an attempt, as the gateway would send it.
    pub fn pay_notify(&self, code: &str, amount_fen: u64, state: OrderState) -> PayNotify {
        PayNotify {
            busi_id: self.busi_id.clone(),
            oper_id: "checkout".into(),
            dev_id: "edge".into(),
            amt: Fen::from_fen(amount_fen),
            channel_type: ChannelType::WeChat,
            charge_code: code.to_owned(),
            charge_down_code: format!("D{}", now_ms()),
            charge_third_code: Some("4200000000000000000000000000".into()),
            pay_subject: "e2e attempt".into(),
            state,
            ..Default::default()
        }
    }

    /// Builds a signed notification with soushou (the real wire format).
    /// `query` is e.g. `_type=json&encrypt=3DES`; `ts` is seconds or ms.
    pub fn notification(
        &self,
        notify: &PayNotify,
        query: &str,
        key: &MerchantKey,
        ts: u64,
    ) -> Notification {
        let url = format!("{}/notify?{query}", self.worker);
        envelope::build_notification(&url, notify, key, ts).expect("build notification")
    }

    /// A notification signed now with the merchant's own key, as the gateway would send it.
    pub fn signed_now(&self, notify: &PayNotify, query: &str) -> Notification {
        self.notification(notify, query, &self.key, now_ms())
    }

    /// POSTs a notification to the Worker; returns (status, body text).
    pub fn send_notification(&self, n: &Notification) -> (u16, String) {
        send_notification(&self.http, n)
    }
}

/// POSTs a notification with the given client (usable from threads).
///
/// Like the gateway, it resends when the connection fails before an answer
/// (a burst through wrangler dev's local proxy can reset one); an HTTP
/// answer of any status is returned as is.
pub fn send_notification(http: &Client, n: &Notification) -> (u16, String) {
    let mut last_error = None;
    for _ in 0..3 {
        match http
            .post(&n.url)
            .header("Content-Type", n.content_type)
            .body(n.body.clone())
            .send()
        {
            Ok(resp) => {
                let status = resp.status().as_u16();
                return (status, resp.text().unwrap_or_default());
            }
            Err(e) => last_error = Some(e),
        }
    }
    panic!("worker unreachable: {last_error:?}");
}

/// Clears the sandbox's faults on drop.
pub struct FaultGuard {
    sandbox: String,
    http: Client,
}

impl Drop for FaultGuard {
    fn drop(&mut self) {
        let _ = self
            .http
            .delete(format!("{}/sandbox/faults", self.sandbox))
            .send();
    }
}

/// Restores the sandbox's default settings on drop.
pub struct SettingsGuard {
    sandbox: String,
    http: Client,
}

impl Drop for SettingsGuard {
    fn drop(&mut self) {
        let _ = self
            .http
            .put(format!("{}/sandbox/settings", self.sandbox))
            .json(&json!({"pre_order_pending": false, "revoke_delay_ms": 0}))
            .send();
    }
}

/// A response header as text ("" when absent or not text).
pub fn header(resp: &Response, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A 200 answer read as its documented `checkout::api` type (a shape
/// that does not fit fails the test, naming the body).
pub fn typed<T: serde::de::DeserializeOwned>(body: &Value) -> T {
    serde_json::from_value(body.clone())
        .unwrap_or_else(|e| panic!("not a {} ({e}): {body}", std::any::type_name::<T>()))
}

/// The state history entries of a merchant order view.
pub fn history(order: &MerchantOrder) -> Vec<(String, String, String)> {
    order
        .history
        .iter()
        .map(|e| {
            (
                e.from_state.as_str().to_owned(),
                e.to_state.as_str().to_owned(),
                e.source.as_str().to_owned(),
            )
        })
        .collect()
}
