//! The Worker side of the merchant console (issue 22) against the real
//! Worker and D1: `GET /v1/links` (contract v1.1 "Lists": kind, active,
//! ref, cursor paging, the 400s), a link's public QR code
//! `GET /c/{token}/qr.svg` (cacheable; forged, deactivated links refused),
//! `POST /v1/events/test` delivered to a receiver with its status, latency
//! and the start of its answer readable in `GET /v1/events/{id}`, and
//! `GET /v1/events?order=&delivery=` (one order's events, the failed
//! ones; bad values refused), and `GET /v1/settings` (health, no secret).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;

use e2e::{header, now_ms, E2e};
use reqwest::Method;
use serde_json::{json, Value};

/// Creates a link from `body`; its answer.
fn create(e: &E2e, body: Value) -> Value {
    let (status, link) = e.admin(Method::POST, "/v1/links", Some(&body));
    assert_eq!(status, 200, "{body} -> {link}");
    link
}

/// `GET {path}` that must answer 200 with a list.
fn list(e: &E2e, path: &str) -> Value {
    let (status, body) = e.admin(Method::GET, path, None);
    assert_eq!(status, 200, "{path}: {body}");
    assert!(body["has_more"].is_boolean(), "{body}");
    body
}

/// The ids of a list, in order.
fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn link_lists_filter_and_page() {
    let e = E2e::from_env();
    let reference = format!("lnk{}", now_ms());
    let fixed = create(
        &e,
        json!({"amount": "12.30", "subject": "茶 tea", "ref": reference}),
    );
    let open = create(
        &e,
        json!({"kind": "open", "min_amount": "1.00", "max_amount": "50.00",
            "subject": "open", "ref": reference}),
    );
    let counter = create(
        &e,
        json!({"kind": "counter", "min_amount": "0.01", "max_amount": "500.00",
            "subject": "counter", "ref": reference}),
    );
    let gone = create(
        &e,
        json!({"amount": "1.00", "subject": "gone", "ref": reference}),
    );
    let last = create(
        &e,
        json!({"kind": "open", "min_amount": "2.00", "max_amount": "9.00",
            "subject": "open 2", "ref": reference}),
    );
    let id = |l: &Value| l["id"].as_str().unwrap().to_owned();
    let (status, v) = e.admin(
        Method::POST,
        &format!("/v1/links/{}/deactivate", id(&gone)),
        None,
    );
    assert_eq!(status, 200, "{v}");

    // Everything of the ref, newest first.
    let all = list(&e, &format!("/v1/links?ref={reference}"));
    let mut keys: Vec<(u64, String)> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["created_at"].as_u64().unwrap(), id(l)))
        .collect();
    let got: Vec<String> = keys.iter().map(|k| k.1.clone()).collect();
    keys.sort_by(|a, b| b.cmp(a));
    assert_eq!(got, keys.into_iter().map(|k| k.1).collect::<Vec<_>>());
    let want: BTreeSet<String> = [&fixed, &open, &counter, &gone, &last]
        .into_iter()
        .map(id)
        .collect();
    assert_eq!(got.iter().cloned().collect::<BTreeSet<_>>(), want);
    assert_eq!(all["has_more"], false);

    // The list entries: the contract's id, kind, url, active, and amounts.
    let entry = |l: &Value| {
        all["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["id"] == l["id"])
            .cloned()
            .unwrap()
    };
    let f = entry(&fixed);
    assert_eq!(
        (&f["kind"], &f["url"], &f["token"], &f["active"]),
        (
            &json!("fixed"),
            &fixed["url"],
            &fixed["token"],
            &json!(true)
        )
    );
    assert_eq!(
        (&f["amount"], &f["amount_fen"]),
        (&json!("12.30"), &json!(1230))
    );
    assert_eq!(
        (&f["subject"], &f["ref"]),
        (&json!("茶 tea"), &json!(reference))
    );
    assert_eq!(f["expires_at"], fixed["expires_at"]);
    let c = entry(&counter);
    assert_eq!(c["kind"], "counter");
    assert_eq!(c["amount"], Value::Null);
    assert_eq!(
        (&c["min_amount"], &c["max_amount"]),
        (&json!("0.01"), &json!("500.00"))
    );
    assert_eq!(
        c["expires_at"],
        Value::Null,
        "a counter code without expiry"
    );
    let o = entry(&open);
    assert_eq!(
        (&o["min_amount"], &o["max_amount"]),
        (&json!("1.00"), &json!("50.00"))
    );
    let g = entry(&gone);
    assert_eq!(g["active"], false);
    assert!(g["deactivated_at"].as_u64().is_some(), "{g}");

    // Filters, alone and combined.
    let only = |q: &str| -> BTreeSet<String> {
        ids(&list(&e, &format!("/v1/links?ref={reference}&{q}")))
            .into_iter()
            .collect()
    };
    assert_eq!(only("kind=open"), [id(&open), id(&last)].into());
    assert_eq!(only("kind=counter"), [id(&counter)].into());
    assert_eq!(only("active=false"), [id(&gone)].into());
    assert_eq!(only("kind=fixed&active=true"), [id(&fixed)].into());
    assert_eq!(only("kind=fixed&active=false"), [id(&gone)].into());
    let counters = ids(&list(&e, "/v1/links?kind=counter&limit=100"));
    assert!(counters.contains(&id(&counter)), "{counters:?}");

    // Pages of two: no gaps, no repeats, while a link is added between pages.
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    let mut added = None;
    loop {
        let mut path = format!("/v1/links?ref={reference}&limit=2");
        if let Some(c) = &cursor {
            path.push_str(&format!("&starting_after={c}"));
        }
        let page = list(&e, &path);
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2);
        paged.extend(page_ids.clone());
        if added.is_none() {
            added = Some(id(&create(
                &e,
                json!({"amount": "3.00", "subject": "added", "ref": reference}),
            )));
        }
        if page["has_more"] != true {
            break;
        }
        cursor = page_ids.last().cloned();
    }
    // No repeats; every link in order. The one added between pages is on a
    // later page only if its key is below the cursor (the same second,
    // placed by its id), never twice and never moving another.
    let unique: BTreeSet<&String> = paged.iter().collect();
    assert_eq!(unique.len(), paged.len(), "a link repeated: {paged:?}");
    let added = added.unwrap();
    let without: Vec<String> = paged.into_iter().filter(|l| *l != added).collect();
    assert_eq!(without, got, "pages of two read the same links in order");

    // What the contract refuses.
    for (query, field) in [
        ("kind=qr", "kind"),
        ("active=yes", "active"),
        ("state=paid", "state"),
        ("limit=0", "limit"),
        ("starting_after=nope", "starting_after"),
    ] {
        let (status, body) = e.admin(Method::GET, &format!("/v1/links?{query}"), None);
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], "INVALID_REQUEST", "{query}: {body}");
        assert!(body.to_string().contains(field), "{query}: {body}");
    }
}

