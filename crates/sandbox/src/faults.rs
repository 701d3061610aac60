//! Fault injection: what can go wrong between a merchant and the gateway.
//!
//! One mode per target (an interface or `notify`), active until removed or, when set
//! with a number of uses, for that many requests (so a seeded driver can fault
//! exactly one call). Response faults are applied *after* the request was processed,
//! like a proxy or network failure on the way back: the order exists even though the
//! client saw an error, so clients must reconcile by querying; `processed:CODE` is
//! one too, a well-formed answer that says the outcome is unknown. The one exception
//! is `reject:CODE`, the gateway refusing a request it did not act on.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use rand::Rng;
use soushou::envelope::Interface;
use soushou::types::ResultCode;

use crate::error::Error;

/// Where a fault applies: one gateway interface, or the notification sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultTarget {
    /// Answers of one gateway interface.
    Gateway(Interface),
    /// Deliveries of asynchronous payment notifications.
    Notify,
    /// The wallets' sign-in code exchanges (WeChat `sns/oauth2/access_token`,
    /// Alipay `alipay.system.oauth.token`).
    OauthToken,
}

impl FaultTarget {
    /// The name used on the command line and in the control API (`order`, `notify`, ...).
    pub fn name(self) -> &'static str {
        match self {
            FaultTarget::Gateway(i) => i.path_name(),
            FaultTarget::Notify => "notify",
            FaultTarget::OauthToken => "oauth_token",
        }
    }
}

impl FromStr for FaultTarget {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        if s == "notify" {
            return Ok(FaultTarget::Notify);
        }
        if s == "oauth_token" {
            return Ok(FaultTarget::OauthToken);
        }
        Interface::ALL
            .iter()
            .find(|i| i.path_name() == s)
            .map(|i| FaultTarget::Gateway(*i))
            .ok_or_else(|| {
                Error::Fault(format!(
                    "unknown interface {s:?}; expected one of preOrder, order, creatOrder, \
                     wapOrder, refund, query, refundQuery, cancelTrade, notify, oauth_token"
                ))
            })
    }
}

impl fmt::Display for FaultTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault mode; its string form is what `--fault` and the control API take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaultMode {
    /// `latency:MS` — wait this long before answering (or before each notification attempt).
    Latency(Duration),
    /// `timeout` — accept the request, process it, never answer (the connection is held).
    Timeout,
    /// `http500` / `http5xx:CODE` — answer this 5xx status with a short text body.
    Http5xx(u16),
    /// `html` / `html:CODE` — an nginx-style HTML error page (default status 502).
    Html(u16),
    /// `truncated` — the valid answer cut in half.
    Truncated,
    /// `garbage` — random bytes instead of the answer.
    Garbage,
    /// `bar_code:URL` (wapOrder) — the answer hands out URL as `BAR_CODE`, the
    /// app-jump address the merchant redirects the shopper to: a gateway
    /// (or a spoofed answer) whose address the merchant must vet.
    BarCode(String),
    /// `bad_sign` (notify) — the notification's `sign` does not verify.
    BadSign,
    /// `duplicate:N` (notify) — every delivery attempt is sent N times concurrently.
    Duplicate(u32),
    /// `out_of_order` (notify) — after the paid (STATE=1) notification, a stale STATE=0 one arrives.
    OutOfOrder,
    /// `drop` (notify) — the notification is never sent.
    Drop,
    /// `reject:CODE` — the gateway refuses the request without acting on it: a
    /// well-formed, signed (and encrypted when asked) answer with `RESULT.CODE`
    /// = CODE and no state change, unlike the response faults, which lose the
    /// answer of a request that was processed. Lets clients be tested against a
    /// refusal they must not mistake for success (e.g. a cancel that did not cancel).
    Reject(ResultCode),
    /// `processed:CODE` — the gateway acts on the request exactly as without a fault
    /// (creates the order, pays the preOrder, refunds, revokes) and then answers a
    /// well-formed, signed (and encrypted when asked) answer with `RESULT.CODE` = CODE
    /// instead of SUCCESS: an outcome-unknown answer (`EXCEPTION`, `DATABASE_ERROR`, ...)
    /// after which only a query tells what happened.
    Processed(ResultCode),
}

impl FaultMode {
    /// Whether this mode makes sense for `target`.
    pub fn applies_to(&self, target: FaultTarget) -> bool {
        match self {
            FaultMode::Latency(_) => true,
            FaultMode::Timeout
            | FaultMode::Http5xx(_)
            | FaultMode::Html(_)
            | FaultMode::Truncated
            | FaultMode::Garbage => {
                matches!(target, FaultTarget::Gateway(_) | FaultTarget::OauthToken)
            }
            FaultMode::Reject(_) | FaultMode::Processed(_) => {
                matches!(target, FaultTarget::Gateway(_))
            }
            FaultMode::BarCode(_) => target == FaultTarget::Gateway(Interface::WapOrder),
            FaultMode::BadSign
            | FaultMode::Duplicate(_)
            | FaultMode::OutOfOrder
            | FaultMode::Drop => target == FaultTarget::Notify,
        }
    }
}

