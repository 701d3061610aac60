//! Carries out a [`crate::plan::Plan`] against the running Worker and sandbox, and
//! takes snapshots of both sets of books. Every answer is tallied; the
//! checks that can only be made at the moment (a verified notification
//! answered 200, a forged one refused, an idempotent retry answered alike)
//! are made here, the books are compared by [`crate::books`].

use crate::books::{self, Books, Ledger, Mismatch, WorkerAttempt, WorkerLink};
use crate::plan::{self, Action, Method, NotifyKind, Step, Window};
use e2e::{E2e, UA_ALIPAY, UA_DESKTOP, UA_MOBILE, UA_WECHAT};
use reqwest::blocking::RequestBuilder;
use reqwest::Method as Http;
use serde_json::{json, Value};
use soushou::Fen;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// An answer: status and JSON body, or a transport error.
type Answer = Result<(u16, Value), String>;

/// The run's folder (`E2E_RUN_DIR`), where xtask keeps `worker.pgid`.
fn run_dir() -> String {
    std::env::var("E2E_RUN_DIR").unwrap_or_default()
}

/// The crash run's webhook receiver log (`E2E_WEBHOOK_LOG`).
fn webhook_log() -> Option<std::path::PathBuf> {
    std::env::var_os("E2E_WEBHOOK_LOG").map(Into::into)
}

/// What happened during the run, for the report.
#[derive(Debug, Default)]
pub struct Tally {
    /// Events by kind, then by outcome (`200`, `502 GATEWAY_REJECTED`, ...).
    pub events: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// Faults injected, by interface and mode.
    pub faults: BTreeMap<String, u64>,
    /// `Idempotency-Key` probes: supported / not supported yet.
    pub idempotency: BTreeMap<&'static str, u64>,
    /// Violations seen at the moment they happened.
    pub mismatches: Vec<Mismatch>,
    /// Crashes of the Worker's runtime injected, by window (`--crash`);
    /// a crash whose window did not open (e.g. no webhook in flight)
    /// counts under the window with " (idle)".
    pub crashes: BTreeMap<String, u64>,
}

/// The API keys the driver acts with, one per role its actions need
/// (API.md v1.1): links and POS charges as a cashier, refunds and cancels
/// as a manager, reads as a viewer; each action with the least role that
/// may do it.
struct Keys {
    cashier: String,
    manager: String,
    viewer: String,
}

/// The driver's memory of a run: the numbers of the plan mapped to what
/// the Worker answered.
pub struct Driver {
    /// The Worker and the sandbox.
    pub e: E2e,
    keys: Keys,
    seed: u64,
    /// Link number → (token, amount, counter code).
    links: Mutex<BTreeMap<usize, (String, u64, bool)>>,
    attempts: Mutex<BTreeMap<usize, String>>,
    wallet_paid: Mutex<BTreeSet<usize>>,
    /// The attempts started on counter codes (each its own shopper's).
    counter_attempts: Mutex<BTreeSet<usize>>,
    known: Mutex<BTreeSet<String>>,
    /// The tally.
    pub tally: Mutex<Tally>,
    trace: Mutex<Vec<String>>,
    /// The epay app opening some of the links, when the stack has one.
    pub epay: Option<crate::epay::App>,
}

fn yuan(fen: u64) -> String {
    Fen::from_fen(fen).to_yuan()
}

/// A short name of an answer: its status and error code, or the failure.
fn label(a: &Answer) -> String {
    match a {
        Ok((status, body)) => match body["error"]["code"].as_str() {
            Some(code) => format!("{status} {code}"),
            None => status.to_string(),
        },
        Err(_) => "transport error".into(),
    }
}

fn send(req: RequestBuilder) -> Answer {
    E2e::try_send(req).map_err(|e| e.to_string())
}

/// A read, tried again after a transport error or a 5xx (reads change
/// nothing, so trying again is safe; the snapshot needs an answer).
fn read(req: impl Fn() -> RequestBuilder) -> Answer {
    let mut answer = send(req());
    for _ in 0..4 {
        match &answer {
            Ok((s, _)) if *s < 500 => break,
            _ => std::thread::sleep(Duration::from_millis(500)),
        }
        answer = send(req());
    }
    answer
}

/// `f` over `items` on `threads` threads, results in order.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let out: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                out.lock().unwrap()[i] = Some(r);
            });
        }
    });
    out.into_inner()
        .unwrap()
        .into_iter()
        .map(|r| r.expect("every item mapped"))
        .collect()
}

impl Driver {
    /// A driver for the stack in the `E2E_*` environment.
    pub fn new(e: E2e, seed: u64, epay: Option<crate::epay::App>) -> Driver {
        let keys = Keys {
            cashier: e.key_of("cashier"),
            manager: e.key_of("manager"),
            viewer: e.key_of("viewer"),
        };
        Driver {
            epay,
            e,
            keys,
            seed,
            links: Mutex::default(),
            attempts: Mutex::default(),
            wallet_paid: Mutex::default(),
            counter_attempts: Mutex::default(),
            known: Mutex::default(),
            tally: Mutex::default(),
            trace: Mutex::default(),
        }
    }

