//! A seeded search over interleavings of the money decisions.
//!
//! The invariant comes first: **after any interleaving of shopper taps,
//! late, duplicate and dropped notifications, gateway faults (lost answers,
//! outcome-unknown codes), merchant cancels and refunds, and reconciler
//! runs, once everything is delivered and reconciled the books equal the
//! gateway's ledger**:
//! 1. every attempt's stored state equals the gateway's;
//! 2. a link is paid ⇔ the gateway holds exactly one payment of it that is
//!    not refunded as a duplicate, and that one is the link's kept payment;
//! 3. every other payment of a link is refunded in full, once — however
//!    often the gateway refuses that refund first — unless the gateway
//!    refused it `max_tries` times, when it is left to the merchant;
//! 4. the money the gateway holds (captured − returned − refunded) equals
//!    what the books say.
//!
//! The world here is a small model of the gateway (the ledger) and of the
//! Worker's stored rows, and every decision the Worker makes is the real
//! function from `checkout::settle` / `checkout::state`. Each schedule is a
//! sequence of random steps from a seed; a failing seed prints itself and
//! replays exactly (`INTERLEAVINGS_SEED=N cargo test -p checkout --test
//! interleavings`). `INTERLEAVINGS_RUNS` sets how many schedules to try.

use std::collections::BTreeMap;

use checkout::api::OrderStatus as S;
use checkout::settle::{
    self, DuplicateRefundPolicy, DuplicateRefundStep, DuplicateRefundTry, Evidence, Expected,
    ListedRefund, MoneyDecision, Notice, NotifyOutcome, NotifyPlan, RefundEvidence, Report,
    StoredAttempt, Verdict,
};
use checkout::state;
use checkout::vocab::RefundState as R;
use soushou::types::{OrderState as G, ResultCode};
use soushou::Fen;

/// splitmix64: small, seedable, the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const BUSI: &str = "B1";
const AMOUNT: u64 = 1000;
/// Short waits and few tries, so schedules reach the give-up too.
const DUP_POLICY: DuplicateRefundPolicy = DuplicateRefundPolicy {
    retry_after_secs: 2,
    max_tries: 3,
};

/// The gateway's record of one order.
#[derive(Clone, Debug)]
struct GwOrder {
    state: G,
    captured: u64,
    returned: u64,
    /// out_refund_no → amount (every refund the gateway made).
    refunds: BTreeMap<String, u64>,
}

impl GwOrder {
    fn refunded(&self) -> u64 {
        self.refunds.values().sum()
    }
    fn net(&self) -> u64 {
        self.captured - self.returned - self.refunded()
    }
}

/// The Worker's stored row of one attempt.
#[derive(Clone, Debug)]
struct Row {
    link: usize,
    status: S,
    paid_seq: Option<u64>,
    duplicate: bool,
    recheck: bool,
    /// out_refund_no → (amount, state, last change).
    refunds: BTreeMap<String, (u64, R, u64)>,
}

#[derive(Default)]
struct World {
    gw: BTreeMap<String, GwOrder>,
    rows: BTreeMap<String, Row>,
    /// Notifications in flight: (charge code, state), any order.
    inbox: Vec<(String, G)>,
    next_code: u64,
    next_seq: u64,
    links: usize,
    /// The clock, unix seconds: one per step.
    now: u64,
    /// How many of the next refunds the gateway refuses (a fault, e.g. a
    /// channel outage or `AMT_ERROR`), whatever they are.
    refuse_next: u32,
    log: Vec<String>,
}

impl World {
    /// `apply_event` + the paid_seq stamp the store does.
    fn apply(&mut self, code: &str, event: S) -> state::Transition {
        let t = state::apply(self.rows[code].status, event);
        if let state::Transition::Applied { to, .. } = t {
            self.write(code, to);
        }
        t
    }

    /// A transition's update: the state, and the paid_seq stamp.
    fn write(&mut self, code: &str, to: S) {
        let row = self.rows.get_mut(code).expect("row");
        row.status = to;
        if settle::holds_money(to) && row.paid_seq.is_none() {
            self.next_seq += 1;
            row.paid_seq = Some(self.next_seq);
        }
    }

