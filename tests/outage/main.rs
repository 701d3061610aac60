//! `outage`: the merchant's webhook endpoint down for a day (issue 24),
//! time compressed through the Worker's retry settings.
//!
//! xtask starts the Worker with the production retry schedule's shape
//! run `OUTAGE_COMPRESSION` times faster (`WEBHOOK_RETRY_*` and
//! `WEBHOOK_MAX_ATTEMPTS`, given to this program too; `cargo xtask
//! outage`), so a day is 86,400 / that many seconds. With the endpoint down
//! (nothing listens on `E2E_WEBHOOK_URL`) the driver pays orders and
//! refunds some of them in parts — several events per order — keeps the
//! endpoint down for a compressed day, brings it up and waits for the
//! outbox to drain. Then every event must have been received (its
//! `webhook-id`), none dead-lettered, and each order's events first
//! received in the order they were written. Prints the figure; exit status
//! 0 when all holds, 1 otherwise, 2 when the run could not be carried out.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checkout::events::RetryPolicy;
use e2e::E2e;
use reqwest::Method;
use serde_json::{json, Value};

/// Orders paid during the outage.
const ORDERS: usize = 12;

/// A number from the environment xtask sets.
fn env_num(name: &str) -> Result<u64, String> {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{name} is not set to a number"))
}

/// One delivery the endpoint received: `webhook-id` and the order it is about.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    charge_code: String,
}

/// The merchant's endpoint once it is back: logs and answers 204.
fn serve(listener: TcpListener, log: Arc<Mutex<Vec<Received>>>) {
    for stream in listener.incoming().flatten() {
        let log = log.clone();
        std::thread::spawn(move || {
            if let Some(r) = read_delivery(stream) {
                log.lock().unwrap().push(r);
            }
        });
    }
}

