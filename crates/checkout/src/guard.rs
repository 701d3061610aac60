//! Defences against bad input, decided without I/O: how big a body may be,
//! how often a link may start a payment, where the page may be sent, and
//! whether an attempt belongs to the link a page shows.

use crate::link::{link_id, LinkKeys};
use crate::vocab::OrderKind;

/// Largest request body the Worker reads (`/notify` and every JSON route):
/// 64 KiB, far above any real notification or API body (a link with 20
/// goods lines is under 4 KiB), small enough that nobody can make the Worker
/// decrypt or parse megabytes.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What a request's `Content-Length` says about its body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Declared {
    /// No usable length (chunked): read, counting, up to the cap.
    Unknown,
    /// At most [`MAX_BODY_BYTES`]: read it whole (the runtime holds the
    /// body to its declared length).
    Fits,
    /// Above the cap: refuse without reading.
    TooLarge,
}

/// Classifies a `Content-Length` header value against [`MAX_BODY_BYTES`].
pub fn declared(content_length: Option<&str>) -> Declared {
    match content_length.and_then(|v| v.trim().parse::<u64>().ok()) {
        None => Declared::Unknown,
        Some(n) if n > MAX_BODY_BYTES as u64 => Declared::TooLarge,
        Some(_) => Declared::Fits,
    }
}

/// How many payment attempts one device may start on a link per window
/// (an IP and a link get multiples: [`check_attempt`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Attempts allowed per window (`PAY_RATE_LIMIT`, default 10).
    pub limit: u64,
    /// The window, seconds (`PAY_RATE_WINDOW_SECS`, default 600).
    pub window_secs: u64,
}

impl Default for RateLimit {
    fn default() -> Self {
        RateLimit {
            limit: 10,
            window_secs: 600,
        }
    }
}

impl RateLimit {
    /// The same window with `factor` times the attempts.
    pub fn times(&self, factor: u64) -> RateLimit {
        RateLimit {
            limit: self.limit.saturating_mul(factor),
            window_secs: self.window_secs,
        }
    }

    /// The start of the window ending at `now`: attempts created strictly
    /// after it count.
    pub fn window_start(&self, now: u64) -> u64 {
        now.saturating_sub(self.window_secs)
    }

    /// Whether one more attempt may start at `now`, given the creation times
    /// (unix seconds) of the link's attempts. `Err(retry_after)` says how many
    /// seconds until enough of them have left the window (at least 1): the
    /// `Retry-After` of the 429.
    pub fn check(&self, attempt_times: &[u64], now: u64) -> Result<(), u64> {
        let start = self.window_start(now);
        let mut recent: Vec<u64> = attempt_times
            .iter()
            .copied()
            .filter(|&t| t > start)
            .collect();
        if (recent.len() as u64) < self.limit {
            return Ok(());
        }
        // Oldest first: once the first (len - limit + 1) have aged out,
        // fewer than `limit` remain.
        // With a limit of 0 nothing ever frees up: a whole window.
        recent.sort_unstable();
        let must_age = recent.len() - self.limit as usize;
        let wait = recent.get(must_age).map_or(self.window_secs, |&t| {
            t.saturating_add(self.window_secs).saturating_sub(now)
        });
        Err(wait.max(1))
    }
}

/// Who started a payment attempt or a sign-in, as the limits count it
/// (issue 24, defect 8): keyed hashes (the link secret's HMAC), so D1 holds
/// no IP address or User-Agent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// [`client_id`] of the IP (`CF-Connecting-IP`).
    pub ip: String,
    /// [`client_id`] of IP and User-Agent together: one device behind an IP
    /// (shoppers behind one carrier NAT share an IP, rarely a device).
    pub device: String,
}

impl Client {
    /// The client of a request from `ip` with `user_agent`.
    pub fn of(keys: &LinkKeys, ip: &str, user_agent: &str) -> Client {
        Client {
            ip: client_id(keys, ip),
            device: client_id(keys, &format!("{ip}\n{user_agent}")),
        }
    }
}

