//! Typed request and response bodies with their wire names.
//!
//! Serialization is strict (the spelling the gateway documents);
//! deserialization is tolerant: strings or numbers, one object or a list,
//! `SUCESS` or `SUCCESS`, and unknown response fields kept in `extra`, so a
//! gateway upgrade or a sloppy peer does not turn into a failed payment.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;
use crate::money::{serde_fen, serde_yuan, Fen};
use crate::types::{ChannelType, DynamicIdType, FundChannel, OrderState, ResultCode, TradeType};

/// Tolerant field helpers shared by the models.
mod lenient {
    use std::fmt;

    use serde::de::{DeserializeOwned, Error as _};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_json::Value;

    /// A scalar read as text: strings verbatim, numbers and booleans printed.
    struct Text(String);

    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            crate::types::scalar_text(d, "a string or a number").map(Text)
        }
    }

    /// A required text field that may arrive as a number.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Text::deserialize(d).map(|t| t.0)
    }

    /// An optional text field that may arrive as a number; `null` is `None`.
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<Text>::deserialize(d)?.map(|t| t.0))
    }

    fn parse_u32<E: serde::de::Error>(t: &str) -> Result<u32, E> {
        let t = t.trim();
        if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom(format!(
                "expected a non-negative integer, got {t:?}"
            )));
        }
        t.parse().map_err(|_| E::custom("integer out of range"))
    }

    /// A count that may arrive as `5` or `"5"`.
    pub fn u32<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        parse_u32(&Text::deserialize(d)?.0)
    }

    /// An optional count; `null` and `""` are `None`.
    pub fn opt_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        match Option::<Text>::deserialize(d)? {
            Some(t) if !t.0.trim().is_empty() => parse_u32(&t.0).map(Some),
            _ => Ok(None),
        }
    }

    /// Writes a count as a string, as the document's request samples do.
    pub fn u32_as_string<S: Serializer>(v: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Writes a dictionary code as a string (request samples send `"2"`).
    pub fn code_as_string<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    /// Writes an optional dictionary code as a string.
    pub fn opt_code_as_string<T: fmt::Display, S: Serializer>(
        v: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    /// An optional value where `null` and `""` (an empty XML element) mean absent.
    pub fn opt_nonempty<'de, D: Deserializer<'de>, T: DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            v => serde_json::from_value(v)
                .map(Some)
                .map_err(D::Error::custom),
        }
    }

    /// A list that may be an array, a single object, absent, `null` or `""`,
    /// optionally wrapped in `{"<wrapper>": ...}`.
    fn one_or_many<T: DeserializeOwned>(
        v: Value,
        wrapper: Option<&str>,
    ) -> Result<Vec<T>, serde_json::Error> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::String(s) if s.trim().is_empty() => Ok(Vec::new()),
            Value::Array(items) => items
                .into_iter()
                .map(|i| one_or_many(i, wrapper))
                .collect::<Result<Vec<Vec<T>>, _>>()
                .map(|v| v.into_iter().flatten().collect()),
            Value::Object(mut m) => {
                if let Some(w) = wrapper {
                    if m.len() == 1 {
                        if let Some(inner) = m.remove(w) {
                            return one_or_many(inner, None);
                        }
                    }
                }
                Ok(vec![serde_json::from_value(Value::Object(m))?])
            }
            other => Err(serde_json::Error::custom(format!(
                "expected a list or an object, got {other}"
            ))),
        }
    }

    /// `GOODS_DETAIL`: an array or a single object.
    pub fn list<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Vec<T>, D::Error> {
        one_or_many(Value::deserialize(d)?, None).map_err(D::Error::custom)
    }

    /// Defines (de)serializers for a list wrapped in one named element.
    macro_rules! wrapped {
        ($name:ident, $wrapper:literal) => {
            /// A list wrapped as `{"
            #[doc = $wrapper]
            /// ": [...]}` on the wire (one object or an array inside).
            pub mod $name {
                use super::*;

                /// Writes `{"<wrapper>": [...]}`.
                pub fn serialize<T: serde::Serialize, S: Serializer>(
                    v: &[T],
                    s: S,
                ) -> Result<S::Ok, S::Error> {
                    let mut m = s.serialize_map(Some(1))?;
                    m.serialize_entry($wrapper, v)?;
                    m.end()
                }

                /// Reads the wrapped list, tolerating every shape seen in the wild.
                pub fn deserialize<'de, D: Deserializer<'de>, T: DeserializeOwned>(
                    d: D,
                ) -> Result<Vec<T>, D::Error> {
                    one_or_many(Value::deserialize(d)?, Some($wrapper)).map_err(D::Error::custom)
                }
            }
        };
    }

    wrapped!(fund_bills, "TRADEFUNDBILL");
    wrapped!(refund_trades, "REFUND_TRADE");
}

