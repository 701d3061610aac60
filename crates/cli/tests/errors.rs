//! Bad input gives one clear line on stderr and exit status 2.

mod common;

use common::{run, run_cmd, soushou, Dir, KEY};

/// Asserts exit 2, nothing on stdout, one `soushou: …` line containing `what`.
fn assert_error(out: &common::Run, what: &str) {
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(out.stdout, "", "{out:?}");
    assert_eq!(out.stderr.lines().count(), 1, "one line: {:?}", out.stderr);
    assert!(out.stderr.starts_with("soushou: "), "{:?}", out.stderr);
    assert!(
        out.stderr.contains(what),
        "expected {what:?} in {:?}",
        out.stderr
    );
}

#[test]
fn missing_or_empty_key() {
    let dir = Dir::new();
    let body = dir.file("body.json", "{}");
    let missing = dir.missing("nope.key");
    let out = run(&["sign", "--key-file", &missing, &body]);
    assert_error(
        &out,
        &format!("cannot read {missing}: No such file or directory"),
    );
    assert_error(
        &run(&["sign", &body]),
        "no merchant key: pass --key-file FILE or set SOUSHOU_KEY",
    );
    let blank = dir.file("blank.key", " \n");
    assert_error(&run(&["encrypt", "--key-file", &blank, &body]), "is empty");
    let out = run_cmd(soushou().env("SOUSHOU_KEY", "").args(["sign", &body]), None);
    assert_error(&out, "the merchant key in SOUSHOU_KEY is empty");
    // The key is never accepted as an argument.
    let out = run(&["sign", "--key", KEY, &body]);
    assert_error(&out, "never taken from the command line");
    assert!(!out.stderr.contains(KEY));
}

#[test]
fn empty_body() {
    let dir = Dir::new();
    let key = dir.file("k", KEY);
    let empty = dir.file("empty.json", "");
    assert_error(
        &run(&["sign", "--key-file", &key, &empty]),
        "empty.json is empty",
    );
    // Nothing piped in.
    assert_error(
        &run(&["encrypt", "--key-file", &key]),
        "the body in stdin is empty",
    );
    assert_error(
        &run(&[
            "doctor",
            "--key-file",
            &key,
            "--sign",
            &format!("{}:1", "0".repeat(32)),
            &empty,
        ]),
        "is empty",
    );
}

#[test]
fn garbage_sign() {
    let dir = Dir::new();
    let key = dir.file("k", KEY);
    let body = dir.file("body.json", "{\"AMT\":\"0.01\"}");
    for (sign, why) in [
        (
            "hello",
            "malformed sign parameter: expected <md5hex>:<timestamp>",
        ),
        (
            "zz:1",
            "malformed sign parameter: digest is not 32 hex digits",
        ),
        (
            &format!("{}:soon", "a".repeat(32)),
            "malformed sign parameter: timestamp is not a decimal integer",
        ),
    ] {
        assert_error(
            &run(&["verify", "--key-file", &key, "--sign", sign, &body]),
            why,
        );
        assert_error(
            &run(&["doctor", "--key-file", &key, "--sign", sign, &body]),
            why,
        );
    }
    assert_error(
        &run(&["verify", "--key-file", &key, &body]),
        "--sign HEX:TS is required",
    );
}

#[test]
fn garbage_ciphertext_and_bodies() {
    let dir = Dir::new();
    let key = dir.file("k", KEY);
    let junk = dir.file("junk.txt", "not base64 at all!");
    assert_error(
        &run(&["decrypt", "--key-file", &key, &junk]),
        "decryption failed: body is not valid base64",
    );
    let other = dir.file("other.key", "ANOTHERKEY0123456789ABCDEFGHIJKL");
    let body = dir.file("body.json", "{\"AMT\":\"0.01\"}");
    let enc = run(&["encrypt", "--key-file", &other, &body]);
    let cipher = dir.file("cipher.txt", &enc.stdout);
    assert_error(
        &run(&["decrypt", "--key-file", &key, &cipher]),
        "decryption failed",
    );
    let out = run(&[
        "doctor",
        "--key-file",
        &key,
        "--sign",
        &format!("{}:1", "0".repeat(32)),
        "--encrypted",
        &cipher,
    ]);
    assert_error(&out, "cannot decrypt the body with this key");
    // A call whose body is not a request of that interface.
    let out = run(&[
        "call",
        "order",
        "--gateway",
        "http://127.0.0.1:9/openGateway/openService/",
        "--busi-code",
        "01000001",
        "--key-file",
        &key,
        &body,
    ]);
    assert_error(&out, "missing field");
}

#[test]
fn bad_command_lines() {
    assert_error(&run(&[]), "no command given");
    assert_error(&run(&["frobnicate"]), "unknown command \"frobnicate\"");
    assert_error(&run(&["sign", "--window", "5"]), "--window");
    assert_error(&run(&["sign", "--ts", "soon"]), "soon");
    let out = run(&[
        "call",
        "orders",
        "--gateway",
        "http://127.0.0.1:9/",
        "--busi-code",
        "1",
    ]);
    assert_error(
        &out,
        "unknown interface \"orders\": one of preOrder, order, creatOrder",
    );
    let out = run(&[
        "call",
        "query",
        "--gateway",
        "https://gw.example/",
        "--busi-code",
        "1",
        "X",
    ]);
    assert_error(&out, "must be an http:// URL");
    assert_error(
        &run(&["sign", "--cancel", "X"]),
        "--cancel needs --busi-code",
    );
    let help = run(&["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("soushou doctor"), "{}", help.stdout);
}

#[test]
fn unreachable_gateway() {
    let dir = Dir::new();
    let key = dir.file("k", KEY);
    // Port 9 (discard) on loopback: nothing listens there in a test sandbox.
    let out = run(&[
        "call",
        "query",
        "--gateway",
        "http://127.0.0.1:9/openGateway/openService/",
        "--busi-code",
        "01000001",
        "--key-file",
        &key,
        "CODE-1",
    ]);
    assert_error(&out, "cannot reach the gateway at http://127.0.0.1:9/openGateway/openService/query/CODE-1/01000001");
}