    /// `/notify` (`repo::notify`): its one batch as the SQL runs it — every
    /// write conditional on the attempt holding the notified amount, the
    /// update also on the state being one of `state::sources(event)` — then
    /// the Worker's decision from what the batch read and whether the
    /// update applied (`settle::notify_outcome`).
    fn notify(&mut self, code: &str, state: &G, amount: u64) {
        let notice = Notice {
            charge_code: code,
            busi_id: BUSI,
            amount: Fen::from_fen(amount),
            state,
        };
        let plan = settle::notify_plan(BUSI, &notice);
        let stored = StoredAttempt {
            state: self.rows[code].status,
            amount: Fen::from_fen(AMOUNT),
        };
        let updated = match plan {
            NotifyPlan::Apply(event)
                if amount == AMOUNT && state::sources(event).any(|s| s == stored.state) =>
            {
                self.write(code, event);
                true
            }
            _ => false,
        };
        match settle::notify_outcome(BUSI, &notice, Some(stored), updated) {
            Ok(NotifyOutcome::Event(t)) => {
                assert_eq!(t.state(), self.rows[code].status, "{code}: {t:?}");
                if settle::is_new_money(&t) {
                    self.duplicate_check(code);
                }
            }
            Ok(NotifyOutcome::Ignored) => {}
            Ok(NotifyOutcome::Distrusted(_)) if amount != AMOUNT => {
                assert_eq!(self.rows[code].status, stored.state, "{code}");
            }
            other => panic!("{code} {state:?} {amount}: {other:?}"),
        }
    }

    /// The Worker receives a `query` answer about `code`.
    fn report(&mut self, code: &str, state: &G) {
        let amount = Some(Fen::from_fen(AMOUNT));
        let report = Report {
            charge_code: Some(code),
            busi_id: Some(BUSI),
            amount,
            state: Some(state),
        };
        let exp = Expected {
            charge_code: code,
            busi_id: BUSI,
            amount: Fen::from_fen(AMOUNT),
        };
        match settle::evidence(&exp, &report) {
            Evidence::Apply(event) => {
                let t = self.apply(code, event);
                let new_money = matches!(t, state::Transition::Applied { from, to }
                    if !settle::holds_money(from) && settle::holds_money(to));
                if new_money {
                    self.duplicate_check(code);
                }
            }
            Evidence::Silent => {}
            Evidence::Distrust(m) => panic!("the model's reports always match: {m:?}"),
        }
    }

    /// `orders::refund_if_duplicate`.
    fn duplicate_check(&mut self, code: &str) {
        let decision = settle::on_money(&self.link_view(self.rows[code].link), code);
        if let MoneyDecision::RefundDuplicate { .. } = decision {
            self.rows.get_mut(code).expect("row").duplicate = true;
        }
        if !self.rows[code].duplicate {
            return;
        }
        if let DuplicateRefundStep::Send { out_refund_no } = self.duplicate_step(code) {
            let left = AMOUNT - self.reserved(code);
            if left > 0 {
                self.log.push(format!("duplicate refund {out_refund_no}"));
                self.refund(code, &out_refund_no, left, false);
            }
        }
    }

    fn duplicate_step(&self, code: &str) -> DuplicateRefundStep {
        let tries: Vec<DuplicateRefundTry<'_>> = self.rows[code]
            .refunds
            .iter()
            .map(|(no, (_, state, at))| DuplicateRefundTry {
                out_refund_no: no,
                state: *state,
                updated_at: *at,
            })
            .collect();
        settle::duplicate_refund_step(&DUP_POLICY, code, &tries, self.now)
    }

    fn reserved(&self, code: &str) -> u64 {
        self.rows[code]
            .refunds
            .values()
            .filter(|(_, s, _)| *s != R::Failed)
            .map(|(a, _, _)| a)
            .sum()
    }

    /// Stores a refund's new state, stamped now.
    fn mark_refund(&mut self, code: &str, no: &str, state: R) {
        let now = self.now;
        let r = self.rows.get_mut(code).expect("row");
        let r = r.refunds.get_mut(no).expect("refund");
        r.1 = state;
        r.2 = now;
    }

