//! Wallet sign-in (issue 10) against the real Worker and the sandbox's
//! simulated WeChat and Alipay, over HTTP, following each redirect by hand:
//! the round trips (the Alipay one runs the Worker's WebCrypto RSA2 both
//! ways), forged / expired / replayed states, denial, provider errors and
//! timeouts, ids bound to their link, and nothing secret in the logs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use checkout::link::{link_id, LinkKeys};
use checkout::oauth::{new_state, Wallet, START_LIMIT};
use e2e::{sandbox_href, E2e, UA_ALIPAY, UA_MOBILE, UA_WECHAT};
use reqwest::blocking::Client;
use reqwest::redirect::Policy;
use serde_json::{json, Value};

/// A client that shows redirects instead of following them.
fn manual() -> Client {
    Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client")
}

/// One answer: status, `Location`, body.
struct Hop {
    status: u16,
    location: String,
    body: String,
}

fn get(url: &str, ua: &str) -> Hop {
    get_from(url, ua, &IP.with(Clone::clone))
}

/// [`get`] from the client IP `ip` (`CF-Connecting-IP`, which wrangler dev
/// passes on as the edge would set it).
fn get_from(url: &str, ua: &str, ip: &str) -> Hop {
    let resp = manual()
        .get(url)
        .header("User-Agent", ua)
        .header("CF-Connecting-IP", ip)
        .header("Cookie", JAR.with(|j| j.borrow().clone()))
        .send()
        .expect("reachable");
    if let Some(set) = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
    {
        let pair = set.split(';').next().unwrap_or_default().to_owned();
        JAR.with(|j| *j.borrow_mut() = pair);
    }
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Hop {
        status,
        location,
        body: resp.text().unwrap_or_default(),
    }
}

thread_local! {
    /// This test's browser: the one cookie the Worker set last (each test
    /// runs on its own thread, so each is its own browser).
    static JAR: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    /// This test's IP: its own, so the suite's sign-ins are not counted
    /// against one client (`START_LIMIT`).
    static IP: String = {
        let n = e2e::now_ms() ^ (u64::from(std::process::id()) << 20);
        format!("10.{}.{}.{}", (n >> 16) % 256, (n >> 8) % 256, n % 256)
    };
}

/// Another browser from now on: forgets the cookie.
fn new_browser() {
    JAR.with(|j| j.borrow_mut().clear());
}

/// A query parameter of a URL (percent-decoded).
fn param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).expect("absolute URL");
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn ua(wallet: Wallet) -> &'static str {
    match wallet {
        Wallet::Wechat => UA_WECHAT,
        Wallet::Alipay => UA_ALIPAY,
    }
}

/// `/c/{token}` inside the wallet → the Worker's 302 to the sandbox's
/// authorize page; returns that URL.
fn start(e: &E2e, token: &str, wallet: Wallet) -> String {
    let hop = get(&format!("{}/c/{token}", e.worker), ua(wallet));
    assert_eq!(hop.status, 302, "sign-in first: {}", hop.body);
    assert!(hop.location.starts_with(&e.sandbox), "{}", hop.location);
    hop.location
}

/// The shopper's choice on the sandbox's page → the Worker's callback URL.
fn choose(e: &E2e, authorize: &str, wallet: Wallet, choice: &str) -> String {
    let page = get(authorize, ua(wallet));
    assert_eq!(page.status, 200, "{}", page.body);
    let decide = get(
        &format!("{}{}", e.sandbox, sandbox_href(&page.body, choice)),
        ua(wallet),
    );
    assert_eq!(decide.status, 303, "{}", decide.body);
    assert!(
        decide
            .location
            .starts_with(&format!("{}/oauth/{}?", e.worker, wallet.as_str())),
        "{}",
        decide.location
    );
    decide.location
}

/// The callback URL of an allowed WeChat sign-in on `token`, not yet opened.
fn allowed_callback(e: &E2e, token: &str) -> String {
    choose(e, &start(e, token, Wallet::Wechat), Wallet::Wechat, "allow")
}

/// `state` with its last MAC digit changed: the real nonce, a forged MAC.
fn flip_mac(state: &str) -> String {
    let last = if state.ends_with('0') { '1' } else { '0' };
    format!("{}{last}", &state[..63])
}

/// A whole allowed sign-in: the callback URL used, and where it sent the shopper.
fn sign_in(e: &E2e, token: &str, wallet: Wallet) -> (String, String) {
    let callback = choose(e, &start(e, token, wallet), wallet, "allow");
    let back = get(&callback, ua(wallet));
    assert_eq!(back.status, 302, "{}", back.body);
    (callback, back.location)
}

