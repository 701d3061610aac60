//! Sign-in states (`oauth_states`, `migrations/0009_signin_bounded.sql`):
//! recorded before the shopper goes to the wallet (bounded per link and
//! per client), read and MAC-checked by the callback, then claimed once.

use checkout::oauth::Wallet;
use serde::{Deserialize, Deserializer};

use checkout::flow::pay::NewLink;

use super::links::insert_link_statement;
use super::{changes, n, prepare, t, Stored};
use crate::platform::db::Db;
use crate::platform::error::ApiResult;

/// One sign-in start to record.
pub struct NewState<'a> {
    /// The state's nonce.
    pub nonce: &'a str,
    /// The wallet it goes to.
    pub wallet: Wallet,
    /// The link it starts from, recorded too (idempotent) so the callback
    /// finds the token there.
    pub link: &'a NewLink,
    /// `checkout::oauth::client_id` of the shopper's IP.
    pub client: &'a str,
    /// Unix seconds now.
    pub now: u64,
    /// Unix seconds the state expires.
    pub expires_at: u64,
}

/// Records a sign-in `state` before the shopper goes to the wallet, in one
/// conditional INSERT that counts the link's and the client's starts since
/// `checkout::oauth::window_start` against `checkout::oauth::START_LIMIT`
/// (atomic: racing starts cannot pass a limit together). False: a limit is
/// reached and nothing was written.
pub async fn insert_oauth_state(db: &Db, s: &NewState<'_>) -> ApiResult<bool> {
    let limit = checkout::oauth::START_LIMIT;
    let results = db
        .batch(vec![
            insert_link_statement(db, s.link, s.now)?,
            prepare(
                db,
                "INSERT INTO oauth_states (nonce, wallet, link_id, client, created_at, expires_at) \
                 SELECT ?1, ?2, ?3, ?4, ?5, ?6 \
                 WHERE (SELECT COUNT(*) FROM oauth_states WHERE link_id = ?3 AND created_at > ?7) < ?8 \
                 AND (SELECT COUNT(*) FROM oauth_states WHERE client = ?4 AND created_at > ?7) < ?9",
                &[
                    t(s.nonce),
                    t(s.wallet.as_str()),
                    t(&s.link.link_id),
                    t(s.client),
                    n(s.now),
                    n(s.expires_at),
                    n(checkout::oauth::window_start(s.now)),
                    n(limit.per_link),
                    n(limit.per_client),
                ],
            )?,
        ])
        .await
        .stored()?;
    match results.get(1) {
        Some(r) => Ok(changes(r)? == 1),
        None => Ok(false),
    }
}

/// A recorded sign-in state, as the callback first reads it (before
/// anything is written: its MAC is checked against it first).
#[derive(Debug, Deserialize)]
pub struct OauthStateRow {
    /// The wallet it was recorded for.
    #[serde(deserialize_with = "wallet")]
    pub wallet: Wallet,
    /// The link the sign-in started from.
    pub link_id: String,
}

/// The state recorded under `nonce`, if any.
pub async fn oauth_state(db: &Db, nonce: &str) -> ApiResult<Option<OauthStateRow>> {
    prepare(
        db,
        "SELECT wallet, link_id FROM oauth_states WHERE nonce = ?1",
        &[t(nonce)],
    )?
    .first::<OauthStateRow>()
    .await
    .stored()
}

/// Claims a state once, atomically (`UPDATE ... WHERE used_at IS NULL`),
/// so two callbacks with one state cannot both proceed. False: used before.
pub async fn claim_oauth_state(db: &Db, nonce: &str, now: u64) -> ApiResult<bool> {
    let result = prepare(
        db,
        "UPDATE oauth_states SET used_at = ?2 WHERE nonce = ?1 AND used_at IS NULL",
        &[t(nonce), n(now)],
    )?
    .run()
    .await
    .stored()?;
    Ok(changes(&result)? == 1)
}

/// Deletes at most `checkout::oauth::PURGE_BATCH` sign-in states that
/// expired before `cutoff`; returns how many (a bounded statement: a
/// backlog is worked off over several cron runs).
pub async fn purge_oauth_states(db: &Db, cutoff: u64) -> ApiResult<usize> {
    let result = prepare(
        db,
        "DELETE FROM oauth_states WHERE nonce IN \
         (SELECT nonce FROM oauth_states WHERE expires_at < ?1 LIMIT ?2)",
        &[n(cutoff), n(checkout::oauth::PURGE_BATCH)],
    )?
    .run()
    .await
    .stored()?;
    changes(&result)
}

/// A stored wallet name (`Wallet::as_str`); any other is a storage error.
fn wallet<'de, D: Deserializer<'de>>(d: D) -> Result<Wallet, D::Error> {
    let name = String::deserialize(d)?;
    [Wallet::Wechat, Wallet::Alipay]
        .into_iter()
        .find(|w| w.as_str() == name)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown wallet {name:?}")))
}
