//! Domain inputs → SOUSHOU request structs: every request the Worker sends.
//!
//! Why pure builders: the bytes the gateway receives (and the sandbox and
//! the end-to-end tests depend on) are decided here, on the host, where a
//! table test can pin each field; the Worker only signs, sends and reads.
//! Each builder takes the domain's words (a [`PayMethod`], a
//! [`ScanKind`](crate::merchant::ScanKind) converted by its `From`, a
//! [`Fen`]) and the settings it needs, and returns the one
//! `soushou::model` struct of its interface. No builder validates: the
//! envelope (`soushou::envelope::build`) checks every request before it is
//! signed, so a missing `subOpenid` or buyer id is refused there, once.

use soushou::envelope;
use soushou::model::{
    CancelTradeRequest, Common, CreatOrderRequest, GoodsItem, OrderRequest, PreOrderRequest,
    QueryRequest, RefundQueryRequest, RefundRequest, SceneInfo, WapOrderRequest,
};
use soushou::types::{CancelMode, ChannelType, DynamicIdType, SerType, TradeType};
use soushou::Fen;

use crate::merchant::ScanKind;
use crate::vocab::{LinkChannel, PayMethod};

/// `TIME_EXPIRE` of `creatOrder`, seconds (the document's minimum is 120):
/// long enough to confirm in Alipay, short enough that an abandoned trade
/// closes while the link is still open.
pub const ALIPAY_JSAPI_EXPIRE_SECS: u32 = 900;
/// `TIME_EXPIRE` of `wapOrder`, seconds (the document's minimum is 300).
pub const WAP_EXPIRE_SECS: u32 = 900;

/// Who sends: the merchant's identifiers on every order and refund body
/// (the gateway settings `BUSI_ID`, `OPER_ID`, `DEV_ID`, `REGISTER_ID`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Merchant {
    /// `BUSI_ID`.
    pub busi_id: String,
    /// `OPER_ID`.
    pub oper_id: String,
    /// `DEV_ID`.
    pub dev_id: String,
    /// `REGISTER_ID` (store code), when configured.
    pub register_id: Option<String>,
}

impl Merchant {
    /// The block every order-type body starts with; `MERCHANTPARA` is never
    /// sent (the charge code already names the attempt).
    fn common(&self) -> Common {
        Common {
            busi_id: self.busi_id.clone(),
            oper_id: self.oper_id.clone(),
            dev_id: self.dev_id.clone(),
            register_id: self.register_id.clone(),
            merchant_para: None,
        }
    }
}

impl From<&envelope::Config> for Merchant {
    /// The identifiers of the gateway the Worker is configured for (the
    /// key and URL stay with the envelope).
    fn from(cfg: &envelope::Config) -> Self {
        Merchant {
            busi_id: cfg.busi_id.clone(),
            oper_id: cfg.oper_id.clone(),
            dev_id: cfg.dev_id.clone(),
            register_id: cfg.register_id.clone(),
        }
    }
}

/// `NODIFY_URL` (sic): `{public_base_url}/notify?_type=json`, plus
/// `&encrypt=3DES` when the gateway is called encrypted, so the
/// notification comes back in the same shape as the answers.
pub fn notify_url(public_base_url: &str, encrypt: bool) -> String {
    let base = public_base_url.trim_end_matches('/');
    if encrypt {
        format!("{base}/notify?_type=json&encrypt=3DES")
    } else {
        format!("{base}/notify?_type=json")
    }
}