/// The last id the sandbox issued for `wallet`.
fn last_issued(e: &E2e, wallet: Wallet) -> String {
    let list: Vec<Value> = e
        .http()
        .get(format!("{}/sandbox/oauth/issued", e.sandbox))
        .send()
        .unwrap()
        .json()
        .unwrap();
    list.iter()
        .rev()
        .find(|i| i["wallet"] == wallet.as_str())
        .and_then(|i| i["id"].as_str())
        .expect("an issued id")
        .to_owned()
}

/// The one gateway request of `interface` for `code`, as the sandbox logged it.
fn gateway_body(e: &E2e, code: &str, interface: &str) -> Value {
    e.requests_for(code)
        .into_iter()
        .find(|r| r["interface"] == interface)
        .map(|r| r["body"].clone())
        .unwrap_or_else(|| panic!("no {interface} request for {code}"))
}

fn assert_screen(hop: &Hop, status: u16, code: &str) {
    assert_eq!(hop.status, status, "{}", hop.body);
    assert!(hop.location.is_empty(), "a screen, not a redirect");
    assert!(
        hop.body.contains(&format!("data-code=\"{code}\"")),
        "{}",
        hop.body
    );
}

#[test]
fn wechat_sign_in_round_trip_pays_with_that_openid() {
    let e = E2e::from_env();
    let token = e.create_link("3.20", "Signed-in tea");
    let authorize = start(&e, &token, Wallet::Wechat);
    let appid = std::env::var("E2E_WECHAT_APPID").expect("E2E_WECHAT_APPID");
    assert!(authorize.contains(&format!(
        "/connect/oauth2/authorize?appid={appid}&redirect_uri="
    )));
    assert!(authorize.ends_with("#wechat_redirect"), "{authorize}");
    assert_eq!(param(&authorize, "scope").as_deref(), Some("snsapi_base"));
    assert_eq!(
        param(&authorize, "redirect_uri"),
        Some(format!("{}/oauth/wechat", e.worker))
    );
    let (_, back) = sign_in(&e, &token, Wallet::Wechat);
    assert!(
        back.starts_with(&format!("/c/{token}?openid=s2.")),
        "{back}"
    );
    let openid = last_issued(&e, Wallet::Wechat);
    assert!(
        !back.contains(&openid),
        "the id travels signed, not in clear"
    );
    // Issue 24 defect 4: nor readable (no part of it decodes to the id).
    let carried = param(&format!("{}{back}", e.worker), "openid").unwrap();
    for part in carried.split('.') {
        let decoded = URL_SAFE_NO_PAD.decode(part).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&decoded).contains(&openid),
            "{carried}"
        );
    }
    // Back on the link: the page, no second sign-in.
    let page = get(&format!("{}{back}", e.worker), UA_WECHAT);
    assert_eq!(page.status, 200);
    let signed = param(&format!("{}{back}", e.worker), "openid").unwrap();
    let (body, code) = e.pay_ok(
        &token,
        "wechat_jsapi",
        UA_WECHAT,
        json!({ "openid": signed }),
    );
    assert_eq!(body["action"]["type"], "wechat_jsapi");
    assert_eq!(
        gateway_body(&e, &code, "order")["subOpenid"],
        openid.as_str()
    );
    assert_eq!(gateway_body(&e, &code, "order")["subAppid"], appid.as_str());
    e.sandbox_pay_and_wait(&code, "signed-in WeChat order paid");
}

#[test]
fn alipay_sign_in_round_trip_pays_with_that_buyer_id() {
    let e = E2e::from_env();
    let token = e.create_link("4.50", "Signed-in Alipay");
    let authorize = start(&e, &token, Wallet::Alipay);
    assert!(authorize.contains("/oauth2/publicAppAuthorize.htm?app_id="));
    assert_eq!(param(&authorize, "scope").as_deref(), Some("auth_base"));
    // The exchange is RSA2-signed by the Worker (WebCrypto), verified by the
    // sandbox, and the sandbox's signed answer verified by the Worker.
    let (_, back) = sign_in(&e, &token, Wallet::Alipay);
    assert!(
        back.starts_with(&format!("/c/{token}?buyer_id=s2.")),
        "{back}"
    );
    let buyer = last_issued(&e, Wallet::Alipay);
    let signed = param(&format!("{}{back}", e.worker), "buyer_id").unwrap();
    assert_eq!(get(&format!("{}{back}", e.worker), UA_ALIPAY).status, 200);
    let (body, code) = e.pay_ok(
        &token,
        "alipay_jsapi",
        UA_ALIPAY,
        json!({ "buyer_id": signed }),
    );
    assert_eq!(body["action"]["type"], "alipay_trade_pay");
    assert_eq!(
        gateway_body(&e, &code, "creatOrder")["buyerId"],
        buyer.as_str()
    );
    e.sandbox_pay_and_wait(&code, "signed-in Alipay order paid");
}

