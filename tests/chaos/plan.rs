//! The schedule: every shopper tap, wallet action, notification, fault,
//! merchant action and cron run of a chaos run, generated up front from
//! one seed and nothing else (no clock, no answers), so `--seed N` replays
//! it exactly. What an action *does* at run time may depend on earlier
//! answers (a refund goes to whichever attempt the Worker shows as the
//! link's payment); what the driver *tries*, and in which order and
//! grouping, never does.
//!
//! Attempts and links are numbered here; the driver maps the numbers to
//! charge codes and tokens as the answers come in.

use crate::rng::Rng;
use soushou::types::ResultCode;

/// How a shopper pays (`POST /api/pay` `method`, with the User-Agent and
/// the extra fields that method needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// Desktop QR (`order` NATIVE).
    Native,
    /// Phone browser app jump (`wapOrder`).
    Wap,
    /// WeChat in-app with an openid (`order` JSAPI).
    WechatJsapi,
    /// Alipay in-app with a buyer id (`creatOrder`).
    AlipayJsapi,
}

impl Method {
    const ALL: [Method; 4] = [
        Method::Native,
        Method::Wap,
        Method::WechatJsapi,
        Method::AlipayJsapi,
    ];

    /// The `method` field of `POST /api/pay`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Native => "native",
            Method::Wap => "wap",
            Method::WechatJsapi => "wechat_jsapi",
            Method::AlipayJsapi => "alipay_jsapi",
        }
    }

    /// The gateway interface this method's attempt is created with.
    pub fn interface(self) -> &'static str {
        match self {
            Method::Native | Method::WechatJsapi => "order",
            Method::Wap => "wapOrder",
            Method::AlipayJsapi => "creatOrder",
        }
    }
}

/// What a notification sent through the sandbox says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyKind {
    /// `STATE=1`, signed with the merchant key: must be answered 200.
    Paid,
    /// A stale `STATE=0` (after the payment), signed: must be answered 200
    /// and change nothing.
    Stale,
    /// `STATE=1` signed with a wrong key: must be refused (4xx).
    Forged,
}

/// One thing the driver does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `POST /v1/links`; with `idempotency`, retried under the same
    /// `Idempotency-Key`, then that key reused with another body.
    CreateLink {
        /// Link number.
        link: usize,
        /// Its amount.
        amount_fen: u64,
        /// Probe `Idempotency-Key`.
        idempotency: bool,
        /// A counter code (`"kind": "counter"`, bounds both its amount):
        /// every payment kept, never paid.
        counter: bool,
    },
    /// The shopper taps pay: `POST /api/pay` (a new attempt, superseding
    /// the link's pending ones).
    Pay {
        /// Link number.
        link: usize,
        /// Number of the attempt this creates.
        attempt: usize,
        /// How.
        method: Method,
    },
    /// The shopper pays the attempt in the wallet: `POST /sandbox/pay/{code}`.
    ShopperPay {
        /// Attempt number.
        attempt: usize,
    },
    /// The shopper gives up in the wallet: `POST /sandbox/close/{code}`.
    WalletCancel {
        /// Attempt number.
        attempt: usize,
    },
    /// The page polls: `GET /api/orders/{code}`.
    Poll {
        /// Attempt number.
        attempt: usize,
    },
    /// The gateway notifies: `POST /sandbox/notify/{code}`.
    Notify {
        /// Attempt number.
        attempt: usize,
        /// What the notification says.
        kind: NotifyKind,
        /// Identical copies sent at once.
        copies: u32,
    },
    /// The merchant refunds the attempt the Worker shows as the link's
    /// payment: `POST /v1/orders/{code}/refunds`.
    Refund {
        /// Link number.
        link: usize,
        /// Share of the link's amount, in ‰ (1000 = in full).
        permille: u64,
        /// Probe `Idempotency-Key`.
        idempotency: bool,
    },
    /// The merchant cancels an attempt: `POST /v1/orders/{code}/cancel`.
    Cancel {
        /// Attempt number.
        attempt: usize,
        /// `opType=ACO` (else a real-time revocation).
        apply: bool,
    },
    /// A cashier's charge: `POST /v1/pos/charges` (`preOrder`).
    Pos {
        /// POS charge number (its amount is unique: 10,000 yuan + number fen).
        pos: usize,
        /// Number of the attempt this creates.
        attempt: usize,
        /// Retry under the same `Idempotency-Key`.
        idempotency: bool,
    },
    /// The shopper enters the wallet password of a pending `preOrder`
    /// (found in the ledger by its unique amount) while the charge runs.
    PosPassword {
        /// POS charge number.
        pos: usize,
    },
    /// The cron sweep: `GET /__scheduled`.
    Cron,
    /// A one-shot fault on the next call of a gateway interface.
    Fault {
        /// Sandbox fault target.
        interface: &'static str,
        /// Fault mode.
        mode: String,
    },
}

