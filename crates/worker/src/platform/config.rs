//! Configuration: wrangler vars and Worker secrets, read on use.
//!
//! Values are read lazily so that a route only fails (500 `MISCONFIGURED`,
//! naming the variable, never its value) when it actually needs a missing
//! value; `/healthz` works with no configuration at all.

use checkout::health::{GatewayHealth, WalletSignIn, WebhookHealth};
use std::fmt;

use checkout::access::{AuthLimit, SessionPolicy};
use checkout::events::RetryPolicy;
use checkout::guard::RateLimit;
use checkout::link::LinkKeys;
use checkout::oauth::Wallet;
use checkout::pos::PosPolicy;
use checkout::settle::ReconcilePolicy;
use checkout::webhook;
use soushou::codec::Format;
use soushou::envelope;
use soushou::MerchantKey;
use worker::Env;

use crate::platform::error::{ApiError, ApiResult};

/// A secret string whose `Debug`/`Display` print a mask, so it cannot leak
/// into a log line by accident.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    /// The raw value, for the one place that must compare or hash it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

/// Typed access to the Worker's configuration.
#[derive(Clone)]
pub struct Settings {
    env: Env,
}

impl Settings {
    /// Wraps the environment of the current invocation.
    pub fn new(env: Env) -> Self {
        Settings { env }
    }

    /// The raw environment (D1 and asset bindings).
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// A var, `None` when unset or empty.
    fn opt_var(&self, name: &str) -> Option<String> {
        self.env
            .var(name)
            .ok()
            .map(|v| v.to_string())
            .filter(|s| !s.trim().is_empty())
    }

    /// A required var.
    fn var(&self, name: &'static str) -> ApiResult<String> {
        self.opt_var(name).ok_or(ApiError::Misconfigured(name))
    }

    /// A required secret (`.dev.vars` locally, `wrangler secret put` in production).
    fn secret(&self, name: &'static str) -> ApiResult<Secret> {
        self.env
            .secret(name)
            .ok()
            .map(|v| v.to_string())
            .filter(|s| !s.is_empty())
            .map(Secret)
            .ok_or(ApiError::Misconfigured(name))
    }

    /// A numeric var with a default; a malformed value is a misconfiguration.
    fn num(&self, name: &'static str, default: u64) -> ApiResult<u64> {
        match self.opt_var(name) {
            None => Ok(default),
            Some(s) => s.trim().parse().map_err(|_| ApiError::Misconfigured(name)),
        }
    }

    /// The gateway client configuration (URL, merchant ids, key, encryption).
    pub fn gateway(&self) -> ApiResult<envelope::Config> {
        // Unset means 3DES; only an explicit empty value or `none` turns it off.
        let raw = self.env.var("SOUSHOU_ENCRYPT").ok().map(|v| v.to_string());
        let encrypt = checkout::guard::encryption_setting(raw.as_deref())
            .ok_or(ApiError::Misconfigured("SOUSHOU_ENCRYPT"))?;
        let mut gateway_url = self.var("SOUSHOU_GATEWAY_URL")?;
        if !gateway_url.ends_with('/') {
            gateway_url.push('/');
        }
        Ok(envelope::Config {
            gateway_url,
            busi_code: self.var("SOUSHOU_BUSI_CODE")?,
            busi_id: self.var("SOUSHOU_BUSI_ID")?,
            key: self.merchant_key()?,
            encrypt,
            format: Format::Json,
            oper_id: self
                .opt_var("SOUSHOU_OPER_ID")
                .unwrap_or_else(|| "checkout".into()),
            dev_id: self
                .opt_var("SOUSHOU_DEV_ID")
                .unwrap_or_else(|| "edge".into()),
            register_id: self.opt_var("SOUSHOU_REGISTER_ID"),
        })
    }

    /// The merchant key (signing and 3DES).
    pub fn merchant_key(&self) -> ApiResult<MerchantKey> {
        Ok(MerchantKey::new(
            self.secret("SOUSHOU_MERCHANT_KEY")?.expose(),
        ))
    }

