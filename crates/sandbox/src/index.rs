//! The order index (`GET /sandbox/`): every order the sandbox holds, newest first, with a
//! link to the shopper's cashier page of each pending one — so a person running the demo
//! can find the page that "scanning" the checkout's QR code would open.
//!
//! Plain HTML, no JavaScript; reload the page to see new orders.

use soushou::envelope::Interface;
use soushou::types::OrderState;

use crate::html::{encode_segment, escape, page, Layout};
use crate::shopper::state_name;
use crate::state::{state_code, Order};

/// How the index names the interface that created an order; `order` is split by trade
/// type because NATIVE (QR code) and JSAPI (in-WeChat) orders are paid so differently.
pub fn interface_label(order: &Order) -> &'static str {
    match (order.new.interface, order.new.jsapi) {
        (Interface::Order, true) => "order/JSAPI",
        (Interface::Order, false) => "order/NATIVE",
        (other, _) => other.path_name(),
    }
}

/// The index page of `orders` (any order: they are sorted here, newest first).
/// `gateway_url` is shown in the empty state, telling where to send a first order.
pub fn index_page<'a>(orders: impl IntoIterator<Item = &'a Order>, gateway_url: &str) -> String {
    let mut orders: Vec<&Order> = orders.into_iter().collect();
    // CHARGE_DOWN_CODE is the China date followed by a per-sandbox counter, so it grows
    // with creation time (unlike the merchant-chosen CHARGE_CODE).
    orders.sort_by(|a, b| b.charge_down_code.cmp(&a.charge_down_code));
    let count = orders.len();
    let body = if orders.is_empty() {
        format!(
            "<h1>Orders</h1><p id=\"empty\">No orders yet. Create one by sending an \
             <code>order</code> (NATIVE), <code>preOrder</code>, <code>creatOrder</code> or \
             <code>wapOrder</code> request to <code>{gateway}</code> — for example by opening \
             the checkout page that <code>cargo xtask demo</code> prints — then reload this \
             page: pending orders get a link to their shopper page.</p>",
            gateway = escape(gateway_url),
        )
    } else {
        let rows: String = orders.iter().map(|o| row(o)).collect();
        format!(
            "<h1>Orders</h1><p class=\"meta\">{count} order{s}, newest first. Reload to \
             refresh. JSON: <a href=\"/sandbox/orders\">/sandbox/orders</a></p>\
             <table><thead><tr><th>Charge code</th><th>busiCode</th><th>Interface</th>\
             <th>Amount</th><th>State</th><th>Shopper</th></tr></thead>\
             <tbody>{rows}</tbody></table>",
            s = if count == 1 { "" } else { "s" },
        )
    };
    page(
        "SOUSHOU sandbox orders",
        "SOUSHOU sandbox",
        Layout::Wide,
        &body,
    )
}

/// One table row; pending orders link to their cashier page.
fn row(o: &Order) -> String {
    let code = o.charge_code();
    let shopper = if o.state == OrderState::Pending {
        format!(
            "<a class=\"pay\" href=\"/sandbox/shopper/{}\">Pay or cancel</a>",
            encode_segment(code)
        )
    } else {
        String::new()
    };
    format!(
        "<tr class=\"order\"><td class=\"code\">{code}</td><td>{busi}</td><td>{iface}</td>\
         <td class=\"num\">¥{yuan}</td><td class=\"state\">{state} ({num})</td><td>{shopper}</td></tr>",
        code = escape(code),
        busi = escape(&o.new.busi_code),
        iface = interface_label(o),
        yuan = o.new.amt,
        state = state_name(&o.state),
        num = state_code(&o.state),
    )
}
