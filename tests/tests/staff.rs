//! Staff against the real Worker (API.md v1.1, *Credentials and roles*):
//! every row of the permission table allowed and denied for each role, the
//! key lifecycle (create, use, roll overlap, revoke), sign-in links (once,
//! late, twice), console sessions (expiry, revocation, another
//! deployment's cookie), cross-site POSTs, audit entries of allowed and
//! denied requests, bad input, and the failed-authentication limit.
//!
//! The stack of `cargo xtask test` runs with short lifetimes
//! (`xtask/src/stack.rs`, `fast`): sign-in links 3 s, sessions idle after
//! 4 s and over after 8 s.

use std::time::Duration;

use e2e::{now_ms, E2e};
use reqwest::blocking::{RequestBuilder, Response};
use reqwest::Method;
use serde_json::{json, Value};

/// `SIGNIN_LINK_SECS` of the test stack.
const LINK_SECS: u64 = 3;
/// `SESSION_IDLE_SECS` of the test stack.
const IDLE_SECS: u64 = 4;
/// `SESSION_MAX_SECS` of the test stack.
const MAX_SECS: u64 = 8;

fn sleep_secs(s: u64) {
    std::thread::sleep(Duration::from_millis(s * 1000 + 300));
}

fn send(req: RequestBuilder) -> (u16, Value) {
    E2e::send(req)
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

fn reason(v: &Value) -> &str {
    v["error"]["reason"].as_str().unwrap_or_default()
}

/// A client that does not follow redirects (the sign-in landing's 303).
fn no_redirects() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The session cookie (`name=value`) a response sets.
fn session_cookie(resp: &Response) -> String {
    let set = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .expect("a Set-Cookie")
        .to_owned();
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(set.contains("Path=/"), "{set}");
    // Plain-http loopback: no Secure, no __Host- (the only place).
    assert!(set.starts_with("soushou_session="), "{set}");
    set.split(';').next().expect("name=value").to_owned()
}

/// A request with a console session's cookie (no bearer).
fn with_cookie(e: &E2e, cookie: &str, method: Method, path: &str) -> RequestBuilder {
    e.http()
        .request(method, format!("{}{path}", e.worker))
        .header("Cookie", cookie)
}

/// Signs in with `key` (`POST /v1/sessions`): the session's id and cookie.
fn sign_in(e: &E2e, key: &str) -> (String, String) {
    let resp = e
        .key_request(key, Method::POST, "/v1/sessions")
        .send()
        .expect("worker");
    assert_eq!(resp.status().as_u16(), 201);
    let cookie = session_cookie(&resp);
    let body: Value = resp.json().expect("json");
    (body["id"].as_str().expect("id").to_owned(), cookie)
}

/// Every merchant route as `routes/mod.rs`'s table names it, with a
/// request that passes the permission check without touching the gateway
/// (unknown ids, refused bodies), and the permission it needs.
fn table() -> Vec<(Method, &'static str, Option<Value>, &'static str)> {
    let none = || Some(json!({}));
    vec![
        (Method::POST, "/v1/links", none(), "charges:write"),
        (
            Method::POST,
            "/v1/links/nope/deactivate",
            None,
            "charges:write",
        ),
        (
            Method::GET,
            "/v1/orders/NOPE?live=false",
            None,
            "orders:read",
        ),
        (
            Method::POST,
            "/v1/orders/NOPE/refunds",
            Some(json!({"amount": "1.00", "reason": "x"})),
            "refunds:write",
        ),
        (Method::GET, "/v1/orders/NOPE/refunds", None, "orders:read"),
        (
            Method::POST,
            "/v1/orders/NOPE/cancel",
            Some(json!({"apply": false})),
            "refunds:write",
        ),
        (Method::POST, "/v1/pos/charges", none(), "charges:write"),
        (Method::POST, "/v1/qr-orders", none(), "charges:write"),
        (Method::GET, "/v1/orders?limit=1", None, "orders:read"),
        (Method::GET, "/v1/refunds?limit=1", None, "orders:read"),
        (Method::GET, "/v1/links?limit=1", None, "orders:read"),
        (Method::GET, "/v1/settings", None, "orders:read"),
        (
            Method::GET,
            "/v1/orders.csv?state=paid",
            None,
            "statements:read",
        ),
        (Method::GET, "/v1/statements", None, "statements:read"),
        (
            Method::GET,
            "/v1/statements/2026-01-01",
            None,
            "statements:read",
        ),
        (Method::GET, "/v1/events?limit=1", None, "orders:read"),
        (Method::GET, "/v1/events/evt_999999999", None, "orders:read"),
        (
            Method::POST,
            "/v1/events/evt_999999999/redeliver",
            None,
            "events:write",
        ),
        (Method::POST, "/v1/events/test", None, "events:write"),
        (Method::GET, "/v1/links/nope/qr.svg", None, "orders:read"),
        (Method::POST, "/v1/keys", none(), "staff:admin"),
        (Method::GET, "/v1/keys", None, "staff:admin"),
        (Method::DELETE, "/v1/keys/key_nope", None, "staff:admin"),
        (
            Method::POST,
            "/v1/keys/key_nope/roll",
            Some(json!({"expires_in": 0})),
            "staff:admin",
        ),
        (Method::POST, "/v1/sign-in-links", none(), "staff:admin"),
        (Method::POST, "/v1/sessions", None, "orders:read"),
        (Method::GET, "/v1/session", None, "orders:read"),
        // A key is no session to end (400), but any role may ask.
        (Method::DELETE, "/v1/session", None, "orders:read"),
        (Method::GET, "/v1/sessions", None, "staff:admin"),
        (Method::DELETE, "/v1/sessions/ses_nope", None, "staff:admin"),
        (Method::GET, "/v1/audit?limit=1", None, "staff:admin"),
    ]
}

/// API.md's matrix: the permissions each role holds.
fn holds(role: &str, permission: &str) -> bool {
    match role {
        "owner" => true,
        "manager" => permission != "staff:admin",
        "cashier" => matches!(permission, "orders:read" | "charges:write"),
        "accountant" => matches!(permission, "orders:read" | "statements:read"),
        "viewer" => permission == "orders:read",
        _ => false,
    }
}

#[test]
fn every_route_of_the_permission_table_is_allowed_and_denied_per_role() {
    let e = E2e::from_env();
    for role in ["owner", "manager", "cashier", "accountant", "viewer"] {
        let key = e.key_of(role);
        for (method, path, body, permission) in table() {
            let mut req = e.key_request(&key, method.clone(), path);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let (status, v) = send(req);
            if holds(role, permission) {
                assert_ne!(status, 403, "{role} {method} {path}: {v}");
                assert_ne!(status, 401, "{role} {method} {path}: {v}");
            } else {
                assert_eq!(
                    (status, code(&v), v["error"]["permission"].as_str()),
                    (403, "FORBIDDEN", Some(permission)),
                    "{role} {method} {path}: {v}"
                );
            }
        }
    }
}

#[test]
fn a_key_is_shown_once_used_rolled_with_an_overlap_and_revoked() {
    let e = E2e::from_env();
    let owner = e.key_of("owner");
    let name = format!("till {}", now_ms());
    let (status, created) = send(
        e.key_request(&owner, Method::POST, "/v1/keys")
            .json(&json!({"name": name, "role": "cashier"})),
    );
    assert_eq!(status, 201, "{created}");
    let key = created["key"].as_str().expect("key").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(key.starts_with("sk_") && key.len() == 43, "{key}");
    assert_eq!(created["prefix"].as_str(), Some(&key[..11]));
    assert_eq!(created["role"], "cashier");

    // Used: it works, and the list shows it used, never the key.
    let (status, _) = send(e.key_request(&key, Method::GET, "/v1/events?limit=1"));
    assert_eq!(status, 200);
    let (_, list) = send(e.key_request(&owner, Method::GET, "/v1/keys"));
    assert!(!list.to_string().contains(&key), "the list holds no key");
    let listed = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["id"] == id.as_str())
        .expect("listed")
        .clone();
    assert!(listed["last_used_at"].as_u64().is_some(), "{listed}");
    assert_eq!(listed["prefix"], created["prefix"]);

    // Rolled with a 3 s overlap: both work, then only the new one.
    let (status, rolled) = send(
        e.key_request(&owner, Method::POST, &format!("/v1/keys/{id}/roll"))
            .json(&json!({"expires_in": 3})),
    );
    assert_eq!(status, 201, "{rolled}");
    let new_key = rolled["key"].as_str().expect("key").to_owned();
    let new_id = rolled["id"].as_str().expect("id").to_owned();
    assert_eq!(
        (&rolled["name"], &rolled["role"]),
        (&json!(name), &json!("cashier"))
    );
    for k in [&key, &new_key] {
        assert_eq!(
            send(e.key_request(k, Method::GET, "/v1/events?limit=1")).0,
            200
        );
    }
    sleep_secs(3);
    let (status, v) = send(e.key_request(&key, Method::GET, "/v1/events?limit=1"));
    assert_eq!(
        (status, code(&v), reason(&v)),
        (401, "UNAUTHORIZED", "expired")
    );
    assert_eq!(
        send(e.key_request(&new_key, Method::GET, "/v1/events?limit=1")).0,
        200
    );

    // Revoked: refused on the very next request.
    let (status, revoked) =
        send(e.key_request(&owner, Method::DELETE, &format!("/v1/keys/{new_id}")));
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revoked_at"].as_u64().is_some());
    let (status, v) = send(e.key_request(&new_key, Method::GET, "/v1/events?limit=1"));
    assert_eq!(
        (status, code(&v), reason(&v)),
        (401, "UNAUTHORIZED", "revoked")
    );
    // Twice, or rolling it: each its own 409.
    let (status, v) = send(e.key_request(&owner, Method::DELETE, &format!("/v1/keys/{new_id}")));
    assert_eq!((status, code(&v)), (409, "ALREADY_REVOKED"));
    let (status, v) = send(
        e.key_request(&owner, Method::POST, &format!("/v1/keys/{new_id}/roll"))
            .json(&json!({"expires_in": 60})),
    );
    assert_eq!((status, code(&v)), (409, "KEY_REVOKED"));
}

