//! The staff routes (API.md v1.1, *Credentials and roles*): API keys,
//! sign-in links, console sessions, the audit log; and the sign-in link's
//! landing (`GET /console/sign-in?t=…`), which opens a session in the
//! cookie and sends the browser to `/console`. Decisions in
//! `checkout::access`, SQL in `store::staff`, the caller and the audit
//! entry in `flows::access`.

use checkout::access::{
    self, Actor, ActorKind, AuditRecord, CreateCredential, KeyView, NewKey, Page, RollRequest,
    SessionView, SignInLink, KEY_BYTES, SECRET_BYTES,
};
use worker::{Request, Response};

use crate::flows::access::{deployment_tag, open_audit};
use crate::platform::context::{Caller, Cx};
use crate::platform::crypto::random_bytes;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::http::{client_ip, json, read_json};
use crate::platform::log::{now_secs, random_hex};
use crate::store::staff::{self, KeyRow, NewKeyRow, NewSession, NewSigninLink};

/// Where the sign-in link lands.
pub const SIGN_IN_PATH: &str = "/console/sign-in";

fn caller(cx: &Cx) -> ApiResult<&Caller> {
    cx.caller
        .get()
        .ok_or_else(|| ApiError::Internal("a staff route without a caller".into()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new key: random, its hash and prefix.
fn mint_key() -> (String, String, String) {
    let key = access::key_from_random(&random_bytes::<KEY_BYTES>());
    let hash = access::secret_hash(&key);
    let prefix = access::key_prefix(&key);
    (key, hash, prefix)
}

/// `POST /v1/keys`.
pub async fn create_key(cx: &Cx, mut req: Request) -> ApiResult<NewKey> {
    let body: CreateCredential = read_json(&mut req).await?;
    let name = access::name(&body.name)?;
    let role = access::role(&body.role)?;
    let expires_in = access::key_expires_in(body.expires_in)?;
    let now = now_secs();
    let (key, hash, prefix) = mint_key();
    let id = format!("key_{}", random_hex(8));
    let expires_at = expires_in.map(|s| now + s);
    staff::insert_key(
        cx.db()?,
        &NewKeyRow {
            id: &id,
            hash: &hash,
            prefix: &prefix,
            name: &name,
            role,
            now,
            expires_at,
            rolled_from: None,
        },
    )
    .await?;
    cx.log.set("key", prefix.as_str());
    Ok(NewKey {
        id,
        key,
        name,
        role,
        prefix,
        created_at: now,
        expires_at,
    })
}

/// `GET /v1/keys`.
pub async fn list_keys(cx: &Cx) -> ApiResult<Page<KeyView>> {
    let rows = staff::keys(cx.db()?).await?;
    Ok(Page {
        data: rows.iter().map(KeyRow::view).collect(),
        has_more: false,
    })
}

async fn load_key(cx: &Cx, id: &str) -> ApiResult<KeyRow> {
    staff::key(cx.db()?, id)
        .await?
        .ok_or(ApiError::NotFound("key"))
}

/// `DELETE /v1/keys/{id}`: revoked at once (409 `ALREADY_REVOKED` twice).
pub async fn revoke_key(cx: &Cx, id: &str) -> ApiResult<KeyView> {
    let mut row = load_key(cx, id).await?;
    access::revoke(row.revoked_at)?;
    let now = now_secs();
    if !staff::revoke_key(cx.db()?, id, now).await? {
        return Err(checkout::Error::AlreadyRevoked.into());
    }
    row.revoked_at = Some(now);
    Ok(row.view())
}

/// `POST /v1/keys/{id}/roll`: a new key of the same name and role; the
/// old one works for `expires_in` more seconds (≤ 7 days) and no longer.
pub async fn roll_key(cx: &Cx, id: &str, mut req: Request) -> ApiResult<NewKey> {
    let body: RollRequest = read_json(&mut req).await?;
    let overlap = access::roll_expires_in(body.expires_in.unwrap_or(-1))?;
    let old = load_key(cx, id).await?;
    let now = now_secs();
    let times = access::KeyTimes {
        expires_at: old.expires_at,
        revoked_at: old.revoked_at,
    };
    let old_ends = access::roll(times, overlap, now)?;
    let (key, hash, prefix) = mint_key();
    let new_id = format!("key_{}", random_hex(8));
    let row = NewKeyRow {
        id: &new_id,
        hash: &hash,
        prefix: &prefix,
        name: &old.name,
        role: old.role,
        now,
        expires_at: None,
        rolled_from: Some(id),
    };
    if !staff::roll_key(cx.db()?, id, old_ends, &row).await? {
        return Err(checkout::Error::KeyRevoked.into());
    }
    cx.log.set("key", prefix.as_str());
    Ok(NewKey {
        id: new_id,
        key,
        name: old.name,
        role: old.role,
        prefix,
        created_at: now,
        expires_at: None,
    })
}

/// `POST /v1/sign-in-links`: a URL that opens a console session for the
/// named person and role, once, within `SIGNIN_LINK_SECS`.
pub async fn create_signin_link(cx: &Cx, mut req: Request) -> ApiResult<SignInLink> {
    let body: CreateCredential = read_json(&mut req).await?;
    let name = access::name(&body.name)?;
    let role = access::role(&body.role)?;
    let policy = cx.settings.session_policy()?;
    let now = now_secs();
    let secret = hex(&random_bytes::<SECRET_BYTES>());
    let id = format!("sil_{}", random_hex(8));
    let expires_at = now + policy.link_secs;
    staff::insert_signin_link(
        cx.db()?,
        &NewSigninLink {
            id: &id,
            hash: &access::secret_hash(&secret),
            name: &name,
            role,
            created_by: &caller(cx)?.actor.id,
            now,
            expires_at,
        },
    )
    .await?;
    let base = cx.settings.public_base_url()?;
    Ok(SignInLink {
        id,
        url: format!("{base}{SIGN_IN_PATH}?t={secret}"),
        expires_at,
    })
}

/// A new session's id, secret and the cookie carrying it.
struct Minted {
    id: String,
    secret: String,
    cookie: String,
}

fn mint_session(cx: &Cx) -> ApiResult<Minted> {
    let policy = cx.settings.session_policy()?;
    let secret = hex(&random_bytes::<SECRET_BYTES>());
    let value = access::cookie_value(&deployment_tag(cx)?, &secret);
    let cookie = access::set_cookie(&cx.settings.public_base_url()?, &value, policy.max_secs);
    Ok(Minted {
        id: format!("ses_{}", random_hex(8)),
        secret,
        cookie,
    })
}

/// `POST /v1/sessions`: signs in with a key (or the bootstrap token): a
/// console session of the key's name and role, in the cookie. A session
/// cannot open another (it would outlive its own 7 days).
pub async fn sign_in_with_key(cx: &Cx) -> ApiResult<Response> {
    let caller = caller(cx)?;
    let Some(role) = caller.actor.role.filter(|_| !caller.session) else {
        return Err(ApiError::InvalidRequest(
            "sign in with an API key, not a session".into(),
        ));
    };
    let minted = mint_session(cx)?;
    let now = now_secs();
    let via = match caller.actor.kind {
        ActorKind::Token => "admin_token",
        _ => "api_key",
    };
    let row = staff::SessionRow {
        id: minted.id.clone(),
        name: caller.actor.name.clone(),
        role,
        via: via.to_owned(),
        created_at: now,
        last_seen_at: now,
        revoked_at: None,
    };
    staff::insert_session(
        cx.db()?,
        &NewSession {
            id: &row.id,
            hash: &access::secret_hash(&minted.secret),
            name: &row.name,
            role,
            via,
            via_id: &caller.actor.id,
            now,
        },
    )
    .await?;
    let resp = json(201, &row.view(cx.settings.session_policy()?.max_secs))?;
    resp.headers().set("Set-Cookie", &minted.cookie)?;
    Ok(resp)
}

/// `GET /v1/session`: who the caller is (type, id, name, role), so the
/// console shows only the controls the role may use (the Worker refuses
/// the rest anyway).
pub fn who_am_i(cx: &Cx) -> ApiResult<Actor> {
    Ok(caller(cx)?.actor.clone())
}

/// `DELETE /v1/session`: signs the caller's own console session out
/// (revoked at once, any role) and clears its cookie. A key is not a
/// session (400): keys are revoked by the owner.
pub async fn sign_out(cx: &Cx) -> ApiResult<Response> {
    let caller = caller(cx)?;
    if !caller.session {
        return Err(ApiError::InvalidRequest(
            "sign out ends a console session; revoke a key with DELETE /v1/keys/{id}".into(),
        ));
    }
    let db = cx.db()?;
    // Revoked already (another tab signed out) is still signed out.
    staff::revoke_session(db, &caller.actor.id, now_secs()).await?;
    let row = staff::session(db, &caller.actor.id)
        .await?
        .ok_or(ApiError::NotFound("session"))?;
    let resp = json(200, &row.view(cx.settings.session_policy()?.max_secs))?;
    let cookie = access::set_cookie(&cx.settings.public_base_url()?, "", 0);
    resp.headers().set("Set-Cookie", &cookie)?;
    Ok(resp)
}

/// `GET /v1/sessions`.
pub async fn list_sessions(cx: &Cx) -> ApiResult<Page<SessionView>> {
    let max = cx.settings.session_policy()?.max_secs;
    let rows = staff::sessions(cx.db()?).await?;
    Ok(Page {
        data: rows.iter().map(|r| r.view(max)).collect(),
        has_more: false,
    })
}

/// `DELETE /v1/sessions/{id}`: revoked at once.
pub async fn revoke_session(cx: &Cx, id: &str) -> ApiResult<SessionView> {
    let db = cx.db()?;
    let mut row = staff::session(db, id)
        .await?
        .ok_or(ApiError::NotFound("session"))?;
    access::revoke(row.revoked_at)?;
    let now = now_secs();
    if !staff::revoke_session(db, id, now).await? {
        return Err(checkout::Error::AlreadyRevoked.into());
    }
    row.revoked_at = Some(now);
    Ok(row.view(cx.settings.session_policy()?.max_secs))
}

/// `GET /v1/audit?limit=&starting_after=`: newest first.
pub async fn audit(cx: &Cx, req: &Request) -> ApiResult<Page<AuditRecord>> {
    let url = req.url()?;
    let (mut limit, mut before) = (20u64, None);
    for (k, v) in url.query_pairs() {
        let number = || {
            v.parse::<u64>()
                .map_err(|_| ApiError::InvalidRequest(format!("{k} must be a whole number")))
        };
        match k.as_ref() {
            "limit" => limit = number()?,
            "starting_after" => before = Some(number()?),
            _ => {}
        }
    }
    if !(1..=100).contains(&limit) {
        return Err(ApiError::InvalidRequest("limit must be 1-100".into()));
    }
    let mut data = staff::audit(cx.db()?, before, limit + 1).await?;
    let has_more = data.len() as u64 > limit;
    data.truncate(limit as usize);
    Ok(Page { data, has_more })
}

/// `GET /console/sign-in?t=…`: uses the sign-in link once, opens its
/// session in the cookie and sends the browser to `/console` (303). Its
/// audit entry (actor: the new session) commits with the session.
pub async fn land(cx: &Cx, req: &Request) -> ApiResult<Response> {
    let url = req.url()?;
    let secret = url
        .query_pairs()
        .find(|(k, _)| k == "t")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let db = cx.db()?;
    let link = staff::signin_link(db, &access::secret_hash(&secret))
        .await?
        .ok_or(ApiError::NotFound("sign-in link"))?;
    let now = now_secs();
    let minted = mint_session(cx)?;
    open_audit(
        cx,
        Actor {
            kind: ActorKind::Session,
            id: minted.id.clone(),
            name: link.name.clone(),
            role: Some(link.role),
        },
        &client_ip(req),
        format!("GET {SIGN_IN_PATH}"),
        Some(link.id.clone()),
    );
    access::signin_link(link.expires_at, link.used_at, now)?;
    let session = NewSession {
        id: &minted.id,
        hash: &access::secret_hash(&minted.secret),
        name: &link.name,
        role: link.role,
        via: "signin_link",
        via_id: &link.id,
        now,
    };
    if !staff::open_signin_link(db, &link.id, &session).await? {
        return Err(checkout::Error::SigninLinkUsed.into());
    }
    let resp = Response::empty()?.with_status(303);
    resp.headers().set("Location", "/console")?;
    resp.headers().set("Set-Cookie", &minted.cookie)?;
    resp.headers().set("Cache-Control", "no-store")?;
    resp.headers().set("Referrer-Policy", "no-referrer")?;
    Ok(resp)
}
