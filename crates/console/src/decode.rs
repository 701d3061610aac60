//! Reading the API's answers into typed values by hand, as the checkout
//! page does (`checkout_page::decode`, whose toolkit this uses).
//!
//! Why not `#[derive(Deserialize)]` + `serde_json::from_str`: measured on
//! this console, serde's decoding (a `deserialize_struct` per type, its
//! invalid-type messages pulling in float formatting, the buffering of
//! `#[serde(flatten)]` and untagged enums, `ErrorCode`'s field visitor)
//! was about 58 KB of the brotli'd wasm, over a third of the 150 KB
//! first-load budget. The browser's `JSON.parse` reads the text; these
//! decoders build the very same types from the parsed value. That they
//! agree with the Worker is checked, not assumed: the host tests write
//! every shape of every `checkout` type with its own serde `Serialize`
//! (what the Worker sends) and require the decoder to give back the
//! identical value; the console's own types are checked against answers
//! copied from the contract. Tolerant reader: unknown members are
//! ignored, an optional member may be absent or `null`; a required one
//! that is missing or malformed is an [`Error::Decode`] naming it.

use checkout::access::{
    Actor, AuditEntry, AuditRecord, KeyView, NewKey, Page, SessionView, SignInLink,
};
use checkout::api::{
    ErrorCode, ErrorDetail, GatewayOrder, LiveQuery, MerchantOrder, NotificationRecord, OrderEvent,
    RefundRecord,
};
use checkout::statement::{Difference, Figures, Statement, Summary, Totals};
use checkout::vocab::Spelled;
use checkout_page::decode::{
    enum_str, missing, opt_enum, opt_string, opt_uint, order_view, string, uint,
};

use crate::Error;

/// A parsed JSON value: the page's [`checkout_page::decode::Json`] and
/// what only the console reads (a signed amount, a flag, an object's
/// member names). Its own trait, not more methods on the page's: a method
/// added there made the page's wasm 74 B brotli larger though the page
/// never calls it.
pub trait Json: checkout_page::decode::Json {
    /// The value as an integer of either sign, if it is one.
    fn int(&self) -> Option<i64>;
    /// The value as a boolean, if it is one.
    fn boolean(&self) -> Option<bool>;
    /// The member names of an object (none if it is not an object).
    fn keys(&self) -> Vec<String>;
}

#[cfg(target_arch = "wasm32")]
impl Json for wasm_bindgen::JsValue {
    fn int(&self) -> Option<i64> {
        // As the page's `uint`: exact integers within f64's exact range.
        let n = self.as_f64()?;
        (n.fract() == 0.0 && n.abs() <= 9_007_199_254_740_991.0).then_some(n as i64)
    }

    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }

    fn keys(&self) -> Vec<String> {
        if self.is_object() && !js_sys::Array::is_array(self) {
            let object = wasm_bindgen::JsCast::unchecked_ref::<js_sys::Object>(self);
            js_sys::Object::keys(object)
                .iter()
                .filter_map(|k| k.as_string())
                .collect()
        } else {
            Vec::new()
        }
    }
}

/// The host tests' parsed JSON.
#[cfg(test)]
impl Json for serde_json::Value {
    fn int(&self) -> Option<i64> {
        self.as_i64()
    }
    fn boolean(&self) -> Option<bool> {
        self.as_bool()
    }
    fn keys(&self) -> Vec<String> {
        self.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }
}

/// A required integer member of either sign.
pub fn int<J: Json>(v: &J, name: &str) -> Result<i64, Error> {
    Ok(v.field(name)
        .and_then(|f| f.int())
        .ok_or_else(|| missing(name))?)
}

/// A required boolean member.
pub fn boolean<J: Json>(v: &J, name: &str) -> Result<bool, Error> {
    Ok(v.field(name)
        .and_then(|f| f.boolean())
        .ok_or_else(|| missing(name))?)
}

/// A value read from a parsed JSON answer.
pub trait FromJson: Sized {
    /// Reads `v`; a required member missing or malformed is an
    /// [`Error::Decode`] naming it.
    fn from_json<J: Json>(v: &J) -> Result<Self, Error>;
}

/// An answer whose body the console does not read (a revoke, a refund:
/// the screen re-reads the order instead).
impl FromJson for () {
    fn from_json<J: Json>(_: &J) -> Result<Self, Error> {
        Ok(())
    }
}

