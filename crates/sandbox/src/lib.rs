//! `soushou-sandbox`: a faithful local SOUSHOU gateway for development, demos and tests.
//!
//! Every wire rule (signing, 3DES, JSON/XML, models) comes from the `soushou` crate;
//! this crate adds what a gateway *is*: merchants, orders and refunds with the
//! appendix-4 state machine, a simulated shopper, asynchronous notifications with
//! the documented retry schedule, fault injection, and a request log.
//!
//! Start it in-process with [`Sandbox::start`], or run the binary (see README.md).

pub mod clock;
pub mod config;
pub mod control;
pub mod error;
pub mod faults;
pub mod gateway;
pub mod html;
pub mod ids;
pub mod index;
pub mod log;
pub mod notifier;
pub mod oauth;
pub mod shopper;
pub mod state;
pub mod wallet;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use config::{Cli, Config, Merchant};
pub use error::Error;
pub use notifier::NotifyMode;

use crate::faults::{FaultMode, FaultTarget, Faults};
use crate::log::{History, NotificationRecord, RequestRecord};
use crate::state::Store;

/// Settings that can change at run time through `PUT /sandbox/settings`.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Settings {
    /// preOrder leaves orders pending instead of paying them at once.
    pub pre_order_pending: bool,
    /// Pause between notification attempts, in milliseconds.
    pub notify_interval_ms: u64,
    /// Maximum attempts per notification.
    pub notify_attempts: u32,
    /// How long a real-time revocation holds its request before deciding, and after how
    /// long an applied (`opType=ACO`) revocation completes; 0: at once / never (state 3 stays).
    pub revoke_delay_ms: u64,
    /// Whether payments are notified automatically or only on `POST /sandbox/notify/{code}`.
    pub notify_mode: NotifyMode,
    /// How long a pending preOrder waits for the shopper before it is revoked (document: 80 s).
    pub pre_order_auto_revoke_ms: u64,
}

/// Shared state of a running sandbox.
pub struct App {
    merchants: HashMap<String, Merchant>,
    public_url: String,
    store: Mutex<Store>,
    faults: Mutex<Faults>,
    requests: Mutex<History<RequestRecord>>,
    notifications: Mutex<History<NotificationRecord>>,
    settings: Mutex<Settings>,
    timeout_hold: Duration,
    log_requests: bool,
    http: reqwest::Client,
    /// The WeChat "API key" the sandbox signs JSAPI parameters with (random per process).
    wechat_key: String,
    /// The appId the sandbox's WeChat answers with.
    wechat_app_id: String,
    /// The simulated wallets' apps and keys.
    oauth: oauth::Providers,
    /// Sign-in codes and the shopper ids they were issued for.
    oauth_store: Mutex<oauth::Store>,
}

