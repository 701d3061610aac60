//! Epay orders in the chaos run: some links are opened by an epay app
//! through `mapi.php` instead of `POST /v1/links` (the same fixed link
//! underneath, so every later action of the plan applies to them alike),
//! and the app's notify receiver runs here on 127.0.0.1. At the end, every
//! epay trade whose link is paid must have been notified to the app
//! exactly once, answered `success`, and no trade more than once.
//!
//! Which links are epay is derived from the link number (no draw from the
//! seed's generator), so a seed's schedule is the same as before.

use crate::books::Mismatch;
use checkout::epay::{self, Params};
use e2e::E2e;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// Whether link `link` is opened by the epay app: every fourth link that
/// does not probe `Idempotency-Key` (that probe is `POST /v1/links`'s).
pub fn is_epay(link: usize, idempotency: bool) -> bool {
    !idempotency && link % 4 == 1
}

/// The app: its credentials, its receiver, what it received.
pub struct App {
    pid: String,
    key: String,
    notify_url: String,
    /// Verified notifications answered `success`, by `out_trade_no`.
    received: Arc<Mutex<BTreeMap<String, u32>>>,
    /// Notifications whose signature did not verify.
    forged: Arc<Mutex<u32>>,
    /// Trades opened: link number → `out_trade_no`.
    trades: Mutex<BTreeMap<usize, String>>,
}

impl App {
    /// Starts the receiver; `None` without `E2E_EPAY_PID` / `E2E_EPAY_KEY`.
    pub fn start() -> Result<Option<App>, String> {
        let (Ok(pid), Ok(key)) = (std::env::var("E2E_EPAY_PID"), std::env::var("E2E_EPAY_KEY"))
        else {
            return Ok(None);
        };
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let received = Arc::new(Mutex::new(BTreeMap::new()));
        let forged = Arc::new(Mutex::new(0));
        let (r, f, k) = (received.clone(), forged.clone(), key.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (r, f, k) = (r.clone(), f.clone(), k.clone());
                std::thread::spawn(move || answer(stream, &k, &r, &f));
            }
        });
        Ok(Some(App {
            pid,
            key,
            notify_url: format!("http://127.0.0.1:{port}/notify"),
            received,
            forged,
            trades: Mutex::default(),
        }))
    }

    /// Opens link `link` through `mapi.php` (no `type`: the page routes as
    /// for any link, so every method of the plan can pay it); its token.
    pub fn open(
        &self,
        e: &E2e,
        seed: u64,
        link: usize,
        money: &str,
        name: &str,
    ) -> Result<String, String> {
        let out_trade_no = format!("chaos{seed}-{link}");
        let mut p = Params::new();
        for (k, v) in [
            ("pid", self.pid.as_str()),
            ("out_trade_no", &out_trade_no),
            ("notify_url", &self.notify_url),
            ("return_url", "https://app.example/return"),
            ("name", name),
            ("money", money),
            ("device", "jump"),
            ("clientip", "203.0.113.7"),
        ] {
            p.insert(k.to_owned(), v.to_owned());
        }
        let sign = epay::sign(&p, &self.key);
        p.insert("sign".into(), sign);
        p.insert("sign_type".into(), "MD5".into());
        let answer: Value = e
            .http()
            .post(format!("{}/epay/mapi.php", e.worker))
            .form(&p)
            .send()
            .and_then(|r| r.json())
            .map_err(|err| err.to_string())?;
        let url = answer["payurl"]
            .as_str()
            .ok_or_else(|| format!("mapi.php: {answer}"))?;
        let token = url
            .rsplit_once("/c/")
            .map(|(_, t)| t.to_owned())
            .ok_or_else(|| format!("mapi.php payurl {url}"))?;
        self.trades.lock().unwrap().insert(link, out_trade_no);
        Ok(token)
    }

    /// How many trades were opened, and how many were notified (once or more).
    pub fn counts(&self) -> (usize, usize) {
        let received = self.received.lock().unwrap();
        let trades = self.trades.lock().unwrap();
        let notified = trades
            .values()
            .filter(|no| received.contains_key(*no))
            .count();
        (trades.len(), notified)
    }

    /// How many trades were notified more than once.
    pub fn repeated(&self) -> usize {
        self.received
            .lock()
            .unwrap()
            .values()
            .filter(|&&n| n > 1)
            .count()
    }

    /// The epay rule against the links' final states (`paid` or not): a
    /// paid trade notified exactly once, none more than once, no forgery.
    /// After a crash of the Worker, `at_least_once`: a paid trade notified
    /// once or more. (A trade no longer `paid`, e.g. refunded since, may
    /// have been notified when it was.) The app answers `success` and a
    /// runtime killed before it records that answer sends the notification
    /// again (epay's own rule: anything but `success` means try again, so
    /// apps take a repeat); nothing can make a POST and its record one
    /// step. How many were repeated is [`App::repeated`].
    pub fn check(
        &self,
        link_states: &BTreeMap<usize, String>,
        at_least_once: bool,
    ) -> Vec<Mismatch> {
        let received = self.received.lock().unwrap().clone();
        let mut out = Vec::new();
        for (link, no) in self.trades.lock().unwrap().iter() {
            let paid = link_states.get(link).is_some_and(|s| s == "paid");
            let n = received.get(no).copied().unwrap_or(0);
            let wrong = if at_least_once {
                paid && n == 0
            } else {
                (paid && n != 1) || n > 1
            };
            if wrong {
                out.push(Mismatch {
                    kind: "epay_notified",
                    code: format!("link {link} ({no})"),
                    worker: format!("notified {n} times"),
                    gateway: format!("link {}", if paid { "paid" } else { "not paid" }),
                });
            }
        }
        let forged = *self.forged.lock().unwrap();
        if forged > 0 {
            out.push(Mismatch {
                kind: "epay_signature",
                code: "notify".into(),
                worker: format!("{forged} notifications that do not verify"),
                gateway: "-".into(),
            });
        }
        out
    }
}

