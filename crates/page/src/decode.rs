//! Decoding the Worker's answers into the shared `checkout::api` types.
//!
//! Why not `#[derive(Deserialize)]` through serde-wasm-bindgen: measured on
//! this page, serde's generic decoding of these types (the flattened `Money`,
//! the internally tagged `PayAction`, error formatting) was about 22 KB of
//! the brotli'd wasm, a fifth of the 120 KB first-load budget. This decoder
//! builds the very same types by hand. That it agrees with the Worker is
//! checked, not assumed: the host tests serialise every shape of every type
//! with the types' own serde `Serialize` (what the Worker sends) and require
//! this decoder to give back the identical value. Enum spellings are read
//! with `checkout::vocab::Spelled` (held to the types' serde derive by
//! checkout's tests), never retyped here: decoding them through serde's
//! derive pulled its visitors and error formatting in (~1 KB brotli).

use checkout::api::{
    AmountBounds, CheckoutView, ErrorBody, ErrorCode, ErrorDetail, GoodsLine, Money, OrderView,
    PayAction, PayResponse, WechatPayParams,
};
use checkout::vocab::Spelled;

use crate::Error;

/// What the decoder needs from a parsed JSON value (a browser `JsValue`, or
/// `serde_json::Value` in the host tests).
pub trait Json: Sized {
    /// The member `name` of an object; `None` if absent or `null`.
    fn field(&self, name: &str) -> Option<Self>;
    /// The value as a string, if it is one.
    fn string(&self) -> Option<String>;
    /// The value as a non-negative integer, if it is one.
    fn uint(&self) -> Option<u64>;
    /// The elements of an array (none if it is not an array).
    fn items(&self) -> Vec<Self>;
}

// The helpers below are public for the merchant console, which reads its
// answers with the same toolkit (what the page does not call is not in
// the page's wasm).

/// The error of a field that is absent when required, or of the wrong type.
pub fn missing(name: &str) -> Error {
    Error::Decode(format!("missing or malformed `{name}`"))
}

/// A required string member.
pub fn string<J: Json>(v: &J, name: &str) -> Result<String, Error> {
    v.field(name)
        .and_then(|f| f.string())
        .ok_or_else(|| missing(name))
}

/// An optional string member (`null`, absent or not a string: `None`).
pub fn opt_string<J: Json>(v: &J, name: &str) -> Option<String> {
    v.field(name).and_then(|f| f.string())
}

/// A required non-negative integer member.
pub fn uint<J: Json>(v: &J, name: &str) -> Result<u64, Error> {
    v.field(name)
        .and_then(|f| f.uint())
        .ok_or_else(|| missing(name))
}

/// An optional non-negative integer member: absent or `null` is `None`,
/// anything else must be one.
pub fn opt_uint<J: Json>(v: &J, name: &str) -> Result<Option<u64>, Error> {
    v.field(name)
        .map(|f| f.uint().ok_or_else(|| missing(name)))
        .transpose()
}

/// A unit enum from its wire spelling.
pub fn enum_str<T: Spelled, J: Json>(v: &J, name: &str) -> Result<T, Error> {
    T::from_spelling(&string(v, name)?).ok_or_else(|| missing(name))
}

/// An optional unit enum: absent or `null` is `None`, an unknown spelling
/// an error.
pub fn opt_enum<T: Spelled, J: Json>(v: &J, name: &str) -> Result<Option<T>, Error> {
    match v.field(name) {
        Some(_) => enum_str(v, name).map(Some),
        None => Ok(None),
    }
}

/// The flattened `amount` and `amount_fen` of a [`Money`].
pub fn money<J: Json>(v: &J) -> Result<Money, Error> {
    Ok(Money {
        amount: string(v, "amount")?,
        amount_fen: uint(v, "amount_fen")?,
    })
}

/// `GET /api/checkout/{token}` → [`CheckoutView`].
pub fn checkout_view<J: Json>(v: &J) -> Result<CheckoutView, Error> {
    let goods = match v.field("goods") {
        Some(list) => list
            .items()
            .iter()
            .map(|g| {
                Ok(GoodsLine {
                    id: string(g, "id")?,
                    name: string(g, "name")?,
                    price: string(g, "price")?,
                    quantity: u32::try_from(uint(g, "quantity")?)
                        .map_err(|_| missing("quantity"))?,
                })
            })
            .collect::<Result<_, Error>>()?,
        None => Vec::new(),
    };
    Ok(CheckoutView {
        merchant: string(v, "merchant")?,
        subject: string(v, "subject")?,
        money: money(v)?,
        currency: string(v, "currency")?,
        expires_at: uint(v, "expires_at")?,
        state: enum_str(v, "state")?,
        charge_code: opt_string(v, "charge_code"),
        return_url: opt_string(v, "return_url"),
        goods,
        channel: match v.field("channel") {
            Some(_) => Some(enum_str(v, "channel")?),
            None => None,
        },
        open_amount: match v.field("open_amount") {
            Some(b) => Some(AmountBounds {
                min_amount: string(&b, "min_amount")?,
                min_amount_fen: uint(&b, "min_amount_fen")?,
                max_amount: string(&b, "max_amount")?,
                max_amount_fen: uint(&b, "max_amount_fen")?,
            }),
            None => None,
        },
    })
}

