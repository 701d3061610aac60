//! The console's screens as addresses: `/console/...` ↔ [`Route`]. Pure, so
//! the host tests pin every address the app and the browser tests use.
//!
//! Each screen has one path; a new screen is one variant, one arm in
//! [`Route::parse`] and one in [`Route::path`] (and its file in
//! `screens/`).

/// Where the console lives on the Worker.
pub const BASE: &str = "/console";

/// One screen of the console.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// Sign in (a key typed once; a sign-in link lands on the Worker).
    SignIn,
    /// The Beijing day: payments, refunds, warnings (the home screen).
    Today,
    /// The orders list; `query`: its filters as the address's query string
    /// (without `?`), so a reload or a shared address keeps them.
    Orders {
        /// The filters, `state=paid&method=…` (API.md's list parameters).
        query: String,
    },
    /// One order, by charge code.
    Order(String),
    /// Statements by day.
    Statements,
    /// Payment links and counter codes.
    Links,
    /// A new link; `kind`: `fixed`, `open` or `counter` (`?kind=`).
    NewLink {
        /// The kind the form opens with (`None`: the form's default).
        kind: Option<String>,
    },
    /// Webhook endpoint, events and their deliveries; `failed`: only the
    /// events whose delivery failed (`?delivery=failed`, Today's warning
    /// links there).
    Webhooks {
        /// Only failed deliveries.
        failed: bool,
    },
    /// Keys, sessions, sign-in links, the audit log (owner).
    Staff,
    /// Read-only health.
    Settings,
    /// An address under `/console` that names no screen.
    NotFound,
}

impl Route {
    /// The screen at `path` (`/console/...`) with the address's query
    /// (`search`, with or without its leading `?`).
    pub fn parse(path: &str, search: &str) -> Route {
        let rest = path.strip_prefix(BASE).unwrap_or(path);
        let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let search = search.strip_prefix('?').unwrap_or(search);
        match segments.as_slice() {
            [] | ["today"] => Route::Today,
            ["sign-in"] => Route::SignIn,
            ["orders"] => Route::Orders {
                query: search.to_owned(),
            },
            ["orders", code] => Route::Order((*code).to_owned()),
            ["statements"] => Route::Statements,
            ["links"] => Route::Links,
            ["links", "new"] => Route::NewLink {
                kind: query_value(search, "kind"),
            },
            ["webhooks"] => Route::Webhooks {
                failed: query_value(search, "delivery").as_deref() == Some("failed"),
            },
            ["staff"] => Route::Staff,
            ["settings"] => Route::Settings,
            _ => Route::NotFound,
        }
    }

    /// The address of this screen (path and query).
    pub fn href(&self) -> String {
        match self {
            Route::SignIn => format!("{BASE}/sign-in"),
            Route::Today => BASE.to_owned(),
            Route::Orders { query } if query.is_empty() => format!("{BASE}/orders"),
            Route::Orders { query } => format!("{BASE}/orders?{query}"),
            Route::Order(code) => format!("{BASE}/orders/{code}"),
            Route::Statements => format!("{BASE}/statements"),
            Route::Links => format!("{BASE}/links"),
            Route::NewLink { kind: None } => format!("{BASE}/links/new"),
            Route::NewLink { kind: Some(k) } => format!("{BASE}/links/new?kind={k}"),
            Route::Webhooks { failed: false } => format!("{BASE}/webhooks"),
            Route::Webhooks { failed: true } => format!("{BASE}/webhooks?delivery=failed"),
            Route::Staff => format!("{BASE}/staff"),
            Route::Settings => format!("{BASE}/settings"),
            Route::NotFound => format!("{BASE}/not-found"),
        }
    }

    /// The screen's stable name (`data-screen`, for the browser tests).
    pub fn name(&self) -> &'static str {
        match self {
            Route::SignIn => "sign-in",
            Route::Today => "today",
            Route::Orders { .. } => "orders",
            Route::Order(_) => "order",
            Route::Statements => "statements",
            Route::Links => "links",
            Route::NewLink { .. } => "new-link",
            Route::Webhooks { .. } => "webhooks",
            Route::Staff => "staff",
            Route::Settings => "settings",
            Route::NotFound => "not-found",
        }
    }
}