/// The members `name` of `v`, each read as `T` (absent or `null`: none).
pub fn list<T: FromJson, J: Json>(v: &J, name: &str) -> Result<Vec<T>, Error> {
    v.field(name)
        .map(|l| l.items().iter().map(T::from_json).collect())
        .unwrap_or(Ok(Vec::new()))
}

/// The object member `name` of `v`, read as `T`.
pub fn object<T: FromJson, J: Json>(v: &J, name: &str) -> Result<T, Error> {
    T::from_json(&v.field(name).ok_or_else(|| missing(name))?)
}

/// An optional object member (absent or `null`: `None`).
pub fn opt_object<T: FromJson, J: Json>(v: &J, name: &str) -> Result<Option<T>, Error> {
    v.field(name).map(|o| T::from_json(&o)).transpose()
}

/// `"has_more"` (absent: none follow).
pub fn has_more<J: Json>(v: &J) -> bool {
    v.field("has_more")
        .and_then(|b| b.boolean())
        .unwrap_or(false)
}

/// The `error` of an error answer (`None` if it is not the documented
/// shape: a proxy's page, a crash). A code the console does not know
/// reads as `Unknown`, as serde's `#[serde(other)]` reads it.
pub fn error_detail<J: Json>(body: &J) -> Option<ErrorDetail> {
    let e = body.field("error")?;
    Some(ErrorDetail {
        code: ErrorCode::from_spelling(&e.field("code")?.string()?).unwrap_or(ErrorCode::Unknown),
        message: opt_string(&e, "message").unwrap_or_default(),
        gateway_code: opt_string(&e, "gateway_code"),
        permission: opt_string(&e, "permission"),
        reason: opt_string(&e, "reason"),
    })
}

impl<T: FromJson> FromJson for Page<T> {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Page {
            data: list(v, "data")?,
            has_more: has_more(v),
        })
    }
}

impl FromJson for Actor {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Actor {
            kind: enum_str(v, "type")?,
            id: string(v, "id")?,
            name: string(v, "name")?,
            role: opt_enum(v, "role")?,
        })
    }
}

impl FromJson for KeyView {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(KeyView {
            id: string(v, "id")?,
            name: string(v, "name")?,
            role: enum_str(v, "role")?,
            prefix: string(v, "prefix")?,
            created_at: uint(v, "created_at")?,
            last_used_at: opt_uint(v, "last_used_at")?,
            expires_at: opt_uint(v, "expires_at")?,
            revoked_at: opt_uint(v, "revoked_at")?,
        })
    }
}

impl FromJson for NewKey {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(NewKey {
            id: string(v, "id")?,
            key: string(v, "key")?,
            name: string(v, "name")?,
            role: enum_str(v, "role")?,
            prefix: string(v, "prefix")?,
            created_at: uint(v, "created_at")?,
            expires_at: opt_uint(v, "expires_at")?,
        })
    }
}

impl FromJson for SignInLink {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(SignInLink {
            id: string(v, "id")?,
            url: string(v, "url")?,
            expires_at: uint(v, "expires_at")?,
        })
    }
}

impl FromJson for SessionView {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(SessionView {
            id: string(v, "id")?,
            name: string(v, "name")?,
            role: enum_str(v, "role")?,
            via: string(v, "via")?,
            created_at: uint(v, "created_at")?,
            last_seen_at: uint(v, "last_seen_at")?,
            expires_at: uint(v, "expires_at")?,
            revoked_at: opt_uint(v, "revoked_at")?,
        })
    }
}

impl FromJson for AuditRecord {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(AuditRecord {
            id: uint(v, "id")?,
            // Flattened: the entry's members sit beside `id`.
            entry: AuditEntry {
                at: uint(v, "at")?,
                actor: object(v, "actor")?,
                ip: string(v, "ip")?,
                action: string(v, "action")?,
                object: opt_string(v, "object"),
                request_id: string(v, "request_id")?,
            },
            outcome: enum_str(v, "outcome")?,
        })
    }
}

impl FromJson for MerchantOrder {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(MerchantOrder {
            order: order_view(&v.field("order").ok_or_else(|| missing("order"))?)?,
            kind: enum_str(v, "kind")?,
            method: enum_str(v, "method")?,
            channel_type: string(v, "channel_type")?,
            subject: string(v, "subject")?,
            refunded: string(v, "refunded")?,
            refunded_fen: uint(v, "refunded_fen")?,
            charge_down_code: opt_string(v, "charge_down_code"),
            charge_third_code: opt_string(v, "charge_third_code"),
            created_at: uint(v, "created_at")?,
            updated_at: uint(v, "updated_at")?,
            history: list(v, "history")?,
            notifications: list(v, "notifications")?,
            refunds: list(v, "refunds")?,
            gateway: opt_object(v, "gateway")?,
        })
    }
}

