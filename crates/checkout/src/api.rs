//! The JSON types of the Worker's HTTP API (`shared/design/API.md`, contract v1).
//!
//! The Worker serialises them and the page deserialises them, so both sides
//! agree by construction. Field names are the contract: do not rename.

use serde::{Deserialize, Serialize};
use soushou::Fen;

use crate::link::LinkPayload;

/// Money as the API shows it where it is read: the exact yuan string and the
/// integer fen, side by side (`"amount": "12.50", "amount_fen": 1250`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Yuan with exactly two decimals, e.g. `"12.50"`.
    pub amount: String,
    /// The same amount in fen, e.g. `1250`.
    pub amount_fen: u64,
}

impl From<Fen> for Money {
    fn from(fen: Fen) -> Self {
        Money {
            amount: fen.to_yuan(),
            amount_fen: fen.fen(),
        }
    }
}

impl Money {
    /// The amount as `Fen` (the integer is authoritative).
    pub fn fen(&self) -> Fen {
        Fen::from_fen(self.amount_fen)
    }
}

/// Every error body: `{"error": {"code", "message", "gateway_code"?}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The error itself.
    pub error: ErrorDetail,
}

/// A stable error code plus a readable message; gateway failures keep the
/// gateway's `RESULT.CODE`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `INVALID_LINK`, `ALREADY_PAID`, `GATEWAY_TIMEOUT`.
    pub code: String,
    /// Human-readable explanation (English; the page localises by `code`).
    pub message: String,
    /// The gateway's `RESULT.CODE` when the gateway refused the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway_code: Option<String>,
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

/// `GET /api/checkout/{token}` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckoutView {
    /// Merchant's display name.
    pub merchant: String,
    /// What is being paid for.
    pub subject: String,
    /// The amount to pay.
    #[serde(flatten)]
    pub money: Money,
    /// Always `"CNY"`.
    pub currency: String,
    /// Unix seconds after which the link cannot be paid.
    pub expires_at: u64,
    /// Open, paid or expired.
    pub state: LinkState,
    /// The charge code of the paid (or latest pending) attempt, if any.
    pub charge_code: Option<String>,
    /// Where to send the shopper after payment.
    pub return_url: Option<String>,
    /// Goods lines, if the merchant gave any.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goods: Vec<GoodsLine>,
    /// The link's restriction to one payment app, so the page can route
    /// (e.g. show "open in browser" for an Alipay-only link inside WeChat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<LinkChannel>,
}

impl CheckoutView {
    /// The view of a verified link. Everything the shopper sees about the
    /// payment comes from the signed payload, never from the request.
    pub fn from_link(
        merchant: impl Into<String>,
        link: &LinkPayload,
        state: LinkState,
        charge_code: Option<String>,
    ) -> Self {
        CheckoutView {
            merchant: merchant.into(),
            subject: link.subject.clone(),
            money: Money::from(link.amount),
            currency: "CNY".to_owned(),
            expires_at: link.expires_at,
            state,
            charge_code,
            return_url: link.return_url.clone(),
            goods: link.goods.clone(),
            channel: link.channel,
        }
    }
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

/// `POST /api/pay` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayRequest {
    /// The checkout link's token.
    pub token: String,
    /// The payment method the page chose.
    pub method: PayMethod,
    /// WeChat openid (required for `wechat_jsapi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub openid: Option<String>,
    /// Alipay buyer id (`alipay_jsapi`: this or `buyer_logon_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_id: Option<String>,
    /// Alipay logon id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_logon_id: Option<String>,
}

/// The six WeChat JSAPI parameters, named exactly as `getBrandWCPayRequest` wants them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatPayParams {
    /// `appId`.
    #[serde(rename = "appId")]
    pub app_id: String,
    /// `timeStamp` (a string, as WeChat requires).
    #[serde(rename = "timeStamp")]
    pub time_stamp: String,
    /// `nonceStr`.
    #[serde(rename = "nonceStr")]
    pub nonce_str: String,
    /// `package` (the gateway's `packageData`, `prepay_id=...`).
    pub package: String,
    /// `signType`.
    #[serde(rename = "signType")]
    pub sign_type: String,
    /// `paySign` (the gateway's `sign`).
    #[serde(rename = "paySign")]
    pub pay_sign: String,
}