#[test]
fn a_links_public_qr_code_is_cacheable_and_refused_once_the_link_is_not_payable() {
    let e = E2e::from_env();
    let link = create(
        &e,
        json!({"kind": "counter", "min_amount": "0.01", "max_amount": "100.00",
            "subject": "qr", "ref": format!("qr{}", now_ms())}),
    );
    let token = link["token"].as_str().unwrap();
    // Public: no credential.
    let resp = e.browse(&format!("/c/{token}/qr.svg"));
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(header(&resp, "content-type"), "image/svg+xml");
    assert_eq!(header(&resp, "cache-control"), "public, max-age=300");
    assert_eq!(header(&resp, "x-content-type-options"), "nosniff");
    assert!(header(&resp, "content-security-policy").contains("default-src 'none'"));
    let svg = resp.text().unwrap();
    assert!(svg.starts_with("<svg") || svg.starts_with("<?xml"), "{svg}");
    // The same image as the merchant's authenticated one.
    let own = e
        .admin_request(
            Method::GET,
            &format!("/v1/links/{}/qr.svg", link["id"].as_str().unwrap()),
        )
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(svg, own);

    // A forged token: the link's payload with another signature.
    let (payload, _) = token.split_once('.').unwrap();
    let forged = format!("{payload}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let (status, body) = e.get(&format!("/c/{forged}/qr.svg"));
    assert_eq!(
        (status, &body["error"]["code"]),
        (400, &json!("INVALID_LINK"))
    );

    // Deactivated: 410 LINK_INACTIVE.
    let (status, _) = e.admin(
        Method::POST,
        &format!("/v1/links/{}/deactivate", link["id"].as_str().unwrap()),
        None,
    );
    assert_eq!(status, 200);
    let (status, body) = e.get(&format!("/c/{token}/qr.svg"));
    assert_eq!(
        (status, &body["error"]["code"]),
        (410, &json!("LINK_INACTIVE")),
        "{body}"
    );
}

/// A webhook endpoint on `E2E_WEBHOOK_URL`'s port that answers every POST
/// `202` with a JSON body, until dropped.
struct Endpoint {
    stop: Arc<AtomicBool>,
    port: u16,
}

const ANSWER: &str = "{\"received\": true,\n \"by\": \"e2e console\"}";

impl Endpoint {
    fn start() -> Endpoint {
        let url = std::env::var("E2E_WEBHOOK_URL").expect("E2E_WEBHOOK_URL");
        let port: u16 = url
            .rsplit(':')
            .next()
            .and_then(|p| p.split('/').next())
            .and_then(|p| p.parse().ok())
            .expect("a port in E2E_WEBHOOK_URL");
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("the webhook port is free");
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let mut reader = BufReader::new(stream.try_clone().unwrap());
                        let mut length = 0usize;
                        loop {
                            let mut line = String::new();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                break;
                            }
                            let lower = line.to_ascii_lowercase();
                            if let Some(v) = lower.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let mut body = vec![0; length];
                        let _ = reader.read_exact(&mut body);
                        let mut stream = stream;
                        let _ = write!(
                            stream,
                            "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{ANSWER}",
                            ANSWER.len()
                        );
                    }
                    Err(_) => thread::sleep(std::time::Duration::from_millis(20)),
                }
            }
        });
        Endpoint { stop, port }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        println!("endpoint on port {} stopped", self.port);
    }
}