/// The gateway's `CHANNEL_TYPE` (appendix 2) for a method.
///
/// - `wechat_jsapi` → 2 (WeChat), `alipay_jsapi` → 1 (Alipay).
/// - `wap` → 34 (Alipay mobile web pay), except on WeChat-only links, where
///   it is 2: `wapOrder` with WeChat is WeChat's H5 payment (its sample
///   answer is a `weixin://` link). Alipay is the default because WeChat H5
///   needs a separately approved domain, while Alipay WAP works anywhere.
/// - `native` → 1 on Alipay-only links, else 2 (WeChat's QR is the one a
///   Chinese shopper is most likely to scan).
pub fn channel_type(method: PayMethod, link_channel: Option<LinkChannel>) -> ChannelType {
    match (method, link_channel) {
        (PayMethod::WechatJsapi, _) => ChannelType::WeChat,
        (PayMethod::AlipayJsapi, _) => ChannelType::Alipay,
        (PayMethod::Wap, Some(LinkChannel::Wechat)) => ChannelType::WeChat,
        (PayMethod::Wap, _) => ChannelType::AlipayWap,
        (PayMethod::Native, Some(LinkChannel::Alipay)) => ChannelType::Alipay,
        (PayMethod::Native, _) => ChannelType::WeChat,
    }
}

/// One attempt as every creating call names it (`order`, `creatOrder`,
/// `wapOrder`, `preOrder`): the same values go on the stored row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Charge<'a> {
    /// `CHARGE_CODE`: the attempt's fresh serial.
    pub charge_code: &'a str,
    /// `AMT`.
    pub amount: Fen,
    /// `CHANNEL_TYPE` ([`channel_type`] for a link or QR attempt, the POS
    /// channel's for a POS charge).
    pub channel: ChannelType,
    /// `PAY_SUBJECT`.
    pub subject: &'a str,
    /// `GOODS_DETAIL` (a link's goods; none for merchant attempts).
    pub goods: &'a [GoodsItem],
}

/// `order` with `TRADE_TYPE=NATIVE`: a QR code for the shopper to scan (a
/// link's QR fallback, or the merchant's `POST /v1/qr-orders`).
pub fn order_native(m: &Merchant, c: &Charge<'_>, notify_url: &str) -> OrderRequest {
    order(m, c, notify_url, TradeType::Native, None, None)
}

/// `order` with `TRADE_TYPE=JSAPI`: pay inside WeChat. `sub_appid` is the
/// app the openid belongs to (`WECHAT_SUB_APPID`, else `WECHAT_APPID`);
/// `openid` is `subOpenid` (the envelope refuses the request without one).
pub fn order_jsapi(
    m: &Merchant,
    c: &Charge<'_>,
    notify_url: &str,
    sub_appid: Option<&str>,
    openid: Option<&str>,
) -> OrderRequest {
    order(m, c, notify_url, TradeType::Jsapi, sub_appid, openid)
}

fn order(
    m: &Merchant,
    c: &Charge<'_>,
    notify_url: &str,
    trade_type: TradeType,
    sub_appid: Option<&str>,
    openid: Option<&str>,
) -> OrderRequest {
    OrderRequest {
        common: m.common(),
        amt: c.amount,
        channel_type: c.channel.clone(),
        trade_type: Some(trade_type),
        sub_appid: sub_appid.map(str::to_owned),
        sub_openid: openid.map(str::to_owned),
        charge_code: c.charge_code.to_owned(),
        nodify_url: Some(notify_url.to_owned()),
        pay_subject: c.subject.to_owned(),
        goods_detail: c.goods.to_vec(),
    }
}

/// `creatOrder` (sic): an Alipay trade for `tradePay` inside Alipay,
/// expiring after [`ALIPAY_JSAPI_EXPIRE_SECS`]. The buyer is `buyerId`
/// (from the sign-in) and/or `buyerLogonId`, as the page sent them.
pub fn creat_order(
    m: &Merchant,
    c: &Charge<'_>,
    notify_url: &str,
    buyer_id: Option<&str>,
    buyer_logon_id: Option<&str>,
) -> CreatOrderRequest {
    CreatOrderRequest {
        common: m.common(),
        amt: c.amount,
        channel_type: c.channel.clone(),
        time_expire: Some(ALIPAY_JSAPI_EXPIRE_SECS),
        buyer_logon_id: buyer_logon_id.map(str::to_owned),
        buyer_id: buyer_id.map(str::to_owned),
        charge_code: c.charge_code.to_owned(),
        nodify_url: Some(notify_url.to_owned()),
        pay_subject: c.subject.to_owned(),
        goods_detail: c.goods.to_vec(),
    }
}

