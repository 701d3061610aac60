//! Who may do what to the merchant API (API.md v1.1, *Credentials and
//! roles*), decided without I/O: the five roles and the permissions each
//! holds, what a presented credential looks like, when a key, a console
//! session or a sign-in link still counts, the checks of the staff routes'
//! input, the session cookie and the same-origin rule, and the failed
//! sign-in limit.
//!
//! Why here and not in the Worker: every answer of the staff routes
//! (which role may refund, whether a rolled key still works, whether a
//! session went idle) is a decision over rows and a clock; the Worker only
//! reads the rows, asks, and writes what follows. The tables below are the
//! contract's, one test per row.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::vocab::Spelled;

/// An enum spelled on the wire: serde's spelling, `as_str`, `parse` and
/// [`Spelled`] from one list, so they cannot disagree.
macro_rules! spelled_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $wire)] $variant,)*
        }

        impl $name {
            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)*
                }
            }

            /// The variant spelled `wire`, if any.
            pub fn parse(wire: &str) -> Option<Self> {
                Self::from_spelling(wire)
            }
        }

        impl Spelled for $name {
            const ALL: &'static [Self] = &[$($name::$variant,)*];
            fn spelling(self) -> &'static str {
                self.as_str()
            }
        }
    };
}

/// The one merchant this deployment serves today; every key, session,
/// sign-in link, order and audit row carries it (migration `0008`), so a
/// Worker serving many merchants later needs no data migration.
pub const MERCHANT_ID: &str = "default";

spelled_enum! {
    /// A credential's role (API.md's five).
    Role {
        /// Everything, including keys, sessions, sign-in links, the audit log.
        Owner => "owner",
        /// Everything but the staff routes.
        Manager => "manager",
        /// Reads; creates links, POS charges and QR orders.
        Cashier => "cashier",
        /// Reads; statements and exports.
        Accountant => "accountant",
        /// Reads only.
        Viewer => "viewer",
    }
}

spelled_enum! {
    /// What a merchant route needs (`error.permission` of a 403).
    Permission {
        /// Read orders, links, refunds, events.
        Read => "orders:read",
        /// Create links, deactivate links, POS charges, QR orders.
        Charge => "charges:write",
        /// Refund, cancel.
        Refund => "refunds:write",
        /// Redeliver events, send a test event.
        Events => "events:write",
        /// Statements, CSV exports.
        Statements => "statements:read",
        /// Keys, sessions, sign-in links, the audit log.
        Staff => "staff:admin",
    }
}

impl Role {
    /// Whether this role holds `permission`: API.md's matrix.
    pub fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::Owner => true,
            Role::Manager => !matches!(permission, P::Staff),
            Role::Cashier => matches!(permission, P::Read | P::Charge),
            Role::Accountant => matches!(permission, P::Read | P::Statements),
            Role::Viewer => matches!(permission, P::Read),
        }
    }
}

/// Whether `role` may do what needs `permission`; a 403 `FORBIDDEN` naming
/// the permission when not. A route that names no permission is refused to
/// every role (fail closed; the router's test fails first).
pub fn check(role: Role, permission: Option<Permission>) -> Result<(), Error> {
    match permission {
        Some(p) if role.allows(p) => Ok(()),
        Some(p) => Err(Error::Forbidden {
            permission: p.as_str(),
        }),
        None => Err(Error::Forbidden { permission: "none" }),
    }
}

spelled_enum! {
    /// What kind of credential acted (the audit entry's `actor.type`).
    ActorKind {
        /// The bootstrap `ADMIN_TOKEN`.
        Token => "admin_token",
        /// An API key.
        Key => "api_key",
        /// A console session.
        Session => "session",
        /// Nobody: a request whose credential was refused.
        Anonymous => "anonymous",
    }
}

/// Who made a request: what the permission check and the audit entry read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `type`: the kind of credential.
    #[serde(rename = "type")]
    pub kind: ActorKind,
    /// The key's or session's id (`admin_token` for the token); never secret.
    pub id: String,
    /// The key's or session's name.
    pub name: String,
    /// Its role (`null` for an anonymous actor).
    pub role: Option<Role>,
}