    /// `orders::refund` with the gateway's `refund`; `lose` loses the answer.
    fn refund(&mut self, code: &str, no: &str, amount: u64, lose: bool) {
        let row = &self.rows[code];
        if row.refunds.contains_key(no) {
            return;
        }
        let paid = Fen::from_fen(AMOUNT);
        let reserved = Fen::from_fen(self.reserved(code));
        if state::check_refund(row.status, paid, reserved, Fen::from_fen(amount)).is_err() {
            return;
        }
        let now = self.now;
        self.rows
            .get_mut(code)
            .expect("row")
            .refunds
            .insert(no.to_owned(), (amount, R::Pending, now));
        self.send_refund(code, no, amount, lose);
    }

    fn send_refund(&mut self, code: &str, no: &str, amount: u64, lose: bool) {
        let fault = self.refuse_next > 0;
        self.refuse_next = self.refuse_next.saturating_sub(1);
        let gw = self.gw.get_mut(code).expect("gateway order");
        let ok = !fault
            && matches!(gw.state, G::Paid | G::PartiallyRefunded)
            && gw.refunded() + amount <= gw.captured - gw.returned
            && !gw.refunds.contains_key(no);
        if ok {
            gw.refunds.insert(no.to_owned(), amount);
            gw.state = if gw.refunded() == gw.captured {
                G::Refunded
            } else {
                G::PartiallyRefunded
            };
        }
        if lose {
            return; // the refund stays pending: the cron settles it
        }
        if ok {
            self.settle_refund(code, no);
        } else {
            // A refusal (FAIL / AREADY_REVOKED / AMT_ERROR).
            let code_ = if gw.state == G::Revoked {
                ResultCode::AreadyRevoked
            } else if fault {
                ResultCode::AmtError
            } else {
                ResultCode::Fail
            };
            assert_eq!(settle::classify(&code_), Verdict::Refused);
            self.mark_refund(code, no, R::Failed);
            self.log.push(format!("gateway refuses refund {no}"));
        }
    }

    fn settle_refund(&mut self, code: &str, no: &str) {
        self.mark_refund(code, no, R::Succeeded);
        let total: u64 = self.rows[code]
            .refunds
            .values()
            .filter(|(_, s, _)| *s == R::Succeeded)
            .map(|(a, _, _)| a)
            .sum();
        let target = state::after_refund(Fen::from_fen(AMOUNT), Fen::from_fen(total));
        self.apply(code, target);
    }

    /// The cron's `retry_pending_refunds` for one refund.
    fn retry_refund(&mut self, code: &str, no: &str) {
        let (amount, st, _) = self.rows[code].refunds[no];
        if st != R::Pending {
            return;
        }
        let gw = &self.gw[code];
        let listed: Vec<(String, u64)> = gw.refunds.iter().map(|(k, v)| (k.clone(), *v)).collect();
        let trades: Vec<ListedRefund<'_>> = listed
            .iter()
            .map(|(k, v)| ListedRefund {
                refund_code: Some(k),
                amount: Some(Fen::from_fen(*v)),
                state: Some(&G::RefundSucceeded),
            })
            .collect();
        match settle::refund_evidence(no, Fen::from_fen(amount), &trades) {
            RefundEvidence::Done => self.settle_refund(code, no),
            RefundEvidence::Absent => self.send_refund(code, no, amount, false),
            other => panic!("the model lists only done refunds: {other:?}"),
        }
    }

    /// `query_and_apply`.
    fn query(&mut self, code: &str) {
        if let Some(gw) = self.gw.get(code) {
            let st = gw.state.clone();
            self.report(code, &st);
        }
    }

