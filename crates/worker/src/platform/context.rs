//! The per-request context every handler takes: the settings, the request's
//! log record and the D1 binding, looked up once per request (and only when
//! a route needs it, so `/healthz` works without one).

use std::cell::OnceCell;

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
