//! The two sets of books and how they must agree: the sandbox's ledger
//! (`GET /sandbox/ledger`, the ground truth of what the gateway holds) and
//! the Worker's records (`GET /v1/orders/{code}?live=false`,
//! `GET /api/checkout/{token}`). Pure: [`compare`] takes both snapshots and
//! lists every disagreement.
//!
//! The state mapping (appendix 4 → the Worker's states), after
//! reconciliation:
//!
//! | gateway | Worker |
//! |---|---|
//! | not held (the gateway refused to create it) | `failed` (`pending` is tolerated and reported as a note: the Worker may keep an attempt it cannot find pending for `UNKNOWN_ATTEMPT_FAILS_AFTER_SECS`) |
//! | 0 pending | `pending`, or `failed` when nothing was captured |
//! | 1 paid | `paid` |
//! | 2 revoked | `revoked` (a revocation is never `closed`) |
//! | 3 revocation applied | nothing: still in flight after reconciliation |
//! | 4 partially refunded | `partially_refunded` |
//! | 5 refunded | `refunded` |
//! | 6 closed | `closed`, or `failed` when nothing was captured |
//!
//! Money: a *net payment* of a link is an attempt whose money was captured,
//! not returned by a revocation, and not refunded as a duplicate (a refund
//! numbered `dup-{charge_code}`). A link is paid ⇔ it has exactly one.

use checkout::settle;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Prefix of the `OUT_REFUND_NO` of a duplicate-payment refund.
pub const DUP_PREFIX: &str = "dup-";

/// A refund record at the gateway.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct GatewayRefund {
    /// `OUT_REFUND_NO` (empty when none was sent).
    #[serde(deserialize_with = "null_as_empty")]
    pub out_refund_no: String,
    /// Amount, fen.
    pub amount_fen: u64,
    /// Appendix-4 refund state (11 succeeded).
    pub state: u64,
}

fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// An order at the gateway.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct GatewayOrder {
    /// `CHARGE_CODE`.
    pub charge_code: String,
    /// The interface that created it.
    #[serde(default)]
    pub interface: String,
    /// Amount, fen.
    pub amount_fen: u64,
    /// Appendix-4 state.
    pub state: u64,
    /// The amount if the shopper's money was ever taken, else 0.
    pub captured_fen: u64,
    /// Money given back by a revocation.
    pub returned_fen: u64,
    /// Sum of succeeded refunds.
    pub refunded_fen: u64,
    /// Its refunds.
    #[serde(default)]
    pub refunds: Vec<GatewayRefund>,
}

impl Ledger {
    /// The orders by `CHARGE_CODE`.
    fn by_code(&self) -> BTreeMap<&str, &GatewayOrder> {
        self.orders
            .iter()
            .map(|o| (o.charge_code.as_str(), o))
            .collect()
    }
}

impl GatewayOrder {
    /// Money taken and kept by the gateway for this order (before refunds).
    fn kept(&self) -> bool {
        self.captured_fen > 0 && self.returned_fen == 0
    }

    fn dup_refunds(&self) -> impl Iterator<Item = &GatewayRefund> {
        self.refunds
            .iter()
            .filter(|r| r.out_refund_no.starts_with(DUP_PREFIX) && r.state == 11)
    }
}

/// Ledger totals.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Totals {
    /// captured − returned − refunded over all orders.
    pub net_fen: i64,
}

/// `GET /sandbox/ledger`.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct Ledger {
    /// Every order.
    pub orders: Vec<GatewayOrder>,
    /// Totals.
    pub totals: Totals,
}

/// A refund in the Worker's records.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WorkerRefund {
    /// `out_refund_no`.
    pub out_refund_no: String,
    /// Amount, fen.
    pub amount_fen: u64,
    /// `pending`, `succeeded`, `failed`.
    pub state: String,
}

/// An attempt in the Worker's records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerAttempt {
    /// Charge code.
    pub charge_code: String,
    /// The chaos link it belongs to (from its subject), if any.
    pub link: Option<usize>,
    /// Its state.
    pub state: String,
    /// Amount, fen.
    pub amount_fen: u64,
    /// Sum of succeeded refunds, fen.
    pub refunded_fen: u64,
    /// Its refunds.
    pub refunds: Vec<WorkerRefund>,
    /// The states its history moved to, in order.
    pub history: Vec<String>,
}

