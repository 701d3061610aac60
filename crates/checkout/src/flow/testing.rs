//! Rows for the flows' table tests.

use soushou::Fen;

use super::{Attempt, Refund};
use crate::vocab::{OrderMethod, OrderStatus, RefundState};

/// An attempt of 1000 fen created at 0, nothing else set.
pub fn attempt(code: &str, state: OrderStatus) -> Attempt {
    Attempt {
        charge_code: code.into(),
        link_id: None,
        method: OrderMethod::Native,
        amount: Fen::from_fen(1000),
        refunded: Fen::ZERO,
        state,
        charge_down_code: None,
        created_at: 0,
        last_query_at: None,
        paid_seq: None,
        duplicate_of: None,
        recheck_until: None,
        client: None,
        device: None,
    }
}

/// A refund of `code`, last changed at 100.
pub fn refund(code: &str, no: &str, amt: u64, state: RefundState) -> Refund {
    Refund {
        out_refund_no: no.into(),
        charge_code: code.into(),
        amount: Fen::from_fen(amt),
        reason: "why".into(),
        state,
        gateway_code: None,
        updated_at: 100,
    }
}
