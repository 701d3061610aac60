//! The merchant's lists and CSV exports (issue 21) against the real Worker
//! and D1: every order filter, refunds, a page boundary crossed while
//! orders are being created, the 400s; and one export read back by a real
//! spreadsheet (headless LibreOffice, tests/sheets/cells.py): codes still
//! text, amounts exact, Chinese intact, the formula guard holding.

use std::collections::BTreeSet;

use e2e::{now_ms, E2e, UA_DESKTOP};
use reqwest::Method;
use serde_json::{json, Value};

/// A QR order with this subject; its charge code.
fn qr_order(e: &E2e, amount: &str, subject: &str, channel: &str) -> String {
    let (status, body) = e.admin(
        Method::POST,
        "/v1/qr-orders",
        Some(&json!({"amount": amount, "subject": subject, "channel": channel})),
    );
    assert_eq!(status, 200, "qr order: {body}");
    body["charge_code"].as_str().unwrap().to_owned()
}

/// `GET {path}` that must answer 200: the list.
fn list(e: &E2e, path: &str) -> Value {
    let (status, body) = e.admin(Method::GET, path, None);
    assert_eq!(status, 200, "{path}: {body}");
    assert!(body["has_more"].is_boolean(), "{body}");
    body
}

/// The charge codes of a list, in order.
fn codes(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["charge_code"].as_str().unwrap().to_owned())
        .collect()
}