impl FromStr for FaultMode {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let (name, arg) = match s.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (s, None),
        };
        let num = |what: &str| -> Result<u64, Error> {
            arg.and_then(|a| a.trim().parse::<u64>().ok())
                .ok_or_else(|| {
                    Error::Fault(format!("{s:?}: {what} needs a number, e.g. {what}:500"))
                })
        };
        let status = |default: u16, lo: u16| -> Result<u16, Error> {
            match arg {
                None => Ok(default),
                Some(_) => {
                    let c = num(name)?;
                    if (u64::from(lo)..=599).contains(&c) {
                        Ok(c as u16)
                    } else {
                        Err(Error::Fault(format!("{s:?}: status must be {lo}..=599")))
                    }
                }
            }
        };
        Ok(match name {
            "latency" => FaultMode::Latency(Duration::from_millis(num("latency")?)),
            "timeout" => FaultMode::Timeout,
            "http500" => FaultMode::Http5xx(500),
            "http5xx" => FaultMode::Http5xx(status(500, 500)?),
            "html" => FaultMode::Html(status(502, 200)?),
            "truncated" => FaultMode::Truncated,
            "garbage" => FaultMode::Garbage,
            "bar_code" => match arg.filter(|a| !a.is_empty()) {
                Some(url) => FaultMode::BarCode(url.to_owned()),
                None => {
                    return Err(Error::Fault(format!(
                        "{s:?}: bar_code needs an address, e.g. bar_code:javascript:alert(1)"
                    )))
                }
            },
            "bad_sign" => FaultMode::BadSign,
            "duplicate" => {
                let n = num("duplicate")?;
                if !(2..=100).contains(&n) {
                    return Err(Error::Fault(format!(
                        "{s:?}: duplicate count must be 2..=100"
                    )));
                }
                FaultMode::Duplicate(n as u32)
            }
            "out_of_order" => FaultMode::OutOfOrder,
            "drop" => FaultMode::Drop,
            "reject" => FaultMode::Reject(answer_code(s, arg)?),
            "processed" => FaultMode::Processed(answer_code(s, arg)?),
            _ => {
                return Err(Error::Fault(format!(
                "unknown mode {s:?}; expected latency:MS, timeout, http500, http5xx:CODE, html, \
                     html:CODE, truncated, garbage, bar_code:URL, reject:CODE, processed:CODE, bad_sign, duplicate:N, \
                     out_of_order or drop"
            )))
            }
        })
    }
}

impl fmt::Display for FaultMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultMode::Latency(d) => write!(f, "latency:{}", d.as_millis()),
            FaultMode::Timeout => f.write_str("timeout"),
            FaultMode::Http5xx(500) => f.write_str("http500"),
            FaultMode::Http5xx(c) => write!(f, "http5xx:{c}"),
            FaultMode::Html(502) => f.write_str("html"),
            FaultMode::Html(c) => write!(f, "html:{c}"),
            FaultMode::Truncated => f.write_str("truncated"),
            FaultMode::Garbage => f.write_str("garbage"),
            FaultMode::BarCode(url) => write!(f, "bar_code:{url}"),
            FaultMode::BadSign => f.write_str("bad_sign"),
            FaultMode::Duplicate(n) => write!(f, "duplicate:{n}"),
            FaultMode::OutOfOrder => f.write_str("out_of_order"),
            FaultMode::Drop => f.write_str("drop"),
            FaultMode::Reject(code) => write!(f, "reject:{}", code.as_str()),
            FaultMode::Processed(code) => write!(f, "processed:{}", code.as_str()),
        }
    }
}

/// The result code of `reject:CODE` and `processed:CODE`: one of the document's
/// appendix-5 codes other than success (a typo must not silently become an unknown code).
fn answer_code(s: &str, arg: Option<&str>) -> Result<ResultCode, Error> {
    let code = ResultCode::from_code(arg.unwrap_or(""));
    match code {
        ResultCode::Unknown(_) => Err(Error::Fault(format!(
            "{s:?}: needs an appendix-5 result code, e.g. reject:FAIL or \
             processed:SERVICE_UNAVAILABLE"
        ))),
        ResultCode::Success => Err(Error::Fault(format!(
            "{s:?}: SUCCESS is what the gateway answers without a fault"
        ))),
        code => Ok(code),
    }
}