/// Declares a wire struct, giving each field the serde attributes of its
/// kind, so the leniency rules are spelled once (here) instead of per field.
///
/// A field written `kind "WIRE_NAME" pub name: Type,` is renamed to
/// `WIRE_NAME`, takes its `Default` when absent and is read and written as
/// its kind says. Attributes before the kind (docs, `#[serde(alias = ..)]`)
/// are kept. A field written plainly keeps only its own attributes (for
/// required fields and one-off wire forms). Every field ends with a comma.
///
/// | kind    | type              | read                                   | written             |
/// |---------|-------------------|----------------------------------------|---------------------|
/// | `text`  | `String`          | a string, or a number or bool as text  | always              |
/// | `opt`   | `Option<String>`  | as `text`; `null` is `None`            | omitted when `None` |
/// | `code`  | `Option<` enum `>`| its code; `null` or `""` is `None`     | omitted when `None` |
/// | `count` | `Option<u32>`     | `5` or `"5"`; `null` or `""` is `None` | omitted when `None` |
/// | `fen`   | `Option<Fen>`     | integer fen ([`serde_fen`])            | omitted when `None` |
/// | `goods` | `Vec<GoodsItem>`  | a list or one object; `null`, `""`     | omitted when empty  |
/// | `bills` | `Vec<FundBill>`   | `{"TRADEFUNDBILL": one or a list}`     | omitted when empty  |
macro_rules! wire_struct {
    ($(#[$meta:meta])* pub struct $name:ident { $($fields:tt)* }) => {
        wire_struct!(@fields [$(#[$meta])* pub struct $name] [] $($fields)*);
    };
    // Munch one field at a time into `[$done]`, then emit the struct.
    (@fields [$($head:tt)*] [$($done:tt)*]) => {
        $($head)* { $($done)* }
    };
    (@fields $head:tt $done:tt
        $(#[$m:meta])* $kind:ident $wire:literal $v:vis $f:ident: $t:ty, $($rest:tt)*) => {
        wire_struct!(@kind $kind $wire [$(#[$m])*] [$v $f: $t] $head $done $($rest)*);
    };
    (@fields $head:tt [$($done:tt)*] $(#[$m:meta])* $v:vis $f:ident: $t:ty, $($rest:tt)*) => {
        wire_struct!(@fields $head [$($done)* $(#[$m])* $v $f: $t,] $($rest)*);
    };
    // The kinds of the table above.
    (@kind text $($t:tt)*) => { wire_struct!(@field [deserialize_with = "lenient::string"] $($t)*); };
    (@kind opt $($t:tt)*) => { wire_struct!(@some [deserialize_with = "lenient::opt_string"] $($t)*); };
    (@kind code $($t:tt)*) => { wire_struct!(@some [deserialize_with = "lenient::opt_nonempty"] $($t)*); };
    (@kind count $($t:tt)*) => { wire_struct!(@some [deserialize_with = "lenient::opt_u32"] $($t)*); };
    (@kind fen $($t:tt)*) => { wire_struct!(@some [with = "serde_fen::option"] $($t)*); };
    (@kind goods $($t:tt)*) => { wire_struct!(@many [deserialize_with = "lenient::list"] $($t)*); };
    (@kind bills $($t:tt)*) => { wire_struct!(@many [with = "lenient::fund_bills"] $($t)*); };
    (@kind $other:ident $($t:tt)*) => {
        compile_error!(concat!("unknown wire_struct kind `", stringify!($other), "`"));
    };
    // Options are omitted when `None`, lists when empty.
    (@some [$($a:tt)*] $($t:tt)*) => {
        wire_struct!(@field [$($a)*, skip_serializing_if = "Option::is_none"] $($t)*);
    };
    (@many [$($a:tt)*] $($t:tt)*) => {
        wire_struct!(@field [$($a)*, skip_serializing_if = "Vec::is_empty"] $($t)*);
    };
    (@field [$($a:tt)*] $wire:literal [$($m:tt)*] [$($field:tt)*] $head:tt [$($done:tt)*]
        $($rest:tt)*) => {
        wire_struct!(@fields $head [
            $($done)* $($m)* #[serde(rename = $wire, default, $($a)*)] $($field)*,
        ] $($rest)*);
    };
}

fn require(field: &'static str, v: &str) -> Result<(), Error> {
    if v.trim().is_empty() {
        Err(Error::MissingField(field))
    } else {
        Ok(())
    }
}

fn require_opt(field: &'static str, v: &Option<String>) -> Result<(), Error> {
    require(field, v.as_deref().unwrap_or(""))
}

fn positive(field: &'static str, v: Fen) -> Result<(), Error> {
    if v == Fen::ZERO {
        Err(Error::InvalidField {
            field,
            reason: "must be at least 0.01",
        })
    } else {
        Ok(())
    }
}

/// The gateway only calls back absolute http(s) URLs.
pub(crate) fn check_http_url(field: &'static str, u: &str) -> Result<(), Error> {
    let l = u.trim().to_ascii_lowercase();
    if l.starts_with("http://") || l.starts_with("https://") {
        Ok(())
    } else {
        Err(Error::InvalidField {
            field,
            reason: "must be an http:// or https:// URL",
        })
    }
}

fn check_url(field: &'static str, v: &Option<String>) -> Result<(), Error> {
    v.as_deref().map_or(Ok(()), |u| check_http_url(field, u))
}

fn check_goods(goods: &[GoodsItem]) -> Result<(), Error> {
    goods.iter().try_for_each(GoodsItem::validate)
}

wire_struct! {
    /// One product line (`GOODS_DETAIL` entry, appendix 1).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct GoodsItem {
        /// `GOOD_ID`.
        text "GOOD_ID" pub id: String,
        /// `GOOD_NAME`.
        text "GOOD_NAME" pub name: String,
        /// `GOOD_CLASS`.
        text "GOOD_CLASS" pub class: String,
        /// `GOOD_PRICE`, yuan on the wire (`"2.00"` or `2`).
        #[serde(rename = "GOOD_PRICE", with = "serde_yuan")]
        pub price: Fen,
        /// `GOOD_SUBJECT`.
        text "GOOD_SUBJECT" pub subject: String,
        /// `GOOD_QUANTITY`, written as a string like the document's samples.
        #[serde(
            rename = "GOOD_QUANTITY",
            serialize_with = "lenient::u32_as_string",
            deserialize_with = "lenient::u32"
        )]
        pub quantity: u32,
        /// `GOOD_SHOWURL`.
        opt "GOOD_SHOWURL" pub show_url: Option<String>,
    }
}

impl GoodsItem {
    /// Checks the appendix 1 rules (all but the show URL are required).
    pub fn validate(&self) -> Result<(), Error> {
        require("GOOD_ID", &self.id)?;
        require("GOOD_NAME", &self.name)?;
        require("GOOD_CLASS", &self.class)?;
        require("GOOD_SUBJECT", &self.subject)?;
        if self.quantity == 0 {
            return Err(Error::InvalidField {
                field: "GOOD_QUANTITY",
                reason: "must be at least 1",
            });
        }
        Ok(())
    }
}

wire_struct! {
    /// Fields every order-type request carries.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Common {
        /// `BUSI_ID`: merchant ID assigned by SOUSHOU.
        text "BUSI_ID" pub busi_id: String,
        /// `OPER_ID`: operator.
        text "OPER_ID" pub oper_id: String,
        /// `DEV_ID`: device.
        text "DEV_ID" pub dev_id: String,
        /// `REGISTER_ID`: store code.
        opt "REGISTER_ID" pub register_id: Option<String>,
        /// `MERCHANTPARA`: opaque (base64) value echoed back by the gateway.
        opt "MERCHANTPARA" pub merchant_para: Option<String>,
    }
}

impl Common {
    /// Checks the three mandatory identifiers.
    pub fn validate(&self) -> Result<(), Error> {
        require("BUSI_ID", &self.busi_id)?;
        require("OPER_ID", &self.oper_id)?;
        require("DEV_ID", &self.dev_id)
    }
}

wire_struct! {
    /// `preOrder`: the merchant scans the customer's code (section 2).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct PreOrderRequest {
        /// Merchant, operator, device, store, echo parameter.
        #[serde(flatten)]
        pub common: Common,
        /// `AMT`, yuan string on the wire.
        #[serde(rename = "AMT", with = "serde_yuan")]
        pub amt: Fen,
        /// `CHANNEL_TYPE` (`Auto` lets the gateway detect it).
        #[serde(rename = "CHANNEL_TYPE", serialize_with = "lenient::code_as_string")]
        pub channel_type: ChannelType,
        /// `DYNAMIC_ID_TYPE`.
        #[serde(rename = "DYNAMIC_ID_TYPE", serialize_with = "lenient::code_as_string")]
        pub dynamic_id_type: DynamicIdType,
        /// `DYNAMIC_ID`: the scanned customer code.
        text "DYNAMIC_ID" pub dynamic_id: String,
        /// `CHARGE_CODE`: the merchant's unique serial number.
        text "CHARGE_CODE" pub charge_code: String,
        /// `PAY_SUBJECT`.
        text "PAY_SUBJECT" pub pay_subject: String,
        /// `GOODS_DETAIL`.
        goods "GOODS_DETAIL" pub goods_detail: Vec<GoodsItem>,
    }
}

impl PreOrderRequest {
    /// Checks the section 2.3 rules.
    pub fn validate(&self) -> Result<(), Error> {
        self.common.validate()?;
        positive("AMT", self.amt)?;
        require("DYNAMIC_ID", &self.dynamic_id)?;
        require("CHARGE_CODE", &self.charge_code)?;
        require("PAY_SUBJECT", &self.pay_subject)?;
        check_goods(&self.goods_detail)
    }
}

wire_struct! {
    /// `order`: the customer scans the merchant's code, or WeChat JSAPI/APP
    /// when `trade_type` is set (sections 3 and 4).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct OrderRequest {
        /// Merchant, operator, device, store, echo parameter.
        #[serde(flatten)]
        pub common: Common,
        /// `AMT`, yuan string on the wire.
        #[serde(rename = "AMT", with = "serde_yuan")]
        pub amt: Fen,
        /// `CHANNEL_TYPE`.
        #[serde(rename = "CHANNEL_TYPE", serialize_with = "lenient::code_as_string")]
        pub channel_type: ChannelType,
        /// `TRADE_TYPE` (gateway default: NATIVE).
        #[serde(
            rename = "TRADE_TYPE",
            default,
            deserialize_with = "lenient::opt_nonempty",
            serialize_with = "lenient::opt_code_as_string",
            skip_serializing_if = "Option::is_none"
        )]
        pub trade_type: Option<TradeType>,
        /// `subAppid`: the sub-merchant's WeChat appid.
        opt "subAppid" pub sub_appid: Option<String>,
        /// `subOpenid`: the payer's openid under `subAppid` (required for JSAPI).
        opt "subOpenid" pub sub_openid: Option<String>,
        /// `CHARGE_CODE`: the merchant's unique serial number.
        text "CHARGE_CODE" pub charge_code: String,
        /// `NODIFY_URL` (sic): where the gateway POSTs the payment notification.
        opt "NODIFY_URL" pub nodify_url: Option<String>,
        /// `PAY_SUBJECT`.
        text "PAY_SUBJECT" pub pay_subject: String,
        /// `GOODS_DETAIL`.
        goods "GOODS_DETAIL" pub goods_detail: Vec<GoodsItem>,
    }
}

impl OrderRequest {
    /// Checks the sections 3.3/4.2 rules (JSAPI needs `subOpenid`).
    pub fn validate(&self) -> Result<(), Error> {
        self.common.validate()?;
        positive("AMT", self.amt)?;
        require("CHARGE_CODE", &self.charge_code)?;
        require("PAY_SUBJECT", &self.pay_subject)?;
        if self.trade_type == Some(TradeType::Jsapi) {
            require_opt("subOpenid", &self.sub_openid)?;
        }
        check_url("NODIFY_URL", &self.nodify_url)?;
        check_goods(&self.goods_detail)
    }
}

wire_struct! {
    /// `creatOrder` (sic): Alipay pre-created order for JSAPI (section 5).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CreatOrderRequest {
        /// Merchant, operator, device, store, echo parameter.
        #[serde(flatten)]
        pub common: Common,
        /// `AMT`, yuan string on the wire.
        #[serde(rename = "AMT", with = "serde_yuan")]
        pub amt: Fen,
        /// `CHANNEL_TYPE`.
        #[serde(rename = "CHANNEL_TYPE", serialize_with = "lenient::code_as_string")]
        pub channel_type: ChannelType,
        /// `TIME_EXPIRE` in seconds, at least 120.
        count "TIME_EXPIRE" pub time_expire: Option<u32>,
        /// `buyerLogonId`: the buyer's Alipay account (this or `buyerId`).
        opt "buyerLogonId" pub buyer_logon_id: Option<String>,
        /// `buyerId`: the buyer's Alipay user ID, `2088...` (this or `buyerLogonId`).
        opt "buyerId" pub buyer_id: Option<String>,
        /// `CHARGE_CODE`: the merchant's unique serial number.
        text "CHARGE_CODE" pub charge_code: String,
        /// `NODIFY_URL` (sic).
        opt "NODIFY_URL" pub nodify_url: Option<String>,
        /// `PAY_SUBJECT`.
        text "PAY_SUBJECT" pub pay_subject: String,
        /// `GOODS_DETAIL`.
        goods "GOODS_DETAIL" pub goods_detail: Vec<GoodsItem>,
    }
}

impl CreatOrderRequest {
    /// Checks the section 5.2 rules (`TIME_EXPIRE >= 120`, one buyer ID).
    pub fn validate(&self) -> Result<(), Error> {
        self.common.validate()?;
        positive("AMT", self.amt)?;
        if matches!(self.time_expire, Some(t) if t < 120) {
            return Err(Error::InvalidField {
                field: "TIME_EXPIRE",
                reason: "must be at least 120 seconds",
            });
        }
        let has = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if !has(&self.buyer_logon_id) && !has(&self.buyer_id) {
            return Err(Error::MissingField("buyerId"));
        }
        require("CHARGE_CODE", &self.charge_code)?;
        require("PAY_SUBJECT", &self.pay_subject)?;
        check_url("NODIFY_URL", &self.nodify_url)?;
        check_goods(&self.goods_detail)
    }
}

/// `SCENE_INFO` of a WAP order; on the wire a JSON *string* holding
/// `{"h5_info":{"type":...}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SceneInfo {
    /// An iOS app.
    Ios {
        /// `app_name`.
        app_name: String,
        /// `bundle_id`.
        bundle_id: String,
    },
    /// An Android app.
    Android {
        /// `app_name`.
        app_name: String,
        /// `package_name`.
        package_name: String,
    },
    /// A mobile web site.
    Wap {
        /// `wap_url`.
        wap_url: String,
        /// `wap_name`.
        wap_name: String,
    },
}

impl SceneInfo {
    /// The JSON text the gateway expects inside the `SCENE_INFO` string.
    pub fn to_json(&self) -> String {
        #[derive(Serialize)]
        struct H5<'a> {
            r#type: &'a str,
            #[serde(skip_serializing_if = "Option::is_none")]
            app_name: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            bundle_id: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            package_name: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            wap_url: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            wap_name: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Outer<'a> {
            h5_info: H5<'a>,
        }
        let none = H5 {
            r#type: "",
            app_name: None,
            bundle_id: None,
            package_name: None,
            wap_url: None,
            wap_name: None,
        };
        let h5 = match self {
            SceneInfo::Ios {
                app_name,
                bundle_id,
            } => H5 {
                r#type: "IOS",
                app_name: Some(app_name),
                bundle_id: Some(bundle_id),
                ..none
            },
            SceneInfo::Android {
                app_name,
                package_name,
            } => H5 {
                r#type: "Android",
                app_name: Some(app_name),
                package_name: Some(package_name),
                ..none
            },
            SceneInfo::Wap { wap_url, wap_name } => H5 {
                r#type: "Wap",
                wap_url: Some(wap_url),
                wap_name: Some(wap_name),
                ..none
            },
        };
        serde_json::to_string(&Outer { h5_info: h5 }).unwrap_or_default()
    }

    /// Parses the `SCENE_INFO` JSON text (or an already-parsed object).
    fn from_value(v: Value) -> Result<SceneInfo, &'static str> {
        let v = match v {
            Value::String(s) => serde_json::from_str::<Value>(&s).map_err(|_| "not valid JSON")?,
            v => v,
        };
        let h5 = v.get("h5_info").ok_or("missing h5_info")?;
        let field = |k: &str| -> Result<String, &'static str> {
            match h5.get(k) {
                Some(Value::String(s)) => Ok(s.clone()),
                _ => Err("missing scene field"),
            }
        };
        let ty = field("type")?;
        match ty.to_ascii_lowercase().as_str() {
            "ios" => Ok(SceneInfo::Ios {
                app_name: field("app_name")?,
                bundle_id: field("bundle_id")?,
            }),
            "android" => Ok(SceneInfo::Android {
                app_name: field("app_name")?,
                package_name: field("package_name")?,
            }),
            "wap" => Ok(SceneInfo::Wap {
                wap_url: field("wap_url")?,
                wap_name: field("wap_name")?,
            }),
            _ => Err("type must be IOS, Android or Wap"),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        let parts: [&str; 2] = match self {
            SceneInfo::Ios {
                app_name,
                bundle_id,
            } => [app_name, bundle_id],
            SceneInfo::Android {
                app_name,
                package_name,
            } => [app_name, package_name],
            SceneInfo::Wap { wap_url, wap_name } => [wap_url, wap_name],
        };
        if parts.iter().any(|p| p.trim().is_empty()) {
            return Err(Error::InvalidField {
                field: "SCENE_INFO",
                reason: "every h5_info field must be non-empty",
            });
        }
        Ok(())
    }
}