/// The subject the driver gives link `i` (the Worker and the gateway keep it).
pub fn link_subject(i: usize) -> String {
    format!("chaos link {i}")
}

impl WorkerAttempt {
    /// Reads `GET /v1/orders/{code}?live=false`.
    pub fn from_json(v: &Value) -> Option<WorkerAttempt> {
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let order = &v["order"];
        Some(WorkerAttempt {
            charge_code: order["charge_code"].as_str()?.to_owned(),
            link: v["subject"]
                .as_str()
                .and_then(|s| s.strip_prefix("chaos link "))
                .and_then(|n| n.parse().ok()),
            state: order["state"].as_str()?.to_owned(),
            amount_fen: order["amount_fen"].as_u64()?,
            refunded_fen: v["refunded_fen"].as_u64().unwrap_or(0),
            refunds: v["refunds"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| WorkerRefund {
                            out_refund_no: text(&r["out_refund_no"]),
                            amount_fen: r["amount_fen"].as_u64().unwrap_or(0),
                            state: text(&r["state"]),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            history: v["history"]
                .as_array()
                .map(|a| a.iter().map(|e| text(&e["to_state"])).collect())
                .unwrap_or_default(),
        })
    }

    fn holds_payment(&self) -> bool {
        matches!(
            self.state.as_str(),
            "paid" | "partially_refunded" | "refunded"
        )
    }
}

/// A link as the Worker shows it (`GET /api/checkout/{token}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerLink {
    /// Link number.
    pub link: usize,
    /// `paid`, `open` or `expired`.
    pub state: String,
    /// A counter code: every payment kept, never paid.
    pub counter: bool,
}

/// Both sets of books at one moment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Books {
    /// The gateway's.
    pub ledger: Ledger,
    /// Every attempt the driver knows of, as the Worker records it
    /// (codes the Worker does not know are in `unknown_to_worker`).
    pub attempts: Vec<WorkerAttempt>,
    /// Charge codes that the Worker answered 404 for.
    pub unknown_to_worker: Vec<String>,
    /// Every link.
    pub links: Vec<WorkerLink>,
    /// What the merchant heard (`GET /v1/events`): (type, charge code), in
    /// order.
    pub heard: Vec<(String, String)>,
}

/// One disagreement.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mismatch {
    /// What rule it breaks.
    pub kind: &'static str,
    /// Charge code (or `link N`).
    pub code: String,
    /// What the Worker says.
    pub worker: String,
    /// What the gateway says.
    pub gateway: String,
}

/// Compared, not failing: things worth printing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Rule violations.
    pub mismatches: Vec<Mismatch>,
    /// Tolerated differences (see the module doc).
    pub notes: Vec<Mismatch>,
    /// The gateway's net money (captured − returned − refunded), fen.
    pub gateway_net_fen: i64,
    /// The Worker's (paid attempts' amounts − succeeded refunds), fen.
    pub worker_net_fen: i64,
}

/// The Worker states an attempt may have for what the gateway holds.
pub fn expected_states(gw: Option<&GatewayOrder>) -> &'static [&'static str] {
    let Some(o) = gw else {
        return &["failed"];
    };
    let nothing_captured = o.captured_fen == 0;
    match (o.state, nothing_captured) {
        (0, true) => &["pending", "failed"],
        (0, false) => &["pending"],
        (1, _) => &["paid"],
        (2, _) => &["revoked"],
        (4, _) => &["partially_refunded"],
        (5, _) => &["refunded"],
        (6, true) => &["closed", "failed"],
        (6, false) => &["closed"],
        _ => &[],
    }
}

fn gw_text(o: Option<&GatewayOrder>) -> String {
    match o {
        None => "not held".into(),
        Some(o) => format!(
            "state {} captured {} returned {} refunded {} ({})",
            o.state, o.captured_fen, o.returned_fen, o.refunded_fen, o.interface
        ),
    }
}

fn worker_text(a: &WorkerAttempt) -> String {
    format!(
        "{} refunded {} history {}",
        a.state,
        a.refunded_fen,
        a.history.join(">")
    )
}

