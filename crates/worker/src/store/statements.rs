//! Daily statements (`statements`) and the reads that build them: a day's
//! money movements summed per channel, its unsettled orders and refunds,
//! the latest revision — one batch; the insert of a new revision; the
//! day's rows for its CSV, in keyset chunks. Decisions in
//! `checkout::statement`.

use checkout::events;
use checkout::list::Channel;
use checkout::statement::{Day, Group, Movement, Statement};
use checkout::vocab::OrderStatus;
use serde::Deserialize;
use soushou::types::ChannelType;
use soushou::Fen;

use super::{all, changes, n, prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::{ApiError, ApiResult};

/// The states of an order whose money the merchant got (a revoked one's
/// went back).
const KEPT: &str = "('paid', 'partially_refunded', 'refunded')";

/// Whether a refund (`r`) is the refund of a duplicate payment: numbered
/// `dup-{charge code}` or `dup-{charge code}-{n}`
/// (`checkout::settle::duplicate_refund_no`).
const IS_DUP: &str = "(r.out_refund_no = 'dup-' || r.charge_code \
    OR r.out_refund_no LIKE 'dup-' || r.charge_code || '-%')";

/// Unsettled rows a build looks at, per run.
const UNSETTLED: u64 = 25;

#[derive(Deserialize)]
struct GroupRow {
    channel_type: ChannelType,
    dup: Option<u64>,
    count: u64,
    #[serde(deserialize_with = "super::fen")]
    amount_fen: Fen,
}

/// An order of the day still pending.
#[derive(Clone, Debug, Deserialize)]
pub struct Unsettled {
    /// The order.
    pub charge_code: String,
    /// Its state (pending).
    pub state: OrderStatus,
}

/// A refund of the day still pending.
#[derive(Clone, Debug, Deserialize)]
pub struct UnsettledRefund {
    /// The refund.
    pub out_refund_no: String,
    /// Its order.
    pub charge_code: String,
}

#[derive(Deserialize)]
struct BodyRow {
    body: String,
}

/// What a build of `day` reads.
pub struct DayRead {
    /// The day's movements, summed per kind and channel.
    pub groups: Vec<Group>,
    /// Orders created in the day and still pending (at most 25).
    pub pending: Vec<Unsettled>,
    /// Refunds created in the day and still pending (at most 25).
    pub pending_refunds: Vec<UnsettledRefund>,
    /// The latest revision, if any.
    pub latest: Option<Statement>,
}

/// Reads everything a build of `day` needs, in one round trip.
pub async fn read_day(db: &Db, day: Day) -> ApiResult<DayRead> {
    let results = db.batch(day_reads(db, day)?).await.stored()?;
    let [paid, refunded, pending, pending_refunds, latest] = results.as_slice() else {
        return Err(ApiError::Storage(
            "a statement read of five answered otherwise".into(),
        ));
    };
    let mut groups = Vec::new();
    for (result, refunds) in [(paid, false), (refunded, true)] {
        for g in result.results::<GroupRow>().stored()? {
            groups.push(Group {
                movement: match (refunds, g.dup) {
                    (false, _) => Movement::Payment,
                    (true, Some(1)) => Movement::DuplicateRefund,
                    (true, _) => Movement::Refund,
                },
                channel: Channel::of(&g.channel_type),
                count: g.count,
                amount: g.amount_fen,
            });
        }
    }
    let latest = match latest.results::<BodyRow>().stored()?.into_iter().next() {
        Some(row) => Some(parse(&row.body)?),
        None => None,
    };
    Ok(DayRead {
        groups,
        pending: pending.results().stored()?,
        pending_refunds: pending_refunds.results().stored()?,
        latest,
    })
}

/// The five reads of [`read_day`]: payments and refunds summed per
/// channel (through the indexes on `paid_at` and the refunds'
/// settlement), the pending orders and refunds, the latest revision.
fn day_reads(db: &Db, day: Day) -> ApiResult<Vec<Stmt<'_>>> {
    let range = [n(day.start()), n(day.end())];
    Ok(vec![
        prepare(
            db,
            &format!(
                "SELECT channel_type, NULL AS dup, COUNT(*) AS count, SUM(amount_fen) AS amount_fen \
                 FROM orders INDEXED BY orders_by_paid \
                 WHERE paid_at >= ?1 AND paid_at < ?2 AND state IN {KEPT} GROUP BY channel_type"
            ),
            &range,
        )?,
        prepare(
            db,
            &format!(
                "SELECT o.channel_type, {IS_DUP} AS dup, COUNT(*) AS count, \
                 SUM(r.amount_fen) AS amount_fen \
                 FROM refunds r INDEXED BY refunds_by_settled \
                 JOIN orders o ON o.charge_code = r.charge_code \
                 WHERE r.state = 'succeeded' AND r.updated_at >= ?1 AND r.updated_at < ?2 \
                 GROUP BY o.channel_type, dup"
            ),
            &range,
        )?,
        prepare(
            db,
            &format!(
                "SELECT charge_code, state FROM orders INDEXED BY orders_by_state \
                 WHERE state = 'pending' AND created_at >= ?1 AND created_at < ?2 LIMIT {UNSETTLED}"
            ),
            &range,
        )?,
        prepare(
            db,
            &format!(
                "SELECT out_refund_no, charge_code FROM refunds INDEXED BY refunds_by_state \
                 WHERE state = 'pending' AND created_at >= ?1 AND created_at < ?2 \
                 LIMIT {UNSETTLED}"
            ),
            &range,
        )?,
        prepare(
            db,
            "SELECT body FROM statements WHERE date = ?1 ORDER BY revision DESC LIMIT 1",
            &[t(&day.to_string())],
        )?,
    ])
}

