//! Issued links (`links`): recorded when first paid or created by the
//! merchant; read for their token (printable QR), merchant reference,
//! kind and whether they are active; deactivated by the merchant.

use checkout::flow::pay::NewLink;
use checkout::vocab::Spelled;
use serde::Deserialize;

use super::{n, ot, prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::ApiResult;

/// The statement recording an issued link (idempotent: the token is the link).
pub(super) fn insert_link_statement<'d>(db: &'d Db, l: &NewLink, now: u64) -> ApiResult<Stmt<'d>> {
    prepare(
        db,
        "INSERT OR IGNORE INTO links (link_id, amount_fen, subject, merchant_ref, return_url, \
         expires_at, created_at, token, kind) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        &[
            t(&l.link_id),
            n(l.amount.fen()),
            t(&l.subject),
            ot(l.merchant_ref.as_deref()),
            ot(l.return_url.as_deref()),
            n(l.expires_at),
            n(now),
            t(&l.token),
            t(l.kind.spelling()),
        ],
    )
}

/// Records an issued link (idempotent: the token is the link).
pub async fn insert_link(db: &Db, link: &NewLink, now: u64) -> ApiResult<()> {
    db.change(vec![insert_link_statement(db, link, now)?])
        .await
        .stored()?;
    Ok(())
}

/// The link's token, `None` for an unknown link; `Some(None)` for a link
/// issued before migration `0004` stored tokens.
pub async fn token(db: &Db, link_id: &str) -> ApiResult<Option<Option<String>>> {
    #[derive(Deserialize)]
    struct Row {
        token: Option<String>,
    }
    let row = prepare(
        db,
        "SELECT token FROM links WHERE link_id = ?1",
        &[t(link_id)],
    )?
    .first::<Row>()
    .await
    .stored()?;
    Ok(row.map(|r| r.token))
}

/// The link's `merchant_ref`, if the link is stored and has one.
pub async fn merchant_ref(db: &Db, link_id: &str) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Row {
        merchant_ref: Option<String>,
    }
    let row = prepare(
        db,
        "SELECT merchant_ref FROM links WHERE link_id = ?1",
        &[t(link_id)],
    )?
    .first::<Row>()
    .await
    .stored()?;
    Ok(row.and_then(|r| r.merchant_ref))
}

/// Deactivates the link (`active = 0`, stamped once; again changes
/// nothing) and answers its token; `None` for an unknown link or one
/// stored without its token (before migration `0004`).
pub async fn deactivate(db: &Db, link_id: &str, now: u64) -> ApiResult<Option<String>> {
    #[derive(Deserialize)]
    struct Row {
        token: Option<String>,
    }
    let update = prepare(
        db,
        "UPDATE links SET active = 0, deactivated_at = COALESCE(deactivated_at, ?2) \
         WHERE link_id = ?1",
        &[t(link_id), n(now)],
    )?;
    let read = prepare(
        db,
        "SELECT token FROM links WHERE link_id = ?1",
        &[t(link_id)],
    )?;
    let results = db.batch(vec![update, read]).await.stored()?;
    let rows = match results.get(1) {
        Some(r) => r.results::<Row>().stored()?,
        None => Vec::new(),
    };
    Ok(rows.into_iter().next().and_then(|r| r.token))
}
