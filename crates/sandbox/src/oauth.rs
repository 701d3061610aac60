//! The wallets' sign-in, simulated: WeChat web authorization (`snsapi_base`)
//! and Alipay user authorization (`auth_base`), so the Worker's sign-in runs
//! end to end on one machine.
//!
//! - `GET /connect/oauth2/authorize` (WeChat) and
//!   `GET /oauth2/publicAppAuthorize.htm` (Alipay): a page where the
//!   simulated shopper allows (back to `redirect_uri` with a code and the
//!   `state`) or denies (back with the `state` only).
//! - `GET /sns/oauth2/access_token`: WeChat's code exchange, with its
//!   `errcode` answers for a wrong secret and a wrong, reused or expired code.
//! - `POST /gateway.do` `alipay.system.oauth.token`: the request's RSA2
//!   signature is verified against the app public key given with
//!   `--alipay-app`; the answer is signed with `--alipay-private-key`.
//! - The gateway asks [`Store::issued`] so that JSAPI `order` only takes a
//!   `subOpenid` issued for its app and `creatOrder` only a `buyerId` that
//!   signed in here (when the wallet is configured at all).
//!
//! The `oauth_token` fault applies to both code exchanges. The wallets'
//! rules themselves are in [`crate::wallet`], written from the providers'
//! documentation; this module is their HTTP side and the codes' store.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, RawForm, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::clock::Stamp;
use crate::error::Error;
use crate::faults::{FaultMode, FaultTarget};
use crate::html::{self, encode_segment as encode, escape, Layout};
use crate::wallet::{self, AlipayError, Authorize, CodeError, Wallet};
use crate::{ids, lock, App};

/// How long a code may wait for its exchange (WeChat: five minutes).
pub const CODE_TTL_MS: u64 = 5 * 60 * 1000;

/// The apps the simulated wallets know (from the command line).
#[derive(Clone, Default)]
pub struct Providers {
    /// WeChat app id → app secret.
    wechat: HashMap<String, String>,
    /// Alipay app id → the app's public key (verifies its requests).
    alipay: HashMap<String, RsaPublicKey>,
    /// Alipay's own key, signing its answers.
    alipay_key: Option<SigningKey<Sha256>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut wechat: Vec<_> = self.wechat.keys().collect();
        wechat.sort();
        let mut alipay: Vec<_> = self.alipay.keys().collect();
        alipay.sort();
        write!(f, "Providers {{ wechat: {wechat:?}, alipay: {alipay:?} }}")
    }
}

fn read_file(path: &str, what: &str) -> Result<String, Error> {
    std::fs::read_to_string(path).map_err(|e| Error::Config(format!("{what} {path}: {e}")))
}

impl Providers {
    /// From `--wechat-app APPID=SECRET`, `--alipay-app APPID=PUBLIC_KEY_PEM_FILE`
    /// and `--alipay-private-key PKCS8_PEM_FILE`.
    pub fn from_cli(
        wechat: &[String],
        alipay: &[String],
        alipay_key: Option<&str>,
    ) -> Result<Providers, Error> {
        let split = |s: &String, flag: &str| {
            s.split_once('=')
                .filter(|(a, b)| !a.trim().is_empty() && !b.trim().is_empty())
                .map(|(a, b)| (a.trim().to_owned(), b.trim().to_owned()))
                .ok_or_else(|| Error::Config(format!("{flag}: expected APPID=VALUE")))
        };
        let wechat = wechat
            .iter()
            .map(|s| split(s, "--wechat-app"))
            .collect::<Result<_, _>>()?;
        let alipay = alipay
            .iter()
            .map(|s| {
                let (app, path) = split(s, "--alipay-app")?;
                let pem = read_file(&path, "--alipay-app public key")?;
                let key = RsaPublicKey::from_public_key_pem(pem.trim())
                    .map_err(|e| Error::Config(format!("--alipay-app {app}: {e}")))?;
                Ok((app, key))
            })
            .collect::<Result<HashMap<_, _>, Error>>()?;
        let alipay_key = alipay_key
            .map(|path| {
                let pem = read_file(path, "--alipay-private-key")?;
                RsaPrivateKey::from_pkcs8_pem(pem.trim())
                    .map(SigningKey::new)
                    .map_err(|e| Error::Config(format!("--alipay-private-key: {e}")))
            })
            .transpose()?;
        if !alipay.is_empty() && alipay_key.is_none() {
            return Err(Error::Config(
                "--alipay-app needs --alipay-private-key (Alipay signs its answers)".into(),
            ));
        }
        Ok(Providers {
            wechat,
            alipay,
            alipay_key,
        })
    }

