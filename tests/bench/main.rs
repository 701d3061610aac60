//! `cargo xtask bench`, Worker part: numbers printed for a person, never
//! asserted (the issue-12 table). Runs against the stack xtask started
//! (`E2E_*`), sending traffic to 127.0.0.1 only, bounded in count.
//!
//! - `POST /api/pay` against the same `order` call made directly to the
//!   gateway in the same run, interleaved, p50 of each and their difference
//!   (the direct call is signed and encrypted before its clock starts: the
//!   Worker's own signing is part of its overhead).
//! - `/notify` intake: 16 threads sending signed notifications, every
//!   order three times (duplicates), shuffled; then every order must be
//!   paid exactly once (one `pending → paid` history entry, one recorded
//!   notification) — a loss or a double application is printed as such.
//! - Per route, from the Worker's request log lines: total ms, gateway ms,
//!   and D1 calls and ms where the build logs them.
//! - `/notify` intake three times back to back (`NOTIFY_RUNS`): one run on
//!   a shared machine says little.
//! - CPU per request by route (`cpu_by_route`): the Worker's processes'
//!   CPU time around sequential requests of one route, and the same less
//!   what its D1 round trips cost in this workerd (D1 runs in the Worker's
//!   own workerd, so only an estimate separates them: D1 calls × the D1
//!   floor's CPU per round trip, `BENCH_D1_CPU_MS`).
//! - Cold start (`BENCH_COLD_START`, direct runner only): a fresh workerd
//!   with the built Worker to the first answer of `GET /c/{token}` and of
//!   `POST /api/pay`, p50 of 10, next to the same for the floor Worker
//!   (`tests/bench/floor-worker`, `tests/bench/coldstart.mjs`).
//! - The D1 round trips the merchant credential check adds (`auth_d1` of
//!   the log line), per credential kind: an API key, a console session,
//!   the bootstrap token.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use checkout::api::OrderStatus;
use e2e::{history, now_ms, send_notification, E2e, UA_DESKTOP};
use serde_json::{json, Value};
use soushou::codec::Format;
use soushou::envelope::{self, Config};
use soushou::model::{OrderRequest, OrderResp};
use soushou::types::{ChannelType, OrderState, TradeType};
use soushou::Fen;

/// Pay calls (and as many direct calls) measured.
const PAY_RUNS: usize = 40;
/// Orders notified in the intake run, each `NOTIFY_COPIES` times.
const NOTIFY_ORDERS: usize = 64;
const NOTIFY_COPIES: usize = 3;
const NOTIFY_SENDERS: usize = 16;
/// Intake runs back to back.
const NOTIFY_RUNS: usize = 3;
/// Sequential requests per route in the CPU figures.
const CPU_RUNS: usize = 30;
/// Fresh runtimes per cold-start figure.
const COLD_RUNS: usize = 10;

fn p50(v: &mut [f64]) -> f64 {
    percentile(v, 0.5)
}

fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// CPU time (ms) used so far by the Worker's processes (the process group
/// `E2E_WORKER_PGID`: wrangler or node and their workerd), per program
/// name, from /proc; `None` where that is not readable. Ticks are 10 ms:
/// read it around many requests, never one.
fn worker_cpu_ms() -> Option<BTreeMap<String, f64>> {
    let pgid = std::env::var("E2E_WORKER_PGID").ok()?;
    let mut by_name = BTreeMap::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid pgrp …`, utime and stime 12th and 13th after `)`.
        let (Some((head, rest)), Some(open)) = (stat.rsplit_once(')'), stat.find('(')) else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(2) == Some(&pgid.as_str()) {
            let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
            // USER_HZ is 100 on every Linux the bench runs on.
            let ms = (tick(11).unwrap_or(0.0) + tick(12).unwrap_or(0.0)) * 10.0;
            *by_name.entry(head[open + 1..].to_owned()).or_insert(0.0) += ms;
        }
    }
    Some(by_name)
}

/// Adds what each program used between `before` and `after` to `sum`.
fn add_cpu(
    sum: &mut Option<BTreeMap<String, f64>>,
    before: Option<BTreeMap<String, f64>>,
    after: Option<BTreeMap<String, f64>>,
) {
    let (Some(s), Some(before), Some(after)) = (sum.as_mut(), before, after) else {
        *sum = None;
        return;
    };
    for (name, ms) in after {
        *s.entry(name.clone()).or_insert(0.0) += ms - before.get(&name).copied().unwrap_or(0.0);
    }
}

/// CPU ms per request, in all and per program, from readings around `n` requests.
fn cpu_per(total: Option<BTreeMap<String, f64>>, n: usize) -> String {
    match total {
        Some(by_name) if n > 0 => {
            let all: f64 = by_name.values().sum();
            let parts: Vec<String> = by_name
                .iter()
                .map(|(name, ms)| format!("{name} {:.1}", ms / n as f64))
                .collect();
            format!("{:>8.1} ms ({})", all / n as f64, parts.join(", "))
        }
        _ => "     n/a".to_owned(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The gateway configuration the Worker uses under `cargo xtask stack`.
fn gateway_config(e: &E2e) -> Config {
    Config {
        gateway_url: format!("{}/openGateway/openService/", e.sandbox),
        busi_code: e.busi_code.clone(),
        busi_id: e.busi_id.clone(),
        key: e.key.clone(),
        encrypt: true,
        format: Format::Json,
        oper_id: "checkout".into(),
        dev_id: "edge".into(),
        register_id: None,
    }
}

/// One NATIVE `order` request like the Worker's for a 12.50 link.
fn direct_order(cfg: &Config, n: usize) -> OrderRequest {
    OrderRequest {
        common: cfg.common(),
        amt: Fen::from_fen(1250),
        channel_type: ChannelType::WeChat,
        trade_type: Some(TradeType::Native),
        sub_appid: None,
        sub_openid: None,
        charge_code: format!("bench{:x}{n:04}", now_ms()),
        nodify_url: Some("http://127.0.0.1:9/notify".into()),
        pay_subject: "bench".into(),
        goods_detail: Vec::new(),
    }
}

/// Pay through the Worker vs the same call made directly, interleaved.
fn pay_overhead(e: &E2e) {
    let cfg = gateway_config(e);
    let http = e.http();
    let (mut worker, mut direct, mut hop) = (Vec::new(), Vec::new(), Vec::new());
    let mut failures = 0;
    let mut cpu = Some(BTreeMap::new());
    for i in 0..PAY_RUNS {
        // The cost of reaching the Worker at all: no D1, no gateway.
        let t = Instant::now();
        match http.get(format!("{}/healthz", e.worker)).send() {
            Ok(r) if r.status().is_success() => hop.push(ms(t.elapsed())),
            _ => failures += 1,
        }
        let token = e.create_link("12.50", "bench");
        let cpu_before = worker_cpu_ms();
        let t = Instant::now();
        let (status, body) = e.pay(&token, "native", UA_DESKTOP, json!({}));
        let elapsed = ms(t.elapsed());
        add_cpu(&mut cpu, cpu_before, worker_cpu_ms());
        if status == 200 {
            worker.push(elapsed);
        } else {
            failures += 1;
            eprintln!("pay {status}: {body}");
        }

        let req = envelope::build(&cfg, &direct_order(&cfg, i), now_ms()).expect("order builds");
        let t = Instant::now();
        let resp = http
            .post(req.url(&cfg.gateway_url))
            .header("Content-Type", req.content_type())
            .body(req.body.clone())
            .send()
            .and_then(|r| Ok((r.status().as_u16(), r.bytes()?)));
        let elapsed = ms(t.elapsed());
        match resp {
            Ok((status, body)) => {
                match envelope::decode_response::<OrderRequest>(&cfg, &req, status, &body) {
                    Ok(OrderResp { .. }) => direct.push(elapsed),
                    Err(err) => {
                        failures += 1;
                        eprintln!("direct order: {err}");
                    }
                }
            }
            Err(err) => {
                failures += 1;
                eprintln!("direct order: {err}");
            }
        }
    }
    let (w, d, h) = (p50(&mut worker), p50(&mut direct), p50(&mut hop));
    println!(
        "POST /api/pay (NATIVE), {} runs interleaved, {failures} failed",
        PAY_RUNS
    );
    println!("  {:<44} {:>8.1} ms", "Worker POST /api/pay p50", w);
    println!(
        "  {:<44} {:>8.1} ms",
        "same gateway order call made directly p50", d
    );
    println!(
        "  {:<44} {:>8.1} ms",
        "Worker overhead (difference of p50s)",
        w - d
    );
    println!(
        "  {:<44} {:>8.1} ms",
        "of which reaching the Worker (GET /healthz p50)", h
    );
    println!(
        "  {:<44} {:>8.1} ms",
        "overhead past the Worker's door",
        w - d - h
    );
    println!(
        "  {:<44} {}",
        "Worker processes' CPU per pay (mean)",
        cpu_per(cpu, PAY_RUNS)
    );
}

/// 16 senders, every order notified three times, shuffled; then the books.
fn notify_intake(e: &E2e) {
    let orders: Vec<String> = (0..NOTIFY_ORDERS)
        .map(|_| e.pending_attempt("3.00").1)
        .collect();
    let mut notes = Vec::new();
    for code in &orders {
        let n = e.signed_now(
            &e.pay_notify(code, 300, OrderState::Paid),
            "_type=json&encrypt=3DES",
        );
        for _ in 0..NOTIFY_COPIES {
            notes.push(n.clone());
        }
    }
    // A fixed shuffle (xorshift), so copies of one order land on different senders.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..notes.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        notes.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let next = AtomicUsize::new(0);
    let cpu_before = worker_cpu_ms();
    let t = Instant::now();
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..NOTIFY_SENDERS)
            .map(|_| {
                let (http, notes, next) = (e.http().clone(), &notes, &next);
                s.spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(n) = notes.get(i) else { break };
                        got.push(send_notification(&http, n).0);
                    }
                    got
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("sender thread"))
            .collect()
    });
    let secs = t.elapsed().as_secs_f64();
    let mut cpu = Some(BTreeMap::new());
    add_cpu(&mut cpu, cpu_before, worker_cpu_ms());
    let ok = statuses.iter().filter(|s| **s == 200).count();
    let (mut paid_once, mut wrong) = (0, Vec::new());
    for code in &orders {
        let order = e.merchant_order_stored(code);
        let paid = history(&order)
            .iter()
            .filter(|(_, to, _)| to == "paid")
            .count();
        let recorded = order.notifications.len();
        if order.order.state == OrderStatus::Paid && paid == 1 && recorded == 1 {
            paid_once += 1;
        } else {
            wrong.push(format!(
                "{code}: state {:?} paid {paid}×",
                order.order.state
            ));
        }
    }
    println!(
        "/notify intake: {} notifications ({NOTIFY_ORDERS} orders × {NOTIFY_COPIES}), {NOTIFY_SENDERS} senders",
        notes.len()
    );
    println!(
        "  {:<44} {:>8.0} /s",
        "throughput",
        notes.len() as f64 / secs
    );
    println!(
        "  {:<44} {}",
        "Worker processes' CPU per notification (mean)",
        cpu_per(cpu, notes.len())
    );
    println!("  {:<44} {:>8} / {}", "answered 200", ok, notes.len());
    println!(
        "  {:<44} {:>8} / {}",
        "orders paid exactly once",
        paid_once,
        orders.len()
    );
    for w in wrong {
        println!("  NOT PAID EXACTLY ONCE: {w}");
    }
}

/// Per-route figures from the Worker's JSON request lines in wrangler.log.
fn per_route() {
    let Ok(dir) = std::env::var("E2E_RUN_DIR") else {
        println!("per route: E2E_RUN_DIR not set, skipped");
        return;
    };
    let log = std::fs::read_to_string(format!("{dir}/wrangler.log")).unwrap_or_default();
    #[derive(Default)]
    struct Route {
        total: Vec<f64>,
        gateway: Vec<f64>,
        d1_calls: Vec<f64>,
        d1_ms: Vec<f64>,
    }
    let mut routes: BTreeMap<String, Route> = BTreeMap::new();
    // D1 round trips of the merchant credential check, per credential kind.
    let mut auth: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    // The webhook consumer's invocations: messages handled, D1 round trips.
    let (mut messages, mut consumer_d1) = (0.0, 0.0);
    for line in log.lines() {
        let Some(start) = line.find('{') else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<Value>(&line[start..]) else {
            continue;
        };
        if v["kind"] == "queue" && v["path"] == "soushou-webhooks" {
            messages += v["messages"].as_f64().unwrap_or(0.0);
            consumer_d1 += v["d1"]["calls"].as_f64().unwrap_or(f64::NAN);
            continue;
        }
        if v["kind"] != "http" || v["status"] != 200 {
            continue;
        }
        let path = v["path"].as_str().unwrap_or("");
        if let (Some(kind), Some(calls)) = (v["auth"].as_str(), v["auth_d1"].as_f64()) {
            let r = auth.entry(kind.to_owned()).or_default();
            r.push(calls);
        }
        let name = match (v["method"].as_str().unwrap_or(""), path) {
            ("POST", "/api/pay") => "POST /api/pay",
            ("POST", "/notify") => "POST /notify",
            ("GET", p) if p.starts_with("/api/checkout/") => "GET /api/checkout/{token}",
            ("GET", p) if p.starts_with("/api/orders/") => "GET /api/orders/{code}",
            ("GET", p) if p.starts_with("/c/") => "GET /c/{token}",
            ("GET", p) if p.starts_with("/v1/events") => "GET /v1/events",
            _ => continue,
        };
        let r = routes.entry(name.to_owned()).or_default();
        r.total.push(v["ms"].as_f64().unwrap_or(f64::NAN));
        let gw: f64 = v["gateway"]
            .as_array()
            .map_or(0.0, |a| a.iter().filter_map(|g| g["ms"].as_f64()).sum());
        r.gateway.push(gw);
        if let Some(d1) = v.get("d1") {
            r.d1_calls.push(d1["calls"].as_f64().unwrap_or(f64::NAN));
            r.d1_ms.push(d1["ms"].as_f64().unwrap_or(f64::NAN));
        }
    }
    println!("per route (200 answers in this run's Worker log; p50, max of D1 calls)");
    println!(
        "  {:<28} {:>6} {:>9} {:>11} {:>9} {:>9} {:>9}",
        "route", "n", "total ms", "gateway ms", "D1 calls", "D1 max", "D1 ms"
    );
    for (name, mut r) in routes {
        let n = r.total.len();
        let (d1, d1_max, d1_ms) = if r.d1_calls.is_empty() {
            ("n/a".to_owned(), "n/a".to_owned(), "not logged".to_owned())
        } else {
            (
                format!("{:.0}", p50(&mut r.d1_calls)),
                format!("{:.0}", percentile(&mut r.d1_calls, 1.0)),
                format!("{:.1}", p50(&mut r.d1_ms)),
            )
        };
        println!(
            "  {:<28} {:>6} {:>9.0} {:>11.0} {:>9} {:>9} {:>9}",
            name,
            n,
            p50(&mut r.total),
            p50(&mut r.gateway),
            d1,
            d1_max,
            d1_ms
        );
    }
    println!(
        "  webhook consumer: {messages:.0} messages, {:.2} D1 round trips per message",
        consumer_d1 / messages
    );
    println!(
        "D1 round trips an authenticated merchant request adds (the credential check; p50, max)"
    );
    for (kind, mut calls) in auth {
        println!(
            "  {:<28} {:>6} {:>9.0} {:>9.0}",
            kind,
            calls.len(),
            p50(&mut calls),
            percentile(&mut calls, 1.0)
        );
    }
}

/// Merchant reads made with each kind of credential (an API key, a
/// console session, the bootstrap token), so the log holds what the
/// credential check costs for each.
fn merchant_credentials(e: &E2e) {
    const READS: usize = 20;
    let key = e.key_of("viewer");
    let resp = e
        .key_request(&key, reqwest::Method::POST, "/v1/sessions")
        .send()
        .expect("worker");
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    for _ in 0..READS {
        E2e::send(e.key_request(&key, reqwest::Method::GET, "/v1/events?limit=1"));
        E2e::send(e.admin_request(reqwest::Method::GET, "/v1/events?limit=1"));
        E2e::send(
            e.http()
                .get(format!("{}/v1/events?limit=1", e.worker))
                .header("Cookie", &cookie),
        );
    }
}

/// A run of `n` sequential requests, each made by `send(i)`, timed in the
/// Worker's processes' CPU: ms per request, in all and per program.
fn cpu_of(n: usize, mut send: impl FnMut(usize) -> u16) -> (Option<BTreeMap<String, f64>>, usize) {
    let mut cpu = Some(BTreeMap::new());
    let before = worker_cpu_ms();
    let failed = (0..n).filter(|i| send(*i) >= 400).count();
    add_cpu(&mut cpu, before, worker_cpu_ms());
    (cpu, failed)
}

/// CPU per request by route (module doc): pay, notify, the checkout view,
/// the page's HTML and a merchant list, each `CPU_RUNS` times in a row,
/// what they need made before the clock starts.
fn cpu_by_route(e: &E2e) {
    let http = e.http();
    // What one D1 round trip costs in CPU (the floor, `d1floor.mjs`).
    let d1_cpu: Option<f64> = std::env::var("BENCH_D1_CPU_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok());
    let d1_calls = |path: &str| e2e_d1_calls(path);
    let tokens: Vec<String> = (0..CPU_RUNS)
        .map(|_| e.create_link("2.00", "cpu"))
        .collect();
    let pending: Vec<(String, String)> = (0..CPU_RUNS).map(|_| e.pending_attempt("3.00")).collect();
    let notes: Vec<_> = pending
        .iter()
        .map(|(_, code)| {
            e.signed_now(
                &e.pay_notify(code, 300, OrderState::Paid),
                "_type=json&encrypt=3DES",
            )
        })
        .collect();
    let status = |r: reqwest::Result<reqwest::blocking::Response>| {
        r.map_or(599, |r| {
            let s = r.status().as_u16();
            let _ = r.bytes();
            s
        })
    };
    let routes: Vec<(&str, &str, Box<dyn FnMut(usize) -> u16 + '_>)> = vec![
        (
            "GET /c/{token}",
            "/c/",
            Box::new(|i| status(http.get(format!("{}/c/{}", e.worker, tokens[i])).send())),
        ),
        (
            "GET /api/checkout/{token}",
            "/api/checkout/",
            Box::new(|i| e.get(&format!("/api/checkout/{}", tokens[i])).0),
        ),
        (
            "POST /api/pay",
            "/api/pay",
            Box::new(|i| e.pay(&tokens[i], "native", UA_DESKTOP, json!({})).0),
        ),
        (
            "GET /v1/orders?limit=20",
            "/v1/orders",
            Box::new(|_| {
                status(
                    e.admin_request(reqwest::Method::GET, "/v1/orders?limit=20")
                        .send(),
                )
            }),
        ),
        (
            "POST /notify",
            "/notify",
            Box::new(|i| send_notification(http, &notes[i]).0),
        ),
    ];
    println!(
        "CPU per request by route ({CPU_RUNS} sequential each; all of the Worker's processes, then \
         less D1 calls x the D1 floor's {} ms CPU per round trip)",
        d1_cpu.map_or("n/a".to_owned(), |c| format!("{c:.2}"))
    );
    println!(
        "  {:<28} {:>8} {:>9} {:>14}  per program",
        "route", "failed", "CPU ms", "less D1 (est)"
    );
    for (name, path, mut send) in routes {
        let (cpu, failed) = cpu_of(CPU_RUNS, &mut send);
        // Let this route's log lines land before counting its D1 calls.
        std::thread::sleep(Duration::from_millis(300));
        let total = cpu
            .as_ref()
            .map(|c| c.values().sum::<f64>() / CPU_RUNS as f64);
        let less_d1 = match (total, d1_cpu, d1_calls(path)) {
            (Some(t), Some(c), Some(calls)) => format!("{:.1} ({calls:.0} D1)", t - calls * c),
            _ => "n/a".to_owned(),
        };
        println!(
            "  {:<28} {:>8} {:>9} {:>14}  {}",
            name,
            failed,
            total.map_or("n/a".to_owned(), |t| format!("{t:.1}")),
            less_d1,
            cpu_per(cpu, CPU_RUNS).trim()
        );
    }
}

/// The p50 of D1 calls of this run's 200 answers on `prefix` (the Worker's
/// request log lines): a path starting with it if it ends with `/`, else
/// that path.
fn e2e_d1_calls(prefix: &str) -> Option<f64> {
    let dir = std::env::var("E2E_RUN_DIR").ok()?;
    let log = std::fs::read_to_string(format!("{dir}/wrangler.log")).ok()?;
    let mut calls: Vec<f64> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(&l[l.find('{')?..]).ok())
        .filter(|v| v["kind"] == "http" && v["status"] == 200)
        // `/c/`: any token; `/v1/orders`: the list, not `/v1/orders/{code}`.
        .filter(|v| {
            v["path"].as_str().is_some_and(|p| {
                if prefix.ends_with('/') {
                    p.starts_with(prefix)
                } else {
                    p == prefix
                }
            })
        })
        .filter_map(|v| v["d1"]["calls"].as_f64())
        .collect();
    (!calls.is_empty()).then(|| p50(&mut calls))
}

/// Cold start (module doc): `tests/bench/coldstart.mjs` on a copy of this
/// stack's D1 (the running Worker keeps its own), each request in a fresh
/// workerd; then the floor Worker the same way.
fn cold_start(e: &E2e) {
    let Ok(dir) = std::env::var("E2E_RUN_DIR") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    let get_tokens: Vec<String> = (0..COLD_RUNS)
        .map(|_| e.create_link("1.00", "cold"))
        .collect();
    let pay_tokens: Vec<String> = (0..COLD_RUNS)
        .map(|_| e.create_link("1.00", "cold"))
        .collect();
    // The copy, once the Worker has written the links.
    std::thread::sleep(Duration::from_millis(300));
    let copy = dir.join("cold-state");
    let _ = std::fs::remove_dir_all(&copy);
    if let Err(err) = copy_dir(&dir.join("state"), &copy) {
        println!("cold start: copying D1 failed: {err}");
        return;
    }
    let bindings: Value = std::fs::read_to_string(dir.join("bindings.json"))
        .ok()
        .and_then(|b| serde_json::from_str(&b).ok())
        .unwrap_or(json!({}));
    let get = |path: String| json!({"method": "GET", "path": path});
    let pay = |token: &String| {
        json!({"method": "POST", "path": "/api/pay",
               "headers": {"Content-Type": "application/json", "User-Agent": UA_DESKTOP},
               "body": json!({"token": token, "method": "native"}).to_string()})
    };
    let worker = json!({
        "script": "crates/worker/build/index.js",
        "wrangler": true,
        "persist": copy,
        "bindings": bindings,
        "requests": get_tokens.iter().map(|t| get(format!("/c/{t}")))
            .chain(pay_tokens.iter().map(pay)).collect::<Vec<_>>(),
    });
    // The floor with the Worker's bindings (D1, queues, assets), so the
    // difference is the Worker's own code, not Miniflare setting them up.
    let floor = json!({
        "script": "tests/bench/floor-worker/build/index.js",
        "wrangler": true,
        "persist": copy,
        "bindings": bindings,
        "requests": (0..COLD_RUNS).map(|_| get("/".into())).collect::<Vec<_>>(),
    });
    println!("cold start: a fresh workerd to the first answer, p50 of {COLD_RUNS} (ms)");
    println!(
        "  {:<34} {:>8} {:>12} {:>12} {:>8}",
        "", "answers", "ready p50", "answer p50", "x floor"
    );
    let mut floor_p50 = None;
    for (label, plan) in [
        ("floor: minimal workers-rs GET /", floor),
        ("Worker", worker),
    ] {
        let file = dir.join("coldstart-plan.json");
        if std::fs::write(&file, plan.to_string()).is_err() {
            return;
        }
        let out = std::process::Command::new("node")
            .arg("tests/bench/coldstart.mjs")
            .arg(&file)
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .output();
        let out = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            Ok(o) => {
                println!(
                    "  {label}: coldstart.mjs failed: {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                continue;
            }
            Err(err) => {
                println!("  {label}: node: {err}");
                continue;
            }
        };
        let mut by_path: BTreeMap<&str, (Vec<f64>, Vec<f64>, Vec<u64>)> = BTreeMap::new();
        let lines: Vec<Value> = out
            .lines()
            .filter_map(|l| serde_json::from_str(l.strip_prefix("coldstart ")?).ok())
            .collect();
        for v in &lines {
            let path = v["path"].as_str().unwrap_or("");
            let route = if path.starts_with("/c/") {
                "GET /c/{token}"
            } else if path == "/api/pay" {
                "POST /api/pay"
            } else {
                "GET /"
            };
            let r = by_path.entry(route).or_default();
            r.0.push(v["ready_ms"].as_f64().unwrap_or(f64::NAN));
            r.1.push(v["first_ms"].as_f64().unwrap_or(f64::NAN));
            r.2.push(v["status"].as_u64().unwrap_or(0));
        }
        for (route, (mut ready, mut first, statuses)) in by_path {
            let answer = p50(&mut first);
            let floor = *floor_p50.get_or_insert(answer);
            let ok = statuses.iter().filter(|s| **s < 400).count();
            println!(
                "  {:<34} {:>8} {:>12.0} {:>12.0} {:>8.2}",
                format!(
                    "{} {route}",
                    if label == "Worker" { "Worker" } else { "floor" }
                ),
                format!("{ok}/{}", statuses.len()),
                p50(&mut ready),
                answer,
                answer / floor
            );
        }
    }
    let _ = std::fs::remove_dir_all(&copy);
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

/// The cron sweep under a backlog (issue 24, defect 12), in the model of
/// `checkout::sweep::backlog` (the Worker's rule, simulated a minute at a
/// time; no stack): 10,000 pending attempts, 100 of them paid with lost
/// notifications, 25 queries a run; cron runs until all 100 were found,
/// before (round-robin) and after (what can still change first).
fn sweep_backlog() {
    use checkout::sweep::{backlog, Rule};
    println!("cron sweep under a backlog: 10,000 pending attempts, 100 paid with lost notifications, 25 queries a run");
    for seed in [1, 2, 3] {
        for (name, rule) in [
            ("before (round-robin)", Rule::RoundRobin),
            ("after (what can still change)", Rule::WhatCanChange),
        ] {
            let f = backlog(rule, 10_000, 100, 25, 1_000, seed);
            let runs = f
                .runs
                .map_or("not within 1000".to_owned(), |r| r.to_string());
            let p50 = f.found_in_run.get(f.found_in_run.len() / 2).copied();
            println!(
                "  seed {seed} {name:<30} runs until all 100 found: {runs:>15}; \
                 median run {p50:?}; {} found; {} queries",
                f.found_in_run.len(),
                f.queries
            );
        }
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--backlog") {
        sweep_backlog();
        return;
    }
    let e = E2e::from_env();
    // xtask runs this against two stacks and says which one this is.
    if let Ok(label) = std::env::var("BENCH_LABEL") {
        println!("\n== Worker {label}, {}", e.worker);
    }
    println!();
    pay_overhead(&e);
    for run in 1..=NOTIFY_RUNS {
        println!();
        print!("run {run}/{NOTIFY_RUNS}: ");
        notify_intake(&e);
    }
    // Shopper views too, so the per-route table covers every route the issue names.
    for _ in 0..20 {
        let (token, code) = e.pending_attempt("1.00");
        let _ = e.get(&format!("/api/checkout/{token}"));
        let _ = e.get(&format!("/api/orders/{code}"));
    }
    merchant_credentials(&e);
    // Let the last lines reach the log file.
    std::thread::sleep(Duration::from_millis(500));
    println!();
    per_route();
    println!();
    cpu_by_route(&e);
    if std::env::var_os("BENCH_COLD_START").is_some() {
        println!();
        cold_start(&e);
    }
}
