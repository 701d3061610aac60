//! The translation room for SOUSHOU: every request the Worker sends to the
//! gateway is built here from domain inputs, and every answer is read here
//! into what the domain needs (the hyperswitch `transformers` shape).
//!
//! Why one room: the gateway's spelling (`NODIFY_URL`, `CHARGE_DOWN_CODE`,
//! yuan strings beside integer fen, a `SUCCESS` that means "asked" for
//! `opType=ACO`) stops here. Flows and the Worker speak `Fen`,
//! [`PayMethod`](crate::vocab::PayMethod), [`OrderStatus`](crate::vocab::OrderStatus);
//! a change of the gateway's document is a change of this module and its
//! tables. The wallets' sign-in exchanges (WeChat `sns/oauth2/access_token`,
//! Alipay `alipay.system.oauth.token`) have their own room, [`crate::oauth`].
//!
//! | interface | builder ([`requests`]) | answer mapping ([`answers`]) |
//! |---|---|---|
//! | `order` JSAPI | [`order_jsapi`] | [`pay_action`] → `wechat_jsapi` params |
//! | `order` NATIVE | [`order_native`] | [`pay_action`] → QR; [`qr_content`] (merchant QR order) |
//! | `creatOrder` | [`creat_order`] | [`pay_action`] → Alipay `trade_no` |
//! | `wapOrder` | [`wap_order`] | [`pay_action`] → redirect URL |
//! | (a link attempt) | [`link_attempt`] → [`CreateRequest`] | [`pay_action`]; [`serials`]; failure: [`attempt_after_failure`] |
//! | `preOrder` | [`pre_order`] | [`Report::of_pre_order`](crate::settle::Report::of_pre_order); [`GatewayOrder`](crate::api::GatewayOrder) `From` |
//! | `refund` | [`refund`] | [`GatewayRefund`](crate::api::GatewayRefund) `From`; failure: [`refund_after_failure`] |
//! | `query` | [`query`] | [`Report::of_query`](crate::settle::Report::of_query); [`GatewayOrder`](crate::api::GatewayOrder) `From`; [`status_of`]; failure: [`never_heard_of`] |
//! | `refundQuery` | [`refund_query`] | [`listed_refunds`] → [`refund_evidence`]; [`refund_lines`] |
//! | `cancelTrade` | [`cancel_trade`] | [`cancel_evidence`]; failure: [`never_heard_of`] |
//! | any failure | — | [`classify`] → [`Verdict`] |
//!
//! Shared inputs: [`Merchant`] (the gateway identity on every body),
//! [`notify_url`], [`channel_type`], [`Charge`].

pub mod answers;
pub mod requests;

pub use answers::*;
pub use requests::*;
