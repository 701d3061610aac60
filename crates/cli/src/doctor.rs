//! `soushou doctor`: explains a signature that does not verify.
//!
//! Merchants lose days to `INVALID_SIGN` because every wrong signature looks
//! alike. But the mistakes are few and known (whitespace, key copied with a
//! newline, seconds vs milliseconds, ciphertext signed, …), and each one is
//! a different input to the same MD5. So the doctor recomputes the digest
//! under every known mistake, alone and in pairs, and names the combination
//! with the fewest mistakes that reproduces the signature.
//!
//! Pure: no I/O and no clock (`now` is passed in), so every diagnosis is
//! unit-testable; `main` reads the files and prints [`Diagnosis`].

use std::fmt;

use soushou::sign;
use soushou::{tdes, MerchantKey};

/// The Worker's default `NOTIFY_REPLAY_WINDOW_SECS`: a notification whose
/// signed timestamp is further than this from the Worker's clock is refused.
pub const WORKER_REPLAY_WINDOW_SECS: u64 = 900;

/// What the signature is supposed to cover.
#[derive(Clone, Copy, Debug)]
pub enum Subject<'a> {
    /// A request or notification body.
    Body {
        /// The plaintext body (decrypted first when it was sent encrypted).
        plain: &'a [u8],
        /// The base64 ciphertext as sent, when the caller has it; otherwise
        /// it is recomputed from `plain` (3DES/ECB is deterministic).
        sent_ciphertext: Option<&'a [u8]>,
    },
    /// A `cancelTrade` call, which signs `chargeCode=…&busiCode=…`.
    Cancel {
        /// The `CHARGE_CODE` being revoked.
        charge_code: &'a str,
        /// The merchant's `busiCode`.
        busi_code: &'a str,
        /// A body the caller may have signed instead of the payload.
        body: Option<&'a [u8]>,
    },
}

/// Everything the doctor looks at.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    /// The `sign` parameter, `<md5hex>:<ts>`.
    pub sign: &'a str,
    /// The merchant key as configured (surrounding whitespace removed).
    pub key: &'a str,
    /// The key exactly as read (file or variable), whitespace included.
    pub key_as_read: &'a str,
    /// What should have been signed.
    pub subject: Subject<'a>,
    /// The reference time, Unix seconds.
    pub now: u64,
    /// The replay window to check the timestamp against, seconds.
    pub window: u64,
}

/// One known mistake. Each names itself ([`Mistake::id`]), says what was
/// done ([`Mistake::why`]) and how to fix it ([`Mistake::fix`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mistake {
    /// The body was hashed without removing whitespace.
    WhitespaceKept,
    /// Whitespace was removed only between JSON tokens (a minifier), not
    /// inside string values.
    WhitespaceInValuesKept,
    /// Every Unicode space was removed (U+00A0, U+3000, …), not just Java's `\s`.
    UnicodeWhitespaceStripped,
    /// Only the ends of the body were trimmed.
    TrimmedOnly,
    /// Backslashes were removed too (the `\/` escaping disagreement).
    BackslashesStripped,
    /// The 3DES ciphertext was signed instead of the plaintext.
    CiphertextSigned,
    /// A `cancelTrade` signed a body instead of `chargeCode=…&busiCode=…`.
    BodyInsteadOfCancelPayload,
    /// A `cancelTrade` signed `busiCode=…&chargeCode=…`.
    CancelParamsReversed,
    /// A `cancelTrade` signed nothing (an empty body) after ts and key.
    NothingSigned,
    /// The key carried whitespace: it was used as `prefix + key + suffix`.
    KeyWhitespace {
        /// Whitespace before the key.
        prefix: String,
        /// Whitespace after the key.
        suffix: String,
    },
    /// The key was cut to its first 24 characters (the 3DES key).
    KeyTruncated24,
    /// The key was zero-padded to 24 bytes (the 3DES key).
    KeyZeroPadded24,
    /// The digest used another timestamp unit than the one sent.
    SecondsVsMillis {
        /// The timestamp that was hashed.
        hashed: u64,
        /// The timestamp sent after the colon.
        sent: u64,
    },
    /// The digest is upper-case hex.
    UpperCaseHex,
}