/// `GET /api/orders/{code}` → [`OrderView`].
pub fn order_view<J: Json>(v: &J) -> Result<OrderView, Error> {
    Ok(OrderView {
        charge_code: string(v, "charge_code")?,
        state: enum_str(v, "state")?,
        money: money(v)?,
        paid_at: v.field("paid_at").and_then(|f| f.uint()),
        return_url: opt_string(v, "return_url"),
    })
}

/// `POST /api/pay` → [`PayResponse`].
pub fn pay_response<J: Json>(v: &J) -> Result<PayResponse, Error> {
    let a = v.field("action").ok_or_else(|| missing("action"))?;
    let action = match string(&a, "type")?.as_str() {
        "wechat_jsapi" => {
            let p = a.field("params").ok_or_else(|| missing("params"))?;
            PayAction::WechatJsapi {
                params: WechatPayParams {
                    app_id: string(&p, "appId")?,
                    time_stamp: string(&p, "timeStamp")?,
                    nonce_str: string(&p, "nonceStr")?,
                    package: string(&p, "package")?,
                    sign_type: string(&p, "signType")?,
                    pay_sign: string(&p, "paySign")?,
                },
            }
        }
        "alipay_trade_pay" => PayAction::AlipayTradePay {
            trade_no: string(&a, "trade_no")?,
        },
        "redirect" => PayAction::Redirect {
            url: string(&a, "url")?,
        },
        "qr" => PayAction::Qr {
            content: string(&a, "content")?,
            svg: a.field("svg").and_then(|s| s.string()),
        },
        _ => return Err(missing("action.type")),
    };
    Ok(PayResponse {
        charge_code: string(v, "charge_code")?,
        method: enum_str(v, "method")?,
        action,
    })
}

/// A parsed JSON value on the host: the tests' (here and the console's),
/// which write answers with the types' own serde `Serialize`.
#[cfg(any(test, feature = "json-value"))]
impl Json for serde_json::Value {
    fn field(&self, name: &str) -> Option<Self> {
        self.get(name).filter(|v| !v.is_null()).cloned()
    }
    fn string(&self) -> Option<String> {
        self.as_str().map(str::to_owned)
    }
    fn uint(&self) -> Option<u64> {
        self.as_u64()
    }
    fn items(&self) -> Vec<Self> {
        self.as_array().cloned().unwrap_or_default()
    }
}