/// What `wapOrder` needs beyond the charge: the site it is paid from and
/// the shopper's browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wap<'a> {
    /// `PUBLIC_BASE_URL`: the scene's `wap_url` and the return page's origin.
    pub public_base_url: &'a str,
    /// `MERCHANT_NAME`: the scene's `wap_name`.
    pub merchant_name: &'a str,
    /// The link token: after paying, the browser comes back to its page.
    pub token: &'a str,
    /// `SPBILL_CREATE_IP`: the shopper's IP (`CF-Connecting-IP`).
    pub client_ip: &'a str,
}

/// `wapOrder`: the wallet's mobile web page (Alipay WAP, or WeChat H5 on
/// WeChat-only links), expiring after [`WAP_EXPIRE_SECS`]. `RETURN_URL` is
/// the checkout page again with `?charge_code=`, so the page resumes
/// polling the attempt instead of starting a new sign-in.
pub fn wap_order(m: &Merchant, c: &Charge<'_>, notify_url: &str, w: &Wap<'_>) -> WapOrderRequest {
    let base = w.public_base_url.trim_end_matches('/');
    WapOrderRequest {
        common: m.common(),
        amt: c.amount,
        channel_type: c.channel.clone(),
        time_expire: Some(WAP_EXPIRE_SECS),
        scene_info: SceneInfo::Wap {
            wap_url: base.to_owned(),
            wap_name: w.merchant_name.to_owned(),
        },
        nodify_url: Some(notify_url.to_owned()),
        return_url: Some(format!(
            "{base}/c/{}?charge_code={}",
            w.token, c.charge_code
        )),
        spbill_create_ip: w.client_ip.to_owned(),
        charge_code: c.charge_code.to_owned(),
        pay_subject: c.subject.to_owned(),
        goods_detail: c.goods.to_vec(),
    }
}

/// The creating request of a link attempt: one of three interfaces, all
/// answered with `ORDER_RESP`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CreateRequest {
    /// `order` (JSAPI or NATIVE).
    Order(OrderRequest),
    /// `creatOrder` (Alipay JSAPI).
    CreatOrder(CreatOrderRequest),
    /// `wapOrder`.
    WapOrder(WapOrderRequest),
}

/// The settings a link attempt's request needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Site<'a> {
    /// `NODIFY_URL` ([`notify_url`]).
    pub notify_url: &'a str,
    /// `PUBLIC_BASE_URL`.
    pub public_base_url: &'a str,
    /// `MERCHANT_NAME`.
    pub merchant_name: &'a str,
    /// `subAppid` of WeChat JSAPI (`WECHAT_SUB_APPID`, else `WECHAT_APPID`).
    pub wechat_sub_appid: Option<&'a str>,
}

/// The shopper as a link attempt's request names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Payer<'a> {
    /// WeChat openid (JSAPI `subOpenid`).
    pub openid: Option<&'a str>,
    /// Alipay `buyerId`.
    pub buyer_id: Option<&'a str>,
    /// Alipay `buyerLogonId`.
    pub buyer_logon_id: Option<&'a str>,
    /// The shopper's IP (`wapOrder`'s `SPBILL_CREATE_IP`).
    pub client_ip: &'a str,
}

/// The request that creates a link attempt paid with `method` (the method
/// `routing::resolve` chose): `order` JSAPI or NATIVE, `creatOrder` or
/// `wapOrder`. `token` is the link's, for the wap return page.
pub fn link_attempt(
    m: &Merchant,
    site: &Site<'_>,
    method: PayMethod,
    c: &Charge<'_>,
    token: &str,
    payer: &Payer<'_>,
) -> CreateRequest {
    let notify = site.notify_url;
    match method {
        PayMethod::WechatJsapi => CreateRequest::Order(order_jsapi(
            m,
            c,
            notify,
            site.wechat_sub_appid,
            payer.openid,
        )),
        PayMethod::Native => CreateRequest::Order(order_native(m, c, notify)),
        PayMethod::AlipayJsapi => CreateRequest::CreatOrder(creat_order(
            m,
            c,
            notify,
            payer.buyer_id,
            payer.buyer_logon_id,
        )),
        PayMethod::Wap => CreateRequest::WapOrder(wap_order(
            m,
            c,
            notify,
            &Wap {
                public_base_url: site.public_base_url,
                merchant_name: site.merchant_name,
                token,
                client_ip: payer.client_ip,
            },
        )),
    }
}

