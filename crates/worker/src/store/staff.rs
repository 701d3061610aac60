//! Staff credentials and the audit log (`0008_staff.sql`): API keys,
//! console sessions, sign-in links, failed authentications per IP, audit
//! entries. Secrets are never stored, only their SHA-256
//! (`checkout::access::secret_hash`); every row carries `merchant_id`.
//!
//! A credential check is one round trip: the credential's row (read
//! before its `last_used_at` / `last_seen_at` is rewritten, at most once
//! per interval, by the same batch) and the client IP's failures in the
//! current window.

use checkout::access::{
    Actor, ActorKind, AuditEntry, AuditRecord, KeyView, Outcome, Role, SessionView, MERCHANT_ID,
};
use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

use super::{all, changes, n, ot, prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::ApiResult;

/// A stored key (never the key).
#[derive(Clone, Debug, Deserialize)]
pub struct KeyRow {
    /// `key_…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// `sk_` + 8 hex.
    pub prefix: String,
    /// Unix seconds.
    pub created_at: u64,
    /// When it stops working.
    pub expires_at: Option<u64>,
    /// When it was revoked.
    pub revoked_at: Option<u64>,
    /// Last use (to the minute).
    pub last_used_at: Option<u64>,
}

impl KeyRow {
    /// The key as listed.
    pub fn view(&self) -> KeyView {
        KeyView {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            prefix: self.prefix.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
        }
    }
}

/// A key to store.
pub struct NewKeyRow<'a> {
    /// `key_…`.
    pub id: &'a str,
    /// SHA-256 of the key.
    pub hash: &'a str,
    /// `sk_` + 8 hex.
    pub prefix: &'a str,
    /// Its name.
    pub name: &'a str,
    /// Its role.
    pub role: Role,
    /// Unix seconds.
    pub now: u64,
    /// When it stops working.
    pub expires_at: Option<u64>,
    /// The key a roll replaced.
    pub rolled_from: Option<&'a str>,
}

const KEY_COLUMNS: &str =
    "id, name, role, prefix, created_at, expires_at, revoked_at, last_used_at";

fn opt_n(v: Option<u64>) -> JsValue {
    v.map(n).unwrap_or(JsValue::NULL)
}

/// A key's INSERT; `guard` conditions it (a roll's `WHERE changes() = 1`).
fn insert_key_statement<'d>(db: &'d Db, k: &NewKeyRow<'_>, guard: &str) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        &format!(
            "INSERT INTO api_keys (id, merchant_id, key_hash, prefix, name, role, created_at, expires_at, rolled_from) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9{guard}"
        ),
        &[
            t(k.id),
            t(MERCHANT_ID),
            t(k.hash),
            t(k.prefix),
            t(k.name),
            t(k.role.as_str()),
            n(k.now),
            opt_n(k.expires_at),
            ot(k.rolled_from),
        ],
    )
}

/// Stores a new key (with the request's audit entry).
pub async fn insert_key(db: &Db, key: &NewKeyRow<'_>) -> ApiResult<()> {
    db.change(vec![insert_key_statement(db, key, "")?])
        .await
        .stored()?;
    Ok(())
}

/// Every key of the merchant, newest first.
pub async fn keys(db: &Db) -> ApiResult<Vec<KeyRow>> {
    all(
        db,
        &format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE merchant_id = ?1 ORDER BY created_at DESC, id DESC"
        ),
        &[t(MERCHANT_ID)],
    )
    .await
}

