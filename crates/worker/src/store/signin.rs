//! Sign-in states (`oauth_states`): recorded before the shopper goes to
//! the wallet, claimed once by the callback.

use checkout::oauth::Wallet;
use serde::{Deserialize, Deserializer};

use super::{all, changes, n, prepare, t};
use crate::platform::db::Db;
use crate::platform::error::ApiResult;

/// Records a sign-in `state` before the shopper goes to the wallet.
pub async fn insert_oauth_state(
    db: &Db,
    nonce: &str,
    wallet: Wallet,
    link_id: &str,
    token: &str,
    expires_at: u64,
) -> ApiResult<()> {
    prepare(
        db,
        "INSERT INTO oauth_states (nonce, wallet, link_id, token, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        &[t(nonce), t(wallet.as_str()), t(link_id), t(token), n(expires_at)],
    )?
    .run()
    .await?;
    Ok(())
}

/// A sign-in state claimed by its callback.
#[derive(Debug, Deserialize)]
pub struct OauthStateRow {
    /// The wallet it was recorded for.
    #[serde(deserialize_with = "wallet")]
    pub wallet: Wallet,
    /// The link the sign-in started from.
    pub link_id: String,
    /// Its token (the callback returns there).
    pub token: String,
}

/// What claiming a state found.
pub enum OauthClaim {
    /// First use: the row, its token now erased.
    Claimed(OauthStateRow),
    /// Used before.
    Used,
    /// Never recorded (or purged).
    Unknown,
}

/// Claims a state once, atomically (`UPDATE ... WHERE used_at IS NULL
/// RETURNING`), so two callbacks with one state cannot both proceed.
pub async fn claim_oauth_state(db: &Db, nonce: &str, now: u64) -> ApiResult<OauthClaim> {
    // RETURNING gives the row as updated, so the token is erased by a
    // second statement of the same batch (one transaction).
    let results = db
        .batch(vec![
            prepare(
                db,
                "UPDATE oauth_states SET used_at = ?2 \
                 WHERE nonce = ?1 AND used_at IS NULL RETURNING wallet, link_id, token",
                &[t(nonce), n(now)],
            )?,
            prepare(
                db,
                "UPDATE oauth_states SET token = NULL WHERE nonce = ?1",
                &[t(nonce)],
            )?,
        ])
        .await?;
    let claimed: Vec<OauthStateRow> = match results.first() {
        Some(r) => r.results()?,
        None => Vec::new(),
    };
    if let Some(row) = claimed.into_iter().next() {
        return Ok(OauthClaim::Claimed(row));
    }
    #[derive(Deserialize)]
    struct Count {
        n: u64,
    }
    let seen: Vec<Count> = all(
        db,
        "SELECT COUNT(*) AS n FROM oauth_states WHERE nonce = ?1",
        &[t(nonce)],
    )
    .await?;
    Ok(if seen.first().is_some_and(|c| c.n > 0) {
        OauthClaim::Used
    } else {
        OauthClaim::Unknown
    })
}

/// Deletes sign-in states that expired before `cutoff`; returns how many.
pub async fn purge_oauth_states(db: &Db, cutoff: u64) -> ApiResult<usize> {
    let result = prepare(
        db,
        "DELETE FROM oauth_states WHERE expires_at < ?1",
        &[n(cutoff)],
    )?
    .run()
    .await?;
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