    /// The HMAC keys of checkout links: `LINK_SECRETS` (comma-separated;
    /// the first signs, any verifies) or else `LINK_SECRET`, each at least
    /// 32 bytes (`checkout::link::LinkKeys::from_config`).
    pub fn link_keys(&self) -> ApiResult<LinkKeys> {
        let raw = |name| self.env.secret(name).ok().map(|v| v.to_string());
        LinkKeys::from_config(
            raw("LINK_SECRETS").as_deref(),
            raw("LINK_SECRET").as_deref(),
        )
        .map_err(ApiError::Misconfigured)
    }

    /// The bootstrap owner's bearer token, while the secret is set: once
    /// an owner key exists the operator removes it (README). A known
    /// placeholder (e.g. the example's: `checkout::secret::is_placeholder_secret`)
    /// counts as unset, so it never opens the API.
    pub fn admin_token(&self) -> Option<Secret> {
        self.secret("ADMIN_TOKEN")
            .ok()
            .filter(|t| !checkout::secret::is_placeholder_secret(t.expose()))
    }

    /// Console session and sign-in link lifetimes (`SESSION_IDLE_SECS`,
    /// default 12 h; `SESSION_MAX_SECS`, 7 days; `SIGNIN_LINK_SECS`, 15 min).
    pub fn session_policy(&self) -> ApiResult<SessionPolicy> {
        let d = SessionPolicy::default();
        Ok(SessionPolicy {
            idle_secs: self.num("SESSION_IDLE_SECS", d.idle_secs)?,
            max_secs: self.num("SESSION_MAX_SECS", d.max_secs)?,
            link_secs: self.num("SIGNIN_LINK_SECS", d.link_secs)?,
        })
    }

    /// Failed authentications allowed per client IP (`AUTH_FAIL_LIMIT`,
    /// default 20, per `AUTH_FAIL_WINDOW_SECS`, default 60).
    pub fn auth_limit(&self) -> ApiResult<AuthLimit> {
        let d = AuthLimit::default();
        let failures = self.num("AUTH_FAIL_LIMIT", u64::from(d.failures))?;
        Ok(AuthLimit {
            failures: u32::try_from(failures)
                .map_err(|_| ApiError::Misconfigured("AUTH_FAIL_LIMIT"))?,
            window_secs: self.num("AUTH_FAIL_WINDOW_SECS", d.window_secs)?,
        })
    }

    /// The Worker's public origin, without a trailing slash.
    pub fn public_base_url(&self) -> ApiResult<String> {
        Ok(self
            .var("PUBLIC_BASE_URL")?
            .trim_end_matches('/')
            .to_owned())
    }

    /// `NODIFY_URL` of API.md: `{PUBLIC_BASE_URL}/notify?_type=json[&encrypt=3DES]`.
    pub fn notify_url(&self, gateway: &envelope::Config) -> ApiResult<String> {
        let base = self.public_base_url()?;
        Ok(if gateway.encrypt {
            format!("{base}/notify?_type=json&encrypt=3DES")
        } else {
            format!("{base}/notify?_type=json")
        })
    }

    /// What `GET /v1/settings` shows of the configuration: the gateway's
    /// host and encryption, wallet sign-in, the webhook endpoint — each
    /// read as the routes that use it read it, never a secret's value.
    pub fn health(&self) -> (GatewayHealth, WalletSignIn, WebhookHealth) {
        let raw_encrypt = self.env.var("SOUSHOU_ENCRYPT").ok().map(|v| v.to_string());
        let gateway = GatewayHealth {
            host: self
                .opt_var("SOUSHOU_GATEWAY_URL")
                .and_then(|u| checkout::health::url_host(&u)),
            encryption: checkout::guard::encryption_setting(raw_encrypt.as_deref()),
            merchant_key_set: self.secret("SOUSHOU_MERCHANT_KEY").is_ok(),
        };
        let wallets = WalletSignIn {
            wechat: matches!(self.wechat_oauth(), Ok(Some(_))),
            alipay: matches!(self.alipay_oauth(), Ok(Some(_))),
        };
        let webhook = WebhookHealth {
            url: self
                .webhook_url()
                .ok()
                .and_then(|u| checkout::health::shown_url(&u)),
            signing: self.webhook_keys().is_ok(),
        };
        (gateway, wallets, webhook)
    }

