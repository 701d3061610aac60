//! `cargo xtask fuzz [--runs N] [--target T]...`: the coverage-guided fuzz
//! targets of `fuzz/`, one after the other, on the stable toolchain.
//!
//! `--sanitizer none` is what lets cargo-fuzz build without nightly: the
//! findings come from Rust's own checks (bounds, overflow, debug
//! assertions) and from the targets' property assertions
//! (`crates/fuzz-targets`), not from a sanitizer.
//!
//! Each target starts from its committed seeds (`fuzz/seeds/T`) and
//! regression inputs (`fuzz/regressions/T`), keeps what it learns in
//! `fuzz/corpus/T` (not committed), uses its family's dictionary
//! (`fuzz/dict/<family>.dict`, family = the name before the first `_`) and
//! leaves crashing inputs in `fuzz/artifacts/T/`. The figures are printed,
//! never asserted; any crash makes the command fail.

use crate::{build, fail, proc, root, step, tools, Result};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Executions per target when `--runs` is not given.
const DEFAULT_RUNS: u64 = 1_000_000;

/// What one target did.
struct Row {
    target: String,
    execs: u64,
    secs: f64,
    corpus: usize,
    crashes: usize,
}

fn parse(args: &[String]) -> Result<(u64, Vec<String>)> {
    let (mut runs, mut targets) = (DEFAULT_RUNS, Vec::new());
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| fail!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => {
                runs = value?
                    .replace('_', "")
                    .parse()
                    .map_err(|e| fail!("--runs: {e}"))?
            }
            "--target" => targets.push(value?.clone()),
            other => return Err(fail!("`fuzz` does not take `{other}`")),
        }
    }
    Ok((runs, targets))
}

/// Files in `dir` (0 when it does not exist).
fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.filter(|e| e.is_ok()).count())
}

fn cargo_fuzz() -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("fuzz").current_dir(root());
    cmd
}

/// `cargo xtask fuzz`.
pub fn run(args: &[String]) -> Result<()> {
    let (runs, wanted) = parse(args)?;
    tools::ensure_cargo_fuzz()?;
    let all: Vec<String> = proc::output(cargo_fuzz().arg("list"))?
        .lines()
        .map(str::to_owned)
        .collect();
    if let Some(unknown) = wanted.iter().find(|t| !all.contains(t)) {
        return Err(fail!(
            "no fuzz target `{unknown}`; targets: {}",
            all.join(", ")
        ));
    }
    let targets = if wanted.is_empty() { all } else { wanted };

    step("building the fuzz targets (cargo fuzz build --sanitizer none)");
    let mut build_cmd = cargo_fuzz();
    build_cmd.args(["build", "--sanitizer", "none"]);
    if let [only] = &targets[..] {
        build_cmd.arg(only);
    }
    proc::run(&mut build_cmd)?;

    let log_dir = build::target_dir()
        .join("xtask")
        .join(format!("fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&log_dir)?;
    let mut rows = Vec::new();
    for t in &targets {
        step(&format!("fuzzing {t}: {runs} runs"));
        rows.push(run_one(t, runs, &log_dir)?);
    }

    println!();
    println!(
        "{:<20} {:>10} {:>10} {:>8} {:>7} {:>8}",
        "target", "execs", "exec/s", "secs", "corpus", "crashes"
    );
    for r in &rows {
        println!(
            "{:<20} {:>10} {:>10.0} {:>8.1} {:>7} {:>8}",
            r.target,
            r.execs,
            r.execs as f64 / r.secs,
            r.secs,
            r.corpus,
            r.crashes
        );
    }
    println!("logs: {}", log_dir.display());
    let crashes: usize = rows.iter().map(|r| r.crashes).sum();
    if crashes > 0 {
        return Err(fail!(
            "{crashes} crash(es): inputs in fuzz/artifacts/<target>/; \
             turn each into a regression test (see README.md, Tests)"
        ));
    }
    Ok(())
}

/// Runs one target for `runs` executions; its libFuzzer output goes to
/// `<log_dir>/<target>.log`, from which the executions are read.
fn run_one(target: &str, runs: u64, log_dir: &Path) -> Result<Row> {
    let fuzz = root().join("fuzz");
    let corpus = fuzz.join("corpus").join(target);
    std::fs::create_dir_all(&corpus)?;
    let artifacts = fuzz.join("artifacts").join(target);
    let before = count_files(&artifacts);
    let family = target.split_once('_').map_or(target, |(f, _)| f);
    let dict = fuzz.join("dict").join(format!("{family}.dict"));

    let mut cmd = cargo_fuzz();
    cmd.args(["run", "--sanitizer", "none", target])
        .arg(&corpus);
    let read_only: Vec<PathBuf> = ["seeds", "regressions"]
        .iter()
        .map(|d| fuzz.join(d).join(target))
        .filter(|d| d.is_dir())
        .collect();
    cmd.args(&read_only).arg("--").args([
        format!("-runs={runs}"),
        format!("-dict={}", dict.display()),
        "-print_final_stats=1".to_owned(),
        // A hang is a finding too: it is written out like a crash.
        "-timeout=10".to_owned(),
    ]);
    let log_path = log_dir.join(format!("{target}.log"));
    let log = File::create(&log_path)?;
    cmd.stdout(log.try_clone()?).stderr(log);

    let t = Instant::now();
    let status = proc::status(&mut cmd)?;
    let secs = t.elapsed().as_secs_f64();
    let crashes = count_files(&artifacts).saturating_sub(before);
    if !status.success() && crashes == 0 {
        return Err(fail!(
            "{target} failed ({status}) without a crash input; see {}",
            log_path.display()
        ));
    }
    let out = std::fs::read_to_string(&log_path)?;
    let execs = out
        .lines()
        .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if crashes > 0 {
        eprintln!(
            "    {target}: {crashes} crash(es); log {}",
            log_path.display()
        );
    }
    Ok(Row {
        target: target.to_owned(),
        execs,
        secs,
        corpus: count_files(&corpus),
        crashes,
    })
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn parses_runs_and_targets() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(parse(&[]).unwrap(), (1_000_000, vec![]));
        assert_eq!(
            parse(&args(&[
                "--runs", "10_000", "--target", "a", "--target", "b"
            ]))
            .unwrap(),
            (10_000, vec!["a".to_owned(), "b".to_owned()])
        );
        assert!(parse(&args(&["--runs"])).is_err());
        assert!(parse(&args(&["--runs", "many"])).is_err());
        assert!(parse(&args(&["--jobs", "2"])).is_err());
    }
}