    fn cashier(&self, method: Http, path: &str) -> RequestBuilder {
        self.e.key_request(&self.keys.cashier, method, path)
    }

    fn manager(&self, method: Http, path: &str) -> RequestBuilder {
        self.e.key_request(&self.keys.manager, method, path)
    }

    fn viewer(&self, path: &str) -> RequestBuilder {
        self.e.key_request(&self.keys.viewer, Http::GET, path)
    }

    /// A POST to `path` by the least role that may make it.
    fn poster(&self, path: &str) -> RequestBuilder {
        if path.ends_with("/refunds") || path.ends_with("/cancel") {
            self.manager(Http::POST, path)
        } else {
            self.cashier(Http::POST, path)
        }
    }

    /// A cashier tries the refund a manager is about to make, under its
    /// own refund number: it must be 403 `FORBIDDEN` (`refunds:write`),
    /// and the gateway must never have heard of that number (the Worker
    /// answered, so a call it made would be in the sandbox's log already).
    fn denied_refund(&self, code: &str, link: usize, body: &Value) {
        let number = format!("denied{}x{link}x{}", self.seed, e2e::now_ms());
        let mut denied = body.clone();
        denied["out_refund_no"] = json!(number);
        let answer = send(
            self.cashier(Http::POST, &format!("/v1/orders/{code}/refunds"))
                .json(&denied),
        );
        self.record("refund by a cashier", label(&answer));
        let forbidden = matches!(&answer, Ok((403, v))
            if v["error"]["code"] == "FORBIDDEN" && v["error"]["permission"] == "refunds:write");
        if !forbidden {
            self.mismatch(
                "a cashier's refund was not refused",
                code,
                label(&answer),
                "403 FORBIDDEN refunds:write".into(),
            );
        }
        let reached = self
            .e
            .sandbox_requests()
            .iter()
            .filter(|r| r["body"]["OUT_REFUND_NO"] == number.as_str())
            .count();
        if reached > 0 {
            self.mismatch(
                "a denied refund reached the gateway",
                code,
                format!("{reached} refund call(s) numbered {number}"),
                "no call".into(),
            );
        }
    }

    fn record(&self, kind: &'static str, outcome: impl Into<String>) {
        let outcome = outcome.into();
        self.trace
            .lock()
            .unwrap()
            .push(format!("    {kind}: {outcome}"));
        *self
            .tally
            .lock()
            .unwrap()
            .events
            .entry(kind)
            .or_default()
            .entry(outcome)
            .or_default() += 1;
    }

    fn mismatch(&self, kind: &'static str, code: &str, worker: String, gateway: String) {
        self.tally.lock().unwrap().mismatches.push(Mismatch {
            kind,
            code: code.to_owned(),
            worker,
            gateway,
        });
    }

    fn code(&self, attempt: usize) -> Option<String> {
        self.attempts.lock().unwrap().get(&attempt).cloned()
    }

    fn learn(&self, attempt: Option<usize>, answer: &Answer) {
        if let Ok((200, body)) = answer {
            if let Some(code) = body["charge_code"].as_str() {
                self.known.lock().unwrap().insert(code.to_owned());
                if let Some(a) = attempt {
                    self.attempts
                        .lock()
                        .unwrap()
                        .entry(a)
                        .or_insert_with(|| code.to_owned());
                }
            }
        }
    }

    /// A call to the sandbox's control API.
    pub fn sandbox(&self, method: Http, path: &str, body: Option<Value>) -> Answer {
        let mut req = self
            .e
            .http()
            .request(method, format!("{}{path}", self.e.sandbox));
        if let Some(b) = body {
            req = req.json(&b);
        }
        send(req)
    }

    /// Changes sandbox settings; fails the run if the sandbox refuses.
    pub fn settings(&self, patch: Value) -> Result<(), String> {
        match self.sandbox(Http::PUT, "/sandbox/settings", Some(patch.clone())) {
            Ok((s, _)) if (200..300).contains(&s) => Ok(()),
            other => Err(format!("sandbox settings {patch}: {}", label(&other))),
        }
    }

    /// The sandbox's ledger.
    pub fn ledger(&self) -> Result<Ledger, String> {
        let url = format!("{}/sandbox/ledger", self.e.sandbox);
        match read(|| self.e.http().get(&url)) {
            Ok((200, v)) => serde_json::from_value(v).map_err(|e| format!("ledger JSON: {e}")),
            other => Err(format!("GET /sandbox/ledger: {}", label(&other))),
        }
    }

