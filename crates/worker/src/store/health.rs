//! What the Worker knows of its own health (`cron_runs`, wrangler's
//! `d1_migrations`), for `GET /v1/settings`.

use checkout::health::{CronHealth, MigrationsHealth};
use serde::Deserialize;

use super::{n, prepare, Stored};
use crate::platform::db::Db;
use crate::platform::error::ApiResult;

/// Records the cron's run that finished at `now` (one row, overwritten).
pub async fn record_cron_run(db: &Db, now: u64, ok: bool) -> ApiResult<()> {
    db.change(vec![prepare(
        db,
        "INSERT INTO cron_runs (id, at, ok) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET at = excluded.at, ok = excluded.ok",
        &[n(now), n(u64::from(ok))],
    )?])
    .await
    .stored()?;
    Ok(())
}

/// The cron's last run (none before the first).
pub async fn cron(db: &Db) -> ApiResult<CronHealth> {
    #[derive(Deserialize)]
    struct Row {
        at: u64,
        ok: u8,
    }
    let row = prepare(db, "SELECT at, ok FROM cron_runs WHERE id = 1", &[])?
        .first::<Row>()
        .await
        .stored()?;
    Ok(CronHealth {
        last_run_at: row.as_ref().map(|r| r.at),
        ok: row.map(|r| r.ok != 0),
    })
}

/// The migrations wrangler applied: how many, and the latest. Unknown
/// (`null`s) when `d1_migrations` cannot be read (a database migrated
/// by other means).
pub async fn migrations(db: &Db) -> MigrationsHealth {
    #[derive(Deserialize)]
    struct Row {
        applied: u64,
        latest: Option<String>,
    }
    let read = async {
        prepare(
            db,
            "SELECT COUNT(*) AS applied, MAX(name) AS latest FROM d1_migrations",
            &[],
        )?
        .first::<Row>()
        .await
        .stored()
    };
    match read.await {
        Ok(Some(r)) => MigrationsHealth {
            applied: Some(r.applied),
            latest: r.latest,
        },
        _ => MigrationsHealth {
            applied: None,
            latest: None,
        },
    }
}
