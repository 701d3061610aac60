//! The decisions of the console's screens, pure and host-tested: Today's
//! figures (summed as a statement sums its day, `checkout::statement`),
//! the refund form's check (the Worker's own rules, before sending), the
//! orders filters as the API's query.

use checkout::api::MerchantOrder;
use checkout::list::Channel;
use checkout::statement::{self, Day, Group, Movement, Summary};
use checkout::vocab::RefundState;
use soushou::Fen;

use crate::model::{OrderRow, RefundRow};
use crate::route::{encode, query_value};

/// The Beijing day `now` falls in: `[start, end)` in unix seconds.
pub fn today(now: u64) -> (u64, u64) {
    let day = Day::of(now);
    (day.start(), day.end())
}

/// The day's figures from its orders and refunds: payments are the orders
/// paid within `[start, end)`, refunds the succeeded ones created then (a
/// duplicate payment's refund apart, as the statement keeps it), each by
/// the wallet of its order (`other` when the order is not among `orders`).
pub fn figures(orders: &[OrderRow], refunds: &[RefundRow], (start, end): (u64, u64)) -> Summary {
    let channel = |name: &str| {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == name)
            .unwrap_or(Channel::Other)
    };
    let group = |movement, channel, fen| Group {
        movement,
        channel,
        count: 1,
        amount: Fen::from_fen(fen),
    };
    let mut groups: Vec<Group> = orders
        .iter()
        .filter(|o| o.paid_at.is_some_and(|t| (start..end).contains(&t)))
        .map(|o| group(Movement::Payment, channel(&o.channel), o.amount_fen))
        .collect();
    groups.extend(
        refunds
            .iter()
            .filter(|r| r.state == "succeeded" && (start..end).contains(&r.created_at))
            .map(|r| {
                let of = orders.iter().find(|o| o.charge_code == r.charge_code);
                group(
                    statement::refund_movement(&r.charge_code, &r.id),
                    of.map_or(Channel::Other, |o| channel(&o.channel)),
                    r.amount_fen,
                )
            }),
    );
    statement::figures(&groups, Vec::new())
}

/// Fen as yuan with two decimals, negative for a net below zero.
pub fn yuan(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    format!("{sign}{}", Fen::from_fen(fen.unsigned_abs()).to_yuan())
}

/// What can still be refunded of `order` (paid minus refunds pending or
/// succeeded: the Worker reserves a pending one's amount too).
pub fn refundable(order: &MerchantOrder) -> Fen {
    let paid = order.order.money.fen();
    let reserved: u64 = order
        .refunds
        .iter()
        .filter(|r| r.state != RefundState::Failed)
        .map(|r| r.amount_fen)
        .sum();
    Fen::from_fen(paid.fen().saturating_sub(reserved))
}

/// The refund form's check, the Worker's own rules in its order: an API
/// amount (`checkout::amount`), a reason (`checkout::merchant`), an order
/// that can be refunded by that much (`checkout::state::check_refund`).
/// `Ok`: the amount and the trimmed reason to send.
pub fn check_refund(
    order: &MerchantOrder,
    amount: &str,
    reason: &str,
) -> Result<(Fen, String), checkout::Error> {
    let fen = checkout::amount::parse_api_amount(amount.trim())?;
    let reason = checkout::merchant::refund_reason(reason)?;
    let paid = order.order.money.fen();
    let refunded = Fen::from_fen(paid.fen() - refundable(order).fen());
    checkout::state::check_refund(order.order.state, paid, refunded, fen)?;
    Ok((fen, reason.to_owned()))
}

/// The orders filters the list screen offers (API.md, *Lists*), in the
/// order of its form.
pub const ORDER_FILTERS: [&str; 7] = ["from", "to", "state", "method", "channel", "link", "q"];