/// The Java `\s` characters as the gateway document lists them, for messages.
const JAVA_SPACES: &str = "space, \\t, \\n, \\x0B, \\f, \\r";

impl Mistake {
    /// A short stable name, printed after `match:`.
    pub fn id(&self) -> &'static str {
        match self {
            Mistake::WhitespaceKept => "whitespace-kept",
            Mistake::WhitespaceInValuesKept => "whitespace-in-values-kept",
            Mistake::UnicodeWhitespaceStripped => "unicode-whitespace-stripped",
            Mistake::TrimmedOnly => "trimmed-only",
            Mistake::BackslashesStripped => "backslashes-stripped",
            Mistake::CiphertextSigned => "ciphertext-signed",
            Mistake::BodyInsteadOfCancelPayload => "body-instead-of-cancel-payload",
            Mistake::CancelParamsReversed => "cancel-params-reversed",
            Mistake::NothingSigned => "nothing-signed",
            Mistake::KeyWhitespace { .. } => "key-with-whitespace",
            Mistake::KeyTruncated24 => "key-truncated-to-24",
            Mistake::KeyZeroPadded24 => "key-zero-padded-to-24",
            Mistake::SecondsVsMillis { .. } => "seconds-vs-milliseconds",
            Mistake::UpperCaseHex => "upper-case-hex",
        }
    }

    /// What the signer did.
    pub fn why(&self) -> String {
        match self {
            Mistake::WhitespaceKept => {
                "the body was hashed with its whitespace kept".into()
            }
            Mistake::WhitespaceInValuesKept => {
                "whitespace was removed between JSON tokens but kept inside string values (a JSON minifier)".into()
            }
            Mistake::UnicodeWhitespaceStripped => {
                "every Unicode space was removed (U+00A0, U+3000, …), not only Java's \\s".into()
            }
            Mistake::TrimmedOnly => "only the ends of the body were trimmed".into(),
            Mistake::BackslashesStripped => {
                "backslashes were removed along with whitespace (`\\/` escaped differently)".into()
            }
            Mistake::CiphertextSigned => {
                "the 3DES ciphertext was signed instead of the plaintext".into()
            }
            Mistake::BodyInsteadOfCancelPayload => {
                "a body was signed, but cancelTrade signs `chargeCode=…&busiCode=…`".into()
            }
            Mistake::CancelParamsReversed => {
                "cancelTrade was signed as `busiCode=…&chargeCode=…` (parameters swapped)".into()
            }
            Mistake::NothingSigned => {
                "only ts + key were hashed: the cancelTrade payload was left out".into()
            }
            Mistake::KeyWhitespace { prefix, suffix } => format!(
                "the key was used as {prefix:?} + key + {suffix:?} (whitespace from copying or saving it)"
            ),
            Mistake::KeyTruncated24 => {
                "the key was cut to its first 24 characters (the 3DES key length)".into()
            }
            Mistake::KeyZeroPadded24 => {
                "the key was zero-padded to 24 bytes (the 3DES key form)".into()
            }
            Mistake::SecondsVsMillis { hashed, sent } => format!(
                "the digest was computed with ts {hashed} but ts {sent} was sent (seconds and milliseconds mixed up)"
            ),
            Mistake::UpperCaseHex => "the digest is upper-case hex".into(),
        }
    }

    /// How to fix it.
    pub fn fix(&self) -> String {
        match self {
            Mistake::WhitespaceKept
            | Mistake::WhitespaceInValuesKept
            | Mistake::UnicodeWhitespaceStripped
            | Mistake::TrimmedOnly => format!(
                "before hashing remove exactly Java's \\s ({JAVA_SPACES}) everywhere, also inside \
                 string values, and nothing else; send the body unchanged"
            ),
            Mistake::BackslashesStripped => {
                "remove only whitespace before hashing and keep backslashes; the sandbox and the \
                 Worker tolerate this form, the gateway may not"
                    .into()
            }
            Mistake::CiphertextSigned => {
                "sign the plaintext first, then encrypt the body: the signature covers the plaintext"
                    .into()
            }
            Mistake::BodyInsteadOfCancelPayload
            | Mistake::CancelParamsReversed
            | Mistake::NothingSigned => {
                "sign exactly `chargeCode={CHARGE_CODE}&busiCode={busiCode}` for cancelTrade".into()
            }
            Mistake::KeyWhitespace { .. } => {
                "trim the key where it is configured (file, secret, environment variable)".into()
            }
            Mistake::KeyTruncated24 | Mistake::KeyZeroPadded24 => {
                "sign with the whole key as issued; only 3DES uses a 24-byte form of it".into()
            }
            Mistake::SecondsVsMillis { .. } => {
                "hash the very timestamp that follows the colon, in one unit (seconds or milliseconds)"
                    .into()
            }
            Mistake::UpperCaseHex => {
                "send the digest in lower case as the document does; the sandbox and the Worker \
                 accept either, a strict verifier may not"
                    .into()
            }
        }
    }
}

