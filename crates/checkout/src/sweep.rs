//! Which pending attempts the cron sweep asks the gateway about, when it
//! cannot ask about all of them (issue 24, defect 12).
//!
//! The sweep has a budget per run (25 `query` calls a minute: a Worker
//! invocation's subrequests are limited). Before this module it took the
//! least recently queried pending attempts, round-robin, with no end: with
//! a backlog of `B` abandoned attempts, an attempt paid just after its
//! first query (its notification lost) waited `B / 25` minutes — 400
//! minutes at 10,000 — for its second one.
//!
//! **The rule: ask first about what can still change.** A pending attempt
//! can only change while the gateway can still take its payment, i.e.
//! before its `TIME_EXPIRE` ([`payable_for_secs`], per method). So:
//!
//! - inside that window the attempt is asked about again after a backoff
//!   that grows with its age (half its age, between the reconciler's rest
//!   and ten times `RECONCILE_AFTER_SECS`): a young attempt, where
//!   payments happen, is asked often, an old one rarely;
//! - once the window is over it is asked once more (the gateway has closed
//!   it or holds its money by then: that answer settles it); a gateway
//!   that still answers `pending` (its closing lags its expiry) is asked
//!   again at the longest backoff for [`CLOSING_GRACE_SECS`], and
//!   afterwards once a day only;
//! - of the attempts due ([`next_sweep_at`] passed), the youngest are asked
//!   first ([`pick`]): the attempts that can change are the young ones, so
//!   a backlog of old ones only gets the budget the young ones leave.
//!
//! The store keeps each attempt's next due time (`orders.sweep_at`, set
//! when a query slot is claimed) and selects with the same order in SQL
//! (`store::attempts::pending_due`, index `orders_sweep`). [`backlog`] is
//! the model `cargo xtask bench` prints the backlog figure of.

use std::cmp::Reverse;

use crate::gateway::requests::{ALIPAY_JSAPI_EXPIRE_SECS, WAP_EXPIRE_SECS};
use crate::settle::ReconcilePolicy;
use crate::vocab::OrderMethod;

/// WeChat's own expiry of an `order` sent without `TIME_EXPIRE` (JSAPI and
/// NATIVE): two hours.
pub const WECHAT_DEFAULT_EXPIRE_SECS: u64 = 2 * 3600;

/// How long after its payable window an attempt the gateway still calls
/// pending is asked about at the longest backoff (the gateway closes
/// expired trades on its own schedule, not to the second).
pub const CLOSING_GRACE_SECS: u64 = 3600;

/// How often an attempt past its payable window and the grace after it is
/// still asked about: once a day.
pub const SETTLED_RECHECK_SECS: u64 = 24 * 3600;

/// How long after its creation the gateway may still take an attempt's
/// payment: its `TIME_EXPIRE`. A POS charge (`preOrder`) is given the same
/// quarter of an hour as the wallets' trades: its own polling revokes it
/// after a minute, and a revocation is re-checked by its re-check window.
pub fn payable_for_secs(method: OrderMethod) -> u64 {
    match method {
        OrderMethod::AlipayJsapi => u64::from(ALIPAY_JSAPI_EXPIRE_SECS),
        OrderMethod::Wap | OrderMethod::Pos => u64::from(WAP_EXPIRE_SECS),
        OrderMethod::WechatJsapi | OrderMethod::Native => WECHAT_DEFAULT_EXPIRE_SECS,
    }
}

/// When the sweep should next ask about a pending attempt of `method`
/// created at `created_at`, last asked about at `queried_at` (unix
/// seconds). See the module doc for the rule.
pub fn next_sweep_at(
    pacing: &ReconcilePolicy,
    method: OrderMethod,
    created_at: u64,
    queried_at: u64,
) -> u64 {
    // The gateway's expiry, plus the time it may take to close the trade.
    let closes = created_at
        .saturating_add(payable_for_secs(method))
        .saturating_add(pacing.after_secs);
    let rest = pacing.min_interval_secs.max(1);
    let longest = pacing.after_secs.saturating_mul(10).max(rest);
    if queried_at >= closes.saturating_add(CLOSING_GRACE_SECS) {
        return queried_at.saturating_add(SETTLED_RECHECK_SECS);
    }
    if queried_at >= closes {
        return queried_at.saturating_add(longest);
    }
    let backoff = (queried_at.saturating_sub(created_at) / 2).clamp(rest, longest);
    queried_at.saturating_add(backoff).min(closes)
}