impl Serialize for SceneInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_json())
    }
}

impl<'de> Deserialize<'de> for SceneInfo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        SceneInfo::from_value(Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

wire_struct! {
    /// `wapOrder`: WeChat H5 payment from a mobile browser (section 6).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct WapOrderRequest {
        /// Merchant, operator, device, store, echo parameter.
        #[serde(flatten)]
        pub common: Common,
        /// `AMT`, yuan string on the wire.
        #[serde(rename = "AMT", with = "serde_yuan")]
        pub amt: Fen,
        /// `CHANNEL_TYPE`.
        #[serde(rename = "CHANNEL_TYPE", serialize_with = "lenient::code_as_string")]
        pub channel_type: ChannelType,
        /// `TIME_EXPIRE` in seconds, at least 300.
        count "TIME_EXPIRE" pub time_expire: Option<u32>,
        /// `CHARGE_CODE`: the merchant's unique serial number.
        text "CHARGE_CODE" pub charge_code: String,
        /// `SCENE_INFO`, serialised as a JSON string.
        #[serde(rename = "SCENE_INFO")]
        pub scene_info: SceneInfo,
        /// `NODIFY_URL` (sic).
        opt "NODIFY_URL" pub nodify_url: Option<String>,
        /// `RETURN_URL`: where the browser goes after paying.
        opt "RETURN_URL" pub return_url: Option<String>,
        /// `SPBILL_CREATE_IP`: the payer's IP address.
        text "SPBILL_CREATE_IP" pub spbill_create_ip: String,
        /// `PAY_SUBJECT`.
        text "PAY_SUBJECT" pub pay_subject: String,
        /// `GOODS_DETAIL`.
        goods "GOODS_DETAIL" pub goods_detail: Vec<GoodsItem>,
    }
}