/// Parses `INTERFACE=MODE` as given to `--fault`.
pub fn parse_assignment(s: &str) -> Result<(FaultTarget, FaultMode), Error> {
    let (t, m) = s
        .split_once('=')
        .ok_or_else(|| Error::Fault(format!("{s:?}: expected INTERFACE=MODE")))?;
    let target: FaultTarget = t.trim().parse()?;
    let mode: FaultMode = m.trim().parse()?;
    check(target, &mode)?;
    Ok((target, mode))
}

fn check(target: FaultTarget, mode: &FaultMode) -> Result<(), Error> {
    if mode.applies_to(target) {
        Ok(())
    } else {
        Err(Error::Fault(format!(
            "mode {mode} does not apply to {target}"
        )))
    }
}

/// An active fault: its mode and, when limited, how many more requests it applies to.
#[derive(Debug)]
struct Active {
    mode: FaultMode,
    remaining: Option<u32>,
}

/// The active faults.
#[derive(Debug, Default)]
pub struct Faults {
    active: HashMap<FaultTarget, Active>,
}

impl Faults {
    /// Activates `mode` on `target`, replacing any previous mode there: for the next
    /// `times` requests of the target (at least 1), or until cleared when `None`.
    pub fn set(
        &mut self,
        target: FaultTarget,
        mode: FaultMode,
        times: Option<u32>,
    ) -> Result<(), Error> {
        check(target, &mode)?;
        if times == Some(0) {
            return Err(Error::Fault("times must be at least 1".into()));
        }
        self.active.insert(
            target,
            Active {
                mode,
                remaining: times,
            },
        );
        Ok(())
    }

    /// Removes the fault on `target`; returns whether there was one.
    pub fn clear(&mut self, target: FaultTarget) -> bool {
        self.active.remove(&target).is_some()
    }

    /// Removes every fault.
    pub fn clear_all(&mut self) {
        self.active.clear();
    }

