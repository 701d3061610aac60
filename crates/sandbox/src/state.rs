//! Orders, refunds and the appendix-4 state machine — pure: no I/O, no clock, no randomness.
//!
//! Callers pass the time ([`Stamp`]) and any random identifiers in. Every
//! gateway-rule violation is an [`Error::Rejected`] carrying the document's
//! result code; control-API misuse is [`Error::UnknownOrder`] or
//! [`Error::InvalidTransition`].

use std::collections::{HashMap, HashSet};

use soushou::envelope::Interface;
use soushou::model::{FundBill, GoodsItem};
use soushou::types::{CancelMode, ChannelType, FundChannel, OrderState, ResultCode, SerType};
use soushou::Fen;

use crate::clock::Stamp;
use crate::error::Error;

/// Milliseconds after which a pending preOrder is revoked automatically (document §2.2:
/// 80 s); the default of the `pre_order_auto_revoke_ms` setting.
pub const PRE_ORDER_TIMEOUT_MS: u64 = 80_000;

/// What a merchant asked for when creating an order.
#[derive(Clone, Debug)]
pub struct NewOrder {
    /// The interface that created it.
    pub interface: Interface,
    /// Whether `order` was called with `TRADE_TYPE=JSAPI`.
    pub jsapi: bool,
    /// Merchant code (`busiCode`).
    pub busi_code: String,
    /// `BUSI_ID`.
    pub busi_id: String,
    /// `OPER_ID`.
    pub oper_id: String,
    /// `DEV_ID`.
    pub dev_id: String,
    /// `REGISTER_ID`.
    pub register_id: Option<String>,
    /// `MERCHANTPARA`, echoed unchanged.
    pub merchant_para: Option<String>,
    /// `CHARGE_CODE`, unique.
    pub charge_code: String,
    /// Amount.
    pub amt: Fen,
    /// Payment channel (already resolved when it was `0`/auto).
    pub channel_type: ChannelType,
    /// `PAY_SUBJECT`.
    pub pay_subject: String,
    /// `GOODS_DETAIL`.
    pub goods_detail: Vec<GoodsItem>,
    /// `DYNAMIC_ID` (preOrder).
    pub dynamic_id: Option<String>,
    /// `NODIFY_URL`.
    pub nodify_url: Option<String>,
    /// `RETURN_URL` (wapOrder).
    pub return_url: Option<String>,
    /// Channel serial known at creation (creatOrder's Alipay trade number).
    pub charge_third_code: Option<String>,
    /// Pending orders expire after this many milliseconds (preOrder: revoked, others: closed).
    pub expires_after_ms: Option<u64>,
}

/// One refund of an order.
#[derive(Clone, Debug)]
pub struct RefundRecord {
    /// `REFUND_CODE`: the merchant's `OUT_REFUND_NO`, or the gateway's serial when absent.
    pub refund_code: String,
    /// The merchant's `OUT_REFUND_NO`, when it sent one (the ledger reports it as sent).
    pub out_refund_no: Option<String>,
    /// `REFUND_DOWN_CODE`: the gateway's serial.
    pub refund_down_code: String,
    /// `OPER_ID` of the refund request.
    pub oper_id: String,
    /// `DEV_ID` of the refund request.
    pub dev_id: String,
    /// Amount refunded.
    pub amt: Fen,
    /// Always 11 (refund succeeded): the sandbox refunds at once.
    pub state: OrderState,
    /// When it happened (gateway format).
    pub time: String,
    /// Where the money went back to.
    pub bills: Vec<FundBill>,
}

/// An order as the gateway keeps it.
#[derive(Clone, Debug)]
pub struct Order {
    /// The request that created it.
    pub new: NewOrder,
    /// `CHARGE_DOWN_CODE`.
    pub charge_down_code: String,
    /// `CHARGE_THIRD_CODE`, once known.
    pub charge_third_code: Option<String>,
    /// Appendix-4 state.
    pub state: OrderState,
    /// `BEGIN_TIME`.
    pub begin_time: String,
    /// `END_TIME`, set when the order leaves state 0.
    pub end_time: Option<String>,
    /// `FUND_BILL_LIST`, set on payment.
    pub fund_bill_list: Vec<FundBill>,
    /// Refunds in the order they were made.
    pub refunds: Vec<RefundRecord>,
    /// Whether the shopper's money was ever taken (the order was paid at some point),
    /// whatever happened to it afterwards: the ledger's `captured_fen`.
    pub captured: bool,
    /// Money given back by a revocation of the paid order (what was left after refunds).
    pub returned: Fen,
    expires_at: Option<Stamp>,
    /// When an applied revocation (3, `opType=ACO`) completes (→ 2).
    revoke_at: Option<Stamp>,
}

