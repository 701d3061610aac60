//! What the console reads from the list answers (tolerant readers: only
//! the fields it shows; a field added to the API changes nothing here).
//! Answers with a contract type in `checkout::api` (an order, a refund,
//! a statement) are read as that type instead. Each is read by hand
//! ([`crate::decode`]: why).

use checkout_page::decode::{opt_string, opt_uint, string, uint};

use crate::decode::{has_more, list, FromJson, Json};
use crate::Error;
/// `{"data": [...], "has_more"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    /// The page, newest first.
    pub data: Vec<T>,
    /// Whether more follow the last one (`starting_after` its id).
    pub has_more: bool,
}

/// An order of `GET /v1/orders`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderRow {
    /// Its id.
    pub charge_code: String,
    /// The link it pays.
    pub link_id: Option<String>,
    /// The link's merchant reference.
    pub reference: Option<String>,
    /// What was bought.
    pub subject: String,
    /// How (`wechat_jsapi`, `native`, …).
    pub method: String,
    /// The wallet (`alipay`, `wechat`, …).
    pub channel: String,
    /// `pending`, `paid`, `refunded`, …
    pub state: String,
    /// In fen.
    pub amount_fen: u64,
    /// Refunded so far, in fen.
    pub refunded_fen: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, once paid.
    pub paid_at: Option<u64>,
}

/// A refund of `GET /v1/refunds`.
#[derive(Clone, Debug, PartialEq)]
pub struct RefundRow {
    /// Its id (`out_refund_no`).
    pub id: String,
    /// The refunded order.
    pub charge_code: String,
    /// In fen.
    pub amount_fen: u64,
    /// `pending`, `succeeded`, `failed`.
    pub state: String,
    /// Unix seconds.
    pub created_at: u64,
}

/// `GET /v1/settings`, read tolerantly (`checkout::health::SettingsView`):
/// a member missing or of another type reads as its default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Health {
    /// The Worker's version.
    pub version: String,
    /// The shop's name as the page shows it.
    pub merchant_name: String,
    /// `PUBLIC_BASE_URL`, when set.
    pub public_base_url: Option<String>,
    /// The gateway.
    pub gateway: Gateway,
    /// Which wallets' sign-in is configured.
    pub wallet_sign_in: Wallets,
    /// The webhook endpoint.
    pub webhook: Webhook,
    /// The cron's last run.
    pub cron: Cron,
    /// The schema.
    pub migrations: Migrations,
}

/// `settings.gateway`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Gateway {
    /// Its host.
    pub host: Option<String>,
    /// Whether requests are encrypted (unknown: `None`).
    pub encryption: Option<bool>,
    /// Whether the merchant key is set.
    pub merchant_key_set: bool,
}

/// `settings.wallet_sign_in`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Wallets {
    /// WeChat's.
    pub wechat: bool,
    /// Alipay's.
    pub alipay: bool,
}

/// The webhook endpoint as shown (also the webhooks screen's status).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Webhook {
    /// Without its query; `None` when unset.
    pub url: Option<String>,
    /// Whether events are signed.
    pub signing: bool,
}

/// `settings.cron`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Cron {
    /// Unix seconds.
    pub last_run_at: Option<u64>,
    /// Whether it succeeded.
    pub ok: Option<bool>,
}

/// `settings.migrations`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Migrations {
    /// How many are applied.
    pub applied: Option<u64>,
    /// The newest one's name.
    pub latest: Option<String>,
}

/// An event of `GET /v1/events` (tolerant: what the screen shows).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// `evt_…`.
    pub id: String,
    /// `type`, e.g. `order.paid`.
    pub kind: String,
    /// Unix seconds.
    pub created_at: u64,
    /// Where its delivery stands.
    pub delivery: String,
    /// Deliveries tried.
    pub attempt_count: u64,
    /// The order it is about (`payload.data.charge_code`), if any.
    pub about: Option<String>,
    /// Its deliveries (`GET /v1/events/{id}` only).
    pub attempts: Option<Vec<Attempt>>,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq)]
pub struct Attempt {
    /// Unix seconds.
    pub at: u64,
    /// The endpoint's HTTP status; `None`: no answer.
    pub status: Option<u16>,
    /// How long it took.
    pub latency_ms: u64,
    /// Why there was no answer.
    pub error: Option<String>,
    /// The start of the answer.
    pub answer: Option<String>,
}

/// `GET /v1/events`.
#[derive(Clone, Debug, PartialEq)]
pub struct Events {
    /// Oldest first.
    pub data: Vec<Event>,
    /// Whether more follow.
    pub has_more: bool,
    /// The cursor of the next page (`after`).
    pub next_after: Option<String>,
}

impl<T: FromJson> FromJson for Page<T> {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Page {
            data: list(v, "data")?,
            has_more: has_more(v),
        })
    }
}