#[test]
fn outside_the_wallets_and_with_an_id_there_is_no_sign_in() {
    let e = E2e::from_env();
    let token = e.create_link("1.00", "No sign-in");
    assert_eq!(
        get(&format!("{}/c/{token}", e.worker), UA_MOBILE).status,
        200
    );
    let (signed, _) = e.signed_in(&token, Wallet::Wechat);
    let with_id = format!("{}/c/{token}?openid={signed}", e.worker);
    assert_eq!(get(&with_id, UA_WECHAT).status, 200);
    let skip = format!("{}/c/{token}?signin=skip", e.worker);
    assert_eq!(get(&skip, UA_ALIPAY).status, 200);
}

/// Issue 24, defect 3: with sign-in configured (this stack), an id typed
/// into the URL names nobody: the pay is refused before the gateway hears
/// of it, and the page visit that carries it signs in instead.
#[test]
fn an_unsigned_id_is_refused_once_sign_in_is_configured() {
    let e = E2e::from_env();
    let token = e.create_link("1.30", "Unsigned");
    for (wallet, method, field) in [
        (Wallet::Wechat, "wechat_jsapi", "openid"),
        (Wallet::Alipay, "alipay_jsapi", "buyer_id"),
    ] {
        // An id the sandbox's wallet did issue: real, but not signed here.
        let raw = e.wallet_shopper(wallet.as_str());
        let (status, body) = e.pay(&token, method, ua(wallet), json!({ field: raw }));
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"]["code"], "SIGNIN_INVALID", "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("unsigned")),
            "{body}"
        );
        assert!(
            !e.sandbox_requests()
                .iter()
                .any(|r| r.to_string().contains(&raw)),
            "no gateway call names the unsigned id"
        );
        let with_raw = format!("{}/c/{token}?{field}={raw}", e.worker);
        let hop = get(&with_raw, ua(wallet));
        assert_eq!(hop.status, 302, "signs in: {}", hop.body);
        assert!(hop.location.starts_with(&e.sandbox), "{}", hop.location);
        // Signed by the Worker, the same shopper pays.
        let (signed, id) = e.signed_in(&token, wallet);
        let (_, code) = e.pay_ok(&token, method, ua(wallet), json!({ field: signed }));
        let interface = match wallet {
            Wallet::Wechat => ("order", "subOpenid"),
            Wallet::Alipay => ("creatOrder", "buyerId"),
        };
        assert_eq!(
            gateway_body(&e, &code, interface.0)[interface.1],
            id.as_str()
        );
    }
}

#[test]
fn replayed_state_shows_a_screen_and_orders_nothing() {
    let e = E2e::from_env();
    let token = e.create_link("1.10", "Replay");
    let (callback, _) = sign_in(&e, &token, Wallet::Wechat);
    let before = e.sandbox_requests().len();
    assert_screen(&get(&callback, UA_WECHAT), 400, "SIGNIN_INVALID");
    assert_eq!(e.sandbox_requests().len(), before, "no gateway call");
}

#[test]
fn forged_and_expired_states_show_a_screen() {
    let e = E2e::from_env();
    let token = e.create_link("1.20", "Forged");
    let callback = allowed_callback(&e, &token);
    let state = param(&callback, "state").unwrap();
    let code = param(&callback, "code").unwrap();
    let at = |state: &str| format!("{}/oauth/wechat?code={code}&state={state}", e.worker);
    // Another MAC, a made-up nonce, none at all, the wrong wallet's callback.
    let flipped = flip_mac(&state);
    for bad in [
        at(&flipped),
        at(&"ab".repeat(32)),
        format!("{}/oauth/wechat?code={code}", e.worker),
    ] {
        assert_screen(&get(&bad, UA_WECHAT), 400, "SIGNIN_INVALID");
    }
    // Properly signed with the link secret, but ten minutes and more ago.
    let keys = LinkKeys::from_config(None, Some(&e.link_secret)).unwrap();
    let now = e2e::now_ms() / 1000;
    let expired = new_state(
        &keys,
        Wallet::Wechat,
        &link_id(&token),
        &state[8..32],
        now - 700,
    );
    let hop = get(&at(&expired), UA_WECHAT);
    assert_screen(&hop, 400, "SIGNIN_INVALID");
    assert!(hop.body.contains("expired"), "{}", hop.body);
}

