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
use crate::repo::{self, NewLink, NewOrder};

/// A new `CHARGE_CODE`: 32 hex digits of crypto randomness (unique per
/// attempt: the gateway refuses reused serials).
pub fn new_charge_code() -> String {
    random_hex(16)
}

/// Stores `order` as pending at `now` (with `link`, the link it pays, in
/// the same round trip), then awaits `send` (the creating gateway call for
/// it, not yet started: futures are lazy) and settles the attempt from the
/// answer, which is returned.
pub async fn create(
    cx: &Cx,
    link: Option<&NewLink<'_>>,
    order: &NewOrder<'_>,
    now: u64,
    send: impl Future<Output = ApiResult<OrderResp>>,
) -> ApiResult<OrderResp> {
    cx.log.set("charge_code", order.charge_code);
    repo::insert_attempt(cx.db()?, link, order, now).await?;
    orders::settle_pay(cx, order.charge_code, now, send.await).await
}