#[test]
fn bad_input_is_a_clear_4xx_and_writes_nothing_but_the_audit_entry() {
    let e = E2e::from_env();
    let owner = e.key_of("owner");
    let keys_before = send(e.key_request(&owner, Method::GET, "/v1/keys")).1["data"]
        .as_array()
        .map_or(0, Vec::len);
    let cases = [
        (json!({"name": "a", "role": "admin"}), "INVALID_ROLE"),
        (json!({"name": "", "role": "viewer"}), "INVALID_NAME"),
        (
            json!({"name": "x".repeat(200), "role": "viewer"}),
            "INVALID_NAME",
        ),
        (
            json!({"name": "a", "role": "viewer", "expires_in": 10}),
            "INVALID_EXPIRES_IN",
        ),
        (
            json!({"name": "a", "role": "viewer", "expires_in": 400 * 86400}),
            "INVALID_EXPIRES_IN",
        ),
    ];
    for (body, expected) in cases {
        let (status, v) = send(e.key_request(&owner, Method::POST, "/v1/keys").json(&body));
        assert_eq!((status, code(&v)), (400, expected), "{body}");
    }
    let (status, v) = send(
        e.key_request(&owner, Method::POST, "/v1/sign-in-links")
            .json(&json!({"name": "Li", "role": "boss"})),
    );
    assert_eq!((status, code(&v)), (400, "INVALID_ROLE"));
    let viewer = e.key_of("viewer");
    let viewer_id = key_id(&e, &owner, &viewer);
    let (status, v) = send(
        e.key_request(&owner, Method::POST, &format!("/v1/keys/{viewer_id}/roll"))
            .json(&json!({"expires_in": 7 * 86400 + 1})),
    );
    assert_eq!((status, code(&v)), (400, "INVALID_EXPIRES_IN"));
    let keys_after = send(e.key_request(&owner, Method::GET, "/v1/keys")).1["data"]
        .as_array()
        .map_or(0, Vec::len);
    assert_eq!(keys_after, keys_before + 1, "only the viewer key was added");
    // Each refusal has its entry, outcome error.
    let (_, audit) = send(e.key_request(&owner, Method::GET, "/v1/audit?limit=7"));
    let entries = audit["data"].as_array().expect("data");
    assert!(
        entries.iter().filter(|a| a["outcome"] == "error").count() >= 6,
        "{audit}"
    );
    // A key pasted with what followed it (a newline cannot cross HTTP/1;
    // the blank before it does) is refused as given, not trimmed.
    let (status, v) = send(
        e.http()
            .get(format!("{}/v1/events?limit=1", e.worker))
            .header("Authorization", format!("Bearer {viewer} ")),
    );
    assert_eq!(
        (status, code(&v), reason(&v)),
        (401, "UNAUTHORIZED", "malformed")
    );
}