/// What the sweep knows of a pending attempt when it chooses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// Unix seconds.
    pub created_at: u64,
    /// [`next_sweep_at`] as stored at its last query; `None` before any
    /// (due once `RECONCILE_AFTER_SECS` old).
    pub sweep_at: Option<u64>,
}

/// The indexes of the attempts the sweep asks about now, at most `limit`:
/// those older than `cutoff` (`now - RECONCILE_AFTER_SECS`) and due, the
/// youngest first (ties: in the given order).
pub fn pick(candidates: &[Candidate], now: u64, cutoff: u64, limit: usize) -> Vec<usize> {
    let mut due: Vec<usize> = (0..candidates.len())
        .filter(|&i| {
            let c = candidates[i];
            c.created_at <= cutoff && c.sweep_at.unwrap_or(c.created_at) <= now
        })
        .collect();
    due.sort_by_key(|&i| Reverse(candidates[i].created_at));
    due.truncate(limit);
    due
}

/// The sweep's choice in [`backlog`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// The sweep before issue 24: least recently queried first, no age cap.
    RoundRobin,
    /// [`pick`] over [`next_sweep_at`].
    WhatCanChange,
}

/// What [`backlog`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BacklogFigure {
    /// Cron runs (one a minute) until every lost payment was found
    /// (`None`: not within the runs simulated).
    pub runs: Option<u64>,
    /// The run (minute of simulated time) that found each lost payment,
    /// sorted (those never found are left out).
    pub found_in_run: Vec<u64>,
    /// Queries made in all.
    pub queries: u64,
}