/// What an order (or a set of orders) did with the shopper's money: the ledger's figures.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    /// The amount if the money was ever taken, else 0.
    pub captured: Fen,
    /// Given back by revocations.
    pub returned: Fen,
    /// Given back by succeeded refunds.
    pub refunded: Fen,
}

impl Figures {
    /// What the gateway still holds: captured − returned − refunded (never negative:
    /// refunds and a revocation together never give back more than was captured).
    pub fn net(&self) -> Fen {
        self.captured
            .checked_sub(self.returned)
            .and_then(|f| f.checked_sub(self.refunded))
            .unwrap_or(Fen::ZERO)
    }

    /// The sum of many orders' figures (fen totals far below `u64::MAX`).
    pub fn total<'a>(orders: impl IntoIterator<Item = &'a Order>) -> Figures {
        let add = |a: Fen, b: Fen| a.checked_add(b).unwrap_or(a);
        orders
            .into_iter()
            .map(Order::figures)
            .fold(Figures::default(), |t, f| Figures {
                captured: add(t.captured, f.captured),
                returned: add(t.returned, f.returned),
                refunded: add(t.refunded, f.refunded),
            })
    }
}

impl Order {
    /// `CHARGE_CODE`.
    pub fn charge_code(&self) -> &str {
        &self.new.charge_code
    }

    /// Sum of all refunds.
    pub fn refunded(&self) -> Fen {
        self.refunds
            .iter()
            // Refunds never exceed the order amount, so the sum cannot overflow.
            .fold(Fen::ZERO, |acc, r| acc.checked_add(r.amt).unwrap_or(acc))
    }

    /// What can still be refunded.
    pub fn refundable(&self) -> Fen {
        self.new
            .amt
            .checked_sub(self.refunded())
            .unwrap_or(Fen::ZERO)
    }

    /// The ledger's money figures of this order.
    pub fn figures(&self) -> Figures {
        Figures {
            captured: if self.captured {
                self.new.amt
            } else {
                Fen::ZERO
            },
            returned: self.returned,
            refunded: self.refunded(),
        }
    }

    /// Completes a revocation: state 2, and the money left after refunds goes back to
    /// the shopper if it was ever taken.
    fn revoke(&mut self, now: Stamp) {
        self.returned = if self.captured {
            self.refundable()
        } else {
            Fen::ZERO
        };
        self.state = OrderState::Revoked;
        self.end_time = Some(now.gateway_time());
    }
}

/// Input of a refund request, after validation.
#[derive(Clone, Debug)]
pub struct RefundInput {
    /// Merchant code the request was made under.
    pub busi_code: String,
    /// `CHARGE_CODE`.
    pub charge_code: String,
    /// `CHARGE_DOWN_CODE`; takes priority over `charge_code` when present (document §8.2).
    pub charge_down_code: Option<String>,
    /// `OUT_REFUND_NO`, unique when present.
    pub out_refund_no: Option<String>,
    /// `CHARGE_REFUND_FEE`.
    pub amount: Fen,
    /// `OPER_ID`.
    pub oper_id: String,
    /// `DEV_ID`.
    pub dev_id: String,
}

/// All orders of all merchants. `CHARGE_CODE`s are unique across the sandbox.
#[derive(Debug)]
pub struct Store {
    orders: HashMap<String, Order>,
    by_down_code: HashMap<String, String>,
    refund_codes: HashSet<String>,
    next_serial: u64,
}