    fn knows(&self, wallet: Wallet, app_id: &str) -> bool {
        match wallet {
            Wallet::Wechat => self.wechat.contains_key(app_id),
            Wallet::Alipay => self.alipay.contains_key(app_id),
        }
    }

    /// Whether sign-in is simulated for `wallet`: only then does the gateway
    /// check shopper ids against [`Store::issued`].
    pub fn enabled(&self, wallet: Wallet) -> bool {
        match wallet {
            Wallet::Wechat => !self.wechat.is_empty(),
            Wallet::Alipay => !self.alipay.is_empty(),
        }
    }

    /// The WeChat app of a JSAPI order without `subAppid`: the only one, if one.
    pub fn sole_wechat_app(&self) -> Option<&str> {
        let mut apps = self.wechat.keys();
        match (apps.next(), apps.next()) {
            (Some(app), None) => Some(app),
            _ => None,
        }
    }

    /// Alipay's RSA2 signature of `content`, base64.
    fn alipay_sign(&self, content: &str) -> Option<String> {
        let key = self.alipay_key.as_ref()?;
        Some(STANDARD.encode(key.sign(content.as_bytes()).to_bytes()))
    }
}

/// Whether `signature_b64` is `key`'s RSA2 (PKCS#1 v1.5, SHA-256) signature of `content`.
pub fn rsa2_valid(key: &RsaPublicKey, content: &str, signature_b64: &str) -> bool {
    let Ok(bytes) = STANDARD.decode(signature_b64.trim()) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(content.as_bytes(), &signature)
        .is_ok()
}

#[derive(Debug)]
struct Code {
    wallet: Wallet,
    app_id: String,
    shopper: String,
    issued_ms: u64,
    used: bool,
}

/// A shopper id handed out by a sign-in, as the control API lists it.
#[derive(Clone, Debug, Serialize)]
pub struct Issued {
    /// `wechat` or `alipay`.
    pub wallet: &'static str,
    /// The app it was issued for.
    pub app_id: String,
    /// The openid / buyer id.
    pub id: String,
}

/// Codes and the ids they stand for; time is passed in.
#[derive(Debug, Default)]
pub struct Store {
    codes: HashMap<String, Code>,
    issued: Vec<Issued>,
}

impl Store {
    /// A new shopper signs in to `app_id`: a fresh code and id (every
    /// sign-in is a new simulated shopper, so tests can tell them apart).
    pub fn issue(&mut self, wallet: Wallet, app_id: &str, now_ms: u64) -> (String, String) {
        let code = ids::hex(16);
        let shopper = match wallet {
            Wallet::Wechat => format!("o{}", ids::hex(14)),
            Wallet::Alipay => format!("2088{:012}", rand::random::<u64>() % 1_000_000_000_000),
        };
        self.codes.insert(
            code.clone(),
            Code {
                wallet,
                app_id: app_id.to_owned(),
                shopper: shopper.clone(),
                issued_ms: now_ms,
                used: false,
            },
        );
        self.issued.push(Issued {
            wallet: wallet.name(),
            app_id: app_id.to_owned(),
            id: shopper.clone(),
        });
        (code, shopper)
    }

    /// Exchanges a code once, within [`CODE_TTL_MS`], for the app it was issued to.
    pub fn redeem(
        &mut self,
        wallet: Wallet,
        app_id: &str,
        code: &str,
        now_ms: u64,
    ) -> Result<String, CodeError> {
        let c = self
            .codes
            .get_mut(code)
            .filter(|c| c.wallet == wallet && c.app_id == app_id)
            .ok_or(CodeError::Unknown)?;
        if c.used {
            return Err(CodeError::Used);
        }
        if now_ms.saturating_sub(c.issued_ms) >= CODE_TTL_MS {
            return Err(CodeError::Expired);
        }
        c.used = true;
        Ok(c.shopper.clone())
    }

    /// Whether `id` signed in with `wallet` (to `app_id`, when given).
    pub fn issued(&self, wallet: Wallet, id: &str, app_id: Option<&str>) -> bool {
        self.issued.iter().any(|i| {
            i.wallet == wallet.name() && i.id == id && app_id.is_none_or(|a| a == i.app_id)
        })
    }
}

/// Routes of both simulated wallets.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/connect/oauth2/authorize", get(wechat_authorize))
        .route("/oauth2/publicAppAuthorize.htm", get(alipay_authorize))
        .route("/sandbox/oauth/decide", get(decide))
        .route("/sns/oauth2/access_token", get(wechat_token))
        .route("/gateway.do", post(alipay_gateway))
        .route("/sandbox/oauth/issued", get(list_issued))
        .route("/sandbox/oauth/{wallet}/shoppers", post(mint))
}

