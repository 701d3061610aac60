//! Request/notification signatures: `md5_hex(ts + key + strip(body)) + ":" + ts`.

use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

use crate::codec;
use crate::error::Error;
use crate::key::MerchantKey;

/// The six ASCII characters Java's regex `\s` matches (space, `\t`, `\n`,
/// `\x0B`, `\x0C`, `\r`); the gateway removes them before hashing.
fn is_java_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// Removes exactly Java's `\s` characters, also inside string values, and
/// nothing else (no Unicode spaces), as the gateway does before hashing.
pub fn strip_java_whitespace(body: &[u8]) -> Vec<u8> {
    body.iter()
        .copied()
        .filter(|&b| !is_java_space(b))
        .collect()
}

/// `strip_java_whitespace` plus backslashes: some merchants' verifiers hash
/// this form because serializers disagree on escaping `/` as `\/`.
/// Public so diagnostics (`soushou doctor`) can name this rule.
pub fn strip_with_backslashes(body: &[u8]) -> Vec<u8> {
    body.iter()
        .copied()
        .filter(|&b| !is_java_space(b) && b != b'\\')
        .collect()
}

/// Whether removing the backslashes from `body` leaves the same message:
/// true for JSON whose backslashes only escape `/` (`\/`), the serializer
/// difference the fallback exists for. When stripping changes what the body
/// says (`"a\",\"STATE\":\"1"` becomes a second field, `\u0031` a different
/// string), a signature over the stripped form says nothing about the body
/// as received, so the fallback must not accept it; bodies that are not a
/// JSON or XML message at all (the `cancelTrade` payload) never qualify.
fn only_escaping_differs(body: &[u8]) -> bool {
    let stripped: Vec<u8> = body.iter().copied().filter(|&b| b != b'\\').collect();
    codec::same_message(body, &stripped)
}

/// The raw MD5 of `ts + key + bytes`, `bytes` hashed exactly as given (no
/// stripping): the core of [`sign`]. Public so diagnostics can reproduce
/// signatures made under other (wrong) rules and keys.
pub fn digest(ts: u64, key: &MerchantKey, bytes: &[u8]) -> [u8; 16] {
    let mut h = Md5::new();
    h.update(ts.to_string().as_bytes());
    h.update(key.expose().as_bytes());
    h.update(bytes);
    h.finalize().into()
}

fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// Signs `body` as sent (whitespace is stripped only for hashing).
/// `ts` is chosen by the caller: Unix seconds or milliseconds both verify.
/// Returns the value of the `sign` query parameter, `"<md5hex>:<ts>"`.
pub fn sign(body: &[u8], key: &MerchantKey, ts: u64) -> String {
    let d = digest(ts, key, &strip_java_whitespace(body));
    format!("{}:{ts}", hex(&d))
}

/// The string `cancelTrade` signs instead of a body.
pub fn cancel_payload(charge_code: &str, busi_code: &str) -> String {
    format!("chargeCode={charge_code}&busiCode={busi_code}")
}

/// Which stripping rule a verified signature matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignRule {
    /// The gateway's rule: Java `\s` removed.
    JavaWhitespace,
    /// The fallback: Java `\s` and backslashes removed.
    BackslashStripped,
}

/// A signature that matched, with the timestamp it carried, so the caller
/// can apply its own freshness window (this crate has no clock).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Verified {
    /// The timestamp exactly as signed (seconds or milliseconds).
    pub ts: u64,
    /// The rule that matched.
    pub rule: SignRule,
}

impl Verified {
    /// The timestamp in Unix seconds: values above 10^11 (year 5138 in
    /// seconds) are taken as milliseconds and divided by 1000.
    pub fn unix_seconds(&self) -> u64 {
        unix_seconds(self.ts)
    }

    /// Whether the signature time is within `window` seconds of `now`
    /// (Unix seconds, supplied by the caller), in either direction: the
    /// replay check this crate cannot do itself for want of a clock.
    pub fn is_fresh(&self, now: u64, window: u64) -> bool {
        self.unix_seconds().abs_diff(now) <= window
    }
}

/// A signed timestamp in Unix seconds: values above 10^11 (year 5138 in
/// seconds) are taken as milliseconds and divided by 1000.
pub fn unix_seconds(ts: u64) -> u64 {
    if ts > 100_000_000_000 {
        ts / 1000
    } else {
        ts
    }
}

fn unhex(s: &[u8]) -> Option<[u8; 16]> {
    fn nib(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        out[i] = (nib(pair[0])? << 4) | nib(pair[1])?;
    }
    Some(out)
}

/// Splits a `sign` parameter into its digest and timestamp (upper- or
/// lower-case hex). Public so tools can report a malformed parameter with
/// the same words the gateway side uses.
pub fn parse_sign(sign_param: &str) -> Result<([u8; 16], u64), Error> {
    let (h, ts) = sign_param
        .trim()
        .split_once(':')
        .ok_or(Error::MalformedSign("expected <md5hex>:<timestamp>"))?;
    let d = unhex(h.as_bytes()).ok_or(Error::MalformedSign("digest is not 32 hex digits"))?;
    if ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::MalformedSign("timestamp is not a decimal integer"));
    }
    let ts = ts
        .parse()
        .map_err(|_| Error::MalformedSign("timestamp out of range"))?;
    Ok((d, ts))
}