impl Store {
    /// An empty store whose serial numbers continue from `first_serial` (12 digits are used).
    pub fn new(first_serial: u64) -> Store {
        Store {
            orders: HashMap::new(),
            by_down_code: HashMap::new(),
            refund_codes: HashSet::new(),
            next_serial: first_serial % 1_000_000_000_000,
        }
    }

    /// A gateway serial number: the China date then 12 digits (`20151014100000000953`).
    fn serial(&mut self, now: Stamp) -> String {
        let s = format!("{}{:012}", now.date8(), self.next_serial);
        self.next_serial = (self.next_serial + 1) % 1_000_000_000_000;
        s
    }

    /// Registers a new pending order; `SERIAL_REPEAT` when the `CHARGE_CODE` is taken.
    pub fn create(&mut self, new: NewOrder, now: Stamp) -> Result<&Order, Error> {
        if self.orders.contains_key(&new.charge_code) {
            return Err(Error::rejected(
                ResultCode::SerialRepeat,
                format!("CHARGE_CODE {} already exists", new.charge_code),
            ));
        }
        let down = self.serial(now);
        let code = new.charge_code.clone();
        let order = Order {
            charge_third_code: new.charge_third_code.clone(),
            expires_at: new.expires_after_ms.map(|ms| now.plus_ms(ms)),
            revoke_at: None,
            captured: false,
            returned: Fen::ZERO,
            new,
            charge_down_code: down.clone(),
            state: OrderState::Pending,
            begin_time: now.gateway_time(),
            end_time: None,
            fund_bill_list: Vec::new(),
            refunds: Vec::new(),
        };
        self.by_down_code.insert(down, code.clone());
        Ok(self.orders.entry(code).or_insert(order))
    }

    /// The order with this `CHARGE_CODE`, whatever its merchant (control API).
    pub fn get(&self, charge_code: &str) -> Option<&Order> {
        self.orders.get(charge_code)
    }

    /// Every order, in no particular order.
    pub fn all(&self) -> impl Iterator<Item = &Order> {
        self.orders.values()
    }

    fn key_of(&self, code: &str, ser_type: SerType, busi_code: &str) -> Result<String, Error> {
        let key = match ser_type {
            SerType::Merchant => Some(code.to_owned()),
            SerType::Gateway => self.by_down_code.get(code).cloned(),
        };
        key.filter(|k| {
            self.orders
                .get(k)
                .is_some_and(|o| o.new.busi_code == busi_code)
        })
        .ok_or_else(|| {
            Error::rejected(
                ResultCode::ChargeNonexistent,
                format!("no trade {code} for busiCode {busi_code}"),
            )
        })
    }

    /// Looks an order up as query/refundQuery do: by merchant or gateway serial, within one merchant.
    pub fn lookup(
        &mut self,
        code: &str,
        ser_type: SerType,
        busi_code: &str,
        now: Stamp,
    ) -> Result<&Order, Error> {
        self.expire(now);
        let key = self.key_of(code, ser_type, busi_code)?;
        Ok(&self.orders[&key])
    }

    /// Moves overdue orders on: pending preOrders to 2 (revoked), other pending orders to
    /// 6 (closed), applied revocations whose time has come to 2 (money returned if paid).
    /// Returns the codes that changed.
    pub fn expire(&mut self, now: Stamp) -> Vec<String> {
        let mut changed = Vec::new();
        for o in self.orders.values_mut() {
            if o.state == OrderState::RevocationApplied && o.revoke_at.is_some_and(|t| t <= now) {
                o.revoke(now);
                changed.push(o.new.charge_code.clone());
            } else if o.state == OrderState::Pending && o.expires_at.is_some_and(|t| t <= now) {
                o.state = if o.new.interface == Interface::PreOrder {
                    OrderState::Revoked
                } else {
                    OrderState::Closed
                };
                o.end_time = Some(now.gateway_time());
                changed.push(o.new.charge_code.clone());
            }
        }
        changed
    }

    fn pending_mut(
        &mut self,
        charge_code: &str,
        action: &'static str,
        now: Stamp,
    ) -> Result<&mut Order, Error> {
        self.expire(now);
        let o = self
            .orders
            .get_mut(charge_code)
            .ok_or_else(|| Error::UnknownOrder(charge_code.to_owned()))?;
        if o.state != OrderState::Pending {
            return Err(Error::InvalidTransition {
                charge_code: charge_code.to_owned(),
                state: state_code(&o.state),
                action,
            });
        }
        Ok(o)
    }

