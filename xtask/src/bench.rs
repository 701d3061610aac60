//! `cargo xtask bench`: the numbers of issue 12 in one run, printed, never
//! asserted. Builds once, starts its own stack (sandbox + Worker under
//! wrangler dev, local D1), then:
//!
//! 1. the Worker figures (`tests/bench/main.rs`): pay overhead against a
//!    direct gateway call, `/notify` intake with duplicates and the
//!    paid-exactly-once check, per-route gateway and D1 figures;
//! 2. the page under Slow 4G in headless Chromium (`tests/bench/page.mjs`);
//! 3. the first-load sizes (`size::report`);
//! 4. the protocol micro-bench (`cargo bench -p soushou --bench wire`).

use crate::{build, proc, root, size, step, Result};
use std::process::Command;

/// `cargo xtask bench [--no-build]`: `--no-build` measures the page and
/// the Worker as they were last built (e.g. an older commit's).
pub fn run(args: &[String]) -> Result<()> {
    let tools = crate::tools::ensure_all()?;
    match args.first().map(String::as_str) {
        None => build::all(&tools)?,
        Some("--no-build") => {}
        Some(other) => return Err(crate::fail!("unknown argument `{other}` (--no-build)")),
    }
    let stack = crate::stack::for_driver("bench", &[])?;
    let env = stack.env();
    // Timings on a shared machine move with its load: print it with them.
    let load = || std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load().trim());

    step("Worker: pay overhead, /notify intake, per-route figures");
    proc::run(
        Command::new(build::target_dir().join("debug/bench"))
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .current_dir(root()),
    )?;

    step("page under Slow 4G in headless Chromium (5 cold runs per profile)");
    proc::run(
        Command::new("node")
            .arg("tests/bench/page.mjs")
            .env("CHROMIUM_PATH", &tools.chromium)
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .current_dir(root()),
    )?;
    drop(stack);
    println!("load average at end: {}", load().trim());

    size::report(&tools)?;

    step("protocol micro-bench");
    proc::run(
        Command::new("cargo")
            .args(["bench", "--quiet", "-p", "soushou", "--bench", "wire"])
            .current_dir(root()),
    )
}