/// The timestamp against the reference clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// The signed timestamp exactly as sent.
    pub ts: u64,
    /// `ts` in Unix seconds.
    pub ts_secs: u64,
    /// The reference time, Unix seconds.
    pub now: u64,
    /// The replay window, seconds.
    pub window: u64,
}

impl Clock {
    /// Whether the Worker would accept the timestamp.
    pub fn within_window(&self) -> bool {
        self.ts_secs.abs_diff(self.now) <= self.window
    }
}

/// The doctor's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnosis {
    /// The mistakes that reproduce the signature (empty: it is correct),
    /// or `None` when no known mistake does.
    pub found: Option<Vec<Mistake>>,
    /// What was tried, for the "no match" report: `(id, what it means)`.
    pub tried: Vec<(&'static str, String)>,
    /// The key length, for the short-key note.
    pub key_chars: usize,
    /// The timestamp against the clock.
    pub clock: Clock,
}

/// A variant of one input, with the mistake it represents (`None`: as the
/// gateway expects).
struct Variant<T> {
    mistake: Option<Mistake>,
    value: T,
}

/// Adds `value` unless an earlier variant already has the same value: two
/// mistakes that produce the same bytes cannot be told apart, and the
/// earlier (simpler) explanation wins.
fn push_unique<T: PartialEq>(list: &mut Vec<Variant<T>>, mistake: Option<Mistake>, value: T) {
    if !list.iter().any(|v| v.value == value) {
        list.push(Variant { mistake, value });
    }
}

/// Whether `b` is one of Java's `\s`, asked of the protocol crate so the
/// character list lives in one place.
fn is_java_space(b: u8) -> bool {
    sign::strip_java_whitespace(&[b]).is_empty()
}

/// Removes Java `\s` outside JSON string literals only, as a minifier does.
fn strip_outside_strings(body: &[u8]) -> Vec<u8> {
    let (mut in_string, mut escaped) = (false, false);
    let mut out = Vec::with_capacity(body.len());
    for &b in body {
        if in_string {
            out.push(b);
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
            out.push(b);
        } else if !is_java_space(b) {
            out.push(b);
        }
    }
    out
}

/// Removes every Unicode white space and the BOM (what JavaScript's `\s`
/// and many "remove all whitespace" helpers do); `None` for non-UTF-8.
fn strip_unicode_whitespace(body: &[u8]) -> Option<Vec<u8>> {
    let s = std::str::from_utf8(body).ok()?;
    Some(
        s.chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
            .collect::<String>()
            .into_bytes(),
    )
}

fn trim_java(body: &[u8]) -> &[u8] {
    let start = body.iter().position(|&b| !is_java_space(b));
    let end = body.iter().rposition(|&b| !is_java_space(b));
    match (start, end) {
        (Some(s), Some(e)) => &body[s..=e],
        _ => &[],
    }
}

