//! Creating a payment attempt at the gateway: a link payment (`POST
//! /api/pay`), a QR order, a POS charge's `preOrder`.
//!
//! The attempt is stored pending before the gateway hears of it, so a fast
//! notification or a timed-out call can always be matched and reconciled.
//! A link attempt is inserted with its link in the batch that reads the
//! link's attempts (one round trip); the second decision then admits it
//! (the rate limit, the link not already paid: `settle::kept_payment`) or
//! deletes it unsent — the gateway never heard of it, so no money is tied
//! to it. The creating call's answer settles it
//! ([`gateway::attempt_after`]): a final refusal fails it, anything unclear
//! leaves it pending for `query`; an answer's serial numbers are stored.
//!
//! Earlier attempts of the link are left as they are, on purpose: a
//! real-time `cancelTrade` is a revocation, and a payment landing between
//! our read and the cancel would be handed back while the shopper sees
//! "paid". A superseded attempt paid late is a duplicate payment, refunded
//! in full by the duplicate check.

use serde_json::json;
use soushou::model::{OrderResp, PreOrderRequest};
use soushou::types::ChannelType;
use soushou::Fen;

use super::{outcome, transition, Attempt, Call, Fault, Level, Log, Plan, Reply, Write};
use crate::gateway::{self, CreateRequest};
use crate::guard::{self, Client, RateLimit};
use crate::settle;
use crate::vocab::{EventSource, LinkKind, OrderKind, OrderMethod};

/// A link, as stored with its first attempt (idempotent: the token is the
/// link).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewLink {
    /// `link::link_id` of the token.
    pub link_id: String,
    /// The token.
    pub token: String,
    /// The most the link charges (`LinkAmount::ceiling`).
    pub amount: Fen,
    /// `PAY_SUBJECT`.
    pub subject: String,
    /// The merchant's reference.
    pub merchant_ref: Option<String>,
    /// Where the page sends the shopper after payment.
    pub return_url: Option<String>,
    /// Unix seconds.
    pub expires_at: u64,
    /// Its kind (the token's).
    pub kind: LinkKind,
}

impl NewLink {
    /// The link of `token` (its id `link_id`), as `payload` says.
    pub fn of(link_id: &str, token: &str, payload: &crate::link::LinkPayload) -> Self {
        NewLink {
            link_id: link_id.to_owned(),
            token: token.to_owned(),
            amount: payload.amount.ceiling(),
            subject: payload.subject.clone(),
            merchant_ref: payload.merchant_ref.clone(),
            return_url: payload.return_url.clone(),
            expires_at: payload.expires_at,
            kind: payload.kind(),
        }
    }
}

/// A new attempt, stored `pending`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttempt {
    /// `CHARGE_CODE`.
    pub charge_code: String,
    /// The link it pays (with the link's row), if any.
    pub link: Option<NewLink>,
    /// What creates it.
    pub kind: OrderKind,
    /// The payment method.
    pub method: OrderMethod,
    /// `CHANNEL_TYPE`.
    pub channel_type: ChannelType,
    /// Its amount.
    pub amount: Fen,
    /// `PAY_SUBJECT`.
    pub subject: String,
    /// Where the page sends the shopper after payment.
    pub return_url: Option<String>,
    /// Who starts it (link attempts), counted by the pay limits.
    pub client: Option<crate::guard::Client>,
    /// The shopper's device (`guard::device_of`), for an attempt of a
    /// counter code: only it may resume or poll the attempt.
    pub device: Option<String>,
}

/// The creating request, built (`gateway::link_attempt`,
/// `gateway::pre_order`, `gateway::order_native`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Create {
    /// `order`, `creatOrder` or `wapOrder`.
    Order(CreateRequest),
    /// `preOrder` (the POS flow follows its answer).
    PreOrder(PreOrderRequest),
}

/// One step of creating an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Store the attempt and send its creating request.
    Create(Box<NewAttempt>, Box<Create>),
    /// The creating call's answer.
    Created(Box<Reply<OrderResp>>),
}

/// What the flow reads: for a link attempt, the link as the insert's batch
/// read it; `None` before it.
pub type Snapshot = Option<LinkSnapshot>;

/// A link as a link attempt's batch read it, after its inserts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkSnapshot {
    /// The link's attempts (the new one among them).
    pub attempts: Vec<Attempt>,
    /// Whether the link still accepts payments (not deactivated).
    pub active: bool,
}

/// The pay flow's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Attempts per device per window (`PAY_RATE_LIMIT`,
    /// `PAY_RATE_WINDOW_SECS`); an IP gets `guard::IP_FACTOR` times that, a
    /// link from everybody `guard::LINK_FACTOR` times.
    pub rate_limit: RateLimit,
}