/// One key by id.
pub async fn key(db: &Db, id: &str) -> ApiResult<Option<KeyRow>> {
    let rows = all(
        db,
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1 AND merchant_id = ?2"),
        &[t(id), t(MERCHANT_ID)],
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Revokes a key, once (`false`: it was revoked already).
pub async fn revoke_key(db: &Db, id: &str, now: u64) -> ApiResult<bool> {
    let stmt = prepare(
        db,
        "UPDATE api_keys SET revoked_at = ?2 WHERE id = ?1 AND merchant_id = ?3 AND revoked_at IS NULL",
        &[t(id), n(now), t(MERCHANT_ID)],
    )?;
    first_changed(db.change(vec![stmt]).await.stored()?)
}

/// A roll: the old key ends at `old_ends` (only while not revoked) and
/// the new one is stored, in one batch; `false` when the old key was
/// revoked meanwhile (then neither write happened).
pub async fn roll_key(
    db: &Db,
    old_id: &str,
    old_ends: u64,
    new: &NewKeyRow<'_>,
) -> ApiResult<bool> {
    let end = prepare(
        db,
        "UPDATE api_keys SET expires_at = ?2 WHERE id = ?1 AND merchant_id = ?3 AND revoked_at IS NULL",
        &[t(old_id), n(old_ends), t(MERCHANT_ID)],
    )?;
    // The new key only if the old one was ended by this batch.
    let insert = insert_key_statement(db, new, " WHERE changes() = 1")?;
    first_changed(db.change(vec![end, insert]).await.stored()?)
}

fn first_changed(results: Vec<worker::D1Result>) -> ApiResult<bool> {
    Ok(match results.first() {
        Some(r) => changes(r)? > 0,
        None => false,
    })
}

#[derive(Deserialize)]
struct Failures {
    failures: u32,
}

fn failures_statement<'d>(db: &'d Db, ip: &str, window: u64) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "SELECT failures FROM auth_failures WHERE ip = ?1 AND window_start = ?2",
        &[t(ip), n(window)],
    )
}

fn failures_of(result: Option<&worker::D1Result>) -> ApiResult<u32> {
    let rows: Vec<Failures> = match result {
        Some(r) => r.results().stored()?,
        None => Vec::new(),
    };
    Ok(rows.first().map_or(0, |f| f.failures))
}

/// What a credential check read: the credential's row, if any, and the
/// IP's failures in the window.
pub struct Checked<T> {
    /// The key or session.
    pub row: Option<T>,
    /// Failed authentications of the IP in the current window.
    pub failures: u32,
}

/// The IP's failures in `window` (a check of the bootstrap token).
pub async fn failures(db: &Db, ip: &str, window: u64) -> ApiResult<u32> {
    let results = db
        .batch(vec![failures_statement(db, ip, window)?])
        .await
        .stored()?;
    failures_of(results.first())
}

/// A key by its hash and the IP's failures, one round trip; stamps
/// `last_used_at` when it is older than `touch` seconds (so at most once
/// per `touch` per key), only for a key not revoked or expired.
pub async fn check_key(
    db: &Db,
    hash: &str,
    ip: &str,
    window: u64,
    now: u64,
    touch: u64,
) -> ApiResult<Checked<KeyRow>> {
    let read = prepare(
        db,
        &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"),
        &[t(hash)],
    )?;
    let stamp = prepare(
        db,
        "UPDATE api_keys SET last_used_at = ?2 WHERE key_hash = ?1 AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > ?2) \
         AND (last_used_at IS NULL OR last_used_at <= ?2 - ?3)",
        &[t(hash), n(now), n(touch)],
    )?;
    let results = db
        .batch(vec![read, stamp, failures_statement(db, ip, window)?])
        .await
        .stored()?;
    let rows: Vec<KeyRow> = match results.first() {
        Some(r) => r.results().stored()?,
        None => Vec::new(),
    };
    Ok(Checked {
        row: rows.into_iter().next(),
        failures: failures_of(results.get(2))?,
    })
}