/// Every disagreement between the books.
pub fn compare(b: &Books) -> Comparison {
    let mut c = Comparison {
        gateway_net_fen: b.ledger.totals.net_fen,
        ..Comparison::default()
    };
    let gw = b.ledger.by_code();
    let push = |list: &mut Vec<Mismatch>, kind, code: &str, worker: String, gateway: String| {
        list.push(Mismatch {
            kind,
            code: code.to_owned(),
            worker,
            gateway,
        })
    };
    let mut mismatches = Vec::new();
    let mut notes = Vec::new();
    for code in &b.unknown_to_worker {
        if let Some(o) = gw.get(code.as_str()) {
            push(
                &mut mismatches,
                "attempt unknown to the worker",
                code,
                "404".into(),
                gw_text(Some(o)),
            );
        }
    }
    let known: BTreeSet<&str> = b.attempts.iter().map(|a| a.charge_code.as_str()).collect();
    for o in &b.ledger.orders {
        if !known.contains(o.charge_code.as_str()) && !b.unknown_to_worker.contains(&o.charge_code)
        {
            push(
                &mut mismatches,
                "gateway order never seen by the driver",
                &o.charge_code,
                "-".into(),
                gw_text(Some(o)),
            );
        }
    }
    for a in &b.attempts {
        let o = gw.get(a.charge_code.as_str()).copied();
        if a.holds_payment() {
            c.worker_net_fen += a.amount_fen as i64 - a.refunded_fen as i64;
        }
        let expected = expected_states(o);
        if !expected.contains(&a.state.as_str()) {
            let (list, kind) = match (o, a.state.as_str()) {
                (None, "pending") => (&mut notes, "pending attempt the gateway never created"),
                (Some(o), "closed") if o.state == 2 => {
                    (&mut mismatches, "revocation recorded as closed")
                }
                (Some(o), _) if o.state == 3 => {
                    (&mut mismatches, "revocation still in flight at the gateway")
                }
                (Some(o), s) if o.kept() && !a.holds_payment() => {
                    let _ = s;
                    (
                        &mut mismatches,
                        "gateway kept money the worker does not show",
                    )
                }
                (Some(o), _) if !o.kept() && a.holds_payment() => (
                    &mut mismatches,
                    "worker shows money the gateway does not hold",
                ),
                _ => (&mut mismatches, "attempt state differs"),
            };
            push(list, kind, &a.charge_code, worker_text(a), gw_text(o));
        }
        if let Some(o) = o {
            if o.refunded_fen != a.refunded_fen {
                push(
                    &mut mismatches,
                    "refunded amount differs",
                    &a.charge_code,
                    worker_text(a),
                    gw_text(Some(o)),
                );
            }
            compare_refunds(a, o, &mut mismatches);
        }
        let mut seen = BTreeSet::new();
        if let Some(twice) = a.history.iter().find(|s| !seen.insert(s.as_str())) {
            push(
                &mut mismatches,
                "state applied twice",
                &a.charge_code,
                format!("{twice} in history {}", a.history.join(">")),
                gw_text(o),
            );
        }
    }
    compare_links(b, &gw, &mut mismatches);
    compare_heard(b, &gw, &mut mismatches);
    if c.gateway_net_fen != c.worker_net_fen {
        push(
            &mut mismatches,
            "net money differs",
            "all",
            format!("{} fen", c.worker_net_fen),
            format!("{} fen", c.gateway_net_fen),
        );
    }
    mismatches.sort();
    c.mismatches = mismatches;
    c.notes = notes;
    c
}