fn error_page(status: StatusCode, message: &str) -> Response {
    let main = format!("<p class=\"state\">{}</p>", escape(message));
    (
        status,
        Html(html::page(
            "Sign-in error",
            "sandbox wallet",
            Layout::Card,
            &main,
        )),
    )
        .into_response()
}

/// The query's pairs in the order sent (WeChat checks the order).
fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default()
}

async fn wechat_authorize(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Response {
    match wallet::wechat_authorize(&query_pairs(q.as_deref())) {
        Ok(asked) => consent(&app, Wallet::Wechat, &asked),
        Err(why) => error_page(StatusCode::BAD_REQUEST, why),
    }
}

async fn alipay_authorize(State(app): State<Arc<App>>, RawQuery(q): RawQuery) -> Response {
    match wallet::alipay_authorize(&query_pairs(q.as_deref())) {
        Ok(asked) => consent(&app, Wallet::Alipay, &asked),
        Err(why) => error_page(StatusCode::BAD_REQUEST, why),
    }
}

/// The authorize page: who asks, and the two choices.
fn consent(app: &App, wallet: Wallet, asked: &Authorize) -> Response {
    if !app.oauth.knows(wallet, &asked.app_id) {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("unknown {} app {}", wallet.name(), asked.app_id),
        );
    }
    let choice = |choice: &str| {
        format!(
            "/sandbox/oauth/decide?wallet={}&app_id={}&redirect_uri={}&state={}&choice={choice}",
            wallet.name(),
            encode(&asked.app_id),
            encode(&asked.redirect_uri),
            encode(&asked.state),
        )
    };
    let name = wallet.title();
    let main = format!(
        "<p class=\"state\">{name} sign-in</p><p class=\"meta\">App {} asks who you are \
         (silent scope).</p><a class=\"pay\" id=\"allow\" href=\"{}\">Allow</a> \
         <a class=\"cancel\" id=\"deny\" href=\"{}\">Deny</a>",
        escape(&asked.app_id),
        escape(&choice("allow")),
        escape(&choice("deny")),
    );
    Html(html::page(
        &format!("{name} sign-in"),
        "sandbox wallet",
        Layout::Card,
        &main,
    ))
    .into_response()
}

#[derive(Deserialize)]
struct Decision {
    wallet: String,
    app_id: String,
    redirect_uri: String,
    state: String,
    choice: String,
}

/// Back to the merchant: with a fresh code when allowed, with the state only when denied.
async fn decide(State(app): State<Arc<App>>, Query(d): Query<Decision>) -> Response {
    let Some(wallet) = Wallet::named(&d.wallet).filter(|w| app.oauth.knows(*w, &d.app_id)) else {
        return error_page(StatusCode::BAD_REQUEST, "unknown app");
    };
    let code = (d.choice == "allow").then(|| {
        lock(&app.oauth_store)
            .issue(wallet, &d.app_id, Stamp::now().unix_ms)
            .0
    });
    let asked = Authorize {
        app_id: d.app_id,
        redirect_uri: d.redirect_uri,
        state: d.state,
    };
    Redirect::to(&wallet::callback(wallet, &asked, code.as_deref())).into_response()
}