/// Verifies a `sign` parameter against the plaintext `body` (or the
/// `cancel_payload`). Tries the Java `\s` rule, then the backslash-stripping
/// variant, which is accepted only when stripping the backslashes leaves the
/// same message (see `only_escaping_differs`); accepts upper- or lower-case hex and seconds or milliseconds;
/// compares in constant time. Freshness of `ts` is the caller's decision.
pub fn verify(sign_param: &str, body: &[u8], key: &MerchantKey) -> Result<Verified, Error> {
    let (given, ts) = parse_sign(sign_param)?;
    let java = digest(ts, key, &strip_java_whitespace(body));
    if bool::from(java.ct_eq(&given)) {
        return Ok(Verified {
            ts,
            rule: SignRule::JavaWhitespace,
        });
    }
    let alt = digest(ts, key, &strip_with_backslashes(body));
    if bool::from(alt.ct_eq(&given)) && only_escaping_differs(body) {
        return Ok(Verified {
            ts,
            rule: SignRule::BackslashStripped,
        });
    }
    Err(Error::SignMismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> MerchantKey {
        MerchantKey::new("98SDKFUO432HNODS098EEE07U9DUOIUE")
    }

    #[test]
    fn document_vector() {
        let body = br#"{"AMT":"0.01","BUSI_ID":"0010000001"}"#;
        assert_eq!(
            sign(body, &key(), 1473431447),
            "b193b39fd7baebc460b3fe7df803778d:1473431447"
        );
    }

    #[test]
    fn accepts_upper_hex_and_reports_rule() {
        let body = br#"{"URL":"http:\/\/x"}"#;
        let s = sign(body, &key(), 1764028800123).to_uppercase();
        let v = verify(&s, body, &key()).unwrap();
        assert_eq!(v.rule, SignRule::JavaWhitespace);
        assert_eq!(v.unix_seconds(), 1764028800);
        assert!(v.is_fresh(1764028800 + 300, 300));
        assert!(!v.is_fresh(1764028800 + 301, 300));
        assert!(v.is_fresh(1764028800 - 300, 300));
        let unescaped = sign(br#"{"URL":"http://x"}"#, &key(), 5);
        let v = verify(&unescaped, body, &key()).unwrap();
        assert_eq!(v.rule, SignRule::BackslashStripped);
    }

    #[test]
    fn backslash_fallback_only_when_stripping_keeps_the_message() {
        // What was signed (hash over the form without backslashes).
        let signed = br#"{"PAY_NODIFY":{"PAY_SUBJECT":"a","STATE":"1"}}"#;
        let s = sign(signed, &key(), 9);
        // The same message with escaped slashes is still accepted.
        let slashes = br#"{"U":"http:\/\/x"}"#;
        let s2 = sign(br#"{"U":"http://x"}"#, &key(), 9);
        assert_eq!(
            verify(&s2, slashes, &key()).unwrap().rule,
            SignRule::BackslashStripped
        );
        // Forged: backslashes hide a different message whose stripped form
        // is exactly what was signed; parsed as received, STATE is gone
        // (swallowed into PAY_SUBJECT) and the meaning changed.
        let forged = br#"{"PAY_NODIFY":{"PAY_SUBJECT":"a\",\"STATE\":\"1"}}"#;
        assert_eq!(strip_with_backslashes(forged), signed.to_vec());
        assert_eq!(verify(&s, forged, &key()), Err(Error::SignMismatch));
        // A unicode escape changes the string when stripped: refused too.
        let s3 = sign(br#"{"A":"u0031"}"#, &key(), 9);
        assert_eq!(
            verify(&s3, br#"{"A":"\u0031"}"#, &key()),
            Err(Error::SignMismatch)
        );
        // Not a message (the cancel payload): no fallback.
        let s4 = sign(b"chargeCode=AB&busiCode=1", &key(), 9);
        assert_eq!(
            verify(&s4, b"chargeCode=A\\B&busiCode=1", &key()),
            Err(Error::SignMismatch)
        );
    }

    #[test]
    fn rejects_tampering_and_garbage() {
        let s = sign(b"{}", &key(), 1);
        assert_eq!(verify(&s, b"{ }", &key()).unwrap().ts, 1);
        assert_eq!(verify(&s, b"{1}", &key()), Err(Error::SignMismatch));
        assert!(matches!(
            verify("abc", b"", &key()),
            Err(Error::MalformedSign(_))
        ));
        assert!(matches!(
            verify("zz:1", b"", &key()),
            Err(Error::MalformedSign(_))
        ));
        let h = &s[..32];
        assert!(matches!(
            verify(&format!("{h}:-1"), b"", &key()),
            Err(Error::MalformedSign(_))
        ));
        assert!(matches!(
            verify(&format!("{h}:99999999999999999999999"), b"", &key()),
            Err(Error::MalformedSign(_))
        ));
    }
}