/// Any error answer → [`ErrorBody`] (`None` if it is not the documented shape).
pub fn error_body<J: Json>(v: &J) -> Option<ErrorBody> {
    let e = v.field("error")?;
    Some(ErrorBody {
        error: ErrorDetail {
            // A code this page does not know reads as `Unknown`, as serde's
            // `#[serde(other)]` reads it.
            code: ErrorCode::from_spelling(&e.field("code")?.string()?)
                .unwrap_or(ErrorCode::Unknown),
            message: opt_string(&e, "message").unwrap_or_default(),
            gateway_code: opt_string(&e, "gateway_code"),
            permission: None,
            reason: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkout::api::{LinkChannel, LinkState, OrderStatus, PayMethod};
    use serde_json::{json, Value};

    fn wire<T: serde::Serialize>(x: &T) -> Value {
        serde_json::to_value(x).unwrap()
    }

    fn money(fen: u64) -> Money {
        Money::from(soushou::Fen::from_fen(fen))
    }

    #[test]
    fn checkout_views_round_trip_every_shape() {
        let full = CheckoutView {
            merchant: "咖啡店 Café".into(),
            subject: "Beans".into(),
            money: money(1250),
            currency: "CNY".into(),
            expires_at: 1_795_650_000,
            state: LinkState::Open,
            charge_code: Some("c1".into()),
            return_url: Some("https://shop.example/".into()),
            goods: vec![GoodsLine {
                id: "g1".into(),
                name: "Espresso".into(),
                price: "6.25".into(),
                quantity: 2,
            }],
            channel: Some(LinkChannel::Alipay),
            open_amount: None,
        };
        let open = CheckoutView {
            open_amount: Some(AmountBounds {
                min_amount: "1.00".into(),
                min_amount_fen: 100,
                max_amount: "500.00".into(),
                max_amount_fen: 50_000,
            }),
            ..full.clone()
        };
        assert_eq!(checkout_view(&wire(&open)).unwrap(), open);
        for state in [LinkState::Open, LinkState::Paid, LinkState::Expired] {
            for channel in [None, Some(LinkChannel::Wechat), Some(LinkChannel::Alipay)] {
                let view = CheckoutView {
                    state,
                    channel,
                    ..full.clone()
                };
                assert_eq!(checkout_view(&wire(&view)).unwrap(), view);
            }
        }
        let bare = CheckoutView {
            charge_code: None,
            return_url: None,
            goods: vec![],
            channel: None,
            ..full
        };
        assert_eq!(checkout_view(&wire(&bare)).unwrap(), bare);
    }

    #[test]
    fn order_views_round_trip_every_state() {
        for state in OrderStatus::ALL {
            for (paid_at, return_url) in [
                (None, None),
                (Some(1_795_650_001), Some("https://r/".to_owned())),
            ] {
                let view = OrderView {
                    charge_code: "c".into(),
                    state,
                    money: money(1),
                    paid_at,
                    return_url,
                };
                assert_eq!(order_view(&wire(&view)).unwrap(), view);
            }
        }
    }

    #[test]
    fn pay_responses_round_trip_every_action_and_method() {
        let actions = [
            PayAction::WechatJsapi {
                params: WechatPayParams {
                    app_id: "wx0123456789abcdef".into(),
                    time_stamp: "1795650000".into(),
                    nonce_str: "n".into(),
                    package: "prepay_id=wx1".into(),
                    sign_type: "MD5".into(),
                    pay_sign: "ABC".into(),
                },
            },
            PayAction::AlipayTradePay {
                trade_no: "2026112622001".into(),
            },
            PayAction::Redirect {
                url: "https://pay.example/x".into(),
            },
            PayAction::Qr {
                content: "weixin://wxpay/bizpayurl?pr=x".into(),
                svg: None,
            },
            PayAction::Qr {
                content: "weixin://wxpay/bizpayurl?pr=x".into(),
                svg: Some("<svg viewBox=\"0 0 1 1\"></svg>".into()),
            },
        ];
        for action in actions {
            for method in [
                PayMethod::WechatJsapi,
                PayMethod::AlipayJsapi,
                PayMethod::Wap,
                PayMethod::Native,
            ] {
                let resp = PayResponse {
                    charge_code: "c".into(),
                    method,
                    action: action.clone(),
                };
                assert_eq!(pay_response(&wire(&resp)).unwrap(), resp);
            }
        }
    }

    #[test]
    fn error_bodies_round_trip() {
        for gateway_code in [None, Some("AMT_ERROR".to_owned())] {
            let body = ErrorBody {
                error: ErrorDetail {
                    code: ErrorCode::GatewayRejected,
                    message: "m".into(),
                    gateway_code,
                    permission: None,
                    reason: None,
                },
            };
            assert_eq!(error_body(&wire(&body)), Some(body));
        }
        let unknown = json!({"error": {"code": "SOMETHING_NEW", "message": "m"}});
        assert_eq!(
            error_body(&unknown).map(|b| b.error.code),
            Some(ErrorCode::Unknown)
        );
        assert_eq!(error_body(&unknown), serde_json::from_value(unknown).ok());
        assert_eq!(error_body(&json!({"oops": 1})), None);
        assert_eq!(error_body(&json!("text")), None);
    }

    #[test]
    fn the_api_md_example_decodes() {
        let v = json!({"merchant": "...", "subject": "...", "amount": "12.50", "amount_fen": 1250,
            "currency": "CNY", "expires_at": 1795650000u64, "state": "open", "charge_code": null, "return_url": null});
        let view = checkout_view(&v).unwrap();
        assert_eq!(view.money.amount_fen, 1250);
        assert!(view.goods.is_empty() && view.channel.is_none() && view.charge_code.is_none());
    }

    #[test]
    fn malformed_answers_are_decode_errors() {
        assert!(matches!(order_view(&json!({})), Err(Error::Decode(_))));
        let bad_state =
            json!({"charge_code": "c", "state": "teleported", "amount": "1.00", "amount_fen": 100});
        assert!(matches!(order_view(&bad_state), Err(Error::Decode(_))));
        let bad_fen =
            json!({"charge_code": "c", "state": "paid", "amount": "1.00", "amount_fen": -1});
        assert!(matches!(order_view(&bad_fen), Err(Error::Decode(_))));
        let bad_action = json!({"charge_code": "c", "method": "native", "action": {"type": "fax"}});
        assert!(matches!(pay_response(&bad_action), Err(Error::Decode(_))));
    }
}