impl FromJson for OrderEvent {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(OrderEvent {
            from_state: enum_str(v, "from_state")?,
            to_state: enum_str(v, "to_state")?,
            source: enum_str(v, "source")?,
            at: uint(v, "at")?,
        })
    }
}

impl FromJson for NotificationRecord {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(NotificationRecord {
            gateway_state: string(v, "gateway_state")?,
            amount_fen: uint(v, "amount_fen")?,
            outcome: string(v, "outcome")?,
            received: uint(v, "received")?,
            first_at: uint(v, "first_at")?,
            last_at: uint(v, "last_at")?,
        })
    }
}

impl FromJson for RefundRecord {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(RefundRecord {
            out_refund_no: string(v, "out_refund_no")?,
            charge_code: string(v, "charge_code")?,
            amount_fen: uint(v, "amount_fen")?,
            reason: string(v, "reason")?,
            state: enum_str(v, "state")?,
            gateway_code: opt_string(v, "gateway_code"),
            created_at: uint(v, "created_at")?,
            updated_at: opt_uint(v, "updated_at")?.unwrap_or_default(),
        })
    }
}

/// Untagged: a failed query has `error`, an answer has not.
impl FromJson for LiveQuery {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        if v.field("error").is_some() {
            return Ok(LiveQuery::Failed {
                error: error_detail(v).ok_or_else(|| missing("gateway.error"))?,
            });
        }
        Ok(LiveQuery::Answered(GatewayOrder {
            state: opt_string(v, "state"),
            amount: opt_string(v, "amount"),
            amount_fen: opt_uint(v, "amount_fen")?,
            channel_type: opt_string(v, "channel_type"),
            charge_down_code: opt_string(v, "charge_down_code"),
            charge_third_code: opt_string(v, "charge_third_code"),
            end_time: opt_string(v, "end_time"),
        }))
    }
}

impl FromJson for Totals {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Totals {
            count: uint(v, "count")?,
            amount_fen: uint(v, "amount_fen")?,
        })
    }
}

impl FromJson for Figures {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Figures {
            payments: object(v, "payments")?,
            refunds: object(v, "refunds")?,
            duplicate_refunds: object(v, "duplicate_refunds")?,
            net_fen: int(v, "net_fen")?,
        })
    }
}

impl FromJson for Difference {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Difference {
            charge_code: string(v, "charge_code")?,
            ours: string(v, "ours")?,
            gateway: string(v, "gateway")?,
        })
    }
}

impl FromJson for Statement {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        let channels = v.field("by_channel").ok_or_else(|| missing("by_channel"))?;
        let by_channel = channels
            .keys()
            .into_iter()
            .map(|k| Ok((k.clone(), object(&channels, &k)?)))
            .collect::<Result<_, Error>>()?;
        Ok(Statement {
            date: string(v, "date")?,
            timezone: string(v, "timezone")?,
            revision: u32::try_from(uint(v, "revision")?).map_err(|_| missing("revision"))?,
            reason: opt_string(v, "reason"),
            // Flattened twice: the day's figures, then the summary, sit
            // beside `date`.
            summary: Summary {
                total: Figures::from_json(v)?,
                by_channel,
                differences: list(v, "differences")?,
            },
            created_at: uint(v, "created_at")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkout::access::{ActorKind, Outcome, Role};
    use checkout::api::{Money, OrderView};
    use checkout::vocab::{EventSource, OrderKind, OrderMethod, OrderStatus, RefundState};
    use serde_json::{json, Value};

    fn wire<T: serde::Serialize>(x: &T) -> Value {
        serde_json::to_value(x).unwrap()
    }

    /// `x` as the Worker writes it reads back as `x`, also with a member
    /// the console does not know and with every `null` member left out.
    fn round_trips<T>(x: &T)
    where
        T: FromJson + serde::Serialize + PartialEq + std::fmt::Debug,
    {
        let mut v = wire(x);
        assert_eq!(&T::from_json(&v).unwrap(), x, "{v}");
        strip_nulls(&mut v);
        if let Value::Object(o) = &mut v {
            o.insert("added_in_v2".into(), json!({"x": [1, -2.5, null]}));
        }
        assert_eq!(&T::from_json(&v).unwrap(), x, "{v}");
    }

    fn strip_nulls(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.retain(|_, m| !m.is_null());
                o.values_mut().for_each(strip_nulls);
            }
            Value::Array(a) => a.iter_mut().for_each(strip_nulls),
            _ => {}
        }
    }