impl WapOrderRequest {
    /// Checks the section 6.2 rules (`TIME_EXPIRE >= 300`, payer IP, scene).
    pub fn validate(&self) -> Result<(), Error> {
        self.common.validate()?;
        positive("AMT", self.amt)?;
        if matches!(self.time_expire, Some(t) if t < 300) {
            return Err(Error::InvalidField {
                field: "TIME_EXPIRE",
                reason: "must be at least 300 seconds",
            });
        }
        require("CHARGE_CODE", &self.charge_code)?;
        self.scene_info.validate()?;
        require("SPBILL_CREATE_IP", &self.spbill_create_ip)?;
        require("PAY_SUBJECT", &self.pay_subject)?;
        check_url("NODIFY_URL", &self.nodify_url)?;
        check_url("RETURN_URL", &self.return_url)?;
        check_goods(&self.goods_detail)
    }
}

wire_struct! {
    /// `refund` (section 8).
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RefundRequest {
        /// `BUSI_ID`.
        text "BUSI_ID" pub busi_id: String,
        /// `OPER_ID`.
        text "OPER_ID" pub oper_id: String,
        /// `DEV_ID`.
        text "DEV_ID" pub dev_id: String,
        /// `CHARGE_REFUND_FEE`, yuan string on the wire.
        #[serde(rename = "CHARGE_REFUND_FEE", with = "serde_yuan")]
        pub charge_refund_fee: Fen,
        /// `REFUND_SUBJECT`.
        text "REFUND_SUBJECT" pub refund_subject: String,
        /// `CHARGE_CODE` of the order being refunded.
        text "CHARGE_CODE" pub charge_code: String,
        /// `CHARGE_DOWN_CODE`: the gateway's serial (takes priority when given).
        opt "CHARGE_DOWN_CODE" pub charge_down_code: Option<String>,
        /// `OUT_REFUND_NO`: the merchant's unique refund serial.
        opt "OUT_REFUND_NO" pub out_refund_no: Option<String>,
    }
}