/// The id of `key` in the owner's list (by its prefix).
fn key_id(e: &E2e, owner: &str, key: &str) -> String {
    let (_, list) = send(e.key_request(owner, Method::GET, "/v1/keys"));
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|k| k["prefix"] == key[..11] && k["revoked_at"].is_null())
        .and_then(|k| k["id"].as_str())
        .expect("listed")
        .to_owned()
}

/// A sign-in link for `role` (by the owner); its URL.
fn signin_link(e: &E2e, owner: &str, role: &str) -> String {
    let (status, v) = send(
        e.key_request(owner, Method::POST, "/v1/sign-in-links")
            .json(&json!({"name": "Li Wei", "role": role})),
    );
    assert_eq!(status, 201, "{v}");
    assert!(v["expires_at"].as_u64().is_some());
    let url = v["url"].as_str().expect("url").to_owned();
    assert!(
        url.starts_with(&format!("{}/console/sign-in?t=", e.worker)),
        "{url}"
    );
    url
}

#[test]
fn a_signin_link_opens_one_session_once_and_not_late() {
    let e = E2e::from_env();
    let owner = e.key_of("owner");
    let url = signin_link(&e, &owner, "cashier");
    let http = no_redirects();
    let first = http.get(&url).send().expect("worker");
    assert_eq!(first.status().as_u16(), 303);
    assert_eq!(
        first
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/console")
    );
    let cookie = session_cookie(&first);
    // The session has the link's role: reads, creates links, no staff routes.
    let (status, _) = send(with_cookie(&e, &cookie, Method::GET, "/v1/events?limit=1"));
    assert_eq!(status, 200);
    let (status, v) = send(with_cookie(&e, &cookie, Method::GET, "/v1/keys"));
    assert_eq!(
        (status, v["error"]["permission"].as_str()),
        (403, Some("staff:admin"))
    );
    // Twice: refused, no second session.
    let (status, v) = E2e::send(http.get(&url));
    assert_eq!((status, code(&v)), (410, "SIGNIN_LINK_USED"));
    // Late.
    let late = signin_link(&e, &owner, "viewer");
    sleep_secs(LINK_SECS);
    let (status, v) = E2e::send(http.get(&late));
    assert_eq!((status, code(&v)), (410, "SIGNIN_LINK_EXPIRED"));
    // Unknown.
    let (status, _) = E2e::send(http.get(format!("{}/console/sign-in?t=00ff", e.worker)));
    assert_eq!(status, 404);
}