    /// The shopper pays: 0 → 1. `third_code` is used unless the order already has one.
    pub fn pay(
        &mut self,
        charge_code: &str,
        third_code: String,
        now: Stamp,
    ) -> Result<&Order, Error> {
        let o = self.pending_mut(charge_code, "pay", now)?;
        o.state = OrderState::Paid;
        o.captured = true;
        o.end_time = Some(now.gateway_time());
        o.fund_bill_list = fund_bills(&o.new.channel_type, o.new.amt);
        if o.charge_third_code.is_none() {
            o.charge_third_code = Some(third_code);
        }
        Ok(o)
    }

    /// The shopper gives up (or the order times out): 0 → 6.
    pub fn close(&mut self, charge_code: &str, now: Stamp) -> Result<&Order, Error> {
        let o = self.pending_mut(charge_code, "close", now)?;
        o.state = OrderState::Closed;
        o.end_time = Some(now.gateway_time());
        Ok(o)
    }

    /// A refund request: succeeds at once (refund state 11); order becomes 4 or 5.
    ///
    /// Unpaid or closed orders are `FAIL`; revoked ones `AREADY_REVOKED`; an amount of
    /// zero or above what is left to refund `AMT_ERROR`; a reused `OUT_REFUND_NO`
    /// `SERIAL_REPEAT`.
    pub fn refund(&mut self, req: RefundInput, now: Stamp) -> Result<&Order, Error> {
        self.expire(now);
        let key = match &req.charge_down_code {
            Some(down) => self.key_of(down, SerType::Gateway, &req.busi_code)?,
            None => self.key_of(&req.charge_code, SerType::Merchant, &req.busi_code)?,
        };
        if let Some(no) = &req.out_refund_no {
            if self.refund_codes.contains(no) {
                return Err(Error::rejected(
                    ResultCode::SerialRepeat,
                    format!("OUT_REFUND_NO {no} already exists"),
                ));
            }
        }
        if req.amount == Fen::ZERO {
            return Err(Error::rejected(
                ResultCode::AmtError,
                "CHARGE_REFUND_FEE must be greater than 0",
            ));
        }
        let refund_down = self.serial(now);
        let o = self
            .orders
            .get_mut(&key)
            .expect("key_of returned an existing order");
        match o.state {
            OrderState::Paid | OrderState::PartiallyRefunded | OrderState::Refunded => {}
            OrderState::Revoked | OrderState::RevocationApplied => {
                return Err(Error::rejected(
                    ResultCode::AreadyRevoked,
                    "the order has been revoked",
                ))
            }
            ref s => {
                return Err(Error::rejected(
                    ResultCode::Fail,
                    format!("order is in state {} and cannot be refunded", state_code(s)),
                ))
            }
        }
        let left = o.refundable();
        if req.amount > left {
            return Err(Error::rejected(
                ResultCode::AmtError,
                format!(
                    "refund {} exceeds the refundable amount {} (paid {}, refunded {})",
                    req.amount.to_yuan(),
                    left.to_yuan(),
                    o.new.amt.to_yuan(),
                    o.refunded().to_yuan()
                ),
            ));
        }
        let channel = o
            .fund_bill_list
            .first()
            .map(|b| b.fund_channel.clone())
            .unwrap_or_else(|| fund_channel_for(&o.new.channel_type));
        let record = RefundRecord {
            out_refund_no: req.out_refund_no.clone(),
            refund_code: req
                .out_refund_no
                .clone()
                .unwrap_or_else(|| refund_down.clone()),
            refund_down_code: refund_down,
            oper_id: req.oper_id,
            dev_id: req.dev_id,
            amt: req.amount,
            state: OrderState::RefundSucceeded,
            time: now.gateway_time(),
            bills: vec![FundBill {
                fund_channel: channel,
                amount: req.amount,
            }],
        };
        self.refund_codes.insert(record.refund_code.clone());
        o.refunds.push(record);
        o.state = if o.refundable() == Fen::ZERO {
            OrderState::Refunded
        } else {
            OrderState::PartiallyRefunded
        };
        Ok(o)
    }