    /// Fires the cron sweep.
    pub fn cron(&self) -> Answer {
        send(
            self.e
                .http()
                .get(format!("{}/__scheduled?cron=*+*+*+*+*", self.e.worker)),
        )
    }

    /// Runs step number `i` of the plan.
    pub fn step(&self, i: usize, step: &Step) {
        self.trace.lock().unwrap().push(format!("#{i} {step:?}"));
        match step {
            Step::One(a) => self.act(a),
            Step::Together(actions) => self.together(actions),
            Step::SlowRevocation { ms, actions } => {
                self.setting("revoke_delay_ms", json!(ms));
                self.together(actions);
                // Revocations started in the background after an answer
                // (a superseding pay) must still meet the delay.
                std::thread::sleep(Duration::from_millis(ms + 300));
                self.setting("revoke_delay_ms", json!(0));
            }
            Step::PasswordNeeded(actions) => {
                self.setting("pre_order_pending", json!(true));
                self.together(actions);
                self.setting("pre_order_pending", json!(false));
            }
            Step::Crash { window, actions } => self.crash(i, *window, actions),
        }
    }

    /// Kills the Worker's runtime inside `window` while `actions` run, and
    /// waits until the supervisor (xtask) has started it again on the same
    /// D1. Pay and refund: a one-shot `timeout` fault makes the sandbox
    /// carry out the call and hold its answer (4 s, longer than the
    /// Worker's 3 s gateway timeout); the kill comes once the sandbox has
    /// taken the call (the fault used up). Notify: a seeded 0–39 ms after
    /// the notification was sent; after the restart it is sent again, as
    /// the gateway retries an unanswered one. Webhook: once the receiver
    /// has logged a new delivery (it holds its answer 150 ms).
    fn crash(&self, i: usize, window: Window, actions: &[Action]) {
        let held = |interface: &str| {
            let answer = self.sandbox(
                Http::PUT,
                &format!("/sandbox/faults/{interface}"),
                Some(json!({"mode": "timeout", "times": 1})),
            );
            matches!(answer, Ok((s, _)) if (200..300).contains(&s))
        };
        let opened = std::thread::scope(|s| {
            let opened = match (window, actions) {
                (Window::Pay, [a @ Action::Pay { method, .. }]) => {
                    let interface = method.interface();
                    held(interface) && {
                        s.spawn(move || self.act(a));
                        self.fault_used(interface)
                    }
                }
                (Window::Refund, [a @ Action::Refund { .. }]) => {
                    held("refund") && {
                        s.spawn(move || self.act(a));
                        self.fault_used("refund")
                    }
                }
                (
                    Window::Notify,
                    [Action::Notify {
                        attempt, copies, ..
                    }],
                ) => {
                    // Sent once, unchecked: its answer dies with the runtime
                    // (the full send with its checks follows the restart).
                    let paid = self.wallet_paid.lock().unwrap().contains(attempt);
                    match self.code(*attempt).filter(|_| paid) {
                        Some(code) => {
                            let body = json!({"state": 1, "copies": copies});
                            let path = format!("/sandbox/notify/{code}");
                            s.spawn(move || self.sandbox(Http::POST, &path, Some(body)));
                            let ms = (self.seed ^ (i as u64).wrapping_mul(0x9E37_79B9)) % 40;
                            std::thread::sleep(Duration::from_millis(ms));
                            true
                        }
                        None => false,
                    }
                }
                (Window::Webhook, []) => self.webhook_in_flight(),
                _ => false,
            };
            self.kill_and_wait();
            opened
        });
        // Whatever the crash left in the sandbox's fault table goes (an
        // unused one-shot fault would hit a later, unplanned call).
        if !opened && matches!(window, Window::Pay | Window::Refund) {
            let _ = self.sandbox(Http::DELETE, "/sandbox/faults", None);
        }
        if let (Window::Notify, [a]) = (window, actions) {
            self.act(a);
        }
        let name = if opened {
            window.name().to_owned()
        } else {
            format!("{} (idle)", window.name())
        };
        *self.tally.lock().unwrap().crashes.entry(name).or_default() += 1;
    }

