//! Settings: the Worker's read-only health (`GET /v1/settings`): which
//! gateway, encryption, wallet sign-in, the webhook endpoint, the cron's
//! last run, the migrations applied, the version. Nothing here is a
//! secret, and nothing here changes anything.

use leptos::prelude::*;

use super::{fetch, show, Heading};
use crate::ctx::Ctx;
use crate::model::Health;
use crate::screen_text::{text, Text};

/// The settings screen.
#[component]
pub fn Settings() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let health = fetch::<Health>(|| "/v1/settings".to_owned());
    view! {
        <Heading text=Signal::derive(move || ctx.t().settings.to_owned())/>
        {show(health, move |h| view! { <Table h/> })}
    }
}

#[component]
fn Table(h: Health) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let lang = move || ctx.lang.get();
    let t = move || text(lang());
    let yes_no = move |b: bool| if b { t().yes } else { t().no };
    let maybe = move |b: Option<bool>| b.map_or(t().unknown, yes_no);
    let wallets = {
        let w = h.wallet_sign_in.clone();
        move || {
            let mut on = Vec::new();
            if w.wechat {
                on.push("WeChat");
            }
            if w.alipay {
                on.push("Alipay");
            }
            if on.is_empty() {
                t().no.to_owned()
            } else {
                on.join(" · ")
            }
        }
    };
    let cron = {
        let c = h.cron.clone();
        move || match c.last_run_at {
            None => t().cron_never.to_owned(),
            Some(at) => {
                let when = checkout_page::js::local_datetime(at, lang());
                match c.ok {
                    Some(false) => format!("{when} {}", t().cron_failed),
                    _ => when,
                }
            }
        }
    };
    let migrations = match (h.migrations.applied, h.migrations.latest.clone()) {
        (Some(n), Some(latest)) => format!("{n} · {latest}"),
        (Some(n), None) => n.to_string(),
        _ => String::new(),
    };
    let row = |id: &'static str,
               label: fn(&Text) -> &'static str,
               value: Box<dyn Fn() -> String + Send + Sync>| {
        view! {
            <div class="kv" id=id>
                <dt>{move || label(t())}</dt>
                <dd>{move || value()}</dd>
            </div>
        }
    };
    let (gateway, encryption, key_set) = (
        h.gateway.host.clone().unwrap_or_default(),
        h.gateway.encryption,
        h.gateway.merchant_key_set,
    );
    let hook = h.webhook.url.clone();
    let public = h.public_base_url.clone().unwrap_or_default();
    view! {
        <dl class="card settings">
            {row("set-version", |t| t.version, Box::new(move || h.version.clone()))}
            {row("set-merchant", |t| t.merchant, Box::new(move || h.merchant_name.clone()))}
            {row("set-public-url", |t| t.public_url, Box::new(move || public.clone()))}
            {row("set-gateway", |t| t.gateway, Box::new(move || gateway.clone()))}
            {row("set-encryption", |t| t.encryption, Box::new(move || maybe(encryption).to_owned()))}
            {row("set-merchant-key", |t| t.merchant_key, Box::new(move || yes_no(key_set).to_owned()))}
            {row("set-wallets", |t| t.wallet_sign_in, Box::new(wallets))}
            {row("set-webhook", |t| t.webhook_url, Box::new(move || hook.clone().unwrap_or_else(|| t().not_configured.to_owned())))}
            {row("set-cron", |t| t.cron, Box::new(cron))}
            {row("set-migrations", |t| t.migrations, Box::new(move || migrations.clone()))}
        </dl>
    }
}