    fn detail(code: ErrorCode, extras: bool) -> ErrorDetail {
        let some = |s: &str| extras.then(|| s.to_owned());
        ErrorDetail {
            code,
            message: "m".into(),
            gateway_code: some("AMT_ERROR"),
            permission: some("refunds:write"),
            reason: some("expired"),
        }
    }

    #[test]
    fn error_details_round_trip() {
        for code in [
            ErrorCode::Forbidden,
            ErrorCode::Unauthorized,
            ErrorCode::GatewayRejected,
        ] {
            for extras in [false, true] {
                let body = checkout::api::ErrorBody {
                    error: detail(code, extras),
                };
                assert_eq!(error_detail(&wire(&body)), Some(body.error));
            }
        }
        let unknown = json!({"error": {"code": "SOMETHING_NEW", "message": "m"}});
        assert_eq!(
            error_detail(&unknown).map(|d| d.code),
            Some(ErrorCode::Unknown)
        );
        assert_eq!(error_detail(&json!({"oops": 1})), None);
        assert_eq!(error_detail(&json!("<html>")), None);
    }

    #[test]
    fn actors_round_trip() {
        for kind in ActorKind::ALL {
            for role in [None, Some(Role::Owner), Some(Role::Cashier)] {
                round_trips(&Actor {
                    kind: *kind,
                    id: "ses_1".into(),
                    name: "Li".into(),
                    role,
                });
            }
        }
    }

    #[test]
    fn staff_answers_round_trip() {
        for role in Role::ALL {
            for at in [None, Some(1_795_650_000)] {
                round_trips(&Page {
                    data: vec![KeyView {
                        id: "key_1".into(),
                        name: "till".into(),
                        role: *role,
                        prefix: "sk_0123abcd".into(),
                        created_at: 1,
                        last_used_at: at,
                        expires_at: at,
                        revoked_at: at,
                    }],
                    has_more: at.is_some(),
                });
                round_trips(&NewKey {
                    id: "key_1".into(),
                    key: "sk_secret".into(),
                    name: "till".into(),
                    role: *role,
                    prefix: "sk_0123abcd".into(),
                    created_at: 1,
                    expires_at: at,
                });
                round_trips(&Page {
                    data: vec![SessionView {
                        id: "ses_1".into(),
                        name: "Li".into(),
                        role: *role,
                        via: "signin_link".into(),
                        created_at: 1,
                        last_seen_at: 2,
                        expires_at: 3,
                        revoked_at: at,
                    }],
                    has_more: false,
                });
            }
        }
        round_trips(&SignInLink {
            id: "sil_1".into(),
            url: "https://w/console/sign-in#t".into(),
            expires_at: 9,
        });
        for outcome in Outcome::ALL {
            for object in [None, Some("C1".to_owned())] {
                round_trips(&Page {
                    data: vec![AuditRecord {
                        id: 7,
                        entry: AuditEntry {
                            at: 5,
                            actor: Actor::admin_token(),
                            ip: "127.0.0.1".into(),
                            action: "POST /v1/keys".into(),
                            object: object.clone(),
                            request_id: "r1".into(),
                        },
                        outcome: *outcome,
                    }],
                    has_more: true,
                });
            }
        }
        let empty: Page<KeyView> = Page {
            data: vec![],
            has_more: false,
        };
        round_trips(&empty);
    }

    fn order(gateway: Option<LiveQuery>, rich: bool) -> MerchantOrder {
        let some = |s: &str| rich.then(|| s.to_owned());
        MerchantOrder {
            order: OrderView {
                charge_code: "C1".into(),
                state: OrderStatus::PartiallyRefunded,
                money: Money::from(soushou::Fen::from_fen(1250)),
                paid_at: rich.then_some(6),
                return_url: some("https://shop.example/"),
            },
            kind: OrderKind::Link,
            method: OrderMethod::WechatJsapi,
            channel_type: "WECHAT".into(),
            subject: "咖啡 Coffee".into(),
            refunded: "2.50".into(),
            refunded_fen: 250,
            charge_down_code: some("D1"),
            charge_third_code: some("T1"),
            created_at: 5,
            updated_at: 7,
            history: if rich {
                EventSource::ALL
                    .iter()
                    .map(|&source| OrderEvent {
                        from_state: OrderStatus::Pending,
                        to_state: OrderStatus::Paid,
                        source,
                        at: 6,
                    })
                    .collect()
            } else {
                vec![]
            },
            notifications: vec![NotificationRecord {
                gateway_state: "2".into(),
                amount_fen: 1250,
                outcome: "applied".into(),
                received: 2,
                first_at: 6,
                last_at: 8,
            }],
            refunds: RefundState::ALL
                .iter()
                .map(|&state| RefundRecord {
                    out_refund_no: "R1".into(),
                    charge_code: "C1".into(),
                    amount_fen: 250,
                    reason: "broken cup".into(),
                    state,
                    gateway_code: some("REFUSED"),
                    created_at: 7,
                    updated_at: 8,
                })
                .collect(),
            gateway,
        }
    }