/// 16 hex digits of the link secret's HMAC of `who` (an IP, or an IP and a
/// User-Agent): stable per client, unreadable in the store.
pub fn client_id(keys: &LinkKeys, who: &str) -> String {
    keys.mac(&format!("client\n{who}"), 8)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The limits of one new attempt of a link, judged on the link's other
/// attempts (`(who started it, unix seconds)`; attempts stored before
/// clients were recorded have none and count as one client). The device
/// gets `limit` per window, its IP `IP_FACTOR` times that (a household or
/// an office), the link `LINK_FACTOR` times that from everybody together
/// (what bounds the gateway calls of a flood from many addresses). A script
/// on one device spends its own allowance only: a shopper on another device
/// still pays. `Err(retry_after)` as [`RateLimit::check`].
pub fn check_attempt(
    limit: &RateLimit,
    others: &[(Option<&Client>, u64)],
    me: Option<&Client>,
    now: u64,
) -> Result<(), u64> {
    let times = |same: &dyn Fn(Option<&Client>) -> bool| -> Vec<u64> {
        others
            .iter()
            .filter(|(c, _)| same(*c))
            .map(|&(_, t)| t)
            .collect()
    };
    let device = times(&|c| c.map(|c| &c.device) == me.map(|m| &m.device));
    let ip = times(&|c| c.map(|c| &c.ip) == me.map(|m| &m.ip));
    let all = times(&|_| true);
    limit.check(&device, now)?;
    limit.times(IP_FACTOR).check(&ip, now)?;
    limit.times(LINK_FACTOR).check(&all, now)
}

/// One IP's attempts on a link per window, in units of the device limit.
pub const IP_FACTOR: u64 = 3;
/// A link's attempts per window from everybody, in units of the device limit.
pub const LINK_FACTOR: u64 = 10;

/// Whether the page may be sent to `url` (a gateway's `BAR_CODE` for the
/// app jump): `https:`, the wallets' own schemes `weixin:`, `alipays:` and
/// `alipay:`, and `http:` only to a loopback host (`127.0.0.1`, `localhost`,
/// `[::1]`), which is where the local sandbox serves its pay page. Anything
/// else (`javascript:`, `data:`, plain-http hosts, URLs with credentials,
/// backslashes, whitespace or control characters) is refused, so a
/// compromised or spoofed gateway answer cannot run script in the page or
/// send the shopper to a look-alike over an unauthenticated connection.
///
/// The Worker refuses to hand such a URL out and the page checks again
/// before it navigates; both call this one function.
pub fn is_safe_redirect(url: &str) -> bool {
    if url.is_empty()
        || url
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    let Some((scheme, rest)) = url.split_once(':') else {
        return false;
    };
    match scheme.to_ascii_lowercase().as_str() {
        "https" => host_of(rest).is_some_and(|h| !h.is_empty()),
        "http" => host_of(rest).is_some_and(is_loopback),
        "weixin" | "alipays" | "alipay" => !rest.is_empty(),
        _ => false,
    }
}

/// Whether webhooks may be POSTed to `url` (`MERCHANT_WEBHOOK_URL`):
/// `https:` to a named host, or `http:` only to a loopback host — the
/// receiver the local stacks and tests run on 127.0.0.1 (a Worker on
/// Cloudflare cannot reach a loopback address, so this admits no plain
/// HTTP in production). Signed events carry order data and the merchant
/// ships goods on them: never over an unauthenticated connection (issue
/// 24, defect 7). Same syntax rules as [`is_safe_redirect`].
pub fn is_webhook_endpoint(url: &str) -> bool {
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\')
    {
        return false;
    }
    match url.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => {
            host_of(rest).is_some_and(|h| !h.is_empty())
        }
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => {
            host_of(rest).is_some_and(is_loopback)
        }
        _ => false,
    }
}

/// The host of `//host[:port]/...`; `None` when there is no authority or it
/// carries credentials (`user@host`, which browsers would follow to `host`).
fn host_of(rest: &str) -> Option<&str> {
    let authority = rest.strip_prefix("//")?;
    let authority = authority.split(['/', '?', '#']).next().unwrap_or(authority);
    if authority.contains('@') {
        return None;
    }
    if authority.starts_with('[') {
        // An IPv6 literal: `[addr]` followed by nothing or `:port`.
        let (host, tail) = authority.split_at(authority.find(']')? + 1);
        return (tail.is_empty() || tail.starts_with(':')).then_some(host);
    }
    authority.split(':').next()
}

