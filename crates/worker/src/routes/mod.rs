//! HTTP ↔ flow: one module per surface, and the router table (here, the
//! only place that names them all). A route reads the request, calls a
//! flow (or reads the store for a plain view) and shapes the answer; it
//! never imports another route (`cargo xtask house` fails on that), so
//! what two routes share lives in a flow or in `platform`.
//!
//! | route | module |
//! |---|---|
//! | `GET /healthz` | [`healthz`] |
//! | `GET /c/{token}`, other GETs (static files) | [`page`] (after [`oauth::entry`]) |
//! | `GET /oauth/wechat`, `GET /oauth/alipay` | [`oauth`] |
//! | `GET /api/checkout/{token}`, `POST /api/pay`, `GET /api/orders/{code}`, `GET /c/{token}/qr.svg` | [`shopper`] |
//! | `POST /notify` | [`notify`] |
//! | `GET /v1/orders`, `GET /v1/links`, `GET /v1/refunds` | [`lists`] |
//! | `GET /v1/orders.csv` | [`exports`] |
//! | `GET /v1/statements`, `GET /v1/statements/{date}`, `GET /v1/statements/{date}.csv` | [`statements`] |
//! | `{EPAY_PREFIX}/submit.php`, `mapi.php`, `api.php`, `return` (own auth: epay `pid` + `sign` / `key`, public; no API key) | [`epay`] |
//! | `/v1/...` (a key, a console session or `ADMIN_TOKEN`; the permission of [`MERCHANT_ROUTES`]; `Idempotency-Key`) | [`merchant`], [`events`], [`staff`] |
//! | `GET /v1/settings` | [`settings`] |
//! | `GET /console/sign-in?t=…` (a sign-in link's landing) | [`staff`] |
//! | `GET /console`, `GET /console/…` (the merchant console's app; `/console/a/…` its hashed assets) | [`page`] |
//! | `GET /v1/events`, `GET /v1/events/{id}`, `POST /v1/events/{id}/redeliver`, `POST /v1/events/test`, `GET /v1/links/{id}/qr.svg` | [`events`] |
//! | cron trigger | [`cron`] |
//! | queue consumer (`WEBHOOKS`, `WEBHOOKS_DLQ`) | [`queue`] |

pub mod cron;
pub mod epay;
pub mod events;
pub mod exports;
pub mod healthz;
pub mod lists;
pub mod merchant;
pub mod notify;
pub mod oauth;
pub mod page;
pub mod queue;
pub mod settings;
pub mod shopper;
pub mod staff;
pub mod statements;

use checkout::access::{Actor, Permission, Role};
use checkout::oauth::Wallet;
use worker::{Context, Env, Method, Request, Response};

use crate::flows::{access, idempotency, webhook};
use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{client_ip, created, json, ok};
use crate::platform::log::{loggable_path, random_hex, RequestLog};
use crate::store::events::take_written;

/// One HTTP request: dispatched, its error mapped to the API's answer,
/// its log line written; events it committed go to the queue after it.
pub async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let request_id = req
        .headers()
        .get("cf-ray")
        .ok()
        .flatten()
        .unwrap_or_else(|| random_hex(8));
    let method = req.method();
    let path = req.path();
    let log = RequestLog::new(request_id, "http", method.as_ref(), &loggable_path(&path));
    let cx = Cx::new(env, log);
    let result = route(&cx, req, &ctx, &method, &path).await;
    let status = match &result {
        Ok(resp) => resp.status_code(),
        Err(e) => e.status(),
    };
    access::finish_audit(&cx, status).await;
    // Events this request committed go to the queue after the answer.
    if take_written() {
        ctx.wait_until(webhook::flush(cx.settings.clone()));
    }
    let (mut resp, code) = match result {
        Ok(resp) => (resp, None),
        Err(e) => (error_response(&cx, &e)?, Some(e.code().as_str())),
    };
    // Asset responses may carry immutable headers; the id is best effort there.
    let _ = resp.headers_mut().set("X-Request-Id", cx.log.request_id());
    cx.log.finish(resp.status_code(), code);
    Ok(resp)
}

/// The API's answer for an error, its reason in the log line.
fn error_response(cx: &Cx, e: &ApiError) -> worker::Result<Response> {
    let (status, code) = (e.status(), e.code().as_str());
    match e {
        ApiError::NotifyRejected { reason, .. } => cx.log.set("reason", reason.as_str()),
        ApiError::Storage(detail) | ApiError::Internal(detail) => {
            cx.log.set("reason", detail.as_str())
        }
        ApiError::Gateway(inner) => cx.log.set("reason", inner.to_string()),
        _ => {}
    }
    let resp = json(status, &e.body()).or_else(|_| Response::error(code, status))?;
    if let ApiError::RateLimited { retry_after } | ApiError::AuthRateLimited { retry_after } = e {
        resp.headers()
            .set("Retry-After", &retry_after.to_string())?;
    }
    Ok(resp)
}

