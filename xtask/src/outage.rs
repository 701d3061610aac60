//! `cargo xtask outage`: the merchant's webhook endpoint down for a day
//! (issue 24), on a stack of its own whose retry schedule is the
//! production one's shape run [`COMPRESSION`] times faster; also a stage
//! of `cargo xtask test`. The driver is the e2e crate's `outage` program
//! (`tests/outage/`): it brings the endpoint down and up, checks every
//! event was delivered afterwards, in order per order, none dead-lettered,
//! and prints the figure.

use crate::{build, fail, proc, root, step, Result};
use std::process::Command;

/// How many times faster than real time the run's retry schedule is: a
/// day is 43 s.
pub const COMPRESSION: u64 = 2000;

/// The production schedule (`checkout::events::RetryPolicy::default`: 5 s
/// × 6 per failure, capped at 12 h, 12 attempts) divided by
/// [`COMPRESSION`], in whole seconds: 1 s × 6, capped at 22 s, 12
/// attempts — dead-lettered 205 s (4.7 compressed days) after the first
/// failure, against about 3 days in production.
fn retry_settings() -> Vec<(&'static str, String)> {
    vec![
        ("WEBHOOK_RETRY_BASE_SECS", "1".into()),
        ("WEBHOOK_RETRY_FACTOR", "6".into()),
        ("WEBHOOK_RETRY_CAP_SECS", (43_200 / COMPRESSION).to_string()),
        ("WEBHOOK_MAX_ATTEMPTS", "12".into()),
    ]
}

/// `cargo xtask outage`.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        return Err(fail!("unknown argument `{a}`; usage: cargo xtask outage"));
    }
    let tools = crate::tools::ensure_all()?;
    build::all(&tools)?;
    if drive()? {
        Ok(())
    } else {
        Err(fail!("the outage run found problems (see above)"))
    }
}

/// The stage of `cargo xtask test`.
pub fn stage() -> Result<(u64, u64)> {
    Ok(if drive()? { (1, 0) } else { (0, 1) })
}

/// Starts the stack, runs the driver; `Ok(true)` when everything held.
fn drive() -> Result<bool> {
    let settings = retry_settings();
    let stack = crate::stack::for_driver_on(
        "outage",
        &[],
        crate::stack::Runner::WranglerDev,
        None,
        settings.clone(),
    )?;
    step(&format!(
        "outage run: the merchant's endpoint down for a compressed day; logs in {}",
        stack.run_dir.display()
    ));
    let status = proc::status(
        Command::new(build::target_dir().join("debug/outage"))
            .envs(stack.env())
            .envs(settings)
            .env("OUTAGE_COMPRESSION", COMPRESSION.to_string())
            .current_dir(root()),
    )?;
    match status.code() {
        Some(0) => Ok(true),
        Some(1) => Ok(false),
        _ => Err(fail!(
            "the outage driver could not complete ({status}); logs in {}",
            stack.run_dir.display()
        )),
    }
}