impl RefundRequest {
    /// Checks the section 8.2 rules.
    pub fn validate(&self) -> Result<(), Error> {
        require("BUSI_ID", &self.busi_id)?;
        require("OPER_ID", &self.oper_id)?;
        require("DEV_ID", &self.dev_id)?;
        positive("CHARGE_REFUND_FEE", self.charge_refund_fee)?;
        require("REFUND_SUBJECT", &self.refund_subject)?;
        require("CHARGE_CODE", &self.charge_code)
    }
}

/// `query` (GET, no body, no sign; section 9).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueryRequest {
    /// The serial number in the path (`CHARGE_CODE` or `CHARGE_DOWN_CODE`).
    pub code: String,
    /// Which of the two `code` is.
    pub ser_type: crate::types::SerType,
}

impl QueryRequest {
    /// The serial number must be present.
    pub fn validate(&self) -> Result<(), Error> {
        require("CHARGE_CODE", &self.code)
    }
}

/// `refundQuery` (GET, no body, no sign; section 10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundQueryRequest {
    /// The serial number in the path (`TRADE_NO`).
    pub code: String,
    /// Which serial `code` is.
    pub ser_type: crate::types::SerType,
}

impl RefundQueryRequest {
    /// The serial number must be present.
    pub fn validate(&self) -> Result<(), Error> {
        require("TRADE_NO", &self.code)
    }
}