impl FromJson for OrderRow {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(OrderRow {
            charge_code: string(v, "charge_code")?,
            link_id: opt_string(v, "link_id"),
            reference: opt_string(v, "ref"),
            subject: opt_string(v, "subject").unwrap_or_default(),
            method: opt_string(v, "method").unwrap_or_default(),
            channel: opt_string(v, "channel").unwrap_or_default(),
            state: string(v, "state")?,
            amount_fen: uint(v, "amount_fen")?,
            refunded_fen: opt_uint(v, "refunded_fen")?.unwrap_or_default(),
            created_at: uint(v, "created_at")?,
            paid_at: opt_uint(v, "paid_at")?,
        })
    }
}

impl FromJson for RefundRow {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(RefundRow {
            id: string(v, "id")?,
            charge_code: string(v, "charge_code")?,
            amount_fen: uint(v, "amount_fen")?,
            state: string(v, "state")?,
            created_at: uint(v, "created_at")?,
        })
    }
}

impl FromJson for Health {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        // Every member is optional: a section the Worker leaves out (or
        // writes differently) shows as unknown, the rest still shows.
        let part = |name: &str| v.field(name);
        let flag = |o: &Option<J>, name: &str| {
            o.as_ref()
                .and_then(|o| o.field(name))
                .and_then(|b| b.boolean())
        };
        let text = |o: &Option<J>, name: &str| o.as_ref().and_then(|o| opt_string(o, name));
        let number = |o: &Option<J>, name: &str| {
            o.as_ref()
                .and_then(|o| o.field(name))
                .and_then(|n| n.uint())
        };
        let (gateway, wallets) = (part("gateway"), part("wallet_sign_in"));
        let (webhook, cron, migrations) = (part("webhook"), part("cron"), part("migrations"));
        Ok(Health {
            version: opt_string(v, "version").unwrap_or_default(),
            merchant_name: opt_string(v, "merchant_name").unwrap_or_default(),
            public_base_url: opt_string(v, "public_base_url"),
            gateway: Gateway {
                host: text(&gateway, "host"),
                encryption: flag(&gateway, "encryption"),
                merchant_key_set: flag(&gateway, "merchant_key_set").unwrap_or_default(),
            },
            wallet_sign_in: Wallets {
                wechat: flag(&wallets, "wechat").unwrap_or_default(),
                alipay: flag(&wallets, "alipay").unwrap_or_default(),
            },
            webhook: Webhook {
                url: text(&webhook, "url"),
                signing: flag(&webhook, "signing").unwrap_or_default(),
            },
            cron: Cron {
                last_run_at: number(&cron, "last_run_at"),
                ok: flag(&cron, "ok"),
            },
            migrations: Migrations {
                applied: number(&migrations, "applied"),
                latest: text(&migrations, "latest"),
            },
        })
    }
}

impl FromJson for Event {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Event {
            id: string(v, "id")?,
            kind: string(v, "type")?,
            created_at: uint(v, "created_at")?,
            delivery: string(v, "delivery")?,
            attempt_count: opt_uint(v, "attempt_count")?.unwrap_or_default(),
            about: v
                .field("payload")
                .and_then(|p| p.field("data"))
                .and_then(|d| opt_string(&d, "charge_code")),
            attempts: match v.field("attempts") {
                Some(_) => Some(list(v, "attempts")?),
                None => None,
            },
        })
    }
}

impl FromJson for Attempt {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Attempt {
            at: uint(v, "at")?,
            status: opt_uint(v, "status")?
                .map(|s| u16::try_from(s).map_err(|_| checkout_page::decode::missing("status")))
                .transpose()?,
            latency_ms: uint(v, "latency_ms")?,
            error: opt_string(v, "error"),
            answer: opt_string(v, "answer"),
        })
    }
}

