//! `cargo xtask test`: every test of the project, in the order that builds
//! each artefact once, with one summary line at the end.
//!
//! Stages: host tests (unit, property, sandbox integration) → wasm builds of
//! the pure crates → page + Worker release builds → `wrangler deploy
//! --dry-run` → the stack (sandbox + Worker under wrangler dev) → end-to-end
//! tests over HTTP → browser tests in headless Chromium → the chaos run (on
//! a stack of its own, `chaos.rs`) → the demo's start-up path, paid in
//! Chromium → size report.

use crate::stack::{Gateway, Stack};
use crate::{build, fail, proc, root, step, Result};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The outcome of one stage.
struct Stage {
    name: &'static str,
    passed: u64,
    failed: u64,
    ok: bool,
    secs: u64,
}

#[derive(Default)]
struct Report {
    stages: Vec<Stage>,
}

impl Report {
    fn record(&mut self, name: &'static str, t: Instant, r: Result<(u64, u64)>) -> bool {
        let (passed, failed, ok) = match r {
            Ok((p, f)) => (p, f, f == 0),
            Err(e) => {
                eprintln!("\x1b[1;31mstage {name} failed:\x1b[0m {e}");
                (0, 1, false)
            }
        };
        self.stages.push(Stage {
            name,
            passed,
            failed,
            ok,
            secs: t.elapsed().as_secs(),
        });
        ok
    }

    fn print(&self) -> bool {
        println!();
        println!(
            "{:<12} {:>7} {:>7} {:>7}",
            "stage", "passed", "failed", "secs"
        );
        for s in &self.stages {
            println!(
                "{:<12} {:>7} {:>7} {:>7}  {}",
                s.name,
                s.passed,
                s.failed,
                s.secs,
                if s.ok { "ok" } else { "FAILED" }
            );
        }
        let passed: u64 = self.stages.iter().map(|s| s.passed).sum();
        let failed: u64 = self.stages.iter().map(|s| s.failed).sum();
        println!();
        println!("summary: {passed} passed, {failed} failed");
        failed == 0 && self.stages.iter().all(|s| s.ok)
    }
}

/// Run a test command, echoing its output, and count passed/failed tests
/// from cargo's `test result:` lines and node's `ℹ pass N` / `ℹ fail N`.
fn run_counted(cmd: &mut Command) -> Result<(u64, u64)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail!("cannot start `{}`: {e}", proc::describe(cmd)))?;
    let (tx, rx) = mpsc::channel::<(bool, String)>();
    let out = child.stdout.take().expect("piped");
    let err = child.stderr.take().expect("piped");
    let t1 = {
        let tx = tx.clone();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(|l| l.ok()) {
                let _ = tx.send((true, l));
            }
        })
    };
    let t2 = std::thread::spawn(move || {
        for l in BufReader::new(err).lines().map_while(|l| l.ok()) {
            let _ = tx.send((false, l));
        }
    });
    let (mut passed, mut failed) = (0u64, 0u64);
    for (is_out, line) in rx {
        if is_out {
            println!("{line}");
        } else {
            eprintln!("{line}");
        }
        let (p, f) = count_line(&line);
        passed += p;
        failed += f;
    }
    let _ = (t1.join(), t2.join());
    let status = child.wait()?;
    if !status.success() && failed == 0 {
        // A build error or a crash: no test said it failed, but the stage did.
        return Err(fail!("`{}` exited with {status}", proc::describe(cmd)));
    }
    Ok((passed, failed))
}

/// Counts from one output line of cargo test or node --test (spec reporter).
fn count_line(line: &str) -> (u64, u64) {
    let num_before = |s: &str, word: &str| -> u64 {
        s.split(';')
            .find_map(|part| {
                let part = part.trim();
                let mut it = part.split_whitespace();
                let n = it.next()?.parse().ok()?;
                (it.next()? == word).then_some(n)
            })
            .unwrap_or(0)
    };
    if let Some(rest) = line.trim_start().strip_prefix("test result: ") {
        let rest = rest.split_once(". ").map(|x| x.1).unwrap_or(rest);
        return (num_before(rest, "passed"), num_before(rest, "failed"));
    }
    let l = line.trim_start().trim_start_matches('ℹ').trim();
    if let Some(n) = l.strip_prefix("pass ").and_then(|n| n.trim().parse().ok()) {
        return (n, 0);
    }
    if let Some(n) = l.strip_prefix("fail ").and_then(|n| n.trim().parse().ok()) {
        return (0, n);
    }
    (0, 0)
}