/// Issue 24 defect 11: a forged callback that reuses a real state's nonce
/// with another MAC must not burn it (the MAC is checked before the state
/// is marked used): the shopper's genuine callback then still signs in.
/// (Before, the flipped MAC claimed the real state and the genuine callback
/// got "already used"; `forged_and_expired_states_show_a_screen` asserted
/// that.)
#[test]
fn a_forged_callback_does_not_burn_the_real_state() {
    let e = E2e::from_env();
    let token = e.create_link("1.21", "Forged first");
    let callback = allowed_callback(&e, &token);
    let state = param(&callback, "state").unwrap();
    let forged = callback.replace(&state, &flip_mac(&state));
    assert_screen(&get(&forged, UA_WECHAT), 400, "SIGNIN_INVALID");
    let genuine = get(&callback, UA_WECHAT);
    assert_eq!(
        genuine.status, 302,
        "the real state still works: {}",
        genuine.body
    );
    assert!(
        genuine.location.starts_with(&format!("/c/{token}?openid=")),
        "{}",
        genuine.location
    );
}

#[test]
fn denial_returns_to_the_other_ways_to_pay_once() {
    let e = E2e::from_env();
    for wallet in [Wallet::Wechat, Wallet::Alipay] {
        let token = e.create_link("1.30", "Deny");
        let callback = choose(&e, &start(&e, &token, wallet), wallet, "deny");
        assert_eq!(param(&callback, wallet.code_param()), None);
        let back = get(&callback, ua(wallet));
        assert_eq!(back.status, 302);
        assert_eq!(back.location, format!("/c/{token}?signin=skip"));
        assert_eq!(
            get(&format!("{}{}", e.worker, back.location), ua(wallet)).status,
            200
        );
        let expected = match wallet {
            Wallet::Wechat => "native",
            Wallet::Alipay => "wap",
        };
        let (body, _) = e.pay_ok(&token, expected, ua(wallet), json!({}));
        assert_eq!(body["method"], expected);
    }
}

/// A fresh WeChat sign-in whose callback presents `code` instead of its own.
fn with_code(e: &E2e, token: &str, code: &str) -> Hop {
    let callback = allowed_callback(e, token);
    let state = param(&callback, "state").unwrap();
    get(
        &format!("{}/oauth/wechat?code={code}&state={state}", e.worker),
        UA_WECHAT,
    )
}

#[test]
fn provider_errors_and_timeouts_offer_retry_not_a_loop() {
    let e = E2e::from_env();
    let token = e.create_link("1.40", "Provider trouble");
    let retry = format!("href=\"/c/{token}\"");
    let other = format!("href=\"/c/{token}?signin=skip\"");
    // A wrong code (WeChat errcode 40029).
    let wrong = with_code(&e, &token, "wrong");
    assert_screen(&wrong, 502, "SIGNIN_FAILED");
    assert!(
        wrong.body.contains(&retry) && wrong.body.contains(&other),
        "{}",
        wrong.body
    );
    // A code used before (40163): a new sign-in presenting the last one's code.
    let (used, _) = sign_in(&e, &token, Wallet::Wechat);
    let reused = with_code(&e, &token, &param(&used, "code").unwrap());
    assert_screen(&reused, 502, "SIGNIN_FAILED");
    // Both providers timing out (GATEWAY_TIMEOUT_MS) and answering 5xx.
    for (wallet, mode) in [
        (Wallet::Wechat, "timeout"),
        (Wallet::Alipay, "timeout"),
        (Wallet::Alipay, "http500"),
    ] {
        let callback = choose(&e, &start(&e, &token, wallet), wallet, "allow");
        let _fault = e.fault_times("oauth_token", mode, 1);
        let hop = get(&callback, ua(wallet));
        assert_screen(&hop, 502, "SIGNIN_FAILED");
        assert!(hop.body.contains(&retry), "{}", hop.body);
    }
}

#[test]
fn a_signed_id_only_pays_its_own_link() {
    let e = E2e::from_env();
    let first = e.create_link("1.50", "First");
    let second = e.create_link("1.60", "Second");
    let (_, back) = sign_in(&e, &first, Wallet::Wechat);
    let signed = param(&format!("{}{back}", e.worker), "openid").unwrap();
    let (status, body) = e.pay(
        &second,
        "wechat_jsapi",
        UA_WECHAT,
        json!({ "openid": signed }),
    );
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "SIGNIN_INVALID");
    // On its own link the Worker's /c/ takes it as is (no new sign-in)...
    assert_eq!(get(&format!("{}{back}", e.worker), UA_WECHAT).status, 200);
    // ...and on the other one it is worthless: that link signs in again.
    let elsewhere = format!("{}/c/{second}?openid={signed}", e.worker);
    assert_eq!(get(&elsewhere, UA_WECHAT).status, 302);
}