/// The attempts the Worker still shows `pending` that the gateway has
/// closed with nothing captured, and that `asked` does not hold: `asked`
/// is the codes whose live query came back with the gateway's close
/// ([`close_seen`]), i.e. the Worker has been told. The gateway closes an
/// unpaid trade at its `TIME_EXPIRE` on its own, during the reconciliation
/// too (trades of the schedule's last quarter of an hour expire then),
/// and notifies nobody: the Worker learns it from its next `query`. Until
/// the Worker has been told, such a disagreement is the moment of the
/// comparison, not the books: the run asks again before it may end
/// (`main`). A live query that did not reach the gateway (its query slot
/// taken a moment before, a crash) or reached it before the close does
/// not count as telling: on a loaded machine the last trades expire
/// between two rounds, and a run once ended on such a close although the
/// Worker applied it seconds later (seed 8812, 1,000 payments, `--crash`).
pub fn closed_since_asked(b: &Books, asked: &BTreeSet<String>) -> Vec<String> {
    let gw = b.ledger.by_code();
    b.attempts
        .iter()
        .filter(|a| a.state == "pending" && !asked.contains(&a.charge_code))
        .filter(|a| {
            gw.get(a.charge_code.as_str())
                .is_some_and(|o| o.state == 6 && o.captured_fen == 0)
        })
        .map(|a| a.charge_code.clone())
        .collect()
}

/// Whether a live `GET /v1/orders/{code}` answer shows the gateway's close
/// (its `gateway.state` is `6`, closed): the Worker has then applied it.
pub fn close_seen(answer: &Value) -> bool {
    answer["gateway"]["state"].as_str() == Some("6")
}

fn compare_refunds(a: &WorkerAttempt, o: &GatewayOrder, out: &mut Vec<Mismatch>) {
    let mut push = |kind, no: &str, worker: String, gateway: String| {
        out.push(Mismatch {
            kind,
            code: format!("{} refund {no}", a.charge_code),
            worker,
            gateway,
        })
    };
    for r in &o.refunds {
        let w = a
            .refunds
            .iter()
            .find(|w| w.out_refund_no == r.out_refund_no);
        let gw = format!("{} fen state {}", r.amount_fen, r.state);
        match w {
            None => push(
                "refund unknown to the worker",
                &r.out_refund_no,
                "-".into(),
                gw.clone(),
            ),
            Some(w)
                if r.state == 11 && (w.state != "succeeded" || w.amount_fen != r.amount_fen) =>
            {
                push(
                    "refund differs",
                    &r.out_refund_no,
                    format!("{} fen {}", w.amount_fen, w.state),
                    gw.clone(),
                )
            }
            _ => {}
        }
        if r.out_refund_no.starts_with(DUP_PREFIX) {
            let ours = settle::duplicate_refund_try(&a.charge_code, &r.out_refund_no).is_some();
            if !ours || r.amount_fen != o.amount_fen {
                push(
                    "duplicate refund of the wrong attempt or amount",
                    &r.out_refund_no,
                    "-".into(),
                    format!("{gw} on an attempt of {} fen", o.amount_fen),
                );
            }
        }
    }
    for w in &a.refunds {
        let r = o
            .refunds
            .iter()
            .find(|r| r.out_refund_no == w.out_refund_no);
        let worker = format!("{} fen {}", w.amount_fen, w.state);
        match (w.state.as_str(), r) {
            ("succeeded", None) => push(
                "refund the gateway never made",
                &w.out_refund_no,
                worker,
                "-".into(),
            ),
            ("succeeded", Some(r)) if r.state != 11 => push(
                "refund differs",
                &w.out_refund_no,
                worker,
                format!("{} fen state {}", r.amount_fen, r.state),
            ),
            ("pending", r) => push(
                "refund left pending",
                &w.out_refund_no,
                worker,
                r.map(|r| format!("{} fen state {}", r.amount_fen, r.state))
                    .unwrap_or_else(|| "-".into()),
            ),
            _ => {}
        }
    }
}