/// Dispatches one request.
async fn route(
    cx: &Cx,
    req: Request,
    ctx: &Context,
    method: &Method,
    path: &str,
) -> ApiResult<Response> {
    // The epay interface: under a configurable prefix, own authentication.
    if let Some(endpoint) = checkout::epay::endpoint(&cx.settings.epay_prefix(), path) {
        if matches!(method, Method::Get | Method::Post) {
            return epay::handle(cx, req, method, endpoint).await;
        }
    }
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::Get, ["healthz"]) => healthz::handle(),
        (Method::Get, ["c", token]) => match oauth::entry(cx, &req, token).await? {
            Some(to_wallet) => Ok(to_wallet),
            None => page::page(cx, &req, token).await,
        },
        (Method::Get, ["c", token, "qr.svg"]) => shopper::link_qr(cx, token).await,
        (Method::Get, ["oauth", "wechat"]) => oauth::callback(cx, &req, Wallet::Wechat).await,
        (Method::Get, ["oauth", "alipay"]) => oauth::callback(cx, &req, Wallet::Alipay).await,
        (Method::Get, ["api", "checkout", token]) => ok(shopper::checkout_view(cx, token).await),
        (Method::Post, ["api", "pay"]) => shopper::pay(cx, req).await,
        (Method::Get, ["api", "orders", code]) => ok(shopper::order_view(cx, code, &req).await),
        (Method::Post, ["notify"]) => notify::handle(cx, req, ctx).await,
        (_, ["v1", rest @ ..]) => merchant(cx, req, method, path, rest).await,
        (Method::Get, ["console", "sign-in"]) => staff::land(cx, &req).await,
        (Method::Get | Method::Head, ["console", "a", ..]) => {
            page::static_file(&cx.settings, req).await
        }
        (Method::Get | Method::Head, ["console", ..]) => page::console(cx, &req).await,
        (Method::Get | Method::Head, _) if segments.first().is_none_or(|s| *s != "api") => {
            page::static_file(&cx.settings, req).await
        }
        _ => Err(ApiError::NotFound("route")),
    }
}

/// One merchant route of the table: its method, its path under `/v1`
/// (a segment in quotes is literal, a bare one names a path parameter)
/// and the permission it needs (`checkout::access`; `None` is refused to
/// every role, and the table's test fails on it).
#[derive(Debug)]
pub struct MerchantRoute {
    /// The HTTP method.
    pub method: Method,
    /// The path's segments after `/v1`, as written in the table.
    pub segments: &'static [&'static str],
    /// What the caller's role must hold.
    pub permission: Option<Permission>,
}

impl MerchantRoute {
    /// Whether `method` and the path's segments after `/v1` are this route.
    fn matches(&self, method: &Method, rest: &[&str]) -> bool {
        self.method == *method
            && self.segments.len() == rest.len()
            && self.segments.iter().zip(rest).all(|(pattern, given)| {
                pattern
                    .strip_prefix('"')
                    .and_then(|p| p.strip_suffix('"'))
                    .is_none_or(|literal| literal == *given)
            })
    }

    /// The audit entry's `action`, e.g. `POST /v1/orders/{code}/refunds`.
    pub fn action(&self) -> String {
        let path: Vec<String> = self
            .segments
            .iter()
            .map(
                |s| match s.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                    Some(literal) => literal.to_owned(),
                    None => format!("{{{s}}}"),
                },
            )
            .collect();
        format!("{} /v1/{}", self.method.as_ref(), path.join("/"))
    }

    /// The audit entry's `object`: the path's parameters (a charge code, a
    /// key id), if any.
    fn object(&self, rest: &[&str]) -> Option<String> {
        let params: Vec<&str> = (self.segments.iter().zip(rest))
            .filter(|(pattern, _)| !pattern.starts_with('"'))
            .map(|(_, given)| *given)
            .collect();
        (!params.is_empty()).then(|| params.join("/"))
    }
}

const READ: Option<Permission> = Some(Permission::Read);
const CHARGE: Option<Permission> = Some(Permission::Charge);
const REFUND: Option<Permission> = Some(Permission::Refund);
const EVENTS: Option<Permission> = Some(Permission::Events);
const STATEMENTS: Option<Permission> = Some(Permission::Statements);
const STAFF: Option<Permission> = Some(Permission::Staff);

