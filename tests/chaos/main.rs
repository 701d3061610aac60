//! `chaos`: the money-safety run of issue 9. A seeded random schedule of
//! shopper taps, wallet payments and cancels, notifications (duplicated,
//! delayed, reordered, dropped, forged), one-shot gateway faults, slow
//! revocations, merchant refunds, cancels and POS charges with retried
//! `Idempotency-Key`s, and cron runs, against the real Worker (wrangler dev,
//! local D1) and the real sandbox; then it reconciles and compares the
//! Worker's books with the sandbox's ledger attempt by attempt and link by
//! link (see [`books`] for the rules).
//!
//! Started by `cargo xtask chaos [--seed N] [--payments N]` (and, smaller,
//! by `cargo xtask test`) with the stack's `E2E_*` environment; it lives in
//! the e2e crate to share its HTTP helpers. Exit status: 0 when the books
//! agree, 1 on any mismatch (with a one-line reproduction command), 2 when
//! the run itself could not be carried out.

mod books;
mod epay;
mod plan;
mod rng;
mod run;

use run::Driver;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What the command line asks for.
#[derive(Debug, PartialEq, Eq)]
struct Args {
    seed: u64,
    payments: usize,
    /// How long the books may stay unchanged, still disagreeing, before
    /// the reconciliation is considered quiet (the Worker retries pending
    /// refunds 60 s after they were left pending).
    settle_secs: u64,
    /// Kill the Worker's runtime at seeded moments (`plan::add_crashes`).
    crash: bool,
}

fn parse_args(args: &[String], default_seed: u64) -> Result<Args, String> {
    let mut out = Args {
        seed: default_seed,
        payments: 1000,
        settle_secs: 65,
        crash: false,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{name} needs a number"))
        };
        match a.as_str() {
            "--seed" => out.seed = value("--seed")?,
            "--payments" => out.payments = value("--payments")?.max(1) as usize,
            "--settle-secs" => out.settle_secs = value("--settle-secs")?,
            "--crash" => out.crash = true,
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(out)
}

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let clock_seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 % 1_000_000_000)
        .unwrap_or(1);
    let args = match parse_args(&argv, clock_seed) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "chaos: {e}\nusage: chaos [--seed N] [--payments N] [--settle-secs N] [--crash]"
            );
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            println!(
                "chaos: FAILED; reproduce with: cargo xtask chaos --seed {} --payments {}{}",
                args.seed,
                args.payments,
                if args.crash { " --crash" } else { "" }
            );
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("chaos: the run could not be carried out: {e}");
            println!(
                "chaos: ERROR; reproduce with: cargo xtask chaos --seed {} --payments {}{}",
                args.seed,
                args.payments,
                if args.crash { " --crash" } else { "" }
            );
            ExitCode::from(2)
        }
    }
}