/// Counts one failed authentication of `ip` in `window`.
pub async fn count_failure(db: &Db, ip: &str, window: u64) -> ApiResult<()> {
    prepare(
        db,
        "INSERT INTO auth_failures (ip, window_start, failures) VALUES (?1, ?2, 1) \
         ON CONFLICT (ip, window_start) DO UPDATE SET failures = failures + 1",
        &[t(ip), n(window)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

// ------------------------------------------------------------ sessions

/// A stored console session.
#[derive(Clone, Debug, Deserialize)]
pub struct SessionRow {
    /// `ses_…`.
    pub id: String,
    /// The person's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// How it was opened.
    pub via: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Last request (to the interval).
    pub last_seen_at: u64,
    /// When it was revoked.
    pub revoked_at: Option<u64>,
}

impl SessionRow {
    /// The session as listed, ending `max_secs` after it opened.
    pub fn view(&self, max_secs: u64) -> SessionView {
        SessionView {
            id: self.id.clone(),
            name: self.name.clone(),
            role: self.role,
            via: self.via.clone(),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            expires_at: self.created_at + max_secs,
            revoked_at: self.revoked_at,
        }
    }
}

const SESSION_COLUMNS: &str = "id, name, role, via, created_at, last_seen_at, revoked_at";

/// A session to store.
pub struct NewSession<'a> {
    /// `ses_…`.
    pub id: &'a str,
    /// SHA-256 of the cookie's secret.
    pub hash: &'a str,
    /// The person's name.
    pub name: &'a str,
    /// Its role.
    pub role: Role,
    /// `signin_link`, `api_key`, `admin_token`.
    pub via: &'a str,
    /// The link's or key's id.
    pub via_id: &'a str,
    /// Unix seconds.
    pub now: u64,
}

fn insert_session_sql(guard: &str) -> String {
    format!(
        "INSERT INTO console_sessions (id, merchant_id, secret_hash, name, role, via, via_id, created_at, last_seen_at) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8{guard}"
    )
}

fn session_params(s: &NewSession<'_>) -> Vec<JsValue> {
    vec![
        t(s.id),
        t(MERCHANT_ID),
        t(s.hash),
        t(s.name),
        t(s.role.as_str()),
        t(s.via),
        t(s.via_id),
        n(s.now),
    ]
}

/// Opens a session (signing in with a key).
pub async fn insert_session(db: &Db, s: &NewSession<'_>) -> ApiResult<()> {
    let stmt = prepare(db, &insert_session_sql(""), &session_params(s))?;
    db.change(vec![stmt]).await.stored()?;
    Ok(())
}

/// The merchant's sessions, newest first.
pub async fn sessions(db: &Db) -> ApiResult<Vec<SessionRow>> {
    all(
        db,
        &format!(
            "SELECT {SESSION_COLUMNS} FROM console_sessions WHERE merchant_id = ?1 \
             ORDER BY created_at DESC, id DESC LIMIT 200"
        ),
        &[t(MERCHANT_ID)],
    )
    .await
}

/// One session by id.
pub async fn session(db: &Db, id: &str) -> ApiResult<Option<SessionRow>> {
    let rows = all(
        db,
        &format!(
            "SELECT {SESSION_COLUMNS} FROM console_sessions WHERE id = ?1 AND merchant_id = ?2"
        ),
        &[t(id), t(MERCHANT_ID)],
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Revokes a session, once (`false`: revoked already).
pub async fn revoke_session(db: &Db, id: &str, now: u64) -> ApiResult<bool> {
    let stmt = prepare(
        db,
        "UPDATE console_sessions SET revoked_at = ?2 WHERE id = ?1 AND merchant_id = ?3 AND revoked_at IS NULL",
        &[t(id), n(now), t(MERCHANT_ID)],
    )?;
    first_changed(db.change(vec![stmt]).await.stored()?)
}

/// What a session check is made with.
pub struct SessionCheck<'a> {
    /// The client's IP.
    pub ip: &'a str,
    /// The failure window's start.
    pub window: u64,
    /// Unix seconds.
    pub now: u64,
    /// Rewrite `last_seen_at` when older than this.
    pub touch: u64,
    /// The idle limit.
    pub idle: u64,
    /// The absolute limit.
    pub max: u64,
}

/// A session by its secret's hash and the IP's failures, one round trip;
/// stamps `last_seen_at` when older than `touch` seconds, only while the
/// session is neither revoked, idle past `idle` nor past `max` (a stamp
/// must never revive an idle session).
pub async fn check_session(
    db: &Db,
    hash: &str,
    c: SessionCheck<'_>,
) -> ApiResult<Checked<SessionRow>> {
    let SessionCheck {
        ip,
        window,
        now,
        touch,
        idle,
        max,
    } = c;
    let read = prepare(
        db,
        &format!("SELECT {SESSION_COLUMNS} FROM console_sessions WHERE secret_hash = ?1"),
        &[t(hash)],
    )?;
    let stamp = prepare(
        db,
        "UPDATE console_sessions SET last_seen_at = ?2 WHERE secret_hash = ?1 AND revoked_at IS NULL \
         AND last_seen_at > ?2 - ?4 AND created_at > ?2 - ?5 AND last_seen_at <= ?2 - ?3",
        &[t(hash), n(now), n(touch), n(idle), n(max)],
    )?;
    let results = db
        .batch(vec![read, stamp, failures_statement(db, ip, window)?])
        .await
        .stored()?;
    let rows: Vec<SessionRow> = match results.first() {
        Some(r) => r.results().stored()?,
        None => Vec::new(),
    };
    Ok(Checked {
        row: rows.into_iter().next(),
        failures: failures_of(results.get(2))?,
    })
}

// -------------------------------------------------------- sign-in links

/// A sign-in link to store.
pub struct NewSigninLink<'a> {
    /// `sil_…`.
    pub id: &'a str,
    /// SHA-256 of the URL's secret.
    pub hash: &'a str,
    /// The person's name.
    pub name: &'a str,
    /// The session's role.
    pub role: Role,
    /// The owner's key or session id.
    pub created_by: &'a str,
    /// Unix seconds.
    pub now: u64,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Stores a sign-in link.
pub async fn insert_signin_link(db: &Db, l: &NewSigninLink<'_>) -> ApiResult<()> {
    let stmt = prepare(
        db,
        "INSERT INTO signin_links (id, merchant_id, secret_hash, name, role, created_by, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            t(l.id),
            t(MERCHANT_ID),
            t(l.hash),
            t(l.name),
            t(l.role.as_str()),
            t(l.created_by),
            n(l.now),
            n(l.expires_at),
        ],
    )?;
    db.change(vec![stmt]).await.stored()?;
    Ok(())
}

/// A stored sign-in link.
#[derive(Clone, Debug, Deserialize)]
pub struct SigninLinkRow {
    /// `sil_…`.
    pub id: String,
    /// The person's name.
    pub name: String,
    /// The session's role.
    pub role: Role,
    /// Unix seconds.
    pub expires_at: u64,
    /// When it was opened.
    pub used_at: Option<u64>,
}

/// A sign-in link by its secret's hash.
pub async fn signin_link(db: &Db, hash: &str) -> ApiResult<Option<SigninLinkRow>> {
    let rows = all(
        db,
        "SELECT id, name, role, expires_at, used_at FROM signin_links WHERE secret_hash = ?1",
        &[t(hash)],
    )
    .await?;
    Ok(rows.into_iter().next())
}

/// Uses a sign-in link once and opens its session, one batch: the link is
/// claimed only while unused and unexpired, the session inserted only if
/// this batch claimed it (`false`: another request did, or it expired).
pub async fn open_signin_link(db: &Db, link_id: &str, s: &NewSession<'_>) -> ApiResult<bool> {
    let claim = prepare(
        db,
        "UPDATE signin_links SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2",
        &[t(link_id), n(s.now)],
    )?;
    let insert = prepare(
        db,
        &insert_session_sql(" WHERE changes() = 1"),
        &session_params(s),
    )?;
    first_changed(db.change(vec![claim, insert]).await.stored()?)
}

// ---------------------------------------------------------- audit log

/// The audit entry's INSERT (the request's rider, `Db::change`), with the
/// outcome it is written with.
pub fn audit_insert(entry: &AuditEntry, outcome: Outcome) -> (String, Vec<JsValue>) {
    (
        "INSERT INTO audit_log (merchant_id, at, actor_type, actor_id, actor_name, actor_role, ip, \
         action, object, outcome, request_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            .to_owned(),
        vec![
            t(MERCHANT_ID),
            n(entry.at),
            t(entry.actor.kind.as_str()),
            t(&entry.actor.id),
            t(&entry.actor.name),
            ot(entry.actor.role.map(Role::as_str)),
            t(&entry.ip),
            t(&entry.action),
            ot(entry.object.as_deref()),
            t(outcome.as_str()),
            t(&entry.request_id),
        ],
    )
}

/// Writes an entry no change carried (a denied or failed request).
pub async fn write_audit(db: &Db, entry: &AuditEntry, outcome: Outcome) -> ApiResult<()> {
    let (sql, params) = audit_insert(entry, outcome);
    prepare(db, &sql, &params)?.run().await.stored()?;
    Ok(())
}

/// Corrects the outcome of the entry a change carried, when the request
/// then failed (a refund the gateway refused after it was reserved).
pub async fn set_audit_outcome(db: &Db, request_id: &str, outcome: Outcome) -> ApiResult<()> {
    prepare(
        db,
        "UPDATE audit_log SET outcome = ?2 WHERE request_id = ?1 AND merchant_id = ?3",
        &[t(request_id), t(outcome.as_str()), t(MERCHANT_ID)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

#[derive(Deserialize)]
struct AuditRow {
    id: u64,
    at: u64,
    actor_type: ActorKind,
    actor_id: String,
    actor_name: String,
    actor_role: Option<Role>,
    ip: String,
    action: String,
    object: Option<String>,
    outcome: Outcome,
    request_id: String,
}

/// Up to `limit` entries, newest first, older than `before` (an id) when given.
pub async fn audit(db: &Db, before: Option<u64>, limit: u64) -> ApiResult<Vec<AuditRecord>> {
    let rows: Vec<AuditRow> = all(
        db,
        "SELECT id, at, actor_type, actor_id, actor_name, actor_role, ip, action, object, outcome, request_id \
         FROM audit_log WHERE merchant_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3",
        &[t(MERCHANT_ID), n(before.unwrap_or(1 << 52)), n(limit)],
    )
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditRecord {
            id: r.id,
            entry: AuditEntry {
                at: r.at,
                actor: Actor {
                    kind: r.actor_type,
                    id: r.actor_id,
                    name: r.actor_name,
                    role: r.actor_role,
                },
                ip: r.ip,
                action: r.action,
                object: r.object,
                request_id: r.request_id,
            },
            outcome: r.outcome,
        })
        .collect())
}

/// Deletes at most `batch` audit entries older than `cutoff`, and failure
/// counts and sign-in links older than `day_ago`; returns the audit
/// entries deleted (bounded, so one cron run never holds D1 long: the next
/// run goes on).
pub async fn purge(db: &Db, cutoff: u64, batch: u64, day_ago: u64) -> ApiResult<usize> {
    let results = db
        .batch(vec![
            prepare(
                db,
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ?1 ORDER BY id LIMIT ?2)",
                &[n(cutoff), n(batch)],
            )?,
            prepare(
                db,
                "DELETE FROM auth_failures WHERE window_start < ?1",
                &[n(day_ago)],
            )?,
            prepare(
                db,
                "DELETE FROM signin_links WHERE expires_at < ?1",
                &[n(day_ago)],
            )?,
        ])
        .await
        .stored()?;
    match results.first() {
        Some(r) => changes(r),
        None => Ok(0),
    }
}