/// One request to the receiver: a verified GET is counted and answered
/// `success`; anything else `fail`.
fn answer(
    stream: std::net::TcpStream,
    key: &str,
    received: &Mutex<BTreeMap<String, u32>>,
    forged: &Mutex<u32>,
) {
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    // Drain the headers.
    let mut header = String::new();
    while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
        header.clear();
    }
    let target = line.split_whitespace().nth(1).unwrap_or("");
    let query = target.split_once('?').map(|(_, q)| q).unwrap_or("");
    let params = epay::params(soushou::envelope::parse_query(query));
    let ok = epay::verify(&params, key)
        && params
            .get("trade_status")
            .is_some_and(|s| s == "TRADE_SUCCESS");
    if ok {
        if let Some(no) = params.get("out_trade_no") {
            *received.lock().unwrap().entry(no.clone()).or_insert(0) += 1;
        }
    } else {
        *forged.lock().unwrap() += 1;
    }
    let body = if ok { "success" } else { "fail" };
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(trades: &[(usize, &str)], received: &[(&str, u32)]) -> App {
        App {
            pid: "1001".into(),
            key: "k".into(),
            notify_url: "http://127.0.0.1:1/notify".into(),
            received: Arc::new(Mutex::new(
                received
                    .iter()
                    .map(|(no, n)| ((*no).to_owned(), *n))
                    .collect(),
            )),
            forged: Arc::new(Mutex::new(0)),
            trades: Mutex::new(
                trades
                    .iter()
                    .map(|(l, no)| (*l, (*no).to_owned()))
                    .collect(),
            ),
        }
    }

    /// Exactly once without crashes, at least once after one; a trade not
    /// `paid` now (refunded since) may have been notified once.
    #[test]
    fn a_repeat_is_allowed_only_after_a_crash() {
        let states: BTreeMap<usize, String> = [(1, "paid"), (2, "paid"), (3, "open"), (4, "paid")]
            .into_iter()
            .map(|(l, s)| (l, s.to_owned()))
            .collect();
        let a = app(
            &[(1, "t1"), (2, "t2"), (3, "t3"), (4, "t4")],
            &[("t1", 1), ("t2", 2), ("t3", 1)],
        );
        let codes =
            |found: Vec<Mismatch>| -> Vec<String> { found.into_iter().map(|m| m.code).collect() };
        assert_eq!(
            codes(a.check(&states, false)),
            ["link 2 (t2)", "link 4 (t4)"]
        );
        assert_eq!(codes(a.check(&states, true)), ["link 4 (t4)"]);
        assert_eq!(a.repeated(), 1);
    }
}