impl FromJson for Events {
    fn from_json<J: Json>(v: &J) -> Result<Self, Error> {
        Ok(Events {
            data: list(v, "data")?,
            has_more: has_more(v),
            next_after: opt_string(v, "next_after"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn read<T: FromJson>(text: &str) -> Result<T, Error> {
        T::from_json(&serde_json::from_str::<Value>(text).unwrap())
    }

    #[test]
    fn list_answers_read_tolerantly() {
        let page: Page<OrderRow> = read(
            r#"{"data":[{"charge_code":"C1","link_id":null,"ref":"r-1","subject":"Tea",
            "kind":"link","method":"native","channel":"wechat","state":"paid","amount":"1.00",
            "amount_fen":100,"refunded_fen":0,"created_at":5,"paid_at":6,"new_field":1}],
            "has_more":true}"#,
        )
        .unwrap();
        assert!(page.has_more);
        assert_eq!(page.data[0].reference.as_deref(), Some("r-1"));
        assert_eq!(page.data[0].paid_at, Some(6));
        let bare: Page<OrderRow> = read(
            r#"{"data":[{"charge_code":"C2","state":"pending","amount_fen":1,"created_at":5}]}"#,
        )
        .unwrap();
        assert_eq!(
            bare.data[0],
            OrderRow {
                charge_code: "C2".into(),
                link_id: None,
                reference: None,
                subject: String::new(),
                method: String::new(),
                channel: String::new(),
                state: "pending".into(),
                amount_fen: 1,
                refunded_fen: 0,
                created_at: 5,
                paid_at: None,
            }
        );
        assert!(!bare.has_more);
        assert_eq!(
            read::<Page<OrderRow>>(
                r#"{"data":[{"charge_code":"C3","state":"paid","created_at":5}]}"#
            ),
            Err(Error::Decode("missing or malformed `amount_fen`".into()))
        );
    }

    /// A `GET /v1/refunds` entry as the Worker writes it.
    #[test]
    fn refund_rows_read_the_contract_example() {
        let page: Page<RefundRow> = read(
            r#"{"data":[{"id":"R1","charge_code":"C1","amount":"2.50","amount_fen":250,
            "reason":"broken","state":"succeeded","gateway_code":null,"created_at":7,
            "updated_at":8}],"has_more":false}"#,
        )
        .unwrap();
        assert_eq!(
            page.data,
            vec![RefundRow {
                id: "R1".into(),
                charge_code: "C1".into(),
                amount_fen: 250,
                state: "succeeded".into(),
                created_at: 7,
            }]
        );
    }

    /// `GET /v1/settings` as the Worker writes it, and with sections
    /// missing or of another type (they read as their defaults).
    #[test]
    fn settings_read_tolerantly() {
        let full: Health = read(
            r#"{"version":"0.1.0","merchant_name":"咖啡店","public_base_url":"https://w",
            "gateway":{"host":"gw.example","encryption":true,"merchant_key_set":true},
            "wallet_sign_in":{"wechat":true,"alipay":false},
            "webhook":{"url":"https://shop/hook","signing":true},
            "cron":{"last_run_at":1795650000,"ok":true},
            "migrations":{"applied":14,"latest":"0014_books.sql"},"added":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(
            full,
            Health {
                version: "0.1.0".into(),
                merchant_name: "咖啡店".into(),
                public_base_url: Some("https://w".into()),
                gateway: Gateway {
                    host: Some("gw.example".into()),
                    encryption: Some(true),
                    merchant_key_set: true,
                },
                wallet_sign_in: Wallets {
                    wechat: true,
                    alipay: false,
                },
                webhook: Webhook {
                    url: Some("https://shop/hook".into()),
                    signing: true,
                },
                cron: Cron {
                    last_run_at: Some(1_795_650_000),
                    ok: Some(true),
                },
                migrations: Migrations {
                    applied: Some(14),
                    latest: Some("0014_books.sql".into()),
                },
            }
        );
        let sparse: Health =
            read(r#"{"merchant_name":"Tea","gateway":"oops","webhook":{"url":null}}"#).unwrap();
        assert_eq!(
            sparse,
            Health {
                merchant_name: "Tea".into(),
                ..Health::default()
            }
        );
        assert_eq!(read::<Health>("[]"), Ok(Health::default()));
    }

    /// `GET /v1/events` and `GET /v1/events/{id}` as `crates/worker/README.md`
    /// documents them.
    #[test]
    fn events_read_the_contract_examples() {
        let list: Events = read(
            r#"{"data":[{"id":"evt_1","type":"order.paid","created_at":5,"delivery":"delivered",
            "attempt_count":1,"payload":{"id":"evt_1","type":"order.paid",
            "data":{"charge_code":"C1","amount_fen":100}}},
            {"id":"evt_2","type":"test","created_at":6,"delivery":"pending","payload":{}}],
            "has_more":true,"next_after":"evt_2"}"#,
        )
        .unwrap();
        assert!(list.has_more);
        assert_eq!(list.next_after.as_deref(), Some("evt_2"));
        assert_eq!(list.data[0].about.as_deref(), Some("C1"));
        assert_eq!(list.data[0].attempts, None);
        assert_eq!(
            list.data[1],
            Event {
                id: "evt_2".into(),
                kind: "test".into(),
                created_at: 6,
                delivery: "pending".into(),
                attempt_count: 0,
                about: None,
                attempts: None,
            }
        );
        let one: Event = read(
            r#"{"id":"evt_1","type":"order.paid","created_at":5,"delivery":"failed",
            "attempt_count":2,"payload":{"data":{"charge_code":"C1"}},"attempts":[
            {"at":6,"status":500,"latency_ms":120,"answer":"oops"},
            {"at":7,"status":null,"latency_ms":10000,"error":"timeout","answer":null}]}"#,
        )
        .unwrap();
        assert_eq!(
            one.attempts,
            Some(vec![
                Attempt {
                    at: 6,
                    status: Some(500),
                    latency_ms: 120,
                    error: None,
                    answer: Some("oops".into()),
                },
                Attempt {
                    at: 7,
                    status: None,
                    latency_ms: 10_000,
                    error: Some("timeout".into()),
                    answer: None,
                },
            ])
        );
        let bad = json!({"id": "e", "type": "t", "created_at": 1, "delivery": "d",
            "attempts": [{"at": 1, "status": 70000, "latency_ms": 1}]});
        assert_eq!(
            Event::from_json(&bad),
            Err(Error::Decode("missing or malformed `status`".into()))
        );
    }
}