fn node_tests(dir: &str) -> Result<Vec<String>> {
    let mut files: Vec<String> = std::fs::read_dir(root().join(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".test.mjs"))
        .map(|n| format!("{dir}/{n}"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(fail!("no *.test.mjs files in {dir}"));
    }
    Ok(files)
}

fn node_test_cmd(dir: &str) -> Result<Command> {
    let mut cmd = Command::new("node");
    cmd.args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
        .args(node_tests(dir)?)
        .current_dir(root());
    Ok(cmd)
}

/// `cargo xtask test`.
pub fn run(args: &[String]) -> Result<()> {
    if let Some(a) = args.first() {
        return Err(fail!("`test` takes no arguments (got `{a}`)"));
    }
    let started = Instant::now();
    let root = root();
    let mut report = Report::default();

    let t = Instant::now();
    let tools = crate::tools::ensure_all()?;
    eprintln!("    tools ready in {:.0?}", t.elapsed());

    step("host tests: unit, property, sandbox integration");
    let t = Instant::now();
    let r = run_counted(
        Command::new("cargo")
            .args([
                "test",
                "--workspace",
                "--exclude",
                "e2e",
                "--exclude",
                "checkout-worker",
            ])
            .current_dir(&root),
    );
    report.record("host", t, r);

    step("the Worker's host tests (the router table: every merchant route's permission)");
    let t = Instant::now();
    let r = run_counted(
        Command::new("cargo")
            .args(["test", "-p", "checkout-worker", "--lib"])
            .current_dir(&root),
    );
    report.record("worker-host", t, r);

    step("the pure crates build for wasm32-unknown-unknown");
    let t = Instant::now();
    let r = proc::run(
        Command::new("cargo")
            .args([
                "build",
                "-p",
                "soushou",
                "-p",
                "checkout",
                "--target",
                "wasm32-unknown-unknown",
            ])
            .current_dir(&root),
    )
    .map(|_| (1, 0));
    report.record("wasm-check", t, r);

    let t = Instant::now();
    let built = report.record("build", t, build::all(&tools).map(|_| (1, 0)));
    if built {
        step("wrangler deploy --dry-run");
        let t = Instant::now();
        let r = crate::size::dry_run(&tools).map(|_| (1, 0));
        report.record("dry-run", t, r);

        let t = Instant::now();
        match Stack::start(crate::stack::Options {
            gateway: Gateway::Sandbox,
            port: None,
            public_url: None,
            fast: true,
            echo: false,
            name: "test",
            sandbox_args: &[],
            wallets: true,
            webhook_url: None,
            settings: Vec::new(),
            epay: None,
        }) {
            Err(e) => {
                report.record("stack", t, Err(e));
            }
            Ok(mut stack) => {
                eprintln!(
                    "    stack up in {:.0?}; logs in {}",
                    t.elapsed(),
                    stack.run_dir.display()
                );
                step("end-to-end tests: the Worker under wrangler dev + the sandbox, over HTTP");
                let t = Instant::now();
                let r = run_counted(
                    Command::new("cargo")
                        .args(["test", "-p", "e2e", "--", "--test-threads=1"])
                        .envs(stack.env())
                        .current_dir(&root),
                );
                report.record("e2e", t, r);
                let _ = stack.check_alive().map_err(|e| eprintln!("warning: {e}"));

                step("browser tests: headless Chromium against the real page");
                let t = Instant::now();
                let r = node_test_cmd("tests/browser").and_then(|mut c| {
                    run_counted(c.envs(stack.env()).env("CHROMIUM", &tools.chromium))
                });
                report.record("browser", t, r);
                drop(stack);
            }
        }

        step("chaos: a seeded random schedule, then the Worker's books against the ledger");
        let t = Instant::now();
        report.record("chaos", t, crate::chaos::stage());

        step("outage: the merchant's endpoint down for a compressed day");
        let t = Instant::now();
        report.record("outage", t, crate::outage::stage());

        step("the demo's start-up path, paid in Chromium");
        let t = Instant::now();
        let r = demo_test(&tools);
        report.record("demo", t, r);

        let _ = crate::size::report(&tools).map_err(|e| eprintln!("size report: {e}"));
    }

    let ok = report.print();
    println!("total time: {:.0?}", started.elapsed());
    if ok {
        Ok(())
    } else {
        Err(fail!("some tests failed"))
    }
}

/// Start `cargo xtask demo` exactly as a person would (prebuilt, a free port),
/// read the link it prints, pay it through the sandbox in Chromium, then
/// Ctrl-C it and check that everything it started is gone.
fn demo_test(tools: &crate::tools::Tools) -> Result<(u64, u64)> {
    let xtask = std::env::current_exe()?;
    let port = proc::free_port()?;
    let log = build::target_dir().join("xtask/demo-test.log");
    std::fs::create_dir_all(log.parent().expect("has parent"))?;
    let mut demo = proc::Service::start(
        "demo",
        Command::new(&xtask)
            .args(["demo", "--prebuilt", "--port", &port.to_string()])
            .current_dir(root()),
        &log,
        false,
    )?;
    let mut link = None;
    let mut sandbox = None;
    let mut owner = None;
    let mut webhooks = None;
    demo.wait_for_line(Duration::from_secs(180), |l| {
        if let Some((_, path)) = l.split_once("logged to ") {
            webhooks = Some(std::path::PathBuf::from(path.trim()));
        }
        if let Some(v) = l.strip_prefix("Checkout link: ") {
            link = Some(v.trim().to_string());
        }
        if let Some(v) = l.strip_prefix("Sandbox gateway: ") {
            sandbox = Some(v.trim().to_string());
        }
        if let Some(v) = l.strip_prefix("Owner key: ") {
            owner = v.split_whitespace().next().map(str::to_string);
        }
        l.starts_with("Press Ctrl-C").then_some(())
    })
    .map_err(|e| fail!("{e}; see {}", log.display()))?;
    let (Some(link), Some(sandbox), Some(owner)) = (link, sandbox, owner) else {
        return Err(fail!(
            "the demo did not print link, sandbox and owner key; see {}",
            log.display()
        ));
    };
    // The printed owner key is a working owner key (it lists the keys).
    let api = format!("http://127.0.0.1:{port}/v1/keys");
    let keys = crate::http::request(
        "GET",
        &api,
        &[("Authorization", &format!("Bearer {owner}"))],
        "",
    );
    let owner_works = matches!(&keys, Ok(r) if r.status == 200 && r.body.contains("demo owner"));
    let counts = run_counted(
        node_test_cmd("tests/demo")?
            .env("DEMO_LINK", &link)
            .env("DEMO_SANDBOX_URL", &sandbox)
            .env("DEMO_OWNER_KEY", &owner)
            .env("CHROMIUM", &tools.chromium),
    );
    // The payment reached the demo's own webhook receiver, signed.
    let webhook = webhooks.map(|path| {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::read_to_string(&path).unwrap_or_default();
            let paid = log
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .any(|v| {
                    v["body"]["type"] == "order.paid"
                        && v["body"]["data"]["ref"] == "demo-1"
                        && v["headers"]["webhook-signature"]
                            .as_str()
                            .is_some_and(|s| s.starts_with("v1,"))
                });
            if paid || Instant::now() > deadline {
                break paid;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    // Ctrl-C, as a person would; the demo must stop all it started.
    let _ = Command::new("kill")
        .args(["-INT", &demo.pid().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(30);
    while demo.check_alive().is_ok() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let (mut passed, mut failed) = counts?;
    if owner_works {
        passed += 1;
    } else {
        let got = match &keys {
            Ok(r) => format!("HTTP {} {}", r.status, r.body),
            Err(e) => e.to_string(),
        };
        eprintln!("the demo's owner key does not list the keys: {got}");
        failed += 1;
    }
    match webhook {
        Some(true) => passed += 1,
        Some(false) => {
            eprintln!("the demo's webhook receiver never logged a signed order.paid for demo-1");
            failed += 1;
        }
        None => {
            eprintln!("the demo did not print where its webhooks are logged");
            failed += 1;
        }
    }
    if demo.check_alive().is_ok() {
        eprintln!("the demo did not stop on Ctrl-C within 30 s");
        failed += 1;
    } else if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        eprintln!("the Worker still listens on {port} after the demo stopped");
        failed += 1;
    } else {
        passed += 1;
    }
    Ok((passed, failed))
}

#[cfg(test)]
mod tests {
    use super::count_line;

    #[test]
    fn counts_cargo_and_node_summaries() {
        assert_eq!(
            count_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s"),
            (12, 0)
        );
        assert_eq!(
            count_line(
                "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out"
            ),
            (3, 2)
        );
        assert_eq!(count_line("ℹ pass 7"), (7, 0));
        assert_eq!(count_line("ℹ fail 1"), (0, 1));
        assert_eq!(count_line("test foo ... ok"), (0, 0));
    }
}
