//! The simulated wallets over HTTP, held to the providers' documented rules
//! with requests built here by hand (the e2e sign-in tests run the Worker's
//! own client against the sandbox; these check the sandbox alone).

mod common;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use common::*;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use sha2::Sha256;

/// The throwaway RSA2 test key (`tests/fixtures/rsa2/README`): the app's
/// key here, and Alipay's too, so the test can check both directions.
const RSA2: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/rsa2");
const ALIPAY_APP: &str = "2021000000000001";
/// Where the simulated shopper is sent back (never contacted).
const CALLBACK: &str = "http%3A%2F%2F127.0.0.1%3A9%2Fcb";

fn start() -> Sandbox {
    let app = format!("{ALIPAY_APP}={RSA2}/app_public.pem");
    let key = format!("{RSA2}/app_private.pem");
    Sandbox::start(&[
        "--wechat-app",
        "wx1=s3cret",
        "--alipay-app",
        &app,
        "--alipay-private-key",
        &key,
    ])
}

/// Status, `Location`, body.
async fn get(url: &str) -> (u16, String, String) {
    let r = http().get(url).send().await.unwrap();
    let location = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status().as_u16(), location, r.text().await.unwrap())
}

/// The value of `name` in a URL's query (the sandbox's codes need no decoding).
fn param<'a>(url: &'a str, name: &str) -> &'a str {
    let query = &url[url.find('?').expect("a query") + 1..];
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in {url}"))
}

/// The authorize page at `path` → *Allow* → the callback URL with the code.
async fn allow(sb: &Sandbox, path: &str) -> String {
    let (status, _, page) = get(&format!("{}{path}", sb.url)).await;
    assert_eq!(status, 200, "{page}");
    let at = page.find("id=\"allow\" href=\"").expect("allow link") + 17;
    let href = page[at..at + page[at..].find('"').unwrap()].replace("&amp;", "&");
    let (status, location, body) = get(&format!("{}{href}", sb.url)).await;
    assert_eq!(status, 303, "{body}");
    location
}

#[tokio::test]
async fn wechat_authorize_takes_the_documented_order_and_codes_exchange_once() {
    let sb = start();
    let ordered = format!(
        "/connect/oauth2/authorize?appid=wx1&redirect_uri={CALLBACK}\
         &response_type=code&scope=snsapi_base&state=abc123"
    );
    let swapped = format!(
        "/connect/oauth2/authorize?appid=wx1&redirect_uri={CALLBACK}\
         &scope=snsapi_base&response_type=code&state=abc123"
    );
    let (status, _, page) = get(&format!("{}{swapped}", sb.url)).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("in this order"), "{page}");

    let back = allow(&sb, &ordered).await;
    assert!(back.starts_with("http://127.0.0.1:9/cb?code="), "{back}");
    assert!(back.ends_with("&state=abc123"), "{back}");
    let token = |code: &str, secret: &str| {
        format!(
            "{}/sns/oauth2/access_token?appid=wx1&secret={secret}&code={code}\
             &grant_type=authorization_code",
            sb.url
        )
    };
    let code = param(&back, "code");
    let json = |body: String| serde_json::from_str::<Value>(&body).unwrap();
    let wrong = json(get(&token(code, "nope")).await.2);
    assert_eq!(wrong["errcode"], 40125, "{wrong}");
    let first = json(get(&token(code, "s3cret")).await.2);
    assert!(
        first["openid"].as_str().unwrap().starts_with('o'),
        "{first}"
    );
    assert_eq!(first["scope"], "snsapi_base");
    let again = json(get(&token(code, "s3cret")).await.2);
    assert_eq!(again["errcode"], 40163, "{again}");
}

/// A signed `alipay.system.oauth.token` form, its sign content written out
/// by hand as Alipay's rule gives it (sorted, `sign` left out).
fn token_form(code: &str, sign_type: &str) -> String {
    let content = format!(
        "app_id={ALIPAY_APP}&charset=utf-8&code={code}&format=JSON\
         &grant_type=authorization_code&method=alipay.system.oauth.token\
         &sign_type={sign_type}&timestamp=2026-12-07 12:00:00&version=1.0"
    );
    let pem = std::fs::read_to_string(format!("{RSA2}/app_private.pem")).unwrap();
    let key = SigningKey::<Sha256>::new(RsaPrivateKey::from_pkcs8_pem(&pem).unwrap());
    let sign = STANDARD.encode(key.sign(content.as_bytes()).to_bytes());
    let mut pairs: Vec<(&str, &str)> = content
        .split('&')
        .map(|kv| kv.split_once('=').unwrap())
        .collect();
    pairs.reverse(); // the order sent does not matter
    pairs.push(("sign", &sign));
    serde_urlencoded::to_string(&pairs).unwrap()
}

async fn gateway(sb: &Sandbox, form: String) -> String {
    http()
        .post(format!("{}/gateway.do", sb.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn alipay_token_checks_the_request_and_signs_the_answer_node() {
    let sb = start();
    let back = allow(
        &sb,
        &format!(
            "/oauth2/publicAppAuthorize.htm?app_id={ALIPAY_APP}&scope=auth_base\
             &redirect_uri={CALLBACK}&state=s1"
        ),
    )
    .await;
    assert_eq!(param(&back, "source"), "alipay_wallet");
    let code = param(&back, "auth_code").to_owned();

    let unsigned = format!(
        "app_id={ALIPAY_APP}&method=alipay.system.oauth.token&charset=utf-8&sign_type=RSA2\
         &timestamp=2026-12-07+12%3A00%3A00&version=1.0&grant_type=authorization_code&code={code}"
    );
    let missing: Value = serde_json::from_str(&gateway(&sb, unsigned).await).unwrap();
    assert_eq!(missing["error_response"]["code"], "40001", "{missing}");
    assert_eq!(
        missing["error_response"]["sub_code"],
        "isv.missing-signature"
    );
    let rsa1: Value = serde_json::from_str(&gateway(&sb, token_form(&code, "RSA")).await).unwrap();
    assert_eq!(
        rsa1["error_response"]["sub_code"], "isv.invalid-signature-type",
        "{rsa1}"
    );

    let body = gateway(&sb, token_form(&code, "RSA2")).await;
    let node = body
        .strip_prefix("{\"alipay_system_oauth_token_response\":")
        .and_then(|rest| rest.split_once(",\"sign\":\""))
        .map(|(node, _)| node)
        .unwrap_or_else(|| panic!("{body}"));
    let answer: Value = serde_json::from_str(&body).unwrap();
    let pem = std::fs::read_to_string(format!("{RSA2}/app_public.pem")).unwrap();
    let alipay = VerifyingKey::<Sha256>::new(RsaPublicKey::from_public_key_pem(&pem).unwrap());
    let sig = STANDARD.decode(answer["sign"].as_str().unwrap()).unwrap();
    assert!(alipay
        .verify(
            node.as_bytes(),
            &Signature::try_from(sig.as_slice()).unwrap()
        )
        .is_ok());
    let user = answer["alipay_system_oauth_token_response"]["user_id"]
        .as_str()
        .unwrap();
    assert!(user.starts_with("2088") && user.len() == 16, "{user}");

    let replay: Value =
        serde_json::from_str(&gateway(&sb, token_form(&code, "RSA2")).await).unwrap();
    assert_eq!(
        replay["error_response"]["sub_code"], "isv.code-invalid",
        "{replay}"
    );
}
