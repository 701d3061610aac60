//! `soushou call` against the real `soushou-sandbox` binary, for every
//! interface, in JSON and XML, encrypted and in clear.

mod common;

use common::{run, Dir, Run, Sandbox, BUSI_CODE, BUSI_ID, KEY};
use serde_json::Value;

/// A request body from `tests/fixtures` (the examples the README points to).
fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

struct Gateway {
    sandbox: Sandbox,
    dir: Dir,
    key: String,
}

impl Gateway {
    fn start() -> Gateway {
        let dir = Dir::new();
        Gateway {
            sandbox: Sandbox::start(),
            key: dir.file("merchant.key", format!("{KEY}\n")),
            dir,
        }
    }

    /// `soushou call IFACE --gateway … --busi-code … --key-file … ARGS…`.
    fn call(&self, iface: &str, args: &[&str]) -> Run {
        let gw = self.sandbox.gateway();
        let mut all = vec![
            "call",
            iface,
            "--gateway",
            &gw,
            "--busi-code",
            BUSI_CODE,
            "--key-file",
            &self.key,
        ];
        all.extend(args);
        run(&all)
    }
}

/// A successful JSON answer: exit 0, the root, `RESULT.CODE` SUCCESS.
fn ok_json(out: &Run, root: &str) -> Value {
    assert_eq!(
        out.code, 0,
        "stdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    let v: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout));
    assert_eq!(v[root]["RESULT"]["CODE"], "SUCCESS", "{v}");
    v[root].clone()
}

#[test]
fn every_interface_against_the_sandbox() {
    let gw = Gateway::start();

    // preOrder: the shopper's code is scanned, paid at once.
    let pre = ok_json(&gw.call("preOrder", &[&fixture("preOrder")]), "ORDER_RESP");
    assert_eq!(pre["CHARGE_CODE"], "CLI-PRE-1");
    assert_eq!(pre["AMT"], 158, "amount in fen: {pre}");
    let logged = gw.sandbox.last_request();
    assert_eq!(logged["interface"], "preOrder", "{logged}");
    assert_eq!(logged["result_code"], "SUCCESS", "{logged}");

    // query by CHARGE_CODE: state 1 (paid).
    let q = ok_json(&gw.call("query", &["CLI-PRE-1"]), "QUERY_RESP");
    assert_eq!(q["STATE"], 1, "{q}");
    assert_eq!(q["BUSI_ID"], BUSI_ID);

    // A partial refund, then refundQuery lists it.
    ok_json(&gw.call("refund", &[&fixture("refund")]), "REFUND_RESP");
    let rq = ok_json(&gw.call("refundQuery", &["CLI-PRE-1"]), "REFUND_QUERY_RESP");
    assert_eq!(rq["REFUND_AMT"], 58, "{rq}");
    assert_eq!(
        rq["REFUND_TRADE_LIST"]["REFUND_TRADE"][0]["REFUND_CODE"], "CLI-REFUND-1",
        "{rq}"
    );

    // order (WeChat NATIVE): a QR link to the sandbox's shopper page.
    let order = ok_json(&gw.call("order", &[&fixture("order")]), "ORDER_RESP");
    assert_eq!(
        order["BAR_CODE"],
        format!("{}/sandbox/shopper/CLI-ORDER-1", gw.sandbox.url)
    );

    // cancelTrade revokes it; a second revocation is refused (exit 1),
    // with the gateway's answer printed and its code on stderr.
    ok_json(
        &gw.call("cancelTrade", &["CLI-ORDER-1"]),
        "CANCELTRADE_RESP",
    );
    let again = gw.call("cancelTrade", &["CLI-ORDER-1"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stdout.contains("AREADY_REVOKED"), "{}", again.stdout);
    assert!(
        again
            .stderr
            .starts_with("soushou: gateway refused: AREADY_REVOKED"),
        "{}",
        again.stderr
    );

    // creatOrder (Alipay) and wapOrder (H5).
    let ali = ok_json(
        &gw.call("creatOrder", &[&fixture("creatOrder")]),
        "ORDER_RESP",
    );
    assert_eq!(ali["CHARGE_CODE"], "CLI-ALI-1");
    let wap = ok_json(&gw.call("wapOrder", &[&fixture("wapOrder")]), "ORDER_RESP");
    assert_eq!(
        wap["BAR_CODE"],
        format!("{}/sandbox/shopper/CLI-WAP-1", gw.sandbox.url)
    );
}

#[test]
fn xml_in_clear_and_apply_mode() {
    let gw = Gateway::start();
    let out = gw.call("preOrder", &["--xml", "--no-encrypt", &fixture("preOrder")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("<ORDER_RESP>"), "{}", out.stdout);
    assert!(
        out.stdout.contains("<CODE>SUCCESS</CODE>"),
        "{}",
        out.stdout
    );
    let logged = gw.sandbox.last_request();
    let query = logged["query"].to_string();
    assert!(!query.contains("3DES"), "sent in clear: {logged}");
    assert!(!query.contains("_type"), "XML asked: {logged}");

    // The same order again: SERIAL_REPEAT, exit 1.
    let out = gw.call("preOrder", &["--no-encrypt", &fixture("preOrder")]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("SERIAL_REPEAT"), "{}", out.stderr);

    // cancelTrade --apply sends opType=ACO; the sandbox answers success.
    let out = gw.call("cancelTrade", &["--apply", "--xml", "CLI-PRE-1"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("<CANCELTRADE_RESP>"), "{}", out.stdout);
    let logged = gw.sandbox.last_request();
    assert!(logged["query"].to_string().contains("ACO"), "{logged}");
}

#[test]
fn verbose_shows_the_exchange_with_the_key_masked() {
    let gw = Gateway::start();
    let out = gw.call("order", &["-v", &fixture("order")]);
    ok_json(&out, "ORDER_RESP");
    let err = &out.stderr;
    assert!(err.contains("> POST http://127.0.0.1:"), "{err}");
    assert!(err.contains("/order?sign="), "{err}");
    assert!(err.contains("&encrypt=3DES&busiCode=01000001"), "{err}");
    assert!(err.contains("> key: **** (from "), "{err}");
    assert!(
        err.contains("> plaintext (signed): {\"BUSI_ID\":\"0010000001\""),
        "{err}"
    );
    assert!(err.contains("< HTTP 200"), "{err}");
    assert!(
        !err.contains(KEY) && !out.stdout.contains(KEY),
        "the key leaked: {err}"
    );
}

#[test]
fn a_wrong_key_is_refused_and_the_doctor_says_why() {
    let gw = Gateway::start();
    // The merchant signed with a key pasted with a trailing space: the
    // sandbox (checking like the gateway) answers INVALID_SIGN.
    let body = std::fs::read(fixture("order")).unwrap();
    let forged = common::forge(
        1_764_028_800,
        &format!("{KEY} "),
        &common::java_strip(&body),
        1_764_028_800,
    );
    let refused = reqwest::blocking::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!(
            "{}order?sign={forged}&_type=json&busiCode={BUSI_CODE}",
            gw.sandbox.gateway()
        ))
        .header("Content-Type", "application/json;charset=UTF-8")
        .body(body)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(refused.contains("INVALID_SIGN"), "{refused}");
    // `call` with a key that is wrong outright gets the same refusal.
    let wrong = gw.dir.file("wrong.key", "ANOTHERKEY0123456789ABCDEFGHIJKL");
    let gwu = gw.sandbox.gateway();
    let out = run(&[
        "call",
        "order",
        "--gateway",
        &gwu,
        "--busi-code",
        BUSI_CODE,
        "--key-file",
        &wrong,
        "--no-encrypt",
        &fixture("order"),
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("gateway refused: INVALID_SIGN"),
        "{}",
        out.stderr
    );
    // The doctor, given the real key, names the stray space.
    let out = run(&[
        "doctor",
        "--key-file",
        &gw.key,
        "--sign",
        &forged,
        "--now",
        "1764028800",
        &fixture("order"),
    ]);
    assert_eq!(
        out.first_line(),
        "match: key-with-whitespace",
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("\"\" + key + \" \""), "{}", out.stdout);
}