/// A step: one action, or several run at the same time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// One action.
    One(Action),
    /// Actions started together, each on its own thread.
    Together(Vec<Action>),
    /// Actions started together while the sandbox's real-time revocations
    /// take `ms` (setting `revoke_delay_ms`, reset once they had time to land).
    SlowRevocation {
        /// The delay.
        ms: u64,
        /// The actions.
        actions: Vec<Action>,
    },
    /// Actions started together while `preOrder` waits for the shopper's
    /// password (setting `pre_order_pending`, reset after).
    PasswordNeeded(Vec<Action>),
    /// The Worker's runtime is killed (SIGKILL) inside `window` while the
    /// actions run, and started again on the same D1 (`--crash`).
    Crash {
        /// Where the crash falls.
        window: Window,
        /// The action the crash interrupts (none for [`Window::Webhook`]).
        actions: Vec<Action>,
    },
}

/// Where a crash of the Worker's runtime falls (`--crash`, issue 24).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Window {
    /// A shopper's pay: after the gateway created the order, before its
    /// answer reached the Worker (a one-shot `timeout` fault holds it).
    Pay,
    /// A paid notification, a seeded few milliseconds after it was sent.
    Notify,
    /// A merchant refund: after the gateway refunded, before its answer
    /// reached the Worker (a one-shot `timeout` fault holds it).
    Refund,
    /// A webhook delivery: after the merchant's endpoint received it,
    /// before its answer reached the Worker (the receiver holds it).
    Webhook,
}

impl Window {
    /// Its name in the report.
    pub fn name(self) -> &'static str {
        match self {
            Window::Pay => "pay: gateway call → store write",
            Window::Notify => "inside /notify",
            Window::Refund => "refund: gateway call → store write",
            Window::Webhook => "webhook delivery: POST → record",
        }
    }
}

impl Step {
    /// The actions of the step.
    pub fn actions(&self) -> &[Action] {
        match self {
            Step::One(a) => std::slice::from_ref(a),
            Step::Together(v)
            | Step::SlowRevocation { actions: v, .. }
            | Step::PasswordNeeded(v)
            | Step::Crash { actions: v, .. } => v,
        }
    }
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// Notifications held back until every step ran (delivered before the
    /// final reconciliation).
    pub at_end: Vec<Action>,
    /// Attempts the plan creates (pay taps + POS charges).
    pub payments: usize,
    /// Links.
    pub links: usize,
    /// POS charges.
    pub pos: usize,
}

/// The amount of POS charge `pos`: unique, so the driver can find its
/// `preOrder` in the ledger before the Worker has answered.
pub fn pos_amount_fen(pos: usize) -> u64 {
    1_000_000 + pos as u64
}

/// Appendix-5 codes after which the outcome of a call is unknown.
pub const UNKNOWN_OUTCOME_CODES: [&str; 6] = [
    "EXCEPTION",
    "DATABASE_ERROR",
    "SERVICE_UNAVAILABLE",
    "HTTP_EXCEPTION",
    "IO_EXCEPTION",
    "CREATE_SECURITY_CONNECTION_ERROR",
];

/// An episode's step, before the episodes are interleaved.
enum Item {
    Now(Step),
    /// Emitted `after` global steps later (a delayed notification).
    Later(Action, u64),
    /// Delivered only after the last step.
    AtEnd(Action),
}

