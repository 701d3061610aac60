//! Wallet sign-in, the exchanges behind `GET /oauth/{wechat|alipay}`
//! (decisions and formats in `checkout::oauth`): the callback's `state`
//! claimed once in D1, the code exchanged for the shopper's id (WeChat
//! `sns/oauth2/access_token`; Alipay `alipay.system.oauth.token`, signed
//! and verified with RSA2 through WebCrypto), and the cron's purge.
//!
//! Ids, codes, states and secrets are never logged.

use std::time::Duration;

use checkout::flow::pay::NewLink;
use checkout::link::{self, LinkPayload};
use checkout::oauth::{self as pure, StateParts, Wallet};
use worker::RequestInit;

use crate::platform::config::{AlipayOauth, Settings, WechatOauth};
use crate::platform::context::Cx;
use crate::platform::crypto::{base64_encode, rsa2_sign, rsa2_verify};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway::{fetch_within, post_init, Transport};
use crate::platform::log::{now_secs, random_hex};
use crate::store::{links, signin};

/// Checks the callback's `state` and claims it: the link token to return to.
///
/// Order matters (issue 24, defect 11): expiry, then the recorded row is
/// *read* and the MAC checked against its wallet and link, and only then is
/// the state marked used. A forged callback that reuses a real state's
/// nonce with another MAC is refused without touching the row, so it
/// cannot burn the shopper's genuine callback.
///
/// The browser is checked with the MAC (`checkout::oauth::same_browser` on
/// `cookie`, the callback's `Cookie` header): a captured callback URL opened
/// elsewhere is refused and leaves the state to its own browser.
pub async fn claim(
    cx: &Cx,
    state: Option<String>,
    cookie: Option<String>,
    wallet: Wallet,
) -> ApiResult<String> {
    let invalid = |reason| ApiError::from(checkout::Error::SignInInvalid { reason });
    let state = state.ok_or_else(|| invalid("forged"))?;
    let parts = StateParts::parse(&state)?;
    let now = now_secs();
    parts.check_fresh(now)?;
    let db = cx.db()?;
    let row = signin::oauth_state(db, &parts.nonce)
        .await?
        .ok_or_else(|| invalid("forged"))?;
    cx.log.set("link_id", row.link_id.as_str());
    if row.wallet != wallet {
        return Err(invalid("forged"));
    }
    let keys = cx.settings.link_keys()?;
    parts.check_bound(&keys, wallet, &row.link_id)?;
    if !pure::same_browser(&keys, cookie.as_deref(), &parts.nonce) {
        return Err(invalid("wrong_browser"));
    }
    if !signin::claim_oauth_state(db, &parts.nonce, now).await? {
        return Err(invalid("replayed"));
    }
    match links::token(db, &row.link_id).await? {
        Some(Some(token)) => Ok(token),
        _ => Err(invalid("forged")),
    }
}

/// A sign-in to start: the wallet (with `(oauth_base, app_id)` from its
/// settings), the link and the shopper's IP.
pub struct Start<'a> {
    /// The wallet.
    pub wallet: Wallet,
    /// Its `(oauth_base, app_id)`.
    pub app: (&'a str, &'a str),
    /// The link token.
    pub token: &'a str,
    /// What the token says.
    pub payload: &'a LinkPayload,
    /// `CF-Connecting-IP`.
    pub client_ip: &'a str,
}

/// Where a started sign-in goes: the wallet's authorize URL, and the
/// `Set-Cookie` that binds it to this browser.
pub struct Started {
    /// The wallet's authorize URL.
    pub url: String,
    /// `checkout::oauth::browser_cookie`.
    pub cookie: String,
}