#[test]
fn a_test_event_is_delivered_with_its_answer_and_latency() {
    let e = E2e::from_env();
    let _endpoint = Endpoint::start();
    let (status, event) = e.admin(Method::POST, "/v1/events/test", None);
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["type"], "test.ping");
    assert_eq!(event["payload"]["type"], "test.ping");
    assert_eq!(event["payload"]["data"]["test"], true);
    assert_eq!(event["payload"]["id"], event["id"]);
    let id = event["id"].as_str().unwrap().to_owned();
    let mut stored = Value::Null;
    e.eventually("the test event delivered", || {
        stored = e.admin(Method::GET, &format!("/v1/events/{id}"), None).1;
        stored["delivery"] == "delivered"
    });
    let attempt = stored["attempts"]
        .as_array()
        .unwrap()
        .last()
        .cloned()
        .unwrap();
    assert_eq!(attempt["status"], 202, "{stored}");
    assert!(attempt["latency_ms"].as_u64().is_some(), "{attempt}");
    // The start of the answer, its line break a space.
    assert_eq!(
        attempt["answer"], "{\"received\": true,  \"by\": \"e2e console\"}",
        "{attempt}"
    );
    println!("test event {id}: delivered in {} ms", attempt["latency_ms"]);
    // Listed among the events, and redeliverable like any.
    let (status, again) = e.admin(Method::POST, &format!("/v1/events/{id}/redeliver"), None);
    assert_eq!(status, 200, "{again}");
    e.eventually("redelivered", || {
        let v = e.admin(Method::GET, &format!("/v1/events/{id}"), None).1;
        v["delivery"] == "delivered" && v["attempts"].as_array().unwrap().len() >= 2
    });
    // A cashier may not send one (API.md: events are the manager's).
    let cashier = e.key_of("cashier");
    let (status, v) = E2e::send(e.key_request(&cashier, Method::POST, "/v1/events/test"));
    assert_eq!((status, &v["error"]["code"]), (403, &json!("FORBIDDEN")));
}

/// Every event `GET /v1/events?{filter}` lists, page by page (`limit=50`).
fn events_of(e: &E2e, filter: &str) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut after = String::new();
    loop {
        let page = list(e, &format!("/v1/events?{filter}&limit=50&after={after}"));
        out.extend(page["data"].as_array().unwrap().iter().cloned());
        if page["has_more"] != true {
            return out;
        }
        after = page["next_after"].as_str().unwrap().to_owned();
    }
}