/// Applies the `oauth_token` fault; `Some` is the answer to send instead.
async fn token_fault(app: &App) -> Option<Response> {
    match app.take_fault(FaultTarget::OauthToken)? {
        FaultMode::Latency(d) => {
            tokio::time::sleep(d).await;
            None
        }
        FaultMode::Timeout => {
            tokio::time::sleep(app.timeout_hold).await;
            Some(StatusCode::GATEWAY_TIMEOUT.into_response())
        }
        mode => crate::faults::distort(&mode, "application/json", b"{}").map(|d| {
            (
                StatusCode::from_u16(d.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                [(header::CONTENT_TYPE, d.content_type)],
                d.body,
            )
                .into_response()
        }),
    }
}

#[derive(Deserialize)]
struct WechatToken {
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
}

fn wechat_error(errcode: i64, errmsg: &str) -> Response {
    Json(serde_json::json!({ "errcode": errcode, "errmsg": errmsg })).into_response()
}

async fn wechat_token(State(app): State<Arc<App>>, Query(q): Query<WechatToken>) -> Response {
    if let Some(resp) = token_fault(&app).await {
        return resp;
    }
    let req = wallet::WechatToken {
        app_id: q.appid.as_deref().unwrap_or(""),
        secret: q.secret.as_deref().unwrap_or(""),
        grant_type: q.grant_type.as_deref().unwrap_or(""),
    };
    if let Some((errcode, errmsg)) =
        wallet::wechat_refusal(req, |app_id| app.oauth.wechat.get(app_id).cloned())
    {
        return wechat_error(errcode, errmsg);
    }
    let code = q.code.as_deref().unwrap_or("");
    match lock(&app.oauth_store).redeem(Wallet::Wechat, req.app_id, code, Stamp::now().unix_ms) {
        Ok(openid) => Json(serde_json::json!({
            "access_token": ids::hex(32),
            "expires_in": 7200,
            "refresh_token": ids::hex(32),
            "openid": openid,
            "scope": "snsapi_base",
        }))
        .into_response(),
        Err(e) => {
            let (errcode, errmsg) = wallet::wechat_code_error(e);
            wechat_error(errcode, errmsg)
        }
    }
}

/// Alipay's answer: `{"<node name>":NODE,"sign":"..."}`, signed over NODE's exact text.
fn alipay_answer(app: &App, node_name: &str, node: serde_json::Value) -> Response {
    let text = node.to_string();
    let sign = app
        .oauth
        .alipay_sign(&text)
        .map(|s| format!(",\"sign\":\"{s}\""))
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        format!("{{\"{node_name}\":{text}{sign}}}"),
    )
        .into_response()
}

fn alipay_error(app: &App, e: AlipayError) -> Response {
    alipay_answer(
        app,
        "error_response",
        serde_json::json!({
            "code": e.code,
            "msg": e.msg,
            "sub_code": e.sub_code,
            "sub_msg": e.sub_msg,
        }),
    )
}

/// `POST /gateway.do`: only `alipay.system.oauth.token`.
async fn alipay_gateway(State(app): State<Arc<App>>, RawForm(body): RawForm) -> Response {
    if let Some(resp) = token_fault(&app).await {
        return resp;
    }
    match alipay_token(&app, &body) {
        Ok(user_id) => alipay_answer(
            &app,
            "alipay_system_oauth_token_response",
            serde_json::json!({
                "access_token": ids::hex(16),
                "alipay_user_id": ids::hex(16),
                "auth_start": Stamp::now().gateway_time(),
                "expires_in": 1_296_000,
                "re_expires_in": 2_592_000,
                "refresh_token": ids::hex(16),
                "user_id": user_id,
            }),
        ),
        Err(e) => alipay_error(&app, e),
    }
}

/// The user id for a signed `alipay.system.oauth.token` form, in the
/// gateway's order: public parameters, the app, its signature, the method,
/// then the code.
fn alipay_token(app: &App, body: &[u8]) -> Result<String, AlipayError> {
    let params: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
        .map_err(|_| AlipayError::invalid("isv.invalid-arguments", "unreadable form"))?;
    let get = |name| wallet::value(&params, name).unwrap_or("");
    wallet::check_public(&params)?;
    let app_key = app
        .oauth
        .alipay
        .get(get("app_id"))
        .ok_or_else(|| AlipayError::invalid("isv.invalid-app-id", "unknown app_id"))?;
    if !rsa2_valid(app_key, &wallet::sign_content(&params), get("sign")) {
        return Err(AlipayError::invalid(
            "isv.invalid-signature",
            "RSA2 signature does not verify",
        ));
    }
    wallet::check_token_request(&params)?;
    lock(&app.oauth_store)
        .redeem(
            Wallet::Alipay,
            get("app_id"),
            get("code"),
            Stamp::now().unix_ms,
        )
        .map_err(wallet::alipay_code_error)
}

async fn list_issued(State(app): State<Arc<App>>) -> Response {
    Json(lock(&app.oauth_store).issued.clone()).into_response()
}

#[derive(Deserialize)]
struct Mint {
    app_id: String,
}