/// Starts a sign-in: records a fresh `state` in D1 (claimed once by the
/// callback) and returns where to send the shopper, or `None` when the
/// link or the client reached `checkout::oauth::START_LIMIT` (then the page
/// is served without sign-in and nothing is written).
pub async fn begin(cx: &Cx, start: &Start<'_>, now: u64) -> ApiResult<Option<Started>> {
    let Start {
        wallet,
        app: (oauth_base, app_id),
        token,
        payload,
        client_ip,
    } = *start;
    let keys = cx.settings.link_keys()?;
    let link_id = link::link_id(token);
    let nonce = random_hex(12);
    let state = pure::new_state(&keys, wallet, &link_id, &nonce, now);
    let link = NewLink::of(&link_id, token, payload);
    let client = checkout::guard::client_id(&keys, client_ip);
    let recorded = signin::NewState {
        nonce: &nonce,
        wallet,
        link: &link,
        client: &client,
        now,
        expires_at: now + pure::STATE_TTL_SECS,
    };
    cx.log.set("signin", wallet.as_str());
    if !signin::insert_oauth_state(cx.db()?, &recorded).await? {
        cx.log.set("outcome", "signin_limited");
        return Ok(None);
    }
    cx.log.set("outcome", "signin_redirect");
    let base = cx.settings.public_base_url()?;
    let redirect_uri = pure::redirect_uri(&base, wallet);
    Ok(Some(Started {
        url: pure::authorize_url(wallet, oauth_base, app_id, &redirect_uri, &state),
        cookie: pure::browser_cookie(&keys, &nonce, base.starts_with("https://")),
    }))
}

/// The shopper's id from the wallet for `code`: WeChat's `openid` or
/// Alipay's `buyerId` (a wallet without settings is misconfigured).
pub async fn exchange(settings: &Settings, wallet: Wallet, code: &str) -> ApiResult<String> {
    match wallet {
        Wallet::Wechat => match settings.wechat_oauth()? {
            Some(w) => wechat_openid(settings, &w, code).await,
            None => Err(ApiError::Misconfigured("WECHAT_APPID")),
        },
        Wallet::Alipay => match settings.alipay_oauth()? {
            Some(a) => alipay_buyer_id(settings, &a, code).await,
            None => Err(ApiError::Misconfigured("ALIPAY_APP_ID")),
        },
    }
}

/// The provider's answer body, or why there is none.
async fn fetch(settings: &Settings, url: &str, init: RequestInit) -> ApiResult<Vec<u8>> {
    let timeout = Duration::from_millis(settings.gateway_timeout_ms()?);
    let failed = |reason| ApiError::from(checkout::Error::SignInFailed { reason });
    match fetch_within(url, init, timeout).await {
        Ok((200, body)) => Ok(body),
        Ok(_) => Err(failed("provider HTTP error")),
        Err(Transport::Timeout) => Err(failed("provider timeout")),
        Err(Transport::Failed) => Err(failed("provider unreachable")),
    }
}

async fn wechat_openid(settings: &Settings, w: &WechatOauth, code: &str) -> ApiResult<String> {
    let url = pure::wechat_token_url(&w.api_base, &w.app_id, w.secret.expose(), code);
    let mut init = RequestInit::new();
    init.with_method(worker::Method::Get);
    let body = fetch(settings, &url, init).await?;
    Ok(pure::wechat_openid(&body)?)
}

async fn alipay_buyer_id(settings: &Settings, a: &AlipayOauth, code: &str) -> ApiResult<String> {
    let misconfigured = ApiError::Misconfigured;
    let private =
        pure::key_der(a.private_key.expose()).ok_or(misconfigured("ALIPAY_APP_PRIVATE_KEY"))?;
    let public = pure::key_der(&a.public_key).ok_or(misconfigured("ALIPAY_PUBLIC_KEY"))?;
    let mut params: Vec<(&str, String)> = pure::alipay_token_params(&a.app_id, code, now_secs());
    let signature = rsa2_sign(&private, pure::sign_content(&params).as_bytes())
        .await
        .map_err(|_| misconfigured("ALIPAY_APP_PRIVATE_KEY"))?;
    params.push(("sign", base64_encode(&signature)));
    let mut init = RequestInit::new();
    post_init(
        &mut init,
        "application/x-www-form-urlencoded;charset=utf-8",
        pure::form_body(&params),
    )
    .map_err(|_| checkout::Error::SignInFailed {
        reason: "provider unreachable",
    })?;
    let body = fetch(settings, &a.gateway_url, init).await?;
    let text = String::from_utf8_lossy(&body);
    let answer = pure::alipay_answer(&text)?;
    let valid = rsa2_verify(&public, &answer.signature, answer.content.as_bytes())
        .await
        .map_err(|_| misconfigured("ALIPAY_PUBLIC_KEY"))?;
    Ok(answer.buyer_id(valid)?)
}

/// Deletes sign-in states that expired more than a day ago, at most
/// `checkout::oauth::PURGE_BATCH` per run.
pub async fn purge(cx: &Cx) -> ApiResult<usize> {
    signin::purge_oauth_states(cx.db()?, now_secs().saturating_sub(86_400)).await
}