/// The ids of events.
fn event_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|ev| ev["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `GET /v1/events?order=<code>` and `?delivery=<state>` (the console's
/// order page and its failed-webhook warning): with no endpoint listening
/// on `E2E_WEBHOOK_URL`, a paid order's event and a test event are retried
/// until the schedule gives up, then listed as failed; the filters combine,
/// page in row order, are read by every role, and a bad value is a 400
/// naming the field.
#[test]
fn events_filter_by_order_and_by_failed_delivery() {
    let e = E2e::from_env();
    let (_, code) = e.pending_attempt("0.37");
    e.sandbox_pay_and_wait(&code, "the order paid");
    let (status, test) = e.admin(Method::POST, "/v1/events/test", None);
    assert_eq!(status, 201, "{test}");
    let test_id = test["id"].as_str().unwrap().to_owned();

    // The order's events only: its order.paid, not the test event.
    let mut mine = Vec::new();
    e.eventually("the order's event listed", || {
        mine = events_of(&e, &format!("order={code}"));
        !mine.is_empty()
    });
    assert!(
        mine.iter()
            .all(|ev| ev["payload"]["data"]["charge_code"] == code.as_str()),
        "{mine:?}"
    );
    assert!(mine.iter().any(|ev| ev["type"] == "order.paid"), "{mine:?}");
    assert!(!event_ids(&mine).contains(&test_id));

    // Nothing answers: both end failed, and the failed filter lists them.
    e.eventually("the order's event failed", || {
        let failed = events_of(&e, &format!("order={code}&delivery=failed"));
        failed.len() == mine.len()
    });
    let mut failed = Vec::new();
    e.eventually("the test event failed", || {
        failed = events_of(&e, "delivery=failed");
        event_ids(&failed).contains(&test_id)
    });
    assert!(
        failed.iter().all(|ev| ev["delivery"] == "failed"),
        "{failed:?}"
    );
    assert!(event_ids(&failed).contains(&event_ids(&mine)[0]));
    // Oldest first, no repeats, the same with one event a page.
    let ids = event_ids(&failed);
    let seqs: Vec<u64> = ids.iter().map(|id| id[4..].parse().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let first = list(&e, "/v1/events?delivery=failed&limit=1");
    assert_eq!(event_ids(first["data"].as_array().unwrap())[..], ids[..1]);
    let second = list(
        &e,
        &format!(
            "/v1/events?delivery=failed&limit=1&after={}",
            first["next_after"].as_str().unwrap()
        ),
    );
    assert_eq!(event_ids(second["data"].as_array().unwrap())[..], ids[1..2]);
    // The other states list only their own.
    for state in ["pending", "delivered"] {
        let some = list(&e, &format!("/v1/events?delivery={state}&limit=200"));
        assert!(
            some["data"]
                .as_array()
                .unwrap()
                .iter()
                .all(|ev| ev["delivery"] == state),
            "{state}: {some}"
        );
    }
    // An order without events: an empty page, not an error.
    let none = list(&e, "/v1/events?order=no_such_order");
    assert_eq!(none["data"], json!([]));
    // Every role reads them (orders:read), a cashier and a viewer too.
    for role in ["viewer", "cashier"] {
        let key = e.key_of(role);
        let (status, v) = E2e::send(e.key_request(
            &key,
            Method::GET,
            &format!("/v1/events?order={code}&delivery=failed"),
        ));
        assert_eq!(status, 200, "{role}: {v}");
        assert_eq!(event_ids(v["data"].as_array().unwrap()), event_ids(&mine));
    }
    // Refused, naming the field.
    let long = "C".repeat(129);
    for (query, field) in [
        ("delivery=failing", "delivery"),
        ("delivery=", "delivery"),
        ("delivery=FAILED", "delivery"),
        ("delivery=failed&delivery=pending", "delivery"),
        ("order=", "order"),
        (&format!("order={long}") as &str, "order"),
        ("order=A&order=B", "order"),
        ("after=x", "after"),
        ("limit=many", "limit"),
    ] {
        let (status, body) = e.admin(Method::GET, &format!("/v1/events?{query}"), None);
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], json!("INVALID_REQUEST"), "{body}");
        assert!(body.to_string().contains(field), "{query}: {body}");
    }
    println!(
        "events of {code}: {}; failed events listed: {}",
        mine.len(),
        failed.len()
    );
}

#[test]
fn settings_show_the_workers_health_and_no_secret() {
    let e = E2e::from_env();
    e.run_cron();
    let viewer = e.key_of("viewer");
    let (status, v) = E2e::send(e.key_request(&viewer, Method::GET, "/v1/settings"));
    assert_eq!(status, 200, "{v}");
    println!("settings: {v:#}");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    let sandbox_host = std::env::var("E2E_SANDBOX_URL")
        .unwrap()
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    assert_eq!(v["gateway"]["host"], json!(sandbox_host), "{v}");
    assert!(v["gateway"]["encryption"].is_boolean(), "{v}");
    assert_eq!(v["gateway"]["merchant_key_set"], true);
    assert!(v["wallet_sign_in"]["wechat"].is_boolean());
    assert!(v["wallet_sign_in"]["alipay"].is_boolean());
    let hook = std::env::var("E2E_WEBHOOK_URL").unwrap();
    assert_eq!(v["webhook"]["url"], json!(hook), "{v}");
    assert_eq!(v["webhook"]["signing"], true);
    let ran = v["cron"]["last_run_at"].as_u64().expect("the cron ran");
    assert!(ran + 120 >= now_ms() / 1000, "{v}");
    assert_eq!(v["cron"]["ok"], true, "{v}");
    let applied = v["migrations"]["applied"]
        .as_u64()
        .expect("migrations read");
    let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations"))
        .unwrap()
        .filter(|f| {
            f.as_ref()
                .is_ok_and(|f| f.file_name().to_string_lossy().ends_with(".sql"))
        })
        .count() as u64;
    assert_eq!(applied, files, "{v}");
    assert!(v["migrations"]["latest"]
        .as_str()
        .unwrap()
        .ends_with(".sql"));
    // No secret's value anywhere in the answer.
    let text = v.to_string();
    for secret in [
        "E2E_ADMIN_TOKEN",
        "E2E_LINK_SECRET",
        "E2E_MERCHANT_KEY",
        "E2E_WEBHOOK_SECRET",
    ] {
        let value = std::env::var(secret).unwrap();
        assert!(!text.contains(&value), "{secret} shown");
    }
}
