//! Wallet sign-in: a link opened inside WeChat or Alipay learns the shopper's
//! `openid` / `buyerId` itself (decisions and formats in `checkout::oauth`).
//!
//! - [`entry`], before `GET /c/{token}` serves the page: inside a configured
//!   wallet, without an id, once per visit → 302 to the wallet's authorize
//!   page with a signed `state` recorded in D1 (at most
//!   `checkout::oauth::START_LIMIT` per link and per IP in ten minutes;
//!   past it the page is served without sign-in).
//! - [`callback`], `GET /oauth/{wechat|alipay}`: the state is checked
//!   (expiry, then its MAC against the link recorded under its nonce and
//!   the browser's cookie set with the redirect, then claimed once in D1),
//!   the code exchanged (WeChat `sns/oauth2/access_token`; Alipay
//!   `alipay.system.oauth.token` signed and verified with RSA2 through
//!   WebCrypto), and the shopper returns to `/c/{token}?openid=` /
//!   `?buyer_id=` with the id signed for that link. A bad state is a plain
//!   screen and no order; a denial returns with `?signin=skip` (the page
//!   then offers QR / wap); a provider failure is a screen with "try again"
//!   and "pay another way", never an automatic redirect, so a visit makes
//!   at most one round trip per wallet.
//!
//! Ids, codes, states and secrets are never logged: only the wallet, the
//! link id and the outcome.

use checkout::link::{self, LinkKeys};
use checkout::oauth::{self as pure, Wallet};
use checkout::routing;
use worker::{Request, Response};

use crate::flows::signin;
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{client_ip, set_html_headers};
use crate::platform::log::{now_secs, random_hex};

/// A query parameter of the request, non-blank.
fn param(req: &Request, name: &str) -> ApiResult<Option<String>> {
    Ok(req
        .url()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty()))
}

/// A 302 that tells nobody where it came from (the path holds the token).
fn redirect(location: &str) -> ApiResult<Response> {
    let resp = Response::empty()?.with_status(302);
    let headers = resp.headers();
    headers.set("Location", location)?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    Ok(resp)
}

/// `GET /c/{token}`: the wallet's authorize page first, or `None` to serve
/// the page. Outside WeChat and Alipay, or without that wallet's settings,
/// this reads nothing else, so today's behaviour stays (and a wallet's
/// misconfiguration never blocks other shoppers).
pub async fn entry(cx: &Cx, req: &Request, token: &str) -> ApiResult<Option<Response>> {
    let settings = &cx.settings;
    let ua = req.headers().get("User-Agent")?.unwrap_or_default();
    let env = routing::detect(&ua);
    let (wechat, alipay) = match env {
        routing::Environment::WeChat => (settings.wechat_oauth()?, None),
        routing::Environment::Alipay => (None, settings.alipay_oauth()?),
        _ => return Ok(None),
    };
    if wechat.is_none() && alipay.is_none() {
        return Ok(None);
    }
    let wallet = match env {
        routing::Environment::WeChat => Wallet::Wechat,
        _ => Wallet::Alipay,
    };
    let keys = settings.link_keys()?;
    let now = now_secs();
    // An invalid or expired link: the page says so; no sign-in for it.
    let Ok(payload) = keys.verify(token, now) else {
        return Ok(None);
    };
    let has_id = match param(req, wallet.id_param())? {
        Some(value) => has_signed_id(&keys, &value, wallet, token, now),
        None => false,
    };
    let skip = param(req, pure::SKIP_PARAM.0)?.as_deref() == Some(pure::SKIP_PARAM.1)
        || param(req, "charge_code")?.is_some();
    let visit = pure::Visit {
        env,
        channel: payload.channel,
        wechat: wechat.is_some(),
        alipay: alipay.is_some(),
        has_id,
        skip,
    };
    let Some(wallet) = pure::sign_in(&visit) else {
        return Ok(None);
    };
    let (oauth_base, app_id) = match (wallet, &wechat, &alipay) {
        (Wallet::Wechat, Some(w), _) => (w.oauth_base.as_str(), w.app_id.as_str()),
        (Wallet::Alipay, _, Some(a)) => (a.oauth_base.as_str(), a.app_id.as_str()),
        // `sign_in` only picks a configured wallet.
        _ => return Ok(None),
    };
    let client_ip = client_ip(req);
    let start = signin::Start {
        wallet,
        app: (oauth_base, app_id),
        token,
        payload: &payload,
        client_ip: &client_ip,
    };
    signin::begin(cx, &start, now)
        .await?
        .map(to_wallet)
        .transpose()
}