/// The codes of `path`'s list must be exactly `want`, in the list order
/// (newest first: `created_at`, then the charge code, descending).
fn assert_listed(e: &E2e, path: &str, want: &[String]) {
    let page = list(e, path);
    let mut keys: Vec<(u64, String)> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["created_at"].as_u64().unwrap(),
                o["charge_code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let got: Vec<String> = keys.iter().map(|k| k.1.clone()).collect();
    keys.sort_by(|a, b| b.cmp(a));
    let sorted: Vec<String> = keys.into_iter().map(|k| k.1).collect();
    assert_eq!(got, sorted, "{path}: not newest first");
    let (mut got, mut want) = (got, want.to_vec());
    got.sort();
    want.sort();
    assert_eq!(got, want, "{path}");
}

/// The test's orders: a link with a 20-digit ref paid by QR, subject
/// `=1+1`; QR orders whose subjects start with `marker`.
struct Fixture {
    started: u64,
    marker: String,
    reference: String,
    link_code: String,
    link_id: String,
    qr: Vec<String>,
}

fn fixture(e: &E2e) -> Fixture {
    let started = now_ms() / 1000;
    let n = now_ms() % 1_000_000_000;
    let marker = format!("lst{n}");
    let reference = format!("{:020}", 12_345_678_900_000_000_000u64 + n);
    let (status, link) = e.admin(
        Method::POST,
        "/v1/links",
        Some(&json!({"amount": "12.30", "subject": "=1+1", "ref": reference})),
    );
    assert_eq!(status, 200, "{link}");
    let token = link["token"].as_str().unwrap();
    let (_, link_code) = e.pay_ok(token, "native", UA_DESKTOP, json!({}));
    let qr = vec![
        qr_order(e, "0.01", &format!("{marker} 咖啡, 大杯"), "wechat"),
        qr_order(e, "99999.99", &format!("{marker} say \"hi\""), "alipay"),
        qr_order(e, "1.00", &format!("{marker} 茶"), "wechat"),
    ];
    let link_id = list(e, &format!("/v1/orders?ref={reference}"))["data"][0]["link_id"]
        .as_str()
        .expect("the link attempt has its link_id")
        .to_owned();
    Fixture {
        started,
        marker,
        reference,
        link_code,
        link_id,
        qr,
    }
}

#[test]
fn order_lists_filter_and_page() {
    let e = E2e::from_env();
    let f = fixture(&e);
    let mine = f.qr.clone();

    // The order object.
    let by_ref = list(&e, &format!("/v1/orders?ref={}", f.reference));
    assert_eq!(codes(&by_ref), vec![f.link_code.clone()]);
    let o = &by_ref["data"][0];
    for field in [
        "charge_code",
        "link_id",
        "ref",
        "subject",
        "method",
        "channel",
        "state",
        "amount",
        "amount_fen",
        "refunded_fen",
        "created_at",
        "paid_at",
    ] {
        assert!(o.get(field).is_some(), "{field} missing: {o}");
    }
    assert_eq!(o["ref"], json!(f.reference));
    assert_eq!(o["subject"], json!("=1+1"));
    assert_eq!(o["amount"], json!("12.30"));
    assert_eq!(o["amount_fen"], json!(1230));
    assert_eq!(o["method"], json!("native"));
    assert_eq!(o["state"], json!("pending"));
    assert_eq!(by_ref["has_more"], json!(false));

    // Each filter.
    let q = &f.marker;
    for (query, want) in [
        (format!("link={}", f.link_id), vec![f.link_code.clone()]),
        (format!("q={q}"), mine.clone()),
        (
            format!("q={}", &f.reference[..19]),
            vec![f.link_code.clone()],
        ),
        (format!("q={}", &f.qr[1][..20]), vec![f.qr[1].clone()]),
        (
            format!("q={q}&channel=wechat"),
            vec![f.qr[2].clone(), f.qr[0].clone()],
        ),
        (format!("q={q}&channel=alipay"), vec![f.qr[1].clone()]),
        (format!("q={q}&method=native&state=pending"), mine.clone()),
        (format!("q={q}&state=paid"), vec![]),
        (format!("q={q}&method=pos"), vec![]),
        (format!("q={q}&created_gte={}", f.started), mine.clone()),
        (format!("q={q}&created_lt={}", f.started), vec![]),
        (
            format!("created_gte={}&channel=alipay&q={q}", f.started),
            vec![f.qr[1].clone()],
        ),
    ] {
        assert_listed(
            &e,
            &format!("/v1/orders?{}", query.replace(' ', "%20")),
            &want,
        );
    }
    // q is a prefix, not a substring.
    assert!(codes(&list(&e, &format!("/v1/orders?q={}", &q[1..]))).is_empty());

    // Pages of one while orders are being created: every order of the
    // marker once, newest first. One created meanwhile lands above the
    // cursor (not seen) or, in the cursor's own second with a lower code,
    // below it (seen once, in its place): never a gap, never a repeat.
    let newest_first = codes(&list(&e, &format!("/v1/orders?q={q}")));
    let (mut seen, mut meanwhile) = (Vec::new(), Vec::new());
    let mut path = format!("/v1/orders?q={q}&limit=1");
    loop {
        let page = list(&e, &path);
        let page_codes = codes(&page);
        assert!(page_codes.len() <= 1);
        seen.extend(page_codes.iter().cloned());
        meanwhile.push(qr_order(&e, "2.00", &format!("{q} meanwhile"), "wechat"));
        if page["has_more"] == json!(false) {
            break;
        }
        path = format!("/v1/orders?q={q}&limit=1&starting_after={}", page_codes[0]);
    }
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "a repeat: {seen:?}");
    let first: Vec<String> = seen
        .iter()
        .filter(|c| !meanwhile.contains(c))
        .cloned()
        .collect();
    assert_eq!(first, newest_first, "a gap: {seen:?}");
    let all = codes(&list(&e, &format!("/v1/orders?q={q}&limit=100")));
    // The three, and one created after each page; the pages saw them in
    // the list's own order.
    assert_eq!(all.len(), 3 + meanwhile.len(), "{all:?}");
    let in_order: Vec<String> = all.iter().filter(|c| seen.contains(c)).cloned().collect();
    assert_eq!(in_order, seen);

    // Refused, with the field named.
    for (query, words) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("state=settled", "state"),
        ("channel=bank", "channel"),
        ("created_gte=yesterday", "created_gte"),
        ("colour=red", "unknown parameter"),
        ("starting_after=nosuchorder", "starting_after"),
    ] {
        let (status, body) = e.admin(Method::GET, &format!("/v1/orders?{query}"), None);
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["code"], json!("INVALID_REQUEST"), "{body}");
        assert!(body.to_string().contains(words), "{query}: {body}");
    }
    let (status, _) = e.admin(Method::GET, "/v1/refunds?state=paid", None);
    assert_eq!(status, 400);
}

#[test]
fn refund_lists() {
    let e = E2e::from_env();
    let code = qr_order(&e, "5.00", "refund list", "wechat");
    e.sandbox_pay_and_wait(&code, "the QR order paid");
    for amount in ["1.00", "2.00"] {
        let (status, body) = e.admin(
            Method::POST,
            &format!("/v1/orders/{code}/refunds"),
            Some(&json!({"amount": amount, "reason": "list"})),
        );
        assert_eq!(status, 200, "{body}");
    }
    let page = list(&e, &format!("/v1/refunds?order={code}"));
    let ids: Vec<&str> = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{page}");
    let first = list(&e, &format!("/v1/refunds?order={code}&limit=1"));
    assert_eq!(first["has_more"], json!(true));
    let next = list(
        &e,
        &format!(
            "/v1/refunds?order={code}&limit=1&starting_after={}",
            first["data"][0]["id"].as_str().unwrap()
        ),
    );
    assert_eq!(next["has_more"], json!(false));
    assert_ne!(first["data"][0]["id"], next["data"][0]["id"]);
    let succeeded = list(&e, &format!("/v1/refunds?order={code}&state=succeeded"));
    assert_eq!(
        succeeded["data"].as_array().unwrap().len(),
        2,
        "{succeeded}"
    );
    assert_eq!(
        succeeded["data"][0]["amount_fen"].as_u64().unwrap() % 100,
        0
    );
    let o = list(&e, &format!("/v1/orders?q={code}"));
    assert_eq!(o["data"][0]["refunded_fen"], json!(300), "{o}");
    assert_eq!(o["data"][0]["state"], json!("partially_refunded"));
}