/// `cancelTrade` (GET; signs `chargeCode=..&busiCode=..`; section 11).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelTradeRequest {
    /// The merchant's `CHARGE_CODE` to revoke.
    pub charge_code: String,
    /// Apply for revocation (`opType=ACO`) or revoke in real time.
    pub mode: crate::types::CancelMode,
}

impl CancelTradeRequest {
    /// The serial number must be present.
    pub fn validate(&self) -> Result<(), Error> {
        require("chargeCode", &self.charge_code)
    }
}

/// A message with a root key: every response type and [`PayNotify`].
pub trait Message: Serialize + DeserializeOwned {
    /// The JSON root key / XML root element, e.g. `ORDER_RESP`.
    const ROOT: &'static str;

    /// The `RESULT` block, for messages that carry one.
    fn result(&self) -> Option<&ResultInfo> {
        None
    }
}

// ---------------------------------------------------------------- responses

wire_struct! {
    /// `RESULT`: the gateway's verdict on a call.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ResultInfo {
        /// `CODE`.
        #[serde(rename = "CODE")]
        pub code: ResultCode,
        /// `INFO`: human-readable text (often Chinese).
        text "INFO" pub info: String,
    }
}

impl ResultInfo {
    /// A success result with the given text.
    pub fn success(info: impl Into<String>) -> ResultInfo {
        ResultInfo {
            code: ResultCode::Success,
            info: info.into(),
        }
    }
}

impl Default for ResultInfo {
    /// Success with empty `INFO`: the common case when building responses.
    fn default() -> Self {
        ResultInfo::success("")
    }
}

/// One `TRADEFUNDBILL`: how much of the payment came from which source.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FundBill {
    /// `FUND_CHANNEL` (appendix 3).
    #[serde(rename = "FUND_CHANNEL")]
    pub fund_channel: FundChannel,
    /// `AMOUNT`, yuan on the wire.
    #[serde(rename = "AMOUNT", with = "serde_yuan")]
    pub amount: Fen,
}

wire_struct! {
    /// Response of preOrder, order, creatOrder and wapOrder (root `ORDER_RESP`).
    #[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(remote = "Self")]
    pub struct OrderResp {
        /// `RESULT`.
        #[serde(rename = "RESULT")]
        pub result: ResultInfo,
        /// `CHANNEL_TYPE`.
        code "CHANNEL_TYPE" pub channel_type: Option<ChannelType>,
        /// `CHARGE_CODE`: the merchant's serial.
        opt "CHARGE_CODE" pub charge_code: Option<String>,
        /// `CHARGE_DOWN_CODE`: the gateway's serial.
        opt "CHARGE_DOWN_CODE" pub charge_down_code: Option<String>,
        /// `CHARGE_THIRD_CODE` (also read as `charge_THIRD_CODE`): the channel's serial.
        #[serde(alias = "charge_THIRD_CODE")]
        opt "CHARGE_THIRD_CODE" pub charge_third_code: Option<String>,
        /// `BAR_CODE`: payment link / QR content.
        opt "BAR_CODE" pub bar_code: Option<String>,
        /// `prepayId`: WeChat prepay ID.
        opt "prepayId" pub prepay_id: Option<String>,
        /// `MERCHANTPARA`: echoed merchant parameter.
        opt "MERCHANTPARA" pub merchant_para: Option<String>,
        /// `FUND_BILL_LIST`.
        bills "FUND_BILL_LIST" pub fund_bill_list: Vec<FundBill>,
        /// `OPER_ID`.
        opt "OPER_ID" pub oper_id: Option<String>,
        /// `DEV_ID`.
        opt "DEV_ID" pub dev_id: Option<String>,
        /// `BEGIN_TIME` (`yyyy-MM-dd HH:mm:ss`, kept as text).
        opt "BEGIN_TIME" pub begin_time: Option<String>,
        /// `END_TIME`.
        opt "END_TIME" pub end_time: Option<String>,
        /// `AMT`, integer fen on the wire.
        fen "AMT" pub amt: Option<Fen>,
        /// `appId` (WeChat JSAPI parameter).
        opt "appId" pub app_id: Option<String>,
        /// `timeStamp` (WeChat JSAPI parameter).
        opt "timeStamp" pub time_stamp: Option<String>,
        /// `nonceStr` (WeChat JSAPI parameter).
        opt "nonceStr" pub nonce_str: Option<String>,
        /// `packageData` (WeChat JSAPI `package`, `prepay_id=...`).
        opt "packageData" pub package_data: Option<String>,
        /// `signType` (WeChat JSAPI parameter).
        opt "signType" pub sign_type: Option<String>,
        /// `sign`: WeChat's JSAPI `paySign` (not the gateway signature).
        opt "sign" pub sign: Option<String>,
        /// Every field this crate does not model, kept verbatim.
        #[serde(flatten)]
        pub extra: BTreeMap<String, Value>,
    }
}