/// Why no attempt was created, or what the gateway said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The link is paid (by this attempt).
    AlreadyPaid(String),
    /// The merchant deactivated the link.
    LinkInactive,
    /// Too many attempts of the link lately: retry after this many seconds.
    RateLimited(u64),
    /// The creating call failed: refused (the attempt is failed) or unknown
    /// (it stays pending for `query`).
    Gateway(Fault),
}

/// The creating call's answer.
pub type Answer = Result<Box<OrderResp>, Failure>;

/// Decides one step of creating `charge_code`'s attempt.
pub fn decide(
    snapshot: &Snapshot,
    charge_code: &str,
    input: &Input,
    now: u64,
    policy: &Policy,
) -> Plan<Answer> {
    match input {
        Input::Create(attempt, request) => match (&attempt.link, snapshot) {
            (Some(link), None) => Plan::again(vec![
                Write::InsertLink {
                    link: Box::new(link.clone()),
                    now,
                },
                Write::InsertAttempt {
                    attempt: attempt.clone(),
                    now,
                },
            ]),
            (Some(link), Some(read)) => admit(read, (link, attempt), request, now, policy),
            (None, _) => Plan::call(call(request)).writing(vec![Write::InsertAttempt {
                attempt: attempt.clone(),
                now,
            }]),
        }
        .logging(Log::field("charge_code", charge_code)),
        Input::Created(reply) => created(charge_code, reply),
    }
}

fn call(request: &Create) -> Call {
    match request {
        Create::Order(r) => Call::Create(Box::new(r.clone())),
        Create::PreOrder(r) => Call::PreOrder(Box::new(r.clone())),
    }
}

/// Whether `other` attempt of a counter code was made by the shopper of
/// `me`: the same device cookie, or the same IP (a script that drops its
/// cookie still counts against its IP).
fn same_shopper(other: &Attempt, me: &NewAttempt) -> bool {
    let same_device = me.device.is_some() && other.device == me.device;
    let same_ip = match (&other.client, &me.client) {
        (Some(o), Some(m)) => o.ip == m.ip,
        _ => false,
    };
    same_device || same_ip
}

/// The link and its other attempts judge the new one: the link being
/// deactivated, the rate limits (per device, per IP, per link:
/// `guard::check_attempt`), then the link being paid already. A refused
/// attempt is deleted unsent. A counter code is never paid, and many
/// shoppers pay the same code: only the same shopper's attempts (device
/// cookie or IP: [`same_shopper`]) are weighed, so there is no link-wide cap.
fn admit(
    read: &LinkSnapshot,
    (link, me): (&NewLink, &NewAttempt),
    request: &Create,
    now: u64,
    policy: &Policy,
) -> Plan<Answer> {
    let counter = link.kind.keeps_every_payment();
    let client = me.client.as_ref();
    let others: Vec<&Attempt> = read
        .attempts
        .iter()
        .filter(|a| a.charge_code != me.charge_code)
        .filter(|a| !counter || same_shopper(a, me))
        .collect();
    let times: Vec<(Option<&Client>, u64)> = others
        .iter()
        .map(|a| (a.client.as_ref(), a.created_at))
        .collect();
    let view: Vec<_> = others.iter().map(|a| a.link_attempt()).collect();
    let refusal = match guard::check_attempt(&policy.rate_limit, &times, client, now) {
        _ if !read.active => Some((Failure::LinkInactive, Log::field("link_active", false))),
        Err(retry_after) => Some((
            Failure::RateLimited(retry_after),
            Log::field("rate_limited_attempts", times.len()),
        )),
        Ok(()) if counter => None,
        Ok(()) => settle::kept_payment(&view).map(|kept| {
            (
                Failure::AlreadyPaid(kept.charge_code.to_owned()),
                Log::field("paid_by", kept.charge_code),
            )
        }),
    };
    match refusal {
        Some((failure, log)) => Plan::done(Err(failure))
            .writing(vec![Write::DeleteUnsentAttempt {
                charge_code: me.charge_code.clone(),
            }])
            .logging(log),
        None => Plan::call(call(request)),
    }
}