/// `preOrder`: the cashier scanned the shopper's code (`dynamic_id`, taken
/// trimmed: scanners append a newline). No `NODIFY_URL`: the POS flow
/// settles the charge itself before answering the cashier.
pub fn pre_order(
    m: &Merchant,
    c: &Charge<'_>,
    scan: ScanKind,
    dynamic_id: &str,
) -> PreOrderRequest {
    PreOrderRequest {
        common: m.common(),
        amt: c.amount,
        channel_type: c.channel.clone(),
        dynamic_id_type: DynamicIdType::from(scan),
        dynamic_id: dynamic_id.trim().to_owned(),
        charge_code: c.charge_code.to_owned(),
        pay_subject: c.subject.to_owned(),
        goods_detail: c.goods.to_vec(),
    }
}

/// One refund as the gateway must hear of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refund<'a> {
    /// `CHARGE_CODE` of the refunded attempt.
    pub charge_code: &'a str,
    /// `CHARGE_DOWN_CODE`, when the creating answer gave one (the gateway
    /// prefers it to the charge code).
    pub charge_down_code: Option<&'a str>,
    /// `OUT_REFUND_NO`: one number, one refund, however often it is sent.
    pub out_refund_no: &'a str,
    /// `CHARGE_REFUND_FEE`.
    pub amount: Fen,
    /// `REFUND_SUBJECT`.
    pub reason: &'a str,
}

/// `refund`: the merchant's refund or a duplicate payment's, the same body.
pub fn refund(m: &Merchant, r: &Refund<'_>) -> RefundRequest {
    RefundRequest {
        busi_id: m.busi_id.clone(),
        oper_id: m.oper_id.clone(),
        dev_id: m.dev_id.clone(),
        charge_refund_fee: r.amount,
        refund_subject: r.reason.to_owned(),
        charge_code: r.charge_code.to_owned(),
        charge_down_code: r.charge_down_code.map(str::to_owned),
        out_refund_no: Some(r.out_refund_no.to_owned()),
    }
}

/// `query` by our `CHARGE_CODE` (`serType=0`): the one serial every stored
/// attempt has, even when its creating call's answer was lost.
pub fn query(charge_code: &str) -> QueryRequest {
    QueryRequest {
        code: charge_code.to_owned(),
        ser_type: SerType::Merchant,
    }
}

/// `refundQuery` by our `CHARGE_CODE`: lists every refund of the attempt.
pub fn refund_query(charge_code: &str) -> RefundQueryRequest {
    RefundQueryRequest {
        code: charge_code.to_owned(),
        ser_type: SerType::Merchant,
    }
}

/// `cancelTrade`: revoke now ([`CancelMode::RealTime`]) or apply for a
/// revocation (`opType=ACO`, [`CancelMode::Apply`]).
pub fn cancel_trade(charge_code: &str, mode: CancelMode) -> CancelTradeRequest {
    CancelTradeRequest {
        charge_code: charge_code.to_owned(),
        mode,
    }
}

#[cfg(test)]
mod tests {
    use soushou::codec::encode_body;
    use soushou::envelope::{self, Config};
    use soushou::model::GoodsItem;
    use soushou::types::{CancelMode, ChannelType, DynamicIdType, TradeType};
    use soushou::MerchantKey;

    use super::*;

    fn merchant() -> Merchant {
        Merchant {
            busi_id: "B1".into(),
            oper_id: "op".into(),
            dev_id: "dev".into(),
            register_id: None,
        }
    }