/// A seeded model of the sweep under a backlog, for the bench and the
/// test below: `pending` attempts (a quarter each WeChat JSAPI, Alipay,
/// WAP and NATIVE), created evenly over the last day and swept round-robin
/// so far (their last queries spread over the last `pending / 25`
/// minutes); `lost` of them, created 2–10 minutes ago, were paid after their
/// first query (at 30–60 s old) and their notifications lost. The
/// cron runs each minute with a budget of `per_run` queries under `rule`
/// (reconciler pacing as in production: 30 s, 10 s) until each lost
/// payment was asked about, for at most `max_runs` runs.
pub fn backlog(
    rule: Rule,
    pending: u64,
    lost: u64,
    per_run: usize,
    max_runs: u64,
    seed: u64,
) -> BacklogFigure {
    let pacing = ReconcilePolicy {
        after_secs: 30,
        min_interval_secs: 10,
    };
    const METHODS: [OrderMethod; 4] = [
        OrderMethod::WechatJsapi,
        OrderMethod::AlipayJsapi,
        OrderMethod::Wap,
        OrderMethod::Native,
    ];
    let now0: u64 = 10_000_000;
    let mut rng = seed.max(1);
    let mut next = |n: u64| {
        // xorshift64*: deterministic, no dependency.
        rng ^= rng >> 12;
        rng ^= rng << 25;
        rng ^= rng >> 27;
        rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % n.max(1)
    };
    struct Row {
        method: OrderMethod,
        created_at: u64,
        last_query_at: u64,
        /// Paid after its last query, the notification lost.
        lost: bool,
    }
    let rounds = (pending / per_run as u64).max(1) * 60;
    let mut rows: Vec<Row> = (0..pending)
        .map(|i| {
            let method = METHODS[(i % 4) as usize];
            if i < lost {
                let created_at = now0 - 120 - next(480);
                Row {
                    method,
                    created_at,
                    last_query_at: created_at + 30 + next(30),
                    lost: true,
                }
            } else {
                let created_at = now0 - 60 - next(86_400 - 60);
                let last = (now0 - next(rounds)).max(created_at + pacing.after_secs);
                Row {
                    method,
                    created_at,
                    last_query_at: last,
                    lost: false,
                }
            }
        })
        .collect();
    let (mut waits, mut queries, mut runs) = (Vec::new(), 0, None);
    for run in 1..=max_runs {
        let now = now0 + (run - 1) * 60;
        let cutoff = now - pacing.after_secs;
        let chosen = match rule {
            Rule::RoundRobin => {
                let mut due: Vec<usize> = (0..rows.len())
                    .filter(|&i| rows[i].created_at <= cutoff)
                    .collect();
                due.sort_by_key(|&i| (rows[i].last_query_at, rows[i].created_at));
                due.truncate(per_run);
                due
            }
            Rule::WhatCanChange => {
                let candidates: Vec<Candidate> = rows
                    .iter()
                    .map(|r| Candidate {
                        created_at: r.created_at,
                        sweep_at: Some(next_sweep_at(
                            &pacing,
                            r.method,
                            r.created_at,
                            r.last_query_at,
                        )),
                    })
                    .collect();
                pick(&candidates, now, cutoff, per_run)
            }
        };
        let mut found = Vec::new();
        for i in chosen {
            queries += 1;
            rows[i].last_query_at = now;
            if rows[i].lost {
                waits.push(run);
                found.push(i);
            }
        }
        // A found payment leaves the pending attempts.
        found.sort_unstable_by(|a, b| b.cmp(a));
        for i in found {
            rows.swap_remove(i);
        }
        if waits.len() as u64 == lost {
            runs = Some(run);
            break;
        }
    }
    waits.sort_unstable();
    BacklogFigure {
        runs,
        found_in_run: waits,
        queries,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACING: ReconcilePolicy = ReconcilePolicy {
        after_secs: 30,
        min_interval_secs: 10,
    };

    #[test]
    fn the_backoff_grows_with_age_and_ends_with_the_payable_window() {
        use OrderMethod::*;
        // (method, age at the query, due this long after the query)
        let cases = [
            // Young: the reconciler's rest at least.
            (Wap, 0, 10),
            (Wap, 30, 15),
            (Wap, 60, 30),
            (WechatJsapi, 200, 100),
            // Capped at ten times RECONCILE_AFTER_SECS.
            (WechatJsapi, 1000, 300),
            (WechatJsapi, 6000, 300),
            // Never past the window's end (900 + 30 s): one query there.
            (Wap, 800, 130),
            (AlipayJsapi, 800, 130),
            (Pos, 900, 30),
            (WechatJsapi, 7100, 130),
            // Asked after the window and still pending: the gateway's
            // closing may lag; at the longest backoff for an hour.
            (Wap, 930, 300),
            (Native, 7230, 300),
            (Native, 7230 + 3599, 300),
            // Then once a day.
            (Wap, 930 + 3600, SETTLED_RECHECK_SECS),
            (Native, 7230 + 3600, SETTLED_RECHECK_SECS),
            (Native, 100_000, SETTLED_RECHECK_SECS),
        ];
        for (method, age, after) in cases {
            let created = 1_000_000;
            assert_eq!(
                next_sweep_at(&PACING, method, created, created + age) - (created + age),
                after,
                "{method:?} queried at age {age}"
            );
        }
    }

    #[test]
    fn the_pick_takes_the_youngest_due_attempts() {
        let c = |created_at, sweep_at| Candidate {
            created_at,
            sweep_at,
        };
        let rows = [
            c(100, None),      // 0: due (never asked), oldest
            c(900, Some(950)), // 1: due, young
            c(800, Some(999)), // 2: not due yet
            c(980, None),      // 3: too young (past the cutoff)
            c(700, Some(960)), // 4: due
            c(900, Some(940)), // 5: due, as young as 1
        ];
        let cases = [(10, vec![1, 5, 4, 0]), (2, vec![1, 5]), (0, vec![])];
        for (limit, want) in cases {
            assert_eq!(pick(&rows, 960, 960, limit), want, "limit {limit}");
        }
    }

    /// Issue 24, defect 12: 10,000 pending attempts, 100 paid with lost
    /// notifications: every one is found within 10 cron runs (10 minutes).
    #[test]
    fn a_backlog_does_not_hide_lost_payments() {
        for seed in [1, 2, 3] {
            let after = backlog(Rule::WhatCanChange, 10_000, 100, 25, 600, seed);
            assert_eq!(after.found_in_run.len(), 100, "seed {seed}: {after:?}");
            assert!(
                after.runs.is_some_and(|r| r <= 10),
                "seed {seed}: {:?} runs",
                after.runs
            );
            assert!(after.found_in_run.iter().all(|&w| w <= 10), "{after:?}");
            // The rule before: the lost payments wait for the round.
            let before = backlog(Rule::RoundRobin, 10_000, 100, 25, 30, seed);
            assert_eq!(before.runs, None, "{before:?}");
        }
    }
}