fn is_loopback(host: &str) -> bool {
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|h| host.eq_ignore_ascii_case(h))
}

/// Whether the attempt whose stored link is `attempt_link_id` belongs to
/// the link of `token`. The page asks for its own attempts with its token,
/// so `?charge_code=` of another link's order (say, a paid one) shows
/// "not found" instead of that order's receipt; the answer is the same as
/// for an unknown code, so nothing about the other order leaks.
pub fn attempt_of_link(attempt_link_id: Option<&str>, token: &str) -> bool {
    attempt_link_id.is_some_and(|id| id == link_id(token))
}

/// Whether the no-auth shopper route (`GET /api/orders/{code}`) may answer
/// an attempt of this kind: link attempts only. A POS charge's or QR
/// order's code derives from the merchant's request (a POS code from its
/// `Idempotency-Key`), and no shopper page ever polls it: the merchant API
/// answers those (issue 24, defect 5). A refused kind is "not found", the
/// same answer as an unknown code.
pub fn shown_to_shoppers(kind: OrderKind) -> bool {
    match kind {
        OrderKind::Link => true,
        OrderKind::Qr | OrderKind::Pos => false,
    }
}

/// The cookie naming the shopper's device: a random id the Worker sets on
/// the first payment of a counter code from a browser without one. Two
/// shoppers scanning the same counter code at once are told apart by it.
pub const DEVICE_COOKIE: &str = "soushou_device";

