//! Encoding what the page sends (the `POST /api/pay` body, the wallet
//! bridges' argument objects) as the string members of one JSON object.
//!
//! Why not serde through serde-wasm-bindgen: its serializer and the
//! derived `Serialize` impls were about 3 KB of the page's wasm before
//! wasm-opt, for three flat objects of strings. As with [`crate::decode`],
//! agreement is checked, not assumed: the host tests require every shape
//! of every type to encode to exactly what the types' own serde
//! `Serialize` writes (what the Worker reads).

use checkout::api::{PayRequest, WechatPayParams};
use checkout::vocab::Spelled;

/// A flat JSON object of strings, members in order.
pub type Members<'a> = Vec<(&'static str, &'a str)>;

/// `POST /api/pay`'s body; absent options are left out, as serde's
/// `skip_serializing_if` leaves them out.
pub fn pay_request(r: &PayRequest) -> Members<'_> {
    let mut m = vec![("token", r.token.as_str()), ("method", r.method.spelling())];
    let optional = [
        ("openid", &r.openid),
        ("buyer_id", &r.buyer_id),
        ("buyer_logon_id", &r.buyer_logon_id),
        ("amount", &r.amount),
    ];
    m.extend(
        optional
            .into_iter()
            .filter_map(|(name, v)| v.as_deref().map(|v| (name, v))),
    );
    m
}

/// `getBrandWCPayRequest`'s argument object.
pub fn wechat_pay_params(p: &WechatPayParams) -> Members<'_> {
    vec![
        ("appId", &p.app_id),
        ("timeStamp", &p.time_stamp),
        ("nonceStr", &p.nonce_str),
        ("package", &p.package),
        ("signType", &p.sign_type),
        ("paySign", &p.pay_sign),
    ]
}

/// `tradePay`'s argument object.
pub fn trade_pay(trade_no: &str) -> Members<'_> {
    vec![("tradeNO", trade_no)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkout::api::PayMethod;
    use serde_json::{json, Map, Value};

    fn object(members: Members<'_>) -> Value {
        Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::from(v)))
                .collect::<Map<_, _>>(),
        )
    }

    #[test]
    fn pay_requests_encode_as_serde_does_in_every_shape() {
        let some = |s: &str| Some(s.to_owned());
        for &method in PayMethod::ALL {
            for (openid, buyer_id, buyer_logon_id, amount) in [
                (None, None, None, None),
                (some("o1"), None, None, None),
                (None, some("2088"), some("a@b.c"), None),
                (some("o1"), some("2088"), some("a@b.c"), some("12.50")),
                (None, None, None, some("0.01")),
            ] {
                let r = PayRequest {
                    token: "tok.en".into(),
                    method,
                    openid,
                    buyer_id,
                    buyer_logon_id,
                    amount,
                };
                assert_eq!(object(pay_request(&r)), serde_json::to_value(&r).unwrap());
            }
        }
    }

    #[test]
    fn wechat_params_encode_as_serde_does() {
        let p = WechatPayParams {
            app_id: "wx0123456789abcdef".into(),
            time_stamp: "1795650000".into(),
            nonce_str: "n".into(),
            package: "prepay_id=wx1".into(),
            sign_type: "MD5".into(),
            pay_sign: "ABC".into(),
        };
        assert_eq!(
            object(wechat_pay_params(&p)),
            serde_json::to_value(&p).unwrap()
        );
    }

    #[test]
    fn trade_pay_is_alipays_documented_argument() {
        assert_eq!(object(trade_pay("2026")), json!({"tradeNO": "2026"}));
    }
}
