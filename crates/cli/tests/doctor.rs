//! `soushou doctor` names each known mistake from a deliberately wrong
//! signature. The signatures are forged with coreutils `md5sum` over the
//! exact bytes each mistake hashes, written out by hand here, so the test
//! does not share code with what it tests.

mod common;

use common::{forge, java_strip, run, Dir, KEY};

/// A pretty-printed body as a Java/PHP backend sends it: whitespace between
/// tokens and inside values, an ideographic space (U+3000), escaped slashes,
/// and the newline an editor adds at the end of a file.
const BODY: &str = "{\n    \"AMT\": \"0.10\",\n    \"BUSI_ID\": \"0010000001\",\n    \
\"PAY_SUBJECT\": \"Green tea\u{3000}500 ml\",\n    \
\"NODIFY_URL\": \"http:\\/\\/127.0.0.1\\/notify\"\n}\n";

/// Unix seconds / milliseconds of the forged signatures.
const TS: u64 = 1_764_028_800;
const TS_MS: u64 = 1_764_028_800_123;

struct Case {
    dir: Dir,
    key: String,
    body: String,
}

fn case() -> Case {
    let dir = Dir::new();
    Case {
        key: dir.file("key", format!("{KEY}\n")),
        body: dir.file("body.json", BODY),
        dir,
    }
}

impl Case {
    /// `soushou doctor --key-file K --sign SIGN --now TS ARGS… BODY`.
    fn doctor(&self, sign: &str, args: &[&str]) -> common::Run {
        let now = TS.to_string();
        let mut all = vec![
            "doctor",
            "--key-file",
            &self.key,
            "--sign",
            sign,
            "--now",
            &now,
        ];
        all.extend(args);
        if !args.contains(&"--cancel") {
            all.push(&self.body);
        }
        run(&all)
    }
}

/// Asserts exit 0 and `match: <expected>` on the first line, a fix line,
/// and that the key never appears in the output.
fn assert_match(out: &common::Run, expected: &str) {
    assert_eq!(
        (out.code, out.first_line()),
        (0, format!("match: {expected}").as_str()),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("\n  fix: "), "{}", out.stdout);
    assert!(!out.stdout.contains(KEY), "the key leaked: {}", out.stdout);
}

