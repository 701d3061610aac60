//! The structured request log (stdout, one JSON line per request) and the
//! in-memory histories behind `GET /sandbox/requests` and `GET /sandbox/notifications`.
//!
//! Merchant keys never appear. `sign` values are shortened to their first six hex
//! digits plus the timestamp: enough to compare with what a client computed, not
//! enough to replay.

use std::collections::VecDeque;
use std::io::Write;

use serde::Serialize;

/// What the sandbox saw and answered for one gateway request.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RequestRecord {
    /// Increasing id.
    pub id: u64,
    /// When it arrived (gateway format, China time).
    pub time: String,
    /// Interface name (`order`, `query`, ...).
    pub interface: String,
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Query parameters, `sign` masked.
    pub query: Vec<(String, String)>,
    /// `busiCode` (query or path).
    pub busi_code: Option<String>,
    /// `CHARGE_CODE` (body or path) when known.
    pub charge_code: Option<String>,
    /// Whether the body was 3DES-encrypted.
    pub encrypted: bool,
    /// Reply format: `json` or `xml`.
    pub format: String,
    /// Timestamp unit of a verified sign: `seconds` or `milliseconds`.
    pub sign_ts: Option<String>,
    /// Which stripping rule made the sign verify.
    pub sign_rule: Option<String>,
    /// The (decrypted) body: JSON when it parses, else text.
    pub body: serde_json::Value,
    /// `RESULT.CODE` answered.
    pub result_code: String,
    /// Why it was rejected (or what happened), in words.
    pub reason: Option<String>,
    /// HTTP status actually sent (after faults), or `null` when no answer was sent.
    pub http_status: Option<u16>,
    /// Fault applied to the answer.
    pub fault: Option<String>,
    /// Time spent before answering, in milliseconds (including injected latency).
    pub duration_ms: u64,
}

/// One notification delivery attempt.
#[derive(Clone, Debug, Serialize)]
pub struct NotificationRecord {
    /// Increasing id.
    pub id: u64,
    /// When the attempt was made.
    pub time: String,
    /// The order.
    pub charge_code: String,
    /// URL posted to (with `sign`, masked); empty when dropped.
    pub url: String,
    /// 1-based attempt number within this notification.
    pub attempt: u32,
    /// `STATE` carried by the notification.
    pub state: u32,
    /// HTTP status the receiver answered (the first 200 among duplicate copies, else the last).
    pub status: Option<u16>,
    /// Transport error, when there was no HTTP answer.
    pub error: Option<String>,
    /// Fault that shaped this attempt.
    pub fault: Option<String>,
    /// How many copies were sent concurrently (duplicate fault), 0 when dropped.
    pub copies: u32,
    /// Sent by `POST /sandbox/notify/{code}` rather than by the sandbox itself.
    pub manual: bool,
}

/// A bounded history, newest last.
#[derive(Debug)]
pub struct History<T> {
    cap: usize,
    next_id: u64,
    items: VecDeque<T>,
}

impl<T: Clone> History<T> {
    /// Keeps at most `cap` entries.
    pub fn new(cap: usize) -> Self {
        History {
            cap: cap.max(1),
            next_id: 1,
            items: VecDeque::new(),
        }
    }

    /// The id the next entry will get.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Appends, forgetting the oldest entry when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.cap {
            self.items.pop_front();
        }
        self.items.push_back(item);
    }

    /// All entries, oldest first.
    pub fn to_vec(&self) -> Vec<T> {
        self.items.iter().cloned().collect()
    }

    /// Forgets everything.
    pub fn clear(&mut self) {
        self.items.clear();
    }
}

/// Shortens a `sign` value to `abcdef…:TS`.
pub fn mask_sign(sign: &str) -> String {
    match sign.split_once(':') {
        Some((hash, ts)) => format!("{}…:{ts}", hash.get(..6).unwrap_or(hash)),
        None => format!("{}…", sign.get(..6).unwrap_or(sign)),
    }
}

/// Masks `sign` in a list of query parameters.
pub fn mask_query(query: &[(String, String)]) -> Vec<(String, String)> {
    query
        .iter()
        .map(|(k, v)| {
            if k == "sign" {
                (k.clone(), mask_sign(v))
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

/// Masks the `sign=` parameter inside a full URL.
pub fn mask_url(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else {
        return url.to_owned();
    };
    let parts: Vec<String> = query
        .split('&')
        .map(|p| match p.split_once('=') {
            Some(("sign", v)) => format!(
                "sign={}",
                mask_sign(&v.replace("%3A", ":").replace("%3a", ":"))
            ),
            _ => p.to_owned(),
        })
        .collect();
    format!("{base}?{}", parts.join("&"))
}

/// Body for the log: parsed JSON when possible, else (lossy) text, capped at 4 KiB.
pub fn body_value(bytes: &[u8]) -> serde_json::Value {
    if bytes.is_empty() {
        return serde_json::Value::Null;
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) {
        return v;
    }
    let text = String::from_utf8_lossy(bytes);
    let cut: String = text.chars().take(4096).collect();
    serde_json::Value::String(cut)
}

/// Writes one JSON line to stdout (`{"kind": kind, ...record}`) and flushes.
pub fn emit<T: Serialize>(kind: &str, record: &T) {
    let mut value = serde_json::to_value(record).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("kind".into(), kind.into());
    }
    let mut out = std::io::stdout().lock();
    // A closed stdout must not take the gateway down: ignore write errors.
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_signs() {
        assert_eq!(
            mask_sign("04391a005ac27298bbe09a0d83f0769a:1473431447"),
            "04391a…:1473431447"
        );
        let q = vec![
            ("sign".to_string(), "abcdef0123:1".to_string()),
            ("busiCode".into(), "1".into()),
        ];
        assert_eq!(mask_query(&q)[0].1, "abcdef…:1");
        assert_eq!(
            mask_url("http://h/n?_type=json&sign=0123456789abcdef%3A99"),
            "http://h/n?_type=json&sign=012345…:99"
        );
    }

    #[test]
    fn history_is_bounded() {
        let mut h = History::new(2);
        for i in 0..3 {
            h.push(i);
        }
        assert_eq!(h.to_vec(), vec![1, 2]);
    }
}