/// The whole run; `Ok(true)` when the books agree.
fn run(args: &Args) -> Result<bool, String> {
    let started = Instant::now();
    let mut plan = plan::generate(args.seed, args.payments);
    if args.crash {
        plan::add_crashes(&mut plan, args.seed);
    }
    println!(
        "chaos: seed {} — {} payments on {} links and {} POS charges, {} steps ({} concurrent)",
        args.seed,
        plan.payments,
        plan.links,
        plan.pos,
        plan.steps.len(),
        plan.steps.iter().filter(|s| s.actions().len() > 1).count()
    );
    let d = Driver::new(e2e::E2e::from_env(), args.seed, epay::App::start()?);
    // Notifications are the driver's to send; preOrders left pending
    // revoke themselves quickly so the run stays short.
    d.settings(json!({"notify_mode": "manual", "revoke_delay_ms": 0,
        "pre_order_pending": false, "pre_order_auto_revoke_ms": 3000}))?;
    match d.sandbox(reqwest::Method::GET, "/sandbox/settings", None) {
        Ok((200, s)) if s["notify_mode"] == "manual" => {}
        other => {
            return Err(format!(
                "the sandbox does not support notify_mode=manual (settings: {:?}); \
                 it needs the chaos additions of crates/sandbox",
                other.map(|(_, v)| v)
            ))
        }
    }
    d.ledger()?;

    for (i, step) in plan.steps.iter().enumerate() {
        d.step(i, step);
        if (i + 1) % 250 == 0 {
            eprintln!(
                "chaos: {}/{} steps, {:.0?}",
                i + 1,
                plan.steps.len(),
                started.elapsed()
            );
        }
    }
    let schedule_time = started.elapsed();

    // The end: no more faults, the held-back notifications, then the
    // gateway notifies by itself again and the reconciler runs until quiet.
    d.sandbox(reqwest::Method::DELETE, "/sandbox/faults", None)
        .map_err(|e| format!("clear faults: {e}"))?;
    d.settings(json!({"revoke_delay_ms": 0, "pre_order_pending": false}))?;
    for a in &plan.at_end {
        d.act(a);
    }
    d.settings(json!({"notify_mode": "auto"}))?;
    let settle = Instant::now();
    // First what the product's own reconciler (the cron) achieves, shown
    // for information: it queries pending attempts only.
    let _ = d.cron();
    let codes = d.all_codes(&d.ledger()?);
    let cron_only = books::compare(&d.books(&codes)?);
    // The codes whose live query told the Worker of the gateway's close.
    let mut asked: BTreeSet<String> = d.query_live(&codes);
    let mut last: Option<(books::Books, Instant)> = None;
    let mut rounds = 0;
    let comparison = loop {
        rounds += 1;
        let _ = d.cron();
        let codes = d.all_codes(&d.ledger()?);
        let b = d.books(&codes)?;
        let c = books::compare(&b);
        let unchanged_since = match &last {
            Some((prev, since)) if *prev == b => *since,
            _ => Instant::now(),
        };
        // At least three rounds before the time runs out: on a loaded
        // machine one round can outlast it, and the gateway closes expired
        // trades (900 s) meanwhile, which only a later round sees. Nor does
        // the time end a run on such a close the Worker has not been told
        // of (`books::closed_since_asked`): the comparison caught the
        // gateway between its own change and the Worker's next query; that
        // attempt gets live queries and more rounds until one reaches the
        // gateway after the close — bounded by twice the time in which
        // every trade of the schedule has expired, so a Worker that never
        // learns a close still ends the run, with the mismatch.
        let closed_since = books::closed_since_asked(&b, &asked);
        let out_of_time = rounds >= 3
            && settle.elapsed() >= Duration::from_secs(args.settle_secs * 2)
            && (closed_since.is_empty() || settle.elapsed() >= expiries_end(args) * 2);
        let quiet = c.mismatches.is_empty()
            || unchanged_since.elapsed() >= Duration::from_secs(args.settle_secs)
            || out_of_time;
        if quiet {
            break c;
        }
        // What still disagrees gets a live query (the Worker applies it).
        let disputed: Vec<String> = c
            .mismatches
            .iter()
            .filter_map(|m| {
                let code = m.code.split_whitespace().next()?;
                codes.contains(&code.to_owned()).then(|| code.to_owned())
            })
            .collect();
        asked.extend(d.query_live(&disputed));
        last = Some((b, unchanged_since));
        std::thread::sleep(Duration::from_secs(3));
    };

    if let Ok(dir) = std::env::var("E2E_RUN_DIR") {
        let path = std::path::Path::new(&dir).join("chaos-trace.txt");
        match d.write_trace(&path) {
            Ok(()) => println!("trace of every step: {}", path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", path.display()),
        }
    }
    // Every event reached the merchant despite the crashes.
    let webhooks = if args.crash {
        // A queue message lost with a killed runtime is sent again by the
        // cron once WEBHOOK_OVERDUE_SECS (120 s) overdue.
        Some(d.check_webhooks((args.settle_secs * 2).max(240))?)
    } else {
        None
    };
    // The epay app heard of every paid trade exactly once, at least once
    // after a crash (deliveries are asynchronous: up to a minute for the
    // last ones).
    let crashed = d.tally.lock().unwrap().crashes.values().sum::<u64>() > 0;
    let epay_mismatches = match &d.epay {
        None => Vec::new(),
        Some(app) => {
            let waited = Instant::now();
            loop {
                let states: BTreeMap<usize, String> = d
                    .link_states()?
                    .into_iter()
                    .map(|l| (l.link, l.state))
                    .collect();
                let found = app.check(&states, crashed);
                if found.is_empty() || waited.elapsed() >= Duration::from_secs(60) {
                    let (opened, notified) = app.counts();
                    println!(
                        "epay: {opened} trades opened through mapi.php, {notified} notified \
                         to the app ({} more than once{}); {} notification mismatches",
                        app.repeated(),
                        if crashed {
                            ", allowed after a crash"
                        } else {
                            ""
                        },
                        found.len()
                    );
                    break found;
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        }
    };
    let tally = d.tally.lock().unwrap();
    let mut mismatches = tally.mismatches.clone();
    mismatches.extend(comparison.mismatches.iter().cloned());
    mismatches.extend(epay_mismatches);
    report(args, &plan, &tally, &comparison, &mismatches, rounds);
    if let Some((events, received)) = webhooks {
        println!(
            "webhooks: {events} events, {received} deliveries received (every event at least once: {})",
            if mismatches.iter().any(|m| m.kind.starts_with("webhook")) { "NO" } else { "yes" }
        );
    }
    println!(
        "before the live queries (cron only): {} mismatches{}",
        cron_only.mismatches.len(),
        by_kind(&cron_only.mismatches)
            .iter()
            .map(|(k, v)| format!("; {k}: {}", v.len()))
            .collect::<String>()
    );
    println!(
        "wall time: {:.1?} (schedule {:.1?}, reconciliation {:.1?} in {rounds} rounds)",
        started.elapsed(),
        schedule_time,
        settle.elapsed()
    );
    Ok(mismatches.is_empty())
}

/// How long after the reconciliation starts the gateway may still close a
/// trade of the schedule by its `TIME_EXPIRE` (the longest the Worker
/// sends; WeChat's trades are sent without one), and a round after it.
fn expiries_end(args: &Args) -> Duration {
    use checkout::gateway::requests::{ALIPAY_JSAPI_EXPIRE_SECS, WAP_EXPIRE_SECS};
    let longest = u64::from(ALIPAY_JSAPI_EXPIRE_SECS.max(WAP_EXPIRE_SECS));
    Duration::from_secs(longest + args.settle_secs)
}

fn report(
    args: &Args,
    plan: &plan::Plan,
    tally: &run::Tally,
    c: &books::Comparison,
    mismatches: &[books::Mismatch],
    rounds: usize,
) {
    println!();
    println!("seed: {}", args.seed);
    println!(
        "payments: {} ({} links, {} POS charges)",
        plan.payments, plan.links, plan.pos
    );
    let total: u64 = tally.events.values().flat_map(|m| m.values()).sum();
    println!("events: {total}");
    for (kind, outcomes) in &tally.events {
        let n: u64 = outcomes.values().sum();
        let detail: Vec<String> = outcomes.iter().map(|(o, n)| format!("{o}: {n}")).collect();
        println!("  {kind:<22} {n:>6}  {}", detail.join(", "));
    }
    if args.crash {
        let crashes: u64 = tally.crashes.values().sum();
        println!("crashes injected (SIGKILL of the Worker's runtime, restarted on the same D1): {crashes}");
        for (window, n) in &tally.crashes {
            println!("  {window:<45} {n:>5}");
        }
    }
    let faults: u64 = tally.faults.values().sum();
    println!("faults injected: {faults}");
    for (kind, n) in &tally.faults {
        println!("  {kind:<40} {n:>5}");
    }
    let idem: Vec<String> = tally
        .idempotency
        .iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect();
    println!(
        "Idempotency-Key probes: {}",
        if idem.is_empty() {
            "none".to_owned()
        } else {
            idem.join(", ")
        }
    );
    println!(
        "money: gateway net {} fen, worker net {} fen (after {rounds} reconciliation rounds)",
        c.gateway_net_fen, c.worker_net_fen
    );
    for n in &c.notes {
        println!(
            "  note: {} {}: worker {}, gateway {}",
            n.kind, n.code, n.worker, n.gateway
        );
    }
    println!("mismatches: {}", mismatches.len());
    // All of them, one a line, next to the logs of the run.
    if let Ok(dir) = std::env::var("E2E_RUN_DIR") {
        let path = std::path::Path::new(&dir).join("chaos-mismatches.txt");
        let lines: String = mismatches
            .iter()
            .map(|m| {
                format!(
                    "{}\t{}\tworker: {}\tgateway: {}\n",
                    m.kind, m.code, m.worker, m.gateway
                )
            })
            .collect();
        match std::fs::write(&path, lines) {
            Ok(()) => println!("  (every mismatch: {})", path.display()),
            Err(e) => eprintln!("cannot write {}: {e}", path.display()),
        }
    }
    const SHOWN: usize = 8;
    for (kind, list) in &by_kind(mismatches) {
        println!("  {kind}: {}", list.len());
        for m in list.iter().take(SHOWN) {
            println!(
                "    {}: worker says {}; gateway says {}",
                m.code, m.worker, m.gateway
            );
        }
        if list.len() > SHOWN {
            println!("    … {} more", list.len() - SHOWN);
        }
    }
}

/// Mismatches grouped by kind.
fn by_kind(mismatches: &[books::Mismatch]) -> BTreeMap<&'static str, Vec<&books::Mismatch>> {
    let mut out: BTreeMap<&str, Vec<&books::Mismatch>> = BTreeMap::new();
    for m in mismatches {
        out.entry(m.kind).or_default().push(m);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Result<Args, String> {
        parse_args(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>(), 5)
    }

    #[test]
    fn arguments() {
        assert_eq!(
            args(&[]).unwrap(),
            Args {
                seed: 5,
                payments: 1000,
                settle_secs: 65,
                crash: false,
            }
        );
        let a = args(&["--seed", "9", "--payments", "120"]).unwrap();
        assert_eq!((a.seed, a.payments), (9, 120));
        assert!(args(&["--seed"]).is_err());
        assert!(args(&["--what"]).is_err());
        assert!(args(&["--crash"]).unwrap().crash);
    }
}