/// Locks a mutex, recovering the data if another task panicked while holding it:
/// a sandbox should keep serving rather than poison every later request.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl App {
    fn new(config: &Config, public_url: String) -> Result<App, Error> {
        let mut faults = Faults::default();
        for (target, mode) in &config.faults {
            faults.set(*target, mode.clone(), None)?;
        }
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(App {
            merchants: config
                .merchants
                .iter()
                .map(|m| (m.busi_code.clone(), m.clone()))
                .collect(),
            public_url,
            store: Mutex::new(Store::new(
                100_000_000_000 + u64::from(rand::random::<u16>()) * 1000,
            )),
            faults: Mutex::new(faults),
            requests: Mutex::new(History::new(config.history)),
            notifications: Mutex::new(History::new(config.history)),
            settings: Mutex::new(Settings {
                pre_order_pending: config.pre_order_pending,
                notify_interval_ms: config.notify_interval.as_millis() as u64,
                notify_attempts: config.notify_attempts,
                revoke_delay_ms: config.revoke_delay.as_millis() as u64,
                notify_mode: config.notify_mode,
                pre_order_auto_revoke_ms: config.pre_order_auto_revoke.as_millis() as u64,
            }),
            timeout_hold: config.timeout_hold,
            log_requests: config.log_requests,
            http,
            wechat_key: ids::hex(32),
            wechat_app_id: format!("wx{}", ids::hex(16)),
            oauth: config.oauth.clone(),
            oauth_store: Mutex::new(oauth::Store::default()),
        })
    }

    /// The registered merchant with this `busiCode`.
    pub fn merchant(&self, busi_code: &str) -> Option<&Merchant> {
        self.merchants.get(busi_code)
    }

    /// The fault that applies to one request of `target`, if any (using up one use of a
    /// limited fault: call once per request).
    pub fn take_fault(&self, target: FaultTarget) -> Option<FaultMode> {
        lock(&self.faults).take(target)
    }

    /// Current run-time settings.
    pub fn settings(&self) -> Settings {
        *lock(&self.settings)
    }

    /// Link a shopper opens to pay (or cancel) an order.
    pub fn shopper_url(&self, charge_code: &str) -> String {
        format!(
            "{}/sandbox/shopper/{}",
            self.public_url,
            html::encode_segment(charge_code)
        )
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }

    /// What the start-up log line tells: where to connect, merchants (keys masked), settings.
    fn startup_record(&self, url: &str) -> serde_json::Value {
        let mut merchants: Vec<_> = self
            .merchants
            .values()
            .map(|m| {
                serde_json::json!({
                    "busi_code": m.busi_code,
                    "busi_id": m.busi_id,
                    "key": m.printable_key(),
                })
            })
            .collect();
        merchants.sort_by_key(|m| m["busi_code"].to_string());
        serde_json::json!({
            "url": url,
            "gateway_url": format!("{url}/openGateway/openService/"),
            "public_url": self.public_url,
            "merchants": merchants,
            "settings": self.settings(),
            "faults": lock(&self.faults).snapshot(),
        })
    }

    fn record_request(&self, mut rec: RequestRecord) {
        let mut history = lock(&self.requests);
        rec.id = history.next_id();
        if self.log_requests {
            log::emit("request", &rec);
        }
        history.push(rec);
    }

    fn record_notification(&self, rec: NotificationRecord) {
        if self.log_requests {
            log::emit("notification", &rec);
        }
        lock(&self.notifications).push(rec);
    }
}

/// A running sandbox.
pub struct Sandbox {
    addr: SocketAddr,
    url: String,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Sandbox {
    /// Binds `config.listen` and starts serving in the background.
    pub async fn start(config: Config) -> Result<Sandbox, Error> {
        Sandbox::start_with(config, |_, _| {}).await
    }

    /// Like [`Sandbox::start`], calling `on_bound` with the URL and the start-up record after
    /// binding but before the first request can be served (so start-up lines always come first).
    async fn start_with(
        config: Config,
        on_bound: impl FnOnce(&str, serde_json::Value),
    ) -> Result<Sandbox, Error> {
        let serve_err = |source| Error::Serve {
            addr: config.listen.to_string(),
            source,
        };
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(serve_err)?;
        let addr = listener.local_addr().map_err(serve_err)?;
        let url = format!("http://{addr}");
        let public_url = config.public_url.clone().unwrap_or_else(|| url.clone());
        let app = Arc::new(App::new(&config, public_url)?);
        let router = gateway::routes()
            .merge(control::routes())
            .merge(oauth::routes())
            .with_state(app.clone());
        on_bound(&url, app.startup_record(&url));
        let task = tokio::spawn(async move { axum::serve(listener, router).await });
        Ok(Sandbox { addr, url, task })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The gateway base URL clients use: `http://IP:PORT/openGateway/openService/`.
    pub fn gateway_url(&self) -> String {
        format!("{}/openGateway/openService/", self.url)
    }

    /// Serves until the server fails.
    pub async fn wait(self) -> Result<(), Error> {
        let addr = self.addr.to_string();
        match self.task.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(Error::Serve { addr, source }),
            Err(join) => Err(Error::Serve {
                addr,
                source: std::io::Error::other(join.to_string()),
            }),
        }
    }

    /// Stops serving.
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Runs the sandbox the way the binary does: prints
/// `soushou-sandbox listening on http://IP:PORT` as the first stdout line, then a JSON
/// start-up line, then one JSON line per request; serves until killed.
pub async fn run(config: Config) -> Result<(), Error> {
    let sandbox = Sandbox::start_with(config, |url, startup| {
        use std::io::Write;
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "soushou-sandbox listening on {url}");
            let _ = out.flush();
        }
        log::emit("startup", &startup);
    })
    .await?;
    sandbox.wait().await
}