impl Actor {
    /// The bootstrap owner (`ADMIN_TOKEN`).
    pub fn admin_token() -> Actor {
        Actor {
            kind: ActorKind::Token,
            id: "admin_token".into(),
            name: "ADMIN_TOKEN".into(),
            role: Some(Role::Owner),
        }
    }

    /// A request whose credential was refused.
    pub fn anonymous() -> Actor {
        Actor {
            kind: ActorKind::Anonymous,
            id: String::new(),
            name: String::new(),
            role: None,
        }
    }
}

spelled_enum! {
    /// Why a credential was refused: `error.reason` of a 401 (the code stays
    /// API.md's `UNAUTHORIZED`).
    Refusal {
        /// No `Authorization` header and no session cookie.
        Missing => "missing",
        /// Not a credential's shape: whitespace or a line break around it
        /// (a key pasted with its trailing newline), or another scheme.
        Malformed => "malformed",
        /// No such key, session or token.
        Unknown => "unknown",
        /// Revoked (a key, or a session signed out).
        Revoked => "revoked",
        /// Past its expiry (a key's `expires_at`, a rolled key's overlap,
        /// a session's 7 days).
        Expired => "expired",
        /// A session unused for longer than the idle limit.
        Idle => "idle",
        /// A session cookie of another deployment.
        ForeignDeployment => "foreign_deployment",
    }
}

// ---------------------------------------------------------------- keys

/// What every API key starts with (not secret).
pub const KEY_PREFIX: &str = "sk_";
/// Random bytes of a key: 160 bits, of which the shown prefix reveals 32.
pub const KEY_BYTES: usize = 20;
/// Hex digits of a key's random part shown as its prefix.
const PREFIX_HEX: usize = 8;

/// A new API key from [`KEY_BYTES`] random bytes: `sk_` + 40 hex digits.
pub fn key_from_random(random: &[u8; KEY_BYTES]) -> String {
    format!("{KEY_PREFIX}{}", hex(random))
}

/// The key's non-secret prefix, shown in lists and logs: `sk_` and its
/// first 8 hex digits (128 random bits stay secret).
pub fn key_prefix(key: &str) -> String {
    key.chars().take(KEY_PREFIX.len() + PREFIX_HEX).collect()
}

/// What a key or session secret is stored as: hex SHA-256. Enough for
/// secrets of ≥ 128 random bits (no dictionary to try), and what the
/// lookup is keyed by.
pub fn secret_hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// A presented bearer credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presented<'a> {
    /// Shaped like an API key (`sk_` + 40 hex digits).
    Key(&'a str),
    /// Anything else: compared with `ADMIN_TOKEN`.
    Token(&'a str),
}

/// The credential of an `Authorization` header, strictly: `Bearer ` and
/// the credential, nothing around it (a trailing newline is
/// [`Refusal::Malformed`], not silently trimmed: a key is compared as given).
pub fn presented(authorization: &str) -> Result<Presented<'_>, Refusal> {
    let given = authorization
        .strip_prefix("Bearer ")
        .ok_or(Refusal::Malformed)?;
    if given.is_empty() || given.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Refusal::Malformed);
    }
    let is_key = given.strip_prefix(KEY_PREFIX).is_some_and(|rest| {
        rest.len() == 2 * KEY_BYTES && rest.bytes().all(|b| b.is_ascii_hexdigit())
    });
    Ok(if is_key {
        Presented::Key(given)
    } else {
        Presented::Token(given)
    })
}

/// A stored key's times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyTimes {
    /// When it stops working (its own expiry, or a roll's overlap end).
    pub expires_at: Option<u64>,
    /// When it was revoked.
    pub revoked_at: Option<u64>,
}

