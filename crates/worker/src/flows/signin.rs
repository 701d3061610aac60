//! Wallet sign-in, the exchanges behind `GET /oauth/{wechat|alipay}`
//! (decisions and formats in `checkout::oauth`): the callback's `state`
//! claimed once in D1, the code exchanged for the shopper's id (WeChat
//! `sns/oauth2/access_token`; Alipay `alipay.system.oauth.token`, signed
//! and verified with RSA2 through WebCrypto), and the cron's purge.
//!
//! Ids, codes, states and secrets are never logged.

use std::time::Duration;

use checkout::link;
use checkout::oauth::{self as pure, StateParts, Wallet};
use worker::RequestInit;

use crate::platform::config::{AlipayOauth, Settings, WechatOauth};
use crate::platform::context::Cx;
use crate::platform::crypto::{base64_encode, rsa2_sign, rsa2_verify};
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::gateway::{fetch_within, post_init, Transport};
use crate::platform::log::{now_secs, random_hex};
use crate::store::signin::{self, OauthClaim};

/// Checks the callback's `state` and claims it: the link token to return to.
pub async fn claim(cx: &Cx, state: Option<String>, wallet: Wallet) -> ApiResult<String> {
    let invalid = |reason| ApiError::from(checkout::Error::SignInInvalid { reason });
    let state = state.ok_or_else(|| invalid("forged"))?;
    let parts = StateParts::parse(&state)?;
    let now = now_secs();
    parts.check_fresh(now)?;
    let row = match signin::claim_oauth_state(cx.db()?, &parts.nonce, now).await? {
        OauthClaim::Claimed(row) => row,
        OauthClaim::Used => return Err(invalid("replayed")),
        OauthClaim::Unknown => return Err(invalid("forged")),
    };
    cx.log.set("link_id", row.link_id.as_str());
    if row.wallet != wallet {
        return Err(invalid("forged"));
    }
    parts.check_bound(&cx.settings.link_keys()?, wallet, &row.link_id)?;
    Ok(row.token)
}

/// Starts a sign-in at `wallet` (`(oauth_base, app_id)` from its settings)
/// for the link `token`: records a fresh `state` in D1 (claimed once by the
/// callback) and returns the wallet's authorize URL.
pub async fn begin(
    cx: &Cx,
    wallet: Wallet,
    (oauth_base, app_id): (&str, &str),
    token: &str,
    now: u64,
) -> ApiResult<String> {
    let keys = cx.settings.link_keys()?;
    let link_id = link::link_id(token);
    let nonce = random_hex(12);
    let state = pure::new_state(&keys, wallet, &link_id, &nonce, now);
    let expires_at = now + pure::STATE_TTL_SECS;
    signin::insert_oauth_state(cx.db()?, &nonce, wallet, &link_id, token, expires_at).await?;
    cx.log.set("signin", wallet.as_str());
    cx.log.set("outcome", "signin_redirect");
    let redirect_uri = pure::redirect_uri(&cx.settings.public_base_url()?, wallet);
    Ok(pure::authorize_url(
        wallet,
        oauth_base,
        app_id,
        &redirect_uri,
        &state,
    ))
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

/// Deletes sign-in states that expired more than a day ago.
pub async fn purge(cx: &Cx) -> ApiResult<usize> {
    signin::purge_oauth_states(cx.db()?, now_secs().saturating_sub(86_400)).await
}