#[test]
fn a_correct_signature_matches_the_gateway_rule() {
    let c = case();
    let sign = forge(TS, KEY, &java_strip(BODY.as_bytes()), TS);
    let out = c.doctor(&sign, &[]);
    assert_match(&out, "gateway-rule");
    assert!(
        out.stdout.contains("the signature is correct"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("clock: ts 1764028800 (seconds) is 0 s behind now (1764028800): inside the Worker's replay window (±900 s)"),
        "{}",
        out.stdout
    );
}

#[test]
fn whitespace_kept_in_the_hashed_body() {
    let c = case();
    let out = c.doctor(&forge(TS, KEY, BODY.as_bytes(), TS), &[]);
    assert_match(&out, "whitespace-kept");
    assert!(out.stdout.contains("Java's \\s"), "{}", out.stdout);
}

#[test]
fn whitespace_inside_values_kept_by_a_minifier() {
    let c = case();
    let minified = "{\"AMT\":\"0.10\",\"BUSI_ID\":\"0010000001\",\
\"PAY_SUBJECT\":\"Green tea\u{3000}500 ml\",\"NODIFY_URL\":\"http:\\/\\/127.0.0.1\\/notify\"}";
    let out = c.doctor(&forge(TS, KEY, minified.as_bytes(), TS), &[]);
    assert_match(&out, "whitespace-in-values-kept");
}

#[test]
fn every_unicode_space_stripped() {
    let c = case();
    let stripped = "{\"AMT\":\"0.10\",\"BUSI_ID\":\"0010000001\",\
\"PAY_SUBJECT\":\"Greentea500ml\",\"NODIFY_URL\":\"http:\\/\\/127.0.0.1\\/notify\"}";
    let out = c.doctor(&forge(TS, KEY, stripped.as_bytes(), TS), &[]);
    assert_match(&out, "unicode-whitespace-stripped");
}

#[test]
fn only_trimmed() {
    let c = case();
    let out = c.doctor(&forge(TS, KEY, BODY.trim_end().as_bytes(), TS), &[]);
    assert_match(&out, "trimmed-only");
}

#[test]
fn backslashes_stripped() {
    let c = case();
    let no_backslash: Vec<u8> = java_strip(BODY.as_bytes())
        .into_iter()
        .filter(|&b| b != b'\\')
        .collect();
    let out = c.doctor(&forge(TS, KEY, &no_backslash, TS), &[]);
    assert_match(&out, "backslashes-stripped");
}

#[test]
fn ciphertext_signed_instead_of_plaintext() {
    let c = case();
    let enc = run(&["encrypt", "--key-file", &c.key, &c.body]);
    assert_eq!(enc.code, 0, "{}", enc.stderr);
    let cipher = enc.stdout.trim_end();
    let sign = forge(TS, KEY, cipher.as_bytes(), TS);
    // Given the plaintext: the doctor recomputes the ciphertext itself.
    assert_match(&c.doctor(&sign, &[]), "ciphertext-signed");
    // Given the body as sent (`--encrypted`): it decrypts, then finds it.
    let sent = c.dir.file("sent.b64", &enc.stdout);
    let now = TS.to_string();
    let out = run(&[
        "doctor",
        "--key-file",
        &c.key,
        "--sign",
        &sign,
        "--now",
        &now,
        "--encrypted",
        &sent,
    ]);
    assert_match(&out, "ciphertext-signed");
}

#[test]
fn seconds_and_milliseconds_mixed_up() {
    let c = case();
    let stripped = java_strip(BODY.as_bytes());
    // Hashed in seconds, sent in milliseconds…
    let out = c.doctor(&forge(TS, KEY, &stripped, TS_MS), &[]);
    assert_match(&out, "seconds-vs-milliseconds");
    assert!(
        out.stdout
            .contains("computed with ts 1764028800 but ts 1764028800123 was sent"),
        "{}",
        out.stdout
    );
    // …and hashed in milliseconds, sent in seconds.
    let out = c.doctor(&forge(TS_MS, KEY, &stripped, TS), &[]);
    assert_match(&out, "seconds-vs-milliseconds");
    assert!(out
        .stdout
        .contains("computed with ts 1764028800123 but ts 1764028800 was sent"));
}

#[test]
fn key_with_a_newline_or_spaces() {
    let c = case();
    let stripped = java_strip(BODY.as_bytes());
    // The key file ends in "\n" (the CLI trims it); the merchant's code did not.
    let out = c.doctor(&forge(TS, &format!("{KEY}\n"), &stripped, TS), &[]);
    assert_match(&out, "key-with-whitespace");
    assert!(
        out.stdout.contains("\"\" + key + \"\\n\""),
        "{}",
        out.stdout
    );
    // A Windows file: BOM and CRLF, exactly as read.
    let key = c.dir.file("key-win", format!("\u{feff}{KEY}\r\n"));
    let sign = forge(TS, &format!("\u{feff}{KEY}\r\n"), &stripped, TS);
    let now = TS.to_string();
    let out = run(&[
        "doctor",
        "--key-file",
        &key,
        "--sign",
        &sign,
        "--now",
        &now,
        &c.body,
    ]);
    assert_match(&out, "key-with-whitespace");
    assert!(
        out.stdout.contains("\"\\u{feff}\" + key + \"\\r\\n\""),
        "{}",
        out.stdout
    );
    // A space pasted in front of the key.
    let out = c.doctor(&forge(TS, &format!(" {KEY}"), &stripped, TS), &[]);
    assert_match(&out, "key-with-whitespace");
}

#[test]
fn key_truncated_to_24_characters() {
    let c = case();
    let out = c.doctor(
        &forge(TS, &KEY[..24], &java_strip(BODY.as_bytes()), TS),
        &[],
    );
    assert_match(&out, "key-truncated-to-24");
}

#[test]
fn short_key_zero_padded_to_24() {
    let c = case();
    let short = "SHORTKEY0123456";
    let key = c.dir.file("short", short);
    let padded = format!("{short}{}", "\0".repeat(9));
    let sign = forge(TS, &padded, &java_strip(BODY.as_bytes()), TS);
    let now = TS.to_string();
    let out = run(&[
        "doctor",
        "--key-file",
        &key,
        "--sign",
        &sign,
        "--now",
        &now,
        &c.body,
    ]);
    assert_match(&out, "key-zero-padded-to-24");
    assert!(
        out.stdout.contains("note: the key has 15 characters"),
        "{}",
        out.stdout
    );
}

#[test]
fn upper_case_hex() {
    let c = case();
    let sign = forge(TS, KEY, &java_strip(BODY.as_bytes()), TS).to_uppercase();
    assert_match(&c.doctor(&sign, &[]), "upper-case-hex");
}

#[test]
fn several_mistakes_at_once() {
    let c = case();
    let out = c.doctor(&forge(TS_MS, &format!("{KEY}\n"), BODY.as_bytes(), TS), &[]);
    assert_match(
        &out,
        "whitespace-kept + key-with-whitespace + seconds-vs-milliseconds",
    );
}

#[test]
fn cancel_trade_payload_versus_body() {
    let c = case();
    let cancel = ["--cancel", "CODE-1", "--busi-code", "01000001"];
    let right = forge(TS, KEY, b"chargeCode=CODE-1&busiCode=01000001", TS);
    assert_match(&c.doctor(&right, &cancel), "gateway-rule");
    let swapped = forge(TS, KEY, b"busiCode=01000001&chargeCode=CODE-1", TS);
    assert_match(&c.doctor(&swapped, &cancel), "cancel-params-reversed");
    let nothing = forge(TS, KEY, b"", TS);
    assert_match(&c.doctor(&nothing, &cancel), "nothing-signed");
    // The body file signed instead of the payload.
    let body_signed = forge(TS, KEY, &java_strip(BODY.as_bytes()), TS);
    let mut args = cancel.to_vec();
    args.push(&c.body);
    assert_match(
        &c.doctor(&body_signed, &args),
        "body-instead-of-cancel-payload",
    );
}

#[test]
fn no_known_mistake_lists_what_was_tried() {
    let c = case();
    let other_key = forge(
        TS,
        "ANOTHERKEY0123456789ABCDEFGHIJKL",
        &java_strip(BODY.as_bytes()),
        TS,
    );
    let out = c.doctor(&other_key, &[]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.starts_with("no match: "), "{}", out.stdout);
    for rule in [
        "gateway-rule",
        "whitespace-kept",
        "whitespace-in-values-kept",
        "unicode-whitespace-stripped",
        "trimmed-only",
        "backslashes-stripped",
        "ciphertext-signed",
        "key-with-whitespace",
        "key-truncated-to-24",
        "seconds-vs-milliseconds",
    ] {
        assert!(
            out.stdout.contains(&format!("tried: {rule}: ")),
            "{rule} missing:\n{}",
            out.stdout
        );
    }
    assert!(!out.stdout.contains(KEY));
}

#[test]
fn clock_skew_against_the_replay_window() {
    let c = case();
    let sign = forge(TS, KEY, &java_strip(BODY.as_bytes()), TS);
    let at = |now: u64, window: Option<&str>| {
        let now = now.to_string();
        let mut args = vec![
            "doctor",
            "--key-file",
            &c.key,
            "--sign",
            &sign,
            "--now",
            &now,
        ];
        if let Some(w) = window {
            args.extend(["--window", w]);
        }
        args.push(&c.body);
        run(&args)
    };
    let out = at(TS + 3 * 3600, None);
    assert_match(&out, "gateway-rule");
    assert!(
        out.stdout.contains(
            "is 3 h behind now (1764039600): OUTSIDE the Worker's replay window (±900 s)"
        ),
        "{}",
        out.stdout
    );
    assert!(out
        .stdout
        .contains("fix: set the signing machine's clock right"));
    let out = at(TS - 61, Some("60"));
    assert!(
        out.stdout.contains(
            "is 61 s ahead of now (1764028739): OUTSIDE the Worker's replay window (±60 s)"
        ),
        "{}",
        out.stdout
    );
    let out = at(TS - 60, Some("60"));
    assert!(
        out.stdout
            .contains("inside the Worker's replay window (±60 s)"),
        "{}",
        out.stdout
    );
    // --now in milliseconds reads the same.
    let out = at(TS * 1000 + 500, None);
    assert!(
        out.stdout
            .contains("is 0 s behind now (1764028800): inside"),
        "{}",
        out.stdout
    );
}