wire_struct! {
    /// Response of refund (root `REFUND_RESP`).
    #[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct RefundResp {
        /// `RESULT`.
        #[serde(rename = "RESULT")]
        pub result: ResultInfo,
        /// `FUND_BILL_LIST`: refunded parts per source.
        bills "FUND_BILL_LIST" pub fund_bill_list: Vec<FundBill>,
        /// `CHANNEL_TYPE`.
        code "CHANNEL_TYPE" pub channel_type: Option<ChannelType>,
        /// Every field this crate does not model, kept verbatim.
        #[serde(flatten)]
        pub extra: BTreeMap<String, Value>,
    }
}

wire_struct! {
    /// Response of query (root `QUERY_RESP`).
    #[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct QueryResp {
        /// `RESULT`.
        #[serde(rename = "RESULT")]
        pub result: ResultInfo,
        /// `BUSI_ID`.
        opt "BUSI_ID" pub busi_id: Option<String>,
        /// `OPER_ID`.
        opt "OPER_ID" pub oper_id: Option<String>,
        /// `DEV_ID`.
        opt "DEV_ID" pub dev_id: Option<String>,
        /// `MERCHANTPARA`.
        opt "MERCHANTPARA" pub merchant_para: Option<String>,
        /// `AMT`, integer fen on the wire.
        fen "AMT" pub amt: Option<Fen>,
        /// `realAMT`: the amount actually paid, yuan on the wire.
        #[serde(
            rename = "realAMT",
            default,
            with = "serde_yuan::option",
            skip_serializing_if = "Option::is_none"
        )]
        pub real_amt: Option<Fen>,
        /// `CHANNEL_TYPE`.
        code "CHANNEL_TYPE" pub channel_type: Option<ChannelType>,
        /// `CHARGE_CODE`.
        opt "CHARGE_CODE" pub charge_code: Option<String>,
        /// `CHARGE_DOWN_CODE`.
        opt "CHARGE_DOWN_CODE" pub charge_down_code: Option<String>,
        /// `PAY_SUBJECT`.
        opt "PAY_SUBJECT" pub pay_subject: Option<String>,
        /// `STATE` (appendix 4).
        code "STATE" pub state: Option<OrderState>,
        /// `GOODS_DETAIL`.
        goods "GOODS_DETAIL" pub goods_detail: Vec<GoodsItem>,
        /// `BEGIN_TIME`.
        opt "BEGIN_TIME" pub begin_time: Option<String>,
        /// `END_TIME`.
        opt "END_TIME" pub end_time: Option<String>,
        /// `REGISTER_ID`.
        opt "REGISTER_ID" pub register_id: Option<String>,
        /// `DYNAMIC_ID`.
        opt "DYNAMIC_ID" pub dynamic_id: Option<String>,
        /// `FUND_BILL_LIST`.
        bills "FUND_BILL_LIST" pub fund_bill_list: Vec<FundBill>,
        /// Every field this crate does not model (e.g. `dynamic_ID_TYPE_STR`).
        #[serde(flatten)]
        pub extra: BTreeMap<String, Value>,
    }
}

wire_struct! {
    /// One `REFUND_TRADE` record of a refund query.
    #[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct RefundTrade {
        /// `REFUND_CODE`: the merchant's refund serial.
        opt "REFUND_CODE" pub refund_code: Option<String>,
        /// `REFUND_DOWN_CODE`: the gateway's refund serial.
        opt "REFUND_DOWN_CODE" pub refund_down_code: Option<String>,
        /// `OPER_ID`.
        opt "OPER_ID" pub oper_id: Option<String>,
        /// `DEV_ID`.
        opt "DEV_ID" pub dev_id: Option<String>,
        /// `REFUND_AMT`, integer fen on the wire.
        fen "REFUND_AMT" pub refund_amt: Option<Fen>,
        /// `STATE` (10 pending, 11 succeeded, ...).
        code "STATE" pub state: Option<OrderState>,
        /// `BEGIN_TIME`.
        opt "BEGIN_TIME" pub begin_time: Option<String>,
        /// `END_TIME`.
        opt "END_TIME" pub end_time: Option<String>,
        /// `REFUND_BILL_LIST` (wrapped in `TRADEFUNDBILL`).
        bills "REFUND_BILL_LIST" pub refund_bill_list: Vec<FundBill>,
        /// Every field this crate does not model.
        #[serde(flatten)]
        pub extra: BTreeMap<String, Value>,
    }
}

