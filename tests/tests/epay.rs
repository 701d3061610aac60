//! The epay (易支付) interface against the real Worker and sandbox, driven
//! by epay clients we wrote from the protocol in two languages
//! (`tests/epay/client.php` under Debian's php-cli, `tests/epay/client.py`
//! with Python's standard library): submit, mapi, order query, the app's
//! notification verified by the client's own receiver (answering
//! `success`), the return URL verified by the client, refunds with their
//! idempotency, an app that answers `fail` forever, and bad input.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::Duration;

use e2e::{E2e, UA_DESKTOP};
use serde_json::{json, Value};

/// One client: how to run it, and how to start its notify receiver.
#[derive(Clone, Copy)]
enum Lang {
    Php,
    Python,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
}

struct Client {
    lang: Lang,
    api: String,
    pid: String,
    key: String,
}

/// A notify receiver process, killed (by its own id) when dropped.
struct Receiver {
    child: Child,
    url: String,
    log: PathBuf,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Receiver {
    /// Every notification the app received, in order.
    fn received(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("log line"))
            .collect()
    }
}

impl Client {
    fn new(e: &E2e, lang: Lang) -> Client {
        Client {
            lang,
            // Without the trailing slash: the clients add it, as apps do.
            api: format!("{}/epay", e.worker),
            pid: std::env::var("E2E_EPAY_PID").expect("E2E_EPAY_PID"),
            key: std::env::var("E2E_EPAY_KEY").expect("E2E_EPAY_KEY"),
        }
    }

    fn command(&self) -> Command {
        let mut cmd = match self.lang {
            Lang::Php => {
                let mut c = Command::new("php");
                c.arg(root().join("tests/epay/client.php"));
                c
            }
            Lang::Python => {
                let mut c = Command::new("python3");
                c.arg(root().join("tests/epay/client.py"));
                c
            }
        };
        cmd.env("EPAY_API", &self.api)
            .env("EPAY_PID", &self.pid)
            .env("EPAY_KEY", &self.key);
        cmd
    }

