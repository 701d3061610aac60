//! Idempotency keys of the merchant API, with Stripe's semantics.
//!
//! A merchant that retries a `POST` after a timeout must not refund, charge
//! or cancel twice. With an `Idempotency-Key` header, the Worker remembers
//! the first answer to a key for [`TTL_SECS`] and replays it, byte for byte,
//! to any retry with the same route and body; the same key with another
//! route or body is refused ([`Decision::Reused`]), and a retry that arrives
//! while the first request still runs is told so ([`Decision::InUse`])
//! instead of running concurrently.
//!
//! Which answers are remembered ([`should_store`]): everything below 500.
//! A 5xx outcome (gateway timeout, gateway down, storage failure) releases
//! the key, so the retry runs again. That is safe because the money routes
//! underneath are idempotent themselves: a refund retry reuses its
//! `OUT_REFUND_NO` ([`refund_no`] derives one from the key when the
//! merchant gave none), and an order query settles what a timeout left open.
//!
//! Derived ids never outlive their key (issue 24, defect 1). A key's
//! *generation* is the time its row was first claimed ([`Record::created_at`]):
//! [`charge_code`] and [`refund_no`] hash the key *and* the generation. A
//! release keeps the row and its generation (it only marks the run as
//! abandoned, [`RELEASED`]), so the same request resumes its own charge or
//! refund, and another body under the key is refused ([`Decision::Reused`])
//! instead of finding the first one's charge and answering its state. A key
//! used again after its 24 h is a new claim with a new generation: a till
//! whose keys repeat daily makes a new charge for the new customer, as a
//! merchant expects of an expired key (Stripe's semantics).
//!
//! Everything here is pure; the Worker does the storage (one conditional
//! INSERT claims a key atomically) and calls [`decide`] on what it finds.

use sha2::{Digest, Sha256};

/// How long a key and its answer are kept: 24 hours, as Stripe does.
pub const TTL_SECS: u64 = 86_400;

/// After this long, a key still "in progress" is taken to be abandoned (the
/// Worker that claimed it was evicted or crashed) and may be claimed again.
/// Longer than any request can run: a POS charge waits up to ~140 s.
pub const LOCK_SECS: u64 = 300;

/// Longest key, in bytes (Stripe's limit).
pub const MAX_KEY_LEN: usize = 255;

/// `locked_at` of a key whose run ended in a 5xx: no run holds it, and the
/// row keeps its generation (`created_at`) and fingerprint, so the same
/// request may take it over at once and another is refused.
pub const RELEASED: u64 = 0;

/// Whether a header value is a usable key: 1–255 printable ASCII
/// characters (space to `~`). Anything else is refused with 400 rather than
/// silently ignored, so a merchant never believes a retry is protected when
/// it is not.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= MAX_KEY_LEN && key.bytes().all(|b| (0x20..=0x7e).contains(&b))
}

/// What a key's stored row is keyed by: the hex SHA-256 of the key, so the
/// store holds no merchant-chosen text (keys are often order references).
pub fn key_id(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

/// The fingerprint of a request: hex SHA-256 over method, route and body
/// (the route length-prefixed, so no route/body split is ambiguous). Two
/// requests with the same key are "the same request" exactly when their
/// fingerprints are equal.
pub fn fingerprint(method: &str, route: &str, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(format!("{method} {} {route}\n", route.len()).as_bytes());
    h.update(body);
    hex(&h.finalize())
}

/// An `OUT_REFUND_NO` derived from the idempotency key and its claim's
/// `generation`, for a refund whose merchant gave none: a retry after a
/// timeout then resumes the same refund at the gateway instead of starting
/// a second one, and the key used again after it expired makes a new
/// refund. `K` + 31 hex digits (the random numbers are `R` + 30, duplicate
/// refunds `dup-…`).
pub fn refund_no(key: &str, generation: u64) -> String {
    format!("K{}", derived(b"out_refund_no", key, generation, 31))
}

/// A POS `CHARGE_CODE` derived from the idempotency key and its claim's
/// `generation` (32 hex digits, like the random ones): a charge retried
/// after its answer was lost finds its own attempt and is resumed, never
/// sent to the gateway a second time; the key used again after it expired
/// is a new charge.
pub fn charge_code(key: &str, generation: u64) -> String {
    derived(b"charge_code", key, generation, 32)
}

/// `len` hex digits of SHA-256 over `purpose`, the generation and the key,
/// newline-separated.
fn derived(purpose: &[u8], key: &str, generation: u64, len: usize) -> String {
    let mut h = Sha256::new();
    h.update(purpose);
    h.update(format!("\n{generation}\n").as_bytes());
    h.update(key.as_bytes());
    let mut s = hex(&h.finalize());
    s.truncate(len);
    s
}

/// Whether an answer with this HTTP status is stored and replayed: below
/// 500. A 5xx releases the key so the merchant's retry runs again.
pub fn should_store(status: u16) -> bool {
    status < 500
}

/// A stored key, as the Worker read it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// [`fingerprint`] of the request that claimed the key.
    pub fingerprint: String,
    /// Unix seconds the key was claimed.
    pub created_at: u64,
    /// Unix seconds the current run claimed it (differs from `created_at`
    /// after an abandoned claim was taken over).
    pub locked_at: u64,
    /// The stored answer, once there is one.
    pub answer: Option<Answer>,
}

