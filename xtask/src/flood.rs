//! `cargo xtask flood [--size N] [--no-build]`: issue 24's abuse figures. A scripted
//! flood on one link — N page opens with the wallets' User-Agents and N
//! pays, all from one IP — against a stack of its own (sandbox + Worker
//! under wrangler dev with wallet sign-in configured, local D1), then a
//! shopper on another device who must still sign in and pay. It prints the
//! D1 rows the flood left (per table) and the gateway calls it caused: the
//! limits bound both whatever N is. The test itself is
//! `tests/tests/abuse.rs`, which `cargo test -p e2e` runs at 100.

use crate::stack::{Gateway, Options, Stack};
use crate::{build, fail, proc, root, step, Result};
use std::process::Command;

/// Opens and pays by default: the 1,000.
const DEFAULT_SIZE: u64 = 1000;

/// `cargo xtask flood`.
pub fn run(args: &[String]) -> Result<()> {
    // `--no-build`: the page and the Worker as last built, as for `chaos`
    // (a build would rewrite the Worker another run's wrangler dev serves).
    let (skip, args): (Vec<String>, Vec<String>) =
        args.iter().cloned().partition(|a| a == "--no-build");
    let size = size(&args)?;
    if skip.is_empty() {
        let tools = crate::tools::ensure_all()?;
        build::all(&tools)?;
    }
    let stack = Stack::start(Options {
        gateway: Gateway::Sandbox,
        port: None,
        public_url: None,
        fast: true,
        echo: false,
        name: "flood",
        sandbox_args: &["--history", "200000"],
        wallets: true,
        webhook_url: None,
        settings: Vec::new(),
        epay: None,
    })?;
    step(&format!(
        "flood of {size} page opens and {size} pays on one link; logs in {}",
        stack.run_dir.display()
    ));
    let status = proc::status(
        Command::new("cargo")
            .args(["test", "-p", "e2e", "--test", "abuse", "--", "--nocapture"])
            .env("E2E_FLOOD", size.to_string())
            .envs(stack.env())
            .current_dir(root()),
    )?;
    if status.success() {
        Ok(())
    } else {
        Err(fail!(
            "the flood run failed ({status}); logs in {}",
            stack.run_dir.display()
        ))
    }
}

/// `--size N`, or [`DEFAULT_SIZE`].
fn size(args: &[String]) -> Result<u64> {
    match args {
        [] => Ok(DEFAULT_SIZE),
        [flag, n] if flag == "--size" => n
            .parse()
            .map_err(|_| fail!("--size needs a number, not `{n}`")),
        _ => Err(fail!("usage: cargo xtask flood [--size N] [--no-build]")),
    }
}

#[cfg(test)]
mod tests {
    use super::size;

    #[test]
    fn only_a_size() {
        let s = |v: &[&str]| size(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(s(&[]).ok(), Some(1000));
        assert_eq!(s(&["--size", "50"]).ok(), Some(50));
        assert!(s(&["--size"]).is_err());
        assert!(s(&["--size", "x"]).is_err());
        assert!(s(&["--fast"]).is_err());
    }
}