/// Turns some steps of `plan` into crashes (`--crash`), from `seed` on a
/// stream of its own, so the plan without crashes stays what it was: a
/// pay or a refund in about 1 of 80 and 1 of 10, a paid notification in
/// 1 of 50, and a crash inside the webhook delivery that follows a paid
/// notification in 1 of 30 — about 10 of each per 1,000 payments.
pub fn add_crashes(plan: &mut Plan, seed: u64) {
    let mut rng = Rng::new(seed ^ 0xC4A5_11ED_0000_0024);
    let steps = std::mem::take(&mut plan.steps);
    for step in steps {
        let window = match &step {
            Step::One(Action::Pay { .. }) if rng.range(0, 79) == 0 => Some(Window::Pay),
            Step::One(Action::Notify {
                kind: NotifyKind::Paid,
                ..
            }) if rng.chance(2) => Some(Window::Notify),
            Step::One(Action::Refund { .. }) if rng.chance(10) => Some(Window::Refund),
            _ => None,
        };
        // After a paid notification its order's event is being delivered.
        let delivering = window.is_none()
            && matches!(
                step,
                Step::One(Action::Notify {
                    kind: NotifyKind::Paid,
                    ..
                })
            );
        plan.steps.push(match window {
            Some(window) => Step::Crash {
                window,
                actions: step.actions().to_vec(),
            },
            None => step,
        });
        if delivering && rng.range(0, 29) == 0 {
            plan.steps.push(Step::Crash {
                window: Window::Webhook,
                actions: Vec::new(),
            });
        }
    }
}

/// Generates the plan of `payments` attempts from `seed`.
pub fn generate(seed: u64, payments: usize) -> Plan {
    let mut g = Gen {
        rng: Rng::new(seed),
        links: 0,
        pos: 0,
        attempts: 0,
    };
    let mut episodes = Vec::new();
    while g.attempts < payments {
        let ep = if g.rng.chance(12) {
            g.pos_episode()
        } else {
            g.link_episode()
        };
        episodes.push(ep);
    }
    let (steps, at_end) = interleave(&mut g.rng, episodes);
    Plan {
        steps,
        at_end,
        payments: g.attempts,
        links: g.links,
        pos: g.pos,
    }
}

struct Gen {
    rng: Rng,
    links: usize,
    pos: usize,
    attempts: usize,
}

impl Gen {
    fn attempt(&mut self) -> usize {
        self.attempts += 1;
        self.attempts - 1
    }

    /// A one-shot fault on `interface` with probability `percent`.
    fn fault(&mut self, items: &mut Vec<Item>, interface: &'static str, percent: u64) {
        if !self.rng.chance(percent) {
            return;
        }
        let r = self.rng.range(0, 99);
        let mode = match r {
            0..=9 => "timeout".to_owned(),
            10..=27 => "http500".to_owned(),
            28..=39 => "garbage".to_owned(),
            40..=51 => format!("latency:{}", self.rng.range(100, 800)),
            52..=71 => format!("reject:{}", self.rng.pick(&ResultCode::APPENDIX_5).as_str()),
            _ => format!("processed:{}", self.rng.pick(&UNKNOWN_OUTCOME_CODES)),
        };
        items.push(Item::Now(Step::One(Action::Fault { interface, mode })));
    }

    fn amount(&mut self) -> u64 {
        match self.rng.range(0, 9) {
            0..=2 => self.rng.range(1, 999),
            3..=8 => self.rng.range(1_000, 50_000),
            _ => self.rng.range(50_000, 500_000),
        }
    }

    /// How a paid attempt's notification arrives (or not).
    fn notifications(&mut self, items: &mut Vec<Item>, attempt: usize) {
        if self.rng.chance(8) {
            items.push(Item::Now(Step::One(Action::Notify {
                attempt,
                kind: NotifyKind::Forged,
                copies: 1,
            })));
        }
        let copies = if self.rng.chance(70) {
            1
        } else {
            self.rng.range(2, 4) as u32
        };
        let paid = Action::Notify {
            attempt,
            kind: NotifyKind::Paid,
            copies,
        };
        let stale = self.rng.chance(10).then_some(Action::Notify {
            attempt,
            kind: NotifyKind::Stale,
            copies: 1,
        });
        match self.rng.range(0, 99) {
            // Dropped: only the reconciler's query can find this payment.
            0..=14 => {}
            15..=59 => {
                items.push(Item::Now(Step::One(paid)));
                if let Some(s) = stale {
                    items.push(Item::Now(Step::One(s)));
                }
            }
            60..=84 => {
                let after = self.rng.range(2, 40);
                items.push(Item::Later(paid, after));
                if let Some(s) = stale {
                    items.push(Item::Later(s, after + self.rng.range(0, 5)));
                }
            }
            _ => {
                items.push(Item::AtEnd(paid));
                if let Some(s) = stale {
                    items.push(Item::AtEnd(s));
                }
            }
        }
        if self.rng.chance(25) {
            items.push(Item::Now(Step::One(Action::Poll { attempt })));
        }
    }