/// A stored statement body.
fn parse(body: &str) -> ApiResult<Statement> {
    serde_json::from_str(body).map_err(|e| ApiError::Storage(format!("statement body: {e}")))
}

/// Stores a new revision and, in the same batch (one transaction), its
/// `statement.ready` event (`checkout::events::statement_ready`), written
/// only if the revision was stored; `false` if that revision exists
/// already (a concurrent build wrote it, and its event: revisions are
/// never overwritten, nor announced twice).
pub async fn insert(db: &Db, s: &Statement) -> ApiResult<bool> {
    let body = serde_json::to_string(s).map_err(|e| ApiError::Internal(e.to_string()))?;
    let figures =
        serde_json::to_string(&s.summary).map_err(|e| ApiError::Internal(e.to_string()))?;
    let result = prepare(
        db,
        "INSERT OR IGNORE INTO statements (date, revision, reason, digest, body, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            t(&s.date),
            n(u64::from(s.revision)),
            super::ot(s.reason.as_deref()),
            t(&figures),
            t(&body),
            n(s.created_at),
        ],
    )?;
    let event = super::events::statement_event(db, &events::statement_ready(s), s.created_at)?;
    let results = db.batch(vec![result, event]).await.stored()?;
    super::events::note_written(results.get(1));
    match results.first() {
        Some(r) => Ok(changes(r)? == 1),
        None => Err(ApiError::Storage(
            "a statement insert answered nothing".into(),
        )),
    }
}

/// A day's statement: the latest revision, or the one asked for.
pub async fn get(db: &Db, day: Day, revision: Option<u32>) -> ApiResult<Option<Statement>> {
    let rows: Vec<BodyRow> = match revision {
        None => {
            all(
                db,
                "SELECT body FROM statements WHERE date = ?1 ORDER BY revision DESC LIMIT 1",
                &[t(&day.to_string())],
            )
            .await?
        }
        Some(r) => {
            all(
                db,
                "SELECT body FROM statements WHERE date = ?1 AND revision = ?2",
                &[t(&day.to_string()), n(u64::from(r))],
            )
            .await?
        }
    };
    rows.first().map(|r| parse(&r.body)).transpose()
}

/// The latest revision of each day in `[from, to]`, newest day first.
pub async fn list(db: &Db, from: Day, to: Day) -> ApiResult<Vec<Statement>> {
    let rows: Vec<BodyRow> = all(
        db,
        "SELECT s.body FROM statements s WHERE s.date >= ?1 AND s.date <= ?2 \
         AND s.revision = (SELECT MAX(revision) FROM statements WHERE date = s.date) \
         ORDER BY s.date DESC",
        &[t(&from.to_string()), t(&to.to_string())],
    )
    .await?;
    rows.iter().map(|r| parse(&r.body)).collect()
}

/// One line of a statement's CSV: a payment, or a refund (a duplicate
/// payment's refund is told by its number).
#[derive(Clone, Debug, Deserialize)]
pub struct LineRow {
    /// When the money moved (paid_at, or the refund's settlement).
    pub at: u64,
    /// The order.
    pub charge_code: String,
    /// The refund (`None` for a payment).
    pub out_refund_no: Option<String>,
    /// The order's gateway channel.
    pub channel_type: ChannelType,
    /// The order's method.
    pub method: String,
    /// The money moved.
    #[serde(deserialize_with = "super::fen")]
    pub amount_fen: Fen,
    /// The order's subject.
    pub subject: String,
    /// The order's merchant reference.
    pub merchant_ref: Option<String>,
}

/// Up to `chunk` payments of `day` (by `(paid_at, charge_code)`) after
/// `key`, the key of the previous chunk's last one.
pub async fn payment_lines(
    db: &Db,
    day: Day,
    chunk: u32,
    key: Option<(u64, &str)>,
) -> ApiResult<Vec<LineRow>> {
    let (at, code) = key.unwrap_or((0, ""));
    all(
        db,
        &format!(
            "SELECT paid_at AS at, charge_code, NULL AS out_refund_no, \
             channel_type, method, amount_fen, subject, merchant_ref \
             FROM orders INDEXED BY orders_by_paid \
             WHERE paid_at >= ?1 AND paid_at < ?2 AND state IN {KEPT} \
             AND (paid_at, charge_code) > (?3, ?4) \
             ORDER BY paid_at, charge_code LIMIT ?5"
        ),
        &[
            n(day.start()),
            n(day.end()),
            n(at),
            t(code),
            n(u64::from(chunk)),
        ],
    )
    .await
}

/// Up to `chunk` refunds settled in `day` (by `(updated_at,
/// out_refund_no)`) after `key`.
pub async fn refund_lines(
    db: &Db,
    day: Day,
    chunk: u32,
    key: Option<(u64, &str)>,
) -> ApiResult<Vec<LineRow>> {
    let (at, no) = key.unwrap_or((0, ""));
    all(
        db,
        "SELECT r.updated_at AS at, r.charge_code, r.out_refund_no, \
         o.channel_type, o.method, r.amount_fen, o.subject, o.merchant_ref \
         FROM refunds r INDEXED BY refunds_by_settled \
         JOIN orders o ON o.charge_code = r.charge_code \
         WHERE r.state = 'succeeded' AND r.updated_at >= ?1 AND r.updated_at < ?2 \
         AND (r.updated_at, r.out_refund_no) > (?3, ?4) \
         ORDER BY r.updated_at, r.out_refund_no LIMIT ?5",
        &[
            n(day.start()),
            n(day.end()),
            n(at),
            t(no),
            n(u64::from(chunk)),
        ],
    )
    .await
}
