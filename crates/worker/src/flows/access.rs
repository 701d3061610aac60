//! Who is calling the merchant API, and the audit entry of what they do
//! (API.md v1.1, *Credentials and roles*; decisions in `checkout::access`).
//!
//! **The credential check costs one D1 round trip** and no cache: the
//! key's (or session's) row, its `last_used_at` stamp (a conditional
//! UPDATE that writes at most once a minute per key) and the client IP's
//! failures in the current window are one batch. Why no per-isolate cache:
//! revocation must hold on the next request in *every* isolate, and an
//! isolate cannot hear of a revocation made in another without asking D1;
//! a cache would turn "revoked" into "revoked within the cache's life".
//! The bootstrap `ADMIN_TOKEN` is compared in constant time before the
//! same read of the IP's failures (an IP shut out is refused whatever it
//! presents, so a right guess after the limit is refused too).
//!
//! **The audit entry** of a mutating request is the D1 handle's rider
//! (`platform::db`): the request's first change (a plan's batch, a key's
//! insert) commits it in the same transaction, written `ok`; a request
//! that changed nothing (denied, refused input) writes it alone when it
//! ends, with its outcome; one whose change committed but which then
//! failed (a refund the gateway refused) has its outcome corrected then.

use checkout::access::{
    self, Actor, ActorKind, AuditEntry, AuthLimit, Outcome, Presented, Refusal, SessionPolicy,
    MERCHANT_ID,
};
use worker::Request;

use crate::platform::context::{Caller, Cx};
use crate::platform::db::Rider;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::{now_secs, Level};
use crate::store::staff::{self, SessionRow};

/// The caller of a merchant request, checked against D1 (module doc);
/// 401 `UNAUTHORIZED` (with `error.reason`) or 429 `RATE_LIMITED`.
pub async fn authenticate(cx: &Cx, req: &Request, ip: &str) -> ApiResult<Caller> {
    let limit = cx.settings.auth_limit()?;
    let now = now_secs();
    let at = Attempt {
        ip,
        window: limit.window(now),
        now,
        limit,
    };
    let authorization = req.headers().get("Authorization").ok().flatten();
    let caller = if let Some(header) = authorization {
        bearer(cx, &header, &at).await?
    } else if let Some(value) = session_cookie(cx, req)? {
        let secret = match access::cookie_secret(&value, &deployment_tag(cx)?) {
            Ok(s) => s.to_owned(),
            Err(refusal) => return Err(at.failed(cx, refusal).await),
        };
        let row = check_session(cx, &secret, &at).await?;
        Caller {
            actor: Actor {
                kind: ActorKind::Session,
                id: row.id,
                name: row.name,
                role: Some(row.role),
            },
            session: true,
        }
    } else {
        return Err(ApiError::Unauthorized(Refusal::Missing));
    };
    cx.log.set("actor", caller.actor.id.as_str());
    cx.log.set("auth", caller.actor.kind.as_str());
    Ok(caller)
}

/// One credential check: the client's IP, the failure window, the clock.
struct Attempt<'a> {
    ip: &'a str,
    window: u64,
    now: u64,
    limit: AuthLimit,
}

impl Attempt<'_> {
    /// 429 while the IP's `failures` in the window are at the limit.
    fn shut_out(&self, failures: u32) -> ApiResult<()> {
        match self.limit.blocked(failures, self.now) {
            Some(retry_after) => Err(ApiError::AuthRateLimited { retry_after }),
            None => Ok(()),
        }
    }

    /// Counts a failed authentication of the IP; the 401 to answer.
    async fn failed(&self, cx: &Cx, refusal: Refusal) -> ApiError {
        let counted = async { staff::count_failure(cx.db()?, self.ip, self.window).await };
        if let Err(e) = counted.await {
            return e;
        }
        cx.log.set("auth_refused", refusal.as_str());
        ApiError::Unauthorized(refusal)
    }
}

/// The caller of an `Authorization: Bearer` header: an API key, or the
/// bootstrap token while it is set.
async fn bearer(cx: &Cx, header: &str, at: &Attempt<'_>) -> ApiResult<Caller> {
    let db = cx.db()?;
    let key = match access::presented(header) {
        Ok(Presented::Key(key)) => key,
        Ok(Presented::Token(_)) => {
            // Constant time (`checkout::merchant::bearer_matches`).
            let matches = cx
                .settings
                .admin_token()
                .is_some_and(|t| checkout::merchant::bearer_matches(Some(header), t.expose()));
            if !matches {
                return Err(at.failed(cx, Refusal::Unknown).await);
            }
            at.shut_out(staff::failures(db, at.ip, at.window).await?)?;
            return Ok(Caller {
                actor: Actor::admin_token(),
                session: false,
            });
        }
        Err(refusal) => return Err(at.failed(cx, refusal).await),
    };
    let touch = SessionPolicy::default().touch_interval();
    let hash = access::secret_hash(key);
    let checked = staff::check_key(db, &hash, at.ip, at.window, at.now, touch).await?;
    at.shut_out(checked.failures)?;
    let Some(row) = checked.row else {
        return Err(at.failed(cx, Refusal::Unknown).await);
    };
    let times = access::KeyTimes {
        expires_at: row.expires_at,
        revoked_at: row.revoked_at,
    };
    if let Err(refusal) = access::key_valid(times, at.now) {
        return Err(at.failed(cx, refusal).await);
    }
    cx.log.set("key", row.prefix.as_str());
    Ok(Caller {
        actor: Actor {
            kind: ActorKind::Key,
            id: row.id,
            name: row.name,
            role: Some(row.role),
        },
        session: false,
    })
}