/// The creating call's answer settles the attempt.
fn created(charge_code: &str, reply: &Reply<OrderResp>) -> Plan<Answer> {
    match reply {
        Ok(resp) => {
            let serials = gateway::serials(resp);
            Plan::done(Ok(Box::new(resp.clone())))
                .writing(vec![Write::SetGatewayCodes {
                    charge_code: charge_code.to_owned(),
                    charge_down_code: serials.charge_down_code.map(str::to_owned),
                    charge_third_code: serials.charge_third_code.map(str::to_owned),
                }])
                .logging(Log::field("outcome", "attempt_created"))
        }
        Err(fault) => {
            let plan = Plan::done(Err(Failure::Gateway(fault.clone())));
            match gateway::attempt_after(outcome(reply)) {
                Some(failed) => {
                    plan.writing(transition(charge_code, failed, EventSource::Pay, None))
                }
                None => plan.logging(Log::event(
                    Level::Warn,
                    "outcome_unknown",
                    json!({"charge_code": charge_code,
                        "gateway_code": fault.code().map(|c| c.as_str())}),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::testing::attempt;
    use crate::vocab::OrderStatus;
    use soushou::model::FundBill;
    use soushou::types::{FundChannel, ResultCode};

    const POLICY: Policy = Policy {
        rate_limit: RateLimit {
            limit: 2,
            window_secs: 60,
        },
    };

    fn link() -> NewLink {
        NewLink {
            link_id: "L1".into(),
            token: "tok".into(),
            amount: Fen::from_fen(1000),
            subject: "tea".into(),
            merchant_ref: None,
            return_url: None,
            expires_at: 5000,
            kind: LinkKind::Fixed,
        }
    }

    fn new_attempt(link: Option<NewLink>) -> Box<NewAttempt> {
        Box::new(NewAttempt {
            charge_code: "C2".into(),
            link,
            kind: OrderKind::Link,
            method: OrderMethod::Native,
            channel_type: ChannelType::Unknown("x".into()),
            amount: Fen::from_fen(1000),
            subject: "tea".into(),
            return_url: None,
            client: None,
            device: None,
        })
    }

    fn native() -> CreateRequest {
        let m = gateway::Merchant {
            busi_id: "B1".into(),
            oper_id: "O1".into(),
            dev_id: "D1".into(),
            register_id: None,
        };
        let charge = gateway::Charge {
            charge_code: "C2",
            amount: Fen::from_fen(1000),
            channel: ChannelType::WeChat,
            subject: "tea",
            goods: &[],
        };
        CreateRequest::Order(gateway::order_native(&m, &charge, "https://x/notify"))
    }

    fn request() -> Create {
        Create::Order(native())
    }

    fn on_link(code: &str, state: OrderStatus, created_at: u64) -> Attempt {
        Attempt {
            link_id: Some("L1".into()),
            created_at,
            paid_seq: crate::settle::holds_money(state).then_some(1),
            ..attempt(code, state)
        }
    }

    /// C2 refused: deleted unsent, with `log` logged.
    fn deleted(failure: Failure, log: Log) -> Plan<Answer> {
        Plan::done(Err(failure))
            .writing(vec![Write::DeleteUnsentAttempt {
                charge_code: "C2".into(),
            }])
            .logging(log)
            .logging(Log::field("charge_code", "C2"))
    }

    /// An active link's attempts, as the batch read them.
    fn open(attempts: Vec<Attempt>) -> Snapshot {
        Some(LinkSnapshot {
            attempts,
            active: true,
        })
    }

    #[test]
    fn creating_an_attempt() {
        let create = |link| Input::Create(new_attempt(link), Box::new(request()));
        let field = Log::field("charge_code", "C2");
        let sent = Plan::call(Call::Create(Box::new(native())));
        let me = on_link("C2", OrderStatus::Pending, 1000);
        let cases: Vec<(&str, Snapshot, Input, Plan<Answer>)> = vec![
            (
                "a link attempt: inserted with its link, then judged",
                None,
                create(Some(link())),
                Plan::again(vec![
                    Write::InsertLink {
                        link: Box::new(link()),
                        now: 1000,
                    },
                    Write::InsertAttempt {
                        attempt: new_attempt(Some(link())),
                        now: 1000,
                    },
                ])
                .logging(field.clone()),
            ),
            (
                "the link's first attempt: sent",
                open(vec![me.clone()]),
                create(Some(link())),
                sent.clone().logging(field.clone()),
            ),
            (
                "an earlier attempt unpaid: sent (it is left as it is)",
                open(vec![on_link("C1", OrderStatus::Pending, 900), me.clone()]),
                create(Some(link())),
                sent.clone().logging(field.clone()),
            ),
            (
                "the link is paid: deleted unsent",
                open(vec![on_link("C1", OrderStatus::Paid, 900), me.clone()]),
                create(Some(link())),
                deleted(
                    Failure::AlreadyPaid("C1".into()),
                    Log::field("paid_by", "C1"),
                ),
            ),
            (
                "too many attempts lately: deleted unsent",
                open(vec![
                    on_link("C0", OrderStatus::Closed, 990),
                    on_link("C1", OrderStatus::Closed, 995),
                    me,
                ]),
                create(Some(link())),
                deleted(
                    Failure::RateLimited(50),
                    Log::field("rate_limited_attempts", 2),
                ),
            ),
            (
                "no link (a QR order): inserted and sent",
                None,
                create(None),
                sent.writing(vec![Write::InsertAttempt {
                    attempt: new_attempt(None),
                    now: 1000,
                }])
                .logging(field.clone()),
            ),
        ];
        for (name, snapshot, input, want) in cases {
            assert_eq!(
                decide(&snapshot, "C2", &input, 1000, &POLICY),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn counter_codes_and_deactivated_links() {
        let counter = NewLink {
            kind: LinkKind::Counter,
            ..link()
        };
        let from = |device: &str| {
            let mut a = new_attempt(Some(counter.clone()));
            a.device = Some(device.into());
            Input::Create(a, Box::new(request()))
        };
        let by = |code: &str, state, at, device: &str| Attempt {
            device: Some(device.into()),
            ..on_link(code, state, at)
        };
        let me = by("C2", OrderStatus::Pending, 1000, "d1");
        let field = Log::field("charge_code", "C2");
        let sent = Plan::call(Call::Create(Box::new(native()))).logging(field.clone());
        let inactive = |attempts| {
            Some(LinkSnapshot {
                attempts,
                active: false,
            })
        };
        let cases: Vec<(&str, Snapshot, Input, Plan<Answer>)> = vec![
            (
                "a counter code paid by others (and by me): every payment is its own",
                open(vec![
                    by("C0", OrderStatus::Paid, 990, "d0"),
                    by("C1", OrderStatus::Paid, 995, "d1"),
                    me.clone(),
                ]),
                from("d1"),
                sent.clone(),
            ),
            (
                "a busy counter: other devices' attempts do not count",
                open(vec![
                    by("C0", OrderStatus::Closed, 990, "d0"),
                    by("C1", OrderStatus::Closed, 995, "d9"),
                    by("C3", OrderStatus::Closed, 996, "d8"),
                    me.clone(),
                ]),
                from("d1"),
                sent,
            ),
            (
                "one device tapping too often is limited",
                open(vec![
                    by("C0", OrderStatus::Closed, 990, "d1"),
                    by("C1", OrderStatus::Closed, 995, "d1"),
                    me.clone(),
                ]),
                from("d1"),
                deleted(
                    Failure::RateLimited(50),
                    Log::field("rate_limited_attempts", 2),
                ),
            ),
            (
                "a deactivated counter code",
                inactive(vec![me]),
                from("d1"),
                deleted(Failure::LinkInactive, Log::field("link_active", false)),
            ),
            (
                "a deactivated fixed link, unpaid",
                inactive(vec![on_link("C2", OrderStatus::Pending, 1000)]),
                Input::Create(new_attempt(Some(link())), Box::new(request())),
                deleted(Failure::LinkInactive, Log::field("link_active", false)),
            ),
        ];
        for (name, snapshot, input, want) in cases {
            assert_eq!(
                decide(&snapshot, "C2", &input, 1000, &POLICY),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn the_creating_answer() {
        let resp = OrderResp {
            charge_down_code: Some("D9".into()),
            charge_third_code: Some(String::new()),
            fund_bill_list: vec![FundBill {
                fund_channel: FundChannel::Unknown("11".into()),
                amount: Fen::from_fen(1000),
            }],
            ..OrderResp::default()
        };
        let refused = Fault::Code(ResultCode::IllegalParameter);
        let unknown = Fault::Code(ResultCode::Exception);
        let cases: Vec<(&str, Reply<OrderResp>, Plan<Answer>)> = vec![
            (
                "answered: the serials stored",
                Ok(resp.clone()),
                Plan::done(Ok(Box::new(resp)))
                    .writing(vec![Write::SetGatewayCodes {
                        charge_code: "C2".into(),
                        charge_down_code: Some("D9".into()),
                        charge_third_code: None,
                    }])
                    .logging(Log::field("outcome", "attempt_created")),
            ),
            (
                "refused: failed",
                Err(refused.clone()),
                Plan::done(Err(Failure::Gateway(refused))).writing(transition(
                    "C2",
                    OrderStatus::Failed,
                    EventSource::Pay,
                    None,
                )),
            ),
            (
                "outcome unknown: stays pending",
                Err(unknown.clone()),
                Plan::done(Err(Failure::Gateway(unknown))).logging(Log::event(
                    Level::Warn,
                    "outcome_unknown",
                    json!({"charge_code": "C2", "gateway_code": "EXCEPTION"}),
                )),
            ),
            (
                "no answer: stays pending",
                Err(Fault::NoAnswer),
                Plan::done(Err(Failure::Gateway(Fault::NoAnswer))).logging(Log::event(
                    Level::Warn,
                    "outcome_unknown",
                    json!({"charge_code": "C2", "gateway_code": null}),
                )),
            ),
        ];
        for (name, reply, want) in cases {
            let input = Input::Created(Box::new(reply));
            assert_eq!(decide(&None, "C2", &input, 1000, &POLICY), want, "{name}");
        }
    }
}