#[test]
fn sandbox_refuses_a_bad_rsa2_request_signature() {
    let e = E2e::from_env();
    let app = std::env::var("E2E_ALIPAY_APP_ID").expect("E2E_ALIPAY_APP_ID");
    let params = checkout::oauth::alipay_token_params(&app, "whatever", e2e::now_ms() / 1000);
    let mut form: Vec<(&str, String)> = params;
    form.push(("sign", "AAAA".repeat(86)));
    let answer: Value = e
        .http()
        .post(format!("{}/gateway.do", e.sandbox))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(checkout::oauth::form_body(&form))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        answer["error_response"]["sub_code"], "isv.invalid-signature",
        "{answer}"
    );
}

#[test]
fn ids_codes_and_states_stay_out_of_the_logs() {
    let e = E2e::from_env();
    let token = e.create_link("1.70", "Quiet");
    let (callback, _) = sign_in(&e, &token, Wallet::Alipay);
    let buyer = last_issued(&e, Wallet::Alipay);
    let log_path = std::path::Path::new(&std::env::var("E2E_RUN_DIR").expect("E2E_RUN_DIR"))
        .join("wrangler.log");
    // The request lines are written as the requests end; give them a moment.
    let secrets = [
        buyer,
        param(&callback, "auth_code").unwrap(),
        param(&callback, "state").unwrap(),
    ];
    e.eventually("the callback's log line", || {
        std::fs::read_to_string(&log_path).is_ok_and(|l| l.contains("\"signed_in\""))
    });
    // The Worker's own JSON lines (wrangler dev's access lines print URLs).
    let log: String = std::fs::read_to_string(&log_path)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('{'))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        log.contains("\"outcome\":\"signed_in\""),
        "the Worker logged the sign-in"
    );
    for s in &secrets {
        assert!(
            !log.contains(s.as_str()),
            "a sign-in value reached the Worker's log"
        );
    }
    assert!(!log.contains("s2."), "a signed id reached the Worker's log");
}

/// Issue 24 defect 2: every wallet visit used to record a sign-in state
/// holding the whole token, with no limit, so a script opening a printed
/// code with a wallet User-Agent filled D1. Starts are now counted per
/// client IP (and per link): past `START_LIMIT.per_client` in ten minutes
/// one IP gets the page without sign-in (nothing recorded), while a shopper
/// on another IP still signs in.
#[test]
fn one_ip_starts_a_bounded_number_of_sign_ins() {
    let e = E2e::from_env();
    let token = e.create_link("1.06", "Flooded counter code");
    let url = format!("{}/c/{token}", e.worker);
    let ip = format!("198.51.100.{}", e2e::now_ms() % 250);
    let opens = 3 * START_LIMIT.per_client;
    let redirected = (0..opens)
        .filter(|_| get_from(&url, UA_WECHAT, &ip).status == 302)
        .count() as u64;
    assert_eq!(
        redirected, START_LIMIT.per_client,
        "{opens} opens from one IP: sign-ins started"
    );
    let page = get_from(&url, UA_WECHAT, &ip);
    assert_eq!(page.status, 200, "past the limit: the page, no sign-in");
    let other = get_from(&url, UA_WECHAT, &format!("192.0.2.{}", e2e::now_ms() % 250));
    assert_eq!(other.status, 302, "another shopper still signs in");
}

/// Issue 24 defect 3: a sign-in belongs to the browser that started it (a
/// cookie set with the state, checked at the callback). A captured callback
/// URL opened in another browser used to hand that browser the first
/// shopper's id; now it is a "not valid" screen and the state stays usable
/// by its own browser.
#[test]
fn a_captured_callback_does_not_sign_in_another_browser() {
    let e = E2e::from_env();
    let token = e.create_link("1.22", "Captured callback");
    let callback = allowed_callback(&e, &token);
    let shopper = JAR.with(|j| j.borrow().clone());
    new_browser();
    let stolen = get(&callback, UA_WECHAT);
    assert_screen(&stolen, 400, "SIGNIN_INVALID");
    JAR.with(|j| *j.borrow_mut() = shopper);
    let own = get(&callback, UA_WECHAT);
    assert_eq!(own.status, 302, "{}", own.body);
    assert!(own.location.starts_with(&format!("/c/{token}?openid=")));
}
