//! The domain's words, shared by every other module and by the Worker and
//! the page: an order's status, a link's state and channel, a payment
//! method, a goods line. They live apart from `api` (the HTTP bodies that
//! use them) so that `link`, `state`, `routing` and `error` can name them
//! without depending on the API types, which in turn depend on them.

use serde::{Deserialize, Serialize};

/// A unit enum with one wire spelling per variant, so that a reader can
/// decode it without serde's generic machinery: the page does
/// (`checkout_page::decode`), because serde's visitors and their error
/// formatting cost it about a kilobyte of brotli'd wasm. Every impl is
/// held to the type's serde derive by the tests (`spellings_are_serdes`):
/// `ALL` lists exactly serde's variants and each spelling is serde's.
pub trait Spelled: Copy + 'static {
    /// Every variant, in declaration order.
    const ALL: &'static [Self];
    /// The wire spelling.
    fn spelling(self) -> &'static str;
    /// The variant spelled `wire`, if any.
    fn from_spelling(wire: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.spelling() == wire)
    }
}

/// State of a checkout link as `GET /api/checkout/{token}` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkState {
    /// Can be paid.
    Open,
    /// An attempt of this link has been paid.
    Paid,
    /// The link's expiry has passed.
    Expired,
}

impl Spelled for LinkState {
    const ALL: &'static [Self] = &[LinkState::Open, LinkState::Paid, LinkState::Expired];
    fn spelling(self) -> &'static str {
        match self {
            LinkState::Open => "open",
            LinkState::Paid => "paid",
            LinkState::Expired => "expired",
        }
    }
}

/// What kind of link (contract v1.1, *Links: kinds, deactivation*).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// One payment of the merchant's amount.
    Fixed,
    /// One payment of the shopper's amount, within bounds.
    Open,
    /// A shop's printed code: many payments of the shoppers' amounts, each
    /// its own order and each kept; the link never becomes paid.
    Counter,
}

impl LinkKind {
    /// Whether every payment of such a link is kept (none is a duplicate,
    /// the link never becomes paid).
    pub fn keeps_every_payment(self) -> bool {
        self == LinkKind::Counter
    }
}

impl Spelled for LinkKind {
    const ALL: &'static [Self] = &[LinkKind::Fixed, LinkKind::Open, LinkKind::Counter];
    fn spelling(self) -> &'static str {
        match self {
            LinkKind::Fixed => "fixed",
            LinkKind::Open => "open",
            LinkKind::Counter => "counter",
        }
    }
}

/// One goods line of a link, shown on the page and sent as `GOODS_DETAIL`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodsLine {
    /// Merchant's product id.
    pub id: String,
    /// Product name.
    pub name: String,
    /// Unit price as a yuan string (`"2.00"`).
    pub price: String,
    /// Quantity.
    pub quantity: u32,
}

/// How the shopper pays (`POST /api/pay` `method`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayMethod {
    /// WeChat in-app JSAPI (`order` with TRADE_TYPE=JSAPI).
    WechatJsapi,
    /// Alipay in-app bridge (`creatOrder` + `tradePay`).
    AlipayJsapi,
    /// Mobile browser app jump (`wapOrder`).
    Wap,
    /// QR code to scan (`order` NATIVE).
    Native,
}

impl PayMethod {
    /// The wire spelling, as used in the API and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            PayMethod::WechatJsapi => "wechat_jsapi",
            PayMethod::AlipayJsapi => "alipay_jsapi",
            PayMethod::Wap => "wap",
            PayMethod::Native => "native",
        }
    }
}

impl Spelled for PayMethod {
    const ALL: &'static [Self] = &[
        PayMethod::WechatJsapi,
        PayMethod::AlipayJsapi,
        PayMethod::Wap,
        PayMethod::Native,
    ];
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

/// Order state as the shopper and merchant API report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Waiting for the shopper.
    Pending,
    /// Paid.
    Paid,
    /// Closed without payment.
    Closed,
    /// Revoked (cancelled; money returned if it was paid).
    Revoked,
    /// Fully refunded.
    Refunded,
    /// Partly refunded.
    PartiallyRefunded,
    /// The gateway reported a failure.
    Failed,
}