/// A spreadsheet cell as tests/sheets/cells.py reports it.
fn cell(rows: &Value, row: usize, col: usize) -> (String, String) {
    let c = &rows[row][col];
    (
        c["type"].as_str().unwrap_or("").to_owned(),
        c["text"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn orders_csv_reads_back_in_a_spreadsheet() {
    let e = E2e::from_env();
    let f = fixture(&e);
    let resp = e
        .admin_request(
            Method::GET,
            &format!("/v1/orders.csv?created_gte={}&limit=1", f.started),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status(), 400, "an export takes no page parameters");
    let resp = e
        .admin_request(
            Method::GET,
            &format!("/v1/orders.csv?created_gte={}", f.started),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        e2e::header(&resp, "content-type"),
        "text/csv; charset=utf-8"
    );
    assert!(e2e::header(&resp, "content-disposition").contains("orders.csv"));
    let bytes = resp.bytes().unwrap().to_vec();
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert!(
        text.starts_with("charge_code,created_at,paid_at,state,amount,"),
        "{text}"
    );
    assert!(text.ends_with("\r\n"));
    assert_eq!(
        text.matches("\r\n").count(),
        text.matches('\n').count(),
        "every line ends in CRLF"
    );
    assert!(
        text.contains(" say \"\"hi\"\"\","),
        "RFC 4180 quoting: {text}"
    );
    assert!(text.contains("'=1+1"), "formula guard: {text}");
    assert!(text.contains("+08:00"), "Beijing times: {text}");

    // What a spreadsheet makes of it.
    let dir = std::env::temp_dir().join(format!("e2e-csv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("orders.csv");
    std::fs::write(&file, &bytes).unwrap();
    let out = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/sheets/cells.py"))
        .arg(&file)
        .arg(&dir)
        .output()
        .expect("python3 runs tests/sheets/cells.py");
    assert!(
        out.status.success(),
        "LibreOffice conversion failed (is libreoffice-calc-nogui installed? .ci/run installs it): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
    let header: Vec<String> = rows[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap().to_owned())
        .collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    assert_eq!(
        header[0], "charge_code",
        "the BOM is not part of the first cell"
    );
    let row_of = |code: &str| {
        (1..rows.as_array().unwrap().len())
            .find(|&r| cell(&rows, r, 0).1 == code)
            .unwrap_or_else(|| panic!("{code} not in the sheet: {rows}"))
    };
    // The link attempt: 20-digit ref as text, =1+1 shown not evaluated.
    let r = row_of(&f.link_code);
    assert_eq!(
        cell(&rows, r, col("ref")),
        ("string".into(), f.reference.clone())
    );
    assert_eq!(
        cell(&rows, r, col("subject")),
        ("string".into(), "'=1+1".into())
    );
    assert!(
        rows[r][col("subject")]["formula"].is_null(),
        "evaluated: {}",
        rows[r]
    );
    assert_eq!(
        cell(&rows, r, col("link_id")),
        ("string".into(), f.link_id.clone())
    );
    assert_eq!(rows[r][col("amount")]["type"], json!("float"));
    assert_eq!(rows[r][col("amount")]["value"], json!("12.3"));
    // Chinese, a comma inside, the exact largest amount.
    let r = row_of(&f.qr[0]);
    assert_eq!(
        cell(&rows, r, col("subject")),
        ("string".into(), format!("{} 咖啡, 大杯", f.marker))
    );
    assert_eq!(rows[r][col("amount")]["value"], json!("0.01"));
    let r = row_of(&f.qr[1]);
    assert_eq!(
        cell(&rows, r, col("subject")).1,
        format!("{} say \"hi\"", f.marker)
    );
    assert_eq!(rows[r][col("amount")]["value"], json!("99999.99"));
    // Every charge code is text, whatever its digits.
    for code in f.qr.iter().chain([&f.link_code]) {
        assert_eq!(cell(&rows, row_of(code), 0).0, "string");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