/// What the page must do next to let the shopper pay.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PayAction {
    /// Invoke `WeixinJSBridge.invoke('getBrandWCPayRequest', params, cb)`.
    WechatJsapi {
        /// The bridge arguments.
        params: WechatPayParams,
    },
    /// Invoke `AlipayJSBridge.call('tradePay', {tradeNO}, cb)`.
    AlipayTradePay {
        /// Alipay trade number (`CHARGE_THIRD_CODE`).
        trade_no: String,
    },
    /// Navigate to the payment app's link (`BAR_CODE` of `wapOrder`).
    Redirect {
        /// Where to go.
        url: String,
    },
    /// Show a QR code of this content (`BAR_CODE` of NATIVE `order`).
    Qr {
        /// The QR payload.
        content: String,
        /// The QR code of `content` as SVG markup ([`crate::qr::svg`]),
        /// drawn by the Worker so the page carries no QR encoder (an
        /// addition to API v1). `None` when `content` is too long for a QR code.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        svg: Option<String>,
    },
}

/// `POST /api/pay` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayResponse {
    /// The new attempt's `CHARGE_CODE`; poll `/api/orders/{charge_code}`.
    pub charge_code: String,
    /// The method used (may differ from the requested one after routing fallbacks).
    pub method: PayMethod,
    /// What the page does next.
    pub action: PayAction,
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

/// `GET /api/orders/{charge_code}` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderView {
    /// The attempt's `CHARGE_CODE`.
    pub charge_code: String,
    /// Current state.
    pub state: OrderStatus,
    /// The attempt's amount.
    #[serde(flatten)]
    pub money: Money,
    /// When it was paid (unix seconds).
    pub paid_at: Option<u64>,
    /// Where to send the shopper after payment.
    pub return_url: Option<String>,
}

// ---------------------------------------------------------------------------
// Merchant-facing (`Authorization: Bearer ADMIN_TOKEN`)
// ---------------------------------------------------------------------------

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

/// `POST /v1/links` body: the merchant asks for a checkout link.
///
/// Validated and turned into a signed [`crate::link::LinkPayload`] by
/// [`crate::link::LinkPayload::from_request`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLinkRequest {
    /// Yuan string, at most two decimals (`"12.50"`).
    pub amount: String,
    /// What the shopper pays for (shown on the page, sent as `PAY_SUBJECT`).
    pub subject: String,
    /// The merchant's own reference (order number), echoed back in order views.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#ref: Option<String>,
    /// Lifetime in seconds; default 86400 (one day).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// Where to send the shopper after payment (http or https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_url: Option<String>,
    /// Goods lines to show and to send as `GOODS_DETAIL`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub goods: Vec<GoodsLine>,
    /// Restrict the link to one payment app (extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<LinkChannel>,
}

/// `POST /v1/links` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateLinkResponse {
    /// The checkout page's URL to hand to the shopper (`{PUBLIC_BASE_URL}/c/{token}`).
    pub url: String,
    /// The signed token itself.
    pub token: String,
    /// Unix seconds from which the link can no longer be paid.
    pub expires_at: u64,
}

/// `POST /v1/orders/{charge_code}/refunds` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundRequest {
    /// Yuan string to refund; the total may not exceed the paid amount.
    pub amount: String,
    /// Why (sent as `REFUND_SUBJECT`).
    pub reason: String,
    /// The merchant's refund number, for idempotent retries (`OUT_REFUND_NO`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub out_refund_no: Option<String>,
}

/// `POST /v1/orders/{charge_code}/cancel` body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// `true`: apply for revocation (`opType=ACO`); `false`: revoke in real time.
    pub apply: bool,
}