/// `POST /sandbox/oauth/{wallet}/shoppers?app_id=`: an id as if that
/// shopper had signed in elsewhere (for `?openid=` links made by a
/// merchant's own server).
async fn mint(
    State(app): State<Arc<App>>,
    axum::extract::Path(wallet): axum::extract::Path<String>,
    Query(m): Query<Mint>,
) -> Response {
    let Some(wallet) = Wallet::named(&wallet).filter(|w| app.oauth.knows(*w, &m.app_id)) else {
        return (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({"error": "unknown wallet or app"})),
        )
            .into_response();
    };
    let (_, id) = lock(&app.oauth_store).issue(wallet, &m.app_id, Stamp::now().unix_ms);
    Json(serde_json::json!({ "id": id })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRIVATE: &str = include_str!("../tests/fixtures/rsa2/app_private.pem");
    const PUBLIC: &str = include_str!("../tests/fixtures/rsa2/app_public.pem");
    const CONTENT: &str = include_str!("../tests/fixtures/rsa2/content.txt");
    const OPENSSL_SIG: &str = include_str!("../tests/fixtures/rsa2/content.sig.b64");

    /// The sign content and RSA2 signature match OpenSSL's, computed
    /// independently (`tests/fixtures/rsa2/README`).
    #[test]
    fn rsa2_matches_openssl() {
        let params: Vec<(String, String)> = [
            ("sign", "left out"),
            ("version", "1.0"),
            ("method", "alipay.system.oauth.token"),
            ("code", "4b203fe6c11548bcabd8da5bb087a83b"),
            ("app_id", "2021000000000001"),
            ("timestamp", "2015-10-14 04:43:14"),
            ("format", "JSON"),
            ("grant_type", "authorization_code"),
            ("charset", "utf-8"),
            ("sign_type", "RSA2"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .into();
        assert_eq!(wallet::sign_content(&params), CONTENT);
        let providers = Providers {
            alipay_key: Some(SigningKey::new(
                RsaPrivateKey::from_pkcs8_pem(PRIVATE).unwrap(),
            )),
            ..Providers::default()
        };
        // PKCS#1 v1.5 is deterministic: the same key signs the same bytes alike.
        assert_eq!(providers.alipay_sign(CONTENT).unwrap(), OPENSSL_SIG.trim());
        let public = RsaPublicKey::from_public_key_pem(PUBLIC).unwrap();
        assert!(rsa2_valid(&public, CONTENT, OPENSSL_SIG));
    }

    /// What the sandbox's `alipay.system.oauth.token` refuses: a signature
    /// over other content, a flipped bit, another key's, garbage.
    #[test]
    fn rsa2_rejects_bad_signatures() {
        let public = RsaPublicKey::from_public_key_pem(PUBLIC).unwrap();
        assert!(!rsa2_valid(
            &public,
            &CONTENT.replace("code=4b", "code=5b"),
            OPENSSL_SIG
        ));
        let mut bytes = STANDARD.decode(OPENSSL_SIG.trim()).unwrap();
        bytes[100] ^= 1;
        assert!(!rsa2_valid(&public, CONTENT, &STANDARD.encode(&bytes)));
        let other = RsaPrivateKey::new(&mut rand_core_rng(), 1024).unwrap();
        let other_sig = SigningKey::<Sha256>::new(other)
            .sign(CONTENT.as_bytes())
            .to_bytes();
        assert!(!rsa2_valid(&public, CONTENT, &STANDARD.encode(other_sig)));
        assert!(!rsa2_valid(&public, CONTENT, "not base64!"));
        assert!(!rsa2_valid(&public, CONTENT, ""));
    }

    fn rand_core_rng() -> rsa::rand_core::OsRng {
        rsa::rand_core::OsRng
    }

    #[test]
    fn codes_are_single_use_short_lived_and_per_app() {
        let mut s = Store::default();
        let (code, id) = s.issue(Wallet::Wechat, "wxA", 1_000);
        assert_eq!(
            s.redeem(Wallet::Wechat, "wxB", &code, 1_000),
            Err(CodeError::Unknown)
        );
        assert_eq!(
            s.redeem(Wallet::Alipay, "wxA", &code, 1_000),
            Err(CodeError::Unknown)
        );
        assert_eq!(
            s.redeem(Wallet::Wechat, "wxA", "nope", 1_000),
            Err(CodeError::Unknown)
        );
        assert_eq!(
            s.redeem(Wallet::Wechat, "wxA", &code, 1_000 + CODE_TTL_MS - 1),
            Ok(id.clone())
        );
        assert_eq!(
            s.redeem(Wallet::Wechat, "wxA", &code, 1_001),
            Err(CodeError::Used)
        );
        let (late, _) = s.issue(Wallet::Wechat, "wxA", 1_000);
        assert_eq!(
            s.redeem(Wallet::Wechat, "wxA", &late, 1_000 + CODE_TTL_MS),
            Err(CodeError::Expired)
        );
        assert!(s.issued(Wallet::Wechat, &id, Some("wxA")));
        assert!(s.issued(Wallet::Wechat, &id, None));
        assert!(!s.issued(Wallet::Wechat, &id, Some("wxB")));
        assert!(!s.issued(Wallet::Alipay, &id, None));
        let (_, buyer) = s.issue(Wallet::Alipay, "2021", 0);
        assert!(buyer.starts_with("2088") && buyer.len() == 16, "{buyer}");
    }
}