/// A stored answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// HTTP status.
    pub status: u16,
    /// The JSON body exactly as first sent.
    pub body: String,
}

/// What to do with a request that carries a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Run the request: the key is free, expired or abandoned (the Worker
    /// must still win the conditional write that claims it).
    Proceed,
    /// Answer with what the first request got; nothing runs.
    Replay(Answer),
    /// The key was used for another route or body: 409 `IDEMPOTENCY_KEY_REUSED`.
    Reused,
    /// The first request with this key is still running: 409 `IDEMPOTENCY_KEY_IN_USE`.
    InUse,
}

/// Decides what a request with `fingerprint` does, given what is stored
/// under its key (`None`: nothing) at `now` (unix seconds).
///
/// Expiry comes first: after [`TTL_SECS`] a key is forgotten, whatever it
/// held (the cron deletes such rows; this covers the time until it runs).
/// Then the fingerprint: another request under a live key is refused even
/// while the first still runs, as Stripe does.
pub fn decide(stored: Option<&Record>, fingerprint: &str, now: u64) -> Decision {
    let Some(r) = stored else {
        return Decision::Proceed;
    };
    if now >= r.created_at.saturating_add(TTL_SECS) {
        return Decision::Proceed;
    }
    if r.fingerprint != fingerprint {
        return Decision::Reused;
    }
    match &r.answer {
        Some(a) => Decision::Replay(a.clone()),
        None if now >= r.locked_at.saturating_add(LOCK_SECS) => Decision::Proceed,
        None => Decision::InUse,
    }
}

/// The generation of a key this request took over from `seen` at `now`:
/// the first claim's while the key lives (an abandoned or released run of
/// the same request resumes its own ids), a new one once it expired (what
/// the conditional take-over writes).
pub fn generation_after_take_over(seen: &Record, now: u64) -> u64 {
    if seen.created_at <= purge_cutoff(now) {
        now
    } else {
        seen.created_at
    }
}

