//! The simulated shopper's cashier page (the `BAR_CODE` / redirect link).
//!
//! Plain HTML forms, no JavaScript: "Confirm payment" posts to `/sandbox/pay/{code}`,
//! "Cancel" to `/sandbox/close/{code}`.

use soushou::types::OrderState;

use crate::html::{capitalised, encode_segment, escape, page, Layout};
use crate::state::Order;

/// The grey line on top of every cashier page.
const LABEL: &str = "SOUSHOU sandbox cashier";

/// A human name for an appendix-4 state.
pub fn state_name(state: &OrderState) -> &'static str {
    match state {
        OrderState::Pending => "pending payment",
        OrderState::Paid => "paid",
        OrderState::Revoked => "revoked",
        OrderState::RevocationApplied => "revocation applied",
        OrderState::PartiallyRefunded => "partially refunded",
        OrderState::Refunded => "refunded",
        OrderState::Closed => "closed",
        OrderState::Reserved => "reserved",
        OrderState::Refunding => "refunding",
        OrderState::RefundFailed => "refund failed",
        OrderState::RefundPending => "refund pending",
        OrderState::RefundSucceeded => "refund succeeded",
        _ => "unknown",
    }
}

/// The cashier page of an order: buttons while pending, its state afterwards.
pub fn order_page(order: &Order) -> String {
    let code = order.charge_code();
    let seg = encode_segment(code);
    let yuan = order.new.amt.to_yuan();
    let actions = if order.state == OrderState::Pending {
        format!(
            "<form method=\"post\" action=\"/sandbox/pay/{seg}\">\
             <button class=\"pay\" type=\"submit\">Confirm payment</button></form>\
             <form method=\"post\" action=\"/sandbox/close/{seg}\">\
             <button class=\"cancel\" type=\"submit\">Cancel</button></form>"
        )
    } else {
        format!(
            "<p class=\"state\" id=\"state\">{}</p>",
            escape(capitalised(state_name(&order.state)).as_str())
        )
    };
    page(
        &format!("Pay ¥{yuan}"),
        LABEL,
        Layout::Card,
        &format!(
            "<h1>{subject}</h1><p class=\"amount\" id=\"amount\">¥{yuan}</p>\
             <p class=\"meta\">Order {code}<br>Gateway serial {down}</p>{actions}",
            subject = escape(&order.new.pay_subject),
            code = escape(code),
            down = escape(&order.charge_down_code),
        ),
    )
}

/// The page shown after the shopper acted, when there is no RETURN_URL to go back to.
pub fn outcome_page(order: &Order) -> String {
    let state = capitalised(state_name(&order.state));
    let back = order
        .new
        .return_url
        .as_deref()
        .map(|u| format!("<p><a href=\"{}\">Back to the merchant</a></p>", escape(u)))
        .unwrap_or_default();
    page(
        &state,
        LABEL,
        Layout::Card,
        &format!(
            "<p class=\"state\" id=\"state\">{}</p><p class=\"amount\">¥{}</p><p class=\"meta\">Order {}</p>{back}",
            escape(&state),
            order.new.amt.to_yuan(),
            escape(order.charge_code())
        ),
    )
}

/// An error page (unknown order, order no longer payable, ...).
pub fn error_page(message: &str) -> String {
    page(
        "Cannot pay",
        LABEL,
        Layout::Card,
        &format!("<p class=\"state\" id=\"state\">{}</p>", escape(message)),
    )
}