    #[test]
    fn merchant_orders_round_trip_every_shape() {
        let answered = GatewayOrder {
            state: Some("2".into()),
            amount: Some("12.50".into()),
            amount_fen: Some(1250),
            channel_type: Some("WECHAT".into()),
            charge_down_code: Some("D1".into()),
            charge_third_code: Some("T1".into()),
            end_time: Some("20261208010203".into()),
        };
        for rich in [false, true] {
            for gateway in [
                None,
                Some(LiveQuery::Answered(GatewayOrder::default())),
                Some(LiveQuery::Answered(answered.clone())),
                Some(LiveQuery::Failed {
                    error: detail(ErrorCode::GatewayTimeout, rich),
                }),
            ] {
                round_trips(&order(gateway, rich));
            }
        }
        for kind in [OrderKind::Link, OrderKind::Qr, OrderKind::Pos] {
            for method in OrderMethod::ALL {
                for state in OrderStatus::ALL {
                    let mut o = order(None, false);
                    (o.kind, o.method, o.order.state) = (kind, *method, state);
                    round_trips(&o);
                }
            }
        }
        // A refund stored before `updated_at` existed reads it as 0, as serde does.
        let mut v = wire(&order(None, false));
        v["refunds"][0]
            .as_object_mut()
            .unwrap()
            .remove("updated_at");
        let read = MerchantOrder::from_json(&v).unwrap();
        assert_eq!(read.refunds[0].updated_at, 0);
        assert_eq!(Some(read), serde_json::from_value(v).ok());
    }

    fn figures(n: u64) -> Figures {
        let totals = |k: u64| Totals {
            count: k,
            amount_fen: k * 100,
        };
        Figures {
            payments: totals(n),
            refunds: totals(1),
            duplicate_refunds: totals(2),
            net_fen: n as i64 * 100 - 300,
        }
    }

    #[test]
    fn statements_round_trip() {
        let full = Statement {
            date: "2026-12-08".into(),
            timezone: "Asia/Shanghai".into(),
            revision: 2,
            reason: Some("a late refund".into()),
            summary: Summary {
                total: figures(0),
                by_channel: [("alipay", 3), ("wechat", 5)]
                    .into_iter()
                    .map(|(c, n)| (c.to_owned(), figures(n)))
                    .collect(),
                differences: vec![Difference {
                    charge_code: "C1".into(),
                    ours: "pending".into(),
                    gateway: "unknown (GATEWAY_TIMEOUT)".into(),
                }],
            },
            created_at: 9,
        };
        assert!(full.summary.total.net_fen < 0);
        round_trips(&Page {
            data: vec![full.clone()],
            has_more: true,
        });
        let first = Statement {
            revision: 1,
            reason: None,
            summary: Summary::default(),
            ..full
        };
        round_trips(&first);
    }

    #[test]
    fn malformed_answers_name_the_field() {
        let mut v = wire(&order(None, true));
        v["refunds"][0]["amount_fen"] = json!(-1);
        assert_eq!(
            MerchantOrder::from_json(&v),
            Err(Error::Decode("missing or malformed `amount_fen`".into()))
        );
        let mut v = wire(&order(None, true));
        v["history"][0]["source"] = json!("teleport");
        assert_eq!(
            MerchantOrder::from_json(&v),
            Err(Error::Decode("missing or malformed `source`".into()))
        );
        assert_eq!(
            Actor::from_json(&json!({"type": "session", "id": "s", "name": "n", "role": "king"})),
            Err(Error::Decode("missing or malformed `role`".into()))
        );
        assert_eq!(
            Statement::from_json(&json!({"date": "2026-12-08"})),
            Err(Error::Decode("missing or malformed `by_channel`".into()))
        );
        assert_eq!(
            SignInLink::from_json(&json!("not an object")),
            Err(Error::Decode("missing or malformed `id`".into()))
        );
    }
}