/// Rows claimed before this are deleted by the cron.
pub fn purge_cutoff(now: u64) -> u64 {
    now.saturating_sub(TTL_SECS)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_795_600_000;

    fn record(fp: &str, created_ago: u64, locked_ago: u64, answer: Option<Answer>) -> Record {
        Record {
            fingerprint: fp.into(),
            created_at: NOW - created_ago,
            locked_at: NOW - locked_ago,
            answer,
        }
    }

    fn answer() -> Answer {
        Answer {
            status: 200,
            body: r#"{"ok":true}"#.into(),
        }
    }

    #[test]
    fn decisions() {
        let fp = "f1";
        let done = Some(answer());
        let cases: Vec<(&str, Option<Record>, Decision)> = vec![
            ("no row", None, Decision::Proceed),
            (
                "same request, answered",
                Some(record(fp, 10, 10, done.clone())),
                Decision::Replay(answer()),
            ),
            (
                "same request, running",
                Some(record(fp, 10, 10, None)),
                Decision::InUse,
            ),
            (
                "other body, answered",
                Some(record("f2", 10, 10, done.clone())),
                Decision::Reused,
            ),
            (
                "other body, running",
                Some(record("f2", 10, 10, None)),
                Decision::Reused,
            ),
            (
                "running just under the lock",
                Some(record(fp, LOCK_SECS - 1, LOCK_SECS - 1, None)),
                Decision::InUse,
            ),
            (
                "abandoned run",
                Some(record(fp, LOCK_SECS, LOCK_SECS, None)),
                Decision::Proceed,
            ),
            (
                "abandoned run, other body",
                Some(record("f2", LOCK_SECS, LOCK_SECS, None)),
                Decision::Reused,
            ),
            (
                "taken over recently",
                Some(record(fp, LOCK_SECS + 50, 5, None)),
                Decision::InUse,
            ),
            (
                "answered, just under 24 h",
                Some(record(fp, TTL_SECS - 1, TTL_SECS - 1, done.clone())),
                Decision::Replay(answer()),
            ),
            (
                "answered, 24 h old",
                Some(record(fp, TTL_SECS, TTL_SECS, done.clone())),
                Decision::Proceed,
            ),
            (
                "other body, 24 h old",
                Some(record("f2", TTL_SECS, TTL_SECS, done)),
                Decision::Proceed,
            ),
        ];
        for (name, stored, want) in cases {
            assert_eq!(decide(stored.as_ref(), fp, NOW), want, "{name}");
        }
    }

    #[test]
    fn stored_statuses() {
        for (status, stored) in [
            (200, true),
            (400, true),
            (404, true),
            (409, true),
            (499, true),
            (500, false),
            (502, false),
            (504, false),
        ] {
            assert_eq!(should_store(status), stored, "{status}");
        }
    }

    #[test]
    fn keys() {
        assert!(valid_key("a"));
        assert!(valid_key("order-42 retry #1 ~"));
        assert!(valid_key(&"k".repeat(255)));
        assert!(!valid_key(""));
        assert!(!valid_key(&"k".repeat(256)));
        assert!(!valid_key("tab\there"));
        assert!(!valid_key("newline\n"));
        assert!(!valid_key("ключ"));
        assert!(!valid_key("\u{7f}"));
    }

    #[test]
    fn fingerprints_separate_method_route_and_body() {
        let base = fingerprint("POST", "/v1/links", b"{}");
        assert_eq!(base, fingerprint("POST", "/v1/links", b"{}"));
        assert_eq!(base.len(), 64);
        assert_ne!(base, fingerprint("POST", "/v1/links", b"{ }"));
        assert_ne!(base, fingerprint("POST", "/v1/qr-orders", b"{}"));
        assert_ne!(base, fingerprint("PUT", "/v1/links", b"{}"));
        // The separator keeps route and body apart.
        assert_ne!(
            fingerprint("POST", "/a", b"\nb"),
            fingerprint("POST", "/a\n", b"b")
        );
    }

    #[test]
    fn derived_numbers_are_stable_and_valid() {
        let a = refund_no("retry-1", NOW);
        assert_eq!(a, refund_no("retry-1", NOW));
        assert_ne!(a, refund_no("retry-2", NOW));
        assert_eq!(a.len(), 32);
        assert!(a.starts_with('K'));
        assert!(a.bytes().all(|b| b.is_ascii_alphanumeric()));
        let c = charge_code("retry-1", NOW);
        assert_eq!(c, charge_code("retry-1", NOW));
        assert_ne!(c, charge_code("retry-2", NOW));
        assert_eq!(c.len(), 32);
        assert!(c.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(&a[1..], &c[..31], "the two derivations differ");
        assert_eq!(key_id("x").len(), 64);
        assert_ne!(key_id("x"), key_id("y"));
    }

    /// Issue 24 defect 1: the ids derived from a key belong to one claim
    /// of it. A released or abandoned run taken over within the day keeps
    /// the generation (the retry resumes its own charge); the key used again
    /// after 24 h gets a new one, so its charge code and refund number are
    /// new and the first day's charge is never answered for the second.
    #[test]
    fn derived_ids_do_not_outlive_their_key() {
        let released_ago = |created_ago| Record {
            locked_at: RELEASED,
            ..record("f1", created_ago, 0, None)
        };
        let released = released_ago(60);
        assert_eq!(decide(Some(&released), "f1", NOW), Decision::Proceed);
        assert_eq!(decide(Some(&released), "f2", NOW), Decision::Reused);
        let cases = [
            ("released, same day", released, NOW - 60),
            (
                "abandoned, same day",
                record("f1", LOCK_SECS, LOCK_SECS, None),
                NOW - LOCK_SECS,
            ),
            (
                "expired",
                record("f1", TTL_SECS, TTL_SECS, Some(answer())),
                NOW,
            ),
            ("expired, released", released_ago(TTL_SECS + 5), NOW),
        ];
        for (name, seen, generation) in cases {
            assert_eq!(generation_after_take_over(&seen, NOW), generation, "{name}");
        }
        let (day1, day2) = (NOW - TTL_SECS, NOW);
        assert_ne!(charge_code("till-7", day1), charge_code("till-7", day2));
        assert_ne!(refund_no("till-7", day1), refund_no("till-7", day2));
        assert_eq!(charge_code("till-7", day1), charge_code("till-7", day1));
    }

    #[test]
    fn purge_keeps_a_day() {
        assert_eq!(purge_cutoff(NOW), NOW - TTL_SECS);
        assert_eq!(purge_cutoff(5), 0);
    }
}
