//! Reproduces every vector of `spec/vectors/wire.json` (computed with
//! the JDK's MessageDigest and DESede, the gateway SDK's own stack).

use serde_json::Value;
use soushou::sign::{self, SignRule};
use soushou::{tdes, MerchantKey};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../spec/vectors/wire.json"))
        .expect("wire.json is valid JSON")
}

fn list<'a>(v: &'a Value, name: &str) -> &'a Vec<Value> {
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

#[test]
fn sign_vectors() {
    let v = vectors();
    let mut n = 0;
    for case in list(&v, "sign") {
        let key = MerchantKey::new(s(case, "key"));
        let ts = case["timestamp"].as_u64().expect("timestamp");
        let body = s(case, "body").as_bytes();
        let stripped = sign::strip_java_whitespace(body);
        assert_eq!(
            String::from_utf8(stripped).unwrap(),
            s(case, "stripped"),
            "stripped form of {case}"
        );
        let expected = s(case, "sign");
        assert_eq!(sign::sign(body, &key, ts), expected, "sign of {case}");
        let verified = sign::verify(expected, body, &key).expect("own vector verifies");
        assert_eq!(verified.ts, ts);
        assert_eq!(verified.rule, SignRule::JavaWhitespace);
        // Upper-case hex is accepted as well.
        let upper = format!("{}:{ts}", expected[..32].to_uppercase());
        assert!(sign::verify(&upper, body, &key).is_ok());
        // Seconds and milliseconds normalise to the same second count.
        assert!(verified.unix_seconds() < 100_000_000_000);
        // The stripped body signs identically (the gateway hashes that form).
        assert_eq!(
            sign::sign(s(case, "stripped").as_bytes(), &key, ts),
            expected
        );
        n += 1;
    }
    assert_eq!(n, list(&v, "sign").len());
}

#[test]
fn cancel_sign_vectors() {
    let v = vectors();
    for case in list(&v, "cancel_sign") {
        let key = MerchantKey::new(s(case, "key"));
        let ts = case["timestamp"].as_u64().expect("timestamp");
        let params = s(case, "params");
        let (c, b) = params
            .strip_prefix("chargeCode=")
            .and_then(|r| r.split_once("&busiCode="))
            .expect("params is chargeCode=..&busiCode=..");
        assert_eq!(sign::cancel_payload(c, b), params);
        assert_eq!(
            sign::sign(sign::cancel_payload(c, b).as_bytes(), &key, ts),
            s(case, "sign"),
            "cancel sign of {case}"
        );
        assert!(sign::verify(s(case, "sign"), params.as_bytes(), &key).is_ok());
    }
}

#[test]
fn tdes_vectors() {
    let v = vectors();
    for case in list(&v, "tdes") {
        let key = MerchantKey::new(s(case, "key"));
        let plain = s(case, "plain").as_bytes();
        let cipher = s(case, "cipher_b64");
        assert_eq!(tdes::encrypt(plain, &key), cipher, "encrypt of {case}");
        assert_eq!(
            tdes::decrypt(cipher.as_bytes(), &key).unwrap(),
            plain,
            "decrypt of {case}"
        );
    }
}