/// The byte strings a signer may have hashed, the right one first.
fn messages(subject: &Subject, key: &MerchantKey) -> Vec<Variant<Vec<u8>>> {
    let mut out = Vec::new();
    match *subject {
        Subject::Body {
            plain,
            sent_ciphertext,
        } => {
            push_unique(&mut out, None, sign::strip_java_whitespace(plain));
            push_unique(&mut out, Some(Mistake::WhitespaceKept), plain.to_vec());
            push_unique(
                &mut out,
                Some(Mistake::WhitespaceInValuesKept),
                strip_outside_strings(plain),
            );
            if let Some(u) = strip_unicode_whitespace(plain) {
                push_unique(&mut out, Some(Mistake::UnicodeWhitespaceStripped), u);
            }
            push_unique(
                &mut out,
                Some(Mistake::TrimmedOnly),
                trim_java(plain).to_vec(),
            );
            push_unique(
                &mut out,
                Some(Mistake::BackslashesStripped),
                sign::strip_with_backslashes(plain),
            );
            let cipher = match sent_ciphertext {
                Some(c) => c.to_vec(),
                None => tdes::encrypt(plain, key).into_bytes(),
            };
            push_unique(
                &mut out,
                Some(Mistake::CiphertextSigned),
                sign::strip_java_whitespace(&cipher),
            );
        }
        Subject::Cancel {
            charge_code,
            busi_code,
            body,
        } => {
            push_unique(
                &mut out,
                None,
                sign::cancel_payload(charge_code, busi_code).into_bytes(),
            );
            push_unique(
                &mut out,
                Some(Mistake::CancelParamsReversed),
                format!("busiCode={busi_code}&chargeCode={charge_code}").into_bytes(),
            );
            push_unique(&mut out, Some(Mistake::NothingSigned), Vec::new());
            if let Some(b) = body {
                push_unique(
                    &mut out,
                    Some(Mistake::BodyInsteadOfCancelPayload),
                    sign::strip_java_whitespace(b),
                );
            }
        }
    }
    out
}

/// The keys a signer may have used, the configured one first.
fn keys(key: &str, key_as_read: &str) -> Vec<Variant<String>> {
    let mut out = Vec::new();
    push_unique(&mut out, None, key.to_owned());
    let mut with_ws = |prefix: &str, suffix: &str| {
        push_unique(
            &mut out,
            Some(Mistake::KeyWhitespace {
                prefix: prefix.into(),
                suffix: suffix.into(),
            }),
            format!("{prefix}{key}{suffix}"),
        )
    };
    // The key exactly as read first: its whitespace is the likeliest culprit.
    if let Some(at) = key_as_read.find(key) {
        with_ws(&key_as_read[..at], &key_as_read[at + key.len()..]);
    }
    for (prefix, suffix) in [
        ("", "\n"),
        ("", "\r\n"),
        ("", " "),
        (" ", ""),
        ("\u{feff}", ""),
    ] {
        with_ws(prefix, suffix);
    }
    let chars = key.chars().count();
    if chars > 24 {
        push_unique(
            &mut out,
            Some(Mistake::KeyTruncated24),
            key.chars().take(24).collect(),
        );
    } else if chars < 24 {
        let padded = format!("{key}{}", "\0".repeat(24 - chars));
        push_unique(&mut out, Some(Mistake::KeyZeroPadded24), padded);
    }
    out
}

/// The timestamps a signer may have hashed: the one sent, then the other
/// unit (for a seconds value, every millisecond of that second).
fn stamps(ts: u64) -> Vec<Variant<Vec<u64>>> {
    let other: Vec<u64> = if sign::unix_seconds(ts) != ts {
        vec![ts / 1000]
    } else {
        (0..1000)
            .filter_map(|ms| ts.checked_mul(1000)?.checked_add(ms))
            .collect()
    };
    let hashed = other.first().copied().unwrap_or(ts);
    vec![
        Variant {
            mistake: None,
            value: vec![ts],
        },
        Variant {
            mistake: Some(Mistake::SecondsVsMillis { hashed, sent: ts }),
            value: other,
        },
    ]
}