impl OrderStatus {
    /// Every state, for tables derived from the rules (the allowed
    /// from-states a conditional update carries, `state::sources`).
    pub const ALL: [OrderStatus; 7] = [
        OrderStatus::Pending,
        OrderStatus::Paid,
        OrderStatus::Closed,
        OrderStatus::Revoked,
        OrderStatus::Refunded,
        OrderStatus::PartiallyRefunded,
        OrderStatus::Failed,
    ];

    /// The wire spelling (`"partially_refunded"`), also the D1 column value.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStatus::Pending => "pending",
            OrderStatus::Paid => "paid",
            OrderStatus::Closed => "closed",
            OrderStatus::Revoked => "revoked",
            OrderStatus::Refunded => "refunded",
            OrderStatus::PartiallyRefunded => "partially_refunded",
            OrderStatus::Failed => "failed",
        }
    }
}

impl Spelled for OrderStatus {
    // The inherent list (inherent items win over the trait's in a path).
    const ALL: &'static [Self] = &OrderStatus::ALL;
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

/// The payment app a link or a QR order is restricted to.
///
/// An extension of API.md: a merchant can issue a link that only WeChat Pay
/// (or only Alipay) may pay, e.g. because only that contract is signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkChannel {
    /// WeChat Pay only.
    Wechat,
    /// Alipay only.
    Alipay,
}

impl LinkChannel {
    /// The wire spelling (`"wechat"` / `"alipay"`).
    pub fn as_str(self) -> &'static str {
        match self {
            LinkChannel::Wechat => "wechat",
            LinkChannel::Alipay => "alipay",
        }
    }
}

impl Spelled for LinkChannel {
    const ALL: &'static [Self] = &[LinkChannel::Wechat, LinkChannel::Alipay];
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

/// What an attempt (a stored order) was created by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderKind {
    /// A shopper paying a checkout link.
    Link,
    /// A merchant's NATIVE QR order (`POST /v1/qr-orders`).
    Qr,
    /// A merchant's POS charge (`POST /v1/pos/charges`).
    Pos,
}

impl OrderKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderKind::Link => "link",
            OrderKind::Qr => "qr",
            OrderKind::Pos => "pos",
        }
    }
}

impl Spelled for OrderKind {
    const ALL: &'static [Self] = &[OrderKind::Link, OrderKind::Qr, OrderKind::Pos];
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

/// The method stored with an attempt: the shopper's [`PayMethod`], or the
/// merchant scanning the shopper's code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderMethod {
    /// [`PayMethod::WechatJsapi`].
    WechatJsapi,
    /// [`PayMethod::AlipayJsapi`].
    AlipayJsapi,
    /// [`PayMethod::Wap`].
    Wap,
    /// [`PayMethod::Native`] (also every QR order).
    Native,
    /// A POS charge (`preOrder`).
    Pos,
}

impl From<PayMethod> for OrderMethod {
    fn from(m: PayMethod) -> Self {
        match m {
            PayMethod::WechatJsapi => OrderMethod::WechatJsapi,
            PayMethod::AlipayJsapi => OrderMethod::AlipayJsapi,
            PayMethod::Wap => OrderMethod::Wap,
            PayMethod::Native => OrderMethod::Native,
        }
    }
}

impl OrderMethod {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderMethod::WechatJsapi => "wechat_jsapi",
            OrderMethod::AlipayJsapi => "alipay_jsapi",
            OrderMethod::Wap => "wap",
            OrderMethod::Native => "native",
            OrderMethod::Pos => "pos",
        }
    }
}

impl Spelled for OrderMethod {
    const ALL: &'static [Self] = &[
        OrderMethod::WechatJsapi,
        OrderMethod::AlipayJsapi,
        OrderMethod::Wap,
        OrderMethod::Native,
        OrderMethod::Pos,
    ];
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

/// What caused a state change (the `source` of an order's history entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventSource {
    /// The creating call's answer.
    Pay,
    /// A gateway notification.
    Notify,
    /// The page polling the order.
    Poll,
    /// The cron reconciler.
    Cron,
    /// The merchant's `GET /v1/orders/{code}`.
    MerchantQuery,
    /// A refund.
    Refund,
    /// The merchant's cancel.
    Cancel,
    /// A POS charge's polling or revocation.
    Pos,
}

impl EventSource {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EventSource::Pay => "pay",
            EventSource::Notify => "notify",
            EventSource::Poll => "poll",
            EventSource::Cron => "cron",
            EventSource::MerchantQuery => "merchant_query",
            EventSource::Refund => "refund",
            EventSource::Cancel => "cancel",
            EventSource::Pos => "pos",
        }
    }
}