    /// The merchant's display name shown on the page.
    pub fn merchant_name(&self) -> String {
        self.opt_var("MERCHANT_NAME")
            .unwrap_or_else(|| "Merchant".into())
    }

    /// `subAppid` for WeChat JSAPI: `WECHAT_SUB_APPID`, else `WECHAT_APPID`
    /// (the openids the Worker's sign-in obtains belong to that app).
    pub fn wechat_sub_appid(&self) -> Option<String> {
        self.opt_var("WECHAT_SUB_APPID")
            .or_else(|| self.opt_var("WECHAT_APPID"))
    }

    /// Whether `wallet`'s sign-in is configured (its app id is set), the
    /// switch of `checkout::oauth::accept_id`: from then on only the ids
    /// the Worker signed name that wallet's shoppers.
    pub fn signin_configured(&self, wallet: Wallet) -> bool {
        self.opt_var(match wallet {
            Wallet::Wechat => "WECHAT_APPID",
            Wallet::Alipay => "ALIPAY_APP_ID",
        })
        .is_some()
    }

    /// WeChat sign-in (`snsapi_base`), when `WECHAT_APPID` is set; its
    /// secret `WECHAT_APP_SECRET` is then required.
    pub fn wechat_oauth(&self) -> ApiResult<Option<WechatOauth>> {
        let Some(app_id) = self.opt_var("WECHAT_APPID") else {
            return Ok(None);
        };
        Ok(Some(WechatOauth {
            app_id,
            secret: self.secret("WECHAT_APP_SECRET")?,
            oauth_base: self
                .opt_var("WECHAT_OAUTH_BASE")
                .unwrap_or_else(|| "https://open.weixin.qq.com".into()),
            api_base: self
                .opt_var("WECHAT_API_BASE")
                .unwrap_or_else(|| "https://api.weixin.qq.com".into()),
        }))
    }

    /// Alipay sign-in (`auth_base`), when `ALIPAY_APP_ID` is set; the app's
    /// private key (secret) and Alipay's public key are then required.
    pub fn alipay_oauth(&self) -> ApiResult<Option<AlipayOauth>> {
        let Some(app_id) = self.opt_var("ALIPAY_APP_ID") else {
            return Ok(None);
        };
        Ok(Some(AlipayOauth {
            app_id,
            private_key: self.secret("ALIPAY_APP_PRIVATE_KEY")?,
            public_key: self.var("ALIPAY_PUBLIC_KEY")?,
            oauth_base: self
                .opt_var("ALIPAY_OAUTH_BASE")
                .unwrap_or_else(|| "https://openauth.alipay.com".into()),
            gateway_url: self
                .opt_var("ALIPAY_GATEWAY_URL")
                .unwrap_or_else(|| "https://openapi.alipay.com/gateway.do".into()),
        }))
    }

    /// Timeout of one gateway call, milliseconds.
    pub fn gateway_timeout_ms(&self) -> ApiResult<u64> {
        self.num("GATEWAY_TIMEOUT_MS", 10_000)
    }

    /// Accepted distance between a notification's sign timestamp and now, seconds.
    pub fn replay_window_secs(&self) -> ApiResult<u64> {
        self.num("NOTIFY_REPLAY_WINDOW_SECS", 900)
    }

    /// How long after a Beijing day ends the cron builds its statement
    /// (`STATEMENT_DELAY_SECS`, default 600: late notifications first).
    /// Signed: the tests set minus a day, so the current day is built.
    pub fn statement_delay_secs(&self) -> ApiResult<i64> {
        match self.opt_var("STATEMENT_DELAY_SECS") {
            None => Ok(600),
            Some(s) => s
                .trim()
                .parse()
                .map_err(|_| ApiError::Misconfigured("STATEMENT_DELAY_SECS")),
        }
    }

