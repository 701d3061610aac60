//! `cargo xtask bench`: the numbers of issue 12 in one run, printed, never
//! asserted. Builds once, starts its own stack (sandbox + Worker under
//! wrangler dev, local D1), then:
//!
//! 0. the cron sweep under a backlog (issue 24): cron runs until 100 lost
//!    payments among 10,000 pending attempts are found, before and after;
//! 1. the Worker figures (`tests/bench/main.rs`): pay overhead against a
//!    direct gateway call, `/notify` intake with duplicates and the
//!    paid-exactly-once check, per-route gateway and D1 figures; twice:
//!    straight to the Worker's workerd (`tests/bench/workerd.mjs`), then
//!    through `wrangler dev` and its ProxyWorker; on the direct runner also
//!    CPU per request by route and the cold start against the floor Worker
//!    (`tests/bench/floor-worker`, built with the Worker);
//! 2. the page under Slow 4G in headless Chromium (`tests/bench/page.mjs`);
//! 3. the first-load sizes (`size::report`);
//! 4. the protocol micro-bench (`cargo bench -p soushou --bench wire`).

use crate::stack::Runner;
use crate::{build, proc, root, size, step, Result};
use std::process::Command;

/// `cargo xtask bench [--no-build] [--worker-only] [--direct] [--lists N]`:
/// `--no-build` measures the page and the Worker as they were last built
/// (e.g. an older commit's); `--worker-only` prints the Worker's figures
/// and stops; `--direct` only those straight to workerd (no wrangler dev); `--lists N` seeds N orders and prints the lists, statement
/// and CSV figures only (`seed`; issue 21: N = 100000, 1000000), then the
/// console's "Today" and orders screen on the slow phone over those orders
/// (`tests/bench/console.mjs`; issue 22).
pub fn run(args: &[String]) -> Result<()> {
    let tools = crate::tools::ensure_all()?;
    let (mut build_first, mut worker_only, mut direct, mut lists) = (true, false, false, None);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--no-build" => build_first = false,
            "--worker-only" => worker_only = true,
            "--direct" => (worker_only, direct) = (true, true),
            "--lists" => {
                lists = Some(
                    args.next()
                        .and_then(|n| n.parse::<u64>().ok())
                        .filter(|n| *n > 0)
                        .ok_or_else(|| crate::fail!("--lists takes a number of orders"))?,
                )
            }
            other => {
                return Err(crate::fail!(
                    "unknown argument `{other}` (--no-build, --worker-only, --direct, --lists N)"
                ))
            }
        }
    }
    if build_first {
        build::all(&tools)?;
    }
    if build_first
        || !root()
            .join(build::FLOOR_DIR)
            .join("build/index.js")
            .exists()
    {
        build::floor(&tools)?;
    }
    if let Some(rows) = lists {
        return crate::seed::run(rows, &tools.chromium);
    }
    // Timings on a shared machine move with its load: print it with them.
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load().trim());

    step("the cron sweep under a backlog (model of checkout::sweep, no stack)");
    proc::run(
        Command::new("cargo")
            .args([
                "run",
                "--quiet",
                "--release",
                "-p",
                "e2e",
                "--bin",
                "bench",
                "--",
                "--backlog",
            ])
            .current_dir(root()),
    )?;

    step("the floor: one D1 round trip in this workerd, no Worker code");
    let scratch = build::target_dir()
        .join("xtask")
        .join(format!("d1floor-{}", std::process::id()));
    let d1_cpu = build::target_dir().join("xtask/d1-cpu-ms.txt");
    proc::run(
        Command::new("node")
            .arg("tests/bench/d1floor.mjs")
            .arg(&scratch)
            .arg(&d1_cpu)
            .current_dir(root()),
    )?;
    std::fs::remove_dir_all(&scratch)?;
    let d1_cpu = std::fs::read_to_string(&d1_cpu).unwrap_or_default();

    // The Worker's figures twice, each on a fresh stack (own D1): straight
    // to the Worker's workerd, without the ProxyWorker's hop, then through
    // wrangler dev as developers and the tests run it (whose stack the
    // page is measured on).
    let runners: &[Runner] = if direct {
        &[Runner::Workerd]
    } else {
        &[Runner::Workerd, Runner::WranglerDev]
    };
    for &runner in runners {
        // A merchant endpoint that takes every webhook (204), as a live
        // merchant's does: without one, each paid order's event would be
        // delivered, fail and be retried within seconds (test tuning),
        // adding D1 work to the very runs being measured.
        let dir = build::target_dir().join("xtask");
        std::fs::create_dir_all(&dir)?;
        let receiver = crate::receiver::start(
            &dir.join(format!("bench-webhooks-{}.log", std::process::id())),
        )?;
        let stack = crate::stack::for_driver_on(
            "bench",
            &[],
            runner,
            Some(receiver.url.clone()),
            Vec::new(),
        )?;
        let env = stack.env();
        step(&format!(
            "Worker {}: pay overhead, /notify intake, per-route figures",
            runner.label()
        ));
        let mut bench = Command::new(build::target_dir().join("debug/bench"));
        bench
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .env("BENCH_LABEL", runner.label())
            .env("BENCH_D1_CPU_MS", &d1_cpu)
            .current_dir(root());
        if runner == Runner::Workerd {
            bench.env("BENCH_COLD_START", "1");
        }
        proc::run(&mut bench)?;
        println!("load average: {}", load().trim());
        if runner == Runner::Workerd || worker_only {
            continue;
        }
        step("page under Slow 4G in headless Chromium (5 cold runs per profile)");
        proc::run(
            Command::new("node")
                .arg("tests/bench/page.mjs")
                .env("CHROMIUM_PATH", &tools.chromium)
                .envs(env.iter().map(|(k, v)| (*k, v)))
                .current_dir(root()),
        )?;
        println!("load average at end: {}", load().trim());
    }
    if worker_only {
        return Ok(());
    }

    size::report(&tools)?;
    size::contributors()?;

    step("protocol micro-bench");
    proc::run(
        Command::new("cargo")
            .args(["bench", "--quiet", "-p", "soushou", "--bench", "wire"])
            .current_dir(root()),
    )
}