/// The session of a cookie's secret, if it still works.
async fn check_session(cx: &Cx, secret: &str, at: &Attempt<'_>) -> ApiResult<SessionRow> {
    let policy = cx.settings.session_policy()?;
    let checked = staff::check_session(
        cx.db()?,
        &access::secret_hash(secret),
        staff::SessionCheck {
            ip: at.ip,
            window: at.window,
            now: at.now,
            touch: policy.touch_interval(),
            idle: policy.idle_secs,
            max: policy.max_secs,
        },
    )
    .await?;
    at.shut_out(checked.failures)?;
    let Some(row) = checked.row else {
        return Err(at.failed(cx, Refusal::Unknown).await);
    };
    let times = access::SessionTimes {
        created_at: row.created_at,
        last_seen_at: row.last_seen_at,
        revoked_at: row.revoked_at,
    };
    match access::session_valid(times, &policy, at.now) {
        Ok(()) => Ok(row),
        Err(refusal) => Err(at.failed(cx, refusal).await),
    }
}

/// The session cookie's value, if the request carries one.
fn session_cookie(cx: &Cx, req: &Request) -> ApiResult<Option<String>> {
    let Some(header) = req.headers().get("Cookie").ok().flatten() else {
        return Ok(None);
    };
    let name = access::cookie_name(&cx.settings.public_base_url()?);
    Ok(access::find_cookie(&header, name).map(str::to_owned))
}

/// This deployment's cookie tag (`checkout::access::deployment_tag`).
pub fn deployment_tag(cx: &Cx) -> ApiResult<String> {
    Ok(access::deployment_tag(&cx.settings.public_base_url()?))
}

/// Starts the audit entry of a mutating request: the rider of its first
/// change, or written when it ends ([`finish_audit`]).
pub fn open_audit(cx: &Cx, actor: Actor, ip: &str, action: String, object: Option<String>) {
    let entry = AuditEntry {
        at: now_secs(),
        actor,
        ip: ip.to_owned(),
        action,
        object,
        request_id: cx.log.request_id().to_owned(),
    };
    if let Ok(db) = cx.db() {
        let (sql, params) = staff::audit_insert(&entry, Outcome::Ok);
        db.set_rider(sql, params);
    }
    *cx.audit.borrow_mut() = Some(entry);
}

/// Ends the request's audit entry with the answer's `status` (module doc).
/// A failure here is logged, not answered: the request's own answer
/// stands (its change, if any, carried the entry already).
pub async fn finish_audit(cx: &Cx, status: u16) {
    let Some(entry) = cx.audit.borrow_mut().take() else {
        return;
    };
    let outcome = Outcome::of_status(status);
    let written = async {
        let db = cx.db()?;
        match db.rider() {
            Rider::Carried if outcome == Outcome::Ok => Ok(()),
            Rider::Carried => staff::set_audit_outcome(db, &entry.request_id, outcome).await,
            Rider::Pending(..) | Rider::None => staff::write_audit(db, &entry, outcome).await,
        }
    };
    if let Err(e) = written.await {
        cx.log.event(
            Level::Error,
            "audit_write_failed",
            serde_json::json!({"action": entry.action, "reason": e.to_string(), "merchant_id": MERCHANT_ID}),
        );
    }
}

/// Audit entries are kept this long (400 days), then purged by the cron.
pub const AUDIT_KEEP_SECS: u64 = 400 * 86_400;
/// Entries one cron run deletes at most: bounded, so a run never holds D1
/// long; a backlog goes on next minute.
const PURGE_BATCH: u64 = 500;

/// The cron's purge: audit entries older than [`AUDIT_KEEP_SECS`] (at most
/// [`PURGE_BATCH`]), failure counts of past windows, sign-in links a day
/// past their expiry. Returns the audit entries deleted.
pub async fn purge(cx: &Cx) -> ApiResult<usize> {
    let now = now_secs();
    staff::purge(
        cx.db()?,
        now.saturating_sub(AUDIT_KEEP_SECS),
        PURGE_BATCH,
        now.saturating_sub(86_400),
    )
    .await
}