/// Whether a stored key still works at `now`.
pub fn key_valid(key: KeyTimes, now: u64) -> Result<(), Refusal> {
    if key.revoked_at.is_some() {
        return Err(Refusal::Revoked);
    }
    match key.expires_at {
        Some(at) if now >= at => Err(Refusal::Expired),
        _ => Ok(()),
    }
}

/// Longest `expires_in` of a new key: a year.
pub const MAX_KEY_SECS: u64 = 365 * 86_400;
/// Longest overlap of a roll: 7 days (API.md).
pub const MAX_ROLL_SECS: u64 = 7 * 86_400;
/// Longest name, in characters.
pub const MAX_NAME_CHARS: usize = 199;

/// A key's, session's or sign-in link's name: trimmed, 1 to
/// [`MAX_NAME_CHARS`] characters, no control characters.
pub fn name(given: &str) -> Result<String, Error> {
    let name = given.trim();
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || name.chars().any(char::is_control)
    {
        return Err(Error::InvalidName);
    }
    Ok(name.to_owned())
}

/// A role by its name; anything else is 400 `INVALID_ROLE`.
pub fn role(given: &str) -> Result<Role, Error> {
    Role::parse(given).ok_or(Error::InvalidRole)
}

/// A new key's `expires_in`: absent (never) or 60 s to a year.
pub fn key_expires_in(given: Option<i64>) -> Result<Option<u64>, Error> {
    match given {
        None => Ok(None),
        Some(s) if (60..=MAX_KEY_SECS as i64).contains(&s) => Ok(Some(s as u64)),
        Some(_) => Err(Error::InvalidExpiresIn {
            range: "60 to 31536000",
        }),
    }
}

/// A roll's `expires_in`: how long the old key keeps working, 0 (at once)
/// to 7 days.
pub fn roll_expires_in(given: i64) -> Result<u64, Error> {
    if (0..=MAX_ROLL_SECS as i64).contains(&given) {
        Ok(given as u64)
    } else {
        Err(Error::InvalidExpiresIn {
            range: "0 to 604800",
        })
    }
}

/// What rolling a key does to the old one: it stops working at the end of
/// the overlap, or its own expiry if sooner. A revoked or expired key
/// cannot be rolled (409 `KEY_REVOKED`): a roll must never bring one back.
pub fn roll(old: KeyTimes, overlap: u64, now: u64) -> Result<u64, Error> {
    key_valid(old, now).map_err(|_| Error::KeyRevoked)?;
    let end = now + overlap;
    Ok(old.expires_at.map_or(end, |at| at.min(end)))
}

/// Whether a key or session can be revoked: once (409 `ALREADY_REVOKED`
/// after that).
pub fn revoke(revoked_at: Option<u64>) -> Result<(), Error> {
    match revoked_at {
        Some(_) => Err(Error::AlreadyRevoked),
        None => Ok(()),
    }
}

/// Whether a `last_used_at` / `last_seen_at` stamped at `last` is due for
/// a rewrite at `now`: at most once per `interval`, so a busy key costs no
/// D1 write per request.
pub fn touch_due(last: Option<u64>, now: u64, interval: u64) -> bool {
    last.is_none_or(|at| now >= at + interval)
}

// ------------------------------------------------------------ sessions

/// How long console sessions and sign-in links live (settings; API.md's
/// 12 h, 7 days and 15 minutes by default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long is over.
    pub idle_secs: u64,
    /// A session is over this long after it opened, used or not.
    pub max_secs: u64,
    /// A sign-in link opens a session only this long after it was made.
    pub link_secs: u64,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        SessionPolicy {
            idle_secs: 12 * 3600,
            max_secs: 7 * 86_400,
            link_secs: 15 * 60,
        }
    }
}

impl SessionPolicy {
    /// How often a session's `last_seen_at` is rewritten: once a minute,
    /// or a quarter of the idle limit when that is shorter (a test
    /// deployment's seconds), so idleness is judged within that error.
    pub fn touch_interval(&self) -> u64 {
        (self.idle_secs / 4).clamp(1, 60)
    }
}