    /// The mode that applies to one request of `target`, if any, using up one of a
    /// limited fault's uses (the fault clears itself after its last one). Each request
    /// (each notification attempt) takes its fault exactly once.
    pub fn take(&mut self, target: FaultTarget) -> Option<FaultMode> {
        let active = self.active.get_mut(&target)?;
        let mode = active.mode.clone();
        match &mut active.remaining {
            Some(1) => {
                self.active.remove(&target);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(mode)
    }

    /// `{"order": "http500", ...}` for the control API (a limited fault is listed until used up).
    pub fn snapshot(&self) -> BTreeMap<String, String> {
        self.active
            .iter()
            .map(|(t, a)| (t.name().to_owned(), a.mode.to_string()))
            .collect()
    }
}

/// An answer rewritten by a response fault.
#[derive(Debug, PartialEq, Eq)]
pub struct Distorted {
    /// HTTP status to send.
    pub status: u16,
    /// Content-Type to send.
    pub content_type: &'static str,
    /// Body to send.
    pub body: Vec<u8>,
}

/// Rewrites a valid answer (`body` with `content_type`) according to a response fault.
/// Returns `None` for modes that do not rewrite bodies (latency, timeout, reject, processed,
/// notify modes).
pub fn distort(mode: &FaultMode, content_type: &'static str, body: &[u8]) -> Option<Distorted> {
    match mode {
        &FaultMode::Http5xx(status) => Some(Distorted {
            status,
            content_type: "text/plain;charset=UTF-8",
            body: format!("{status} Internal Server Error").into_bytes(),
        }),
        &FaultMode::Html(status) => Some(Distorted {
            status,
            content_type: "text/html",
            body: format!(
                "<html>\r\n<head><title>{status} Bad Gateway</title></head>\r\n<body>\r\n\
                 <center><h1>{status} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n\
                 </body>\r\n</html>\r\n"
            )
            .into_bytes(),
        }),
        FaultMode::Truncated => Some(Distorted {
            status: 200,
            content_type,
            body: body[..body.len() / 2].to_vec(),
        }),
        FaultMode::Garbage => {
            let mut rng = rand::rng();
            let len = rng.random_range(64..256);
            // Bytes that can never start a JSON, XML or base64 document.
            let body = (0..len).map(|_| rng.random_range(0x80..=0xFFu8)).collect();
            Some(Distorted {
                status: 200,
                content_type,
                body,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for s in [
            "latency:250",
            "timeout",
            "http500",
            "http5xx:503",
            "html",
            "html:200",
            "truncated",
            "garbage",
            "bad_sign",
            "duplicate:3",
            "out_of_order",
            "drop",
            "reject:FAIL",
            "reject:SERVICE_UNAVAILABLE",
            "processed:EXCEPTION",
            "processed:AREADY_REVOKED",
            "bar_code:javascript:alert(1)",
            "bar_code:http://pay.example/x?a=b",
        ] {
            let m: FaultMode = s.parse().unwrap();
            assert_eq!(m.to_string(), s);
        }
        assert!("latency".parse::<FaultMode>().is_err());
        assert!("http5xx:404".parse::<FaultMode>().is_err());
        assert!("duplicate:1".parse::<FaultMode>().is_err());
        assert!("teapot".parse::<FaultMode>().is_err());
        assert!("bar_code".parse::<FaultMode>().is_err());
        assert!("bar_code:".parse::<FaultMode>().is_err());
        let bar = FaultMode::BarCode("x:y".into());
        assert!(bar.applies_to(FaultTarget::Gateway(Interface::WapOrder)));
        assert!(!bar.applies_to(FaultTarget::Gateway(Interface::Order)));
        assert!(!bar.applies_to(FaultTarget::Notify));
        assert_eq!(
            "reject:FAIL".parse::<FaultMode>().unwrap(),
            FaultMode::Reject(ResultCode::Fail)
        );
        for bad in [
            "reject",
            "reject:",
            "reject:SUCCESS",
            "reject:NOPE",
            "reject:fail",
            "processed",
            "processed:SUCCESS",
            "processed:SUCESS",
            "processed:TEAPOT",
        ] {
            assert!(bad.parse::<FaultMode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn reject_and_processed_take_every_appendix_5_code() {
        for expected in ResultCode::APPENDIX_5 {
            let code = expected.as_str();
            assert_eq!(
                format!("reject:{code}").parse::<FaultMode>().unwrap(),
                FaultMode::Reject(expected.clone())
            );
            assert_eq!(
                format!("processed:{code}").parse::<FaultMode>().unwrap(),
                FaultMode::Processed(expected)
            );
        }
    }

    #[test]
    fn limited_faults_clear_themselves() {
        let order = FaultTarget::Gateway(Interface::Order);
        let query = FaultTarget::Gateway(Interface::Query);
        let mut f = Faults::default();
        f.set(order, FaultMode::Http5xx(500), Some(2)).unwrap();
        f.set(query, FaultMode::Garbage, None).unwrap();
        assert!(f.set(order, FaultMode::Timeout, Some(0)).is_err());
        assert!(f.set(order, FaultMode::Drop, Some(1)).is_err());
        assert_eq!(f.take(order), Some(FaultMode::Http5xx(500)));
        assert_eq!(
            f.snapshot().get("order").map(String::as_str),
            Some("http500")
        );
        assert_eq!(f.take(order), Some(FaultMode::Http5xx(500)));
        assert_eq!(f.take(order), None);
        assert!(!f.snapshot().contains_key("order"));
        // Unlimited faults stay until cleared.
        for _ in 0..5 {
            assert_eq!(f.take(query), Some(FaultMode::Garbage));
        }
        assert!(f.clear(query));
        assert_eq!(f.take(query), None);
    }

    #[test]
    fn assignments_check_applicability() {
        assert_eq!(
            parse_assignment("order=http500").unwrap(),
            (
                FaultTarget::Gateway(Interface::Order),
                FaultMode::Http5xx(500)
            )
        );
        assert!(parse_assignment("notify=drop").is_ok());
        assert!(parse_assignment("notify=latency:10").is_ok());
        assert!(parse_assignment("notify=truncated").is_err());
        assert!(parse_assignment("query=drop").is_err());
        assert_eq!(
            parse_assignment("cancelTrade=reject:FAIL").unwrap(),
            (
                FaultTarget::Gateway(Interface::CancelTrade),
                FaultMode::Reject(ResultCode::Fail)
            )
        );
        assert!(parse_assignment("notify=reject:FAIL").is_err());
        assert!(parse_assignment("notify=processed:EXCEPTION").is_err());
        assert!(parse_assignment("refund=processed:EXCEPTION").is_ok());
        assert!(parse_assignment("bogus=drop").is_err());
    }

    #[test]
    fn distortions() {
        let body = b"{\"ORDER_RESP\":{}}";
        let t = distort(&FaultMode::Truncated, "application/json", body).unwrap();
        assert_eq!(t.body, body[..body.len() / 2]);
        let g = distort(&FaultMode::Garbage, "application/json", body).unwrap();
        assert!(g.body.iter().all(|b| *b >= 0x80));
        let h = distort(&FaultMode::Html(502), "application/json", body).unwrap();
        assert_eq!(h.status, 502);
        assert!(String::from_utf8(h.body).unwrap().starts_with("<html>"));
        assert!(distort(&FaultMode::Timeout, "x", body).is_none());
    }
}