/// Diagnoses `input.sign`. Fails only when the `sign` parameter is not
/// `<32 hex digits>:<decimal ts>` at all.
pub fn diagnose(input: &Input) -> Result<Diagnosis, soushou::Error> {
    let (given, ts) = sign::parse_sign(input.sign)?;
    let upper = input
        .sign
        .trim()
        .bytes()
        .take(32)
        .any(|b| b.is_ascii_uppercase());
    let key = MerchantKey::new(input.key);
    let messages = messages(&input.subject, &key);
    let keys = keys(input.key, input.key_as_read);
    let stamps = stamps(ts);

    // Every combination, fewest mistakes first (stable: simpler variants
    // were pushed first, so they win ties).
    let mut combos = Vec::new();
    for m in &messages {
        for k in &keys {
            for s in &stamps {
                let mistakes: Vec<&Mistake> = [&m.mistake, &k.mistake, &s.mistake]
                    .into_iter()
                    .flatten()
                    .collect();
                combos.push((mistakes, m, k, s));
            }
        }
    }
    combos.sort_by_key(|c| c.0.len());
    let found = combos.iter().find_map(|(mistakes, m, k, s)| {
        let k = MerchantKey::new(k.value.as_str());
        let hashed = s
            .value
            .iter()
            .find(|&&t| sign::digest(t, &k, &m.value) == given)?;
        let mut out: Vec<Mistake> = mistakes
            .iter()
            .map(|&x| match x {
                Mistake::SecondsVsMillis { sent, .. } => Mistake::SecondsVsMillis {
                    hashed: *hashed,
                    sent: *sent,
                },
                other => other.clone(),
            })
            .collect();
        if upper {
            out.push(Mistake::UpperCaseHex);
        }
        Some(out)
    });

    let tried = std::iter::once(("gateway-rule", gateway_rule(&input.subject)))
        .chain(tried_of(&messages))
        .chain(tried_of(&keys))
        .chain(tried_of(&stamps))
        .collect();
    Ok(Diagnosis {
        found,
        tried,
        key_chars: input.key.chars().count(),
        clock: Clock {
            ts,
            ts_secs: sign::unix_seconds(ts),
            now: sign::unix_seconds(input.now),
            window: input.window,
        },
    })
}

/// The rule the gateway applies, in words.
fn gateway_rule(subject: &Subject) -> String {
    match subject {
        Subject::Body { .. } => "md5(ts + key + body without Java's \\s), lower-case hex".into(),
        Subject::Cancel { .. } => {
            "md5(ts + key + \"chargeCode=…&busiCode=…\"), lower-case hex".into()
        }
    }
}

