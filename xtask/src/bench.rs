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

use crate::stack::{Gateway, Options, Stack};
use crate::{build, proc, root, size, step, Result};
use std::process::Command;

/// `cargo xtask bench`.
pub fn run() -> Result<()> {
    let tools = crate::tools::ensure_all()?;
    build::all(&tools)?;
    step("building the Worker bench driver");
    proc::run(
        Command::new("cargo")
            .args(["build", "--quiet", "-p", "e2e", "--bin", "bench"])
            .current_dir(root()),
    )?;
    let stack = Stack::start(Options {
        gateway: Gateway::Sandbox,
        port: None,
        public_url: None,
        fast: true,
        echo: false,
        name: "bench",
        sandbox_args: &[],
    })?;
    let env = stack.env();

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

    size::report(&tools)?;

    step("protocol micro-bench");
    proc::run(
        Command::new("cargo")
            .args(["bench", "--quiet", "-p", "soushou", "--bench", "wire"])
            .current_dir(root()),
    )
}