/// A stored session's times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionTimes {
    /// Opened.
    pub created_at: u64,
    /// Last seen (stamped at most every [`SessionPolicy::touch_interval`]).
    pub last_seen_at: u64,
    /// Revoked (signed out).
    pub revoked_at: Option<u64>,
}

/// Whether a session still works at `now`.
pub fn session_valid(s: SessionTimes, policy: &SessionPolicy, now: u64) -> Result<(), Refusal> {
    if s.revoked_at.is_some() {
        Err(Refusal::Revoked)
    } else if now >= s.created_at + policy.max_secs {
        Err(Refusal::Expired)
    } else if now >= s.last_seen_at + policy.idle_secs {
        Err(Refusal::Idle)
    } else {
        Ok(())
    }
}

/// When a session opened at `created_at` ends at the latest.
pub fn session_expires_at(created_at: u64, policy: &SessionPolicy) -> u64 {
    created_at + policy.max_secs
}

/// Whether a sign-in link can still open a session: once (410
/// `SIGNIN_LINK_USED`), before its expiry (410 `SIGNIN_LINK_EXPIRED`).
pub fn signin_link(expires_at: u64, used_at: Option<u64>, now: u64) -> Result<(), Error> {
    if used_at.is_some() {
        Err(Error::SigninLinkUsed)
    } else if now >= expires_at {
        Err(Error::SigninLinkExpired)
    } else {
        Ok(())
    }
}

/// Random bytes of a session's or sign-in link's secret: 256 bits.
pub const SECRET_BYTES: usize = 32;

/// The cookie of a console session on an `https:` deployment: `__Host-`
/// (this host only, path `/`, `Secure`).
pub const COOKIE_HOST: &str = "__Host-soushou_session";
/// The cookie on plain-http loopback (the local demo), where a browser
/// refuses `Secure` and so `__Host-`.
pub const COOKIE_PLAIN: &str = "soushou_session";

/// Whether the deployment at `public_base_url` is the plain-http loopback
/// demo, the only place the cookie drops `Secure` and `__Host-`.
pub fn plain_http_loopback(public_base_url: &str) -> bool {
    let Some(rest) = public_base_url.strip_prefix("http://") else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

/// The session cookie's name for a deployment.
pub fn cookie_name(public_base_url: &str) -> &'static str {
    if plain_http_loopback(public_base_url) {
        COOKIE_PLAIN
    } else {
        COOKIE_HOST
    }
}

/// A short tag naming the deployment (its public URL), carried in the
/// cookie so that a cookie of another deployment on the same host (two
/// local demos on two ports share cookies: cookies ignore ports) is told
/// apart from an unknown one. Not a secret: the session's secret is what
/// authenticates.
pub fn deployment_tag(public_base_url: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"soushou-console-session\n");
    h.update(public_base_url.trim_end_matches('/').as_bytes());
    hex(&h.finalize()[..4])
}

/// The cookie's value: the deployment tag and the session's secret.
pub fn cookie_value(tag: &str, secret: &str) -> String {
    format!("{tag}.{secret}")
}

/// The session secret of a cookie value, if it is this deployment's.
pub fn cookie_secret<'a>(value: &'a str, tag: &str) -> Result<&'a str, Refusal> {
    match value.split_once('.') {
        Some((t, secret)) if t == tag && !secret.is_empty() => Ok(secret),
        Some((t, _)) if t.len() == tag.len() => Err(Refusal::ForeignDeployment),
        _ => Err(Refusal::Malformed),
    }
}

/// The value of cookie `name` in a `Cookie` header.
pub fn find_cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The `Set-Cookie` of a session: `HttpOnly; SameSite=Strict; Path=/`,
/// `Secure` except on plain-http loopback; `max_age` 0 clears it.
pub fn set_cookie(public_base_url: &str, value: &str, max_age: u64) -> String {
    let secure = if plain_http_loopback(public_base_url) {
        ""
    } else {
        "; Secure"
    };
    format!(
        "{}={value}; Path=/; Max-Age={max_age}; HttpOnly{secure}; SameSite=Strict",
        cookie_name(public_base_url)
    )
}