/// Reads one POST (headers, then `content-length` bytes), answers 204.
fn read_delivery(stream: TcpStream) -> Option<Received> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let (mut id, mut length) = (None, 0usize);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "webhook-id" => id = Some(v.trim().to_owned()),
                "content-length" => length = v.trim().parse().unwrap_or(0),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; length.min(1 << 20)];
    reader.read_exact(&mut body).ok()?;
    let payload: Value = serde_json::from_slice(&body).ok()?;
    let mut stream = stream;
    stream
        .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
        .ok()?;
    Some(Received {
        id: id?,
        charge_code: payload["data"]["charge_code"].as_str()?.to_owned(),
    })
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("outage: the run could not be carried out: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let e = E2e::from_env();
    let url = std::env::var("E2E_WEBHOOK_URL").map_err(|_| "E2E_WEBHOOK_URL is not set")?;
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let compression = env_num("OUTAGE_COMPRESSION")?.max(1);
    let policy = RetryPolicy {
        base_secs: env_num("WEBHOOK_RETRY_BASE_SECS")?,
        factor: env_num("WEBHOOK_RETRY_FACTOR")?,
        cap_secs: env_num("WEBHOOK_RETRY_CAP_SECS")?,
        max_attempts: env_num("WEBHOOK_MAX_ATTEMPTS")?,
    };
    let gives_up = |p: &RetryPolicy| (1..).map_while(|n| p.next_delay(n)).sum::<u64>();
    let day = Duration::from_secs(86_400 / compression);
    println!(
        "outage: the merchant's endpoint down for a day = {} s (retry schedule {compression}× faster: \
         dead-letter {} s = {:.1} compressed days after the first failure; production: {:.1} days)",
        day.as_secs(),
        gives_up(&policy),
        (gives_up(&policy) * compression) as f64 / 86_400.0,
        gives_up(&RetryPolicy::default()) as f64 / 86_400.0,
    );

    // Down: nothing listens. Orders paid, some refunded in two parts.
    let down_since = Instant::now();
    let mut codes = Vec::new();
    for i in 0..ORDERS {
        let (_, code) = e.pending_attempt("10.00");
        e.sandbox_pay_and_wait(&code, "paid during the outage");
        for (n, amount) in match i % 3 {
            0 => vec![],
            1 => vec!["3.00"],
            _ => vec!["3.00", "7.00"],
        }
        .into_iter()
        .enumerate()
        {
            let (status, body) = e.admin(
                Method::POST,
                &format!("/v1/orders/{code}/refunds"),
                Some(&json!({"amount": amount, "reason": "outage",
                    "out_refund_no": format!("out-{n}-{code}")})),
            );
            if status != 200 {
                return Err(format!("refund of {code}: {status} {body}"));
            }
        }
        codes.push(code);
    }
    let ours: BTreeSet<&str> = codes.iter().map(String::as_str).collect();
    let of_ours = |all: Vec<Value>| -> Vec<Value> {
        all.into_iter()
            .filter(|ev| {
                ev["payload"]["data"]["charge_code"]
                    .as_str()
                    .is_some_and(|c| ours.contains(c))
            })
            .collect()
    };
    std::thread::sleep(day.saturating_sub(down_since.elapsed()));
    let before_up = of_ours(e.all_events());
    let failed_early = before_up
        .iter()
        .filter(|ev| ev["delivery"] == "failed")
        .count();
    let attempts_down: u64 = before_up
        .iter()
        .map(|ev| ev["attempt_count"].as_u64().unwrap_or(0))
        .sum();

    // Up again.
    let listener = TcpListener::bind(&addr).map_err(|err| format!("bind {addr}: {err}"))?;
    let up = Instant::now();
    let log = Arc::new(Mutex::new(Vec::new()));
    {
        let log = log.clone();
        std::thread::spawn(move || serve(listener, log));
    }
    // The longest wait between tries is the cap: all should be in by then.
    let deadline = Instant::now() + day + Duration::from_secs(60);
    let after = loop {
        e.run_cron();
        let now = of_ours(e.all_events());
        let pending = now.iter().filter(|ev| ev["delivery"] == "pending").count();
        if pending == 0 || Instant::now() >= deadline {
            break now;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    let drained = up.elapsed();
    let received = log.lock().unwrap().clone();

    // The checks.
    let mut problems = Vec::new();
    let got: BTreeSet<&str> = received.iter().map(|r| r.id.as_str()).collect();
    for ev in &after {
        let id = ev["id"].as_str().unwrap_or("?");
        if !got.contains(id) {
            problems.push(format!("{id} ({}) never received", ev["delivery"]));
        }
        if ev["delivery"] == "failed" {
            problems.push(format!("{id} dead-lettered"));
        }
    }
    if failed_early > 0 {
        problems.push(format!(
            "{failed_early} events dead-lettered within the day"
        ));
    }
    // In order per order: first receipts in the order the events were written.
    let seq = |id: &str| id.trim_start_matches("evt_").parse::<u64>().unwrap_or(0);
    let mut first: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for r in &received {
        if seen.insert(r.id.as_str()) {
            first
                .entry(r.charge_code.as_str())
                .or_default()
                .push(seq(&r.id));
        }
    }
    for (code, seqs) in &first {
        if seqs.windows(2).any(|w| w[0] > w[1]) {
            problems.push(format!("{code}: received out of order {seqs:?}"));
        }
    }

    let attempts: Vec<u64> = after
        .iter()
        .map(|ev| ev["attempt_count"].as_u64().unwrap_or(0))
        .collect();
    println!(
        "outage: {} orders, {} events written while the endpoint was down; \
         {attempts_down} delivery attempts failed during the day, {failed_early} dead-lettered",
        codes.len(),
        before_up.len()
    );
    println!(
        "outage: endpoint up again: all delivered {:.1} s later ({:.1} h compressed), \
         {} deliveries received for {} events, attempts per event {}–{}, \
         {} orders in order, {} problems",
        drained.as_secs_f64(),
        drained.as_secs_f64() * compression as f64 / 3600.0,
        received.len(),
        after.len(),
        attempts.iter().min().unwrap_or(&0),
        attempts.iter().max().unwrap_or(&0),
        first.len(),
        problems.len()
    );
    for p in &problems {
        println!("  {p}");
    }
    Ok(problems.is_empty() && !after.is_empty())
}
