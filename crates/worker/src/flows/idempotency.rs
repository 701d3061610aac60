//! `Idempotency-Key` on the merchant API's POSTs, the I/O half (decisions:
//! `checkout::idempotency`). Wraps the dispatch of `/v1/...` in `lib.rs`, so
//! the handlers know nothing of it:
//!
//! 1. [`begin`] fingerprints the request (method, path, body read from a
//!    copy), claims the key with one conditional INSERT, or else decides
//!    from the stored row: replay, 409 `IDEMPOTENCY_KEY_REUSED`, 409
//!    `IDEMPOTENCY_KEY_IN_USE`, or take over an expired/abandoned key with a
//!    conditional UPDATE;
//! 2. the handler runs;
//! 3. [`Claim::finish`] stores an answer below 500 (status and body, byte
//!    for byte) or releases the key after a 5xx (the row and its generation
//!    stay, `checkout::idempotency::RELEASED`), so the same request runs
//!    again and resumes the ids derived from its claim ([`Claim::charge_code`],
//!    [`Claim::refund_no`]).

use checkout::idempotency::{self, Answer, Decision};
use serde_json::json;
use worker::{Method, Request, Response};

use crate::platform::context::Cx;
use crate::platform::error::{ApiError, ApiResult};
use crate::platform::guard::peek_body;
use crate::platform::log::{now_secs, Level};
use crate::store;

/// The request header.
const HEADER: &str = "Idempotency-Key";

/// What [`begin`] found.
pub enum Begin {
    /// No key (or not a POST): run the request as usual.
    Untracked,
    /// The stored answer of the first request with this key.
    Replay(Response),
    /// This request holds the key: run it, then [`Claim::finish`].
    Claimed(Claim),
}

/// A key this request holds.
pub struct Claim {
    key: String,
    key_id: String,
    locked_at: u64,
    /// When the key's row was first claimed: the ids derived from the key
    /// belong to this claim only (issue 24, defect 1).
    generation: u64,
}

/// The request's key, validated; `None` when it carries none.
fn key(req: &Request) -> ApiResult<Option<String>> {
    match req.headers().get(HEADER).ok().flatten() {
        None => Ok(None),
        Some(k) if idempotency::valid_key(&k) => Ok(Some(k)),
        Some(_) => Err(ApiError::InvalidRequest(
            "Idempotency-Key must be 1-255 printable ASCII characters".into(),
        )),
    }
}

/// Claims the request's key or answers from it (see the module docs).
pub async fn begin(cx: &Cx, req: &Request, method: &Method, path: &str) -> ApiResult<Begin> {
    let log = &cx.log;
    if *method != Method::Post {
        return Ok(Begin::Untracked);
    }
    let Some(key) = key(req)? else {
        return Ok(Begin::Untracked);
    };
    let body = peek_body(req).await?;
    let fingerprint = idempotency::fingerprint(method.as_ref(), path, &body);
    let key_id = idempotency::key_id(&key);
    let db = cx.db()?;
    let now = now_secs();
    // Two rounds: a claim can lose a race to a concurrent claim or purge
    // once; losing twice means another request holds the key right now.
    for _ in 0..2 {
        if store::idempotency::claim_idempotency_key(db, &key_id, &fingerprint, now).await? {
            log.set("idempotency", "claimed");
            return Ok(Begin::Claimed(Claim {
                key,
                key_id,
                locked_at: now,
                generation: now,
            }));
        }
        let stored = store::idempotency::idempotency_record(db, &key_id).await?;
        match idempotency::decide(stored.as_ref(), &fingerprint, now) {
            Decision::Proceed => {
                let Some(seen) = stored else { continue };
                if store::idempotency::take_over_idempotency_key(
                    db,
                    &key_id,
                    &fingerprint,
                    now,
                    &seen,
                )
                .await?
                {
                    log.set("idempotency", "taken_over");
                    return Ok(Begin::Claimed(Claim {
                        key,
                        key_id,
                        locked_at: now,
                        generation: idempotency::generation_after_take_over(&seen, now),
                    }));
                }
            }
            Decision::Replay(answer) => {
                log.set("idempotency", "replayed");
                return Ok(Begin::Replay(replay(answer)?));
            }
            Decision::Reused => return Err(ApiError::IdempotencyKeyReused),
            Decision::InUse => return Err(ApiError::IdempotencyKeyInUse),
        }
    }
    Err(ApiError::IdempotencyKeyInUse)
}

/// The stored answer as a response: same status, same bytes, marked
/// `Idempotent-Replayed: true` (Stripe's header).
fn replay(answer: Answer) -> ApiResult<Response> {
    let resp = Response::from_bytes(answer.body.into_bytes())?.with_status(answer.status);
    let headers = resp.headers();
    headers.set("Content-Type", "application/json")?;
    headers.set("Cache-Control", "no-store")?;
    headers.set("Idempotent-Replayed", "true")?;
    Ok(resp)
}

impl Claim {
    /// The `OUT_REFUND_NO` of a refund without one: derived from the key and
    /// this claim, so a retry resumes the same refund and a key used again
    /// after it expired makes a new one.
    pub fn refund_no(&self) -> String {
        idempotency::refund_no(&self.key, self.generation)
    }

    /// The `CHARGE_CODE` of a POS charge: derived from the key and this
    /// claim, so a retry finds and resumes its own attempt and a key used
    /// again after it expired makes a new charge.
    pub fn charge_code(&self) -> String {
        idempotency::charge_code(&self.key, self.generation)
    }

    /// Stores the handler's answer under the key (below 500) or releases
    /// the key (5xx), then passes the result on unchanged. An error result
    /// is stored as the body `lib.rs` renders for it. A failure to store is
    /// logged, not answered: the key then stays "in progress" until
    /// `checkout::idempotency::LOCK_SECS` pass.
    pub async fn finish(self, cx: &Cx, result: ApiResult<Response>) -> ApiResult<Response> {
        let (status, body, result) = match result {
            Ok(mut resp) => {
                let status = resp.status_code();
                let bytes = resp.bytes().await?;
                let rebuilt = Response::from_bytes(bytes.clone())?
                    .with_status(status)
                    .with_headers(resp.headers().clone());
                (status, bytes, Ok(rebuilt))
            }
            Err(e) => {
                let status = e.status();
                let body =
                    serde_json::to_vec(&e.body()).map_err(|e| ApiError::Storage(e.to_string()))?;
                (status, body, Err(e))
            }
        };
        let stored = async {
            let db = cx.db()?;
            if idempotency::should_store(status) {
                let body = String::from_utf8_lossy(&body);
                store::idempotency::store_idempotent_answer(
                    db,
                    &self.key_id,
                    self.locked_at,
                    status,
                    &body,
                )
                .await
            } else {
                store::idempotency::release_idempotency_key(db, &self.key_id, self.locked_at).await
            }
        }
        .await;
        if let Err(e) = stored {
            cx.log.event(
                Level::Warn,
                "idempotency_store_failed",
                json!({"status": status, "error": e.to_string()}),
            );
        }
        result
    }
}

/// The cron's clean-up: deletes keys older than 24 h; returns how many.
pub async fn purge(cx: &Cx) -> ApiResult<usize> {
    store::idempotency::purge_idempotency_keys(cx.db()?, idempotency::purge_cutoff(now_secs()))
        .await
}