/// What the merchant heard against the money: `order.paid` exactly once
/// per kept payment, and never for money refunded as a duplicate — that one
/// is `payment.duplicate` once, then `payment.duplicate_refunded` once the
/// gateway refunded it. (Every path that records money goes through
/// `paid`, so "money arrived" is `paid` in the attempt's history.)
fn compare_heard(b: &Books, gw: &BTreeMap<&str, &GatewayOrder>, out: &mut Vec<Mismatch>) {
    for a in &b.attempts {
        let heard = |kind: &str| {
            b.heard
                .iter()
                .filter(|(k, c)| k == kind && *c == a.charge_code)
                .count()
        };
        let (paid, duplicate) = (heard("order.paid"), heard("payment.duplicate"));
        let refunded = heard("payment.duplicate_refunded");
        let money = a.history.iter().any(|s| s == "paid");
        let dup_refunded = gw
            .get(a.charge_code.as_str())
            .is_some_and(|o| o.dup_refunds().next().is_some());
        let kind = if dup_refunded && paid > 0 {
            "order.paid for money refunded as a duplicate"
        } else if paid + duplicate != usize::from(money) {
            "payment not heard exactly once"
        } else if dup_refunded && (duplicate, refunded) != (1, 1) {
            "duplicate refund not heard"
        } else {
            continue;
        };
        out.push(Mismatch {
            kind,
            code: a.charge_code.clone(),
            worker: format!(
                "heard order.paid {paid}, payment.duplicate {duplicate}, \
                 payment.duplicate_refunded {refunded}; {}",
                worker_text(a)
            ),
            gateway: gw_text(gw.get(a.charge_code.as_str()).copied()),
        });
    }
}