/// Whether a mutating request from a console session comes from the
/// console itself: its `Origin` is the deployment's own (a cross-site form
/// post carries the other site's, or `null`). A request without `Origin`
/// is refused too: browsers send it on every cross-origin and same-origin
/// POST, so only a non-browser would omit it, and those use keys.
pub fn same_origin(origin: Option<&str>, public_base_url: &str) -> bool {
    let own = public_base_url.trim_end_matches('/');
    origin.is_some_and(|o| !own.is_empty() && o.eq_ignore_ascii_case(own))
}

// --------------------------------------------------- failed sign-ins

/// The limit of failed authentications per client IP (settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthLimit {
    /// Failures allowed in a window.
    pub failures: u32,
    /// The window, in seconds.
    pub window_secs: u64,
}

impl Default for AuthLimit {
    fn default() -> Self {
        AuthLimit {
            failures: 20,
            window_secs: 60,
        }
    }
}

impl AuthLimit {
    /// The window `now` falls in (its start): failures are counted per
    /// fixed window, one row per IP and window.
    pub fn window(&self, now: u64) -> u64 {
        now - now % self.window_secs.max(1)
    }

    /// `Retry-After` seconds when an IP with `failures` in the current
    /// window is shut out at `now`; `None` while it may still try. While
    /// shut out, every credential from it is refused unread, so a guess
    /// that happens to be right is refused too.
    pub fn blocked(&self, failures: u32, now: u64) -> Option<u64> {
        (failures >= self.failures).then(|| self.window(now) + self.window_secs.max(1) - now)
    }
}

spelled_enum! {
    /// How a merchant request ended (the audit entry's `outcome`).
    Outcome {
        /// Done (2xx/3xx).
        Ok => "ok",
        /// Refused for its credential or permission (401, 403, 429).
        Denied => "denied",
        /// Anything else (4xx input, 5xx).
        Error => "error",
    }
}

impl Outcome {
    /// The outcome of an answer with HTTP `status`.
    pub fn of_status(status: u16) -> Outcome {
        match status {
            200..=399 => Outcome::Ok,
            401 | 403 | 429 => Outcome::Denied,
            _ => Outcome::Error,
        }
    }
}

// ------------------------------------------------------- API shapes

/// `POST /v1/keys` and `POST /v1/sign-in-links`: a name and a role (each
/// read leniently and checked by [`name`] and [`role`], so a missing one is
/// its own 400, not a parse error).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct CreateCredential {
    /// The person or device it is for.
    #[serde(default)]
    pub name: String,
    /// One of the five roles.
    #[serde(default)]
    pub role: String,
    /// Seconds until a key stops working (keys only; absent: never).
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// `POST /v1/keys/{id}/roll`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct RollRequest {
    /// How long the old key keeps working, 0 to 7 days.
    #[serde(default)]
    pub expires_in: Option<i64>,
}

/// A key as listed (never the key itself).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyView {
    /// `key_…`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// `sk_` and the key's first 8 hex digits.
    pub prefix: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Last authenticated request (to the minute).
    pub last_used_at: Option<u64>,
    /// When it stops working, if ever.
    pub expires_at: Option<u64>,
    /// When it was revoked.
    pub revoked_at: Option<u64>,
}

/// A new key: the only answer that carries `key`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewKey {
    /// `key_…`.
    pub id: String,
    /// The key: shown once, stored only as its hash.
    pub key: String,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// `sk_` and its first 8 hex digits.
    pub prefix: String,
    /// Unix seconds.
    pub created_at: u64,
    /// When it stops working, if ever.
    pub expires_at: Option<u64>,
}