/// Where sign-in returns to: the `next` of `/console/sign-in?next=…` when
/// it is a console address (never another site: an open redirect would
/// let a crafted sign-in address send the merchant anywhere).
pub fn next_after_sign_in(search: &str) -> Route {
    let search = search.strip_prefix('?').unwrap_or(search);
    query_value(search, "next")
        .filter(|n| n.starts_with(BASE) && !n.starts_with("//"))
        .map(|n| {
            let (path, query) = n.split_once('?').unwrap_or((&n, ""));
            Route::parse(path, query)
        })
        .filter(|r| !matches!(r, Route::SignIn | Route::NotFound))
        .unwrap_or(Route::Today)
}

/// The sign-in address that returns to `from` afterwards.
pub fn sign_in_returning_to(from: &Route) -> String {
    match from {
        Route::SignIn | Route::Today | Route::NotFound => Route::SignIn.href(),
        other => format!("{}?next={}", Route::SignIn.href(), encode(&other.href())),
    }
}

/// A query parameter's value, percent-decoded (`+` is a space).
pub fn query_value(search: &str, name: &str) -> Option<String> {
    search
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| decode(v))
        .filter(|v| !v.is_empty())
}

/// Percent-encodes a query value (everything but unreserved characters).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Percent-decodes a query value; a malformed escape stays as written.
pub fn decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match bytes.get(i + 1..i + 3).and_then(hex_byte) {
                Some(b) => {
                    out.push(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Two hex digits as the byte they write.
fn hex_byte(digits: &[u8]) -> Option<u8> {
    std::str::from_utf8(digits)
        .ok()
        .and_then(|d| u8::from_str_radix(d, 16).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_screen_reads_back_from_its_address() {
        for route in [
            Route::SignIn,
            Route::Today,
            Route::Orders {
                query: String::new(),
            },
            Route::Orders {
                query: "state=paid&q=abc".into(),
            },
            Route::Order("C123".into()),
            Route::Statements,
            Route::Links,
            Route::NewLink { kind: None },
            Route::NewLink {
                kind: Some("counter".into()),
            },
            Route::Webhooks { failed: false },
            Route::Webhooks { failed: true },
            Route::Staff,
            Route::Settings,
        ] {
            let href = route.href();
            let (path, query) = href.split_once('?').unwrap_or((&href, ""));
            assert_eq!(Route::parse(path, query), route, "{href}");
        }
    }

    #[test]
    fn the_console_root_and_unknown_addresses() {
        assert_eq!(Route::parse("/console", ""), Route::Today);
        assert_eq!(Route::parse("/console/", "?x=1"), Route::Today);
        assert_eq!(Route::parse("/console/nope", ""), Route::NotFound);
        assert_eq!(Route::parse("/console/orders/a/b", ""), Route::NotFound);
        // The cashier's counter-code entry (console-b's links screen).
        assert_eq!(
            Route::parse("/console/links/new", "?kind=counter"),
            Route::NewLink {
                kind: Some("counter".into())
            }
        );
    }

    #[test]
    fn sign_in_returns_to_the_screen_it_interrupted_and_nowhere_else() {
        let order = Route::Order("C9".into());
        let href = sign_in_returning_to(&order);
        assert_eq!(href, "/console/sign-in?next=%2Fconsole%2Forders%2FC9");
        let (_, query) = href.split_once('?').unwrap();
        assert_eq!(next_after_sign_in(query), order);
        let filtered = Route::Orders {
            query: "state=paid&method=wechat".into(),
        };
        let href = sign_in_returning_to(&filtered);
        assert_eq!(
            next_after_sign_in(href.split_once('?').unwrap().1),
            filtered
        );
        for evil in [
            "next=https%3A%2F%2Fevil.example%2F",
            "next=%2F%2Fevil.example",
            "next=%2Fc%2Ftoken",
            "next=%2Fconsole%2Fsign-in",
            "",
        ] {
            assert_eq!(next_after_sign_in(evil), Route::Today, "{evil}");
        }
    }

    #[test]
    fn query_values_decode() {
        assert_eq!(query_value("a=1&q=a%20b+c", "q").as_deref(), Some("a b c"));
        assert_eq!(query_value("a=1&q=", "q"), None);
        assert_eq!(query_value("q=%zz", "q").as_deref(), Some("%zz"));
        assert_eq!(query_value("q=%e4%bd%a0", "q").as_deref(), Some("你"));
        assert_eq!(decode(&encode("订单 #1&x=2")), "订单 #1&x=2");
    }
}