#[test]
fn sessions_expire_idle_and_absolute_and_are_revocable() {
    let e = E2e::from_env();
    let owner = e.key_of("owner");
    let manager = e.key_of("manager");
    let read = |cookie: &str| send(with_cookie(&e, cookie, Method::GET, "/v1/events?limit=1"));

    // Listed, then revoked: refused on the next request.
    let (id, cookie) = sign_in(&e, &manager);
    assert_eq!(read(&cookie).0, 200);
    let (_, list) = send(e.key_request(&owner, Method::GET, "/v1/sessions"));
    let listed = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|s| s["id"] == id.as_str())
        .expect("listed")
        .clone();
    assert_eq!(
        (&listed["role"], &listed["via"]),
        (&json!("manager"), &json!("api_key"))
    );
    assert!(!list
        .to_string()
        .contains(cookie.split('=').nth(1).expect("value")));
    let (status, _) = send(e.key_request(&owner, Method::DELETE, &format!("/v1/sessions/{id}")));
    assert_eq!(status, 200);
    let (status, v) = read(&cookie);
    assert_eq!((status, reason(&v)), (401, "revoked"));
    let (status, v) = send(e.key_request(&owner, Method::DELETE, &format!("/v1/sessions/{id}")));
    assert_eq!((status, code(&v)), (409, "ALREADY_REVOKED"));

    // Idle.
    let (_, idle) = sign_in(&e, &manager);
    sleep_secs(IDLE_SECS);
    let (status, v) = read(&idle);
    assert_eq!((status, reason(&v)), (401, "idle"));

    // Absolute: used every second, still over after MAX_SECS.
    let (_, busy) = sign_in(&e, &manager);
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(MAX_SECS - 1) {
        assert_eq!(read(&busy).0, 200, "within its life");
        std::thread::sleep(Duration::from_secs(1));
    }
    sleep_secs(1);
    let (status, v) = read(&busy);
    assert_eq!((status, reason(&v)), (401, "expired"));

    // Another deployment's cookie, and an unknown one.
    let (status, v) = read("soushou_session=00000000.abcdef");
    assert_eq!((status, reason(&v)), (401, "foreign_deployment"));
    let tag = busy
        .split('=')
        .nth(1)
        .and_then(|v| v.split('.').next())
        .expect("tag")
        .to_owned();
    let (status, v) = read(&format!("soushou_session={tag}.{}", "ab".repeat(32)));
    assert_eq!((status, reason(&v)), (401, "unknown"));
}