    /// cancelTrade, decided against the order's state now: real time → 2 (revoked, money
    /// returned if paid); `opType=ACO` → 3 (applied), completed to 2 by [`Store::expire`]
    /// `aco_completes_after_ms` later — or never when that is 0, the order then staying 3
    /// as it always did before slow revocations existed.
    ///
    /// A slow real-time revocation is the caller holding the request before calling this,
    /// so a payment landing meanwhile is revoked (and its money returned) here.
    pub fn cancel(
        &mut self,
        charge_code: &str,
        busi_code: &str,
        mode: CancelMode,
        aco_completes_after_ms: u64,
        now: Stamp,
    ) -> Result<&Order, Error> {
        self.expire(now);
        let key = self.key_of(charge_code, SerType::Merchant, busi_code)?;
        let o = self
            .orders
            .get_mut(&key)
            .expect("key_of returned an existing order");
        match (&o.state, mode) {
            (OrderState::Revoked, _) | (OrderState::RevocationApplied, CancelMode::Apply) => {
                return Err(Error::rejected(
                    ResultCode::AreadyRevoked,
                    "the order has already been revoked",
                ))
            }
            (
                OrderState::Pending | OrderState::Paid | OrderState::PartiallyRefunded,
                CancelMode::Apply,
            ) => {
                o.state = OrderState::RevocationApplied;
                o.end_time = Some(now.gateway_time());
                o.revoke_at =
                    (aco_completes_after_ms > 0).then(|| now.plus_ms(aco_completes_after_ms));
            }
            (
                OrderState::Pending
                | OrderState::Paid
                | OrderState::PartiallyRefunded
                | OrderState::RevocationApplied,
                CancelMode::RealTime,
            ) => o.revoke(now),
            (s, _) => {
                return Err(Error::rejected(
                    ResultCode::Fail,
                    format!("order is in state {} and cannot be revoked", state_code(s)),
                ))
            }
        }
        Ok(o)
    }
}

/// Resolves `CHANNEL_TYPE=0` (automatic) from the shopper's dynamic code, as the gateway
/// does for preOrder: WeChat codes start with 10–15, Alipay ones with 25–30.
pub fn resolve_channel(channel: ChannelType, dynamic_id: &str) -> ChannelType {
    if channel != ChannelType::Auto {
        return channel;
    }
    match dynamic_id.get(..2).and_then(|p| p.parse::<u8>().ok()) {
        Some(10..=15) => ChannelType::WeChat,
        Some(91) => ChannelType::QqWallet,
        _ => ChannelType::Alipay,
    }
}

/// The appendix-3 fund channel the sandbox uses for a payment channel.
pub fn fund_channel_for(channel: &ChannelType) -> FundChannel {
    let code = match channel {
        ChannelType::Alipay | ChannelType::AlipayWap | ChannelType::Auto => "10",
        ChannelType::WeChat => "11",
        ChannelType::QqWallet => "12",
        ChannelType::BaiduWallet => "13",
        ChannelType::BestPay => "14",
        _ => "9001",
    };
    FundChannel::from_code(code)
}

/// The appendix-4 number of a state (the sandbox never holds unknown states).
pub fn state_code(state: &OrderState) -> u32 {
    state.number().unwrap_or(u32::MAX)
}

