//! The snapshots the refund, duplicate, cancel, POS and webhook flows
//! decide from (`checkout::flow::*::decide`): the rows each flow's doc
//! names, read in one round trip (a D1 batch of reads, one transaction, so
//! the rows agree with each other), typed as the flows take them.

use checkout::flow::{self, duplicate, refund, webhook};
use checkout::vocab::{LinkKind, Spelled};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use worker::D1Result;

use super::attempts::{get_order, OrderRow, ORDER_COLUMNS};
use super::events::{self as outbox, EventRow};
use super::refunds::{RefundRow, REFUNDS_OF};
use super::{prepare, t, Stored};
use crate::platform::db::{Db, Stmt};
use crate::platform::error::{ApiError, ApiResult};

impl RefundRow {
    /// The refund as the flows see it.
    pub fn flow_refund(&self) -> flow::Refund {
        flow::Refund {
            out_refund_no: self.out_refund_no.clone(),
            charge_code: self.charge_code.clone(),
            amount: self.amount,
            reason: self.reason.clone(),
            state: self.state,
            gateway_code: self.gateway_code.clone(),
            updated_at: self.updated_at,
        }
    }
}

/// One attempt (the cancel and POS flows' snapshot).
pub async fn attempt(db: &Db, charge_code: &str) -> ApiResult<Option<flow::Attempt>> {
    Ok(get_order(db, charge_code).await?.map(|o| o.attempt()))
}

/// The refund flow's snapshot of `charge_code`: the attempt, its refunds,
/// and whether `number` (a new refund's) is another attempt's.
pub async fn refund(
    db: &Db,
    charge_code: &str,
    number: Option<&str>,
) -> ApiResult<refund::Snapshot> {
    #[derive(Deserialize)]
    struct Count {
        n: u64,
    }
    let order = prepare(
        db,
        &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE charge_code = ?1"),
        &[t(charge_code)],
    )?;
    let refunds = prepare(db, REFUNDS_OF, &[t(charge_code)])?;
    let elsewhere = prepare(
        db,
        "SELECT COUNT(*) AS n FROM refunds WHERE out_refund_no = ?1 AND charge_code != ?2",
        &[t(number.unwrap_or("")), t(charge_code)],
    )?;
    let results = db.batch(vec![order, refunds, elsewhere]).await.stored()?;
    let attempt = rows::<OrderRow>(results.first())?
        .first()
        .map(OrderRow::attempt);
    let refunds = rows::<RefundRow>(results.get(1))?;
    let elsewhere = rows::<Count>(results.get(2))?;
    Ok(refund::Snapshot {
        attempt,
        refunds: refunds.iter().map(RefundRow::flow_refund).collect(),
        number_elsewhere: number.is_some() && elsewhere.first().is_some_and(|c| c.n > 0),
    })
}

/// The duplicate check's snapshot of `charge_code`: the attempt, every
/// attempt of its link (itself included), its refunds and its link's kind;
/// `None` for an unknown attempt.
pub async fn duplicate(db: &Db, charge_code: &str) -> ApiResult<Option<duplicate::Snapshot>> {
    let results = db.batch(duplicate_reads(db, charge_code)?).await.stored()?;
    duplicate_read(&results)
}

/// The statements of [`duplicate`]'s read, for a batch that carries it
/// (`/notify`'s, after its writes: `store::plan::Read::Around`). A
/// counter code's attempts are not read: it keeps every payment
/// (`duplicate::decide` answers before looking at them), and a counter
/// code used all day has thousands, which every notification of it read.
pub fn duplicate_reads<'d>(db: &'d Db, charge_code: &str) -> ApiResult<Vec<Stmt<'d>>> {
    let order = prepare(
        db,
        &format!("SELECT {ORDER_COLUMNS} FROM orders WHERE charge_code = ?1"),
        &[t(charge_code)],
    )?;
    let link = prepare(
        db,
        &format!(
            "SELECT {ORDER_COLUMNS} FROM orders WHERE link_id = \
             (SELECT link_id FROM orders WHERE charge_code = ?1) \
             AND NOT EXISTS (SELECT 1 FROM links c WHERE c.link_id = orders.link_id \
               AND c.kind = '{counter}') \
             ORDER BY created_at DESC, rowid DESC",
            counter = LinkKind::Counter.spelling()
        ),
        &[t(charge_code)],
    )?;
    let refunds = prepare(db, REFUNDS_OF, &[t(charge_code)])?;
    let kind = prepare(
        db,
        "SELECT kind FROM links WHERE link_id = (SELECT link_id FROM orders WHERE charge_code = ?1)",
        &[t(charge_code)],
    )?;
    Ok(vec![order, link, refunds, kind])
}

/// The snapshot from what [`duplicate_reads`] returned, in order.
pub fn duplicate_read(results: &[D1Result]) -> ApiResult<Option<duplicate::Snapshot>> {
    let Some(attempt) = rows::<OrderRow>(results.first())?
        .first()
        .map(OrderRow::attempt)
    else {
        return Ok(None);
    };
    let link = rows::<OrderRow>(results.get(1))?;
    let refunds = rows::<RefundRow>(results.get(2))?;
    #[derive(Deserialize)]
    struct Kind {
        kind: LinkKind,
    }
    // An attempt of a link stored before its row (before `0004`): fixed.
    let kind = rows::<Kind>(results.get(3))?.first().map(|k| k.kind);
    let kind = attempt
        .link_id
        .as_ref()
        .map(|_| kind.unwrap_or(LinkKind::Fixed));
    Ok(Some(duplicate::Snapshot {
        kind,
        attempt,
        link: link.iter().map(OrderRow::attempt).collect(),
        refunds: refunds.iter().map(RefundRow::flow_refund).collect(),
    }))
}

/// A webhook delivery's load for [`webhook::Input::Deliver`]: the claim
/// ([`outbox::claim`]: `None` when another consumer has it, it is done, or
/// an older event of its order is pending).
pub async fn claim_event(
    db: &Db,
    seq: u64,
    now: u64,
    claim_secs: u64,
) -> ApiResult<Option<webhook::Event>> {
    Ok(outbox::claim(db, seq, now, claim_secs)
        .await?
        .map(EventRow::flow_event))
}

/// A webhook delivery's load for its other inputs: the event as read.
pub async fn event(db: &Db, seq: u64) -> ApiResult<Option<webhook::Event>> {
    Ok(outbox::get(db, seq).await?.map(EventRow::flow_event))
}

impl EventRow {
    /// The event as the delivery flow sees it.
    fn flow_event(self) -> webhook::Event {
        webhook::Event {
            record: self.record,
            round_failures: self.round_failures,
            epay: None,
        }
    }
}

/// The rows one read of a batch returned.
fn rows<T: DeserializeOwned>(read: Option<&D1Result>) -> ApiResult<Vec<T>> {
    match read {
        Some(result) => result.results().stored(),
        None => Err(ApiError::Storage("batch result missing".into())),
    }
}

/// The oldest pending event of the same order after `seq`, if any (read
/// after the batch that finished `seq`).
pub async fn next_event_of_order(db: &Db, seq: u64) -> ApiResult<Option<u64>> {
    #[derive(Deserialize)]
    struct Row {
        seq: u64,
    }
    let row = outbox::next_of_order(db, seq)?
        .first::<Row>()
        .await
        .stored()?;
    Ok(row.map(|r| r.seq))
}