    /// A link's attempts as the link decisions see them.
    fn link_view(&self, link: usize) -> Vec<settle::LinkAttempt<'_>> {
        self.rows
            .iter()
            .filter(|(_, r)| r.link == link)
            .map(|(c, r)| settle::LinkAttempt {
                charge_code: c,
                status: r.status,
                paid_seq: r.paid_seq,
                duplicate: r.duplicate,
            })
            .collect()
    }

    fn link_paid_by(&self, link: usize) -> Option<String> {
        settle::kept_payment(&self.link_view(link)).map(|a| a.charge_code.to_owned())
    }

    /// One random step (a step whose preconditions do not hold does nothing).
    fn step(&mut self, rng: &mut Rng) {
        self.now += 1;
        let codes: Vec<String> = self.rows.keys().cloned().collect();
        let pick = |rng: &mut Rng| -> Option<String> {
            (!codes.is_empty()).then(|| codes[rng.below(codes.len())].clone())
        };
        match rng.below(11) {
            // The shopper taps pay on a link (a new attempt).
            0 | 1 => {
                let link = rng.below(self.links);
                if self.link_paid_by(link).is_some() {
                    return; // ALREADY_PAID
                }
                self.next_code += 1;
                let code = format!("C{}", self.next_code);
                self.rows.insert(
                    code.clone(),
                    Row {
                        link,
                        status: S::Pending,
                        paid_seq: None,
                        duplicate: false,
                        recheck: false,
                        refunds: BTreeMap::new(),
                    },
                );
                // The gateway: creates it (answer ok, lost, or an
                // outcome-unknown code), or refuses without acting.
                match rng.below(10) {
                    0 => {
                        let refused = ResultCode::IllegalParameter;
                        assert_eq!(settle::classify(&refused), Verdict::Refused);
                        self.apply(&code, S::Failed);
                        self.log.push(format!("pay {code} link {link}: refused"));
                    }
                    n => {
                        self.gw.insert(
                            code.clone(),
                            GwOrder {
                                state: G::Pending,
                                captured: 0,
                                returned: 0,
                                refunds: BTreeMap::new(),
                            },
                        );
                        if n == 1 {
                            let unknown = ResultCode::Exception;
                            assert_eq!(settle::classify(&unknown), Verdict::Unknown);
                        }
                        self.log.push(format!("pay {code} link {link}: created"));
                    }
                }
            }
            // The shopper pays an attempt in the wallet.
            2 | 3 => {
                let Some(code) = pick(rng) else { return };
                if let Some(gw) = self.gw.get_mut(&code) {
                    if gw.state == G::Pending {
                        gw.state = G::Paid;
                        gw.captured = AMOUNT;
                        self.inbox.push((code.clone(), G::Paid));
                        self.log.push(format!("wallet pays {code}"));
                    }
                }
            }
            // A notification is delivered (maybe again later), or dropped,
            // or a stale one (pending) arrives.
            4 => {
                if self.inbox.is_empty() {
                    return;
                }
                let i = rng.below(self.inbox.len());
                let (code, st) = self.inbox[i].clone();
                match rng.below(5) {
                    0 => {
                        self.inbox.swap_remove(i);
                        self.log.push(format!("notify {code} dropped"));
                    }
                    1 => {
                        self.notify(&code, &G::Pending, AMOUNT);
                        self.log.push(format!("notify {code} stale pending"));
                    }
                    2 => {
                        self.notify(&code, &st, AMOUNT);
                        self.log
                            .push(format!("notify {code} delivered, kept for a retry"));
                    }
                    3 => {
                        self.notify(&code, &st, AMOUNT + 1);
                        self.log.push(format!("notify {code} forged amount"));
                    }
                    _ => {
                        self.inbox.swap_remove(i);
                        self.notify(&code, &st, AMOUNT);
                        self.log.push(format!("notify {code} delivered"));
                    }
                }
            }
            // The reconciler queries an attempt it is due to query.
            5 => {
                let Some(code) = pick(rng) else { return };
                let row = &self.rows[&code];
                if row.status == S::Pending || row.recheck {
                    self.query(&code);
                    self.log.push(format!("query {code}"));
                }
            }
            // The shopper's wallet gives up: the gateway closes it.
            6 => {
                let Some(code) = pick(rng) else { return };
                if let Some(gw) = self.gw.get_mut(&code) {
                    if gw.state == G::Pending {
                        gw.state = G::Closed;
                        self.log.push(format!("gateway closes {code}"));
                    }
                }
            }
            // A merchant revokes an attempt in real time; the answer may be lost.
            7 => {
                let Some(code) = pick(rng) else { return };
                let lose = rng.chance(50);
                self.rows.get_mut(&code).expect("row").recheck = true;
                let Some(gw) = self.gw.get_mut(&code) else {
                    return;
                };
                let done = match gw.state {
                    G::Pending => true,
                    G::Paid | G::PartiallyRefunded => {
                        gw.returned = gw.captured - gw.refunded();
                        true
                    }
                    _ => false,
                };
                if done {
                    gw.state = G::Revoked;
                }
                self.log
                    .push(format!("merchant revokes {code} (answer lost: {lose})"));
                if done && !lose {
                    self.apply(&code, S::Revoked);
                }
            }
            // A merchant refunds part of an attempt; the answer may be lost.
            8 => {
                let Some(code) = pick(rng) else { return };
                let no = format!("m-{code}-{}", rng.below(3));
                let lose = rng.chance(30);
                self.log.push(format!(
                    "merchant refunds 300 of {code} as {no} (lost: {lose})"
                ));
                self.refund(&code, &no, 300, lose);
            }
            // The gateway will refuse the next one to three refunds.
            9 => {
                self.refuse_next = 1 + rng.below(3) as u32;
                self.log.push(format!(
                    "gateway refuses the next {} refunds",
                    self.refuse_next
                ));
            }
            // The cron: pending refunds retried, missed duplicates caught,
            // refused duplicate refunds tried again.
            _ => {
                self.cron();
                self.log.push("cron".into());
            }
        }
    }

    fn cron(&mut self) {
        let pending: Vec<(String, String)> = self
            .rows
            .iter()
            .flat_map(|(c, r)| {
                r.refunds
                    .iter()
                    .filter(|(_, (_, s, _))| *s == R::Pending)
                    .map(move |(no, _)| (c.clone(), no.clone()))
            })
            .collect();
        for (code, no) in pending {
            self.retry_refund(&code, &no);
        }
        let money: Vec<String> = self
            .rows
            .iter()
            .filter(|(_, r)| settle::holds_money(r.status))
            .map(|(c, _)| c.clone())
            .collect();
        for code in money {
            self.duplicate_check(&code);
        }
    }

    /// Delivers everything and reconciles until nothing changes.
    fn settle_all(&mut self) {
        self.refuse_next = 0;
        for (code, st) in std::mem::take(&mut self.inbox) {
            self.notify(&code, &st, AMOUNT);
        }
        for _ in 0..4 {
            // Cron runs far enough apart that every refusal's wait is over.
            self.now += 1000;
            let codes: Vec<String> = self.rows.keys().cloned().collect();
            for code in &codes {
                let row = &self.rows[code];
                if row.status == S::Pending || row.recheck {
                    self.query(code);
                }
            }
            self.cron();
        }
    }

    fn check(&self) -> Result<(), String> {
        let mut gw_money = 0;
        let mut books_money = 0;
        for (code, row) in &self.rows {
            let want = match self.gw.get(code) {
                None => S::Failed,
                Some(gw) => match gw.state {
                    G::Pending => S::Pending,
                    G::Paid => S::Paid,
                    G::Revoked => S::Revoked,
                    G::Closed => S::Closed,
                    G::PartiallyRefunded => S::PartiallyRefunded,
                    G::Refunded => S::Refunded,
                    ref other => return Err(format!("{code}: gateway state {other:?}")),
                },
            };
            if row.status != want {
                return Err(format!("{code}: books {:?}, gateway {want:?}", row.status));
            }
            if let Some(gw) = self.gw.get(code) {
                gw_money += gw.net();
                let refunded: u64 = row
                    .refunds
                    .values()
                    .filter(|(_, s, _)| *s == R::Succeeded)
                    .map(|(a, _, _)| a)
                    .sum();
                if refunded != gw.refunded() {
                    return Err(format!(
                        "{code}: books refunded {refunded}, gateway {}",
                        gw.refunded()
                    ));
                }
                if row.refunds.values().any(|(_, s, _)| *s == R::Pending) {
                    return Err(format!("{code}: a refund still pending"));
                }
                if settle::holds_money(row.status) {
                    books_money += AMOUNT - refunded;
                }
            }
        }
        if gw_money != books_money {
            return Err(format!("money: gateway {gw_money}, books {books_money}"));
        }
        for link in 0..self.links {
            let paid: Vec<&String> = self
                .rows
                .iter()
                .filter(|(c, r)| {
                    r.link == link
                        && self
                            .gw
                            .get(*c)
                            .is_some_and(|g| g.captured > 0 && g.returned == 0)
                })
                .map(|(c, _)| c)
                .collect();
            let dup_refunds = |c: &str| -> Vec<u64> {
                self.gw[c]
                    .refunds
                    .iter()
                    .filter(|(no, _)| settle::duplicate_refund_try(c, no).is_some())
                    .map(|(_, a)| *a)
                    .collect()
            };
            let dups: Vec<&&String> = paid.iter().filter(|c| !dup_refunds(c).is_empty()).collect();
            // Duplicates whose refund the gateway refused max_tries times:
            // the Worker stopped, and the merchant heard of every refusal.
            let abandoned: Vec<&&String> = paid
                .iter()
                .filter(|c| {
                    self.rows[**c].duplicate
                        && dup_refunds(c).is_empty()
                        && self.duplicate_step(c) == DuplicateRefundStep::GiveUp
                })
                .collect();
            let kept = self.link_paid_by(link);
            let held = paid.len() - dups.len() - abandoned.len();
            if held > 1 {
                return Err(format!("link {link}: {held} payments kept"));
            }
            if kept.is_some() != (held == 1) {
                return Err(format!("link {link}: books say paid by {kept:?}; gateway payments {paid:?}, duplicates {dups:?}, abandoned {abandoned:?}"));
            }
            for d in &dups {
                if dup_refunds(d)
                    != [AMOUNT
                        - self.gw[**d]
                            .refunds
                            .iter()
                            .filter(|(no, _)| settle::duplicate_refund_try(d, no).is_none())
                            .map(|(_, a)| a)
                            .sum::<u64>()]
                {
                    return Err(format!(
                        "{d}: duplicate refunds {:?}, not one refund of what was left",
                        dup_refunds(d)
                    ));
                }
                if Some((**d).clone()) == kept {
                    return Err(format!("{d}: the kept payment was refunded as a duplicate"));
                }
            }
        }
        Ok(())
    }
}

