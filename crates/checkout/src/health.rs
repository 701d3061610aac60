//! The Worker's health as the merchant console's Settings screen shows it
//! (`GET /v1/settings`): what is configured and what last ran, read-only,
//! never a secret — a URL is shown without its user, password, query or
//! fragment (where a secret token would hide), the gateway by its host.

use serde::Serialize;

/// `GET /v1/settings` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SettingsView {
    /// The Worker's version (its crate version).
    pub version: String,
    /// The merchant's name as the checkout page shows it.
    pub merchant_name: String,
    /// `PUBLIC_BASE_URL`, shown as [`shown_url`] (`null` when unset).
    pub public_base_url: Option<String>,
    /// The gateway.
    pub gateway: GatewayHealth,
    /// Wallet sign-in (the openid a JSAPI payment needs).
    pub wallet_sign_in: WalletSignIn,
    /// The merchant's webhook endpoint.
    pub webhook: WebhookHealth,
    /// The cron's last run.
    pub cron: CronHealth,
    /// D1 migrations.
    pub migrations: MigrationsHealth,
}

/// Which gateway, and how the Worker talks to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GatewayHealth {
    /// The host (and port) of `SOUSHOU_GATEWAY_URL`; `null` when unset or
    /// not a URL.
    pub host: Option<String>,
    /// Whether messages are 3DES-encrypted (`SOUSHOU_ENCRYPT`); `null`
    /// when the setting is not one the Worker accepts.
    pub encryption: Option<bool>,
    /// Whether the merchant key is set (its value never leaves the Worker).
    pub merchant_key_set: bool,
}

/// Which wallets' sign-in is configured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WalletSignIn {
    /// `WECHAT_APPID` (with its secret).
    pub wechat: bool,
    /// `ALIPAY_APP_ID` (with its keys).
    pub alipay: bool,
}

/// The webhook endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookHealth {
    /// `MERCHANT_WEBHOOK_URL` as [`shown_url`]; `null` when unset or
    /// refused (events then wait in the outbox).
    pub url: Option<String>,
    /// Whether events are signed (`WEBHOOK_SECRET(S)` set).
    pub signing: bool,
}

/// The cron's last run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct CronHealth {
    /// When it finished, unix seconds; `null` before the first run.
    pub last_run_at: Option<u64>,
    /// Whether every part of it succeeded.
    pub ok: Option<bool>,
}

/// The D1 migrations applied (wrangler's `d1_migrations`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MigrationsHealth {
    /// How many; `null` when the table cannot be read (migrations applied
    /// by other means).
    pub applied: Option<u64>,
    /// The latest one's file name.
    pub latest: Option<String>,
}

/// The parts of an `http(s)` URL: scheme, authority without any user
/// information, path; `None` for anything else.
fn parts(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, rest) = url.trim().split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    (!host.is_empty()).then_some((scheme, host, path))
}

/// The host (and port) of an `http(s)` URL, without user information.
pub fn url_host(url: &str) -> Option<String> {
    parts(url).map(|(_, host, _)| host.to_owned())
}

/// An `http(s)` URL as it may be shown: without user information, query
/// or fragment.
pub fn shown_url(url: &str) -> Option<String> {
    parts(url).map(|(scheme, host, path)| format!("{scheme}://{host}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_secrets() {
        for (url, host, shown) in [
            (
                "https://gw.example.com/api/",
                Some("gw.example.com"),
                Some("https://gw.example.com/api/"),
            ),
            (
                "http://127.0.0.1:9100",
                Some("127.0.0.1:9100"),
                Some("http://127.0.0.1:9100"),
            ),
            (
                "https://user:pass@hooks.example.com/in?token=s3cret#x",
                Some("hooks.example.com"),
                Some("https://hooks.example.com/in"),
            ),
            (
                "https://hooks.example.com?key=s3cret",
                Some("hooks.example.com"),
                Some("https://hooks.example.com"),
            ),
            ("ftp://x.example.com/", None, None),
            ("not a url", None, None),
            ("https://", None, None),
            ("https://@/x", None, None),
        ] {
            assert_eq!(url_host(url).as_deref(), host, "{url}");
            assert_eq!(shown_url(url).as_deref(), shown, "{url}");
        }
    }

    #[test]
    fn the_view_is_plain_json() {
        let v = SettingsView {
            version: "0.1.0".into(),
            merchant_name: "Tea".into(),
            public_base_url: Some("https://pay.example.com".into()),
            gateway: GatewayHealth {
                host: Some("gw".into()),
                encryption: Some(true),
                merchant_key_set: true,
            },
            wallet_sign_in: WalletSignIn {
                wechat: false,
                alipay: true,
            },
            webhook: WebhookHealth {
                url: None,
                signing: false,
            },
            cron: CronHealth {
                last_run_at: Some(5),
                ok: Some(true),
            },
            migrations: MigrationsHealth {
                applied: Some(14),
                latest: Some("0014_console.sql".into()),
            },
        };
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["gateway"]["host"], "gw");
        assert_eq!(j["wallet_sign_in"]["alipay"], true);
        assert_eq!(j["webhook"]["url"], serde_json::Value::Null);
        assert_eq!(j["cron"]["last_run_at"], 5);
        assert_eq!(j["migrations"]["latest"], "0014_console.sql");
    }
}