/// Whether `value` is a usable id of `wallet`'s shopper on the link
/// `token`, the wallet's sign-in being configured: an unsigned id is no id
/// then (issue 24, defect 3), so the visit signs in instead of serving a
/// page whose pay would be refused.
fn has_signed_id(keys: &LinkKeys, value: &str, wallet: Wallet, token: &str, now: u64) -> bool {
    pure::read_id(keys, value, wallet, &link::link_id(token), now)
        .and_then(|id| pure::accept_id(id, true))
        .is_ok()
}

/// The 302 to the wallet's authorize page, with the cookie that binds the
/// sign-in to this browser.
fn to_wallet(started: signin::Started) -> ApiResult<Response> {
    let resp = redirect(&started.url)?;
    resp.headers().set("Set-Cookie", &started.cookie)?;
    Ok(resp)
}

/// `GET /oauth/{wallet}`: back from the wallet.
pub async fn callback(cx: &Cx, req: &Request, wallet: Wallet) -> ApiResult<Response> {
    let (settings, log) = (&cx.settings, &cx.log);
    log.set("signin", wallet.as_str());
    let cookie = req.headers().get("Cookie")?;
    let token = match signin::claim(cx, param(req, "state")?, cookie, wallet).await {
        Ok(token) => token,
        Err(ApiError::Domain(e @ checkout::Error::SignInInvalid { reason })) => {
            log.set("outcome", format!("signin_{reason}"));
            return screen(400, &Screen::Invalid, &e);
        }
        Err(e) => return Err(e),
    };
    let page = format!("/c/{token}");
    let Some(code) = param(req, wallet.code_param())? else {
        log.set("outcome", "signin_denied");
        let (k, v) = pure::SKIP_PARAM;
        return redirect(&format!("{page}?{k}={v}"));
    };
    let exchanged = signin::exchange(settings, wallet, &code).await;
    match exchanged {
        Ok(id) => {
            log.set("outcome", "signed_in");
            let keys = settings.link_keys()?;
            let link_id = link::link_id(&token);
            let signed = pure::sign_id(&keys, wallet, &link_id, &id, now_secs(), &random_hex(8));
            redirect(&format!(
                "{page}?{}={}",
                wallet.id_param(),
                pure::encode(&signed)
            ))
        }
        Err(ApiError::Domain(e @ checkout::Error::SignInFailed { reason })) => {
            log.set("outcome", "signin_failed");
            log.set("reason", reason);
            screen(
                502,
                &Screen::Failed {
                    wallet,
                    page: &page,
                },
                &e,
            )
        }
        Err(e) => Err(e),
    }
}

/// The Worker's own sign-in screens (the page is not loaded yet).
enum Screen<'a> {
    /// Forged, expired or replayed state: start again from the link.
    Invalid,
    /// The provider failed: try again, or pay without signing in.
    Failed {
        /// Which wallet.
        wallet: Wallet,
        /// `/c/{token}`.
        page: &'a str,
    },
}

/// A small bilingual HTML screen with the page's security headers.
fn screen(status: u16, which: &Screen<'_>, error: &checkout::Error) -> ApiResult<Response> {
    let (title, body) = match which {
        Screen::Invalid => (
            "登录链接无效 · Sign-in link not valid",
            "<p>此登录链接无效、已过期或已使用。请重新打开付款链接。</p>\
             <p>This sign-in link is not valid, has expired or was already used. \
             Open the payment link again.</p>"
                .to_owned(),
        ),
        Screen::Failed { wallet, page } => {
            let name = match wallet {
                Wallet::Wechat => "微信 WeChat",
                Wallet::Alipay => "支付宝 Alipay",
            };
            let (k, v) = pure::SKIP_PARAM;
            (
                "登录未完成 · Sign-in did not complete",
                format!(
                    "<p>{name}: 暂时无法获取您的身份。Could not get your identity right now.</p>\
                     <p><a id=\"retry\" href=\"{page}\">重试 · Try again</a></p>\
                     <p><a id=\"other\" href=\"{page}?{k}={v}\">其他付款方式 · Pay another way</a></p>"
                ),
            )
        }
    };
    let html = format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{title}</title></head><body><main id=\"signin-error\" data-code=\"{}\">\
         <h1>{title}</h1>{body}</main></body></html>",
        error.code().as_str()
    );
    let resp = Response::from_html(&html)?.with_status(status);
    set_html_headers(resp.headers(), &html)?;
    resp.headers().set("Cache-Control", "no-store")?;
    Ok(resp)
}