#[test]
fn a_cross_site_post_with_the_session_cookie_is_refused() {
    let e = E2e::from_env();
    let manager = e.key_of("manager");
    let (_, cookie) = sign_in(&e, &manager);
    let body = json!({"amount": "1.00", "subject": "csrf"});
    let post = |origin: Option<&str>| {
        let mut req = with_cookie(&e, &cookie, Method::POST, "/v1/links").json(&body);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        send(req)
    };
    let (status, v) = post(Some("https://evil.example"));
    assert_eq!((status, code(&v)), (403, "CROSS_SITE"), "{v}");
    let (status, v) = post(None);
    assert_eq!((status, code(&v)), (403, "CROSS_SITE"), "{v}");
    let (status, v) = post(Some(&e.worker));
    assert_eq!(status, 200, "the console's own origin: {v}");
    // A form post is the same request to the Worker: refused alike.
    let (status, v) = send(
        with_cookie(&e, &cookie, Method::POST, "/v1/links")
            .header("Origin", "null")
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("amount=1.00&subject=csrf"),
    );
    assert_eq!((status, code(&v)), (403, "CROSS_SITE"), "{v}");
}

#[test]
fn audit_entries_record_allowed_and_denied_requests_and_no_secret() {
    let e = E2e::from_env();
    let owner = e.key_of("owner");
    let cashier = e.key_of("cashier");
    let viewer = e.key_of("viewer");
    let subject = format!("audited {}", now_ms());
    let (status, link) = send(
        e.key_request(&cashier, Method::POST, "/v1/links")
            .json(&json!({"amount": "2.00", "subject": subject})),
    );
    assert_eq!(status, 200, "{link}");
    let (status, _) = send(
        e.key_request(&viewer, Method::POST, "/v1/links")
            .json(&json!({"amount": "2.00", "subject": subject})),
    );
    assert_eq!(status, 403);
    let (status, _) = send(
        e.key_request(&cashier, Method::POST, "/v1/orders/NOPE/refunds")
            .json(&json!({"amount": "1.00", "reason": "x"})),
    );
    assert_eq!(status, 403);
    // Reads are not audited.
    send(e.key_request(&cashier, Method::GET, "/v1/events?limit=1"));

    let (status, audit) = send(e.key_request(&owner, Method::GET, "/v1/audit?limit=3"));
    assert_eq!(status, 200, "{audit}");
    let entries = audit["data"].as_array().expect("data");
    let summary: Vec<(String, String, String)> = entries
        .iter()
        .map(|a| {
            (
                a["action"].as_str().unwrap_or_default().to_owned(),
                a["actor"]["role"].as_str().unwrap_or_default().to_owned(),
                a["outcome"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let s = |a: &str, r: &str, o: &str| (a.to_owned(), r.to_owned(), o.to_owned());
    assert_eq!(
        summary,
        [
            s("POST /v1/orders/{code}/refunds", "cashier", "denied"),
            s("POST /v1/links", "viewer", "denied"),
            s("POST /v1/links", "cashier", "ok"),
        ],
        "newest first: {audit}"
    );
    assert_eq!(entries[0]["object"], "NOPE");
    assert_eq!(entries[2]["actor"]["type"], "api_key");
    assert!(entries[2]["request_id"]
        .as_str()
        .is_some_and(|r| !r.is_empty()));
    assert!(entries[2]["ip"].as_str().is_some_and(|r| !r.is_empty()));
    // Paging: the next page starts after the last id, no repeats.
    assert_eq!(audit["has_more"], true);
    let last = entries[2]["id"].as_u64().expect("id");
    let (_, next) = send(e.key_request(
        &owner,
        Method::GET,
        &format!("/v1/audit?limit=2&starting_after={last}"),
    ));
    let next_ids: Vec<u64> = next["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter_map(|a| a["id"].as_u64())
        .collect();
    assert!(next_ids.iter().all(|id| *id < last), "{next}");
    // No key, cookie or token in any entry.
    let (_, all) = send(e.key_request(&owner, Method::GET, "/v1/audit?limit=100"));
    let text = all.to_string();
    for secret in [&owner, &cashier, &viewer, &e.admin_token] {
        assert!(
            !text.contains(secret.as_str()),
            "an audit entry holds a secret"
        );
    }
}

#[test]
fn failed_authentication_is_rate_limited_per_ip() {
    let e = E2e::from_env();
    // Its own client IP (the Worker reads CF-Connecting-IP), so the other
    // tests' address is never shut out.
    let ip = format!("198.51.100.{}", now_ms() % 200 + 1);
    let key = e.key_of("viewer");
    let attempt = |credential: &str| {
        let resp = e
            .key_request(credential, Method::GET, "/v1/events?limit=1")
            .header("CF-Connecting-IP", &ip)
            .send()
            .expect("worker");
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        (resp.status().as_u16(), retry_after)
    };
    let wrong = format!("sk_{}", "0".repeat(40));
    let mut statuses = Vec::new();
    for _ in 0..25 {
        statuses.push(attempt(&wrong).0);
    }
    let refused = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    // 20 per window (a window may turn during the burst: then more 401s).
    assert!(refused >= 20 && limited >= 1, "{statuses:?}");
    let (status, retry_after) = attempt(&key);
    if status == 429 {
        // Shut out: even the right key, until the window ends.
        assert!(
            retry_after.is_some_and(|s| (1..=60).contains(&s)),
            "{retry_after:?}"
        );
    } else {
        assert_eq!(status, 200, "a new window");
    }
    // Other addresses are not shut out.
    assert_eq!(
        send(e.key_request(&key, Method::GET, "/v1/events?limit=1")).0,
        200
    );
}
