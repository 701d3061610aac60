//! `cargo xtask bench --lists N`, Worker part: the lists, statements and
//! CSV at scale (issue 21), against a stack whose local D1 xtask seeded
//! with `BENCH_ROWS` orders, 50,000 per Beijing day, the last day ending
//! at `BENCH_LAST_DAY_END` (unix seconds); codes `B{i:011}` in creation
//! order. Numbers printed, never asserted; traffic to 127.0.0.1 only.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use e2e::E2e;
use reqwest::Method;

const PER_DAY: u64 = 50_000;
const RUNS: usize = 40;
/// Cron runs that rebuild the statements and find them unchanged (each
/// reads and sums two 50,000-order days), for their p50 / p95.
const STATEMENT_RUNS: usize = 10;
/// Downloads of the 100,000-row CSV, for its p50 / p95 (each ~10 s).
const CSV_RUNS: usize = 3;

fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

fn env_u64(name: &str) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} is not set (run by cargo xtask bench --lists N)"))
}

/// p50 / p95 (ms) of `RUNS` GETs of `path`, each answered 200.
fn time_get(e: &E2e, what: &str, path: &str) {
    let mut ms = Vec::new();
    let mut rows = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        let (status, body) = e.admin(Method::GET, path, None);
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(status, 200, "{path}: {body}");
        rows = body["data"].as_array().map_or(0, Vec::len);
    }
    println!(
        "  {what:<44} p50 {:>7.1} ms  p95 {:>7.1} ms  ({rows} rows)",
        percentile(&mut ms, 0.5),
        percentile(&mut ms, 0.95)
    );
}

/// Resident memory (KiB) of the Worker's workerd processes.
fn workerd_rss_kib(pgid: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut total = 0;
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp ...
        let Some(after) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = after.1.split_whitespace().collect();
        if fields.get(2) != Some(&pgid) || !stat.contains("(workerd)") {
            continue;
        }
        if let Ok(status) = std::fs::read_to_string(path.join("status")) {
            total += status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    total
}

fn main() {
    let e = E2e::from_env();
    let rows = env_u64("BENCH_ROWS");
    let last_end = env_u64("BENCH_LAST_DAY_END");
    let days = rows.div_ceil(PER_DAY);
    let last_start = last_end - 86_400;
    let pgid = std::env::var("E2E_WORKER_PGID").unwrap_or_default();
    println!("lists at {rows} orders ({days} days of {PER_DAY}):");

    // A filtered page: two equalities and a window of a week.
    time_get(
        &e,
        "filtered page (state+channel+7 days, 20)",
        &format!(
            "/v1/orders?state=paid&channel=wechat&created_gte={}&created_lt={last_end}",
            last_end.saturating_sub(7 * 86_400)
        ),
    );
    time_get(&e, "newest page (no filter, 100)", "/v1/orders?limit=100");
    time_get(
        &e,
        "first page of the last day (20)",
        &format!("/v1/orders?created_gte={last_start}&created_lt={last_end}"),
    );
    // The last page of the day: after the day's 21st-oldest order.
    let first_of_day = (days - 1) * PER_DAY;
    time_get(
        &e,
        "last page of the last day (20)",
        &format!(
            "/v1/orders?created_gte={last_start}&created_lt={last_end}&starting_after=B{:011}",
            first_of_day + 20
        ),
    );
    time_get(
        &e,
        "q prefix of a subject (20)",
        "/v1/orders?q=bench%20order%2012345",
    );
    time_get(&e, "ref (exact, 20)", "/v1/orders?ref=R12345");

    // The statement of a 50,000-order day: the cron builds the last days
    // (the first run stores them and their statement.ready events; the
    // next runs read, sum and compare, storing nothing).
    let t = Instant::now();
    e.run_cron();
    println!(
        "  {:<44} {:>7.0} ms (the whole cron run, 2 days of {PER_DAY})",
        "statement build (cron, stores)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    let mut ms: Vec<f64> = (0..STATEMENT_RUNS)
        .map(|_| {
            let t = Instant::now();
            e.run_cron();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    println!(
        "  {:<44} p50 {:>7.0} ms  p95 {:>7.0} ms (whole cron runs, {STATEMENT_RUNS}×)",
        "statement rebuild (cron, unchanged)",
        percentile(&mut ms, 0.5),
        percentile(&mut ms, 0.95)
    );
    let day = checkout::statement::Day::of(last_start);
    let (status, s) = e.admin(Method::GET, &format!("/v1/statements/{day}"), None);
    println!(
        "  statement {day}: status {status}, {} payments, net {} fen",
        s["payments"]["count"], s["net_fen"]
    );

    // The CSV of 100,000 orders (or all, if fewer): time, size, the
    // workerd's resident memory sampled every 20 ms while it streams.
    let from = last_end - 2 * 86_400;
    let rss_before = workerd_rss_kib(&pgid);
    let peak = Arc::new(AtomicU64::new(rss_before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done, pgid) = (peak.clone(), done.clone(), pgid.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(workerd_rss_kib(&pgid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let (mut secs, mut first_ms) = (Vec::new(), Vec::new());
    let (mut lines, mut size) = (0, 0);
    for _ in 0..CSV_RUNS {
        let t = Instant::now();
        let resp = e
            .admin_request(
                Method::GET,
                &format!("/v1/orders.csv?created_gte={from}&created_lt={last_end}"),
            )
            .timeout(Duration::from_secs(600))
            .send()
            .expect("worker reachable");
        first_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let body = resp.bytes().expect("the CSV");
        secs.push(t.elapsed().as_secs_f64());
        lines = body
            .iter()
            .filter(|b| **b == b'\n')
            .count()
            .saturating_sub(1);
        size = body.len();
    }
    done.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    println!(
        "  orders.csv of {lines} rows ({:.1} MB), {CSV_RUNS}×: p50 {:.2} s  p95 {:.2} s \
         ({:.0} ms to the first byte); workerd RSS {} → peak {} MiB",
        size as f64 / 1e6,
        percentile(&mut secs, 0.5),
        percentile(&mut secs, 0.95),
        percentile(&mut first_ms, 0.5),
        rss_before / 1024,
        peak.load(Ordering::Relaxed) / 1024
    );
}