    fn link_episode(&mut self) -> Vec<Item> {
        let link = self.links;
        self.links += 1;
        let mut items = Vec::new();
        let amount_fen = self.amount();
        let idempotency = self.rng.chance(10);
        let counter = self.rng.chance(20);
        items.push(Item::Now(Step::One(Action::CreateLink {
            link,
            amount_fen,
            idempotency,
            counter,
        })));
        let taps = match self.rng.range(0, 99) {
            0..=54 => 1,
            55..=84 => 2,
            _ => 3,
        };
        let mut attempts: Vec<usize> = Vec::new();
        let mut paid: Vec<usize> = Vec::new();
        for t in 0..taps {
            let method = *self.rng.pick(&Method::ALL);
            self.fault(&mut items, method.interface(), 12);
            if t > 0 {
                // The superseding tap's cancelTrade of the older attempt.
                self.fault(&mut items, "cancelTrade", 10);
            }
            let attempt = self.attempt();
            let pay = Action::Pay {
                link,
                attempt,
                method,
            };
            let prev = attempts.last().copied().filter(|p| !paid.contains(p));
            match prev {
                // The wallet pays attempt A while the page supersedes A.
                Some(prev) if self.rng.chance(25) => {
                    items.push(Item::Now(Step::Together(vec![
                        Action::ShopperPay { attempt: prev },
                        pay,
                    ])));
                    paid.push(prev);
                    self.notifications(&mut items, prev);
                }
                // A's paid notification lands while the page supersedes A,
                // with a slow revocation.
                Some(prev) if self.rng.chance(12) => {
                    items.push(Item::Now(Step::One(Action::ShopperPay { attempt: prev })));
                    paid.push(prev);
                    let ms = self.rng.range(200, 1500);
                    items.push(Item::Now(Step::SlowRevocation {
                        ms,
                        actions: vec![
                            Action::Notify {
                                attempt: prev,
                                kind: NotifyKind::Paid,
                                copies: 1,
                            },
                            pay,
                        ],
                    }));
                }
                _ => items.push(Item::Now(Step::One(pay))),
            }
            if self.rng.chance(30) {
                items.push(Item::Now(Step::One(Action::Poll { attempt })));
            }
            attempts.push(attempt);
        }

        // The shopper's last word on the newest attempt, and maybe an older
        // one paid too (a double payment).
        let last = *attempts.last().expect("at least one tap");
        let older: Vec<usize> = attempts[..attempts.len() - 1]
            .iter()
            .copied()
            .filter(|a| !paid.contains(a) && self.rng.chance(15))
            .collect();
        let pay_last = !paid.contains(&last) && self.rng.chance(80);
        if !pay_last && !paid.contains(&last) && self.rng.chance(40) {
            items.push(Item::Now(Step::One(Action::WalletCancel { attempt: last })));
        }
        let mut newly: Vec<usize> = older.clone();
        if pay_last {
            newly.push(last);
        }
        if newly.len() >= 2 && self.rng.chance(40) {
            items.push(Item::Now(Step::Together(
                newly
                    .iter()
                    .map(|&attempt| Action::ShopperPay { attempt })
                    .collect(),
            )));
        } else {
            for &attempt in &newly {
                items.push(Item::Now(Step::One(Action::ShopperPay { attempt })));
            }
        }
        // Two paid notifications of one link at the same time.
        if newly.len() >= 2 && self.rng.chance(40) {
            items.push(Item::Now(Step::Together(
                newly
                    .iter()
                    .map(|&attempt| Action::Notify {
                        attempt,
                        kind: NotifyKind::Paid,
                        copies: 1,
                    })
                    .collect(),
            )));
        } else {
            for &attempt in &newly {
                // A paid notification concurrent with the merchant's
                // real-time cancel, under a slow revocation.
                if self.rng.chance(6) {
                    let ms = self.rng.range(200, 1500);
                    items.push(Item::Now(Step::SlowRevocation {
                        ms,
                        actions: vec![
                            Action::Notify {
                                attempt,
                                kind: NotifyKind::Paid,
                                copies: 1,
                            },
                            Action::Cancel {
                                attempt,
                                apply: false,
                            },
                        ],
                    }));
                } else {
                    self.notifications(&mut items, attempt);
                }
            }
        }
        paid.extend(newly);

        // The merchant's actions on the paid link.
        if !paid.is_empty() {
            if self.rng.chance(20) {
                self.fault(&mut items, "refund", 20);
                let permille = if self.rng.chance(40) {
                    1000
                } else {
                    self.rng.range(100, 900)
                };
                let idempotency = self.rng.chance(50);
                items.push(Item::Now(Step::One(Action::Refund {
                    link,
                    permille,
                    idempotency,
                })));
            }
            if self.rng.chance(5) {
                self.fault(&mut items, "cancelTrade", 20);
                let attempt = *self.rng.pick(&paid);
                let apply = self.rng.chance(50);
                let cancel = Action::Cancel { attempt, apply };
                // The sandbox completes an applied-for revocation (3 → 2)
                // only when revocations take time.
                if apply || self.rng.chance(50) {
                    items.push(Item::Now(Step::SlowRevocation {
                        ms: self.rng.range(200, 1500),
                        actions: vec![cancel],
                    }));
                } else {
                    items.push(Item::Now(Step::One(cancel)));
                }
            }
        }
        items
    }