/// The device id in a `Cookie` header: [`DEVICE_COOKIE`]'s value if it is
/// 32 lowercase hex digits (what the Worker mints), else `None` — a forged
/// or garbled value is no device, so it matches no attempt.
pub fn device_of(cookie_header: Option<&str>) -> Option<&str> {
    cookie_header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == DEVICE_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| v.len() == 32 && v.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The `Set-Cookie` value handing a browser its device id: for every path,
/// a year, not readable by scripts, sent on same-site requests only, and
/// only over HTTPS when the Worker is served over HTTPS.
pub fn device_cookie(id: &str, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{DEVICE_COOKIE}={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax{secure}")
}

/// Whether the device `asked` may see, resume or poll an attempt made by
/// `made_by`. Only a counter code's attempts are bound to their device
/// (many shoppers pay the same code, each must see only their own); an
/// attempt made without a device is anyone's who holds its link, as before.
pub fn may_watch(made_by: Option<&str>, asked: Option<&str>) -> bool {
    match made_by {
        None => true,
        Some(device) => asked == Some(device),
    }
}

/// `SOUSHOU_ENCRYPT` read safely: unset means 3DES, as API.md says, so a
/// deployment that forgets the var still encrypts; `3DES` (any case) too.
/// Only an explicit empty value or `none` turns encryption off. Anything
/// else is a misconfiguration (`None`), refused rather than guessed.
pub fn encryption_setting(raw: Option<&str>) -> Option<bool> {
    match raw.map(str::trim) {
        None => Some(true),
        Some(v) if v.eq_ignore_ascii_case("3DES") => Some(true),
        Some(v) if v.is_empty() || v.eq_ignore_ascii_case("none") => Some(false),
        Some(_) => None,
    }
}

#[cfg(test)]
mod device_tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn the_device_cookie() {
        let header = format!("a=1; {DEVICE_COOKIE}={ID}; b=2");
        let cases: Vec<(Option<&str>, Option<&str>)> = vec![
            (None, None),
            (Some(""), None),
            (Some(header.as_str()), Some(ID)),
            (Some("soushou_device=0123"), None),
            (
                Some("soushou_device=0123456789ABCDEF0123456789ABCDEF"),
                None,
            ),
            (
                Some("xsoushou_device=0123456789abcdef0123456789abcdef"),
                None,
            ),
        ];
        for (h, want) in cases {
            assert_eq!(device_of(h), want, "{h:?}");
        }
        // What the Worker sets reads back.
        let set = device_cookie(ID, true);
        let pair = set.split(';').next().unwrap();
        assert_eq!(device_of(Some(pair)), Some(ID));
        assert!(set.ends_with("HttpOnly; SameSite=Lax; Secure"), "{set}");
        assert!(!device_cookie(ID, false).contains("Secure"));
    }

    #[test]
    fn only_the_device_that_made_a_counter_attempt_watches_it() {
        let other = "ffffffffffffffffffffffffffffffff";
        assert!(may_watch(None, None));
        assert!(may_watch(None, Some(ID)));
        assert!(may_watch(Some(ID), Some(ID)));
        assert!(!may_watch(Some(ID), Some(other)));
        assert!(!may_watch(Some(ID), None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_device_spends_its_own_allowance_only() {
        let keys = LinkKeys::from_config(None, Some("k".repeat(32).as_str())).unwrap();
        let script = Client::of(&keys, "198.51.100.7", "curl/8");
        let script_other_ua = Client::of(&keys, "198.51.100.7", "python");
        let shopper = Client::of(&keys, "192.0.2.1", "MicroMessenger");
        let third = Client::of(&keys, "198.51.100.7", "third");
        assert_ne!(script.device, script_other_ua.device);
        assert_eq!(script.ip, script_other_ua.ip);
        assert!(!script.ip.contains("198"), "no IP in the store");
        let limit = RateLimit {
            limit: 2,
            window_secs: 60,
        };
        let now = 1_000;
        let from = |c: &Client, n: usize| vec![(Some(c.clone()), now - 5); n];
        let view = |v: &[(Option<Client>, u64)]| -> Vec<(Option<Client>, u64)> { v.to_vec() };
        let check = |others: &[(Option<Client>, u64)], me: &Client| {
            let others: Vec<(Option<&Client>, u64)> =
                others.iter().map(|(c, t)| (c.as_ref(), *t)).collect();
            check_attempt(&limit, &others, Some(me), now)
        };
        type Case<'a> = (
            &'a str,
            Vec<(Option<Client>, u64)>,
            &'a Client,
            Result<(), u64>,
        );
        let cases: Vec<Case> = vec![
            ("a fresh link", vec![], &script, Ok(())),
            (
                "the device at its limit",
                from(&script, 2),
                &script,
                Err(55),
            ),
            (
                "another device, same link",
                from(&script, 2),
                &shopper,
                Ok(()),
            ),
            (
                "same IP, another UA, under 3x",
                from(&script, 2),
                &script_other_ua,
                Ok(()),
            ),
            (
                "the IP at 3x",
                view(&[from(&script, 2), from(&script_other_ua, 4)].concat()),
                &third,
                Err(55),
            ),
            (
                "the link at 10x from everybody",
                from(&shopper, 20),
                &script,
                Err(55),
            ),
            (
                "old rows without a client count together",
                vec![(None, now - 5); 2],
                &script,
                Ok(()),
            ),
            (
                "outside the window",
                vec![(Some(script.clone()), now - 60); 2],
                &script,
                Ok(()),
            ),
        ];
        for (name, others, me, want) in cases {
            assert_eq!(check(&others, me), want, "{name}");
        }
    }

    #[test]
    fn webhooks_go_over_https_or_to_loopback_only() {
        for (url, ok) in [
            ("https://shop.example/webhook", true),
            ("HTTPS://shop.example:8443/hooks?x=1", true),
            ("http://127.0.0.1:43287/webhook", true),
            ("http://localhost/webhook", true),
            ("http://[::1]:9/webhook", true),
            ("http://shop.example/webhook", false),
            ("http://127.0.0.1.evil.example/webhook", false),
            ("https://user:pw@shop.example/webhook", false),
            ("https:///nohost", false),
            ("ftp://shop.example/webhook", false),
            ("https://shop.example/web hook", false),
            ("", false),
        ] {
            assert_eq!(is_webhook_endpoint(url), ok, "{url}");
        }
    }

    #[test]
    fn shoppers_see_link_attempts_only() {
        for (kind, shown) in [
            (OrderKind::Link, true),
            (OrderKind::Qr, false),
            (OrderKind::Pos, false),
        ] {
            assert_eq!(shown_to_shoppers(kind), shown, "{kind:?}");
        }
    }

    #[test]
    fn declared_lengths() {
        let cases = [
            (None, Declared::Unknown),
            (Some("lots"), Declared::Unknown),
            (Some("-1"), Declared::Unknown),
            (Some("0"), Declared::Fits),
            (Some("65536"), Declared::Fits),
            (Some("65537"), Declared::TooLarge),
            (Some(" 99999999999 "), Declared::TooLarge),
        ];
        for (header, want) in cases {
            assert_eq!(declared(header), want, "{header:?}");
        }
    }

    #[test]
    fn rate_limit_table() {
        let rl = RateLimit {
            limit: 3,
            window_secs: 600,
        };
        let now = 10_000;
        let cases: Vec<(&str, Vec<u64>, Result<(), u64>)> = vec![
            ("no attempts", vec![], Ok(())),
            ("under the limit", vec![now - 10, now - 5], Ok(())),
            (
                "at the limit",
                vec![now - 100, now - 50, now - 10],
                Err(500),
            ),
            (
                "older ones do not count",
                vec![now - 600, now - 700, now - 50, now - 10],
                Ok(()),
            ),
            (
                "unsorted, over the limit",
                vec![now - 10, now - 300, now - 50, now - 200],
                Err(400),
            ),
            ("all just now", vec![now, now, now], Err(600)),
            (
                "oldest leaves in 1 s",
                vec![now - 599, now - 1, now],
                Err(1),
            ),
        ];
        for (name, times, want) in cases {
            assert_eq!(rl.check(&times, now), want, "{name}");
        }
        assert_eq!(
            RateLimit::default(),
            RateLimit {
                limit: 10,
                window_secs: 600
            }
        );
        assert_eq!(rl.window_start(100), 0);
    }

    #[test]
    fn zero_limit_refuses_everything() {
        let rl = RateLimit {
            limit: 0,
            window_secs: 60,
        };
        assert_eq!(rl.check(&[], 1000), Err(60));
    }

    #[test]
    fn redirects() {
        let allowed = [
            "https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=1",
            "HTTPS://mclient.alipay.com/h5pay",
            "weixin://wap/pay?prepayid%3D1",
            "alipays://platformapi/startapp?appId=20000067",
            "alipay://alipayclient/?x",
            "http://127.0.0.1:7300/sandbox/shopper/ABC",
            "http://localhost:8787/x",
            "http://LOCALHOST/x",
            "http://[::1]:7300/sandbox/shopper/ABC",
            "http://127.0.0.1",
        ];
        for url in allowed {
            assert!(is_safe_redirect(url), "{url}");
        }
        let refused = [
            "",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:x",
            "file:///etc/passwd",
            "http://pay.example.com/x",
            "http://127.0.0.1.evil.example/x",
            "http://127.0.0.1@evil.example/x",
            "https://user@evil.example/",
            "http://localhost\\@evil.example",
            "https:///path-only",
            "https:relative",
            "//evil.example/x",
            "/relative/path",
            "weixin:",
            " https://x.example",
            "https://x.example/\nSet-Cookie:1",
            "java\tscript:alert(1)",
            "http://[::1].evil/x",
        ];
        for url in refused {
            assert!(!is_safe_redirect(url), "{url:?}");
        }
    }

    #[test]
    fn encryption_defaults_to_3des() {
        let cases = [
            (None, Some(true)),
            (Some("3DES"), Some(true)),
            (Some(" 3des "), Some(true)),
            (Some(""), Some(false)),
            (Some("  "), Some(false)),
            (Some("none"), Some(false)),
            (Some("NONE"), Some(false)),
            (Some("AES"), None),
            (Some("false"), None),
        ];
        for (raw, want) in cases {
            assert_eq!(encryption_setting(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn attempts_belong_to_their_link_only() {
        let token = "payload.signature";
        assert!(attempt_of_link(Some(&link_id(token)), token));
        assert!(!attempt_of_link(Some(&link_id("other.token")), token));
        assert!(!attempt_of_link(None, token));
        assert!(!attempt_of_link(Some(""), token));
    }
}
