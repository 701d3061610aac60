//! One delivery of a merchant event (a queue message names its outbox
//! row): the signed POST to `MERCHANT_WEBHOOK_URL` — or, for an epay
//! trade's `epay.notify`, the signed GET to the app's `notify_url`
//! (`checkout::epay::result_params`), acknowledged only by a body of
//! `success` (`checkout::epay::acknowledged`) — then the attempt
//! recorded and what follows it (`events::AfterAttempt`): delivered (the
//! order's next event may go), retried after the policy's delay, or
//! dead-lettered; a dead-lettered event is marked failed.
//!
//! The snapshot is the event's row: for [`Input::Deliver`], as the claim
//! returned it (the executor's load is the claim — pending, not claimed,
//! no older event of its order pending — so `None` means another consumer
//! has it, it is done, or it must wait its turn); for the other inputs, as
//! read.

use soushou::Fen;

use super::{Plan, Write};
use crate::epay::{self, Merchant, PayType};
use crate::events::{self, AfterAttempt, EventRecord, RetryPolicy};
use crate::webhook::{self, Key};

/// The delivery's settings.
#[derive(Clone, Copy, Debug)]
pub struct Policy<'a> {
    /// `MERCHANT_WEBHOOK_URL`; `None`: merchant events wait in the outbox.
    pub url: Option<&'a str>,
    /// The signing keys (`WEBHOOK_SECRETS` / `WEBHOOK_SECRET`).
    pub keys: &'a [Key],
    /// When to retry and when to give up (`WEBHOOK_RETRY_*`).
    pub retry: RetryPolicy,
    /// The epay apps (`EPAY_PID` / `EPAY_KEY`), whose keys sign `epay.notify`.
    pub epay: &'a [Merchant],
}

/// An event's row with its delivery state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    /// The payload snapshot.
    pub record: EventRecord,
    /// Failed attempts since created or redelivered.
    pub round_failures: u64,
    /// For an `epay.notify` event: the trade the app is told of.
    pub epay: Option<EpayTrade>,
}

/// An epay trade as stored, with the wallet that paid it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpayTrade {
    /// The app's merchant id.
    pub pid: String,
    /// Our trade number.
    pub trade_no: String,
    /// The app's order number.
    pub out_trade_no: String,
    /// The wallet that paid.
    pub pay_type: PayType,
    /// What was paid for, as received.
    pub name: String,
    /// The amount.
    pub money: Fen,
    /// The app's own data.
    pub param: Option<String>,
    /// Where the app hears of it.
    pub notify_url: String,
}

impl EpayTrade {
    /// The signed GET of the notification, under the app's key.
    pub fn notify_url(&self, key: &str) -> String {
        let trade = epay::Trade {
            pid: &self.pid,
            trade_no: &self.trade_no,
            out_trade_no: &self.out_trade_no,
            pay_type: self.pay_type,
            name: &self.name,
            money: self.money,
            param: self.param.as_deref(),
        };
        epay::with_query(&self.notify_url, &epay::result_params(&trade, key))
    }
}

/// One step of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Deliver event `seq` (a queue message).
    Deliver(u64),
    /// The merchant's answer to the POST of event `seq`.
    Posted(u64, Posted),
    /// Event `seq` came from the dead-letter queue.
    DeadLettered(u64),
}

/// What the merchant's endpoint did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posted {
    /// The HTTP status (`None`: no answer).
    pub status: Option<u16>,
    /// Why there was no answer (`timeout`, `unreachable`, …).
    pub error: Option<String>,
    /// How long it took.
    pub latency_ms: u64,
    /// The start of the answer's body (`checkout::webhook::answer_start`).
    pub answer: Option<String>,
}

/// The signed POST of one event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Post {
    /// Where.
    pub url: String,
    /// `webhook-id` (`events::event_id`).
    pub id: String,
    /// `webhook-timestamp`.
    pub timestamp: u64,
    /// `webhook-signature`.
    pub signature: String,
    /// The JSON body.
    pub body: String,
}

/// What to tell the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Acknowledge the message; with `next_of_order`, read the oldest
    /// pending event of that event's order after it (last in the batch)
    /// and enqueue it.
    Ack {
        /// The event whose order's next event may go now.
        next_of_order: Option<u64>,
    },
    /// Bring the message back after this many seconds.
    Retry(u64),
    /// Send it to the dead-letter queue.
    DeadLetter,
}