/// `POST /v1/pos/charges` body: charge a code the shopper shows (`preOrder`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PosChargeRequest {
    /// The scanned payment code (`DYNAMIC_ID`).
    pub dynamic_id: String,
    /// `DYNAMIC_ID_TYPE`; default 1 (barcode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dynamic_id_type: Option<u8>,
    /// Yuan string, at most two decimals.
    pub amount: String,
    /// What is being paid for.
    pub subject: String,
    /// `"auto"` (CHANNEL_TYPE 0, the gateway decides), `"alipay"` or `"wechat"`; default auto.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// `POST /v1/qr-orders` body: a NATIVE order whose QR the merchant shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOrderRequest {
    /// Yuan string, at most two decimals.
    pub amount: String,
    /// What is being paid for.
    pub subject: String,
    /// Which app's QR code to create.
    pub channel: LinkChannel,
}

/// `POST /v1/qr-orders` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrOrderResponse {
    /// The new order's `CHARGE_CODE`.
    pub charge_code: String,
    /// The QR content (`BAR_CODE`).
    pub qr: String,
}

/// `GET /healthz` → 200.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// Always `true` when the Worker answers.
    pub ok: bool,
    /// The deployed version.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn create_link_request_minimal_and_full() {
        let min: CreateLinkRequest =
            serde_json::from_value(json!({"amount": "12.50", "subject": "Tea"})).unwrap();
        assert_eq!(min.amount, "12.50");
        assert_eq!(min.r#ref, None);
        assert_eq!(min.expires_in, None);
        assert!(min.goods.is_empty());
        assert_eq!(min.channel, None);
        assert_eq!(
            serde_json::to_value(&min).unwrap(),
            json!({"amount": "12.50", "subject": "Tea"})
        );

        let full = json!({"amount": "3", "subject": "S", "ref": "R-1", "expires_in": 600,
            "return_url": "https://shop.example/done",
            "goods": [{"id": "g1", "name": "Green tea", "price": "1.50", "quantity": 2}],
            "channel": "alipay"});
        let req: CreateLinkRequest = serde_json::from_value(full.clone()).unwrap();
        assert_eq!(req.r#ref.as_deref(), Some("R-1"));
        assert_eq!(req.channel, Some(LinkChannel::Alipay));
        assert_eq!(req.goods[0].quantity, 2);
        assert_eq!(serde_json::to_value(&req).unwrap(), full);
    }

    #[test]
    fn link_channel_spelling() {
        assert_eq!(
            serde_json::to_string(&LinkChannel::Wechat).unwrap(),
            "\"wechat\""
        );
        assert_eq!(
            serde_json::from_str::<LinkChannel>("\"alipay\"").unwrap(),
            LinkChannel::Alipay
        );
        assert!(serde_json::from_str::<LinkChannel>("\"WeChat\"").is_err());
        assert_eq!(LinkChannel::Alipay.as_str(), "alipay");
    }

    #[test]
    fn merchant_bodies() {
        let r: RefundRequest =
            serde_json::from_value(json!({"amount": "1.00", "reason": "broken"})).unwrap();
        assert_eq!(r.out_refund_no, None);
        let c: CancelRequest = serde_json::from_value(json!({"apply": true})).unwrap();
        assert!(c.apply);
        let p: PosChargeRequest = serde_json::from_value(
            json!({"dynamic_id": "134", "amount": "1", "subject": "x", "channel": "auto"}),
        )
        .unwrap();
        assert_eq!(p.dynamic_id_type, None);
        assert_eq!(p.channel.as_deref(), Some("auto"));
        let q: QrOrderRequest =
            serde_json::from_value(json!({"amount": "1", "subject": "x", "channel": "wechat"}))
                .unwrap();
        assert_eq!(q.channel, LinkChannel::Wechat);
        assert!(
            serde_json::from_value::<QrOrderRequest>(json!({"amount": "1", "subject": "x"}))
                .is_err()
        );
        assert_eq!(
            serde_json::to_value(QrOrderResponse {
                charge_code: "C1".into(),
                qr: "weixin://x".into()
            })
            .unwrap(),
            json!({"charge_code": "C1", "qr": "weixin://x"})
        );
        assert_eq!(
            serde_json::to_value(HealthResponse {
                ok: true,
                version: "0.1.0".into()
            })
            .unwrap(),
            json!({"ok": true, "version": "0.1.0"})
        );
        assert_eq!(
            serde_json::to_value(CreateLinkResponse {
                url: "u".into(),
                token: "t".into(),
                expires_at: 5
            })
            .unwrap(),
            json!({"url": "u", "token": "t", "expires_at": 5})
        );
    }

    #[test]
    fn shopper_views_flatten_money() {
        let view = OrderView {
            charge_code: "C1".into(),
            state: OrderStatus::PartiallyRefunded,
            money: Money::from(Fen::from_fen(1250)),
            paid_at: Some(1_795_650_000),
            return_url: None,
        };
        let v = serde_json::to_value(&view).unwrap();
        assert_eq!(
            v,
            json!({"charge_code": "C1", "state": "partially_refunded", "amount": "12.50",
                "amount_fen": 1250, "paid_at": 1_795_650_000u64, "return_url": null})
        );
        assert_eq!(serde_json::from_value::<OrderView>(v).unwrap(), view);
        for s in [
            OrderStatus::Pending,
            OrderStatus::Paid,
            OrderStatus::Closed,
            OrderStatus::Revoked,
            OrderStatus::Refunded,
            OrderStatus::PartiallyRefunded,
            OrderStatus::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(s).unwrap(),
                json!(s.as_str()),
                "as_str and serde agree"
            );
        }
    }

    #[test]
    fn checkout_view_from_link() {
        let link = LinkPayload {
            amount: Fen::from_fen(1250),
            subject: "Tea".into(),
            merchant_ref: Some("R".into()),
            expires_at: 1_795_650_000,
            return_url: Some("https://shop.example/".into()),
            goods: vec![],
            channel: Some(LinkChannel::Alipay),
            nonce: "n".into(),
        };
        let view = CheckoutView::from_link("Shop", &link, LinkState::Open, None);
        let v = serde_json::to_value(&view).unwrap();
        assert_eq!(
            v,
            json!({"merchant": "Shop", "subject": "Tea", "amount": "12.50", "amount_fen": 1250,
                "currency": "CNY", "expires_at": 1_795_650_000u64, "state": "open",
                "charge_code": null, "return_url": "https://shop.example/", "channel": "alipay"})
        );
        assert_eq!(serde_json::from_value::<CheckoutView>(v).unwrap(), view);
        // Without a restriction the field is absent, as in API.md.
        let open = LinkPayload {
            channel: None,
            ..link
        };
        let v = serde_json::to_value(CheckoutView::from_link(
            "Shop",
            &open,
            LinkState::Paid,
            Some("C".into()),
        ))
        .unwrap();
        assert!(v.get("channel").is_none());
        assert_eq!(v["state"], "paid");
        assert_eq!(v["charge_code"], "C");
    }

    #[test]
    fn pay_action_is_tagged() {
        let a = PayAction::Qr {
            content: "weixin://q".into(),
            svg: None,
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            json!({"type": "qr", "content": "weixin://q"})
        );
        let with_svg = PayAction::Qr {
            content: "weixin://q".into(),
            svg: Some("<svg/>".into()),
        };
        assert_eq!(
            serde_json::to_value(&with_svg).unwrap(),
            json!({"type": "qr", "content": "weixin://q", "svg": "<svg/>"})
        );
        let t: PayAction =
            serde_json::from_value(json!({"type": "alipay_trade_pay", "trade_no": "T"})).unwrap();
        assert_eq!(
            t,
            PayAction::AlipayTradePay {
                trade_no: "T".into()
            }
        );
        for m in [
            PayMethod::WechatJsapi,
            PayMethod::AlipayJsapi,
            PayMethod::Wap,
            PayMethod::Native,
        ] {
            assert_eq!(serde_json::to_value(m).unwrap(), json!(m.as_str()));
        }
    }
}
