//! `cargo xtask chaos [--seed N] [--payments N] [--crash]`: the
//! money-safety run of issue 9 on a stack of its own, and its CI-sized
//! stage (with crashes) in `cargo xtask test`.
//!
//! The driver is the `chaos` program of the e2e crate (`tests/chaos/`): it
//! shares the end-to-end helpers and the `soushou` types, and xtask stays a
//! thin orchestrator. It gets its own stack (never the e2e one) because it
//! switches the sandbox to manual notifications, slow revocations and
//! pending preOrders, which would break the other suites, and because its
//! reconciliation must see only its own attempts.
//!
//! With `--crash` (issue 24) the driver also kills the Worker's runtime
//! (wrangler dev and its workerd, SIGKILL to the process group named in the
//! run's `worker.pgid`) at seeded moments; this process is its supervisor:
//! whenever the Worker has died it starts it again on the same port and
//! the same local D1, as the platform starts a new isolate. The Worker's
//! webhooks go to a receiver of ours that holds each answer a moment (so a
//! crash can fall inside a delivery) and logs every delivery, which the
//! driver checks every event against at the end.

use crate::{build, fail, root, step, Result};
use std::process::Command;
use std::time::Duration;

/// Payments of the run inside `cargo xtask test` (well under 3 minutes).
pub const CI_PAYMENTS: &str = "120";

/// The sandbox keeps every request of the run (the driver finds attempts
/// the gateway refused to create in the request log), and a `timeout`
/// fault holds a connection a little longer than the Worker's 3 s gateway
/// timeout of the fast stack, not the default 10 minutes.
const SANDBOX_ARGS: &[&str] = &["--history", "200000", "--timeout-hold-ms", "4000"];

/// How long the crash run's webhook receiver holds each answer: the
/// window a crash during a delivery falls into.
const RECEIVER_HOLD: Duration = Duration::from_millis(150);

/// `cargo xtask chaos`.
pub fn run(args: &[String]) -> Result<()> {
    check_args(args)?;
    // `--no-build`: the page and the Worker as last built, e.g. for runs of
    // several seeds side by side (a build would rewrite the Worker another
    // run's wrangler dev is serving).
    let (skip, args): (Vec<String>, Vec<String>) =
        args.iter().cloned().partition(|a| a == "--no-build");
    if skip.is_empty() {
        let tools = crate::tools::ensure_all()?;
        build::all(&tools)?;
    }
    let args = &args[..];
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
/// command that replays it), [`CI_PAYMENTS`] payments, with crashes.
pub fn stage() -> Result<(u64, u64)> {
    Ok(
        if drive(&["--payments".into(), CI_PAYMENTS.into(), "--crash".into()])? {
            (1, 0)
        } else {
            (0, 1)
        },
    )
}

/// Only the driver's flags, each with a number, so a typo fails before
/// minutes of building.
fn check_args(args: &[String]) -> Result<()> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--crash" || a == "--no-build" {
            continue;
        }
        if !["--seed", "--payments", "--settle-secs"].contains(&a.as_str()) {
            return Err(fail!(
                "unknown argument `{a}`; usage: cargo xtask chaos [--seed N] [--payments N] [--settle-secs N] [--crash] [--no-build]"
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
    let crash = args.iter().any(|a| a == "--crash");
    let receiver = if crash {
        let dir = build::target_dir().join("xtask");
        std::fs::create_dir_all(&dir)?;
        let log = dir.join(format!("chaos-webhooks-{}.log", std::process::id()));
        Some(crate::receiver::start_holding(&log, RECEIVER_HOLD)?)
    } else {
        None
    };
    let mut stack = crate::stack::for_driver_on(
        "chaos",
        SANDBOX_ARGS,
        crate::stack::Runner::WranglerDev,
        receiver.as_ref().map(|r| r.url.clone()),
        Vec::new(),
    )?;
    step(&format!(
        "chaos run against the Worker and the sandbox; logs in {}",
        stack.run_dir.display()
    ));
    let mut cmd = Command::new(build::target_dir().join("debug/chaos"));
    cmd.args(args).envs(stack.env()).current_dir(root());
    if let Some(r) = &receiver {
        cmd.env("E2E_WEBHOOK_LOG", &r.log);
    }
    let mut driver = cmd
        .spawn()
        .map_err(|e| fail!("cannot start the chaos driver: {e}"))?;
    // The supervisor: the driver kills the Worker, we start it again.
    let status = loop {
        if let Some(status) = driver.try_wait()? {
            break status;
        }
        if crash {
            if let Err(e) = stack.restart_worker_if_dead() {
                let _ = driver.kill();
                return Err(e);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
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
        assert!(a(&["--crash", "--seed", "7", "--no-build"]).is_ok());
    }
}