    fn pos_episode(&mut self) -> Vec<Item> {
        let pos = self.pos;
        self.pos += 1;
        let attempt = self.attempt();
        let mut items = Vec::new();
        self.fault(&mut items, "preOrder", 15);
        let idempotency = self.rng.chance(20);
        let charge = Action::Pos {
            pos,
            attempt,
            idempotency,
        };
        if self.rng.chance(35) {
            // The shopper must confirm in the wallet (or never does).
            let mut actions = vec![charge];
            if self.rng.chance(70) {
                actions.push(Action::PosPassword { pos });
            }
            items.push(Item::Now(Step::PasswordNeeded(actions)));
        } else {
            items.push(Item::Now(Step::One(charge)));
        }
        if self.rng.chance(20) {
            items.push(Item::Now(Step::One(Action::Poll { attempt })));
        }
        items
    }
}

/// Merges the episodes into one schedule: up to three run side by side,
/// one step at a time in random turn (so links interleave), delayed
/// notifications are released their number of steps later, and a cron run
/// falls in now and then.
fn interleave(rng: &mut Rng, episodes: Vec<Vec<Item>>) -> (Vec<Step>, Vec<Action>) {
    const SIDE_BY_SIDE: usize = 3;
    let mut waiting = episodes.into_iter();
    let mut active: Vec<std::vec::IntoIter<Item>> = Vec::new();
    let mut delayed: Vec<(u64, Action)> = Vec::new();
    let mut steps = Vec::new();
    let mut at_end = Vec::new();
    loop {
        while active.len() < SIDE_BY_SIDE {
            match waiting.next() {
                Some(ep) => active.push(ep.into_iter()),
                None => break,
            }
        }
        if active.is_empty() {
            break;
        }
        let i = rng.range(0, active.len() as u64 - 1) as usize;
        match active[i].next() {
            None => {
                active.remove(i);
                continue;
            }
            Some(Item::Now(step)) => steps.push(step),
            Some(Item::Later(action, after)) => {
                delayed.push((steps.len() as u64 + after, action));
                continue;
            }
            Some(Item::AtEnd(action)) => {
                at_end.push(action);
                continue;
            }
        }
        let now = steps.len() as u64;
        let (due, rest): (Vec<_>, Vec<_>) = delayed.into_iter().partition(|(at, _)| *at <= now);
        delayed = rest;
        steps.extend(due.into_iter().map(|(_, a)| Step::One(a)));
        if rng.chance(3) {
            steps.push(Step::One(Action::Cron));
        }
    }
    steps.extend(delayed.into_iter().map(|(_, a)| Step::One(a)));
    (steps, at_end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actions(plan: &Plan) -> impl Iterator<Item = &Action> {
        plan.steps
            .iter()
            .flat_map(Step::actions)
            .chain(plan.at_end.iter())
    }

    #[test]
    fn crashes_fall_in_every_window_and_change_nothing_else() {
        for seed in [1, 2, 3] {
            let plain = generate(seed, 1000);
            let mut crashed = plain.clone();
            add_crashes(&mut crashed, seed);
            let mut per_window = std::collections::BTreeMap::new();
            for s in &crashed.steps {
                if let Step::Crash { window, .. } = s {
                    *per_window.entry(*window).or_insert(0) += 1;
                }
            }
            eprintln!("seed {seed}: {per_window:?}");
            for w in [Window::Pay, Window::Notify, Window::Refund, Window::Webhook] {
                assert!(
                    per_window.get(&w).is_some_and(|&n| n >= 3),
                    "{w:?}: {per_window:?}"
                );
            }
            assert!(per_window.values().sum::<i32>() <= 80, "{per_window:?}");
            // The same actions in the same order, crashes aside.
            assert!(actions(&plain).eq(actions(&crashed)));
        }
    }

    #[test]
    fn a_seed_replays_the_same_plan() {
        assert_eq!(generate(42, 300), generate(42, 300));
        assert_ne!(generate(42, 300), generate(43, 300));
    }

    #[test]
    fn creates_at_least_the_payments_asked_for() {
        for n in [1, 120, 1000] {
            let plan = generate(7, n);
            assert!(
                plan.payments >= n && plan.payments < n + 4,
                "{n}: {}",
                plan.payments
            );
            let created = actions(&plan)
                .filter(|a| matches!(a, Action::Pay { .. } | Action::Pos { .. }))
                .count();
            assert_eq!(created, plan.payments);
        }
    }

    #[test]
    fn every_attempt_is_created_before_it_is_used() {
        let plan = generate(99, 1000);
        let mut created = std::collections::HashSet::new();
        for step in &plan.steps {
            let group = step.actions();
            // In a group, an attempt created by the group is not used by it.
            for a in group {
                let used = match a {
                    Action::ShopperPay { attempt }
                    | Action::WalletCancel { attempt }
                    | Action::Poll { attempt }
                    | Action::Notify { attempt, .. }
                    | Action::Cancel { attempt, .. } => Some(*attempt),
                    _ => None,
                };
                if let Some(u) = used {
                    assert!(created.contains(&u), "attempt {u} used before it exists");
                }
            }
            for a in group {
                if let Action::Pay { attempt, .. } | Action::Pos { attempt, .. } = a {
                    created.insert(*attempt);
                }
            }
        }
    }

    #[test]
    fn the_plan_exercises_every_kind_of_chaos() {
        let plan = generate(1, 1000);
        let has = |f: &dyn Fn(&Action) -> bool| actions(&plan).any(f);
        assert!(has(&|a| matches!(
            a,
            Action::Notify {
                kind: NotifyKind::Forged,
                ..
            }
        )));
        assert!(has(&|a| matches!(
            a,
            Action::Notify {
                kind: NotifyKind::Stale,
                ..
            }
        )));
        assert!(has(&|a| matches!(a, Action::Notify { copies: 2.., .. })));
        assert!(has(
            &|a| matches!(a, Action::Fault { mode, .. } if mode.starts_with("processed:"))
        ));
        assert!(has(
            &|a| matches!(a, Action::Fault { mode, .. } if mode == "timeout")
        ));
        assert!(has(&|a| matches!(a, Action::PosPassword { .. })));
        assert!(has(&|a| matches!(
            a,
            Action::CreateLink { counter: true, .. }
        )));
        assert!(has(&|a| matches!(
            a,
            Action::Refund {
                idempotency: true,
                ..
            }
        )));
        assert!(has(&|a| matches!(a, Action::Cancel { .. })));
        assert!(has(&|a| matches!(a, Action::Cron)));
        assert!(!plan.at_end.is_empty());
        assert!(plan
            .steps
            .iter()
            .any(|s| matches!(s, Step::Together(v) if v.len() >= 2)));
        assert!(plan
            .steps
            .iter()
            .any(|s| matches!(s, Step::SlowRevocation { actions, .. } if actions.len() == 2)));
        assert!(plan
            .steps
            .iter()
            .any(|s| matches!(s, Step::PasswordNeeded(_))));
    }
}
