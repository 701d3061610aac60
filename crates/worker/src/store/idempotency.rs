//! Idempotency keys (`idempotency_keys`, `migrations/0003_idempotency.sql`):
//! one row per key; decisions in `checkout::idempotency`.

use serde::Deserialize;
use worker::wasm_bindgen::JsValue;

use super::{changes, n, prepare, t, Stored};
use crate::platform::db::Db;
use crate::platform::error::ApiResult;

/// A stored idempotency key as `checkout::idempotency::decide` reads it.
pub async fn idempotency_record(
    db: &Db,
    key_id: &str,
) -> ApiResult<Option<checkout::idempotency::Record>> {
    #[derive(Deserialize)]
    struct Row {
        fingerprint: String,
        status: Option<u16>,
        body: Option<String>,
        created_at: u64,
        locked_at: u64,
    }
    let row = prepare(
        db,
        "SELECT fingerprint, status, body, created_at, locked_at FROM idempotency_keys \
         WHERE key_id = ?1",
        &[t(key_id)],
    )?
    .first::<Row>()
    .await
    .stored()?;
    Ok(row.map(|r| checkout::idempotency::Record {
        fingerprint: r.fingerprint,
        created_at: r.created_at,
        locked_at: r.locked_at,
        answer: r.status.map(|status| checkout::idempotency::Answer {
            status,
            body: r.body.unwrap_or_default(),
        }),
    }))
}

/// Claims a free key for a request (one atomic INSERT): true when this
/// call created the row, false when the key already exists.
pub async fn claim_idempotency_key(
    db: &Db,
    key_id: &str,
    fingerprint: &str,
    now: u64,
) -> ApiResult<bool> {
    let result = prepare(
        db,
        "INSERT INTO idempotency_keys (key_id, fingerprint, created_at, locked_at) \
         VALUES (?1, ?2, ?3, ?3) ON CONFLICT (key_id) DO NOTHING",
        &[t(key_id), t(fingerprint), n(now)],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

/// Takes over an expired or abandoned key, only if the row is still exactly
/// as `seen` (so of two takers one wins, and an answer stored meanwhile is
/// never wiped). An expired key starts a new 24 h; an abandoned one keeps
/// its first claim's time.
pub async fn take_over_idempotency_key(
    db: &Db,
    key_id: &str,
    fingerprint: &str,
    now: u64,
    seen: &checkout::idempotency::Record,
) -> ApiResult<bool> {
    let seen_status = seen
        .answer
        .as_ref()
        .map_or(JsValue::NULL, |a| n(u64::from(a.status)));
    let result = prepare(
        db,
        "UPDATE idempotency_keys SET fingerprint = ?2, status = NULL, body = NULL, \
         created_at = CASE WHEN created_at <= ?6 THEN ?3 ELSE created_at END, locked_at = ?3 \
         WHERE key_id = ?1 AND created_at = ?4 AND locked_at = ?5 AND status IS ?7",
        &[
            t(key_id),
            t(fingerprint),
            n(now),
            n(seen.created_at),
            n(seen.locked_at),
            n(checkout::idempotency::purge_cutoff(now)),
            seen_status,
        ],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

/// Stores the answer of the run that claimed the key at `locked_at`.
pub async fn store_idempotent_answer(
    db: &Db,
    key_id: &str,
    locked_at: u64,
    status: u16,
    body: &str,
) -> ApiResult<()> {
    prepare(
        db,
        "UPDATE idempotency_keys SET status = ?3, body = ?4 \
         WHERE key_id = ?1 AND locked_at = ?2 AND status IS NULL",
        &[t(key_id), n(locked_at), n(u64::from(status)), t(body)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

/// Releases the key claimed at `locked_at` (a 5xx outcome: the retry runs
/// again). The row stays with its generation and fingerprint, marked
/// `checkout::idempotency::RELEASED`, so the ids derived from the claim
/// are resumed by the same request and never reached by another.
pub async fn release_idempotency_key(db: &Db, key_id: &str, locked_at: u64) -> ApiResult<()> {
    prepare(
        db,
        "UPDATE idempotency_keys SET locked_at = ?3 \
         WHERE key_id = ?1 AND locked_at = ?2 AND status IS NULL",
        &[t(key_id), n(locked_at), n(checkout::idempotency::RELEASED)],
    )?
    .run()
    .await
    .stored()?;
    Ok(())
}

/// Deletes keys claimed at or before `cutoff` (the cron); returns how many.
pub async fn purge_idempotency_keys(db: &Db, cutoff: u64) -> ApiResult<usize> {
    let result = prepare(
        db,
        "DELETE FROM idempotency_keys WHERE created_at <= ?1",
        &[n(cutoff)],
    )?
    .run()
    .await
    .stored()?;
    changes(&result)
}