/// `(id, why)` of each variant that is a mistake, for the "tried" list.
fn tried_of<T>(variants: &[Variant<T>]) -> impl Iterator<Item = (&'static str, String)> + '_ {
    variants
        .iter()
        .filter_map(|v| v.mistake.as_ref())
        .map(|m| match m {
            Mistake::SecondsVsMillis { .. } => (
                m.id(),
                "the digest was computed with the timestamp in the other unit (seconds vs milliseconds)"
                    .to_owned(),
            ),
            _ => (m.id(), m.why()),
        })
}

/// A duration for people: seconds, minutes, hours or days.
fn human(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        7200..=172_799 => format!("{} h", secs / 3600),
        _ => format!("{} days", secs / 86_400),
    }
}

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = if self.ts_secs == self.ts {
            "seconds"
        } else {
            "milliseconds"
        };
        let skew = self.ts_secs.abs_diff(self.now);
        let side = if self.ts_secs > self.now {
            "ahead of"
        } else {
            "behind"
        };
        write!(
            f,
            "clock: ts {} ({unit}) is {} {side} now ({}): ",
            self.ts,
            human(skew),
            self.now
        )?;
        if self.within_window() {
            write!(f, "inside the Worker's replay window (±{} s)", self.window)
        } else {
            write!(
                f,
                "OUTSIDE the Worker's replay window (±{} s), it would be refused as stale\n  \
                 fix: set the signing machine's clock right (NTP) and sign with the current time",
                self.window
            )
        }
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.found {
            Some(mistakes) if mistakes.is_empty() => {
                writeln!(f, "match: gateway-rule")?;
                writeln!(
                    f,
                    "  gateway-rule: the signature is correct: {}",
                    self.tried[0].1
                )?;
                writeln!(
                    f,
                    "  fix: nothing in the signature; if the gateway still answers INVALID_SIGN, \
                     its key for this merchant differs from this one"
                )?;
            }
            Some(mistakes) => {
                let ids: Vec<&str> = mistakes.iter().map(Mistake::id).collect();
                writeln!(f, "match: {}", ids.join(" + "))?;
                for m in mistakes {
                    writeln!(f, "  {}: {}", m.id(), m.why())?;
                    writeln!(f, "  fix: {}", m.fix())?;
                }
            }
            None => {
                writeln!(
                    f,
                    "no match: no known mistake, alone or combined, reproduces this signature"
                )?;
                for (id, why) in &self.tried {
                    writeln!(f, "tried: {id}: {why}")?;
                }
                writeln!(
                    f,
                    "  fix: check that the key is this merchant's (a wrong key cannot be told from \
                     a wrong body) and that the body is byte for byte the one that was signed"
                )?;
            }
        }
        if self.key_chars < 24 {
            writeln!(
                f,
                "note: the key has {} characters; SOUSHOU issues longer keys, check it was not cut \
                 when copied",
                self.key_chars
            )?;
        }
        writeln!(f, "{}", self.clock)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minifier_keeps_whitespace_inside_strings() {
        let body = b"{ \"A\" : \"x y\\\" z\" ,\n \"B\":1 }";
        assert_eq!(
            strip_outside_strings(body),
            b"{\"A\":\"x y\\\" z\",\"B\":1}".to_vec()
        );
    }

    #[test]
    fn unicode_and_trim_rules() {
        let body = " {\"A\":\"a\u{3000}b\u{a0}c d\"}\n".as_bytes();
        assert_eq!(
            strip_unicode_whitespace(body).unwrap(),
            "{\"A\":\"abcd\"}".as_bytes()
        );
        assert_eq!(
            trim_java(body),
            "{\"A\":\"a\u{3000}b\u{a0}c d\"}".as_bytes()
        );
        assert_eq!(trim_java(b" \t\n"), b"");
        assert_eq!(strip_unicode_whitespace(b"\xff"), None);
    }

    #[test]
    fn key_variants_come_from_the_file_first() {
        let k = keys("ABC", "\u{feff}ABC\r\n");
        assert_eq!(k[0].value, "ABC");
        assert_eq!(
            k[1].mistake,
            Some(Mistake::KeyWhitespace {
                prefix: "\u{feff}".into(),
                suffix: "\r\n".into()
            })
        );
        assert_eq!(k.last().unwrap().mistake, Some(Mistake::KeyZeroPadded24));
        assert_eq!(k.last().unwrap().value.len(), 24);
    }

    #[test]
    fn stamps_cover_the_other_unit() {
        let s = stamps(1_764_028_800);
        assert_eq!(s[1].value.len(), 1000);
        assert_eq!(s[1].value[123], 1_764_028_800_123);
        let ms = stamps(1_764_028_800_123);
        assert_eq!(ms[1].value, vec![1_764_028_800]);
    }

    #[test]
    fn clock_window_is_inclusive() {
        let c = |ts, now| Clock {
            ts,
            ts_secs: sign::unix_seconds(ts),
            now,
            window: 900,
        };
        assert!(c(1_000_000, 1_000_900).within_window());
        assert!(!c(1_000_000, 1_000_901).within_window());
        assert!(c(1_764_028_800_000, 1_764_028_000).within_window());
        assert_eq!(human(59), "59 s");
        assert_eq!(human(3600), "60 min");
        assert_eq!(human(86_400 * 3), "3 days");
    }
}
