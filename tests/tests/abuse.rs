//! Issue 24, "Abuse": a scripted flood on one link — page opens with the
//! wallets' User-Agents (each would start a sign-in) and pays, all from one
//! IP — against the real Worker, its local D1 and the sandbox. Measured and
//! printed: the D1 rows it leaves and the gateway calls it causes, which
//! the limits bound (`checkout::oauth::START_LIMIT` for sign-ins,
//! `checkout::guard::check_attempt` for pays) whatever the flood's size;
//! and a shopper on another device still signs in and pays.
//!
//! `cargo test -p e2e` runs it with 100 opens and 100 pays;
//! `cargo xtask flood` with 1,000 each (`E2E_FLOOD`), printing the figures.

use std::collections::BTreeMap;
use std::process::Command;

use checkout::guard::{IP_FACTOR, LINK_FACTOR};
use checkout::oauth::START_LIMIT;
use e2e::{now_ms, E2e, UA_ALIPAY, UA_DESKTOP, UA_WECHAT};
use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use serde_json::{json, Value};

/// `PAY_RATE_LIMIT` of the test stacks (wrangler.toml's default).
const PAY_RATE_LIMIT: u64 = 10;

/// Opens and pays of the flood: `E2E_FLOOD`, else 100.
fn flood_size() -> u64 {
    std::env::var("E2E_FLOOD")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100)
}

/// Rows per table of the Worker's local D1 (the SQLite file wrangler dev
/// keeps under the run directory), read with Python's sqlite3, read-only.
fn d1_rows() -> BTreeMap<String, u64> {
    let run_dir = std::env::var("E2E_RUN_DIR").expect("E2E_RUN_DIR");
    let script = r#"
import glob, json, sqlite3, sys
files = [p for p in glob.glob(sys.argv[1] + '/state/v3/d1/*/*.sqlite') if 'metadata' not in p]
counts = {}
for f in files:
    c = sqlite3.connect('file:' + f + '?mode=ro', uri=True)
    for (t,) in c.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_cf_%'"):
        counts[t] = counts.get(t, 0) + c.execute('SELECT COUNT(*) FROM "%s"' % t).fetchone()[0]
print(json.dumps(counts))
"#;
    let out = Command::new("python3")
        .args(["-c", script, &run_dir])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("row counts")
}

/// What changed between two [`d1_rows`], per table (tables that grew).
fn added(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, i64> {
    after
        .iter()
        .map(|(t, n)| (t.clone(), *n as i64 - *before.get(t).unwrap_or(&0) as i64))
        .filter(|(_, d)| *d != 0)
        .collect()
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

#[test]
fn a_flood_on_one_link_stays_bounded_and_a_shopper_still_pays() {
    let e = E2e::from_env();
    let n = flood_size();
    let subject = format!("flooded counter code {}", now_ms());
    let token = e.create_link("2.22", &subject);
    let page = format!("{}/c/{token}", e.worker);
    let script_ip = format!("203.0.113.{}", now_ms() % 250);
    let http = no_redirects();
    let (rows_before, calls_before) = (d1_rows(), e.sandbox_requests().len());

    let mut sign_ins = 0u64;
    for i in 0..n {
        let ua = if i % 2 == 0 { UA_WECHAT } else { UA_ALIPAY };
        let resp = http
            .get(&page)
            .header("User-Agent", ua)
            .header("CF-Connecting-IP", &script_ip)
            .send()
            .expect("worker reachable");
        match resp.status().as_u16() {
            302 => sign_ins += 1,
            200 => {}
            other => panic!("page open {i}: {other}"),
        }
    }
    let rows_after_opens = d1_rows();

    let (mut admitted, mut limited) = (0u64, 0u64);
    for i in 0..n {
        // A script that also changes its User-Agent every time: each pay a
        // new "device", so only the IP's limit holds it.
        let resp = http
            .post(format!("{}/api/pay", e.worker))
            .header("User-Agent", format!("{UA_DESKTOP} flood/{i}"))
            .header("CF-Connecting-IP", &script_ip)
            .json(&json!({"token": token, "method": "native"}))
            .send()
            .expect("worker reachable");
        match resp.status().as_u16() {
            200 => admitted += 1,
            429 => limited += 1,
            other => panic!("pay {i}: {other} {}", resp.text().unwrap_or_default()),
        }
    }
    let (rows_after, calls_after) = (d1_rows(), e.sandbox_requests().len());
    let gateway_calls = calls_after - calls_before;

    // A real shopper on another device: signs in inside WeChat, and pays.
    let shopper_ip = format!("192.0.2.{}", now_ms() % 250);
    let open = http
        .get(&page)
        .header("User-Agent", UA_WECHAT)
        .header("CF-Connecting-IP", &shopper_ip)
        .send()
        .expect("worker reachable");
    assert_eq!(
        open.status().as_u16(),
        302,
        "the shopper is offered sign-in"
    );
    let resp = e
        .pay_request(UA_DESKTOP)
        .header("CF-Connecting-IP", &shopper_ip)
        .json(&json!({"token": token, "method": "native"}))
        .send()
        .expect("worker reachable");
    assert_eq!(resp.status().as_u16(), 200, "the shopper pays");
    let body: Value = resp.json().expect("JSON");
    let code = body["charge_code"]
        .as_str()
        .expect("charge code")
        .to_owned();
    e.sandbox_pay_and_wait(&code, "the shopper's payment is paid");

    let opens_rows = added(&rows_before, &rows_after_opens);
    let pays_rows = added(&rows_after_opens, &rows_after);
    let total: i64 = added(&rows_before, &rows_after).values().sum();
    println!(
        "flood: {}",
        json!({
            "page_opens": n, "sign_ins_started": sign_ins, "rows_added_by_opens": opens_rows,
            "pays": n, "pays_admitted": admitted, "pays_limited": limited,
            "rows_added_by_pays": pays_rows, "rows_added_total": total,
            "gateway_calls": gateway_calls, "shopper_paid": true,
        })
    );
    assert!(sign_ins <= START_LIMIT.per_client, "{sign_ins} sign-ins");
    let ip_limit = PAY_RATE_LIMIT * IP_FACTOR;
    assert_eq!(admitted, ip_limit.min(n), "pays admitted");
    assert!(admitted <= PAY_RATE_LIMIT * LINK_FACTOR);
    assert_eq!(
        gateway_calls as u64, admitted,
        "one gateway call per admitted pay"
    );
    // Each sign-in leaves one state row (and the link's row once); each
    // admitted pay its attempt and its history; nothing grows with `n`.
    let bound = 1 + sign_ins as i64 + 3 * admitted as i64;
    assert!(total <= bound, "{total} rows added, bound {bound}");
}
