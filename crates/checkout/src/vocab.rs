//! The domain's words, shared by every other module and by the Worker and
//! the page: an order's status, a link's state and channel, a payment
//! method, a goods line. They live apart from `api` (the HTTP bodies that
//! use them) so that `link`, `state`, `routing` and `error` can name them
//! without depending on the API types, which in turn depend on them.

use serde::{Deserialize, Serialize};

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