fn compare_links(b: &Books, gw: &BTreeMap<&str, &GatewayOrder>, out: &mut Vec<Mismatch>) {
    let mut by_link: BTreeMap<usize, Vec<&WorkerAttempt>> = BTreeMap::new();
    for a in &b.attempts {
        if let Some(l) = a.link {
            by_link.entry(l).or_default().push(a);
        }
    }
    for link in &b.links {
        let attempts = by_link.remove(&link.link).unwrap_or_default();
        let mut net = Vec::new();
        for a in &attempts {
            let Some(o) = gw.get(a.charge_code.as_str()) else {
                continue;
            };
            if o.kept() && o.dup_refunds().next().is_none() {
                net.push(a.charge_code.as_str());
            }
        }
        if link.counter {
            // Every payment of a counter code is kept: none refunded as a
            // duplicate, and the code is never paid.
            let refunded = attempts.iter().find(|a| {
                gw.get(a.charge_code.as_str())
                    .is_some_and(|o| o.dup_refunds().next().is_some())
            });
            let kind = match (link.state.as_str(), refunded) {
                ("paid", _) => "counter code paid",
                (_, Some(_)) => "counter payment refunded as a duplicate",
                _ => continue,
            };
            out.push(Mismatch {
                kind,
                code: format!("link {}", link.link),
                worker: link.state.clone(),
                gateway: refunded.map_or_else(String::new, |a| a.charge_code.clone()),
            });
            continue;
        }
        let paid = link.state == "paid";
        let short = |code: &str| code.get(..8).unwrap_or(code).to_owned();
        let worker = || {
            let each: Vec<String> = attempts
                .iter()
                .map(|a| format!("{} {}", short(&a.charge_code), a.state))
                .collect();
            format!("{} [{}]", link.state, each.join(", "))
        };
        let describe = |codes: &[&str]| {
            let each: Vec<String> = attempts
                .iter()
                .map(|a| match gw.get(a.charge_code.as_str()) {
                    None => format!("{} not held", short(&a.charge_code)),
                    Some(o) => format!(
                        "{} state {} captured {} returned {}{}",
                        short(&a.charge_code),
                        o.state,
                        o.captured_fen,
                        o.returned_fen,
                        if o.dup_refunds().next().is_some() {
                            " dup-refunded"
                        } else {
                            ""
                        }
                    ),
                })
                .collect();
            format!("{} net payment(s) [{}]", codes.len(), each.join(", "))
        };
        let kind = match (paid, net.len()) {
            (true, 1) | (false, 0) => continue,
            (true, 0) => "link paid without the money",
            (false, 1) => "money held but link not paid",
            (_, _) => "extra payment not refunded",
        };
        out.push(Mismatch {
            kind,
            code: format!("link {}", link.link),
            worker: worker(),
            gateway: describe(&net),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn gw(
        code: &str,
        state: u64,
        captured: u64,
        returned: u64,
        refunds: &[(&str, u64)],
    ) -> GatewayOrder {
        GatewayOrder {
            charge_code: code.into(),
            interface: "order/NATIVE".into(),
            amount_fen: 100,
            state,
            captured_fen: captured,
            returned_fen: returned,
            refunded_fen: refunds.iter().map(|r| r.1).sum(),
            refunds: refunds
                .iter()
                .map(|(no, amt)| GatewayRefund {
                    out_refund_no: (*no).into(),
                    amount_fen: *amt,
                    state: 11,
                })
                .collect(),
        }
    }

    fn worker(code: &str, state: &str, refunds: &[(&str, u64)]) -> WorkerAttempt {
        WorkerAttempt {
            charge_code: code.into(),
            link: Some(0),
            state: state.into(),
            amount_fen: 100,
            refunded_fen: refunds.iter().map(|r| r.1).sum(),
            refunds: refunds
                .iter()
                .map(|(no, amt)| WorkerRefund {
                    out_refund_no: (*no).into(),
                    amount_fen: *amt,
                    state: "succeeded".into(),
                })
                .collect(),
            history: vec!["paid".into()],
        }
    }

    /// Books whose merchant heard what the money says.
    fn books(orders: Vec<GatewayOrder>, attempts: Vec<WorkerAttempt>, link: &str) -> Books {
        let mut heard = Vec::new();
        for a in &attempts {
            let code = a.charge_code.clone();
            let dup = orders
                .iter()
                .any(|o| o.charge_code == code && o.dup_refunds().next().is_some());
            let kinds: &[&str] = match (a.history.iter().any(|s| s == "paid"), dup) {
                (false, _) => &[],
                (true, false) => &["order.paid"],
                (true, true) => &["payment.duplicate", "payment.duplicate_refunded"],
            };
            heard.extend(kinds.iter().map(|k| (k.to_string(), code.clone())));
        }
        books_heard(orders, attempts, link, heard)
    }

    fn books_heard(
        orders: Vec<GatewayOrder>,
        attempts: Vec<WorkerAttempt>,
        link: &str,
        heard: Vec<(String, String)>,
    ) -> Books {
        let net_fen = orders
            .iter()
            .map(|o| o.captured_fen as i64 - o.returned_fen as i64 - o.refunded_fen as i64)
            .sum();
        Books {
            ledger: Ledger {
                orders,
                totals: Totals { net_fen },
            },
            attempts,
            unknown_to_worker: Vec::new(),
            links: vec![WorkerLink {
                link: 0,
                state: link.into(),
                counter: false,
            }],
            heard,
        }
    }

    /// A trade the gateway closed by expiry since the Worker last asked is
    /// a mismatch like any other, but one the run asks about once more
    /// before it may end; once asked, or anything else, it is not.
    #[test]
    fn a_trade_closed_since_the_worker_asked_gets_one_more_query() {
        let b = books(
            vec![
                gw("closed", 6, 0, 0, &[]),
                gw("asked", 6, 0, 0, &[]),
                gw("pending", 0, 0, 0, &[]),
                gw("paid", 1, 100, 0, &[]),
                gw("known", 6, 0, 0, &[]),
            ],
            vec![
                worker("closed", "pending", &[]),
                worker("asked", "pending", &[]),
                worker("pending", "pending", &[]),
                worker("paid", "pending", &[]),
                worker("known", "closed", &[]),
            ],
            "unpaid",
        );
        assert_eq!(
            kinds(&b)
                .iter()
                .filter(|k| **k == "attempt state differs")
                .count(),
            2,
            "closed at the gateway, pending at the Worker: a mismatch"
        );
        let asked = BTreeSet::from(["asked".to_owned()]);
        assert_eq!(closed_since_asked(&b, &asked), vec!["closed".to_owned()]);
    }

    /// Only a live answer carrying the gateway's close tells the Worker:
    /// not a failed query, not one that found the trade still open.
    #[test]
    fn a_live_answer_tells_the_close_only_when_the_gateway_gave_it() {
        assert!(close_seen(&json!({"gateway": {"state": "6"}})));
        assert!(!close_seen(&json!({"gateway": {"state": "0"}})));
        assert!(!close_seen(
            &json!({"gateway": {"error": {"code": "GATEWAY_UNAVAILABLE"}}})
        ));
        assert!(!close_seen(&json!({"gateway": null})));
    }

    fn kinds(b: &Books) -> Vec<&'static str> {
        compare(b).mismatches.iter().map(|m| m.kind).collect()
    }

    /// Paid twice: the second refunded as a duplicate, the first kept.
    fn paid_twice() -> (Vec<GatewayOrder>, Vec<WorkerAttempt>) {
        (
            vec![
                gw("A", 1, 100, 0, &[]),
                gw("B", 5, 100, 0, &[("dup-B", 100)]),
            ],
            vec![
                worker("A", "paid", &[]),
                worker("B", "refunded", &[("dup-B", 100)]),
            ],
        )
    }

    #[test]
    fn a_counter_code_keeps_every_payment() {
        let counter = |orders: Vec<GatewayOrder>, attempts, state: &str| {
            let mut b = books(orders, attempts, state);
            b.links[0].counter = true;
            kinds(&b)
        };
        let two = || vec![worker("A", "paid", &[]), worker("B", "paid", &[])];
        let held = || vec![gw("A", 1, 100, 0, &[]), gw("B", 1, 100, 0, &[])];
        assert_eq!(counter(held(), two(), "open"), Vec::<&str>::new());
        assert_eq!(counter(held(), two(), "paid"), ["counter code paid"]);
        let refunded = vec![
            gw("A", 1, 100, 0, &[]),
            gw("B", 5, 100, 0, &[("dup-B", 100)]),
        ];
        let attempts = vec![
            worker("A", "paid", &[]),
            worker("B", "refunded", &[("dup-B", 100)]),
        ];
        assert_eq!(
            counter(refunded, attempts, "open"),
            ["counter payment refunded as a duplicate"]
        );
    }

    #[test]
    fn an_order_paid_for_a_duplicate_is_caught() {
        let (paid, dup, refunded) = (
            "order.paid",
            "payment.duplicate",
            "payment.duplicate_refunded",
        );
        let cases: &[(&[(&str, &str)], &str)] = &[
            // What the Worker said before the judge ran in the transition.
            (
                &[(paid, "A"), (paid, "B"), (refunded, "B")],
                "order.paid for money refunded as a duplicate",
            ),
            // The kept payment heard twice, or never.
            (
                &[(paid, "A"), (paid, "A"), (dup, "B"), (refunded, "B")],
                "payment not heard exactly once",
            ),
            (
                &[(dup, "B"), (refunded, "B")],
                "payment not heard exactly once",
            ),
            // The duplicate's refund unheard.
            (&[(paid, "A"), (dup, "B")], "duplicate refund not heard"),
        ];
        for (heard, want) in cases {
            let (orders, attempts) = paid_twice();
            let b = books_heard(
                orders,
                attempts,
                "paid",
                heard
                    .iter()
                    .map(|(k, c)| (k.to_string(), c.to_string()))
                    .collect(),
            );
            assert_eq!(kinds(&b), [*want], "{heard:?}");
        }
    }

    #[test]
    fn agreeing_books_have_no_mismatch() {
        let (orders, attempts) = paid_twice();
        let b = books(orders, attempts, "paid");
        assert_eq!(compare(&b).mismatches, vec![]);
    }

    #[test]
    fn a_duplicate_refunded_on_its_second_try_agrees() {
        // The first try was refused (the gateway lists no refund for it),
        // the second succeeded.
        let mut refused = worker("B", "refunded", &[("dup-B-2", 100)]);
        refused.refunds.insert(
            0,
            WorkerRefund {
                out_refund_no: "dup-B".into(),
                amount_fen: 100,
                state: "failed".into(),
            },
        );
        let b = books(
            vec![
                gw("A", 1, 100, 0, &[]),
                gw("B", 5, 100, 0, &[("dup-B-2", 100)]),
            ],
            vec![worker("A", "paid", &[]), refused],
            "paid",
        );
        assert_eq!(compare(&b).mismatches, vec![]);
        // A try numbered for another attempt is not this one's refund.
        let b = books(
            vec![
                gw("A", 1, 100, 0, &[]),
                gw("B", 5, 100, 0, &[("dup-A-2", 100)]),
            ],
            vec![
                worker("A", "paid", &[]),
                worker("B", "refunded", &[("dup-A-2", 100)]),
            ],
            "paid",
        );
        assert!(kinds(&b).contains(&"duplicate refund of the wrong attempt or amount"));
    }

    #[test]
    fn a_revoked_paid_attempt_kept_as_paid_is_caught() {
        // Defect 1: the gateway revoked (money returned) while the Worker
        // kept the attempt paid and the link paid.
        let b = books(
            vec![gw("A", 2, 100, 100, &[])],
            vec![worker("A", "paid", &[])],
            "paid",
        );
        assert_eq!(
            kinds(&b),
            vec![
                "link paid without the money",
                "net money differs",
                "worker shows money the gateway does not hold"
            ]
        );
    }

    #[test]
    fn an_unrefunded_second_payment_is_caught() {
        let b = books(
            vec![gw("A", 1, 100, 0, &[]), gw("B", 1, 100, 0, &[])],
            vec![worker("A", "paid", &[]), worker("B", "failed", &[])],
            "paid",
        );
        assert_eq!(
            kinds(&b),
            vec![
                "extra payment not refunded",
                "gateway kept money the worker does not show",
                "net money differs"
            ]
        );
    }

    #[test]
    fn reads_the_sandbox_ledger() {
        let v = serde_json::json!({"orders":[{"charge_code":"A","busi_code":"01000001",
            "interface":"order/NATIVE","amount_fen":1250,"state":4,"state_name":"partially refunded",
            "captured_fen":1250,"returned_fen":0,"refunded_fen":500,"net_fen":750,
            "refunds":[{"out_refund_no":"R-1","amount_fen":500,"state":11},
                       {"out_refund_no":null,"amount_fen":1,"state":11}]}],
            "totals":{"orders":1,"captured_fen":1250,"returned_fen":0,"refunded_fen":500,"net_fen":750}});
        let l: Ledger = serde_json::from_value(v).unwrap();
        assert_eq!(l.totals.net_fen, 750);
        assert_eq!(l.orders[0].refunds[0].out_refund_no, "R-1");
        assert_eq!(l.orders[0].refunds[1].out_refund_no, "");
    }

    #[test]
    fn the_state_mapping() {
        let o = |state, captured| Some(gw("A", state, captured, 0, &[]));
        assert_eq!(expected_states(None), ["failed"]);
        assert_eq!(expected_states(o(0, 0).as_ref()), ["pending", "failed"]);
        assert_eq!(expected_states(o(1, 100).as_ref()), ["paid"]);
        assert_eq!(expected_states(o(2, 0).as_ref()), ["revoked"]);
        assert!(expected_states(o(3, 0).as_ref()).is_empty());
        assert_eq!(expected_states(o(6, 0).as_ref()), ["closed", "failed"]);
    }

    #[test]
    fn a_closed_revocation_and_a_pending_refund_are_caught() {
        let mut w = worker("A", "closed", &[]);
        w.history = vec!["closed".into()];
        let mut p = worker("B", "paid", &[]);
        p.refunds.push(WorkerRefund {
            out_refund_no: "R1".into(),
            amount_fen: 30,
            state: "pending".into(),
        });
        let b = books(
            vec![gw("A", 2, 0, 0, &[]), gw("B", 4, 100, 0, &[("R1", 30)])],
            vec![w, p],
            "paid",
        );
        let k = kinds(&b);
        assert!(k.contains(&"revocation recorded as closed"), "{k:?}");
        assert!(k.contains(&"refund differs"), "{k:?}");
        assert!(k.contains(&"refund left pending"), "{k:?}");
        assert!(k.contains(&"refunded amount differs"), "{k:?}");
    }

    #[test]
    fn a_state_applied_twice_is_caught() {
        let mut w = worker("A", "paid", &[]);
        w.history = vec!["paid".into(), "paid".into()];
        let b = books(vec![gw("A", 1, 100, 0, &[])], vec![w], "paid");
        assert_eq!(kinds(&b), vec!["state applied twice"]);
    }

    #[test]
    fn a_pending_attempt_the_gateway_never_created_is_a_note() {
        let mut w = worker("A", "pending", &[]);
        w.history.clear();
        let b = books(vec![], vec![w], "open");
        let c = compare(&b);
        assert_eq!(c.mismatches, vec![]);
        assert_eq!(c.notes.len(), 1);
    }
}