/// Decides one step of delivering an event.
pub fn decide(
    snapshot: Option<&Event>,
    input: &Input,
    now: u64,
    policy: &Policy<'_>,
) -> Plan<Answer> {
    let not_ours = Answer::Ack {
        next_of_order: None,
    };
    match (input, snapshot) {
        (Input::DeadLettered(seq), _) => Plan::done(Answer::Ack {
            next_of_order: Some(*seq),
        })
        .writing(vec![Write::MarkEventFailed {
            seq: *seq,
            gave_up_after: policy.retry.max_attempts,
        }]),
        (_, None) => Plan::done(not_ours),
        (Input::Deliver(_), Some(event)) if event.record.kind.is_epay() => {
            let key = event.epay.as_ref().and_then(|t| {
                let app = policy.epay.iter().find(|m| m.pid == t.pid)?;
                Some(t.notify_url(&app.key))
            });
            match key {
                Some(url) => Plan::call(super::Call::EpayNotify(url)),
                // The trade's app is no longer configured: nothing can
                // sign it; failed, redeliverable once it is back.
                None => Plan::done(Answer::DeadLetter),
            }
        }
        (Input::Deliver(_), Some(_)) if policy.url.is_none() => Plan::done(not_ours),
        (Input::Deliver(seq), Some(event)) => {
            let id = events::event_id(*seq);
            let body = events::body(&event.record);
            let signature = webhook::sign(policy.keys, &id, now, body.as_bytes());
            Plan::call(super::Call::Webhook(Post {
                url: policy.url.unwrap_or_default().to_owned(),
                id,
                timestamp: now,
                signature,
                body,
            }))
        }
        (Input::Posted(seq, posted), Some(event)) => {
            let earlier = event.round_failures;
            // An app that answered anything but `success` did not take it.
            let status = match event.record.kind.is_epay() && posted.error.is_some() {
                true => None,
                false => posted.status,
            };
            let after = AfterAttempt::decide(&policy.retry, earlier, status);
            let delivered = after == AfterAttempt::Delivered;
            let answer = match after {
                AfterAttempt::Delivered => Answer::Ack {
                    next_of_order: Some(*seq),
                },
                AfterAttempt::Retry { in_secs, .. } => Answer::Retry(in_secs),
                AfterAttempt::DeadLetter { .. } => Answer::DeadLetter,
            };
            Plan::done(answer).writing(vec![
                Write::RecordWebhookAttempt {
                    seq: *seq,
                    at: now,
                    status: posted.status,
                    latency_ms: posted.latency_ms,
                    error: posted.error.clone(),
                    answer: posted.answer.clone(),
                },
                Write::SetDelivery {
                    seq: *seq,
                    round_failures: after.failures(earlier),
                    next_attempt_at: now + after.due_in(),
                    delivered_at: delivered.then_some(now),
                },
            ])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Call;

    fn record() -> EventRecord {
        EventRecord {
            seq: 7,
            kind: events::EventType::OrderPaid,
            charge_code: "C1".into(),
            link_id: None,
            merchant_ref: None,
            amount: soushou::Fen::from_fen(1000),
            refunded: soushou::Fen::ZERO,
            state: events::EventState::Order(crate::vocab::OrderStatus::Paid),
            out_refund_no: None,
            refund: None,
            created_at: 100,
            statement: None,
        }
    }

    fn event(round_failures: u64) -> Event {
        Event {
            record: record(),
            round_failures,
            epay: None,
        }
    }

    fn posted(status: Option<u16>) -> Input {
        Input::Posted(
            7,
            Posted {
                status,
                error: status.is_none().then(|| "timeout".to_owned()),
                latency_ms: 12,
                answer: status.map(|s| format!("answered {s}")),
            },
        )
    }

    fn recorded(status: Option<u16>, failures: u64, due_in: u64, delivered: bool) -> Vec<Write> {
        vec![
            Write::RecordWebhookAttempt {
                seq: 7,
                at: 1000,
                status,
                latency_ms: 12,
                error: status.is_none().then(|| "timeout".to_owned()),
                answer: status.map(|s| format!("answered {s}")),
            },
            Write::SetDelivery {
                seq: 7,
                round_failures: failures,
                next_attempt_at: 1000 + due_in,
                delivered_at: delivered.then_some(1000),
            },
        ]
    }

    #[test]
    fn one_delivery() {
        let key = Key::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("key");
        let keys = [key];
        let policy = Policy {
            url: Some("https://merchant.test/hooks"),
            keys: &keys,
            retry: RetryPolicy {
                base_secs: 5,
                factor: 6,
                cap_secs: 100,
                max_attempts: 3,
            },
            epay: &[],
        };
        let body = events::body(&record());
        let post = Post {
            url: "https://merchant.test/hooks".into(),
            id: "evt_7".into(),
            timestamp: 1000,
            signature: webhook::sign(&keys, "evt_7", 1000, body.as_bytes()),
            body,
        };
        let ack = |next| Answer::Ack {
            next_of_order: next,
        };
        let cases: Vec<(&str, Option<Event>, Input, Plan<Answer>)> = vec![
            (
                "claimed: signed and sent",
                Some(event(0)),
                Input::Deliver(7),
                Plan::call(Call::Webhook(post)),
            ),
            (
                "not claimed: acknowledged",
                None,
                Input::Deliver(7),
                Plan::done(ack(None)),
            ),
            (
                "2xx: delivered, the order's next may go",
                Some(event(1)),
                posted(Some(204)),
                Plan::done(ack(Some(7))).writing(recorded(Some(204), 1, 0, true)),
            ),
            (
                "5xx: retried after the policy's first wait",
                Some(event(0)),
                posted(Some(500)),
                Plan::done(Answer::Retry(5)).writing(recorded(Some(500), 1, 5, false)),
            ),
            (
                "no answer, second failure: the wait grows",
                Some(event(1)),
                posted(None),
                Plan::done(Answer::Retry(30)).writing(recorded(None, 2, 30, false)),
            ),
            (
                "the schedule spent: dead-lettered",
                Some(event(2)),
                posted(Some(410)),
                Plan::done(Answer::DeadLetter).writing(recorded(Some(410), 3, 0, false)),
            ),
            (
                // Issue 24 defect 7: only the round that gave up is marked
                // failed; a redelivery made meanwhile (a new round, its
                // failures back at 0) is left pending.
                "dead-lettered: failed, the order's next may go",
                None,
                Input::DeadLettered(7),
                Plan::done(ack(Some(7))).writing(vec![Write::MarkEventFailed {
                    seq: 7,
                    gave_up_after: policy.retry.max_attempts,
                }]),
            ),
        ];
        for (name, snapshot, input, want) in cases {
            assert_eq!(
                decide(snapshot.as_ref(), &input, 1000, &policy),
                want,
                "{name}"
            );
        }
    }

    #[test]
    fn epay_notification() {
        let apps = [Merchant {
            pid: "1001".into(),
            key: "0123456789abcdef".into(),
        }];
        let policy = Policy {
            url: None,
            keys: &[],
            retry: RetryPolicy {
                base_secs: 5,
                factor: 6,
                cap_secs: 100,
                max_attempts: 3,
            },
            epay: &apps,
        };
        let trade = EpayTrade {
            pid: "1001".into(),
            trade_no: "T1".into(),
            out_trade_no: "A1".into(),
            pay_type: PayType::Wxpay,
            name: "Plan".into(),
            money: soushou::Fen::from_fen(1000),
            param: None,
            notify_url: "https://app.test/notify".into(),
        };
        let notice = |trade: Option<EpayTrade>, failures| Event {
            record: EventRecord {
                kind: events::EventType::EpayNotify,
                ..record()
            },
            round_failures: failures,
            epay: trade,
        };
        let answered = |status, error: Option<&str>| {
            Input::Posted(
                7,
                Posted {
                    status,
                    error: error.map(str::to_owned),
                    latency_ms: 12,
                    answer: None,
                },
            )
        };
        let url = trade.notify_url("0123456789abcdef");
        assert!(url.starts_with("https://app.test/notify?"), "{url}");
        assert!(url.contains("trade_status=TRADE_SUCCESS"), "{url}");
        // The attempt recorded with the app's answer, then its delivery state.
        let recorded = |error: Option<&str>, failures: u64, due_in: u64, delivered: bool| {
            vec![
                Write::RecordWebhookAttempt {
                    seq: 7,
                    at: 1000,
                    status: Some(200),
                    latency_ms: 12,
                    error: error.map(str::to_owned),
                    answer: None,
                },
                Write::SetDelivery {
                    seq: 7,
                    round_failures: failures,
                    next_attempt_at: 1000 + due_in,
                    delivered_at: delivered.then_some(1000),
                },
            ]
        };
        let fail = Some("answered \"fail\"");
        let cases: Vec<(&str, Event, Input, Plan<Answer>)> = vec![
            (
                "signed GET to the app",
                notice(Some(trade.clone()), 0),
                Input::Deliver(7),
                Plan::call(Call::EpayNotify(url)),
            ),
            (
                "the app is no longer configured: dead-lettered",
                notice(
                    Some(EpayTrade {
                        pid: "9".into(),
                        ..trade.clone()
                    }),
                    0,
                ),
                Input::Deliver(7),
                Plan::done(Answer::DeadLetter),
            ),
            (
                "success: delivered",
                notice(Some(trade.clone()), 0),
                answered(Some(200), None),
                Plan::done(Answer::Ack {
                    next_of_order: Some(7),
                })
                .writing(recorded(None, 0, 0, true)),
            ),
            (
                "200 with `fail`: retried",
                notice(Some(trade.clone()), 0),
                answered(Some(200), fail),
                Plan::done(Answer::Retry(5)).writing(recorded(fail, 1, 5, false)),
            ),
            (
                "`fail` to the end: dead-lettered",
                notice(Some(trade), 2),
                answered(Some(200), fail),
                Plan::done(Answer::DeadLetter).writing(recorded(fail, 3, 0, false)),
            ),
            (
                "a merchant event without MERCHANT_WEBHOOK_URL waits",
                event(0),
                Input::Deliver(7),
                Plan::done(Answer::Ack {
                    next_of_order: None,
                }),
            ),
        ];
        for (name, snapshot, input, want) in cases {
            assert_eq!(
                decide(Some(&snapshot), &input, 1000, &policy),
                want,
                "{name}"
            );
        }
    }
}