impl Spelled for EventSource {
    const ALL: &'static [Self] = &[
        EventSource::Pay,
        EventSource::Notify,
        EventSource::Poll,
        EventSource::Cron,
        EventSource::MerchantQuery,
        EventSource::Refund,
        EventSource::Cancel,
        EventSource::Pos,
    ];
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

/// Where a refund stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RefundState {
    /// Reserved (counted against the refundable amount), not yet confirmed.
    Pending,
    /// The gateway confirmed it: the money went back.
    Succeeded,
    /// The gateway refused it; it no longer counts.
    Failed,
}

impl RefundState {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Pending => "pending",
            RefundState::Succeeded => "succeeded",
            RefundState::Failed => "failed",
        }
    }
}

impl Spelled for RefundState {
    const ALL: &'static [Self] = &[
        RefundState::Pending,
        RefundState::Succeeded,
        RefundState::Failed,
    ];
    fn spelling(self) -> &'static str {
        self.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A deserializer that only records the variant names a serde derive
    /// offers (`deserialize_enum`'s list): the one place serde states every
    /// spelling it accepts.
    struct Variants(&'static [&'static str]);

    impl<'de> serde::Deserializer<'de> for &mut Variants {
        type Error = serde::de::value::Error;

        fn deserialize_enum<V: serde::de::Visitor<'de>>(
            self,
            _name: &'static str,
            variants: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = variants;
            Err(serde::de::Error::custom("variants recorded"))
        }

        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a unit enum"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map struct identifier ignored_any
        }
    }

    /// `T::ALL` spells exactly serde's variants, in serde's spelling, and
    /// `from_spelling` reads back what serde writes.
    fn assert_spelled_as_serde<T>()
    where
        T: Spelled + Serialize + for<'de> Deserialize<'de> + PartialEq + std::fmt::Debug,
    {
        let mut variants = Variants(&[]);
        assert!(T::deserialize(&mut variants).is_err());
        let ours: Vec<&str> = T::ALL.iter().map(|v| v.spelling()).collect();
        assert_eq!(ours, variants.0, "{}", std::any::type_name::<T>());
        for &v in T::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), json!(v.spelling()));
            assert_eq!(T::from_spelling(v.spelling()), Some(v));
        }
        assert_eq!(T::from_spelling("no such spelling"), None);
    }

    #[test]
    fn spellings_are_serdes() {
        assert_spelled_as_serde::<LinkState>();
        assert_spelled_as_serde::<LinkKind>();
        assert_spelled_as_serde::<PayMethod>();
        assert_spelled_as_serde::<OrderStatus>();
        assert_spelled_as_serde::<LinkChannel>();
        assert_spelled_as_serde::<OrderMethod>();
        assert_spelled_as_serde::<RefundState>();
        assert_spelled_as_serde::<OrderKind>();
        assert_spelled_as_serde::<EventSource>();
        assert_spelled_as_serde::<crate::access::Role>();
        assert_spelled_as_serde::<crate::access::ActorKind>();
        assert_spelled_as_serde::<crate::access::Outcome>();
        assert_spelled_as_serde::<crate::api::ErrorCode>();
    }

    /// The stored spellings are what the rows hold and the merchant API
    /// shows: serde and `as_str` must agree on each.
    #[test]
    fn stored_spellings_agree_with_serde() {
        for k in [OrderKind::Link, OrderKind::Qr, OrderKind::Pos] {
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
        for m in [
            OrderMethod::WechatJsapi,
            OrderMethod::AlipayJsapi,
            OrderMethod::Wap,
            OrderMethod::Native,
            OrderMethod::Pos,
        ] {
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
        }
        for p in [
            PayMethod::WechatJsapi,
            PayMethod::AlipayJsapi,
            PayMethod::Wap,
            PayMethod::Native,
        ] {
            assert_eq!(OrderMethod::from(p).as_str(), p.as_str());
        }
        use EventSource as S;
        for s in [
            S::Pay,
            S::Notify,
            S::Poll,
            S::Cron,
            S::MerchantQuery,
            S::Refund,
            S::Cancel,
            S::Pos,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
        }
        for r in [
            RefundState::Pending,
            RefundState::Succeeded,
            RefundState::Failed,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
        }
    }
}