    /// How long an attempt stays pending before polling confirms it with `query`.
    pub fn reconcile_after_secs(&self) -> ApiResult<u64> {
        self.num("RECONCILE_AFTER_SECS", 30)
    }

    /// How many attempts one device may start on a link per window (`PAY_RATE_LIMIT`,
    /// default 10, per `PAY_RATE_WINDOW_SECS`, default 600).
    pub fn pay_rate_limit(&self) -> ApiResult<RateLimit> {
        let default = RateLimit::default();
        Ok(RateLimit {
            limit: self.num("PAY_RATE_LIMIT", default.limit)?,
            window_secs: self.num("PAY_RATE_WINDOW_SECS", default.window_secs)?,
        })
    }

    /// Minimum distance between two `query` calls for the same order.
    pub fn reconcile_min_interval_secs(&self) -> ApiResult<u64> {
        self.num("RECONCILE_MIN_INTERVAL_SECS", 10)
    }

    /// The reconciler's pacing, as `checkout::settle` takes it.
    pub fn reconcile_policy(&self) -> ApiResult<ReconcilePolicy> {
        Ok(ReconcilePolicy {
            after_secs: self.reconcile_after_secs()?,
            min_interval_secs: self.reconcile_min_interval_secs()?,
        })
    }

    /// How long after asking for a revocation the reconciler keeps querying
    /// the attempt (the gateway may apply it after answering, or not at all).
    pub fn recheck_window_secs(&self) -> ApiResult<u64> {
        self.num("RECHECK_WINDOW_SECS", 600)
    }

    /// How long an attempt the gateway has never heard of
    /// (`CHARGE_NONEXISTENT`) may stay pending before the reconciler marks
    /// it failed: the `pay` call that should have created it timed out or
    /// never arrived, and a gateway slower than this to register an order
    /// is not expected.
    pub fn unknown_attempt_fail_after_secs(&self) -> ApiResult<u64> {
        self.num("UNKNOWN_ATTEMPT_FAIL_AFTER_SECS", 600)
    }

    /// How long a refund left pending by a gateway fault waits before the
    /// cron asks `refundQuery` and resends it (so a retry never races the
    /// first call still in flight).
    pub fn refund_retry_after_secs(&self) -> ApiResult<u64> {
        self.num("REFUND_RETRY_AFTER_SECS", 60)
    }

    /// Timeout of the `preOrder` call: above the gateway's own 80 s wait for
    /// the shopper, so the gateway's answer, not our impatience, ends it.
    pub fn pos_gateway_timeout_ms(&self) -> ApiResult<u64> {
        self.num("POS_GATEWAY_TIMEOUT_MS", 90_000)
    }

    /// How a POS charge with an unknown outcome is polled before it is revoked.
    pub fn pos_policy(&self) -> ApiResult<PosPolicy> {
        let default = PosPolicy::default();
        Ok(PosPolicy {
            poll_interval_ms: self.num("POS_POLL_INTERVAL_MS", default.poll_interval_ms)?,
            poll_for_ms: self.num("POS_POLL_FOR_MS", default.poll_for_ms)?,
        })
    }

    /// The epay apps: `EPAY_PID` (var) and `EPAY_KEY` (secret), each
    /// comma-separated and paired by position (`checkout::epay::merchants`);
    /// `None` while `EPAY_PID` is unset: the interface is off.
    pub fn epay_merchants(&self) -> ApiResult<Option<Vec<checkout::epay::Merchant>>> {
        let key = self.env.secret("EPAY_KEY").ok().map(|v| v.to_string());
        checkout::epay::merchants(self.opt_var("EPAY_PID").as_deref(), key.as_deref())
            .map_err(|_| ApiError::Misconfigured("EPAY_KEY"))
    }

