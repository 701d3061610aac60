//! Every vector of `spec/vectors/wire.json` (computed with the JDK's
//! MessageDigest and DESede) through `soushou sign`, `verify`, `encrypt`
//! and `decrypt`, as a merchant would run them.

mod common;

use common::{run, run_cmd, soushou, Dir};
use serde_json::Value;

/// The repository's vendored vectors, as `crates/soushou/tests/vectors.rs` reads them.
fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../spec/vectors/wire.json"))
        .expect("wire.json is valid JSON")
}

fn list<'a>(v: &'a Value, name: &str) -> &'a [Value] {
    let l = v[name]
        .as_array()
        .unwrap_or_else(|| panic!("wire.json has no {name}[]"));
    assert!(!l.is_empty(), "wire.json {name}[] is empty");
    l
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("vector field {k} missing: {v}"))
}

/// The vectors include empty bodies. The CLI refuses those unless told
/// `--allow-empty` (an empty pipe is the usual cause): check the refusal,
/// then return the flag to add.
fn allow_empty(body: &str, args: &[&str]) -> &'static [&'static str] {
    if !body.is_empty() {
        return &[];
    }
    let out = run(args);
    assert_eq!(out.code, 2, "{args:?} must refuse an empty body");
    assert!(out.stderr.contains("is empty"), "{}", out.stderr);
    &["--allow-empty"]
}

#[test]
fn sign_and_verify_every_body_vector() {
    let v = vectors();
    let dir = Dir::new();
    let cases = list(&v, "sign");
    for (i, case) in cases.iter().enumerate() {
        let key = dir.file(&format!("key{i}"), s(case, "key"));
        let body = dir.file(&format!("body{i}.json"), s(case, "body"));
        let ts = case["timestamp"].as_u64().expect("timestamp").to_string();
        let expected = s(case, "sign");
        let empty = allow_empty(s(case, "body"), &["sign", "--key-file", &key, &body]);

        let out = run(&[&["sign", "--key-file", &key, "--ts", &ts, &body], empty].concat());
        assert_eq!(out.code, 0, "sign {case}: {}", out.stderr);
        assert_eq!(out.stdout, format!("{expected}\n"), "sign of {case}");

        // The body on stdin (`-`) and the key from SOUSHOU_KEY sign the same.
        let out = run_cmd(
            soushou()
                .env("SOUSHOU_KEY", s(case, "key"))
                .args(["sign", "--ts", &ts, "-"])
                .args(empty),
            Some(s(case, "body").as_bytes()),
        );
        assert_eq!(
            out.stdout,
            format!("{expected}\n"),
            "sign via stdin of {case}"
        );

        let verify = ["verify", "--key-file", &key, "--sign", expected, &body];
        let out = run(&[&verify[..], empty].concat());
        assert_eq!(out.code, 0, "verify {case}: {}", out.stderr);
        assert_eq!(out.stdout, "ok: java-whitespace\n");

        // One character more in the body and it no longer verifies.
        let tampered = dir.file("tampered.json", format!("{}x", s(case, "body")));
        let out = run(&["verify", "--key-file", &key, "--sign", expected, &tampered]);
        assert_eq!(out.code, 1, "tampered body must not verify: {case}");
        assert!(out.stderr.contains("signature mismatch"), "{}", out.stderr);
    }
    assert!(cases.len() >= 50, "only {} sign vectors", cases.len());
}

#[test]
fn sign_and_verify_every_cancel_vector() {
    let v = vectors();
    let dir = Dir::new();
    for case in list(&v, "cancel_sign") {
        let key = dir.file("key", s(case, "key"));
        let ts = case["timestamp"].as_u64().expect("timestamp").to_string();
        let (charge, busi) = s(case, "params")
            .strip_prefix("chargeCode=")
            .and_then(|r| r.split_once("&busiCode="))
            .expect("params is chargeCode=..&busiCode=..");
        let cancel = ["--cancel", charge, "--busi-code", busi];
        let mut args = vec!["sign", "--key-file", &key, "--ts", &ts];
        args.extend(cancel);
        let out = run(&args);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stdout,
            format!("{}\n", s(case, "sign")),
            "cancel sign of {case}"
        );

        let mut args = vec!["verify", "--key-file", &key, "--sign", s(case, "sign")];
        args.extend(cancel);
        let out = run(&args);
        assert_eq!(
            (out.code, out.stdout.as_str()),
            (0, "ok: java-whitespace\n")
        );
    }
}

#[test]
fn encrypt_and_decrypt_every_tdes_vector() {
    let v = vectors();
    let dir = Dir::new();
    for case in list(&v, "tdes") {
        let key = dir.file("key", s(case, "key"));
        let plain = dir.file("plain.json", s(case, "plain"));
        let empty = allow_empty(s(case, "plain"), &["encrypt", "--key-file", &key, &plain]);
        let out = run(&[&["encrypt", "--key-file", &key, &plain], empty].concat());
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(
            out.stdout,
            format!("{}\n", s(case, "cipher_b64")),
            "encrypt of {case}"
        );

        // What encrypt printed (newline included) decrypts back byte for byte.
        let cipher = dir.file("cipher.txt", &out.stdout);
        let out = run(&["decrypt", "--key-file", &key, &cipher]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert_eq!(out.raw, s(case, "plain").as_bytes(), "decrypt of {case}");
    }
}
