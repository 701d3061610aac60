//! `cargo xtask`: the project's two front doors and the plumbing behind them.
//!
//! - `cargo xtask demo`  — install what is missing, build once, start the sandbox
//!   gateway and the Worker under `wrangler dev`, create a checkout link, print it.
//! - `cargo xtask test`  — every test the project has, with one summary line.
//! - `cargo xtask chaos` — the money-safety run (issue 9, `--crash`: issue
//!   24), see `chaos.rs`; `cargo xtask outage` (issue 24), see `outage.rs`.
//!
//! Plumbing a developer may call directly: `tools`, `build [page|console|worker|floor|all]`,
//! `stack` (start the services and print their environment), `size`, `bench`, `fuzz`, `house` (issue 13's figures).
//! Everything here is orchestration: no product logic lives in this crate.

mod bench;
mod build;
mod chaos;
mod demo;
mod flood;
mod fuzz;
mod house;
mod http;
mod outage;
mod proc;
mod receiver;
mod seed;
/// Issue 19's host test: no file reads outside the repository (a test
/// module, not `xtask/tests/`: an integration test makes `cargo test`
/// rebuild the running `xtask` binary under `cargo xtask test`).
#[cfg(test)]
mod self_contained;
#[cfg(test)]
mod settings;
mod size;
mod stack;
mod test;
mod tools;
mod wallets;

use std::path::PathBuf;
use std::process::ExitCode;

/// The error type of every xtask step: a message for the person at the terminal.
#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl<E: std::error::Error> From<E> for Error {
    fn from(e: E) -> Self {
        Error(e.to_string())
    }
}

/// Shorthand for xtask results.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Build an [`Error`] from a format string.
#[macro_export]
macro_rules! fail {
    ($($t:tt)*) => { $crate::Error(format!($($t)*)) };
}

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Print a progress line, so long first builds show where they are.
pub fn step(msg: &str) {
    eprintln!("\x1b[1;34m==>\x1b[0m {msg}");
}

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo [--gateway URL --busi-code CODE --busi-id ID --merchant-key-file FILE]
       [--no-encrypt] [--port P] [--public-url URL] [--webhook-url URL]
       [--epay-pid PID --epay-key-file FILE]
                      build everything once, run sandbox + Worker, print a checkout link;
                      webhooks go to URL, or to a receiver of its own that logs them;
                      prints the epay app settings (API URL, pid, key; its own or yours)
  test                run every test (unit, property, integration, browser, demo, chaos)
  chaos [--seed N] [--payments N] [--crash] [--no-build]
                      the money-safety run: a seeded random schedule of payments,
                      notifications, faults and merchant actions (default 1000),
                      then the Worker's books compared with the sandbox's ledger;
                      --crash also kills the Worker's runtime (SIGKILL) at seeded
                      moments and checks every event reached the merchant;
                      --no-build runs the page and Worker as last built
  outage              the merchant's webhook endpoint down for a compressed day:
                      every event delivered afterwards, in order, none dead-lettered
  tools               install the pinned tools that are missing
  build [page|console|worker|floor|all]
                      build the page and/or the Worker (release)
  stack               start sandbox + Worker and print their environment (Ctrl-C stops)
  bench [--no-build] [--worker-only] [--direct] [--lists N]
                      the issue-12 numbers: page under Slow 4G, Worker pay overhead,
                      /notify intake (3 runs), D1 and gateway per route (direct to workerd
                      and through wrangler dev, with the D1 floor), CPU per route, cold
                      start against a minimal Worker (direct), sizes, protocol bench;
                      --direct: the Worker's figures straight to workerd only
  flood [--size N] [--no-build]
                      issue 24's abuse figures: N page opens with wallet User-Agents and
                      N pays from one IP on one link (default 1000), D1 rows and gateway
                      calls printed, then a shopper on another device pays
  size [--no-build]   print the page's first-load transfer size and the Worker bundle size
  house               print the ten longest non-test functions and the import
                      cycles between modules (issue 13's figures)
  fuzz [--runs N] [--target T]...
                      run the coverage-guided fuzz targets (default 1000000 runs each)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match cmd.as_str() {
        "demo" => demo::Options::parse(rest).and_then(demo::run),
        "test" => test::run(rest),
        "chaos" => chaos::run(rest),
        "outage" => outage::run(rest),
        "tools" => tools::ensure_all().map(|_| ()),
        "build" => build::run(rest),
        "stack" => stack::run_foreground(),
        "size" => size::run(rest),
        "bench" => bench::run(rest),
        "fuzz" => fuzz::run(rest),
        "flood" => flood::run(rest),
        "house" => house::run(rest),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(fail!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\x1b[1;31merror:\x1b[0m {e}");
            ExitCode::FAILURE
        }
    }
}
