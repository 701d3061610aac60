//! The per-request context every handler takes: the settings, the request's
//! log record and the D1 binding, looked up once per request (and only when
//! a route needs it, so `/healthz` works without one).

use std::cell::{OnceCell, RefCell};

use checkout::access::{Actor, AuditEntry};
use worker::Env;

use crate::platform::config::Settings;
use crate::platform::db::Db;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::log::RequestLog;

/// What one request (or cron run, or background task) works with.
pub struct Cx {
    /// Vars and secrets.
    pub settings: Settings,
    /// The request's log record.
    pub log: RequestLog,
    db: OnceCell<Db>,
    /// Who is calling the merchant API (set once authenticated).
    pub caller: OnceCell<Caller>,
    /// The audit entry of a mutating merchant request, until the request
    /// ends (`flows::access::finish_audit` writes it if no change did).
    pub audit: RefCell<Option<AuditEntry>>,
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller {
    /// Who (never a secret).
    pub actor: Actor,
    /// Whether by a console session (cookie): its mutating requests must
    /// come from the console's own origin.
    pub session: bool,
}

impl Cx {
    /// The context of one invocation.
    pub fn new(env: Env, log: RequestLog) -> Self {
        Self::with_settings(Settings::new(env), log)
    }

    /// A context sharing `settings` (a background task of a request).
    pub fn with_settings(settings: Settings, log: RequestLog) -> Self {
        Cx {
            settings,
            log,
            db: OnceCell::new(),
            caller: OnceCell::new(),
            audit: RefCell::new(None),
        }
    }

    /// The `DB` binding, its round trips counted into the request's log;
    /// a missing one is a misconfiguration.
    pub fn db(&self) -> ApiResult<&Db> {
        if let Some(db) = self.db.get() {
            return Ok(db);
        }
        let db = self
            .settings
            .env()
            .d1("DB")
            .map_err(|_| ApiError::Misconfigured("DB"))?;
        Ok(self.db.get_or_init(|| Db::new(db, self.log.d1_tally())))
    }
}