/// The merchant routes' table, written once: each row is `METHOD [path
/// segments] => PERMISSION, handler;` and becomes both an entry of
/// [`MERCHANT_ROUTES`] (what the permission check and the audit entry
/// read, and what the host test walks) and an arm of the dispatch `match`.
macro_rules! merchant_routes {
    (($cx:ident, $req:ident, $claim:ident); $($method:ident [$($seg:tt),*] => $permission:expr, $handler:expr;)*) => {
        /// Every merchant route (`/v1/...`) and the permission it needs.
        pub const MERCHANT_ROUTES: &[MerchantRoute] = &[
            $(MerchantRoute {
                method: Method::$method,
                segments: &[$(stringify!($seg)),*],
                permission: $permission,
            },)*
        ];

        /// Dispatches `/v1/...` after authentication and the permission check;
        /// `claim`: the request's `Idempotency-Key`, held (the ids a POS
        /// charge or refund derive from it).
        async fn merchant_route(
            $cx: &Cx,
            $req: Request,
            method: &Method,
            rest: &[&str],
            $claim: Option<&idempotency::Claim>,
        ) -> ApiResult<Response> {
            match (method, rest) {
                $((Method::$method, [$($seg),*]) => $handler,)*
                _ => Err(ApiError::NotFound("route")),
            }
        }
    };
}

merchant_routes! { (cx, req, claim);
    Post ["links"] => CHARGE, ok(merchant::create_link(cx, req).await);
    Post ["links", id, "deactivate"] => CHARGE, ok(merchant::deactivate_link(cx, id).await);
    Get ["orders"] => READ, ok(lists::orders(cx, &req).await);
    Get ["orders.csv"] => STATEMENTS, exports::orders_csv(cx, &req).await;
    Get ["links"] => READ, ok(lists::links(cx, &req).await);
    Get ["refunds"] => READ, ok(lists::refunds(cx, &req).await);
    Get ["statements"] => STATEMENTS, ok(statements::list(cx, &req).await);
    Get ["statements", date] => STATEMENTS, statements::get(cx, &req, date).await;
    Get ["orders", code] => READ, ok(merchant::get_order(cx, code, &req).await);
    Post ["orders", code, "refunds"] => REFUND, ok(merchant::refund(cx, code, req, claim).await);
    Get ["orders", code, "refunds"] => READ, ok(merchant::refunds(cx, code).await);
    Post ["orders", code, "cancel"] => REFUND, ok(merchant::cancel(cx, code, req).await);
    Post ["pos", "charges"] => CHARGE, ok(merchant::pos_charge(cx, req, claim).await);
    Post ["qr-orders"] => CHARGE, ok(merchant::qr_order(cx, req).await);
    Get ["events"] => READ, ok(events::list(cx, &req).await);
    Get ["events", id] => READ, ok(events::get(cx, id).await);
    Post ["events", id, "redeliver"] => EVENTS, ok(events::redeliver(cx, id).await);
    Post ["events", "test"] => EVENTS, created(events::send_test(cx).await);
    Get ["links", id, "qr.svg"] => READ, events::link_qr(cx, id).await;
    Post ["keys"] => STAFF, created(staff::create_key(cx, req).await);
    Get ["keys"] => STAFF, ok(staff::list_keys(cx).await);
    Delete ["keys", id] => STAFF, ok(staff::revoke_key(cx, id).await);
    Post ["keys", id, "roll"] => STAFF, created(staff::roll_key(cx, id, req).await);
    Post ["sign-in-links"] => STAFF, created(staff::create_signin_link(cx, req).await);
    // Signing in with a key: any role (a session has the key's role).
    Post ["sessions"] => READ, staff::sign_in_with_key(cx).await;
    // Who am I (the console's role), and signing out of one's own session.
    Get ["session"] => READ, ok(staff::who_am_i(cx));
    Delete ["session"] => READ, staff::sign_out(cx).await;
    Get ["sessions"] => STAFF, ok(staff::list_sessions(cx).await);
    Delete ["sessions", id] => STAFF, ok(staff::revoke_session(cx, id).await);
    Get ["audit"] => STAFF, ok(staff::audit(cx, &req).await);
    Get ["settings"] => READ, ok(settings::get(cx).await);
}

