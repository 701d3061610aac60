//! Creating a payment attempt at the gateway: the one pipeline of a link
//! payment (`shopper::pay`), a POS charge and a QR order.
//!
//! The attempt is stored as pending before the gateway hears of it, so a
//! fast notification or a timed-out call can always be matched and
//! reconciled; the creating call's answer then settles it
//! (`orders::settle_pay`: a final refusal fails it, anything else unclear
//! leaves it pending for `query`).

use std::future::Future;

use soushou::model::OrderResp;

use crate::context::Cx;
use crate::error::ApiResult;
use crate::log::random_hex;
use crate::orders;
use crate::repo::{self, NewLink, NewOrder, OrderRow};

/// A new `CHARGE_CODE`: 32 hex digits of crypto randomness (unique per
/// attempt: the gateway refuses reused serials).
pub fn new_charge_code() -> String {
    random_hex(16)
}

/// Stores `order` (a POS charge or a QR order) as pending at `now`, then
/// awaits `send` (the creating gateway call for it, not yet started:
/// futures are lazy) and settles the attempt from the answer, which is
/// returned.
pub async fn create(
    cx: &Cx,
    order: &NewOrder<'_>,
    now: u64,
    send: impl Future<Output = ApiResult<OrderResp>>,
) -> ApiResult<OrderResp> {
    cx.log.set("charge_code", order.charge_code);
    repo::insert_attempt(cx.db()?, order, now).await?;
    orders::settle_pay(cx, order.charge_code, now, send.await).await
}

/// [`create`] for an attempt of `link`, in two D1 round trips: the link,
/// the pending attempt and a read of the link's attempts go in one batch;
/// `admit` then judges the link's other attempts (already paid, too many
/// tries). A refusal deletes the attempt again — the gateway never heard of
/// it, so no money can be tied to it — and is returned; otherwise `send`
/// goes out and the answer is stored (the second round trip).
///
/// Inserting before judging, rather than reading first, saves a round trip
/// on every payment and changes no decision: an attempt that is not sent
/// holds no money and no other request acts on a pending attempt this young
/// (the reconciler waits `RECONCILE_AFTER_SECS`).
pub async fn create_for_link(
    cx: &Cx,
    link: &NewLink<'_>,
    order: &NewOrder<'_>,
    now: u64,
    admit: impl FnOnce(&[OrderRow]) -> ApiResult<()>,
    send: impl Future<Output = ApiResult<OrderResp>>,
) -> ApiResult<OrderResp> {
    let db = cx.db()?;
    let mut attempts = repo::insert_link_attempt(db, link, order, now).await?;
    attempts.retain(|a| a.charge_code != order.charge_code);
    if let Err(refused) = admit(&attempts) {
        repo::delete_unsent_attempt(db, order.charge_code).await?;
        return Err(refused);
    }
    cx.log.set("charge_code", order.charge_code);
    orders::settle_pay(cx, order.charge_code, now, send.await).await
}