    fn tea() -> Vec<GoodsItem> {
        vec![GoodsItem {
            id: "g1".into(),
            name: "Tea".into(),
            class: "goods".into(),
            price: Fen::from_fen(625),
            subject: "Tea".into(),
            quantity: 2,
            show_url: None,
        }]
    }

    fn charge<'a>(channel: ChannelType, goods: &'a [GoodsItem]) -> Charge<'a> {
        Charge {
            charge_code: "C1",
            amount: Fen::from_fen(1250),
            channel,
            subject: "Tea x2",
            goods,
        }
    }

    const NOTIFY: &str = "https://pay.example/notify?_type=json";
    const GOODS_JSON: &str = r#""GOODS_DETAIL":[{"GOOD_ID":"g1","GOOD_NAME":"Tea","GOOD_CLASS":"goods","GOOD_PRICE":"6.25","GOOD_SUBJECT":"Tea","GOOD_QUANTITY":"2"}]"#;

    fn body<T: serde::Serialize>(req: &T) -> String {
        String::from_utf8(encode_body(req)).unwrap()
    }

    /// The gateway settings the Worker reads, as the envelope sees them.
    fn config() -> Config {
        Config {
            gateway_url: "http://127.0.0.1:9/gw/".into(),
            busi_code: "BC".into(),
            busi_id: "B1".into(),
            key: MerchantKey::new("k"),
            encrypt: false,
            format: soushou::codec::Format::Json,
            oper_id: "op".into(),
            dev_id: "dev".into(),
            register_id: Some("S9".into()),
        }
    }

    #[test]
    fn merchant_is_the_configured_gateway_identity() {
        let cfg = config();
        let m = Merchant::from(&cfg);
        assert_eq!(
            m,
            Merchant {
                register_id: Some("S9".into()),
                ..merchant()
            }
        );
        // The same block `envelope::Config::common` gives.
        assert_eq!(m.common(), cfg.common());
    }

    #[test]
    fn notify_urls() {
        let cases = [
            ("https://pay.example", false, NOTIFY),
            ("https://pay.example/", false, NOTIFY),
            (
                "https://pay.example",
                true,
                "https://pay.example/notify?_type=json&encrypt=3DES",
            ),
        ];
        for (base, encrypt, want) in cases {
            assert_eq!(notify_url(base, encrypt), want, "{base} {encrypt}");
        }
    }

    #[test]
    fn gateway_channel_types() {
        use LinkChannel::{Alipay as LA, Wechat as LW};
        use PayMethod as M;
        let cases = [
            (M::WechatJsapi, None, ChannelType::WeChat),
            (M::WechatJsapi, Some(LW), ChannelType::WeChat),
            (M::AlipayJsapi, None, ChannelType::Alipay),
            (M::AlipayJsapi, Some(LA), ChannelType::Alipay),
            (M::Wap, None, ChannelType::AlipayWap),
            (M::Wap, Some(LA), ChannelType::AlipayWap),
            (M::Wap, Some(LW), ChannelType::WeChat),
            (M::Native, None, ChannelType::WeChat),
            (M::Native, Some(LW), ChannelType::WeChat),
            (M::Native, Some(LA), ChannelType::Alipay),
        ];
        for (m, link, ct) in cases {
            assert_eq!(channel_type(m, link), ct, "{m:?} {link:?}");
        }
    }

    #[test]
    fn order_native_and_jsapi() {
        let goods = tea();
        let c = charge(ChannelType::WeChat, &goods);
        let native = order_native(&merchant(), &c, NOTIFY);
        assert_eq!(
            native,
            OrderRequest {
                common: merchant().common(),
                amt: Fen::from_fen(1250),
                channel_type: ChannelType::WeChat,
                trade_type: Some(TradeType::Native),
                sub_appid: None,
                sub_openid: None,
                charge_code: "C1".into(),
                nodify_url: Some(NOTIFY.into()),
                pay_subject: "Tea x2".into(),
                goods_detail: tea(),
            }
        );
        assert_eq!(
            body(&native),
            format!(
                r#"{{"BUSI_ID":"B1","OPER_ID":"op","DEV_ID":"dev","AMT":"12.50","CHANNEL_TYPE":"2","TRADE_TYPE":"NATIVE","CHARGE_CODE":"C1","NODIFY_URL":"{NOTIFY}","PAY_SUBJECT":"Tea x2",{GOODS_JSON}}}"#
            )
        );
        let jsapi = order_jsapi(&merchant(), &c, NOTIFY, Some("wxapp"), Some("oOpen"));
        assert_eq!(
            jsapi,
            OrderRequest {
                trade_type: Some(TradeType::Jsapi),
                sub_appid: Some("wxapp".into()),
                sub_openid: Some("oOpen".into()),
                ..native.clone()
            }
        );
        assert_eq!(
            body(&jsapi),
            format!(
                r#"{{"BUSI_ID":"B1","OPER_ID":"op","DEV_ID":"dev","AMT":"12.50","CHANNEL_TYPE":"2","TRADE_TYPE":"JSAPI","subAppid":"wxapp","subOpenid":"oOpen","CHARGE_CODE":"C1","NODIFY_URL":"{NOTIFY}","PAY_SUBJECT":"Tea x2",{GOODS_JSON}}}"#
            )
        );
        // Without an openid the request is built as asked and refused by
        // the envelope's check, before anything is signed or sent.
        let anonymous = order_jsapi(&merchant(), &c, NOTIFY, None, None);
        assert_eq!(anonymous.sub_openid, None);
        assert!(envelope::build(&config(), &anonymous, 1).is_err());
        assert!(envelope::build(&config(), &jsapi, 1).is_ok());
    }

    #[test]
    fn creat_order_for_alipay() {
        let c = charge(ChannelType::Alipay, &[]);
        let r = creat_order(&merchant(), &c, NOTIFY, Some("2088"), None);
        assert_eq!(
            r,
            CreatOrderRequest {
                common: merchant().common(),
                amt: Fen::from_fen(1250),
                channel_type: ChannelType::Alipay,
                time_expire: Some(900),
                buyer_logon_id: None,
                buyer_id: Some("2088".into()),
                charge_code: "C1".into(),
                nodify_url: Some(NOTIFY.into()),
                pay_subject: "Tea x2".into(),
                goods_detail: Vec::new(),
            }
        );
        assert_eq!(
            body(&r),
            format!(
                r#"{{"BUSI_ID":"B1","OPER_ID":"op","DEV_ID":"dev","AMT":"12.50","CHANNEL_TYPE":"1","TIME_EXPIRE":900,"buyerId":"2088","CHARGE_CODE":"C1","NODIFY_URL":"{NOTIFY}","PAY_SUBJECT":"Tea x2"}}"#
            )
        );
        let logon = creat_order(&merchant(), &c, NOTIFY, None, Some("a@b.cn"));
        assert_eq!(logon.buyer_logon_id.as_deref(), Some("a@b.cn"));
        assert!(envelope::build(&config(), &logon, 1).is_ok());
        // Neither id: refused by the envelope, not sent.
        let nobody = creat_order(&merchant(), &c, NOTIFY, None, None);
        assert!(envelope::build(&config(), &nobody, 1).is_err());
    }

    #[test]
    fn wap_order_returns_to_the_link() {
        let c = charge(ChannelType::AlipayWap, &[]);
        let w = Wap {
            public_base_url: "https://pay.example/",
            merchant_name: "Tea House",
            token: "TOK",
            client_ip: "203.0.113.7",
        };
        let r = wap_order(&merchant(), &c, NOTIFY, &w);
        assert_eq!(
            r,
            WapOrderRequest {
                common: merchant().common(),
                amt: Fen::from_fen(1250),
                channel_type: ChannelType::AlipayWap,
                time_expire: Some(900),
                scene_info: SceneInfo::Wap {
                    wap_url: "https://pay.example".into(),
                    wap_name: "Tea House".into(),
                },
                nodify_url: Some(NOTIFY.into()),
                return_url: Some("https://pay.example/c/TOK?charge_code=C1".into()),
                spbill_create_ip: "203.0.113.7".into(),
                charge_code: "C1".into(),
                pay_subject: "Tea x2".into(),
                goods_detail: Vec::new(),
            }
        );
        assert_eq!(
            body(&r),
            format!(
                r#"{{"BUSI_ID":"B1","OPER_ID":"op","DEV_ID":"dev","AMT":"12.50","CHANNEL_TYPE":"34","TIME_EXPIRE":900,"CHARGE_CODE":"C1","SCENE_INFO":"{{\"h5_info\":{{\"type\":\"Wap\",\"wap_url\":\"https://pay.example\",\"wap_name\":\"Tea House\"}}}}","NODIFY_URL":"{NOTIFY}","RETURN_URL":"https://pay.example/c/TOK?charge_code=C1","SPBILL_CREATE_IP":"203.0.113.7","PAY_SUBJECT":"Tea x2"}}"#
            )
        );
    }

    /// Each method of a link attempt reaches its interface with the
    /// settings and ids it needs, and only those.
    #[test]
    fn link_attempts_per_method() {
        let goods = tea();
        let site = Site {
            notify_url: NOTIFY,
            public_base_url: "https://pay.example",
            merchant_name: "Tea House",
            wechat_sub_appid: Some("wxapp"),
        };
        let payer = Payer {
            openid: Some("oOpen"),
            buyer_id: Some("2088"),
            buyer_logon_id: Some("a@b.cn"),
            client_ip: "203.0.113.7",
        };
        let m = merchant();
        let c = |method| charge(channel_type(method, None), &goods);
        let wap = Wap {
            public_base_url: site.public_base_url,
            merchant_name: site.merchant_name,
            token: "TOK",
            client_ip: payer.client_ip,
        };
        let cases = [
            (
                PayMethod::WechatJsapi,
                CreateRequest::Order(order_jsapi(
                    &m,
                    &c(PayMethod::WechatJsapi),
                    NOTIFY,
                    Some("wxapp"),
                    Some("oOpen"),
                )),
            ),
            (
                PayMethod::Native,
                CreateRequest::Order(order_native(&m, &c(PayMethod::Native), NOTIFY)),
            ),
            (
                PayMethod::AlipayJsapi,
                CreateRequest::CreatOrder(creat_order(
                    &m,
                    &c(PayMethod::AlipayJsapi),
                    NOTIFY,
                    Some("2088"),
                    Some("a@b.cn"),
                )),
            ),
            (
                PayMethod::Wap,
                CreateRequest::WapOrder(wap_order(&m, &c(PayMethod::Wap), NOTIFY, &wap)),
            ),
        ];
        for (method, want) in cases {
            let got = link_attempt(&m, &site, method, &c(method), "TOK", &payer);
            assert_eq!(got, want, "{method:?}");
        }
        // NATIVE never names the shopper, whatever the page sent.
        let CreateRequest::Order(native) = link_attempt(
            &m,
            &site,
            PayMethod::Native,
            &c(PayMethod::Native),
            "TOK",
            &payer,
        ) else {
            panic!("native is an order");
        };
        assert_eq!((native.sub_appid, native.sub_openid), (None, None));
    }

    #[test]
    fn pre_order_for_the_cashier() {
        use crate::merchant::{PosChannel, ScanKind};
        let c = charge(ChannelType::from(PosChannel::Auto), &[]);
        let r = pre_order(&merchant(), &c, ScanKind::Barcode, " 134567890123456789\n");
        assert_eq!(
            r,
            PreOrderRequest {
                common: merchant().common(),
                amt: Fen::from_fen(1250),
                channel_type: ChannelType::Auto,
                dynamic_id_type: DynamicIdType::Barcode,
                dynamic_id: "134567890123456789".into(),
                charge_code: "C1".into(),
                pay_subject: "Tea x2".into(),
                goods_detail: Vec::new(),
            }
        );
        assert_eq!(
            body(&r),
            r#"{"BUSI_ID":"B1","OPER_ID":"op","DEV_ID":"dev","AMT":"12.50","CHANNEL_TYPE":"0","DYNAMIC_ID_TYPE":"1","DYNAMIC_ID":"134567890123456789","CHARGE_CODE":"C1","PAY_SUBJECT":"Tea x2"}"#
        );
        let nfc = pre_order(&merchant(), &c, ScanKind::Nfc, "x");
        assert_eq!(nfc.dynamic_id_type, DynamicIdType::Nfc);
    }

    #[test]
    fn refund_bodies() {
        let r = Refund {
            charge_code: "C1",
            charge_down_code: Some("D1"),
            out_refund_no: "R1",
            amount: Fen::from_fen(300),
            reason: "broken cup",
        };
        let req = refund(&merchant(), &r);
        assert_eq!(
            req,
            RefundRequest {
                busi_id: "B1".into(),
                oper_id: "op".into(),
                dev_id: "dev".into(),
                charge_refund_fee: Fen::from_fen(300),
                refund_subject: "broken cup".into(),
                charge_code: "C1".into(),
                charge_down_code: Some("D1".into()),
                out_refund_no: Some("R1".into()),
            }
        );
        assert_eq!(
            body(&req),
            r#"{"BUSI_ID":"B1","OPER_ID":"op","DEV_ID":"dev","CHARGE_REFUND_FEE":"3.00","REFUND_SUBJECT":"broken cup","CHARGE_CODE":"C1","CHARGE_DOWN_CODE":"D1","OUT_REFUND_NO":"R1"}"#
        );
        // An attempt whose creating answer was lost has no gateway serial.
        let lost = refund(
            &merchant(),
            &Refund {
                charge_down_code: None,
                ..r
            },
        );
        assert_eq!(
            body(&lost),
            r#"{"BUSI_ID":"B1","OPER_ID":"op","DEV_ID":"dev","CHARGE_REFUND_FEE":"3.00","REFUND_SUBJECT":"broken cup","CHARGE_CODE":"C1","OUT_REFUND_NO":"R1"}"#
        );
    }

    /// The GET interfaces carry everything in the URL: asserted as the
    /// envelope builds it (the signature's timestamp fixed at 1).
    #[test]
    fn lookups_and_cancel_urls() {
        let cfg = config();
        let url = |http: envelope::HttpRequest| http.url("http://127.0.0.1:9/gw/");
        let q = query("C1");
        assert_eq!(
            q,
            QueryRequest {
                code: "C1".into(),
                ser_type: SerType::Merchant
            }
        );
        assert_eq!(
            url(envelope::build(&cfg, &q, 1).unwrap()),
            "http://127.0.0.1:9/gw/query/C1/BC?_type=json&serType=0"
        );
        let rq = refund_query("C1");
        assert_eq!(
            rq,
            RefundQueryRequest {
                code: "C1".into(),
                ser_type: SerType::Merchant
            }
        );
        assert_eq!(
            url(envelope::build(&cfg, &rq, 1).unwrap()),
            "http://127.0.0.1:9/gw/refundQuery/C1/BC?_type=json&serType=0"
        );
        let cases = [
            (CancelMode::RealTime, ""),
            (CancelMode::Apply, "&opType=ACO"),
        ];
        for (mode, tail) in cases {
            let r = cancel_trade("C1", mode);
            assert_eq!(
                r,
                CancelTradeRequest {
                    charge_code: "C1".into(),
                    mode
                }
            );
            let u = url(envelope::build(&cfg, &r, 1).unwrap());
            assert!(
                u.starts_with("http://127.0.0.1:9/gw/cancelTrade/C1/BC?"),
                "{u}"
            );
            assert!(u.ends_with(tail), "{u}");
            assert!(u.contains("sign="), "{u}");
        }
    }
}