/// A single-channel `FUND_BILL_LIST` for the whole amount.
pub fn fund_bills(channel: &ChannelType, amt: Fen) -> Vec<FundBill> {
    vec![FundBill {
        fund_channel: fund_channel_for(channel),
        amount: amt,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Stamp = Stamp {
        unix_ms: 1_444_768_994_000,
    };

    fn new_order(code: &str, amt: u64, interface: Interface) -> NewOrder {
        NewOrder {
            interface,
            jsapi: false,
            busi_code: "01000001".into(),
            busi_id: "0010000001".into(),
            oper_id: "op".into(),
            dev_id: "dev".into(),
            register_id: None,
            merchant_para: None,
            charge_code: code.into(),
            amt: Fen::from_fen(amt),
            channel_type: ChannelType::WeChat,
            pay_subject: "s".into(),
            goods_detail: vec![],
            dynamic_id: None,
            nodify_url: None,
            return_url: None,
            charge_third_code: None,
            expires_after_ms: None,
        }
    }

    fn code_of(e: Error) -> ResultCode {
        match e {
            Error::Rejected { code, .. } => code,
            other => panic!("not a rejection: {other}"),
        }
    }

    fn refund(code: &str, fen: u64, no: Option<&str>) -> RefundInput {
        RefundInput {
            busi_code: "01000001".into(),
            charge_code: code.into(),
            charge_down_code: None,
            out_refund_no: no.map(Into::into),
            amount: Fen::from_fen(fen),
            oper_id: "op".into(),
            dev_id: "dev".into(),
        }
    }

    #[test]
    fn create_pay_refund_cycle() {
        let mut s = Store::new(100_000_000_000);
        let o = s.create(new_order("A", 500, Interface::Order), T0).unwrap();
        assert_eq!(o.charge_down_code, "20151014100000000000");
        assert_eq!(o.state, OrderState::Pending);
        assert_eq!(
            code_of(
                s.create(new_order("A", 1, Interface::Order), T0)
                    .unwrap_err()
            ),
            ResultCode::SerialRepeat
        );
        assert_eq!(
            code_of(s.refund(refund("A", 1, None), T0).unwrap_err()),
            ResultCode::Fail
        );
        let o = s.pay("A", "THIRD".into(), T0).unwrap();
        assert_eq!(o.state, OrderState::Paid);
        assert_eq!(o.fund_bill_list[0].amount, Fen::from_fen(500));
        assert!(matches!(
            s.pay("A", "x".into(), T0),
            Err(Error::InvalidTransition { state: 1, .. })
        ));
        assert_eq!(
            s.refund(refund("A", 200, Some("R1")), T0).unwrap().state,
            OrderState::PartiallyRefunded
        );
        assert_eq!(
            code_of(s.refund(refund("A", 1, Some("R1")), T0).unwrap_err()),
            ResultCode::SerialRepeat
        );
        assert_eq!(
            code_of(s.refund(refund("A", 301, None), T0).unwrap_err()),
            ResultCode::AmtError
        );
        assert_eq!(
            code_of(s.refund(refund("A", 0, None), T0).unwrap_err()),
            ResultCode::AmtError
        );
        let o = s.refund(refund("A", 300, None), T0).unwrap();
        assert_eq!(o.state, OrderState::Refunded);
        assert_eq!(o.refunds.len(), 2);
        assert_eq!(o.refunds[1].refund_code, o.refunds[1].refund_down_code);
        assert_eq!(
            code_of(s.refund(refund("A", 1, None), T0).unwrap_err()),
            ResultCode::AmtError
        );
        assert_eq!(
            code_of(s.refund(refund("B", 1, None), T0).unwrap_err()),
            ResultCode::ChargeNonexistent
        );
    }

    #[test]
    fn lookups_are_per_merchant_and_by_either_serial() {
        let mut s = Store::new(7);
        let down = s
            .create(new_order("A", 1, Interface::Order), T0)
            .unwrap()
            .charge_down_code
            .clone();
        assert!(s.lookup("A", SerType::Merchant, "01000001", T0).is_ok());
        assert!(s.lookup(&down, SerType::Gateway, "01000001", T0).is_ok());
        assert!(s.lookup("A", SerType::Gateway, "01000001", T0).is_err());
        assert_eq!(
            code_of(
                s.lookup("A", SerType::Merchant, "09999999", T0)
                    .unwrap_err()
            ),
            ResultCode::ChargeNonexistent
        );
    }

    #[test]
    fn cancel_rules() {
        let mut s = Store::new(0);
        s.create(new_order("A", 100, Interface::Order), T0).unwrap();
        s.pay("A", "t".into(), T0).unwrap();
        let b = "01000001";
        assert_eq!(
            s.cancel("A", b, CancelMode::Apply, 0, T0).unwrap().state,
            OrderState::RevocationApplied
        );
        assert_eq!(
            code_of(s.cancel("A", b, CancelMode::Apply, 0, T0).unwrap_err()),
            ResultCode::AreadyRevoked
        );
        assert_eq!(
            s.cancel("A", b, CancelMode::RealTime, 0, T0).unwrap().state,
            OrderState::Revoked
        );
        assert_eq!(
            code_of(s.cancel("A", b, CancelMode::RealTime, 0, T0).unwrap_err()),
            ResultCode::AreadyRevoked
        );
        assert_eq!(
            code_of(s.refund(refund("A", 1, None), T0).unwrap_err()),
            ResultCode::AreadyRevoked
        );
        s.create(new_order("C", 100, Interface::Order), T0).unwrap();
        s.close("C", T0).unwrap();
        assert_eq!(
            code_of(s.cancel("C", b, CancelMode::RealTime, 0, T0).unwrap_err()),
            ResultCode::Fail
        );
        assert_eq!(
            code_of(s.cancel("Z", b, CancelMode::RealTime, 0, T0).unwrap_err()),
            ResultCode::ChargeNonexistent
        );
    }

    #[test]
    fn pending_orders_expire() {
        let mut s = Store::new(0);
        let mut p = new_order("P", 1, Interface::PreOrder);
        p.expires_after_ms = Some(PRE_ORDER_TIMEOUT_MS);
        s.create(p, T0).unwrap();
        let mut w = new_order("W", 1, Interface::WapOrder);
        w.expires_after_ms = Some(300_000);
        s.create(w, T0).unwrap();
        assert!(s.expire(T0.plus_ms(79_999)).is_empty());
        assert_eq!(s.expire(T0.plus_ms(80_000)), vec!["P".to_string()]);
        assert_eq!(s.get("P").unwrap().state, OrderState::Revoked);
        assert!(matches!(
            s.pay("W", "t".into(), T0.plus_ms(300_000)),
            Err(Error::InvalidTransition { state: 6, .. })
        ));
    }

    fn figures(s: &Store, code: &str) -> (u64, u64, u64, u64) {
        let f = s.get(code).unwrap().figures();
        (
            f.captured.fen(),
            f.returned.fen(),
            f.refunded.fen(),
            f.net().fen(),
        )
    }

    #[test]
    fn ledger_figures_follow_the_money() {
        let b = "01000001";
        let mut s = Store::new(0);
        // Created, never paid: nothing captured; closed likewise.
        s.create(new_order("UNPAID", 100, Interface::Order), T0)
            .unwrap();
        assert_eq!(figures(&s, "UNPAID"), (0, 0, 0, 0));
        // Paid, then partly refunded, then refunded in full.
        s.create(new_order("PAID", 1250, Interface::Order), T0)
            .unwrap();
        s.pay("PAID", "t".into(), T0).unwrap();
        assert_eq!(figures(&s, "PAID"), (1250, 0, 0, 1250));
        s.refund(refund("PAID", 500, Some("R1")), T0).unwrap();
        assert_eq!(figures(&s, "PAID"), (1250, 0, 500, 750));
        s.refund(refund("PAID", 750, None), T0).unwrap();
        assert_eq!(figures(&s, "PAID"), (1250, 0, 1250, 0));
        let refunds = &s.get("PAID").unwrap().refunds;
        assert_eq!(refunds[0].out_refund_no.as_deref(), Some("R1"));
        assert_eq!(refunds[1].out_refund_no, None);
        // Real-time revocation of a paid order gives the money back...
        s.create(new_order("REVOKED", 300, Interface::Order), T0)
            .unwrap();
        s.pay("REVOKED", "t".into(), T0).unwrap();
        s.cancel("REVOKED", b, CancelMode::RealTime, 0, T0).unwrap();
        assert_eq!(figures(&s, "REVOKED"), (300, 300, 0, 0));
        // ...only what is left after a partial refund...
        s.create(new_order("PART", 300, Interface::Order), T0)
            .unwrap();
        s.pay("PART", "t".into(), T0).unwrap();
        s.refund(refund("PART", 100, None), T0).unwrap();
        s.cancel("PART", b, CancelMode::RealTime, 0, T0).unwrap();
        assert_eq!(figures(&s, "PART"), (300, 200, 100, 0));
        // ...and nothing for a pending one.
        s.create(new_order("DEAD", 300, Interface::Order), T0)
            .unwrap();
        s.cancel("DEAD", b, CancelMode::RealTime, 0, T0).unwrap();
        assert_eq!(figures(&s, "DEAD"), (0, 0, 0, 0));
        // A paid-at-once preOrder is captured.
        s.create(new_order("POS", 99, Interface::PreOrder), T0)
            .unwrap();
        s.pay("POS", "t".into(), T0).unwrap();
        let t = Figures::total(s.all());
        assert_eq!(
            (
                t.captured.fen(),
                t.returned.fen(),
                t.refunded.fen(),
                t.net().fen()
            ),
            (1250 + 300 + 300 + 99, 300 + 200, 1250 + 100, 99)
        );
    }

    #[test]
    fn applied_revocations_complete_after_the_delay() {
        let b = "01000001";
        let mut s = Store::new(0);
        s.create(new_order("PAID", 400, Interface::Order), T0)
            .unwrap();
        s.pay("PAID", "t".into(), T0).unwrap();
        s.create(new_order("PEND", 400, Interface::Order), T0)
            .unwrap();
        for code in ["PAID", "PEND"] {
            let o = s.cancel(code, b, CancelMode::Apply, 500, T0).unwrap();
            assert_eq!(o.state, OrderState::RevocationApplied);
        }
        // Applied: the money is still held, and the shopper cannot pay any more.
        assert_eq!(figures(&s, "PAID"), (400, 0, 0, 400));
        assert!(matches!(
            s.pay("PEND", "t".into(), T0),
            Err(Error::InvalidTransition { state: 3, .. })
        ));
        assert!(s.expire(T0.plus_ms(499)).is_empty());
        let mut changed = s.expire(T0.plus_ms(500));
        changed.sort();
        assert_eq!(changed, ["PAID", "PEND"]);
        assert_eq!(s.get("PAID").unwrap().state, OrderState::Revoked);
        assert_eq!(figures(&s, "PAID"), (400, 400, 0, 0));
        assert_eq!(figures(&s, "PEND"), (0, 0, 0, 0));
        // Without a delay an applied revocation stays applied (3), as before.
        s.create(new_order("KEEP", 400, Interface::Order), T0)
            .unwrap();
        s.pay("KEEP", "t".into(), T0).unwrap();
        s.cancel("KEEP", b, CancelMode::Apply, 0, T0).unwrap();
        assert!(s.expire(T0.plus_ms(1_000_000_000)).is_empty());
        assert_eq!(s.get("KEEP").unwrap().state, OrderState::RevocationApplied);
        // A real-time revocation completes it at once, returning the money.
        s.cancel("KEEP", b, CancelMode::RealTime, 0, T0).unwrap();
        assert_eq!(figures(&s, "KEEP"), (400, 400, 0, 0));
    }

    #[test]
    fn a_payment_before_a_slow_revocation_is_decided_is_returned() {
        // The gateway holds a slow real-time cancel, then decides against the state then:
        // the shopper paid meanwhile, so the payment is revoked and its money returned.
        let mut s = Store::new(0);
        s.create(new_order("A", 700, Interface::Order), T0).unwrap();
        s.pay("A", "t".into(), T0.plus_ms(100)).unwrap();
        let o = s
            .cancel("A", "01000001", CancelMode::RealTime, 0, T0.plus_ms(300))
            .unwrap();
        assert_eq!(o.state, OrderState::Revoked);
        assert_eq!(figures(&s, "A"), (700, 700, 0, 0));
        // Dead trades cannot be paid.
        assert!(matches!(
            s.pay("A", "t".into(), T0.plus_ms(400)),
            Err(Error::InvalidTransition { state: 2, .. })
        ));
    }

    #[test]
    fn auto_channel_resolution() {
        assert_eq!(
            resolve_channel(ChannelType::Auto, "130730865806264036"),
            ChannelType::WeChat
        );
        assert_eq!(
            resolve_channel(ChannelType::Auto, "284214903060794755"),
            ChannelType::Alipay
        );
        assert_eq!(resolve_channel(ChannelType::Cmb, "13"), ChannelType::Cmb);
    }
}
