//! `cargo xtask chaos [--seed N] [--payments N]`: the money-safety run of
//! issue 9 on a stack of its own, and its CI-sized stage in `cargo xtask test`.
//!
//! The driver is the `chaos` program of the e2e crate (`tests/chaos/`): it
//! shares the end-to-end helpers and the `soushou` types, and xtask stays a
//! thin orchestrator. It gets its own stack (never the e2e one) because it
//! switches the sandbox to manual notifications, slow revocations and
//! pending preOrders, which would break the other suites, and because its
//! reconciliation must see only its own attempts.

use crate::stack::{Gateway, Options, Stack};
use crate::{build, fail, proc, root, step, Result};
use std::process::Command;

/// Payments of the run inside `cargo xtask test` (well under 3 minutes).
pub const CI_PAYMENTS: &str = "120";

/// The sandbox keeps every request of the run (the driver finds attempts
/// the gateway refused to create in the request log), and a `timeout`
/// fault holds a connection a little longer than the Worker's 3 s gateway
/// timeout of the fast stack, not the default 10 minutes.
const SANDBOX_ARGS: &[&str] = &["--history", "200000", "--timeout-hold-ms", "4000"];

/// `cargo xtask chaos`.
pub fn run(args: &[String]) -> Result<()> {
    check_args(args)?;
    let tools = crate::tools::ensure_all()?;
    build::all(&tools)?;
    // Ctrl-C stops the driver (same process group); this process must live
    // on to stop the stack's services, which run in groups of their own.
    ctrlc::set_handler(|| {}).map_err(|e| fail!("cannot install the Ctrl-C handler: {e}"))?;
    if drive(args)? {
        Ok(())
    } else {
        Err(fail!("the chaos run found mismatches (see above)"))
    }
}

/// The stage of `cargo xtask test`: a random seed (printed, with the
/// command that replays it), [`CI_PAYMENTS`] payments.
pub fn stage() -> Result<(u64, u64)> {
    Ok(if drive(&["--payments".into(), CI_PAYMENTS.into()])? {
        (1, 0)
    } else {
        (0, 1)
    })
}

/// Only the driver's flags, each with a number, so a typo fails before
/// minutes of building.
fn check_args(args: &[String]) -> Result<()> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if !["--seed", "--payments", "--settle-secs"].contains(&a.as_str()) {
            return Err(fail!(
                "unknown argument `{a}`; usage: cargo xtask chaos [--seed N] [--payments N] [--settle-secs N]"
            ));
        }
        if it.next().and_then(|n| n.parse::<u64>().ok()).is_none() {
            return Err(fail!("{a} needs a number"));
        }
    }
    Ok(())
}

/// Builds the driver, starts a stack for it, runs it; `Ok(true)` when the
/// books agreed. The page and the Worker must have been built.
fn drive(args: &[String]) -> Result<bool> {
    step("building the chaos driver");
    proc::run(
        Command::new("cargo")
            .args(["build", "--quiet", "-p", "e2e", "--bin", "chaos"])
            .current_dir(root()),
    )?;
    let stack = Stack::start(Options {
        gateway: Gateway::Sandbox,
        port: None,
        public_url: None,
        fast: true,
        echo: false,
        name: "chaos",
        sandbox_args: SANDBOX_ARGS,
        // The schedule sends made-up openids and buyer ids straight to /api/pay.
        wallets: false,
        webhook_url: None,
    })?;
    step(&format!(
        "chaos run against the Worker and the sandbox; logs in {}",
        stack.run_dir.display()
    ));
    let status = proc::status(
        Command::new(build::target_dir().join("debug/chaos"))
            .args(args)
            .envs(stack.env())
            .current_dir(root()),
    )?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(fail!(
            "the chaos driver could not complete ({status}); logs in {}",
            stack.run_dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::check_args;

    #[test]
    fn only_the_drivers_flags_with_numbers() {
        let a = |v: &[&str]| check_args(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(a(&[]).is_ok());
        assert!(a(&["--seed", "7", "--payments", "120"]).is_ok());
        assert!(a(&["--seed"]).is_err());
        assert!(a(&["--seed", "x"]).is_err());
        assert!(a(&["--fast"]).is_err());
    }
}