wire_struct! {
    /// Response of refundQuery (root `REFUND_QUERY_RESP`).
    #[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
    pub struct RefundQueryResp {
        /// `RESULT`.
        #[serde(rename = "RESULT")]
        pub result: ResultInfo,
        /// `BUSI_ID`.
        opt "BUSI_ID" pub busi_id: Option<String>,
        /// `OPER_ID`.
        opt "OPER_ID" pub oper_id: Option<String>,
        /// `DEV_ID`.
        opt "DEV_ID" pub dev_id: Option<String>,
        /// `AMT`: the order amount, integer fen on the wire.
        fen "AMT" pub amt: Option<Fen>,
        /// `REFUND_AMT`: refunded so far, integer fen on the wire.
        fen "REFUND_AMT" pub refund_amt: Option<Fen>,
        /// `CHANNEL_TYPE`.
        code "CHANNEL_TYPE" pub channel_type: Option<ChannelType>,
        /// `CHARGE_CODE`.
        opt "CHARGE_CODE" pub charge_code: Option<String>,
        /// `CHARGE_DOWN_CODE`.
        opt "CHARGE_DOWN_CODE" pub charge_down_code: Option<String>,
        /// `STATE` of the order.
        code "STATE" pub state: Option<OrderState>,
        /// `BEGIN_TIME`.
        opt "BEGIN_TIME" pub begin_time: Option<String>,
        /// `END_TIME`.
        opt "END_TIME" pub end_time: Option<String>,
        /// `REGISTER_ID`.
        opt "REGISTER_ID" pub register_id: Option<String>,
        /// `REFUND_COUNT`.
        count "REFUND_COUNT" pub refund_count: Option<u32>,
        /// `REFUND_TRADE_LIST` (wrapped in `REFUND_TRADE`).
        #[serde(
            rename = "REFUND_TRADE_LIST",
            default,
            with = "lenient::refund_trades",
            skip_serializing_if = "Vec::is_empty"
        )]
        pub refund_trade_list: Vec<RefundTrade>,
        /// Every field this crate does not model.
        #[serde(flatten)]
        pub extra: BTreeMap<String, Value>,
    }
}

/// Response of cancelTrade (root `CANCELTRADE_RESP`).
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CancelTradeResp {
    /// `RESULT`.
    #[serde(rename = "RESULT")]
    pub result: ResultInfo,
    /// Every field this crate does not model.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

wire_struct! {
    /// Asynchronous payment notification POSTed to `NODIFY_URL` (root `PAY_NODIFY`, sic).
    #[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
    #[serde(remote = "Self")]
    pub struct PayNotify {
        /// `BUSI_ID`.
        text "BUSI_ID" pub busi_id: String,
        /// `OPER_ID`.
        text "OPER_ID" pub oper_id: String,
        /// `DEV_ID`.
        text "DEV_ID" pub dev_id: String,
        /// `AMT`, integer fen on the wire.
        #[serde(rename = "AMT", with = "serde_fen")]
        pub amt: Fen,
        /// `CHANNEL_TYPE`.
        #[serde(rename = "CHANNEL_TYPE")]
        pub channel_type: ChannelType,
        /// `CHARGE_CODE`: the merchant's serial.
        #[serde(rename = "CHARGE_CODE", deserialize_with = "lenient::string")]
        pub charge_code: String,
        /// `CHARGE_DOWN_CODE`: the gateway's serial.
        text "CHARGE_DOWN_CODE" pub charge_down_code: String,
        /// `CHARGE_THIRD_CODE` (also read as `charge_THIRD_CODE`): the channel's
        /// serial; the document's own sample omits it.
        #[serde(alias = "charge_THIRD_CODE")]
        opt "CHARGE_THIRD_CODE" pub charge_third_code: Option<String>,
        /// `PAY_SUBJECT`.
        text "PAY_SUBJECT" pub pay_subject: String,
        /// `GOODS_DETAIL`.
        goods "GOODS_DETAIL" pub goods_detail: Vec<GoodsItem>,
        /// `STATE` (1 = paid).
        #[serde(rename = "STATE")]
        pub state: OrderState,
        /// `MERCHANTPARA`.
        opt "MERCHANTPARA" pub merchant_para: Option<String>,
        /// `FUND_BILL_LIST`.
        bills "FUND_BILL_LIST" pub fund_bill_list: Vec<FundBill>,
        /// Every field this crate does not model.
        #[serde(flatten)]
        pub extra: BTreeMap<String, Value>,
    }
}

/// `CHARGE_THIRD_CODE` is also spelled `charge_THIRD_CODE` by some gateway
/// versions. The alias reads either; when both arrive, the upper-case one
/// wins and the other is kept in `extra` instead of failing as a duplicate.
macro_rules! third_code_tolerant {
    ($ty:ident) => {
        impl Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $ty::serialize(self, s)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let mut m = serde_json::Map::deserialize(d)?;
                let dup = if m.contains_key("CHARGE_THIRD_CODE") {
                    m.remove("charge_THIRD_CODE")
                } else {
                    None
                };
                let mut out =
                    $ty::deserialize(Value::Object(m)).map_err(serde::de::Error::custom)?;
                if let Some(v) = dup {
                    out.extra.insert("charge_THIRD_CODE".to_owned(), v);
                }
                Ok(out)
            }
        }
    };
}

third_code_tolerant!(OrderResp);
third_code_tolerant!(PayNotify);

macro_rules! message {
    ($ty:ty, $root:literal, result) => {
        impl Message for $ty {
            const ROOT: &'static str = $root;
            fn result(&self) -> Option<&ResultInfo> {
                Some(&self.result)
            }
        }
    };
    ($ty:ty, $root:literal) => {
        impl Message for $ty {
            const ROOT: &'static str = $root;
        }
    };
}

message!(OrderResp, "ORDER_RESP", result);
message!(RefundResp, "REFUND_RESP", result);
message!(QueryResp, "QUERY_RESP", result);
message!(RefundQueryResp, "REFUND_QUERY_RESP", result);
message!(CancelTradeResp, "CANCELTRADE_RESP", result);
message!(PayNotify, "PAY_NODIFY");
