//! Structured JSON logs: one line per request (request id, route, status,
//! charge code, outcome, gateway calls, D1 round trips and their ms) plus
//! event lines for decisions that must be explainable later (a rejected
//! notification, a stale state).
//!
//! Nothing secret is ever passed in: values come from typed fields chosen
//! here, link tokens are replaced by their link id, and configuration
//! secrets are wrapped in masking types before they reach any code path.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde_json::{json, Map, Value};

/// Current time, unix milliseconds.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// Current time, unix seconds.
pub fn now_secs() -> u64 {
    now_ms() / 1000
}

/// `n` random bytes as lowercase hex (crypto-strength, from `crypto.getRandomValues`).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // getrandom's wasm_js backend only fails when no crypto object exists,
    // which the Workers runtime always provides.
    getrandom::fill(&mut buf).expect("crypto.getRandomValues is available in Workers");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Severity of an event line.
#[derive(Clone, Copy, Debug)]
pub enum Level {
    /// Expected, worth recording.
    Info,
    /// Unexpected: someone should look (amount mismatch, stale state, failed reconciliation).
    Warn,
    /// The Worker stopped trying: a person must act (a shopper's duplicate
    /// payment the gateway would not refund).
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// D1 round trips of one request (or background task) and their total time.
#[derive(Debug, Default)]
pub struct Tally {
    calls: Cell<u64>,
    ms: Cell<u64>,
}

impl Tally {
    /// Round trips so far.
    pub fn calls(&self) -> u64 {
        self.calls.get()
    }

    /// Their total wall time, ms.
    pub fn ms(&self) -> u64 {
        self.ms.get()
    }

    /// Counts one round trip that took `ms` (`db::Db` calls this).
    pub fn add(&self, ms: u64) {
        self.calls.set(self.calls.get() + 1);
        self.ms.set(self.ms.get() + ms);
    }
}

/// The log record of one request, filled in as the request proceeds.
pub struct RequestLog {
    request_id: String,
    fields: RefCell<Map<String, Value>>,
    gateway: RefCell<Vec<Value>>,
    d1: Rc<Tally>,
    started_ms: u64,
}

impl RequestLog {
    /// Starts the record of a request (or of a cron run).
    pub fn new(request_id: String, kind: &str, method: &str, path: &str) -> Self {
        let mut fields = Map::new();
        fields.insert("kind".into(), json!(kind));
        fields.insert("method".into(), json!(method));
        fields.insert("path".into(), json!(path));
        RequestLog {
            request_id,
            fields: RefCell::new(fields),
            gateway: RefCell::new(Vec::new()),
            d1: Rc::default(),
            started_ms: now_ms(),
        }
    }

    /// The request id (also sent back as `X-Request-Id`).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Sets a field of the request line (e.g. `charge_code`, `outcome`, `method`).
    pub fn set(&self, key: &str, value: impl Into<Value>) {
        self.fields
            .borrow_mut()
            .insert(key.to_owned(), value.into());
    }

    /// Records one gateway call: interface, HTTP status or fault, duration.
    pub fn gateway_call(&self, interface: &str, result: &str, ms: u64) {
        self.gateway
            .borrow_mut()
            .push(json!({"interface": interface, "result": result, "ms": ms}));
    }

    /// Where the request's D1 round trips are counted (by `db::Db`).
    pub fn d1_tally(&self) -> Rc<Tally> {
        Rc::clone(&self.d1)
    }

    /// Emits an event line tied to this request, e.g. a stale notification
    /// (`warn`) or a superseded attempt being closed (`info`).
    pub fn event(&self, level: Level, event: &str, details: Value) {
        let line = json!({
            "level": level.as_str(),
            "ts": now_ms(),
            "request_id": self.request_id,
            "event": event,
            "details": details,
        });
        match level {
            Level::Info => worker::console_log!("{}", line),
            Level::Warn => worker::console_warn!("{}", line),
            Level::Error => worker::console_error!("{}", line),
        }
    }

    /// Emits the request line.
    pub fn finish(&self, status: u16, code: Option<&str>) {
        let mut line = self.fields.borrow().clone();
        let level = match status {
            500.. => "error",
            400..=499 => "warn",
            _ => "info",
        };
        line.insert("level".into(), json!(level));
        line.insert("ts".into(), json!(now_ms()));
        line.insert("request_id".into(), json!(self.request_id));
        line.insert("status".into(), json!(status));
        if let Some(code) = code {
            line.insert("error_code".into(), json!(code));
        }
        line.insert("ms".into(), json!(now_ms().saturating_sub(self.started_ms)));
        let gateway = self.gateway.borrow();
        if !gateway.is_empty() {
            line.insert("gateway".into(), Value::Array(gateway.clone()));
        }
        line.insert(
            "d1".into(),
            json!({"calls": self.d1.calls(), "ms": self.d1.ms()}),
        );
        let text = Value::Object(line).to_string();
        match level {
            "error" => worker::console_error!("{}", text),
            "warn" => worker::console_warn!("{}", text),
            _ => worker::console_log!("{}", text),
        }
    }
}

/// The path as it may be logged: link tokens are bearer capabilities, so
/// `/c/{token}` and `/api/checkout/{token}` log the link id instead.
pub fn loggable_path(path: &str) -> String {
    for prefix in ["/c/", "/api/checkout/"] {
        if let Some(token) = path.strip_prefix(prefix) {
            return format!("{prefix}link:{}", checkout::link::link_id(token));
        }
    }
    path.to_owned()
}