    /// The path the epay interface lives under, without slashes:
    /// `EPAY_PREFIX`, default `epay` (the app's API URL is
    /// `{PUBLIC_BASE_URL}/epay/`).
    pub fn epay_prefix(&self) -> String {
        self.opt_var("EPAY_PREFIX")
            .map(|p| p.trim_matches('/').to_owned())
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "epay".into())
    }

    /// Where webhooks go (`MERCHANT_WEBHOOK_URL`); events are stored and
    /// retried while it is unset, and delivered once it is set. Only
    /// `https:` (or `http:` to a loopback host, the local stacks' receiver:
    /// `checkout::guard::is_webhook_endpoint`); anything else is
    /// `MISCONFIGURED`, and events wait in the outbox.
    pub fn webhook_url(&self) -> ApiResult<String> {
        let url = self.var("MERCHANT_WEBHOOK_URL")?;
        if !checkout::guard::is_webhook_endpoint(&url) {
            return Err(ApiError::Misconfigured("MERCHANT_WEBHOOK_URL"));
        }
        Ok(url)
    }

    /// The webhook signing keys: `WEBHOOK_SECRETS` (comma-separated, all
    /// sign during a rotation) or else `WEBHOOK_SECRET`, each `whsec_…`.
    pub fn webhook_keys(&self) -> ApiResult<webhook::Keys> {
        let raw = |name| self.env.secret(name).ok().map(|v| v.to_string());
        webhook::Keys::from_config(
            raw("WEBHOOK_SECRETS").as_deref(),
            raw("WEBHOOK_SECRET").as_deref(),
        )
        .map_err(ApiError::Misconfigured)
    }

    /// How long the merchant has to answer one webhook delivery.
    pub fn webhook_timeout_ms(&self) -> ApiResult<u64> {
        self.num("WEBHOOK_TIMEOUT_MS", 10_000)
    }

    /// How far past its due time a pending webhook event must be before the
    /// cron hands it to the queue again (its enqueue was lost, or its
    /// consumer died).
    pub fn webhook_overdue_secs(&self) -> ApiResult<u64> {
        self.num("WEBHOOK_OVERDUE_SECS", 120)
    }

    /// The webhook retry schedule (`WEBHOOK_RETRY_BASE_SECS`, `_FACTOR`,
    /// `_CAP_SECS`, `WEBHOOK_MAX_ATTEMPTS`; defaults ≈ 3 days).
    pub fn webhook_retry_policy(&self) -> ApiResult<RetryPolicy> {
        let d = RetryPolicy::default();
        Ok(RetryPolicy {
            base_secs: self.num("WEBHOOK_RETRY_BASE_SECS", d.base_secs)?,
            factor: self.num("WEBHOOK_RETRY_FACTOR", d.factor)?,
            cap_secs: self.num("WEBHOOK_RETRY_CAP_SECS", d.cap_secs)?,
            max_attempts: self.num("WEBHOOK_MAX_ATTEMPTS", d.max_attempts)?,
        })
    }
}

/// WeChat web authorization settings.
pub struct WechatOauth {
    /// `WECHAT_APPID`: the official account the openids belong to.
    pub app_id: String,
    /// `WECHAT_APP_SECRET`.
    pub secret: Secret,
    /// `WECHAT_OAUTH_BASE`: where the authorize page is.
    pub oauth_base: String,
    /// `WECHAT_API_BASE`: where `sns/oauth2/access_token` is.
    pub api_base: String,
}

/// Alipay user authorization settings.
pub struct AlipayOauth {
    /// `ALIPAY_APP_ID`.
    pub app_id: String,
    /// `ALIPAY_APP_PRIVATE_KEY`: the app's RSA key, PKCS#8 (PEM or base64).
    pub private_key: Secret,
    /// `ALIPAY_PUBLIC_KEY`: Alipay's RSA public key (PEM or base64 SPKI).
    pub public_key: String,
    /// `ALIPAY_OAUTH_BASE`: where the authorize page is.
    pub oauth_base: String,
    /// `ALIPAY_GATEWAY_URL`: the OpenAPI gateway (`.../gateway.do`).
    pub gateway_url: String,
}