    /// Runs a command; its JSON output and whether it exited 0.
    fn run(&self, args: &[&str]) -> (Value, bool) {
        let out = self.command().args(args).output().expect("client runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let v = serde_json::from_str(text.trim()).unwrap_or_else(|_| {
            panic!(
                "client {args:?}: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (v, out.status.success())
    }

    /// Starts the app's notify receiver (answering `success` to a verified
    /// notification, or `fail` to everything with `fail`).
    fn receiver(&self, fail: bool) -> Receiver {
        let port = free_port();
        let log =
            std::env::temp_dir().join(format!("epay-notify-{}-{port}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let child = match self.lang {
            Lang::Php => Command::new("php")
                .args(["-S", &format!("127.0.0.1:{port}")])
                .arg(root().join("tests/epay/client.php"))
                .env("EPAY_PID", &self.pid)
                .env("EPAY_KEY", &self.key)
                .env("EPAY_NOTIFY_LOG", &log)
                .env("EPAY_NOTIFY_MODE", if fail { "fail" } else { "" })
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn(),
            Lang::Python => {
                let mut c = self.command();
                c.args(["notify-server", &port.to_string()]).arg(&log);
                if fail {
                    c.arg("fail");
                }
                c.spawn()
            }
        }
        .expect("receiver starts");
        // Ready when it accepts connections.
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Receiver {
            child,
            url: format!("http://127.0.0.1:{port}/notify.php"),
            log,
        }
    }
}

fn unique(tag: &str) -> String {
    format!("{tag}{}", e2e::now_ms())
}

/// The link token of our page's address.
fn token_of(location: &str) -> String {
    location
        .rsplit_once("/c/")
        .map(|(_, t)| t.to_owned())
        .unwrap_or_else(|| panic!("not our page: {location}"))
}

/// The whole cycle of one client: submit → page → sandbox pays → notify
/// verified and answered `success`, exactly once → return URL verified →
/// order query → refund (idempotent) → mapi.
fn cycle(lang: Lang) {
    let e = E2e::from_env();
    let c = Client::new(&e, lang);
    let app = c.receiver(false);
    let out = unique("A");
    let param = "uid=7&plan=年付 vip";
    // As apps write it: a path of their own, no query (the signed result
    // is the whole query the app verifies).
    let ret = "https://app.example/return.php";
    let (sub, _) = c.run(&[
        "submit",
        &out,
        "1.5",
        "VIP 会员",
        &app.url,
        ret,
        "alipay",
        param,
    ]);
    assert_eq!(sub["status"], 302, "{sub}");
    let page = sub["location"].as_str().expect("location").to_owned();
    let token = token_of(&page);
    // The app's retry: the same trade.
    let (again, _) = c.run(&[
        "submit",
        &out,
        "1.50",
        "VIP 会员",
        &app.url,
        ret,
        "alipay",
        param,
    ]);
    assert_eq!(again["location"], page.as_str(), "same trade");
    // Other money under the number: refused, no second trade.
    let (other, _) = c.run(&[
        "submit",
        &out,
        "2.00",
        "VIP 会员",
        &app.url,
        ret,
        "alipay",
        param,
    ]);
    assert_eq!(other["status"], 400, "{other}");

    // Our page: the Alipay-only link pays like any link.
    let (view_status, view) = e.get(&format!("/api/checkout/{token}"));
    assert_eq!(view_status, 200, "{view}");
    assert_eq!(view["amount_fen"], 150);
    assert_eq!(view["channel"], "alipay");
    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    // Before payment the order query says unpaid.
    let (order, _) = c.run(&["order-out", &out]);
    assert_eq!(order["code"], 1, "{order}");
    assert_eq!(order["status"], 0, "{order}");
    e.sandbox_pay_and_wait(&code, "epay trade paid");

    e.eventually("the app got a verified notification", || {
        app.received().iter().any(|n| n["verified"] == true)
    });
    // Exactly once: no second delivery after `success`.
    std::thread::sleep(Duration::from_secs(3));
    let got = app.received();
    assert_eq!(got.len(), 1, "{got:?}");
    let n = &got[0]["params"];
    assert_eq!(n["out_trade_no"], out.as_str());
    assert_eq!(n["money"], "1.50");
    assert_eq!(n["name"], "VIP 会员");
    assert_eq!(n["type"], "alipay");
    assert_eq!(n["param"], param);
    assert_eq!(n["trade_status"], "TRADE_SUCCESS");
    assert_eq!(n["sign_type"], "MD5");
    let trade_no = n["trade_no"].as_str().expect("trade_no").to_owned();
    // The notification is an event of the events API, delivered.
    let epay_events: Vec<Value> = e
        .all_events()
        .into_iter()
        .filter(|ev| {
            ev["type"] == "epay.notify" && ev["payload"]["data"]["charge_code"] == code.as_str()
        })
        .collect();
    assert_eq!(epay_events.len(), 1, "{epay_events:?}");

    // The shopper's way back: our return page sends them to the app's
    // return_url with the signed result, which the client verifies.
    let back = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!(
            "{}/epay/return?pid={}&out_trade_no={out}",
            e.worker, c.pid
        ))
        .send()
        .expect("return");
    assert_eq!(back.status().as_u16(), 302);
    let to = e2e::header(&back, "location");
    assert!(to.starts_with("https://app.example/return.php?"), "{to}");
    let (verified, ok) = c.run(&["verify", &to]);
    assert!(ok, "return verified: {verified}");
    assert_eq!(verified["params"]["trade_no"], trade_no.as_str());
    assert_eq!(verified["params"]["param"], param);

    // Order query by our number: paid.
    let (order, _) = c.run(&["order", &trade_no]);
    assert_eq!(order["status"], 1, "{order}");
    assert_eq!(order["money"], "1.50");
    assert_eq!(order["out_trade_no"], out.as_str());
    assert_eq!(order["api_trade_no"], code.as_str());

    // Refund, then the same call again: one refund.
    let (r1, _) = c.run(&["refund", &trade_no, "0.50"]);
    assert_eq!(r1["code"], 1, "{r1}");
    let (r2, _) = c.run(&["refund", &trade_no, "0.50"]);
    assert_eq!(r2["code"], 1, "{r2}");
    assert_eq!(
        r2["refunded"], "0.50",
        "a retried refund is the same refund"
    );
    let (r3, _) = c.run(&["refund", &trade_no, "5.00", "R2"]);
    assert_eq!(r3["code"], -1, "more than paid: {r3}");
    let stored = e.merchant_order_stored(&code);
    assert_eq!(stored.refunds.len(), 1, "{:?}", stored.refunds);

    // mapi: a QR code on a desktop, the page's address on a phone.
    let out2 = unique("M");
    let (pc, _) = c.run(&["mapi", &out2, "0.01", "Tea", &app.url, ret, "wxpay", "pc"]);
    assert_eq!(pc["code"], 1, "{pc}");
    assert!(
        pc["qrcode"].as_str().is_some_and(|q| q.contains("/c/")),
        "{pc}"
    );
    let (mobile, _) = c.run(&[
        "mapi", &out2, "0.01", "Tea", &app.url, ret, "wxpay", "mobile",
    ]);
    assert_eq!(mobile["trade_no"], pc["trade_no"], "same trade");
    assert!(
        mobile["payurl"].as_str().is_some_and(|q| q.contains("/c/")),
        "{mobile}"
    );
    let (query, _) = c.run(&["query"]);
    assert_eq!(query["code"], 1, "{query}");
}

#[test]
fn php_client_whole_cycle() {
    cycle(Lang::Php);
}

#[test]
fn python_client_whole_cycle() {
    cycle(Lang::Python);
}

/// An app that answers `fail` forever: retried, then dead-lettered (the
/// event `failed`, redeliverable); the order stays paid.
#[test]
fn app_answering_fail_forever() {
    let e = E2e::from_env();
    let c = Client::new(&e, Lang::Python);
    let app = c.receiver(true);
    let out = unique("F");
    let (sub, _) = c.run(&[
        "submit",
        &out,
        "0.02",
        "Tea",
        &app.url,
        "https://app.example/r",
        "",
        "",
    ]);
    let token = token_of(sub["location"].as_str().expect("location"));
    let (_, code) = e.pay_ok(&token, "native", UA_DESKTOP, json!({}));
    e.sandbox_pay_and_wait(&code, "paid");
    e.eventually("the epay notification dead-lettered", || {
        e.all_events().iter().any(|ev| {
            ev["type"] == "epay.notify"
                && ev["payload"]["data"]["charge_code"] == code.as_str()
                && ev["delivery"] == "failed"
        })
    });
    let tries = app.received();
    assert!(tries.len() >= 2, "retried: {tries:?}");
    assert!(tries.iter().all(|n| n["verified"] == true), "{tries:?}");
    assert_eq!(e.order_state(&code), "paid");
}

/// Bad input, answered as epay clients expect; nothing is created.
#[test]
fn bad_input() {
    let e = E2e::from_env();
    let c = Client::new(&e, Lang::Python);
    let n = "http://127.0.0.1:9/notify";
    let r = "https://app.example/r";
    for (what, args) in [
        ("qqpay", vec!["1.00", "Tea", n, r, "qqpay"]),
        ("usdt", vec!["1.00", "Tea", n, r, "usdt"]),
        ("zero", vec!["0", "Tea", n, r, "alipay"]),
        ("negative", vec!["-1", "Tea", n, r, "alipay"]),
        ("three decimals", vec!["1.005", "Tea", n, r, "alipay"]),
        ("exponent", vec!["1e2", "Tea", n, r, "alipay"]),
        (
            "ftp notify_url",
            vec!["1.00", "Tea", "ftp://app.example/n", r, "alipay"],
        ),
    ] {
        let out = unique("B");
        let mut full = vec!["submit", out.as_str()];
        full.extend(args.iter().copied());
        let (sub, _) = c.run(&full);
        assert_eq!(sub["status"], 400, "{what}: {sub}");
        let mut mapi = vec!["mapi", out.as_str()];
        mapi.extend(args.iter().copied());
        while mapi.len() < 7 {
            mapi.push("alipay");
        }
        mapi.push("pc");
        let (m, _) = c.run(&mapi);
        assert_eq!(m["code"], -1, "{what}: {m}");
        assert!(
            m["msg"].as_str().is_some_and(|s| !s.is_empty()),
            "{what}: {m}"
        );
        let (order, _) = c.run(&["order-out", &out]);
        assert_eq!(order["code"], -1, "{what}: nothing created: {order}");
    }
    // Wrong key, unknown pid.
    let mut wrong = Client::new(&e, Lang::Python);
    wrong.key = "0123456789abcdef-wrong".into();
    let (sub, _) = wrong.run(&["submit", &unique("W"), "1.00", "Tea", n, r, "alipay"]);
    assert_eq!(sub["status"], 400, "wrong sign: {sub}");
    let (q, _) = wrong.run(&["query"]);
    assert_eq!(q["code"], -1, "{q}");
    let mut stranger = Client::new(&e, Lang::Python);
    stranger.pid = "999999".into();
    let (m, _) = stranger.run(&["mapi", &unique("P"), "1.00", "Tea", n, r, "alipay", "pc"]);
    assert_eq!(m["code"], -1, "unknown pid: {m}");
}