/// `POST /v1/sign-in-links`' answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInLink {
    /// `sil_…`.
    pub id: String,
    /// Opens a console session once, until `expires_at`.
    pub url: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// A console session as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionView {
    /// `ses_…`.
    pub id: String,
    /// The person's name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// `signin_link`, `api_key` or `admin_token`.
    pub via: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Last request (to the minute).
    pub last_seen_at: u64,
    /// When it ends at the latest (7 days after `created_at`).
    pub expires_at: u64,
    /// When it was revoked.
    pub revoked_at: Option<u64>,
}

/// One audit entry, as the request that wrote it knew it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Unix seconds.
    pub at: u64,
    /// Who.
    pub actor: Actor,
    /// The client's IP.
    pub ip: String,
    /// The route, e.g. `POST /v1/orders/{code}/refunds`.
    pub action: String,
    /// The ids the path named (a charge code, a key id), if any.
    pub object: Option<String>,
    /// The request's id (`X-Request-Id`).
    pub request_id: String,
}

/// `GET /v1/audit`'s entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Increasing: the cursor of `starting_after`.
    pub id: u64,
    /// The entry.
    #[serde(flatten)]
    pub entry: AuditEntry,
    /// How the request ended.
    pub outcome: Outcome,
}

/// A page of a list, newest first (Stripe's list object).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The entries.
    pub data: Vec<T>,
    /// Whether older entries follow (`starting_after` the last id).
    pub has_more: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// API.md's matrix, row by row: (permission, owner, manager, cashier,
    /// accountant, viewer).
    const MATRIX: [(Permission, [bool; 5]); 6] = [
        (Permission::Read, [true, true, true, true, true]),
        (Permission::Charge, [true, true, true, false, false]),
        (Permission::Refund, [true, true, false, false, false]),
        (Permission::Events, [true, true, false, false, false]),
        (Permission::Statements, [true, true, false, true, false]),
        (Permission::Staff, [true, false, false, false, false]),
    ];

    #[test]
    fn roles_hold_exactly_the_permissions_of_the_contract() {
        for (permission, row) in MATRIX {
            for (role, allowed) in Role::ALL.iter().copied().zip(row) {
                assert_eq!(role.allows(permission), allowed, "{role:?} {permission:?}");
                let checked = check(role, Some(permission));
                assert_eq!(checked.is_ok(), allowed);
                if !allowed {
                    assert_eq!(
                        checked,
                        Err(Error::Forbidden {
                            permission: permission.as_str()
                        })
                    );
                }
            }
        }
        assert_eq!(MATRIX.len(), Permission::ALL.len());
    }

    #[test]
    fn a_route_without_a_permission_is_refused_to_every_role() {
        for &role in Role::ALL {
            assert!(check(role, None).is_err());
        }
    }

    #[test]
    fn spellings_round_trip() {
        for &role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Permission::Refund.as_str(), "refunds:write");
        assert_eq!(role("admin"), Err(Error::InvalidRole));
        assert_eq!(role("Owner"), Err(Error::InvalidRole));
    }

    #[test]
    fn keys_are_160_random_bits_with_a_short_prefix() {
        let key = key_from_random(&[0xab; KEY_BYTES]);
        assert_eq!(key.len(), 3 + 40);
        assert_eq!(key_prefix(&key), "sk_abababab");
        assert_eq!(
            presented(&format!("Bearer {key}")),
            Ok(Presented::Key(&key[..]))
        );
        assert_eq!(secret_hash(&key).len(), 64);
        assert_ne!(secret_hash(&key), secret_hash("sk_other"));
    }

    #[test]
    fn presented_credentials_are_taken_as_given() {
        let key = key_from_random(&[1; KEY_BYTES]);
        for bad in [
            format!("Bearer {key}\n"),
            format!("Bearer  {key}"),
            format!("Bearer {key} "),
            format!("bearer {key}"),
            "Basic abc".to_owned(),
            "Bearer ".to_owned(),
        ] {
            assert_eq!(presented(&bad), Err(Refusal::Malformed), "{bad:?}");
        }
        assert_eq!(
            presented("Bearer some-admin-token"),
            Ok(Presented::Token("some-admin-token"))
        );
        // Not 40 hex digits: a token, compared with ADMIN_TOKEN (and fails).
        assert_eq!(presented("Bearer sk_12"), Ok(Presented::Token("sk_12")));
    }

    #[test]
    fn key_validity_revocation_expiry() {
        let live = KeyTimes {
            expires_at: None,
            revoked_at: None,
        };
        assert_eq!(key_valid(live, 100), Ok(()));
        let revoked = KeyTimes {
            revoked_at: Some(50),
            ..live
        };
        assert_eq!(key_valid(revoked, 100), Err(Refusal::Revoked));
        let ending = KeyTimes {
            expires_at: Some(100),
            ..live
        };
        assert_eq!(key_valid(ending, 99), Ok(()));
        assert_eq!(key_valid(ending, 100), Err(Refusal::Expired));
    }

    #[test]
    fn a_roll_keeps_the_old_key_for_the_overlap_and_no_longer() {
        let live = KeyTimes {
            expires_at: None,
            revoked_at: None,
        };
        assert_eq!(roll(live, 3600, 1000), Ok(4600));
        assert_eq!(roll(live, 0, 1000), Ok(1000));
        let soon = KeyTimes {
            expires_at: Some(2000),
            ..live
        };
        assert_eq!(roll(soon, 3600, 1000), Ok(2000), "never extends a key");
        let revoked = KeyTimes {
            revoked_at: Some(10),
            ..live
        };
        assert_eq!(roll(revoked, 60, 1000), Err(Error::KeyRevoked));
        assert_eq!(roll(soon, 60, 2000), Err(Error::KeyRevoked), "expired");
        assert_eq!(roll_expires_in(604_800), Ok(604_800));
        assert!(roll_expires_in(604_801).is_err());
        assert!(roll_expires_in(-1).is_err());
    }

    #[test]
    fn input_rules() {
        assert_eq!(name("  till 1 "), Ok("till 1".to_owned()));
        assert_eq!(name(""), Err(Error::InvalidName));
        assert_eq!(name("   "), Err(Error::InvalidName));
        assert_eq!(name(&"x".repeat(200)), Err(Error::InvalidName));
        assert!(name(&"字".repeat(199)).is_ok());
        assert_eq!(name("a\nb"), Err(Error::InvalidName));
        assert_eq!(key_expires_in(None), Ok(None));
        assert_eq!(key_expires_in(Some(60)), Ok(Some(60)));
        assert!(key_expires_in(Some(59)).is_err());
        assert!(key_expires_in(Some(0)).is_err());
        assert!(key_expires_in(Some(MAX_KEY_SECS as i64 + 1)).is_err());
        assert_eq!(revoke(None), Ok(()));
        assert_eq!(revoke(Some(1)), Err(Error::AlreadyRevoked));
    }

    #[test]
    fn last_used_is_written_at_most_once_per_interval() {
        assert!(touch_due(None, 100, 60));
        assert!(!touch_due(Some(100), 159, 60));
        assert!(touch_due(Some(100), 160, 60));
        let short = SessionPolicy {
            idle_secs: 8,
            ..SessionPolicy::default()
        };
        assert_eq!(short.touch_interval(), 2);
        assert_eq!(SessionPolicy::default().touch_interval(), 60);
    }

    #[test]
    fn sessions_end_idle_absolute_or_revoked() {
        let p = SessionPolicy::default();
        let s = SessionTimes {
            created_at: 0,
            last_seen_at: 0,
            revoked_at: None,
        };
        assert_eq!(session_valid(s, &p, 12 * 3600 - 1), Ok(()));
        assert_eq!(session_valid(s, &p, 12 * 3600), Err(Refusal::Idle));
        let busy = SessionTimes {
            last_seen_at: 7 * 86_400 - 10,
            ..s
        };
        assert_eq!(session_valid(busy, &p, 7 * 86_400 - 1), Ok(()));
        assert_eq!(session_valid(busy, &p, 7 * 86_400), Err(Refusal::Expired));
        let out = SessionTimes {
            revoked_at: Some(5),
            ..s
        };
        assert_eq!(session_valid(out, &p, 6), Err(Refusal::Revoked));
        assert_eq!(session_expires_at(10, &p), 10 + 7 * 86_400);
    }

    #[test]
    fn signin_links_open_once_and_in_time() {
        assert_eq!(signin_link(900, None, 899), Ok(()));
        assert_eq!(signin_link(900, None, 900), Err(Error::SigninLinkExpired));
        assert_eq!(signin_link(900, Some(10), 20), Err(Error::SigninLinkUsed));
        assert_eq!(signin_link(900, Some(10), 901), Err(Error::SigninLinkUsed));
    }

    #[test]
    fn the_cookie_is_host_only_secure_except_on_plain_loopback() {
        let https = "https://pay.example.com";
        let c = set_cookie(https, "t.s", 60);
        assert_eq!(
            c,
            "__Host-soushou_session=t.s; Path=/; Max-Age=60; HttpOnly; Secure; SameSite=Strict"
        );
        let local = "http://127.0.0.1:8787";
        assert_eq!(
            set_cookie(local, "t.s", 0),
            "soushou_session=t.s; Path=/; Max-Age=0; HttpOnly; SameSite=Strict"
        );
        assert!(plain_http_loopback("http://localhost"));
        assert!(plain_http_loopback("http://[::1]:8787/"));
        assert!(!plain_http_loopback("http://pay.example.com"));
        assert!(!plain_http_loopback("http://127.0.0.1.example.com"));
        assert!(!plain_http_loopback(https));
    }

    #[test]
    fn cookies_of_another_deployment_are_told_apart() {
        let ours = deployment_tag("http://127.0.0.1:8787");
        let theirs = deployment_tag("http://127.0.0.1:8788");
        assert_ne!(ours, theirs);
        let value = cookie_value(&ours, "s3cr3t");
        assert_eq!(cookie_secret(&value, &ours), Ok("s3cr3t"));
        assert_eq!(
            cookie_secret(&cookie_value(&theirs, "x"), &ours),
            Err(Refusal::ForeignDeployment)
        );
        assert_eq!(cookie_secret("junk", &ours), Err(Refusal::Malformed));
        let header = format!("a=1; {COOKIE_PLAIN}={value}; b=2");
        assert_eq!(find_cookie(&header, COOKIE_PLAIN), Some(value.as_str()));
        assert_eq!(find_cookie(&header, COOKIE_HOST), None);
    }

    #[test]
    fn only_the_deployments_own_origin_may_mutate_with_a_cookie() {
        let own = "https://pay.example.com";
        assert!(same_origin(Some("https://pay.example.com"), own));
        assert!(same_origin(
            Some("https://pay.example.com"),
            "https://pay.example.com/"
        ));
        assert!(!same_origin(Some("https://evil.example"), own));
        assert!(!same_origin(Some("null"), own));
        assert!(!same_origin(None, own));
        assert!(!same_origin(Some(""), ""));
    }

    #[test]
    fn failed_authentications_shut_an_ip_out_for_the_window() {
        let limit = AuthLimit::default();
        assert_eq!(limit.window(125), 120);
        assert_eq!(limit.blocked(19, 125), None);
        assert_eq!(limit.blocked(20, 125), Some(55));
        assert_eq!(limit.blocked(50, 179), Some(1));
    }

    #[test]
    fn outcomes_by_status() {
        assert_eq!(Outcome::of_status(201), Outcome::Ok);
        assert_eq!(Outcome::of_status(303), Outcome::Ok);
        for s in [401, 403, 429] {
            assert_eq!(Outcome::of_status(s), Outcome::Denied);
        }
        assert_eq!(Outcome::of_status(400), Outcome::Error);
        assert_eq!(Outcome::of_status(502), Outcome::Error);
    }
}