/// A merchant request (`/v1/...`): the caller (401/429), the route (404),
/// its permission (403 `FORBIDDEN`), a console session's origin (403
/// `CROSS_SITE`), then `Idempotency-Key` and the handler. A mutating
/// request's audit entry is opened as soon as the caller is known (or
/// refused), so denied ones are recorded too.
async fn merchant(
    cx: &Cx,
    req: Request,
    method: &Method,
    path: &str,
    rest: &[&str],
) -> ApiResult<Response> {
    let ip = client_ip(&req);
    let entry = MERCHANT_ROUTES.iter().find(|r| r.matches(method, rest));
    let mutating = !matches!(method, Method::Get | Method::Head | Method::Options);
    // What the credential check costs, on the log line (`cargo xtask bench`).
    let tally = cx.log.d1_tally();
    let before = tally.calls();
    let authenticated = access::authenticate(cx, &req, &ip).await;
    cx.log.set("auth_d1", tally.calls() - before);
    let audit = |actor: Actor| {
        if mutating {
            let action =
                entry.map_or_else(|| format!("{} {path}", method.as_ref()), |e| e.action());
            let object = entry.and_then(|e| e.object(rest));
            access::open_audit(cx, actor, &ip, action, object);
        }
    };
    let caller = match authenticated {
        Ok(caller) => caller,
        Err(e) => {
            // A shut-out IP is not recorded per request (it would write
            // at the attacker's rate); each counted failure before was.
            if matches!(e, ApiError::Unauthorized(_)) {
                audit(Actor::anonymous());
            }
            return Err(e);
        }
    };
    audit(caller.actor.clone());
    let entry = entry.ok_or(ApiError::NotFound("route"))?;
    let role = caller.actor.role.unwrap_or(Role::Viewer);
    checkout::access::check(role, entry.permission)?;
    if caller.session && mutating {
        let origin = req.headers().get("Origin").ok().flatten();
        if !checkout::access::same_origin(origin.as_deref(), &cx.settings.public_base_url()?) {
            return Err(checkout::Error::CrossSite.into());
        }
    }
    let _ = cx.caller.set(caller);
    let claim = match idempotency::begin(cx, &req, method, path).await? {
        idempotency::Begin::Untracked => None,
        idempotency::Begin::Replay(resp) => return Ok(resp),
        idempotency::Begin::Claimed(claim) => Some(claim),
    };
    let result = merchant_route(cx, req, method, rest, claim.as_ref()).await;
    match claim {
        Some(claim) => claim.finish(cx, result).await,
        None => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every merchant route names the permission it needs; the failure
    /// names the routes that do not.
    #[test]
    fn every_merchant_route_names_its_permission() {
        let missing: Vec<String> = MERCHANT_ROUTES
            .iter()
            .filter(|r| r.permission.is_none())
            .map(MerchantRoute::action)
            .collect();
        assert!(
            missing.is_empty(),
            "merchant routes without a permission in routes/mod.rs's table: {missing:?}"
        );
    }

    #[test]
    fn no_route_is_written_twice() {
        let mut seen = std::collections::HashSet::new();
        for r in MERCHANT_ROUTES {
            assert!(seen.insert(r.action()), "{} twice", r.action());
        }
    }

    #[test]
    fn the_staff_routes_are_the_owners_and_the_table_reads_as_api_md() {
        let permission_of = |action: &str| {
            MERCHANT_ROUTES
                .iter()
                .find(|r| r.action() == action)
                .and_then(|r| r.permission)
        };
        for action in [
            "POST /v1/keys",
            "GET /v1/keys",
            "DELETE /v1/keys/{id}",
            "POST /v1/keys/{id}/roll",
            "POST /v1/sign-in-links",
            "GET /v1/sessions",
            "DELETE /v1/sessions/{id}",
            "GET /v1/audit",
        ] {
            assert_eq!(permission_of(action), Some(Permission::Staff), "{action}");
        }
        assert_eq!(
            permission_of("POST /v1/orders/{code}/refunds"),
            Some(Permission::Refund)
        );
        assert_eq!(permission_of("POST /v1/links"), Some(Permission::Charge));
    }

    #[test]
    fn routes_match_their_literals_and_take_any_parameter() {
        let refund = MERCHANT_ROUTES
            .iter()
            .find(|r| r.action() == "POST /v1/orders/{code}/refunds")
            .expect("the refund route");
        assert!(refund.matches(&Method::Post, &["orders", "C1", "refunds"]));
        assert!(!refund.matches(&Method::Get, &["orders", "C1", "refunds"]));
        assert!(!refund.matches(&Method::Post, &["orders", "C1", "cancel"]));
        assert!(!refund.matches(&Method::Post, &["orders", "C1"]));
        assert_eq!(
            refund.object(&["orders", "C1", "refunds"]),
            Some("C1".into())
        );
        let found: Vec<String> = MERCHANT_ROUTES
            .iter()
            .filter(|r| r.matches(&Method::Get, &["orders", "C1"]))
            .map(MerchantRoute::action)
            .collect();
        assert_eq!(found, ["GET /v1/orders/{code}"]);
    }
}