/// What a schedule reached, summed over the search so the output shows the
/// refusal paths were exercised.
#[derive(Default)]
struct Reached {
    /// Duplicates refunded by a try after the first (the first was refused).
    retried: usize,
    /// Duplicates left to the merchant after `max_tries` refusals.
    abandoned: usize,
}

fn run(seed: u64, steps: usize, reached: &mut Reached) -> Result<(), (String, Vec<String>)> {
    let mut rng = Rng(seed);
    let mut w = World {
        links: 1 + rng.below(3),
        ..World::default()
    };
    for _ in 0..steps {
        w.step(&mut rng);
    }
    w.settle_all();
    w.check().map_err(|e| (e, w.log.clone()))?;
    for (code, row) in &w.rows {
        reached.retried += row
            .refunds
            .iter()
            .filter(|(no, (_, s, _))| {
                *s == R::Succeeded && settle::duplicate_refund_try(code, no) > Some(1)
            })
            .count();
        if row.duplicate && w.duplicate_step(code) == DuplicateRefundStep::GiveUp {
            reached.abandoned += 1;
        }
    }
    Ok(())
}

#[test]
fn books_equal_the_ledger_after_any_interleaving() {
    let runs: u64 = std::env::var("INTERLEAVINGS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seeds: Vec<u64> = match std::env::var("INTERLEAVINGS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(seed) => vec![seed],
        None => (0..runs).map(|i| 0x5eed_0000 + i).collect(),
    };
    let schedules = seeds.len();
    let mut steps_total = 0;
    let mut reached = Reached::default();
    for seed in seeds {
        let steps = 10 + (seed % 50) as usize;
        steps_total += steps;
        if let Err((e, log)) = run(seed, steps, &mut reached) {
            panic!(
                "seed {seed}: {e}\nreplay: INTERLEAVINGS_SEED={seed} cargo test -p checkout --test interleavings\nschedule:\n  {}",
                log.join("\n  ")
            );
        }
    }
    println!(
        "interleavings: {schedules} schedules, {steps_total} steps, 0 mismatches; \
         {} duplicate refunds succeeded after a refusal, {} left to the merchant",
        reached.retried, reached.abandoned
    );
    if schedules >= 1000 {
        assert!(
            reached.retried > 0 && reached.abandoned > 0,
            "the search never reached a refused duplicate refund"
        );
    }
}