/// The list screen's filters (`from`/`to` as `YYYY-MM-DD` Beijing days,
/// the rest as the API spells them) as the API's query: days become
/// `created_gte`/`created_lt`; empty values are left out; an unreadable
/// day is an error naming it.
pub fn orders_query(screen_query: &str) -> Result<String, String> {
    let mut parts = Vec::new();
    for name in ORDER_FILTERS {
        let Some(value) = query_value(screen_query, name) else {
            continue;
        };
        match name {
            "from" | "to" => {
                let day = Day::parse(&value).ok_or_else(|| name.to_owned())?;
                let (key, at) = if name == "from" {
                    ("created_gte", day.start())
                } else {
                    ("created_lt", day.end())
                };
                parts.push(format!("{key}={at}"));
            }
            _ => parts.push(format!("{name}={}", encode(&value))),
        }
    }
    Ok(parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkout::api::{Money, OrderView, RefundRecord};
    use checkout::vocab::{OrderKind, OrderMethod, OrderStatus};

    fn row(code: &str, channel: &str, fen: u64, paid_at: Option<u64>) -> OrderRow {
        OrderRow {
            charge_code: code.into(),
            link_id: None,
            reference: None,
            subject: "s".into(),
            method: "native".into(),
            channel: channel.into(),
            state: if paid_at.is_some() { "paid" } else { "pending" }.into(),
            amount_fen: fen,
            refunded_fen: 0,
            created_at: paid_at.unwrap_or(0),
            paid_at,
        }
    }

    #[test]
    fn yuan_has_two_decimals_and_a_sign() {
        assert_eq!(yuan(1250), "12.50");
        assert_eq!(yuan(-5), "-0.05");
        assert_eq!(yuan(0), "0.00");
    }

    #[test]
    fn today_is_the_beijing_day() {
        // 2026-12-07 16:00 UTC is 2026-12-08 00:00 in Beijing.
        let midnight = 1_796_659_200;
        assert_eq!(today(midnight), (midnight, midnight + 86_400));
        assert_eq!(today(midnight - 1), (midnight - 86_400, midnight));
    }

    #[test]
    fn the_days_figures_count_what_was_paid_and_refunded_that_day() {
        let day = (1000, 2000);
        let orders = [
            row("A", "wechat", 1250, Some(1500)),
            row("B", "alipay", 300, Some(1999)),
            row("C", "wechat", 999, Some(999)),
            row("D", "wechat", 500, None),
        ];
        let refund = |id: &str, code: &str, fen, state: &str, at| RefundRow {
            id: id.into(),
            charge_code: code.into(),
            amount_fen: fen,
            state: state.into(),
            created_at: at,
        };
        let refunds = [
            refund("R1", "A", 250, "succeeded", 1600),
            refund("R2", "A", 100, "failed", 1600),
            refund("R3", "Z", 100, "succeeded", 1700),
            refund("R4", "B", 300, "pending", 1700),
        ];
        let s = figures(&orders, &refunds, day);
        assert_eq!(
            (s.total.payments.count, s.total.payments.amount_fen),
            (2, 1550)
        );
        assert_eq!(
            (s.total.refunds.count, s.total.refunds.amount_fen),
            (2, 350)
        );
        assert_eq!(s.total.net_fen, 1200);
        assert_eq!(s.by_channel["wechat"].payments.amount_fen, 1250);
        assert_eq!(s.by_channel["wechat"].refunds.amount_fen, 250);
        assert_eq!(s.by_channel["alipay"].payments.count, 1);
        assert_eq!(s.by_channel["other"].refunds.amount_fen, 100);
    }

    fn order(state: OrderStatus, fen: u64, refunds: &[(u64, RefundState)]) -> MerchantOrder {
        MerchantOrder {
            order: OrderView {
                charge_code: "C".into(),
                state,
                money: Money::from(Fen::from_fen(fen)),
                paid_at: Some(1),
                return_url: None,
            },
            kind: OrderKind::Link,
            method: OrderMethod::Native,
            channel_type: "2".into(),
            subject: "s".into(),
            refunded: String::new(),
            refunded_fen: 0,
            charge_down_code: None,
            charge_third_code: None,
            created_at: 1,
            updated_at: 1,
            history: Vec::new(),
            notifications: Vec::new(),
            refunds: refunds
                .iter()
                .enumerate()
                .map(|(i, (fen, state))| RefundRecord {
                    out_refund_no: format!("R{i}"),
                    charge_code: "C".into(),
                    amount_fen: *fen,
                    reason: "r".into(),
                    state: *state,
                    gateway_code: None,
                    created_at: 1,
                    updated_at: 1,
                })
                .collect(),
            gateway: None,
        }
    }

    #[test]
    fn the_refund_form_refuses_what_the_worker_would() {
        let paid = order(OrderStatus::Paid, 1000, &[]);
        assert_eq!(
            check_refund(&paid, " 10.00 ", " broken "),
            Ok((Fen::from_fen(1000), "broken".into()))
        );
        assert_eq!(
            check_refund(&paid, "2.5", "r").map(|r| r.0),
            Ok(Fen::from_fen(250))
        );
        for bad in ["", "0", "-1", "1.234", "abc", "10.01", "1e2", "１"] {
            assert!(check_refund(&paid, bad, "r").is_err(), "{bad:?}");
        }
        assert!(check_refund(&paid, "1", "  ").is_err());
        assert!(check_refund(&paid, "1", &"x".repeat(200)).is_err());
        // A pending refund holds its amount; a failed one does not.
        let part = order(
            OrderStatus::PartiallyRefunded,
            1000,
            &[
                (400, RefundState::Succeeded),
                (300, RefundState::Pending),
                (999, RefundState::Failed),
            ],
        );
        assert_eq!(refundable(&part), Fen::from_fen(300));
        assert!(check_refund(&part, "3.00", "r").is_ok());
        assert!(matches!(
            check_refund(&part, "3.01", "r"),
            Err(checkout::Error::RefundExceeds { .. })
        ));
        for state in [
            OrderStatus::Pending,
            OrderStatus::Refunded,
            OrderStatus::Closed,
        ] {
            assert!(matches!(
                check_refund(&order(state, 1000, &[]), "1", "r"),
                Err(checkout::Error::NotRefundable { .. })
            ));
        }
    }

    #[test]
    fn the_filters_become_the_apis_query() {
        assert_eq!(orders_query(""), Ok(String::new()));
        assert_eq!(
            orders_query("from=2026-12-08&to=2026-12-08&state=paid&q=tea%20shop&x=1"),
            Ok(format!(
                "created_gte={}&created_lt={}&state=paid&q=tea%20shop",
                1_796_659_200,
                1_796_659_200 + 86_400
            ))
        );
        assert_eq!(orders_query("from=12/08/2026"), Err("from".into()));
        assert_eq!(orders_query("channel=&method=wap"), Ok("method=wap".into()));
    }
}
