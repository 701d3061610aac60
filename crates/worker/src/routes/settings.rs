//! `GET /v1/settings` (permission `READ`: every role's console shows its
//! Settings screen): the Worker's read-only health — which gateway (its
//! host), encryption, wallet sign-in, the webhook endpoint, the cron's
//! last run, the migrations applied, the version. Never a secret
//! (`checkout::health`).

use checkout::health::SettingsView;

use crate::platform::context::Cx;
use crate::platform::error::ApiResult;
use crate::store::health;

/// `GET /v1/settings`.
pub async fn get(cx: &Cx) -> ApiResult<SettingsView> {
    let db = cx.db()?;
    let (gateway, wallet_sign_in, webhook) = cx.settings.health();
    Ok(SettingsView {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        merchant_name: cx.settings.merchant_name(),
        public_base_url: cx
            .settings
            .public_base_url()
            .ok()
            .and_then(|u| checkout::health::shown_url(&u)),
        gateway,
        wallet_sign_in,
        webhook,
        cron: health::cron(db).await?,
        migrations: health::migrations(db).await,
    })
}