    /// Waits (up to 5 s) until the one-shot fault on `interface` was used.
    fn fault_used(&self, interface: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok((200, faults)) = self.sandbox(Http::GET, "/sandbox/faults", None) {
                if faults.get(interface).is_none() {
                    // The gateway has carried the call out; its answer is held.
                    std::thread::sleep(Duration::from_millis(100));
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits (up to 5 s) until the receiver logs a new delivery.
    fn webhook_in_flight(&self) -> bool {
        let Some(log) = webhook_log() else {
            return false;
        };
        let size = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        let before = size(&log);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if size(&log) > before {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// SIGKILL to the Worker's process group (wrangler dev and workerd),
    /// then wait for the supervisor's restart (a new group, `/healthz` 200).
    fn kill_and_wait(&self) {
        let pgid_file = std::path::Path::new(&run_dir()).join("worker.pgid");
        let pgid = std::fs::read_to_string(&pgid_file).unwrap_or_default();
        let pgid = pgid.trim().to_owned();
        let killed = std::process::Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status()
            .is_ok_and(|s| s.success());
        if !killed {
            self.record("crash", format!("could not kill process group {pgid}"));
            return;
        }
        let deadline = Instant::now() + Duration::from_secs(300);
        while Instant::now() < deadline {
            let restarted = std::fs::read_to_string(&pgid_file)
                .is_ok_and(|p| p.trim() != pgid && !p.trim().is_empty());
            if restarted {
                let health = send(self.e.http().get(format!("{}/healthz", self.e.worker)));
                if matches!(health, Ok((200, _))) {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.record("crash", "the Worker did not come back in 300 s");
    }

    /// Every event of the Worker's outbox must have reached the merchant's
    /// endpoint at least once under its `webhook-id` and none may be
    /// dead-lettered (`--crash`: the receiver always answers 204). Waits
    /// up to `secs` for the outbox to drain (running the cron, which sends
    /// overdue deliveries lost with a killed runtime again); the
    /// violations are mismatches. Returns (events, deliveries received).
    pub fn check_webhooks(&self, secs: u64) -> Result<(usize, usize), String> {
        let log = webhook_log().ok_or("E2E_WEBHOOK_LOG is not set")?;
        let deadline = Instant::now() + Duration::from_secs(secs);
        let events = loop {
            let _ = self.cron();
            let events = self.events()?;
            let undelivered = events
                .iter()
                .filter(|e| e["delivery"] != "delivered")
                .count();
            if undelivered == 0 || Instant::now() >= deadline {
                break events;
            }
            std::thread::sleep(Duration::from_secs(2));
        };
        let text = std::fs::read_to_string(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let received: Vec<String> = text
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter_map(|v| v["headers"]["webhook-id"].as_str().map(str::to_owned))
            .collect();
        let ids: BTreeSet<&str> = received.iter().map(String::as_str).collect();
        // An epay app's notification goes to the app's notify_url, not to
        // the merchant's endpoint: the epay check (exactly once, answered
        // `success`) covers those.
        for e in events.iter().filter(|e| e["type"] != "epay.notify") {
            let id = e["id"].as_str().unwrap_or("?");
            let what = format!("{id} {}", e["type"].as_str().unwrap_or("?"));
            if !ids.contains(id) {
                self.mismatch(
                    "webhook never received",
                    &what,
                    format!("delivery {}", e["delivery"]),
                    "the merchant's endpoint has no delivery with this webhook-id".into(),
                );
            } else if e["delivery"] == "failed" {
                self.mismatch(
                    "webhook dead-lettered",
                    &what,
                    "failed".into(),
                    "received, yet dead-lettered".into(),
                );
            }
        }
        Ok((events.len(), received.len()))
    }

    /// Every event of the events API, oldest first.
    fn events(&self) -> Result<Vec<Value>, String> {
        let mut out = Vec::new();
        let mut after = String::new();
        loop {
            let path = format!("/v1/events?limit=200&after={after}");
            let page = match read(|| self.e.admin_request(Http::GET, &path)) {
                Ok((200, v)) => v,
                other => return Err(format!("GET {path}: {}", label(&other))),
            };
            out.extend(page["data"].as_array().cloned().unwrap_or_default());
            match page["next_after"].as_str() {
                Some(next) if page["has_more"] == true => after = next.to_owned(),
                _ => return Ok(out),
            }
        }
    }

    fn setting(&self, name: &str, value: Value) {
        let outcome = match self.settings(json!({ name: value })) {
            Ok(()) => "ok".to_owned(),
            Err(e) => e,
        };
        self.record("sandbox setting", outcome);
    }

    fn together(&self, actions: &[Action]) {
        std::thread::scope(|s| {
            for a in actions {
                s.spawn(move || self.act(a));
            }
        });
    }

    /// Runs one action.
    pub fn act(&self, action: &Action) {
        match action {
            Action::CreateLink {
                link,
                amount_fen,
                idempotency,
                counter,
            } => {
                if let Some(app) = &self.epay {
                    if crate::epay::is_epay(*link, *idempotency) {
                        let subject = books::link_subject(*link);
                        let opened =
                            app.open(&self.e, self.seed, *link, &yuan(*amount_fen), &subject);
                        self.record(
                            "create link",
                            match &opened {
                                Ok(_) => "epay mapi.php 200".to_owned(),
                                Err(e) => format!("epay mapi.php: {e}"),
                            },
                        );
                        if let Ok(token) = opened {
                            self.links
                                .lock()
                                .unwrap()
                                .insert(*link, (token, *amount_fen, false));
                        }
                        return;
                    }
                }
                let mut body = json!({"amount": yuan(*amount_fen), "subject": books::link_subject(*link),
                    "ref": "chaos", "expires_in": 86_400});
                if *counter {
                    // Bounds of one amount: the shopper types the link's.
                    body = json!({"kind": "counter", "min_amount": yuan(*amount_fen),
                        "max_amount": yuan(*amount_fen), "subject": books::link_subject(*link),
                        "ref": "chaos", "expires_in": 86_400});
                }
                let answer = if *idempotency {
                    let mut other = body.clone();
                    other["subject"] = json!(format!("{} (other)", books::link_subject(*link)));
                    self.idempotent("/v1/links", &format!("link-{link}"), &body, &other)
                } else {
                    send(self.cashier(Http::POST, "/v1/links").json(&body))
                };
                self.record("create link", label(&answer));
                if let Ok((200, v)) = &answer {
                    if let Some(token) = v["token"].as_str() {
                        self.links
                            .lock()
                            .unwrap()
                            .insert(*link, (token.to_owned(), *amount_fen, *counter));
                    }
                }
            }
            Action::Pay {
                link,
                attempt,
                method,
            } => {
                let Some((token, amount_fen, counter)) =
                    self.links.lock().unwrap().get(link).cloned()
                else {
                    return self.record("pay", "skipped: no link");
                };
                let (ua, extra) = match method {
                    Method::Native => (UA_DESKTOP, json!({})),
                    Method::Wap => (UA_MOBILE, json!({})),
                    Method::WechatJsapi => {
                        (UA_WECHAT, json!({"openid": format!("oChaos{attempt}")}))
                    }
                    Method::AlipayJsapi => {
                        (UA_ALIPAY, json!({"buyer_id": format!("2088{attempt:012}")}))
                    }
                };
                let mut body = json!({"token": token, "method": method.as_str()});
                body.as_object_mut()
                    .expect("object")
                    .extend(extra.as_object().expect("object").clone());
                if counter {
                    body["amount"] = json!(yuan(amount_fen));
                    self.counter_attempts.lock().unwrap().insert(*attempt);
                }
                // Every attempt from a device of its own: a counter code's
                // attempt is polled by it alone.
                let answer = send(
                    self.e
                        .pay_request(ua)
                        .header("Cookie", device_cookie(*attempt))
                        .json(&body),
                );
                self.learn(Some(*attempt), &answer);
                self.record("pay", format!("{} {}", method.as_str(), label(&answer)));
            }
            Action::ShopperPay { attempt } => {
                let Some(code) = self.code(*attempt) else {
                    return self.record("wallet pay", "skipped: no attempt");
                };
                let answer = self.sandbox(Http::POST, &format!("/sandbox/pay/{code}"), None);
                if matches!(answer, Ok((200, _))) {
                    self.wallet_paid.lock().unwrap().insert(*attempt);
                }
                self.record("wallet pay", label(&answer));
            }
            Action::WalletCancel { attempt } => {
                let Some(code) = self.code(*attempt) else {
                    return self.record("wallet cancel", "skipped: no attempt");
                };
                let answer = self.sandbox(Http::POST, &format!("/sandbox/close/{code}"), None);
                self.record("wallet cancel", label(&answer));
            }
            Action::Poll { attempt } => {
                let Some(code) = self.code(*attempt) else {
                    return self.record("poll", "skipped: no attempt");
                };
                let answer = send(
                    self.e
                        .http()
                        .get(format!("{}/api/orders/{code}", self.e.worker))
                        .header("Cookie", device_cookie(*attempt)),
                );
                let outcome = match &answer {
                    Ok((200, v)) => format!("200 {}", v["state"].as_str().unwrap_or("?")),
                    other => label(other),
                };
                self.record("poll", outcome);
                if self.counter_attempts.lock().unwrap().contains(attempt) {
                    self.stranger_polls(*attempt, &code);
                }
            }
            Action::Notify {
                attempt,
                kind,
                copies,
            } => self.notify(*attempt, *kind, *copies),
            Action::Refund {
                link,
                permille,
                idempotency,
            } => self.refund(*link, *permille, *idempotency),
            Action::Cancel { attempt, apply } => {
                let Some(code) = self.code(*attempt) else {
                    return self.record("merchant cancel", "skipped: no attempt");
                };
                let answer = send(
                    self.manager(Http::POST, &format!("/v1/orders/{code}/cancel"))
                        .json(&json!({"apply": apply})),
                );
                let mode = if *apply { "apply" } else { "real-time" };
                self.record("merchant cancel", format!("{mode} {}", label(&answer)));
            }
            Action::Pos {
                pos,
                attempt,
                idempotency,
            } => {
                // 10-15 is a WeChat payment code, 28 an Alipay one.
                let dynamic_id = if pos % 2 == 0 {
                    "134567890123456789"
                } else {
                    "284567890123456789"
                };
                let body = json!({"dynamic_id": dynamic_id, "amount": yuan(plan::pos_amount_fen(*pos)),
                    "subject": format!("chaos pos {pos}")});
                let answer = if *idempotency {
                    let mut other = body.clone();
                    other["subject"] = json!(format!("chaos pos {pos} again"));
                    self.idempotent("/v1/pos/charges", &format!("pos-{pos}"), &body, &other)
                } else {
                    send(self.cashier(Http::POST, "/v1/pos/charges").json(&body))
                };
                self.learn(Some(*attempt), &answer);
                let outcome = match &answer {
                    Ok((200, v)) => format!("200 {}", v["state"].as_str().unwrap_or("?")),
                    other => label(other),
                };
                self.record("pos charge", outcome);
            }
            Action::PosPassword { pos } => self.pos_password(*pos),
            Action::Cron => {
                let answer = self.cron();
                self.record("cron", label(&answer));
            }
            Action::Fault { interface, mode } => {
                let answer = self.sandbox(
                    Http::PUT,
                    &format!("/sandbox/faults/{interface}"),
                    Some(json!({"mode": mode, "times": 1})),
                );
                match answer {
                    Ok((s, _)) if (200..300).contains(&s) => {
                        let kind = match mode.split_once(':') {
                            Some(("latency", _)) => "latency",
                            _ => mode.as_str(),
                        };
                        *self
                            .tally
                            .lock()
                            .unwrap()
                            .faults
                            .entry(format!("{interface} {kind}"))
                            .or_default() += 1;
                    }
                    other => self.record(
                        "fault refused by the sandbox",
                        format!("{interface} {mode}: {}", label(&other)),
                    ),
                }
            }
        }
    }

    /// Sends `body` to `path` under one `Idempotency-Key` twice (a retry),
    /// then `other` under the same key, which must be refused with 409
    /// `IDEMPOTENCY_KEY_REUSED`. A Worker that does not refuse it does not
    /// support the header yet: counted, not a mismatch. One that does must
    /// have answered the retry exactly like the first request — unless that
    /// answer was a 5xx, which releases the key (the outcome was unknown, so
    /// the retry runs again and resumes the same refund or charge; that it
    /// moved no money twice is what the ledger comparison checks).
    fn idempotent(&self, path: &str, key: &str, body: &Value, other: &Value) -> Answer {
        let key = format!("chaos-{}-{key}", self.seed);
        let post = |b: &Value| send(self.poster(path).header("Idempotency-Key", &key).json(b));
        let first = post(body);
        let again = post(body);
        self.learn(None, &again);
        let reused = post(other);
        self.learn(None, &reused);
        let supported =
            matches!(&reused, Ok((409, v)) if v["error"]["code"] == "IDEMPOTENCY_KEY_REUSED");
        let mut t = self.tally.lock().unwrap();
        if supported {
            *t.idempotency.entry("supported").or_default() += 1;
            let released = matches!(&first, Ok((status, _)) if *status >= 500);
            if !released && first.as_ref().ok() != again.as_ref().ok() {
                t.mismatches.push(Mismatch {
                    kind: "idempotent retry answered differently",
                    code: format!("POST {path} key {key}"),
                    worker: format!("retry: {}", label(&again)),
                    gateway: format!("first: {}", label(&first)),
                });
            }
        } else {
            *t.idempotency.entry("not supported yet").or_default() += 1;
        }
        first
    }

    fn notify(&self, attempt: usize, kind: NotifyKind, copies: u32) {
        let name = match kind {
            NotifyKind::Paid => "notify paid",
            NotifyKind::Stale => "notify stale",
            NotifyKind::Forged => "notify forged",
        };
        let Some(code) = self.code(attempt) else {
            return self.record(name, "skipped: no attempt");
        };
        // The gateway notifies payments only.
        if !self.wallet_paid.lock().unwrap().contains(&attempt) {
            return self.record(name, "skipped: not paid");
        }
        let body = json!({"state": if kind == NotifyKind::Stale { 0 } else { 1 },
            "copies": copies, "bad_sign": kind == NotifyKind::Forged});
        let path = format!("/sandbox/notify/{code}");
        let statuses = |a: &Answer| -> Vec<Value> {
            match a {
                Ok((200, v)) => v["statuses"].as_array().cloned().unwrap_or_default(),
                _ => Vec::new(),
            }
        };
        let before = (kind == NotifyKind::Forged).then(|| self.notify_marks(&code));
        let answer = self.sandbox(Http::POST, &path, Some(body));
        let mut got = statuses(&answer);
        let shown = |s: &[Value]| Value::from(s.to_vec()).to_string();
        if !matches!(answer, Ok((200, _))) || got.is_empty() {
            return self.record(name, format!("sandbox {}", label(&answer)));
        }
        self.record(name, shown(&got));
        if kind == NotifyKind::Forged {
            let status = |range: std::ops::Range<u64>| {
                move |s: &Value| s.as_u64().is_some_and(|s| range.contains(&s))
            };
            let kind = if got.iter().any(status(200..300)) {
                "forged notification accepted"
            } else if !got.iter().all(status(400..500)) {
                "forged notification not refused with 4xx"
            } else if before != Some(self.notify_marks(&code)) {
                "forged notification changed the order"
            } else {
                return;
            };
            self.mismatch(kind, &code, shown(&got), "signed with a wrong key".into());
            return;
        }
        // A verified notification must eventually be answered 200: the
        // gateway resends until it is.
        for _ in 0..5 {
            if got.iter().all(|s| s.as_u64() == Some(200)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
            let again = self.sandbox(
                Http::POST,
                &path,
                Some(json!({"state": if kind == NotifyKind::Stale { 0 } else { 1 }})),
            );
            self.record("notify resent", label(&again));
            got = statuses(&again);
        }
        self.mismatch(
            "verified notification never answered 200",
            &code,
            shown(&got),
            "signed with the merchant key".into(),
        );
    }

    /// What only a notification can change in the Worker's record of an
    /// order: the verified notifications it counted and the transitions
    /// whose source is `notify`.
    fn notify_marks(&self, code: &str) -> Option<(Value, Vec<Value>)> {
        let path = format!("/v1/orders/{code}?live=false");
        let (_, v) = read(|| self.viewer(&path)).ok()?;
        let by_notify = v["history"]
            .as_array()?
            .iter()
            .filter(|e| e["source"] == "notify")
            .cloned()
            .collect();
        Some((v["notifications"].clone(), by_notify))
    }

    fn refund(&self, link: usize, permille: u64, idempotency: bool) {
        let Some((token, amount_fen, _)) = self.links.lock().unwrap().get(&link).cloned() else {
            return self.record("merchant refund", "skipped: no link");
        };
        let view = send(
            self.e
                .http()
                .get(format!("{}/api/checkout/{token}", self.e.worker)),
        );
        let code = match &view {
            Ok((200, v)) if v["state"] == "paid" => v["charge_code"].as_str().map(str::to_owned),
            _ => None,
        };
        let Some(code) = code else {
            return self.record("merchant refund", "skipped: link not paid");
        };
        let amount = (amount_fen * permille / 1000).max(1);
        let path = format!("/v1/orders/{code}/refunds");
        let body = json!({"amount": yuan(amount), "reason": "chaos"});
        self.denied_refund(&code, link, &body);
        let answer = if idempotency {
            let other = json!({"amount": yuan(amount), "reason": "chaos, other body"});
            self.idempotent(&path, &format!("refund-{link}"), &body, &other)
        } else {
            send(self.manager(Http::POST, &path).json(&body))
        };
        let share = if permille == 1000 { "full" } else { "partial" };
        self.record("merchant refund", format!("{share} {}", label(&answer)));
    }

    /// The shopper confirms a pending `preOrder` in the wallet: finds it in
    /// the ledger by its unique amount while the Worker's call is running.
    fn pos_password(&self, pos: usize) {
        let amount = plan::pos_amount_fen(pos);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let found = self.ledger().ok().and_then(|l| {
                l.orders
                    .into_iter()
                    .find(|o| o.amount_fen == amount && o.interface.starts_with("preOrder"))
            });
            match found {
                Some(o) if o.state == 0 => {
                    let answer =
                        self.sandbox(Http::POST, &format!("/sandbox/pay/{}", o.charge_code), None);
                    return self.record("wallet password", label(&answer));
                }
                Some(o) => {
                    return self.record(
                        "wallet password",
                        format!("order already in state {}", o.state),
                    )
                }
                None => std::thread::sleep(Duration::from_millis(150)),
            }
        }
        self.record("wallet password", "no pending preOrder seen");
    }

    /// Writes what the run did, step by step, and which charge code each
    /// attempt number got, to `path` (to follow a failing seed).
    pub fn write_trace(&self, path: &std::path::Path) -> std::io::Result<()> {
        let mut text = self.trace.lock().unwrap().join("\n");
        text.push_str("\n\nattempts:\n");
        for (a, code) in self.attempts.lock().unwrap().iter() {
            text.push_str(&format!("{a} {code}\n"));
        }
        std::fs::write(path, text)
    }

    /// Every charge code known: answered to the driver, held by the
    /// gateway, or sent to it (the request log also has attempts the
    /// gateway refused to create).
    pub fn all_codes(&self, ledger: &Ledger) -> Vec<String> {
        let mut codes = self.known.lock().unwrap().clone();
        codes.extend(ledger.orders.iter().map(|o| o.charge_code.clone()));
        if let Ok((200, Value::Array(reqs))) = self.sandbox(Http::GET, "/sandbox/requests", None) {
            for r in reqs {
                let pay = ["order", "creatOrder", "wapOrder", "preOrder"]
                    .contains(&r["interface"].as_str().unwrap_or_default());
                if let (true, Some(code)) = (pay, r["charge_code"].as_str()) {
                    codes.insert(code.to_owned());
                }
            }
        }
        codes.into_iter().collect()
    }

    /// `GET /v1/orders/{code}` (live: the Worker queries the gateway and
    /// applies the answer) for each code.
    /// Returns the codes whose answer showed the gateway's close
    /// (`books::close_seen`): the Worker has applied it.
    pub fn query_live(&self, codes: &[String]) -> BTreeSet<String> {
        par_map(codes, 4, |code| {
            let answer = send(self.viewer(&format!("/v1/orders/{code}")));
            self.record("merchant live query", label(&answer));
            matches!(&answer, Ok((200, v)) if crate::books::close_seen(v)).then(|| code.clone())
        })
        .into_iter()
        .flatten()
        .collect()
    }

    /// Both sets of books now.
    pub fn books(&self, codes: &[String]) -> Result<Books, String> {
        let ledger = self.ledger()?;
        let views = par_map(codes, 4, |code| {
            let path = format!("/v1/orders/{code}?live=false");
            (code.clone(), read(|| self.viewer(&path)))
        });
        let mut attempts = Vec::new();
        let mut unknown_to_worker = Vec::new();
        for (code, answer) in views {
            match answer {
                Ok((200, v)) => attempts.push(
                    WorkerAttempt::from_json(&v).ok_or_else(|| format!("order {code}: {v}"))?,
                ),
                Ok((404, _)) => unknown_to_worker.push(code),
                other => return Err(format!("GET /v1/orders/{code}: {}", label(&other))),
            }
        }
        let heard = self
            .e
            .all_events()
            .into_iter()
            .filter_map(|v| {
                let kind = v["type"].as_str()?.to_owned();
                let code = v["payload"]["data"]["charge_code"].as_str()?.to_owned();
                Some((kind, code))
            })
            .collect();
        Ok(Books {
            ledger,
            attempts,
            unknown_to_worker,
            links: self.link_states()?,
            heard,
        })
    }

    /// Every link's state as the page shows it (`GET /api/checkout`).
    pub fn link_states(&self) -> Result<Vec<WorkerLink>, String> {
        let links: Vec<(usize, String, bool)> = self
            .links
            .lock()
            .unwrap()
            .iter()
            .map(|(l, (t, _, counter))| (*l, t.clone(), *counter))
            .collect();
        let views = par_map(&links, 4, |(link, token, counter)| {
            let url = format!("{}/api/checkout/{token}", self.e.worker);
            ((*link, *counter), read(|| self.e.http().get(&url)))
        });
        let mut worker_links = Vec::new();
        for ((link, counter), answer) in views {
            let state = match answer {
                Ok((200, v)) => {
                    // A counter code's page shows nobody's attempt: each
                    // shopper resumes their own from its address.
                    if counter && !v["charge_code"].is_null() {
                        self.mismatch(
                            "counter code shows an attempt",
                            &format!("link {link}"),
                            format!("charge_code {}", v["charge_code"]),
                            "a counter code's page shows no attempt".into(),
                        );
                    }
                    v["state"].as_str().unwrap_or("?").to_owned()
                }
                Ok((410, _)) => "expired".into(),
                other => {
                    return Err(format!(
                        "GET /api/checkout (link {link}): {}",
                        label(&other)
                    ))
                }
            };
            worker_links.push(WorkerLink {
                link,
                state,
                counter,
            });
        }
        Ok(worker_links)
    }
}

impl Driver {
    /// Nothing about one shopper's counter-code attempt leaks to another:
    /// polled from another shopper's device, or from none, the attempt is
    /// not found (never its state, amount or return URL).
    fn stranger_polls(&self, attempt: usize, code: &str) {
        let url = format!("{}/api/orders/{code}", self.e.worker);
        let strangers = [
            Some(device_cookie(attempt + STRANGER)),
            None, // no device cookie at all
        ];
        for cookie in strangers {
            let answer = read(|| match &cookie {
                Some(c) => self.e.http().get(&url).header("Cookie", c),
                None => self.e.http().get(&url),
            });
            if let Ok((200, v)) = &answer {
                self.mismatch(
                    "counter attempt seen by another shopper",
                    code,
                    format!(
                        "{} answered 200 {}",
                        if cookie.is_some() {
                            "another device"
                        } else {
                            "no device"
                        },
                        v["state"]
                    ),
                    "only the device that made it may poll it".into(),
                );
            }
        }
    }
}

/// Attempt numbers of the strangers who poll another shopper's counter
/// attempt start here (no attempt of a run is numbered this high).
const STRANGER: usize = 1 << 40;

/// The device cookie of attempt `n`'s shopper: one device per attempt, as
/// the Worker mints them (32 hex digits).
fn device_cookie(n: usize) -> String {
    format!("{}={n:032x}", checkout::guard::DEVICE_COOKIE)
}
